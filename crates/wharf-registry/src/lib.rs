//! The registry's HTTP surface. Only this crate speaks the OCI HTTP protocol.
//!
//! - `GET /token`: the Docker token service. Credentials by HTTP Basic (user name
//!   with a password or an API token), a Bearer API token, or none (anonymous).
//!   Answers `{"token","access_token","expires_in","issued_at"}`.
//! - `GET /.well-known/jwks.json`: the public keys that verify issued tokens.
//! - `GET /v2/`: the API version check. Without a valid registry token it answers 401
//!   with the `WWW-Authenticate: Bearer realm=…,service=…` challenge that starts
//!   every client's token flow.
//!
//! Errors use the Distribution Specification's JSON error format.

mod response;
mod token;
mod v2;

use axum::Router;
use axum::routing::get;
use wharf_auth::Authenticator;

/// What the registry handlers need.
#[derive(Debug, Clone)]
pub struct RegistryState {
    /// Credentials, access and token signing.
    pub auth: Authenticator,
}

/// The registry's routes.
pub fn router(state: RegistryState) -> Router {
    Router::new()
        .route("/token", get(token::issue))
        .route("/.well-known/jwks.json", get(token::jwks))
        .route("/v2/", get(v2::base))
        .with_state(state)
}
