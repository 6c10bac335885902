//! The DynamoDB store: one table, two GSIs, conditional writes for every uniqueness
//! and exactly-once rule, transactions where several items change together.
//!
//! # Key schema
//!
//! Every item has `pk` and `sk`; items that expire carry `ttl` (epoch seconds, the
//! table's TTL attribute) *and* an `expires_at` checked on read, because DynamoDB
//! deletes expired items lazily (up to days later).
//!
//! | entity                  | pk                         | sk             | gsi1pk / gsi1sk               |
//! |-------------------------|----------------------------|----------------|-------------------------------|
//! | Account                 | `ACCOUNT#<id>`             | `ACCOUNT`      | —                             |
//! | Subscription            | `ACCOUNT#<id>`             | `SUBSCRIPTION` | —                             |
//! | Will count (plan limit) | `ACCOUNT#<id>`             | `COUNT#WILLS`  | —                             |
//! | User                    | `USER#<id>`                | `USER`         | `ACCOUNT#<account>` / `USER#<id>` |
//! | Email claim (unique)    | `EMAIL#<lowercased email>` | `EMAIL`        | —                             |
//! | Refresh token           | `REFRESH#<sha256>`         | `REFRESH`      | —                             |
//! | Refresh family (revoked)| `FAMILY#<id>`              | `FAMILY`       | —                             |
//! | Invitation              | `ACCOUNT#<id>`             | `INVITE#<id>`  | —                             |
//! | Invitation code (unique)| `INVITECODE#<sha256>`      | `INVITECODE`   | —                             |
//! | OAuth identity (unique) | `IDENTITY#<provider>#<sub>`| `IDENTITY`     | `USER#<user>` / `IDENTITY#<provider>` |
//! | OAuth pending authorization | `OAUTHSTATE#<sha256>`  | `OAUTHSTATE`   | —                             |
//! | Billing plan            | `CATALOGUE#BILLING`        | `PLAN#<plan>`  | —                             |
//! | Catalogue version       | `CATALOGUE#BILLING`, `CATALOGUE#PETITIONS` | `VERSION` | —              |
//! | Sales lead              | `LEAD#<lowercased email>`  | `LEAD#<time>#<id>` | —                         |
//! | Order                   | `ORDER#<id>`               | `ORDER`        | `ACCOUNT#<account>` / `ORDER#<created>` |
//! | One-time token          | `ONETIME#<kind>#<sha256>`  | `ONETIME`      | —                             |
//! | Login-failure counter   | `THROTTLE#<scope>#<key>`   | `THROTTLE`     | —                             |
//! | Will, will payment      | `USER#<id>`                | `WILL#<id>`, `WILLPAY#<will>#<order>` | —       |
//! | Petition catalogue      | `TEMPLATE#<id>`, `TASKMODEL#<id>` | see `catalogue.rs` | templates, models by preset |
//! | Petition, its benefits, tasks and task data | `PETITION#<id>` | see `petitions.rs` | `ACCOUNT#<account>` / `PETITION#<created>` |
//!
//! `gsi2pk`/`gsi2sk` serves lookups by external ids: the account item carries
//! `STRIPECUSTOMER#<id>` once it has a Stripe customer.
//!
//! # Access patterns (numbers from ACCESS-PATTERNS.md)
//!
//! 1. User by id: GetItem `USER#id`. User by email: GetItem `EMAIL#lower` (holds the
//!    user id) then GetItem `USER#id` — two strongly consistent reads; a GSI on email
//!    would be one read but eventually consistent, and login right after sign-up
//!    must see the user.
//! 2. Account's users: Query GSI1 `gsi1pk = ACCOUNT#id`.
//! 3. OAuth identity by (provider, subject): GetItem `IDENTITY#p#s`; a user's
//!    identities: Query GSI1 `gsi1pk = USER#id`, `begins_with(gsi1sk, IDENTITY#)`.
//! 4. Refresh token by hash: GetItem `REFRESH#hash`; family revocation: one item
//!    `FAMILY#id` checked inside the rotation transaction.
//! 5. Verification / reset tokens: GetItem `ONETIME#kind#hash`, consumed by a
//!    transaction that deletes it (conditionally) and applies its effect.
//! 6. Invitations: Query `ACCOUNT#id` with `begins_with(sk, "INVITE#")`; by code: GetItem
//!    `INVITECODE#<sha256>` then GetItem the invite (see `invites.rs`).
//! 7. Login failures: UpdateItem `ADD` on `THROTTLE#login-email#<email>`.
//! 8. Subscription by account: GetItem `ACCOUNT#id / SUBSCRIPTION`; the guards read it
//!    with the user (and the will a wills route names) in one BatchGetItem
//!    (`caller.rs`).
//! 10. Billing catalogue: Query `CATALOGUE#BILLING` (every plan; held in memory by the
//!     functions with the catalogue's version, `catalogue.rs`).
//! 12. Order by id: GetItem `ORDER#id`; an account's orders: Query GSI1 `ACCOUNT#id`,
//!     `begins_with(gsi1sk, ORDER#)`.
//! 13. Sales leads by email: Query `LEAD#<email>`.
//! - 14 to 17 (catalogue, petitions, benefits and tasks): see `catalogue.rs` and
//!   `petitions.rs` (each pattern one Query or one GetItem).
//! - 18 and 19 (wills and their payments): see `wills.rs`.

