//! The data layer's behaviour, identical on SQLite and PostgreSQL.
//!
//! Every scenario below runs once per backend (`sqlite::…`, `postgres::…`). The
//! PostgreSQL variants need `WHARF_TEST_POSTGRES_URL` (started by `.ci/run`).

use wharf_core::{OrgKind, Role, Timestamp, TokenId, TokenScopes, UserName};
use wharf_db::testing::{fresh, fresh_unmigrated};
use wharf_db::tokens::NewToken;
use wharf_db::users::NewUser;
use wharf_db::{Backend, Db, DbError};

wharf_db::on_both_backends!(
    migrations_are_idempotent_and_versioned,
    users_round_trip_and_conflict,
    user_listing_pages_by_name,
    disabling_keeps_first_time,
    orgs_with_owner_and_memberships,
    last_owner_cannot_leave_or_be_demoted,
    deleting_an_org_removes_memberships,
    tokens_lifecycle,
    signing_keys_are_shared_and_idempotent,
);

fn name(s: &str) -> UserName {
    s.parse().unwrap()
}

async fn user(db: &Db, n: &str) -> wharf_db::users::User {
    db.create_user(NewUser { name: &name(n), email: None, password_hash: Some("$argon2id$fake") }).await.unwrap()
}

async fn migrations_are_idempotent_and_versioned(backend: Backend) {
    let t = fresh_unmigrated(backend).await;
    assert_eq!(t.db.schema_version().await.unwrap(), 0);
    t.db.migrate().await.unwrap();
    t.db.migrate().await.unwrap();
    assert_eq!(t.db.schema_version().await.unwrap(), Db::latest_schema_version());
    t.db.ping().await.unwrap();
}

async fn users_round_trip_and_conflict(backend: Backend) {
    let t = fresh(backend).await;
    let db = &t.db;
    assert_eq!(db.count_users().await.unwrap(), 0);
    let alice = db
        .create_user(NewUser { name: &name("alice"), email: Some("alice@example.com"), password_hash: Some("h1") })
        .await
        .unwrap();
    assert_eq!(alice.name.as_str(), "alice");
    assert_eq!(alice.email.as_deref(), Some("alice@example.com"));
    assert!(alice.disabled_at.is_none());

    let err = db.create_user(NewUser { name: &name("alice"), email: None, password_hash: None }).await.unwrap_err();
    assert!(matches!(&err, DbError::Conflict(what) if what == "user \"alice\""), "{err:?}");
    // The failed insert changed nothing.
    let again = db.user_by_name(&name("alice")).await.unwrap().unwrap();
    assert_eq!(again.password_hash.as_deref(), Some("h1"));
    assert_eq!(db.count_users().await.unwrap(), 1);

    assert!(db.set_password_hash(alice.id, "h2").await.unwrap());
    assert_eq!(db.user_by_id(alice.id).await.unwrap().unwrap().password_hash.as_deref(), Some("h2"));
    assert!(db.set_email(alice.id, None).await.unwrap());
    assert_eq!(db.user_by_id(alice.id).await.unwrap().unwrap().email, None);
    assert!(db.user_by_name(&name("bob")).await.unwrap().is_none());
}

async fn user_listing_pages_by_name(backend: Backend) {
    let t = fresh(backend).await;
    for n in ["carol", "alice", "erin", "bob", "dave"] {
        user(&t.db, n).await;
    }
    let page1 = t.db.list_users(None, 2).await.unwrap();
    let page2 = t.db.list_users(Some(page1[1].name.as_str()), 2).await.unwrap();
    let page3 = t.db.list_users(Some(page2[1].name.as_str()), 2).await.unwrap();
    let names: Vec<_> = [page1, page2, page3].concat().into_iter().map(|u| u.name.to_string()).collect();
    assert_eq!(names, ["alice", "bob", "carol", "dave", "erin"]);
}

async fn disabling_keeps_first_time(backend: Backend) {
    let t = fresh(backend).await;
    let u = user(&t.db, "mallory").await;
    assert!(t.db.set_user_disabled(u.id, true).await.unwrap());
    let first = t.db.user_by_id(u.id).await.unwrap().unwrap().disabled_at.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    t.db.set_user_disabled(u.id, true).await.unwrap();
    assert_eq!(t.db.user_by_id(u.id).await.unwrap().unwrap().disabled_at, Some(first));
    t.db.set_user_disabled(u.id, false).await.unwrap();
    assert!(t.db.user_by_id(u.id).await.unwrap().unwrap().disabled_at.is_none());
}

