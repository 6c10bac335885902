//! Identity use cases: sign-up, login, token refresh, passwords, email verification,
//! onboarding. Each function validates, applies the domain rules and talks to the
//! store and mailer; the `auth` function maps HTTP onto them.

use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::state::AppState;
use adapters::security::{password, token};
use adapters::store::identity::{AccountPatch, CreateUserError};
use adapters::store::invites::AcceptError;
use adapters::store::tokens::{OneTimeEffect, OneTimeKind, OneTimeToken, RefreshToken, RotateOutcome};
use domain::Invalid;
use domain::account::{
    self, Account, Caller, MAX_ONBOARDING_STEP, MAX_ROLE_AT_SIGNUP_LEN, NotAllowed, Permission, PrimaryPsa, Role, Subscription,
    TeamSizeBucket, User,
};
use domain::billing::LimitReached;
use domain::email::Email;
use domain::invite::Invite;
use domain::password::NewPassword;

pub const REFRESH_TOKEN_TTL: Duration = Duration::days(30);
pub const EMAIL_VERIFICATION_TTL: Duration = Duration::hours(48);
pub const PASSWORD_RESET_TTL: Duration = Duration::hours(1);
/// Failed logins allowed per email, and per source address, in one 15-minute window.
const LOGIN_LIMITS: [(&str, i64); 2] = [("login-email", 5), ("login-source", 20)];

// ---------- views ----------

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub email_verified: bool,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub has_password: bool,
    pub role_at_signup: Option<String>,
    pub onboarding_step_completed: Option<u8>,
    pub created_at: DateTime<Utc>,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        UserView {
            id: user.id.clone(),
            account_id: user.account_id.clone(),
            email: user.email.to_string(),
            name: user.name.clone(),
            role: user.role,
            email_verified: user.email_verified_at.is_some(),
            email_verified_at: user.email_verified_at,
            has_password: user.password_hash.is_some(),
            role_at_signup: user.role_at_signup.clone(),
            onboarding_step_completed: user.onboarding_step_completed,
            created_at: user.created_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    pub id: String,
    pub name: String,
    pub team_size_bucket: Option<TeamSizeBucket>,
    pub primary_psa: Option<PrimaryPsa>,
    pub created_at: DateTime<Utc>,
}

