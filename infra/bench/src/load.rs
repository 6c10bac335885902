//! Throughput: each endpoint driven by `concurrency` clients at once for `seconds`,
//! against the release build of the merged router served in-process on the local AWS
//! (both cores busy: the server, the clients and DynamoDB Local share them), beside a
//! hello route served the same way (the floor of axum + hyper + the client here).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

use crate::fixture::{self, Fixture};
use crate::stats;

#[derive(Clone)]
struct Target {
    name: String,
    method: reqwest::Method,
    url: String,
    token: Option<String>,
    body: Option<Value>,
}

pub async fn run(seconds: u64, concurrency: usize) -> anyhow::Result<()> {
    let fx = Fixture::start("http://127.0.0.1:9", |_, _| {}).await?;
    let owner = fx.register(&fixture::unique_email("load-owner")).await?;
    let will = fx.expect("POST", "/v1/wills", Some(&owner.access_token), None, 201).await?;
    let will_id = will["id"].as_str().context("will id")?.to_owned();

    let hello = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hello_url = format!("http://{}/hello", hello.local_addr()?);
    let router = axum::Router::new().route("/hello", axum::routing::get(|| async { axum::Json(json!({"hello": "world"})) }));
    tokio::spawn(async move { axum::serve(hello, router).await });

    let get = |name: &str, url: String, token: Option<&str>| Target {
        name: name.to_owned(),
        method: reqwest::Method::GET,
        url,
        token: token.map(str::to_owned),
        body: None,
    };
    let t = Some(owner.access_token.as_str());
    let targets = vec![
        get("hello (floor: axum route, no AWS)", hello_url, None),
        get("GET /v1/billing/plans", format!("{}/v1/billing/plans", fx.base), None),
        get("GET /v1/billing/state", format!("{}/v1/billing/state", fx.base), t),
        get("GET /v1/petition-templates/{id}/plans", format!("{}/v1/petition-templates/family-petition/plans", fx.base), t),
        get("GET /v1/wills/{id}", format!("{}/v1/wills/{will_id}", fx.base), t),
        Target {
            name: "POST /v1/auth/login".into(),
            method: reqwest::Method::POST,
            url: format!("{}/v1/auth/login", fx.base),
            token: None,
            body: Some(json!({"email": owner.email, "password": fixture::PASSWORD})),
        },
    ];

    println!("### Throughput: {concurrency} concurrent clients for {seconds} s per endpoint, release build, in-process on the local AWS\n");
    println!("| endpoint | requests/s | p50 ms | p99 ms | non-2xx |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for target in targets {
        let (rate, latencies, failures) = drive(&target, seconds, concurrency).await?;
        let s = stats::summary(latencies.clone());
        let p99 = stats::percentile_of(latencies, 99.0);
        println!("| `{}` | {rate:.0} | {} | {} | {failures} |", target.name, stats::fmt_ms(s.median), stats::fmt_ms(p99));
        eprintln!("load: {} done", target.name);
    }
    println!();
    Ok(())
}

/// Requests per second, every latency, and how many answers were not 2xx.
async fn drive(target: &Target, seconds: u64, concurrency: usize) -> anyhow::Result<(f64, Vec<Duration>, usize)> {
    let target = Arc::new(target.clone());
    // One keep-alive connection per client, as that many callers would hold.
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let failures = Arc::new(AtomicUsize::new(0));
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..concurrency {
        let (http, target, failures) = (http.clone(), target.clone(), failures.clone());
        clients.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < until {
                let mut request = http.request(target.method.clone(), &target.url);
                if let Some(token) = &target.token {
                    request = request.bearer_auth(token);
                }
                if let Some(body) = &target.body {
                    request = request.json(body);
                }
                let sent = Instant::now();
                let ok = match request.send().await {
                    Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
                    Err(_) => false,
                };
                latencies.push(sent.elapsed());
                if !ok {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for client in clients {
        latencies.extend(client.await?);
    }
    let rate = latencies.len() as f64 / started.elapsed().as_secs_f64();
    Ok((rate, latencies, failures.load(Ordering::Relaxed)))
}
