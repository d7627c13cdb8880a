//! Password checks, bounded. One argon2id verification costs about 19 MiB and 23 ms,
//! and real clients (docker, podman, skopeo) send the password with every token
//! request: unbounded, 300 concurrent wrong passwords took a server to 5.4 GiB. So:
//!
//! - at most `max_concurrent` verifications run at once (default: the number of
//!   cores); the rest wait in line up to `queue_timeout`, then get "busy" with a
//!   time to retry (HTTP 429 with `Retry-After`);
//! - a successful check is remembered for `remember` under an HMAC of the user name,
//!   the stored hash and the password, with a key that lives only in this process:
//!   a client asking for a token per repository pays argon2 once, the memory holds
//!   nothing a password can be recovered from, and changing the password (a new
//!   stored hash) forgets it;
//! - failed attempts are counted per user name and per client address over
//!   `failure_window`; past `max_failures_per_user` or `max_failures_per_address`
//!   the next attempts are refused before any work, until the window ends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{AuthError, password};

/// How password checks are bounded (`[auth]` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordLimits {
    /// Verifications running at once (0: the number of cores).
    pub max_concurrent: usize,
    /// How long a check may wait for a slot before the caller is told to retry.
    pub queue_timeout: Duration,
    /// How long a successful check is remembered (zero: never).
    pub remember: Duration,
    /// Failed attempts per user name in a window before attempts are refused.
    pub max_failures_per_user: u32,
    /// Failed attempts per client address in a window before attempts are refused.
    pub max_failures_per_address: u32,
    /// The window failed attempts are counted over.
    pub failure_window: Duration,
}

impl Default for PasswordLimits {
    fn default() -> Self {
        crate::AuthConfig::default().password_limits()
    }
}

/// Entries kept in each map before expired ones are dropped (and, if still full,
/// all of them): memory stays bounded whatever callers send.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Who {
    User(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// The bounds, shared by every request of the process.
#[derive(Debug)]
pub(crate) struct Gate {
    limits: PasswordLimits,
    slots: tokio::sync::Semaphore,
    slot_count: usize,
    waiting: std::sync::atomic::AtomicUsize,
    key: aws_lc_rs::hmac::Key,
    remembered: Mutex<HashMap<[u8; 32], Instant>>,
    failures: Mutex<HashMap<Who, Window>>,
}

impl Gate {
    pub(crate) fn new(limits: PasswordLimits) -> Gate {
        let slots = if limits.max_concurrent == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            limits.max_concurrent
        };
        let mut secret = [0u8; 32];
        // Without randomness the key is fixed; remembered checks are then only as
        // private as the process's memory, which holds the stored hashes anyway.
        let _ = aws_lc_rs::rand::fill(&mut secret);
        Gate {
            limits,
            slots: tokio::sync::Semaphore::new(slots),
            slot_count: slots,
            waiting: Default::default(),
            key: aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret),
            remembered: Mutex::default(),
            failures: Mutex::default(),
        }
    }

    /// Refuses at once (with the time left) when the user name or the address has
    /// failed too often in the current window.
    pub(crate) fn check_throttle(&self, user: &str, address: Option<IpAddr>) -> Result<(), AuthError> {
        let Ok(failures) = self.failures.lock() else { return Ok(()) };
        let over = |who: &Who, max: u32| {
            failures
                .get(who)
                .filter(|w| w.failures >= max && w.started.elapsed() < self.limits.failure_window)
                .map(|w| self.limits.failure_window.saturating_sub(w.started.elapsed()))
        };
        let wait = over(&Who::User(user.to_lowercase()), self.limits.max_failures_per_user)
            .or_else(|| address.and_then(|a| over(&Who::Address(a), self.limits.max_failures_per_address)));
        match wait {
            Some(wait) => {
                metrics::counter!("wharf_auth_password_throttled_total").increment(1);
                Err(AuthError::Throttled { retry_after: wait.max(Duration::from_secs(1)) })
            }
            None => Ok(()),
        }
    }

    /// Counts a failed attempt against the user name and the address.
    pub(crate) fn record_failure(&self, user: &str, address: Option<IpAddr>) {
        let Ok(mut failures) = self.failures.lock() else { return };
        if failures.len() >= MAX_ENTRIES {
            let window = self.limits.failure_window;
            failures.retain(|_, w| w.started.elapsed() < window);
            if failures.len() >= MAX_ENTRIES {
                failures.clear();
            }
        }
        let who = std::iter::once(Who::User(user.to_lowercase())).chain(address.map(Who::Address));
        for w in who {
            let entry = failures.entry(w).or_insert(Window { started: Instant::now(), failures: 0 });
            if entry.started.elapsed() >= self.limits.failure_window {
                *entry = Window { started: Instant::now(), failures: 0 };
            }
            entry.failures += 1;
        }
    }

    fn memo_key(&self, user: &str, stored: &str, candidate: &str) -> [u8; 32] {
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&self.key);
        for part in [user, stored, candidate] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part.as_bytes());
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// Verifies `candidate` for `user` against `stored` (`None`: unknown user or no
    /// password, checked against a throw-away hash all the same), remembered or in
    /// one of the bounded slots.
    pub(crate) async fn verify(&self, user: &str, stored: Option<&str>, candidate: &str) -> Result<bool, AuthError> {
        let memo = stored.map(|s| self.memo_key(user, s, candidate));
        if let Some(k) = &memo
            && let Ok(m) = self.remembered.lock()
            && m.get(k).is_some_and(|at| at.elapsed() < self.limits.remember)
        {
            metrics::counter!("wharf_auth_password_checks_total", "outcome" => "remembered").increment(1);
            return Ok(true);
        }
        self.waiting.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let slot = tokio::time::timeout(self.limits.queue_timeout, self.slots.acquire()).await;
        let waiting = self.waiting.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        let Ok(Ok(_slot)) = slot else {
            metrics::counter!("wharf_auth_password_checks_total", "outcome" => "busy").increment(1);
            // About the time the line ahead needs: 25 ms a check, in parallel slots.
            let wait = Duration::from_millis(waiting as u64 * 25 / self.slot_count as u64);
            return Err(AuthError::Busy { retry_after: wait.max(Duration::from_secs(1)) });
        };
        let ok = password::verify(stored, candidate).await;
        metrics::counter!("wharf_auth_password_checks_total", "outcome" => if ok { "valid" } else { "invalid" })
            .increment(1);
        if ok
            && !self.limits.remember.is_zero()
            && let Some(k) = memo
            && let Ok(mut m) = self.remembered.lock()
        {
            if m.len() >= MAX_ENTRIES {
                let keep = self.limits.remember;
                m.retain(|_, at| at.elapsed() < keep);
                if m.len() >= MAX_ENTRIES {
                    m.clear();
                }
            }
            m.insert(k, Instant::now());
        }
        Ok(ok)
    }
}
