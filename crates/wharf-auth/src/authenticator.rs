//! Checking credentials and computing access.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use wharf_core::{MARKETPLACE_NAMESPACE, OrgAction, OrgName, Role, Timestamp, TokenScope, TokenScopes, UserName};
use wharf_db::Db;
use wharf_db::tokens::{ApiToken, NewToken};
use wharf_db::users::User;
use wharf_oci::RepositoryName;

use crate::keys::KeyRing;
use crate::registry::{Access, RegistryClaims, RegistryScope, bearer_challenge};
use crate::{AuthError, Credential, Principal, TokenError, api_token};

/// Settings of the token service.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// `iss` of issued tokens.
    pub issuer: String,
    /// The registry's service name: `aud` of issued tokens and the `service` of challenges.
    pub service: String,
    /// Lifetime of registry tokens.
    pub token_ttl: Duration,
    /// Absolute URL of the token endpoint, the challenge's `realm`.
    pub realm: String,
    /// How password checks are bounded.
    pub passwords: crate::PasswordLimits,
}

/// A signed registry token, as returned by `GET /token`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssuedToken {
    /// The JWT.
    pub token: String,
    /// The same JWT, under the OAuth 2 name some clients read.
    pub access_token: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
    /// Issue time, RFC 3339.
    pub issued_at: String,
    /// What was granted (not part of the wire format; for logs and tests).
    #[serde(skip)]
    pub access: Vec<Access>,
}

/// Checks credentials against the database and computes what principals may do.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Db,
    keys: KeyRing,
    settings: AuthSettings,
    gate: crate::gate::Gate,
    /// Tokens already verified, until they expire: clients send one token with many
    /// requests, and an ES256 verification costs far more than the request itself.
    verified: std::sync::Mutex<std::collections::HashMap<String, RegistryClaims>>,
}

/// The longest life of a registry token that may pull from the marketplace: with
/// the 30 s of clock skew verification allows ([`crate::keys::KeyRing::verify`]), a
/// cancelled subscription stops pulling within five minutes.
pub const ENTITLED_TOKEN_TTL: Duration = Duration::from_secs(270);

/// Verified tokens remembered; beyond it the memory is cleared.
const MAX_VERIFIED_TOKENS: usize = 10_000;

impl Authenticator {
    /// Loads (or creates) the signing keys.
    pub async fn new(db: Db, settings: AuthSettings) -> Result<Authenticator, AuthError> {
        let keys = KeyRing::load_or_create(&db).await?;
        let gate = crate::gate::Gate::new(settings.passwords.clone());
        Ok(Authenticator { inner: Arc::new(Inner { db, keys, settings, gate, verified: Default::default() }) })
    }

    /// The settings.
    pub fn settings(&self) -> &AuthSettings {
        &self.inner.settings
    }

    /// The key ring.
    pub fn keys(&self) -> &KeyRing {
        &self.inner.keys
    }

    /// Authenticates an `Authorization` header value: `Basic` (user + password or
    /// API token) or `Bearer` (an API token). `None` when there is no header.
    /// `client` is the caller's address, for throttling failed passwords.
    pub async fn authenticate_header(
        &self,
        header: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<Option<Principal>, AuthError> {
        let Some(header) = header else {
            return Ok(None);
        };
        let (scheme, rest) =
            header.trim().split_once(' ').ok_or(AuthError::MalformedHeader("expected SCHEME CREDENTIALS"))?;
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded =
                STANDARD.decode(rest).map_err(|_| AuthError::MalformedHeader("Basic credentials are not base64"))?;
            let decoded = String::from_utf8(decoded)
                .map_err(|_| AuthError::MalformedHeader("Basic credentials are not UTF-8"))?;
            let (user, secret) =
                decoded.split_once(':').ok_or(AuthError::MalformedHeader("Basic credentials lack ':'"))?;
            self.login(user, secret, client).await.map(Some)
        } else if scheme.eq_ignore_ascii_case("bearer") {
            if !api_token::looks_like_token(rest) {
                return Err(AuthError::InvalidCredentials);
            }
            self.by_token(None, rest).await.map(Some)
        } else {
            Err(AuthError::MalformedHeader("unsupported scheme; use Basic or Bearer"))
        }
    }

