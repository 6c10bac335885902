//! The operator's commands (`ops`), through the functions they run, against the
//! emulator and the Stripe fake.

use api_tests::{spawn_app, stripe_fake, unique_email};
use domain::order::OrderStatus;
use serde_json::json;

use crate::petitions::{bought_petition, detail, petition_app};
use crate::wills::verified_will;

/// A new user's will checkout and its Checkout session paid `amount_cents` at Stripe
/// (no event sent yet): the user, the order id and the session.
async fn a_paid_will_session(app: &api_tests::TestApp, amount_cents: i64) -> (api_tests::Session, String, serde_json::Value) {
    let ada = app.register(&unique_email()).await;
    let will = verified_will(app, &ada).await;
    let checkout = app.post_empty(&format!("/v1/wills/{will}/checkout"), Some(&ada.access_token)).await;
    let order = checkout.body["order_id"].as_str().unwrap().to_owned();
    let session = app.paid_session(&order, amount_cents, "usd");
    app.stripe.add_session(session.clone());
    (ada, order, session)
}

/// `ops orders retry-refund`: a refund Stripe refused is made once, through the same
/// path (same key, same settle, same email); a second retry changes nothing.
#[tokio::test]
async fn a_refund_failed_order_is_retried_to_refunded_once() {
    let app = spawn_app().await;
    let (ada, order, session) = a_paid_will_session(&app, 100).await;
    app.stripe.fail_refunds(true);
    let payload = stripe_fake::event("evt_wrong", "checkout.session.completed", 1_800_000_000, session);
    assert_eq!(app.deliver_event(&payload).await.status, 503);
    assert_eq!(app.store().order(&order).await.unwrap().unwrap().status, OrderStatus::RefundFailed);

    let listed = app.store().orders_in_status(OrderStatus::RefundFailed).await.unwrap();
    assert_eq!(listed.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), [order.as_str()], "ops orders list finds it");

    app.stripe.fail_refunds(false);
    assert_eq!(app::fulfilment::retry_refund(&app.state, &order).await.unwrap(), "order_refunded");
    assert_eq!(app.store().order(&order).await.unwrap().unwrap().status, OrderStatus::Refunded);
    assert_eq!(app::fulfilment::retry_refund(&app.state, &order).await.unwrap(), "not_refund_failed");
    assert_eq!(app.stripe.refunds_created(), [(format!("pi_{order}"), 100)], "refunded once");
    assert!(app.store().orders_in_status(OrderStatus::RefundFailed).await.unwrap().is_empty());
    let mails = app.emails_to(&ada.email).await.into_iter().filter(|(subject, _)| subject == "Your payment was refunded").count();
    assert_eq!(mails, 1);
}

/// `ops queue peek-dlq` and `ops queue redrive`: a dead-lettered task message moves back
/// to the queue once and is processed once.
#[tokio::test]
async fn a_dead_letter_is_redriven_and_processed_once() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let petition = bought_petition(&app, &ada, "family-self-serve", &[]).await;
    let before = detail(&app, &ada, &petition).await["tasks"].as_array().unwrap().len();
    let sqs = app.sqs().await;
    let dlq = local::queue_ops::dlq_url_of(&sqs, &app.queue_url).await.unwrap();
    // A message the worker gave up on (its cause since fixed): it adds the translation task.
    let body = json!({"petition_id": petition, "benefit_id": "translation", "effect": {"type": "add_task", "task_model_id": "translation-standard"}});
    sqs.send_message().queue_url(&dlq).message_body(body.to_string()).send().await.unwrap();

    let peeked = local::queue_ops::peek(&sqs, &dlq, 10).await.unwrap();
    assert_eq!(peeked.len(), 1);
    assert_eq!(local::queue_ops::redrive(&sqs, &dlq, &app.queue_url, 10, true).await.unwrap().len(), 1, "a dry run lists it");
    assert_eq!(local::queue_ops::peek(&sqs, &dlq, 10).await.unwrap().len(), 1, "and moves nothing");
    let moved = local::queue_ops::redrive(&sqs, &dlq, &app.queue_url, 10, false).await.unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].message_id, peeked[0].message_id);
    assert!(local::queue_ops::redrive(&sqs, &dlq, &app.queue_url, 10, false).await.unwrap().is_empty(), "moved once");

    app.run_task_worker().await;
    let tasks = detail(&app, &ada, &petition).await["tasks"].as_array().unwrap().clone();
    assert_eq!(tasks.len(), before + 1, "{tasks:?}");
    assert_eq!(tasks.iter().filter(|t| t["task_model_id"] == "translation-standard").count(), 1);
    assert!(app.dead_letters().await.is_empty());
}

