//! Lambda entry point for the SQS task worker.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let ids = event.payload["Records"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|record| record["messageId"].as_str().map(str::to_owned));
        let failures: Vec<Value> = ids.map(|id| json!({"itemIdentifier": id})).collect();
        Ok::<_, lambda_runtime::Error>(json!({"batchItemFailures": failures}))
    }))
    .await
}
