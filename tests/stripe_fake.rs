//! A local stand-in for Stripe's HTTP API (wiremock), answering with Stripe's own
//! example objects (`tests/fixtures/stripe`), and signed webhook events. It keeps the
//! rules Stripe documents, never kinder than Stripe (the page each comes from):
//! - idempotency (api/idempotent_requests): a key replays its first answer, 409
//!   `idempotency_key_in_use` while that is in flight, 400 `idempotency_error` with other
//!   parameters;
//! - Checkout sessions (api/checkout/sessions/create, .../expire): `expires_at` 30 min to
//!   24 h ahead, `subscription_data[trial_end]` at least 48 h ahead, metadata (api/metadata)
//!   and `client_reference_id` limits, quantity at least 1, the USD minimum and maximum
//!   charge (currencies); only an `open` session can be expired; a subscription session
//!   with a trial starts `trialing` with a $0 invoice and needs no payment
//!   (billing/subscriptions/trials);
//! - subscriptions (api/subscriptions/cancel): canceling a canceled one answers
//!   `resource_missing`; an unknown one is 404 `resource_missing`;
//! - refunds (error-codes): `resource_missing` for a payment intent it never charged,
//!   `charge_already_refunded`, `amount_too_large` past what is left;
//! - webhooks (webhooks: event ordering, duplicate events): the hosted pages can deliver
//!   out of order and twice;
//! - prices (api/prices/list): `lookup_keys` at most 10 a request;
//! - events (api/events/list, api/events/retrieve): every event it sent, newest first,
//!   `created[gte]`, `starting_after`, `limit` 1–100, `resource_missing` for an unknown id;
//! - faults: refunds can answer 500, 429 or lose their answer; the whole API can be down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};

pub mod hosted;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const WEBHOOK_SECRET: &str = "whsec_test_0123456789abcdef";
pub const SECRET_KEY: &str = "sk_test_0123456789abcdef";

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/stripe/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).unwrap()
}

pub(crate) fn form(request: &Request) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(&request.body).unwrap_or_default()
}

