//! `ops event NAME`: a payload of `events/` made valid now against the local stack, so
//! that `cargo lambda invoke FN --data-file` (or `sam local invoke -e`) succeeds with
//! it: a fresh access token of the demo owner, the demo petition's id, a fresh Stripe
//! signature over a fresh event id and time, an unused address for sign-up.

use std::path::PathBuf;

use anyhow::Context;
use app::AppState;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::demo::{DEMO_EMAIL, DEMO_PASSWORD};

/// The plan of the demo petition: free, so it exists without a payment.
const DEMO_PETITION: (&str, &str) = ("family-petition", "family-self-serve");

fn events_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events"))
}

/// The names of the payloads in `events/` (file names without `.json`).
pub fn names() -> anyhow::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(events_dir())?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.strip_suffix(".json").map(str::to_owned))
        .collect();
    names.sort();
    Ok(names)
}

/// The payload `name`, made valid now.
pub async fn fresh(state: &AppState, name: &str) -> anyhow::Result<Value> {
    let path = events_dir().join(format!("{name}.json"));
    let mut text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    if text.contains("PETITION_ID") {
        text = text.replace("PETITION_ID", &demo_petition(state).await?);
    }
    let mut event: Value = serde_json::from_str(&text).with_context(|| format!("parsing {name}"))?;
    if event["headers"].get("authorization").is_some() {
        event["headers"]["authorization"] = json!(format!("Bearer {}", demo_token(state).await?));
    }
    match event["routeKey"].as_str() {
        Some("POST /v1/auth/register") => {
            edit_body(&mut event, |body| body["email"] = json!(format!("events-{}@example.com", adapters::new_id())))?
        }
        Some("POST /v1/auth/login") => edit_body(&mut event, |body| *body = json!({"email": DEMO_EMAIL, "password": DEMO_PASSWORD}))?,
        _ => {}
    }
    if event["headers"].get("stripe-signature").is_some() {
        sign_stripe_event(state, &mut event)?;
    }
    if let Some(records) = event["Records"].as_array_mut() {
        let petition = demo_petition(state).await?;
        for record in records.iter_mut().filter(|r| r["eventSource"] == "aws:sqs") {
            let mut message: Value = serde_json::from_str(record["body"].as_str().unwrap_or("{}"))?;
            message["petition_id"] = json!(petition);
            record["body"] = json!(message.to_string());
        }
    }
    Ok(event)
}

fn edit_body(event: &mut Value, edit: impl FnOnce(&mut Value)) -> anyhow::Result<()> {
    let mut body: Value = serde_json::from_str(event["body"].as_str().unwrap_or("{}"))?;
    edit(&mut body);
    event["body"] = json!(body.to_string());
    Ok(())
}

/// A new event id and `created`, signed exactly as Stripe signs (`STRIPE_WEBHOOK_SECRET`).
fn sign_stripe_event(state: &AppState, event: &mut Value) -> anyhow::Result<()> {
    let secret = state.config.stripe.webhook_secret.as_ref().context("STRIPE_WEBHOOK_SECRET is not set")?;
    edit_body(event, |body| {
        body["id"] = json!(format!("evt_local_{}", uuid::Uuid::new_v4().simple()));
        body["created"] = json!(chrono::Utc::now().timestamp());
    })?;
    let payload = event["body"].as_str().unwrap_or_default().to_owned();
    event["headers"]["stripe-signature"] = json!(stripe_signing::Webhook::generate_test_header(&payload, secret.expose_secret(), None));
    Ok(())
}

/// An access token of the demo owner (a real sign-in).
async fn demo_token(state: &AppState) -> anyhow::Result<String> {
    let input = app::identity::LoginInput { email: DEMO_EMAIL.to_owned(), password: SecretString::from(DEMO_PASSWORD) };
    let tokens =
        app::identity::login(state, input, None).await.map_err(|e| anyhow::anyhow!("signing in the demo owner ({DEMO_EMAIL}): {e}"))?;
    Ok(tokens.access_token)
}

/// The demo owner's first petition, made (on the free plan) when there is none.
async fn demo_petition(state: &AppState) -> anyhow::Result<String> {
    let user = state.store.user_by_email(DEMO_EMAIL).await?.context("the demo owner (ops seed-demo)")?;
    let caller = user.caller();
    if let Some(petition) = state.store.petitions_of_account(&caller.account_id).await?.first() {
        return Ok(petition.id.clone());
    }
    let input = app::petitions::PetitionCheckoutInput {
        template_id: DEMO_PETITION.0.to_owned(),
        plan_id: DEMO_PETITION.1.to_owned(),
        addon_benefit_ids: vec![],
    };
    let subscription = state.store.subscription(&caller.account_id).await?.context("the demo owner's subscription")?;
    let started = app::petitions::initiate_checkout(state, &caller, &subscription, input)
        .await
        .map_err(|e| anyhow::anyhow!("the demo petition: {e}"))?;
    let order = state.store.order(&started.order_id).await?.context("the demo petition's order")?;
    match order.item {
        domain::order::OrderItem::PetitionCheckout(checkout) => Ok(checkout.petition_id),
        other => anyhow::bail!("unexpected order {}", other.kind()),
    }
}
