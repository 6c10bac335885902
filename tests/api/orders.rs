//! Orders and the one fulfilment path, with a test order kind (the product kinds plug
//! in the same way).

use std::sync::Arc;

use api_tests::stripe_fake::{event, fixture, sign};
use api_tests::{TestApp, spawn_app, unique_email};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use shared::domain::order::{Order, OrderStatus};
use shared::orders::{BoxFuture, Delivery, OrderKind};
use shared::webhook::{NoFaults, Step};

/// Delivers by writing one item per order, conditionally (idempotent, as required).
struct TestDelivery;

impl OrderKind for TestDelivery {
    fn kind(&self) -> &'static str {
        "test_delivery"
    }

    fn deliver<'a>(&'a self, state: &'a shared::AppState, order: &'a Order) -> BoxFuture<'a, anyhow::Result<Delivery>> {
        Box::pin(async move {
            let put = state
                .store
                .client()
                .put_item()
                .table_name(state.store.table())
                .item("pk", AttributeValue::S(format!("DELIVERY#{}", order.id)))
                .item("sk", AttributeValue::S("DELIVERY".into()))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await;
            match put {
                Ok(_) => Ok(Delivery::Delivered),
                Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(Delivery::Delivered),
                Err(err) => Err(err.into()),
            }
        })
    }
}

async fn app_with_order(amount_cents: i64) -> (TestApp, Order, Option<String>) {
    let app = spawn_app().await;
    app.state.fulfilment.register(Arc::new(TestDelivery));
    let session = app.register(&unique_email()).await;
    let order = Order::new("test_delivery", &session.account_id, &session.user_id, amount_cents, json!({"thing": 1}), chrono::Utc::now());
    let started = shared::orders::start_checkout(&app.state, order.clone(), "A test thing", Some(&session.email)).await.unwrap();
    assert_eq!(started.order_id, order.id);
    (app, order, started.checkout_url)
}

fn paid_session(order: &Order, amount: i64, currency: &str) -> serde_json::Value {
    let mut session = fixture("checkout.session");
    session["id"] = json!(format!("cs_test_{}", order.id));
    session["mode"] = json!("payment");
    session["payment_status"] = json!("paid");
    session["amount_total"] = json!(amount);
    session["currency"] = json!(currency);
    session["metadata"] = json!({"order_id": order.id});
    session
}

async fn delivered(app: &TestApp, order: &Order) -> usize {
    app.all_items().await.iter().filter(|i| i["pk"].as_s().unwrap() == &format!("DELIVERY#{}", order.id)).count()
}

async fn deliver_event(app: &TestApp, payload: &str) -> api_tests::Reply {
    let request =
        app.http.post(format!("{}/webhooks/stripe", app.address)).header("stripe-signature", sign(payload, None)).body(payload.to_owned());
    api_tests::Reply::from(request.send().await.unwrap()).await
}

#[tokio::test]
async fn a_payment_checkout_carries_the_server_amount_and_its_webhook_fulfils_once() {
    let (app, order, url) = app_with_order(12_345).await;
    assert!(url.unwrap().starts_with("https://checkout.stripe.test/"));
    let form = &app.stripe.requests_to("/v1/checkout/sessions").await[0];
    let field = |k: &str| form.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    assert_eq!(field("mode").as_deref(), Some("payment"));
    assert_eq!(field("line_items[0][price_data][unit_amount]").as_deref(), Some("12345"));
    assert_eq!(field("line_items[0][price_data][currency]").as_deref(), Some("usd"));
    assert_eq!(field("metadata[order_id]"), Some(order.id.clone()));

    let first =
        deliver_event(&app, &event("evt_pay_1", "checkout.session.completed", 1_800_000_000, paid_session(&order, 12_345, "usd"))).await;
    assert_eq!(first.body["applied"], true, "{}", first.body);
    // Stripe may also send the same payment under another event id: still one delivery.
    deliver_event(&app, &event("evt_pay_2", "checkout.session.completed", 1_800_000_001, paid_session(&order, 12_345, "usd"))).await;
    assert_eq!(delivered(&app, &order).await, 1);
    let stored = app.store().order(&order.id).await.unwrap().unwrap();
    assert_eq!(stored.status, OrderStatus::Fulfilled);
    assert_eq!(stored.payment_reference, Some(format!("cs_test_{}", order.id)));
}

#[tokio::test]
async fn a_payment_that_does_not_match_the_order_delivers_nothing() {
    let (app, order, _) = app_with_order(5_000).await;
    for (id, amount, currency) in [("evt_low", 4_999, "usd"), ("evt_eur", 5_000, "eur")] {
        let reply =
            deliver_event(&app, &event(id, "checkout.session.completed", 1_800_000_000, paid_session(&order, amount, currency))).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    assert_eq!(delivered(&app, &order).await, 0);
    assert_eq!(app.store().order(&order.id).await.unwrap().unwrap().status, OrderStatus::AmountMismatch);
    assert_eq!(app.store().stripe_event("evt_low").await.unwrap().unwrap().outcome.as_deref(), Some("order_amount_mismatch"));
    // A later correct-looking payment cannot revive a flagged order.
    deliver_event(&app, &event("evt_ok", "checkout.session.completed", 1_800_000_100, paid_session(&order, 5_000, "usd"))).await;
    assert_eq!(delivered(&app, &order).await, 0);
}

#[tokio::test]
async fn concurrent_deliveries_of_the_payment_fulfil_once() {
    let (app, order, _) = app_with_order(900).await;
    let payload = event("evt_pay_dup", "checkout.session.completed", 1_800_000_000, paid_session(&order, 900, "usd"));
    let replies = futures::future::join_all((0..20).map(|_| deliver_event(&app, &payload))).await;
    assert!(replies.iter().all(|r| r.status == 200));
    assert_eq!(replies.iter().filter(|r| r.body["applied"] == true).count(), 1);
    assert_eq!(delivered(&app, &order).await, 1);
    assert_eq!(app.store().order(&order.id).await.unwrap().unwrap().status, OrderStatus::Fulfilled);
}

#[tokio::test]
async fn a_crash_during_fulfilment_is_finished_by_the_redelivery() {
    for step in [Step::Recorded, Step::Applied] {
        let (app, order, _) = app_with_order(700).await;
        let payload = event("evt_pay_crash", "checkout.session.completed", 1_800_000_000, paid_session(&order, 700, "usd"));
        let signature = sign(&payload, None);
        let crash = api_tests::CrashOnceAt::new(step);
        assert!(shared::webhook::receive(&app.state, &payload, Some(&signature), &crash).await.is_err());
        let retry = shared::webhook::receive(&app.state, &payload, Some(&signature), &NoFaults).await.unwrap();
        assert!(retry.applied, "{step:?}");
        assert_eq!(delivered(&app, &order).await, 1, "{step:?}");
        assert_eq!(app.store().order(&order.id).await.unwrap().unwrap().status, OrderStatus::Fulfilled, "{step:?}");
    }
}

#[tokio::test]
async fn a_zero_total_is_fulfilled_without_payment() {
    let (app, order, url) = app_with_order(0).await;
    assert_eq!(url, None);
    assert!(app.stripe.requests_to("/v1/checkout/sessions").await.is_empty());
    assert_eq!(delivered(&app, &order).await, 1);
    assert_eq!(app.store().order(&order.id).await.unwrap().unwrap().status, OrderStatus::Fulfilled);
}
