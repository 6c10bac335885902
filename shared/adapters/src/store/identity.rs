//! Accounts, users, email claims and subscriptions.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Item, Store, from_item, item, key, s};
use domain::account::{Account, PrimaryPsa, Subscription, TeamSizeBucket, User};

pub fn account_pk(account_id: &str) -> String {
    format!("ACCOUNT#{account_id}")
}

pub fn user_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

/// An account's will count, kept with the account's other items.
pub(crate) const WILL_COUNT_SK: &str = "COUNT#WILLS";

/// The item that starts a new account's will count.
pub(crate) fn empty_will_count(account_id: &str) -> Item {
    let mut counter = key(&account_pk(account_id), WILL_COUNT_SK);
    counter.insert("wills".into(), super::n(0));
    counter
}

fn email_pk(normalized_email: &str) -> String {
    format!("EMAIL#{normalized_email}")
}

pub const ACCOUNT_SK: &str = "ACCOUNT";
pub const SUBSCRIPTION_SK: &str = "SUBSCRIPTION";
pub const USER_SK: &str = "USER";
const EMAIL_SK: &str = "EMAIL";

#[derive(Serialize, Deserialize)]
struct EmailClaim {
    user_id: String,
}

/// An id no user has (see `user_for_login`).
const NO_USER_ID: &str = "00000000-0000-0000-0000-000000000000";

/// The key of an email's claim.
pub(crate) fn email_key(normalized_email: &str) -> (String, &'static str) {
    (email_pk(normalized_email), EMAIL_SK)
}

/// The user id of an email's claim among items read by key.
pub(crate) fn claimed_user(found: &mut super::Found, normalized_email: &str) -> anyhow::Result<Option<String>> {
    Ok(found.take::<EmailClaim>(&email_pk(normalized_email), EMAIL_SK)?.map(|claim| claim.user_id))
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("email already registered")]
    EmailTaken,
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

fn user_item(user: &User) -> anyhow::Result<Item> {
    let mut item = item(&user_pk(&user.id), USER_SK, user)?;
    item.insert("gsi1pk".into(), s(account_pk(&user.account_id)));
    item.insert("gsi1sk".into(), s(user_pk(&user.id)));
    Ok(item)
}

fn put(item: Item, table: &str, condition: Option<&str>) -> anyhow::Result<TransactWriteItem> {
    let put = Put::builder().table_name(table).set_item(Some(item)).set_condition_expression(condition.map(Into::into));
    Ok(TransactWriteItem::builder().put(put.build()?).build())
}

/// Partial update of an account's onboarding fields; `None` leaves a field unchanged.
#[derive(Debug, Default)]
pub struct AccountPatch {
    pub name: Option<String>,
    pub team_size_bucket: Option<TeamSizeBucket>,
    pub primary_psa: Option<PrimaryPsa>,
}

impl Store {
    /// Writes a new shop in one transaction: the email claim (conditional: emails are
    /// unique case-insensitively), the owner user, the account, its trial and its
    /// will count.
    pub async fn create_shop(&self, account: &Account, owner: &User, subscription: &Subscription) -> Result<(), CreateUserError> {
        self.transact_creating_user(self.shop_items(account, owner, subscription)?).await
    }

    /// A new shop's writes: email claim (first, conditional), owner, account, trial,
    /// its will count.
    pub(crate) fn shop_items(
        &self,
        account: &Account,
        owner: &User,
        subscription: &Subscription,
    ) -> anyhow::Result<Vec<TransactWriteItem>> {
        let mut items = self.member_items(owner)?;
        items.push(put(item(&account_pk(&account.id), ACCOUNT_SK, account)?, &self.table, Some("attribute_not_exists(pk)"))?);
        items.push(put(item(&account_pk(&account.id), SUBSCRIPTION_SK, subscription)?, &self.table, None)?);
        items.push(put(empty_will_count(&account.id), &self.table, None)?);
        Ok(items)
    }

    /// Runs a transaction whose first item is the email claim.
    async fn transact_creating_user(&self, items: Vec<TransactWriteItem>) -> Result<(), CreateUserError> {
        match self.transact(items).await {
            Ok(_) => Ok(()),
            Err(err) => {
                let err = err.into_service_error();
                if super::first_condition_failed(&err) == Some(0) {
                    Err(CreateUserError::EmailTaken)
                } else {
                    Err(CreateUserError::Store(err.into()))
                }
            }
        }
    }