fn form_value(request: &Request, key: &str) -> Option<String> {
    form(request).into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

pub(crate) fn new_id(prefix: &str) -> String {
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

/// Checkout sessions the fake opened, newest last, and the answers by idempotency key
/// (Stripe replays the first answer for a key it has seen).
#[derive(Clone, Default)]
pub struct CheckoutSessions(Arc<Mutex<SessionState>>);

#[derive(Default)]
pub struct SessionState {
    /// Where the fake is served: hosted pages' URLs start here.
    base: String,
    sessions: Vec<Value>,
    /// The first answer for each idempotency key, with the request body it answered.
    by_key: HashMap<String, (Vec<u8>, Value)>,
    extras: hosted::Extras,
}

impl Respond for CheckoutSessions {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let now = chrono::Utc::now().timestamp();
        // Stripe: `expires_at` must be 30 minutes to 24 hours after creation.
        if let Some(expires_at) = form_value(request, "expires_at").and_then(|v| v.parse::<i64>().ok())
            && !(now + 1800..=now + 86_400).contains(&expires_at)
        {
            let error = json!({"error": {"type": "invalid_request_error", "param": "expires_at",
                "message": "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation."}});
            return ResponseTemplate::new(400).set_body_json(error);
        }
        // Stripe: `subscription_data.trial_end` "has to be at least 48 hours in the future".
        if let Some(trial_end) = form_value(request, "subscription_data[trial_end]").and_then(|v| v.parse::<i64>().ok())
            && trial_end < now + 48 * 3600
        {
            let error = json!({"error": {"type": "invalid_request_error", "param": "subscription_data[trial_end]",
                "message": "The `trial_end` date has to be at least 2 days in the future."}});
            return ResponseTemplate::new(400).set_body_json(error);
        }
        if let Some(refused) = refused_session_parameters(request) {
            return refused;
        }
        let key = request.headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut state = self.0.lock().unwrap();
        if let Some((body, replay)) = key.as_ref().and_then(|k| state.by_key.get(k)) {
            if *body != request.body {
                return other_parameters_for_the_key();
            }
            return ResponseTemplate::new(200).set_body_json(replay);
        }
        let mut session = fixture("checkout.session");
        let id = new_id("cs_test");
        let field = |k: &str| form_value(request, k);
        let unit: i64 = field("line_items[0][price_data][unit_amount]").and_then(|a| a.parse().ok()).unwrap_or_default();
        session["id"] = json!(id);
        session["created"] = json!(now);
        session["status"] = json!("open");
        session["payment_status"] = json!("unpaid");
        // Stripe's default: 24 hours after creation.
        session["expires_at"] = json!(field("expires_at").and_then(|v| v.parse::<i64>().ok()).unwrap_or(now + 86_400));
        session["url"] = json!(format!("{}/checkout/{id}", state.base));
        session["success_url"] = json!(field("success_url"));
        session["cancel_url"] = json!(field("cancel_url"));
        state.extras.insert(id.clone(), hosted::extras_of(request));
        session["mode"] = json!(field("mode").unwrap_or_else(|| "payment".into()));
        session["customer"] = json!(field("customer"));
        session["amount_total"] = json!(unit);
        session["currency"] = json!(field("line_items[0][price_data][currency]"));
        session["payment_intent"] = Value::Null;
        session["metadata"] = json!(field("metadata[order_id]").map(|o| json!({"order_id": o})).unwrap_or(json!({})));
        state.sessions.push(session.clone());
        if let Some(key) = key {
            state.by_key.insert(key, (request.body.clone(), session.clone()));
        }
        ResponseTemplate::new(200).set_body_json(session)
    }
}

/// The documented limits of the other parameters the app sends when opening a session:
/// metadata (docs: api/metadata: at most 50 keys, keys up to 40 characters, values up
/// to 500), `client_reference_id` (api/checkout/sessions/create: up to 200 characters),
/// a line item's quantity (at least 1) and a charge's amount (docs: currencies,
/// "Minimum and maximum charge amounts": at least $0.50 in USD, at most $999,999.99).
fn refused_session_parameters(request: &Request) -> Option<ResponseTemplate> {
    let fields = form(request);
    let refuse = |code: &str, param: &str, message: &str| {
        Some(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": {"type": "invalid_request_error", "code": code, "param": param, "message": message}})),
        )
    };
    let metadata: Vec<&(String, String)> = fields.iter().filter(|(k, _)| k.starts_with("metadata[")).collect();
    if metadata.len() > 50 {
        return refuse("parameter_invalid_metadata", "metadata", "You can specify up to 50 keys.");
    }
    for (key, value) in &metadata {
        if key.len() - "metadata[]".len() > 40 || value.chars().count() > 500 {
            return refuse("parameter_invalid_metadata", key, "Keys can be up to 40 characters and values up to 500 characters long.");
        }
    }
    for (key, value) in &fields {
        match key.as_str() {
            "client_reference_id" if value.chars().count() > 200 => {
                return refuse("parameter_invalid_string_too_long", key, "client_reference_id can be at most 200 characters.");
            }
            k if k.ends_with("[quantity]") && value.parse::<i64>().is_ok_and(|q| q < 1) => {
                return refuse("parameter_invalid_integer", key, "This value must be greater than or equal to 1.");
            }
            k if k.ends_with("[unit_amount]") && value.parse::<i64>().is_ok_and(|a| !(50..=99_999_999).contains(&a)) => {
                return refuse("amount_too_small", key, "The Checkout Session's total amount due must add up to at least $0.50 usd");
            }
            _ => {}
        }
    }
    None
}

/// Stripe (docs: api/idempotent_requests): "Subsequent requests with the same key [...]
/// return the same result", but only with the same parameters; other parameters under
/// a used key answer 400 `idempotency_error`.
fn other_parameters_for_the_key() -> ResponseTemplate {
    let error = json!({"error": {"type": "idempotency_error",
        "message": "Keys for idempotent requests can only be used with the same parameters they were first used with."}});
    ResponseTemplate::new(400).set_body_json(error)
}

/// `GET /v1/checkout/sessions`: newest first, `status` and `created[gte]` filters,
/// `limit` and `starting_after` paging, as Stripe's list does.
struct ListSessions(CheckoutSessions);

impl Respond for ListSessions {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        let since: i64 = query.get("created[gte]").and_then(|v| v.parse().ok()).unwrap_or(0);
        let limit: usize = query.get("limit").and_then(|v| v.parse().ok()).unwrap_or(10);
        let state = (self.0).0.lock().unwrap();
        let mut matching: Vec<&Value> = state
            .sessions
            .iter()
            .rev()
            .filter(|s| s["created"].as_i64().unwrap_or(0) >= since)
            .filter(|s| query.get("status").is_none_or(|status| s["status"] == status.as_str()))
            .collect();
        if let Some(after) = query.get("starting_after") {
            let position = matching.iter().position(|s| s["id"] == after.as_str()).map_or(matching.len(), |p| p + 1);
            matching.drain(..position);
        }
        let has_more = matching.len() > limit;
        let data: Vec<&Value> = matching.into_iter().take(limit).collect();
        ResponseTemplate::new(200)
            .set_body_json(json!({"object": "list", "url": "/v1/checkout/sessions", "has_more": has_more, "data": data}))
    }
}

