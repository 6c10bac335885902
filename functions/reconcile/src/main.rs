//! Lambda entry point: build the state once per cold start, then reconcile on each
//! scheduled event (its payload is not read).

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    web::telemetry::init();
    let state = app::AppState::from_env().await?;
    let state = &state;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        reconcile::handle(state).await.map_err(lambda_runtime::Error::from)
    }))
    .await
}
