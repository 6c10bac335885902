//! `ops orders ...`: orders by status, and a refused refund tried again through the one
//! fulfilment path (`app::fulfilment::retry_refund`).

use std::io::Write;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Subcommand, ValueEnum};
use serde_json::json;

use super::{Ops, Output, dry_run_note, report, since};
use domain::order::OrderStatus;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lists the orders in a status, newest first (a Scan of the table: an operator's
    /// question, never a request's).
    List {
        #[arg(long, value_enum, default_value = "refund_failed")]
        status: ListedStatus,
        /// Only orders created since: `4d`, `12h`, a date (2026-12-01) or an RFC 3339 time.
        #[arg(long, value_parser = since)]
        since: Option<DateTime<Utc>>,
        #[command(flatten)]
        output: Output,
    },
    /// Puts a refund_failed order's payment through the one fulfilment path again (same
    /// idempotency key, settle and email); a no-op for any other order.
    RetryRefund {
        order_id: String,
        /// Show what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ListedStatus {
    #[value(name = "refund_failed")]
    RefundFailed,
    #[value(name = "pending")]
    Pending,
}

pub(super) async fn run(ops: &Ops, command: Command, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let state = ops.state()?;
    match command {
        Command::List { status, since, output } => {
            let status = match status {
                ListedStatus::RefundFailed => OrderStatus::RefundFailed,
                ListedStatus::Pending => OrderStatus::Pending,
            };
            let mut orders: Vec<_> =
                state.store.orders_in_status(status).await?.into_iter().filter(|o| since.is_none_or(|c| o.created_at >= c)).collect();
            orders.sort_by_key(|o| std::cmp::Reverse(o.created_at));
            let rows: Vec<serde_json::Value> = orders
                .iter()
                .map(|o| json!({"order_id": o.id, "kind": o.item.kind(), "account_id": o.account_id, "amount_cents": o.amount_cents, "created_at": o.created_at, "refund": o.refund}))
                .collect();
            report(out, &output, json!({"orders": rows}), || {
                orders
                    .iter()
                    .map(|o| format!("{} {} {} {} {}\n", o.created_at.to_rfc3339(), o.id, o.item.kind(), o.account_id, o.amount_cents))
                    .collect::<String>()
                    + &format!("{} orders {}", orders.len(), name(status))
            })
        }
        Command::RetryRefund { order_id, dry_run, output } => {
            let before = state.store.order(&order_id).await?.with_context(|| format!("no order {order_id}"))?.status;
            let outcome = app::fulfilment::retry_refund(&state, &order_id, dry_run).await?;
            let after = state.store.order(&order_id).await?.map_or(before, |o| o.status);
            if before != after {
                ops.audit("orders retry-refund", &order_id, &before, &after).await;
            }
            let json = json!({"order_id": order_id, "before": before, "after": after, "outcome": outcome, "changed": before != after, "dry_run": dry_run});
            report(out, &output, json, || {
                format!("order {order_id}: {} -> {} ({outcome}){}", name(before), name(after), dry_run_note(dry_run))
            })
        }
    }
}

/// A status as JSON names it (`refund_failed`).
fn name(status: OrderStatus) -> String {
    serde_json::to_value(status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}
