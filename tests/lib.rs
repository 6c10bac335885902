//! The test harness: `spawn_app()` gives each test its own DynamoDB table on the
//! local AWS emulator (started by `infra/test`) and serves the merged router of every
//! function on a random port. `TEST_LOG=1` prints the app's logs.

use std::sync::LazyLock;

use adapters::config::Config;
use adapters::store::Store;
use app::AppState;
use serde_json::Value;

pub mod contract;
pub mod fault_proxy;
pub mod stripe_fake;

pub const EMAIL_FROM: &str = "no-reply@example.com";
pub const JWT_SECRET: &str = "test-secret-0123456789-0123456789-abcdef";
pub const JWT_ISSUER: &str = "saas-backend";
pub const JWT_AUDIENCE: &str = "saas-backend-api";
pub const PASSWORD: &str = "correct horse 9";
pub const OAUTH_REDIRECT_URI: &str = "http://app.test/oauth/callback";
/// The clients registered at the local OpenID provider (infra/oidc/server.mjs).
pub const GOOGLE_CLIENT: (&str, &str) = ("google-test-client", "google-test-secret");
pub const MICROSOFT_CLIENT: (&str, &str) = ("microsoft-test-client", "microsoft-test-secret");

static TRACING: LazyLock<()> = LazyLock::new(|| {
    adapters::install_tls_provider();
    if std::env::var("TEST_LOG").is_ok() {
        web::telemetry::init("tests");
    }
});

pub struct TestApp {
    pub stripe: stripe_fake::StripeFake,
    pub address: String,
    pub http: reqwest::Client,
    pub state: AppState,
    pub endpoint: String,
    /// The test's own task queue (its DLQ is `<name>-dlq`).
    pub queue_url: String,
}

pub fn emulator_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL is not set: run the tests through infra/test, which starts the emulator")
}

