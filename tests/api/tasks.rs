//! Tasks end to end: the worker over the test's own SQS queue (duplicates, poison
//! messages, the DLQ), unlocking on root form submit, data edits, upgrade paths and
//! paid upgrades, benefit upgrade effects, and tenancy.

use api_tests::{Reply, Session, TestApp, unique_email};
use domain::petition::{TaskEffect, TaskMessage};
use serde_json::{Value, json};

use crate::petitions::{bought_petition, detail, petition_app};

fn task_of<'a>(detail: &'a Value, model: &str) -> &'a Value {
    let tasks = detail["tasks"].as_array().unwrap();
    tasks.iter().find(|t| t["task_model_id"] == model).unwrap_or_else(|| panic!("no {model} task in {detail}"))
}

pub(crate) async fn task_id(app: &TestApp, session: &Session, petition: &str, preset: &str) -> String {
    let tasks = detail(app, session, petition).await["tasks"].clone();
    let task =
        tasks.as_array().unwrap().iter().find(|t| t["document_type_preset_id"] == preset).unwrap_or_else(|| panic!("no {preset} task"));
    task["id"].as_str().unwrap().to_owned()
}

async fn patch(app: &TestApp, session: &Session, task: &str, body: Value) -> Reply {
    app.patch(&format!("/v1/tasks/{task}/data"), &body, &session.access_token).await
}

/// The (open) evidence task of a petition bought on `plan`, its root form submitted.
pub(crate) async fn open_evidence_task(app: &TestApp, session: &Session, plan: &str) -> String {
    let petition = bought_petition(app, session, plan, &[]).await;
    submit_root_form(app, session, &petition).await;
    task_id(app, session, &petition, "evidence").await
}

pub(crate) async fn submit_root_form(app: &TestApp, session: &Session, petition: &str) {
    let root = task_id(app, session, petition, "root_form").await;
    let filled = patch(app, session, &root, json!({"petitioner_name": "Ada", "beneficiary_name": "Byron", "relationship": "child"})).await;
    assert_eq!(filled.status, 200, "{}", filled.body);
    let submitted = app.post_empty(&format!("/v1/tasks/{root}/submit"), Some(&session.access_token)).await;
    assert_eq!(submitted.body["status"], "SUBMITTED", "{}", submitted.body);
}

fn value<'a>(task: &'a Value, key: &str) -> &'a Value {
    let rows = task["data"].as_array().unwrap();
    &rows.iter().find(|row| row["key"] == key).unwrap_or_else(|| panic!("no {key} row in {task}"))["value"]
}

async fn send_raw(app: &TestApp, body: &str) {
    app.sqs().await.send_message().queue_url(&app.queue_url).message_body(body).send().await.unwrap();
}

#[tokio::test]
async fn tasks_waiting_on_the_root_form_open_when_it_is_submitted() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let petition = bought_petition(&app, &ada, "family-basic", &[]).await;
    let before = detail(&app, &ada, &petition).await;
    assert_eq!(task_of(&before, "family-root-form")["status"], "OPEN");
    assert_eq!(task_of(&before, "evidence-self")["status"], "LOCKED", "waits on the root form");
    assert_eq!(task_of(&before, "translation-standard")["status"], "OPEN", "no prerequisites");

    let root = task_id(&app, &ada, &petition, "root_form").await;
    let incomplete = app.post_empty(&format!("/v1/tasks/{root}/submit"), Some(&ada.access_token)).await;
    incomplete.assert_error(422, "validation_failed");
    assert!(incomplete.body["fields"]["petitioner_name"].is_string());

    submit_root_form(&app, &ada, &petition).await;
    let after = detail(&app, &ada, &petition).await;
    assert_eq!(task_of(&after, "evidence-self")["status"], "OPEN");
    let again = app.post_empty(&format!("/v1/tasks/{root}/submit"), Some(&ada.access_token)).await;
    again.assert_error(409, "task_not_editable");
}

