//! Money and tasks under injected faults: DynamoDB throttling, 500s, transactions
//! cancelled by `TransactionConflict` and lost write answers, SQS 500s and lost
//! answers (`fault_proxy`), and Stripe refund 500s, 429s and lost answers (the fake).
//! Clients retry on 503 as `Retry-After` tells them, and Stripe redelivers each event
//! until it gets a 2xx. Every paid order ends delivered or refunded exactly once,
//! every refund is made once, every task is created once, and no client sees a 500.

use std::sync::atomic::Ordering;

use api_tests::{Reply, Session, TestApp, spawn_app_under_faults, stripe_fake, unique_email};
use serde_json::{Value, json};

use crate::wills::sections;

/// Sends until the answer is not a 503 (a client honouring `Retry-After`, without the
/// wait); a 500, or a 503 without `Retry-After` or the SPEC body, fails the test.
async fn retrying(what: &str, send: impl AsyncFn() -> Reply) -> Reply {
    for _ in 0..40 {
        let reply = send().await;
        assert_ne!(reply.status, 500, "{what}: a 500 under faults: {}", reply.body);
        if reply.status != 503 {
            return reply;
        }
        assert_eq!(reply.body["error"], "service_unavailable", "{what}: {}", reply.body);
        assert!(reply.headers.contains_key("retry-after"), "{what}: a 503 without Retry-After");
    }
    panic!("{what}: still unavailable after 40 tries");
}

async fn verified_will_retrying(app: &TestApp, ada: &Session) -> String {
    let t = Some(ada.access_token.as_str());
    let created = retrying("create a will", async || app.post_empty("/v1/wills", t).await).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    for (name, content) in sections() {
        let path = format!("/v1/wills/{id}/sections/{name}");
        let reply = retrying("a will section", async || {
            let request = app.http.put(format!("{}{path}", app.address)).bearer_auth(&ada.access_token).json(&content);
            Reply::from(request.send().await.unwrap()).await
        })
        .await;
        assert_eq!(reply.status, 200, "{name}: {}", reply.body);
    }
    let verified = retrying("verify", async || app.post_empty(&format!("/v1/wills/{id}/verify"), t).await).await;
    assert_eq!(verified.body["status"], "verified", "{}", verified.body);
    id
}

/// Delivers an event as Stripe does: again until it is acknowledged, then once more
/// (a duplicate delivery).
async fn deliver_until_acknowledged(app: &TestApp, payload: &str) {
    let reply = retrying("a webhook delivery", async || app.deliver_event(payload).await).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let again = retrying("a duplicate delivery", async || app.deliver_event(payload).await).await;
    assert_eq!(again.status, 200, "{}", again.body);
}