/// `GET /v1/checkout/sessions/{id}` and `POST /v1/checkout/sessions/{id}/expire`.
/// Stripe: "A Checkout Session can be expired when it is in one of these statuses:
/// open" (api/checkout/sessions/expire); any other answers 400.
struct SessionById(CheckoutSessions);

impl Respond for SessionById {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let id = request.url.path().split('/').nth(4).unwrap_or_default().to_owned();
        let mut state = (self.0).0.lock().unwrap();
        let Some(session) = state.sessions.iter_mut().find(|s| s["id"] == id.as_str()) else {
            return ResponseTemplate::new(404).set_body_json(json!({"error": {"type": "invalid_request_error",
                "code": "resource_missing", "param": "session", "message": format!("No such checkout.session: '{id}'")}}));
        };
        if request.url.path().ends_with("/expire") {
            if session["status"] != "open" {
                let error = json!({"error": {"type": "invalid_request_error",
                    "message": format!("Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a status of \"{}\".", session["status"].as_str().unwrap_or_default())}});
                return ResponseTemplate::new(400).set_body_json(error);
            }
            session["status"] = json!("expired");
            session["url"] = Value::Null;
        }
        ResponseTemplate::new(200).set_body_json(session.clone())
    }
}

/// Portal sessions open the hosted portal page of their customer.
struct PortalSessions(String);

impl Respond for PortalSessions {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut session = fixture("billing_portal.session");
        let id = new_id("bps");
        let customer = form_value(request, "customer").unwrap_or_default();
        session["id"] = json!(id);
        session["customer"] = json!(customer);
        session["url"] = json!(format!("{}/portal/{customer}", self.0));
        ResponseTemplate::new(200).set_body_json(session)
    }
}

/// Subscriptions the fake knows, by id (set by the test or made by a paid Checkout),
/// and where a cancellation's event goes. `DELETE` cancels at once; Stripe answers a
/// canceled subscription's cancellation with `resource_missing` ("No such subscription").
#[derive(Clone, Default)]
pub struct Subscriptions(Arc<Mutex<HashMap<String, Value>>>, hosted::Webhooks);

impl Respond for Subscriptions {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let id = request.url.path().rsplit('/').next().unwrap_or_default().to_owned();
        let mut subscriptions = self.0.lock().unwrap();
        let missing = || {
            ResponseTemplate::new(404).set_body_json(json!({"error": {"type": "invalid_request_error",
                "code": "resource_missing", "param": "id", "message": format!("No such subscription: '{id}'")}}))
        };
        let Some(sub) = subscriptions.get_mut(&id) else { return missing() };
        if request.method.as_str() == "DELETE" {
            if sub["status"] == "canceled" {
                return missing();
            }
            let now = chrono::Utc::now().timestamp();
            sub["status"] = json!("canceled");
            sub["canceled_at"] = json!(now);
            sub["ended_at"] = json!(now);
            let deleted = event(&new_id("evt"), "customer.subscription.deleted", hosted::next_created(), sub.clone());
            let answer = sub.clone();
            drop(subscriptions);
            self.1.send(vec![deleted]);
            return ResponseTemplate::new(200).set_body_json(answer);
        }
        ResponseTemplate::new(200).set_body_json(sub.clone())
    }
}

