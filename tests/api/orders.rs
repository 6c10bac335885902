//! Money: one open order per purchasable thing, paid ⇔ delivered or refunded exactly
//! once (under duplicate and concurrent webhook deliveries, crashes and a Stripe
//! outage), and the orders API.
//!
//! The Stripe fake stands for these documented behaviours of Stripe's API: a refund
//! request with a used idempotency key replays the first answer, and one sent while
//! the first is in flight gets 409 `idempotency_key_in_use`
//! (docs.stripe.com/api/idempotent_requests); Checkout's `expires_at` must lie 30
//! minutes to 24 hours ahead.

use api_tests::{Session, TestApp, spawn_app, unique_email};
use app::webhook::{NoFaults, Step};
use aws_sdk_dynamodb::types::AttributeValue;
use domain::order::{OrderStatus, RefundReason};
use serde_json::json;

use crate::petitions::petition_app;
use crate::tasks::open_evidence_task;
use crate::wills::verified_will;

async fn will_checkout(app: &TestApp, session: &Session, will: &str) -> api_tests::Reply {
    app.post_empty(&format!("/v1/wills/{will}/checkout"), Some(&session.access_token)).await
}

fn order_id(reply: &api_tests::Reply) -> String {
    reply.body["order_id"].as_str().unwrap_or_else(|| panic!("no order: {}", reply.body)).to_owned()
}

/// Lets the account's open checkouts lapse, as 24 hours would (their sessions expire),
/// so that a new checkout of the same thing opens a second order.
async fn expire_open_checkouts(app: &TestApp, account_id: &str) {
    for item in app.all_items().await {
        let sk = item["sk"].as_s().unwrap();
        if item["pk"].as_s().unwrap() == &format!("ACCOUNT#{account_id}") && sk.starts_with("PURCHASE#") {
            app.store()
                .client()
                .update_item()
                .table_name(app.store().table())
                .key("pk", item["pk"].clone())
                .key("sk", item["sk"].clone())
                .update_expression("SET expires_at = :past")
                .expression_attribute_values(":past", AttributeValue::S("2000-01-01T00:00:00Z".into()))
                .send()
                .await
                .unwrap();
        }
    }
}

async fn status(app: &TestApp, order: &str) -> OrderStatus {
    app.store().order(order).await.unwrap().unwrap().status
}

#[tokio::test]
async fn a_second_checkout_of_the_same_thing_returns_the_open_order_and_a_paid_will_is_unpurchasable() {
    let app = spawn_app().await;
    let ada = app.register(&unique_email()).await;
    let will = verified_will(&app, &ada).await;
    let first = will_checkout(&app, &ada, &will).await;
    let again = will_checkout(&app, &ada, &will).await;
    assert_eq!((order_id(&again), &again.body["checkout_url"]), (order_id(&first), &first.body["checkout_url"]));
    // Concurrent checkouts of one thing open one order between them.
    let other = verified_will(&app, &ada).await;
    let replies = futures::future::join_all((0..8).map(|_| will_checkout(&app, &ada, &other))).await;
    let ids: std::collections::BTreeSet<String> = replies.iter().map(order_id).collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    // The Checkout session ends when the open order does.
    let form = &app.stripe.requests_to("/v1/checkout/sessions").await[0];
    let expires_at: i64 = form.iter().find(|(k, _)| k == "expires_at").unwrap().1.parse().unwrap();
    assert!(expires_at > chrono::Utc::now().timestamp() + 23 * 3600 - 60);

    assert_eq!(app.pay_order(&order_id(&first), 9900, "evt_will_paid").await.status, 200);
    will_checkout(&app, &ada, &will).await.assert_error(409, "already_paid");
}

#[tokio::test]
async fn a_second_upgrade_checkout_returns_the_open_order() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let evidence = open_evidence_task(&app, &ada, "family-self-serve").await;
    let path = format!("/v1/tasks/{evidence}/upgrade");
    let first = app.post(&path, &json!({"task_model_id": "evidence-assisted"}), Some(&ada.access_token)).await;
    let again = app.post(&path, &json!({"task_model_id": "evidence-assisted"}), Some(&ada.access_token)).await;
    assert_eq!(order_id(&first), order_id(&again));
    assert_eq!(first.body["checkout_url"], again.body["checkout_url"]);
}

