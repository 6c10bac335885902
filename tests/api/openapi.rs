//! The OpenAPI document stays true: the committed file is the one the routes
//! produce, every documented operation is mounted, and the template deploys exactly
//! the documented operations.

use std::collections::BTreeSet;

use api_tests::spawn_app;
use reqwest::Method;
use serde_json::{Value, json};
use web::error::NO_ROUTE;

const COMMITTED: &str = include_str!("../../docs/openapi.json");
const TEMPLATE: &str = include_str!("../../template.yaml");
/// Served by its Function URL, not the HTTP API.
const FUNCTION_URL_ROUTES: [&str; 1] = ["POST /webhooks/stripe"];

fn operations(document: &Value) -> BTreeSet<String> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            operations.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    operations
}

/// `Method: POST, Path: /v1/...` on each HttpApi event line of `template.yaml`.
fn template_routes() -> BTreeSet<String> {
    TEMPLATE
        .lines()
        .filter(|line| line.contains("Type: HttpApi"))
        .map(|line| {
            let field = |name: &str| {
                let rest = &line[line.find(name).unwrap_or_else(|| panic!("{name} in {line}")) + name.len()..];
                let rest = rest.trim_start();
                match rest.strip_prefix('"') {
                    Some(quoted) => quoted.split('"').next().unwrap().to_owned(),
                    None => rest.split([',', ' ', '}']).next().unwrap().to_owned(),
                }
            };
            format!("{} {}", field("Method:"), field("Path:"))
        })
        .collect()
}

#[test]
fn committed_document_is_the_generated_one() {
    let generated = serde_json::to_value(local::openapi()).unwrap();
    let committed: Value = serde_json::from_str(COMMITTED).unwrap();
    assert!(generated == committed, "docs/openapi.json is stale: run `cargo run -p local --bin ops -- openapi > docs/openapi.json`");
}

#[test]
fn template_deploys_exactly_the_documented_operations() {
    let documented = operations(&serde_json::to_value(local::openapi()).unwrap());
    let mut deployed = template_routes();
    deployed.extend(FUNCTION_URL_ROUTES.map(String::from));
    let undeployed: Vec<_> = documented.difference(&deployed).collect();
    let undocumented: Vec<_> = deployed.difference(&documented).collect();
    assert!(undeployed.is_empty() && undocumented.is_empty(), "not in template.yaml: {undeployed:?}; not documented: {undocumented:?}");
}

#[tokio::test]
async fn every_documented_operation_is_mounted() {
    let app = spawn_app().await;
    let document = serde_json::to_value(local::openapi()).unwrap();
    for operation in operations(&document) {
        let (method, path) = operation.split_once(' ').unwrap();
        let concrete: String = path.split('/').map(|s| if s.starts_with('{') { "some-id" } else { s }).collect::<Vec<_>>().join("/");
        let response =
            app.http.request(Method::from_bytes(method.as_bytes()).unwrap(), format!("{}{concrete}", app.address)).send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_ne!(status, 405, "{operation} is documented but not mounted with that method");
        assert_ne!(body["message"], NO_ROUTE, "{operation} is documented but not mounted");
    }
}

#[tokio::test]
async fn the_document_is_served() {
    let app = spawn_app().await;
    let reply = app.get("/v1/openapi.json", None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["openapi"], "3.1.0");
    assert_eq!(reply.body, serde_json::to_value(local::openapi()).unwrap());
}

#[test]
fn operation_ids_are_unique() {
    let document = serde_json::to_value(local::openapi()).unwrap();
    let mut seen = BTreeSet::new();
    for item in document["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            let id = operation["operationId"].as_str().expect("every operation has an id").to_owned();
            assert!(seen.insert(id.clone()), "operationId {id} is used twice");
        }
    }
}

#[tokio::test]
async fn unknown_paths_and_methods_get_the_error_body() {
    let app = spawn_app().await;
    let unknown = app.get("/v1/no-such-path", None).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["error"], "not_found");
    assert_eq!(unknown.body["message"], NO_ROUTE);

    let response = app.http.delete(format!("{}/v1/auth/register", app.address)).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let body: Value = response.json().await.expect("a JSON error body");
    assert_eq!(body["error"], "method_not_allowed");
    assert!(body["message"].is_string());

    // Behind the product guards too: the method is checked before the credentials.
    let guarded = app.http.delete(format!("{}/v1/petition-templates", app.address)).send().await.unwrap();
    assert_eq!(guarded.status(), 405);
    let body: Value = guarded.json().await.expect("a JSON error body");
    assert_eq!(body["error"], "method_not_allowed");
}

/// Every 4xx carries the SPEC error body, the framework's own rejections included.
#[tokio::test]
async fn the_frameworks_own_rejections_carry_the_error_body() {
    let app = spawn_app().await;
    let session = app.register(&api_tests::unique_email()).await;
    let expect = |response: reqwest::Response, status: u16| async move {
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: Value = response.json().await.expect("a JSON error body");
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()) && body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
        body
    };
    // A path parameter that is not UTF-8 once percent-decoded.
    let bad_path = app.http.get(format!("{}/v1/wills/%FF%FE", app.address)).bearer_auth(&session.access_token).send().await.unwrap();
    expect(bad_path, 400).await;
    // No Content-Type, and an empty one.
    let none = app.http.post(format!("{}/v1/auth/login", app.address)).body("{}").send().await.unwrap();
    expect(none, 415).await;
    let empty = app.http.post(format!("{}/v1/wills", app.address)).header("content-type", "").bearer_auth(&session.access_token).body("{}");
    let empty = empty.send().await.unwrap();
    assert!(empty.status().as_u16() < 500);
    // A webhook body over the limit.
    let huge = app.http.post(format!("{}/webhooks/stripe", app.address)).header("stripe-signature", "t=1,v1=x").body(vec![b'x'; 3 << 20]);
    let body = expect(huge.send().await.unwrap(), 413).await;
    assert_eq!(body["error"], "body_too_large");
}

