//! Lambda entry point: build the state once per cold start, then serve the router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    web::telemetry::init("billing");
    let state = app::AppState::from_env().await?;
    lambda_http::run(web::http::serve(web::http::route_group("billing", billing::router(state)))).await
}
