//! A local stand-in for Stripe's HTTP API (wiremock), answering with Stripe's own
//! example objects (`tests/fixtures/stripe`), and signed webhook events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const WEBHOOK_SECRET: &str = "whsec_test_0123456789abcdef";
pub const SECRET_KEY: &str = "sk_test_0123456789abcdef";

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/stripe/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).unwrap()
}

fn form(request: &Request) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(&request.body).unwrap_or_default()
}

fn form_value(request: &Request, key: &str) -> Option<String> {
    form(request).into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// Customers: one per idempotency key, as Stripe does.
struct Customers(Mutex<HashMap<String, String>>);

impl Respond for Customers {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let key = request.headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let id = match key {
            Some(key) => self.0.lock().unwrap().entry(key).or_insert_with(|| new_id("cus")).clone(),
            None => new_id("cus"),
        };
        let mut customer = fixture("customer");
        customer["id"] = json!(id);
        customer["email"] = json!(form_value(request, "email"));
        ResponseTemplate::new(200).set_body_json(customer)
    }
}

struct CheckoutSessions;

impl Respond for CheckoutSessions {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut session = fixture("checkout.session");
        let id = new_id("cs_test");
        session["id"] = json!(id);
        session["url"] = json!(format!("https://checkout.stripe.test/c/pay/{id}"));
        session["mode"] = json!(form_value(request, "mode").unwrap_or_else(|| "payment".into()));
        session["customer"] = json!(form_value(request, "customer"));
        ResponseTemplate::new(200).set_body_json(session)
    }
}

struct PortalSessions;

impl Respond for PortalSessions {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut session = fixture("billing_portal.session");
        let id = new_id("bps");
        session["id"] = json!(id);
        session["customer"] = json!(form_value(request, "customer"));
        session["url"] = json!(format!("https://billing.stripe.test/p/session/{id}"));
        ResponseTemplate::new(200).set_body_json(session)
    }
}

/// Subscriptions the fake knows, by id (set by the test).
#[derive(Clone, Default)]
pub struct Subscriptions(Arc<Mutex<HashMap<String, Value>>>);

impl Respond for Subscriptions {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let id = request.url.path().rsplit('/').next().unwrap_or_default().to_owned();
        match self.0.lock().unwrap().get(&id) {
            Some(sub) => ResponseTemplate::new(200).set_body_json(sub),
            None => ResponseTemplate::new(404)
                .set_body_json(json!({"error": {"type": "invalid_request_error", "message": "No such subscription"}})),
        }
    }
}

/// A request without the account's secret key, which Stripe refuses before anything else.
struct WithoutTheKey;

impl wiremock::Match for WithoutTheKey {
    fn matches(&self, request: &Request) -> bool {
        let authorization = request.headers.get("authorization").and_then(|v| v.to_str().ok());
        authorization != Some(format!("Bearer {SECRET_KEY}").as_str())
    }
}

pub struct StripeFake {
    pub server: MockServer,
    pub subscriptions: Subscriptions,
}

impl StripeFake {
    pub async fn start() -> StripeFake {
        let server = MockServer::start().await;
        let subscriptions = Subscriptions::default();
        let invalid_key = json!({"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}});
        Mock::given(WithoutTheKey)
            .respond_with(ResponseTemplate::new(401).set_body_json(invalid_key))
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST")).and(path("/v1/customers")).respond_with(Customers(Mutex::default())).mount(&server).await;
        Mock::given(method("POST")).and(path("/v1/checkout/sessions")).respond_with(CheckoutSessions).mount(&server).await;
        Mock::given(method("POST")).and(path("/v1/billing_portal/sessions")).respond_with(PortalSessions).mount(&server).await;
        Mock::given(method("GET")).and(path_regex("^/v1/subscriptions/[^/]+$")).respond_with(subscriptions.clone()).mount(&server).await;
        StripeFake { server, subscriptions }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The form bodies Stripe received at `path`, oldest first.
    pub async fn requests_to(&self, path: &str) -> Vec<Vec<(String, String)>> {
        self.server.received_requests().await.unwrap_or_default().iter().filter(|r| r.url.path() == path).map(form).collect()
    }

    /// Registers a subscription (Stripe's fixture shape) the fake will serve.
    pub fn add_subscription(&self, sub: &Value) {
        self.subscriptions.0.lock().unwrap().insert(sub["id"].as_str().unwrap().to_owned(), sub.clone());
    }
}

/// A subscription object in Stripe's shape.
pub fn subscription(id: &str, customer: &str, status: &str, price: &str, quantity: u64, period: (i64, i64)) -> Value {
    let mut sub = fixture("subscription");
    sub["id"] = json!(id);
    sub["customer"] = json!(customer);
    sub["status"] = json!(status);
    sub["cancel_at_period_end"] = json!(false);
    let item = &mut sub["items"]["data"][0];
    item["price"]["id"] = json!(price);
    item["quantity"] = json!(quantity);
    item["current_period_start"] = json!(period.0);
    item["current_period_end"] = json!(period.1);
    item["subscription"] = json!(id);
    sub
}

/// A webhook event body carrying `object`.
pub fn event(id: &str, event_type: &str, created: i64, object: Value) -> String {
    json!({
        "id": id,
        "object": "event",
        "api_version": stripe_shared_version(),
        "created": created,
        "data": {"object": object},
        "livemode": false,
        "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "type": event_type,
    })
    .to_string()
}

fn stripe_shared_version() -> &'static str {
    "2026-09-30.endive"
}

/// The `Stripe-Signature` header Stripe would send for `payload` at `timestamp`.
pub fn sign(payload: &str, timestamp: Option<i64>) -> String {
    stripe_signing::Webhook::generate_test_header(payload, WEBHOOK_SECRET, timestamp)
}