    /// Authenticates a user name with a password or an API token. Password checks
    /// are bounded (see [`crate::PasswordLimits`]); `client` is the caller's address.
    pub async fn login(&self, user: &str, secret: &str, client: Option<IpAddr>) -> Result<Principal, AuthError> {
        if api_token::looks_like_token(secret) {
            return self.by_token(Some(user), secret).await;
        }
        if api_token::looks_like_pull_secret(secret) {
            return self.by_pull_secret(user, secret).await;
        }
        let gate = &self.inner.gate;
        gate.check_throttle(user, client)?;
        let name: Option<UserName> = user.parse().ok();
        let found = match &name {
            Some(n) => self.inner.db.user_by_name(n).await?,
            None => None,
        };
        // Verify even for unknown users, against a dummy hash, so timing does not
        // reveal which names exist.
        let ok = gate.verify(user, found.as_ref().and_then(|u| u.password_hash.as_deref()), secret).await?;
        if !ok {
            gate.record_failure(user, client);
        }
        let user = found.filter(|_| ok).ok_or(AuthError::InvalidCredentials)?;
        if user.disabled_at.is_some() {
            return Err(AuthError::AccountDisabled);
        }
        self.principal(user, Credential::Password, TokenScopes::all()).await
    }

    async fn by_token(&self, user: Option<&str>, secret: &str) -> Result<Principal, AuthError> {
        let token =
            self.inner.db.token_by_secret_hash(&api_token::hash(secret)).await?.ok_or(AuthError::InvalidCredentials)?;
        let owner = self.inner.db.user_by_id(token.user_id).await?.ok_or(AuthError::InvalidCredentials)?;
        // With Basic auth the user name must be the token's owner.
        if user.is_some_and(|u| u != owner.name.as_str()) {
            return Err(AuthError::InvalidCredentials);
        }
        let now = Timestamp::now();
        if token.revoked_at.is_some() {
            return Err(AuthError::TokenRevoked);
        }
        if token.expires_at.is_some_and(|e| now >= e) {
            return Err(AuthError::TokenExpired);
        }
        if owner.disabled_at.is_some() {
            return Err(AuthError::AccountDisabled);
        }
        self.inner.db.touch_token(token.id, now).await?;
        self.principal(owner, Credential::ApiToken(token.id), token.scopes).await
    }

    /// A pull secret: only while neither it nor its subscription is revoked or
    /// cancelled, with the user name it was issued for. It carries `registry:pull`
    /// only and no operator role, whoever issued it.
    async fn by_pull_secret(&self, user: &str, secret: &str) -> Result<Principal, AuthError> {
        let (row, _org) =
            self.inner.db.active_pull_secret(&api_token::hash(secret)).await?.ok_or(AuthError::InvalidCredentials)?;
        if user != api_token::pull_secret_user(row.id) {
            return Err(AuthError::InvalidCredentials);
        }
        let name: UserName = row.created_by.parse().map_err(|_| AuthError::InvalidCredentials)?;
        let issuer = self.inner.db.user_by_name(&name).await?.ok_or(AuthError::InvalidCredentials)?;
        Ok(Principal {
            user_id: issuer.id,
            user_name: issuer.name,
            credential: Credential::PullSecret(row.subscription),
            scopes: TokenScopes::new([TokenScope::RegistryPull]).map_err(|e| AuthError::Internal(e.to_string()))?,
            operator_role: None,
        })
    }

    async fn principal(&self, user: User, credential: Credential, scopes: TokenScopes) -> Result<Principal, AuthError> {
        let operator_role = self.inner.db.operator_roles(user.id).await?.into_iter().max();
        Ok(Principal { user_id: user.id, user_name: user.name, credential, scopes, operator_role })
    }

