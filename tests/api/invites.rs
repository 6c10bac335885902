use api_tests::{PASSWORD, Session, TestApp, spawn_app, unique_email};
use serde_json::{Value, json};

fn code_in(body: &str) -> String {
    let start = body.find("code=").expect("an invitation link") + "code=".len();
    body[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

pub(crate) async fn invite(app: &TestApp, owner: &Session, email: &str, role: &str) -> Value {
    let reply = app.post("/v1/accounts/me/invites", &json!({"email": email, "role": role}), Some(&owner.access_token)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body
}

pub(crate) async fn invite_code(app: &TestApp, email: &str) -> String {
    let mails = app.emails_to(email).await;
    let (_, body) = mails.iter().find(|(s, _)| s.starts_with("You are invited")).expect("invitation mail");
    code_in(body)
}

async fn delete(app: &TestApp, path: &str, token: &str) -> api_tests::Reply {
    api_tests::Reply::from(app.http.delete(format!("{}{path}", app.address)).bearer_auth(token).send().await.unwrap()).await
}

#[tokio::test]
async fn an_invitation_is_mailed_and_joins_the_account_with_its_role() {
    let app = spawn_app().await;
    let owner = app.register(&unique_email()).await;
    let email = unique_email();
    let created = invite(&app, &owner, &email, "engineer").await;
    assert_eq!(created["status"], "pending");
    assert!(created["email_sent_at"].is_string(), "{created}");
    let code = invite_code(&app, &email).await;

    let joined = app
        .post(
            "/v1/auth/register",
            &json!({"email": email.to_uppercase(), "password": PASSWORD, "name": "Eng", "account_invite_code": code}),
            None,
        )
        .await;
    assert_eq!(joined.status, 201, "{}", joined.body);
    assert_eq!(joined.body["user"]["account_id"], owner.account_id.as_str());
    assert_eq!(joined.body["user"]["role"], "engineer");
    let subscriptions = app.all_items().await.iter().filter(|i| i["sk"].as_s().unwrap() == "SUBSCRIPTION").count();
    assert_eq!(subscriptions, 1, "joining must not start a trial");

    let listed = app.get("/v1/accounts/me/invites", Some(&owner.access_token)).await;
    assert_eq!(listed.body[0]["status"], "accepted");
    // Used: the code does not work twice, and an accepted invite cannot be revoked.
    let again = app
        .post("/v1/auth/register", &json!({"email": unique_email(), "password": PASSWORD, "name": "X", "account_invite_code": code}), None)
        .await;
    again.assert_error(400, "invite_invalid_or_expired");
    let path = format!("/v1/accounts/me/invites/{}", created["id"].as_str().unwrap());
    delete(&app, &path, &owner.access_token).await.assert_error(400, "invite_already_accepted");
}

#[tokio::test]
async fn a_code_for_another_email_is_refused_before_anything_is_written() {
    let app = spawn_app().await;
    let owner = app.register(&unique_email()).await;
    let email = unique_email();
    invite(&app, &owner, &email, "viewer").await;
    let code = invite_code(&app, &email).await;
    let before = app.all_items().await.len();
    let other = app
        .post("/v1/auth/register", &json!({"email": unique_email(), "password": PASSWORD, "name": "X", "account_invite_code": code}), None)
        .await;
    other.assert_error(400, "invite_email_mismatch");
    assert_eq!(app.all_items().await.len(), before);
}

#[tokio::test]
async fn revoke_is_idempotent_and_kills_the_code() {
    let app = spawn_app().await;
    let owner = app.register(&unique_email()).await;
    let email = unique_email();
    let created = invite(&app, &owner, &email, "admin").await;
    let code = invite_code(&app, &email).await;
    let path = format!("/v1/accounts/me/invites/{}", created["id"].as_str().unwrap());
    assert_eq!(delete(&app, &path, &owner.access_token).await.status, 204);
    assert_eq!(delete(&app, &path, &owner.access_token).await.status, 204);
    let listed = app.get("/v1/accounts/me/invites", Some(&owner.access_token)).await;
    assert_eq!(listed.body[0]["status"], "revoked");
    let joined =
        app.post("/v1/auth/register", &json!({"email": email, "password": PASSWORD, "name": "X", "account_invite_code": code}), None).await;
    joined.assert_error(400, "invite_invalid_or_expired");
}

#[tokio::test]
async fn bulk_creates_each_invite_independently() {
    let app = spawn_app().await;
    let owner = app.register(&unique_email()).await;
    let (good, also_good) = (unique_email(), unique_email());
    let reply = app
        .post(
            "/v1/accounts/me/invites/bulk",
            &json!({"invites": [
                {"email": good, "role": "engineer"},
                {"email": "not-an-email", "role": "viewer"},
                {"email": also_good, "role": "owner"},
                {"email": also_good, "role": "viewer"},
            ]}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["created"].as_array().unwrap().len(), 2, "{}", reply.body);
    let failed = reply.body["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 2, "{}", reply.body);
    assert_eq!(failed[0]["email"], "not-an-email");
    assert_eq!(failed[0]["error"], "validation_failed");
    assert_eq!(app.emails_to(&good).await.len(), 1);
    assert_eq!(app.emails_to(&also_good).await.len(), 1);
}

#[tokio::test]
async fn invitation_bad_input() {
    let app = spawn_app().await;
    let owner = app.register(&unique_email()).await;
    let token = Some(owner.access_token.as_str());
    for bad in [
        json!({"email": "x"}),
        json!({"email": "nope", "role": "viewer"}),
        json!({"email": unique_email(), "role": "king"}),
        json!({"email": unique_email(), "role": "owner"}),
    ] {
        app.post("/v1/accounts/me/invites", &bad, token).await.assert_error(422, "validation_failed");
    }
    app.post("/v1/accounts/me/invites/bulk", &json!({"invites": []}), token).await.assert_error(422, "validation_failed");
    app.post("/v1/accounts/me/invites/bulk", &json!({"invites": "x"}), token).await.assert_error(422, "validation_failed");
    app.post("/v1/accounts/me/invites", &json!({"email": owner.email, "role": "viewer"}), token).await.assert_error(409, "email_taken");
    let listed = app.get("/v1/accounts/me/invites", token).await;
    assert_eq!(listed.body, json!([]));
    delete(&app, "/v1/accounts/me/invites/no-such-id", &owner.access_token).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn another_accounts_owner_cannot_list_or_revoke_and_members_get_403() {
    let app = spawn_app().await;
    let owner = app.register(&unique_email()).await;
    let email = unique_email();
    let created = invite(&app, &owner, &email, "viewer").await;
    let path = format!("/v1/accounts/me/invites/{}", created["id"].as_str().unwrap());

    let stranger = app.register(&unique_email()).await;
    assert_eq!(app.get("/v1/accounts/me/invites", Some(&stranger.access_token)).await.body, json!([]));
    delete(&app, &path, &stranger.access_token).await.assert_error(404, "not_found");

    // A viewer of the owner's account is not allowed to manage invitations.
    let viewer_email = unique_email();
    invite(&app, &owner, &viewer_email, "viewer").await;
    let code = invite_code(&app, &viewer_email).await;
    let viewer = app
        .post("/v1/auth/register", &json!({"email": viewer_email, "password": PASSWORD, "name": "V", "account_invite_code": code}), None)
        .await;
    let viewer_token = viewer.body["access_token"].as_str().unwrap();
    app.get("/v1/accounts/me/invites", Some(viewer_token)).await.assert_error(403, "role_not_allowed");
    delete(&app, &path, viewer_token).await.assert_error(403, "role_not_allowed");
    app.post("/v1/accounts/me/invites", &json!({"email": unique_email(), "role": "viewer"}), Some(viewer_token))
        .await
        .assert_error(403, "role_not_allowed");
    let listed = app.get("/v1/accounts/me/invites", Some(&owner.access_token)).await;
    assert_eq!(listed.body.as_array().unwrap().iter().filter(|i| i["status"] == "pending").count(), 1);
}

/// SES refuses mail from an unverified sender: the invitation still exists, unsent.
#[tokio::test]
async fn a_mail_failure_leaves_email_sent_at_null_and_still_creates() {
    let app = api_tests::spawn_app_with(|config| config.email_from = "unverified@nowhere.example".into()).await;
    let owner = app.register(&unique_email()).await;
    let email = unique_email();
    let reply = app.post("/v1/accounts/me/invites", &json!({"email": email, "role": "viewer"}), Some(&owner.access_token)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert!(reply.body["email_sent_at"].is_null());
    assert!(app.emails_to(&email).await.is_empty());
    let listed = app.get("/v1/accounts/me/invites", Some(&owner.access_token)).await;
    assert!(listed.body[0]["email_sent_at"].is_null());
}
