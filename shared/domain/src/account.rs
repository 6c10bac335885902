//! Accounts, users, roles and subscriptions as stored and returned.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::email::Email;

/// A new shop's trial length.
pub const TRIAL_DAYS: i64 = 14;
/// Stripe: a Checkout `subscription_data.trial_end` "has to be at least 48 hours in the
/// future" (API reference, Create a Checkout Session).
pub const STRIPE_MIN_TRIAL_AHEAD: Duration = Duration::hours(48);
/// Room for the time between our clock and Stripe's check of it.
const TRIAL_END_MARGIN: Duration = Duration::minutes(15);
/// How long a user may work before verifying their email.
pub const VERIFICATION_GRACE_DAYS: i64 = 7;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Engineer,
    Viewer,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub team_size_bucket: Option<TeamSizeBucket>,
    pub primary_psa: Option<PrimaryPsa>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe_customer_id: Option<String>,
    /// Feature flags switched on or off for this account, over its plan's defaults.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub feature_overrides: std::collections::BTreeMap<String, bool>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub account_id: String,
    pub email: Email,
    pub name: String,
    pub role: Role,
    /// PHC string; `None` for users who only sign in through an OAuth provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_at_signup: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onboarding_step_completed: Option<u8>,
    /// Set when the user was deactivated: every request is then 403 `user_inactive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deactivated_at: Option<DateTime<Utc>>,
    /// The user must choose a new password before anything but the routes that let
    /// them do so (403 `password_change_required`).
    #[serde(default)]
    pub must_change_password: bool,
    /// Sessions started before this instant (epoch milliseconds) have ended: a password
    /// change or reset ends every session but `session_kept`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions_ended_before_ms: Option<i64>,
    /// The session (refresh-token family) that changed the password goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_kept: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl User {
    /// A new user of an account: no password, email unverified, nothing pending.
    pub fn new(id: String, account_id: &str, email: Email, name: String, role: Role, now: DateTime<Utc>) -> Self {
        User {
            id,
            account_id: account_id.to_owned(),
            email,
            name,
            role,
            password_hash: None,
            email_verified_at: None,
            role_at_signup: None,
            onboarding_step_completed: None,
            deactivated_at: None,
            must_change_password: false,
            sessions_ended_before_ms: None,
            session_kept: None,
            created_at: now,
        }
    }

    /// Whether a session (refresh-token family `family`, started at `started_ms`) is
    /// still open.
    pub fn session_is_open(&self, family: Option<&str>, started_ms: i64) -> bool {
        match self.sessions_ended_before_ms {
            None => true,
            Some(cut) => started_ms >= cut || (family.is_some() && family == self.session_kept.as_deref()),
        }
    }

    /// The caller this user is: account and role as the user record says.
    pub fn caller(&self) -> Caller {
        Caller { user_id: self.id.clone(), account_id: self.account_id.clone(), role: self.role, email: self.email.clone() }
    }
}

/// Who is calling: a user of an account, with their role (from the user record,
/// never only from a token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub account_id: String,
    pub role: Role,
    /// Where receipts and notices for what they do go.
    pub email: Email,
}

/// What a role may do in its account beyond reading its petitions and tasks (SPEC
/// section 6). Wills are each user's own: any role makes and buys them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Buy petitions, add-ons and task upgrades.
    Buy,
    /// Fill in and submit tasks.
    EditTasks,
    /// Invite people, list and revoke invitations.
    Invite,
    /// Change the account's settings.
    ManageAccount,
    /// Subscribe, change the subscription, open the billing portal.
    ManageBilling,
}

/// A caller's role does not allow what they asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the {role:?} role may not {permission:?}")]
pub struct NotAllowed {
    pub role: Role,
    pub permission: Permission,
}

impl Caller {
    pub fn require(&self, permission: Permission) -> Result<(), NotAllowed> {
        if self.role.may(permission) { Ok(()) } else { Err(NotAllowed { role: self.role, permission }) }
    }
}

