//! Password hashing with argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane).
//!
//! Hashing costs tens of milliseconds of CPU on purpose, so it runs on the blocking
//! pool, never on an async worker.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::AuthError;

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest accepted password, in bytes (bounds hashing work per request).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Checks the password rule.
pub fn check_rule(password: &str) -> Result<(), AuthError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AuthError::WeakPassword(format!(
            "password must be at least {MIN_PASSWORD_CHARS} characters long (got {chars})"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AuthError::WeakPassword(format!("password must be at most {MAX_PASSWORD_BYTES} bytes long")));
    }
    Ok(())
}

/// Hashes a password into a PHC string, after checking the rule.
pub async fn hash(password: &str) -> Result<String, AuthError> {
    check_rule(password)?;
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AuthError::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| AuthError::Internal(e.to_string()))?
}

/// Verifies a password against a PHC string. `None` (unknown user, or a user
/// without a password) is verified against a throw-away hash so that the time taken
/// does not tell whether the user exists.
pub async fn verify(stored: Option<&str>, candidate: &str) -> bool {
    if candidate.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let stored = stored.map(str::to_owned);
    let candidate = candidate.to_owned();
    tokio::task::spawn_blocking(move || {
        let phc = stored.as_deref().unwrap_or_else(|| dummy_hash());
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok() && stored.is_some()
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password(uuid::Uuid::new_v4().to_string().as_bytes())
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// A random password for the first `admin` account: 24 characters from an
/// alphabet without look-alikes (about 140 bits).
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    crate::api_token::random_string(ALPHABET, 24)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let h = hash("correct horse battery").await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify(Some(&h), "correct horse battery").await);
        assert!(!verify(Some(&h), "correct horse battery!").await);
        assert!(!verify(None, "correct horse battery").await);
        assert!(!verify(Some("not a phc string"), "x").await);
    }

    #[test]
    fn rule() {
        assert_eq!(
            check_rule("short").unwrap_err().to_string(),
            "password must be at least 12 characters long (got 5)"
        );
        assert!(check_rule(&"x".repeat(2000)).is_err());
        assert!(check_rule("twelve chars").is_ok());
        let g = generate();
        assert_eq!(g.len(), 24);
        assert!(check_rule(&g).is_ok());
        assert_ne!(generate(), g);
    }
}