    /// Creates an API token for a user; returns it with its secret, which is never
    /// stored and cannot be shown again.
    pub async fn create_api_token(
        &self,
        user: &User,
        name: &str,
        scopes: &TokenScopes,
        expires_at: Option<Timestamp>,
    ) -> Result<(ApiToken, String), AuthError> {
        let (secret, secret_hash) = api_token::generate();
        let token = self
            .inner
            .db
            .create_token(NewToken { user_id: user.id, name, secret_hash: &secret_hash, scopes, expires_at })
            .await?;
        Ok((token, secret))
    }

    /// What `principal` (or an anonymous caller) may do of what it asked.
    pub async fn registry_access(
        &self,
        principal: Option<&Principal>,
        requested: &[RegistryScope],
    ) -> Result<Vec<Access>, AuthError> {
        let mut granted: Vec<Access> = Vec::new();
        for scope in requested {
            let actions = self.granted_actions(principal, scope).await?;
            if actions.is_empty() {
                continue;
            }
            match granted.iter_mut().find(|a| a.resource_type == scope.resource_type && a.name == scope.name) {
                Some(existing) => {
                    for a in actions {
                        if !existing.actions.contains(&a) {
                            existing.actions.push(a);
                        }
                    }
                }
                None => granted.push(Access {
                    resource_type: scope.resource_type.clone(),
                    name: scope.name.clone(),
                    actions,
                }),
            }
        }
        Ok(granted)
    }

    async fn granted_actions(
        &self,
        principal: Option<&Principal>,
        scope: &RegistryScope,
    ) -> Result<Vec<String>, AuthError> {
        // Anonymous callers are granted nothing until repositories can be made public.
        let Some(p) = principal else {
            return Ok(Vec::new());
        };
        // A pull secret opens its subscription's repositories and nothing else.
        if let Credential::PullSecret(subscription) = p.credential {
            let wants_pull = scope.actions.iter().any(|a| a == "pull" || a == "*");
            let ok = scope.resource_type == "repository"
                && wants_pull
                && scope.name.starts_with(&format!("{MARKETPLACE_NAMESPACE}/"))
                && self.inner.db.subscription_delivers(subscription, &scope.name).await?;
            return Ok(if ok { vec!["pull".to_owned()] } else { Vec::new() });
        }
        match scope.resource_type.as_str() {
            "registry" if scope.name == "catalog" => {
                let ok = p.may_platform(wharf_core::PlatformAction::ReadAll) && p.has_scope(TokenScope::RegistryPull);
                Ok(if ok && scope.actions.iter().any(|a| a == "*") { vec!["*".into()] } else { Vec::new() })
            }
            "repository" => {
                let Ok(repo) = scope.name.parse::<RepositoryName>() else {
                    return Ok(Vec::new());
                };
                if repo.namespace() == MARKETPLACE_NAMESPACE {
                    return self.marketplace_actions(p, &repo, scope).await;
                }
                let Ok(org_name) = repo.namespace().parse::<OrgName>() else {
                    return Ok(Vec::new());
                };
                let Some(org) = self.inner.db.org_by_name(&org_name).await? else {
                    return Ok(Vec::new());
                };
                let role: Option<Role> = self.inner.db.role_in_org(org.id, p.user_id).await?;
                let mut wanted: Vec<&str> = Vec::new();
                for a in &scope.actions {
                    let expanded = if a == "*" { vec!["pull", "push", "delete"] } else { vec![a.as_str()] };
                    for x in expanded {
                        if !wanted.contains(&x) {
                            wanted.push(x);
                        }
                    }
                }
                Ok(wanted
                    .into_iter()
                    .filter(|action| {
                        let (org_action, token_scope) = match *action {
                            "pull" => (OrgAction::Pull, TokenScope::RegistryPull),
                            "push" => (OrgAction::Push, TokenScope::RegistryPush),
                            "delete" => (OrgAction::DeleteArtifacts, TokenScope::RegistryDelete),
                            _ => return false,
                        };
                        p.has_scope(token_scope) && p.may_in_org(org.kind, role, org_action)
                    })
                    .map(str::to_owned)
                    .collect())
            }
            _ => Ok(Vec::new()),
        }
    }

