//! Who is calling `/v2/…`, and may they do this to that repository.
//!
//! Credentials, in the order clients use them:
//! - `Authorization: Bearer <registry token>` from `/token` (every standard client);
//! - HTTP Basic with a password or an API token, or `Bearer wharf_pat_…`, checked
//!   directly (handy for curl and scripts);
//! - nothing: anonymous, which may only pull from repositories that allow it.
//!
//! A caller who may not pull a repository gets the same 401 challenge whether it
//! exists or not. One who may pull but not push or delete gets 403 DENIED; with a
//! registry token the 403 also carries the challenge for the scope needed, so clients
//! whose token merely lacked it (they asked for less) can ask `/token` again.

use axum::http::{HeaderMap, header};
use wharf_auth::registry::{RegistryClaims, RegistryScope};
use wharf_auth::{Principal, api_token};
use wharf_oci::{ErrorCode, RepositoryName};

use crate::RegistryState;
use crate::error::RegistryError;

/// A registry action on a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Pull,
    Push,
    Delete,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::Delete => "delete",
        }
    }

    /// The scope a client should ask for, as docker does (push implies pull).
    fn challenge_scope(self, name: &RepositoryName) -> String {
        match self {
            Action::Pull => format!("repository:{name}:pull"),
            Action::Push => format!("repository:{name}:pull,push"),
            Action::Delete => format!("repository:{name}:delete"),
        }
    }
}

enum Credential {
    Token(RegistryClaims),
    Principal(Box<Principal>),
    Anonymous,
}

/// The authenticated (or anonymous) caller of one request.
pub(crate) struct Caller {
    credential: Credential,
}

impl Caller {
    /// Identifies the caller from the request headers.
    pub(crate) async fn from_headers(
        state: &RegistryState,
        headers: &HeaderMap,
        client: Option<std::net::IpAddr>,
    ) -> Result<Caller, RegistryError> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Ok(Caller { credential: Credential::Anonymous });
        };
        let value = value.to_str().unwrap_or_default().trim();
        let bearer = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).map(str::trim);
        if let Some(token) = bearer.filter(|t| !api_token::looks_like_token(t)) {
            return match state.auth.verify_registry_token(token) {
                Ok(claims) => Ok(Caller { credential: Credential::Token(claims) }),
                Err(e) => Err(unauthorized(state, None, Some("invalid_token"), &e.to_string())),
            };
        }
        match state.auth.authenticate_header(Some(value), client).await {
            Ok(Some(p)) => Ok(Caller { credential: Credential::Principal(Box::new(p)) }),
            Ok(None) => Ok(Caller { credential: Credential::Anonymous }),
            Err(e) => Err(RegistryError::from_auth(&e)
                .unwrap_or_else(|| unauthorized(state, None, Some("invalid_token"), &e.to_string()))),
        }
    }

    /// The user name (empty for anonymous callers), to bind upload sessions to.
    pub(crate) fn subject(&self) -> &str {
        match &self.credential {
            Credential::Token(c) => &c.sub,
            Credential::Principal(p) => p.user_name.as_str(),
            Credential::Anonymous => "",
        }
    }

    /// Whether the credential grants `action` on `resource_type:name`.
    pub(crate) async fn grants(
        &self,
        state: &RegistryState,
        resource_type: &str,
        name: &str,
        action: &str,
    ) -> Result<bool, RegistryError> {
        match &self.credential {
            Credential::Token(claims) => Ok(claims.allows(resource_type, name, action)),
            Credential::Principal(p) => {
                let scope = RegistryScope {
                    resource_type: resource_type.into(),
                    name: name.into(),
                    actions: vec![action.into()],
                };
                let granted = state.auth.registry_access(Some(p), &[scope]).await.map_err(|e| {
                    let unavailable = e.is_unavailable();
                    RegistryError::internal(e, unavailable)
                })?;
                Ok(granted.iter().any(|a| a.actions.iter().any(|x| x == action)))
            }
            Credential::Anonymous => Ok(false),
        }
    }

    fn is_anonymous(&self) -> bool {
        matches!(self.credential, Credential::Anonymous)
    }

    /// Checks `action` on repository `name`; `anonymous_pull` says whether the
    /// repository (if it exists) lets anyone pull.
    pub(crate) async fn require(
        &self,
        state: &RegistryState,
        name: &RepositoryName,
        action: Action,
        anonymous_pull: bool,
        also: Option<&str>,
    ) -> Result<(), RegistryError> {
        if state.settings.open_namespaces.iter().any(|ns| ns == name.namespace()) {
            return Ok(());
        }
        if self.grants(state, "repository", name.as_str(), action.as_str()).await? {
            return Ok(());
        }
        let may_pull = anonymous_pull || self.grants(state, "repository", name.as_str(), "pull").await?;
        if action == Action::Pull && may_pull {
            return Ok(());
        }
        let scope = match also {
            Some(extra) => format!("{} {extra}", action.challenge_scope(name)),
            None => action.challenge_scope(name),
        };
        // A registry token that lacks the action gets 401 with the challenge for the
        // scope needed (error="insufficient_scope"), as Docker token authentication and
        // Distribution answer: clients renew their token on 401 (Docker, containerd,
        // skopeo, crane), and the token service still grants only what the role allows.
        // The same token refused the same again gets 403 DENIED with the challenge:
        // retrying it cannot succeed, and some clients (the oras Python SDK) retry once
        // with the same token and renew it only on 403.
        if let Credential::Token(claims) = &self.credential {
            let detail = format!("your token does not include {} on {name}", action.as_str());
            if state.refused_before(&claims.jti, action.as_str(), name.as_str()) {
                return Err(RegistryError::new(ErrorCode::Denied, detail).header(
                    header::WWW_AUTHENTICATE,
                    &state.auth.challenge(Some(&scope), Some("insufficient_scope")),
                ));
            }
            return Err(unauthorized(state, Some(&scope), Some("insufficient_scope"), &detail));
        }
        // Credentials that cannot be renewed (Basic) and can see the repository get the
        // verdict, 403 DENIED.
        if may_pull && !self.is_anonymous() {
            return Err(RegistryError::new(
                ErrorCode::Denied,
                format!("your access does not include {} on {name}", action.as_str()),
            ));
        }
        let error = if self.is_anonymous() { None } else { Some("insufficient_scope") };
        Err(unauthorized(state, Some(&scope), error, "authentication required"))
    }
}

/// 401 with the Bearer challenge that starts the token flow.
pub(crate) fn unauthorized(
    state: &RegistryState,
    scope: Option<&str>,
    error: Option<&str>,
    detail: &str,
) -> RegistryError {
    let challenge = state.auth.challenge(scope, error);
    RegistryError::new(ErrorCode::Unauthorized, detail).header(header::WWW_AUTHENTICATE, &challenge)
}
