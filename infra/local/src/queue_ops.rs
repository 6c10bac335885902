//! The operator's view of the task queue's dead letters (`ops queue peek-dlq`,
//! `ops queue redrive`): what failed three receives, and moving it back once its cause
//! is fixed. The worker's effects are idempotent, so a redriven message does its work
//! once even if it had half done it before.

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct DeadLetter {
    pub message_id: String,
    pub body: String,
}

/// The dead letters, without taking them (visibility timeout 0): at most `max`.
pub async fn peek(sqs: &aws_sdk_sqs::Client, dlq_url: &str, max: i32) -> anyhow::Result<Vec<DeadLetter>> {
    let received = sqs.receive_message().queue_url(dlq_url).max_number_of_messages(max.clamp(1, 10)).visibility_timeout(0).send().await?;
    Ok(received
        .messages
        .unwrap_or_default()
        .into_iter()
        .map(|m| DeadLetter { message_id: m.message_id.unwrap_or_default(), body: m.body.unwrap_or_default() })
        .collect())
}

/// Moves up to `max` dead letters back to the task queue: each is sent to the queue,
/// then deleted from the DLQ (a crash in between leaves it in both: the worker's
/// idempotence makes that harmless). With `dry_run`, lists what would move.
pub async fn redrive(
    sqs: &aws_sdk_sqs::Client,
    dlq_url: &str,
    queue_url: &str,
    max: usize,
    dry_run: bool,
) -> anyhow::Result<Vec<DeadLetter>> {
    let mut moved = Vec::new();
    while moved.len() < max {
        let want = i32::try_from((max - moved.len()).min(10)).unwrap_or(10);
        // Hidden for a minute while it moves, so a concurrent redrive does not take it too.
        let visibility = if dry_run { 0 } else { 60 };
        let received = sqs.receive_message().queue_url(dlq_url).max_number_of_messages(want).visibility_timeout(visibility).send().await?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for message in messages {
            let letter =
                DeadLetter { message_id: message.message_id.clone().unwrap_or_default(), body: message.body.clone().unwrap_or_default() };
            if !dry_run {
                sqs.send_message().queue_url(queue_url).message_body(&letter.body).send().await?;
                if let Some(handle) = &message.receipt_handle {
                    sqs.delete_message().queue_url(dlq_url).receipt_handle(handle).send().await?;
                }
            }
            moved.push(letter);
        }
        if dry_run {
            break;
        }
    }
    Ok(moved)
}

/// The DLQ of a task queue, as `setup` names it (`<queue>-dlq`).
pub async fn dlq_url_of(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> anyhow::Result<String> {
    let name = queue_url.rsplit('/').next().unwrap_or_default();
    let output = sqs.get_queue_url().queue_name(format!("{name}-dlq")).send().await?;
    output.queue_url.ok_or_else(|| anyhow::anyhow!("no dead-letter queue {name}-dlq"))
}
