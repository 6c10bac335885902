//! The audit line every `ops` command that writes prints: who (the operator's AWS
//! principal from STS `GetCallerIdentity`; where STS cannot answer, the profile or
//! user the environment names), what, before and after. Never a secret: the
//! principal's ARN names a role or user, not a credential.

use tokio::sync::OnceCell;

/// Who runs this process, asked of STS once.
pub async fn principal(sdk: &aws_config::SdkConfig) -> &'static str {
    static WHO: OnceCell<String> = OnceCell::const_new();
    WHO.get_or_init(|| async {
        match aws_sdk_sts::Client::new(sdk).get_caller_identity().send().await {
            Ok(identity) => identity.arn().unwrap_or("unknown").to_owned(),
            Err(_) => std::env::var("AWS_PROFILE").or_else(|_| std::env::var("USER")).unwrap_or_else(|_| "unknown".to_owned()),
        }
    })
    .await
}

/// One audit line.
pub fn line(who: &str, command: &str, subject: &str, before: &str, after: &str) -> serde_json::Value {
    serde_json::json!({"audit": command, "who": who, "subject": subject, "before": before, "after": after})
}
