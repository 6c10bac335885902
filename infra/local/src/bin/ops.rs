//! Operator commands.
//!
//! - `ops setup` — creates the table, the task queue (+ DLQ) and the sender identity if
//!   missing; prints `TASK_QUEUE_URL=...`.
//! - `ops seed-demo` — creates the demo owner account (idempotent) and prints its
//!   credentials.

use anyhow::Context;
use aws_config::BehaviorVersion;
use secrecy::SecretString;

const DEMO_EMAIL: &str = "demo@example.com";
const DEMO_PASSWORD: &str = "demo-password-1";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let command = std::env::args().nth(1).unwrap_or_default();
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    match command.as_str() {
        "setup" => {
            let table = std::env::var("TABLE_NAME").context("TABLE_NAME")?;
            let queue = std::env::var("TASK_QUEUE_NAME").unwrap_or_else(|_| "tasks".to_owned());
            let from = std::env::var("EMAIL_FROM").context("EMAIL_FROM")?;
            let created = local::setup::ensure_resources(&sdk, &table, &queue, &from).await?;
            println!("TASK_QUEUE_URL={}", created.task_queue_url);
        }
        "seed-demo" => {
            let state = shared::AppState::new(shared::config::Config::from_env()?, &sdk);
            let input = shared::identity::RegisterInput {
                email: DEMO_EMAIL.to_owned(),
                password: SecretString::from(DEMO_PASSWORD),
                name: "Demo Owner".to_owned(),
                account_name: Some("Demo Shop".to_owned()),
                account_invite_code: None,
                role_at_signup: Some("owner".to_owned()),
            };
            match shared::identity::register(&state, input).await {
                Ok(_) => println!("demo owner created"),
                Err(err) if err.code() == "email_taken" => println!("demo owner already exists"),
                Err(err) => anyhow::bail!("seeding the demo owner: {err}"),
            }
            println!("demo credentials: email={DEMO_EMAIL} password={DEMO_PASSWORD}");
        }
        other => anyhow::bail!("unknown command {other:?}; use setup | seed-demo"),
    }
    Ok(())
}
