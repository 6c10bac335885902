//! The operator's command, `ops` (run with the stack's environment and AWS credentials;
//! never a public route). `ops --help` lists the commands and `ops COMMAND --help` says
//! what one does and takes.
//!
//! Every command that writes is idempotent (a second run changes nothing more), has a
//! dry run (`--dry-run`; `stripe sync-prices` only reports unless given `--apply`),
//! prints a one-line summary of what it changed (`--json`: one JSON document instead)
//! and logs an audit line for each change (`crate::audit`). Output goes to stdout, logs
//! (audit lines included) to stderr, so `--json` output stays clean.

mod account;
mod orders;
mod queue;
mod setup;
mod stripe;

use std::io::Write;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand};

use app::AppState;

#[derive(Debug, Parser)]
#[command(name = "ops", about = "The operator's command: set-up, support and incident tools for the stack in the environment.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Creates the table, the task queue (with its DLQ) and the sender identity where
    /// missing; prints TASK_QUEUE_URL=...
    Setup,
    /// Creates the demo accounts and their data (idempotent) and prints the credentials.
    SeedDemo,
    /// Prints the whole API's OpenAPI document (what docs/openapi.json holds).
    Openapi,
    /// Loads the billing catalogue (plans, prices, Stripe price ids, limits, feature
    /// defaults) from PATH (default infra/seed/billing.json).
    SeedCatalogue { path: Option<String> },
    /// Loads the petition catalogue (templates, plans, benefits and their task effects,
    /// task models) from PATH (default infra/seed/petitions.json), validated whole first.
    SeedPetitions { path: Option<String> },
    /// Signs the Stripe event in FILE as Stripe does (with a fresh id and time) and posts
    /// it to the local server's webhook (PORT, default 3000), like `stripe trigger`.
    StripeTrigger { file: String },
    /// Gives every account a complimentary Pro subscription unless it is canceled or past
    /// due; resumable, and a second run changes nothing.
    BackfillPilot {
        /// Say which accounts would be granted; grant nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Applies the completed Checkout sessions and the subscription changes the webhook
    /// missed since WHEN (what the daily `reconcile` function does).
    ReconcileStripe {
        /// `4d`, `12h`, a date (2026-12-01, from 00:00 UTC) or an RFC 3339 time.
        #[arg(long, value_parser = since, default_value = "4d")]
        since: DateTime<Utc>,
        /// Say what would be fixed; fix nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Prints events/NAME.json made valid now against the local stack (a fresh token,
    /// signature and ids), for `cargo lambda invoke --data-file`.
    Event { name: String },
    /// One account: show it, switch a feature, extend a trial, grant a complimentary
    /// plan, deactivate a user.
    #[command(subcommand)]
    Account(account::Command),
    /// Orders by status, and the retry of a refund Stripe refused.
    #[command(subcommand)]
    Orders(orders::Command),
    /// The task queue's dead letters: look at them, move them back.
    #[command(subcommand)]
    Queue(queue::Command),
    /// Stripe: the catalogue's prices against Stripe's, and events replayed from
    /// Stripe's Events API.
    #[command(subcommand)]
    Stripe(stripe::Command),
}

/// How a command prints its result.
#[derive(Debug, Args)]
pub struct Output {
    /// Print the result as one JSON document instead of the summary.
    #[arg(long)]
    pub json: bool,
}

/// What the commands run against: the AWS configuration and the application's state
/// (built from the environment when a command first needs it).
pub struct Ops {
    sdk: aws_config::SdkConfig,
    state: Option<AppState>,
    /// Who runs the commands, asked of STS at the first change.
    operator: tokio::sync::OnceCell<crate::audit::Operator>,
}

impl Ops {
    /// As the binary runs: the state comes from the environment (`Config::from_env`).
    pub fn new(sdk: aws_config::SdkConfig) -> Self {
        Ops { sdk, state: None, operator: tokio::sync::OnceCell::new() }
    }

    /// Against a given state (the tests': their own table, queue and Stripe fake).
    pub fn with_state(sdk: aws_config::SdkConfig, state: AppState) -> Self {
        Ops { sdk, state: Some(state), operator: tokio::sync::OnceCell::new() }
    }

    fn state(&self) -> anyhow::Result<AppState> {
        match &self.state {
            Some(state) => Ok(state.clone()),
            None => Ok(AppState::new(adapters::config::Config::from_env()?, &self.sdk)),
        }
    }

    /// Runs one command, printing its result to `out`.
    pub async fn run(&self, command: Command, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
        match command {
            Command::Setup => setup::resources(self, out).await,
            Command::SeedDemo => setup::seed_demo(self, out).await,
            Command::Openapi => Ok(writeln!(out, "{}", crate::openapi().to_pretty_json()?)?),
            Command::SeedCatalogue { path } => setup::seed_catalogue(self, path, out).await,
            Command::SeedPetitions { path } => setup::seed_petitions(self, path, out).await,
            Command::StripeTrigger { file } => setup::stripe_trigger(&file, out).await,
            Command::BackfillPilot { dry_run, output } => setup::backfill_pilot(self, dry_run, &output, out).await,
            // Boxed: the webhook's whole path is inside, too deep a future for a thread's stack.
            Command::ReconcileStripe { since, dry_run, output } => {
                Box::pin(setup::reconcile_stripe(self, since, dry_run, &output, out)).await
            }
            Command::Event { name } => setup::event(self, &name, out).await,
            Command::Account(command) => account::run(self, command, out).await,
            Command::Orders(command) => Box::pin(orders::run(self, command, out)).await,
            Command::Queue(command) => queue::run(self, command, out).await,
            Command::Stripe(command) => Box::pin(stripe::run(self, command, out)).await,
        }
    }

    /// Logs the audit line of one change (`crate::audit`).
    async fn audit<B: serde::Serialize + ?Sized, A: serde::Serialize + ?Sized>(&self, command: &str, subject: &str, before: &B, after: &A) {
        let operator = self.operator.get_or_init(|| crate::audit::operator(&self.sdk)).await;
        crate::audit::log(operator, command, subject, before, after);
    }
}

/// Prints the result: one JSON document with `--json`, else the summary.
fn report(out: &mut (dyn Write + Send), output: &Output, json: serde_json::Value, summary: impl FnOnce() -> String) -> anyhow::Result<()> {
    if output.json {
        writeln!(out, "{json}")?;
    } else {
        writeln!(out, "{}", summary())?;
    }
    Ok(())
}

/// What a dry run adds to its summary line.
fn dry_run_note(dry_run: bool) -> &'static str {
    if dry_run { " (dry run: nothing written)" } else { "" }
}

