//! The operator's commands (`ops`), run as an operator runs them (the arguments parsed
//! by the binary's parser, the output read back) against the emulator and the Stripe
//! fake.

use api_tests::{install_log_capture, spawn_app, stripe_fake, unique_email};
use domain::order::OrderStatus;
use serde_json::{Value, json};

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

/// `ops orders list` and `ops orders retry-refund`: a refund Stripe refused is made once,
/// through the same path (same key, same settle, same email); a dry run and a second
/// retry change nothing.
#[tokio::test]
async fn a_refund_failed_order_is_retried_to_refunded_once() {
    let app = spawn_app().await;
    let (ada, order, session) = a_paid_will_session(&app, 100).await;
    app.stripe.fail_refunds(true);
    let payload = stripe_fake::event("evt_wrong", "checkout.session.completed", 1_800_000_000, session);
    assert_eq!(app.deliver_event(&payload).await.status, 503);
    assert_eq!(app.store().order(&order).await.unwrap().unwrap().status, OrderStatus::RefundFailed);

    let listed = app.ops_json(&["orders", "list", "--status", "refund_failed", "--since", "1h"]).await;
    let ids: Vec<&Value> = listed["orders"].as_array().unwrap().iter().map(|o| &o["order_id"]).collect();
    assert_eq!(ids, [&json!(order)], "ops orders list finds it: {listed}");
    assert_eq!(app.ops_json(&["orders", "list", "--since", "2030-01-01"]).await, json!({"orders": []}), "created before then");

    app.stripe.fail_refunds(false);
    let dry = app.ops_json(&["orders", "retry-refund", &order, "--dry-run"]).await;
    assert_eq!(
        dry,
        json!({"order_id": order, "before": "refund_failed", "after": "refund_failed",
        "outcome": "would_retry_refund", "changed": false, "dry_run": true})
    );
    assert!(app.stripe.refunds_created().is_empty(), "a dry run refunds nothing");
    let retried = app.ops_json(&["orders", "retry-refund", &order]).await;
    assert_eq!((&retried["outcome"], &retried["after"], &retried["changed"]), (&json!("order_refunded"), &json!("refunded"), &json!(true)));
    let again = app.ops(&["orders", "retry-refund", &order]).await.unwrap();
    assert_eq!(again.trim(), format!("order {order}: refunded -> refunded (not_refund_failed)"));
    assert_eq!(app.stripe.refunds_created(), [(format!("pi_{order}"), 100)], "refunded once");
    assert_eq!(app.ops_json(&["orders", "list"]).await, json!({"orders": []}));
    let mails = app.emails_to(&ada.email).await.into_iter().filter(|(subject, _)| subject == "Your payment was refunded").count();
    assert_eq!(mails, 1);
    assert!(app.ops(&["orders", "retry-refund", "no-such-order"]).await.is_err());
    assert!(app.ops(&["orders", "list", "--status", "fulfilled"]).await.is_err(), "only the statuses an operator acts on");
    assert!(app.ops(&["orders", "list", "--since", "last week"]).await.is_err());
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

    let peeked = app.ops_json(&["queue", "peek-dlq"]).await;
    assert_eq!(peeked["dead_letters"].as_array().unwrap().len(), 1, "{peeked}");
    let dry = app.ops_json(&["queue", "redrive", "--dry-run"]).await;
    assert_eq!((dry["moved"].as_array().unwrap().len(), &dry["changed"]), (1, &json!(false)), "a dry run lists it");
    assert_eq!(local::queue_ops::peek(&sqs, &dlq, 10).await.unwrap().len(), 1, "and moves nothing");
    let moved = app.ops_json(&["queue", "redrive", "--max", "5"]).await;
    assert_eq!(moved["moved"][0]["message_id"], peeked["dead_letters"][0]["message_id"]);
    assert_eq!(app.ops(&["queue", "redrive"]).await.unwrap().trim(), "moved 0 dead letters to the task queue", "moved once");
    assert!(app.ops(&["queue", "redrive", "--max", "many"]).await.is_err());

    app.run_task_worker().await;
    let tasks = detail(&app, &ada, &petition).await["tasks"].as_array().unwrap().clone();
    assert_eq!(tasks.len(), before + 1, "{tasks:?}");
    assert_eq!(tasks.iter().filter(|t| t["task_model_id"] == "translation-standard").count(), 1);
    assert!(app.dead_letters().await.is_empty());
}