pub mod billing;
pub mod caller;
pub mod catalogue;
pub mod identity;
pub mod invites;
pub mod oauth;
pub mod orders;
pub mod petitions;
pub mod schema;
pub mod stripe;
pub mod throttle;
pub mod tokens;
pub mod wills;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::{TransactWriteItemsError, TransactWriteItemsOutput};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub type Item = HashMap<String, AttributeValue>;

/// How many times a transaction cancelled only by a conflict is sent again.
const CONFLICT_RETRIES: u32 = 3;

#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Store { client, table: table.into() }
    }

    /// The store with a DynamoDB client of the function's SDK configuration.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Store::new(Client::new(sdk), table)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Runs a transaction, sending it again (at most `CONFLICT_RETRIES` times, after a
    /// short random pause) while DynamoDB cancels it only because a concurrent request
    /// touched one of its items (`TransactionConflict`, no condition failed): nothing
    /// was written, and the next attempt usually goes through.
    pub(crate) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<TransactWriteItemsOutput, aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>> {
        let mut conflicts = 0;
        loop {
            let result = self.client.transact_write_items().set_transact_items(Some(items.clone())).send().await;
            let lost_a_race = match &result {
                Err(err) => match err.as_service_error() {
                    Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                        crate::unavailable::is_conflict_only(c.cancellation_reasons())
                    }
                    _ => false,
                },
                Ok(_) => false,
            };
            if !lost_a_race || conflicts == CONFLICT_RETRIES {
                return result;
            }
            conflicts += 1;
            tokio::time::sleep(std::time::Duration::from_millis(fastrand::u64(10..=50) * u64::from(conflicts))).await;
        }
    }

    /// Writes a new item (its key must not exist yet); see `put_if`.
    pub(crate) async fn put_new(&self, item: Item) -> anyhow::Result<()> {
        anyhow::ensure!(self.put_if(item, "attribute_not_exists(pk)", Vec::new()).await?, "an item with this key exists already");
        Ok(())
    }

    /// Writes `item` if `condition` holds; false when it does not. When the answer to
    /// the write was lost and the SDK's retry meets the very item the first attempt
    /// wrote, that is our own write: true (DynamoDB returns the item that failed the
    /// condition, so no second read is needed).
    pub(crate) async fn put_if(&self, item: Item, condition: &str, values: Vec<(&str, AttributeValue)>) -> anyhow::Result<bool> {
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item.clone()))
            .condition_expression(condition)
            .return_values_on_condition_check_failure(aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld);
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err) => match err.as_service_error() {
                Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(failed)) => {
                    Ok(failed.item() == Some(&item))
                }
                _ => Err(err.into()),
            },
        }
    }

    /// Reads one item (strongly consistent) and maps it to `T`.
    /// The UpdateItem request of an `Update` built for a transaction, when it is sent on
    /// its own (the caller adds what it wants back and sends it).
    fn update_alone(
        &self,
        update: aws_sdk_dynamodb::types::Update,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(update.key))
            .update_expression(update.update_expression)
            .set_condition_expression(update.condition_expression)
            .set_expression_attribute_names(update.expression_attribute_names)
            .set_expression_attribute_values(update.expression_attribute_values)
    }

    async fn get<T: DeserializeOwned>(&self, pk: &str, sk: &str) -> anyhow::Result<Option<T>> {
        if !fits_key(pk, sk) {
            return Ok(None);
        }
        let output = self.client.get_item().table_name(&self.table).set_key(Some(key(pk, sk))).consistent_read(true).send().await?;
        output.item.map(|item| from_item(item)).transpose()
    }
}