/// Invoice payments by invoice id (a paid subscription Checkout makes one).
#[derive(Clone, Default)]
pub struct InvoicePayments(Arc<Mutex<HashMap<String, Vec<Value>>>>);

impl Respond for InvoicePayments {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let invoice = request.url.query_pairs().find(|(k, _)| k == "invoice").map(|(_, v)| v.into_owned());
        let payments = self.0.lock().unwrap();
        let data = invoice.and_then(|i| payments.get(&i).cloned()).unwrap_or_default();
        ResponseTemplate::new(200).set_body_json(json!({"object": "list", "url": "/v1/invoice_payments", "has_more": false, "data": data}))
    }
}

/// `GET /v1/subscriptions?status=all`: every subscription the fake knows, one page.
struct ListSubscriptions(Subscriptions);

impl Respond for ListSubscriptions {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let all = request.url.query_pairs().any(|(k, v)| k == "status" && v == "all");
        let subscriptions = (self.0).0.lock().unwrap();
        // Without `status=all` Stripe leaves canceled subscriptions out.
        let data: Vec<&Value> = subscriptions.values().filter(|s| all || s["status"] != "canceled").collect();
        ResponseTemplate::new(200).set_body_json(json!({"object": "list", "url": "/v1/subscriptions", "has_more": false, "data": data}))
    }
}

/// Refunds, one per idempotency key as Stripe does: a second request with a key whose
/// first request is still in flight gets 409 `idempotency_key_in_use`, a later one the
/// first answer again. Each answer takes `REFUND_LATENCY`, so concurrent requests overlap.
#[derive(Clone, Default)]
pub struct Refunds(Arc<Mutex<RefundState>>);

#[derive(Default)]
pub struct RefundState {
    /// Answers by idempotency key, with when each becomes final.
    by_key: HashMap<String, (std::time::Instant, Vec<u8>, Value)>,
    /// Every refund created (not replays): (payment intent, amount).
    pub created: Vec<(String, i64)>,
    /// The payment intents the fake took money through: (amount, refunded so far).
    charges: HashMap<String, (i64, i64)>,
    /// While set, every refund request fails with a 500 (Stripe down).
    pub failing: bool,
    /// When non-zero, every n-th refund request fails in turn with a 500, a 429, or a
    /// lost answer (the refund is made, the answer is a 500; a retry with the same
    /// idempotency key gets the refund back, as Stripe replays a key).
    pub fault_every: u64,
    seen: u64,
}

impl Refunds {
    pub(crate) fn charge(&self, payment_intent: &str, amount_cents: i64) {
        let mut state = self.0.lock().unwrap();
        let refunded = state.charges.get(payment_intent).map_or(0, |c| c.1);
        state.charges.insert(payment_intent.to_owned(), (amount_cents, refunded));
    }
}

const REFUND_LATENCY: std::time::Duration = std::time::Duration::from_millis(60);