/// The configuration a test app runs with, for a given table.
pub fn test_config(table: &str) -> Config {
    let table = table.to_owned();
    Config::from_lookup(move |name| match name {
        "TABLE_NAME" => Some(table.clone()),
        "EMAIL_FROM" => Some(EMAIL_FROM.into()),
        "JWT_SECRET" => Some(JWT_SECRET.into()),
        "JWT_ISSUER" => Some(JWT_ISSUER.into()),
        "JWT_AUDIENCE" => Some(JWT_AUDIENCE.into()),
        "APP_BASE_URL" => Some("http://app.test".into()),
        "GOOGLE_CLIENT_ID" => Some(GOOGLE_CLIENT.0.into()),
        "GOOGLE_CLIENT_SECRET" => Some(GOOGLE_CLIENT.1.into()),
        "MICROSOFT_CLIENT_ID" => Some(MICROSOFT_CLIENT.0.into()),
        "MICROSOFT_CLIENT_SECRET" => Some(MICROSOFT_CLIENT.1.into()),
        "GOOGLE_ISSUER" => std::env::var("OIDC_ISSUER_URL").ok(),
        // Discovery as Microsoft Entra's `common` endpoint answers it (templated issuer).
        "MICROSOFT_ISSUER" => std::env::var("OIDC_ENTRA_ISSUER_URL").ok(),
        "OAUTH_REDIRECT_ALLOWLIST" => Some(format!("{OAUTH_REDIRECT_URI},http://app.test/other")),
        _ => None,
    })
    .expect("test configuration")
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    // SAFETY-free defaults: static credentials and region unless the caller set them.
    adapters::aws::aws_config_loader()
        .endpoint_url(emulator_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await
}

/// A fresh table and a served app for one test.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// `spawn_app` with the configuration adjusted first (e.g. to make SES refuse mail).
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    LazyLock::force(&TRACING);
    let sdk = sdk_config().await;
    let table = format!("test-{}", uuid::Uuid::new_v4());
    let created = local::setup::ensure_resources(&sdk, &table, &table, EMAIL_FROM).await.expect("creating test resources");
    let stripe = stripe_fake::StripeFake::start().await;
    let mut config = test_config(&table);
    config.stripe.secret_key = Some(stripe_fake::SECRET_KEY.into());
    config.stripe.webhook_secret = Some(stripe_fake::WEBHOOK_SECRET.into());
    config.stripe.api_base = stripe.uri();
    config.task_queue_url = Some(created.task_queue_url.clone());
    adjust(&mut config);
    let state = AppState::new(config, &sdk);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    stripe.webhooks.deliver_to(format!("{address}/webhooks/stripe"));
    let app = local::app(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    TestApp { stripe, address, http: reqwest::Client::new(), state, endpoint: emulator_endpoint(), queue_url: created.task_queue_url }
}

/// One header of every request a client sends, in order, recorded by an SDK
/// interceptor on every attempt (a retry is a round trip too).
#[derive(Clone, Debug)]
pub struct RecordedHeader {
    header: &'static str,
    seen: std::sync::Arc<std::sync::Mutex<Vec<Option<String>>>>,
}

impl RecordedHeader {
    pub fn new(header: &'static str) -> RecordedHeader {
        RecordedHeader { header, seen: std::sync::Arc::default() }
    }

    /// The values since the last `take` (and forgets them).
    pub fn take(&self) -> Vec<Option<String>> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

impl aws_sdk_dynamodb::config::Intercept for RecordedHeader {
    fn name(&self) -> &'static str {
        "test-header-recorder"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.seen.lock().unwrap().push(context.request().headers().get(self.header).map(str::to_owned));
        Ok(())
    }
}

/// The DynamoDB operations a client sent, in order (`X-Amz-Target`'s operation name,
/// e.g. `GetItem`).
#[derive(Clone, Debug)]
pub struct DynamoCalls(RecordedHeader);

impl Default for DynamoCalls {
    fn default() -> Self {
        DynamoCalls(RecordedHeader::new("x-amz-target"))
    }
}

impl DynamoCalls {
    /// The calls since the last `take` (and forgets them).
    pub fn take(&self) -> Vec<String> {
        let targets = self.0.take().into_iter().map(|t| t.unwrap_or_else(|| "unknown".to_owned()));
        targets.map(|t| t.rsplit('.').next().unwrap_or(&t).to_owned()).collect()
    }
}

/// `spawn_app`, with every DynamoDB call of the app counted (`DynamoCalls::take`): the
/// round trips a request makes are pinned by tests, so a change that adds one fails.
pub async fn spawn_app_counting() -> (TestApp, DynamoCalls) {
    spawn_app_counting_with(|_| {}).await
}

/// `spawn_app_counting` with the configuration adjusted first.
pub async fn spawn_app_counting_with(adjust: impl FnOnce(&mut Config)) -> (TestApp, DynamoCalls) {
    let mut app = spawn_app_with(adjust).await;
    let calls = DynamoCalls::default();
    let sdk = sdk_config().await;
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk).interceptor(calls.0.clone()).build();
    let mut state = app.state.clone();
    state.store = Store::new(aws_sdk_dynamodb::Client::from_conf(config), state.config.table_name.clone());
    serve(&mut app, state).await;
    (app, calls)
}

/// Serves `state` on a new port as the test's app (the Stripe fake delivers there).
async fn serve(app: &mut TestApp, state: AppState) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    app.address = format!("http://{}", listener.local_addr().unwrap());
    app.stripe.webhooks.deliver_to(format!("{}/webhooks/stripe", app.address));
    app.state = state.clone();
    let router = local::app(state);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
}

/// `spawn_app`, with the app's AWS calls going through a fault proxy (off until the
/// test switches it on) and the SDK's retries quick (10 ms initial backoff), so a test
/// under faults takes seconds.
pub async fn spawn_app_under_faults(every: u64) -> (TestApp, fault_proxy::FaultProxy) {
    let proxy = fault_proxy::FaultProxy::start(emulator_endpoint(), every).await;
    let mut app = spawn_app().await;
    let sdk = adapters::aws::aws_config_loader()
        .endpoint_url(&proxy.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "tests"))
        .retry_config(aws_config::retry::RetryConfig::standard().with_initial_backoff(std::time::Duration::from_millis(10)))
        .load()
        .await;
    let state = AppState::new((*app.state.config).clone(), &sdk);
    serve(&mut app, state).await;
    (app, proxy)
}

