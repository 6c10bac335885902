//! `ops stripe ...`: the catalogue's prices against Stripe's (`app::support::
//! sync_prices`), and events fetched again from Stripe's Events API and applied through
//! the webhook's own path (`app::webhook::replay_*`).

use std::io::Write;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde_json::json;

use super::{Ops, Output, report, since};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compares each plan's prices with Stripe's active prices by lookup key
    /// (`<plan>_monthly`, `<plan>_annual`): price id, amount, currency, interval, or
    /// missing. Only reports unless given --apply, which writes Stripe's price ids
    /// (amounts are fixed at Stripe or in the seed, not here).
    SyncPrices {
        /// Write Stripe's price ids into the catalogue.
        #[arg(long)]
        apply: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Fetches events again from Stripe's Events API (Stripe keeps them 30 days) and
    /// applies them through the webhook's path, for a bug fixed after events were
    /// refused; events applied already stay no-ops.
    Replay {
        /// One event (evt_...); or give --since.
        #[arg(required_unless_present = "since", conflicts_with = "since", value_parser = event_id)]
        event_id: Option<String>,
        /// Every event since: `2d`, `12h`, a date (2026-12-01) or an RFC 3339 time.
        #[arg(long, value_parser = since)]
        since: Option<DateTime<Utc>>,
        /// List the events it would replay; apply nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: Output,
    },
}

fn event_id(text: &str) -> Result<String, String> {
    match text.strip_prefix("evt_") {
        Some(rest) if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => Ok(text.to_owned()),
        _ => Err(format!("{text:?} is not a Stripe event id (evt_...)")),
    }
}

pub(super) async fn run(ops: &Ops, command: Command, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let state = ops.state()?;
    match command {
        Command::SyncPrices { apply, output } => {
            let (differences, written) = app::support::sync_prices(&state, apply).await?;
            for plan in &written {
                ops.audit("stripe sync-prices", plan, "catalogue price ids", "Stripe's price ids").await;
            }
            report(out, &output, json!({"differences": differences, "written": written, "applied": apply}), || {
                differences
                    .iter()
                    .map(|d| format!("{} {}: {} catalogue {:?}, Stripe {:?}\n", d.plan, d.lookup_key, d.field, d.catalogue, d.stripe))
                    .collect::<String>()
                    + &format!(
                        "{} differences; {} plans written{}",
                        differences.len(),
                        written.len(),
                        if apply { "" } else { " (run with --apply to write the price ids)" }
                    )
            })
        }
        Command::Replay { event_id, since, dry_run, output } => {
            if let Some(since) = since {
                app::webhook::check_replay_window(since)?;
            }
            if dry_run {
                let payloads = match (&event_id, since) {
                    (Some(id), _) => vec![state.payments.event(id).await?],
                    (None, Some(since)) => state.payments.events_since(since.timestamp()).await?,
                    (None, None) => anyhow::bail!("give an event id or --since"),
                };
                let listed: Vec<_> =
                    payloads.iter().filter_map(|p| adapters::payments::events::parse(p).ok()).map(|e| (e.id, e.type_)).collect();
                return report(out, &output, json!({"would_replay": listed, "dry_run": true}), || {
                    listed.iter().map(|(id, kind)| format!("{id} {kind}\n")).collect::<String>()
                        + &format!("would replay {} events (already applied ones stay no-ops)", listed.len())
                });
            }
            let replayed = match (&event_id, since) {
                (Some(id), _) => vec![Box::pin(app::webhook::replay_event(&state, id)).await?],
                (None, Some(since)) => Box::pin(app::webhook::replay_since(&state, since)).await?,
                (None, None) => anyhow::bail!("give an event id or --since"),
            };
            for event in replayed.iter().filter(|r| r.applied) {
                ops.audit("stripe replay", &event.event_id, "not applied", event.outcome).await;
            }
            report(out, &output, json!({"replayed": replayed}), || {
                replayed
                    .iter()
                    .map(|r| {
                        format!("{} {}: {}{}\n", r.event_id, r.event_type, r.outcome, if r.applied { "" } else { " (already applied)" })
                    })
                    .collect::<String>()
                    + &format!("{} events replayed, {} applied now", replayed.len(), replayed.iter().filter(|r| r.applied).count())
            })
        }
    }
}
