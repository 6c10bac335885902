//! The harness behind `infra/bench` (run that script, not this binary directly: it
//! builds the release binaries, installs the Python comparison and starts the
//! emulator). Prints Markdown tables on stdout, progress on stderr.
//!
//! - `bench-harness cold --root DIR --bin-dir DIR [--python PY] [--runs N] [--log-dir DIR] [--memory MB]`
//!   cold-starts every function binary (`<bin-dir>/<name>/bootstrap`, as cargo-lambda
//!   lays them out), the hello-world floor and the Python predecessor against a local
//!   Lambda Runtime API.
//! - `bench-harness api [--requests N] [--memory MB]` counts AWS round trips and times
//!   every main endpoint on the in-process server, beside the emulator's floor and argon2.
//! - `--memory MB` holds the measured process to the CPU share of a Lambda function of
//!   that size (`cpu_share`; needs root and a cgroup CPU controller).
//! - `bench-harness load [--seconds S] [--concurrency C]` drives a few endpoints with C
//!   concurrent clients for S seconds each: requests per second and p99, beside a hello
//!   route.
//! - `bench-harness init-phases` (run by `cold` in fresh processes) times the steps of
//!   the auth function's `main` before it polls for events.

mod api;
mod cold;
mod cost;
mod cpu_share;
mod fixture;
mod load;
mod stats;

use std::path::PathBuf;

use anyhow::{Context, bail};

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

/// `--memory MB`: run at the CPU share of a Lambda function of that size.
fn memory(args: &[String]) -> anyhow::Result<Option<u32>> {
    flag(args, "--memory").map(|v| v.parse().with_context(|| format!("--memory {v}"))).transpose()
}

fn number(args: &[String], name: &str, default: usize) -> anyhow::Result<usize> {
    flag(args, name).map(|v| v.parse().with_context(|| format!("{name} {v}"))).transpose().map(|v| v.unwrap_or(default))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A measured process must not outlive the harness: kill it on Ctrl-C or TERM.
    tokio::spawn(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        cold::kill_current();
        std::process::exit(130);
    });
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("cold") => {
            let path = |name: &str| flag(&args, name).map(PathBuf::from).with_context(|| format!("{name} is required"));
            cold::run(cold::Options {
                root: path("--root")?,
                bin_dir: path("--bin-dir")?,
                python: flag(&args, "--python").map(PathBuf::from),
                runs: number(&args, "--runs", 7)?,
                log_dir: flag(&args, "--log-dir").map(PathBuf::from).unwrap_or_else(std::env::temp_dir),
                memory_mb: memory(&args)?,
            })
            .await
        }
        Some("api") => api::run(number(&args, "--requests", 30)?, memory(&args)?).await,
        Some("init-phases") => cold::init_phases().await,
        Some("load") => load::run(number(&args, "--seconds", 5)? as u64, number(&args, "--concurrency", 16)?).await,
        _ => bail!(
            "usage: bench-harness cold --root DIR --bin-dir DIR [--python PY] [--runs N] [--log-dir DIR] [--memory MB] | api [--requests N] [--memory MB] | load [--seconds S] [--concurrency C]"
        ),
    };
    cold::kill_current();
    result
}
