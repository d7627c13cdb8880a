//! Authentication and registry-token behaviour against a real database
//! (SQLite, or PostgreSQL with `WHARF_TEST_DB=postgres`).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use wharf_auth::keys::{KeyRing, generate_key};
use wharf_auth::registry::{RegistryClaims, RegistryScope};
use wharf_auth::{AuthError, AuthSettings, Authenticator, TokenError, password};
use wharf_core::{OrgKind, Role, Timestamp, TokenScopes};
use wharf_db::testing::{TestDb, backend_from_env, fresh};
use wharf_db::users::{NewUser, User};

const PASSWORD: &str = "correct horse battery staple";

struct Fixture {
    t: TestDb,
    auth: Authenticator,
}

async fn fixture() -> Fixture {
    let t = fresh(backend_from_env()).await;
    let auth = Authenticator::new(t.db.clone(), settings()).await.unwrap();
    Fixture { t, auth }
}

fn settings() -> AuthSettings {
    AuthSettings {
        issuer: "wharf-test".into(),
        service: "wharf-registry".into(),
        token_ttl: Duration::from_secs(300),
        realm: "http://127.0.0.1:5000/token".into(),
        passwords: wharf_auth::PasswordLimits::default(),
    }
}

impl Fixture {
    async fn user(&self, name: &str) -> User {
        let hash = password::hash(PASSWORD).await.unwrap();
        self.t
            .db
            .create_user(NewUser { name: &name.parse().unwrap(), email: None, password_hash: Some(&hash) })
            .await
            .unwrap()
    }

    async fn org(&self, name: &str, kind: OrgKind, owner: &User) -> wharf_db::orgs::Org {
        self.t.db.create_org(&name.parse().unwrap(), kind, None, Some(owner.id)).await.unwrap()
    }

    async fn access(&self, user: Option<&str>, secret: &str, scopes: &[&str]) -> Vec<(String, Vec<String>)> {
        let principal = match user {
            Some(u) => Some(self.auth.login(u, secret, None).await.unwrap()),
            None => None,
        };
        let requested: Vec<RegistryScope> = scopes.iter().map(|s| s.parse().unwrap()).collect();
        let issued = self.auth.issue_registry_token(principal.as_ref(), "wharf-registry", &requested).await.unwrap();
        let claims = self.auth.verify_registry_token(&issued.token).unwrap();
        assert_eq!(claims.access, issued.access);
        claims.access.into_iter().map(|a| (format!("{}:{}", a.resource_type, a.name), a.actions)).collect()
    }
}

fn basic(user: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{secret}")))
}

