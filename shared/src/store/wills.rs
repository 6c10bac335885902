//! Wills live in their owner's item collection: `pk = USER#<user>`, `sk = WILL#<id>`
//! (access pattern 18: wills per user is one Query).

use serde::de::DeserializeOwned;

use super::identity::user_pk;
use super::{Store, from_item, s};

impl Store {
    pub async fn wills_of_user<T: DeserializeOwned>(&self, user_id: &str) -> anyhow::Result<Vec<T>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :will)")
            .expression_attribute_values(":pk", s(user_pk(user_id)))
            .expression_attribute_values(":will", s("WILL#"))
            .send()
            .await?;
        output.items.unwrap_or_default().into_iter().map(from_item).collect()
    }
}
