//! DynamoDB round trips per request, pinned: each test makes one request on an app
//! whose DynamoDB client counts its calls (`spawn_app_counting`) and asserts the
//! exact operations, in order. A change that adds a call fails here; the counts are
//! those of `docs/performance.md` section 4. "Warm" means the function already holds
//! the catalogue in memory (`app::catalogue`), as it does after its first request.

use api_tests::{DynamoCalls, PASSWORD, Reply, Session, TestApp, spawn_app_counting, unique_email};
use serde_json::{Value, json};

/// A login from a source address (so both failure counters are in play).
async fn login_from(app: &TestApp, email: &str, password: &str) -> Reply {
    let request = app
        .http
        .post(format!("{}/v1/auth/login", app.address))
        .header("x-forwarded-for", "198.51.100.20")
        .json(&json!({"email": email, "password": password}));
    Reply::from(request.send().await.unwrap()).await
}

/// The calls one request makes, after whatever came before it.
async fn calls_of<F: Future<Output = Reply>>(calls: &DynamoCalls, request: F) -> (Reply, Vec<String>) {
    calls.take();
    let reply = request.await;
    (reply, calls.take())
}

#[tokio::test]
async fn login_round_trips() {
    let (app, calls) = spawn_app_counting().await;
    let email = unique_email();
    app.register(&email).await;

    let (ok, made) = calls_of(&calls, login_from(&app, &email, PASSWORD)).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(made, ["BatchGetItem", "GetItem", "PutItem"], "counters and claim, user, refresh token");

    // A failure: both counters in one call.
    let (wrong, made) = calls_of(&calls, login_from(&app, &email, "wrong horse 9")).await;
    wrong.assert_error(401, "invalid_credentials");
    assert_eq!(made, ["BatchGetItem", "GetItem", "TransactWriteItems"]);

    // After a failure the email's counter is cleared with the refresh token, in one call.
    let (ok, made) = calls_of(&calls, login_from(&app, &email, PASSWORD)).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(made, ["BatchGetItem", "GetItem", "TransactWriteItems"]);
}

/// An unknown email takes the very calls a wrong password takes (and argon2 runs
/// against a dummy hash), so its answer time does not tell it apart.
#[tokio::test]
async fn an_unknown_email_makes_the_round_trips_of_a_wrong_password() {
    let (app, calls) = spawn_app_counting().await;
    let email = unique_email();
    app.register(&email).await;
    let (wrong, wrong_calls) = calls_of(&calls, login_from(&app, &email, "wrong horse 9")).await;
    let (unknown, unknown_calls) = calls_of(&calls, login_from(&app, &unique_email(), "wrong horse 9")).await;
    assert_eq!((wrong.status, unknown.status), (401, 401));
    assert_eq!(unknown_calls, ["BatchGetItem", "GetItem", "TransactWriteItems"]);
    assert_eq!(unknown_calls, wrong_calls);
}

#[tokio::test]
async fn a_blocked_login_round_trip() {
    let (app, calls) = spawn_app_counting().await;
    let email = unique_email();
    app.register(&email).await;
    for _ in 0..5 {
        login_from(&app, &email, "wrong horse 9").await.assert_error(401, "invalid_credentials");
    }
    let (blocked, made) = calls_of(&calls, login_from(&app, &email, PASSWORD)).await;
    blocked.assert_error(429, "too_many_attempts");
    assert_eq!(made, ["BatchGetItem"]);
}

/// The account's own pages read the user, the account and its subscription in one call.
#[tokio::test]
async fn account_pages_round_trips() {
    let (app, calls) = spawn_app_counting().await;
    app.seed_billing_catalogue().await;
    let ada = app.register(&unique_email()).await;
    let t = Some(ada.access_token.as_str());

    let (me, made) = calls_of(&calls, app.get("/v1/auth/me", t)).await;
    assert_eq!((me.status, made), (200, vec!["BatchGetItem".to_owned()]), "{}", me.body);
    let (account, made) = calls_of(&calls, app.get("/v1/accounts/me", t)).await;
    assert_eq!((account.status, made), (200, vec!["BatchGetItem".to_owned()]), "{}", account.body);
    let (user, made) = calls_of(&calls, app.get("/v1/users/me", t)).await;
    assert_eq!((user.status, made), (200, vec!["GetItem".to_owned()]), "{}", user.body);

    // The billing state: the plan from the catalogue (read once, then held).
    let (state, made) = calls_of(&calls, app.get("/v1/billing/state", t)).await;
    assert_eq!(state.status, 200, "{}", state.body);
    assert_eq!(made, ["BatchGetItem", "Query"], "cold: the catalogue is read");
    let (_, made) = calls_of(&calls, app.get("/v1/billing/state", t)).await;
    assert_eq!(made, ["BatchGetItem"], "warm");
}