/// A response's status and JSON body (Null when the body is not JSON).
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub async fn from(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        Reply { status, headers, body: serde_json::from_str(&text).unwrap_or(Value::Null) }
    }

    /// Asserts the SPEC error body: status, stable `error` code and a `message`.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.body["error"], code, "body: {}", self.body);
        assert!(self.body["message"].as_str().is_some_and(|m| !m.is_empty()), "body: {}", self.body);
    }
}

/// A signed-up user with their tokens.
pub struct Session {
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
    pub user_id: String,
    pub account_id: String,
}

impl TestApp {
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    pub async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> Reply {
        self.send(reqwest::Method::POST, path, Some(body), token).await
    }

    /// A POST without a body, for the operations that document none.
    pub async fn post_empty(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(reqwest::Method::POST, path, None, token).await
    }

    pub async fn patch(&self, path: &str, body: &Value, token: &str) -> Reply {
        self.send(reqwest::Method::PATCH, path, Some(body), Some(token)).await
    }

    pub async fn put(&self, path: &str, body: &Value, token: &str) -> Reply {
        self.send(reqwest::Method::PUT, path, Some(body), Some(token)).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(reqwest::Method::GET, path, None, token).await
    }

    /// Sends a request with an optional JSON body. A body the app accepts (2xx) must
    /// be one the published OpenAPI document allows (`contract`), so the suite's own
    /// requests check the document's request schemas.
    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>, token: Option<&str>) -> Reply {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.address));
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let reply = Reply::from(request.send().await.unwrap()).await;
        if (200..300).contains(&reply.status) {
            contract::assert_documented_request(method.as_str(), path, body);
        }
        reply
    }

    /// Sends a raw body with a content type (for malformed-input tests).
    pub async fn post_raw(&self, path: &str, content_type: &str, body: &str) -> Reply {
        let request = self.http.post(format!("{}{path}", self.address)).header("content-type", content_type).body(body.to_owned());
        Reply::from(request.send().await.unwrap()).await
    }

    pub async fn register(&self, email: &str) -> Session {
        let reply = self.post("/v1/auth/register", &serde_json::json!({"email": email, "password": PASSWORD, "name": "Ada"}), None).await;
        assert_eq!(reply.status, 201, "register: {}", reply.body);
        Session::from_auth_reply(email, &reply)
    }

    /// Mail the emulator's SES accepted for `to`, oldest first: (subject, body).
    pub async fn emails_to(&self, to: &str) -> Vec<(String, String)> {
        let data: Value = self.http.get(format!("{}/moto-api/data.json", self.endpoint)).send().await.unwrap().json().await.unwrap();
        data["ses"]["Message"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["destinations"]["ToAddresses"].as_array().is_some_and(|a| a.iter().any(|d| d == to)))
            .map(|m| (m["subject"].as_str().unwrap_or_default().to_owned(), m["body"].as_str().unwrap_or_default().to_owned()))
            .collect()
    }

    /// Every item in the test's table (tests may scan; request paths never do).
    pub async fn all_items(&self) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let out = self.store().client().scan().table_name(self.store().table()).send().await.unwrap();
        out.items.unwrap_or_default()
    }
}

impl Session {
    /// The session a register or login answer gives (tokens and the user).
    pub fn from_auth_reply(email: &str, reply: &Reply) -> Session {
        Session {
            email: email.to_owned(),
            access_token: reply.body["access_token"].as_str().unwrap().to_owned(),
            refresh_token: reply.body["refresh_token"].as_str().unwrap().to_owned(),
            user_id: reply.body["user"]["id"].as_str().unwrap().to_owned(),
            account_id: reply.body["user"]["account_id"].as_str().unwrap().to_owned(),
        }
    }
}

