//! A private table and queue on the emulator, the demo catalogues, and the merged
//! router served in-process on 127.0.0.1 (as the tests do), plus the environment a
//! function process gets for the same resources.

use std::time::Duration;

use adapters::config::Config;
use anyhow::{Context, bail};
use app::AppState;
use aws_config::{Region, SdkConfig};
use serde_json::{Value, json};

pub const EMAIL_FROM: &str = "no-reply@example.com";
pub const JWT_SECRET: &str = "bench-only-secret-0123456789-0123456789-abcdef";
pub const WEBHOOK_SECRET: &str = "whsec_bench_only";
pub const PASSWORD: &str = "correct horse 9";
pub const REDIRECT_URI: &str = "http://app.test/oauth/callback";
/// The customer of the Stripe event in `events/`.
pub const STRIPE_CUSTOMER: &str = "cus_demo";

const BILLING_SEED: &str = include_str!("../../seed/billing.json");

pub fn emulator_endpoint() -> anyhow::Result<String> {
    std::env::var("AWS_ENDPOINT_URL").context("AWS_ENDPOINT_URL is not set: run through infra/bench, which starts the emulator")
}

pub async fn sdk_config() -> anyhow::Result<SdkConfig> {
    Ok(adapters::aws::aws_config_loader()
        .endpoint_url(emulator_endpoint()?)
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "bench"))
        .load()
        .await)
}