/// The local docs page renders the served document with Swagger UI's files, which
/// `infra/run` (and `infra/test`) install with npm: nothing comes from a CDN.
#[tokio::test]
async fn the_local_docs_page_serves_swagger_ui_from_installed_files() {
    use tower::ServiceExt;
    let docs = local::docs::router(local::docs::assets_dir());
    let get = |path: &str| axum::http::Request::get(path).body(axum::body::Body::empty()).unwrap();
    let page = docs.clone().oneshot(get("/docs")).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = String::from_utf8(axum::body::to_bytes(page.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap();
    assert!(html.contains("/v1/openapi.json") && html.contains("/docs/swagger-ui-bundle.js") && !html.contains("https://"));
    let script = docs.clone().oneshot(get("/docs/swagger-ui-bundle.js")).await.unwrap();
    assert_eq!((script.status().as_u16(), script.headers()["content-type"].to_str().unwrap()), (200, "text/javascript"));
    assert_eq!(docs.oneshot(get("/docs/..%2FCargo.toml")).await.unwrap().status(), 404, "only the named files");
}

/// utoipa names a schema after its Rust type and keeps one schema per name: two types
/// with one name would silently share the first one's schema (a petition checkout once
/// documented as taking the subscription checkout's body). Every `ToSchema` type's
/// schema name (its own, or `#[schema(as = ...)]`) must be unique across the workspace.
#[test]
fn every_schema_name_is_unique() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut files = Vec::new();
    let mut dirs: Vec<std::path::PathBuf> = ["shared", "functions"].iter().map(|d| std::path::Path::new(root).join(d)).collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() && !path.ends_with("target") {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut seen: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    let mut duplicates = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = source.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !(line.trim_start().starts_with("#[derive(") && line.contains("ToSchema")) {
                continue;
            }
            // The attributes up to the item, then the item's name.
            let mut renamed = None;
            for next in &lines[i + 1..] {
                let next = next.trim_start();
                if let Some(rest) = next.strip_prefix("#[schema(as = ") {
                    renamed = rest.split(')').next().map(str::to_owned);
                }
                let item = next.trim_start_matches("pub(crate) ").trim_start_matches("pub ");
                if let Some(rest) = item.strip_prefix("struct ").or_else(|| item.strip_prefix("enum ")) {
                    let name =
                        renamed.take().unwrap_or_else(|| rest.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap().to_owned());
                    let at = format!("{}:{}", file.display(), i + 1);
                    if let Some(first) = seen.insert(name.clone(), at.clone()) {
                        duplicates.push(format!("{name}: {first} and {at}"));
                    }
                    break;
                }
            }
        }
    }
    assert!(seen.len() > 20, "found the schema types: {seen:?}");
    assert!(duplicates.is_empty(), "schema names used twice: {duplicates:?}");
}

#[test]
fn the_petition_checkout_is_documented_with_its_own_body() {
    let document: Value =
        serde_json::from_str(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json")).unwrap()).unwrap();
    let body =
        &document["paths"]["/v1/petitions/initiate-checkout"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(body, "#/components/schemas/PetitionCheckoutInput");
    let schema = &document["components"]["schemas"]["PetitionCheckoutInput"]["properties"];
    assert!(schema.get("template_id").is_some() && schema.get("plan_id").is_some(), "{schema}");
}

/// Every body the suite sends and the app accepts is checked against the published
/// request schema (`api_tests::contract`, called by `TestApp::send`). The check itself:
/// it refuses what a client typed from the document could not send.
#[test]
fn the_request_contract_refuses_what_the_document_does_not_publish() {
    use api_tests::contract::assert_documented_request;
    let refused = |method: &'static str, path: &'static str, body: Option<Value>| {
        std::panic::catch_unwind(|| assert_documented_request(method, path, body.as_ref())).is_err()
    };
    // The subscription checkout's body sent to the petition checkout (the shared-name bug).
    assert!(refused("POST", "/v1/petitions/initiate-checkout", Some(json!({"plan": "pro", "seats": 1, "billing_interval": "month"}))));
    assert!(!refused("POST", "/v1/petitions/initiate-checkout", Some(json!({"template_id": "t", "plan_id": "p"}))));
    // A body where the operation documents none, and an operation that does not exist.
    assert!(refused("POST", "/v1/wills", Some(json!({}))));
    assert!(!refused("POST", "/v1/wills", None));
    assert!(refused("POST", "/v1/nowhere", None));
    // Path parameters match any segment; the most literal template wins.
    assert!(!refused("PUT", "/v1/wills/w-1/sections/personal", Some(json!({"full_name": "Ada Lovelace", "notes": [1]}))));
    assert!(refused("PATCH", "/v1/users/me/onboarding-step", Some(json!({"step": "three"}))));
}