/// `ops account set-feature`: an override shows in the billing state; `default` gives the
/// plan's value back; a dry run and setting the same value twice change nothing.
#[tokio::test]
async fn a_feature_override_is_visible_in_the_billing_state() {
    let app = spawn_app().await;
    app.seed_billing_catalogue().await;
    let ada = app.register(&unique_email()).await;
    let state = async || app.get("/v1/billing/state", Some(&ada.access_token)).await.body["enabled_features"].clone();
    let default = state().await["escalation_mode"].clone();
    let flip = if default == true { "off" } else { "on" };
    let account = ada.account_id.as_str();

    let dry = app.ops_json(&["account", "set-feature", account, "escalation_mode", flip, "--dry-run"]).await;
    assert_eq!(
        dry,
        json!({"account_id": account, "flag": "escalation_mode", "before": null, "after": default != true,
        "changed": true, "dry_run": true})
    );
    assert_eq!(state().await["escalation_mode"], default, "a dry run writes nothing");
    let set = app.ops(&["account", "set-feature", account, "escalation_mode", flip]).await.unwrap();
    assert_eq!(set.trim(), format!("account {account}: feature escalation_mode override default -> {flip}"));
    assert_eq!(state().await["escalation_mode"], json!(default != true), "the override wins");
    let again = app.ops_json(&["account", "set-feature", account, "escalation_mode", flip]).await;
    assert_eq!(again["changed"], false, "idempotent");
    app.ops(&["account", "set-feature", account, "escalation_mode", "default"]).await.unwrap();
    assert_eq!(state().await["escalation_mode"], default, "back to the plan's");
    assert!(app.ops(&["account", "set-feature", account, "Bad Flag!", "on"]).await.is_err());
    assert!(app.ops(&["account", "set-feature", account, "analytics", "maybe"]).await.is_err(), "on, off or default");
    assert!(app.ops(&["account", "set-feature", "no-such-account", "analytics", "on"]).await.is_err());
}

/// `ops account extend-trial`: an ended trial is let in again by the guard until the new
/// end; a dry run writes nothing and a second run changes nothing more; a paid
/// subscription is not a trial.
#[tokio::test]
async fn a_trial_extension_is_visible_to_the_guard() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let account = ada.account_id.as_str();
    let mut trial = app.store().subscription(account).await.unwrap().unwrap();
    trial.current_period_end = Some(chrono::Utc::now() - chrono::Duration::days(1));
    app.store().put_subscription(&trial).await.unwrap();
    app.get("/v1/petitions", Some(&ada.access_token)).await.assert_error(402, "subscription_inactive");

    let dry = app.ops_json(&["account", "extend-trial", account, "7", "--dry-run"]).await;
    assert_eq!((&dry["changed"], &dry["dry_run"]), (&json!(true), &json!(true)));
    app.get("/v1/petitions", Some(&ada.access_token)).await.assert_error(402, "subscription_inactive");
    let extended = app.ops_json(&["account", "extend-trial", account, "7"]).await;
    let end: chrono::DateTime<chrono::Utc> = serde_json::from_value(extended["after"].clone()).unwrap();
    assert!(end > chrono::Utc::now() + chrono::Duration::days(6));
    assert_eq!(app.get("/v1/petitions", Some(&ada.access_token)).await.status, 200, "the guard lets the trial in");
    let again = app.ops_json(&["account", "extend-trial", account, "7"]).await;
    assert_eq!((&again["before"], &again["after"], &again["changed"]), (&extended["after"], &extended["after"], &json!(false)));
    assert!(app.ops(&["account", "extend-trial", account, "365"]).await.is_err(), "bounded");
    assert!(app.ops(&["account", "extend-trial", account, "a week"]).await.is_err());

    let mut paid = app.store().subscription(account).await.unwrap().unwrap();
    paid.status = domain::account::SubscriptionStatus::Active;
    paid.stripe_subscription_id = Some("sub_1".into());
    app.store().put_subscription(&paid).await.unwrap();
    assert!(app.ops(&["account", "extend-trial", account, "7"]).await.is_err(), "not a trial");
}

