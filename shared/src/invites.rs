//! Invitation use cases (owner only): create (and mail), bulk create, list, revoke.
//! Accepting an invitation is part of sign-up (`identity::register`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::account::{NotAllowed, Permission, Role};
use crate::domain::billing;
use crate::domain::email::Email;
use crate::domain::invite::{self, Invite, InviteStatus, MAX_BULK_INVITES};
use crate::error::{ApiError, ApiResult};
use crate::security::token;
use crate::state::AppState;
use crate::store::invites::RevokeOutcome;

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

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BulkFailure {
    pub email: String,
    pub error: &'static str,
    pub message: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BulkResult {
    pub created: Vec<InviteView>,
    pub failed: Vec<BulkFailure>,
}

/// The caller as the invitations routes need them.
pub struct Owner<'a> {
    pub user_id: &'a str,
    pub account_id: &'a str,
    pub role: Role,
}

/// Inviting, listing and revoking take the `Invite` permission (owner or admin).
fn require_owner(owner: &Owner) -> ApiResult<()> {
    if owner.role.may(Permission::Invite) { Ok(()) } else { Err(NotAllowed { role: owner.role, permission: Permission::Invite }.into()) }
}

fn invite_pending() -> ApiError {
    ApiError::conflict("invite_pending", "this address already has a pending invitation; revoke it to invite again")
}

/// Creates one invitation and mails its link. A mail failure leaves `email_sent_at`
/// null and still succeeds: the owner sees it in the list and can invite again.
pub async fn create(state: &AppState, owner: &Owner<'_>, input: InviteInput) -> ApiResult<InviteView> {
    require_owner(owner)?;
    let email = Email::parse(&input.email).map_err(|m| ApiError::invalid_field("email", m))?;
    let role = invite::invitable_role(input.role).map_err(|m| ApiError::invalid_field("role", m))?;
    if state.store.user_by_email(&email.normalized()).await?.is_some() {
        return Err(ApiError::conflict("email_taken", "a user with this email already exists"));
    }
    let account = state.store.account(owner.account_id).await?.ok_or_else(ApiError::not_found)?;
    let now = Utc::now();
    // One pending invite per address; every member and pending invite holds a seat.
    let invites = state.store.invites(owner.account_id).await?;
    let pending = |i: &&Invite| i.status(now) == InviteStatus::Pending;
    let to_address = |i: &&Invite| i.email.normalized() == email.normalized();
    if invites.iter().filter(pending).any(|i| to_address(&i)) {
        return Err(invite_pending());
    }
    if let Some(plan) = state.store.current_plan(owner.account_id).await? {
        let members = state.store.member_ids(owner.account_id).await?.len() as i64;
        plan.allows(billing::MAX_SEATS, members + invites.iter().filter(pending).count() as i64, 1)?;
    }
    let replacing = invites.iter().filter(to_address).max_by_key(|i| i.created_at).map(|i| i.id.clone());
    let mut invite = Invite::new(crate::new_id(), owner.account_id, email, role, owner.user_id, now);
    let code = token::generate();
    if !state.store.create_invite(&invite, &token::digest(&code), replacing.as_deref()).await? {
        return Err(invite_pending());
    }
    let mail = state.mailer.invitation(&account.name, &code);
    match state.mailer.send(&invite.email, mail).await {
        Ok(()) => {
            state.store.mark_invite_emailed(&invite.account_id, &invite.id, now).await?;
            invite.email_sent_at = Some(now);
        }
        Err(err) => tracing::error!(error = format!("{err:#}"), invite_id = %invite.id, "invitation email failed"),
    }
    Ok(InviteView::new(&invite, now))
}

/// Creates each invitation independently: one bad entry fails alone.
pub async fn create_bulk(state: &AppState, owner: &Owner<'_>, inputs: Vec<serde_json::Value>) -> ApiResult<BulkResult> {
    require_owner(owner)?;
    if inputs.is_empty() || inputs.len() > MAX_BULK_INVITES {
        return Err(ApiError::invalid_field("invites", format!("send between 1 and {MAX_BULK_INVITES} invitations")));
    }
    let mut result = BulkResult { created: Vec::new(), failed: Vec::new() };
    for raw in inputs {
        let email = raw.get("email").and_then(|e| e.as_str()).unwrap_or_default().to_owned();
        let outcome = match serde_json::from_value::<InviteInput>(raw) {
            Ok(input) => create(state, owner, input).await,
            Err(err) => Err(ApiError::validation([("invites".to_owned(), err.to_string())])),
        };
        match outcome {
            Ok(view) => result.created.push(view),
            Err(ApiError::Client { code, message, .. }) => result.failed.push(BulkFailure { email, error: code, message }),
            Err(err) => return Err(err),
        }
    }
    Ok(result)
}

pub async fn list(state: &AppState, owner: &Owner<'_>) -> ApiResult<Vec<InviteView>> {
    require_owner(owner)?;
    let now = Utc::now();
    let mut invites = state.store.invites(owner.account_id).await?;
    invites.sort_by_key(|x| std::cmp::Reverse(x.created_at));
    Ok(invites.iter().map(|i| InviteView::new(i, now)).collect())
}

/// Soft-revokes; idempotent. 404 for ids outside the caller's account.
pub async fn revoke(state: &AppState, owner: &Owner<'_>, invite_id: &str) -> ApiResult<()> {
    require_owner(owner)?;
    match state.store.revoke_invite(owner.account_id, invite_id, Utc::now()).await? {
        RevokeOutcome::Revoked => Ok(()),
        RevokeOutcome::AlreadyAccepted => {
            Err(ApiError::bad_request("invite_already_accepted", "this invitation has already been accepted"))
        }
        RevokeOutcome::NotFound => Err(ApiError::not_found()),
    }
}
