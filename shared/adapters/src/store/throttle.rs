//! Counters over a fixed window opened by the first event, counted with an atomic
//! `ADD`, expired by TTL (and by `window_ends_at` on read): login failures (15
//! minutes) and the mails a user can make the app send (an hour).

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::{Store, is_conditional_failure, key, n};

pub const LOGIN_FAILURE_WINDOW: Duration = Duration::minutes(15);
const THROTTLE_SK: &str = "THROTTLE";

fn throttle_pk(scope: &str, subject: &str) -> String {
    format!("THROTTLE#{scope}#{subject}")
}

#[derive(Deserialize)]
struct Counter {
    failures: i64,
    window_ends_at: i64,
}

impl Store {
    /// Seconds until the caller may try again, if `subject` has `max_failures` or
    /// more in the current window.
    pub async fn login_blocked_for(
        &self,
        scope: &str,
        subject: &str,
        max_failures: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<u64>> {
        let counter = self.get::<Counter>(&throttle_pk(scope, subject), THROTTLE_SK).await?;
        Ok(counter
            .filter(|c| c.failures >= max_failures && c.window_ends_at > now.timestamp())
            .map(|c| (c.window_ends_at - now.timestamp()) as u64))
    }

    /// Counts one failure; returns the failures in the current window.
    pub async fn record_login_failure(&self, scope: &str, subject: &str, now: DateTime<Utc>) -> anyhow::Result<i64> {
        Ok(self.count_in_window(scope, subject, LOGIN_FAILURE_WINDOW, now).await?.0)
    }

    /// Counts one event for `subject` in a window of `window` opened by the first;
    /// returns the count so far and when the window ends (epoch seconds).
    pub async fn count_in_window(&self, scope: &str, subject: &str, window: Duration, now: DateTime<Utc>) -> anyhow::Result<(i64, i64)> {
        let pk = throttle_pk(scope, subject);
        // Twice at most: a concurrent failure may open the window between our two writes.
        for _ in 0..2 {
            let added = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(&pk, THROTTLE_SK)))
                .update_expression("ADD failures :one")
                .condition_expression("window_ends_at > :now")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(now.timestamp()))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
                .send()
                .await;
            match added {
                Ok(output) => {
                    let number = |name: &str| {
                        output.attributes.as_ref().and_then(|a| a.get(name)).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
                    };
                    return Ok((number("failures").unwrap_or(1), number("window_ends_at").unwrap_or((now + window).timestamp())));
                }
                Err(err) if is_conditional_failure(&err) => {}
                Err(err) => return Err(err.into()),
            }
            let window_ends_at = (now + window).timestamp();
            let opened = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(key(&pk, THROTTLE_SK)))
                .item("failures", n(1))
                .item("window_ends_at", n(window_ends_at))
                .item(super::schema::TTL_ATTRIBUTE, n(window_ends_at))
                .condition_expression("attribute_not_exists(pk) OR window_ends_at <= :now")
                .expression_attribute_values(":now", n(now.timestamp()))
                .send()
                .await;
            match opened {
                Ok(_) => return Ok((1, window_ends_at)),
                Err(err) if is_conditional_failure(&err) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        anyhow::bail!("the {scope} counter kept changing under us")
    }

    pub async fn clear_login_failures(&self, scope: &str, subject: &str) -> anyhow::Result<()> {
        self.client.delete_item().table_name(&self.table).set_key(Some(key(&throttle_pk(scope, subject), THROTTLE_SK))).send().await?;
        Ok(())
    }
}