impl From<&Account> for AccountView {
    fn from(account: &Account) -> Self {
        AccountView {
            id: account.id.clone(),
            name: account.name.clone(),
            team_size_bucket: account.team_size_bucket,
            primary_psa: account.primary_psa,
            created_at: account.created_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubscriptionView {
    pub status: account::SubscriptionStatus,
    pub plan: String,
    pub current_period_end: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user: UserView,
    pub account: AccountView,
    pub role: Role,
    pub subscription: Option<SubscriptionView>,
}

// ---------- inputs ----------

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterInput {
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
    pub name: String,
    pub account_name: Option<String>,
    pub account_invite_code: Option<String>,
    pub role_at_signup: Option<String>,
}

/// JSON `{email, password}` or the OAuth2 password form `username`/`password`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginInput {
    /// Sent as `username` in the form.
    #[serde(alias = "username")]
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPatchInput {
    pub name: Option<String>,
    pub team_size_bucket: Option<TeamSizeBucket>,
    pub primary_psa: Option<PrimaryPsa>,
}

/// What identity use cases refuse; `web::error` gives each its status and code.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("email or password is incorrect")]
    InvalidCredentials,
    #[error("this link is invalid, used or expired")]
    InvalidToken,
    /// The user has no password: they sign in through these providers.
    #[error("this account signs in with an identity provider")]
    UseOAuthProvider { providers: Vec<String> },
    #[error("this invitation is invalid or has expired")]
    InviteInvalid,
    #[error("this invitation was sent to another email address")]
    InviteEmailMismatch,
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("too many failed logins; try again later")]
    TooManyLogins { retry_after_secs: u64 },
    #[error("too many emails asked for; try later")]
    TooManyMails { retry_after_secs: u64 },
    #[error("invalid refresh token")]
    RefreshRefused,
    #[error("user no longer exists")]
    UserGone,
    #[error("the current password is incorrect")]
    WrongCurrentPassword,
    #[error("no such account")]
    AccountNotFound,
    #[error(transparent)]
    NotAllowed(#[from] NotAllowed),
    #[error(transparent)]
    LimitReached(#[from] LimitReached),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

type IdentityResult<T> = Result<T, IdentityError>;

/// For a user without a password: which providers they sign in with (one Query).
async fn use_oauth_provider(state: &AppState, user: &User) -> IdentityResult<IdentityError> {
    Ok(IdentityError::UseOAuthProvider { providers: state.store.providers_of_user(&user.id).await? })
}

// ---------- use cases ----------

/// Creates a new shop (account + owner + 14-day Pro trial) and sends the verification
/// email. With an invite code the user joins the inviting account instead; the code
/// and the email match are checked before anything is written.
pub async fn register(state: &AppState, input: RegisterInput) -> IdentityResult<TokenPair> {
    let mut errors = Invalid::default();
    let email = errors.check("email", Email::parse(&input.email));
    let name = errors.check("name", account::parse_name(&input.name));
    let account_name = match &input.account_name {
        Some(raw) => errors.check("account_name", account::parse_name(raw)),
        None => name.as_ref().map(|n| format!("{n}'s shop")),
    };
    let role_at_signup = match input.role_at_signup.as_deref().map(str::trim) {
        Some(role) if role.chars().count() > MAX_ROLE_AT_SIGNUP_LEN => {
            errors.check::<()>("role_at_signup", Err(format!("must be at most {MAX_ROLE_AT_SIGNUP_LEN} characters")));
            None
        }
        Some("") | None => None,
        Some(role) => Some(role.to_owned()),
    };
    let password = match &email {
        Some(email) => errors.check("password", NewPassword::parse(input.password, email)),
        None => None,
    };
    errors.finish()?;
    let (Some(email), Some(name), Some(account_name), Some(password)) = (email, name, account_name, password) else {
        unreachable!("every field was checked above")
    };
    let invite = match &input.account_invite_code {
        Some(code) => Some(valid_invite_for(state, code, &email).await?),
        None => None,
    };

    let now = Utc::now();
    let password_hash = Some(password::hash(password.secret().clone()).await?);
    let user = match invite {
        Some(invite) => join_by_invite(state, &invite, email, name, password_hash, role_at_signup, now).await?,
        None => create_shop(state, email, name, account_name, password_hash, role_at_signup, now).await?,
    };
    crate::metrics::sign_up(if input.account_invite_code.is_some() { "invite" } else { "password" });
    send_verification_email(state, &user).await;
    let mut pair = issue_tokens(state, &user, adapters::new_id()).await?;
    pair.user = Some(UserView::from(&user));
    Ok(pair)
}

/// The invitation a sign-up code names, if it is valid and for this email.
async fn valid_invite_for(state: &AppState, code: &str, email: &Email) -> IdentityResult<Invite> {
    let invite =
        state.store.invite_by_code(&token::digest(code)).await?.filter(|i| i.is_valid(Utc::now())).ok_or(IdentityError::InviteInvalid)?;
    if !invite.is_for(email) {
        return Err(IdentityError::InviteEmailMismatch);
    }
    Ok(invite)
}

/// Joins the inviting account with the invite's role; no trial (the account has its
/// subscription). The user and the invite's use are one transaction.
async fn join_by_invite(
    state: &AppState,
    invite: &Invite,
    email: Email,
    name: String,
    password_hash: Option<String>,
    role_at_signup: Option<String>,
    now: DateTime<Utc>,
) -> IdentityResult<User> {
    // The member takes a seat of the account's plan (the invite held it until now).
    let subscription = state.store.subscription(&invite.account_id).await?;
    if let Some(plan) = crate::billing::plan_of(state, subscription.as_ref()).await? {
        let members = state.store.member_ids(&invite.account_id).await?.len() as i64;
        plan.allows(domain::billing::MAX_SEATS, members, 1)?;
    }
    let user = User { password_hash, role_at_signup, ..User::new(adapters::new_id(), &invite.account_id, email, name, invite.role, now) };
    match state.store.accept_invite(invite, &user, now).await {
        Ok(()) => {}
        Err(AcceptError::EmailTaken) => return Err(IdentityError::EmailTaken),
        Err(AcceptError::InviteNoLongerValid) => return Err(IdentityError::InviteInvalid),
        Err(AcceptError::Store(err)) => return Err(err.into()),
    }
    tracing::info!(user_id = %user.id, account_id = %user.account_id, invite_id = %invite.id, "joined by invitation");
    Ok(user)
}

async fn create_shop(
    state: &AppState,
    email: Email,
    name: String,
    account_name: String,
    password_hash: Option<String>,
    role_at_signup: Option<String>,
    now: DateTime<Utc>,
) -> IdentityResult<User> {
    let account = Account::new(adapters::new_id(), account_name, now);
    let user = User { password_hash, role_at_signup, ..User::new(adapters::new_id(), &account.id, email, name, Role::Owner, now) };
    let subscription = Subscription::trial(&account.id, now);
    match state.store.create_shop(&account, &user, &subscription).await {
        Ok(()) => {}
        Err(CreateUserError::EmailTaken) => return Err(IdentityError::EmailTaken),
        Err(CreateUserError::Store(err)) => return Err(err.into()),
    }
    tracing::info!(user_id = %user.id, account_id = %account.id, "registered a new shop");
    Ok(user)
}

/// Logs in with email and password. Five failures for one email (or twenty from one
/// source address) within 15 minutes block it (429 with Retry-After) until the
/// window ends. `source` is the client address when the platform reports one.
///
/// Round trips: the counters and the email's claim (one BatchGetItem), the user (one
/// GetItem), then the refresh token (PutItem, or one transaction clearing the email's
/// counter) or the failures (one write for both counters). An unknown email reads a
/// user nobody is and runs argon2 against a dummy hash, so it takes the same calls and
/// the same work as a wrong password: neither the answer nor its time tells whether
/// an email is registered.
pub async fn login(state: &AppState, input: LoginInput, source: Option<String>) -> IdentityResult<TokenPair> {
    let email = Email::parse(&input.email).map_err(|m| Invalid::field("email", m))?;
    let now = Utc::now();
    let subjects: Vec<(&str, i64, String)> = [Some(email.normalized()), source]
        .into_iter()
        .zip(LOGIN_LIMITS)
        .filter_map(|(subject, (scope, max))| subject.map(|s| (scope, max, s)))
        .collect();
    let keys: Vec<(&str, &str)> = subjects.iter().map(|(scope, _, subject)| (*scope, subject.as_str())).collect();
    let lookup = state.store.login_lookup(&email.normalized(), &keys).await?;
    for ((_, max, _), count) in subjects.iter().zip(&lookup.counts) {
        if let Some(retry_after) = count.blocked_for(*max, now) {
            return Err(IdentityError::TooManyLogins { retry_after_secs: retry_after });
        }
    }
    let user = state.store.user_for_login(lookup.user_id.as_deref()).await?;
    if let Some(user) = &user
        && user.password_hash.is_none()
    {
        return Err(use_oauth_provider(state, user).await?);
    }
    let matches = password::verify(input.password, user.as_ref().and_then(|u| u.password_hash.clone())).await?;
    let Some(user) = user.filter(|_| matches) else {
        state.store.record_login_failures(&lookup.counts, now).await?;
        return Err(IdentityError::InvalidCredentials);
    };
    let (refresh_token, stored) = session_token(&user, adapters::new_id(), now);
    state.store.put_login_refresh_token(&token::digest(&refresh_token), &stored, &lookup.counts[0], now).await?;
    let mut pair = token_pair(state, &user, refresh_token, &stored)?;
    pair.user = Some(UserView::from(&user));
    Ok(pair)
}

/// Exchanges a refresh token for a new pair. A token that was already exchanged is
/// a reuse (stolen or replayed): the whole family is revoked.
pub async fn refresh(state: &AppState, refresh_token: &str) -> IdentityResult<TokenPair> {
    let now = Utc::now();
    let digest = token::digest(refresh_token);
    let stored = state.store.refresh_token(&digest).await?.filter(|t| t.expires_at > now).ok_or(IdentityError::RefreshRefused)?;
    if stored.rotated_at.is_some() {
        tracing::warn!(family_id = %stored.family_id, "refresh token reused; revoking its family");
        state.store.revoke_family(&stored.family_id, now, stored.ttl).await?;
        return Err(IdentityError::RefreshRefused);
    }
    let user = state.store.user(&stored.user_id).await?.ok_or(IdentityError::RefreshRefused)?;
    if !user.session_is_open(Some(&stored.family_id), stored.family_started_ms) {
        return Err(IdentityError::RefreshRefused); // a password change or reset ended this session
    }
    let access_token = state.jwt.issue(&user.id, &user.account_id, user.role, (&stored.family_id, stored.family_started_ms))?;
    let new_token = token::generate();
    let next = RefreshToken {
        user_id: user.id.clone(),
        family_id: stored.family_id.clone(),
        family_started_ms: stored.family_started_ms,
        expires_at: now + REFRESH_TOKEN_TTL,
        rotated_at: None,
        ttl: (now + REFRESH_TOKEN_TTL).timestamp(),
    };
    match state.store.rotate_refresh_token(&digest, &token::digest(&new_token), &next, now).await? {
        RotateOutcome::Rotated => Ok(TokenPair { access_token, refresh_token: new_token, token_type: "bearer", user: None }),
        RotateOutcome::Refused => {
            // A concurrent exchange of the same token won, or the family is revoked.
            state.store.revoke_family(&stored.family_id, now, stored.ttl).await?;
            Err(IdentityError::RefreshRefused)
        }
    }
}

/// Revokes the refresh token's family (this session). Unknown tokens are ignored.
pub async fn logout(state: &AppState, refresh_token: &str) -> IdentityResult<()> {
    if let Some(stored) = state.store.refresh_token(&token::digest(refresh_token)).await? {
        state.store.revoke_family(&stored.family_id, Utc::now(), stored.ttl).await?;
    }
    Ok(())
}

/// A new session for the user: its refresh token (stored), and the pair.
pub(crate) async fn issue_tokens(state: &AppState, user: &User, family_id: String) -> anyhow::Result<TokenPair> {
    let (refresh_token, stored) = session_token(user, family_id, Utc::now());
    state.store.put_refresh_token(&token::digest(&refresh_token), &stored).await?;
    token_pair(state, user, refresh_token, &stored)
}

/// A new session's refresh token (raw) and what is stored of it.
fn session_token(user: &User, family_id: String, now: DateTime<Utc>) -> (String, RefreshToken) {
    let stored = RefreshToken {
        user_id: user.id.clone(),
        family_id,
        family_started_ms: now.timestamp_millis(),
        expires_at: now + REFRESH_TOKEN_TTL,
        rotated_at: None,
        ttl: (now + REFRESH_TOKEN_TTL).timestamp(),
    };
    (token::generate(), stored)
}

/// The pair for a stored session: an access token in its family, and its refresh token.
fn token_pair(state: &AppState, user: &User, refresh_token: String, stored: &RefreshToken) -> anyhow::Result<TokenPair> {
    let access_token = state.jwt.issue(&user.id, &user.account_id, user.role, (&stored.family_id, stored.family_started_ms))?;
    Ok(TokenPair { access_token, refresh_token, token_type: "bearer", user: None })
}

/// The caller, their account and its subscription, as the request read them.
pub fn me(user: &User, account: Option<Account>, subscription: Option<Subscription>) -> IdentityResult<Me> {
    let Some(account) = account else { return Err(IdentityError::UserGone) };
    Ok(Me {
        role: user.role,
        user: UserView::from(user),
        account: AccountView::from(&account),
        subscription: subscription.map(|s| SubscriptionView { status: s.status, plan: s.plan, current_period_end: s.current_period_end }),
    })
}

async fn current_user(state: &AppState, user_id: &str) -> IdentityResult<User> {
    state.store.user(user_id).await?.ok_or(IdentityError::UserGone)
}

/// Sets a new password and ends every other session of the user (their refresh
/// tokens and access tokens stop working); `session` (the caller's) goes on. `user` is
/// the caller's record as the request read it.
pub async fn change_password(
    state: &AppState,
    user: &User,
    session: Option<&str>,
    current: SecretString,
    new: SecretString,
) -> IdentityResult<()> {
    let Some(hash) = user.password_hash.clone() else { return Err(use_oauth_provider(state, user).await?) };
    let new = NewPassword::parse(new, &user.email).map_err(|m| Invalid::field("new_password", m))?;
    if !password::verify(current, Some(hash)).await? {
        return Err(IdentityError::WrongCurrentPassword);
    }
    let hash = password::hash(new.secret().clone()).await?;
    state.store.set_password_hash(&user.id, &hash, Utc::now().timestamp_millis(), session.unwrap_or_default()).await?;
    Ok(())
}

/// Mails a user can make the app send in an hour: to one address, and from one
/// source address (per kind of mail).
const MAILS_PER_ADDRESS: i64 = 3;
const MAILS_PER_SOURCE: i64 = 20;
const MAIL_WINDOW: chrono::Duration = chrono::Duration::hours(1);

/// Counts one request for a `kind` of mail; 429 `too_many_requests` (with
/// `Retry-After`) past either cap. Every address asked about is counted, registered
/// or not, so a refusal reveals nothing about accounts.
async fn allow_mail(state: &AppState, kind: &str, address: &Email, source: Option<&str>) -> IdentityResult<()> {
    let now = Utc::now();
    let by_address = (format!("mail-{kind}-address"), address.normalized(), MAILS_PER_ADDRESS);
    let by_source = source.map(|s| (format!("mail-{kind}-source"), s.to_owned(), MAILS_PER_SOURCE));
    for (scope, subject, cap) in [Some(by_address), by_source].into_iter().flatten() {
        let (count, window_ends_at) = state.store.count_in_window(&scope, &subject, MAIL_WINDOW, now).await?;
        if count > cap {
            return Err(IdentityError::TooManyMails { retry_after_secs: (window_ends_at - now.timestamp()).max(1) as u64 });
        }
    }
    Ok(())
}

/// A reset mail to send, queued: answering then takes the same work whether or not
/// the address is registered, so neither the answer nor its timing tells.
#[derive(Debug, Serialize, Deserialize)]
pub struct ResetMailJob {
    pub password_reset_for: String,
}

/// Queues a reset mail for the address (the worker mails password users only).
/// Callers answer 200 whatever the address, so the response never reveals whether it
/// is registered. Round trips: the two mail counters, one SQS send.
pub async fn initiate_password_reset(state: &AppState, raw_email: &str, source: Option<&str>) -> IdentityResult<()> {
    let email = Email::parse(raw_email).map_err(|m| Invalid::field("email", m))?;
    allow_mail(state, "reset", &email, source).await?;
    state.queue.send(&[ResetMailJob { password_reset_for: email.normalized() }]).await?;
    Ok(())
}

/// The worker's side of a reset: a single-use link to the address's user if they
/// have a password; nothing for anyone else. Err (SQS retries) when the mail fails.
pub async fn send_password_reset(state: &AppState, job: &ResetMailJob) -> anyhow::Result<()> {
    let Some(user) = state.store.user_by_email(&job.password_reset_for).await? else { return Ok(()) };
    if user.password_hash.is_none() {
        return Ok(());
    }
    let token = new_one_time_token(state, OneTimeKind::PasswordReset, &user.id, PASSWORD_RESET_TTL).await?;
    state.mailer.send(&user.email, state.mailer.password_reset(&token)).await
}

pub async fn complete_password_reset(state: &AppState, raw_token: &str, new: SecretString) -> IdentityResult<()> {
    let now = Utc::now();
    let digest = token::digest(raw_token);
    let stored = state
        .store
        .one_time_token(OneTimeKind::PasswordReset, &digest)
        .await?
        .filter(|t| t.expires_at > now)
        .ok_or(IdentityError::InvalidToken)?;
    let user = state.store.user(&stored.user_id).await?.ok_or(IdentityError::InvalidToken)?;
    let new = NewPassword::parse(new, &user.email).map_err(|m| Invalid::field("new_password", m))?;
    let hash = password::hash(new.secret().clone()).await?;
    let effect = OneTimeEffect::SetPassword { password_hash: &hash };
    if !state.store.consume_one_time_token(OneTimeKind::PasswordReset, &digest, &user.id, effect, now).await? {
        return Err(IdentityError::InvalidToken);
    }
    Ok(())
}

/// `POST /v1/auth/email/send-verification`: `sent`, or `already_verified` (nothing is
/// sent); within the mail caps.
/// `user` is the caller's record as the request read it.
pub async fn resend_verification(state: &AppState, user: &User, source: Option<&str>) -> IdentityResult<&'static str> {
    if user.email_verified_at.is_some() {
        return Ok("already_verified");
    }
    allow_mail(state, "verification", &user.email, source).await?;
    send_verification_email(state, user).await;
    Ok("sent")
}

/// Sends (or re-sends) the verification email. A mail failure is logged, never
/// returned: sign-up must not fail because SES did.
pub async fn send_verification_email(state: &AppState, user: &User) {
    let result = async {
        let token = new_one_time_token(state, OneTimeKind::EmailVerification, &user.id, EMAIL_VERIFICATION_TTL).await?;
        state.mailer.send(&user.email, state.mailer.verification(&token)).await
    }
    .await;
    if let Err(err) = result {
        crate::metrics::email_failed();
        tracing::error!(error = format!("{err:#}"), user_id = %user.id, "verification email failed");
    }
}

pub async fn verify_email(state: &AppState, raw_token: &str) -> IdentityResult<()> {
    let now = Utc::now();
    let digest = token::digest(raw_token);
    let stored = state
        .store
        .one_time_token(OneTimeKind::EmailVerification, &digest)
        .await?
        .filter(|t| t.expires_at > now)
        .ok_or(IdentityError::InvalidToken)?;
    let consumed = state
        .store
        .consume_one_time_token(OneTimeKind::EmailVerification, &digest, &stored.user_id, OneTimeEffect::VerifyEmail, now)
        .await?;
    if consumed { Ok(()) } else { Err(IdentityError::InvalidToken) }
}

async fn new_one_time_token(state: &AppState, kind: OneTimeKind, user_id: &str, ttl: Duration) -> anyhow::Result<String> {
    let raw = token::generate();
    let expires_at = Utc::now() + ttl;
    let stored = OneTimeToken { user_id: user_id.to_owned(), expires_at, ttl: expires_at.timestamp() };
    state.store.put_one_time_token(kind, &token::digest(&raw), &stored).await?;
    Ok(raw)
}

pub async fn set_onboarding_step(state: &AppState, caller: &Caller, step: i64) -> IdentityResult<User> {
    let step = u8::try_from(step)
        .ok()
        .filter(|s| (1..=MAX_ONBOARDING_STEP).contains(s))
        .ok_or_else(|| Invalid::field("step", format!("must be between 1 and {MAX_ONBOARDING_STEP}")))?;
    state.store.set_onboarding_step(&caller.user_id, step).await?;
    current_user(state, &caller.user_id).await
}

/// The caller's account, as the request read it.
pub fn account(account: Option<Account>) -> IdentityResult<Account> {
    account.ok_or(IdentityError::AccountNotFound)
}

/// Owner-only update of the account's name and onboarding answers.
pub async fn update_account(state: &AppState, caller: &Caller, input: AccountPatchInput) -> IdentityResult<Account> {
    let name = input.name.as_deref().map(account::parse_name).transpose().map_err(|m| Invalid::field("name", m))?;
    caller.require(Permission::ManageAccount)?;
    let patch = AccountPatch { name, team_size_bucket: input.team_size_bucket, primary_psa: input.primary_psa };
    state.store.update_account(&caller.account_id, &patch).await?.ok_or(IdentityError::AccountNotFound)
}