#[tokio::test]
async fn a_will_paid_through_two_orders_is_delivered_once_and_the_other_payment_refunded_once() {
    let app = spawn_app().await;
    let ada = app.register(&unique_email()).await;
    let will = verified_will(&app, &ada).await;
    let first = order_id(&will_checkout(&app, &ada, &will).await);
    expire_open_checkouts(&app, &ada.account_id).await;
    let second = order_id(&will_checkout(&app, &ada, &will).await);
    assert_ne!(first, second);

    // Both paid; each event delivered three times at once.
    let deliveries = [&first, &second].into_iter().flat_map(|order| {
        let payload = stripe_event(&format!("evt_{order}"), &app.paid_session(order, 9900, "usd"));
        (0..3).map(move |_| payload.clone())
    });
    let replies = futures::future::join_all(deliveries.map(|payload| {
        let app = &app;
        async move { app.deliver_event(&payload).await }
    }))
    .await;
    assert!(replies.iter().all(|r| r.status == 200), "{:?}", replies.iter().map(|r| &r.body).collect::<Vec<_>>());

    assert_eq!(app.store().will_payments(&ada.user_id, &will).await.unwrap().len(), 1);
    let statuses = [status(&app, &first).await, status(&app, &second).await];
    let refunds = app.stripe.refunds_created();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    let refunded = if statuses[0] == OrderStatus::Refunded { &first } else { &second };
    assert!(statuses.contains(&OrderStatus::Fulfilled) && statuses.contains(&OrderStatus::Refunded), "{statuses:?}");
    assert_eq!(refunds[0], (format!("pi_{refunded}"), 9900));
    let stored = app.store().order(refunded).await.unwrap().unwrap();
    assert_eq!(stored.refund.as_ref().map(|r| (r.reason, r.id.is_some())), Some((RefundReason::AlreadyDelivered, true)));
    let mails = app.emails_to(&ada.email).await;
    assert_eq!(mails.iter().filter(|(subject, _)| subject == "Your payment was refunded").count(), 1);
}

#[tokio::test]
async fn a_task_upgrade_bought_twice_is_delivered_once_and_refunded_once() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let evidence = open_evidence_task(&app, &ada, "family-self-serve").await;
    let path = format!("/v1/tasks/{evidence}/upgrade");
    let first = app.post(&path, &json!({"task_model_id": "evidence-assisted"}), Some(&ada.access_token)).await;
    let amount = first.body["amount_cents"].as_i64().unwrap();
    expire_open_checkouts(&app, &ada.account_id).await;
    let second = app.post(&path, &json!({"task_model_id": "evidence-assisted"}), Some(&ada.access_token)).await;
    let (first, second) = (order_id(&first), order_id(&second));
    assert_ne!(first, second);

    let (a, b) = tokio::join!(app.pay_order(&first, amount, "evt_up_1"), app.pay_order(&second, amount, "evt_up_2"));
    assert_eq!((a.status, b.status), (200, 200), "{} {}", a.body, b.body);
    // Redeliveries change nothing.
    app.pay_order(&first, amount, "evt_up_1").await;
    app.pay_order(&second, amount, "evt_up_2").await;

    let mut statuses = [status(&app, &first).await, status(&app, &second).await];
    statuses.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(statuses, [OrderStatus::Fulfilled, OrderStatus::Refunded]);
    let refunds = app.stripe.refunds_created();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0].1, amount);
    let task = app.get(&format!("/v1/tasks/{evidence}"), Some(&ada.access_token)).await.body;
    assert_eq!(task["task_model_id"], "evidence-assisted");
}

fn stripe_event(id: &str, session: &serde_json::Value) -> String {
    api_tests::stripe_fake::event(id, "checkout.session.completed", 1_800_000_000, session.clone())
}

