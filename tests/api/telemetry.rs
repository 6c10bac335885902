//! What an operator sees: every log line with Powertools' keys and no secret, the
//! correlation id on the response, and the money events as EMF metric documents.

use api_tests::stripe_fake::{SECRET_KEY, WEBHOOK_SECRET};
use api_tests::{JWT_SECRET, PASSWORD, TestApp, install_log_capture, token_in, unique_email};
use serde_json::{Value, json};

use crate::checkout_pages::{order_settles, press};
use crate::oauth::{identity, sign_in};
use crate::petitions::petition_app;
use crate::tasks::submit_root_form;
use crate::wills::verified_will;

const INVOCATION_KEYS: [&str; 11] = [
    "level",
    "timestamp",
    "message",
    "service",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "xray_trace_id",
    "correlation_id",
];

fn is_metric_document(line: &Value) -> bool {
    line.get("_aws").is_some()
}

/// Signs up, signs in with Google, subscribes, buys a petition with an add-on, upgrades
/// a task, pays a will and gets one refund; returns the secrets the flow used.
async fn main_flows(app: &TestApp) -> Vec<String> {
    let email = unique_email();
    let ada = app.register(&email).await;
    let t = Some(ada.access_token.as_str());
    let mails = app.emails_to(&email).await;
    let verification = token_in(&mails.last().expect("a verification email").1);
    assert_eq!(app.post("/v1/auth/email/verify", &json!({"token": verification}), None).await.status, 200);
    let login = app.post("/v1/auth/login", &json!({"email": email, "password": PASSWORD}), None).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let google = sign_in(app, "google", identity("google-sub-telemetry", &unique_email(), true)).await;
    assert_eq!(google.status, 200, "{}", google.body);

    app.seed_billing_catalogue().await;
    let checkout = app.post("/v1/billing/checkout-session", &json!({"plan": "team", "seats": 3}), t).await;
    press(app, checkout.body["url"].as_str().unwrap(), "/pay", &[]).await;

    let body = json!({"template_id": "family-petition", "plan_id": "family-basic", "addon_benefit_ids": []});
    let petition_order = app.post("/v1/petitions/initiate-checkout", &body, t).await;
    press(app, petition_order.body["checkout_url"].as_str().unwrap(), "/pay", &[]).await;
    order_settles(app, &ada.access_token, petition_order.body["order_id"].as_str().unwrap()).await;
    app.run_task_worker().await;
    let petition = app.get("/v1/petitions", t).await.body[0]["id"].as_str().unwrap().to_owned();
    let addon = app.post(&format!("/v1/petitions/{petition}/purchase-addons"), &json!({"benefit_ids": ["interview-coaching"]}), t).await;
    press(app, addon.body["checkout_url"].as_str().unwrap(), "/pay", &[]).await;
    order_settles(app, &ada.access_token, addon.body["order_id"].as_str().unwrap()).await;
    submit_root_form(app, &ada, &petition).await;
    app.run_task_worker().await;
    let detail = app.get(&format!("/v1/petitions/{petition}"), t).await.body;
    let evidence = detail["tasks"].as_array().unwrap().iter().find(|t| t["document_type_preset_id"] == "evidence").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let upgrade = app.post(&format!("/v1/tasks/{evidence}/upgrade"), &json!({"task_model_id": "evidence-assisted"}), t).await;
    press(app, upgrade.body["checkout_url"].as_str().unwrap(), "/pay", &[]).await;
    order_settles(app, &ada.access_token, upgrade.body["order_id"].as_str().unwrap()).await;

    let will = verified_will(app, &ada).await;
    let paid = app.post_empty(&format!("/v1/wills/{will}/checkout"), t).await;
    press(app, paid.body["checkout_url"].as_str().unwrap(), "/pay", &[]).await;
    assert_eq!(order_settles(app, &ada.access_token, paid.body["order_id"].as_str().unwrap()).await["status"], "fulfilled");
    // A payment of the wrong amount is refunded, once.
    let second = verified_will(app, &ada).await;
    let wrong = app.post_empty(&format!("/v1/wills/{second}/checkout"), t).await;
    let order = wrong.body["order_id"].as_str().unwrap();
    assert_eq!(app.pay_order(order, 1, "evt_telemetry_wrong_amount").await.status, 200);
    assert_eq!(order_settles(app, &ada.access_token, order).await["status"], "refunded");

    vec![
        PASSWORD.to_owned(),
        verification,
        ada.access_token,
        ada.refresh_token,
        login.body["access_token"].as_str().unwrap().to_owned(),
        login.body["refresh_token"].as_str().unwrap().to_owned(),
        google.body["access_token"].as_str().unwrap().to_owned(),
        google.body["refresh_token"].as_str().unwrap().to_owned(),
        SECRET_KEY.to_owned(),
        WEBHOOK_SECRET.to_owned(),
        JWT_SECRET.to_owned(),
        "google-test-secret".to_owned(),
        "microsoft-test-secret".to_owned(),
        email,
    ]
}

