//! Lambda entry point: build the state once per cold start, then handle SQS batches.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    web::telemetry::init("task-worker");
    let state = app::AppState::from_env().await?;
    let state = &state;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        // Each message's lines carry its own id as the correlation id.
        let response =
            web::telemetry::invocation(&event.context, None, "task-worker", Box::pin(task_worker::handle(state, event.payload))).await;
        Ok::<_, lambda_runtime::Error>(response)
    }))
    .await
}
