//! Function `task-worker`: the SQS consumer of benefit-triggered task effects and
//! password-reset mails. The rules live in `app::jobs`; failed messages go back as partial batch failures,
//! so SQS redelivers only those (and dead-letters them after the redrive limit).

use app::AppState;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

pub async fn handle(state: &AppState, event: SqsEvent) -> SqsBatchResponse {
    let messages = event.records.into_iter().map(|record| (record.message_id.unwrap_or_default(), record.body.unwrap_or_default()));
    let mut response = SqsBatchResponse::default();
    for failed in app::jobs::apply_batch(state, messages).await {
        response.add_failure(failed);
    }
    response
}
