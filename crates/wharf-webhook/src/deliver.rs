//! One delivery of a signed message to a checked destination.

use std::time::{Duration, Instant};

use crate::destination::{Destination, DestinationError, DestinationPolicy, Resolver};
use crate::signature::Secret;

/// What the endpoint answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The HTTP status (a redirect is an answer: it is not followed).
    pub status: u16,
    /// How long the request took.
    pub duration: Duration,
}

impl Delivered {
    /// Whether the endpoint took the message (2xx).
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a delivery did not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The destination may not be reached (checked again on the resolved addresses).
    #[error(transparent)]
    Destination(#[from] DestinationError),
    /// The connection or the request failed.
    #[error("the request to {url} failed: {reason}")]
    Failed {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
}

/// How deliveries connect: how long one may take, and the certificate authorities
/// trusted for `https` besides the system's (an operator's private CA).
#[derive(Debug, Clone)]
pub struct Connection {
    /// Bounds connecting and the whole request.
    pub timeout: Duration,
    /// Extra trusted roots.
    pub roots: Vec<reqwest::Certificate>,
}

impl Default for Connection {
    /// Ten seconds, the system's roots.
    fn default() -> Connection {
        Connection::new(Duration::from_secs(10))
    }
}

impl Connection {
    /// With `timeout` and the system's roots only.
    pub fn new(timeout: Duration) -> Connection {
        Connection { timeout, roots: Vec::new() }
    }
}

/// Delivers `body` (JSON) to `destination` as message `id`, signed with `secret`: the
/// host is resolved once and every address checked against `policy`; the connection
/// goes only to those addresses; a redirect is not followed.
pub async fn deliver(
    policy: &DestinationPolicy,
    resolver: &impl Resolver,
    destination: &Destination,
    secret: &Secret,
    id: &str,
    body: &[u8],
    connection: &Connection,
) -> Result<Delivered, DeliveryError> {
    let timeout = connection.timeout;
    let addresses = policy.resolve(destination, resolver).await?;
    let url = destination.url().to_string();
    let failed = |e: reqwest::Error| DeliveryError::Failed { url: url.clone(), reason: e.to_string() };
    let mut builder = reqwest::Client::builder();
    for root in &connection.roots {
        builder = builder.add_root_certificate(root.clone());
    }
    let client = builder
        .redirect(reqwest::redirect::Policy::none())
        .resolve_to_addrs(destination.host(), &addresses)
        .no_proxy()
        .connect_timeout(timeout)
        .timeout(timeout)
        .user_agent(concat!("wharf-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(failed)?;
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let started = Instant::now();
    let response = client
        .post(destination.url().clone())
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", secret.sign(id, timestamp, body))
        .body(body.to_vec())
        .send()
        .await
        .map_err(failed)?;
    Ok(Delivered { status: response.status().as_u16(), duration: started.elapsed() })
}
