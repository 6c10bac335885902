//! Opaque tokens (refresh, email verification, password reset, invitations): 256
//! random bits, URL-safe; only their SHA-256 is stored, so a table dump grants nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a token: hex SHA-256.
pub fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_unique_and_digests_stable() {
        let a = super::generate();
        assert_ne!(a, super::generate());
        assert_eq!(a.len(), 43);
        assert_eq!(super::digest(&a), super::digest(&a));
        assert_eq!(super::digest(&a).len(), 64);
    }
}
