//! Cold starts as Lambda measures them, against a minimal local Lambda Runtime API.
//!
//! For each run a fresh process is spawned with `AWS_LAMBDA_RUNTIME_API` pointing here.
//! Init = process spawn → its first `GET /2018-06-01/runtime/invocation/next` (Lambda's
//! "Init Duration"). That request is answered with the event; first invocation = event
//! handed out → `POST .../invocation/{id}/response` (Lambda's "Duration" of the cold
//! invocation). Peak RSS = `VmHWM` of `/proc/<pid>/status` read before the process is
//! killed (Lambda's "Max Memory Used" is the same high-water mark).
//!
//! With a memory size, each process runs in a CPU cgroup (`cpu_share`) as Lambda runs
//! an on-demand function: a full vCPU during Init, then, from its first `GET /next`
//! (when Init ends), `memory / 1769` of one vCPU for the invocation.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::cpu_share::{self, CpuShare};
use crate::fixture::{self, Fixture};
use crate::stats;

/// What the runtime API has seen of the current run.
enum Outcome {
    Response(Instant, Bytes),
    InvocationError(Bytes),
    InitError(Bytes),
}

struct Armed {
    event: Bytes,
    request_id: String,
    next_at: Option<Instant>,
    done: Option<oneshot::Sender<Outcome>>,
    /// Where Init ends, the process's CPU drops to this share (vCPUs).
    throttle: Option<(Arc<CpuShare>, f64)>,
}

#[derive(Clone)]
struct Api {
    armed: Arc<Mutex<Option<Armed>>>,
    base: String,
}

impl Api {
    fn finish(&self, outcome: Outcome) {
        if let Some(done) = self.armed.lock().unwrap().as_mut().and_then(|a| a.done.take()) {
            let _ = done.send(outcome);
        }
    }
}

async fn next(State(api): State<Api>) -> Response {
    let handed_out = {
        let mut armed = api.armed.lock().unwrap();
        match armed.as_mut() {
            Some(run) if run.next_at.is_none() => {
                run.next_at = Some(Instant::now());
                if let Some((share, vcpus)) = run.throttle.take() {
                    share.set_vcpus(vcpus).expect("throttling the invocation");
                }
                Some((run.event.clone(), run.request_id.clone()))
            }
            _ => None,
        }
    };
    let Some((event, request_id)) = handed_out else {
        // The process asks for its second event: it is killed before one comes.
        std::future::pending::<()>().await;
        unreachable!()
    };
    let deadline = chrono::Utc::now().timestamp_millis() + 15_000;
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("lambda-runtime-aws-request-id", HeaderValue::from_str(&request_id).unwrap());
    headers.insert("lambda-runtime-deadline-ms", HeaderValue::from_str(&deadline.to_string()).unwrap());
    headers.insert("lambda-runtime-invoked-function-arn", HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:bench"));
    headers.insert("lambda-runtime-trace-id", HeaderValue::from_static("Root=1-00000000-000000000000000000000000;Sampled=0"));
    (StatusCode::OK, headers, event).into_response()
}

async fn response(State(api): State<Api>, body: Bytes) -> StatusCode {
    api.finish(Outcome::Response(Instant::now(), body));
    StatusCode::ACCEPTED
}

async fn invocation_error(State(api): State<Api>, body: Bytes) -> StatusCode {
    api.finish(Outcome::InvocationError(body));
    StatusCode::ACCEPTED
}

async fn init_error(State(api): State<Api>, body: Bytes) -> StatusCode {
    api.finish(Outcome::InitError(body));
    StatusCode::ACCEPTED
}

/// OpenID discovery for the oauth function (its authorize fetches it on first use).
async fn discovery(State(api): State<Api>) -> axum::Json<Value> {
    let base = &api.base;
    axum::Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
    }))
}

/// A Runtime API on a fresh port. Each run gets its own, so a request the previous
/// (killed) process left in flight can never take the next process's event.
async fn start_api() -> anyhow::Result<Served> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api = Api { armed: Arc::new(Mutex::new(None)), base: format!("http://{}", listener.local_addr()?) };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(invocation_error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .route("/.well-known/openid-configuration", get(discovery))
        .with_state(api.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Served { api, task })
}