    /// Adds a user to an existing account: the email claim (conditional) and the user.
    pub async fn create_member(&self, user: &User) -> Result<(), CreateUserError> {
        self.transact_creating_user(self.member_items(user)?).await
    }

    /// The writes that add a user: the email claim first (conditional), then the user.
    pub(crate) fn member_items(&self, user: &User) -> anyhow::Result<Vec<TransactWriteItem>> {
        let claim = item(&email_pk(&user.email.normalized()), EMAIL_SK, &EmailClaim { user_id: user.id.clone() })?;
        Ok(vec![
            put(claim, &self.table, Some("attribute_not_exists(pk)"))?,
            put(user_item(user)?, &self.table, Some("attribute_not_exists(pk)"))?,
        ])
    }

    pub async fn user(&self, user_id: &str) -> anyhow::Result<Option<User>> {
        self.get(&user_pk(user_id), USER_SK).await
    }

    /// The user an email's claim names, read as a login reads it: for an unknown email
    /// (`None`) a user nobody is (the nil UUID: ids are random v4 UUIDs, never nil), so
    /// that an unknown email costs the same GetItem as a known one.
    pub async fn user_for_login(&self, claimed: Option<&str>) -> anyhow::Result<Option<User>> {
        self.user(claimed.unwrap_or(NO_USER_ID)).await
    }

    /// Two reads: the email claim, then the user it names.
    pub async fn user_by_email(&self, normalized_email: &str) -> anyhow::Result<Option<User>> {
        let Some(claim) = self.get::<EmailClaim>(&email_pk(normalized_email), EMAIL_SK).await? else {
            return Ok(None);
        };
        self.user(&claim.user_id).await
    }

    pub async fn account(&self, account_id: &str) -> anyhow::Result<Option<Account>> {
        self.get(&account_pk(account_id), ACCOUNT_SK).await
    }

    pub async fn subscription(&self, account_id: &str) -> anyhow::Result<Option<Subscription>> {
        self.get(&account_pk(account_id), SUBSCRIPTION_SK).await
    }

