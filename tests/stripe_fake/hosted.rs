//! The fake's hosted pages, standing in for Stripe Checkout and the customer portal
//! (and for `stripe listen`): a Checkout session's `url` opens a plain page with what
//! is bought and "Pay" / "Cancel"; paying completes the session and delivers the
//! signed webhook events to the API exactly as Stripe would, retrying with backoff on
//! a non-2xx answer, then redirects to the session's `success_url`. The portal page
//! cancels a subscription or changes its seats, with the matching events.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use wiremock::{Request, Respond, ResponseTemplate};

use super::{CheckoutSessions, InvoicePayments, Refunds, Subscriptions, event, form, new_id, sign, subscription};

/// The `created` of the next event: now, but never the second of the previous one, as
/// a person's clicks on the pages are seconds apart (the API orders a subscription's
/// events by `created`, ties by event id).
pub(crate) fn next_created() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = chrono::Utc::now().timestamp();
    let next = |last: i64| now.max(last + 1);
    LAST.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(next(last))).map_or(now, next)
}

/// Where events go (the API's `POST /webhooks/stripe`); none until set. Stripe does
/// not promise order or single delivery (docs: webhooks, "Event ordering" and
/// "Handle duplicate events"); `out_of_order_and_twice` makes the pages do neither.
#[derive(Clone, Default)]
pub struct Webhooks(Arc<Mutex<Option<String>>>, Arc<std::sync::atomic::AtomicBool>, pub(crate) super::Events);

impl Webhooks {
    pub fn deliver_to(&self, url: String) {
        *self.0.lock().unwrap() = Some(url);
    }

    /// From now on each batch of events goes newest first, each event twice.
    pub fn out_of_order_and_twice(&self, on: bool) {
        self.1.store(on, std::sync::atomic::Ordering::SeqCst);
    }

    /// Sends each event in order, each retried (at most 6 times, backing off from a
    /// quarter second) until the endpoint answers 2xx, as Stripe retries a delivery.
    pub(crate) fn send(&self, mut events: Vec<String>) {
        for payload in &events {
            self.2.created(payload);
        }
        let Some(url) = self.0.lock().unwrap().clone() else { return };
        if self.1.load(std::sync::atomic::Ordering::SeqCst) {
            events.reverse();
            events = events.into_iter().flat_map(|e| [e.clone(), e]).collect();
        }
        let deliver = async move {
            adapters::install_tls_provider();
            let http = reqwest::Client::new();
            for payload in events {
                for attempt in 0..6u32 {
                    let signature = sign(&payload, None);
                    let sent = http
                        .post(&url)
                        .header("stripe-signature", signature)
                        .header("content-type", "application/json")
                        .body(payload.clone());
                    match sent.send().await {
                        Ok(response) if response.status().is_success() => break,
                        _ => tokio::time::sleep(Duration::from_millis(250) * 2u32.pow(attempt)).await,
                    }
                }
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(deliver);
            }
            Err(_) => {
                std::thread::spawn(move || tokio::runtime::Runtime::new().expect("a runtime").block_on(deliver));
            }
        }
    }
}

/// What a page needs of a session that Stripe's session object does not carry.
#[derive(Clone, Debug, Default)]
pub struct SessionExtras {
    pub description: String,
    pub price: Option<String>,
    pub quantity: u64,
    /// `subscription_data[trial_end]`: the subscription starts `trialing` until then.
    pub trial_end: Option<i64>,
    pub success_url: String,
    pub cancel_url: String,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> ResponseTemplate {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{0}</title></head>\
         <body style=\"font-family:sans-serif;max-width:32em;margin:3em auto\"><h1>{0}</h1>{1}\
         <p><small>Local stand-in for Stripe (no money moves).</small></p></body></html>",
        escape(title),
        body
    );
    ResponseTemplate::new(200).set_body_raw(html, "text/html; charset=utf-8")
}

fn see_other(location: &str) -> ResponseTemplate {
    ResponseTemplate::new(303).insert_header("location", location)
}

/// The id in `/checkout/{id}...` or `/portal/{customer}...`.
fn id_in(request: &Request) -> String {
    request.url.path().split('/').nth(2).unwrap_or_default().to_owned()
}

