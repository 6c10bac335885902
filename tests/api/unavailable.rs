//! A dependency that is down answers 503 `service_unavailable` with `Retry-After`
//! (SPEC section 4), never an opaque 500: DynamoDB, Stripe and the OpenID provider
//! unreachable after their clients' own retries.

use api_tests::{Reply, TestApp, spawn_app, spawn_app_with, test_config, unique_email};
use serde_json::json;
use tower::ServiceExt;

/// An address nothing listens on (bound, then released).
fn dead_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

fn assert_unavailable(reply: &Reply) {
    reply.assert_error(503, "service_unavailable");
    assert!(reply.body["message"].as_str().unwrap().contains("try again"), "{}", reply.body);
}

async fn send(router: axum::Router, request: axum::http::Request<axum::body::Body>) -> (u16, Option<String>, serde_json::Value) {
    let response = router.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, retry_after, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn dynamodb_unreachable_is_503_with_retry_after() {
    let sdk = adapters::aws::aws_config_loader()
        .endpoint_url(dead_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await;
    let state = app::AppState::new(test_config("no-such-table"), &sdk);
    let body = json!({"email": unique_email(), "password": api_tests::PASSWORD, "name": "Ada"}).to_string();
    let request = axum::http::Request::post("/v1/auth/register").header("content-type", "application/json").body(body.into()).unwrap();
    let (status, retry_after, body) = send(local::app(state.clone()), request).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("service_unavailable")), "{body}");
    assert_eq!(retry_after.as_deref(), Some("2"));
    let (status, retry_after, _) =
        send(local::app(state), axum::http::Request::get("/v1/billing/plans").body(Default::default()).unwrap()).await;
    assert_eq!((status, retry_after.as_deref()), (503, Some("2")));
}

#[tokio::test]
async fn stripe_unreachable_is_503_and_changes_nothing() {
    let dead = dead_endpoint();
    let app: TestApp = spawn_app_with(|config| config.stripe.api_base = dead).await;
    app.seed_billing_catalogue().await;
    let ada = app.register(&unique_email()).await;
    let reply = app.post("/v1/billing/checkout-session", &json!({"plan": "pro", "seats": 2}), Some(&ada.access_token)).await;
    assert_unavailable(&reply);
    let account = app.store().account(&ada.account_id).await.unwrap().unwrap();
    assert_eq!(account.stripe_customer_id, None, "nothing recorded");
}

#[tokio::test]
async fn stripe_answering_500_is_503() {
    let app = spawn_app().await;
    app.seed_billing_catalogue().await;
    let ada = app.register(&unique_email()).await;
    app.stripe.fail_everything(true);
    let reply = app.post("/v1/billing/checkout-session", &json!({"plan": "pro", "seats": 2}), Some(&ada.access_token)).await;
    assert_unavailable(&reply);
    app.stripe.fail_everything(false);
    let reply = app.post("/v1/billing/checkout-session", &json!({"plan": "pro", "seats": 2}), Some(&ada.access_token)).await;
    assert_eq!(reply.status, 200, "a retry after the outage goes through: {}", reply.body);
}

#[tokio::test]
async fn the_openid_provider_unreachable_is_503() {
    let dead = dead_endpoint();
    let app = spawn_app_with(|config| config.google.issuer = dead).await;
    let reply = app.get(&format!("/v1/auth/google/authorize?redirect_uri={}", api_tests::OAUTH_REDIRECT_URI), None).await;
    assert_unavailable(&reply);
}