/// `ops account set-feature`: an override shows in the billing state; `default` gives the
/// plan's value back; setting the same value twice changes nothing more.
#[tokio::test]
async fn a_feature_override_is_visible_in_the_billing_state() {
    let app = spawn_app().await;
    app.seed_billing_catalogue().await;
    let ada = app.register(&unique_email()).await;
    let state = async || app.get("/v1/billing/state", Some(&ada.access_token)).await.body["enabled_features"].clone();
    let default = state().await["escalation_mode"].clone();
    let (_, after) = app::support::set_feature(&app.state, &ada.account_id, "escalation_mode", Some(default != true)).await.unwrap();
    assert_eq!(after.get("escalation_mode"), Some(&(default != true)));
    assert_eq!(state().await["escalation_mode"], json!(default != true), "the override wins");
    let (before, again) = app::support::set_feature(&app.state, &ada.account_id, "escalation_mode", Some(default != true)).await.unwrap();
    assert_eq!(before, again, "idempotent");
    app::support::set_feature(&app.state, &ada.account_id, "escalation_mode", None).await.unwrap();
    assert_eq!(state().await["escalation_mode"], default, "back to the plan's");
    assert!(app::support::set_feature(&app.state, &ada.account_id, "Bad Flag!", Some(true)).await.is_err());
}

/// `ops account extend-trial`: an ended trial is let in again by the guard until the new
/// end; a second run changes nothing more; a paid subscription is not a trial.
#[tokio::test]
async fn a_trial_extension_is_visible_to_the_guard() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let mut trial = app.store().subscription(&ada.account_id).await.unwrap().unwrap();
    trial.current_period_end = Some(chrono::Utc::now() - chrono::Duration::days(1));
    app.store().put_subscription(&trial).await.unwrap();
    app.get("/v1/petitions", Some(&ada.access_token)).await.assert_error(402, "subscription_inactive");

    let (before, would) = app::support::extend_trial(&app.state, &ada.account_id, 7, true).await.unwrap();
    assert!(would > chrono::Utc::now() + chrono::Duration::days(6), "a dry run says what it would set");
    assert_eq!(app.store().subscription(&ada.account_id).await.unwrap().unwrap().current_period_end, before, "and sets nothing");
    app.get("/v1/petitions", Some(&ada.access_token)).await.assert_error(402, "subscription_inactive");

    let (_, end) = app::support::extend_trial(&app.state, &ada.account_id, 7, false).await.unwrap();
    assert!(end > chrono::Utc::now() + chrono::Duration::days(6));
    assert_eq!(app.get("/v1/petitions", Some(&ada.access_token)).await.status, 200, "the guard lets the trial in");
    let (before, again) = app::support::extend_trial(&app.state, &ada.account_id, 7, false).await.unwrap();
    assert_eq!((before, again), (Some(end), end), "running it again changes nothing more");
    assert!(app::support::extend_trial(&app.state, &ada.account_id, 365, false).await.is_err(), "bounded");

    let mut paid = app.store().subscription(&ada.account_id).await.unwrap().unwrap();
    paid.status = domain::account::SubscriptionStatus::Active;
    paid.stripe_subscription_id = Some("sub_1".into());
    app.store().put_subscription(&paid).await.unwrap();
    assert!(app::support::extend_trial(&app.state, &ada.account_id, 7, false).await.is_err(), "not a trial");
}

/// `ops account grant-complimentary` (the pilot rule for one account) and `ops account
/// deactivate`: the guards see both at once, and a second run changes nothing.
#[tokio::test]
async fn a_complimentary_grant_and_a_deactivation_are_seen_by_the_guards() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let mut trial = app.store().subscription(&ada.account_id).await.unwrap().unwrap();
    trial.current_period_end = Some(chrono::Utc::now() - chrono::Duration::days(1));
    app.store().put_subscription(&trial).await.unwrap();
    app.get("/v1/petitions", Some(&ada.access_token)).await.assert_error(402, "subscription_inactive");
    assert!(app::billing::grant_complimentary(&app.state, &ada.account_id).await.unwrap());
    assert!(!app::billing::grant_complimentary(&app.state, &ada.account_id).await.unwrap(), "once");
    assert_eq!(app.get("/v1/petitions", Some(&ada.access_token)).await.status, 200);

    assert!(app::support::deactivate_user(&app.state, &ada.user_id).await.unwrap());
    assert!(!app::support::deactivate_user(&app.state, &ada.user_id).await.unwrap(), "once");
    app.get("/v1/petitions", Some(&ada.access_token)).await.assert_error(403, "user_inactive");
    assert!(app::support::deactivate_user(&app.state, "no-such-user").await.is_err());
}

