use api_tests::{PASSWORD, spawn_app, token_in, unique_email};
use serde_json::json;

#[tokio::test]
async fn reset_token_works_once_and_sets_the_new_password() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email).await;

    let initiated = app.post("/v1/auth/password/reset/initiate", &json!({"email": email.to_uppercase()}), None).await;
    assert_eq!(initiated.status, 200);
    let mails = app.emails_to(&email).await;
    let (_, body) = mails.iter().find(|(subject, _)| subject == "Reset your password").expect("reset mail");
    let token = token_in(body);

    let new_password = "battery staple 42";
    let done = app.post("/v1/auth/password/reset/complete", &json!({"token": token, "new_password": new_password}), None).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let again = app.post("/v1/auth/password/reset/complete", &json!({"token": token, "new_password": "another pass 77"}), None).await;
    again.assert_error(400, "invalid_or_expired_token");

    let old = app.post("/v1/auth/login", &json!({"email": email, "password": PASSWORD}), None).await;
    old.assert_error(401, "invalid_credentials");
    let new = app.post("/v1/auth/login", &json!({"email": email, "password": new_password}), None).await;
    assert_eq!(new.status, 200);
}

#[tokio::test]
async fn reset_initiate_is_always_200_and_mails_only_registered_users() {
    let app = spawn_app().await;
    let stranger = unique_email();
    let reply = app.post("/v1/auth/password/reset/initiate", &json!({"email": stranger}), None).await;
    assert_eq!(reply.status, 200);
    assert!(app.emails_to(&stranger).await.is_empty());
}

#[tokio::test]
async fn reset_complete_bad_input_changes_nothing() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email).await;
    app.post("/v1/auth/password/reset/initiate", &json!({"email": email}), None).await;
    let mails = app.emails_to(&email).await;
    let token = token_in(&mails.iter().find(|(s, _)| s == "Reset your password").unwrap().1);

    app.post("/v1/auth/password/reset/complete", &json!({"token": "made-up", "new_password": "battery staple 42"}), None)
        .await
        .assert_error(400, "invalid_or_expired_token");
    // A weak password is refused and the token survives for a proper attempt.
    app.post("/v1/auth/password/reset/complete", &json!({"token": token, "new_password": "weak"}), None)
        .await
        .assert_error(422, "validation_failed");
    app.post("/v1/auth/password/reset/complete", &json!({"token": 12}), None).await.assert_error(422, "validation_failed");
    let ok = app.post("/v1/auth/login", &json!({"email": email, "password": PASSWORD}), None).await;
    assert_eq!(ok.status, 200, "the password must be unchanged");
    let done = app.post("/v1/auth/password/reset/complete", &json!({"token": token, "new_password": "battery staple 42"}), None).await;
    assert_eq!(done.status, 200);
}

#[tokio::test]
async fn password_change_checks_the_current_password() {
    let app = spawn_app().await;
    let email = unique_email();
    let session = app.register(&email).await;
    let token = Some(session.access_token.as_str());

    app.post("/v1/auth/password/change", &json!({"current_password": "wrong horse 9", "new_password": "battery staple 42"}), token)
        .await
        .assert_error(400, "invalid_current_password");
    app.post("/v1/auth/password/change", &json!({"current_password": PASSWORD, "new_password": "short"}), token)
        .await
        .assert_error(422, "validation_failed");
    app.post("/v1/auth/password/change", &json!({"current_password": PASSWORD}), token).await.assert_error(422, "validation_failed");
    app.post("/v1/auth/password/change", &json!({"current_password": PASSWORD, "new_password": "battery staple 42"}), None)
        .await
        .assert_error(401, "unauthorized");
    let changed =
        app.post("/v1/auth/password/change", &json!({"current_password": PASSWORD, "new_password": "battery staple 42"}), token).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let login = app.post("/v1/auth/login", &json!({"email": email, "password": "battery staple 42"}), None).await;
    assert_eq!(login.status, 200);
}