#[tokio::test]
async fn a_payment_that_does_not_match_its_order_is_refunded_once_whatever_the_duplicates() {
    let app = spawn_app().await;
    let ada = app.register(&unique_email()).await;
    let will = verified_will(&app, &ada).await;
    let order = order_id(&will_checkout(&app, &ada, &will).await);
    let low = stripe_event("evt_low", &app.paid_session(&order, 4999, "usd"));
    let replies = futures::future::join_all((0..5).map(|_| app.deliver_event(&low))).await;
    assert!(replies.iter().all(|r| r.status == 200), "{:?}", replies.iter().map(|r| &r.body).collect::<Vec<_>>());
    // The same payment under another event id: still one refund.
    app.deliver_event(&stripe_event("evt_low_again", &app.paid_session(&order, 4999, "usd"))).await;

    assert_eq!(app.stripe.refunds_created(), [(format!("pi_{order}"), 4999)]);
    let stored = app.store().order(&order).await.unwrap().unwrap();
    assert_eq!(stored.status, OrderStatus::Refunded);
    assert_eq!(stored.refund.map(|r| r.reason), Some(RefundReason::AmountMismatch));
    assert!(app.store().will(&ada.user_id, &will).await.unwrap().unwrap().paid_at.is_none(), "nothing delivered");
}

#[tokio::test]
async fn a_crash_between_refund_and_settle_refunds_once() {
    let app = spawn_app().await;
    let ada = app.register(&unique_email()).await;
    let will = verified_will(&app, &ada).await;
    let order = order_id(&will_checkout(&app, &ada, &will).await);
    let payload = stripe_event("evt_eur", &app.paid_session(&order, 9900, "eur"));
    let signature = api_tests::stripe_fake::sign(&payload, None);
    // The first attempt refunds, then dies before anything is written.
    app.state.payments.refund(&format!("pi_{order}"), 9900, &format!("refund-cs_test_{order}")).await.unwrap();
    // Another settles, then dies before the event's processed mark.
    let crash = api_tests::CrashOnceAt::new(Step::Applied);
    assert!(app::webhook::receive(&app.state, &payload, Some(&signature), &crash).await.is_err());
    let retry = app::webhook::receive(&app.state, &payload, Some(&signature), &NoFaults).await.unwrap();
    assert!(retry.applied);
    assert_eq!(app.stripe.refunds_created().len(), 1);
    assert_eq!(status(&app, &order).await, OrderStatus::Refunded);
}

#[tokio::test]
async fn a_refund_stripe_refuses_is_kept_as_refund_failed_and_retried_by_the_redelivery() {
    let app = spawn_app().await;
    let ada = app.register(&unique_email()).await;
    let will = verified_will(&app, &ada).await;
    let order = order_id(&will_checkout(&app, &ada, &will).await);
    let payload = stripe_event("evt_mismatch", &app.paid_session(&order, 100, "usd"));
    app.stripe.fail_refunds(true);
    assert_eq!(app.deliver_event(&payload).await.status, 503, "Stripe is down: it retries the event");
    let stored = app.store().order(&order).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.refund.map(|r| r.id)), (OrderStatus::RefundFailed, Some(None)));

    app.stripe.fail_refunds(false);
    assert_eq!(app.deliver_event(&payload).await.status, 200);
    assert_eq!(status(&app, &order).await, OrderStatus::Refunded);
    assert_eq!(app.stripe.refunds_created(), [(format!("pi_{order}"), 100)]);
}

#[tokio::test]
async fn a_session_that_is_not_paid_delivers_nothing() {
    let app = spawn_app().await;
    let ada = app.register(&unique_email()).await;
    let will = verified_will(&app, &ada).await;
    let order = order_id(&will_checkout(&app, &ada, &will).await);
    let mut free = app.paid_session(&order, 9900, "usd");
    free["payment_status"] = json!("no_payment_required");
    let mut open = app.paid_session(&order, 9900, "usd");
    open["status"] = json!("open");
    for (id, session) in [("evt_free", free), ("evt_open", open)] {
        assert_eq!(app.deliver_event(&stripe_event(id, &session)).await.status, 200);
    }
    assert_eq!(status(&app, &order).await, OrderStatus::Pending);
    assert!(app.store().will(&ada.user_id, &will).await.unwrap().unwrap().paid_at.is_none());
}

