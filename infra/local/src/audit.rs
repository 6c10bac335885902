//! The audit line of a change an operator made: one JSON log line (through `tracing`
//! with `web::telemetry`'s keys; `ops` writes its logs to stderr, so stdout stays the
//! command's output), `message` "operator change", with `audit` (the command), `who`
//! (the operator's AWS principal from STS `GetCallerIdentity`; where STS cannot answer,
//! the profile or user the environment names, and `who_source` says which), `subject`
//! (the id changed) and `before` / `after` (JSON). It holds ids, statuses, dates and
//! flags: never a secret, a token or a payload (the principal's ARN names a role or a
//! user, not a credential).

/// Who runs this process.
#[derive(Debug)]
pub struct Operator {
    pub who: String,
    /// `sts` when AWS vouches for `who`; `environment` when only the machine says so.
    pub source: &'static str,
}

/// The caller's AWS identity: STS `GetCallerIdentity`'s ARN (the IAM user or assumed
/// role session the credentials belong to; it needs no permission). Where STS cannot
/// answer (no credentials, no network), the profile or login name in the environment,
/// marked as such.
pub async fn operator(sdk: &aws_config::SdkConfig) -> Operator {
    match aws_sdk_sts::Client::new(sdk).get_caller_identity().send().await {
        Ok(identity) if identity.arn.is_some() => Operator { who: identity.arn.unwrap_or_default(), source: "sts" },
        answer => {
            if let Err(err) = answer {
                tracing::warn!(error = %aws_sdk_sts::error::DisplayErrorContext(&err), "STS GetCallerIdentity failed: the audit names the environment's user");
            }
            let who = std::env::var("AWS_PROFILE").or_else(|_| std::env::var("USER")).unwrap_or_else(|_| "unknown".to_owned());
            Operator { who, source: "environment" }
        }
    }
}

/// Logs one change.
pub fn log<B: serde::Serialize + ?Sized, A: serde::Serialize + ?Sized>(
    operator: &Operator,
    command: &str,
    subject: &str,
    before: &B,
    after: &A,
) {
    tracing::info!(
        audit = command,
        who = operator.who,
        who_source = operator.source,
        subject,
        before = compact(before),
        after = compact(after),
        "operator change"
    );
}

/// Compact JSON (`null` for what cannot be written).
fn compact<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}