impl Respond for Refunds {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap();
        if state.failing {
            return ResponseTemplate::new(500).set_body_json(json!({"error": {"type": "api_error", "message": "try again"}}));
        }
        state.seen += 1;
        let fault = (state.fault_every > 0 && state.seen.is_multiple_of(state.fault_every)).then(|| (state.seen / state.fault_every) % 3);
        let stripe_down = || ResponseTemplate::new(500).set_body_json(json!({"error": {"type": "api_error", "message": "try again"}}));
        match fault {
            Some(0) => return stripe_down(),
            Some(1) => {
                let error = json!({"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests"}});
                return ResponseTemplate::new(429).set_body_json(error);
            }
            _ => {}
        }
        let key = request.headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let now = std::time::Instant::now();
        if let Some((ready, body, answer)) = key.as_ref().and_then(|k| state.by_key.get(k)) {
            if *body != request.body {
                return other_parameters_for_the_key();
            }
            if now < *ready {
                let error = json!({"error": {"type": "idempotency_error", "code": "idempotency_key_in_use",
                    "message": "There is currently another in-progress request using this Idempotent Key."}});
                return ResponseTemplate::new(409).set_body_json(error);
            }
            return ResponseTemplate::new(200).set_body_json(answer.clone());
        }
        let intent = form_value(request, "payment_intent").unwrap_or_default();
        let amount: i64 = form_value(request, "amount").and_then(|a| a.parse().ok()).unwrap_or_default();
        if intent.is_empty() || amount <= 0 {
            let error =
                json!({"error": {"type": "invalid_request_error", "message": "Refunds need a payment_intent and a positive amount."}});
            return ResponseTemplate::new(400).set_body_json(error);
        }
        // Stripe's refund errors (docs: error-codes): an intent it never charged, a charge
        // refunded in full already, more than is left to refund.
        let refused = |code: &str, param: &str, message: String| {
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": {"type": "invalid_request_error", "code": code, "param": param, "message": message}}))
        };
        let Some((charged, refunded)) = state.charges.get(&intent).copied() else {
            return refused("resource_missing", "payment_intent", format!("No such payment_intent: '{intent}'"));
        };
        if refunded >= charged {
            return refused("charge_already_refunded", "payment_intent", format!("Charge for {intent} has already been refunded."));
        }
        if amount > charged - refunded {
            let message = format!("Refund amount ({amount}) is greater than unrefunded amount on charge ({})", charged - refunded);
            return refused("amount_too_large", "amount", message);
        }
        state.charges.insert(intent.clone(), (charged, refunded + amount));
        let refund = json!({"id": new_id("re"), "object": "refund", "amount": amount, "currency": "usd",
            "payment_intent": intent, "status": "succeeded"});
        state.created.push((intent, amount));
        if let Some(key) = key {
            state.by_key.insert(key, (now + REFUND_LATENCY, request.body.clone(), refund.clone()));
        }
        if fault == Some(2) {
            return stripe_down().set_delay(REFUND_LATENCY);
        }
        ResponseTemplate::new(200).set_body_json(refund).set_delay(REFUND_LATENCY)
    }
}

/// Every event the account's Stripe created, oldest first, as the Events API serves
/// them (api/events/list, api/events/retrieve): newest first, `created[gte]`,
/// `starting_after` and `limit` (1 to 100), `resource_missing` for an unknown id.
#[derive(Clone, Default)]
pub struct Events(Arc<Mutex<Vec<Value>>>);

impl Events {
    pub(crate) fn created(&self, payload: &str) {
        let event: Value = serde_json::from_str(payload).expect("an event is JSON");
        let mut events = self.0.lock().unwrap();
        if !events.iter().any(|e| e["id"] == event["id"]) {
            events.push(event);
        }
    }
}

impl Respond for Events {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let events = self.0.lock().unwrap();
        if let Some(id) = request.url.path().strip_prefix("/v1/events/") {
            return match events.iter().find(|e| e["id"] == id) {
                Some(event) => ResponseTemplate::new(200).set_body_json(event),
                None => not_found("event", id),
            };
        }
        let query: HashMap<String, String> = request.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let limit: usize = match query.get("limit").map(|l| l.parse()) {
            None => 10,
            Some(Ok(limit @ 1..=100)) => limit,
            Some(_) => return invalid_parameter("limit", "This value must be between 1 and 100."),
        };
        let since: i64 = query.get("created[gte]").and_then(|v| v.parse().ok()).unwrap_or(i64::MIN);
        let mut newest_first: Vec<&Value> = events.iter().filter(|e| e["created"].as_i64().unwrap_or_default() >= since).collect();
        newest_first.sort_by_key(|e| std::cmp::Reverse(e["created"].as_i64()));
        if let Some(after) = query.get("starting_after") {
            match newest_first.iter().position(|e| e["id"] == after.as_str()) {
                Some(at) => newest_first.drain(..=at).for_each(drop),
                None => return not_found("event", after),
            }
        }
        let has_more = newest_first.len() > limit;
        let data: Vec<&Value> = newest_first.into_iter().take(limit).collect();
        ResponseTemplate::new(200).set_body_json(json!({"object": "list", "url": "/v1/events", "has_more": has_more, "data": data}))
    }
}

