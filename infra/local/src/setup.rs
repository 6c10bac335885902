//! Creates what the API needs on an AWS endpoint (the emulator, or a real account's
//! sandbox): the table, the task queue with its DLQ, a verified sender identity.

use aws_config::SdkConfig;

/// After this many failed receives a task message moves to the DLQ.
pub const MAX_RECEIVE_COUNT: u32 = 3;

pub struct Created {
    pub task_queue_url: String,
}

pub async fn ensure_resources(sdk: &SdkConfig, table: &str, queue: &str, email_from: &str) -> anyhow::Result<Created> {
    adapters::store::schema::ensure_table(&aws_sdk_dynamodb::Client::new(sdk), table).await?;
    let task_queue_url = ensure_queue(&aws_sdk_sqs::Client::new(sdk), queue).await?;
    aws_sdk_sesv2::Client::new(sdk).create_email_identity().email_identity(email_from).send().await.ok();
    Ok(Created { task_queue_url })
}

async fn ensure_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> anyhow::Result<String> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let dlq_url = sqs.create_queue().queue_name(format!("{name}-dlq")).send().await?.queue_url.unwrap_or_default();
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| anyhow::anyhow!("DLQ has no ARN"))?;
    let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT.to_string()});
    let url = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await?
        .queue_url
        .unwrap_or_default();
    Ok(url)
}
