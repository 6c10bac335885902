//! `ops queue ...`: the task queue's dead letters (`crate::queue_ops`).

use std::io::Write;

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;

use super::{Ops, Output, dry_run_note, report};
use crate::queue_ops;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lists the task queue's dead letters without taking them.
    PeekDlq {
        /// At most this many (SQS gives 10 a receive).
        #[arg(long, default_value_t = 10)]
        max: usize,
        #[command(flatten)]
        output: Output,
    },
    /// Moves dead letters back to the task queue once their cause is fixed (the worker's
    /// effects are idempotent: a redriven message does its work once).
    Redrive {
        #[arg(long, default_value_t = 10)]
        max: usize,
        /// Show what would move; move nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: Output,
    },
}

pub(super) async fn run(ops: &Ops, command: Command, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let queue_url = ops.state()?.config.task_queue_url.clone().context("TASK_QUEUE_URL")?;
    let sqs = aws_sdk_sqs::Client::new(&ops.sdk);
    let dlq_url = queue_ops::dlq_url_of(&sqs, &queue_url).await?;
    match command {
        Command::PeekDlq { max, output } => {
            let letters = queue_ops::peek(&sqs, &dlq_url, i32::try_from(max).unwrap_or(10)).await?;
            report(out, &output, json!({"dead_letters": letters}), || {
                letters.iter().map(|l| format!("{}: {}\n", l.message_id, l.body)).collect::<String>()
                    + &format!("{} dead letters", letters.len())
            })
        }
        Command::Redrive { max, dry_run, output } => {
            let moved = queue_ops::redrive(&sqs, &dlq_url, &queue_url, max, dry_run).await?;
            if !dry_run {
                for letter in &moved {
                    ops.audit("queue redrive", &letter.message_id, &"dead-lettered", &"back on the task queue").await;
                }
            }
            report(out, &output, json!({"moved": moved, "changed": !dry_run && !moved.is_empty(), "dry_run": dry_run}), || {
                format!(
                    "{} {} dead letters to the task queue{}",
                    if dry_run { "would move" } else { "moved" },
                    moved.len(),
                    dry_run_note(dry_run)
                )
            })
        }
    }
}