/// `ops account grant-complimentary --until` (the pilot rule for one account, with an
/// end) and `ops account deactivate`: the guards see both at once; the grant ends when
/// it says; dry runs and second runs change nothing; a past end is refused.
#[tokio::test]
async fn a_complimentary_grant_until_a_date_and_a_deactivation_are_seen_by_the_guards() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let account = ada.account_id.as_str();
    let mut trial = app.store().subscription(account).await.unwrap().unwrap();
    trial.current_period_end = Some(chrono::Utc::now() - chrono::Duration::days(1));
    app.store().put_subscription(&trial).await.unwrap();
    app.get("/v1/petitions", Some(&ada.access_token)).await.assert_error(402, "subscription_inactive");

    let until = (chrono::Utc::now() + chrono::Duration::days(30)).date_naive().to_string();
    assert!(app.ops(&["account", "grant-complimentary", account, "--until", "2020-01-01"]).await.is_err(), "an end that has passed");
    assert!(app.ops(&["account", "grant-complimentary", account, "--until", "next month"]).await.is_err());
    let dry = app.ops_json(&["account", "grant-complimentary", account, "--until", &until, "--dry-run"]).await;
    assert_eq!((&dry["after"]["status"], &dry["changed"], &dry["dry_run"]), (&json!("complimentary"), &json!(true), &json!(true)));
    app.get("/v1/petitions", Some(&ada.access_token)).await.assert_error(402, "subscription_inactive");

    let granted = app.ops_json(&["account", "grant-complimentary", account, "--until", &until]).await;
    assert_eq!((&granted["before"]["status"], &granted["after"]["status"]), (&json!("trialing"), &json!("complimentary")));
    let stored = app.store().subscription(account).await.unwrap().unwrap();
    assert_eq!(stored.current_period_end.map(|e| e.date_naive().to_string()), Some(until.clone()), "ends on the day given");
    assert_eq!(app.get("/v1/petitions", Some(&ada.access_token)).await.status, 200);
    assert_eq!(app.ops_json(&["account", "grant-complimentary", account, "--until", &until]).await["changed"], false, "once");
    assert_eq!(app.ops_json(&["account", "grant-complimentary", account]).await["changed"], false, "no end is no change");

    // The day comes: the guard refuses again, without anyone writing.
    let mut ended = stored.clone();
    ended.current_period_end = Some(chrono::Utc::now() - chrono::Duration::minutes(1));
    app.store().put_subscription(&ended).await.unwrap();
    app.get("/v1/petitions", Some(&ada.access_token)).await.assert_error(402, "subscription_inactive");
    let extended = app.ops_json(&["account", "grant-complimentary", account, "--until", &until]).await;
    assert_eq!(extended["changed"], true, "another end moves the grant's");
    assert_eq!(app.get("/v1/petitions", Some(&ada.access_token)).await.status, 200);

    let dry = app.ops_json(&["account", "deactivate", &ada.user_id, "--dry-run"]).await;
    assert_eq!(dry, json!({"user_id": ada.user_id, "changed": true, "dry_run": true}));
    assert_eq!(app.get("/v1/petitions", Some(&ada.access_token)).await.status, 200, "a dry run deactivates no one");
    assert_eq!(app.ops_json(&["account", "deactivate", &ada.user_id]).await["changed"], true);
    assert_eq!(app.ops_json(&["account", "deactivate", &ada.user_id]).await["changed"], false, "once");
    app.get("/v1/petitions", Some(&ada.access_token)).await.assert_error(403, "user_inactive");
    assert!(app.ops(&["account", "deactivate", "no-such-user"]).await.is_err());
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
    app.ops(&["account", "set-feature", &ada.account_id, "analytics", "on"]).await.unwrap();
    for who in [ada.email.to_uppercase(), ada.account_id.clone()] {
        let summary = app.ops_json(&["account", "show", &who]).await;
        assert_eq!(summary["account"]["id"], ada.account_id.as_str(), "{who}");
        assert_eq!(summary["members"][0]["user_id"], ada.user_id.as_str());
        assert_eq!(summary["members"][0]["role"], "owner");
        assert_eq!(summary["subscription"]["status"], "trialing");
        assert_eq!(summary["billing"]["enabled_features"]["analytics"], true, "the override, resolved");
        assert_eq!(summary["last_orders"][0]["id"], checkout.body["order_id"]);
    }
    assert!(app.ops(&["account", "show", "nobody@example.com"]).await.is_err());
    assert!(app.ops(&["account", "show"]).await.is_err(), "whom");
}