/// How many times keys that a BatchGetItem left unprocessed (throttled) are asked for again.
const UNPROCESSED_RETRIES: u32 = 4;

/// Items a BatchGetItem found, by key; each taken out as its type.
pub(crate) struct Found(HashMap<(String, String), Item>);

impl Found {
    pub(crate) fn take<T: DeserializeOwned>(&mut self, pk: &str, sk: &str) -> anyhow::Result<Option<T>> {
        self.0.remove(&(pk.to_owned(), sk.to_owned())).map(from_item).transpose()
    }
}

impl Store {
    /// The items at `keys` (distinct, at most 100) in one strongly consistent
    /// BatchGetItem. Keys DynamoDB leaves unprocessed (throttling) are asked for again
    /// after a short pause; still unprocessed, it is a throttling error (the edge's 503).
    pub(crate) async fn get_many(&self, keys: &[(&str, &str)]) -> anyhow::Result<Found> {
        let mut found = HashMap::new();
        let mut pending: Vec<Item> = keys.iter().filter(|(pk, sk)| fits_key(pk, sk)).map(|(pk, sk)| key(pk, sk)).collect();
        for attempt in 0..=UNPROCESSED_RETRIES {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(fastrand::u64(10..=50) * u64::from(attempt))).await;
            }
            let request = aws_sdk_dynamodb::types::KeysAndAttributes::builder().set_keys(Some(pending)).consistent_read(true).build()?;
            let output = self.client.batch_get_item().request_items(&self.table, request).send().await?;
            for item in output.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default() {
                let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                found.insert((text("pk"), text("sk")), item);
            }
            pending = output.unprocessed_keys.and_then(|mut u| u.remove(&self.table)).map(|k| k.keys).unwrap_or_default();
            if pending.is_empty() {
                return Ok(Found(found));
            }
        }
        let throttled = aws_sdk_dynamodb::types::error::ProvisionedThroughputExceededException::builder()
            .message("keys of a BatchGetItem stayed unprocessed")
            .meta(aws_sdk_dynamodb::error::ErrorMetadata::builder().code("ProvisionedThroughputExceededException").build())
            .build();
        Err(aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemError::ProvisionedThroughputExceededException(throttled).into())
    }
}

/// Whether DynamoDB could hold an item under this key (partition keys up to 2048
/// bytes, sort keys up to 1024): one that could not names nothing, and asking for it
/// would be refused (a client's overlong id is a 404, not a 500).
fn fits_key(pk: &str, sk: &str) -> bool {
    (1..=2048).contains(&pk.len()) && (1..=1024).contains(&sk.len())
}

/// Serialises `value` and adds the key attributes.
pub(crate) fn item<T: Serialize>(pk: &str, sk: &str, value: &T) -> anyhow::Result<Item> {
    let mut item: Item = serde_dynamo::aws_sdk_dynamodb_1::to_item(value)?;
    item.extend(key(pk, sk));
    Ok(item)
}

pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> anyhow::Result<T> {
    Ok(serde_dynamo::aws_sdk_dynamodb_1::from_item(item)?)
}

pub(crate) fn key(pk: &str, sk: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A failed transaction: the index of the first item whose condition failed, else the
/// error itself, kept whole (so an unavailable DynamoDB is still recognised as one).
pub(crate) fn condition_failed_at(
    err: aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>,
    what: impl std::fmt::Display,
) -> anyhow::Result<usize> {
    let err = err.into_service_error();
    match first_condition_failed(&err) {
        Some(index) => Ok(index),
        None => Err(anyhow::Error::from(err).context(format!("{what} failed"))),
    }
}

/// For a cancelled transaction, the index of the first item whose condition failed.
pub(crate) fn first_condition_failed(err: &aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError) -> Option<usize> {
    match err {
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(e) => {
            e.cancellation_reasons().iter().position(|reason| reason.code() == Some("ConditionalCheckFailed"))
        }
        _ => None,
    }
}

/// A conditional write's outcome: Ok(true) written, Ok(false) its condition failed.
pub(crate) fn written<T, E>(result: Result<T, aws_sdk_dynamodb::error::SdkError<E>>) -> anyhow::Result<bool>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(err) if is_conditional_failure(&err) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

pub(crate) fn is_conditional_failure<E>(err: &aws_sdk_dynamodb::error::SdkError<E>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

/// One value as the store writes it (so conditions compare like with like).
pub(crate) fn item_value<T: Serialize>(value: &T) -> anyhow::Result<AttributeValue> {
    Ok(serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(value)?)
}