#[tokio::test]
async fn task_data_takes_only_input_keys_while_the_task_is_with_the_client() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let petition = bought_petition(&app, &ada, "family-basic", &[]).await;
    let evidence = task_id(&app, &ada, &petition, "evidence").await;
    patch(&app, &ada, &evidence, json!({"documents": ["passport.pdf"]})).await.assert_error(409, "task_not_editable");

    submit_root_form(&app, &ada, &petition).await;
    let got = app.get(&format!("/v1/tasks/{evidence}"), Some(&ada.access_token)).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert!(value(&got.body, "documents").is_null() && value(&got.body, "evidence_summary").is_null(), "placeholders");

    // Values DynamoDB would refuse or could not read back are refused first (TOOLING.md).
    let deep = (0..70).fold(json!(1), |inner, _| json!([inner]));
    let bounded = [json!({"documents": deep}), json!({"documents": 1e200}), json!({"documents": "x".repeat(20_000)})];
    let shapes = [json!({"evidence_summary": "mine"}), json!({"nope": 1}), json!({}), json!(["documents"]), json!("x")];
    for body in shapes.into_iter().chain(bounded) {
        let reply = patch(&app, &ada, &evidence, body.clone()).await;
        assert_eq!((reply.status, reply.body["error"].as_str()), (422, Some("validation_failed")), "{body}: {}", reply.body);
    }
    let unchanged = app.get(&format!("/v1/tasks/{evidence}"), Some(&ada.access_token)).await;
    assert_eq!(unchanged.body, got.body, "refused edits change nothing");

    let saved = patch(&app, &ada, &evidence, json!({"documents": ["passport.pdf"]})).await;
    assert_eq!((saved.body["status"].as_str(), value(&saved.body, "documents")), (Some("IN_PROGRESS_CLIENT"), &json!(["passport.pdf"])));
    let reread = app.get(&format!("/v1/tasks/{evidence}"), Some(&ada.access_token)).await;
    assert_eq!(value(&reread.body, "documents"), &json!(["passport.pdf"]));
}

#[tokio::test]
async fn a_redelivered_message_creates_no_second_task_and_a_poison_message_is_dead_lettered() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let petition = bought_petition(&app, &ada, "family-self-serve", &[]).await;
    let tasks_before = detail(&app, &ada, &petition).await["tasks"].as_array().unwrap().len();

    let message = TaskMessage {
        petition_id: petition.clone(),
        benefit_id: "evidence-review".into(),
        effect: TaskEffect::AddTask { task_model_id: "evidence-self".into() },
    };
    let body = serde_json::to_string(&message).unwrap();
    send_raw(&app, &body).await;
    send_raw(&app, &body).await;
    send_raw(&app, "not a task message").await;
    let unknown = TaskMessage { petition_id: "no-such-petition".into(), ..message };
    send_raw(&app, &serde_json::to_string(&unknown).unwrap()).await;
    app.run_task_worker().await;

    assert_eq!(detail(&app, &ada, &petition).await["tasks"].as_array().unwrap().len(), tasks_before);
    let mut dead = app.dead_letters().await;
    dead.sort();
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert!(dead.iter().any(|d| d == "not a task message") && dead.iter().any(|d| d.contains("no-such-petition")));
}

#[tokio::test]
async fn the_worker_handler_reports_failed_messages_as_partial_batch_failures() {
    let app = petition_app().await;
    let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_str(include_str!("../../events/task-worker-sqs.json")).unwrap();
    let response = task_worker::handle(&app.state, event).await;
    let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    // The sample's petition does not exist in a fresh table: its message fails.
    assert_eq!(failed, ["059f36b4-87a3-44ab-83d2-661975830a7d"]);
}

#[tokio::test]
async fn upgrades_are_offered_for_the_same_preset_at_a_higher_cost_while_with_the_client() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let petition = bought_petition(&app, &ada, "family-basic", &[]).await;
    let evidence = task_id(&app, &ada, &petition, "evidence").await;
    let t = Some(ada.access_token.as_str());
    let offers = |reply: Reply| {
        reply
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|o| (o["task_model_id"].as_str().unwrap().to_owned(), o["additional_cost_cents"].as_i64().unwrap()))
            .collect::<Vec<_>>()
    };
    assert!(offers(app.get(&format!("/v1/tasks/{evidence}/available-upgrades"), t).await).is_empty(), "LOCKED: none offered");
    let path = format!("/v1/tasks/{evidence}/upgrade");
    app.post(&path, &json!({"task_model_id": "evidence-assisted"}), t).await.assert_error(400, "invalid_upgrade");

    submit_root_form(&app, &ada, &petition).await;
    let offered = offers(app.get(&format!("/v1/tasks/{evidence}/available-upgrades"), t).await);
    assert_eq!(offered, [("evidence-assisted".to_owned(), 15000), ("evidence-expert".to_owned(), 30000)]);
    let before = app.all_items().await.len();
    for target in ["evidence-self", "translation-certified", "no-such-model"] {
        app.post(&path, &json!({"task_model_id": target}), t).await.assert_error(400, "invalid_upgrade");
    }
    app.post(&path, &json!({"task_model": "evidence-expert"}), t).await.assert_error(422, "validation_failed");
    assert_eq!(app.all_items().await.len(), before, "refused upgrades write nothing");
}