    /// Writes (replaces) an account's subscription.
    pub async fn put_subscription(&self, subscription: &Subscription) -> anyhow::Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(&account_pk(&subscription.account_id), SUBSCRIPTION_SK, subscription)?))
            .send()
            .await?;
        Ok(())
    }

    /// Sets a new password, which also ends a required change and every session that
    /// began before `now_ms` but `keep` (the caller's).
    pub async fn set_password_hash(&self, user_id: &str, password_hash: &str, now_ms: i64, keep: &str) -> anyhow::Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&user_pk(user_id), USER_SK)))
            .update_expression("SET password_hash = :v, sessions_ended_before_ms = :cut, session_kept = :keep REMOVE must_change_password")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":v", s(password_hash))
            .expression_attribute_values(":cut", super::n(now_ms))
            .expression_attribute_values(":keep", s(keep))
            .send()
            .await?;
        Ok(())
    }

    /// The ids of an account's users (pattern 2: Query GSI1 `ACCOUNT#id`).
    pub async fn member_ids(&self, account_id: &str) -> anyhow::Result<Vec<String>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(super::schema::GSI1)
            .key_condition_expression("gsi1pk = :pk AND begins_with(gsi1sk, :user)")
            .expression_attribute_values(":pk", s(account_pk(account_id)))
            .expression_attribute_values(":user", s("USER#"))
            .send()
            .await?;
        Ok(output.items.unwrap_or_default().iter().filter_map(|i| i.get("id").and_then(|v| v.as_s().ok()).cloned()).collect())
    }

    pub async fn set_onboarding_step(&self, user_id: &str, step: u8) -> anyhow::Result<()> {
        self.update_user(user_id, "SET onboarding_step_completed = :v", super::n(step)).await
    }

    async fn update_user(&self, user_id: &str, expression: &str, value: aws_sdk_dynamodb::types::AttributeValue) -> anyhow::Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&user_pk(user_id), USER_SK)))
            .update_expression(expression)
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":v", value)
            .send()
            .await?;
        Ok(())
    }

    /// Applies a patch and returns the updated account (one UpdateItem).
    /// Marks the user deactivated (once: a deactivated user keeps the first time).
    /// False when the user does not exist or was deactivated already.
    pub async fn deactivate_user(&self, user_id: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&user_pk(user_id), USER_SK)))
            .update_expression("SET deactivated_at = :now")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(deactivated_at) OR attribute_type(deactivated_at, :null))",
            )
            .expression_attribute_values(":now", super::item_value(&now)?)
            .expression_attribute_values(":null", s("NULL"))
            .send()
            .await;
        super::written(result)
    }

    /// Replaces the account's feature overrides, if they are still `seen` (an operator's
    /// read-modify-write; false when they changed in between).
    pub async fn set_feature_overrides(
        &self,
        account_id: &str,
        seen: &std::collections::BTreeMap<String, bool>,
        overrides: &std::collections::BTreeMap<String, bool>,
    ) -> anyhow::Result<bool> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&account_pk(account_id), ACCOUNT_SK)))
            .update_expression("SET feature_overrides = :new")
            .expression_attribute_values(":new", serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(overrides)?);
        // An account without overrides stores none (the field is skipped when empty).
        request = if seen.is_empty() {
            request
                .condition_expression(
                    "attribute_exists(pk) AND (attribute_not_exists(feature_overrides) OR size(feature_overrides) = :zero)",
                )
                .expression_attribute_values(":zero", super::n(0))
        } else {
            request
                .condition_expression("feature_overrides = :seen")
                .expression_attribute_values(":seen", serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(seen)?)
        };
        super::written(request.send().await)
    }

    /// Moves the end of a trial or of a complimentary grant, if the subscription is
    /// still in `status` with the end read (`seen_end`).
    pub async fn set_period_end(
        &self,
        account_id: &str,
        status: domain::account::SubscriptionStatus,
        seen_end: Option<DateTime<Utc>>,
        end: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&account_pk(account_id), SUBSCRIPTION_SK)))
            .update_expression("SET current_period_end = :end")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":end", super::item_value(&end)?)
            .expression_attribute_values(":status", super::item_value(&status)?);
        request = match seen_end {
            Some(seen) => request
                .condition_expression("#status = :status AND current_period_end = :seen")
                .expression_attribute_values(":seen", super::item_value(&seen)?),
            None => request
                .condition_expression(
                    "#status = :status AND (attribute_not_exists(current_period_end) OR attribute_type(current_period_end, :null))",
                )
                .expression_attribute_values(":null", s("NULL")),
        };
        super::written(request.send().await)
    }

    /// Applies a patch and returns the updated account (one UpdateItem).
    pub async fn update_account(&self, account_id: &str, patch: &AccountPatch) -> anyhow::Result<Option<Account>> {
        let mut sets = Vec::new();
        let mut request = self.client.update_item().table_name(&self.table);
        if let Some(name) = &patch.name {
            sets.push("#name = :name");
            request = request.expression_attribute_names("#name", "name").expression_attribute_values(":name", s(name));
        }
        if let Some(bucket) = patch.team_size_bucket {
            sets.push("team_size_bucket = :bucket");
            request = request.expression_attribute_values(":bucket", serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(bucket)?);
        }
        if let Some(psa) = patch.primary_psa {
            sets.push("primary_psa = :psa");
            request = request.expression_attribute_values(":psa", serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(psa)?);
        }
        if sets.is_empty() {
            return self.account(account_id).await;
        }
        let output = request
            .set_key(Some(key(&account_pk(account_id), ACCOUNT_SK)))
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression("attribute_exists(pk)")
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await?;
        output.attributes.map(from_item).transpose()
    }

    /// Marks a user's email verified (keeps the first time).
    pub(crate) fn verify_email_update(&self, user_id: &str, now: DateTime<Utc>) -> anyhow::Result<aws_sdk_dynamodb::types::Update> {
        Ok(aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(&user_pk(user_id), USER_SK)))
            .update_expression("SET email_verified_at = if_not_exists(email_verified_at, :now)")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .build()?)
    }

    /// A reset's new password: it ends every session that began before `now_ms`.
    pub(crate) fn set_password_update(
        &self,
        user_id: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> anyhow::Result<aws_sdk_dynamodb::types::Update> {
        Ok(aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(&user_pk(user_id), USER_SK)))
            .update_expression("SET password_hash = :v, sessions_ended_before_ms = :cut REMOVE must_change_password, session_kept")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":v", s(password_hash))
            .expression_attribute_values(":cut", super::n(now_ms))
            .build()?)
    }
}