/// `ops account show`: by email or account id, the account with its members, its
/// subscription, the resolved flags (overrides included) and its orders.
#[tokio::test]
async fn an_account_is_shown_by_email_or_id() {
    let app = spawn_app().await;
    app.seed_billing_catalogue().await;
    let ada = app.register(&unique_email()).await;
    let will = verified_will(&app, &ada).await;
    let checkout = app.post_empty(&format!("/v1/wills/{will}/checkout"), Some(&ada.access_token)).await;
    app::support::set_feature(&app.state, &ada.account_id, "analytics", Some(true)).await.unwrap();
    for who in [ada.email.to_uppercase(), ada.account_id.clone()] {
        let summary = serde_json::to_value(app::support::account_summary(&app.state, &who).await.unwrap()).unwrap();
        assert_eq!(summary["account"]["id"], ada.account_id.as_str(), "{who}");
        assert_eq!(summary["members"][0]["user_id"], ada.user_id.as_str());
        assert_eq!(summary["members"][0]["role"], "owner");
        assert_eq!(summary["subscription"]["status"], "trialing");
        assert_eq!(summary["billing"]["enabled_features"]["analytics"], true, "the override, resolved");
        assert_eq!(summary["last_orders"][0]["id"], checkout.body["order_id"]);
    }
    assert!(app::support::account_summary(&app.state, "nobody@example.com").await.is_err());
}

/// The catalogue's `pro` plan as stored.
async fn pro_plan(app: &api_tests::TestApp) -> domain::billing::Plan {
    app.store().plans().await.unwrap().into_iter().find(|p| p.plan == "pro").unwrap()
}

/// `ops stripe sync-prices`: a price changed at Stripe is reported (id and amount);
/// `--apply` writes the new id, a second run reports only what the catalogue does not
/// own (the amount), and a lookup key Stripe has no price for is reported missing.
#[tokio::test]
async fn sync_prices_finds_a_changed_price_and_writes_its_id() {
    let app = spawn_app().await;
    let plans = app.seed_billing_catalogue().await;
    let (drifts, written) = app::support::sync_prices(&app.state, false).await.unwrap();
    assert!(drifts.is_empty() && written.is_empty(), "the seed matches the fake's prices: {drifts:?}");

    let pro = plans.iter().find(|p| p.plan == "pro").unwrap();
    let old_id = pro.stripe_monthly_price_id.clone().unwrap();
    app.stripe.set_price(stripe_fake::price("price_pro_monthly_2027", "pro_monthly", pro.monthly_price_cents.unwrap() + 100, "month"));
    let (drifts, written) = app::support::sync_prices(&app.state, false).await.unwrap();
    let fields: Vec<(&str, &str)> = drifts.iter().map(|d| (d.lookup_key.as_str(), d.field)).collect();
    assert_eq!(fields, [("pro_monthly", "price_id"), ("pro_monthly", "amount")]);
    assert_eq!(drifts[0].catalogue.as_deref(), Some(old_id.as_str()));
    assert!(written.is_empty(), "a dry run writes nothing");
    assert_eq!(pro_plan(&app).await.stripe_monthly_price_id.as_deref(), Some(old_id.as_str()));

    let (_, written) = app::support::sync_prices(&app.state, true).await.unwrap();
    assert_eq!(written, ["pro"]);
    assert_eq!(pro_plan(&app).await.stripe_monthly_price_id.as_deref(), Some("price_pro_monthly_2027"));
    let (drifts, written) = app::support::sync_prices(&app.state, true).await.unwrap();
    assert_eq!(drifts.iter().map(|d| d.field).collect::<Vec<_>>(), ["amount"], "the id is in sync now");
    assert!(written.is_empty(), "idempotent");

    // A price archived at Stripe: its lookup key has no active price.
    let mut archived = stripe_fake::price("price_starter_annual_old", "starter_annual", 19000, "year");
    archived["active"] = json!(false);
    app.stripe.set_price(archived);
    let (drifts, _) = app::support::sync_prices(&app.state, false).await.unwrap();
    assert!(drifts.iter().any(|d| d.lookup_key == "starter_annual" && d.field == "missing"), "{drifts:?}");
}

