//! Lambda entry point: build the state once per cold start, then serve the router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let state = shared::AppState::from_env().await?;
    lambda_http::run(shared::http::serve(billing::router(state))).await
}