impl Role {
    /// The role matrix: the owner may do everything; an admin buys, edits tasks and
    /// invites; an engineer buys and edits tasks; a viewer reads.
    pub fn may(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Owner => true,
            Role::Admin => matches!(permission, Buy | EditTasks | Invite),
            Role::Engineer => matches!(permission, Buy | EditTasks),
            Role::Viewer => false,
        }
    }
}

impl Account {
    pub fn new(id: String, name: String, now: DateTime<Utc>) -> Self {
        Account {
            id,
            name,
            team_size_bucket: None,
            primary_psa: None,
            stripe_customer_id: None,
            feature_overrides: Default::default(),
            created_at: now,
        }
    }
}

impl User {
    pub fn verification_grace_ends_at(&self) -> DateTime<Utc> {
        self.created_at + Duration::days(VERIFICATION_GRACE_DAYS)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Trialing,
    Active,
    PastDue,
    Canceled,
    Incomplete,
    Complimentary,
}

impl SubscriptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Trialing => "trialing",
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::PastDue => "past_due",
            SubscriptionStatus::Canceled => "canceled",
            SubscriptionStatus::Incomplete => "incomplete",
            SubscriptionStatus::Complimentary => "complimentary",
        }
    }

    /// A Stripe subscription in this status bills the customer (or will, after its trial).
    pub fn bills(self) -> bool {
        matches!(self, SubscriptionStatus::Active | SubscriptionStatus::PastDue | SubscriptionStatus::Trialing)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub account_id: String,
    pub plan: String,
    pub status: SubscriptionStatus,
    pub seat_limit: u32,
    pub current_period_start: Option<DateTime<Utc>>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub stripe_subscription_id: Option<String>,
    /// The Stripe price it is billed at (None before the first checkout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe_price_id: Option<String>,
    /// The subscription Checkout session last opened for the account (one at a time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_checkout: Option<OpenCheckout>,
}

/// A subscription Checkout session as it was asked for: what it sells and until when
/// Stripe takes payment on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenCheckout {
    pub session_id: String,
    pub url: String,
    pub price_id: String,
    pub seats: u32,
    pub trial_end: Option<i64>,
    /// Epoch seconds.
    pub expires_at: i64,
}

