//! Per endpoint, against the merged router served in-process on the emulator:
//! the AWS round trips each request makes (counted by an SDK interceptor on the
//! DynamoDB, SQS and SES clients the state uses), and its latency (p50/p95), beside
//! the emulator's own floor per operation and argon2's cost. DynamoDB's request units
//! come from DynamoDB Local itself (`ReturnConsumedCapacity: TOTAL` on every call).
//! With `--memory MB` the process runs at that Lambda size's CPU share, and each
//! endpoint's cost per million requests follows (`cost`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use app::AppState;
use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextMut, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::cpu_share::{self, CpuShare};
use crate::fixture::{self, Fixture, Session};
use crate::{cost, stats};

/// Every AWS request the state's clients sent, as (service, operation), and the wall
/// time during which at least one of them was in flight (concurrent calls overlap).
#[derive(Clone, Debug, Default)]
struct Calls(Arc<Mutex<Tally>>);

#[derive(Debug, Default)]
struct Tally {
    calls: Vec<(&'static str, String)>,
    in_flight: usize,
    since: Option<Instant>,
    busy: Duration,
    units: cost::Units,
}

impl Calls {
    fn reset(&self) {
        *self.0.lock().unwrap() = Tally::default();
    }

    fn take(&self) -> (Vec<(&'static str, String)>, Duration, cost::Units) {
        let tally = std::mem::take(&mut *self.0.lock().unwrap());
        (tally.calls, tally.busy, tally.units)
    }

    fn consumed(&self, read: bool, units: f64) {
        let mut tally = self.0.lock().unwrap();
        if read {
            tally.units.read += units;
        } else {
            tally.units.write += units;
        }
    }

    fn started(&self, call: (&'static str, String)) {
        let mut tally = self.0.lock().unwrap();
        tally.calls.push(call);
        if tally.in_flight == 0 {
            tally.since = Some(Instant::now());
        }
        tally.in_flight += 1;
    }

    fn ended(&self) {
        let mut tally = self.0.lock().unwrap();
        tally.in_flight = tally.in_flight.saturating_sub(1);
        if tally.in_flight == 0
            && let Some(since) = tally.since.take()
        {
            tally.busy += since.elapsed();
        }
    }
}

/// Counts each HTTP attempt (a retry would count twice: it is a round trip too).
#[derive(Debug)]
struct Counting {
    service: &'static str,
    calls: Calls,
}

impl Intercept for Counting {
    fn name(&self) -> &'static str {
        "bench-round-trip-counter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        // JSON-protocol services (DynamoDB, SQS) name the operation in X-Amz-Target;
        // SES v2 is REST: its only call on a request path is SendEmail.
        let operation = match request.headers().get("x-amz-target") {
            Some(target) => target.rsplit('.').next().unwrap_or(target).to_owned(),
            None if request.uri().contains("/outbound-emails") => "SendEmail".to_owned(),
            None => format!("{} {}", request.method(), request.uri()),
        };
        self.calls.started((self.service, operation));
        Ok(())
    }

    fn read_after_attempt(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.calls.ended();
        Ok(())
    }
}

/// Asks DynamoDB for the request units of every call and adds them up: reads
/// (GetItem, BatchGetItem, Query, TransactGetItems) and writes (the rest).
#[derive(Debug)]
struct RequestUnits {
    calls: Calls,
}

/// Sets `ReturnConsumedCapacity: TOTAL` on whichever of these inputs `$input` is.
macro_rules! ask_for_units {
    ($input:expr, $($operation:ty),+) => {
        $(if let Some(input) = $input.downcast_mut::<$operation>() {
            input.return_consumed_capacity = Some(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total);
        })+
    };
}

/// (is a read, units) of whichever of these outputs `$output` is: `one` for a single
/// `ConsumedCapacity`, `many` for a list (batches and transactions).
macro_rules! units_of {
    ($output:expr, $($operation:ty => $read:expr, $shape:ident);+) => {
        'found: {
            $(if let Some(output) = $output.downcast_ref::<$operation>() {
                break 'found Some(($read, units_of!(@$shape output.consumed_capacity)));
            })+
            None
        }
    };
    (@one $capacity:expr) => { $capacity.as_ref().and_then(|c| c.capacity_units).unwrap_or(0.0) };
    (@many $capacity:expr) => { $capacity.iter().flatten().filter_map(|c| c.capacity_units).sum::<f64>() };
}

impl Intercept for RequestUnits {
    fn name(&self) -> &'static str {
        "bench-request-units"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        use aws_sdk_dynamodb::operation::*;
        let input = context.input_mut();
        ask_for_units!(
            input,
            get_item::GetItemInput,
            batch_get_item::BatchGetItemInput,
            query::QueryInput,
            transact_get_items::TransactGetItemsInput,
            put_item::PutItemInput,
            update_item::UpdateItemInput,
            delete_item::DeleteItemInput,
            batch_write_item::BatchWriteItemInput,
            transact_write_items::TransactWriteItemsInput
        );
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        use aws_sdk_dynamodb::operation::*;
        // A refused write (a failed condition) consumes units too, but its error
        // does not say how many: those are not counted.
        let Ok(output) = context.output_or_error() else { return Ok(()) };
        let found = units_of!(output,
            get_item::GetItemOutput => true, one;
            batch_get_item::BatchGetItemOutput => true, many;
            query::QueryOutput => true, one;
            transact_get_items::TransactGetItemsOutput => true, many;
            put_item::PutItemOutput => false, one;
            update_item::UpdateItemOutput => false, one;
            delete_item::DeleteItemOutput => false, one;
            batch_write_item::BatchWriteItemOutput => false, many;
            transact_write_items::TransactWriteItemsOutput => false, many
        );
        if let Some((read, units)) = found {
            self.calls.consumed(read, units);
        }
        Ok(())
    }
}