/// The account's prices (api/prices/list): filtered by `lookup_keys` (at most 10) and
/// `active`; seeded with the prices of `infra/seed/billing.json` under the lookup keys
/// `<plan>_monthly` and `<plan>_annual`.
#[derive(Clone)]
pub struct Prices(Arc<Mutex<Vec<Value>>>);

impl Default for Prices {
    fn default() -> Self {
        let seed: Value = serde_json::from_str(include_str!("../infra/seed/billing.json")).expect("the billing seed");
        let mut prices = Vec::new();
        for plan in seed["plans"].as_array().into_iter().flatten() {
            for (interval, suffix, id, cents) in [
                ("month", "monthly", &plan["stripe_monthly_price_id"], &plan["monthly_price_cents"]),
                ("year", "annual", &plan["stripe_annual_price_id"], &plan["annual_price_cents"]),
            ] {
                if let (Some(id), Some(cents)) = (id.as_str(), cents.as_i64()) {
                    let lookup_key = format!("{}_{suffix}", plan["plan"].as_str().unwrap_or_default());
                    prices.push(price(id, &lookup_key, cents, interval));
                }
            }
        }
        Prices(Arc::new(Mutex::new(prices)))
    }
}

/// A recurring USD price object.
pub fn price(id: &str, lookup_key: &str, unit_amount: i64, interval: &str) -> Value {
    json!({"id": id, "object": "price", "active": true, "currency": "usd", "lookup_key": lookup_key,
        "unit_amount": unit_amount, "type": "recurring", "recurring": {"interval": interval, "interval_count": 1}})
}

impl Respond for Prices {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let pairs: Vec<(String, String)> = request.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let keys: Vec<&str> = pairs.iter().filter(|(k, _)| k.starts_with("lookup_keys[")).map(|(_, v)| v.as_str()).collect();
        if keys.len() > 10 {
            return invalid_parameter("lookup_keys", "You may only specify up to 10 lookup_keys.");
        }
        let active = pairs.iter().find(|(k, _)| k == "active").map(|(_, v)| v == "true");
        let prices = self.0.lock().unwrap();
        let data: Vec<&Value> = prices
            .iter()
            .filter(|p| keys.is_empty() || keys.contains(&p["lookup_key"].as_str().unwrap_or_default()))
            .filter(|p| active.is_none_or(|a| p["active"] == a))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"object": "list", "url": "/v1/prices", "has_more": false, "data": data}))
    }
}

fn not_found(what: &str, id: &str) -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({"error": {"type": "invalid_request_error", "code": "resource_missing",
        "param": "id", "message": format!("No such {what}: '{id}'")}}))
}

fn invalid_parameter(param: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({"error": {"type": "invalid_request_error", "code": "parameter_invalid_integer",
        "param": param, "message": message}}))
}

/// While set, every API request answers 500 (Stripe down).
#[derive(Clone, Default)]
pub struct Outage(Arc<std::sync::atomic::AtomicBool>);

impl wiremock::Match for Outage {
    fn matches(&self, request: &Request) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst) && request.url.path().starts_with("/v1/")
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
    pub invoice_payments: InvoicePayments,
    pub refunds: Refunds,
    pub sessions: CheckoutSessions,
    outage: Outage,
    /// Where the hosted pages deliver their events (set it to the API's webhook).
    pub webhooks: hosted::Webhooks,
    pub prices: Prices,
}