/// What a subscription checkout does with the session already open for the account.
#[derive(Debug, PartialEq)]
pub enum CheckoutPlan<'a> {
    /// None open (or it expired): open one.
    Open,
    /// The same purchase is open: send the customer to it again.
    Reuse(&'a OpenCheckout),
    /// Another purchase is open: expire it at Stripe first, so two cannot both be paid.
    Replace(&'a OpenCheckout),
}

impl Subscription {
    /// Whether an event about Stripe subscription `id` may change this subscription:
    /// the Stripe subscription it follows, or, when `may_replace` (an update or a
    /// completed checkout), a new one while it follows none that is live. A customer
    /// can hold several Stripe subscriptions and one-off invoices; only one is ours.
    pub fn follows_stripe_subscription(&self, id: &str, may_replace: bool) -> bool {
        match &self.stripe_subscription_id {
            Some(current) if current == id => true,
            Some(_) => may_replace && !self.has_live_stripe_subscription(),
            None => may_replace,
        }
    }

    /// Paid through a Stripe subscription that still runs: a second checkout would
    /// charge the account twice.
    pub fn has_live_stripe_subscription(&self) -> bool {
        self.stripe_subscription_id.is_some() && self.status.bills()
    }

    /// A billing Stripe subscription other than the one the account follows (which
    /// bills too): the customer would pay twice.
    pub fn is_duplicated_by(&self, stripe_subscription_id: &str, status: SubscriptionStatus) -> bool {
        status.bills() && self.has_live_stripe_subscription() && self.stripe_subscription_id.as_deref() != Some(stripe_subscription_id)
    }

    /// One open subscription Checkout per account: a second checkout for the same
    /// price, seats and trial gets the open session; any other replaces it.
    pub fn checkout_plan(&self, price_id: &str, seats: u32, trial_end: Option<i64>, now: DateTime<Utc>) -> CheckoutPlan<'_> {
        match &self.open_checkout {
            Some(open) if open.expires_at <= now.timestamp() => CheckoutPlan::Open,
            Some(open) if open.price_id == price_id && open.seats == seats && open.trial_end == trial_end => CheckoutPlan::Reuse(open),
            Some(open) => CheckoutPlan::Replace(open),
            None => CheckoutPlan::Open,
        }
    }

    /// The trialing Pro subscription every new shop starts with.
    pub fn trial(account_id: &str, now: DateTime<Utc>) -> Self {
        Subscription {
            account_id: account_id.to_owned(),
            plan: "pro".to_owned(),
            status: SubscriptionStatus::Trialing,
            seat_limit: 1,
            current_period_start: Some(now),
            current_period_end: Some(now + Duration::days(TRIAL_DAYS)),
            cancel_at_period_end: false,
            stripe_subscription_id: None,
            stripe_price_id: None,
            open_checkout: None,
        }
    }

    /// The `trial_end` a subscription checkout passes to Stripe, so that paying does
    /// not cut a running trial short. Stripe refuses a Checkout `trial_end` less than
    /// 48 hours ahead, so in the trial's last two days the customer keeps the hours
    /// left and a little more: the end moves to the first whole hour past the minimum
    /// and a margin (whole hours keep the request the same for a retry within the hour).
    /// None once the trial is over (the first invoice is charged at once).
    pub fn checkout_trial_end(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let end = self.current_period_end.filter(|end| self.status == SubscriptionStatus::Trialing && *end > now)?;
        let earliest = now + STRIPE_MIN_TRIAL_AHEAD + TRIAL_END_MARGIN;
        if end >= earliest {
            return Some(end);
        }
        let hour = 3600;
        DateTime::from_timestamp((earliest.timestamp() + hour - 1) / hour * hour, 0)
    }

    /// Live = active, past_due, complimentary (until its end, when the grant has one),
    /// or a trial that has not ended.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        match self.status {
            SubscriptionStatus::Active | SubscriptionStatus::PastDue => true,
            SubscriptionStatus::Complimentary => self.current_period_end.is_none_or(|end| end > now),
            SubscriptionStatus::Trialing => self.current_period_end.is_some_and(|end| end > now),
            SubscriptionStatus::Canceled | SubscriptionStatus::Incomplete => false,
        }
    }

    /// The pilot rule (`backfill_pilot`, `ops account grant-complimentary`): what the
    /// subscription becomes when the account is granted a complimentary Pro plan,
    /// `until` a time or without end; None when nothing changes. A canceled or past-due
    /// subscription is left alone (a customer who left or owes money is no pilot); one
    /// complimentary already keeps its grant, and only moves its end when `until` names
    /// another. Seats and Stripe ids are kept.
    pub fn complimentary_grant(current: Option<&Subscription>, account_id: &str, until: Option<DateTime<Utc>>) -> Option<Subscription> {
        match current {
            Some(current) if matches!(current.status, SubscriptionStatus::Canceled | SubscriptionStatus::PastDue) => None,
            Some(current) if current.status == SubscriptionStatus::Complimentary => until
                .filter(|until| current.current_period_end != Some(*until))
                .map(|until| Subscription { current_period_end: Some(until), ..current.clone() }),
            _ => Some(Subscription {
                account_id: account_id.to_owned(),
                plan: "pro".to_owned(),
                status: SubscriptionStatus::Complimentary,
                seat_limit: current.map_or(1, |c| c.seat_limit),
                current_period_start: None,
                current_period_end: until,
                cancel_at_period_end: false,
                stripe_subscription_id: current.and_then(|c| c.stripe_subscription_id.clone()),
                stripe_price_id: current.and_then(|c| c.stripe_price_id.clone()),
                open_checkout: None,
            }),
        }
    }
}

/// Team size buckets offered by the onboarding wizard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum TeamSizeBucket {
    #[serde(rename = "1")]
    Solo,
    #[serde(rename = "2-5")]
    Small,
    #[serde(rename = "6-15")]
    Medium,
    #[serde(rename = "16-50")]
    Large,
    #[serde(rename = "51+")]
    Enterprise,
}

