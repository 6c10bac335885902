//! Billing checkout/portal against the Stripe fake, and the signed webhook.

use api_tests::stripe_fake::{self, event, fixture, sign, subscription};
use api_tests::{Session, TestApp, spawn_app, unique_email};
use app::webhook::{NoFaults, Step};
use domain::account::SubscriptionStatus;
use serde_json::{Value, json};

async fn checkout(app: &TestApp, session: &Session, body: Value) -> api_tests::Reply {
    app.post("/v1/billing/checkout-session", &body, Some(&session.access_token)).await
}

/// A shop that has been through checkout once, so it has a Stripe customer.
async fn customer(app: &TestApp) -> (Session, String) {
    app.seed_billing_catalogue().await;
    let session = app.register(&unique_email()).await;
    let reply = checkout(app, &session, json!({"plan": "pro", "seats": 2, "billing_interval": "monthly"})).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let customer = app.store().account(&session.account_id).await.unwrap().unwrap().stripe_customer_id.unwrap();
    (session, customer)
}

fn field(form: &[(String, String)], key: &str) -> Option<String> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

#[tokio::test]
async fn checkout_creates_the_customer_once_and_passes_seats_and_the_trial_end() {
    let app = spawn_app().await;
    app.seed_billing_catalogue().await;
    let session = app.register(&unique_email()).await;
    let body = json!({"plan": "pro", "seats": 3, "billing_interval": "annual"});
    let (a, b) = tokio::join!(checkout(&app, &session, body.clone()), checkout(&app, &session, body.clone()));
    assert_eq!((a.status, b.status), (200, 200), "{} {}", a.body, b.body);
    assert!(a.body["url"].as_str().unwrap().starts_with(&format!("{}/checkout/cs_test_", app.stripe.uri())));
    checkout(&app, &session, body).await;

    let stored = app.store().account(&session.account_id).await.unwrap().unwrap().stripe_customer_id.unwrap();
    let sessions = app.stripe.requests_to("/v1/checkout/sessions").await;
    assert!((1..=2).contains(&sessions.len()), "the racing requests at most, the third reuses the open session");
    let trial_end = app.store().subscription(&session.account_id).await.unwrap().unwrap().current_period_end.unwrap();
    for form in &sessions {
        assert_eq!(field(form, "customer").as_deref(), Some(stored.as_str()), "one customer for every session");
        assert_eq!(field(form, "mode").as_deref(), Some("subscription"));
        assert_eq!(field(form, "line_items[0][price]").as_deref(), Some("price_demo_pro_annual"));
        assert_eq!(field(form, "line_items[0][quantity]").as_deref(), Some("3"));
        assert_eq!(field(form, "subscription_data[trial_end]"), Some(trial_end.timestamp().to_string()));
    }
    let customers = app.stripe.requests_to("/v1/customers").await;
    assert!(customers.len() <= 2, "a customer is created at most by the two racing requests");
}

#[tokio::test]
async fn no_trial_end_once_the_trial_is_over() {
    let app = spawn_app().await;
    app.seed_billing_catalogue().await;
    let session = app.register(&unique_email()).await;
    let mut sub = app.store().subscription(&session.account_id).await.unwrap().unwrap();
    sub.current_period_end = Some(chrono::Utc::now() - chrono::Duration::days(1));
    app.store().put_subscription(&sub).await.unwrap();
    let reply = checkout(&app, &session, json!({"plan": "starter", "seats": 1})).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let form = &app.stripe.requests_to("/v1/checkout/sessions").await[0];
    assert_eq!(field(form, "subscription_data[trial_end]"), None);
    assert_eq!(field(form, "line_items[0][price]").as_deref(), Some("price_demo_starter_monthly"));
}

