//! The worker's jobs: what `task-worker` takes off the queue. A task effect of an
//! acquired benefit (`tasks::apply`, exactly once per task) or a password-reset mail
//! (`identity::send_password_reset`).

use serde::Deserialize;
use tracing::Instrument;

use crate::identity::ResetMailJob;
use crate::state::AppState;
use domain::petition::TaskMessage;

/// One message's job, told apart by its fields.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Job {
    Task(TaskMessage),
    ResetMail(ResetMailJob),
}

/// The worker's batch: applies each message, returns the ids of those that failed
/// (SQS partial batch response), logging why.
pub async fn apply_batch(state: &AppState, messages: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    let mut failed = Vec::new();
    for (message_id, body) in messages {
        // Each message's lines carry its id (`correlation_id`).
        let span = tracing::info_span!("message", correlation_id = %message_id);
        let outcome = async {
            match serde_json::from_str::<Job>(&body) {
                Ok(Job::Task(message)) => crate::tasks::apply(state, &message).await,
                Ok(Job::ResetMail(job)) => crate::identity::send_password_reset(state, &job).await,
                Err(err) => Err(anyhow::anyhow!("unreadable queue message: {err}")),
            }
        }
        .instrument(span.clone())
        .await;
        if let Err(err) = outcome {
            if let Some(dependency) = adapters::unavailable::dependency_of(&err) {
                crate::metrics::dependency_unavailable(dependency);
            }
            span.in_scope(|| tracing::error!(message_id, error = format!("{err:#}"), "queue message failed; SQS will redeliver it"));
            failed.push(message_id);
        }
    }
    failed
}
