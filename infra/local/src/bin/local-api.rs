//! Serves every route group on 127.0.0.1:$PORT (default 3000), and the API docs page
//! at /docs.

use anyhow::Context;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    web::telemetry::init("local-api");
    // One SDK configuration for the app and the queue poller, as the functions build it.
    let sdk = adapters::aws::function_sdk_config().await?;
    let state = app::AppState::new(adapters::config::Config::from_env()?, &sdk);
    let port: u16 = std::env::var("PORT").ok().map(|p| p.parse()).transpose().context("PORT")?.unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.with_context(|| format!("binding port {port}"))?;
    tracing::info!(url = %format!("http://127.0.0.1:{port}"), "serving the API");
    if let Some(queue_url) = state.config.task_queue_url.clone() {
        tokio::spawn(local::worker::run(state.clone(), aws_sdk_sqs::Client::new(&sdk), queue_url));
    }
    axum::serve(listener, local::app(state).merge(local::docs::router(local::docs::assets_dir())))
        .with_graceful_shutdown(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await?;
    Ok(())
}