    /// The marketplace namespace is written only by the publishing pipeline: nobody
    /// pushes or deletes there. Pull goes to the owning publisher's members, to
    /// operators, while a version is in preview to its preview audience, and to the
    /// members of customer organizations with an active subscription to a plan that
    /// delivers from the repository (its entitlement; stop-selling keeps it).
    async fn marketplace_actions(
        &self,
        p: &Principal,
        repo: &RepositoryName,
        scope: &RegistryScope,
    ) -> Result<Vec<String>, AuthError> {
        let wants_pull = scope.actions.iter().any(|a| a == "pull" || a == "*");
        if !wants_pull || !p.has_scope(TokenScope::RegistryPull) {
            return Ok(Vec::new());
        }
        let Some(mp) = self.inner.db.marketplace_repository(repo.as_str(), p.user_id).await? else {
            return Ok(Vec::new());
        };
        let role = self.inner.db.role_in_org(mp.publisher, p.user_id).await?;
        let ok = mp.previewer
            || p.may_platform(wharf_core::PlatformAction::ReadAll)
            || (role.is_some() && p.may_in_org(mp.kind, role, OrgAction::Pull))
            || self.inner.db.entitled_to_repository(repo.as_str(), p.user_id).await?;
        Ok(if ok { vec!["pull".to_owned()] } else { Vec::new() })
    }

    /// Issues a registry token for `service` granting what `principal` may do of
    /// `requested`. A service name other than ours is refused.
    pub async fn issue_registry_token(
        &self,
        principal: Option<&Principal>,
        service: &str,
        requested: &[RegistryScope],
    ) -> Result<IssuedToken, AuthError> {
        let settings = &self.inner.settings;
        if service != settings.service {
            return Err(AuthError::MalformedHeader("unknown service"));
        }
        let access = self.registry_access(principal, requested).await?;
        let now = Timestamp::now();
        // Entitlements end with their subscription: a token that may pull from the
        // marketplace lives at most ENTITLED_TOKEN_TTL, whatever `auth.token_ttl` says.
        let marketplace = format!("{MARKETPLACE_NAMESPACE}/");
        let ttl = if access.iter().any(|a| a.name.starts_with(&marketplace)) {
            settings.token_ttl.min(ENTITLED_TOKEN_TTL)
        } else {
            settings.token_ttl
        };
        let claims = RegistryClaims {
            iss: settings.issuer.clone(),
            sub: principal.map(|p| p.user_name.to_string()).unwrap_or_default(),
            aud: settings.service.clone(),
            exp: now.plus(ttl).as_secs(),
            nbf: now.as_secs(),
            iat: now.as_secs(),
            jti: uuid::Uuid::new_v4().to_string(),
            access: access.clone(),
        };
        let token = self.inner.keys.sign(&claims)?;
        Ok(IssuedToken {
            access_token: token.clone(),
            token,
            expires_in: ttl.as_secs(),
            issued_at: now.to_string(),
            access,
        })
    }

    /// Verifies a registry token issued by this service.
    pub fn verify_registry_token(&self, token: &str) -> Result<RegistryClaims, TokenError> {
        if let Some(claims) = self.inner.verified.lock().ok().and_then(|m| m.get(token).cloned()) {
            // Same bytes as a token whose signature verified: only time can change the answer.
            if claims.exp > Timestamp::now().as_secs() {
                return Ok(claims);
            }
            return Err(TokenError::Expired);
        }
        let s = &self.inner.settings;
        let claims: RegistryClaims = self.inner.keys.verify(token, &s.service, &s.issuer)?;
        if let Ok(mut m) = self.inner.verified.lock() {
            if m.len() >= MAX_VERIFIED_TOKENS {
                m.clear();
            }
            m.insert(token.to_owned(), claims.clone());
        }
        Ok(claims)
    }

    /// The `WWW-Authenticate` value for a refused registry request.
    pub fn challenge(&self, scope: Option<&str>, error: Option<&str>) -> String {
        let s = &self.inner.settings;
        bearer_challenge(&s.realm, &s.service, scope, error)
    }
}
