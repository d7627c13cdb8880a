//! Password hashing with argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane).
//!
//! Hashing costs tens of milliseconds of CPU on purpose, so it runs on the blocking
//! pool, never on an async worker.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;

use crate::AuthError;

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest accepted password, in bytes (bounds hashing work per request).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A password someone chose, known to keep the rule ([`check_rule`]); never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    /// The password.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its argon2id hash.
    pub async fn hash(&self) -> Result<String, AuthError> {
        hash(&self.0).await
    }
}

impl std::str::FromStr for NewPassword {
    type Err = String;

    fn from_str(s: &str) -> Result<NewPassword, String> {
        check_rule(s).map_err(|e| match e {
            AuthError::WeakPassword(rule) => rule,
            other => other.to_string(),
        })?;
        Ok(NewPassword(s.to_owned()))
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

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
    with_scratch(move |scratch| hash_with(&password, scratch)).await.map_err(AuthError::Internal)?
}

/// Hashes with argon2id's default parameters in `scratch` memory.
fn hash_with(password: &str, scratch: &mut Vec<argon2::Block>) -> Result<String, AuthError> {
    let internal = |e: &dyn std::fmt::Display| AuthError::Internal(format!("password hashing failed: {e}"));
    let argon2 = Argon2::default();
    let params = argon2.params().clone();
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| AuthError::Internal("no randomness for a salt".into()))?;
    let blocks = params.block_count();
    if scratch.len() < blocks {
        scratch.resize(blocks, argon2::Block::default());
    }
    let mut out = [0u8; 32];
    argon2
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, &mut scratch[..blocks])
        .map_err(|e| internal(&e))?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(argon2::Version::default().into()),
        params: argon2::password_hash::phc::ParamsString::try_from(&params).map_err(|e| internal(&e))?,
        salt: Some(argon2::password_hash::phc::Salt::new(&salt).map_err(|e| internal(&e))?),
        hash: Some(argon2::password_hash::phc::Output::new(&out).map_err(|e| internal(&e))?),
    };
    Ok(phc.to_string())
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
    with_scratch(move |scratch| verify_with(stored.as_deref(), &candidate, scratch)).await.unwrap_or(false)
}

/// Scratch memories kept between computations; more are made when more run at once
/// (the password gate bounds that), and the extra ones are freed afterwards.
static SCRATCH: std::sync::Mutex<Vec<Vec<argon2::Block>>> = std::sync::Mutex::new(Vec::new());

/// Runs `work` on the blocking pool with a scratch memory from [`SCRATCH`].
async fn with_scratch<T: Send + 'static>(
    work: impl FnOnce(&mut Vec<argon2::Block>) -> T + Send + 'static,
) -> Result<T, String> {
    let mut scratch = SCRATCH.lock().ok().and_then(|mut pool| pool.pop()).unwrap_or_default();
    let (result, scratch) = tokio::task::spawn_blocking(move || {
        let result = work(&mut scratch);
        (result, scratch)
    })
    .await
    .map_err(|e| e.to_string())?;
    let keep = std::thread::available_parallelism().map_or(2, |n| n.get());
    if let Ok(mut pool) = SCRATCH.lock()
        && pool.len() < keep
    {
        pool.push(scratch);
    }
    Ok(result)
}

/// Largest argon2 memory a stored hash may ask for when checked with scratch memory
/// (64 MiB; Wharf writes 19 MiB hashes).
const MAX_SCRATCH_BLOCKS: usize = 64 * 1024;

/// Verifies a password like [`verify`], on this thread, computing argon2id in
/// `scratch` (grown once to what the hash needs, then reused): the caller keeps one
/// scratch per concurrent check, so checks allocate nothing and password memory
/// stays `checks × 19 MiB`, instead of 19 MiB per call that the allocator may keep.
pub fn verify_with(stored: Option<&str>, candidate: &str, scratch: &mut Vec<argon2::Block>) -> bool {
    if candidate.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let phc = stored.unwrap_or_else(|| dummy_hash());
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let (Ok(algorithm), Some(Ok(version)), Ok(params)) = (
        argon2::Algorithm::new(hash.algorithm.as_str()),
        hash.version.map(argon2::Version::try_from),
        argon2::Params::try_from(&hash),
    ) else {
        return false;
    };
    let blocks = params.block_count();
    if blocks > MAX_SCRATCH_BLOCKS {
        return false;
    }
    if scratch.len() < blocks {
        scratch.resize(blocks, argon2::Block::default());
    }
    let mut out = vec![0u8; expected.as_bytes().len()];
    let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        candidate.as_bytes(),
        salt,
        &mut out,
        &mut scratch[..blocks],
    );
    let matches =
        computed.is_ok() && aws_lc_rs::constant_time::verify_slices_are_equal(&out, expected.as_bytes()).is_ok();
    matches && stored.is_some()
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_with(&uuid::Uuid::new_v4().to_string(), &mut Vec::new()).unwrap_or_default())
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
        // Hashes written by the argon2 crate's own hasher (earlier releases) verify,
        // and ours verify with the crate's own verifier: the same PHC format.
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let theirs = Argon2::default().hash_password(b"correct horse battery").unwrap().to_string();
        assert!(verify(Some(&theirs), "correct horse battery").await);
        assert!(!verify(Some(&theirs), "wrong horse battery").await);
        let parsed = PasswordHash::new(&h).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse battery", &parsed).is_ok());
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