/// `ops stripe replay`: an event refused when it was delivered (here the endpoint's
/// signing secret was wrong) is fetched again from Stripe's Events API and applied
/// once through the webhook's path; replaying it again, or Stripe redelivering it, is
/// a no-op. `--since` pages through the Events API and skips what is applied.
#[tokio::test]
async fn a_refused_event_is_replayed_from_stripe_once() {
    let app = spawn_app().await;
    let (_, order, session) = a_paid_will_session(&app, 9900).await;
    let payload = stripe_fake::event("evt_refused_then_replayed", "checkout.session.completed", chrono::Utc::now().timestamp(), session);
    app.stripe.create_event(&payload);
    let wrongly_signed = app
        .http
        .post(format!("{}/webhooks/stripe", app.address))
        .header("stripe-signature", stripe_signing::Webhook::generate_test_header(&payload, "whsec_rotated_elsewhere", None))
        .body(payload.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(wrongly_signed.status().as_u16(), 400);
    assert_eq!(app.store().order(&order).await.unwrap().unwrap().status, OrderStatus::Pending);

    let replayed = app::webhook::replay_event(&app.state, "evt_refused_then_replayed").await.unwrap();
    assert_eq!((replayed.outcome, replayed.applied), ("order_fulfilled", true));
    assert_eq!(app.store().order(&order).await.unwrap().unwrap().status, OrderStatus::Fulfilled);
    let again = app::webhook::replay_event(&app.state, "evt_refused_then_replayed").await.unwrap();
    assert!(!again.applied, "already applied: a no-op");
    assert!(!app.deliver_event(&payload).await.body["applied"].as_bool().unwrap(), "and so is Stripe's redelivery");

    // `--since`: more than a page of other events (the client reads 100 a page), oldest first.
    let since = chrono::Utc::now() - chrono::Duration::hours(1);
    for i in 0..105 {
        let other = stripe_fake::event(&format!("evt_other_{i:03}"), "charge.succeeded", since.timestamp() + 1, json!({"id": "ch_1"}));
        app.stripe.create_event(&other);
    }
    let all = app::webhook::replay_since(&app.state, since).await.unwrap();
    assert_eq!(all.len(), 106);
    let order_event: Vec<_> = all.iter().filter(|r| r.event_id == "evt_refused_then_replayed").collect();
    assert_eq!(order_event.len(), 1);
    assert!(!order_event[0].applied);
    assert!(all.iter().filter(|r| r.event_type == "charge.succeeded").all(|r| r.outcome == "ignored_event_type" && r.applied));
    let once_more = app::webhook::replay_since(&app.state, since).await.unwrap();
    assert!(once_more.iter().all(|r| !r.applied), "everything is applied already");
    assert_eq!(app.stripe.refunds_created(), [] as [(String, i64); 0], "nothing refunded");

    // Bad input: an unknown event, a window Stripe no longer keeps, one in the future.
    let unknown = app::webhook::replay_event(&app.state, "evt_nobody_sent").await.unwrap_err();
    assert!(unknown.to_string().contains("resource_missing"), "{unknown}");
    for since in [chrono::Utc::now() - chrono::Duration::days(31), chrono::Utc::now() + chrono::Duration::hours(1)] {
        assert!(app::webhook::replay_since(&app.state, since).await.is_err(), "{since}");
    }
}

/// Every writing command's audit line names the operator's AWS principal as STS
/// reports it (the emulator's STS here), with what changed, and carries no secret.
#[tokio::test]
async fn the_audit_line_names_the_aws_principal() {
    let sdk = api_tests::sdk_config().await;
    let who = local::audit::principal(&sdk).await;
    assert!(who.starts_with("arn:aws:"), "{who}");
    let line = local::audit::line(who, "orders retry-refund", "ord_1", "RefundFailed", "order_refunded");
    assert_eq!(line["who"], who);
    assert_eq!((line["audit"].as_str(), line["subject"].as_str()), (Some("orders retry-refund"), Some("ord_1")));
    assert_eq!((line["before"].as_str(), line["after"].as_str()), (Some("RefundFailed"), Some("order_refunded")));
    assert!(!line.to_string().contains("test"), "no credential in the line: {line}");
}
