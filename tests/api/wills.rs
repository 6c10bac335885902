//! The will wizard end to end: sections, verification, payment through the webhook,
//! the generated PDF, regeneration and tenancy.

use api_tests::{Session, TestApp, spawn_app, unique_email};
use serde_json::{Value, json};

pub(crate) fn sections() -> Vec<(&'static str, Value)> {
    vec![
        ("personal", json!({"full_name": "Ada Lovelace", "date_of_birth": "1815-12-10", "address": "12 St James's Square, London"})),
        ("family", json!({"marital_status": "married", "children": [{"full_name": "Byron King"}]})),
        ("executors", json!({"executors": [{"full_name": "Mary Somerville"}]})),
        ("guardians", json!({"guardians": []})),
        ("gifts", json!({"gifts": [{"item": "notes on the Analytical Engine", "to": "Charles Babbage"}]})),
        ("residuary", json!({"beneficiaries": [{"full_name": "Byron King"}]})),
        ("funeral", json!({"wishes": "A quiet service."})),
    ]
}

async fn send(app: &TestApp, method: reqwest::Method, path: &str, body: Option<Value>, token: &str) -> api_tests::Reply {
    app.send(method, path, body.as_ref(), Some(token)).await
}

async fn put_section(app: &TestApp, session: &Session, will: &str, name: &str, body: Value) -> api_tests::Reply {
    send(app, reqwest::Method::PUT, &format!("/v1/wills/{will}/sections/{name}"), Some(body), &session.access_token).await
}