/// `--since`: `<N>d` or `<N>h` back from now, or an absolute time as [`moment`] reads it.
pub fn since(text: &str) -> Result<DateTime<Utc>, String> {
    let window = |number: &str, hours: i64| -> Result<DateTime<Utc>, String> {
        let n: u32 = number.parse().map_err(|_| format!("{text:?} is not <N>d, <N>h, a date or an RFC 3339 time"))?;
        Ok(Utc::now() - chrono::Duration::hours(i64::from(n) * hours))
    };
    match (text.strip_suffix('d'), text.strip_suffix('h')) {
        (Some(days), _) if !days.is_empty() && days.bytes().all(|b| b.is_ascii_digit()) => window(days, 24),
        (_, Some(hours)) if !hours.is_empty() && hours.bytes().all(|b| b.is_ascii_digit()) => window(hours, 1),
        _ => moment(text),
    }
}

/// A date (`2026-12-01`: 00:00 UTC that day) or an RFC 3339 time.
pub fn moment(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{text:?} is not a date (2026-12-01) or an RFC 3339 time (2026-12-01T09:30:00Z)"))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn every_command_says_what_it_does() {
        Cli::command().debug_assert();
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
                let name = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none_or(|about| about.to_string().trim().is_empty()) {
                    missing.push(name.clone());
                }
                walk(sub, &name, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "ops", &mut missing);
        assert_eq!(missing, Vec::<String>::new(), "commands without a sentence in --help");
    }

    #[test]
    fn times_are_windows_dates_or_rfc3339() {
        let now = Utc::now();
        assert!((now - chrono::Duration::days(4) - since("4d").unwrap()).num_seconds().abs() < 5);
        assert!((now - chrono::Duration::hours(12) - since("12h").unwrap()).num_seconds().abs() < 5);
        assert_eq!(since("2026-12-01").unwrap().to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(moment("2026-12-01T09:30:00+01:00").unwrap().to_rfc3339(), "2026-12-01T08:30:00+00:00");
        for bad in ["-3d", "3w", "d", "yesterday", "2026-13-01", ""] {
            assert!(since(bad).is_err(), "{bad:?}");
        }
        assert!(moment("4d").is_err(), "an end is a date, not a window");
    }
}
