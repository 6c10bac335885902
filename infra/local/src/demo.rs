//! `ops seed-demo`: a demo account that shows every feature, made idempotently (each
//! part only when missing): the owner on an active subscription, a second member who
//! joined by invitation, a paid petition with its tasks and an add-on bought after
//! creation, and a generated will with its download link. Purchases go through the
//! real order path; their payment is recorded as Stripe's webhook would report it.

use anyhow::Context;
use app::AppState;
use chrono::{Duration, Utc};
use domain::account::{Caller, Role, Subscription, SubscriptionStatus};
use domain::email::Email;
use domain::invite::Invite;
use domain::order::Payment;
use secrecy::SecretString;
use serde_json::json;

/// The demo owner, and the member who joined by invitation (same password).
pub const DEMO_EMAIL: &str = "demo@example.com";
pub const DEMO_PASSWORD: &str = "demo-password-1";
pub const DEMO_MEMBER_EMAIL: &str = "demo-member@example.com";

/// What the demo holds, for the start-up message.
pub struct Demo {
    pub petition_id: String,
    pub will_id: String,
    pub download_path: Option<String>,
}

pub async fn seed(state: &AppState) -> anyhow::Result<Demo> {
    let owner = owner(state).await?;
    let account_id = owner.account_id.clone();
    let now = Utc::now();
    if state.store.subscription(&account_id).await?.is_none_or(|s| s.status != SubscriptionStatus::Active) {
        let mut subscription = Subscription::trial(&account_id, now);
        subscription.status = SubscriptionStatus::Active;
        subscription.seat_limit = 5;
        subscription.current_period_end = Some(now + Duration::days(30));
        state.store.put_subscription(&subscription).await?;
    }
    if state.store.member_ids(&account_id).await?.len() < 2 {
        member(state, &owner).await?;
    }
    let petition_id = match state.store.petitions_of_account(&account_id).await?.first() {
        Some(petition) => petition.id.clone(),
        None => petition(state, &owner).await?,
    };
    let will_id = match state.store.wills_of_user::<app::wills::WillSummary>(&owner.user_id).await?.first() {
        Some(will) => will.id.clone(),
        None => will(state, &owner).await?,
    };
    let view = app::wills::get(state, state.store.will(&owner.user_id, &will_id).await?).map_err(|e| anyhow::anyhow!("{e}"))?;
    let download_path = view.download_token.map(|token| format!("/v1/wills/{will_id}/download?token={token}"));
    Ok(Demo { petition_id, will_id, download_path })
}

/// The demo owner, registered when missing, as a caller.
async fn owner(state: &AppState) -> anyhow::Result<Caller> {
    let input = app::identity::RegisterInput {
        email: DEMO_EMAIL.to_owned(),
        password: SecretString::from(DEMO_PASSWORD),
        name: "Demo Owner".to_owned(),
        account_name: Some("Demo Shop".to_owned()),
        account_invite_code: None,
        role_at_signup: Some("owner".to_owned()),
    };
    match app::identity::register(state, input).await {
        Ok(_) => {}
        Err(app::identity::IdentityError::EmailTaken) => {}
        Err(err) => anyhow::bail!("the demo owner: {err}"),
    }
    let user = state.store.user_by_email(DEMO_EMAIL).await?.context("the demo owner")?;
    Ok(user.caller())
}

/// An engineer who joined by invitation (the invite's code is made here, not mailed).
async fn member(state: &AppState, owner: &Caller) -> anyhow::Result<()> {
    let code = adapters::security::token::generate();
    let email = Email::parse(DEMO_MEMBER_EMAIL).map_err(|e| anyhow::anyhow!(e))?;
    let invite = Invite::new(adapters::new_id(), &owner.account_id, email, Role::Engineer, &owner.user_id, Utc::now());
    state.store.create_invite(&invite, &adapters::security::token::digest(&code), None).await?;
    let input = app::identity::RegisterInput {
        email: DEMO_MEMBER_EMAIL.to_owned(),
        password: SecretString::from(DEMO_PASSWORD),
        name: "Demo Engineer".to_owned(),
        account_name: None,
        account_invite_code: Some(code),
        role_at_signup: None,
    };
    app::identity::register(state, input).await.map_err(|e| anyhow::anyhow!("the demo member: {e}"))?;
    Ok(())
}

/// Records an order's payment as the webhook would, through the one fulfilment path.
async fn paid(state: &AppState, order_id: &str, amount_cents: i64) -> anyhow::Result<()> {
    let payment = Payment { amount_cents, currency: "usd".into(), reference: format!("demo-{order_id}"), payment_intent: None };
    let outcome = app::fulfilment::fulfil(state, order_id, &payment).await?;
    anyhow::ensure!(outcome == "order_fulfilled", "demo order {order_id}: {outcome}");
    Ok(())
}

/// A paid petition (Basic plan), then an add-on bought after creation.
async fn petition(state: &AppState, owner: &Caller) -> anyhow::Result<String> {
    let input = app::petitions::PetitionCheckoutInput {
        template_id: "family-petition".into(),
        plan_id: "family-basic".into(),
        addon_benefit_ids: vec![],
    };
    let subscription = state.store.subscription(&owner.account_id).await?.context("the demo owner's subscription")?;
    let started = app::petitions::initiate_checkout(state, owner, &subscription, input)
        .await
        .map_err(|e| anyhow::anyhow!("the demo petition: {e}"))?;
    paid(state, &started.order_id, started.total_cents).await?;
    let petition_id = state.store.petitions_of_account(&owner.account_id).await?.first().context("the demo petition")?.id.clone();
    let addons = app::petitions::PurchaseAddonsInput { benefit_ids: vec!["interview-coaching".into()] };
    let bought =
        app::petitions::purchase_addons(state, owner, &petition_id, addons).await.map_err(|e| anyhow::anyhow!("the demo add-on: {e}"))?;
    paid(state, &bought.order_id, bought.total_cents).await?;
    Ok(petition_id)
}

/// A will with every section, verified, paid and generated.
async fn will(state: &AppState, owner: &Caller) -> anyhow::Result<String> {
    let err = |e: app::wills::WillsError| anyhow::anyhow!("the demo will: {e}");
    let subscription = state.store.subscription(&owner.account_id).await?.context("the demo owner's subscription")?;
    let will = app::wills::create(state, owner, &subscription).await.map_err(err)?;
    // Each step reads the will as a request would (the guards read it with the caller).
    let read = async || state.store.will(&owner.user_id, &will.id).await;
    let sections = [
        ("personal", json!({"full_name": "Demo Owner", "date_of_birth": "1980-01-01", "address": "1 Demo Street"})),
        ("family", json!({"marital_status": "single"})),
        ("executors", json!({"executors": [{"full_name": "Demo Executor"}]})),
        ("guardians", json!({"guardians": []})),
        ("gifts", json!({"gifts": []})),
        ("residuary", json!({"beneficiaries": [{"full_name": "Demo Beneficiary"}]})),
        ("funeral", json!({"wishes": "A quiet service."})),
    ];
    for (name, content) in sections {
        app::wills::put_section(state, read().await?, name, content).await.map_err(err)?;
    }
    app::wills::verify(state, read().await?).await.map_err(err)?;
    let started = app::wills::checkout(state, owner, read().await?).await.map_err(err)?;
    paid(state, &started.order_id, started.total_cents).await?;
    Ok(will.id)
}