#[tokio::test]
async fn every_line_carries_the_powertools_keys_and_no_secret() {
    let logs = install_log_capture();
    let app = petition_app().await;
    for line in logs.take() {
        for key in ["level", "timestamp", "message", "service"] {
            assert!(line.get(key).is_some() || is_metric_document(&line), "set-up line without {key}: {line}");
        }
    }
    let secrets = main_flows(&app).await;
    let lines: Vec<Value> = logs.take().into_iter().filter(|l| !is_metric_document(l)).collect();
    assert!(lines.len() > 50, "the flows logged: {}", lines.len());
    for line in &lines {
        for key in INVOCATION_KEYS {
            assert!(line.get(key).is_some_and(|v| !v.is_null()), "no {key}: {line}");
        }
        assert_eq!(line["service"], "tests");
        assert!(line["xray_trace_id"].as_str().unwrap().starts_with("1-"), "{line}");
        let text = line.to_string();
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "a secret or an email in a log line: {text}");
        }
    }
    let groups: std::collections::BTreeSet<&str> = lines.iter().filter_map(|l| l["function_name"].as_str()).collect();
    for group in ["auth", "oauth", "billing", "stripe-webhook", "petitions", "tasks", "wills", "task-worker"] {
        assert!(groups.contains(group), "no line of {group}: {groups:?}");
    }
    assert!(lines.iter().any(|l| l.get("account_id").is_some() && l.get("user_id").is_some()), "authenticated lines name the caller");
    let webhook = lines.iter().find(|l| l["message"] == "Stripe event received").unwrap();
    assert_eq!(webhook["correlation_id"], webhook["event_id"], "the webhook's lines are found by the event id");
    let cold: std::collections::BTreeSet<&str> =
        lines.iter().filter(|l| l["cold_start"] == true).filter_map(|l| l["function_request_id"].as_str()).collect();
    assert_eq!(cold.len(), 1, "one cold invocation per process: {cold:?}");
}

#[tokio::test]
async fn the_response_names_the_correlation_id_of_its_lines() {
    let logs = install_log_capture();
    let app = api_tests::spawn_app().await;
    logs.take();
    let sent = app.http.get(format!("{}/v1/billing/plans", app.address)).header("x-request-id", "client-req-0001").send().await.unwrap();
    assert_eq!(sent.headers()["x-request-id"], "client-req-0001", "a well-formed client id is kept");
    let forged = app.http.get(format!("{}/v1/billing/plans", app.address)).header("x-request-id", "bad id\"}").send().await.unwrap();
    let replaced = forged.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(replaced, "bad id\"}");
    assert_eq!(uuid::Uuid::parse_str(&replaced).map(|_| ()), Ok(()), "a malformed one is replaced: {replaced}");
    let lines = logs.take();
    let ids: Vec<&str> = lines.iter().filter_map(|l| l["correlation_id"].as_str()).collect();
    assert!(ids.contains(&"client-req-0001") && ids.contains(&replaced.as_str()), "{ids:?}");
}

/// One metric of an EMF document.
#[derive(Clone, Debug)]
struct Metric {
    name: String,
    dimensions: Vec<String>,
    /// The dimensions' values, in `dimensions` order.
    values: Vec<Value>,
    value: Value,
    unit: Option<String>,
}

/// Every metric in the capture's EMF documents.
fn metrics(lines: &[Value]) -> Vec<Metric> {
    let mut found = Vec::new();
    for doc in lines.iter().filter(|l| is_metric_document(l)) {
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "ServerlessSaas");
        let dimensions: Vec<String> =
            directive["Dimensions"][0].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_owned()).collect();
        for metric in directive["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap().to_owned();
            found.push(Metric {
                value: doc[&name].clone(),
                unit: metric["Unit"].as_str().map(str::to_owned),
                values: dimensions.iter().map(|d| doc[d].clone()).collect(),
                dimensions: dimensions.clone(),
                name,
            });
        }
    }
    found
}

