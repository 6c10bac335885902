//! async-stripe's requests sent over reqwest, through the crate's `StripeClient`
//! extension point. async-stripe's own hyper client parses every error answer into its
//! full `ApiErrors` (with the PaymentIntent, Charge, Source, ... it may carry): about
//! 3 MiB of generated deserializers in each function that calls Stripe. This one keeps
//! the same protocol (base URL + `/v1`, bearer key, pinned `Stripe-Version`, form
//! bodies, the request's idempotency key and retry strategy) and reads only an error's
//! type, code and message.

use std::time::Duration;

use bytes::Bytes;
use secrecy::{ExposeSecret, SecretString};
use stripe_client_core::{CustomizedStripeRequest, Outcome, RequestBuilder, RequestStrategy, StripeClient, StripeClientErr, StripeMethod};

/// Per attempt, unless the request sets its own.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Waits for a concurrent request with the same idempotency key (growing each time).
const KEY_IN_USE_WAIT: Duration = Duration::from_millis(100);
const KEY_IN_USE_RETRIES: u32 = 5;

pub struct StripeHttp {
    http: reqwest::Client,
    api_base: String,
    secret_key: SecretString,
}

#[derive(Debug, thiserror::Error)]
pub enum StripeFailure {
    #[error("Stripe answered {status} ({kind}, code {code}): {message}")]
    Api { status: u16, kind: String, code: String, message: String },
    #[error("sending the request: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("reading the answer: {0}")]
    Unreadable(String),
}

impl StripeClientErr for StripeFailure {
    fn deserialize_err(msg: impl std::fmt::Display) -> Self {
        StripeFailure::Unreadable(msg.to_string())
    }
}

/// Why an attempt failed, as the retry strategy needs it.
struct FailedAttempt {
    status: Option<u16>,
    should_retry: Option<bool>,
    failure: StripeFailure,
}

impl FailedAttempt {
    fn is_key_in_use(&self) -> bool {
        matches!(&self.failure, StripeFailure::Api { status: 409, code, .. } if code == "idempotency_key_in_use")
    }
}

impl StripeHttp {
    pub fn new(api_base: &str, secret_key: SecretString) -> Result<Self, reqwest::Error> {
        crate::install_tls_provider();
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
        Ok(StripeHttp { http, api_base: api_base.trim_end_matches('/').to_owned(), secret_key })
    }

    async fn attempt(&self, request: &RequestBuilder, idempotency_key: Option<&str>, timeout: Duration) -> Result<Bytes, FailedAttempt> {
        let method = match request.method {
            StripeMethod::Get => reqwest::Method::GET,
            StripeMethod::Post => reqwest::Method::POST,
            StripeMethod::Delete => reqwest::Method::DELETE,
        };
        let mut url = format!("{}/v1{}", self.api_base, request.path);
        if let Some(query) = &request.query {
            url = format!("{url}?{query}");
        }
        let mut builder = self
            .http
            .request(method, url)
            .timeout(timeout)
            .bearer_auth(self.secret_key.expose_secret())
            .header("stripe-version", stripe_shared::version::VERSION.as_str());
        if let Some(key) = idempotency_key {
            builder = builder.header("idempotency-key", key);
        }
        if let Some(body) = &request.body {
            builder = builder.header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(body.clone());
        }
        let transport = |failure: reqwest::Error| FailedAttempt { status: None, should_retry: None, failure: failure.into() };
        let response = builder.send().await.map_err(transport)?;
        let status = response.status();
        let should_retry = response.headers().get("stripe-should-retry").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        let body = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            return Ok(body);
        }
        Err(FailedAttempt { status: Some(status.as_u16()), should_retry, failure: api_error(status.as_u16(), &body) })
    }
}

impl StripeClient for StripeHttp {
    type Err = StripeFailure;

    async fn execute(&self, request: CustomizedStripeRequest) -> Result<Bytes, StripeFailure> {
        let (request, overrides) = request.into_pieces();
        let strategy = overrides.request_strategy.unwrap_or(RequestStrategy::Once);
        let timeout = overrides.timeout.unwrap_or(TIMEOUT);
        // One key for every attempt, so a retry cannot do the work twice.
        let idempotency_key = strategy.get_key();
        let mut attempts = 0;
        let mut in_use_waits = 0;
        let mut last: Option<FailedAttempt> = None;
        loop {
            let status = last.as_ref().and_then(|l| l.status);
            let should_retry = last.as_ref().and_then(|l| l.should_retry);
            match strategy.test(status, should_retry, attempts) {
                Outcome::Stop => {
                    return Err(last.map_or_else(|| StripeFailure::Unreadable("no attempt was allowed".into()), |l| l.failure));
                }
                Outcome::Continue(Some(delay)) => tokio::time::sleep(delay).await,
                Outcome::Continue(None) => {}
            }
            attempts += 1;
            match self.attempt(&request, idempotency_key.as_ref().map(|k| k.as_str()), timeout).await {
                Ok(body) => return Ok(body),
                // Another request with this key is still in flight (Stripe answers 409
                // `idempotency_key_in_use`): wait for it, then get its answer replayed.
                Err(failed) if failed.is_key_in_use() && in_use_waits < KEY_IN_USE_RETRIES => {
                    in_use_waits += 1;
                    attempts -= 1; // waiting for the other request is not an attempt of ours
                    tracing::warn!(path = %request.path, in_use_waits, "idempotency key in use; waiting");
                    tokio::time::sleep(KEY_IN_USE_WAIT * in_use_waits).await;
                }
                Err(failed) => {
                    tracing::warn!(path = %request.path, status = failed.status, attempts, "Stripe request failed");
                    last = Some(failed);
                }
            }
        }
    }
}

/// Stripe's error body: `{"error": {"type": ..., "code": ..., "message": ...}}`.
fn api_error(status: u16, body: &[u8]) -> StripeFailure {
    #[derive(miniserde::Deserialize)]
    struct ErrorBody {
        error: ErrorDetail,
    }
    #[derive(miniserde::Deserialize)]
    struct ErrorDetail {
        #[serde(rename = "type")]
        kind: Option<String>,
        code: Option<String>,
        message: Option<String>,
    }
    let detail = std::str::from_utf8(body).ok().and_then(|text| miniserde::json::from_str::<ErrorBody>(text).ok()).map(|b| b.error);
    let detail = detail.unwrap_or(ErrorDetail { kind: None, code: None, message: None });
    StripeFailure::Api {
        status,
        kind: detail.kind.unwrap_or_else(|| "unknown".into()),
        code: detail.code.unwrap_or_else(|| "none".into()),
        message: detail.message.unwrap_or_default(),
    }
}
