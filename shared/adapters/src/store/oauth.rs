//! OAuth identities and pending authorizations.
//!
//! - `IDENTITY#<provider>#<subject>` / `IDENTITY`: one per (provider, subject), created
//!   by conditional put; `gsi1pk = USER#<id>`, `gsi1sk = IDENTITY#<provider>` lists a
//!   user's providers (pattern 3).
//! - `OAUTHSTATE#<sha256(state)>` / `OAUTHSTATE`: the PKCE verifier, nonce and redirect
//!   URI of one authorization; expires (TTL) and is taken by a conditional delete, so a
//!   state works once (pattern 5).

use aws_sdk_dynamodb::types::{Put, ReturnValue, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::identity::user_pk;
use super::{Item, Store, first_condition_failed, from_item, item, key, s};
use domain::account::{Account, Subscription, User};

const IDENTITY_SK: &str = "IDENTITY";
const STATE_SK: &str = "OAUTHSTATE";

fn identity_pk(provider: &str, subject: &str) -> String {
    format!("IDENTITY#{provider}#{subject}")
}

fn state_pk(digest: &str) -> String {
    format!("OAUTHSTATE#{digest}")
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdentityLink {
    pub provider: String,
    pub subject: String,
    pub user_id: String,
    /// The email the provider asserted when the identity was linked (seed 002).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_email_at_link: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingAuthorization {
    pub provider: String,
    pub pkce_verifier: String,
    pub nonce: String,
    pub redirect_uri: String,
    pub expires_at: DateTime<Utc>,
    pub ttl: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum OAuthSignUpError {
    #[error("email already registered")]
    EmailTaken,
    #[error("identity already linked")]
    IdentityTaken,
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

fn identity_item(link: &IdentityLink) -> anyhow::Result<Item> {
    let mut item = item(&identity_pk(&link.provider, &link.subject), IDENTITY_SK, link)?;
    item.insert("gsi1pk".into(), s(user_pk(&link.user_id)));
    item.insert("gsi1sk".into(), s(format!("IDENTITY#{}", link.provider)));
    Ok(item)
}

impl Store {
    /// The identity's conditional put: one row per (provider, subject).
    fn identity_put(&self, link: &IdentityLink) -> anyhow::Result<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(identity_item(link)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub async fn put_pending_authorization(&self, state_digest: &str, pending: &PendingAuthorization) -> anyhow::Result<()> {
        self.put_new(item(&state_pk(state_digest), STATE_SK, pending)?).await
    }

    /// Deletes and returns the authorization: a second call for the same state gets None.
    pub async fn take_pending_authorization(&self, state_digest: &str) -> anyhow::Result<Option<PendingAuthorization>> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(&state_pk(state_digest), STATE_SK)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await?;
        output.attributes.filter(|a| !a.is_empty()).map(from_item).transpose()
    }

    pub async fn identity(&self, provider: &str, subject: &str) -> anyhow::Result<Option<IdentityLink>> {
        self.get(&identity_pk(provider, subject), IDENTITY_SK).await
    }

    /// The providers a user signs in with (one Query on GSI1).
    pub async fn providers_of_user(&self, user_id: &str) -> anyhow::Result<Vec<String>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(super::schema::GSI1)
            .key_condition_expression("gsi1pk = :user AND begins_with(gsi1sk, :identity)")
            .expression_attribute_values(":user", s(user_pk(user_id)))
            .expression_attribute_values(":identity", s("IDENTITY#"))
            .send()
            .await?;
        let links: Vec<IdentityLink> = output.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok(links.into_iter().map(|l| l.provider).collect())
    }

    /// Links an identity to an existing user (whose email the provider verified) and
    /// marks that email verified, in one transaction. Err(IdentityTaken) when a
    /// concurrent callback linked it first.
    pub async fn link_identity(&self, link: &IdentityLink, now: DateTime<Utc>) -> Result<(), OAuthSignUpError> {
        let verify = self.verify_email_update(&link.user_id, now)?;
        let items = vec![self.identity_put(link)?, TransactWriteItem::builder().update(verify).build()];
        match self.transact(items).await {
            Ok(_) => Ok(()),
            Err(err) => {
                let err = err.into_service_error();
                match first_condition_failed(&err) {
                    Some(0) => Err(OAuthSignUpError::IdentityTaken),
                    _ => Err(OAuthSignUpError::Store(err.into())),
                }
            }
        }
    }

    /// A new shop for an OAuth user: the shop's items and the identity, one transaction.
    pub async fn create_oauth_shop(
        &self,
        account: &Account,
        owner: &User,
        subscription: &Subscription,
        link: &IdentityLink,
    ) -> Result<(), OAuthSignUpError> {
        let mut items = self.shop_items(account, owner, subscription)?;
        let identity_index = items.len();
        items.push(self.identity_put(link)?);
        match self.transact(items).await {
            Ok(_) => Ok(()),
            Err(err) => {
                let err = err.into_service_error();
                match first_condition_failed(&err) {
                    Some(0) => Err(OAuthSignUpError::EmailTaken),
                    Some(i) if i == identity_index => Err(OAuthSignUpError::IdentityTaken),
                    _ => Err(OAuthSignUpError::Store(err.into())),
                }
            }
        }
    }
}