#[tokio::test]
async fn orders_are_listed_newest_first_page_by_page_and_only_to_their_account() {
    let app = spawn_app().await;
    let ada = app.register(&unique_email()).await;
    let mut orders = Vec::new();
    for _ in 0..3 {
        let will = verified_will(&app, &ada).await;
        orders.push(order_id(&will_checkout(&app, &ada, &will).await));
    }
    let t = Some(ada.access_token.as_str());
    let one = app.get(&format!("/v1/orders/{}", orders[0]), t).await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(
        (one.body["kind"].as_str(), one.body["status"].as_str(), one.body["amount_cents"].as_i64()),
        (Some("will_payment"), Some("pending"), Some(9900))
    );
    assert!(one.body["checkout_url"].as_str().is_some());

    let page = app.get("/v1/orders?limit=2", t).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let listed: Vec<&str> = page.body["orders"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [orders[2].as_str(), orders[1].as_str()]);
    let cursor = page.body["next_cursor"].as_str().unwrap().to_owned();
    let rest = app.get(&format!("/v1/orders?limit=2&cursor={cursor}"), t).await;
    let listed: Vec<&str> = rest.body["orders"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [orders[0].as_str()]);

    // Bad input.
    app.get("/v1/orders?limit=0", t).await.assert_error(422, "validation_failed");
    app.get("/v1/orders?limit=101", t).await.assert_error(422, "validation_failed");
    app.get("/v1/orders?cursor=not-a-cursor", t).await.assert_error(422, "validation_failed");
    app.get("/v1/orders?colour=red", t).await.assert_error(422, "validation_failed");
    app.get("/v1/orders", None).await.assert_error(401, "unauthorized");

    // Another account sees none of them, not even through Ada's cursor.
    let bob = app.register(&unique_email()).await;
    let b = Some(bob.access_token.as_str());
    app.get(&format!("/v1/orders/{}", orders[0]), b).await.assert_error(404, "not_found");
    assert_eq!(app.get("/v1/orders", b).await.body["orders"], json!([]));
    app.get(&format!("/v1/orders?cursor={cursor}"), b).await.assert_error(422, "validation_failed");
    app.get("/v1/orders/no-such-order", t).await.assert_error(404, "not_found");
}

/// Stripe retries a webhook for three days; a session paid while the endpoint was
/// down past that is found by the reconciliation (Stripe's list of completed Checkout
/// sessions), fulfilled once, and neither a second run nor the late webhook changes it.
#[tokio::test]
async fn a_payment_the_webhook_missed_is_fulfilled_by_the_reconciliation_once() {
    let app = spawn_app().await;
    let ada = app.register(&unique_email()).await;
    let will = verified_will(&app, &ada).await;
    let order = order_id(&will_checkout(&app, &ada, &will).await);
    let paid = app.stripe.pay_session_of_order(&order);

    let first = app::reconcile::stripe(&app.state, chrono::Utc::now() - chrono::Duration::days(4), false).await.unwrap();
    assert_eq!((first.sessions, first.fixed.len(), first.failed.len()), (1, 1, 0), "{first:?}");
    assert_eq!(first.fixed[0], (paid["id"].as_str().unwrap().to_owned(), "order_fulfilled"));
    assert_eq!(status(&app, &order).await, OrderStatus::Fulfilled);
    assert!(app.store().will(&ada.user_id, &will).await.unwrap().unwrap().paid_at.is_some());

    // The scheduled function's run finds nothing left to do.
    let again = reconcile::handle(&app.state).await.unwrap();
    assert_eq!(again, json!({"sessions": 1, "fixed": []}));
    let late = app.deliver_event(&stripe_event("evt_late", &paid)).await;
    assert_eq!(late.status, 200, "{}", late.body);
    assert_eq!(app.store().will_payments(&ada.user_id, &will).await.unwrap().len(), 1);
    assert!(app.stripe.refunds_created().is_empty());
}
