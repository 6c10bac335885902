//! The suite's DynamoDB is AWS's own DynamoDB Local (infra/lib.sh), which refuses what
//! DynamoDB refuses. moto (the `LOCAL_DYNAMODB=moto` fallback) accepts these requests,
//! so this test fails there: the fallback is kinder than production.

use api_tests::spawn_app;
use aws_sdk_dynamodb::types::AttributeValue;

#[tokio::test]
async fn the_table_refuses_what_dynamodb_refuses() {
    let app = spawn_app().await;
    let (client, table) = (app.store().client(), app.store().table());
    let key = |pk: &str| [("pk".to_owned(), AttributeValue::S(pk.into())), ("sk".to_owned(), AttributeValue::S("X".into()))].into();

    let unused_value = client
        .update_item()
        .table_name(table)
        .set_key(Some(key("STAND-IN#unused")))
        .update_expression("SET n = :n")
        .expression_attribute_values(":n", AttributeValue::N("1".into()))
        .expression_attribute_values(":unused", AttributeValue::N("2".into()))
        .send()
        .await;
    let refusal = unused_value.expect_err("an unused expression attribute value is a ValidationException").into_service_error();
    assert_eq!(refusal.meta().code(), Some("ValidationException"), "{refusal:?}");

    // DynamoDB numbers carry at most 38 significant digits.
    let too_precise = client
        .put_item()
        .table_name(table)
        .set_item(Some(key("STAND-IN#digits")))
        .item("n", AttributeValue::N("1".repeat(39)))
        .send()
        .await;
    let refusal = too_precise.expect_err("a 39-digit number is a ValidationException").into_service_error();
    assert_eq!(refusal.meta().code(), Some("ValidationException"), "{refusal:?}");
    assert!(app.all_items().await.is_empty(), "nothing was written");
}
