//! Lambda entry point: build the state once per cold start, then handle SQS batches.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    web::telemetry::init();
    let state = app::AppState::from_env().await?;
    let state = &state;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(task_worker::handle(state, event.payload).await)
    }))
    .await
}