/// A running Runtime API; stops listening when dropped.
struct Served {
    api: Api,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One thing to cold-start: a program and the event it gets.
pub struct Subject {
    pub name: String,
    pub kind: &'static str,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub event_file: &'static str,
    /// Extra variables (the function's own configuration).
    pub env: Vec<(String, String)>,
    /// The events of the runs, in order.
    pub events: Vec<Bytes>,
    /// The response status the event should get (API events) or None (SQS).
    pub expect_status: Option<u16>,
}

#[derive(Clone, Copy)]
struct Measurement {
    init: Duration,
    first_invocation: Duration,
    peak_rss_kb: u64,
}

/// The process being measured, killed on the way out whatever happens.
static CURRENT: Mutex<Option<Child>> = Mutex::new(None);

pub fn kill_current() {
    if let Some(mut child) = CURRENT.lock().unwrap().take() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn vm_hwm_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).context("no VmHWM")?;
    Ok(line.split_whitespace().nth(1).context("VmHWM value")?.parse()?)
}

/// The environment Lambda gives a function process, plus the function's own.
fn lambda_env(api: &Api, subject: &Subject, memory_mb: u32) -> Vec<(String, String)> {
    let runtime_api = api.base.trim_start_matches("http://").to_owned();
    let mut env = vec![
        ("PATH".to_owned(), "/usr/local/bin:/usr/bin:/bin".to_owned()),
        ("LANG".to_owned(), "C.UTF-8".to_owned()),
        ("AWS_LAMBDA_RUNTIME_API".to_owned(), runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME".to_owned(), subject.name.clone()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".to_owned(), memory_mb.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION".to_owned(), "$LATEST".to_owned()),
        ("AWS_LAMBDA_LOG_GROUP_NAME".to_owned(), format!("/aws/lambda/{}", subject.name)),
        ("AWS_LAMBDA_LOG_STREAM_NAME".to_owned(), "bench".to_owned()),
    ];
    env.extend(subject.env.iter().cloned());
    env
}

/// A memory size to run at, and the cgroup that holds the process to its CPU share.
#[derive(Clone)]
struct AtMemory {
    memory_mb: u32,
    share: Arc<CpuShare>,
}

async fn measure(subject: &Subject, event: &Bytes, log: &Path, at: Option<&AtMemory>) -> anyhow::Result<Measurement> {
    let served = start_api().await?;
    let api = &served.api;
    let (done, mut outcome) = oneshot::channel();
    if let Some(at) = at {
        at.share.set_vcpus(1.0)?; // Init: a full vCPU
    }
    let throttle = at.map(|at| (at.share.clone(), cpu_share::vcpus(at.memory_mb)));
    *api.armed.lock().unwrap() =
        Some(Armed { event: event.clone(), request_id: uuid::Uuid::new_v4().to_string(), next_at: None, done: Some(done), throttle });
    let log_file = std::fs::File::create(log)?;
    let spawned_at = Instant::now();
    let child = Command::new(&subject.program)
        .args(&subject.args)
        .env_clear()
        .envs(lambda_env(api, subject, at.map_or(256, |at| at.memory_mb)))
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .spawn()
        .with_context(|| format!("starting {}", subject.program.display()))?;
    let pid = child.id();
    *CURRENT.lock().unwrap() = Some(child);
    if let Some(at) = at {
        at.share.add(pid)?;
    }
    let try_wait = || CURRENT.lock().unwrap().as_mut().map(|c| c.try_wait()).transpose().map(Option::flatten);
    let result = async {
        let outcome = loop {
            tokio::select! {
                outcome = &mut outcome => break outcome?,
                _ = tokio::time::sleep(Duration::from_millis(2)) => {
                    if let Some(status) = try_wait()? {
                        bail!("{} exited ({status}) before answering; see {}", subject.name, log.display());
                    }
                    if spawned_at.elapsed() > Duration::from_secs(60) {
                        bail!("{} did not answer within 60 s; see {}", subject.name, log.display());
                    }
                }
            }
        };
        let peak_rss_kb = vm_hwm_kb(pid)?;
        let next_at = api.armed.lock().unwrap().as_ref().and_then(|a| a.next_at).context("no GET /next seen")?;
        match outcome {
            Outcome::Response(at, body) => {
                check_response(subject, &body)?;
                Ok(Measurement { init: next_at - spawned_at, first_invocation: at - next_at, peak_rss_kb })
            }
            Outcome::InvocationError(body) => bail!("{}: invocation error {}", subject.name, String::from_utf8_lossy(&body)),
            Outcome::InitError(body) => bail!("{}: init error {}", subject.name, String::from_utf8_lossy(&body)),
        }
    }
    .await;
    kill_current();
    *api.armed.lock().unwrap() = None;
    result
}

fn check_response(subject: &Subject, body: &[u8]) -> anyhow::Result<()> {
    let reply: Value = serde_json::from_slice(body).with_context(|| format!("{}: response is not JSON", subject.name))?;
    match subject.expect_status {
        Some(expected) => {
            let status = reply["statusCode"].as_u64().unwrap_or_default();
            if status != u64::from(expected) {
                bail!("{}: expected status {expected}, got {status}: {}", subject.name, reply["body"]);
            }
        }
        None => {
            if reply["batchItemFailures"].as_array().is_none_or(|f| !f.is_empty()) {
                bail!("{}: the batch failed: {reply}", subject.name);
            }
        }
    }
    Ok(())
}

fn read_event(root: &Path, file: &str) -> anyhow::Result<Value> {
    let path = root.join("events").join(file);
    Ok(serde_json::from_str(&std::fs::read_to_string(&path).with_context(|| path.display().to_string())?)?)
}

fn with_token(mut event: Value, token: &str) -> Value {
    event["headers"]["authorization"] = Value::String(format!("Bearer {token}"));
    event
}

fn bytes(value: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap())
}