/// `ops backfill-pilot --dry-run` says which accounts it would grant and writes neither
/// grants nor its checkpoint; the run then grants exactly those.
#[tokio::test]
async fn a_pilot_backfill_dry_run_names_the_grants_and_writes_nothing() {
    let app = spawn_app().await;
    let ada = app.register(&unique_email()).await;
    let bob = app.register(&unique_email()).await;
    let mut canceled = app.store().subscription(&bob.account_id).await.unwrap().unwrap();
    canceled.status = domain::account::SubscriptionStatus::Canceled;
    app.store().put_subscription(&canceled).await.unwrap();

    let dry = app.ops_json(&["backfill-pilot", "--dry-run"]).await;
    assert_eq!(dry["summary"]["granted"], json!([ada.account_id]), "{dry}");
    assert_eq!((&dry["summary"]["scanned"], &dry["summary"]["unchanged"]), (&json!(2), &json!(1)));
    assert_eq!(app.store().subscription(&ada.account_id).await.unwrap().unwrap().status.as_str(), "trialing", "nothing granted");
    assert_eq!(app.store().backfill_checkpoint().await.unwrap(), None);

    let run = app.ops(&["backfill-pilot"]).await.unwrap();
    assert!(run.contains(&format!("granted complimentary pro: account {}", ada.account_id)), "{run}");
    assert_eq!(app.store().subscription(&ada.account_id).await.unwrap().unwrap().status.as_str(), "complimentary");
    assert_eq!(app.ops_json(&["backfill-pilot", "--dry-run"]).await["summary"]["granted"], json!([]), "nothing left to grant");
}