#[tokio::test]
async fn a_paid_upgrade_switches_the_model_keeps_data_and_adds_placeholders() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let evidence = open_evidence_task(&app, &ada, "family-basic").await;
    patch(&app, &ada, &evidence, json!({"documents": ["passport.pdf"]})).await;

    let started =
        app.post(&format!("/v1/tasks/{evidence}/upgrade"), &json!({"task_model_id": "evidence-expert"}), Some(&ada.access_token)).await;
    assert_eq!(started.body["amount_cents"], 30000, "{}", started.body);
    let order = started.body["order_id"].as_str().unwrap().to_owned();
    let unpaid = app.get(&format!("/v1/tasks/{evidence}"), Some(&ada.access_token)).await;
    assert_eq!(unpaid.body["task_model_id"], "evidence-self", "nothing changes before payment");

    assert_eq!(app.pay_order(&order, 30000, "evt_upgrade").await.body["applied"], true);
    let upgraded = app.get(&format!("/v1/tasks/{evidence}"), Some(&ada.access_token)).await.body;
    assert_eq!(upgraded["task_model_id"], "evidence-expert");
    assert_eq!(value(&upgraded, "documents"), &json!(["passport.pdf"]), "data kept");
    for key in ["call_slot", "reviewer_notes", "expert_letter"] {
        assert!(value(&upgraded, key).is_null(), "placeholder for {key}");
    }
    assert_eq!(upgraded["current_step_number"], 2, "step `collect` mapped onto the new model");
    assert_eq!(upgraded["id"], evidence.as_str());
}

#[tokio::test]
async fn an_upgrade_paid_after_the_task_left_the_client_is_not_applied() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let evidence = open_evidence_task(&app, &ada, "family-self-serve").await;
    let started =
        app.post(&format!("/v1/tasks/{evidence}/upgrade"), &json!({"task_model_id": "evidence-assisted"}), Some(&ada.access_token)).await;
    let order = started.body["order_id"].as_str().unwrap().to_owned();
    patch(&app, &ada, &evidence, json!({"documents": ["a.pdf"]})).await;
    app.post_empty(&format!("/v1/tasks/{evidence}/submit"), Some(&ada.access_token)).await;

    app.pay_order(&order, 15000, "evt_late_upgrade").await;
    let task = app.get(&format!("/v1/tasks/{evidence}"), Some(&ada.access_token)).await.body;
    assert_eq!((task["task_model_id"].as_str(), task["status"].as_str()), (Some("evidence-self"), Some("SUBMITTED")));
    let stored = app.store().order(&order).await.unwrap().unwrap();
    assert_eq!(stored.status, domain::order::OrderStatus::Refunded);
    assert_eq!(app.stripe.refunds_created(), [(format!("pi_{order}"), 15000)]);
}

#[tokio::test]
async fn an_upgrade_effect_benefit_switches_the_existing_task_and_keeps_its_data() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let petition = bought_petition(&app, &ada, "family-basic", &[]).await;
    submit_root_form(&app, &ada, &petition).await;
    let evidence = task_id(&app, &ada, &petition, "evidence").await;
    patch(&app, &ada, &evidence, json!({"documents": ["birth-certificate.pdf"]})).await;

    let started = app
        .post(&format!("/v1/petitions/{petition}/purchase-addons"), &json!({"benefit_ids": ["expert-evidence"]}), Some(&ada.access_token))
        .await;
    app.pay_order(started.body["order_id"].as_str().unwrap(), 20000, "evt_expert").await;
    app.run_task_worker().await;

    let task = app.get(&format!("/v1/tasks/{evidence}"), Some(&ada.access_token)).await.body;
    assert_eq!(task["task_model_id"], "evidence-assisted");
    assert_eq!(value(&task, "documents"), &json!(["birth-certificate.pdf"]));
    assert!(value(&task, "call_slot").is_null());
    let tasks = detail(&app, &ada, &petition).await["tasks"].as_array().unwrap().len();
    assert_eq!(tasks, 3, "switched in place, no task added");
}

