//! Billing use cases: the public plans, an account's billing state, sales leads and
//! the pilot backfill. Stripe checkout and portal sessions build on these.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::retry::until_settled;
use crate::state::AppState;
use adapters::payments::PaymentsError;
use adapters::store::billing::SalesLead;
use domain::Invalid;
use domain::account::{Account, Caller, CheckoutPlan, NotAllowed, OpenCheckout, Permission, Subscription, SubscriptionStatus};
use domain::billing::{self, LimitReached, Plan};
use domain::email::Email;

/// What billing use cases refuse; `web::error` gives each its status and code.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error("no such account")]
    AccountNotFound,
    #[error("this account has no subscription")]
    NoSubscription,
    #[error("there is no plan {0:?}")]
    UnknownPlan(String),
    #[error("plan {plan} has no {interval:?} price")]
    NoPriceForInterval { plan: String, interval: billing::BillingInterval },
    #[error("this account already pays for a subscription; change it in the billing portal")]
    SubscriptionExists,
    #[error("this account has not subscribed yet; start a checkout first")]
    NoBillingAccount,
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Payments(#[from] PaymentsError),
    #[error(transparent)]
    NotAllowed(#[from] NotAllowed),
    #[error(transparent)]
    LimitReached(#[from] LimitReached),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

type BillingResult<T> = Result<T, BillingError>;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlanView {
    pub plan: String,
    pub display_name: String,
    pub description: Option<String>,
    pub monthly_price_cents: Option<i64>,
    pub annual_price_cents: Option<i64>,
    pub sort_order: i32,
}

impl From<&Plan> for PlanView {
    fn from(plan: &Plan) -> Self {
        PlanView {
            plan: plan.plan.clone(),
            display_name: plan.display_name.clone(),
            description: plan.description.clone(),
            monthly_price_cents: plan.monthly_price_cents,
            annual_price_cents: plan.annual_price_cents,
            sort_order: plan.sort_order,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubscriptionState {
    pub status: SubscriptionStatus,
    pub plan: String,
    pub current_period_start: Option<DateTime<Utc>>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub seat_limit: u32,
    pub has_pro_entitlement: bool,
    pub is_paid: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BillingState {
    pub subscription: SubscriptionState,
    pub plan_billing: Option<PlanView>,
    pub plan_limits: BTreeMap<String, Option<i64>>,
    pub enabled_features: BTreeMap<String, bool>,
}

/// Public, non-archived plans in sort order (the catalogue, held in memory).
pub async fn public_plans(state: &AppState) -> BillingResult<Vec<PlanView>> {
    let plans = billing::public_plans(state.catalogues.plans(&state.store).await?.to_vec());
    Ok(plans.iter().map(PlanView::from).collect())
}

/// The plan whose limits apply to what the account creates: its subscription's; None
/// without a subscription or with a plan the catalogue lacks (then nothing is limited).
pub async fn plan_of(state: &AppState, subscription: Option<&Subscription>) -> anyhow::Result<Option<Plan>> {
    match subscription {
        Some(subscription) => state.catalogues.plan(&state.store, &subscription.plan).await,
        None => Ok(None),
    }
}

/// The caller's subscription with its plan's billing, limits and resolved feature
/// flags, from the account and subscription as the request read them with the caller
/// (the plan from the catalogue held in memory).
pub async fn billing_state(state: &AppState, account: Option<Account>, subscription: Option<Subscription>) -> BillingResult<BillingState> {
    let account = account.ok_or(BillingError::AccountNotFound)?;
    let subscription = subscription.ok_or(BillingError::NoSubscription)?;
    let plan = state.catalogues.plan(&state.store, &subscription.plan).await?;
    let now = Utc::now();
    let defaults = plan.as_ref().map(|p| p.features.clone()).unwrap_or_default();
    Ok(BillingState {
        subscription: SubscriptionState {
            status: subscription.status,
            plan: subscription.plan.clone(),
            current_period_start: subscription.current_period_start,
            current_period_end: subscription.current_period_end,
            cancel_at_period_end: subscription.cancel_at_period_end,
            seat_limit: subscription.seat_limit,
            has_pro_entitlement: subscription.has_pro_entitlement(now),
            is_paid: subscription.is_paid(),
        },
        plan_billing: plan.as_ref().map(PlanView::from),
        plan_limits: plan.map(|p| p.limits).unwrap_or_default(),
        enabled_features: billing::resolve_features(&defaults, &account.feature_overrides),
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SalesLeadInput {
    pub email: String,
    pub name: String,
    pub company: String,
    pub team_size: Option<String>,
    pub message: Option<String>,
    pub source: String,
}

const MAX_LEAD_FIELD: usize = 255;
const MAX_LEAD_MESSAGE: usize = 5000;

/// Records a contact-sales request (public route).
/// What the caller learns of a recorded lead.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SalesLeadReceipt {
    pub id: String,
    pub status: String,
}

pub async fn create_sales_lead(state: &AppState, input: SalesLeadInput) -> BillingResult<SalesLeadReceipt> {
    let mut errors = Vec::new();
    let email = Email::parse(&input.email).map_err(|m| errors.push(("email".to_owned(), m))).ok();
    let mut text = |field: &str, value: &str, max: usize, required: bool| -> Option<String> {
        let value = value.trim();
        if required && value.is_empty() {
            errors.push((field.to_owned(), "must not be empty".to_owned()));
        } else if value.chars().count() > max {
            errors.push((field.to_owned(), format!("must be at most {max} characters")));
        }
        (!value.is_empty()).then(|| value.to_owned())
    };
    let name = text("name", &input.name, MAX_LEAD_FIELD, true);
    let company = text("company", &input.company, MAX_LEAD_FIELD, true);
    let source = text("source", &input.source, 50, true);
    let team_size = input.team_size.as_deref().and_then(|t| text("team_size", t, 20, false));
    let message = input.message.as_deref().and_then(|m| text("message", m, MAX_LEAD_MESSAGE, false));
    if !errors.is_empty() {
        return Err(Invalid(errors).into());
    }
    let lead = SalesLead {
        id: adapters::new_id(),
        email: email.map(String::from).unwrap_or_default(),
        name: name.unwrap_or_default(),
        company: company.unwrap_or_default(),
        team_size,
        message,
        source: source.unwrap_or_default(),
        status: "new".to_owned(),
        created_at: Utc::now(),
    };
    state.store.put_sales_lead(&lead).await?;
    Ok(SalesLeadReceipt { id: lead.id, status: lead.status })
}

#[derive(Debug, Default, PartialEq, Serialize)]
pub struct BackfillSummary {
    pub scanned: usize,
    /// The accounts granted (in a dry run: that would be).
    pub granted: Vec<String>,
    pub unchanged: usize,
}

/// The pilot backfill: every account gets a complimentary Pro subscription unless it
/// is canceled or past due (or complimentary already). Idempotent (each grant is a
/// conditional write) and resumable (a checkpoint after every page; a rerun after an
/// interruption continues where it stopped). A dry run reads every account from the
/// start, writes neither grants nor checkpoints, and says what it would grant.
pub async fn backfill_pilot(state: &AppState, page_size: i32, dry_run: bool) -> anyhow::Result<BackfillSummary> {
    let mut summary = BackfillSummary::default();
    let mut resume_after = if dry_run { None } else { state.store.backfill_checkpoint().await? };
    loop {
        let page = state.store.account_page(resume_after.as_deref(), page_size).await?;
        for account_id in &page.account_ids {
            summary.scanned += 1;
            if grant_complimentary(state, account_id, None, dry_run).await?.changed {
                summary.granted.push(account_id.clone());
            } else {
                summary.unchanged += 1;
            }
        }
        if !dry_run {
            state.store.save_backfill_checkpoint(page.resume_after.as_deref()).await?;
        }
        match page.resume_after {
            Some(after) => resume_after = Some(after),
            None => return Ok(summary),
        }
    }
}

/// What a complimentary grant found and left: the subscription before and after
/// (the same when nothing changed; in a dry run, what it would write).
#[derive(Debug, Serialize)]
pub struct Grant {
    pub before: Option<Subscription>,
    pub after: Option<Subscription>,
    pub changed: bool,
}

/// The pilot rule for one account (`backfill_pilot` and `ops account
/// grant-complimentary`): a complimentary Pro subscription (`Subscription::
/// complimentary_grant`), without end or ending at `until`, as a conditional write of
/// what was read. With `dry_run`, what it would write, unwritten.
pub async fn grant_complimentary(state: &AppState, account_id: &str, until: Option<DateTime<Utc>>, dry_run: bool) -> anyhow::Result<Grant> {
    if let Some(until) = until {
        anyhow::ensure!(until > Utc::now(), "the grant would end at {until}, which has passed");
    }
    until_settled(
        || async {
            let before = state.store.subscription(account_id).await?;
            let Some(after) = Subscription::complimentary_grant(before.as_ref(), account_id, until) else {
                return Ok(Some(Grant { after: before.clone(), before, changed: false }));
            };
            if dry_run {
                return Ok(Some(Grant { before, after: Some(after), changed: true }));
            }
            let written = match (&before, after.current_period_end) {
                // Complimentary already: only its end moves.
                (Some(current), Some(end)) if current.status == SubscriptionStatus::Complimentary => {
                    state.store.set_period_end(account_id, SubscriptionStatus::Complimentary, current.current_period_end, end).await?
                }
                _ => state.store.grant_complimentary(&after).await?,
            };
            Ok(written.then_some(Grant { before, after: Some(after), changed: true }))
        },
        || anyhow::anyhow!("the subscription kept changing"),
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionCheckoutInput {
    pub plan: String,
    pub seats: i64,
    #[serde(default = "monthly")]
    pub billing_interval: billing::BillingInterval,
}

fn monthly() -> billing::BillingInterval {
    billing::BillingInterval::Monthly
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RedirectUrl {
    pub url: String,
}

/// A Stripe Checkout session for a subscription: quantity = seats, the trial's end
/// passed on while it runs (`Subscription::checkout_trial_end`), the Stripe customer
/// created once per account. `account` and `subscription` as the request read them
/// with the caller.
pub async fn checkout_session(
    state: &AppState,
    caller: &Caller,
    (account, subscription): (Option<Account>, Option<Subscription>),
    input: SubscriptionCheckoutInput,
) -> BillingResult<RedirectUrl> {
    caller.require(Permission::ManageBilling)?;
    if !state.payments.is_configured() {
        return Err(PaymentsError::NotConfigured.into());
    }
    let seats = u32::try_from(input.seats)
        .ok()
        .filter(|s| (1..=10_000).contains(s))
        .ok_or_else(|| Invalid::field("seats", "must be between 1 and 10000"))?;
    let plan = state
        .catalogues
        .plan(&state.store, &input.plan)
        .await?
        .filter(|p| !p.is_archived)
        .ok_or_else(|| BillingError::UnknownPlan(input.plan.clone()))?;
    plan.allows(billing::MAX_SEATS, 0, i64::from(seats))?;
    let price_id = plan
        .price_id(input.billing_interval)
        .ok_or_else(|| BillingError::NoPriceForInterval { plan: plan.plan.clone(), interval: input.billing_interval })?;
    let account = account.ok_or(BillingError::AccountNotFound)?;
    let mut known = Some(subscription.ok_or(BillingError::NoSubscription)?);
    if known.as_ref().is_some_and(Subscription::has_live_stripe_subscription) {
        return Err(BillingError::SubscriptionExists);
    }
    let customer_id = stripe_customer(state, caller, &account).await?;
    let url = crate::retry::until_settled(
        || {
            let known = known.take();
            let (account_id, customer_id) = (&account.id, &customer_id);
            async move {
                let subscription = match known {
                    Some(subscription) => subscription,
                    None => state.store.subscription(account_id).await?.ok_or(BillingError::NoSubscription)?,
                };
                open_subscription_checkout(state, &subscription, customer_id, price_id, seats).await
            }
        },
        || BillingError::Internal(anyhow::anyhow!("concurrent subscription checkouts kept replacing each other")),
    )
    .await?;
    Ok(RedirectUrl { url })
}

/// One attempt at the account's one open subscription Checkout: the open session
/// again for the same purchase; else the open one expired at Stripe (a paid one means
/// the account subscribed: 409) and a new one recorded in its place, on the condition
/// that no concurrent checkout recorded another first (`None`: read again).
/// Round trips: one conditional update (none when the open session is reused).
async fn open_subscription_checkout(
    state: &AppState,
    subscription: &Subscription,
    customer_id: &str,
    price_id: &str,
    seats: u32,
) -> BillingResult<Option<String>> {
    if subscription.has_live_stripe_subscription() {
        return Err(BillingError::SubscriptionExists);
    }
    let now = Utc::now();
    let trial_end = subscription.checkout_trial_end(now).map(|end| end.timestamp());
    match subscription.checkout_plan(price_id, seats, trial_end, now) {
        CheckoutPlan::Reuse(open) => return Ok(Some(open.url.clone())),
        // Completed before it could be expired: the account has just subscribed.
        CheckoutPlan::Replace(open) => {
            if !state.payments.expire_checkout(&open.session_id).await? {
                return Err(BillingError::SubscriptionExists);
            }
        }
        CheckoutPlan::Open => {}
    }
    let previous = subscription.open_checkout.as_ref().map(|open| open.session_id.as_str());
    let account_id = &subscription.account_id;
    let base = &state.config.app_base_url;
    let trial = trial_end.map_or_else(|| "none".to_owned(), |end| end.to_string());
    let opened = state
        .payments
        .subscription_checkout(adapters::payments::SubscriptionCheckout {
            customer_id,
            price_id,
            seats,
            trial_end,
            account_id,
            success_url: format!("{base}/account/billing?success=1"),
            cancel_url: format!("{base}/account/billing/select-plan"),
            // The same purchase after the same session: a concurrent identical checkout
            // gets this session back from Stripe instead of a second one.
            idempotency_key: format!("subscription-checkout-{account_id}-{}-{price_id}-{seats}-{trial}", previous.unwrap_or("first")),
        })
        .await?;
    let open = OpenCheckout {
        session_id: opened.id,
        url: opened.url,
        price_id: price_id.to_owned(),
        seats,
        trial_end,
        expires_at: opened.expires_at,
    };
    if state.store.set_open_checkout(account_id, &open, previous).await? {
        return Ok(Some(open.url));
    }
    // A concurrent checkout recorded its session first. The same purchase got this
    // very session (one idempotency key); any other must not stay payable.
    let recorded = state.store.subscription(account_id).await?.and_then(|s| s.open_checkout);
    if recorded.is_some_and(|r| r.session_id == open.session_id) {
        return Ok(Some(open.url));
    }
    state.payments.expire_checkout(&open.session_id).await?;
    Ok(None)
}

/// The account's Stripe customer, created on first need. Stripe's idempotency key
/// (derived from the account) and a conditional write make it one customer even
/// when two checkouts race.
async fn stripe_customer(state: &AppState, caller: &Caller, account: &Account) -> BillingResult<String> {
    if let Some(id) = &account.stripe_customer_id {
        return Ok(id.clone());
    }
    let created = state.payments.create_customer(&account.id, caller.email.as_str(), &account.name).await?;
    Ok(state.store.set_stripe_customer_once(&account.id, &created).await?)
}

/// A Stripe customer-portal session for the account's customer (`account` as the
/// request read it with the caller).
pub async fn portal_session(state: &AppState, caller: &Caller, account: Option<Account>) -> BillingResult<RedirectUrl> {
    caller.require(Permission::ManageBilling)?;
    if !state.payments.is_configured() {
        return Err(PaymentsError::NotConfigured.into());
    }
    let account = account.ok_or(BillingError::AccountNotFound)?;
    let customer_id = account.stripe_customer_id.ok_or(BillingError::NoBillingAccount)?;
    let url = state.payments.portal(&customer_id, format!("{}/account/billing", state.config.app_base_url)).await?;
    Ok(RedirectUrl { url })
}
