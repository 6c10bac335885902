//! The payloads in `events/` through the real Lambda handler path: lambda_http's
//! adapter (what `lambda_http::run` wraps the router in) around the function's router.

use api_tests::spawn_app;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, LambdaEvent, Service};
use serde_json::Value;

async fn invoke(app: &api_tests::TestApp, event_file: &str) -> (u16, Value) {
    invoke_router(web::http::serve(auth::router(app.state.clone())), event_file).await
}

async fn invoke_router(router: axum::Router, event_file: &str) -> (u16, Value) {
    let path = format!("{}/../events/{event_file}", env!("CARGO_MANIFEST_DIR"));
    let payload: LambdaRequest = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).expect(&path);
    let mut handler = Adapter::from(router);
    let response = handler.call(LambdaEvent::new(payload, Context::default())).await.unwrap();
    let response = serde_json::to_value(response).unwrap();
    let status = response["statusCode"].as_u64().unwrap() as u16;
    let body = serde_json::from_str(response["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn register_then_login_events_run_through_the_auth_handler() {
    let app = spawn_app().await;
    let (status, body) = invoke(&app, "auth-register.json").await;
    assert_eq!(status, 201, "{body}");
    assert!(body["access_token"].is_string());

    let (status, body) = invoke(&app, "auth-login.json").await;
    assert_eq!(status, 200, "{body}");
    let me = app.get("/v1/auth/me", body["access_token"].as_str()).await;
    assert_eq!(me.body["user"]["email"], "events-demo@example.com");

    // The same register event again: the email is taken, in the SPEC error body.
    let (status, body) = invoke(&app, "auth-register.json").await;
    assert_eq!((status, body["error"].as_str()), (409, Some("email_taken")));
}

#[tokio::test]
async fn the_oauth_authorize_event_runs_through_the_oauth_handler() {
    let app = spawn_app().await;
    let router = web::http::serve(oauth::router(app.state.clone()));
    let (status, body) = invoke_router(router, "oauth-authorize.json").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["authorization_url"].as_str().unwrap().contains("code_challenge="));
    assert_eq!(app.all_items().await.len(), 1, "one pending authorization stored");
}

#[tokio::test]
async fn billing_events_run_through_the_billing_handler() {
    let app = spawn_app().await;
    app.seed_billing_catalogue().await;
    let router = || web::http::serve(billing::router(app.state.clone()));
    let (status, body) = invoke_router(router(), "billing-plans.json").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_array().unwrap().len(), 3);
    let (status, body) = invoke_router(router(), "billing-sales-lead.json").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(app.store().sales_leads_by_email("cto@example.com").await.unwrap().len(), 1);
}

/// The Function URL payload Stripe's delivery arrives as, re-signed now (a stored
/// signature would be outside the 5-minute tolerance).
#[tokio::test]
async fn the_stripe_webhook_event_runs_through_the_webhook_handler() {
    let app = spawn_app().await;
    app.seed_billing_catalogue().await;
    let session = app.register(&api_tests::unique_email()).await;
    app.store().set_stripe_customer_once(&session.account_id, "cus_demo").await.unwrap();

    let path = format!("{}/../events/stripe-webhook-subscription-updated.json", env!("CARGO_MANIFEST_DIR"));
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let signature = api_tests::stripe_fake::sign(event["body"].as_str().unwrap(), None);
    event["headers"]["stripe-signature"] = Value::String(signature);
    let payload: LambdaRequest = serde_json::from_value(event).unwrap();
    let mut handler = Adapter::from(web::http::serve(stripe_webhook::router(app.state.clone())));
    let response = handler.call(LambdaEvent::new(payload, Context::default())).await.unwrap();
    let response = serde_json::to_value(response).unwrap();
    assert_eq!(response["statusCode"], 200, "{response}");
    let sub = app.store().subscription(&session.account_id).await.unwrap().unwrap();
    assert_eq!((sub.status, sub.seat_limit), (domain::account::SubscriptionStatus::PastDue, 3));
}

