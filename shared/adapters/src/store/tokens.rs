//! Refresh tokens (rotating, in families) and one-time tokens (email verification,
//! password reset). Only token digests are stored.

use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::throttle::FailureCount;
use super::{Store, first_condition_failed, item, key, n, s};

const REFRESH_SK: &str = "REFRESH";
const FAMILY_SK: &str = "FAMILY";
const ONETIME_SK: &str = "ONETIME";

fn refresh_pk(digest: &str) -> String {
    format!("REFRESH#{digest}")
}

fn family_pk(family_id: &str) -> String {
    format!("FAMILY#{family_id}")
}

fn onetime_pk(kind: OneTimeKind, digest: &str) -> String {
    format!("ONETIME#{}#{digest}", kind.as_str())
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RefreshToken {
    pub user_id: String,
    pub family_id: String,
    /// When the family (the session) began, in epoch milliseconds: a password change
    /// or reset ends the sessions that began before it.
    #[serde(default)]
    pub family_started_ms: i64,
    pub expires_at: DateTime<Utc>,
    /// Set when the token was exchanged for a new one; a second use is a reuse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<DateTime<Utc>>,
    /// DynamoDB TTL (epoch seconds).
    pub ttl: i64,
}

#[derive(Serialize)]
struct RevokedFamily {
    revoked_at: DateTime<Utc>,
    ttl: i64,
}

#[derive(Debug, PartialEq)]
pub enum RotateOutcome {
    Rotated,
    /// The old token had been rotated already (reuse) or its family was revoked.
    Refused,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OneTimeKind {
    EmailVerification,
    PasswordReset,
}

impl OneTimeKind {
    fn as_str(self) -> &'static str {
        match self {
            OneTimeKind::EmailVerification => "verify-email",
            OneTimeKind::PasswordReset => "password-reset",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OneTimeToken {
    pub user_id: String,
    pub expires_at: DateTime<Utc>,
    pub ttl: i64,
}

/// The effect a one-time token has when it is consumed.
pub enum OneTimeEffect<'a> {
    VerifyEmail,
    SetPassword { password_hash: &'a str },
}

impl Store {
    pub async fn put_refresh_token(&self, digest: &str, token: &RefreshToken) -> anyhow::Result<()> {
        self.put_new(item(&refresh_pk(digest), REFRESH_SK, token)?).await
    }

    /// A login's refresh token; with the email's failure counter cleared in the same
    /// transaction when its window is open (one call either way).
    pub async fn put_login_refresh_token(
        &self,
        digest: &str,
        token: &RefreshToken,
        failures: &FailureCount,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let Some(clear) = self.clear_failures(failures, now)? else { return self.put_refresh_token(digest, token).await };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item(&refresh_pk(digest), REFRESH_SK, token)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()?;
        self.transact(vec![TransactWriteItem::builder().put(put).build(), clear]).await?;
        Ok(())
    }

    pub async fn refresh_token(&self, digest: &str) -> anyhow::Result<Option<RefreshToken>> {
        self.get(&refresh_pk(digest), REFRESH_SK).await
    }

    /// Revokes every token of a family (one item the rotation checks).
    pub async fn revoke_family(&self, family_id: &str, now: DateTime<Utc>, ttl: i64) -> anyhow::Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(&family_pk(family_id), FAMILY_SK, &RevokedFamily { revoked_at: now, ttl })?))
            .send()
            .await?;
        Ok(())
    }

    /// Exchanges `old` for `new` in one transaction: the old token is marked rotated
    /// only if it was not already, the family must not be revoked, the new token is put.
    pub async fn rotate_refresh_token(
        &self,
        old_digest: &str,
        new_digest: &str,
        new: &RefreshToken,
        now: DateTime<Utc>,
    ) -> anyhow::Result<RotateOutcome> {
        let mark_rotated = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(&refresh_pk(old_digest), REFRESH_SK)))
            .update_expression("SET rotated_at = :now")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(rotated_at)")
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .build()?;
        let family_live = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(&family_pk(&new.family_id), FAMILY_SK)))
            .condition_expression("attribute_not_exists(pk)")
            .build()?;
        // The session is still open: no password change or reset ended it meanwhile.
        let session_open = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(&super::identity::user_pk(&new.user_id), super::identity::USER_SK)))
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(sessions_ended_before_ms) \
                 OR sessions_ended_before_ms <= :started OR session_kept = :family)",
            )
            .expression_attribute_values(":started", n(new.family_started_ms))
            .expression_attribute_values(":family", s(&new.family_id))
            .build()?;
        let put_new = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item(&refresh_pk(new_digest), REFRESH_SK, new)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()?;
        let items = vec![
            TransactWriteItem::builder().update(mark_rotated).build(),
            TransactWriteItem::builder().condition_check(family_live).build(),
            TransactWriteItem::builder().condition_check(session_open).build(),
            TransactWriteItem::builder().put(put_new).build(),
        ];
        match self.transact(items).await {
            Ok(_) => Ok(RotateOutcome::Rotated),
            Err(err) => {
                let err = err.into_service_error();
                if first_condition_failed(&err).is_some() { Ok(RotateOutcome::Refused) } else { Err(err.into()) }
            }
        }
    }

    pub async fn put_one_time_token(&self, kind: OneTimeKind, digest: &str, token: &OneTimeToken) -> anyhow::Result<()> {
        self.client.put_item().table_name(&self.table).set_item(Some(item(&onetime_pk(kind, digest), ONETIME_SK, token)?)).send().await?;
        Ok(())
    }

    pub async fn one_time_token(&self, kind: OneTimeKind, digest: &str) -> anyhow::Result<Option<OneTimeToken>> {
        self.get(&onetime_pk(kind, digest), ONETIME_SK).await
    }

    /// Deletes the token and applies its effect to the user in one transaction; the
    /// delete is conditional on the token still existing and being unexpired, so a
    /// token works once. Returns false when it was already used or has expired.
    pub async fn consume_one_time_token(
        &self,
        kind: OneTimeKind,
        digest: &str,
        user_id: &str,
        effect: OneTimeEffect<'_>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(&onetime_pk(kind, digest), ONETIME_SK)))
            .condition_expression("attribute_exists(pk) AND #ttl > :now")
            .expression_attribute_names("#ttl", super::schema::TTL_ATTRIBUTE)
            .expression_attribute_values(":now", n(now.timestamp()))
            .build()?;
        let update = match effect {
            OneTimeEffect::VerifyEmail => self.verify_email_update(user_id, now)?,
            OneTimeEffect::SetPassword { password_hash } => self.set_password_update(user_id, password_hash, now.timestamp_millis())?,
        };
        let items = vec![TransactWriteItem::builder().delete(delete).build(), TransactWriteItem::builder().update(update).build()];
        match self.transact(items).await {
            Ok(_) => Ok(true),
            Err(err) => {
                let err = err.into_service_error();
                if first_condition_failed(&err).is_some() { Ok(false) } else { Err(err.into()) }
            }
        }
    }
}
