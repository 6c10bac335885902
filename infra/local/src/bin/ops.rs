//! The operator's command: `ops --help` lists what it does (`local::ops`).

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = local::ops::Cli::parse();
    // Logs and audit lines to stderr: stdout is the command's output.
    web::telemetry::init_with_writer("ops", std::io::stderr);
    let sdk = adapters::aws::aws_config_loader().load().await;
    local::ops::Ops::new(sdk).run(cli.command, &mut std::io::stdout()).await
}