impl StripeFake {
    pub async fn start() -> StripeFake {
        let server = MockServer::start().await;
        let webhooks = hosted::Webhooks::default();
        let subscriptions = Subscriptions(Arc::default(), webhooks.clone());
        let invoice_payments = InvoicePayments::default();
        let invalid_key = json!({"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}});
        // The API (`/v1/...`) needs the secret key; the hosted pages are the browser's.
        Mock::given(WithoutTheKey)
            .and(path_regex("^/v1/"))
            .respond_with(ResponseTemplate::new(401).set_body_json(invalid_key))
            .with_priority(1)
            .mount(&server)
            .await;
        let outage = Outage::default();
        let down = json!({"error": {"type": "api_error", "message": "An unknown error occurred"}});
        Mock::given(outage.clone()).respond_with(ResponseTemplate::new(500).set_body_json(down)).with_priority(1).mount(&server).await;
        Mock::given(method("POST")).and(path("/v1/customers")).respond_with(Customers(Mutex::default())).mount(&server).await;
        let sessions = CheckoutSessions::default();
        sessions.0.lock().unwrap().base = server.uri();
        Mock::given(method("POST")).and(path("/v1/checkout/sessions")).respond_with(sessions.clone()).mount(&server).await;
        Mock::given(method("GET")).and(path("/v1/checkout/sessions")).respond_with(ListSessions(sessions.clone())).mount(&server).await;
        Mock::given(path_regex("^/v1/checkout/sessions/[^/]+(/expire)?$")).respond_with(SessionById(sessions.clone())).mount(&server).await;
        Mock::given(method("POST"))
            .and(path("/v1/billing_portal/sessions"))
            .respond_with(PortalSessions(server.uri()))
            .mount(&server)
            .await;
        Mock::given(path_regex("^/v1/subscriptions/[^/]+$")).respond_with(subscriptions.clone()).mount(&server).await;
        Mock::given(method("GET")).and(path("/v1/invoice_payments")).respond_with(invoice_payments.clone()).mount(&server).await;
        Mock::given(method("GET"))
            .and(path("/v1/subscriptions"))
            .respond_with(ListSubscriptions(subscriptions.clone()))
            .mount(&server)
            .await;
        let refunds = Refunds::default();
        Mock::given(method("POST")).and(path("/v1/refunds")).respond_with(refunds.clone()).mount(&server).await;
        let prices = Prices::default();
        Mock::given(method("GET")).and(path("/v1/prices")).respond_with(prices.clone()).mount(&server).await;
        Mock::given(method("GET")).and(path_regex("^/v1/events(/[^/]+)?$")).respond_with(webhooks.2.clone()).mount(&server).await;
        Mock::given(method("GET"))
            .and(path_regex("^/checkout/[^/]+$"))
            .respond_with(hosted::CheckoutPage(sessions.clone()))
            .mount(&server)
            .await;
        let pay = hosted::PayCheckout(sessions.clone(), subscriptions.clone(), invoice_payments.clone(), refunds.clone(), webhooks.clone());
        Mock::given(method("POST")).and(path_regex("^/checkout/[^/]+/pay$")).respond_with(pay).mount(&server).await;
        let cancel = hosted::CancelCheckout(sessions.clone());
        Mock::given(method("POST")).and(path_regex("^/checkout/[^/]+/cancel$")).respond_with(cancel).mount(&server).await;
        Mock::given(method("GET"))
            .and(path_regex("^/portal/[^/]+$"))
            .respond_with(hosted::PortalPage(subscriptions.clone()))
            .mount(&server)
            .await;
        let action = hosted::PortalAction(subscriptions.clone(), webhooks.clone());
        Mock::given(method("POST")).and(path_regex("^/portal/[^/]+/(cancel|seats)$")).respond_with(action).mount(&server).await;
        StripeFake { server, subscriptions, invoice_payments, refunds, sessions, outage, webhooks, prices }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Records an event as created by Stripe (the Events API serves it), without
    /// delivering it: for tests that deliver events by hand.
    pub fn create_event(&self, payload: &str) {
        self.webhooks.2.created(payload);
    }

    /// Sets the price under `lookup_key` (a new one, or the one there replaced).
    pub fn set_price(&self, price: Value) {
        let mut prices = self.prices.0.lock().unwrap();
        prices.retain(|p| p["lookup_key"] != price["lookup_key"]);
        prices.push(price);
    }

    /// The form bodies Stripe received at `path`, oldest first.
    pub async fn requests_to(&self, path: &str) -> Vec<Vec<(String, String)>> {
        self.server.received_requests().await.unwrap_or_default().iter().filter(|r| r.url.path() == path).map(form).collect()
    }

    /// Completes the Checkout session of `order_id` as a customer paying it would
    /// (`status: complete`, `payment_status: paid`, a payment intent `pi_<order>`),
    /// without sending any webhook; returns the session.
    pub fn pay_session_of_order(&self, order_id: &str) -> Value {
        let mut state = self.sessions.0.lock().unwrap();
        let session = state.sessions.iter_mut().find(|s| s["metadata"]["order_id"] == order_id).expect("a session for the order");
        session["status"] = json!("complete");
        session["payment_status"] = json!("paid");
        session["payment_intent"] = json!(format!("pi_{order_id}"));
        let session = session.clone();
        drop(state);
        self.charge(&format!("pi_{order_id}"), session["amount_total"].as_i64().unwrap_or(0));
        session
    }

    /// Records money taken through `payment_intent` (what a paid Checkout session does),
    /// so that it can be refunded.
    pub fn charge(&self, payment_intent: &str, amount_cents: i64) {
        self.refunds.charge(payment_intent, amount_cents);
    }

    /// The refunds created so far (replays of one idempotency key not counted):
    /// (payment intent, amount).
    pub fn refunds_created(&self) -> Vec<(String, i64)> {
        self.refunds.0.lock().unwrap().created.clone()
    }

    /// Faults every n-th refund request (0: none); see `RefundState::fault_every`.
    pub fn fault_refunds_every(&self, n: u64) {
        self.refunds.0.lock().unwrap().fault_every = n;
    }

    /// Makes every API request answer 500 (or work again).
    pub fn fail_everything(&self, failing: bool) {
        self.outage.0.store(failing, std::sync::atomic::Ordering::SeqCst);
    }

    /// Makes every refund request fail (or succeed again).
    pub fn fail_refunds(&self, failing: bool) {
        self.refunds.0.lock().unwrap().failing = failing;
    }

    /// Makes a session (in Stripe's shape) one the fake has, as if it had opened it.
    pub fn add_session(&self, session: Value) {
        self.sessions.0.lock().unwrap().sessions.push(session);
    }

    /// Every Checkout session the fake opened, oldest first.
    pub fn sessions_opened(&self) -> Vec<Value> {
        self.sessions.0.lock().unwrap().sessions.clone()
    }

    /// Completes a session as a payment would, but delivers no event (a webhook still
    /// on its way).
    pub fn complete_session_silently(&self, session_id: &str) {
        let mut state = self.sessions.0.lock().unwrap();
        let session = state.sessions.iter_mut().find(|s| s["id"] == session_id).expect("a session");
        session["status"] = json!("complete");
    }

    /// The subscriptions of `customer` the fake knows.
    pub fn subscriptions_of(&self, customer: &str) -> Vec<Value> {
        self.subscriptions.0.lock().unwrap().values().filter(|s| s["customer"] == customer).cloned().collect()
    }

    /// What a subscription's first invoice was paid with: (payment intent, amount).
    pub fn charge_of(&self, subscription: &Value) -> Option<(String, i64)> {
        let payments = self.invoice_payments.0.lock().unwrap();
        let payment = payments.get(subscription["latest_invoice"].as_str()?)?.first()?.clone();
        Some((payment["payment"]["payment_intent"].as_str()?.to_owned(), payment["amount_paid"].as_i64()?))
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
    sub["trial_end"] = Value::Null;
    sub["trial_start"] = Value::Null;
    sub["latest_invoice"] = Value::Null;
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