/// A guarded route through the wills handler: the stored bearer token is replaced
/// with a fresh one (a stored token would have expired).
#[tokio::test]
async fn the_wills_list_event_runs_through_the_guarded_wills_handler() {
    let app = spawn_app().await;
    let session = app.register(&api_tests::unique_email()).await;
    app.post_empty("/v1/wills", Some(&session.access_token)).await;
    let path = format!("{}/../events/wills-list.json", env!("CARGO_MANIFEST_DIR"));
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    event["headers"]["authorization"] = Value::String(format!("Bearer {}", session.access_token));
    let payload: LambdaRequest = serde_json::from_value(event).unwrap();
    let mut handler = Adapter::from(web::http::serve(wills::router(app.state.clone())));
    let response = serde_json::to_value(handler.call(LambdaEvent::new(payload, Context::default())).await.unwrap()).unwrap();
    assert_eq!(response["statusCode"], 200, "{response}");
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body.as_array().unwrap().len(), 1);
}

/// A stored event with a fresh bearer token and `PETITION_ID` replaced.
fn fresh_event(event_file: &str, token: &str, petition_id: &str) -> LambdaRequest {
    let path = format!("{}/../events/{event_file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap().replace("PETITION_ID", petition_id);
    let mut event: Value = serde_json::from_str(&text).unwrap();
    event["headers"]["authorization"] = Value::String(format!("Bearer {token}"));
    serde_json::from_value(event).unwrap()
}

async fn call(router: axum::Router, payload: LambdaRequest) -> (u16, Value) {
    let mut handler = Adapter::from(router);
    let response = serde_json::to_value(handler.call(LambdaEvent::new(payload, Context::default())).await.unwrap()).unwrap();
    let body = serde_json::from_str(response["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
    (response["statusCode"].as_u64().unwrap() as u16, body)
}

#[tokio::test]
async fn petition_checkout_and_task_list_events_run_through_their_handlers() {
    let app = spawn_app().await;
    app.seed_petitions().await;
    let session = app.register(&api_tests::unique_email()).await;
    let checkout = fresh_event("petitions-initiate-checkout.json", &session.access_token, "");
    let (status, body) = call(web::http::serve(petitions::router(app.state.clone())), checkout).await;
    assert_eq!((status, body["total_cents"].as_i64()), (200, Some(49900 + 9900)), "{body}");

    let free = app
        .post(
            "/v1/petitions/initiate-checkout",
            &serde_json::json!({"template_id": "family-petition", "plan_id": "family-self-serve"}),
            Some(&session.access_token),
        )
        .await;
    assert_eq!(free.status, 200, "{}", free.body);
    let petition = app.get("/v1/petitions", Some(&session.access_token)).await.body[0]["id"].as_str().unwrap().to_owned();
    let list = fresh_event("tasks-petition-tasks.json", &session.access_token, &petition);
    let (status, body) = call(web::http::serve(tasks::router(app.state.clone())), list).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["task_model_id"], "family-root-form");
}

/// The orders list through the billing handler, with a fresh bearer token.
#[tokio::test]
async fn the_orders_list_event_runs_through_the_billing_handler() {
    let app = spawn_app().await;
    let session = app.register(&api_tests::unique_email()).await;
    let (status, body) =
        call(web::http::serve(billing::router(app.state.clone())), fresh_event("billing-orders.json", &session.access_token, "")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["orders"], serde_json::json!([]));
}

/// The daily schedule's payload through the reconcile function's handler.
#[tokio::test]
async fn the_schedule_event_runs_the_reconciliation() {
    let app = spawn_app().await;
    let path = format!("{}/../events/reconcile-schedule.json", env!("CARGO_MANIFEST_DIR"));
    let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(event["detail-type"], "Scheduled Event");
    let report = reconcile::handle(&app.state).await.unwrap();
    assert_eq!(report, serde_json::json!({"sessions": 0, "fixed": []}));
}

/// `ops event NAME` makes every payload of `events/` valid against the stack (fresh
/// token, demo petition, fresh Stripe signature, unused sign-up address); each then
/// succeeds through its own function's Lambda handler.
#[tokio::test]
async fn every_event_made_fresh_by_ops_event_succeeds_in_its_function() {
    use local::demo::{DEMO_EMAIL, DEMO_PASSWORD};
    let app = spawn_app().await;
    app.seed_petitions().await;
    app.seed_billing_catalogue().await;
    let demo = serde_json::json!({"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "name": "Demo Owner"});
    assert_eq!(app.post("/v1/auth/register", &demo, None).await.status, 201);
    let names = local::events::names().unwrap();
    assert!(names.len() >= 12, "{names:?}");
    for name in names {
        let event = local::events::fresh(&app.state, &name).await.unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let function =
            ["stripe-webhook", "task-worker"].into_iter().find(|f| name.starts_with(f)).unwrap_or_else(|| name.split('-').next().unwrap());
        match function {
            "task-worker" => {
                let sqs: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(event).unwrap();
                let response = task_worker::handle(&app.state, sqs).await;
                assert!(response.batch_item_failures.is_empty(), "{name}: {:?}", response.batch_item_failures);
            }
            "reconcile" => {
                reconcile::handle(&app.state).await.unwrap_or_else(|e| panic!("{name}: {e:#}"));
            }
            http => {
                let state = app.state.clone();
                let router = match http {
                    "auth" => auth::router(state),
                    "oauth" => oauth::router(state),
                    "billing" => billing::router(state),
                    "stripe-webhook" => stripe_webhook::router(state),
                    "petitions" => petitions::router(state),
                    "tasks" => tasks::router(state),
                    "wills" => wills::router(state),
                    other => panic!("{name}: no function {other}"),
                };
                let (status, body) = call(web::http::serve(router), serde_json::from_value(event).unwrap()).await;
                assert!(status < 400, "{name}: {status} {body}");
            }
        }
    }
}

/// `ops seed-demo`: every feature has something to show, and a second run adds nothing.
#[tokio::test]
async fn the_demo_seed_shows_every_feature_and_runs_twice_alike() {
    let app = spawn_app().await;
    app.seed_petitions().await;
    app.seed_billing_catalogue().await;
    let first = local::demo::seed(&app.state).await.unwrap();
    let again = local::demo::seed(&app.state).await.unwrap();
    assert_eq!((&first.petition_id, &first.will_id), (&again.petition_id, &again.will_id));

    let owner = app.store().user_by_email(local::demo::DEMO_EMAIL).await.unwrap().unwrap();
    let subscription = app.store().subscription(&owner.account_id).await.unwrap().unwrap();
    assert_eq!(subscription.status, domain::account::SubscriptionStatus::Active);
    assert_eq!(app.store().member_ids(&owner.account_id).await.unwrap().len(), 2, "owner and an invited member");
    let record = app.store().petition_record(&first.petition_id).await.unwrap();
    assert!(record.benefits.iter().any(|b| b.benefit_id == "interview-coaching"), "the add-on bought after creation");
    app.run_task_worker().await;
    assert!(app.store().petition_record(&first.petition_id).await.unwrap().tasks.len() >= 2, "the root form and triggered tasks");
    let download = first.download_path.expect("a generated will");
    let pdf = app.http.get(format!("{}{download}", app.address)).send().await.unwrap();
    assert_eq!(pdf.status().as_u16(), 200);
    let orders = app.store().orders_of_account(&owner.account_id, 10, None).await.unwrap().orders;
    assert_eq!(orders.len(), 3, "petition, add-on, will: bought once");
    assert!(orders.iter().all(|o| o.status == domain::order::OrderStatus::Fulfilled));
}