#[tokio::test]
async fn a_plan_with_an_upgrade_benefit_ends_with_the_upgraded_task_whatever_the_message_order() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let petition = bought_petition(&app, &ada, "family-premium", &[]).await;
    let after = detail(&app, &ada, &petition).await;
    assert_eq!(task_of(&after, "evidence-assisted")["document_type_preset_id"], "evidence");
    assert!(app.dead_letters().await.is_empty());
}

#[tokio::test]
async fn another_account_gets_404_on_every_task_route() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let eve = app.register(&unique_email()).await;
    let petition = bought_petition(&app, &ada, "family-basic", &[]).await;
    let root = task_id(&app, &ada, &petition, "root_form").await;
    let t = Some(eve.access_token.as_str());
    let before = app.all_items().await.len();
    app.get(&format!("/v1/petitions/{petition}/tasks"), t).await.assert_error(404, "not_found");
    app.get(&format!("/v1/tasks/{root}"), t).await.assert_error(404, "not_found");
    patch(&app, &eve, &root, json!({"petitioner_name": "Eve"})).await.assert_error(404, "not_found");
    app.post_empty(&format!("/v1/tasks/{root}/submit"), t).await.assert_error(404, "not_found");
    app.get(&format!("/v1/tasks/{root}/available-upgrades"), t).await.assert_error(404, "not_found");
    app.post(&format!("/v1/tasks/{root}/upgrade"), &json!({"task_model_id": "x"}), t).await.assert_error(404, "not_found");
    assert_eq!(app.all_items().await.len(), before);
    app.get("/v1/tasks/malformed-id", Some(&ada.access_token)).await.assert_error(404, "not_found");
    let listed = app.get(&format!("/v1/petitions/{petition}/tasks"), Some(&ada.access_token)).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 3);
}

/// An add-on whose effect upgrades a task is sold only while the upgrade can apply:
/// once the task is done it is no longer offered, and buying it is refused (it would
/// be paid for nothing).
#[tokio::test]
async fn an_upgrade_add_on_is_offered_only_while_its_task_can_take_it() {
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let petition = bought_petition(&app, &ada, "family-basic", &[]).await;
    submit_root_form(&app, &ada, &petition).await;
    let evidence = task_id(&app, &ada, &petition, "evidence").await;
    let t = Some(ada.access_token.as_str());
    let offered = || async {
        let reply = app.get(&format!("/v1/petitions/{petition}/available-purchase-addons"), t).await;
        reply.body.as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert!(offered().await.contains(&"expert-evidence".to_owned()));
    // Bought while it could apply, paid after the task was handed in: refunded.
    let path = format!("/v1/petitions/{petition}/purchase-addons");
    let started = app.post(&path, &json!({"benefit_ids": ["expert-evidence"]}), t).await;
    let (order, total) = (started.body["order_id"].as_str().unwrap().to_owned(), started.body["total_cents"].as_i64().unwrap());

    patch(&app, &ada, &evidence, json!({"documents": ["passport.pdf"]})).await;
    let submitted = app.post_empty(&format!("/v1/tasks/{evidence}/submit"), t).await;
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    assert!(!offered().await.contains(&"expert-evidence".to_owned()));
    let bought = app.post(&format!("/v1/petitions/{petition}/purchase-addons"), &json!({"benefit_ids": ["expert-evidence"]}), t).await;
    bought.assert_error(400, "addon_not_purchasable");

    assert_eq!(app.pay_order(&order, total, "evt_late_addon").await.status, 200);
    let stored = app.store().order(&order).await.unwrap().unwrap();
    assert_eq!(stored.status, domain::order::OrderStatus::Refunded);
    assert_eq!(stored.refund.map(|r| r.reason), Some(domain::order::RefundReason::NoLongerDeliverable));
    assert_eq!(app.stripe.refunds_created(), [(format!("pi_{order}"), total)]);
    let held = detail(&app, &ada, &petition).await["benefits"].as_array().unwrap().iter().any(|b| b["benefit_id"] == "expert-evidence");
    assert!(!held, "nothing delivered");
}
