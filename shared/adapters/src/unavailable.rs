//! Which dependency, if any, an error says was unavailable: throttled, failing with a
//! 5xx, unreachable or timing out after the client's own retries. The HTTP edge answers
//! those 503 `service_unavailable` with `Retry-After` (a client should try again), and
//! everything else 500 (a bug of ours).

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation as ddb;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchError;

use crate::payments::{PaymentsError, StripeFailure};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dependency {
    Dynamodb,
    Sqs,
    Ses,
    Stripe,
    Openid,
}

impl Dependency {
    /// The name in logs and in the `DependencyUnavailable` metric's dimension.
    pub fn as_str(self) -> &'static str {
        match self {
            Dependency::Dynamodb => "dynamodb",
            Dependency::Sqs => "sqs",
            Dependency::Ses => "ses",
            Dependency::Stripe => "stripe",
            Dependency::Openid => "openid",
        }
    }
}

/// AWS error codes that mean "not now" rather than "never": throttling, a service
/// fault, and a transaction that lost a race with another (the store retries those
/// itself first).
const TRANSIENT_CODES: [&str; 10] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "TransactionInProgressException",
    "TransactionConflict",
];

/// The dependency that was unavailable, if the error (or any error in its chain) says so.
pub fn dependency_of(err: &anyhow::Error) -> Option<Dependency> {
    err.chain().find_map(cause_dependency)
}

fn cause_dependency(cause: &(dyn std::error::Error + 'static)) -> Option<Dependency> {
    macro_rules! sdk {
        ($dependency:expr, $($op:ty),+) => {$(
            if let Some(err) = cause.downcast_ref::<SdkError<$op>>() {
                return sdk_transient(err).then_some($dependency);
            }
            if let Some(err) = cause.downcast_ref::<$op>() && is_transient(err) {
                return Some($dependency);
            }
        )+};
    }
    sdk!(
        Dependency::Dynamodb,
        ddb::get_item::GetItemError,
        ddb::put_item::PutItemError,
        ddb::update_item::UpdateItemError,
        ddb::delete_item::DeleteItemError,
        ddb::query::QueryError,
        ddb::batch_get_item::BatchGetItemError,
        ddb::batch_write_item::BatchWriteItemError,
        ddb::transact_write_items::TransactWriteItemsError,
        ddb::scan::ScanError
    );
    sdk!(Dependency::Sqs, SendMessageBatchError);
    sdk!(Dependency::Ses, SendEmailError);
    if let Some(err) = cause.downcast_ref::<PaymentsError>() {
        return matches!(err, PaymentsError::Stripe(failure) if stripe_transient(failure)).then_some(Dependency::Stripe);
    }
    cause.downcast_ref::<StripeFailure>().and_then(|failure| stripe_transient(failure).then_some(Dependency::Stripe))
}

fn sdk_transient<E: ProvideErrorMetadata + std::error::Error + 'static>(err: &SdkError<E>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(context) => context.raw().status().is_server_error() || is_transient(context.err()),
        _ => false,
    }
}

fn is_transient<E: ProvideErrorMetadata + std::error::Error + 'static>(err: &E) -> bool {
    if err.code().is_some_and(|code| TRANSIENT_CODES.contains(&code)) {
        return true;
    }
    // A cancelled transaction is transient when it lost a race and no condition failed.
    let reasons =
        (err as &dyn std::error::Error).downcast_ref::<ddb::transact_write_items::TransactWriteItemsError>().and_then(|e| match e {
            ddb::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => Some(c.cancellation_reasons()),
            _ => None,
        });
    reasons.is_some_and(is_conflict_only)
}

/// A transaction's cancellation reasons name a conflict with another request and no
/// failed condition: the same transaction may succeed if sent again.
pub fn is_conflict_only(reasons: &[aws_sdk_dynamodb::types::CancellationReason]) -> bool {
    let codes = || reasons.iter().filter_map(|reason| reason.code());
    codes().any(|code| code == "TransactionConflict") && codes().all(|code| code == "TransactionConflict" || code == "None")
}

/// Stripe's own advice: 429 and 5xx may be retried; so may a request that never got an answer.
fn stripe_transient(failure: &StripeFailure) -> bool {
    match failure {
        StripeFailure::Api { status, code, .. } => *status == 429 || *status >= 500 || code == "idempotency_key_in_use",
        StripeFailure::Transport(_) | StripeFailure::Unreadable(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripe(status: u16, code: &str) -> anyhow::Error {
        let failure = StripeFailure::Api { status, kind: "api_error".into(), code: code.into(), message: "m".into() };
        anyhow::Error::from(PaymentsError::Stripe(failure)).context("refunding")
    }

    #[test]
    fn stripe_answers_that_a_retry_may_fix_are_unavailability() {
        assert_eq!(dependency_of(&stripe(500, "")), Some(Dependency::Stripe));
        assert_eq!(dependency_of(&stripe(429, "rate_limit")), Some(Dependency::Stripe));
        assert_eq!(dependency_of(&stripe(409, "idempotency_key_in_use")), Some(Dependency::Stripe));
        assert_eq!(dependency_of(&stripe(400, "parameter_invalid_integer")), None, "our bug");
        assert_eq!(dependency_of(&anyhow::anyhow!("a bug")), None);
    }

    #[test]
    fn a_transaction_that_only_lost_a_race_may_be_retried() {
        use aws_sdk_dynamodb::types::CancellationReason;
        let reason = |code: &str| CancellationReason::builder().code(code).build();
        assert!(is_conflict_only(&[reason("None"), reason("TransactionConflict")]));
        assert!(!is_conflict_only(&[reason("ConditionalCheckFailed"), reason("TransactionConflict")]));
        assert!(!is_conflict_only(&[reason("None"), reason("None")]));
    }
}
