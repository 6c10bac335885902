//! Google and Microsoft sign-in: authorization code + PKCE, state bound to the
//! verifier, nonce and redirect URI, identity from the verified ID token.

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::identity::issue_tokens;
use crate::retry::until_settled;
use crate::state::AppState;
use adapters::openid::provider::{IdClaims, ProviderError};
use adapters::openid::providers::UnusableProvider;
use adapters::security::token;
use adapters::store::oauth::{IdentityLink, OAuthSignUpError, PendingAuthorization};
use domain::Invalid;
use domain::account::{self, Account, Role, Subscription, User};
use domain::email::Email;

/// How long a started authorization may take to come back.
pub const AUTHORIZATION_TTL: Duration = Duration::minutes(10);

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthorizationUrl {
    pub authorization_url: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackInput {
    pub code: String,
    pub state: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OAuthTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub is_new_user: bool,
}

/// What a sign-in refuses; `web::error` gives each its status and code.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("no such sign-in provider")]
    UnknownProvider,
    #[error("{0} sign-in is not configured")]
    ProviderNotConfigured(String),
    #[error("the sign-in provider is unavailable")]
    ProviderUnavailable,
    #[error("the authorization code was refused by the provider")]
    CodeRefused,
    #[error("the provider's identity token could not be verified")]
    InvalidIdToken,
    #[error("this sign-in attempt is unknown, expired or already used")]
    InvalidState,
    #[error("this redirect URI is not on the allow-list")]
    RedirectNotAllowed,
    #[error("the provider did not share an email address")]
    EmailMissing,
    #[error("an account with this email exists; the provider has not verified the email, so it cannot be linked")]
    EmailUnverified,
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<UnusableProvider> for SignInError {
    fn from(err: UnusableProvider) -> Self {
        match err {
            UnusableProvider::Unknown => SignInError::UnknownProvider,
            UnusableProvider::NotConfigured(name) => SignInError::ProviderNotConfigured(name),
        }
    }
}

impl From<ProviderError> for SignInError {
    fn from(err: ProviderError) -> Self {
        match err {
            ProviderError::Unavailable(detail) => {
                tracing::error!(detail, "OpenID provider unavailable");
                SignInError::ProviderUnavailable
            }
            ProviderError::ExchangeRefused(detail) => {
                tracing::warn!(detail, "authorization code refused");
                SignInError::CodeRefused
            }
            ProviderError::InvalidIdToken(detail) => {
                tracing::warn!(detail, "ID token rejected");
                SignInError::InvalidIdToken
            }
        }
    }
}

/// Starts a sign-in: stores the PKCE verifier, nonce and redirect URI under the
/// state (single use, 10 minutes) and returns the provider's URL.
pub async fn authorize(state: &AppState, provider_name: &str, redirect_uri: Option<&str>) -> Result<AuthorizationUrl, SignInError> {
    let provider = state.oauth.provider(provider_name)?;
    let redirect_uri = redirect_uri.ok_or_else(|| Invalid::field("redirect_uri", "is required"))?;
    if !state.oauth.redirect_allowlist.iter().any(|allowed| allowed == redirect_uri) {
        return Err(SignInError::RedirectNotAllowed);
    }
    let nonce = token::generate();
    let authorization = provider.authorize(state.oauth.http(), redirect_uri, &nonce).await?;
    let expires_at = Utc::now() + AUTHORIZATION_TTL;
    let pending = PendingAuthorization {
        provider: provider_name.to_owned(),
        pkce_verifier: authorization.pkce_verifier,
        nonce,
        redirect_uri: redirect_uri.to_owned(),
        expires_at,
        ttl: expires_at.timestamp(),
    };
    state.store.put_pending_authorization(&token::digest(&authorization.state), &pending).await?;
    Ok(AuthorizationUrl { authorization_url: authorization.url })
}

/// Finishes a sign-in: takes the state (once), exchanges the code, verifies the ID
/// token and its nonce, then signs in or registers.
pub async fn callback(state: &AppState, provider_name: &str, input: CallbackInput) -> Result<OAuthTokens, SignInError> {
    let provider = state.oauth.provider(provider_name)?;
    if input.code.trim().is_empty() {
        return Err(Invalid::field("code", "must not be empty").into());
    }
    let pending = state
        .store
        .take_pending_authorization(&token::digest(&input.state))
        .await?
        .filter(|p| p.expires_at > Utc::now() && p.provider == provider_name)
        .ok_or(SignInError::InvalidState)?;
    let claims = provider.exchange(state.oauth.http(), &input.code, &pending.pkce_verifier, &pending.redirect_uri).await?;
    if claims.nonce.as_deref() != Some(pending.nonce.as_str()) {
        tracing::warn!(provider = provider_name, "ID token nonce mismatch");
        return Err(SignInError::InvalidIdToken);
    }
    let (user, is_new_user) = sign_in_or_register(state, provider_name, &claims).await?;
    if is_new_user {
        crate::metrics::sign_up(if provider_name == "microsoft" { "microsoft" } else { "google" });
    }
    let pair = issue_tokens(state, &user, adapters::new_id()).await?;
    Ok(OAuthTokens { access_token: pair.access_token, refresh_token: pair.refresh_token, token_type: "bearer", is_new_user })
}

/// Existing identity → its user. Else the user with that email, linked only when the
/// provider attests the email is verified. Else a new shop. Concurrent callbacks for
/// one identity race on conditional writes; the loser retries and finds the winner.
async fn sign_in_or_register(state: &AppState, provider: &str, claims: &IdClaims) -> Result<(User, bool), SignInError> {
    until_settled(
        move || async move {
            if let Some(link) = state.store.identity(provider, &claims.sub).await? {
                let user = state.store.user(&link.user_id).await?.ok_or_else(|| anyhow::anyhow!("identity without user"))?;
                return Ok(Some((user, false)));
            }
            let email = claims.email.as_deref().and_then(|e| Email::parse(e).ok()).ok_or(SignInError::EmailMissing)?;
            let now = Utc::now();
            let link = |user_id: &str| IdentityLink {
                provider: provider.to_owned(),
                subject: claims.sub.clone(),
                user_id: user_id.to_owned(),
                provider_email_at_link: claims.email.clone(),
                created_at: now,
            };
            let outcome = match state.store.user_by_email(&email.normalized()).await? {
                Some(mut user) => {
                    if !claims.email_is_verified() {
                        return Err(SignInError::EmailUnverified);
                    }
                    let linked = state.store.link_identity(&link(&user.id), now).await;
                    user.email_verified_at.get_or_insert(now);
                    linked.map(|()| (user, false))
                }
                None => {
                    let (account, user, subscription) = new_shop(email, claims, now);
                    state.store.create_oauth_shop(&account, &user, &subscription, &link(&user.id)).await.map(|()| (user, true))
                }
            };
            match outcome {
                Ok(done) => Ok(Some(done)),
                Err(OAuthSignUpError::EmailTaken | OAuthSignUpError::IdentityTaken) => Ok(None),
                Err(OAuthSignUpError::Store(err)) => Err(err.into()),
            }
        },
        || anyhow::anyhow!("OAuth sign-in kept losing races").into(),
    )
    .await
}

/// A new shop for an OAuth user: no password; the email counts as verified when the
/// provider says so (otherwise the usual 7-day grace applies).
fn new_shop(email: Email, claims: &IdClaims, now: chrono::DateTime<Utc>) -> (Account, User, Subscription) {
    let name = account::parse_name(claims.display_name().unwrap_or_default())
        .unwrap_or_else(|_| email.as_str().split('@').next().unwrap_or("New user").to_owned());
    let account = Account::new(adapters::new_id(), format!("{name}'s shop"), now);
    let user = User {
        email_verified_at: claims.email_is_verified().then_some(now),
        ..User::new(adapters::new_id(), &account.id, email, name, Role::Owner, now)
    };
    let subscription = Subscription::trial(&account.id, now);
    (account, user, subscription)
}
