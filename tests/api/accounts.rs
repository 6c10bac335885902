use api_tests::{spawn_app, unique_email};
use domain::account::{Role, User};
use domain::email::Email;
use serde_json::json;

#[tokio::test]
async fn onboarding_step_is_stored_and_validated() {
    let app = spawn_app().await;
    let session = app.register(&unique_email()).await;
    let token = &session.access_token;
    let updated = app.patch("/v1/users/me/onboarding-step", &json!({"step": 3}), token).await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["onboarding_step_completed"], 3);
    for bad in [json!({"step": 0}), json!({"step": 11}), json!({"step": -1}), json!({"step": "3"}), json!({})] {
        app.patch("/v1/users/me/onboarding-step", &bad, token).await.assert_error(422, "validation_failed");
    }
    assert_eq!(app.get("/v1/users/me", Some(token)).await.body["onboarding_step_completed"], 3);
}

#[tokio::test]
async fn role_at_signup_is_kept() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/v1/auth/register",
            &json!({"email": unique_email(), "password": api_tests::PASSWORD, "name": "Ada", "role_at_signup": "technician"}),
            None,
        )
        .await;
    assert_eq!(reply.body["user"]["role_at_signup"], "technician");
    let too_long = "x".repeat(51);
    let refused = app
        .post(
            "/v1/auth/register",
            &json!({"email": unique_email(), "password": api_tests::PASSWORD, "name": "Ada", "role_at_signup": too_long}),
            None,
        )
        .await;
    refused.assert_error(422, "validation_failed");
}

#[tokio::test]
async fn the_owner_updates_the_account_and_bad_values_change_nothing() {
    let app = spawn_app().await;
    let session = app.register(&unique_email()).await;
    let token = &session.access_token;
    let updated =
        app.patch("/v1/accounts/me", &json!({"name": "Acme IT", "team_size_bucket": "6-15", "primary_psa": "halopsa"}), token).await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["name"], "Acme IT");
    for bad in [
        json!({"team_size_bucket": "huge"}),
        json!({"primary_psa": "excel"}),
        json!({"name": ""}),
        json!({"name": 5}),
        json!({"plan": "enterprise"}),
    ] {
        app.patch("/v1/accounts/me", &bad, token).await.assert_error(422, "validation_failed");
    }
    let account = app.get("/v1/accounts/me", Some(token)).await;
    assert_eq!(account.body["name"], "Acme IT");
    assert_eq!(account.body["team_size_bucket"], "6-15");
    assert_eq!(account.body["primary_psa"], "halopsa");
}

#[tokio::test]
async fn only_the_owner_may_update_the_account() {
    let app = spawn_app().await;
    let owner = app.register(&unique_email()).await;
    let email = unique_email();
    let engineer = User {
        password_hash: Some(adapters::security::password::hash(api_tests::PASSWORD.into()).await.unwrap()),
        ..User::new(
            uuid::Uuid::new_v4().to_string(),
            &owner.account_id,
            Email::parse(&email).unwrap(),
            "Eng".into(),
            Role::Engineer,
            chrono::Utc::now(),
        )
    };
    app.store().create_member(&engineer).await.unwrap();
    let login = app.post("/v1/auth/login", &json!({"email": email, "password": api_tests::PASSWORD}), None).await;
    let token = login.body["access_token"].as_str().unwrap();
    assert_eq!(app.get("/v1/accounts/me", Some(token)).await.body["id"], owner.account_id.as_str());
    app.patch("/v1/accounts/me", &json!({"name": "Mine now"}), token).await.assert_error(403, "owner_required");
    assert_ne!(app.get("/v1/accounts/me", Some(&owner.access_token)).await.body["name"], "Mine now");
}

#[tokio::test]
async fn each_caller_sees_and_changes_only_their_own_account() {
    let app = spawn_app().await;
    let ada = app.register(&unique_email()).await;
    let eve = app.register(&unique_email()).await;
    app.patch("/v1/accounts/me", &json!({"name": "Eve's"}), &eve.access_token).await;
    let adas = app.get("/v1/accounts/me", Some(&ada.access_token)).await;
    assert_eq!(adas.body["id"], ada.account_id.as_str());
    assert_ne!(adas.body["name"], "Eve's");
    let me = app.get("/v1/auth/me", Some(&eve.access_token)).await;
    assert_eq!(me.body["user"]["id"], eve.user_id.as_str());
    assert_eq!(me.body["account"]["id"], eve.account_id.as_str());
}