/// A will with every section filled and verified.
pub(crate) async fn verified_will(app: &TestApp, session: &Session) -> String {
    let created = app.post_empty("/v1/wills", Some(&session.access_token)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!((created.body["version"].as_u64(), created.body["current_section"].as_str()), (Some(1), Some("personal")));
    assert!(created.body["paid_at"].is_null() && created.body["download_token"].is_null());
    let id = created.body["id"].as_str().unwrap().to_owned();
    for (name, content) in sections() {
        let reply = put_section(app, session, &id, name, content).await;
        assert_eq!(reply.status, 200, "{name}: {}", reply.body);
    }
    let verified = app.post_empty(&format!("/v1/wills/{id}/verify"), Some(&session.access_token)).await;
    assert_eq!(verified.body["status"], "verified", "{}", verified.body);
    id
}

/// Pays through the real path: checkout (order) then the signed webhook.
async fn pay(app: &TestApp, session: &Session, will: &str, event_id: &str) -> String {
    let checkout = app.post_empty(&format!("/v1/wills/{will}/checkout"), Some(&session.access_token)).await;
    assert_eq!(checkout.status, 200, "{}", checkout.body);
    assert_eq!(checkout.body["total_cents"], 9900);
    let order_id = checkout.body["order_id"].as_str().unwrap().to_owned();
    deliver_payment(app, &order_id, event_id).await;
    order_id
}

async fn deliver_payment(app: &TestApp, order_id: &str, event_id: &str) {
    assert_eq!(app.pay_order(order_id, 9900, event_id).await.status, 200);
}

/// The text a PDF shows (literal strings of its `Tj` operators).
fn pdf_text(pdf: &[u8]) -> String {
    let content = String::from_utf8_lossy(pdf);
    content
        .split(") Tj")
        .filter_map(|chunk| chunk.rsplit_once('(').map(|(_, text)| text.replace("\\'", "'")))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn download(app: &TestApp, will: &str, token: &str) -> (u16, Vec<u8>, String) {
    let response = app.http.get(format!("{}/v1/wills/{will}/download?token={token}", app.address)).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, response.bytes().await.unwrap().to_vec(), content_type)
}

#[tokio::test]
async fn payment_generates_a_downloadable_pdf_and_regeneration_bumps_the_version() {
    let app = spawn_app().await;
    let session = app.register(&unique_email()).await;
    let will = verified_will(&app, &session).await;
    let token = &session.access_token;

    send(&app, reqwest::Method::POST, &format!("/v1/wills/{will}/regenerate"), None, token).await.assert_error(402, "payment_required");
    pay(&app, &session, &will, "evt_will_paid").await;
    let paid = app.get(&format!("/v1/wills/{will}"), Some(token)).await;
    assert_eq!(paid.body["status"], "generated", "{}", paid.body);
    assert!(paid.body["paid_at"].is_string());
    let first_token = paid.body["download_token"].as_str().unwrap().to_owned();
    let (status, pdf, content_type) = download(&app, &will, &first_token).await;
    assert_eq!((status, content_type.as_str()), (200, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    let text = pdf_text(&pdf);
    assert!(text.contains("Ada Lovelace") && text.contains("Document version 1"), "{text}");

    // Edited after payment: back to review; regenerate refuses until verified again.
    let mut personal = sections()[0].1.clone();
    personal["address"] = json!("Horsley Towers, Surrey");
    let edited = put_section(&app, &session, &will, "personal", personal).await;
    assert_eq!(edited.body["status"], "review");
    assert!(edited.body["download_token"].is_null());
    send(&app, reqwest::Method::POST, &format!("/v1/wills/{will}/regenerate"), None, token)
        .await
        .assert_error(400, "reverification_required");
    app.post_empty(&format!("/v1/wills/{will}/verify"), Some(token)).await;

    let regenerated = send(&app, reqwest::Method::POST, &format!("/v1/wills/{will}/regenerate"), None, token).await;
    assert_eq!(regenerated.status, 200, "{}", regenerated.body);
    assert_eq!(regenerated.body["version"], 2);
    let second_token = regenerated.body["download_token"].as_str().unwrap().to_owned();
    assert_ne!(second_token, first_token);

    let (old_status, _, _) = download(&app, &will, &first_token).await;
    assert_eq!(old_status, 410, "the version-1 token must stop working");
    let (status, pdf, _) = download(&app, &will, &second_token).await;
    assert_eq!(status, 200);
    let text = pdf_text(&pdf);
    assert!(text.contains("Ada Lovelace") && text.contains("Document version 2") && text.contains("Horsley Towers"), "{text}");
    let read = app.get(&format!("/v1/wills/{will}"), Some(token)).await;
    assert_eq!((read.body["version"].as_u64(), read.body["status"].as_str()), (Some(2), Some("generated")));
}

#[tokio::test]
async fn concurrent_regenerations_bump_the_version_once() {
    let app = spawn_app().await;
    let session = app.register(&unique_email()).await;
    let will = verified_will(&app, &session).await;
    pay(&app, &session, &will, "evt_will_race").await;
    put_section(&app, &session, &will, "funeral", json!({"wishes": "Music."})).await;
    app.post_empty(&format!("/v1/wills/{will}/verify"), Some(&session.access_token)).await;

    let path = format!("/v1/wills/{will}/regenerate");
    let replies = futures::future::join_all((0..4).map(|_| send(&app, reqwest::Method::POST, &path, None, &session.access_token))).await;
    let winners: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "{:?}", replies.iter().map(|r| &r.body).collect::<Vec<_>>());
    assert_eq!(winners[0].body["version"], 2);
    assert!(replies.iter().filter(|r| r.status != 200).all(|r| r.status == 400 && r.body["error"] == "reverification_required"));
    assert_eq!(app.get(&format!("/v1/wills/{will}"), Some(&session.access_token)).await.body["version"], 2);
}

#[tokio::test]
async fn the_payment_webhook_twice_records_one_payment() {
    let app = spawn_app().await;
    let session = app.register(&unique_email()).await;
    let will = verified_will(&app, &session).await;
    let order = pay(&app, &session, &will, "evt_will_once").await;
    deliver_payment(&app, &order, "evt_will_once").await;
    deliver_payment(&app, &order, "evt_will_twice").await;
    let payments = app.store().will_payments(&session.user_id, &will).await.unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].amount_cents, 9900);
    // Paid: a second checkout is refused.
    app.post_empty(&format!("/v1/wills/{will}/checkout"), Some(&session.access_token)).await.assert_error(409, "already_paid");
}