#[tokio::test]
async fn every_payment_ends_delivered_or_refunded_once_under_faults() {
    let (app, proxy) = spawn_app_under_faults(3).await;
    app.seed_petitions().await;
    // The same petition bought without faults: the tasks it must end with.
    let baseline = app.register(&unique_email()).await;
    let clean = crate::petitions::bought_petition(&app, &baseline, "family-basic", &[]).await;
    let expected_tasks = crate::petitions::detail(&app, &baseline, &clean).await["tasks"].as_array().unwrap().len();
    proxy.faults(true);
    app.stripe.fault_refunds_every(2);

    let email = unique_email();
    let registered = retrying("register", async || {
        app.post("/v1/auth/register", &json!({"email": email, "password": api_tests::PASSWORD, "name": "Ada"}), None).await
    })
    .await;
    // A lost answer can make the sign-up's own retry meet its email claim: then the
    // user signs in instead, as a person would.
    let ada = match registered.status {
        201 => Session::from_auth_reply(&email, &registered),
        409 => {
            let login = retrying("login", async || {
                app.post("/v1/auth/login", &json!({"email": email, "password": api_tests::PASSWORD}), None).await
            })
            .await;
            assert_eq!(login.status, 200, "{}", login.body);
            Session::from_auth_reply(&email, &login)
        }
        other => panic!("register answered {other}: {}", registered.body),
    };
    let t = Some(ada.access_token.as_str());

    // Three wills paid correctly (delivered) and three paid the wrong amount (refunded),
    // the deliveries of each pair concurrent.
    let mut orders = Vec::new();
    for _ in 0..6 {
        let will = verified_will_retrying(&app, &ada).await;
        let checkout = retrying("will checkout", async || app.post_empty(&format!("/v1/wills/{will}/checkout"), t).await).await;
        assert_eq!(checkout.status, 200, "{}", checkout.body);
        orders.push((will, checkout.body["order_id"].as_str().unwrap().to_owned()));
    }
    for (i, pair) in orders.chunks(2).enumerate() {
        let payload = |order: &str, amount: i64, n: usize| {
            stripe_fake::event(
                &format!("evt_fault_{order}_{n}"),
                "checkout.session.completed",
                1_800_000_000,
                app.paid_session(order, amount, "usd"),
            )
        };
        let (good, wrong) = (&pair[0].1, &pair[1].1);
        let (a, b) = (payload(good, 9900, i), payload(wrong, 9899, i));
        tokio::join!(deliver_until_acknowledged(&app, &a), deliver_until_acknowledged(&app, &b));
    }

    // A petition with tasks: the worker takes its messages off the queue under faults.
    let body = json!({"template_id": "family-petition", "plan_id": "family-basic", "addon_benefit_ids": []});
    let petition_order = retrying("petition checkout", async || app.post("/v1/petitions/initiate-checkout", &body, t).await).await;
    let order = petition_order.body["order_id"].as_str().unwrap().to_owned();
    let amount = petition_order.body["total_cents"].as_i64().unwrap();
    let payload = stripe_fake::event(
        &format!("evt_fault_{order}"),
        "checkout.session.completed",
        1_800_000_000,
        app.paid_session(&order, amount, "usd"),
    );
    deliver_until_acknowledged(&app, &payload).await;
    for _ in 0..5 {
        app.run_task_worker().await;
    }

    proxy.faults(false);
    app.stripe.fault_refunds_every(0);
    app.run_task_worker().await;
    let injected = &proxy.injected;
    let counts =
        [&injected.throttles, &injected.server_errors, &injected.conflicts, &injected.lost_answers].map(|c| c.load(Ordering::Relaxed));
    assert!(counts.iter().all(|c| *c > 0), "every fault was injected (throttles, 500s, conflicts, lost answers): {counts:?}");

    let refunds = app.stripe.refunds_created();
    for (i, (will, order)) in orders.iter().enumerate() {
        let status = app.store().order(order).await.unwrap().unwrap().status;
        let refunds_of_order: Vec<&(String, i64)> = refunds.iter().filter(|(intent, _)| *intent == format!("pi_{order}")).collect();
        if i % 2 == 0 {
            assert_eq!(status, domain::order::OrderStatus::Fulfilled, "order {i}");
            assert!(refunds_of_order.is_empty(), "order {i}: a delivered order refunded: {refunds_of_order:?}");
            let read = app.get(&format!("/v1/wills/{will}"), t).await;
            assert_eq!(read.body["status"], "generated", "order {i}: {}", read.body);
        } else {
            assert_eq!(status, domain::order::OrderStatus::Refunded, "order {i}");
            assert_eq!(refunds_of_order, vec![&(format!("pi_{order}"), 9899)], "order {i}: refunded exactly once");
        }
    }
    let petition: Value = app.get("/v1/petitions", t).await.body[0].clone();
    let detail = app.get(&format!("/v1/petitions/{}", petition["id"].as_str().unwrap()), t).await.body;
    let tasks: Vec<&str> = detail["tasks"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    let unique: std::collections::BTreeSet<&&str> = tasks.iter().collect();
    assert_eq!(tasks.len(), expected_tasks, "the petition's tasks, each created once: {tasks:?}");
    assert_eq!(unique.len(), tasks.len(), "every task created once: {tasks:?}");
    assert!(app.dead_letters().await.is_empty(), "no task message given up on");
}
