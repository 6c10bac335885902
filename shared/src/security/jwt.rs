//! Access tokens: HS256 JWTs with a pinned algorithm, expiry, issuer and audience.

use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::config::JwtConfig;
use crate::domain::account::Role;

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
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
        }
    }

    pub fn issue(&self, user_id: &str, account_id: &str, role: Role) -> anyhow::Result<String> {
        let now = Utc::now();
        let claims = Claims {
            sub: user_id.to_owned(),
            acc: account_id.to_owned(),
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now.timestamp(),
            exp: (now + ACCESS_TOKEN_TTL).timestamp(),
        };
        Ok(encode(&Header::new(ALGORITHM), &claims, &self.encoding)?)
    }

    /// Checks signature, algorithm, expiry, issuer and audience.
    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        decode::<Claims>(token, &self.decoding, &self.validation).map(|data| data.claims)
    }
}
