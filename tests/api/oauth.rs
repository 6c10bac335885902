//! The full authorize → provider → callback round trip against a local OpenID
//! provider (oauth2-mock-server, started by infra/test), for both providers.
//! Microsoft is served as Entra's multi-tenant endpoint behaves: its discovery
//! publishes the issuer `.../{tenantid}/v2.0`, tokens carry `tid` and the issuer with
//! it, and never `email_verified` (a verified email is the optional `xms_edov`).

use api_tests::{OAUTH_REDIRECT_URI, PASSWORD, Reply, TestApp, spawn_app, unique_email};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

const PROVIDERS: [&str; 2] = ["google", "microsoft"];
/// A work (Entra ID) tenant, and Microsoft's tenant of personal accounts.
const WORK_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const PERSONAL_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// The issuer Entra puts in a token of `tenant`: the discovery template filled in.
fn entra_issuer(tenant: &str) -> String {
    std::env::var("OIDC_ENTRA_ISSUER_URL").unwrap().replace("/common/v2.0", &format!("/{tenant}/v2.0"))
}

/// The claims as each provider sends them. Microsoft: a work tenant, the issuer with
/// it, and `email_verified` turned into what Entra sends instead (`xms_edov`). Claims
/// that name their own `tid` are sent as they are.
fn as_sent_by(provider: &str, claims: &Value) -> Value {
    if provider != "microsoft" || claims.get("tid").is_some() {
        return claims.clone();
    }
    let mut sent = claims.clone();
    let verified = sent.as_object_mut().unwrap().remove("email_verified").unwrap_or(json!(false));
    sent["xms_edov"] = verified;
    sent["tid"] = json!(WORK_TENANT);
    sent["iss"] = json!(entra_issuer(WORK_TENANT));
    sent
}

/// Follows the authorization URL to the provider (which answers with a redirect
/// carrying `code` and `state`), choosing the identity the provider will assert.
async fn authorize_at_provider(app: &TestApp, provider: &str, claims: &Value) -> (String, String) {
    let reply = app.get(&format!("/v1/auth/{provider}/authorize?redirect_uri={OAUTH_REDIRECT_URI}"), None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let url = reply.body["authorization_url"].as_str().unwrap();
    for expected in ["code_challenge_method=S256", "nonce=", "state=", "scope=openid"] {
        assert!(url.contains(expected), "{url} lacks {expected}");
    }
    let claims = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&as_sent_by(provider, claims)).unwrap());
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = no_redirects.get(format!("{url}&mock_claims={claims}")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 302);
    let location = reqwest::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(OAUTH_REDIRECT_URI));
    let param = |name: &str| location.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap();
    (param("code"), param("state"))
}

pub(crate) async fn sign_in(app: &TestApp, provider: &str, claims: Value) -> Reply {
    let (code, state) = authorize_at_provider(app, provider, &claims).await;
    app.post(&format!("/v1/auth/{provider}/callback"), &json!({"code": code, "state": state}), None).await
}

pub(crate) fn identity(subject: &str, email: &str, verified: bool) -> Value {
    json!({"sub": subject, "email": email, "email_verified": verified, "name": "Olly Auth"})
}

fn count(items: &[std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>], prefix: &str) -> usize {
    items.iter().filter(|i| i["pk"].as_s().unwrap().starts_with(prefix)).count()
}

#[tokio::test]
async fn a_new_user_then_the_same_subject_again() {
    let app = spawn_app().await;
    for provider in PROVIDERS {
        let subject = uuid::Uuid::new_v4().to_string();
        let email = unique_email();
        let first = sign_in(&app, provider, identity(&subject, &email, true)).await;
        assert_eq!(first.status, 200, "{provider}: {}", first.body);
        assert_eq!(first.body["is_new_user"], true);
        let me = app.get("/v1/auth/me", first.body["access_token"].as_str()).await;
        assert_eq!(me.body["user"]["email"], email);
        assert_eq!(me.body["user"]["email_verified"], true);
        assert_eq!(me.body["user"]["has_password"], false);
        assert_eq!(me.body["role"], "owner");
        assert_eq!(me.body["subscription"]["status"], "trialing");

        let again = sign_in(&app, provider, identity(&subject, &email, true)).await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert_eq!(again.body["is_new_user"], false);
        let me_again = app.get("/v1/auth/me", again.body["access_token"].as_str()).await;
        assert_eq!(me_again.body["user"]["id"], me.body["user"]["id"]);
    }
    let items = app.all_items().await;
    assert_eq!(count(&items, "IDENTITY#"), 2);
    assert_eq!(count(&items, "USER#"), 2);
}