/// Swaps the state's AWS clients for counting ones (same endpoint and credentials).
fn count_calls(sdk: &SdkConfig, state: &mut AppState, calls: &Calls) {
    let counting = |service| Counting { service, calls: calls.clone() };
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(sdk)
            .interceptor(counting("DynamoDB"))
            .interceptor(RequestUnits { calls: calls.clone() })
            .build(),
    );
    state.store = adapters::store::Store::new(dynamodb, state.config.table_name.clone());
    let sqs = aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(sdk).interceptor(counting("SQS")).build());
    state.queue = adapters::queue::TaskQueue::new(move || sqs, state.config.task_queue_url.clone());
    let ses = aws_sdk_sesv2::Client::from_conf(aws_sdk_sesv2::config::Builder::from(sdk).interceptor(counting("SES")).build());
    state.mailer = adapters::email::Mailer::new(move || ses, state.config.email_from.clone(), state.config.app_base_url.clone());
}

/// One request to send; built before the clock starts.
struct Req {
    method: &'static str,
    path: String,
    token: Option<String>,
    body: Option<Value>,
    raw: Option<(String, String)>, // (body, stripe-signature)
    forwarded_for: Option<String>,
}

fn req(method: &'static str, path: impl Into<String>, token: Option<&Session>) -> Req {
    Req { method, path: path.into(), token: token.map(|s| s.access_token.clone()), body: None, raw: None, forwarded_for: None }
}

impl Req {
    fn json(mut self, body: Value) -> Req {
        self.body = Some(body);
        self
    }

    fn from(mut self, address: String) -> Req {
        self.forwarded_for = Some(address);
        self
    }
}