/// A unique address per test, so tests can share the emulator's mailbox.
pub fn unique_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// The `token=` query value in an emailed link.
pub fn token_in(body: &str) -> String {
    let start = body.find("token=").expect("a token link in the email") + "token=".len();
    body[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

impl TestApp {
    /// Rewrites a user's sign-up time and verification state (to move them through
    /// the verification grace period).
    pub async fn set_user_verification(
        &self,
        user_id: &str,
        created_at: chrono::DateTime<chrono::Utc>,
        verified_at: Option<chrono::DateTime<chrono::Utc>>,
    ) {
        use aws_sdk_dynamodb::types::AttributeValue;
        let verified = verified_at.map(|t| AttributeValue::S(t.to_rfc3339())).unwrap_or(AttributeValue::Null(true));
        self.store()
            .client()
            .update_item()
            .table_name(self.store().table())
            .key("pk", AttributeValue::S(format!("USER#{user_id}")))
            .key("sk", AttributeValue::S("USER".into()))
            .update_expression("SET created_at = :c, email_verified_at = :v")
            .expression_attribute_values(":c", AttributeValue::S(created_at.to_rfc3339()))
            .expression_attribute_values(":v", verified)
            .send()
            .await
            .unwrap();
    }
}

impl TestApp {
    /// Loads the billing catalogue the demo data uses (`infra/seed/billing.json`).
    pub async fn seed_billing_catalogue(&self) -> Vec<domain::billing::Plan> {
        #[derive(serde::Deserialize)]
        struct Catalogue {
            plans: Vec<domain::billing::Plan>,
        }
        let path = format!("{}/../infra/seed/billing.json", env!("CARGO_MANIFEST_DIR"));
        let catalogue: Catalogue = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for plan in &catalogue.plans {
            self.store().put_plan(plan).await.unwrap();
        }
        catalogue.plans
    }
}

/// Fails processing once, at one step, as a crash there would.
pub struct CrashOnceAt(app::webhook::Step, std::sync::atomic::AtomicUsize);

impl CrashOnceAt {
    pub fn new(step: app::webhook::Step) -> Self {
        CrashOnceAt(step, std::sync::atomic::AtomicUsize::new(0))
    }
}

impl app::webhook::FaultInjector for CrashOnceAt {
    fn after(&self, step: app::webhook::Step) -> anyhow::Result<()> {
        if step == self.0 && self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            anyhow::bail!("injected crash after {step:?}");
        }
        Ok(())
    }
}

impl TestApp {
    /// `ops ARGS...` as the binary runs it (its parser, its output), against this app's
    /// table, queue and Stripe fake; the printed output.
    pub async fn ops(&self, args: &[&str]) -> anyhow::Result<String> {
        use clap::Parser;
        let cli = local::ops::Cli::try_parse_from(std::iter::once("ops").chain(args.iter().copied()))?;
        let mut out = Vec::new();
        let ops = local::ops::Ops::with_state(sdk_config().await, self.state.clone());
        // Boxed: a command may hold the webhook's whole path, too deep a future for a test thread's stack.
        Box::pin(ops.run(cli.command, &mut out)).await?;
        Ok(String::from_utf8(out)?)
    }

    /// `ops ARGS... --json`, read.
    pub async fn ops_json(&self, args: &[&str]) -> Value {
        let args: Vec<&str> = args.iter().copied().chain(["--json"]).collect();
        let out = self.ops(&args).await.unwrap_or_else(|e| panic!("ops {args:?}: {e:#}"));
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("ops {args:?} printed no JSON ({e}): {out}"))
    }
}

impl TestApp {
    /// Loads the demo petition catalogue (`infra/seed/petitions.json`).
    pub async fn seed_petitions(&self) {
        local::seed::load_petition_catalogue(&self.state, local::seed::PETITIONS_SEED).await.expect("loading the petition catalogue");
    }

