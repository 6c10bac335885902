//! Secrets handling: access JWTs, argon2id password hashes, opaque single-use tokens.

pub mod jwt;
pub mod password;
pub mod token;
