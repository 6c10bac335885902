//! A proxy between the app and the AWS emulator that injects what AWS does on a bad
//! day, by a fixed rotation over the requests it sees while switched on: DynamoDB
//! throttling (`ThrottlingException`), 500s (`InternalServerError`), transactions
//! cancelled by `TransactionConflict`, and lost answers (the write commits, the answer
//! is a 500: the SDK's retry then meets its own write); SQS 500s and lost answers.
//!
//! Lost answers are injected on single-item writes and SQS sends only: real DynamoDB
//! makes a retried `TransactWriteItems` idempotent through the `ClientRequestToken`
//! the SDK fills in, which the emulator does not honour, so a lost transaction answer
//! would test the emulator, not the app.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Throttle,
    ServerError,
    Conflict,
    LostAnswer,
}

/// What was injected, for the test's report.
#[derive(Debug, Default)]
pub struct Injected {
    pub throttles: AtomicU64,
    pub server_errors: AtomicU64,
    pub conflicts: AtomicU64,
    pub lost_answers: AtomicU64,
}

pub struct FaultProxy {
    pub endpoint: String,
    on: Arc<AtomicBool>,
    pub injected: Arc<Injected>,
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    http: reqwest::Client,
    on: Arc<AtomicBool>,
    /// Requests seen while on, per kind (see `fault_for`).
    seen: Arc<[AtomicU64; 4]>,
    every: u64,
    injected: Arc<Injected>,
}

impl FaultProxy {
    /// Serves on a free port, forwarding to `upstream`; one request in `every` is
    /// faulted while the proxy is on (off at first, so set-up runs clean).
    pub async fn start(upstream: String, every: u64) -> FaultProxy {
        adapters::install_tls_provider();
        let on = Arc::new(AtomicBool::new(false));
        let injected = Arc::new(Injected::default());
        let shared =
            Shared { upstream, http: reqwest::Client::new(), on: on.clone(), seen: Arc::default(), every, injected: injected.clone() };
        let router = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let shared = shared.clone();
            async move { shared.handle(method, uri, headers, body).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        FaultProxy { endpoint, on, injected }
    }

    pub fn faults(&self, on: bool) {
        self.on.store(on, Ordering::SeqCst);
    }
}

impl Shared {
    async fn handle(&self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let fault = self.fault_for(&target, &body);
        match fault {
            Some(Fault::Throttle) => {
                self.injected.throttles.fetch_add(1, Ordering::Relaxed);
                return aws_error(
                    StatusCode::BAD_REQUEST,
                    &target,
                    "ThrottlingException",
                    "Rate of requests exceeds the allowed throughput.",
                    None,
                );
            }
            Some(Fault::ServerError) => {
                self.injected.server_errors.fetch_add(1, Ordering::Relaxed);
                return aws_error(StatusCode::INTERNAL_SERVER_ERROR, &target, "InternalServerError", "Internal server error", None);
            }
            Some(Fault::Conflict) => {
                self.injected.conflicts.fetch_add(1, Ordering::Relaxed);
                let items = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|b| b["TransactItems"].as_array().map(Vec::len))
                    .unwrap_or(1);
                let mut reasons = vec![serde_json::json!({"Code": "None"}); items];
                reasons[items - 1] = serde_json::json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"});
                let message = "Transaction cancelled, please refer cancellation reasons for specific reasons";
                return aws_error(StatusCode::BAD_REQUEST, &target, "TransactionCanceledException", message, Some(reasons));
            }
            Some(Fault::LostAnswer) | None => {}
        }
        let mut request = self.http.request(method, format!("{}{}", self.upstream, uri.path_and_query().map_or("/", |p| p.as_str())));
        for (name, value) in &headers {
            if name != "host" && name != "content-length" {
                request = request.header(name, value);
            }
        }
        let Ok(answer) = request.body(body).send().await else {
            return StatusCode::BAD_GATEWAY.into_response();
        };
        if fault == Some(Fault::LostAnswer) {
            // The upstream did the work; the caller never hears of it.
            self.injected.lost_answers.fetch_add(1, Ordering::Relaxed);
            return aws_error(StatusCode::INTERNAL_SERVER_ERROR, &target, "InternalServerError", "Internal server error", None);
        }
        let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
        let mut response_headers = HeaderMap::new();
        for (name, value) in answer.headers() {
            if name != "content-length" && name != "transfer-encoding" {
                response_headers.insert(name.clone(), value.clone());
            }
        }
        let bytes = answer.bytes().await.unwrap_or_default();
        (status, response_headers, bytes).into_response()
    }

    /// Every `every`-th request of each kind (DynamoDB transactions, single-item writes,
    /// reads, SQS sends) while on, rotating through the faults that kind can meet.
    fn fault_for(&self, target: &str, _body: &[u8]) -> Option<Fault> {
        let operation = target.rsplit('.').next().unwrap_or_default();
        let (kind, rotation): (usize, &[Fault]) = match operation {
            _ if !self.on.load(Ordering::SeqCst) => return None,
            "SendMessageBatch" | "SendMessage" if target.starts_with("AmazonSQS.") => (0, &[Fault::ServerError, Fault::LostAnswer]),
            _ if !target.starts_with("DynamoDB_20120810.") => return None,
            "TransactWriteItems" => (1, &[Fault::Conflict, Fault::Throttle, Fault::ServerError]),
            "PutItem" | "UpdateItem" | "DeleteItem" => (2, &[Fault::LostAnswer, Fault::Throttle, Fault::ServerError]),
            _ => (3, &[Fault::Throttle, Fault::ServerError]),
        };
        let n = self.seen[kind].fetch_add(1, Ordering::SeqCst) + 1;
        n.is_multiple_of(self.every).then(|| rotation[((n / self.every) as usize) % rotation.len()])
    }
}

/// An error in the AWS JSON protocol (DynamoDB's and SQS's), as the service sends it.
fn aws_error(status: StatusCode, target: &str, code: &str, message: &str, reasons: Option<Vec<serde_json::Value>>) -> Response {
    let namespace = if target.starts_with("AmazonSQS") { "com.amazonaws.sqs" } else { "com.amazonaws.dynamodb.v20120810" };
    let mut body = serde_json::json!({"__type": format!("{namespace}#{code}"), "message": message});
    if let Some(reasons) = reasons {
        body["CancellationReasons"] = serde_json::Value::Array(reasons);
    }
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert("content-type", "application/x-amz-json-1.0".parse().unwrap());
    response.headers_mut().insert("x-amzn-errortype", code.parse().unwrap());
    response
}
