//! Invitation use cases (owner only): create (and mail), bulk create, list, revoke.
//! Accepting an invitation is part of sign-up (`identity::register`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::state::AppState;
use adapters::security::token;
use adapters::store::invites::RevokeOutcome;
use domain::Invalid;
use domain::account::{Caller, NotAllowed, Permission, Role};
use domain::billing::{self, LimitReached};
use domain::email::Email;
use domain::invite::{self, Invite, InviteStatus, MAX_BULK_INVITES};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteInput {
    pub email: String,
    pub role: Role,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InviteView {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub status: InviteStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub email_sent_at: Option<DateTime<Utc>>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl InviteView {
    fn new(invite: &Invite, now: DateTime<Utc>) -> Self {
        InviteView {
            id: invite.id.clone(),
            email: invite.email.to_string(),
            role: invite.role,
            status: invite.status(now),
            created_at: invite.created_at,
            expires_at: invite.expires_at,
            email_sent_at: invite.email_sent_at,
            used_at: invite.used_at,
            revoked_at: invite.revoked_at,
        }
    }
}

/// One entry of a bulk invitation: the address it named and what became of it.
#[derive(Debug)]
pub struct BulkOutcome {
    pub email: String,
    pub result: Result<InviteView, InvitesError>,
}

/// What invitation use cases refuse; `web::error` gives each its status and code.
#[derive(Debug, thiserror::Error)]
pub enum InvitesError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("a user with this email already exists")]
    EmailTaken,
    #[error("this address already has a pending invitation; revoke it to invite again")]
    InvitePending,
    #[error("this invitation has already been accepted")]
    AlreadyAccepted,
    #[error("no such invitation")]
    NotFound,
    #[error(transparent)]
    NotAllowed(#[from] NotAllowed),
    #[error(transparent)]
    LimitReached(#[from] LimitReached),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

type InvitesResult<T> = Result<T, InvitesError>;

/// Creates one invitation and mails its link. A mail failure leaves `email_sent_at`
/// null and still succeeds: the owner sees it in the list and can invite again.
pub async fn create(state: &AppState, caller: &Caller, input: InviteInput) -> InvitesResult<InviteView> {
    caller.require(Permission::Invite)?;
    let email = Email::parse(&input.email).map_err(|m| Invalid::field("email", m))?;
    let role = invite::invitable_role(input.role).map_err(|m| Invalid::field("role", m))?;
    if state.store.user_by_email(&email.normalized()).await?.is_some() {
        return Err(InvitesError::EmailTaken);
    }
    let account = state.store.account(&caller.account_id).await?.ok_or(InvitesError::NotFound)?;
    let now = Utc::now();
    // One pending invite per address; every member and pending invite holds a seat.
    let invites = state.store.invites(&caller.account_id).await?;
    let pending = |i: &&Invite| i.status(now) == InviteStatus::Pending;
    let to_address = |i: &&Invite| i.email.normalized() == email.normalized();
    if invites.iter().filter(pending).any(|i| to_address(&i)) {
        return Err(InvitesError::InvitePending);
    }
    let subscription = state.store.subscription(&caller.account_id).await?;
    if let Some(plan) = crate::billing::plan_of(state, subscription.as_ref()).await? {
        let members = state.store.member_ids(&caller.account_id).await?.len() as i64;
        plan.allows(billing::MAX_SEATS, members + invites.iter().filter(pending).count() as i64, 1)?;
    }
    let replacing = invites.iter().filter(to_address).max_by_key(|i| i.created_at).map(|i| i.id.clone());
    let mut invite = Invite::new(adapters::new_id(), &caller.account_id, email, role, &caller.user_id, now);
    let code = token::generate();
    if !state.store.create_invite(&invite, &token::digest(&code), replacing.as_deref()).await? {
        return Err(InvitesError::InvitePending);
    }
    let mail = state.mailer.invitation(&account.name, &code);
    match state.mailer.send(&invite.email, mail).await {
        Ok(()) => {
            state.store.mark_invite_emailed(&invite.account_id, &invite.id, now).await?;
            invite.email_sent_at = Some(now);
        }
        Err(err) => {
            crate::metrics::email_failed();
            tracing::error!(error = format!("{err:#}"), invite_id = %invite.id, "invitation email failed");
        }
    }
    Ok(InviteView::new(&invite, now))
}

/// Creates each invitation independently: one bad entry fails alone.
pub async fn create_bulk(state: &AppState, caller: &Caller, inputs: Vec<serde_json::Value>) -> InvitesResult<Vec<BulkOutcome>> {
    caller.require(Permission::Invite)?;
    if inputs.is_empty() || inputs.len() > MAX_BULK_INVITES {
        return Err(Invalid::field("invites", format!("send between 1 and {MAX_BULK_INVITES} invitations")).into());
    }
    let mut outcomes = Vec::with_capacity(inputs.len());
    for raw in inputs {
        let email = raw.get("email").and_then(|e| e.as_str()).unwrap_or_default().to_owned();
        let result = match serde_json::from_value::<InviteInput>(raw) {
            Ok(input) => create(state, caller, input).await,
            Err(err) => Err(Invalid::field("invites", err.to_string()).into()),
        };
        if let Err(InvitesError::Internal(err)) = result {
            return Err(err.into());
        }
        outcomes.push(BulkOutcome { email, result });
    }
    Ok(outcomes)
}

pub async fn list(state: &AppState, caller: &Caller) -> InvitesResult<Vec<InviteView>> {
    caller.require(Permission::Invite)?;
    let now = Utc::now();
    let mut invites = state.store.invites(&caller.account_id).await?;
    invites.sort_by_key(|x| std::cmp::Reverse(x.created_at));
    Ok(invites.iter().map(|i| InviteView::new(i, now)).collect())
}

/// Soft-revokes; idempotent. 404 for ids outside the caller's account.
pub async fn revoke(state: &AppState, caller: &Caller, invite_id: &str) -> InvitesResult<()> {
    caller.require(Permission::Invite)?;
    match state.store.revoke_invite(&caller.account_id, invite_id, Utc::now()).await? {
        RevokeOutcome::Revoked => Ok(()),
        RevokeOutcome::AlreadyAccepted => Err(InvitesError::AlreadyAccepted),
        RevokeOutcome::NotFound => Err(InvitesError::NotFound),
    }
}