/// Stripe refuses a Checkout `trial_end` under 48 hours ahead (the fake does too): in
/// the trial's last two days the checkout still opens, with the trial moved to the minimum.
#[tokio::test]
async fn a_checkout_in_the_trials_last_two_days_still_opens() {
    let app = spawn_app().await;
    app.seed_billing_catalogue().await;
    for hours_left in [49, 47, 1] {
        let session = app.register(&unique_email()).await;
        let mut sub = app.store().subscription(&session.account_id).await.unwrap().unwrap();
        let now = chrono::Utc::now();
        sub.current_period_end = Some(now + chrono::Duration::hours(hours_left));
        app.store().put_subscription(&sub).await.unwrap();
        let reply = checkout(&app, &session, json!({"plan": "pro", "seats": 1})).await;
        assert_eq!(reply.status, 200, "{hours_left} h left: {}", reply.body);
        let form = app.stripe.requests_to("/v1/checkout/sessions").await.pop().unwrap();
        let sent: i64 = field(&form, "subscription_data[trial_end]").unwrap().parse().unwrap();
        let ahead = sent - now.timestamp();
        if hours_left == 49 {
            assert_eq!(sent, sub.current_period_end.unwrap().timestamp(), "the trial's own end");
        } else {
            assert!((48 * 3600..51 * 3600).contains(&ahead), "{hours_left} h left: trial_end {ahead} s ahead");
        }
    }
}

#[tokio::test]
async fn the_stripe_fake_refuses_a_trial_end_under_48_hours() {
    let app = spawn_app().await;
    let soon = chrono::Utc::now().timestamp() + 47 * 3600;
    let reply = reqwest::Client::new()
        .post(format!("{}/v1/checkout/sessions", app.stripe.uri()))
        .bearer_auth(stripe_fake::SECRET_KEY)
        .form(&[("mode", "subscription"), ("subscription_data[trial_end]", &soon.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 400);
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["error"]["param"], "subscription_data[trial_end]");
}

/// The fake refuses what Stripe's documented limits refuse in a session's parameters.
#[tokio::test]
async fn the_stripe_fake_refuses_session_parameters_past_stripes_limits() {
    let app = spawn_app().await;
    let long = "x".repeat(501);
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("line_items[0][price_data][unit_amount]", "49")], "amount_too_small"),
        (&[("line_items[0][quantity]", "0")], "parameter_invalid_integer"),
        (&[("metadata[order_id]", long.as_str())], "parameter_invalid_metadata"),
        (&[("client_reference_id", &long[..201])], "parameter_invalid_string_too_long"),
    ];
    for (form, code) in cases {
        let reply = reqwest::Client::new()
            .post(format!("{}/v1/checkout/sessions", app.stripe.uri()))
            .bearer_auth(stripe_fake::SECRET_KEY)
            .form(form)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 400, "{code}");
        let body: Value = reply.json().await.unwrap();
        assert_eq!(body["error"]["code"], code);
    }
}

/// Stripe replays a used idempotency key only for the same parameters; the fake too.
#[tokio::test]
async fn the_stripe_fake_refuses_a_used_idempotency_key_with_other_parameters() {
    let app = spawn_app().await;
    app.stripe.charge("pi_1", 1000);
    let refund = async |amount: &str| {
        let reply = reqwest::Client::new()
            .post(format!("{}/v1/refunds", app.stripe.uri()))
            .bearer_auth(stripe_fake::SECRET_KEY)
            .header("idempotency-key", "refund-one")
            .form(&[("payment_intent", "pi_1"), ("amount", amount)])
            .send()
            .await
            .unwrap();
        (reply.status().as_u16(), reply.json::<Value>().await.unwrap())
    };
    let (first, made) = refund("500").await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let (again, replayed) = refund("500").await;
    assert_eq!((first, again), (200, 200));
    assert_eq!(made["id"], replayed["id"], "the same parameters: the first answer again");
    let (other, error) = refund("400").await;
    assert_eq!((other, error["error"]["type"].as_str()), (400, Some("idempotency_error")));
    assert_eq!(app.stripe.refunds_created().len(), 1);
}

