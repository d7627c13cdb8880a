//! Outbound webhooks, safe to point anywhere a publisher types.
//!
//! - [`destination`]: which URLs and addresses a webhook may reach. A URL is checked when
//!   it is saved (syntax, and an address written in it) and again at delivery, on every
//!   address its host resolves to: loopback, private, link-local, unique-local,
//!   shared (CGNAT), multicast, unspecified, documentation and cloud metadata addresses
//!   are refused, in every spelling (`0x7f000001`, `[::ffff:127.0.0.1]`, NAT64, …),
//!   unless the operator allows a range.
//! - [`signature`]: the Standard Webhooks scheme: `webhook-id`, `webhook-timestamp` and
//!   `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with a
//!   `whsec_` secret.
//! - [`deliver`]: one delivery: the request goes to the address that was checked (no
//!   second lookup an attacker's DNS could answer differently), with a timeout, and a
//!   redirect is an answer, never followed.

pub mod deliver;
pub mod destination;
pub mod signature;

pub use deliver::{Connection, Delivered, DeliveryError, deliver};
pub use destination::{Destination, DestinationError, DestinationPolicy, Resolver, SystemResolver};
pub use signature::{Secret, SignatureError};