/// `ops reconcile-stripe --dry-run`: a paid session the webhook never saw is reported
/// and left alone; the run then settles it, and a dry run afterwards finds nothing.
#[tokio::test]
async fn a_reconciliation_dry_run_reports_a_missed_payment_and_fixes_nothing() {
    let app = spawn_app().await;
    let ada = app.register(&unique_email()).await;
    let will = verified_will(&app, &ada).await;
    let checkout = app.post_empty(&format!("/v1/wills/{will}/checkout"), Some(&ada.access_token)).await;
    let order = checkout.body["order_id"].as_str().unwrap().to_owned();
    let session_id = app.stripe.pay_session_of_order(&order)["id"].as_str().unwrap().to_owned();
    let dry = app.ops_json(&["reconcile-stripe", "--since", "1h", "--dry-run"]).await;
    assert_eq!(dry["fixed"], json!([[session_id, "would_settle_order"]]), "{dry}");
    assert_eq!(app.store().order(&order).await.unwrap().unwrap().status, OrderStatus::Pending, "a dry run settles nothing");

    let run = app.ops_json(&["reconcile-stripe", "--since", "1h"]).await;
    assert_eq!(run["fixed"], json!([[session_id, "order_fulfilled"]]), "{run}");
    assert_eq!(app.store().order(&order).await.unwrap().unwrap().status, OrderStatus::Fulfilled);
    assert_eq!(app.ops_json(&["reconcile-stripe", "--dry-run"]).await["fixed"], json!([]), "in line now");
    assert!(app.ops(&["reconcile-stripe", "--since", "soon"]).await.is_err());
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
    let fields = |report: &Value| -> Vec<(String, String)> {
        let differences = report["differences"].as_array().unwrap();
        differences.iter().map(|d| (d["lookup_key"].as_str().unwrap().to_owned(), d["field"].as_str().unwrap().to_owned())).collect()
    };
    let clean = app.ops_json(&["stripe", "sync-prices"]).await;
    assert_eq!(clean, json!({"differences": [], "written": [], "applied": false}), "the seed matches the fake's prices");

    let pro = plans.iter().find(|p| p.plan == "pro").unwrap();
    let old_id = pro.stripe_monthly_price_id.clone().unwrap();
    app.stripe.set_price(stripe_fake::price("price_pro_monthly_2027", "pro_monthly", pro.monthly_price_cents.unwrap() + 100, "month"));
    let report = app.ops_json(&["stripe", "sync-prices"]).await;
    assert_eq!(fields(&report), [("pro_monthly".into(), "price_id".into()), ("pro_monthly".into(), "amount".into())]);
    assert_eq!(report["differences"][0]["catalogue"], old_id.as_str());
    assert_eq!(report["written"], json!([]), "without --apply nothing is written");
    assert_eq!(pro_plan(&app).await.stripe_monthly_price_id.as_deref(), Some(old_id.as_str()));

    let applied = app.ops(&["stripe", "sync-prices", "--apply"]).await.unwrap();
    assert!(applied.trim_end().ends_with("2 differences; 1 plans written"), "{applied}");
    assert_eq!(pro_plan(&app).await.stripe_monthly_price_id.as_deref(), Some("price_pro_monthly_2027"));
    let again = app.ops_json(&["stripe", "sync-prices", "--apply"]).await;
    assert_eq!(fields(&again), [("pro_monthly".into(), "amount".into())], "the id is in sync now");
    assert_eq!(again["written"], json!([]), "idempotent");

    // A price archived at Stripe: its lookup key has no active price.
    let mut archived = stripe_fake::price("price_starter_annual_old", "starter_annual", 19000, "year");
    archived["active"] = json!(false);
    app.stripe.set_price(archived);
    let report = app.ops_json(&["stripe", "sync-prices"]).await;
    assert!(fields(&report).contains(&("starter_annual".into(), "missing".into())), "{report}");
    assert!(app.ops(&["stripe", "sync-prices", "--apply=yes"]).await.is_err());
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

    let dry = app.ops_json(&["stripe", "replay", "evt_refused_then_replayed", "--dry-run"]).await;
    assert_eq!(dry, json!({"would_replay": [["evt_refused_then_replayed", "checkout.session.completed"]], "dry_run": true}));
    assert_eq!(app.store().order(&order).await.unwrap().unwrap().status, OrderStatus::Pending, "a dry run applies nothing");
    let replayed = app.ops_json(&["stripe", "replay", "evt_refused_then_replayed"]).await;
    assert_eq!((&replayed["replayed"][0]["outcome"], &replayed["replayed"][0]["applied"]), (&json!("order_fulfilled"), &json!(true)));
    assert_eq!(app.store().order(&order).await.unwrap().unwrap().status, OrderStatus::Fulfilled);
    let again = app.ops(&["stripe", "replay", "evt_refused_then_replayed"]).await.unwrap();
    assert!(again.contains("(already applied)") && again.contains("1 events replayed, 0 applied now"), "{again}");
    assert!(!app.deliver_event(&payload).await.body["applied"].as_bool().unwrap(), "and so is Stripe's redelivery");

    // `--since`: more than a page of other events (the client reads 100 a page), oldest first.
    let since = chrono::Utc::now() - chrono::Duration::hours(1);
    for i in 0..105 {
        let other = stripe_fake::event(&format!("evt_other_{i:03}"), "charge.succeeded", since.timestamp() + 1, json!({"id": "ch_1"}));
        app.stripe.create_event(&other);
    }
    let all = app.ops_json(&["stripe", "replay", "--since", "2h"]).await;
    let all = all["replayed"].as_array().unwrap();
    assert_eq!(all.len(), 106);
    let order_event: Vec<_> = all.iter().filter(|r| r["event_id"] == "evt_refused_then_replayed").collect();
    assert_eq!(order_event.len(), 1);
    assert_eq!(order_event[0]["applied"], false);
    assert!(
        all.iter().filter(|r| r["event_type"] == "charge.succeeded").all(|r| r["outcome"] == "ignored_event_type" && r["applied"] == true)
    );
    let once_more = app.ops_json(&["stripe", "replay", "--since", "2h"]).await;
    assert!(once_more["replayed"].as_array().unwrap().iter().all(|r| r["applied"] == false), "everything is applied already");
    assert_eq!(app.stripe.refunds_created(), [] as [(String, i64); 0], "nothing refunded");

    // Bad input: an unknown event, not an event id, both or neither, a window Stripe no
    // longer keeps, one in the future.
    let unknown = app.ops(&["stripe", "replay", "evt_nobody_sent"]).await.unwrap_err();
    assert!(unknown.to_string().contains("resource_missing"), "{unknown}");
    let future = (chrono::Utc::now() + chrono::Duration::days(1)).date_naive().to_string();
    for bad in [
        vec!["stripe", "replay", "ord_1"],
        vec!["stripe", "replay"],
        vec!["stripe", "replay", "evt_1", "--since", "2h"],
        vec!["stripe", "replay", "--since", "31d"],
        vec!["stripe", "replay", "--since", &future],
    ] {
        assert!(app.ops(&bad).await.is_err(), "{bad:?}");
    }
}