async fn orgs_with_owner_and_memberships(backend: Backend) {
    let t = fresh(backend).await;
    let db = &t.db;
    let alice = user(db, "alice").await;
    let bob = user(db, "bob").await;
    let acme =
        db.create_org(&"acme".parse().unwrap(), OrgKind::Publisher, Some("ACME Corp"), Some(alice.id)).await.unwrap();
    let ops = db.create_org(&"ops".parse().unwrap(), OrgKind::Operator, None, Some(bob.id)).await.unwrap();
    assert_eq!(acme.kind, OrgKind::Publisher);
    assert_eq!(acme.display_name.as_deref(), Some("ACME Corp"));

    let err = db.create_org(&"acme".parse().unwrap(), OrgKind::Customer, None, None).await.unwrap_err();
    assert!(matches!(&err, DbError::Conflict(w) if w == "organization \"acme\""), "{err:?}");
    assert_eq!(db.org_by_name(&"acme".parse().unwrap()).await.unwrap().unwrap().kind, OrgKind::Publisher);

    assert_eq!(db.role_in_org(acme.id, alice.id).await.unwrap(), Some(Role::Owner));
    assert_eq!(db.role_in_org(acme.id, bob.id).await.unwrap(), None);
    assert_eq!(db.set_membership(acme.id, bob.id, Role::Developer).await.unwrap(), None);
    let joined = db.member(acme.id, bob.id).await.unwrap().unwrap().since;
    assert_eq!(db.set_membership(acme.id, bob.id, Role::Admin).await.unwrap(), Some(Role::Developer));
    let changed = db.member(acme.id, bob.id).await.unwrap().unwrap();
    assert_eq!((changed.role, changed.since), (Role::Admin, joined), "a role change keeps the join time");
    assert!(
        db.member(acme.id, alice.id).await.unwrap().is_some() && db.member(ops.id, alice.id).await.unwrap().is_none()
    );
    let members: Vec<_> = db
        .list_members(acme.id, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.user_name.to_string(), m.role))
        .collect();
    assert_eq!(members, [("alice".to_owned(), Role::Owner), ("bob".to_owned(), Role::Admin)]);
    let after_alice = db.list_members(acme.id, Some("alice"), 10).await.unwrap();
    assert_eq!(after_alice.len(), 1);

    let bobs: Vec<_> =
        db.orgs_of_user(bob.id, None, 10).await.unwrap().into_iter().map(|(o, r)| (o.name.to_string(), r)).collect();
    assert_eq!(bobs, [("acme".to_owned(), Role::Admin), ("ops".to_owned(), Role::Owner)]);
    assert_eq!(db.operator_roles(bob.id).await.unwrap(), [Role::Owner]);
    assert!(db.operator_roles(alice.id).await.unwrap().is_empty());

    let renamed = db.update_org(ops.id, Some("Operations")).await.unwrap().unwrap();
    assert_eq!(renamed.display_name.as_deref(), Some("Operations"));
    assert_eq!(db.list_orgs(None, 10).await.unwrap().len(), 2);
    assert_eq!(db.list_orgs(Some("acme"), 10).await.unwrap()[0].name.as_str(), "ops");
    let with_role: Vec<_> = db
        .list_orgs_with_role(alice.id, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(o, r)| (o.name.to_string(), r))
        .collect();
    assert_eq!(with_role, [("acme".to_owned(), Some(Role::Owner)), ("ops".to_owned(), None)]);
}

async fn last_owner_cannot_leave_or_be_demoted(backend: Backend) {
    let t = fresh(backend).await;
    let db = &t.db;
    let alice = user(db, "alice").await;
    let bob = user(db, "bob").await;
    let org = db.create_org(&"acme".parse().unwrap(), OrgKind::Publisher, None, Some(alice.id)).await.unwrap();

    assert!(matches!(db.set_membership(org.id, alice.id, Role::Admin).await, Err(DbError::LastOwner)));
    assert!(matches!(db.remove_membership(org.id, alice.id).await, Err(DbError::LastOwner)));
    assert_eq!(db.role_in_org(org.id, alice.id).await.unwrap(), Some(Role::Owner), "nothing changed");

    db.set_membership(org.id, bob.id, Role::Owner).await.unwrap();
    assert_eq!(db.remove_membership(org.id, alice.id).await.unwrap(), Some(Role::Owner));
    assert_eq!(db.remove_membership(org.id, alice.id).await.unwrap(), None, "idempotent");
    assert!(matches!(db.set_membership(org.id, bob.id, Role::Viewer).await, Err(DbError::LastOwner)));
}

