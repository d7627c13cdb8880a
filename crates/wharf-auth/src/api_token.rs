//! API token secrets.
//!
//! A secret is `wharf_pat_` followed by 40 base62 characters (about 238 bits from
//! the thread-local CSPRNG). Only its SHA-256 is stored: the secret is random, so a
//! slow hash would add nothing but latency to every registry request. The prefix lets
//! secret scanners recognise leaked tokens and lets Wharf tell a token from a password.

/// Every token secret starts with this.
pub const PREFIX: &str = "wharf_pat_";
/// Every pull secret (a subscription's registry credential for clusters) starts with this.
pub const PULL_SECRET_PREFIX: &str = "wharf_pull_";
const BODY_LEN: usize = 40;
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A new secret and the hash to store.
pub fn generate() -> (String, String) {
    let secret = format!("{PREFIX}{}", random_string(BASE62, BODY_LEN));
    let hash = hash(&secret);
    (secret, hash)
}

/// A new pull secret and the hash to store.
pub fn generate_pull_secret() -> (String, String) {
    let secret = format!("{PULL_SECRET_PREFIX}{}", random_string(BASE62, BODY_LEN));
    let hash = hash(&secret);
    (secret, hash)
}

/// Whether a credential is shaped like a pull secret.
pub fn looks_like_pull_secret(secret: &str) -> bool {
    secret.starts_with(PULL_SECRET_PREFIX)
}

/// The user name a pull secret logs in with.
pub fn pull_secret_user(id: i64) -> String {
    format!("pull-secret-{id}")
}

/// The stored form of a secret.
pub fn hash(secret: &str) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes()))
}

/// Whether a credential is shaped like an API token (rather than a password).
pub fn looks_like_token(secret: &str) -> bool {
    secret.starts_with(PREFIX)
}

pub(crate) fn random_string(alphabet: &[u8], len: usize) -> String {
    (0..len).map(|_| char::from(alphabet[rand::random_range(0..alphabet.len())])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_hashed() {
        let (a, ha) = generate();
        let (b, _) = generate();
        assert!(looks_like_token(&a) && a.len() == PREFIX.len() + BODY_LEN);
        assert!(a[PREFIX.len()..].bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
        assert_eq!(ha, hash(&a));
        assert_eq!(ha.len(), 64);
        assert!(!looks_like_token("hunter2hunter2"));
        let (p, hp) = generate_pull_secret();
        assert!(looks_like_pull_secret(&p) && !looks_like_token(&p) && hp == hash(&p));
    }
}