#[tokio::test]
async fn an_existing_password_user_with_a_verified_email_is_linked() {
    let app = spawn_app().await;
    for provider in PROVIDERS {
        let email = unique_email();
        let session = app.register(&email).await;
        let reply = sign_in(&app, provider, identity("subject-of-ada", &email.to_uppercase(), true)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["is_new_user"], false);
        let me = app.get("/v1/auth/me", reply.body["access_token"].as_str()).await;
        assert_eq!(me.body["user"]["id"], session.user_id.as_str());
        assert_eq!(me.body["user"]["email_verified"], true);
        // The password still works.
        let login = app.post("/v1/auth/login", &json!({"email": email, "password": PASSWORD}), None).await;
        assert_eq!(login.status, 200);
    }
}

#[tokio::test]
async fn an_unverified_email_matching_a_user_is_refused_and_writes_nothing() {
    let app = spawn_app().await;
    for provider in PROVIDERS {
        let email = unique_email();
        app.register(&email).await;
        let before: Vec<_> = app.all_items().await;
        let reply = sign_in(&app, provider, identity("someone", &email, false)).await;
        reply.assert_error(409, "oauth_email_unverified");
        let after = app.all_items().await;
        let without_states = |items: &Vec<_>| -> Vec<_> {
            items
                .iter()
                .filter(|i: &&std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>| {
                    !i["pk"].as_s().unwrap().starts_with("OAUTHSTATE#")
                })
                .cloned()
                .collect()
        };
        assert_eq!(without_states(&before), without_states(&after));
        assert_eq!(count(&after, "IDENTITY#"), 0);
    }
}

#[tokio::test]
async fn replayed_unknown_and_cross_provider_states_are_refused() {
    let app = spawn_app().await;
    let (code, state) = authorize_at_provider(&app, "google", &identity("s1", &unique_email(), true)).await;
    let ok = app.post("/v1/auth/google/callback", &json!({"code": code, "state": state}), None).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    app.post("/v1/auth/google/callback", &json!({"code": code, "state": state}), None).await.assert_error(400, "invalid_state");
    app.post("/v1/auth/google/callback", &json!({"code": code, "state": "made-up"}), None).await.assert_error(400, "invalid_state");
    let (code, state) = authorize_at_provider(&app, "google", &identity("s2", &unique_email(), true)).await;
    app.post("/v1/auth/microsoft/callback", &json!({"code": code, "state": state}), None).await.assert_error(400, "invalid_state");
}

#[tokio::test]
async fn a_redirect_uri_off_the_allow_list_is_refused() {
    let app = spawn_app().await;
    for provider in PROVIDERS {
        let reply = app.get(&format!("/v1/auth/{provider}/authorize?redirect_uri=https://evil.example/cb"), None).await;
        reply.assert_error(400, "redirect_uri_not_allowed");
        app.get(&format!("/v1/auth/{provider}/authorize"), None).await.assert_error(422, "validation_failed");
    }
    assert!(app.all_items().await.is_empty());
}

#[tokio::test]
async fn a_wrong_nonce_or_a_bad_signature_is_refused() {
    let app = spawn_app().await;
    for provider in PROVIDERS {
        let email = unique_email();
        let mut wrong_nonce = identity("n1", &email, true);
        wrong_nonce["nonce"] = json!("not-the-nonce-we-sent");
        sign_in(&app, provider, wrong_nonce).await.assert_error(400, "invalid_id_token");
        let mut bad_signature = identity("n2", &email, true);
        bad_signature["bad_signature"] = json!(true);
        sign_in(&app, provider, bad_signature).await.assert_error(400, "invalid_id_token");
        let mut wrong_audience = identity("n3", &email, true);
        wrong_audience["aud"] = json!("another-client");
        sign_in(&app, provider, wrong_audience).await.assert_error(400, "invalid_id_token");
    }
    let items = app.all_items().await;
    assert_eq!(count(&items, "USER#") + count(&items, "IDENTITY#"), 0);
}

#[tokio::test]
async fn concurrent_callbacks_for_one_identity_create_one_row() {
    let app = spawn_app().await;
    let email = unique_email();
    let mut grants = Vec::new();
    for _ in 0..4 {
        grants.push(authorize_at_provider(&app, "google", &identity("racer", &email, true)).await);
    }
    let bodies: Vec<Value> = grants.iter().map(|(code, state)| json!({"code": code, "state": state})).collect();
    let replies = futures::future::join_all(bodies.iter().map(|body| app.post("/v1/auth/google/callback", body, None))).await;
    assert!(replies.iter().all(|r| r.status == 200), "{:?}", replies.iter().map(|r| &r.body).collect::<Vec<_>>());
    assert_eq!(replies.iter().filter(|r| r.body["is_new_user"] == true).count(), 1);
    let items = app.all_items().await;
    // One account: its item, its subscription and its will count.
    assert_eq!((count(&items, "IDENTITY#"), count(&items, "USER#"), count(&items, "ACCOUNT#")), (1, 1, 3));
}

