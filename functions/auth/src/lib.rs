//! Function `auth`: email/password identity, users/me and accounts/me.
//! Routing and request/response mapping only; the rules live in `shared::identity`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::extract::Path;
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};
use shared::http::extract::{ApiJson, AuthUser, JsonOrForm, SourceAddress};
use shared::invites::{self, BulkResult, InviteInput, InviteView, Owner};
use shared::identity::{self, AccountPatchInput, AccountView, LoginInput, Me, RegisterInput, TokenPair, UserView};
use shared::{ApiResult, AppState};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/auth/register", post(register))
        .route("/v1/auth/login", post(login))
        .route("/v1/auth/refresh", post(refresh))
        .route("/v1/auth/logout", post(logout))
        .route("/v1/auth/me", get(me))
        .route("/v1/auth/password/change", post(change_password))
        .route("/v1/auth/password/reset/initiate", post(initiate_reset))
        .route("/v1/auth/password/reset/complete", post(complete_reset))
        .route("/v1/auth/email/send-verification", post(send_verification))
        .route("/v1/auth/email/verify", post(verify_email))
        .route("/v1/users/me", get(users_me))
        .route("/v1/users/me/onboarding-step", patch(onboarding_step))
        .route("/v1/accounts/me", get(account_me).patch(update_account_me))
        .route("/v1/accounts/me/invites", post(create_invite).get(list_invites))
        .route("/v1/accounts/me/invites/bulk", post(create_invites_bulk))
        .route("/v1/accounts/me/invites/{id}", delete(revoke_invite))
        .with_state(state)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    refresh_token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePasswordBody {
    current_password: SecretString,
    new_password: SecretString,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailBody {
    email: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetCompleteBody {
    token: String,
    new_password: SecretString,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepBody {
    step: i64,
}

fn ok() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Round trips: 1 transaction (email claim, user, account, trial) + 1 put (refresh
/// token) + 1 put (verification token); plus one SES call.
async fn register(State(state): State<AppState>, ApiJson(input): ApiJson<RegisterInput>) -> ApiResult<(StatusCode, Json<TokenPair>)> {
    Ok((StatusCode::CREATED, Json(identity::register(&state, input).await?)))
}

/// Round trips: one throttle read per subject (email, source address), email claim +
/// user reads, then counter writes on failure or a counter delete + refresh-token put
/// on success.
async fn login(
    State(state): State<AppState>,
    SourceAddress(source): SourceAddress,
    JsonOrForm(input): JsonOrForm<LoginInput>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(identity::login(&state, input, source).await?))
}

/// Round trips: token read, user read, one rotation transaction.
async fn refresh(State(state): State<AppState>, ApiJson(body): ApiJson<RefreshBody>) -> ApiResult<Json<TokenPair>> {
    Ok(Json(identity::refresh(&state, &body.refresh_token).await?))
}

async fn logout(State(state): State<AppState>, _caller: AuthUser, ApiJson(body): ApiJson<RefreshBody>) -> ApiResult<Json<Value>> {
    identity::logout(&state, &body.refresh_token).await?;
    Ok(ok())
}

/// Round trips: three GetItems in parallel (user, account, subscription).
async fn me(State(state): State<AppState>, caller: AuthUser) -> ApiResult<Json<Me>> {
    Ok(Json(identity::me(&state, caller.user_id(), caller.account_id()).await?))
}

async fn change_password(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiJson(body): ApiJson<ChangePasswordBody>,
) -> ApiResult<Json<Value>> {
    identity::change_password(&state, caller.user_id(), body.current_password, body.new_password).await?;
    Ok(ok())
}

/// Always 200, whether or not the email is registered.
async fn initiate_reset(State(state): State<AppState>, ApiJson(body): ApiJson<EmailBody>) -> ApiResult<Json<Value>> {
    identity::initiate_password_reset(&state, &body.email).await?;
    Ok(ok())
}

async fn complete_reset(State(state): State<AppState>, ApiJson(body): ApiJson<ResetCompleteBody>) -> ApiResult<Json<Value>> {
    identity::complete_password_reset(&state, &body.token, body.new_password).await?;
    Ok(ok())
}

async fn send_verification(State(state): State<AppState>, caller: AuthUser) -> ApiResult<Json<Value>> {
    let user = identity::current_user(&state, caller.user_id()).await?;
    if user.email_verified_at.is_some() {
        return Ok(Json(json!({"status": "already_verified"})));
    }
    identity::send_verification_email(&state, &user).await;
    Ok(Json(json!({"status": "sent"})))
}

/// The emailed token is the proof: no bearer token needed.
async fn verify_email(State(state): State<AppState>, ApiJson(body): ApiJson<TokenBody>) -> ApiResult<Json<Value>> {
    identity::verify_email(&state, &body.token).await?;
    Ok(Json(json!({"status": "verified"})))
}

async fn users_me(State(state): State<AppState>, caller: AuthUser) -> ApiResult<Json<UserView>> {
    Ok(Json(UserView::from(&identity::current_user(&state, caller.user_id()).await?)))
}

async fn onboarding_step(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiJson(body): ApiJson<StepBody>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(UserView::from(&identity::set_onboarding_step(&state, caller.user_id(), body.step).await?)))
}

async fn account_me(State(state): State<AppState>, caller: AuthUser) -> ApiResult<Json<AccountView>> {
    Ok(Json(AccountView::from(&identity::account(&state, caller.account_id()).await?)))
}

async fn update_account_me(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiJson(input): ApiJson<AccountPatchInput>,
) -> ApiResult<Json<AccountView>> {
    let account = identity::update_account(&state, caller.0.role, caller.account_id(), input).await?;
    Ok(Json(AccountView::from(&account)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkBody {
    invites: Vec<Value>,
}

fn owner(caller: &AuthUser) -> Owner<'_> {
    Owner { user_id: caller.user_id(), account_id: caller.account_id(), role: caller.0.role }
}

/// Round trips: email lookup (2 reads), account read, one transaction (invite + code
/// item), one stamp of `email_sent_at`; plus one SES call.
async fn create_invite(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiJson(input): ApiJson<InviteInput>,
) -> ApiResult<(StatusCode, Json<InviteView>)> {
    Ok((StatusCode::CREATED, Json(invites::create(&state, &owner(&caller), input).await?)))
}

/// Each entry is created independently (as a single create); failures are listed.
async fn create_invites_bulk(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiJson(body): ApiJson<BulkBody>,
) -> ApiResult<(StatusCode, Json<BulkResult>)> {
    Ok((StatusCode::CREATED, Json(invites::create_bulk(&state, &owner(&caller), body.invites).await?)))
}

/// Round trips: one Query on the account's collection.
async fn list_invites(State(state): State<AppState>, caller: AuthUser) -> ApiResult<Json<Vec<InviteView>>> {
    Ok(Json(invites::list(&state, &owner(&caller)).await?))
}

/// Round trips: one conditional UpdateItem.
async fn revoke_invite(State(state): State<AppState>, caller: AuthUser, Path(id): Path<String>) -> ApiResult<StatusCode> {
    invites::revoke(&state, &owner(&caller), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
