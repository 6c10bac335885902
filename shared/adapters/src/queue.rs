//! The work queue: benefit-triggered task effects and reset mails go to SQS and
//! `task-worker` applies them (at least once; each job is idempotent or harmless
//! twice; see `jobs`).

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use crate::lazy_client::{LazyClient, lazy_client};

#[derive(Clone)]
pub struct TaskQueue {
    client: LazyClient<aws_sdk_sqs::Client>,
    url: Option<String>,
}

impl TaskQueue {
    pub fn new(client: impl FnOnce() -> aws_sdk_sqs::Client + Send + 'static, url: Option<String>) -> Self {
        TaskQueue { client: lazy_client(client), url }
    }

    /// The queue with an SQS client of the function's SDK configuration, built on
    /// first use.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, url: Option<String>) -> Self {
        let sdk = sdk.clone();
        TaskQueue::new(move || aws_sdk_sqs::Client::new(&sdk), url)
    }

    /// Sends the messages in batches of ten (SQS's limit); fails if any entry failed,
    /// so the caller's delivery is retried (duplicates are harmless).
    pub async fn send<T: serde::Serialize>(&self, messages: &[T]) -> anyhow::Result<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let url = self.url.as_deref().ok_or_else(|| anyhow::anyhow!("TASK_QUEUE_URL is not set"))?;
        for chunk in messages.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, message)| {
                    Ok(SendMessageBatchRequestEntry::builder().id(i.to_string()).message_body(serde_json::to_string(message)?).build()?)
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let output = self.client.send_message_batch().queue_url(url).set_entries(Some(entries)).send().await?;
            if !output.failed.is_empty() {
                anyhow::bail!("{} task messages were not accepted by SQS", output.failed.len());
            }
        }
        Ok(())
    }
}