/// Stripe refuses a refund of a payment intent it never charged, of a charge refunded
/// in full, and of more than is left; the fake too.
#[tokio::test]
async fn the_stripe_fake_refuses_refunds_stripe_refuses() {
    let app = spawn_app().await;
    app.stripe.charge("pi_paid", 1000);
    let refund = async |intent: &str, amount: &str, key: &str| {
        let reply = reqwest::Client::new()
            .post(format!("{}/v1/refunds", app.stripe.uri()))
            .bearer_auth(stripe_fake::SECRET_KEY)
            .header("idempotency-key", key)
            .form(&[("payment_intent", intent), ("amount", amount)])
            .send()
            .await
            .unwrap();
        let status = reply.status().as_u16();
        let body: Value = reply.json().await.unwrap();
        (status, body["error"]["code"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(refund("pi_unknown", "100", "k1").await, (400, "resource_missing".to_owned()));
    assert_eq!(refund("pi_paid", "1001", "k2").await, (400, "amount_too_large".to_owned()));
    assert_eq!(refund("pi_paid", "600", "k3").await.0, 200);
    assert_eq!(refund("pi_paid", "500", "k4").await, (400, "amount_too_large".to_owned()), "400 left");
    assert_eq!(refund("pi_paid", "400", "k5").await.0, 200);
    assert_eq!(refund("pi_paid", "1", "k6").await, (400, "charge_already_refunded".to_owned()));
}

#[tokio::test]
async fn checkout_bad_input() {
    let app = spawn_app().await;
    app.seed_billing_catalogue().await;
    let session = app.register(&unique_email()).await;
    checkout(&app, &session, json!({"plan": "gold", "seats": 1})).await.assert_error(400, "unknown_plan");
    checkout(&app, &session, json!({"plan": "team", "seats": 1, "billing_interval": "annual"}))
        .await
        .assert_error(400, "no_price_for_interval");
    checkout(&app, &session, json!({"plan": "enterprise", "seats": 1})).await.assert_error(400, "no_price_for_interval");
    for bad in [
        json!({"plan": "pro", "seats": 0}),
        json!({"plan": "pro", "seats": -2}),
        json!({"plan": "pro"}),
        json!({"plan": "pro", "seats": 1, "billing_interval": "weekly"}),
    ] {
        checkout(&app, &session, bad).await.assert_error(422, "validation_failed");
    }
    assert!(app.stripe.requests_to("/v1/checkout/sessions").await.is_empty());
    assert_eq!(app.store().account(&session.account_id).await.unwrap().unwrap().stripe_customer_id, None);
}

#[tokio::test]
async fn stripe_not_configured_is_503() {
    let app = api_tests::spawn_app_with(|config| config.stripe.secret_key = None).await;
    app.seed_billing_catalogue().await;
    let session = app.register(&unique_email()).await;
    checkout(&app, &session, json!({"plan": "pro", "seats": 1})).await.assert_error(503, "stripe_not_configured");
    app.post_empty("/v1/billing/portal-session", Some(&session.access_token)).await.assert_error(503, "stripe_not_configured");
}

#[tokio::test]
async fn portal_needs_a_customer_and_returns_stripes_url() {
    let app = spawn_app().await;
    app.seed_billing_catalogue().await;
    let fresh = app.register(&unique_email()).await;
    app.post_empty("/v1/billing/portal-session", Some(&fresh.access_token)).await.assert_error(400, "no_billing_account");
    let (session, customer) = customer(&app).await;
    let reply = app.post_empty("/v1/billing/portal-session", Some(&session.access_token)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body["url"].as_str().unwrap().starts_with(&format!("{}/portal/", app.stripe.uri())));
    let form = &app.stripe.requests_to("/v1/billing_portal/sessions").await[0];
    assert_eq!(field(form, "customer"), Some(customer));
    assert_eq!(field(form, "return_url").as_deref(), Some("http://app.test/account/billing"));
}

#[tokio::test]
async fn webhook_signature_failures_are_400_and_write_nothing() {
    let app = spawn_app().await;
    let payload = event("evt_sig", "customer.subscription.updated", 1_800_000_000, fixture("subscription"));
    let post = |signature: Option<String>, body: String| {
        let app = &app;
        async move {
            let mut request = app.http.post(format!("{}/webhooks/stripe", app.address)).body(body);
            if let Some(signature) = signature {
                request = request.header("stripe-signature", signature);
            }
            api_tests::Reply::from(request.send().await.unwrap()).await
        }
    };
    post(None, payload.clone()).await.assert_error(400, "invalid_signature");
    post(Some("t=1,v1=deadbeef".into()), payload.clone()).await.assert_error(400, "invalid_signature");
    let stale = sign(&payload, Some(chrono::Utc::now().timestamp() - 301));
    post(Some(stale), payload.clone()).await.assert_error(400, "invalid_signature");
    let tampered_body = payload.replace("evt_sig", "evt_sig2");
    post(Some(sign(&payload, None)), tampered_body).await.assert_error(400, "invalid_signature");
    let wrong_secret = stripe_fake::sign(&payload, None).replace("v1=", "v1=00");
    post(Some(wrong_secret), payload.clone()).await.assert_error(400, "invalid_signature");
    assert!(app.all_items().await.is_empty());
}

fn sub_event(id: &str, kind: &str, created: i64, customer: &str, status: &str, quantity: u64) -> String {
    let object = subscription("sub_1", customer, status, "price_demo_team_monthly", quantity, (created, created + 2_592_000));
    event(id, kind, created, object)
}

#[tokio::test]
async fn concurrent_identical_deliveries_apply_once() {
    let app = spawn_app().await;
    let (session, customer) = customer(&app).await;
    let payload = sub_event("evt_dup", "customer.subscription.updated", 1_800_000_000, &customer, "active", 7);
    let replies = futures::future::join_all((0..50).map(|_| app.deliver_event(&payload))).await;
    assert!(replies.iter().all(|r| r.status == 200), "{:?}", replies.iter().map(|r| &r.body).collect::<Vec<_>>());
    assert_eq!(replies.iter().filter(|r| r.body["applied"] == true).count(), 1);
    let sub = app.store().subscription(&session.account_id).await.unwrap().unwrap();
    assert_eq!((sub.status, sub.plan.as_str(), sub.seat_limit), (SubscriptionStatus::Active, "team", 7));
    let record = app.store().stripe_event("evt_dup").await.unwrap().unwrap();
    assert_eq!(record.status, "processed");
    assert!(record.processed_at.is_some_and(|at| at >= record.received_at));
    assert!(record.payload_excerpt.starts_with("{\"api_version\"") && record.payload_excerpt.chars().count() == 500);
}

#[tokio::test]
async fn any_delivery_order_ends_in_the_newest_state() {
    let app = spawn_app().await;
    let (session, customer) = customer(&app).await;
    let events = [
        sub_event("evt_a", "customer.subscription.updated", 1_800_000_100, &customer, "active", 2),
        sub_event("evt_b", "customer.subscription.updated", 1_800_000_200, &customer, "past_due", 3),
        sub_event("evt_c", "customer.subscription.updated", 1_800_000_300, &customer, "active", 5),
        sub_event("evt_d", "customer.subscription.deleted", 1_800_000_400, &customer, "canceled", 5),
    ];
    // Every permutation of the four, each on a fresh subscription state.
    let mut orders = Vec::new();
    permutations(&mut vec![0, 1, 2, 3], 0, &mut orders);
    assert_eq!(orders.len(), 24);
    for order in orders {
        let mut sub = app.store().subscription(&session.account_id).await.unwrap().unwrap();
        sub.status = SubscriptionStatus::Trialing;
        app.store().put_subscription(&sub).await.unwrap(); // forgets the last applied event
        for i in &order {
            let unique = events[*i].replace("\"evt_", &format!("\"evt_{}_", order.iter().map(|d| d.to_string()).collect::<String>()));
            let reply = app.deliver_event(&unique).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
        }
        let sub = app.store().subscription(&session.account_id).await.unwrap().unwrap();
        let tag: String = order.iter().map(|d| d.to_string()).collect();
        let mut outcomes = Vec::new();
        for e in ["a", "b", "c", "d"] {
            outcomes.push(app.store().stripe_event(&format!("evt_{tag}_{e}")).await.unwrap().and_then(|r| r.outcome));
        }
        assert_eq!(sub.status, SubscriptionStatus::Canceled, "order {order:?}: {outcomes:?}");
        assert_eq!(sub.seat_limit, 5, "order {order:?}");
    }
}

fn permutations(items: &mut Vec<usize>, k: usize, out: &mut Vec<Vec<usize>>) {
    if k == items.len() {
        out.push(items.clone());
        return;
    }
    for i in k..items.len() {
        items.swap(k, i);
        permutations(items, k + 1, out);
        items.swap(k, i);
    }
}

/// A crash after the event is recorded is finished by the redelivery, once. A
/// subscription update writes its effect and the processed mark in one transaction,
/// so no crash can fall between them (the crash after `Applied` is never reached);
/// payments keep that step (`orders`, `petitions`).
#[tokio::test]
async fn a_crash_after_any_step_is_finished_by_the_redelivery_once() {
    for step in [Step::Recorded, Step::Applied] {
        let app = spawn_app().await;
        let (session, customer) = customer(&app).await;
        let payload = sub_event("evt_crash", "customer.subscription.updated", 1_800_000_000, &customer, "past_due", 4);
        let signature = sign(&payload, None);
        let crash = api_tests::CrashOnceAt::new(step);
        let first = app::webhook::receive(&app.state, &payload, Some(&signature), &crash).await;
        let applied = match step {
            Step::Recorded => {
                assert!(first.is_err());
                app::webhook::receive(&app.state, &payload, Some(&signature), &NoFaults).await.unwrap()
            }
            Step::Applied => first.unwrap(),
        };
        assert!(applied.applied, "{step:?}");
        let again = app::webhook::receive(&app.state, &payload, Some(&signature), &NoFaults).await.unwrap();
        assert!(!again.applied, "{step:?}");
        let sub = app.store().subscription(&session.account_id).await.unwrap().unwrap();
        assert_eq!((sub.status, sub.seat_limit), (SubscriptionStatus::PastDue, 4), "{step:?}");
    }
}

#[tokio::test]
async fn checkout_completed_applies_the_subscription_as_stripe_records_it() {
    let app = spawn_app().await;
    let (session, customer) = customer(&app).await;
    let now = chrono::Utc::now().timestamp();
    app.stripe.add_subscription(&subscription("sub_new", &customer, "trialing", "price_demo_team_monthly", 6, (now, now + 2_592_000)));
    let mut completed = fixture("checkout.session");
    completed["mode"] = json!("subscription");
    completed["customer"] = json!(customer);
    completed["subscription"] = json!("sub_new");
    completed["payment_status"] = json!("paid");
    let reply = app.deliver_event(&event("evt_done", "checkout.session.completed", now, completed)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body, json!({"status": "ok", "applied": true}));
    let sub = app.store().subscription(&session.account_id).await.unwrap().unwrap();
    // Paid with a trial still running: Stripe's `trialing` until the trial ends.
    assert_eq!((sub.status, sub.plan.as_str(), sub.seat_limit), (SubscriptionStatus::Trialing, "team", 6));
    assert_eq!(sub.current_period_end.unwrap().timestamp(), now + 2_592_000);
    assert_eq!(sub.stripe_subscription_id.as_deref(), Some("sub_new"));
}

/// An invoice in Stripe's shape (API 2025-03 and later: its subscription under
/// `parent.subscription_details`); None makes it a one-off invoice.
fn invoice_of(customer: &str, subscription: Option<&str>) -> Value {
    let mut invoice = fixture("invoice");
    invoice["customer"] = json!(customer);
    invoice["parent"] = match subscription {
        Some(id) => json!({"type": "subscription_details", "quote_details": null,
            "subscription_details": {"metadata": {}, "subscription": id, "subscription_proration_date": null}}),
        None => Value::Null,
    };
    invoice
}

/// Makes the account's subscription a live one that follows Stripe subscription `id`.
async fn follow_subscription(app: &TestApp, account_id: &str, id: &str) {
    let mut sub = app.store().subscription(account_id).await.unwrap().unwrap();
    sub.status = SubscriptionStatus::Active;
    sub.stripe_subscription_id = Some(id.to_owned());
    app.store().put_subscription(&sub).await.unwrap();
}

/// A Stripe customer may hold several subscriptions and pay one-off invoices: only
/// events of the subscription the account follows change it, and a second live
/// subscription is refused at checkout.
#[tokio::test]
async fn only_the_followed_subscription_changes_the_account() {
    let app = spawn_app().await;
    let (session, customer) = customer(&app).await;
    follow_subscription(&app, &session.account_id, "sub_ours").await;
    let status = || async { app.store().subscription(&session.account_id).await.unwrap().unwrap().status };
    let outcome = |id: &'static str| {
        let store = app.store().clone();
        async move { store.stripe_event(id).await.unwrap().unwrap().outcome }
    };

    app.deliver_event(&event("evt_one_off", "invoice.payment_failed", 1_800_000_000, invoice_of(&customer, None))).await;
    assert_eq!(outcome("evt_one_off").await.as_deref(), Some("ignored_no_subscription"));
    app.deliver_event(&event("evt_other_inv", "invoice.payment_failed", 1_800_000_010, invoice_of(&customer, Some("sub_other")))).await;
    assert_eq!(outcome("evt_other_inv").await.as_deref(), Some("other_subscription"));
    let other = subscription("sub_other", &customer, "canceled", "price_demo_team_monthly", 1, (1_800_000_000, 1_802_592_000));
    app.deliver_event(&event("evt_other_del", "customer.subscription.deleted", 1_800_000_020, other)).await;
    assert_eq!(outcome("evt_other_del").await.as_deref(), Some("other_subscription"));
    assert_eq!(status().await, SubscriptionStatus::Active);

    // The old invoice shape (top-level `subscription`) still names ours.
    let mut old_shape = invoice_of(&customer, None);
    old_shape["subscription"] = json!("sub_ours");
    app.deliver_event(&event("evt_ours", "invoice.payment_failed", 1_800_000_030, old_shape)).await;
    assert_eq!(status().await, SubscriptionStatus::PastDue);

    checkout(&app, &session, json!({"plan": "pro", "seats": 1})).await.assert_error(409, "subscription_exists");
}

/// A well-signed event about something we do not know is recorded and acknowledged.
#[tokio::test]
async fn a_completed_checkout_of_an_unknown_customer_is_acknowledged() {
    let app = spawn_app().await;
    let mut completed = fixture("checkout.session");
    completed["mode"] = json!("subscription");
    completed["customer"] = json!("cus_unknown");
    completed["subscription"] = json!("sub_unknown");
    completed["metadata"] = json!({});
    let reply = app.deliver_event(&event("evt_stranger", "checkout.session.completed", 1_800_000_000, completed)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(app.store().stripe_event("evt_stranger").await.unwrap().unwrap().outcome.as_deref(), Some("unknown_customer"));
}

/// A completed checkout naming a subscription Stripe no longer knows (`resource_missing`)
/// is recorded and acknowledged: retrying it for three days would change nothing.
#[tokio::test]
async fn a_completed_checkout_of_a_subscription_stripe_does_not_know_is_acknowledged() {
    let app = spawn_app().await;
    let (session, customer) = customer(&app).await;
    let before = app.store().subscription(&session.account_id).await.unwrap().unwrap();
    let mut completed = fixture("checkout.session");
    completed["mode"] = json!("subscription");
    completed["customer"] = json!(customer);
    completed["subscription"] = json!("sub_gone");
    completed["metadata"] = json!({});
    let reply = app.deliver_event(&event("evt_gone", "checkout.session.completed", 1_800_000_000, completed)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["applied"], true);
    let record = app.store().stripe_event("evt_gone").await.unwrap().unwrap();
    assert_eq!((record.status.as_str(), record.outcome.as_deref()), ("processed", Some("ignored_subscription_missing")));
    assert_eq!(app.store().subscription(&session.account_id).await.unwrap().unwrap(), before, "nothing changed");
}

/// Stripe does not guarantee delivery order: a refused recovery (the subscription was
/// not past due) still happened, so an older failure delivered after it changes nothing.
#[tokio::test]
async fn a_refused_event_still_moves_the_ordering_mark() {
    let app = spawn_app().await;
    let (session, customer) = customer(&app).await;
    follow_subscription(&app, &session.account_id, "sub_inv").await;
    let invoice = invoice_of(&customer, Some("sub_inv"));
    app.deliver_event(&event("evt_ok", "invoice.payment_succeeded", 1_800_000_100, invoice.clone())).await;
    app.deliver_event(&event("evt_old_failure", "invoice.payment_failed", 1_800_000_000, invoice)).await;
    let stored = app.store().subscription(&session.account_id).await.unwrap().unwrap();
    assert_ne!(stored.status, SubscriptionStatus::PastDue);
}

#[tokio::test]
async fn invoice_failure_and_recovery_and_unknown_customers() {
    let app = spawn_app().await;
    let (session, customer) = customer(&app).await;
    follow_subscription(&app, &session.account_id, "sub_inv").await;
    let invoice = |customer: &str| invoice_of(customer, Some("sub_inv"));
    let status = || async { app.store().subscription(&session.account_id).await.unwrap().unwrap().status };
    app.deliver_event(&event("evt_if", "invoice.payment_failed", 1_800_000_000, invoice(&customer))).await;
    assert_eq!(status().await, SubscriptionStatus::PastDue);
    app.deliver_event(&event("evt_is", "invoice.payment_succeeded", 1_800_000_100, invoice(&customer))).await;
    assert_eq!(status().await, SubscriptionStatus::Active);

    let stranger = app.deliver_event(&event("evt_x", "invoice.payment_failed", 1_800_000_200, invoice("cus_unknown"))).await;
    assert_eq!(stranger.status, 200);
    assert_eq!(app.store().stripe_event("evt_x").await.unwrap().unwrap().outcome.as_deref(), Some("unknown_customer"));
    let other = app.deliver_event(&event("evt_o", "customer.created", 1_800_000_300, fixture("customer"))).await;
    assert_eq!(other.status, 200, "{}", other.body);
    assert_eq!(app.store().stripe_event("evt_o").await.unwrap().unwrap().outcome.as_deref(), Some("ignored_event_type"));
    assert_eq!(status().await, SubscriptionStatus::Active);
}

#[tokio::test]
async fn billing_routes_are_owner_only() {
    let app = spawn_app().await;
    app.seed_billing_catalogue().await;
    let owner = app.register(&unique_email()).await;
    let email = unique_email();
    let invite = app.post("/v1/accounts/me/invites", &json!({"email": email, "role": "admin"}), Some(&owner.access_token)).await;
    assert_eq!(invite.status, 201);
    let mails = app.emails_to(&email).await;
    let link = &mails[0].1;
    let code: String =
        link[link.find("code=").unwrap() + 5..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    let admin = app
        .post(
            "/v1/auth/register",
            &json!({"email": email, "password": api_tests::PASSWORD, "name": "Ad", "account_invite_code": code}),
            None,
        )
        .await;
    let token = admin.body["access_token"].as_str().unwrap();
    app.post("/v1/billing/checkout-session", &json!({"plan": "pro", "seats": 1}), Some(token)).await.assert_error(403, "owner_required");
    app.post_empty("/v1/billing/portal-session", Some(token)).await.assert_error(403, "owner_required");
    assert_eq!(app.get("/v1/billing/state", Some(token)).await.status, 200, "members may read the state");
}

/// Stripe's error answers reach the caller with their status and message (the
/// adapter's own client reads only `type`, `code` and `message`).
#[tokio::test]
async fn stripe_errors_keep_their_status_and_message() {
    let app = spawn_app().await;
    let missing = app.state.payments.subscription("sub_missing").await.err().expect("no such subscription");
    let missing = format!("{missing:#}");
    assert!(missing.contains("404") && missing.contains("No such subscription"), "{missing}");

    let wrong_key = adapters::config::StripeConfig {
        secret_key: Some("sk_test_not_this_account".to_owned().into()),
        webhook_secret: None,
        api_base: app.stripe.uri(),
    };
    let refused = adapters::payments::Payments::new(wrong_key).create_customer("acc", "a@example.com", "A").await.expect_err("refused");
    let refused = format!("{refused:#}");
    assert!(refused.contains("401") && refused.contains("Invalid API Key"), "{refused}");
    assert!(!refused.contains("sk_test_not_this_account"), "the key is not in the error");
}

/// The customer is created with an idempotency key per account, so a retried or
/// concurrent first checkout gets the same customer back.
#[tokio::test]
async fn customer_creation_carries_the_account_idempotency_key() {
    let app = spawn_app().await;
    let (first, second) = tokio::join!(
        app.state.payments.create_customer("acc_same", "a@example.com", "A"),
        app.state.payments.create_customer("acc_same", "a@example.com", "A"),
    );
    assert_eq!(first.unwrap(), second.unwrap());
    let other = app.state.payments.create_customer("acc_other", "b@example.com", "B").await.unwrap();
    assert_ne!(other, app.state.payments.create_customer("acc_same", "a@example.com", "A").await.unwrap());
}

/// A subscription change the webhook never delivered (a cancellation in Stripe's
/// dashboard while the endpoint was down) is applied by the reconciliation, which
/// compares Stripe's record with the account's; a second run changes nothing.
#[tokio::test]
async fn a_subscription_change_the_webhook_missed_is_applied_by_the_reconciliation() {
    let app = spawn_app().await;
    let (session, customer) = customer(&app).await;
    follow_subscription(&app, &session.account_id, "sub_missed").await;
    let now = chrono::Utc::now().timestamp();
    app.stripe.add_subscription(&subscription("sub_missed", &customer, "canceled", "price_demo_team_monthly", 3, (now, now + 2_592_000)));
    app.stripe.add_subscription(&subscription(
        "sub_stranger",
        "cus_stranger",
        "active",
        "price_demo_team_monthly",
        1,
        (now, now + 2_592_000),
    ));

    let since = chrono::Utc::now() - chrono::Duration::days(4);
    let first = app::reconcile::stripe(&app.state, since, false).await.unwrap();
    assert_eq!(first.fixed, [("sub_missed".to_owned(), "subscription_updated")], "{first:?}");
    let stored = app.store().subscription(&session.account_id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.seat_limit), (SubscriptionStatus::Canceled, 3));
    let second = app::reconcile::stripe(&app.state, since, false).await.unwrap();
    assert!(second.fixed.is_empty() && second.failed.is_empty(), "{second:?}");
}