/// The application's variables for a table and queue. `issuer` serves OpenID
/// discovery for both providers; Stripe's API base points at a closed local port, so
/// nothing can leave the machine.
pub fn app_env(table: &str, queue_url: &str, issuer: &str) -> anyhow::Result<Vec<(String, String)>> {
    let vars = [
        ("TABLE_NAME", table),
        ("TASK_QUEUE_URL", queue_url),
        ("EMAIL_FROM", EMAIL_FROM),
        ("APP_BASE_URL", "http://app.test"),
        ("JWT_SECRET", JWT_SECRET),
        ("JWT_ISSUER", "saas-backend"),
        ("JWT_AUDIENCE", "saas-backend-api"),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("STRIPE_API_BASE", "http://127.0.0.1:9"),
        ("GOOGLE_CLIENT_ID", "bench-google-client"),
        ("GOOGLE_CLIENT_SECRET", "bench-google-secret"),
        ("GOOGLE_ISSUER", issuer),
        ("MICROSOFT_CLIENT_ID", "bench-microsoft-client"),
        ("MICROSOFT_CLIENT_SECRET", "bench-microsoft-secret"),
        ("MICROSOFT_ISSUER", issuer),
        ("OAUTH_REDIRECT_ALLOWLIST", REDIRECT_URI),
        ("AWS_ENDPOINT_URL", &emulator_endpoint()?),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("RUST_LOG", "info"),
    ];
    Ok(vars.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
}

pub struct Fixture {
    pub sdk: SdkConfig,
    pub table: String,
    pub queue_url: String,
    pub env: Vec<(String, String)>,
    pub state: AppState,
    pub base: String,
    pub http: reqwest::Client,
}

#[derive(Clone, Debug)]
pub struct Session {
    pub email: String,
    pub access_token: String,
    pub account_id: String,
}

#[derive(serde::Deserialize)]
struct BillingCatalogue {
    plans: Vec<domain::billing::Plan>,
}

impl Fixture {
    /// Creates the resources, seeds both catalogues, lets `adjust` swap parts of the
    /// state (e.g. counting AWS clients), then serves `local::app` on a free port.
    pub async fn start(issuer: &str, adjust: impl FnOnce(&SdkConfig, &mut AppState)) -> anyhow::Result<Fixture> {
        adapters::install_tls_provider();
        let sdk = sdk_config().await?;
        let table = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let created = local::setup::ensure_resources(&sdk, &table, &table, EMAIL_FROM).await.context("creating the table and queue")?;
        let env = app_env(&table, &created.task_queue_url, issuer)?;
        let lookup = env.clone();
        let config = Config::from_lookup(move |name| lookup.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))?;
        let mut state = AppState::new(config, &sdk);
        local::seed::load_petition_catalogue(&state, local::seed::PETITIONS_SEED).await?;
        let billing: BillingCatalogue = serde_json::from_str(BILLING_SEED)?;
        for plan in &billing.plans {
            state.store.put_plan(plan).await?;
        }
        adjust(&sdk, &mut state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let app = local::app(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let http = reqwest::Client::builder().pool_max_idle_per_host(4).timeout(Duration::from_secs(30)).build()?;
        Ok(Fixture { sdk, table, queue_url: created.task_queue_url, env, state, base, http })
    }

    /// Sends one request; the reply's status and JSON body (Null if not JSON).
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> anyhow::Result<(u16, Value)> {
        self.call_with(method, path, token, body, &[]).await
    }

    pub async fn call_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, String)],
    ) -> anyhow::Result<(u16, Value)> {
        let method: reqwest::Method = method.parse()?;
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    pub async fn expect(&self, method: &str, path: &str, token: Option<&str>, body: Option<&Value>, status: u16) -> anyhow::Result<Value> {
        let (got, reply) = self.call(method, path, token, body).await?;
        if got != status {
            bail!("{method} {path}: expected {status}, got {got}: {reply}");
        }
        Ok(reply)
    }

    pub async fn register(&self, email: &str) -> anyhow::Result<Session> {
        let body = json!({"email": email, "password": PASSWORD, "name": "Bench"});
        let reply = self.expect("POST", "/v1/auth/register", None, Some(&body), 201).await?;
        Ok(Session {
            email: email.to_owned(),
            access_token: reply["access_token"].as_str().context("access_token")?.to_owned(),
            account_id: reply["user"]["account_id"].as_str().context("account_id")?.to_owned(),
        })
    }

    /// A zero-total petition checkout (fulfilled at once); returns the new petition's id.
    pub async fn free_petition(&self, session: &Session) -> anyhow::Result<String> {
        let before = self.petition_ids(session).await?;
        self.expect("POST", "/v1/petitions/initiate-checkout", Some(&session.access_token), Some(&free_checkout()), 200).await?;
        let after = self.petition_ids(session).await?;
        after.into_iter().find(|id| !before.contains(id)).context("the checkout created no petition")
    }

    pub async fn petition_ids(&self, session: &Session) -> anyhow::Result<Vec<String>> {
        let list = self.expect("GET", "/v1/petitions", Some(&session.access_token), None, 200).await?;
        Ok(list.as_array().into_iter().flatten().filter_map(|p| p["id"].as_str().map(str::to_owned)).collect())
    }

    /// Receives and deletes every message on the task queue; returns their bodies.
    pub async fn take_queue(&self) -> anyhow::Result<Vec<String>> {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        let mut bodies = Vec::new();
        loop {
            let received =
                sqs.receive_message().queue_url(&self.queue_url).max_number_of_messages(10).visibility_timeout(30).send().await?;
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                return Ok(bodies);
            }
            for message in messages {
                if let Some(handle) = &message.receipt_handle {
                    sqs.delete_message().queue_url(&self.queue_url).receipt_handle(handle).send().await?;
                }
                bodies.extend(message.body);
            }
        }
    }

    /// Runs the task worker over the queue until it is empty (tasks get created).
    pub async fn drain_worker(&self) -> anyhow::Result<()> {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        for _ in 0..100 {
            if local::worker::poll_once(&self.state, &sqs, &self.queue_url, 0).await? == 0 {
                return Ok(());
            }
        }
        bail!("the task queue did not drain")
    }

    /// Attaches the Stripe customer of the event in `events/` to an account.
    pub async fn attach_stripe_customer(&self, session: &Session) -> anyhow::Result<()> {
        self.state.store.set_stripe_customer_once(&session.account_id, STRIPE_CUSTOMER).await?;
        Ok(())
    }
}

pub fn unique_email(prefix: &str) -> String {
    format!("{prefix}-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// The zero-total plan of the demo catalogue: fulfilled at once, no Stripe call.
pub fn free_checkout() -> Value {
    json!({"template_id": "family-petition", "plan_id": "family-self-serve"})
}

/// The Stripe event of `events/stripe-webhook-subscription-updated.json` with a fresh
/// id and `created`, and its `Stripe-Signature` header, signed as Stripe does.
pub fn stripe_event() -> anyhow::Result<(String, String)> {
    let file: Value = serde_json::from_str(include_str!("../../../events/stripe-webhook-subscription-updated.json"))?;
    let mut event: Value = serde_json::from_str(file["body"].as_str().context("the event file has no body")?)?;
    event["id"] = json!(format!("evt_bench_{}", uuid::Uuid::new_v4().simple()));
    event["created"] = json!(chrono::Utc::now().timestamp());
    let payload = event.to_string();
    let signature = stripe_signing::Webhook::generate_test_header(&payload, WEBHOOK_SECRET, None);
    Ok((payload, signature))
}