async fn new_will(app: &TestApp, session: &Session) -> String {
    let created = app.post_empty("/v1/wills", Some(&session.access_token)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

/// The guards read the user, the subscription and the will the path names together.
#[tokio::test]
async fn will_round_trips() {
    let (app, calls) = spawn_app_counting().await;
    app.seed_billing_catalogue().await;
    let ada = app.register(&unique_email()).await;
    let t = Some(ada.access_token.as_str());

    let (created, made) = calls_of(&calls, app.post_empty("/v1/wills", t)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(made, ["BatchGetItem", "Query", "TransactWriteItems"], "cold: guards, the plans, the will with its count");
    let (_, made) = calls_of(&calls, app.post_empty("/v1/wills", t)).await;
    assert_eq!(made, ["BatchGetItem", "TransactWriteItems"], "warm");

    let id = new_will(&app, &ada).await;
    let (read, made) = calls_of(&calls, app.get(&format!("/v1/wills/{id}"), t)).await;
    assert_eq!((read.status, made), (200, vec!["BatchGetItem".to_owned()]), "{}", read.body);
    let personal = json!({"full_name": "Ada Lovelace", "date_of_birth": "1815-12-10", "address": "12 St James's Square, London"});
    let (saved, made) = calls_of(&calls, app.put(&format!("/v1/wills/{id}/sections/personal"), &personal, &ada.access_token)).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(made, ["BatchGetItem", "PutItem"]);
    let (list, made) = calls_of(&calls, app.get("/v1/wills", t)).await;
    assert_eq!((list.status, made), (200, vec!["BatchGetItem".to_owned(), "Query".to_owned()]));

    // Another user's will: the same one call, and a 404.
    let bob = app.register(&unique_email()).await;
    let (theirs, made) = calls_of(&calls, app.get(&format!("/v1/wills/{id}"), Some(&bob.access_token))).await;
    theirs.assert_error(404, "not_found");
    assert_eq!(made, ["BatchGetItem"]);
}

/// A zero-total checkout delivers at once: the guards, this month's petitions (the
/// plan's limit), and the petition's creation with its order, settled, in one
/// transaction.
#[tokio::test]
async fn zero_total_checkout_round_trips() {
    let (app, calls) = spawn_app_counting().await;
    app.seed_billing_catalogue().await;
    app.seed_petitions().await;
    let ada = app.register(&unique_email()).await;
    let free = json!({"template_id": "family-petition", "plan_id": "family-self-serve", "addon_benefit_ids": []});
    let checkout = || app.post("/v1/petitions/initiate-checkout", &free, Some(&ada.access_token));

    let (first, cold) = calls_of(&calls, checkout()).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let (second, warm) = calls_of(&calls, checkout()).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(warm, ["BatchGetItem", "Query", "TransactWriteItems"], "the order is written settled with the petition");
    // Cold, the catalogue is read first: the plans, the template, and in one read the
    // two task models the petition starts with (its root form, and the one its benefit adds).
    assert_eq!(cold, ["BatchGetItem", "Query", "Query", "Query", "BatchGetItem", "TransactWriteItems"]);
    let order = app.store().order(first.body["order_id"].as_str().unwrap()).await.unwrap().unwrap();
    assert_eq!((order.status, order.payment_reference.as_deref()), (domain::order::OrderStatus::Fulfilled, Some("free")));
    assert!(order.fulfilled_at.is_some());
}

/// Reads whose resource is a Query (a petition's or a task's collection) cannot join
/// the guards' BatchGetItem: one more call.
#[tokio::test]
async fn petition_and_task_reads_round_trips() {
    let (app, calls) = spawn_app_counting().await;
    app.seed_petitions().await;
    let ada = app.register(&unique_email()).await;
    let t = Some(ada.access_token.as_str());
    let petition = crate::petitions::bought_petition(&app, &ada, "family-self-serve", &[]).await;
    let tasks: Value = app.get(&format!("/v1/petitions/{petition}/tasks"), t).await.body;
    let task = tasks[0]["id"].as_str().unwrap().to_owned();

    for path in [format!("/v1/petitions/{petition}"), format!("/v1/petitions/{petition}/tasks"), format!("/v1/tasks/{task}")] {
        let (read, made) = calls_of(&calls, app.get(&path, t)).await;
        assert_eq!(read.status, 200, "{path}: {}", read.body);
        assert_eq!(made, ["BatchGetItem", "Query"], "{path}");
    }
}

/// The app's state with nothing of the catalogue held yet, as after a cold start
/// (same counted store).
fn cold(app: &TestApp) -> app::AppState {
    let mut state = app.state.clone();
    state.catalogues = std::sync::Arc::new(app::catalogue::Catalogues::new(state.config.catalogue_ttl));
    state
}

/// The worker creates one task: the petition's collection, the task's transaction,
/// and (the task waits on the root form) the collection again, to open it if the root
/// form was handed in meanwhile.
#[tokio::test]
async fn worker_round_trips_for_one_task() {
    let (app, calls) = spawn_app_counting().await;
    app.seed_petitions().await;
    let ada = app.register(&unique_email()).await;
    let free = json!({"template_id": "family-petition", "plan_id": "family-self-serve", "addon_benefit_ids": []});
    assert_eq!(app.post("/v1/petitions/initiate-checkout", &free, Some(&ada.access_token)).await.status, 200);
    let sqs = app.sqs().await;
    let received = sqs.receive_message().queue_url(&app.queue_url).max_number_of_messages(10).send().await.unwrap();
    let messages: Vec<domain::petition::TaskMessage> =
        received.messages.unwrap_or_default().iter().map(|m| serde_json::from_str(m.body().unwrap()).unwrap()).collect();
    let [message] = messages.as_slice() else { panic!("one task message: {messages:?}") };
    assert!(matches!(&message.effect, domain::petition::TaskEffect::AddTask { task_model_id } if task_model_id == "evidence-self"));

    calls.take();
    app::tasks::apply(&cold(&app), message).await.unwrap();
    assert_eq!(calls.take(), ["Query", "GetItem", "TransactWriteItems", "Query"], "cold: the task model is read");
    // The same message again (SQS delivers at least once), on a warm function: the
    // task exists, so nothing is written and nothing needs opening.
    app::tasks::apply(&app.state, message).await.unwrap();
    assert_eq!(calls.take(), ["Query", "TransactWriteItems"]);
}

/// The worker on a warm function, for a task of each kind: one that waits on the root
/// form (the collection is read again after it) and one that does not.
#[tokio::test]
async fn warm_worker_round_trips() {
    let (app, calls) = spawn_app_counting().await;
    app.seed_petitions().await;
    let ada = app.register(&unique_email()).await;
    let free = json!({"template_id": "family-petition", "plan_id": "family-self-serve", "addon_benefit_ids": []});
    assert_eq!(app.post("/v1/petitions/initiate-checkout", &free, Some(&ada.access_token)).await.status, 200);
    let sqs = app.sqs().await;
    let received = sqs.receive_message().queue_url(&app.queue_url).max_number_of_messages(10).send().await.unwrap();
    let waiting: domain::petition::TaskMessage = serde_json::from_str(received.messages.unwrap()[0].body().unwrap()).unwrap();
    calls.take();
    app::tasks::apply(&app.state, &waiting).await.unwrap();
    assert_eq!(calls.take(), ["Query", "TransactWriteItems", "Query"], "a task waiting on the root form");

    let open = domain::petition::TaskMessage {
        benefit_id: "translation".into(),
        effect: domain::petition::TaskEffect::AddTask { task_model_id: "translation-standard".into() },
        ..waiting
    };
    app.state.catalogues.task_model(app.store(), "translation-standard").await.unwrap();
    calls.take();
    app::tasks::apply(&app.state, &open).await.unwrap();
    assert_eq!(calls.take(), ["Query", "TransactWriteItems"], "a task that waits on nothing");
}

/// A Stripe customer (through a subscription checkout) for a fresh shop.
async fn stripe_customer(app: &TestApp) -> (Session, String) {
    app.seed_billing_catalogue().await;
    let session = app.register(&unique_email()).await;
    let body = json!({"plan": "pro", "seats": 2, "billing_interval": "monthly"});
    let reply = app.post("/v1/billing/checkout-session", &body, Some(&session.access_token)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let customer = app.store().account(&session.account_id).await.unwrap().unwrap().stripe_customer_id.unwrap();
    (session, customer)
}

fn subscription_updated(id: &str, customer: &str, created: i64) -> String {
    let object =
        api_tests::stripe_fake::subscription("sub_1", customer, "active", "price_demo_team_monthly", 3, (created, created + 2_592_000));
    api_tests::stripe_fake::event(id, "customer.subscription.updated", created, object)
}

/// A subscription update: the event's record, the account by Stripe customer, and the
/// conditional update with the event's processed mark in one transaction.
#[tokio::test]
async fn webhook_round_trips_for_a_subscription_update() {
    let (app, calls) = spawn_app_counting().await;
    let (session, customer) = stripe_customer(&app).await;

    let payload = subscription_updated("evt_rt_1", &customer, 1_800_000_000);
    let (reply, made) = calls_of(&calls, app.deliver_event(&payload)).await;
    assert_eq!(reply.body, json!({"status": "ok", "applied": true}));
    assert_eq!(made, ["PutItem", "Query", "TransactWriteItems"]);
    let sub = app.store().subscription(&session.account_id).await.unwrap().unwrap();
    assert_eq!((sub.plan.as_str(), sub.seat_limit), ("team", 3));

    // A duplicate delivery: its record says it was processed.
    let (again, made) = calls_of(&calls, app.deliver_event(&payload)).await;
    assert_eq!(again.body, json!({"status": "ok", "applied": false}));
    assert_eq!(made, ["PutItem"]);

    // An older event, delivered late: refused by the update's condition, then marked.
    let (older, made) = calls_of(&calls, app.deliver_event(&subscription_updated("evt_rt_0", &customer, 1_700_000_000))).await;
    assert_eq!(older.body, json!({"status": "ok", "applied": true}));
    assert_eq!(made, ["PutItem", "Query", "TransactWriteItems", "UpdateItem"]);
    let record = app.store().stripe_event("evt_rt_0").await.unwrap().unwrap();
    assert_eq!((record.status.as_str(), record.outcome.as_deref()), ("processed", Some("subscription_not_changed")));

    // Cold, the plans are read to map the price.
    let payload = subscription_updated("evt_rt_2", &customer, 1_800_000_100);
    let signature = api_tests::stripe_fake::sign(&payload, None);
    calls.take();
    let outcome = app::webhook::receive(&cold(&app), &payload, Some(&signature), &app::webhook::NoFaults).await.unwrap();
    assert!(outcome.applied);
    assert_eq!(calls.take(), ["PutItem", "Query", "Query", "TransactWriteItems"]);
}

/// What the catalogue held in memory allows: within its TTL a changed price is not
/// seen (the documented staleness); with a TTL of 0 the version is read on every use,
/// and a change is seen at once.
#[tokio::test]
async fn a_catalogue_change_is_seen_after_the_ttl_by_its_version() {
    let held = api_tests::spawn_app().await;
    let plans = held.seed_billing_catalogue().await;
    let price = |reply: &Reply| reply.body.as_array().unwrap().iter().find(|p| p["plan"] == "pro").unwrap()["monthly_price_cents"].clone();
    let before = price(&held.get("/v1/billing/plans", None).await);
    let mut pro = plans.iter().find(|p| p.plan == "pro").unwrap().clone();
    pro.monthly_price_cents = Some(pro.monthly_price_cents.unwrap() + 100);
    held.store().put_plan(&pro).await.unwrap();
    assert_eq!(price(&held.get("/v1/billing/plans", None).await), before, "held for the TTL");

    let (app, calls) = api_tests::spawn_app_counting_with(|config| config.catalogue_ttl = std::time::Duration::ZERO).await;
    app.seed_billing_catalogue().await;
    let before = price(&app.get("/v1/billing/plans", None).await);
    let (_, made) = calls_of(&calls, app.get("/v1/billing/plans", None)).await;
    assert_eq!(made, ["GetItem", "Query"], "the version, unknown until now, then the plans again");
    let (_, made) = calls_of(&calls, app.get("/v1/billing/plans", None)).await;
    assert_eq!(made, ["GetItem"], "the version only: unchanged");
    app.store().put_plan(&pro).await.unwrap();
    let (after, made) = calls_of(&calls, app.get("/v1/billing/plans", None)).await;
    assert_eq!(made, ["GetItem", "Query"], "a new version: the plans again");
    assert_eq!(price(&after), json!(before.as_i64().unwrap() + 100));
}

/// An order read by id: the user and the order in one call, another account's a 404.
#[tokio::test]
async fn order_round_trip() {
    let (app, calls) = spawn_app_counting().await;
    app.seed_petitions().await;
    let ada = app.register(&unique_email()).await;
    let free = json!({"template_id": "family-petition", "plan_id": "family-self-serve", "addon_benefit_ids": []});
    let order =
        app.post("/v1/petitions/initiate-checkout", &free, Some(&ada.access_token)).await.body["order_id"].as_str().unwrap().to_owned();
    let (read, made) = calls_of(&calls, app.get(&format!("/v1/orders/{order}"), Some(&ada.access_token))).await;
    assert_eq!((read.status, made), (200, vec!["BatchGetItem".to_owned()]), "{}", read.body);
    let bob = app.register(&unique_email()).await;
    let (theirs, made) = calls_of(&calls, app.get(&format!("/v1/orders/{order}"), Some(&bob.access_token))).await;
    theirs.assert_error(404, "not_found");
    assert_eq!(made, ["BatchGetItem"]);
}