/// Every change logs one audit line: the command, who (the emulator's STS identity),
/// the subject, before and after; dry runs and runs that change nothing log none, and
/// no line holds a secret.
#[tokio::test]
async fn every_change_is_audited_with_who_and_what() {
    let logs = install_log_capture();
    let app = spawn_app().await;
    let ada = app.register(&unique_email()).await;
    let account = ada.account_id.as_str();
    app.ops(&["account", "set-feature", account, "analytics", "on", "--dry-run"]).await.unwrap();
    logs.take();
    app.ops(&["account", "set-feature", account, "analytics", "on"]).await.unwrap();
    app.ops(&["account", "set-feature", account, "analytics", "on"]).await.unwrap();
    app.ops(&["account", "grant-complimentary", account, "--dry-run"]).await.unwrap();
    app.ops(&["account", "grant-complimentary", account]).await.unwrap();
    let lines = logs.take();
    let audits: Vec<&Value> = lines.iter().filter(|l| l["message"] == "operator change").collect();
    assert_eq!(audits.len(), 2, "one per change: {audits:?}");
    for key in ["level", "timestamp", "service", "audit", "who", "who_source", "subject", "before", "after"] {
        assert!(audits.iter().all(|a| a.get(key).is_some_and(|v| !v.is_null())), "no {key}: {audits:?}");
    }
    assert_eq!(audits[0]["audit"], "account set-feature");
    assert!(audits[0]["who"].as_str().is_some_and(|who| who.starts_with("arn:aws:")), "STS's answer: {}", audits[0]["who"]);
    assert_eq!(audits[0]["who_source"], "sts");
    assert_eq!(audits[0]["subject"], account);
    assert_eq!((&audits[0]["before"], &audits[0]["after"]), (&json!("{}"), &json!(r#"{"analytics":true}"#)));
    assert_eq!(audits[1]["audit"], "account grant-complimentary");
    let before: Value = serde_json::from_str(audits[1]["before"].as_str().unwrap()).unwrap();
    let after: Value = serde_json::from_str(audits[1]["after"].as_str().unwrap()).unwrap();
    assert_eq!((&before["status"], &after["status"]), (&json!("trialing"), &json!("complimentary")));
    let text = serde_json::to_string(&lines).unwrap();
    for secret in [api_tests::JWT_SECRET, stripe_fake::SECRET_KEY, stripe_fake::WEBHOOK_SECRET, ada.access_token.as_str()] {
        assert!(!text.contains(secret), "a secret in the logs");
    }
}

/// Where STS cannot answer (here: nothing listens where it is sent), the audit line
/// names the environment's user and says so, and the change is made all the same.
#[tokio::test]
async fn without_sts_the_audit_names_the_environments_user() {
    use clap::Parser;
    let logs = install_log_capture();
    let app = spawn_app().await;
    let ada = app.register(&unique_email()).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let unreachable = adapters::aws::aws_config_loader()
        .endpoint_url(format!("http://{closed}"))
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await;
    let ops = local::ops::Ops::with_state(unreachable, app.state.clone());
    let cli = local::ops::Cli::try_parse_from(["ops", "account", "set-feature", &ada.account_id, "analytics", "on"]).unwrap();
    ops.run(cli.command, &mut Vec::new()).await.unwrap();
    let overrides = app.store().account(&ada.account_id).await.unwrap().unwrap().feature_overrides;
    assert_eq!(overrides.get("analytics"), Some(&true));
    let lines = logs.take();
    let audit = lines.iter().find(|l| l["message"] == "operator change").expect("an audit line");
    assert_eq!(audit["who_source"], "environment");
    let expected = std::env::var("AWS_PROFILE").or_else(|_| std::env::var("USER")).unwrap_or_else(|_| "unknown".to_owned());
    assert_eq!(audit["who"], expected.as_str());
    assert!(lines.iter().any(|l| l["message"].as_str().is_some_and(|m| m.contains("STS GetCallerIdentity failed"))), "and says why");
}

/// `ops --help` and `ops COMMAND --help` answer from the parser, and a call it cannot
/// read is refused before anything runs.
#[tokio::test]
async fn help_and_bad_calls_are_answered_by_the_parser() {
    let app = spawn_app().await;
    let help = app.ops(&["--help"]).await.unwrap_err().to_string();
    for command in ["account", "orders", "queue", "stripe", "backfill-pilot", "reconcile-stripe"] {
        assert!(help.contains(command), "{command} in {help}");
    }
    let account_help = app.ops(&["account", "grant-complimentary", "--help"]).await.unwrap_err().to_string();
    assert!(account_help.contains("--until") && account_help.contains("--dry-run"), "{account_help}");
    for bad in [vec!["no-such-command"], vec!["account"], vec!["account", "extend-trial", "acc_1"], vec!["orders", "list", "--bogus"]] {
        let err = app.ops(&bad).await.unwrap_err();
        assert!(err.downcast_ref::<clap::Error>().is_some(), "{bad:?}: {err}");
    }
}
