//! Invitations live in their account's collection (`ACCOUNT#<id>` / `INVITE#<id>`,
//! pattern 6: list = one Query, revoke = one conditional update). A separate code item
//! (`INVITECODE#<sha256>`) names the invite for sign-up: unique by conditional put,
//! strongly consistent (a GSI would not be). An address item
//! (`ACCOUNT#<id>` / `INVITEEMAIL#<lowercased email>`) names the latest invite to that
//! address, written in the invite's transaction on the condition that it is absent or
//! names the invite the caller found no longer pending: one pending invite per address
//! and account, whatever the concurrency.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::identity::account_pk;
use super::{Store, from_item, is_conditional_failure, item, key, s};
use domain::account::User;
use domain::invite::Invite;

fn invite_sk(invite_id: &str) -> String {
    format!("INVITE#{invite_id}")
}

fn code_pk(digest: &str) -> String {
    format!("INVITECODE#{digest}")
}

const CODE_SK: &str = "INVITECODE";

#[derive(Serialize, Deserialize)]
struct InviteCode {
    account_id: String,
    invite_id: String,
    ttl: i64,
}

/// The latest invite to one address.
#[derive(Serialize, Deserialize)]
struct InviteAddress {
    invite_id: String,
}

#[derive(Debug, PartialEq)]
pub enum RevokeOutcome {
    Revoked,
    AlreadyAccepted,
    NotFound,
}

impl Store {
    /// Writes the invite, its code item and its address item in one transaction; false
    /// when another invite to the address got there first. `replacing` is the latest
    /// earlier invite to the address, which the caller found no longer pending.
    pub async fn create_invite(&self, invite: &Invite, code_digest: &str, replacing: Option<&str>) -> anyhow::Result<bool> {
        let code = InviteCode { account_id: invite.account_id.clone(), invite_id: invite.id.clone(), ttl: invite.expires_at.timestamp() };
        let put = |item, condition: &str| -> anyhow::Result<TransactWriteItem> {
            let put = Put::builder().table_name(&self.table).set_item(Some(item)).condition_expression(condition).build()?;
            Ok(TransactWriteItem::builder().put(put).build())
        };
        let address = InviteAddress { invite_id: invite.id.clone() };
        let mut claim = Put::builder().table_name(&self.table).set_item(Some(item(
            &account_pk(&invite.account_id),
            &format!("INVITEEMAIL#{}", invite.email.normalized()),
            &address,
        )?));
        claim = match replacing {
            Some(old) => {
                claim.condition_expression("attribute_not_exists(pk) OR invite_id = :old").expression_attribute_values(":old", s(old))
            }
            None => claim.condition_expression("attribute_not_exists(pk)"),
        };
        let result = self
            .transact(vec![
                put(item(&account_pk(&invite.account_id), &invite_sk(&invite.id), invite)?, "attribute_not_exists(pk)")?,
                put(item(&code_pk(code_digest), CODE_SK, &code)?, "attribute_not_exists(pk)")?,
                TransactWriteItem::builder().put(claim.build()?).build(),
            ])
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if err.as_service_error().and_then(super::first_condition_failed) == Some(2) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    pub async fn mark_invite_emailed(&self, account_id: &str, invite_id: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&account_pk(account_id), &invite_sk(invite_id))))
            .update_expression("SET email_sent_at = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .send()
            .await?;
        Ok(())
    }

    /// The account's invitations (one Query).
    pub async fn invites(&self, account_id: &str) -> anyhow::Result<Vec<Invite>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :invite)")
            .expression_attribute_values(":pk", s(account_pk(account_id)))
            .expression_attribute_values(":invite", s("INVITE#"))
            .send()
            .await?;
        output.items.unwrap_or_default().into_iter().map(from_item).collect()
    }

    /// The invite a sign-up code names: two reads (code item, then invite).
    pub async fn invite_by_code(&self, code_digest: &str) -> anyhow::Result<Option<Invite>> {
        let Some(code) = self.get::<InviteCode>(&code_pk(code_digest), CODE_SK).await? else { return Ok(None) };
        self.get(&account_pk(&code.account_id), &invite_sk(&code.invite_id)).await
    }

    /// Soft-revokes (idempotent: a second revoke keeps the first time). Refused
    /// once the invite was accepted.
    pub async fn revoke_invite(&self, account_id: &str, invite_id: &str, now: DateTime<Utc>) -> anyhow::Result<RevokeOutcome> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&account_pk(account_id), &invite_sk(invite_id))))
            .update_expression("SET revoked_at = if_not_exists(revoked_at, :now)")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(used_at)")
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(RevokeOutcome::Revoked),
            Err(err) if is_conditional_failure(&err) => {
                let existed = match err.into_service_error() {
                    UpdateItemError::ConditionalCheckFailedException(e) => e.item.is_some_and(|item| !item.is_empty()),
                    _ => false,
                };
                Ok(if existed { RevokeOutcome::AlreadyAccepted } else { RevokeOutcome::NotFound })
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Creates the invited user and marks the invite used, in one transaction: the
    /// email claim and the invite's validity (not used, not revoked) are both
    /// conditions. Expiry is checked by the caller just before.
    pub async fn accept_invite(&self, invite: &Invite, user: &User, now: DateTime<Utc>) -> Result<(), AcceptError> {
        let use_invite = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(&account_pk(&invite.account_id), &invite_sk(&invite.id))))
            .update_expression("SET used_at = :now")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(used_at) AND attribute_not_exists(revoked_at)")
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .build()
            .map_err(anyhow::Error::from)?;
        let mut items = self.member_items(user)?;
        items.push(TransactWriteItem::builder().update(use_invite).build());
        match self.transact(items).await {
            Ok(_) => Ok(()),
            Err(err) => {
                let err = err.into_service_error();
                match super::first_condition_failed(&err) {
                    Some(0) => Err(AcceptError::EmailTaken),
                    Some(_) => Err(AcceptError::InviteNoLongerValid),
                    None => Err(AcceptError::Store(err.into())),
                }
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("email already registered")]
    EmailTaken,
    #[error("the invitation stopped being valid")]
    InviteNoLongerValid,
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}