pub struct Options {
    pub root: PathBuf,
    pub bin_dir: PathBuf,
    pub python: Option<PathBuf>,
    pub runs: usize,
    pub log_dir: PathBuf,
    /// Run as a function of this memory size (its CPU share after Init); None: the
    /// machine's full CPU, as before.
    pub memory_mb: Option<u32>,
}

/// Prepares the data every event needs, then cold-starts each subject `runs` times
/// (round-robin, after one discarded warm-up round) and prints the table.
pub async fn run(options: Options) -> anyhow::Result<()> {
    let discovery = start_api().await?; // serves OpenID discovery for the oauth function
    let fx = Fixture::start(&discovery.api.base, |_, _| {}).await?;
    let root = &options.root;
    let runs = options.runs;
    let total = runs + 1; // the first round warms the page cache and is discarded

    // Data: a user with a will; a petition with its tasks; a user holding the Stripe
    // customer; the login event's user; one fresh petition per task-worker run.
    let login_event = read_event(root, "auth-login.json")?;
    let login_body: Value = serde_json::from_str(login_event["body"].as_str().context("login body")?)?;
    let login_email = login_body["email"].as_str().context("login email")?;
    fx.register(login_email).await?;
    let owner = fx.register(&fixture::unique_email("bench-owner")).await?;
    fx.expect("POST", "/v1/wills", Some(&owner.access_token), Some(&json!({})), 201).await?;
    let petition = fx.free_petition(&owner).await?;
    fx.drain_worker().await?;
    fx.attach_stripe_customer(&owner).await?;

    let mut worker_events = Vec::new();
    let sqs_event = read_event(root, "task-worker-sqs.json")?;
    for _ in 0..total {
        let fresh = fx.free_petition(&owner).await?;
        fx.take_queue().await?; // its own messages are not what this event tests
        let mut event = sqs_event.clone();
        let record = &mut event["Records"][0];
        let mut message: Value = serde_json::from_str(record["body"].as_str().context("SQS body")?)?;
        message["petition_id"] = json!(fresh);
        record["body"] = json!(message.to_string());
        worker_events.push(bytes(&event));
    }
    let mut stripe_events = Vec::new();
    let stripe_file = read_event(root, "stripe-webhook-subscription-updated.json")?;
    for _ in 0..total {
        let (payload, signature) = fixture::stripe_event()?;
        let mut event = stripe_file.clone();
        event["body"] = json!(payload);
        event["headers"]["stripe-signature"] = json!(signature);
        stripe_events.push(bytes(&event));
    }
    let checkout = {
        let mut event = with_token(read_event(root, "petitions-initiate-checkout.json")?, &owner.access_token);
        event["body"] = json!(fixture::free_checkout().to_string());
        event
    };
    let tasks_event: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("events/tasks-petition-tasks.json"))?.replace("PETITION_ID", &petition))?;
    let same = |value: Value| vec![bytes(&value); total];
    let plans = read_event(root, "billing-plans.json")?;

    let function = |name: &str, event_file: &'static str, events: Vec<Bytes>, expect_status: Option<u16>| Subject {
        name: name.to_owned(),
        kind: "function",
        program: options.bin_dir.join(name).join("bootstrap"),
        args: vec![],
        event_file,
        env: fx.env.clone(),
        events,
        expect_status,
    };
    let mut subjects = vec![
        function("auth", "auth-login.json", same(login_event), Some(200)),
        function("oauth", "oauth-authorize.json", same(read_event(root, "oauth-authorize.json")?), Some(200)),
        function("billing", "billing-plans.json", same(plans.clone()), Some(200)),
        function("stripe-webhook", "stripe-webhook-subscription-updated.json", stripe_events, Some(200)),
        function("petitions", "petitions-initiate-checkout.json", same(checkout), Some(200)),
        function("tasks", "tasks-petition-tasks.json", same(with_token(tasks_event, &owner.access_token)), Some(200)),
        function("task-worker", "task-worker-sqs.json", worker_events, None),
        function("wills", "wills-list.json", same(with_token(read_event(root, "wills-list.json")?, &owner.access_token)), Some(200)),
        Subject { kind: "floor", env: vec![], ..function("hello", "billing-plans.json", same(plans.clone()), Some(200)) },
    ];
    std::fs::create_dir_all(&options.log_dir)?;
    if let Some(python) = &options.python {
        let script = |file: &str| root.join("infra/bench").join(file).display().to_string();
        subjects.push(Subject {
            name: "python-fastapi".into(),
            kind: "predecessor",
            program: python.clone(),
            args: vec![script("predecessor.py")],
            event_file: "billing-plans.json",
            env: fx.env.clone(),
            events: same(plans.clone()),
            expect_status: Some(200),
        });
        subjects.push(Subject {
            name: "python-bare".into(),
            kind: "floor",
            program: python.clone(),
            args: vec![script("predecessor.py"), "--bare".into()],
            event_file: "billing-plans.json",
            env: vec![],
            events: same(plans),
            expect_status: Some(200),
        });
    }

    let at = match options.memory_mb {
        Some(memory_mb) => Some(AtMemory { memory_mb, share: Arc::new(CpuShare::create("saas-bench-cold")?) }),
        None => None,
    };
    let mut results: Vec<Vec<Measurement>> = vec![Vec::new(); subjects.len()];
    for round in 0..total {
        for (i, subject) in subjects.iter().enumerate() {
            let file: String = subject.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
            let log = options.log_dir.join(format!("{file}.log"));
            let m = measure(subject, &subject.events[round], &log, at.as_ref()).await?;
            if round > 0 {
                results[i].push(m);
            }
        }
        eprintln!("cold starts: round {round}/{runs} done");
    }

    let hello = subjects.iter().position(|s| s.name == "hello").map(|i| median_ms(&results[i], |m| m.init));
    let cpu = match options.memory_mb {
        Some(mb) => format!("at {mb} MB: a full vCPU for Init, then {:.3} vCPU", cpu_share::vcpus(mb)),
        None => format!("the machine's full CPU ({} cores)", std::thread::available_parallelism().map_or(1, |n| n.get())),
    };
    println!("### Cold start {cpu}: Init Duration, first invocation, peak RSS ({runs} runs each, median; min–max)\n");
    println!("| subject | kind | event (events/) | init ms | init vs hello | first invocation ms | peak RSS MiB |");
    println!("| --- | --- | --- | ---: | ---: | ---: | ---: |");
    for (subject, ms) in subjects.iter().zip(&results) {
        let init = stats::summary(ms.iter().map(|m| m.init).collect());
        let first = stats::summary(ms.iter().map(|m| m.first_invocation).collect());
        let rss = stats::median(ms.iter().map(|m| m.peak_rss_kb as f64 / 1024.0).collect());
        let ratio = hello.map(|h| format!("{:.2}×", stats::ms(init.median) / h)).unwrap_or_default();
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.1} |",
            subject.name,
            subject.kind,
            subject.event_file,
            stats::fmt_range(&init),
            ratio,
            stats::fmt_range(&first),
            rss
        );
    }
    println!();

    if options.memory_mb.is_some() {
        return Ok(()); // Init runs unthrottled: its steps are the full-CPU table's
    }
    // Where auth's init goes: its main's steps timed in fresh processes.
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); PHASES.len()];
    for _ in 0..runs {
        for (i, d) in phases_once(&fx.env).await?.into_iter().enumerate() {
            samples[i].push(d);
        }
    }
    println!("### Where auth's init goes: the steps of its `main`, timed in-process ({runs} fresh processes, median; min–max)\n");
    println!("| step | ms |");
    println!("| --- | ---: |");
    for (phase, durations) in PHASES.iter().zip(samples) {
        println!("| {phase} | {} |", stats::fmt_range(&stats::summary(durations)));
    }
    println!();
    Ok(())
}

