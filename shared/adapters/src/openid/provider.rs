//! One OpenID provider: discovery, the authorization URL (code + PKCE S256 + nonce),
//! the code exchange (the `oauth2` crate) and ID-token verification against the
//! provider's JWKS (jsonwebtoken: RS256 pinned, `iss`, `aud`, `exp`; the caller
//! checks `nonce`). Identity comes from the verified ID token only.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use oauth2::basic::{BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet, ExtraTokenFields, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use crate::config::OAuthProviderConfig;

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct IdTokenField {
    pub id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenField {}

type OidcClient = oauth2::Client<
    BasicErrorResponse,
    StandardTokenResponse<IdTokenField, BasicTokenType>,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

#[derive(Clone, Debug, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// What the provider attests about the user, from a verified ID token.
#[derive(Clone, Debug, Deserialize)]
pub struct IdClaims {
    pub sub: String,
    pub iss: String,
    pub email: Option<String>,
    pub name: Option<String>,
    /// Microsoft's sign-in name: shown when there is no `name`, never used to link.
    pub preferred_username: Option<String>,
    /// Google sends a bool; some providers send "true".
    #[serde(default)]
    pub email_verified: Option<serde_json::Value>,
    /// Microsoft Entra: the tenant, and whether the email's domain owner verified it
    /// (an optional claim the app registration must ask for).
    pub tid: Option<String>,
    #[serde(default)]
    pub xms_edov: Option<serde_json::Value>,
    pub nonce: Option<String>,
    /// Whether the provider vouches for `email`, by its own rule (`EmailAttestation`).
    #[serde(skip)]
    email_attested: bool,
}

impl IdClaims {
    pub fn email_is_verified(&self) -> bool {
        self.email_attested
    }

    /// The name to show: `name`, else Microsoft's `preferred_username`.
    pub fn display_name(&self) -> Option<&str> {
        self.name.as_deref().or(self.preferred_username.as_deref())
    }
}

fn is_true(value: &Option<serde_json::Value>) -> bool {
    matches!(value, Some(serde_json::Value::Bool(true))) || matches!(value, Some(serde_json::Value::String(s)) if s == "true")
}

/// Microsoft's tenant of personal accounts (outlook.com, hotmail.com...), whose
/// addresses Microsoft owns and verifies.
const MICROSOFT_PERSONAL_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// How a provider says an email address is the user's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailAttestation {
    /// Google: `email_verified`.
    EmailVerifiedClaim,
    /// Microsoft Entra never sends `email_verified` for work accounts, and an
    /// unverified `email` is how nOAuth takeovers work: only `xms_edov: true` (the
    /// domain owner verified it) or a personal Microsoft account counts.
    EntraDomainOwner,
}

impl EmailAttestation {
    fn vouches(self, claims: &IdClaims) -> bool {
        match self {
            EmailAttestation::EmailVerifiedClaim => is_true(&claims.email_verified),
            EmailAttestation::EntraDomainOwner => is_true(&claims.xms_edov) || claims.tid.as_deref() == Some(MICROSOFT_PERSONAL_TENANT),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("provider unreachable or misbehaving: {0}")]
    Unavailable(String),
    #[error("the code exchange was refused: {0}")]
    ExchangeRefused(String),
    #[error("invalid ID token: {0}")]
    InvalidIdToken(String),
}

/// A started authorization: send the user to `url`; keep the rest server-side.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub pkce_verifier: String,
}

pub struct Provider {
    config: OAuthProviderConfig,
    attestation: EmailAttestation,
    discovery: OnceCell<Discovery>,
}

impl Provider {
    pub fn new(config: OAuthProviderConfig, attestation: EmailAttestation) -> Self {
        Provider { config, attestation, discovery: OnceCell::new() }
    }

    pub fn client_id(&self) -> Option<&str> {
        self.config.client_id.as_deref()
    }

    /// The discovery document, fetched once per warm Lambda.
    async fn discovery(&self, http: &reqwest::Client) -> Result<&Discovery, ProviderError> {
        self.discovery
            .get_or_try_init(|| async {
                let url = format!("{}/.well-known/openid-configuration", self.config.issuer.trim_end_matches('/'));
                fetch_json(http, &url).await
            })
            .await
    }