pub struct CheckoutPage(pub CheckoutSessions);

impl Respond for CheckoutPage {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let id = id_in(request);
        let state = (self.0).0.lock().unwrap();
        let (Some(session), Some(extras)) = (state.sessions.iter().find(|s| s["id"] == id.as_str()), state.extras.get(&id)) else {
            return ResponseTemplate::new(404).set_body_string("no such Checkout session");
        };
        if session["status"] != "open" {
            return page("Checkout", "<p>This session is no longer open.</p>");
        }
        let what = match session["mode"].as_str() {
            Some("subscription") => format!(
                "<p>Subscription: price <code>{}</code> &times; {} seats</p>",
                escape(extras.price.as_deref().unwrap_or("?")),
                extras.quantity
            ),
            _ => format!(
                "<p>{}</p><p><strong>{} {:.2}</strong></p>",
                escape(&extras.description),
                session["currency"].as_str().unwrap_or("usd").to_uppercase(),
                session["amount_total"].as_i64().unwrap_or(0) as f64 / 100.0
            ),
        };
        let forms = format!(
            "<form method=\"post\" action=\"/checkout/{id}/pay\"><button type=\"submit\">Pay</button></form>\
             <form method=\"post\" action=\"/checkout/{id}/cancel\"><button type=\"submit\">Cancel</button></form>"
        );
        page("Checkout", &format!("{what}{forms}"))
    }
}

/// Every price costs this much a seat at the fake (it keeps no price list).
pub const SEAT_PRICE_CENTS: i64 = 1500;

/// "Pay": the session completes (a subscription session starts its subscription),
/// the events go to the API, the browser to `success_url`. A subscription with a
/// `trial_end` starts `trialing` with a $0 first invoice and the session needs no
/// payment (Stripe: billing/subscriptions/trials); one without is charged its first
/// period at once: an invoice paid through a payment intent (an invoice payment).
pub struct PayCheckout(pub CheckoutSessions, pub Subscriptions, pub InvoicePayments, pub Refunds, pub Webhooks);

impl Respond for PayCheckout {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let id = id_in(request);
        let now = next_created();
        let mut state = (self.0).0.lock().unwrap();
        let extras = state.extras.get(&id).cloned().unwrap_or_default();
        let Some(session) = state.sessions.iter_mut().find(|s| s["id"] == id.as_str()) else {
            return ResponseTemplate::new(404).set_body_string("no such Checkout session");
        };
        if session["status"] != "open" {
            return see_other(&extras.success_url);
        }
        session["status"] = json!("complete");
        session["payment_status"] = json!("paid");
        let mut events = Vec::new();
        if session["mode"] == "subscription" {
            let sub_id = new_id("sub");
            let customer = session["customer"].as_str().unwrap_or_default().to_owned();
            let (status, period_end, charged) = match extras.trial_end {
                Some(trial_end) => ("trialing", trial_end, 0),
                None => ("active", now + 2_592_000, SEAT_PRICE_CENTS * extras.quantity as i64),
            };
            let mut sub =
                subscription(&sub_id, &customer, status, extras.price.as_deref().unwrap_or_default(), extras.quantity, (now, period_end));
            let invoice = new_id("in");
            sub["latest_invoice"] = json!(invoice);
            if let Some(trial_end) = extras.trial_end {
                sub["trial_start"] = json!(now);
                sub["trial_end"] = json!(trial_end);
                session["payment_status"] = json!("no_payment_required");
            } else {
                let intent = new_id("pi");
                self.3.charge(&intent, charged);
                let payment = json!({"id": new_id("inpay"), "object": "invoice_payment", "amount_paid": charged,
                    "amount_requested": charged, "currency": "usd", "invoice": invoice, "is_default": true, "livemode": false,
                    "payment": {"type": "payment_intent", "payment_intent": intent}, "status": "paid",
                    "status_transitions": {"canceled_at": null, "paid_at": now}});
                (self.2).0.lock().unwrap().insert(invoice.clone(), vec![payment]);
            }
            session["amount_total"] = json!(charged);
            (self.1).0.lock().unwrap().insert(sub_id.clone(), sub.clone());
            session["subscription"] = json!(sub_id);
            events.push(event(&new_id("evt"), "checkout.session.completed", now, session.clone()));
            events.push(event(&new_id("evt"), "customer.subscription.created", now, sub));
        } else {
            let intent = new_id("pi");
            self.3.charge(&intent, session["amount_total"].as_i64().unwrap_or(0));
            session["payment_intent"] = json!(intent);
            events.push(event(&new_id("evt"), "checkout.session.completed", now, session.clone()));
        }
        drop(state);
        self.4.send(events);
        see_other(&extras.success_url)
    }
}

