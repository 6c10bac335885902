//! The full authorize → provider → callback round trip against a local OpenID
//! provider (npm oidc-provider, OpenID Certified, started by infra/test), for both
//! providers. The provider is strict where Google and Entra are (PKCE S256 required,
//! exact redirect URIs, the client secret, single-use codes, the nonce copied), and
//! tests here check that it refuses what they would. Microsoft is served as Entra's
//! multi-tenant endpoint behaves: its discovery publishes the issuer
//! `.../{tenantid}/v2.0`, tokens carry `tid` and the issuer with it, and never
//! `email_verified` (a verified email is the optional `xms_edov`). An identity's
//! `forge` asks the provider for an ID token no real provider would issue (claims
//! written over it, or a key it never published), for the app to refuse.

use std::collections::BTreeMap;

use api_tests::{GOOGLE_CLIENT, MICROSOFT_CLIENT, OAUTH_REDIRECT_URI, PASSWORD, Reply, TestApp, spawn_app, unique_email};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Url;
use serde_json::{Value, json};

const PROVIDERS: [&str; 2] = ["google", "microsoft"];
/// A work (Entra ID) tenant, and Microsoft's tenant of personal accounts.
const WORK_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const PERSONAL_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
/// A PKCE pair the test holds (RFC 7636, appendix B), to exchange codes itself.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The issuer Entra puts in a token of `tenant`: the discovery template filled in.
fn entra_issuer(tenant: &str) -> String {
    std::env::var("OIDC_ENTRA_ISSUER_URL").unwrap().replace("/common/v2.0", &format!("/{tenant}/v2.0"))
}

/// The identity as each provider has it. Microsoft: a work tenant, and
/// `email_verified` turned into what Entra sends instead (`xms_edov`). Claims that
/// name their own `tid` are sent as they are.
fn as_sent_by(provider: &str, claims: &Value) -> Value {
    if provider != "microsoft" || claims.get("tid").is_some() {
        return claims.clone();
    }
    let mut sent = claims.clone();
    let verified = sent.as_object_mut().unwrap().remove("email_verified").unwrap_or(json!(false));
    sent["xms_edov"] = verified;
    sent["tid"] = json!(WORK_TENANT);
    sent
}

