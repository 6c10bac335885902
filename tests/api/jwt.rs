use api_tests::{JWT_AUDIENCE, JWT_ISSUER, JWT_SECRET, spawn_app, unique_email};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};

fn claims(session: &api_tests::Session) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": session.user_id, "acc": session.account_id, "role": "owner",
           "iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "iat": now, "exp": now + 600})
}

fn sign(claims: &Value, secret: &str) -> String {
    encode(&Header::default(), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

#[tokio::test]
async fn a_well_formed_token_signed_with_the_secret_is_accepted() {
    let app = spawn_app().await;
    let session = app.register(&unique_email()).await;
    // Proves the forged-token cases below fail for the reason they name.
    assert_eq!(app.get("/v1/auth/me", Some(&sign(&claims(&session), JWT_SECRET))).await.status, 200);
}

#[tokio::test]
async fn expired_tampered_unsigned_and_misaddressed_tokens_are_refused() {
    let app = spawn_app().await;
    let session = app.register(&unique_email()).await;
    let base = claims(&session);
    let with = |key: &str, value: Value| {
        let mut c = base.clone();
        c[key] = value;
        c
    };
    let now = chrono::Utc::now().timestamp();

    let expired = sign(&with("exp", json!(now - 120)), JWT_SECRET);
    let wrong_audience = sign(&with("aud", json!("someone-else")), JWT_SECRET);
    let wrong_issuer = sign(&with("iss", json!("someone-else")), JWT_SECRET);
    let wrong_key = sign(&base, "another-secret-0123456789-0123456789");
    let tampered = {
        let token = session.access_token.clone();
        let parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&with("sub", json!("someone-else"))).unwrap());
        format!("{}.{}.{}", parts[0], forged, parts[2])
    };
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&base).unwrap())
    );
    let hs512 = encode(&Header::new(jsonwebtoken::Algorithm::HS512), &base, &EncodingKey::from_secret(JWT_SECRET.as_bytes())).unwrap();

    for (name, token) in [
        ("expired", expired),
        ("wrong audience", wrong_audience),
        ("wrong issuer", wrong_issuer),
        ("wrong key", wrong_key),
        ("tampered", tampered),
        ("alg none", alg_none),
        ("other algorithm", hs512),
        ("garbage", "not-a-jwt".to_owned()),
    ] {
        let reply = app.get("/v1/auth/me", Some(&token)).await;
        assert_eq!(reply.status, 401, "{name}: {}", reply.body);
        reply.assert_error(401, "unauthorized");
    }
    app.get("/v1/auth/me", None).await.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn a_token_not_valid_yet_is_refused() {
    let app = spawn_app().await;
    let session = app.register(&unique_email()).await;
    let mut early = claims(&session);
    early["nbf"] = json!(chrono::Utc::now().timestamp() + 600);
    app.get("/v1/auth/me", Some(&sign(&early, JWT_SECRET))).await.assert_error(401, "unauthorized");
}

/// A well-signed token is only as good as its user record: a user who no longer
/// exists, or a token naming another account than the user's, is 401 on every kind of
/// route (guarded or not), and the account read is always the user's own.
#[tokio::test]
async fn the_user_record_not_the_token_decides_who_calls() {
    let app = spawn_app().await;
    let ada = app.register(&unique_email()).await;
    let bob = app.register(&unique_email()).await;
    let mut ghost = claims(&ada);
    ghost["sub"] = json!(uuid::Uuid::new_v4().to_string());
    let mut crossed = claims(&ada);
    crossed["acc"] = json!(bob.account_id);
    for (name, token) in [("deleted user", sign(&ghost, JWT_SECRET)), ("another account", sign(&crossed, JWT_SECRET))] {
        for path in ["/v1/auth/me", "/v1/accounts/me", "/v1/wills", "/v1/billing/state"] {
            let reply = app.get(path, Some(&token)).await;
            assert_eq!(reply.status, 401, "{name} {path}: {}", reply.body);
        }
    }
}

async fn set_user_flag(app: &api_tests::TestApp, user_id: &str, field: &str, value: aws_sdk_dynamodb::types::AttributeValue) {
    app.store()
        .client()
        .update_item()
        .table_name(app.store().table())
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{user_id}")))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("USER".into()))
        .update_expression("SET #f = :v")
        .expression_attribute_names("#f", field)
        .expression_attribute_values(":v", value)
        .send()
        .await
        .unwrap();
}

/// Seed 002's `get_current_active_user`: a deactivated user is refused everywhere; one
/// who must change their password may only see who they are, change it and sign out.
#[tokio::test]
async fn inactive_users_and_due_password_changes_are_refused() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let app = spawn_app().await;
    let due = app.register(&unique_email()).await;
    set_user_flag(&app, &due.user_id, "must_change_password", AttributeValue::Bool(true)).await;
    let t = Some(due.access_token.as_str());
    for path in ["/v1/wills", "/v1/billing/state", "/v1/accounts/me"] {
        app.get(path, t).await.assert_error(403, "password_change_required");
    }
    assert_eq!(app.get("/v1/auth/me", t).await.status, 200);
    let changed =
        app.post("/v1/auth/password/change", &json!({"current_password": api_tests::PASSWORD, "new_password": "a new horse 10"}), t).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(app.get("/v1/wills", t).await.status, 200, "a new password lifts the block");

    let gone = app.register(&unique_email()).await;
    set_user_flag(&app, &gone.user_id, "deactivated_at", AttributeValue::S(chrono::Utc::now().to_rfc3339())).await;
    for path in ["/v1/auth/me", "/v1/wills", "/v1/billing/state"] {
        app.get(path, Some(&gone.access_token)).await.assert_error(403, "user_inactive");
    }
}
