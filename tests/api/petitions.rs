//! Petitions end to end: catalogue math, checkout through the Stripe fake and the
//! signed webhook, benefit rows, tasks created by the worker, add-ons bought later
//! (also concurrently), and tenancy.

use api_tests::{Reply, Session, TestApp, spawn_app, unique_email};
use domain::order::OrderStatus;
use serde_json::{Value, json};

pub async fn petition_app() -> TestApp {
    let app = spawn_app().await;
    app.seed_petitions().await;
    app
}

fn ids(reply: &Reply, field: &str) -> Vec<String> {
    let items = reply.body.as_array().unwrap_or_else(|| panic!("a list: {}", reply.body));
    items.iter().map(|item| item[field].as_str().unwrap().to_owned()).collect()
}

pub async fn checkout(app: &TestApp, session: &Session, plan: &str, addons: &[&str]) -> Reply {
    let template = if plan.starts_with("work") { "work-petition" } else { "family-petition" };
    let body = json!({"template_id": template, "plan_id": plan, "addon_benefit_ids": addons});
    app.post("/v1/petitions/initiate-checkout", &body, Some(&session.access_token)).await
}

/// Checkout, payment through the webhook, then the worker: the new petition's id.
pub async fn bought_petition(app: &TestApp, session: &Session, plan: &str, addons: &[&str]) -> String {
    let started = checkout(app, session, plan, addons).await;
    assert_eq!(started.status, 200, "{}", started.body);
    if let Some(total) = started.body["checkout_url"].as_str().and(started.body["total_cents"].as_i64()) {
        let order = started.body["order_id"].as_str().unwrap();
        assert_eq!(app.pay_order(order, total, &format!("evt_{order}")).await.status, 200);
    }
    app.run_task_worker().await;
    let listed = app.get("/v1/petitions", Some(&session.access_token)).await;
    listed.body[0]["id"].as_str().expect("a petition").to_owned()
}

pub async fn detail(app: &TestApp, session: &Session, petition: &str) -> Value {
    let reply = app.get(&format!("/v1/petitions/{petition}"), Some(&session.access_token)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

fn models(detail: &Value) -> Vec<String> {
    let mut models: Vec<String> =
        detail["tasks"].as_array().unwrap().iter().map(|t| t["task_model_id"].as_str().unwrap().to_owned()).collect();
    models.sort();
    models
}

#[tokio::test]
async fn catalogue_lists_templates_plans_and_purchasable_addons() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let t = Some(ada.access_token.as_str());
    assert_eq!(ids(&app.get("/v1/petition-templates", t).await, "id"), ["family-petition", "work-petition"]);
    let plans = app.get("/v1/petition-templates/family-petition/plans", t).await;
    assert_eq!(ids(&plans, "id"), ["family-self-serve", "family-basic", "family-premium"]);
    assert_eq!(plans.body[1]["cost_cents"], 49900);
    // Basic includes evidence-review and translation: only the other add-ons are offered.
    let basic = app.get("/v1/petition-templates/family-petition/plans/family-basic/purchasable-addons", t).await;
    assert_eq!(ids(&basic, "id"), ["expert-evidence", "interview-coaching", "priority-support"]);
    assert_eq!(basic.body[2]["cost_cents"], 2500);
    let premium = app.get("/v1/petition-templates/family-petition/plans/family-premium/purchasable-addons", t).await;
    assert_eq!(ids(&premium, "id"), ["translation", "interview-coaching"]);
    app.get("/v1/petition-templates/nope/plans", t).await.assert_error(404, "not_found");
    app.get("/v1/petition-templates/family-petition/plans/work-standard/purchasable-addons", t).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn checkout_total_is_plan_plus_addons_and_only_purchasable_addons_are_accepted() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let started = checkout(&app, &ada, "family-basic", &["priority-support", "interview-coaching"]).await;
    assert_eq!(started.status, 200, "{}", started.body);
    assert_eq!(started.body["total_cents"], 49900 + 2500 + 9900);
    assert!(started.body["checkout_url"].as_str().is_some_and(|u| u.starts_with(&format!("{}/checkout/", app.stripe.uri()))));
    let order = app.store().order(started.body["order_id"].as_str().unwrap()).await.unwrap().unwrap();
    assert_eq!((order.item.kind(), order.amount_cents), ("petition_checkout", 62300));

    for addons in [vec!["evidence-review"], vec!["no-such-benefit"], vec!["priority-support", "priority-support"]] {
        let before = app.all_items().await.len();
        let refused = checkout(&app, &ada, "family-basic", &addons).await;
        refused.assert_error(400, "addon_not_purchasable");
        assert_eq!(app.all_items().await.len(), before, "a refused checkout writes nothing");
    }
}

#[tokio::test]
async fn checkout_rejects_bad_input_and_unknown_catalogue_ids() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let t = Some(ada.access_token.as_str());
    let before = app.all_items().await.len();
    for body in [
        json!({"plan_id": "family-basic"}),
        json!({"template_id": 7, "plan_id": "family-basic"}),
        json!({"template_id": "family-petition", "plan_id": "family-basic", "addon_benefit_ids": "translation"}),
        json!({"template_id": "family-petition", "plan_id": "family-basic", "extra": true}),
    ] {
        let reply = app.post("/v1/petitions/initiate-checkout", &body, t).await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.body);
        assert_eq!(reply.body["error"], "validation_failed");
    }
    let malformed = app
        .http
        .post(format!("{}/v1/petitions/initiate-checkout", app.address))
        .bearer_auth(&ada.access_token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    Reply::from(malformed).await.assert_error(400, "invalid_json");
    let unknown = json!({"template_id": "family-petition", "plan_id": "work-standard", "addon_benefit_ids": []});
    app.post("/v1/petitions/initiate-checkout", &unknown, t).await.assert_error(404, "not_found");
    assert_eq!(app.all_items().await.len(), before);
}