#[tokio::test]
async fn a_fulfilment_and_a_refund_are_counted_as_emf_metrics() {
    let logs = install_log_capture();
    let app = petition_app().await;
    main_flows(&app).await;
    let found = metrics(&logs.take());
    let of = |name: &str, kind: &str| {
        found.iter().filter(|m| m.name == name && m.values.get(1).is_some_and(|v| v == kind)).cloned().collect::<Vec<_>>()
    };
    let fulfilled = of("OrdersFulfilled", "will_payment");
    assert!(!fulfilled.is_empty(), "{found:?}");
    assert_eq!(fulfilled[0].dimensions, vec!["service".to_owned(), "kind".to_owned()]);
    assert_eq!(fulfilled[0].values[0], "tests");
    assert_eq!((&fulfilled[0].value, fulfilled[0].unit.as_deref()), (&json!(1), Some("Count")));
    let cents = of("OrdersFulfilledCents", "will_payment");
    assert_eq!((&cents[0].value, cents[0].unit.as_deref()), (&json!(9900), None), "the amount in cents, no unit");
    assert_eq!(of("OrdersRefunded", "will_payment")[0].value, json!(1));
    assert_eq!(of("OrdersRefundedCents", "will_payment")[0].value, json!(1), "the wrong amount paid, given back");
    for name in ["SignUps", "OrdersOpened", "WebhookEvents", "SubscriptionChanges", "TasksCreated", "ColdStart"] {
        assert!(found.iter().any(|m| m.name == name), "no {name}: {found:?}");
    }
    let webhook: Vec<&Vec<String>> = found.iter().filter(|m| m.name == "WebhookEvents").map(|m| &m.dimensions).collect();
    assert!(webhook.contains(&&vec!["service".to_owned(), "type".to_owned(), "outcome".to_owned()]), "{webhook:?}");
    assert!(webhook.contains(&&vec!["service".to_owned(), "outcome".to_owned()]), "the alarm's stream: {webhook:?}");
    let all_kinds = found.iter().find(|m| m.name == "OrdersRefunded" && m.dimensions == ["service"]).expect("the alarm's stream");
    assert_eq!(all_kinds.value, json!(1));
    for metric in &found {
        for value in &metric.values {
            let value = value.as_str().unwrap_or_default();
            assert!(!value.contains('@') && uuid::Uuid::parse_str(value).is_err(), "{}: an unbounded dimension value {value}", metric.name);
        }
    }
}

/// In Lambda the runtime sets `_X_AMZN_TRACE_ID` for each invocation; the AWS SDK's
/// recursion-detection interceptor (active where `AWS_LAMBDA_FUNCTION_NAME` is set)
/// passes it on every call, so X-Ray joins the
/// function's segment to DynamoDB's, SQS's and SES's.
#[tokio::test]
async fn aws_calls_carry_the_invocations_trace_header() {
    let trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    // SAFETY: this test's process (nextest runs one per test) has no other thread
    // reading the environment yet.
    unsafe {
        std::env::set_var("AWS_LAMBDA_FUNCTION_NAME", "saas-auth");
        std::env::set_var("_X_AMZN_TRACE_ID", trace);
    }
    let sdk = api_tests::sdk_config().await;
    let headers = api_tests::RecordedHeader::new("x-amzn-trace-id");
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk).interceptor(headers.clone()).build();
    let store = adapters::store::Store::new(aws_sdk_dynamodb::Client::from_conf(config), "no-such-table");
    let _ = store.account("a").await;
    let seen = headers.take();
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|h| h.as_deref() == Some(trace)), "{seen:?}");
}

/// A free petition checkout, written settled with its petition in one transaction, is
/// counted as an order opened and fulfilled (its 0 cents add nothing to the sums).
#[tokio::test]
async fn a_free_checkout_is_counted_as_opened_and_fulfilled() {
    let logs = install_log_capture();
    let app = petition_app().await;
    let ada = app.register(&unique_email()).await;
    let free = json!({"template_id": "family-petition", "plan_id": "family-self-serve", "addon_benefit_ids": []});
    let reply = app.post("/v1/petitions/initiate-checkout", &free, Some(&ada.access_token)).await;
    assert_eq!((reply.status, &reply.body["total_cents"]), (200, &json!(0)), "{}", reply.body);
    let found = metrics(&logs.take());
    for (name, value) in [("OrdersOpened", 1), ("OrdersFulfilled", 1)] {
        let counted: Vec<_> =
            found.iter().filter(|m| m.name == name && m.values.get(1).is_some_and(|v| v == "petition_checkout")).collect();
        assert_eq!(counted.iter().map(|m| m.value.clone()).collect::<Vec<_>>(), [json!(value)], "{name}: {found:?}");
    }
}
