//! What a request reads about its caller in one round trip: the user record (every
//! authenticated request reads it: role, session and deactivation take effect at once)
//! and, in the same strongly consistent BatchGetItem, the items of the caller's the
//! route needs whose keys the request names. The user alone is one GetItem.

use super::Store;
use super::identity::{ACCOUNT_SK, SUBSCRIPTION_SK, USER_SK, account_pk, user_pk};
use super::orders::{ORDER_SK, order_pk};
use super::wills::will_sk;
use domain::account::{Account, Subscription, User};
use domain::order::Order;
use domain::will::Will;

/// The items read with the user record.
#[derive(Clone, Copy, Debug, Default)]
pub struct Along<'a> {
    pub account: bool,
    pub subscription: bool,
    /// A will of the caller's: `USER#<caller>` / `WILL#<id>`, so the key is the tenancy check.
    pub will: Option<&'a str>,
    /// An order by id (`ORDER#<id>`): the caller checks that it is their account's.
    pub order: Option<&'a str>,
}

#[derive(Debug, Default)]
pub struct CallerRecords {
    pub user: Option<User>,
    pub account: Option<Account>,
    pub subscription: Option<Subscription>,
    pub will: Option<Will>,
    pub order: Option<Order>,
}

impl Store {
    /// The user `user_id` and what `along` names, in the account `account_id` (the
    /// access token's claims; the caller checks that the user is in that account).
    pub async fn caller_records(&self, user_id: &str, account_id: &str, along: Along<'_>) -> anyhow::Result<CallerRecords> {
        let (user, account) = (user_pk(user_id), account_pk(account_id));
        let will = along.will.map(will_sk);
        let order = along.order.map(order_pk);
        let mut keys = vec![(user.as_str(), USER_SK)];
        if along.account {
            keys.push((&account, ACCOUNT_SK));
        }
        if along.subscription {
            keys.push((&account, SUBSCRIPTION_SK));
        }
        if let Some(sk) = &will {
            keys.push((&user, sk));
        }
        if let Some(pk) = &order {
            keys.push((pk, ORDER_SK));
        }
        if keys.len() == 1 {
            return Ok(CallerRecords { user: self.user(user_id).await?, ..CallerRecords::default() });
        }
        let mut found = self.get_many(&keys).await?;
        Ok(CallerRecords {
            user: found.take(&user, USER_SK)?,
            account: found.take(&account, ACCOUNT_SK)?,
            subscription: found.take(&account, SUBSCRIPTION_SK)?,
            will: match &will {
                Some(sk) => found.take(&user, sk)?,
                None => None,
            },
            order: match &order {
                Some(pk) => found.take(pk, ORDER_SK)?,
                None => None,
            },
        })
    }
}
