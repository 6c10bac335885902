//! What an operator sees: JSON log lines with Powertools for AWS Lambda's keys, and the
//! metrics of `app::metrics` as CloudWatch Embedded Metric Format documents, flushed
//! once per invocation.
//!
//! Every line carries `level`, `timestamp`, `message` and `service` (the route group);
//! every line of an invocation also carries the invocation span's `cold_start`,
//! `function_name`, `function_memory_size`, `function_arn`, `function_request_id`,
//! `xray_trace_id` and `correlation_id` (API Gateway's request id, the Stripe event id,
//! the SQS message id or the EventBridge event id), and after authentication
//! `account_id` and `user_id`. Level: `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging
//! controls), else `RUST_LOG` (`target=level` directives), else `info`.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::Span;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The CloudWatch namespace of the metrics, unless `METRICS_NAMESPACE` names another.
pub const DEFAULT_METRICS_NAMESPACE: &str = "ServerlessSaas";

/// Where metric documents go: where the log lines go (stdout in Lambda; a buffer in tests).
type Sink = Box<dyn Fn(&[u8]) + Send + Sync>;

struct Telemetry {
    metrics: &'static metrics_cloudwatch_embedded::Collector,
    sink: Sink,
}

static TELEMETRY: OnceLock<Telemetry> = OnceLock::new();
static COLD: AtomicBool = AtomicBool::new(true);

/// Installs logging and metrics for `service` (the function's route group), writing
/// to stdout. Later calls are no-ops.
pub fn init(service: &'static str) {
    init_with_writer(service, std::io::stdout);
}

/// [`init`] with another destination (tests read the lines back).
pub fn init_with_writer<W>(service: &'static str, make_writer: W)
where
    W: for<'a> MakeWriter<'a> + Clone + Send + Sync + 'static,
{
    let metrics_writer = make_writer.clone();
    let sink: Sink = Box::new(move |documents| {
        let _ = metrics_writer.make_writer().write_all(documents);
    });
    let mut layer = json_subscriber::JsonLayer::new(make_writer);
    layer.with_level("level");
    layer.with_timer("timestamp", tracing_subscriber::fmt::time::SystemTime);
    layer.with_flattened_event();
    layer.with_top_level_flattened_span_list();
    layer.add_static_field("service", serde_json::json!(service));
    if tracing_subscriber::registry().with(layer).with(filter()).try_init().is_err() {
        return;
    }
    let namespace = std::env::var("METRICS_NAMESPACE").unwrap_or_else(|_| DEFAULT_METRICS_NAMESPACE.to_owned());
    let metrics = metrics_cloudwatch_embedded::Builder::new().cloudwatch_namespace(namespace).with_dimension("service", service).init();
    match metrics {
        Ok(metrics) => {
            app::metrics::describe();
            let _ = TELEMETRY.set(Telemetry { metrics, sink });
        }
        Err(err) => tracing::error!(error = %err, "metrics recorder not installed"),
    }
}

/// `AWS_LAMBDA_LOG_LEVEL` (TRACE, DEBUG, INFO, WARN, ERROR, FATAL), else `RUST_LOG` as
/// `target=level` directives (`info`, `app=debug,info`); `Targets` rather than
/// `EnvFilter`, whose span-field matching needs a regex engine in every binary.
fn filter() -> Targets {
    let lambda = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().map(|level| match level.to_ascii_uppercase().as_str() {
        "FATAL" => "error".to_owned(),
        other => other.to_ascii_lowercase(),
    });
    lambda
        .or_else(|| std::env::var("RUST_LOG").ok())
        .and_then(|spec| spec.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}

/// The first invocation of this process is the cold start: true once, then false.
/// Counts `ColdStart` (dimensions `service`, `function_name`).
fn take_cold_start(function_name: &str) -> bool {
    let cold = COLD.swap(false, Ordering::Relaxed);
    if cold {
        metrics::counter!("ColdStart", "function_name" => function_name.to_owned()).increment(1);
    }
    cold
}

/// Writes the invocation's metrics (one EMF document per dimension set) and resets them.
pub fn flush_metrics() {
    if let Some(telemetry) = TELEMETRY.get() {
        let mut documents = Vec::new();
        match telemetry.metrics.flush(&mut documents) {
            Ok(()) if !documents.is_empty() => (telemetry.sink)(&documents),
            Ok(()) => {}
            Err(err) => tracing::warn!(error = %err, "metrics not written"),
        }
    }
}

/// What Lambda says about one invocation (from its context), or its local stand-in.
pub struct Invocation<'a> {
    pub request_id: &'a str,
    pub function_arn: &'a str,
    /// The `X-Amzn-Trace-Id` header Lambda passes (`Root=...;Parent=...;Sampled=...`).
    pub trace_header: Option<&'a str>,
}

/// This process's function, as Lambda's environment names it (`None` locally).
struct Function {
    name: String,
    memory_mb: u32,
}

fn function() -> Option<&'static Function> {
    static FUNCTION: OnceLock<Option<Function>> = OnceLock::new();
    FUNCTION
        .get_or_init(|| {
            let name = std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok()?;
            let memory_mb = std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").ok().and_then(|m| m.parse().ok()).unwrap_or(0);
            Some(Function { name, memory_mb })
        })
        .as_ref()
}

