use api_tests::{PASSWORD, spawn_app, token_in, unique_email};
use serde_json::json;

#[tokio::test]
async fn reset_token_works_once_and_sets_the_new_password() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email).await;

    let initiated = app.post("/v1/auth/password/reset/initiate", &json!({"email": email.to_uppercase()}), None).await;
    assert_eq!(initiated.status, 200);
    // The request only queued the job, as it does for an unknown address: same work,
    // so neither the answer nor its timing tells whether the address is registered.
    assert!(app.emails_to(&email).await.iter().all(|(s, _)| s != "Reset your password"));
    app.run_task_worker().await; // the worker sends reset mails
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
    app.run_task_worker().await; // the worker sends reset mails
    assert!(app.emails_to(&stranger).await.is_empty());
}

#[tokio::test]
async fn reset_complete_bad_input_changes_nothing() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email).await;
    app.post("/v1/auth/password/reset/initiate", &json!({"email": email}), None).await;
    app.run_task_worker().await; // the worker sends reset mails
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

async fn login(app: &api_tests::TestApp, email: &str, password: &str) -> (String, String) {
    let reply = app.post("/v1/auth/login", &json!({"email": email, "password": password}), None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    (reply.body["access_token"].as_str().unwrap().to_owned(), reply.body["refresh_token"].as_str().unwrap().to_owned())
}

async fn refreshes(app: &api_tests::TestApp, refresh_token: &str) -> Option<(String, String)> {
    let reply = app.post("/v1/auth/refresh", &json!({"refresh_token": refresh_token}), None).await;
    (reply.status == 200)
        .then(|| (reply.body["access_token"].as_str().unwrap().to_owned(), reply.body["refresh_token"].as_str().unwrap().to_owned()))
}

/// SPEC: changing a password ends the user's other sessions (their refresh and access
/// tokens), not the caller's; resetting it ends them all (OWASP ASVS 3.3.3).
#[tokio::test]
async fn a_password_change_ends_the_other_sessions_and_a_reset_ends_them_all() {
    let app = spawn_app().await;
    let email = unique_email();
    let here = app.register(&email).await;
    let (there_access, there_refresh) = login(&app, &email, PASSWORD).await;

    let changed = app
        .post(
            "/v1/auth/password/change",
            &json!({"current_password": PASSWORD, "new_password": "another horse 11"}),
            Some(&here.access_token),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    app.get("/v1/auth/me", Some(&there_access)).await.assert_error(401, "unauthorized");
    assert!(refreshes(&app, &there_refresh).await.is_none(), "the other session's refresh token is refused");
    assert_eq!(app.get("/v1/auth/me", Some(&here.access_token)).await.status, 200, "the caller's session goes on");
    let (here_access, here_refresh) = refreshes(&app, &here.refresh_token).await.expect("the caller's session refreshes");
    assert_eq!(app.get("/v1/wills", Some(&here_access)).await.status, 200);

    app.post("/v1/auth/password/reset/initiate", &json!({"email": email}), None).await;
    app.run_task_worker().await; // the worker sends reset mails
    let mails = app.emails_to(&email).await;
    let token = token_in(&mails.iter().find(|(s, _)| s == "Reset your password").unwrap().1);
    let reset = app.post("/v1/auth/password/reset/complete", &json!({"token": token, "new_password": "a third horse 12"}), None).await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    app.get("/v1/auth/me", Some(&here_access)).await.assert_error(401, "unauthorized");
    assert!(refreshes(&app, &here_refresh).await.is_none(), "a reset ends every session");
    let (fresh, _) = login(&app, &email, "a third horse 12").await;
    assert_eq!(app.get("/v1/auth/me", Some(&fresh)).await.status, 200, "a session begun after the reset is open");
}

/// Reset and verification mails are capped per address (3 an hour) and per source (20
/// an hour); past a cap the request is 429 with `Retry-After` and nothing is sent. An
/// unknown address is counted the same, so the cap reveals nothing about accounts.
#[tokio::test]
async fn reset_and_verification_mails_are_capped_per_address_and_source() {
    let app = spawn_app().await;
    let email = unique_email();
    let session = app.register(&email).await;
    let mut statuses = Vec::new();
    for _ in 0..15 {
        statuses.push(app.post("/v1/auth/password/reset/initiate", &json!({"email": email}), None).await.status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 3, "{statuses:?}");
    let refused = app.post("/v1/auth/password/reset/initiate", &json!({"email": email}), None).await;
    refused.assert_error(429, "too_many_requests");
    assert!(refused.headers.contains_key("retry-after"));
    app.run_task_worker().await; // the worker sends reset mails
    let mails = app.emails_to(&email).await;
    assert_eq!(mails.iter().filter(|(s, _)| s == "Reset your password").count(), 3);
    let unknown = json!({"email": unique_email()});
    let unknown_replies = futures::future::join_all((0..5).map(|_| app.post("/v1/auth/password/reset/initiate", &unknown, None))).await;
    assert_eq!(unknown_replies.iter().filter(|r| r.status == 429).count(), 2, "an unknown address is capped alike");

    // One source asking for many addresses.
    let mut from_one_source = Vec::new();
    for _ in 0..21 {
        let request = app
            .http
            .post(format!("{}/v1/auth/password/reset/initiate", app.address))
            .header("x-forwarded-for", "203.0.113.7")
            .json(&json!({"email": unique_email()}));
        from_one_source.push(request.send().await.unwrap().status().as_u16());
    }
    assert_eq!(from_one_source.iter().filter(|s| **s == 429).count(), 1, "{from_one_source:?}");

    let t = Some(session.access_token.as_str());
    let mut resent = Vec::new();
    for _ in 0..4 {
        resent.push(app.post_empty("/v1/auth/email/send-verification", t).await.status);
    }
    assert_eq!(resent, [200, 200, 200, 429]);
}
