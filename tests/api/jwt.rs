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
