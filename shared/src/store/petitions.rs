//! Petitions live under their account: `ACCOUNT#<id>` / `PETITION#<id>` (pattern 15:
//! petitions per account is one Query; the petition's own collection of benefits and
//! tasks is keyed `PETITION#<id>`).

use serde::de::DeserializeOwned;

use super::identity::account_pk;
use super::{Store, from_item, s};

impl Store {
    pub async fn petitions_of_account<T: DeserializeOwned>(&self, account_id: &str) -> anyhow::Result<Vec<T>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :petition)")
            .expression_attribute_values(":pk", s(account_pk(account_id)))
            .expression_attribute_values(":petition", s("PETITION#"))
            .send()
            .await?;
        output.items.unwrap_or_default().into_iter().map(from_item).collect()
    }
}
