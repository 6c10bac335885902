use api_tests::{spawn_app, unique_email};
use serde_json::json;

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_family() {
    let app = spawn_app().await;
    let session = app.register(&unique_email()).await;

    let first = app.post("/v1/auth/refresh", &json!({"refresh_token": session.refresh_token}), None).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let second_token = first.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_token, session.refresh_token);
    assert_eq!(app.get("/v1/auth/me", first.body["access_token"].as_str()).await.status, 200);

    // The rotated token comes back: a thief or a replay. Refused, and the family dies.
    let reuse = app.post("/v1/auth/refresh", &json!({"refresh_token": session.refresh_token}), None).await;
    reuse.assert_error(401, "unauthorized");
    let after = app.post("/v1/auth/refresh", &json!({"refresh_token": second_token}), None).await;
    after.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_yield_at_most_one_pair() {
    let app = spawn_app().await;
    let session = app.register(&unique_email()).await;
    let body = json!({"refresh_token": session.refresh_token});
    let replies = futures::future::join_all((0..6).map(|_| app.post("/v1/auth/refresh", &body, None))).await;
    let winners = replies.iter().filter(|r| r.status == 200).count();
    assert!(winners <= 1, "{winners} refreshes of one token succeeded");
    assert!(replies.iter().all(|r| r.status == 200 || r.status == 401));
}

#[tokio::test]
async fn logout_revokes_the_session_but_not_others() {
    let app = spawn_app().await;
    let email = unique_email();
    let session = app.register(&email).await;
    let other = app.post("/v1/auth/login", &json!({"email": email, "password": api_tests::PASSWORD}), None).await;

    let out = app.post("/v1/auth/logout", &json!({"refresh_token": session.refresh_token}), Some(&session.access_token)).await;
    assert_eq!(out.status, 200, "{}", out.body);
    app.post("/v1/auth/refresh", &json!({"refresh_token": session.refresh_token}), None).await.assert_error(401, "unauthorized");
    let still = app.post("/v1/auth/refresh", &json!({"refresh_token": other.body["refresh_token"]}), None).await;
    assert_eq!(still.status, 200, "{}", still.body);
}

#[tokio::test]
async fn refresh_bad_input() {
    let app = spawn_app().await;
    app.post("/v1/auth/refresh", &json!({"refresh_token": "made-up"}), None).await.assert_error(401, "unauthorized");
    app.post("/v1/auth/refresh", &json!({"refresh_token": 7}), None).await.assert_error(422, "validation_failed");
    app.post("/v1/auth/refresh", &json!({}), None).await.assert_error(422, "validation_failed");
    assert!(app.all_items().await.is_empty());
}
