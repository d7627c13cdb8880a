//! Identities in use: who is calling, and what they may do.
//!
//! - [`password`]: argon2id hashing and the password rule.
//! - [`api_token`]: API token secrets (shown once, stored as a SHA-256 hash).
//! - [`keys`]: the ES256 key ring that signs registry tokens, stored in the database
//!   so every node shares it, published as a JWK set.
//! - [`registry`]: Docker token authentication: scopes, granted access, claims, and
//!   the `WWW-Authenticate` challenge.
//! - [`Authenticator`]: checks credentials against the database and computes access;
//!   password checks are bounded ([`PasswordLimits`]: concurrency, a remembered
//!   success, throttled failures).
//!
//! Nothing here speaks HTTP: header values come in as strings.

pub mod api_token;
mod authenticator;
mod config;
mod error;
mod gate;
pub mod keys;
pub mod password;
mod principal;
pub mod registry;

pub use authenticator::{AuthSettings, Authenticator, IssuedToken};
pub use config::AuthConfig;
pub use error::{AuthError, TokenError};
pub use gate::PasswordLimits;
pub use principal::{Credential, Principal};