#[tokio::test]
async fn payment_creates_the_petition_its_benefits_root_form_and_triggered_tasks_once() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let started = checkout(&app, &ada, "family-basic", &["interview-coaching"]).await;
    let order = started.body["order_id"].as_str().unwrap().to_owned();
    assert!(app.get("/v1/petitions", Some(&ada.access_token)).await.body.as_array().unwrap().is_empty(), "nothing before payment");
    let total = started.body["total_cents"].as_i64().unwrap();
    let first = app.pay_order(&order, total, "evt_petition_1").await;
    assert_eq!(first.body["applied"], true, "{}", first.body);

    let petition = app.get("/v1/petitions", Some(&ada.access_token)).await.body[0]["id"].as_str().unwrap().to_owned();
    let before_worker = detail(&app, &ada, &petition).await;
    assert_eq!((before_worker["template_id"].as_str(), before_worker["plan_id"].as_str()), (Some("family-petition"), Some("family-basic")));
    assert_eq!(models(&before_worker), ["family-root-form"], "the root form comes with the petition");
    let mut sources: Vec<(String, String, Value)> = before_worker["benefits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["benefit_id"].as_str().unwrap().into(), b["source"].as_str().unwrap().into(), b["cost_paid_cents"].clone()))
        .collect();
    sources.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(
        sources,
        [
            ("evidence-review".into(), "PLAN_INCLUDED".into(), Value::Null),
            ("interview-coaching".into(), "ADDON_PURCHASED".into(), json!(9900)),
            ("translation".into(), "PLAN_INCLUDED".into(), Value::Null),
        ]
    );
    let addon = before_worker["benefits"].as_array().unwrap().iter().find(|b| b["benefit_id"] == "interview-coaching").unwrap();
    assert!(addon["purchase_date"].is_string());

    app.run_task_worker().await;
    let after = detail(&app, &ada, &petition).await;
    assert_eq!(models(&after), ["evidence-self", "family-root-form", "interview-prep", "translation-standard"]);

    // The same event again, a fresh event for the same order, and the worker again:
    // nothing new.
    assert_eq!(app.pay_order(&order, total, "evt_petition_1").await.body["applied"], false);
    app.pay_order(&order, total, "evt_petition_2").await;
    app.run_task_worker().await;
    assert_eq!(app.get("/v1/petitions", Some(&ada.access_token)).await.body.as_array().unwrap().len(), 1);
    assert_eq!(models(&detail(&app, &ada, &petition).await), models(&after));
    assert_eq!(app.store().order(&order).await.unwrap().unwrap().status, OrderStatus::Fulfilled);
}

#[tokio::test]
async fn a_zero_total_checkout_is_fulfilled_without_payment() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let started = checkout(&app, &ada, "family-self-serve", &[]).await;
    assert_eq!((started.body["total_cents"].as_i64(), started.body["checkout_url"].as_str()), (Some(0), None), "{}", started.body);
    app.run_task_worker().await;
    let petition = app.get("/v1/petitions", Some(&ada.access_token)).await.body[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(models(&detail(&app, &ada, &petition).await), ["evidence-self", "family-root-form"]);
}