pub struct CancelCheckout(pub CheckoutSessions);

impl Respond for CancelCheckout {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let state = (self.0).0.lock().unwrap();
        let extras = state.extras.get(&id_in(request)).cloned().unwrap_or_default();
        see_other(&extras.cancel_url)
    }
}

/// The customer portal: the customer's subscriptions, each with "Cancel" and seats.
pub struct PortalPage(pub Subscriptions);

impl Respond for PortalPage {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let customer = id_in(request);
        let subscriptions = (self.0).0.lock().unwrap();
        let rows: String = subscriptions
            .values()
            .filter(|s| s["customer"] == customer.as_str())
            .map(|s| {
                let id = s["id"].as_str().unwrap_or_default();
                let seats = s["items"]["data"][0]["quantity"].as_u64().unwrap_or(1);
                format!(
                    "<p><code>{id}</code>: {} ({seats} seats)</p>\
                     <form method=\"post\" action=\"/portal/{customer}/seats\"><input type=\"hidden\" name=\"subscription\" value=\"{id}\">\
                     <input name=\"quantity\" value=\"{seats}\"><button type=\"submit\">Change seats</button></form>\
                     <form method=\"post\" action=\"/portal/{customer}/cancel\"><input type=\"hidden\" name=\"subscription\" value=\"{id}\">\
                     <button type=\"submit\">Cancel subscription</button></form>",
                    escape(s["status"].as_str().unwrap_or_default())
                )
            })
            .collect();
        page("Billing portal", if rows.is_empty() { "<p>No subscriptions.</p>" } else { &rows })
    }
}

/// Portal actions: cancel (`customer.subscription.deleted`) or change seats
/// (`customer.subscription.updated`), then back to the portal page.
pub struct PortalAction(pub Subscriptions, pub Webhooks);

impl Respond for PortalAction {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let customer = id_in(request);
        let fields = form(request);
        let field = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        let Some(sub_id) = field("subscription") else { return ResponseTemplate::new(400).set_body_string("which subscription?") };
        let mut subscriptions = (self.0).0.lock().unwrap();
        let Some(sub) = subscriptions.get_mut(&sub_id).filter(|s| s["customer"] == customer.as_str()) else {
            return ResponseTemplate::new(404).set_body_string("no such subscription");
        };
        let now = next_created();
        let kind = if request.url.path().ends_with("/cancel") {
            sub["status"] = json!("canceled");
            "customer.subscription.deleted"
        } else {
            let Some(quantity) = field("quantity").and_then(|q| q.parse::<u64>().ok()).filter(|q| *q >= 1) else {
                return ResponseTemplate::new(400).set_body_string("seats must be a whole number of at least 1");
            };
            sub["items"]["data"][0]["quantity"] = json!(quantity);
            "customer.subscription.updated"
        };
        let payload = event(&new_id("evt"), kind, now, sub.clone());
        drop(subscriptions);
        self.1.send(vec![payload]);
        see_other(&format!("/portal/{customer}"))
    }
}

/// The session extras by session id, kept beside the sessions.
pub type Extras = std::collections::HashMap<String, SessionExtras>;

/// What the pages need of a session, from its creation request.
pub fn extras_of(request: &Request) -> SessionExtras {
    let fields = form(request);
    let field = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    SessionExtras {
        description: field("line_items[0][price_data][product_data][name]").unwrap_or_default(),
        price: field("line_items[0][price]"),
        quantity: field("line_items[0][quantity]").and_then(|q| q.parse().ok()).unwrap_or(1),
        trial_end: field("subscription_data[trial_end]").and_then(|t| t.parse().ok()),
        success_url: field("success_url").unwrap_or_default(),
        cancel_url: field("cancel_url").unwrap_or_default(),
    }
}