async fn deleting_an_org_removes_memberships(backend: Backend) {
    let t = fresh(backend).await;
    let alice = user(&t.db, "alice").await;
    let org = t.db.create_org(&"gone".parse().unwrap(), OrgKind::Customer, None, Some(alice.id)).await.unwrap();
    assert!(t.db.delete_org(org.id).await.unwrap());
    assert!(!t.db.delete_org(org.id).await.unwrap());
    assert!(t.db.orgs_of_user(alice.id, None, 10).await.unwrap().is_empty());
    assert!(t.db.user_by_id(alice.id).await.unwrap().is_some(), "users outlive their organizations");
}

async fn tokens_lifecycle(backend: Backend) {
    let t = fresh(backend).await;
    let db = &t.db;
    let alice = user(db, "alice").await;
    let scopes: TokenScopes = "registry:pull api:read".parse().unwrap();
    let tok = db
        .create_token(NewToken {
            user_id: alice.id,
            name: "ci",
            secret_hash: "hash-1",
            scopes: &scopes,
            expires_at: None,
        })
        .await
        .unwrap();
    assert_eq!(tok.scopes, scopes);
    assert!(tok.is_usable(Timestamp::now()));

    let dup = NewToken { user_id: alice.id, name: "ci", secret_hash: "hash-2", scopes: &scopes, expires_at: None };
    assert!(matches!(db.create_token(dup.clone()).await, Err(DbError::Conflict(_))));

    let found = db.token_by_secret_hash("hash-1").await.unwrap().unwrap();
    assert_eq!(found.id, tok.id);
    assert!(db.token_by_secret_hash("hash-x").await.unwrap().is_none());

    let revoked = db.revoke_token(alice.id, tok.id).await.unwrap().unwrap();
    assert!(revoked.revoked_at.is_some() && !revoked.is_usable(Timestamp::now()));
    let again = db.revoke_token(alice.id, tok.id).await.unwrap().unwrap();
    assert_eq!(again.revoked_at, revoked.revoked_at, "revoking twice keeps the first time");
    assert!(db.revoke_token(alice.id, TokenId(tok.id.0 + 1000)).await.unwrap().is_none());

    // The name is free again once the old token is revoked.
    let expiring = NewToken { expires_at: Some(Timestamp::from_millis(1)), ..dup };
    let second = db.create_token(expiring).await.unwrap();
    assert!(!second.is_usable(Timestamp::now()), "expired in 1970");

    let listed = db.list_tokens(alice.id, None, 10).await.unwrap();
    assert_eq!(listed.iter().map(|t| t.id).collect::<Vec<_>>(), [tok.id, second.id]);
    assert_eq!(db.list_tokens(alice.id, Some(tok.id), 10).await.unwrap().len(), 1);

    let now = Timestamp::now();
    db.touch_token(second.id, now).await.unwrap();
    db.touch_token(second.id, now.plus(std::time::Duration::from_secs(10))).await.unwrap();
    let touched = db.token_of_user(alice.id, second.id).await.unwrap().unwrap();
    assert_eq!(touched.last_used_at, Some(now), "uses within a minute do not write");
}

async fn signing_keys_are_shared_and_idempotent(backend: Backend) {
    let t = fresh(backend).await;
    let key = |kid: &str, at: i64| wharf_db::keys::SigningKeyRecord {
        kid: kid.to_owned(),
        algorithm: "ES256".into(),
        private_key: "cHJpdg==".into(),
        public_key: "cHVi".into(),
        created_at: Timestamp::from_millis(at),
        retired_at: None,
    };
    t.db.insert_signing_key(&key("old", 1)).await.unwrap();
    t.db.insert_signing_key(&key("new", 2)).await.unwrap();
    t.db.insert_signing_key(&key("new", 3)).await.unwrap();
    let keys = t.db.signing_keys().await.unwrap();
    assert_eq!(
        keys.iter().map(|k| (k.kid.as_str(), k.created_at.as_millis())).collect::<Vec<_>>(),
        [("new", 2), ("old", 1)]
    );
    assert!(!format!("{:?}", keys[0]).contains("cHJpdg"), "Debug never prints the private key");
}