/// The app's authorization URL for `provider`, with what the app must ask for.
async fn authorization_url(app: &TestApp, provider: &str) -> String {
    let reply = app.get(&format!("/v1/auth/{provider}/authorize?redirect_uri={OAUTH_REDIRECT_URI}"), None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let url = reply.body["authorization_url"].as_str().unwrap().to_owned();
    for expected in ["code_challenge_method=S256", "nonce=", "state=", "scope=openid"] {
        assert!(url.contains(expected), "{url} lacks {expected}");
    }
    url
}

/// `url` with its query parameter `name` set to `value`, or removed (None).
fn with_param(url: &str, name: &str, value: Option<&str>) -> String {
    let mut url = Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> =
        url.query_pairs().filter(|(k, _)| k != name).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    url.query_pairs_mut().clear().extend_pairs(pairs).extend_pairs(value.map(|v| (name, v)));
    url.into()
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// Signs `identity` in at the provider for the authorization at `url`, as a browser
/// would: the provider redirects to its sign-in page, the identity is POSTed there as
/// JSON, then its redirects are followed, with its cookies (the sign-in is bound to
/// them). Returns the provider's last answer: its status, and
/// where it sends the browser when that is away from the provider (the redirect URI,
/// with a code or an error); `None` when it stops at its own page (an error).
async fn log_in_at_provider(url: &str, identity: &Value) -> (u16, Option<Url>) {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut cookies = BTreeMap::new();
    let mut url = Url::parse(url).unwrap();
    for hop in 0..10 {
        let request = if hop == 1 { http.post(url.clone()).json(identity) } else { http.get(url.clone()) };
        let jar: Vec<String> = cookies.iter().map(|(name, value)| format!("{name}={value}")).collect();
        let response = request.header("cookie", jar.join("; ")).send().await.unwrap();
        for set in response.headers().get_all("set-cookie") {
            let (name, value) = set.to_str().unwrap().split(';').next().unwrap().split_once('=').unwrap();
            cookies.insert(name.to_owned(), value.to_owned());
        }
        let status = response.status().as_u16();
        let Some(location) = response.headers().get("location") else { return (status, None) };
        let next = url.join(location.to_str().unwrap()).unwrap();
        if next.origin() != url.origin() {
            return (status, Some(next));
        }
        url = next;
    }
    panic!("the provider kept redirecting")
}

/// The code and state the provider sends back to the redirect URI when `claims` (as
/// `provider` has them) sign in for the authorization at `url`.
async fn code_at_provider(url: &str, provider: &str, claims: &Value) -> (String, String) {
    let (status, back) = log_in_at_provider(url, &as_sent_by(provider, claims)).await;
    let back = back.unwrap_or_else(|| panic!("the provider answered {status} at its own page"));
    assert!(param(&back, "error").is_none(), "{back}");
    (param(&back, "code").unwrap(), param(&back, "state").unwrap())
}

/// Follows the app's authorization URL to the provider, choosing the identity it will
/// assert: the code and state it sends back.
async fn authorize_at_provider(app: &TestApp, provider: &str, claims: &Value) -> (String, String) {
    code_at_provider(&authorization_url(app, provider).await, provider, claims).await
}

async fn callback(app: &TestApp, provider: &str, (code, state): (String, String)) -> Reply {
    app.post(&format!("/v1/auth/{provider}/callback"), &json!({"code": code, "state": state}), None).await
}

pub(crate) async fn sign_in(app: &TestApp, provider: &str, claims: Value) -> Reply {
    let grant = authorize_at_provider(app, provider, &claims).await;
    callback(app, provider, grant).await
}

/// Exchanges a code at the provider's token endpoint, as the app's client: the
/// status and body the provider answers.
async fn exchange_at_provider(app: &TestApp, provider: &str, form: &[(&str, &str)], secret: Option<&str>) -> (u16, Value) {
    let (config, (client_id, client_secret)) = match provider {
        "google" => (&app.state.config.google, GOOGLE_CLIENT),
        _ => (&app.state.config.microsoft, MICROSOFT_CLIENT),
    };
    let discovery: Value = reqwest::get(format!("{}/.well-known/openid-configuration", config.issuer)).await.unwrap().json().await.unwrap();
    let mut form = form.to_vec();
    form.extend([("grant_type", "authorization_code"), ("redirect_uri", OAUTH_REDIRECT_URI)]);
    let response = reqwest::Client::new()
        .post(discovery["token_endpoint"].as_str().unwrap())
        .basic_auth(client_id, Some(secret.unwrap_or(client_secret)))
        .form(&form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// The claims of a JWT, unverified (the app verifies; the tests look).
fn jwt_claims(token: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap()
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

/// The provider copies the authorization's nonce into the ID token: a token bound to
/// another nonce is refused, as is one the provider never signed (a key it never
/// published) or one for another audience.
#[tokio::test]
async fn a_wrong_nonce_a_forged_signature_or_another_audience_is_refused() {
    let app = spawn_app().await;
    for provider in PROVIDERS {
        let email = unique_email();
        let url = with_param(&authorization_url(&app, provider).await, "nonce", Some("not-the-nonce-we-sent"));
        let grant = code_at_provider(&url, provider, &identity("n1", &email, true)).await;
        callback(&app, provider, grant).await.assert_error(400, "invalid_id_token");
        let mut forged = identity("n2", &email, true);
        forged["forge"] = json!({"key": "unpublished"});
        sign_in(&app, provider, forged).await.assert_error(400, "invalid_id_token");
        let mut wrong_audience = identity("n3", &email, true);
        wrong_audience["forge"] = json!({"claims": {"aud": "another-client"}});
        sign_in(&app, provider, wrong_audience).await.assert_error(400, "invalid_id_token");
    }
    let items = app.all_items().await;
    assert_eq!(count(&items, "USER#") + count(&items, "IDENTITY#"), 0);
}

/// Redirect URIs are matched exactly: one the client never registered (another host,
/// or the registered one extended) is refused at the provider's own page, so no code
/// leaves it; a code sent to one registered URI is not exchanged for another (the app
/// exchanges with the URI it asked for).
#[tokio::test]
async fn the_provider_holds_a_code_to_its_exact_redirect_uri() {
    let app = spawn_app().await;
    for provider in PROVIDERS {
        let url = authorization_url(&app, provider).await;
        for unregistered in ["https://evil.example/cb".to_owned(), format!("{OAUTH_REDIRECT_URI}/more")] {
            let tampered = with_param(&url, "redirect_uri", Some(&unregistered));
            let answer = log_in_at_provider(&tampered, &as_sent_by(provider, &identity("r1", &unique_email(), true))).await;
            assert_eq!(answer, (400, None), "{provider}: {unregistered}");
        }
        let elsewhere = with_param(&url, "redirect_uri", Some("http://app.test/other"));
        let grant = code_at_provider(&elsewhere, provider, &identity("r2", &unique_email(), true)).await;
        callback(&app, provider, grant).await.assert_error(400, "oauth_code_invalid");
    }
    assert_eq!(count(&app.all_items().await, "USER#"), 0);
}

/// PKCE is required and checked, and so is the client secret: an authorization
/// without a challenge is refused; a code is not exchanged without its verifier, with
/// another one or without the secret; once exchanged it is spent. The test holds the
/// verifier here (its own challenge in the app's authorization URL) to ask the
/// provider directly; through the app, that foreign challenge fails the app's exchange.
#[tokio::test]
async fn the_provider_requires_pkce_the_client_secret_and_an_unused_code() {
    let app = spawn_app().await;
    for provider in PROVIDERS {
        let url = authorization_url(&app, provider).await;
        let unchallenged = with_param(&with_param(&url, "code_challenge", None), "code_challenge_method", None);
        let (_, back) = log_in_at_provider(&unchallenged, &as_sent_by(provider, &identity("p1", &unique_email(), true))).await;
        let back = back.expect("the provider sends the error back to the redirect URI");
        assert_eq!((param(&back, "error").as_deref(), param(&back, "code").is_some()), (Some("invalid_request"), false));

        let foreign = with_param(&authorization_url(&app, provider).await, "code_challenge", Some(CHALLENGE));
        let grant = code_at_provider(&foreign, provider, &identity("p2", &unique_email(), true)).await;
        callback(&app, provider, grant).await.assert_error(400, "oauth_code_invalid");

        let ours = with_param(&authorization_url(&app, provider).await, "code_challenge", Some(CHALLENGE));
        let (code, _) = code_at_provider(&ours, provider, &identity("p3", &unique_email(), true)).await;
        let code = code.as_str();
        let refused = |(status, body): (u16, Value)| (status, body["error"].as_str().map(str::to_owned));
        let another_verifier = "a".repeat(43);
        for (form, secret, expected, why) in [
            (vec![("code", code)], None, (400, "invalid_grant"), "no verifier"),
            (vec![("code", code), ("code_verifier", &another_verifier)], None, (400, "invalid_grant"), "another verifier"),
            (vec![("code", code), ("code_verifier", VERIFIER)], Some("not-the-secret"), (401, "invalid_client"), "a wrong secret"),
        ] {
            let answer = refused(exchange_at_provider(&app, provider, &form, secret).await);
            assert_eq!(answer, (expected.0, Some(expected.1.to_owned())), "{provider}: {why}");
        }
        let (status, tokens) = exchange_at_provider(&app, provider, &[("code", code), ("code_verifier", VERIFIER)], None).await;
        assert_eq!(status, 200, "{provider}: the code was good all along: {tokens}");
        let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
        assert_eq!(claims["nonce"].as_str(), param(&Url::parse(&ours).unwrap(), "nonce").as_deref());
        assert_eq!(claims["sub"], "p3");
        let spent = refused(exchange_at_provider(&app, provider, &[("code", code), ("code_verifier", VERIFIER)], None).await);
        assert_eq!(spent, (400, Some("invalid_grant".to_owned())), "{provider}: a replayed code");
    }
}

/// The claims each provider puts in its ID token, as production's do.
#[tokio::test]
async fn id_tokens_carry_each_providers_own_claims() {
    let app = spawn_app().await;
    let mut tokens = BTreeMap::new();
    for provider in PROVIDERS {
        let mut claims = identity("c1", "olly@contoso.example", true);
        claims["hd"] = json!("contoso.example");
        let url = with_param(&authorization_url(&app, provider).await, "code_challenge", Some(CHALLENGE));
        let (code, _) = code_at_provider(&url, provider, &claims).await;
        let (status, body) = exchange_at_provider(&app, provider, &[("code", &code), ("code_verifier", VERIFIER)], None).await;
        assert_eq!(status, 200, "{body}");
        tokens.insert(provider, jwt_claims(body["id_token"].as_str().unwrap()));
    }
    let google = &tokens["google"];
    assert_eq!(google["iss"].as_str(), std::env::var("OIDC_ISSUER_URL").ok().as_deref());
    assert_eq!(
        (&google["aud"], &google["email_verified"], &google["hd"]),
        (&json!(GOOGLE_CLIENT.0), &json!(true), &json!("contoso.example"))
    );
    let microsoft = &tokens["microsoft"];
    assert_eq!(microsoft["iss"], entra_issuer(WORK_TENANT), "the user's tenant's issuer, not common's template");
    assert_eq!(
        (&microsoft["aud"], &microsoft["tid"], &microsoft["xms_edov"]),
        (&json!(MICROSOFT_CLIENT.0), &json!(WORK_TENANT), &json!(true))
    );
    assert!(microsoft.get("email_verified").is_none() && microsoft.get("hd").is_none(), "{microsoft}");
    for claims in tokens.values() {
        assert_eq!(
            (&claims["sub"], &claims["email"], &claims["name"]),
            (&json!("c1"), &json!("olly@contoso.example"), &json!("Olly Auth"))
        );
    }
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
    let entra = |sub: &str, email: &str, tenant: &str| json!({"sub": sub, "email": email, "tid": tenant, "preferred_username": "olly@contoso.example"});
    // Entra never sends `email_verified`: a token saying it anyway.
    let mut claims_only = entra("attacker", &email, WORK_TENANT);
    claims_only["forge"] = json!({"claims": {"email_verified": true}});
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
    let ok = sign_in(&app, "microsoft", json!({"sub": "t1", "email": unique_email(), "tid": WORK_TENANT})).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    // Signed with Entra's key, but the issuer is another tenant's, or the bare template.
    let crossed =
        json!({"sub": "t2", "email": unique_email(), "tid": WORK_TENANT, "forge": {"claims": {"iss": entra_issuer(PERSONAL_TENANT)}}});
    sign_in(&app, "microsoft", crossed).await.assert_error(400, "invalid_id_token");
    let template =
        json!({"sub": "t3", "email": unique_email(), "tid": WORK_TENANT, "forge": {"claims": {"iss": entra_issuer("{tenantid}")}}});
    sign_in(&app, "microsoft", template).await.assert_error(400, "invalid_id_token");

    let only_personal = api_tests::spawn_app_with(|config| config.microsoft.allowed_tenants = vec![PERSONAL_TENANT.to_owned()]).await;
    let refused = json!({"sub": "t4", "email": unique_email(), "tid": WORK_TENANT});
    sign_in(&only_personal, "microsoft", refused).await.assert_error(400, "invalid_id_token");
}