#[tokio::test]
async fn passwords() {
    let f = fixture().await;
    let alice = f.user("alice").await;
    let p = f.auth.login("alice", PASSWORD, None).await.unwrap();
    assert_eq!(p.user_id, alice.id);
    assert_eq!(p.scopes, TokenScopes::all());
    for (user, secret) in [("alice", "wrong password!"), ("nobody", PASSWORD), ("Not A Name", PASSWORD), ("alice", "")]
    {
        let err = f.auth.login(user, secret, None).await.unwrap_err();
        assert!(matches!(err, AuthError::InvalidCredentials), "{user}: {err:?}");
        assert_eq!(err.to_string(), "invalid username, password or token");
    }
    f.t.db.set_user_disabled(alice.id, true).await.unwrap();
    assert!(matches!(f.auth.login("alice", PASSWORD, None).await, Err(AuthError::AccountDisabled)));
    // Headers.
    let via_header = f.auth.authenticate_header(Some(&basic("bob", PASSWORD)), None).await;
    assert!(matches!(via_header, Err(AuthError::InvalidCredentials)));
    assert!(f.auth.authenticate_header(None, None).await.unwrap().is_none());
    for bad in ["Basic !!!", "Basic", "Digest abc", &format!("Basic {}", STANDARD.encode("no-colon"))] {
        assert!(
            matches!(f.auth.authenticate_header(Some(bad), None).await, Err(AuthError::MalformedHeader(_))),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn api_tokens_expire_and_revoke() {
    let f = fixture().await;
    let alice = f.user("alice").await;
    f.user("bob").await;
    let scopes: TokenScopes = "registry:pull api:read".parse().unwrap();
    let (token, secret) = f.auth.create_api_token(&alice, "ci", &scopes, None).await.unwrap();

    for header in [basic("alice", &secret), format!("Bearer {secret}")] {
        let p = f.auth.authenticate_header(Some(&header), None).await.unwrap().unwrap();
        assert_eq!((p.user_id, p.scopes.clone()), (alice.id, scopes.clone()));
    }
    // Someone else's name with alice's token, or a forged token, is refused.
    assert!(matches!(f.auth.login("bob", &secret, None).await, Err(AuthError::InvalidCredentials)));
    let forged = format!("wharf_pat_{}", "A".repeat(40));
    assert!(matches!(f.auth.login("alice", &forged, None).await, Err(AuthError::InvalidCredentials)));
    assert!(matches!(
        f.auth.authenticate_header(Some("Bearer not-a-token"), None).await,
        Err(AuthError::InvalidCredentials)
    ));

    f.t.db.revoke_token(alice.id, token.id).await.unwrap();
    assert!(matches!(f.auth.login("alice", &secret, None).await, Err(AuthError::TokenRevoked)));

    let past = Some(Timestamp::now().plus(Duration::from_millis(1)));
    let (_, expiring) = f.auth.create_api_token(&alice, "short", &scopes, past).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(matches!(f.auth.login("alice", &expiring, None).await, Err(AuthError::TokenExpired)));
}

#[tokio::test]
async fn granted_access_is_the_intersection_of_request_and_roles() {
    let f = fixture().await;
    let owner = f.user("owner").await;
    let dev = f.user("dev").await;
    let viewer = f.user("viewer").await;
    f.user("outsider").await;
    let op = f.user("op").await;
    let acme = f.org("acme", OrgKind::Publisher, &owner).await;
    f.org("globex", OrgKind::Publisher, &owner).await;
    let tenant = f.org("tenant", OrgKind::Customer, &owner).await;
    f.org("ops", OrgKind::Operator, &op).await;
    f.t.db.set_membership(acme.id, dev.id, Role::Developer).await.unwrap();
    f.t.db.set_membership(acme.id, viewer.id, Role::Viewer).await.unwrap();
    f.t.db.set_membership(tenant.id, dev.id, Role::Admin).await.unwrap();

    let all = "repository:acme/app:pull,push,delete";
    let entry = |name: &str, actions: &[&str]| (name.to_owned(), actions.iter().map(|a| a.to_string()).collect());
    assert_eq!(
        f.access(Some("owner"), PASSWORD, &[all]).await,
        [entry("repository:acme/app", &["pull", "push", "delete"])]
    );
    assert_eq!(f.access(Some("dev"), PASSWORD, &[all]).await, [entry("repository:acme/app", &["pull", "push"])]);
    assert_eq!(f.access(Some("viewer"), PASSWORD, &[all]).await, [entry("repository:acme/app", &["pull"])]);
    assert_eq!(f.access(Some("outsider"), PASSWORD, &[all]).await, []);
    // Another organization's repository: nothing, whatever was asked.
    assert_eq!(f.access(Some("dev"), PASSWORD, &["repository:globex/app:pull,push"]).await, []);
    // Customer organizations own no repositories, even for their admins.
    assert_eq!(
        f.access(Some("dev"), PASSWORD, &["repository:tenant/app:pull,push"]).await,
        [entry("repository:tenant/app", &["pull"])]
    );
    // Unknown organizations, invalid names, unknown actions and types: nothing.
    let junk = [
        "repository:nope/app:pull",
        "repository:ACME/app:pull",
        "repository:acme/app:frobnicate",
        "blob:acme/app:pull",
    ];
    assert_eq!(f.access(Some("owner"), PASSWORD, &junk).await, []);
    // Anonymous callers get nothing.
    assert_eq!(f.access(None, "", &[all]).await, []);
    // `*` expands to what the role allows; repeated scopes merge.
    assert_eq!(
        f.access(Some("dev"), PASSWORD, &["repository:acme/app:*", "repository:acme/app:pull"]).await,
        [entry("repository:acme/app", &["pull", "push"])]
    );
    // Operators with a password act as owners everywhere and may list the catalog.
    assert_eq!(
        f.access(Some("op"), PASSWORD, &[all, "registry:catalog:*"]).await,
        [entry("repository:acme/app", &["pull", "push", "delete"]), entry("registry:catalog", &["*"])]
    );
    assert_eq!(f.access(Some("dev"), PASSWORD, &["registry:catalog:*"]).await, []);

    // A token's scopes narrow what its owner's roles allow.
    let (_, pull_only) = f.auth.create_api_token(&dev, "pull", &"registry:pull".parse().unwrap(), None).await.unwrap();
    assert_eq!(f.access(Some("dev"), &pull_only, &[all]).await, [entry("repository:acme/app", &["pull"])]);
    // An operator token without the admin scope keeps read access only.
    let (_, op_token) =
        f.auth.create_api_token(&op, "ro", &"registry:pull registry:push".parse().unwrap(), None).await.unwrap();
    assert_eq!(f.access(Some("op"), &op_token, &[all]).await, [entry("repository:acme/app", &["pull"])]);
}

#[tokio::test]
async fn issued_tokens_carry_standard_claims_and_short_life() {
    let f = fixture().await;
    f.user("alice").await;
    let p = f.auth.login("alice", PASSWORD, None).await.unwrap();
    let issued = f.auth.issue_registry_token(Some(&p), "wharf-registry", &[]).await.unwrap();
    assert_eq!(issued.expires_in, 300);
    assert_eq!(issued.token, issued.access_token);
    let claims = f.auth.verify_registry_token(&issued.token).unwrap();
    assert_eq!(
        (claims.iss.as_str(), claims.sub.as_str(), claims.aud.as_str()),
        ("wharf-test", "alice", "wharf-registry")
    );
    assert_eq!(claims.exp - claims.iat, 300);
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(issued.token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], f.auth.keys().signing_kid());

    let err = f.auth.issue_registry_token(Some(&p), "someone-else", &[]).await.unwrap_err();
    assert!(matches!(err, AuthError::MalformedHeader("unknown service")));
}

#[tokio::test]
async fn keys_persist_across_restarts_and_are_shared() {
    let f = fixture().await;
    let again = Authenticator::new(f.t.db.clone(), settings()).await.unwrap();
    assert_eq!(again.keys().signing_kid(), f.auth.keys().signing_kid());
    f.user("alice").await;
    let p = f.auth.login("alice", PASSWORD, None).await.unwrap();
    let issued = f.auth.issue_registry_token(Some(&p), "wharf-registry", &[]).await.unwrap();
    assert!(again.verify_registry_token(&issued.token).is_ok(), "another node verifies what this one signed");
}

fn claims(exp_offset_secs: i64, aud: &str) -> RegistryClaims {
    let now = Timestamp::now().as_secs();
    RegistryClaims {
        iss: "wharf-test".into(),
        sub: "alice".into(),
        aud: aud.into(),
        exp: now + exp_offset_secs,
        nbf: now - 600,
        iat: now - 600,
        jti: "j".into(),
        access: vec![],
    }
}

fn b64json(v: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// Forged, altered, expired and misdirected tokens are all refused.
#[tokio::test]
async fn forged_and_expired_tokens_are_refused() {
    let f = fixture().await;
    let ours = f.auth.keys();
    let good = ours.sign(&claims(300, "wharf-registry")).unwrap();
    assert!(f.auth.verify_registry_token(&good).is_ok());
    let parts: Vec<&str> = good.split('.').collect();

    // A claim changed after signing (more access).
    let mut body: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    body["access"] = serde_json::json!([{"type": "repository", "name": "acme/app", "actions": ["push"]}]);
    let tampered = format!("{}.{}.{}", parts[0], b64json(&body), parts[2]);
    assert_eq!(f.auth.verify_registry_token(&tampered).unwrap_err(), TokenError::BadSignature);

    // `alg: none`, with and without a signature.
    let none = b64json(&serde_json::json!({"alg": "none", "typ": "JWT", "kid": ours.signing_kid()}));
    for token in [format!("{none}.{}.", parts[1]), format!("{none}.{}.{}", parts[1], parts[2])] {
        assert!(matches!(f.auth.verify_registry_token(&token), Err(TokenError::Malformed(_))), "{token}");
    }
    // HS256 signed with our public key as the secret (algorithm confusion).
    let hs = b64json(&serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": ours.signing_kid()}));
    assert!(matches!(
        f.auth.verify_registry_token(&format!("{hs}.{}.{}", parts[1], parts[2])),
        Err(TokenError::Malformed(_))
    ));

    // A key that is not ours: under its own kid, and pretending to be ours.
    let theirs = KeyRing::from_records(&[generate_key().unwrap()]).unwrap();
    let foreign = theirs.sign(&claims(300, "wharf-registry")).unwrap();
    assert_eq!(f.auth.verify_registry_token(&foreign).unwrap_err(), TokenError::UnknownKey);
    let foreign_parts: Vec<&str> = foreign.split('.').collect();
    let mut header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(foreign_parts[0]).unwrap()).unwrap();
    header["kid"] = ours.signing_kid().into();
    // …even carrying the attacker's key in a `jwk` header (CVE-2025-24976).
    header["jwk"] = theirs.jwks()["keys"][0].clone();
    let impostor = format!("{}.{}.{}", b64json(&header), foreign_parts[1], foreign_parts[2]);
    assert_eq!(f.auth.verify_registry_token(&impostor).unwrap_err(), TokenError::BadSignature);
    // No kid at all.
    header.as_object_mut().unwrap().remove("kid");
    let no_kid = format!("{}.{}.{}", b64json(&header), foreign_parts[1], foreign_parts[2]);
    assert_eq!(f.auth.verify_registry_token(&no_kid).unwrap_err(), TokenError::UnknownKey);

    // Expired (beyond the 30 s leeway), and issued for another audience.
    assert_eq!(
        f.auth.verify_registry_token(&ours.sign(&claims(-120, "wharf-registry")).unwrap()).unwrap_err(),
        TokenError::Expired
    );
    assert_eq!(
        f.auth.verify_registry_token(&ours.sign(&claims(300, "other")).unwrap()).unwrap_err(),
        TokenError::WrongAudience
    );
    // Garbage.
    for junk in ["", "a.b", "a.b.c", &"x".repeat(10_000)] {
        assert!(matches!(f.auth.verify_registry_token(junk), Err(TokenError::Malformed(_))), "{junk:.20}");
    }
}

async fn fixture_with(passwords: wharf_auth::PasswordLimits) -> Fixture {
    let t = fresh(backend_from_env()).await;
    let auth = Authenticator::new(t.db.clone(), AuthSettings { passwords, ..settings() }).await.unwrap();
    Fixture { t, auth }
}

/// Failed passwords are counted per user name and per address; past the limit,
/// attempts are refused at once (no argon2), with the time left, until the window
/// ends; other users and addresses are not affected.
#[tokio::test]
async fn failed_passwords_are_throttled_per_user_and_per_address() {
    let f = fixture_with(wharf_auth::PasswordLimits {
        max_failures_per_user: 3,
        max_failures_per_address: 5,
        failure_window: Duration::from_secs(60),
        ..Default::default()
    })
    .await;
    f.user("alice").await;
    f.user("bob").await;
    let here: std::net::IpAddr = "192.0.2.1".parse().unwrap();
    let there: std::net::IpAddr = "192.0.2.2".parse().unwrap();
    for _ in 0..3 {
        assert!(matches!(f.auth.login("alice", "wrong!", Some(here)).await, Err(AuthError::InvalidCredentials)));
    }
    // Alice is throttled everywhere, even with the right password; Bob is not.
    for addr in [here, there] {
        match f.auth.login("alice", PASSWORD, Some(addr)).await {
            Err(AuthError::Throttled { retry_after }) => assert!(retry_after > Duration::from_secs(50)),
            other => panic!("{other:?}"),
        }
    }
    assert!(f.auth.login("bob", PASSWORD, Some(here)).await.is_ok());
    // Two more failures from `here` (for unknown names) reach the address's limit.
    for name in ["mallory", "trudy"] {
        assert!(matches!(f.auth.login(name, "x", Some(here)).await, Err(AuthError::InvalidCredentials)));
    }
    assert!(matches!(f.auth.login("bob", PASSWORD, Some(here)).await, Err(AuthError::Throttled { .. })));
    assert!(f.auth.login("bob", PASSWORD, Some(there)).await.is_ok());
    let e = f.auth.login("bob", PASSWORD, Some(here)).await.unwrap_err();
    assert!(e.to_string().starts_with("too many failed sign-ins"), "{e}");
    assert!(e.retry_after().is_some());
}

/// A successful check is remembered: the next ones cost no argon2 (timed here
/// against a verification's tens of milliseconds); a changed password is not.
#[tokio::test]
async fn successful_password_checks_are_remembered_until_the_password_changes() {
    let f = fixture_with(wharf_auth::PasswordLimits::default()).await;
    let alice = f.user("alice").await;
    let first = std::time::Instant::now();
    f.auth.login("alice", PASSWORD, None).await.unwrap();
    let first = first.elapsed();
    let again = std::time::Instant::now();
    for _ in 0..20 {
        f.auth.login("alice", PASSWORD, None).await.unwrap();
    }
    let again = again.elapsed() / 20;
    assert!(again * 5 < first, "remembered {again:?} vs checked {first:?}");
    // A wrong password is never remembered as right.
    assert!(f.auth.login("alice", "not it", None).await.is_err());
    // A new password: the old one no longer works, remembered or not.
    let hash = password::hash("a brand new password").await.unwrap();
    f.t.db.set_password_hash(alice.id, &hash).await.unwrap();
    assert!(matches!(f.auth.login("alice", PASSWORD, None).await, Err(AuthError::InvalidCredentials)));
    assert!(f.auth.login("alice", "a brand new password", None).await.is_ok());
}

/// With one check at a time and a short line, a crowd of wrong passwords gets
/// "busy" with a time to retry instead of queueing without bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_checks_run_a_few_at_a_time_and_the_rest_are_told_to_retry() {
    let f = fixture_with(wharf_auth::PasswordLimits {
        max_concurrent: 1,
        queue_timeout: Duration::from_millis(100),
        max_failures_per_user: 1000,
        max_failures_per_address: 1000,
        ..Default::default()
    })
    .await;
    f.user("alice").await;
    let auth = std::sync::Arc::new(f.auth.clone());
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let auth = auth.clone();
            tokio::spawn(async move { auth.login("alice", &format!("wrong {i}"), None).await })
        })
        .collect();
    let (mut busy, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Err(AuthError::Busy { retry_after }) => {
                assert!(retry_after >= Duration::from_secs(1));
                busy += 1;
            }
            Err(AuthError::InvalidCredentials) => refused += 1,
            other => panic!("{other:?}"),
        }
    }
    assert!(busy > 0 && refused > 0, "{busy} busy, {refused} checked");
}
