use api_tests::{PASSWORD, spawn_app, unique_email};
use domain::account::{Role, User};
use domain::email::Email;
use serde_json::json;

#[tokio::test]
async fn login_with_json_or_form_returns_tokens() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email).await;

    let json_login = app.post("/v1/auth/login", &json!({"email": email.to_uppercase(), "password": PASSWORD}), None).await;
    assert_eq!(json_login.status, 200, "{}", json_login.body);
    assert_eq!(json_login.body["token_type"], "bearer");

    let form = format!("username={}&password={}", email, PASSWORD.replace(' ', "+"));
    let form_login = app.post_raw("/v1/auth/login", "application/x-www-form-urlencoded", &form).await;
    assert_eq!(form_login.status, 200, "{}", form_login.body);
    let me = app.get("/v1/auth/me", form_login.body["access_token"].as_str()).await;
    assert_eq!(me.status, 200);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_look_the_same() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email).await;
    let wrong = app.post("/v1/auth/login", &json!({"email": email, "password": "wrong horse 9"}), None).await;
    let unknown = app.post("/v1/auth/login", &json!({"email": unique_email(), "password": PASSWORD}), None).await;
    wrong.assert_error(401, "invalid_credentials");
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.body, unknown.body);
}

#[tokio::test]
async fn five_failures_in_the_window_block_the_email_with_retry_after() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email).await;
    for _ in 0..5 {
        let reply = app.post("/v1/auth/login", &json!({"email": email, "password": "wrong horse 9"}), None).await;
        reply.assert_error(401, "invalid_credentials");
    }
    // Even the right password is refused while the window lasts.
    let blocked = app.post("/v1/auth/login", &json!({"email": email.to_uppercase(), "password": PASSWORD}), None).await;
    blocked.assert_error(429, "too_many_attempts");
    let retry_after: i64 = blocked.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    // Another email is not affected.
    let other = unique_email();
    app.register(&other).await;
    let ok = app.post("/v1/auth/login", &json!({"email": other, "password": PASSWORD}), None).await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn concurrent_failures_are_all_counted() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email).await;
    let wrong = json!({"email": email, "password": "wrong horse 9"});
    let attempts = (0..6).map(|_| app.post("/v1/auth/login", &wrong, None));
    futures::future::join_all(attempts).await;
    let blocked = app.post("/v1/auth/login", &json!({"email": email, "password": PASSWORD}), None).await;
    blocked.assert_error(429, "too_many_attempts");
}

#[tokio::test]
async fn a_success_before_the_limit_resets_the_count() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email).await;
    for round in 0..2 {
        for _ in 0..4 {
            app.post("/v1/auth/login", &json!({"email": email, "password": "wrong horse 9"}), None).await;
        }
        let ok = app.post("/v1/auth/login", &json!({"email": email, "password": PASSWORD}), None).await;
        assert_eq!(ok.status, 200, "round {round}: {}", ok.body);
    }
}

#[tokio::test]
async fn an_oauth_only_user_is_told_to_use_their_provider() {
    let app = spawn_app().await;
    let owner = app.register(&unique_email()).await;
    let email = unique_email();
    let oauth_user = User {
        email_verified_at: Some(chrono::Utc::now()),
        ..User::new(
            uuid::Uuid::new_v4().to_string(),
            &owner.account_id,
            Email::parse(&email).unwrap(),
            "Olly".into(),
            Role::Engineer,
            chrono::Utc::now(),
        )
    };
    app.store().create_member(&oauth_user).await.unwrap();
    let reply = app.post("/v1/auth/login", &json!({"email": email, "password": PASSWORD}), None).await;
    reply.assert_error(400, "use_oauth_provider");
    assert!(reply.body["providers"].is_array());

    // No reset mail for OAuth-only users either, and still a 200.
    let reset = app.post("/v1/auth/password/reset/initiate", &json!({"email": email}), None).await;
    assert_eq!(reset.status, 200);
    app.run_task_worker().await; // the worker sends reset mails
    assert!(app.emails_to(&email).await.is_empty());
}

#[tokio::test]
async fn login_bad_input() {
    let app = spawn_app().await;
    app.post_raw("/v1/auth/login", "application/json", "{").await.assert_error(400, "invalid_json");
    app.post("/v1/auth/login", &json!({"email": "a@example.com"}), None).await.assert_error(422, "validation_failed");
    app.post("/v1/auth/login", &json!({"email": "nope", "password": "x"}), None).await.assert_error(422, "validation_failed");
    assert!(app.all_items().await.is_empty());
}

#[tokio::test]
async fn one_source_address_is_throttled_across_emails() {
    let app = spawn_app().await;
    let post = |email: String, forwarded: &'static str| {
        let app = &app;
        async move {
            let request = app
                .http
                .post(format!("{}/v1/auth/login", app.address))
                .header("x-forwarded-for", forwarded)
                .json(&json!({"email": email, "password": "wrong horse 9"}));
            api_tests::Reply::from(request.send().await.unwrap()).await
        }
    };
    // Twenty failures over twenty emails from one address (the gateway's entry is the
    // last one; the first is forged and varies).
    for i in 0..20 {
        let forged: &'static str = if i % 2 == 0 { "1.1.1.1, 198.51.100.7" } else { "9.9.9.9, 198.51.100.7" };
        post(unique_email(), forged).await.assert_error(401, "invalid_credentials");
    }
    post(unique_email(), "198.51.100.7").await.assert_error(429, "too_many_attempts");
    post(unique_email(), "198.51.100.8").await.assert_error(401, "invalid_credentials");
}