#[tokio::test]
async fn addons_bought_later_are_offered_minus_held_ones_and_delivered() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let petition = bought_petition(&app, &ada, "family-basic", &["priority-support"]).await;
    let t = Some(ada.access_token.as_str());
    let available = app.get(&format!("/v1/petitions/{petition}/available-purchase-addons"), t).await;
    assert_eq!(ids(&available, "id"), ["expert-evidence", "interview-coaching"]);
    assert_eq!(available.body[1]["cost_cents"], 9900);

    let path = format!("/v1/petitions/{petition}/purchase-addons");
    app.post(&path, &json!({"benefit_ids": ["priority-support"]}), t).await.assert_error(400, "addon_not_purchasable");
    app.post(&path, &json!({"benefit_ids": []}), t).await.assert_error(422, "validation_failed");
    app.post(&path, &json!({"benefit_ids": "interview-coaching"}), t).await.assert_error(422, "validation_failed");

    let started = app.post(&path, &json!({"benefit_ids": ["interview-coaching"]}), t).await;
    assert_eq!(started.body["total_cents"], 9900, "{}", started.body);
    app.pay_order(started.body["order_id"].as_str().unwrap(), 9900, "evt_addon").await;
    app.run_task_worker().await;
    let after = detail(&app, &ada, &petition).await;
    let row = after["benefits"].as_array().unwrap().iter().find(|b| b["benefit_id"] == "interview-coaching").unwrap().clone();
    assert_eq!((row["source"].as_str(), row["cost_paid_cents"].as_i64()), (Some("ADDON_PURCHASED_POST_CREATION"), Some(9900)));
    assert!(models(&after).contains(&"interview-prep".to_owned()));
    let left = app.get(&format!("/v1/petitions/{petition}/available-purchase-addons"), t).await;
    assert_eq!(ids(&left, "id"), ["expert-evidence"]);
}

#[tokio::test]
async fn concurrent_purchases_of_one_addon_deliver_it_once() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let petition = bought_petition(&app, &ada, "family-basic", &[]).await;
    let path = format!("/v1/petitions/{petition}/purchase-addons");
    // Two orders holding the same add-on (a second checkout of the very same choice
    // would return the first order), both opened before either is paid.
    let mut orders = Vec::new();
    for choice in [json!(["interview-coaching"]), json!(["interview-coaching", "expert-evidence"])] {
        let started = app.post(&path, &json!({"benefit_ids": choice}), Some(&ada.access_token)).await;
        let total = started.body["total_cents"].as_i64().unwrap();
        orders.push((started.body["order_id"].as_str().unwrap().to_owned(), total));
    }
    let payments = orders.iter().enumerate().map(|(i, (order, total))| {
        let event_id = format!("evt_race_{i}");
        let app = &app;
        async move { app.pay_order(order, *total, &event_id).await }
    });
    for reply in futures::future::join_all(payments).await {
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    app.run_task_worker().await;

    let after = detail(&app, &ada, &petition).await;
    let held = after["benefits"].as_array().unwrap().iter().filter(|b| b["benefit_id"] == "interview-coaching").count();
    assert_eq!(held, 1);
    assert_eq!(models(&after).iter().filter(|m| *m == "interview-prep").count(), 1);
    // The loser is refunded the add-on it could not get, once.
    let mut statuses = Vec::new();
    for (order, _) in &orders {
        statuses.push(app.store().order(order).await.unwrap().unwrap().status);
    }
    let refunds = app.stripe.refunds_created();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0].1, 9900, "the interview-coaching add-on");
    if refunds[0].0 == format!("pi_{}", orders[0].0) {
        assert_eq!(statuses, [OrderStatus::Refunded, OrderStatus::Fulfilled]);
    } else {
        assert_eq!(statuses, [OrderStatus::Fulfilled, OrderStatus::PartiallyRefunded]);
    }
}

#[tokio::test]
async fn another_account_gets_404_on_every_petition_route() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let eve = app.register(&unique_email()).await;
    let petition = bought_petition(&app, &ada, "family-basic", &[]).await;
    let t = Some(eve.access_token.as_str());
    app.get(&format!("/v1/petitions/{petition}"), t).await.assert_error(404, "not_found");
    app.get(&format!("/v1/petitions/{petition}/available-purchase-addons"), t).await.assert_error(404, "not_found");
    let before = app.all_items().await.len();
    app.post(&format!("/v1/petitions/{petition}/purchase-addons"), &json!({"benefit_ids": ["interview-coaching"]}), t)
        .await
        .assert_error(404, "not_found");
    assert_eq!(app.all_items().await.len(), before);
    assert!(app.get("/v1/petitions", t).await.body.as_array().unwrap().is_empty());
    app.get("/v1/petitions/no-such-petition", Some(&ada.access_token)).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn petition_routes_need_a_token() {
    let app = petition_app().await;
    for path in ["/v1/petition-templates", "/v1/petitions", "/v1/petitions/x"] {
        app.get(path, None).await.assert_error(401, "unauthorized");
    }
}

