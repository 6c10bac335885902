use api_tests::{PASSWORD, spawn_app, unique_email};
use serde_json::json;

#[tokio::test]
async fn register_creates_a_shop_with_a_trial_and_mails_a_verification_link() {
    let app = spawn_app().await;
    let email = unique_email();
    let session = app.register(&email).await;

    let me = app.get("/v1/auth/me", Some(&session.access_token)).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["user"]["email"], email);
    assert_eq!(me.body["role"], "owner");
    assert_eq!(me.body["subscription"]["status"], "trialing");
    assert_eq!(me.body["subscription"]["plan"], "pro");
    let trial_end: chrono::DateTime<chrono::Utc> = me.body["subscription"]["current_period_end"].as_str().unwrap().parse().unwrap();
    let days = (trial_end - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((13.9..=14.0).contains(&days), "trial of {days} days");

    let mails = app.emails_to(&email).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].0, "Verify your email address");
    assert!(mails[0].1.contains("http://app.test/verify-email?token="));
}

#[tokio::test]
async fn the_same_email_in_another_case_is_taken() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email).await;
    let again = app.post("/v1/auth/register", &json!({"email": email.to_uppercase(), "password": PASSWORD, "name": "Eve"}), None).await;
    again.assert_error(409, "email_taken");
}

#[tokio::test]
async fn concurrent_registrations_of_one_email_create_exactly_one_account() {
    let app = spawn_app().await;
    let email = unique_email();
    let attempts = (0..8).map(|i| {
        let body = json!({"email": if i % 2 == 0 { email.clone() } else { email.to_uppercase() }, "password": PASSWORD, "name": "Ada"});
        let app = &app;
        async move { app.post("/v1/auth/register", &body, None).await.status }
    });
    let statuses = futures::future::join_all(attempts).await;
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 7, "{statuses:?}");
    let items = app.all_items().await;
    let count = |sk: &str| items.iter().filter(|i| i["sk"].as_s().unwrap() == sk).count();
    assert_eq!((count("USER"), count("ACCOUNT"), count("SUBSCRIPTION")), (1, 1, 1));
}

#[tokio::test]
async fn bad_input_gets_the_error_body_and_writes_nothing() {
    let app = spawn_app().await;
    let cases = [
        ("application/json", "{\"email\": ", 400, "invalid_json"),
        ("application/json", "[1, 2]", 422, "validation_failed"),
        ("application/json", "{\"email\": 5, \"password\": \"x\", \"name\": \"A\"}", 422, "validation_failed"),
        ("application/json", "{\"password\": \"correct horse 9\", \"name\": \"A\"}", 422, "validation_failed"),
        ("application/json", "{\"email\": \"not-an-email\", \"password\": \"correct horse 9\", \"name\": \"A\"}", 422, "validation_failed"),
        ("application/json", "{\"email\": \"a@example.com\", \"password\": \"short\", \"name\": \"A\"}", 422, "validation_failed"),
        (
            "application/json",
            "{\"email\": \"a@example.com\", \"password\": \"correct horse 9\", \"name\": \"  \"}",
            422,
            "validation_failed",
        ),
        (
            "application/json",
            "{\"email\": \"a@example.com\", \"password\": \"correct horse 9\", \"name\": \"A\", \"admin\": true}",
            422,
            "validation_failed",
        ),
        ("text/plain", "email=a@example.com", 415, "unsupported_media_type"),
    ];
    for (content_type, body, status, code) in cases {
        let reply = app.post_raw("/v1/auth/register", content_type, body).await;
        reply.assert_error(status, code);
    }
    assert!(app.all_items().await.is_empty(), "bad input wrote to the table");
    assert!(app.emails_to("a@example.com").await.is_empty());
}

#[tokio::test]
async fn validation_names_every_offending_field() {
    let app = spawn_app().await;
    let reply = app.post("/v1/auth/register", &json!({"email": "nope", "password": "aaaaaaaaaaaa", "name": ""}), None).await;
    reply.assert_error(422, "validation_failed");
    let fields = reply.body["fields"].as_object().unwrap();
    assert!(fields.contains_key("email") && fields.contains_key("name"), "{fields:?}");
}

#[tokio::test]
async fn password_policy_refuses_the_email_and_one_class_passwords() {
    let app = spawn_app().await;
    let email = unique_email();
    for password in [email.clone(), "alllowercaseonly".into(), "1234567890123".into()] {
        let reply = app.post("/v1/auth/register", &json!({"email": email, "password": password, "name": "Ada"}), None).await;
        reply.assert_error(422, "validation_failed");
        assert!(reply.body["fields"]["password"].is_string(), "{}", reply.body);
    }
}

#[tokio::test]
async fn an_unknown_invite_code_is_refused_before_anything_is_written() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/v1/auth/register",
            &json!({"email": unique_email(), "password": PASSWORD, "name": "Ada", "account_invite_code": "nope"}),
            None,
        )
        .await;
    reply.assert_error(400, "invite_invalid_or_expired");
    assert!(app.all_items().await.is_empty());
}

#[tokio::test]
async fn a_mail_failure_never_fails_sign_up() {
    let app = api_tests::spawn_app_with(|config| config.email_from = "unverified@nowhere.example".into()).await;
    let email = unique_email();
    let session = app.register(&email).await;
    assert!(app.emails_to(&email).await.is_empty());
    assert_eq!(app.get("/v1/auth/me", Some(&session.access_token)).await.status, 200);
}