#[tokio::test]
async fn current_section_accepts_sections_and_steps_only() {
    let app = spawn_app().await;
    let session = app.register(&unique_email()).await;
    let created = app.post_empty("/v1/wills", Some(&session.access_token)).await;
    let path = format!("/v1/wills/{}/current-section", created.body["id"].as_str().unwrap());
    for valid in ["family", "funeral", "review", "verification", "document", "payment"] {
        let reply = app.patch(&path, &json!({"current_section": valid}), &session.access_token).await;
        assert_eq!((reply.status, reply.body["current_section"].as_str()), (200, Some(valid)), "{}", reply.body);
    }
    for invalid in ["", "Personal", "pets", "../personal"] {
        app.patch(&path, &json!({"current_section": invalid}), &session.access_token).await.assert_error(400, "invalid_section");
    }
    app.patch(&path, &json!({"current_section": 3}), &session.access_token).await.assert_error(422, "validation_failed");
    app.patch(&path, &json!({}), &session.access_token).await.assert_error(422, "validation_failed");
    assert_eq!(app.get(&path.replace("/current-section", ""), Some(&session.access_token)).await.body["current_section"], "payment");
}

#[tokio::test]
async fn sections_are_validated_and_bad_input_changes_nothing() {
    let app = spawn_app().await;
    let session = app.register(&unique_email()).await;
    let created = app.post_empty("/v1/wills", Some(&session.access_token)).await;
    let id = created.body["id"].as_str().unwrap();
    let bad = put_section(&app, &session, id, "personal", json!({"full_name": "Ada"})).await;
    bad.assert_error(422, "validation_failed");
    assert!(bad.body["fields"]["address"].is_string() && bad.body["fields"]["date_of_birth"].is_string());
    put_section(&app, &session, id, "executors", json!({"executors": []})).await.assert_error(422, "validation_failed");
    put_section(&app, &session, id, "personal", json!(["not", "an", "object"])).await.assert_error(422, "validation_failed");
    put_section(&app, &session, id, "pets", json!({})).await.assert_error(400, "unknown_section");
    let raw = app
        .http
        .put(format!("{}/v1/wills/{id}/sections/personal", app.address))
        .bearer_auth(&session.access_token)
        .header("content-type", "application/json")
        .body("{\"full_name\":")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    let unverified = app.post_empty(&format!("/v1/wills/{id}/verify"), Some(&session.access_token)).await;
    unverified.assert_error(400, "sections_incomplete");
    assert_eq!(unverified.body["missing_sections"].as_array().unwrap().len(), 7);
    app.post_empty(&format!("/v1/wills/{id}/checkout"), Some(&session.access_token)).await.assert_error(400, "verification_required");
    let read = app.get(&format!("/v1/wills/{id}"), Some(&session.access_token)).await;
    assert_eq!((read.body["status"].as_str(), read.body["sections_complete"].as_bool()), (Some("draft"), Some(false)));
    assert_eq!(read.body["sections"], json!({}));
    let (status, _, _) = download(&app, id, "not-a-token").await;
    assert_eq!(status, 410);
}

#[tokio::test]
async fn another_user_gets_404_on_every_will_route() {
    let app = spawn_app().await;
    let owner = app.register(&unique_email()).await;
    let will = verified_will(&app, &owner).await;
    pay(&app, &owner, &will, "evt_will_tenancy").await;
    let token = app.get(&format!("/v1/wills/{will}"), Some(&owner.access_token)).await.body["download_token"].as_str().unwrap().to_owned();

    let eve = app.register(&unique_email()).await;
    let t = &eve.access_token;
    app.get(&format!("/v1/wills/{will}"), Some(t)).await.assert_error(404, "not_found");
    put_section(&app, &eve, &will, "funeral", json!({"wishes": "Mine"})).await.assert_error(404, "not_found");
    app.patch(&format!("/v1/wills/{will}/current-section"), &json!({"current_section": "review"}), t).await.assert_error(404, "not_found");
    app.post_empty(&format!("/v1/wills/{will}/verify"), Some(t)).await.assert_error(404, "not_found");
    app.post_empty(&format!("/v1/wills/{will}/checkout"), Some(t)).await.assert_error(404, "not_found");
    app.post_empty(&format!("/v1/wills/{will}/regenerate"), Some(t)).await.assert_error(404, "not_found");
    assert_eq!(app.get("/v1/wills", Some(t)).await.body, json!([]));
    // The token names its will: it does not open another will's download path.
    let eves = app.post_empty("/v1/wills", Some(t)).await.body["id"].as_str().unwrap().to_owned();
    assert_eq!(download(&app, &eves, &token).await.0, 410);
    let owners = app.get(&format!("/v1/wills/{will}"), Some(&owner.access_token)).await;
    assert_eq!(owners.body["sections"]["funeral"]["wishes"], "A quiet service.");
}