/// A delivery that dies after the petition is written but before its task messages
/// are sent (the queue refuses), and one that crashes at each webhook step: Stripe's
/// redelivery finishes the work, and nothing exists twice.
#[tokio::test]
async fn a_failed_or_crashed_fulfilment_is_finished_by_the_redelivery() {
    use api_tests::stripe_fake::{event, sign};
    use app::webhook::{NoFaults, Step};
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    for (attempt, crash) in [None, Some(Step::Recorded), Some(Step::Applied)].into_iter().enumerate() {
        let started = checkout(&app, &ada, "family-basic", &[]).await;
        let order = started.body["order_id"].as_str().unwrap().to_owned();
        let session = app.paid_session(&order, 49900, "usd");
        let payload = event(&format!("evt_fail_{attempt}"), "checkout.session.completed", 1_800_000_000, session);
        let signature = sign(&payload, None);
        let failed = match crash {
            None => {
                let mut broken = app.state.clone();
                broken.queue = adapters::queue::TaskQueue::new(
                    {
                        let sqs = app.sqs().await;
                        move || sqs
                    },
                    Some(format!("{}-missing", app.queue_url)),
                );
                app::webhook::receive(&broken, &payload, Some(&signature), &NoFaults).await
            }
            Some(step) => app::webhook::receive(&app.state, &payload, Some(&signature), &api_tests::CrashOnceAt::new(step)).await,
        };
        assert!(failed.is_err(), "{crash:?}");
        let retry = app::webhook::receive(&app.state, &payload, Some(&signature), &NoFaults).await.unwrap();
        assert!(retry.applied, "{crash:?}");
        app.run_task_worker().await;
        assert_eq!(app.store().order(&order).await.unwrap().unwrap().status, OrderStatus::Fulfilled);
    }
    let petitions = app.get("/v1/petitions", Some(&ada.access_token)).await.body;
    assert_eq!(petitions.as_array().unwrap().len(), 3, "one petition per order");
    for petition in petitions.as_array().unwrap() {
        let tasks = detail(&app, &ada, petition["id"].as_str().unwrap()).await;
        assert_eq!(models(&tasks), ["evidence-self", "family-root-form", "translation-standard"]);
    }
}

/// A plan that includes a task and its upgrade: the task is created on the upgraded
/// model at once. The queue carries no upgrade for it, so there is no moment in which
/// the task shows the old model and offers the upgrade just bought.
#[tokio::test]
async fn a_task_bought_with_its_upgrade_is_created_on_its_final_model() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let started = checkout(&app, &ada, "family-premium", &[]).await;
    let order = started.body["order_id"].as_str().unwrap();
    let total = started.body["total_cents"].as_i64().unwrap();
    assert_eq!(app.pay_order(order, total, &format!("evt_{order}")).await.status, 200);

    let sqs = app.sqs().await;
    let received = sqs.receive_message().queue_url(&app.queue_url).max_number_of_messages(10).visibility_timeout(0).send().await.unwrap();
    let effects: Vec<Value> = received
        .messages
        .unwrap_or_default()
        .iter()
        .map(|m| serde_json::from_str::<Value>(m.body.as_deref().unwrap()).unwrap()["effect"].clone())
        .collect();
    assert!(!effects.is_empty());
    assert!(effects.iter().all(|e| e["type"] == "add_task"), "no upgrade left for the worker: {effects:?}");
    assert!(effects.iter().any(|e| e["task_model_id"] == "evidence-assisted"), "{effects:?}");

    app.run_task_worker().await;
    let petition = app.get("/v1/petitions", Some(&ada.access_token)).await.body[0]["id"].as_str().unwrap().to_owned();
    let tasks = detail(&app, &ada, &petition).await["tasks"].clone();
    let evidence: Vec<&Value> = tasks.as_array().unwrap().iter().filter(|t| t["document_type_preset_id"] == "evidence").collect();
    assert_eq!(evidence.len(), 1, "{tasks}");
    assert_eq!(evidence[0]["task_model_id"], "evidence-assisted");
}