/// The professional-services automation tool a shop mainly uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrimaryPsa {
    Connectwise,
    Autotask,
    Halopsa,
    Syncro,
    Kaseya,
    Other,
    None,
}

/// Onboarding wizard steps are numbered 1..=MAX_ONBOARDING_STEP.
pub const MAX_ONBOARDING_STEP: u8 = 10;
/// `role_at_signup` is free text from the sign-up form, bounded.
pub const MAX_ROLE_AT_SIGNUP_LEN: usize = 50;
pub const MAX_NAME_LEN: usize = 200;

/// Trims a display name and checks it is present and bounded.
pub fn parse_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(format!("must be at most {MAX_NAME_LEN} characters"));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock
mod tests {
    use super::*;

    fn sub(status: SubscriptionStatus, end: Option<DateTime<Utc>>) -> Subscription {
        Subscription { status, current_period_end: end, ..Subscription::trial("a", Utc::now()) }
    }

    #[test]
    fn a_checkout_near_the_trials_end_moves_it_to_stripes_minimum() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let left = |hours| sub(SubscriptionStatus::Trialing, Some(now + Duration::hours(hours))).checkout_trial_end(now);
        assert_eq!(left(49), Some(now + Duration::hours(49)), "far enough: the trial's own end");
        for hours in [47, 1] {
            let moved = left(hours).unwrap();
            assert!(moved >= now + STRIPE_MIN_TRIAL_AHEAD + TRIAL_END_MARGIN, "{hours} h left: {moved}");
            assert!(moved < now + STRIPE_MIN_TRIAL_AHEAD + TRIAL_END_MARGIN + Duration::hours(1), "{hours} h left: {moved}");
            assert_eq!(moved.timestamp() % 3600, 0, "a whole hour");
        }
        assert_eq!(left(-1), None, "the trial is over");
        assert_eq!(sub(SubscriptionStatus::Active, Some(now + Duration::days(9))).checkout_trial_end(now), None);
    }

    #[test]
    fn one_open_subscription_checkout_per_account() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let open = OpenCheckout {
            session_id: "cs_1".into(),
            url: "https://checkout/cs_1".into(),
            price_id: "price_pro".into(),
            seats: 2,
            trial_end: Some(1_800_500_000),
            expires_at: now.timestamp() + 60,
        };
        let with = |open: Option<OpenCheckout>| Subscription { open_checkout: open, ..sub(SubscriptionStatus::Trialing, None) };
        assert_eq!(with(None).checkout_plan("price_pro", 2, Some(1_800_500_000), now), CheckoutPlan::Open);
        let current = with(Some(open.clone()));
        assert_eq!(current.checkout_plan("price_pro", 2, Some(1_800_500_000), now), CheckoutPlan::Reuse(&open));
        assert_eq!(current.checkout_plan("price_pro", 3, Some(1_800_500_000), now), CheckoutPlan::Replace(&open));
        assert_eq!(current.checkout_plan("price_team", 2, Some(1_800_500_000), now), CheckoutPlan::Replace(&open));
        assert_eq!(current.checkout_plan("price_pro", 2, None, now), CheckoutPlan::Replace(&open));
        let expired = with(Some(OpenCheckout { expires_at: now.timestamp(), ..open.clone() }));
        assert_eq!(expired.checkout_plan("price_pro", 2, Some(1_800_500_000), now), CheckoutPlan::Open);
    }

    #[test]
    fn liveness_by_status() {
        let now = Utc::now();
        let later = Some(now + Duration::hours(1));
        let earlier = Some(now - Duration::hours(1));
        assert!(sub(SubscriptionStatus::Active, None).is_live(now));
        assert!(sub(SubscriptionStatus::Complimentary, None).is_live(now));
        assert!(sub(SubscriptionStatus::Complimentary, later).is_live(now), "a grant until later");
        assert!(!sub(SubscriptionStatus::Complimentary, earlier).is_live(now), "a grant that ended");
        assert!(sub(SubscriptionStatus::PastDue, earlier).is_live(now));
        assert!(sub(SubscriptionStatus::Trialing, later).is_live(now));
        assert!(!sub(SubscriptionStatus::Trialing, earlier).is_live(now));
        assert!(!sub(SubscriptionStatus::Trialing, None).is_live(now));
        assert!(!sub(SubscriptionStatus::Canceled, later).is_live(now));
        assert!(!sub(SubscriptionStatus::Incomplete, later).is_live(now));
    }

    #[test]
    fn the_pilot_rule_grants_once_and_moves_only_an_end() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let until = now + Duration::days(30);
        let fresh = Subscription::complimentary_grant(None, "a", None).unwrap();
        assert_eq!((fresh.status, fresh.plan.as_str(), fresh.current_period_end), (SubscriptionStatus::Complimentary, "pro", None));
        let trial = Subscription { seat_limit: 3, stripe_price_id: Some("price_1".into()), ..sub(SubscriptionStatus::Trialing, Some(now)) };
        let granted = Subscription::complimentary_grant(Some(&trial), "a", Some(until)).unwrap();
        assert_eq!((granted.status, granted.current_period_end), (SubscriptionStatus::Complimentary, Some(until)));
        assert_eq!((granted.seat_limit, granted.stripe_price_id.as_deref()), (3, Some("price_1")), "seats and Stripe ids kept");
        assert_eq!(Subscription::complimentary_grant(Some(&granted), "a", Some(until)), None, "granted already");
        assert_eq!(Subscription::complimentary_grant(Some(&granted), "a", None), None, "an end is never dropped");
        let later = Subscription::complimentary_grant(Some(&granted), "a", Some(until + Duration::days(1))).unwrap();
        assert_eq!(later.current_period_end, Some(until + Duration::days(1)), "the end moves");
        for status in [SubscriptionStatus::Canceled, SubscriptionStatus::PastDue] {
            assert_eq!(Subscription::complimentary_grant(Some(&sub(status, None)), "a", None), None, "{status:?}");
        }
    }

    #[test]
    fn only_the_followed_stripe_subscription_changes_it() {
        let trial = sub(SubscriptionStatus::Trialing, None);
        assert!(trial.follows_stripe_subscription("sub_new", true), "a first subscription");
        assert!(!trial.follows_stripe_subscription("sub_new", false), "an invoice or deletion of another");
        let paid = Subscription { stripe_subscription_id: Some("sub_1".into()), ..sub(SubscriptionStatus::Active, None) };
        assert!(paid.follows_stripe_subscription("sub_1", false));
        assert!(!paid.follows_stripe_subscription("sub_2", true), "a second live one does not take over");
        assert!(paid.is_duplicated_by("sub_2", SubscriptionStatus::Trialing), "a second billing one is a duplicate");
        assert!(!paid.is_duplicated_by("sub_2", SubscriptionStatus::Canceled), "an ended one bills nothing");
        assert!(!paid.is_duplicated_by("sub_1", SubscriptionStatus::Active), "the followed one is no duplicate");
        assert!(paid.has_live_stripe_subscription());
        let ended = Subscription { status: SubscriptionStatus::Canceled, ..paid };
        assert!(ended.follows_stripe_subscription("sub_2", true), "a new one replaces an ended one");
        assert!(!ended.is_duplicated_by("sub_2", SubscriptionStatus::Active), "nothing else bills");
        assert!(!ended.has_live_stripe_subscription());
    }

    #[test]
    fn the_role_matrix() {
        use Permission::*;
        let all = [Buy, EditTasks, Invite, ManageAccount, ManageBilling];
        let allowed = |role: Role| all.iter().copied().filter(|p| role.may(*p)).collect::<Vec<_>>();
        assert_eq!(allowed(Role::Owner), all);
        assert_eq!(allowed(Role::Admin), [Buy, EditTasks, Invite]);
        assert_eq!(allowed(Role::Engineer), [Buy, EditTasks]);
        assert_eq!(allowed(Role::Viewer), []);
    }
}
