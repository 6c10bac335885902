use api_tests::{spawn_app, token_in, unique_email};
use serde_json::json;

#[tokio::test]
async fn the_emailed_token_verifies_once() {
    let app = spawn_app().await;
    let email = unique_email();
    let session = app.register(&email).await;
    let token = token_in(&app.emails_to(&email).await[0].1);

    let verified = app.post("/v1/auth/email/verify", &json!({"token": token}), None).await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    let me = app.get("/v1/users/me", Some(&session.access_token)).await;
    assert_eq!(me.body["email_verified"], true);

    app.post("/v1/auth/email/verify", &json!({"token": token}), None).await.assert_error(400, "invalid_or_expired_token");
    let resend = app.post_empty("/v1/auth/email/send-verification", Some(&session.access_token)).await;
    assert_eq!(resend.body["status"], "already_verified");
}

#[tokio::test]
async fn resend_mails_a_fresh_link_that_works() {
    let app = spawn_app().await;
    let email = unique_email();
    let session = app.register(&email).await;
    let resend = app.post_empty("/v1/auth/email/send-verification", Some(&session.access_token)).await;
    assert_eq!(resend.body["status"], "sent");
    let mails = app.emails_to(&email).await;
    assert_eq!(mails.len(), 2);
    let verified = app.post("/v1/auth/email/verify", &json!({"token": token_in(&mails[1].1)}), None).await;
    assert_eq!(verified.status, 200);
}

#[tokio::test]
async fn verification_bad_input() {
    let app = spawn_app().await;
    let session = app.register(&unique_email()).await;
    app.post("/v1/auth/email/verify", &json!({"token": "made-up"}), None).await.assert_error(400, "invalid_or_expired_token");
    app.post("/v1/auth/email/verify", &json!({"token": ["x"]}), None).await.assert_error(422, "validation_failed");
    app.post_empty("/v1/auth/email/send-verification", None).await.assert_error(401, "unauthorized");
    let me = app.get("/v1/users/me", Some(&session.access_token)).await;
    assert_eq!(me.body["email_verified"], false);
}
