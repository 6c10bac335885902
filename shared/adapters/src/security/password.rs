//! argon2id password hashing with the crate defaults (19 MiB, t=2, p=1: the OWASP
//! minimum), run on the blocking pool so a hash never stalls the async executor.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use secrecy::{ExposeSecret, SecretString};

/// A hash of a random password, verified against when the email is unknown so that
/// unknown emails and wrong passwords take similar time.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking(&SecretString::from(uuid::Uuid::new_v4().to_string())).expect("hashing a dummy password"));

fn hash_blocking(password: &SecretString) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 hash: {e}"))
}

fn verify_blocking(password: &SecretString, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| Argon2::default().verify_password(password.expose_secret().as_bytes(), &parsed).is_ok())
}

pub async fn hash(password: SecretString) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
}

/// Verifies `password` against `phc`, or against a dummy hash when there is no
/// stored hash, so the caller's timing does not reveal which case it was.
pub async fn verify(password: SecretString, phc: Option<String>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify_blocking(&password, &phc),
        None => {
            verify_blocking(&password, &DUMMY_HASH);
            false
        }
    })
    .await
    .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_with_argon2id_defaults_and_verifies() {
        let phc = hash(SecretString::from("correct horse 9")).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify(SecretString::from("correct horse 9"), Some(phc.clone())).await.unwrap());
        assert!(!verify(SecretString::from("wrong horse 9"), Some(phc)).await.unwrap());
        assert!(!verify(SecretString::from("anything"), None).await.unwrap());
    }
}