    pub async fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&sdk_config().await)
    }

    /// Runs the task worker over the test's queue until it is empty. Failed messages
    /// come back at once (visibility timeout 0), so a message that keeps failing
    /// is received until the redrive policy dead-letters it.
    pub async fn run_task_worker(&self) {
        let sqs = self.sqs().await;
        for _ in 0..50 {
            if local::worker::poll_once(&self.state, &sqs, &self.queue_url, 0).await.expect("polling the task queue") == 0 {
                return;
            }
        }
        panic!("the task queue did not drain");
    }

    /// Bodies of the messages in the test queue's DLQ.
    pub async fn dead_letters(&self) -> Vec<String> {
        let sqs = self.sqs().await;
        let dlq = sqs.get_queue_url().queue_name(format!("{}-dlq", self.store().table())).send().await.unwrap().queue_url.unwrap();
        let received = sqs.receive_message().queue_url(dlq).max_number_of_messages(10).send().await.unwrap();
        received.messages.unwrap_or_default().into_iter().filter_map(|m| m.body).collect()
    }

    /// Reports a Checkout payment of `amount_cents` for `order_id` the way Stripe
    /// does: a signed `checkout.session.completed` to the webhook, for the order's own
    /// session (`cs_test_<order>`, paid by `pi_<order>`).
    pub async fn pay_order(&self, order_id: &str, amount_cents: i64, event_id: &str) -> Reply {
        let session = self.paid_session(order_id, amount_cents, "usd");
        self.deliver_event(&stripe_fake::event(event_id, "checkout.session.completed", 1_800_000_000, session)).await
    }

    /// A completed, paid Checkout session in payment mode for `order_id` (`cs_test_<order>`,
    /// paid by `pi_<order>`), the payment recorded at the Stripe fake so it can be refunded.
    pub fn paid_session(&self, order_id: &str, amount_cents: i64, currency: &str) -> Value {
        self.stripe.charge(&format!("pi_{order_id}"), amount_cents);
        paid_session(order_id, amount_cents, currency)
    }

    /// Sends a signed webhook delivery, as Stripe does (JSON, signed now).
    pub async fn deliver_event(&self, payload: &str) -> Reply {
        let request = self
            .http
            .post(format!("{}/webhooks/stripe", self.address))
            .header("stripe-signature", stripe_fake::sign(payload, None))
            .header("content-type", "application/json")
            .body(payload.to_owned());
        Reply::from(request.send().await.unwrap()).await
    }
}

/// A completed, paid Checkout session in payment mode for `order_id`, in Stripe's shape
/// (`TestApp::paid_session` also records the payment at the fake).
fn paid_session(order_id: &str, amount_cents: i64, currency: &str) -> Value {
    let mut session = stripe_fake::fixture("checkout.session");
    session["id"] = serde_json::json!(format!("cs_test_{order_id}"));
    session["mode"] = serde_json::json!("payment");
    session["status"] = serde_json::json!("complete");
    session["payment_status"] = serde_json::json!("paid");
    session["payment_intent"] = serde_json::json!(format!("pi_{order_id}"));
    session["amount_total"] = serde_json::json!(amount_cents);
    session["currency"] = serde_json::json!(currency);
    session["metadata"] = serde_json::json!({"order_id": order_id});
    session
}

/// Log lines and metric documents written through `web::telemetry`, kept for a test
/// to read (`install_log_capture`).
#[derive(Clone, Default)]
pub struct LogCapture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl LogCapture {
    /// Every line written since the last `take`, each parsed as JSON.
    pub fn take(&self) -> Vec<Value> {
        let bytes = std::mem::take(&mut *self.0.lock().unwrap());
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("a line that is not JSON ({e}): {line}")))
            .collect()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs the functions' telemetry (logs and metrics) writing into a capture. One
/// per test process (nextest runs each test in its own).
pub fn install_log_capture() -> LogCapture {
    let capture = LogCapture::default();
    web::telemetry::init_with_writer("tests", capture.clone());
    capture
}