#[tokio::test]
async fn an_oauth_only_user_logging_in_with_a_password_is_told_the_provider() {
    let app = spawn_app().await;
    let email = unique_email();
    assert_eq!(sign_in(&app, "microsoft", identity("ms-1", &email, true)).await.status, 200);
    let reply = app.post("/v1/auth/login", &json!({"email": email, "password": PASSWORD}), None).await;
    reply.assert_error(400, "use_oauth_provider");
    assert_eq!(reply.body["providers"], json!(["microsoft"]));
}

#[tokio::test]
async fn an_unconfigured_or_unknown_provider() {
    let app = api_tests::spawn_app_with(|config| config.google.client_id = None).await;
    app.get(&format!("/v1/auth/google/authorize?redirect_uri={OAUTH_REDIRECT_URI}"), None)
        .await
        .assert_error(503, "provider_not_configured");
    app.post("/v1/auth/google/callback", &json!({"code": "c", "state": "s"}), None).await.assert_error(503, "provider_not_configured");
    app.get(&format!("/v1/auth/github/authorize?redirect_uri={OAUTH_REDIRECT_URI}"), None).await.assert_error(404, "not_found");
    app.post("/v1/auth/microsoft/callback", &json!({"code": 1}), None).await.assert_error(422, "validation_failed");
    app.post_raw("/v1/auth/microsoft/callback", "application/json", "{").await.assert_error(400, "invalid_json");
    assert!(app.all_items().await.is_empty());
}

/// nOAuth: Entra lets a tenant admin put any address in `email`, unverified. Only
/// `xms_edov: true` or a personal Microsoft account makes it verified; Google's
/// `email_verified` means nothing coming from Microsoft.
#[tokio::test]
async fn microsoft_vouches_for_an_email_only_through_xms_edov_or_a_personal_account() {
    let app = spawn_app().await;
    let email = unique_email();
    let victim = app.register(&email).await;
    let entra = |sub: &str, email: &str, tenant: &str| json!({"sub": sub, "email": email, "tid": tenant, "iss": entra_issuer(tenant), "preferred_username": "olly@contoso.example"});
    let mut claims_only = entra("attacker", &email, WORK_TENANT);
    claims_only["email_verified"] = json!(true);
    sign_in(&app, "microsoft", claims_only).await.assert_error(409, "oauth_email_unverified");

    let mut domain_verified = entra("colleague", &email, WORK_TENANT);
    domain_verified["xms_edov"] = json!(true);
    let linked = sign_in(&app, "microsoft", domain_verified).await;
    assert_eq!((linked.status, linked.body["is_new_user"].as_bool()), (200, Some(false)), "{}", linked.body);
    let me = app.get("/v1/auth/me", linked.body["access_token"].as_str()).await;
    assert_eq!(me.body["user"]["id"], victim.user_id.as_str());
    let row = app.all_items().await.into_iter().find(|i| i["pk"].as_s().unwrap() == "IDENTITY#microsoft#colleague").unwrap();
    assert_eq!(row["provider_email_at_link"].as_s().unwrap(), &email, "the email the provider asserted at link time");

    let personal = sign_in(&app, "microsoft", entra("consumer", &unique_email(), PERSONAL_TENANT)).await;
    let me = app.get("/v1/auth/me", personal.body["access_token"].as_str()).await;
    assert_eq!(me.body["user"]["email_verified"], true, "a personal account's address is Microsoft's own");
    let work = sign_in(&app, "microsoft", entra("worker", &unique_email(), WORK_TENANT)).await;
    let me = app.get("/v1/auth/me", work.body["access_token"].as_str()).await;
    assert_eq!(me.body["user"]["email_verified"], false);
    assert_eq!(me.body["user"]["name"], "olly@contoso.example", "preferred_username only for display");
}

/// Entra's `common` discovery publishes `.../{tenantid}/v2.0`: a token is accepted
/// only with its own tenant in the issuer, and only from an allowed tenant when a
/// list is configured.
#[tokio::test]
async fn an_entra_token_names_its_own_tenant_in_its_issuer() {
    let app = spawn_app().await;
    let ok =
        sign_in(&app, "microsoft", json!({"sub": "t1", "email": unique_email(), "tid": WORK_TENANT, "iss": entra_issuer(WORK_TENANT)}))
            .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let crossed = json!({"sub": "t2", "email": unique_email(), "tid": WORK_TENANT, "iss": entra_issuer(PERSONAL_TENANT)});
    sign_in(&app, "microsoft", crossed).await.assert_error(400, "invalid_id_token");
    let template = json!({"sub": "t3", "email": unique_email(), "tid": WORK_TENANT, "iss": entra_issuer("{tenantid}")});
    sign_in(&app, "microsoft", template).await.assert_error(400, "invalid_id_token");

    let only_personal = api_tests::spawn_app_with(|config| config.microsoft.allowed_tenants = vec![PERSONAL_TENANT.to_owned()]).await;
    let refused = json!({"sub": "t4", "email": unique_email(), "tid": WORK_TENANT, "iss": entra_issuer(WORK_TENANT)});
    sign_in(&only_personal, "microsoft", refused).await.assert_error(400, "invalid_id_token");
}