/// Both dialects' migrations produce the same tables and columns.
#[tokio::test]
async fn schemas_are_equivalent() {
    // The named exceptions: each dialect's full-text index of the catalog (SQLite's
    // FTS5 table `catalog_fts` and its shadow tables; PostgreSQL's `search` column).
    let lite = fresh(Backend::Sqlite).await;
    let pg = fresh(Backend::Postgres).await;
    let lite_cols: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations' \
         AND m.name NOT LIKE 'catalog_fts%' ORDER BY 1, 2",
    )
    .fetch_all(&pool_of(&lite.url).await)
    .await
    .unwrap();
    let pg_cols: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations' \
         AND NOT (table_name = 'catalog_texts' AND column_name = 'search') ORDER BY 1, 2",
    )
    .fetch_all(&pool_of(&pg.url).await)
    .await
    .unwrap();
    assert!(!lite_cols.is_empty());
    assert_eq!(lite_cols, pg_cols);
}

async fn pool_of(url: &str) -> sqlx::AnyPool {
    sqlx::AnyPool::connect(url).await.unwrap()
}

/// SQLite runs in WAL mode with the configured busy timeout.
#[tokio::test]
async fn sqlite_uses_wal_and_busy_timeout() {
    let t = fresh(Backend::Sqlite).await;
    let pool = pool_of(&t.url).await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&pool).await.unwrap();
    assert_eq!(mode, "wal");
    drop(pool);
    // The handle's own connections carry the busy timeout from `DbOptions`.
    let stats = t.db.pool_stats();
    assert!(stats.size >= 1 && stats.max == 5, "{stats:?}");
}

/// An unreachable server is reported with the (redacted) URL and the cause.
#[tokio::test]
async fn unreachable_database_is_a_clear_error() {
    let mut opts = wharf_db::testing::options("postgres://wharf:s3cret@127.0.0.1:9/wharf");
    opts.connect_timeout = std::time::Duration::from_secs(2);
    let err = Db::connect(&opts).await.unwrap_err().to_string();
    assert!(err.starts_with("cannot connect to the database at postgres://wharf:***@127.0.0.1:9/wharf"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
}

/// PostgreSQL connections the server cut (a restart, a failover, an idle-session
/// timeout) are found dead before use once they have sat idle, and replaced:
/// the next query succeeds.
#[tokio::test]
async fn postgres_connections_cut_while_idle_are_replaced() {
    let t = fresh(Backend::Postgres).await;
    let db = &t.db;
    db.ping().await.unwrap();
    let before = db.pool_stats().size;
    assert!(before >= 1);
    // Another session terminates every connection of the handle's database.
    let admin = pool_of(&wharf_db::testing::postgres_url()).await;
    let database = url::Url::parse(&t.url).unwrap().path().trim_start_matches('/').to_owned();
    let cut: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&database)
    .fetch_all(&admin)
    .await
    .unwrap();
    assert!(cut.iter().filter(|c| **c).count() >= before as usize, "{cut:?}");
    tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;
    for _ in 0..before + 1 {
        db.ping().await.expect("a dead idle connection is replaced, not handed out");
    }
}

/// SQLite's writer does not checkpoint as it commits; the background checkpointer
/// does, so the write-ahead log restarts from its beginning instead of growing: after
/// a pause, and under writes that never pause (where a checkpoint alone never catches
/// up with the commits landing while it copies).
#[tokio::test]
async fn sqlite_write_ahead_log_is_checkpointed_in_the_background() {
    let t = fresh(Backend::Sqlite).await;
    let path = t.url.trim_start_matches("sqlite:").split('?').next().unwrap().to_owned();
    let wal = format!("{path}-wal");
    // The log's header counts restarts: its checkpoint sequence number (bytes 12..16).
    let restarts = || {
        let header = std::fs::read(&wal).unwrap();
        u32::from_be_bytes(header[12..16].try_into().unwrap())
    };
    let mut n = 0u32;
    let mut write = async || {
        n += 1;
        let d = wharf_oci::Digest::of(wharf_oci::Algorithm::Sha256, n.to_string().as_bytes());
        t.db.touch_blob(&d, 1).await.unwrap();
    };
    for _ in 0..100 {
        write().await;
    }
    let before_pause = restarts();
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    write().await;
    let after_pause = restarts();
    assert!(after_pause > before_pause, "the log restarts after a pause ({before_pause} -> {after_pause})");
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_millis(1_600) {
        write().await;
    }
    let end = restarts();
    assert!(
        end >= after_pause + 2,
        "the log restarts under steady writes: {after_pause} -> {end} restarts over 1.6 s ({n} writes)"
    );
}