/// DynamoDB refuses documents nested deeper than 32 levels, numbers beyond 1e125 and
/// items over 400 KB (TOOLING.md: moto accepts some of these, so the bounds are
/// checked here, before any write, and each refusal names the field).
#[tokio::test]
async fn section_values_are_bounded_before_anything_is_written() {
    let app = spawn_app().await;
    let session = app.register(&unique_email()).await;
    let created = app.post_empty("/v1/wills", Some(&session.access_token)).await;
    let id = created.body["id"].as_str().unwrap();
    let mut personal = sections()[0].1.clone();
    let deep = (0..70).fold(json!(1), |inner, _| json!({ "x": inner }));
    personal["notes"] = deep;
    let reply = put_section(&app, &session, id, "personal", personal).await;
    reply.assert_error(422, "validation_failed");
    assert!(reply.body["fields"].as_object().unwrap().keys().any(|k| k.starts_with("personal.notes.x")), "{}", reply.body);

    let huge_number = r#"{"full_name": "Ada", "date_of_birth": "1815-12-10", "address": "London", "weight": 1e200}"#;
    let raw = app
        .http
        .put(format!("{}/v1/wills/{id}/sections/personal", app.address))
        .bearer_auth(&session.access_token)
        .header("content-type", "application/json")
        .body(huge_number)
        .send()
        .await
        .unwrap();
    let reply = api_tests::Reply::from(raw).await;
    reply.assert_error(422, "validation_failed");
    assert!(reply.body["fields"]["personal.weight"].is_string(), "{}", reply.body);

    let mut long = sections()[0].1.clone();
    long["notes"] = json!(["x".repeat(9_000), "y".repeat(9_000), "z".repeat(9_000), "w".repeat(9_000)]);
    put_section(&app, &session, id, "personal", long).await.assert_error(422, "validation_failed");
    let read = app.get(&format!("/v1/wills/{id}"), Some(&session.access_token)).await;
    assert_eq!(read.body["sections"], json!({}), "nothing was written");
}

/// The largest will the bounds accept (every section just under its limit) is stored,
/// read, paid and generated: the payment's write stays under DynamoDB's 400 KB.
#[tokio::test]
async fn a_will_at_the_size_limit_is_paid_and_generated() {
    let app = spawn_app().await;
    let session = app.register(&unique_email()).await;
    let created = app.post_empty("/v1/wills", Some(&session.access_token)).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    for (name, mut content) in sections() {
        content["notes"] = json!(["x".repeat(9_000), "y".repeat(9_000), "z".repeat(9_000)]);
        let reply = put_section(&app, &session, &id, name, content).await;
        assert_eq!(reply.status, 200, "{name}: {}", reply.body);
    }
    let verified = app.post_empty(&format!("/v1/wills/{id}/verify"), Some(&session.access_token)).await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    pay(&app, &session, &id, "evt_big_will").await;
    let read = app.get(&format!("/v1/wills/{id}"), Some(&session.access_token)).await;
    assert_eq!((read.status, read.body["status"].as_str()), (200, Some("generated")), "{}", read.body);
}

/// An id longer than a DynamoDB key may be names nothing: a 404, not a refused read.
#[tokio::test]
async fn an_id_too_long_for_a_key_is_not_found() {
    let app = spawn_app().await;
    let session = app.register(&unique_email()).await;
    let t = Some(session.access_token.as_str());
    app.get(&format!("/v1/wills/{}", "a".repeat(2_000)), t).await.assert_error(404, "not_found");
    app.get(&format!("/v1/orders/{}", "a".repeat(3_000)), t).await.assert_error(404, "not_found");
}