/// Whether this process runs in Lambda (rather than the local server or a test).
pub fn in_lambda() -> bool {
    function().is_some()
}

/// The span every line of one invocation is logged in. `correlation_id` joins it to
/// the caller's record of the request; `local_name` is the function name outside
/// Lambda (the route group; the local server records it once routed).
/// `None` when each item of the invocation gets its own (an SQS message's id).
pub fn invocation_span(invocation: &Invocation<'_>, correlation_id: Option<&str>, local_name: Option<&str>) -> Span {
    let (function_name, memory) = match function() {
        Some(f) => (Some(f.name.as_str()), f.memory_mb),
        None => (local_name, 0),
    };
    let xray_trace_id = invocation.trace_header.and_then(trace_root).map(str::to_owned).unwrap_or_else(local_trace_id);
    let span = tracing::info_span!(
        "invocation",
        cold_start = take_cold_start(function_name.unwrap_or("local")),
        function_name = tracing::field::Empty,
        function_memory_size = memory,
        function_arn = invocation.function_arn,
        function_request_id = invocation.request_id,
        xray_trace_id,
        correlation_id = tracing::field::Empty,
        account_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
    );
    if let Some(name) = function_name {
        span.record("function_name", name);
    }
    if let Some(id) = correlation_id {
        span.record("correlation_id", id);
    }
    span
}

/// The local server's route group, once a request is routed (in Lambda the function's
/// own name is already there).
pub fn record_local_function(name: &str) {
    if !in_lambda() {
        Span::current().record("function_name", name);
    }
}

/// Runs one non-HTTP invocation (SQS batch, scheduled event) in its span and flushes
/// its metrics after.
pub async fn invocation<T>(
    context: &lambda_http::Context,
    correlation_id: Option<&str>,
    local_name: &str,
    work: impl Future<Output = T>,
) -> T {
    use tracing::Instrument;
    let invocation = Invocation {
        request_id: &context.request_id,
        function_arn: &context.invoked_function_arn,
        trace_header: context.xray_trace_id.as_deref(),
    };
    let output = work.instrument(invocation_span(&invocation, correlation_id, Some(local_name))).await;
    flush_metrics();
    output
}

/// A local stand-in for Lambda's function ARN.
pub fn local_function_arn(function_name: &str) -> String {
    format!("arn:aws:lambda:local:000000000000:function:{function_name}")
}

/// Adds who is calling to the current invocation's lines (ids only: never an email,
/// a name or a token).
pub fn record_caller(account_id: &str, user_id: &str) {
    let span = Span::current();
    span.record("account_id", account_id);
    span.record("user_id", user_id);
}

/// The `Root=` part of an X-Ray trace header.
fn trace_root(header: &str) -> Option<&str> {
    header.split(';').find_map(|part| part.trim().strip_prefix("Root="))
}

/// Outside Lambda there is no X-Ray: an id in its format (`1-<epoch hex>-<96 bits hex>`),
/// so local lines have the same keys.
fn local_trace_id() -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("1-{:08x}-{}", chrono::Utc::now().timestamp(), &random[..24])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trace_root_is_the_root_part_of_the_header() {
        let header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        assert_eq!(trace_root(header), Some("1-5759e988-bd862e3fe1be46a994272793"));
        assert_eq!(trace_root("Parent=1"), None);
        let local = local_trace_id();
        assert_eq!(local.len(), 35, "{local}");
        assert!(local.starts_with("1-"));
    }

    #[test]
    fn lambdas_log_level_wins_over_rust_log() {
        use tracing::Level;
        // SAFETY: the only test of this crate that touches the environment.
        unsafe {
            std::env::set_var("RUST_LOG", "debug");
            std::env::set_var("AWS_LAMBDA_LOG_LEVEL", "WARN");
        }
        let warn = filter();
        unsafe { std::env::set_var("AWS_LAMBDA_LOG_LEVEL", "FATAL") };
        let fatal = filter();
        unsafe { std::env::remove_var("AWS_LAMBDA_LOG_LEVEL") };
        let rust_log = filter();
        assert!(warn.would_enable("app", &Level::WARN) && !warn.would_enable("app", &Level::INFO));
        assert!(fatal.would_enable("app", &Level::ERROR) && !fatal.would_enable("app", &Level::WARN), "FATAL is tracing's ERROR");
        assert!(rust_log.would_enable("app", &Level::DEBUG), "without Lambda's level, RUST_LOG");
    }
}