/// The steps of `functions/auth/src/main.rs` before `lambda_http::run`.
const PHASES: &[&str] = &[
    "`web::telemetry::init()` (JSON logs and the EMF metrics recorder)",
    "`adapters::aws::function_sdk_config()`",
    "`Config::from_env` + `AppState::new` (DynamoDB client; SES and SQS on first use; JWT keys)",
    "`auth::router` + `web::http::serve`",
    "total in `main` before polling (the rest of the table's init: exec, dynamic loading, tokio and lambda_http start)",
];

/// Runs in a fresh process (`bench-harness init-phases`): prints one line of step
/// durations in microseconds.
pub async fn init_phases() -> anyhow::Result<()> {
    let t0 = Instant::now();
    web::telemetry::init("auth");
    let t1 = Instant::now();
    let sdk = adapters::aws::function_sdk_config().await?;
    let t2 = Instant::now();
    let state = app::AppState::new(adapters::config::Config::from_env()?, &sdk);
    let t3 = Instant::now();
    let router = web::http::serve(auth::router(state));
    let t4 = Instant::now();
    drop(router);
    let us = |a: Instant, b: Instant| (b - a).as_micros().to_string();
    println!("PHASES {} {} {} {} {}", us(t0, t1), us(t1, t2), us(t2, t3), us(t3, t4), us(t0, t4));
    Ok(())
}

async fn phases_once(env: &[(String, String)]) -> anyhow::Result<Vec<Duration>> {
    let output = Command::new(std::env::current_exe()?)
        .arg("init-phases")
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .envs(env.iter().cloned())
        .stdin(Stdio::null())
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line =
        stdout.lines().find_map(|l| l.strip_prefix("PHASES ")).with_context(|| format!("init-phases printed no result: {stdout}"))?;
    line.split_whitespace().map(|v| Ok(Duration::from_micros(v.parse()?))).collect()
}

fn median_ms(ms: &[Measurement], f: impl Fn(&Measurement) -> Duration) -> f64 {
    stats::ms(stats::summary(ms.iter().map(f).collect()).median)
}
