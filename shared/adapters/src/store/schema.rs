//! Creates the table (used by the local run command and by every test, which gets a
//! table of its own). In AWS the table comes from `template.yaml`; keep both in step.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType,
    TimeToLiveSpecification,
};

pub const GSI1: &str = "gsi1";
pub const GSI2: &str = "gsi2";
pub const TTL_ATTRIBUTE: &str = "ttl";

fn key(name: &str, kind: KeyType) -> anyhow::Result<KeySchemaElement> {
    Ok(KeySchemaElement::builder().attribute_name(name).key_type(kind).build()?)
}

fn string_attribute(name: &str) -> anyhow::Result<AttributeDefinition> {
    Ok(AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()?)
}

fn index(name: &str, pk: &str, sk: &str) -> anyhow::Result<GlobalSecondaryIndex> {
    Ok(GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(pk, KeyType::Hash)?)
        .key_schema(key(sk, KeyType::Range)?)
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()?)
}

/// Creates the table with its GSIs and TTL unless it exists. Returns whether it created it.
pub async fn ensure_table(client: &Client, table: &str) -> anyhow::Result<bool> {
    if client.describe_table().table_name(table).send().await.is_ok() {
        return Ok(false);
    }
    let mut request = client.create_table().table_name(table).billing_mode(BillingMode::PayPerRequest);
    for name in ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"] {
        request = request.attribute_definitions(string_attribute(name)?);
    }
    request
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .global_secondary_indexes(index(GSI1, "gsi1pk", "gsi1sk")?)
        .global_secondary_indexes(index(GSI2, "gsi2pk", "gsi2sk")?)
        .send()
        .await?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(TimeToLiveSpecification::builder().attribute_name(TTL_ATTRIBUTE).enabled(true).build()?)
        .send()
        .await?;
    Ok(true)
}
