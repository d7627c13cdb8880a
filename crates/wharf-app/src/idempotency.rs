//! Requests sent with an `Idempotency-Key` (go-live): the same key from the same
//! caller gets the first answer again, and nothing happens twice; the same key with
//! another request is refused (422). Answers are kept for a day (garbage collection
//! forgets older ones).

use wharf_db::publishing::Remembered;

use crate::{Actor, App, AppError};

/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// How long answers are kept.
pub const KEEP_FOR: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// An answer given before under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// The HTTP status.
    pub status: u16,
    /// The body (JSON).
    pub body: String,
}

/// Checks a key: 1 to 255 visible ASCII characters.
pub fn check_key(key: &str) -> Result<(), AppError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::BadRequest(format!(
            "Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters (a UUID is a good choice)"
        )));
    }
    Ok(())
}

impl App {
    /// The answer kept for the actor's `key`, when `request` (a fingerprint of the
    /// method, path and body) is the one it answered; a different request is refused.
    pub async fn recall(&self, actor: &Actor, key: &str, request: &str) -> Result<Option<Replay>, AppError> {
        check_key(key)?;
        let Some(kept) = self.db.remembered(&actor.name(), key).await? else { return Ok(None) };
        if kept.request != request {
            return Err(AppError::field(
                "",
                format!(
                    "Idempotency-Key {key:?} was already used for a different request; use a new key for a new request"
                ),
            ));
        }
        Ok(Some(Replay { status: kept.status, body: kept.response }))
    }

    /// Keeps the answer to the actor's `request` under `key`; when a concurrent
    /// retry's answer was kept first, that one is returned.
    pub async fn remember(&self, actor: &Actor, key: &str, request: &str, answer: Replay) -> Result<Replay, AppError> {
        let kept = Remembered { request: request.to_owned(), status: answer.status, response: answer.body };
        let kept = self.db.remember(&actor.name(), key, &kept).await?;
        Ok(Replay { status: kept.status, body: kept.response })
    }
}