struct Row {
    function: &'static str,
    endpoint: String,
    status: u16,
    latencies: Vec<Duration>,
    calls: Vec<Vec<(&'static str, String)>>,
    /// Per request: wall time with at least one AWS call in flight.
    aws_wait: Vec<Duration>,
    /// Per request: the DynamoDB request units it consumed.
    units: Vec<cost::Units>,
    /// Bare calls of each operation the requests made, one after each request (so
    /// they see the same table as the requests).
    floor_samples: Vec<((&'static str, String), Vec<Duration>)>,
    /// Items in the table before and after the requests (moto's Query and
    /// transactions scan or copy the whole table, so their cost grows with it).
    items: (usize, usize),
}

impl Row {
    /// The last request's calls: a warm function's, which holds the catalogues.
    fn steady(&self) -> &[(&'static str, String)] {
        self.calls.last().map(Vec::as_slice).unwrap_or_default()
    }

    /// DynamoDB calls of the last request; with the first request's when it made
    /// others (a catalogue read before it was held), or `(varies)` when the rest differ.
    fn dynamodb_column(&self) -> String {
        let dynamodb = |calls: &[(&'static str, String)]| calls.iter().filter(|(s, _)| *s == "DynamoDB").count();
        let (first, last) = (dynamodb(&self.calls[0]), dynamodb(self.steady()));
        let rest_differ = self.calls[1..].iter().any(|c| dynamodb(c) != last);
        match (first != last, rest_differ) {
            (_, true) => format!("{last} (varies)"),
            (true, false) => format!("{last} (first request {first})"),
            (false, false) => last.to_string(),
        }
    }

    /// `GetItem ×2, TransactWriteItems` for one service, from the last request.
    fn breakdown(&self, service: &str) -> String {
        let ops: Vec<&str> = self.steady().iter().filter(|(s, _)| *s == service).map(|(_, o)| o.as_str()).collect();
        if ops.is_empty() {
            return "–".into();
        }
        let mut counted: Vec<(&str, usize)> = Vec::new();
        for op in ops {
            match counted.iter_mut().find(|(o, _)| *o == op) {
                Some((_, n)) => *n += 1,
                None => counted.push((op, 1)),
            }
        }
        counted.iter().map(|(o, n)| if *n == 1 { (*o).to_owned() } else { format!("{o} ×{n}") }).collect::<Vec<_>>().join(", ")
    }
}

struct Bench {
    fx: Fixture,
    calls: Calls,
    n: usize,
    rows: Vec<Row>,
    floor: Floor,
}

impl Bench {
    /// `n` requests, each prepared by `prepare` (not timed, not counted), then sent and
    /// timed until its whole body has arrived.
    async fn endpoint(
        &mut self,
        function: &'static str,
        endpoint: &str,
        expect: u16,
        mut prepare: impl AsyncFnMut(&Fixture, usize) -> anyhow::Result<Req>,
    ) -> anyhow::Result<()> {
        let mut row = Row::new(function, endpoint, expect);
        row.items.0 = item_count(&self.fx).await?;
        for i in 0..self.n {
            let request = prepare(&self.fx, i).await.with_context(|| format!("preparing {endpoint}"))?;
            let mut headers: Vec<(&str, String)> = Vec::new();
            if let Some(address) = &request.forwarded_for {
                headers.push(("x-forwarded-for", address.clone()));
            }
            self.calls.reset();
            let started = Instant::now();
            let (status, body) = match &request.raw {
                Some((payload, signature)) => {
                    let response = self
                        .fx
                        .http
                        .post(format!("{}{}", self.fx.base, request.path))
                        .header("stripe-signature", signature)
                        .header("content-type", "application/json")
                        .body(payload.clone())
                        .send()
                        .await?;
                    let status = response.status().as_u16();
                    (status, serde_json::from_slice(&response.bytes().await?).unwrap_or(Value::Null))
                }
                None => self.fx.call_with(request.method, &request.path, request.token.as_deref(), request.body.as_ref(), &headers).await?,
            };
            let elapsed = started.elapsed();
            let (calls, waited, units) = self.calls.take();
            row.calls.push(calls);
            row.aws_wait.push(waited);
            row.units.push(units);
            self.floor.sample(&mut row).await?;
            if status != expect {
                bail!("{endpoint}: expected {expect}, got {status}: {body}");
            }
            row.latencies.push(elapsed);
        }
        self.finish(row).await
    }

    async fn finish(&mut self, mut row: Row) -> anyhow::Result<()> {
        row.items.1 = item_count(&self.fx).await?;
        eprintln!("api: {} done", row.endpoint);
        self.rows.push(row);
        Ok(())
    }
}

impl Row {
    fn new(function: &'static str, endpoint: &str, status: u16) -> Row {
        Row {
            function,
            endpoint: endpoint.to_owned(),
            status,
            latencies: Vec::new(),
            calls: Vec::new(),
            aws_wait: Vec::new(),
            units: Vec::new(),
            floor_samples: Vec::new(),
            items: (0, 0),
        }
    }

    /// Σ over one request's AWS calls of the median bare call of that operation.
    fn floor(&self) -> Duration {
        self.calls[0]
            .iter()
            .map(|call| {
                self.floor_samples.iter().find(|(c, _)| c == call).map(|(_, s)| stats::summary(s.clone()).median).unwrap_or_default()
            })
            .sum()
    }
}

async fn item_count(fx: &Fixture) -> anyhow::Result<usize> {
    let db = aws_sdk_dynamodb::Client::new(&fx.sdk);
    let mut count = 0usize;
    let mut start = None;
    loop {
        let page =
            db.scan().table_name(&fx.table).select(aws_sdk_dynamodb::types::Select::Count).set_exclusive_start_key(start).send().await?;
        count += page.count as usize;
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(count),
        }
    }
}

fn address(i: usize) -> String {
    format!("198.51.100.{}", i % 250 + 1)
}

pub async fn run(n: usize, memory_mb: Option<u32>) -> anyhow::Result<()> {
    let calls = Calls::default();
    let counter = calls.clone();
    let fx = Fixture::start("http://127.0.0.1:9", move |sdk, state| count_calls(sdk, state, &counter)).await?;
    let floor = Floor::new(&fx).await?;
    let mut bench = Bench { fx, calls, n, rows: Vec::new(), floor };

    // Users: `main` for reads; `wills` with one will; `buyer` creating petitions;
    // `holder` with one petition (its tasks created by the worker) and the Stripe customer.
    let fx = &bench.fx;
    let main = fx.register(&fixture::unique_email("bench-main")).await?;
    let wills_user = fx.register(&fixture::unique_email("bench-wills")).await?;
    let will = fx.expect("POST", "/v1/wills", Some(&wills_user.access_token), Some(&json!({})), 201).await?;
    let will_id = will["id"].as_str().context("will id")?.to_owned();
    let buyer = fx.register(&fixture::unique_email("bench-buyer")).await?;
    let holder = fx.register(&fixture::unique_email("bench-holder")).await?;
    fx.take_queue().await?;
    let petition = fx.free_petition(&holder).await?;
    fx.drain_worker().await?;
    fx.attach_stripe_customer(&holder).await?;
    let tasks = fx.expect("GET", &format!("/v1/petitions/{petition}/tasks"), Some(&holder.access_token), None, 200).await?;
    let root_task = tasks
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["task_model_id"] == "family-root-form")
        .and_then(|t| t["id"].as_str())
        .context("the petition has no root form task")?
        .to_owned();

    // From here on the process runs at the memory size's CPU share (the data above
    // was made at full speed).
    let _share = match memory_mb {
        Some(mb) => {
            let share = CpuShare::create("saas-bench-api")?;
            share.set_vcpus(cpu_share::vcpus(mb))?;
            share.add(std::process::id())?;
            Some(share)
        }
        None => None,
    };
    let floor_before = floor_table(&bench, n.max(30)).await?;
    let (m, w, b, h) = (&main, &wills_user, &buyer, &holder);
    let login = json!({"email": main.email, "password": fixture::PASSWORD});
    bench
        .endpoint("auth", "POST /v1/auth/register", 201, async |_, _| {
            Ok(req("POST", "/v1/auth/register", None)
                .json(json!({"email": fixture::unique_email("bench-new"), "password": fixture::PASSWORD, "name": "New"})))
        })
        .await?;
    bench
        .endpoint("auth", "POST /v1/auth/login", 200, async |_, i| {
            Ok(req("POST", "/v1/auth/login", None).json(login.clone()).from(address(i)))
        })
        .await?;
    bench
        .endpoint("auth", "POST /v1/auth/login (wrong password → 401)", 401, async |fx, i| {
            // A user of its own per request: five failures would block one email.
            let user = fx.register(&fixture::unique_email("bench-wrong")).await?;
            Ok(req("POST", "/v1/auth/login", None)
                .json(json!({"email": user.email, "password": "wrong horse 9"}))
                .from(format!("192.0.2.{}", i % 250 + 1)))
        })
        .await?;
    bench
        .endpoint("auth", "POST /v1/auth/login (unknown email → 401)", 401, async |_, i| {
            Ok(req("POST", "/v1/auth/login", None)
                .json(json!({"email": fixture::unique_email("bench-nobody"), "password": fixture::PASSWORD}))
                .from(format!("203.0.113.{}", i % 250 + 1)))
        })
        .await?;
    bench
        .endpoint("auth", "POST /v1/auth/refresh", 200, async |fx, _| {
            let reply = fx.expect("POST", "/v1/auth/login", None, Some(&login), 200).await?;
            let token = reply["refresh_token"].as_str().context("refresh_token")?.to_owned();
            Ok(req("POST", "/v1/auth/refresh", None).json(json!({"refresh_token": token})))
        })
        .await?;
    bench.endpoint("auth", "GET /v1/auth/me", 200, async |_, _| Ok(req("GET", "/v1/auth/me", Some(m)))).await?;
    bench.endpoint("auth", "GET /v1/accounts/me", 200, async |_, _| Ok(req("GET", "/v1/accounts/me", Some(m)))).await?;
    bench.endpoint("billing", "GET /v1/billing/plans", 200, async |_, _| Ok(req("GET", "/v1/billing/plans", None))).await?;
    bench.endpoint("billing", "GET /v1/billing/state", 200, async |_, _| Ok(req("GET", "/v1/billing/state", Some(m)))).await?;
    bench.endpoint("wills", "POST /v1/wills", 201, async |_, _| Ok(req("POST", "/v1/wills", Some(m)).json(json!({})))).await?;
    let personal = json!({"full_name": "Ada Lovelace", "date_of_birth": "1815-12-10", "address": "12 St James's Square, London"});
    bench
        .endpoint("wills", "PUT /v1/wills/{id}/sections/personal", 200, async |_, _| {
            Ok(req("PUT", format!("/v1/wills/{will_id}/sections/personal"), Some(w)).json(personal.clone()))
        })
        .await?;
    bench.endpoint("wills", "GET /v1/wills (one will)", 200, async |_, _| Ok(req("GET", "/v1/wills", Some(w)))).await?;
    bench.endpoint("wills", "GET /v1/wills/{id}", 200, async |_, _| Ok(req("GET", format!("/v1/wills/{will_id}"), Some(w)))).await?;
    bench.endpoint("petitions", "GET /v1/petition-templates", 200, async |_, _| Ok(req("GET", "/v1/petition-templates", Some(m)))).await?;
    bench
        .endpoint("petitions", "GET /v1/petition-templates/{id}/plans", 200, async |_, _| {
            Ok(req("GET", "/v1/petition-templates/family-petition/plans", Some(m)))
        })
        .await?;
    bench
        .endpoint("petitions", "POST /v1/petitions/initiate-checkout (zero total)", 200, async |_, _| {
            Ok(req("POST", "/v1/petitions/initiate-checkout", Some(b)).json(fixture::free_checkout()))
        })
        .await?;
    bench.endpoint("petitions", "GET /v1/petitions (one petition)", 200, async |_, _| Ok(req("GET", "/v1/petitions", Some(h)))).await?;
    bench
        .endpoint("petitions", "GET /v1/petitions/{id}", 200, async |_, _| Ok(req("GET", format!("/v1/petitions/{petition}"), Some(h))))
        .await?;
    bench
        .endpoint("tasks", "GET /v1/petitions/{id}/tasks", 200, async |_, _| {
            Ok(req("GET", format!("/v1/petitions/{petition}/tasks"), Some(h)))
        })
        .await?;
    bench.endpoint("tasks", "GET /v1/tasks/{id}", 200, async |_, _| Ok(req("GET", format!("/v1/tasks/{root_task}"), Some(h)))).await?;
    let root_data = json!({"petitioner_name": "Ada", "beneficiary_name": "Byron", "relationship": "child"});
    bench
        .endpoint("tasks", "PATCH /v1/tasks/{id}/data", 200, async |_, _| {
            Ok(req("PATCH", format!("/v1/tasks/{root_task}/data"), Some(h)).json(root_data.clone()))
        })
        .await?;
    bench
        .endpoint("stripe-webhook", "POST /webhooks/stripe (subscription.updated)", 200, async |_, _| {
            let (payload, signature) = fixture::stripe_event()?;
            let mut request = req("POST", "/webhooks/stripe", None);
            request.raw = Some((payload, signature));
            Ok(request)
        })
        .await?;
    worker_row(&mut bench, &buyer).await?;

    let floor_after = floor_table(&bench, n.max(30)).await?;
    match memory_mb {
        None => {
            print_round_trips(&bench.rows);
            print_latency(&bench.rows, n, "the machine's full CPU");
            print_floor(&floor_before, &floor_after);
        }
        Some(mb) => {
            print_latency(&bench.rows, n, &format!("{mb} MB ({:.3} vCPU)", cpu_share::vcpus(mb)));
            print_costs(&bench.rows, mb);
        }
    }
    argon2(&bench.rows, n.max(20)).await?;
    Ok(())
}

/// task-worker: one SQS message (the `add_task` effect a zero-total checkout sends),
/// handed to the function's handler as Lambda would.
async fn worker_row(bench: &mut Bench, buyer: &Session) -> anyhow::Result<()> {
    let mut row = Row::new("task-worker", "SQS: one add_task message", 0);
    row.items.0 = item_count(&bench.fx).await?;
    bench.fx.take_queue().await?;
    for _ in 0..bench.n {
        bench.fx.free_petition(buyer).await?;
        let bodies = bench.fx.take_queue().await?;
        let body = bodies.first().context("the checkout sent no task message")?;
        let event: SqsEvent = serde_json::from_value(
            json!({"Records": [{"messageId": uuid::Uuid::new_v4().to_string(), "body": body, "eventSource": "aws:sqs", "attributes": {}, "messageAttributes": {}}]}),
        )?;
        bench.calls.reset();
        let started = Instant::now();
        let response = task_worker::handle(&bench.fx.state, event).await;
        let elapsed = started.elapsed();
        let (calls, waited, units) = bench.calls.take();
        row.calls.push(calls);
        row.aws_wait.push(waited);
        row.units.push(units);
        bench.floor.sample(&mut row).await?;
        if !response.batch_item_failures.is_empty() {
            bail!("the task worker failed the message {body}");
        }
        row.latencies.push(elapsed);
    }
    bench.finish(row).await
}

fn print_round_trips(rows: &[Row]) {
    println!("### AWS round trips per request (counted by an SDK interceptor)\n");
    println!("Operations of the last request (a warm function, holding the catalogues); the first request's count when it differs.\n");
    println!("| function | endpoint | status | DynamoDB | DynamoDB operations | SQS | SES |");
    println!("| --- | --- | ---: | ---: | --- | --- | --- |");
    for row in rows {
        let status = if row.status == 0 { "–".to_owned() } else { row.status.to_string() };
        println!(
            "| {} | `{}` | {} | {} | {} | {} | {} |",
            row.function,
            row.endpoint,
            status,
            row.dynamodb_column(),
            row.breakdown("DynamoDB"),
            row.breakdown("SQS"),
            row.breakdown("SES")
        );
    }
    println!();
}

fn print_latency(rows: &[Row], n: usize, cpu: &str) {
    println!("### Latency per request at {cpu}, in-process server on the local AWS ({n} requests each, sequential)\n");
    println!(
        "`in AWS calls` = wall time with at least one AWS call in flight (interceptor: before transmit → end of \
         attempt). `app` = latency − that, per request: routing, JSON, JWT, argon2, the SDK's own work. \
         `bare-call floor` = Σ over the request's calls of the median bare SDK call of that operation, one bare call \
         of each taken after every request (so on the same table). Medians.\n"
    );
    println!(
        "| function | endpoint | p50 ms | p95 ms | AWS calls | in AWS calls ms | app ms | bare-call floor ms | items in table (start → end) |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for row in rows {
        let s = stats::summary(row.latencies.clone());
        let waited = stats::summary(row.aws_wait.clone());
        let app = stats::summary(row.latencies.iter().zip(&row.aws_wait).map(|(l, w)| l.saturating_sub(*w)).collect());
        println!(
            "| {} | `{}` | {} | {} | {} | {} | {} | {} | {} → {} |",
            row.function,
            row.endpoint,
            stats::fmt_ms(s.median),
            stats::fmt_ms(s.p95),
            row.calls[0].len(),
            stats::fmt_ms(waited.median),
            stats::fmt_ms(app.median),
            stats::fmt_ms(row.floor()),
            row.items.0,
            row.items.1
        );
    }
    println!();
}

/// Each endpoint's cost per million requests at `memory_mb`, from its p50 duration and
/// its median request units, then the journeys (`cost::JOURNEYS`).
fn print_costs(rows: &[Row], memory_mb: u32) {
    let median_units = |row: &Row| cost::Units {
        read: stats::median(row.units.iter().map(|u| u.read).collect()),
        write: stats::median(row.units.iter().map(|u| u.write).collect()),
    };
    let per_million = |row: &Row| {
        let count = |service: &str| row.calls[0].iter().filter(|(s, _)| *s == service).count();
        let worker = row.function == "task-worker";
        cost::per_million(&cost::Request {
            duration: stats::summary(row.latencies.clone()).median,
            memory_mb,
            units: median_units(row),
            // The worker's message: sent, then received and deleted by Lambda's poller.
            sqs_requests: count("SQS") + if worker { 2 } else { 0 },
            emails: count("SES"),
            through_http_api: !worker && row.function != "stripe-webhook",
        })
    };
    println!(
        "### Cost per million requests at {memory_mb} MB (us-east-1 list prices; p50 duration billed per ms; see `infra/bench/src/cost.rs`)\n"
    );
    println!(
        "| function | endpoint | p50 ms | read units | write units | Lambda $ | HTTP API $ | DynamoDB $ | SQS + SES $ | total $ | total $ on arm64 |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for row in rows {
        let units = median_units(row);
        let c = per_million(row);
        println!(
            "| {} | `{}` | {} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            row.function,
            row.endpoint,
            stats::fmt_ms(stats::summary(row.latencies.clone()).median),
            units.read,
            units.write,
            c.lambda,
            c.api,
            c.dynamodb,
            c.messaging,
            c.total(),
            c.total_arm64()
        );
    }
    println!();
    println!("| journey (per million) | Lambda $ | HTTP API $ | DynamoDB $ | SQS + SES $ | total $ | total $ on arm64 |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (journey, steps) in cost::JOURNEYS {
        let mut sum = cost::PerMillion::default();
        for (endpoint, times) in *steps {
            match rows.iter().find(|r| r.endpoint == *endpoint) {
                Some(row) => sum.add(&per_million(row), *times),
                None => eprintln!("cost: no measured row for {endpoint}"),
            }
        }
        println!(
            "| {journey} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            sum.lambda,
            sum.api,
            sum.dynamodb,
            sum.messaging,
            sum.total(),
            sum.total_arm64()
        );
    }
    println!();
}

/// Bare SDK calls against the emulator, one per operation the app uses: nothing of
/// the app, fixed keys (so measuring adds no items).
struct Floor {
    db: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    ses: aws_sdk_sesv2::Client,
    table: String,
    queue_url: String,
}

const FLOOR_OPERATIONS: &[(&str, &str)] = &[
    ("DynamoDB", "GetItem"),
    ("DynamoDB", "BatchGetItem"),
    ("DynamoDB", "Query"),
    ("DynamoDB", "PutItem"),
    ("DynamoDB", "UpdateItem"),
    ("DynamoDB", "DeleteItem"),
    ("DynamoDB", "TransactWriteItems"),
    ("SQS", "SendMessage"),
    ("SQS", "SendMessageBatch"),
    ("SES", "SendEmail"),
];

fn key(pk: &str) -> std::collections::HashMap<String, AttributeValue> {
    [("pk".to_owned(), AttributeValue::S(pk.to_owned())), ("sk".to_owned(), AttributeValue::S("BENCH".to_owned()))].into_iter().collect()
}

impl Floor {
    async fn new(fx: &Fixture) -> anyhow::Result<Floor> {
        let sqs = aws_sdk_sqs::Client::new(&fx.sdk);
        let queue_url = sqs.create_queue().queue_name(format!("{}-floor", fx.table)).send().await?.queue_url.context("floor queue")?;
        let floor = Floor {
            db: aws_sdk_dynamodb::Client::new(&fx.sdk),
            sqs,
            ses: aws_sdk_sesv2::Client::new(&fx.sdk),
            table: fx.table.clone(),
            queue_url,
        };
        floor.db.put_item().table_name(&floor.table).set_item(Some(key("BENCH#get"))).send().await?;
        Ok(floor)
    }

    async fn once(&self, service: &str, operation: &str) -> anyhow::Result<()> {
        let (db, table) = (&self.db, self.table.as_str());
        match (service, operation) {
            ("DynamoDB", "GetItem") => {
                drop(db.get_item().table_name(table).set_key(Some(key("BENCH#get"))).consistent_read(true).send().await?)
            }
            ("DynamoDB", "BatchGetItem") => {
                let keys = KeysAndAttributes::builder().keys(key("BENCH#get")).keys(key("BENCH#none")).consistent_read(true).build()?;
                drop(db.batch_get_item().request_items(table, keys).send().await?)
            }
            ("DynamoDB", "Query") => drop(
                db.query()
                    .table_name(table)
                    .key_condition_expression("pk = :pk")
                    .expression_attribute_values(":pk", AttributeValue::S("CATALOGUE#BILLING".into()))
                    .consistent_read(true)
                    .send()
                    .await?,
            ),
            ("DynamoDB", "PutItem") => drop(db.put_item().table_name(table).set_item(Some(key("BENCH#put"))).send().await?),
            ("DynamoDB", "UpdateItem") => drop(
                db.update_item()
                    .table_name(table)
                    .set_key(Some(key("BENCH#update")))
                    .update_expression("ADD n :one")
                    .expression_attribute_values(":one", AttributeValue::N("1".into()))
                    .send()
                    .await?,
            ),
            ("DynamoDB", "DeleteItem") => drop(db.delete_item().table_name(table).set_key(Some(key("BENCH#none"))).send().await?),
            ("DynamoDB", "TransactWriteItems") => {
                let put = |pk: &str| {
                    Ok::<_, anyhow::Error>(
                        TransactWriteItem::builder().put(Put::builder().table_name(table).set_item(Some(key(pk))).build()?).build(),
                    )
                };
                drop(db.transact_write_items().transact_items(put("BENCH#tx#a")?).transact_items(put("BENCH#tx#b")?).send().await?)
            }
            ("SQS", "SendMessage") => drop(self.sqs.send_message().queue_url(&self.queue_url).message_body("{}").send().await?),
            ("SQS", "SendMessageBatch") => {
                let entry = aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder().id("1").message_body("{}").build()?;
                drop(self.sqs.send_message_batch().queue_url(&self.queue_url).entries(entry).send().await?)
            }
            ("SES", "SendEmail") => {
                use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
                let text = |t: &str| Content::builder().data(t).build();
                let message = Message::builder().subject(text("bench")?).body(Body::builder().text(text("bench")?).build()).build();
                drop(
                    self.ses
                        .send_email()
                        .from_email_address(fixture::EMAIL_FROM)
                        .destination(Destination::builder().to_addresses("floor@example.com").build())
                        .content(EmailContent::builder().simple(message).build())
                        .send()
                        .await?,
                )
            }
            _ => bail!("no floor measurement for {service} {operation}"),
        }
        Ok(())
    }

    /// One bare call of each operation the row's last request made.
    async fn sample(&self, row: &mut Row) -> anyhow::Result<()> {
        let mut seen: Vec<&(&'static str, String)> = Vec::new();
        let last = row.calls.last().cloned().unwrap_or_default();
        for call in &last {
            if seen.contains(&call) {
                continue;
            }
            seen.push(call);
            let started = Instant::now();
            self.once(call.0, &call.1).await?;
            let elapsed = started.elapsed();
            match row.floor_samples.iter_mut().find(|(c, _)| c == call) {
                Some((_, samples)) => samples.push(elapsed),
                None => row.floor_samples.push((call.clone(), vec![elapsed])),
            }
        }
        Ok(())
    }

    async fn summary(&self, service: &str, operation: &str, n: usize) -> anyhow::Result<stats::Summary> {
        let mut samples = Vec::with_capacity(n);
        for _ in 0..n {
            let started = Instant::now();
            self.once(service, operation).await?;
            samples.push(started.elapsed());
        }
        Ok(stats::summary(samples))
    }
}

struct FloorTable {
    items: usize,
    rows: Vec<(&'static str, &'static str, stats::Summary)>,
}

async fn floor_table(bench: &Bench, n: usize) -> anyhow::Result<FloorTable> {
    let mut rows = Vec::new();
    for (service, operation) in FLOOR_OPERATIONS {
        rows.push((*service, *operation, bench.floor.summary(service, operation, n).await?));
    }
    Ok(FloorTable { items: item_count(&bench.fx).await?, rows })
}

fn print_floor(before: &FloorTable, after: &FloorTable) {
    println!("### Local AWS floor: bare SDK calls ({} each), before and after the requests above\n", before.rows[0].2.n);
    println!(
        "DynamoDB is AWS's DynamoDB Local (unless `LOCAL_DYNAMODB=moto`, whose Query scans the whole table and whose transactions copy it); SQS and SES are moto's.\n"
    );
    println!("| service | operation | p50 ms ({} items) | p95 ms | p50 ms ({} items) | p95 ms |", before.items, after.items);
    println!("| --- | --- | ---: | ---: | ---: | ---: |");
    for ((service, operation, b), (_, _, a)) in before.rows.iter().zip(&after.rows) {
        println!(
            "| {service} | {operation} | {} | {} | {} | {} |",
            stats::fmt_ms(b.median),
            stats::fmt_ms(b.p95),
            stats::fmt_ms(a.median),
            stats::fmt_ms(a.p95)
        );
    }
    println!();
}

/// argon2id as the app runs it (`adapters::security::password`, on the blocking pool).
async fn argon2(rows: &[Row], n: usize) -> anyhow::Result<()> {
    let mut hashes = Vec::new();
    let mut verifies = Vec::new();
    let mut phc = String::new();
    for _ in 0..n {
        let started = Instant::now();
        phc = adapters::security::password::hash(SecretString::from(fixture::PASSWORD)).await?;
        hashes.push(started.elapsed());
    }
    for _ in 0..n {
        let started = Instant::now();
        if !adapters::security::password::verify(SecretString::from(fixture::PASSWORD), Some(phc.clone())).await? {
            bail!("argon2 verification failed");
        }
        verifies.push(started.elapsed());
    }
    let (hash, verify) = (stats::summary(hashes), stats::summary(verifies));
    println!("### argon2id (19 MiB, t=2, p=1) vs the endpoints that run it ({n} each)\n");
    println!("| what | p50 ms | p95 ms | argon2 share of p50 |");
    println!("| --- | ---: | ---: | ---: |");
    println!("| argon2id hash | {} | {} | |", stats::fmt_ms(hash.median), stats::fmt_ms(hash.p95));
    println!("| argon2id verify | {} | {} | |", stats::fmt_ms(verify.median), stats::fmt_ms(verify.p95));
    for (endpoint, cost) in [
        ("POST /v1/auth/register", hash.median),
        ("POST /v1/auth/login", verify.median),
        ("POST /v1/auth/login (unknown email → 401)", verify.median),
    ] {
        if let Some(row) = rows.iter().find(|r| r.endpoint == endpoint) {
            let s = stats::summary(row.latencies.clone());
            println!(
                "| `{endpoint}` | {} | {} | {:.0} % |",
                stats::fmt_ms(s.median),
                stats::fmt_ms(s.p95),
                100.0 * stats::ms(cost) / stats::ms(s.median)
            );
        }
    }
    println!();
    Ok(())
}
