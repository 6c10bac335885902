//! Lambda entry point: build the state once per cold start, then reconcile on each
//! scheduled event (only its id is read: the run's correlation id).

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    web::telemetry::init("reconcile");
    let state = app::AppState::from_env().await?;
    let state = &state;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let event_id = event.payload.get("id").and_then(Value::as_str).map(str::to_owned);
        let run = reconcile::handle(state);
        web::telemetry::invocation(&event.context, event_id.as_deref(), "reconcile", run).await.map_err(lambda_runtime::Error::from)
    }))
    .await
}
