//! Counters over a fixed window opened by the first event, counted with an atomic
//! `ADD`, expired by TTL (and by `window_ends_at` on read): login failures (15
//! minutes) and the mails a user can make the app send (an hour).
//!
//! A login reads its counters with the email's claim (`login_lookup`, one
//! BatchGetItem), so it knows each counter's state and writes each failure with the
//! one write that state needs, both counters in one call; a counter that changed in
//! between (a concurrent failure opened its window, or it ended) fails that write's
//! condition and is counted again by `count_in_window`, which reads nothing and tries
//! both writes.

use aws_sdk_dynamodb::types::{Delete, ReturnValue, TransactWriteItem, Update};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::{Store, is_conditional_failure, key, n};

pub const LOGIN_FAILURE_WINDOW: Duration = Duration::minutes(15);
const THROTTLE_SK: &str = "THROTTLE";

fn throttle_pk(scope: &str, subject: &str) -> String {
    format!("THROTTLE#{scope}#{subject}")
}

#[derive(Clone, Debug, Deserialize)]
struct Counter {
    failures: i64,
    window_ends_at: i64,
}

/// One subject's failure counter, as a login read it.
#[derive(Clone, Debug)]
pub struct FailureCount {
    pk: String,
    read: Option<Counter>,
}

impl FailureCount {
    /// Seconds until the subject may try again, if it has `max_failures` or more in
    /// the current window.
    pub fn blocked_for(&self, max_failures: i64, now: DateTime<Utc>) -> Option<u64> {
        self.open(now).filter(|c| c.failures >= max_failures).map(|c| (c.window_ends_at - now.timestamp()) as u64)
    }

    /// The counter, while its window lasts.
    fn open(&self, now: DateTime<Utc>) -> Option<&Counter> {
        self.read.as_ref().filter(|c| c.window_ends_at > now.timestamp())
    }
}

/// What a login reads first.
#[derive(Debug)]
pub struct LoginLookup {
    /// The user the email's claim names; None for an unknown email.
    pub user_id: Option<String>,
    /// Each subject's counter, in the order asked.
    pub counts: Vec<FailureCount>,
}

/// The write that counts one event on a counter: `ADD` to its open window, or a new
/// window of one. Each is conditional on the state it expects.
fn counter_write(table: &str, pk: &str, window_open: bool, window: Duration, now: DateTime<Utc>) -> anyhow::Result<Update> {
    let update =
        Update::builder().table_name(table).set_key(Some(key(pk, THROTTLE_SK))).expression_attribute_values(":now", n(now.timestamp()));
    let update = if window_open {
        update
            .update_expression("ADD failures :one")
            .condition_expression("window_ends_at > :now")
            .expression_attribute_values(":one", n(1))
    } else {
        let ends = (now + window).timestamp();
        update
            .update_expression("SET failures = :one, window_ends_at = :ends, #ttl = :ends")
            .condition_expression("attribute_not_exists(pk) OR window_ends_at <= :now")
            .expression_attribute_names("#ttl", super::schema::TTL_ATTRIBUTE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ends", n(ends))
    };
    Ok(update.build()?)
}

impl Store {
    /// The email's claim and the subjects' (scope, subject) counters, in one strongly
    /// consistent BatchGetItem.
    pub async fn login_lookup(&self, normalized_email: &str, subjects: &[(&str, &str)]) -> anyhow::Result<LoginLookup> {
        let claim = super::identity::email_key(normalized_email);
        let pks: Vec<String> = subjects.iter().map(|(scope, subject)| throttle_pk(scope, subject)).collect();
        let keys: Vec<(&str, &str)> =
            std::iter::once((claim.0.as_str(), claim.1)).chain(pks.iter().map(|pk| (pk.as_str(), THROTTLE_SK))).collect();
        let mut found = self.get_many(&keys).await?;
        let user_id = super::identity::claimed_user(&mut found, normalized_email)?;
        let counts =
            pks.into_iter().map(|pk| Ok(FailureCount { read: found.take(&pk, THROTTLE_SK)?, pk })).collect::<anyhow::Result<_>>()?;
        Ok(LoginLookup { user_id, counts })
    }

    /// Counts one failed login on each counter, as read: one UpdateItem, or one
    /// transaction for two. A counter that changed since it was read is counted
    /// again on its own (`count_in_window`), as is every counter of a transaction that
    /// DynamoDB cancelled (nothing of it was written).
    pub async fn record_login_failures(&self, counts: &[FailureCount], now: DateTime<Utc>) -> anyhow::Result<()> {
        let writes = counts
            .iter()
            .map(|count| counter_write(&self.table, &count.pk, count.open(now).is_some(), LOGIN_FAILURE_WINDOW, now))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let counted = match writes.as_slice() {
            [] => true,
            [write] => self.update_counter(write.clone()).await?.is_some(),
            _ => {
                let items = writes.into_iter().map(|write| TransactWriteItem::builder().update(write).build()).collect();
                match self.transact(items).await {
                    Ok(_) => true,
                    Err(err) if err.as_service_error().is_some_and(|e| e.is_transaction_canceled_exception()) => false,
                    Err(err) => return Err(err.into()),
                }
            }
        };
        if !counted {
            for count in counts {
                self.count_at(&count.pk, LOGIN_FAILURE_WINDOW, now).await?;
            }
        }
        Ok(())
    }

    /// Counts one event for `subject` in a window of `window` opened by the first;
    /// returns the count so far and when the window ends (epoch seconds).
    pub async fn count_in_window(&self, scope: &str, subject: &str, window: Duration, now: DateTime<Utc>) -> anyhow::Result<(i64, i64)> {
        self.count_at(&throttle_pk(scope, subject), window, now).await
    }

    async fn count_at(&self, pk: &str, window: Duration, now: DateTime<Utc>) -> anyhow::Result<(i64, i64)> {
        // Twice at most: a concurrent event may open the window between our two writes.
        for _ in 0..2 {
            for window_open in [true, false] {
                if let Some(counted) = self.update_counter(counter_write(&self.table, pk, window_open, window, now)?).await? {
                    return Ok(counted);
                }
            }
        }
        anyhow::bail!("the counter {pk} kept changing under us")
    }

    /// Sends one counter write; the count and window end after it, or None when its
    /// condition failed (the counter is not in the state the write expects).
    async fn update_counter(&self, write: Update) -> anyhow::Result<Option<(i64, i64)>> {
        let result = self.update_alone(write).return_values(ReturnValue::AllNew).send().await;
        match result {
            Ok(output) => {
                let number = |name: &str| {
                    output.attributes.as_ref().and_then(|a| a.get(name)).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
                };
                Ok(Some((number("failures").unwrap_or(1), number("window_ends_at").unwrap_or_default())))
            }
            Err(err) if is_conditional_failure(&err) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// The delete that clears a counter after a successful login, when its window is
    /// still open (an ended one no longer counts, and expires by itself).
    pub(crate) fn clear_failures(&self, count: &FailureCount, now: DateTime<Utc>) -> anyhow::Result<Option<TransactWriteItem>> {
        if count.open(now).is_none() {
            return Ok(None);
        }
        let delete = Delete::builder().table_name(&self.table).set_key(Some(key(&count.pk, THROTTLE_SK))).build()?;
        Ok(Some(TransactWriteItem::builder().delete(delete).build()))
    }
}