    fn client(&self, discovery: &Discovery, redirect_uri: &str) -> Result<OidcClient, ProviderError> {
        let bad = |e: oauth2::url::ParseError| ProviderError::Unavailable(e.to_string());
        let mut client = oauth2::Client::new(ClientId::new(self.client_id().unwrap_or_default().to_owned()))
            .set_auth_uri(AuthUrl::new(discovery.authorization_endpoint.clone()).map_err(bad)?)
            .set_token_uri(TokenUrl::new(discovery.token_endpoint.clone()).map_err(bad)?)
            .set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned()).map_err(bad)?);
        if let Some(secret) = &self.config.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.expose_secret().to_owned()));
        }
        Ok(client)
    }

    pub async fn authorize(&self, http: &reqwest::Client, redirect_uri: &str, nonce: &str) -> Result<Authorization, ProviderError> {
        let discovery = self.discovery(http).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = self
            .client(discovery, redirect_uri)?
            .authorize_url(CsrfToken::new_random)
            .add_scope(Scope::new("openid".into()))
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .add_extra_param("nonce", nonce)
            .set_pkce_challenge(challenge)
            .url();
        Ok(Authorization { url: url.to_string(), state: state.secret().clone(), pkce_verifier: verifier.secret().clone() })
    }

    /// Exchanges the code (with the PKCE verifier) and verifies the ID token.
    pub async fn exchange(
        &self,
        http: &reqwest::Client,
        code: &str,
        pkce_verifier: &str,
        redirect_uri: &str,
    ) -> Result<IdClaims, ProviderError> {
        let discovery = self.discovery(http).await?;
        let response = self
            .client(discovery, redirect_uri)?
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(http)
            .await
            .map_err(|e| ProviderError::ExchangeRefused(e.to_string()))?;
        let id_token = response
            .extra_fields()
            .id_token
            .clone()
            .ok_or_else(|| ProviderError::InvalidIdToken("no id_token in the token response".into()))?;
        self.verify_id_token(http, discovery, &id_token).await
    }

    /// Keys are fetched per sign-in (rare), so key rotation needs no cache busting.
    async fn verify_id_token(&self, http: &reqwest::Client, discovery: &Discovery, token: &str) -> Result<IdClaims, ProviderError> {
        let invalid = |e: jsonwebtoken::errors::Error| ProviderError::InvalidIdToken(e.to_string());
        let header = decode_header(token).map_err(invalid)?;
        if header.alg != Algorithm::RS256 {
            return Err(ProviderError::InvalidIdToken(format!("unexpected algorithm {:?}", header.alg)));
        }
        let keys: JwkSet = fetch_json(http, &discovery.jwks_uri).await?;
        let jwk = match &header.kid {
            Some(kid) => keys.find(kid),
            None => keys.keys.first(),
        }
        .ok_or_else(|| ProviderError::InvalidIdToken("signing key not in the provider's JWKS".into()))?;
        let key = DecodingKey::from_jwk(jwk).map_err(invalid)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[self.client_id().unwrap_or_default()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let mut claims = decode::<IdClaims>(token, &key, &validation).map(|data| data.claims).map_err(invalid)?;
        self.check_issuer(&discovery.issuer, &claims)?;
        claims.email_attested = self.attestation.vouches(&claims);
        Ok(claims)
    }

    /// `iss` must be the discovery document's issuer. Microsoft's multi-tenant
    /// endpoints (`common`, `organizations`) publish a template,
    /// `https://login.microsoftonline.com/{tenantid}/v2.0`: the token's own tenant
    /// (`tid`) fills it in, and the tenant must be allowed.
    fn check_issuer(&self, published: &str, claims: &IdClaims) -> Result<(), ProviderError> {
        let expected = match (published.contains("{tenantid}"), claims.tid.as_deref()) {
            (false, _) => published.to_owned(),
            (true, Some(tid)) => published.replace("{tenantid}", tid),
            (true, None) => return Err(ProviderError::InvalidIdToken("a multi-tenant issuer's token has no tid".into())),
        };
        if claims.iss != expected {
            return Err(ProviderError::InvalidIdToken(format!("issuer {} is not {expected}", claims.iss)));
        }
        let tenants = &self.config.allowed_tenants;
        if !tenants.is_empty() && !claims.tid.as_ref().is_some_and(|tid| tenants.contains(tid)) {
            return Err(ProviderError::InvalidIdToken("the user's tenant is not allowed".into()));
        }
        Ok(())
    }
}

async fn fetch_json<T: serde::de::DeserializeOwned>(http: &reqwest::Client, url: &str) -> Result<T, ProviderError> {
    let unavailable = |e: reqwest::Error| ProviderError::Unavailable(format!("{url}: {e}"));
    http.get(url).send().await.map_err(unavailable)?.error_for_status().map_err(unavailable)?.json().await.map_err(unavailable)
}
