//! The task worker against the emulator's queue, standing in for Lambda's SQS event
//! source mapping: receive a batch, hand it to the real handler as the same SQS event
//! JSON Lambda would send, delete what succeeded. Failed messages stay and come back
//! after the visibility timeout (then the redrive policy dead-letters them).

use std::time::Duration;

use app::AppState;
use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::json;

/// One receive–handle–delete round; returns how many messages it received.
pub async fn poll_once(state: &AppState, sqs: &aws_sdk_sqs::Client, queue_url: &str, visibility_timeout: i32) -> anyhow::Result<usize> {
    let received =
        sqs.receive_message().queue_url(queue_url).max_number_of_messages(10).visibility_timeout(visibility_timeout).send().await?;
    let messages = received.messages.unwrap_or_default();
    if messages.is_empty() {
        return Ok(0);
    }
    let records: Vec<_> = messages
        .iter()
        .map(|m| json!({"messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body, "eventSource": "aws:sqs", "attributes": {}, "messageAttributes": {}}))
        .collect();
    let event: SqsEvent = serde_json::from_value(json!({ "Records": records }))?;
    // Lambda's context, as the local stand-in has one: a fresh request id, a local ARN.
    let mut context = lambda_runtime::Context::default();
    context.request_id = uuid::Uuid::new_v4().to_string();
    context.invoked_function_arn = web::telemetry::local_function_arn("task-worker");
    let response = web::telemetry::invocation(&context, None, "task-worker", Box::pin(task_worker::handle(state, event))).await;
    for message in &messages {
        let failed = response.batch_item_failures.iter().any(|f| Some(&f.item_identifier) == message.message_id.as_ref());
        if let (false, Some(handle)) = (failed, &message.receipt_handle) {
            sqs.delete_message().queue_url(queue_url).receipt_handle(handle).send().await?;
        }
    }
    Ok(messages.len())
}

/// Polls forever (the local server runs this beside the API).
pub async fn run(state: AppState, sqs: aws_sdk_sqs::Client, queue_url: String) {
    loop {
        match poll_once(&state, &sqs, &queue_url, 30).await {
            Ok(0) => tokio::time::sleep(Duration::from_millis(500)).await,
            Ok(_) => {}
            Err(err) => {
                tracing::error!(error = format!("{err:#}"), "polling the task queue failed");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}
