//! Will use cases: the wizard, verification, payment, regeneration and download.
//! Wills are per user: every read is by (caller, id), so another user's will is a 404.
//! A request's will is read by the product guards with the caller (one BatchGetItem)
//! and handed to the use case.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::orders::{CheckoutStarted, Opened, OrdersError};
use crate::retry::until_settled;
use crate::state::AppState;
use adapters::store::wills::{WillCreation, WillPayment};
use domain::Invalid;
use domain::account::{Caller, Subscription};
use domain::billing::{LimitReached, MAX_WILLS};
use domain::json_bounds;
use domain::order::{self, Delivery, Order, OrderItem, RefundReason};
use domain::will::{self, TransitionError, WILL_PRICE_CENTS, Will, WillEvent, WillPaymentOutcome, WillStatus};

/// What will use cases refuse; `web::error` gives each its status and code.
#[derive(Debug, thiserror::Error)]
pub enum WillsError {
    /// No such will of the caller's.
    #[error("no such resource")]
    NotFound,
    #[error("there is no section {0:?}")]
    UnknownSection(String),
    #[error("{0:?} is not a section or step of the wizard")]
    InvalidCurrentSection(String),
    #[error("the will changed while saving; reload and try again")]
    ChangedMeanwhile,
    #[error("complete every section before verifying")]
    SectionsIncomplete { missing_sections: Vec<&'static str> },
    #[error("this will is paid for; edit, verify and regenerate instead")]
    AlreadyPaid,
    #[error("verify the will before paying")]
    VerificationRequired,
    #[error("pay for the will first")]
    PaymentRequired,
    #[error("verify the will again before regenerating")]
    ReverificationRequired,
    #[error("this download link is no longer valid")]
    DownloadExpired,
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Order(#[from] OrdersError),
    #[error(transparent)]
    LimitReached(#[from] LimitReached),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

type WillsResult<T> = Result<T, WillsError>;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WillSummary {
    pub id: String,
    pub status: WillStatus,
    pub version: u32,
    pub current_section: String,
    pub paid_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WillView {
    pub id: String,
    pub status: WillStatus,
    pub version: u32,
    pub current_section: String,
    pub paid_at: Option<DateTime<Utc>>,
    /// Each saved section's content, by section name.
    #[schema(value_type = std::collections::BTreeMap<String, Object>)]
    pub sections: std::collections::BTreeMap<String, Value>,
    pub sections_complete: bool,
    /// A fresh download token once the will is generated; null before.
    pub download_token: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Regenerated {
    pub download_token: String,
    pub version: u32,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CurrentSectionInput {
    pub current_section: String,
}

fn view(state: &AppState, will: &Will) -> WillsResult<WillView> {
    Ok(WillView {
        id: will.id.clone(),
        status: will.status,
        version: will.version,
        current_section: will.current_section.clone(),
        paid_at: will.paid_at,
        sections: will.sections.clone(),
        sections_complete: will.sections_complete(),
        download_token: download_token(state, will)?,
        created_at: will.created_at,
        updated_at: will.updated_at,
    })
}

fn download_token(state: &AppState, will: &Will) -> WillsResult<Option<String>> {
    match (&will.latest_payment_id, will.status) {
        (Some(payment), WillStatus::Generated) => Ok(Some(state.jwt.issue_download(&will.id, &will.user_id, payment, will.version)?)),
        _ => Ok(None),
    }
}

/// The will a request names, as it read it with the caller (None: the caller has no
/// such will, whether it does not exist or is another user's).
fn found(will: Option<Will>) -> WillsResult<Will> {
    will.ok_or(WillsError::NotFound)
}

/// A new draft will, within the account plan's `max_wills` (`subscription` as the
/// request read it). Round trips: one transaction (the will and the account's will
/// count); the plan from the catalogue held in memory.
pub async fn create(state: &AppState, caller: &Caller, subscription: &Subscription) -> WillsResult<WillView> {
    let plan = crate::billing::plan_of(state, Some(subscription)).await?;
    let max = plan.and_then(|p| p.limit(MAX_WILLS));
    let will = Will::new(adapters::new_id(), &caller.user_id, Utc::now());
    // Twice at most: an account from before the will count has its wills counted first.
    for _ in 0..2 {
        match state.store.create_will(&will, &caller.account_id, max).await? {
            WillCreation::Created => return view(state, &will),
            WillCreation::LimitReached => return Err(LimitReached { limit: MAX_WILLS, max: max.unwrap_or_default() }.into()),
            WillCreation::NotCounted => {
                let wills = count_wills(state, &caller.account_id).await?;
                state.store.start_will_count(&caller.account_id, wills).await?;
            }
        }
    }
    Err(anyhow::anyhow!("the account's will count is still missing").into())
}

/// The wills of the account's users, counted one user at a time (one Query for the
/// users, one per user): once per account, to start its will count.
async fn count_wills(state: &AppState, account_id: &str) -> anyhow::Result<i64> {
    let mut wills = 0;
    for member in state.store.member_ids(account_id).await? {
        wills += state.store.wills_of_user::<WillSummary>(&member).await?.len() as i64;
    }
    Ok(wills)
}

/// The caller's wills, newest first (one Query).
pub async fn list(state: &AppState, caller: &Caller) -> WillsResult<Vec<WillSummary>> {
    let mut wills: Vec<WillSummary> = state.store.wills_of_user(&caller.user_id).await?;
    wills.sort_by_key(|x| std::cmp::Reverse(x.created_at));
    Ok(wills)
}

/// The will as the request read it with the caller (no round trip of its own).
pub fn get(state: &AppState, will: Option<Will>) -> WillsResult<WillView> {
    view(state, &found(will)?)
}

/// Saves one section (validated); the status follows from completeness, and an edit
/// of a verified or generated will sends it back to review. `will` as the request
/// read it with the caller; one conditional PutItem.
pub async fn put_section(state: &AppState, will: Option<Will>, section: &str, content: Value) -> WillsResult<WillView> {
    if !will::is_section(section) {
        return Err(WillsError::UnknownSection(section.to_owned()));
    }
    json_bounds::check(section, &content, will::MAX_SECTION_BYTES).map_err(Invalid::from)?;
    will::validate_section(section, &content, Utc::now().date_naive()).map_err(Invalid)?;
    let mut will = found(will)?;
    let seen = will.updated_at;
    will.sections.insert(section.to_owned(), content);
    let complete = will.sections_complete();
    will.status = will::transition(will.status, WillEvent::EditSection { complete }, complete).expect("edits always transition");
    will.updated_at = Utc::now().max(seen + chrono::Duration::microseconds(1));
    if !state.store.save_will(&will, seen).await? {
        return Err(WillsError::ChangedMeanwhile);
    }
    view(state, &will)
}

pub async fn set_current_section(state: &AppState, will: Option<Will>, input: CurrentSectionInput) -> WillsResult<WillView> {
    if !will::is_valid_current_section(&input.current_section) {
        return Err(WillsError::InvalidCurrentSection(input.current_section));
    }
    let mut will = found(will)?;
    let seen = will.updated_at;
    will.current_section = input.current_section;
    will.updated_at = Utc::now().max(seen + chrono::Duration::microseconds(1));
    if !state.store.save_will(&will, seen).await? {
        return Err(WillsError::ChangedMeanwhile);
    }
    view(state, &will)
}

pub async fn verify(state: &AppState, will: Option<Will>) -> WillsResult<WillView> {
    let mut will = found(will)?;
    let seen = will.updated_at;
    will.status = will::transition(will.status, WillEvent::Verify, will.sections_complete())
        .map_err(|_| WillsError::SectionsIncomplete { missing_sections: will.missing_sections() })?;
    will.updated_at = Utc::now().max(seen + chrono::Duration::microseconds(1));
    if !state.store.save_will(&will, seen).await? {
        return Err(WillsError::ChangedMeanwhile);
    }
    view(state, &will)
}

/// Starts payment for a verified, unpaid will (Order kind `will_payment`); a second
/// checkout while one is open returns the same order.
pub async fn checkout(state: &AppState, caller: &Caller, will: Option<Will>) -> WillsResult<CheckoutStarted> {
    let will = found(will)?;
    if will.paid_at.is_some() {
        return Err(WillsError::AlreadyPaid);
    }
    if will.status != WillStatus::Verified {
        return Err(WillsError::VerificationRequired);
    }
    let item = OrderItem::WillPayment(order::WillPayment { will_id: will.id });
    match crate::orders::start_checkout(state, caller, item, WILL_PRICE_CENTS, "Will document").await? {
        Opened::Payment(started) => Ok(started),
        Opened::Free(_) => Err(anyhow::anyhow!("a will is never free").into()),
    }
}

/// A fresh document version for a paid will that was edited and verified again.
pub async fn regenerate(state: &AppState, will: Option<Will>) -> WillsResult<Regenerated> {
    let will = found(will)?;
    let Some(payment) = will.latest_payment_id.clone().filter(|_| will.paid_at.is_some()) else {
        return Err(WillsError::PaymentRequired);
    };
    let generated =
        will::transition(will.status, WillEvent::Regenerate, true).map_err(|_: TransitionError| WillsError::ReverificationRequired)?;
    if !state.store.bump_will_version(&will, generated, Utc::now()).await? {
        return Err(WillsError::ReverificationRequired);
    }
    let version = will.version + 1;
    Ok(Regenerated { download_token: state.jwt.issue_download(&will.id, &will.user_id, &payment, version)?, version })
}

/// The rendered document for a valid download token of the current version.
pub async fn download(state: &AppState, token: &str, will_id: &str) -> WillsResult<Vec<u8>> {
    let gone = || WillsError::DownloadExpired;
    let claims = state.jwt.verify_download(token).map_err(|_| gone())?;
    if claims.sub != will_id {
        return Err(gone());
    }
    let will = state.store.will(&claims.usr, &claims.sub).await?.ok_or_else(gone)?;
    let current = will.status == WillStatus::Generated
        && will.version == claims.ver
        && will.latest_payment_id.as_deref() == Some(claims.pay.as_str());
    if !current {
        return Err(gone());
    }
    Ok(adapters::document::render_will(&will))
}

/// Delivers a paid will: a completed Payment, `paid_at`, status generated. A will
/// already paid through another order refuses the payment (it is refunded).
pub(crate) async fn deliver_payment(state: &AppState, order: &Order, item: &order::WillPayment) -> anyhow::Result<Delivery> {
    until_settled(
        move || async move {
            let mut will =
                state.store.will(&order.user_id, &item.will_id).await?.ok_or_else(|| anyhow::anyhow!("payment for a missing will"))?;
            let seen = will.updated_at;
            let now = Utc::now();
            match will.pay(&order.id, now) {
                WillPaymentOutcome::AlreadyRecorded => return Ok(Some(Delivery::Delivered)),
                WillPaymentOutcome::PaidByAnotherOrder => {
                    return Ok(Some(Delivery::Refused { reason: RefundReason::AlreadyDelivered, refund_cents: order.amount_cents }));
                }
                WillPaymentOutcome::Recorded => {}
            }
            let payment =
                WillPayment { will_id: will.id.clone(), order_id: order.id.clone(), amount_cents: order.amount_cents, completed_at: now };
            Ok(state.store.record_will_payment(&will, seen, &payment).await?.then_some(Delivery::Delivered))
        },
        || anyhow::anyhow!("the will kept changing while its payment was recorded"),
    )
    .await
}

/// The body of `PUT /v1/wills/{id}/sections/{section}`, one shape per section, as the
/// OpenAPI document publishes it. `domain::will::validate_section` checks the named
/// fields; any other field is kept as given, within `domain::json_bounds` (at most 16
/// levels deep, strings of 10,000 characters, numbers up to 1e125 in magnitude) and
/// `MAX_SECTION_BYTES` of JSON in all.
///
/// Published as `anyOf` the section shapes: the path names the section, and the shapes
/// are open (other fields are kept), so one body can fit several of them, which a
/// `oneOf` (what utoipa derives for an untagged enum) would refuse.
pub struct SectionBody;

impl utoipa::PartialSchema for SectionBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, Schema};
        let utoipa::openapi::RefOr::T(Schema::OneOf(shapes)) = SectionShapes::schema() else {
            unreachable!("an untagged enum's schema is a oneOf")
        };
        shapes.items.into_iter().fold(AnyOfBuilder::new(), AnyOfBuilder::item).description(shapes.description).into()
    }
}

impl utoipa::ToSchema for SectionBody {
    fn name() -> std::borrow::Cow<'static, str> {
        "WillSectionBody".into()
    }

    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        SectionShapes::schemas(schemas);
    }
}

/// The section shapes behind `SectionBody`, described by the OpenAPI derives.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // read only by the OpenAPI derives
enum SectionShapes {
    Personal(PersonalSection),
    Family(FamilySection),
    Executors(ExecutorsSection),
    Guardians(GuardiansSection),
    Gifts(GiftsSection),
    Residuary(ResiduarySection),
    Funeral(FuneralSection),
}

/// A person named in a will.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct Person {
    /// 1 to 500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub full_name: String,
}

/// Section `personal`.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PersonalSection {
    #[schema(min_length = 1, max_length = 500)]
    pub full_name: String,
    /// A past date.
    pub date_of_birth: chrono::NaiveDate,
    #[schema(min_length = 1, max_length = 500)]
    pub address: String,
}

/// Section `family`.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct FamilySection {
    /// single, married, civil_partnership, divorced or widowed.
    pub marital_status: String,
    #[schema(max_items = 50)]
    pub children: Option<Vec<Person>>,
}

/// Section `executors`.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ExecutorsSection {
    #[schema(min_items = 1, max_items = 50)]
    pub executors: Vec<Person>,
}

/// Section `guardians`.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct GuardiansSection {
    #[schema(max_items = 50)]
    pub guardians: Vec<Person>,
}

/// Section `gifts`.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct GiftsSection {
    /// What goes to whom, in the testator's words.
    pub gifts: Vec<std::collections::BTreeMap<String, String>>,
}

/// Section `residuary`.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ResiduarySection {
    #[schema(min_items = 1, max_items = 50)]
    pub beneficiaries: Vec<Person>,
}

/// Section `funeral`.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct FuneralSection {
    pub wishes: Option<String>,
}
