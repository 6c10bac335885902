//! Access tokens: HS256 JWTs with a pinned algorithm, expiry, issuer and audience.

use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::config::JwtConfig;
use domain::account::Role;

pub const ACCESS_TOKEN_TTL: Duration = Duration::minutes(15);
const ALGORITHM: Algorithm = Algorithm::HS256;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The user's account id.
    pub acc: String,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// The session (refresh-token family) the token was issued in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
    /// When that session began (epoch milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sst: Option<i64>,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
}

impl JwtKeys {
    pub fn new(config: &JwtConfig) -> Self {
        let secret = config.secret.expose_secret().as_bytes();
        // Only HS256 is accepted: `alg: none` or any other algorithm fails validation.
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        // A token not valid yet (`nbf` in the future) is refused; ours carry none.
        validation.validate_nbf = true;
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
        }
    }

    pub fn issue(&self, user_id: &str, account_id: &str, role: Role, session: (&str, i64)) -> anyhow::Result<String> {
        let now = Utc::now();
        let claims = Claims {
            sub: user_id.to_owned(),
            acc: account_id.to_owned(),
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now.timestamp(),
            exp: (now + ACCESS_TOKEN_TTL).timestamp(),
            fam: Some(session.0.to_owned()),
            sst: Some(session.1),
        };
        Ok(encode(&Header::new(ALGORITHM), &claims, &self.encoding)?)
    }

    /// Checks signature, algorithm, expiry, issuer and audience.
    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        decode::<Claims>(token, &self.decoding, &self.validation).map(|data| data.claims)
    }
}

/// How long a will download link works.
pub const DOWNLOAD_TOKEN_TTL: Duration = Duration::hours(1);
const DOWNLOAD_AUDIENCE_SUFFIX: &str = ":will-download";

/// A download token: bound to the will, its owner, the payment and the version, so a
/// regeneration (new version) invalidates earlier tokens without a lookup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DownloadClaims {
    /// The will id.
    pub sub: String,
    /// The will's owner (the key the will is stored under).
    pub usr: String,
    /// The payment (order id) the download is paid by.
    pub pay: String,
    pub ver: u32,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
}

impl JwtKeys {
    pub fn issue_download(&self, will_id: &str, user_id: &str, payment_id: &str, version: u32) -> anyhow::Result<String> {
        let claims = DownloadClaims {
            sub: will_id.to_owned(),
            usr: user_id.to_owned(),
            pay: payment_id.to_owned(),
            ver: version,
            iss: self.issuer.clone(),
            aud: format!("{}{DOWNLOAD_AUDIENCE_SUFFIX}", self.audience),
            exp: (Utc::now() + DOWNLOAD_TOKEN_TTL).timestamp(),
        };
        Ok(encode(&Header::new(ALGORITHM), &claims, &self.encoding)?)
    }

    /// Checks signature, expiry, issuer and the download audience (an access token
    /// is not a download token, nor the reverse).
    pub fn verify_download(&self, token: &str) -> Result<DownloadClaims, jsonwebtoken::errors::Error> {
        let mut validation = self.validation.clone();
        validation.set_audience(&[format!("{}{DOWNLOAD_AUDIENCE_SUFFIX}", self.audience)]);
        decode::<DownloadClaims>(token, &self.decoding, &validation).map(|data| data.claims)
    }
}
