//! The REST API at its HTTP boundary: authentication, users, organizations,
//! memberships, tokens, problem+json errors, pagination, limits and the OpenAPI document.

mod common;

use common::{PASSWORD, TestApp, json, osv, osv_zip};
use insta::assert_json_snapshot;
use std::time::Duration;

use reqwest::Method;
use wharf_core::{OrgKind, Role};

const PROBLEM: &str = "application/problem+json";

#[tokio::test]
async fn unauthenticated_and_bad_credentials_get_401_problems() {
    let app = TestApp::start().await;
    let r = app.anon(Method::GET, "/api/v1/user").send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"wharf\", charset=\"UTF-8\"");
    assert_eq!(r.headers()["content-type"], PROBLEM);
    let (_, body) = json(r).await;
    assert_eq!(body["type"], "urn:wharf:problem:unauthenticated");

    let r = app
        .http
        .get(format!("{}/api/v1/user", app.url))
        .basic_auth("admin", Some("wrong password!"))
        .send()
        .await
        .unwrap();
    let (status, body) = json(r).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("invalid username, password or token")));
    let r =
        app.http.get(format!("{}/api/v1/user", app.url)).header("authorization", "Digest abc").send().await.unwrap();
    assert_eq!(r.status(), 401);

    let (status, me) = json(app.as_user(Method::GET, "admin", "/api/v1/user").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(
        (me["name"].as_str(), me["credential"].as_str(), me["operator_role"].as_str()),
        (Some("admin"), Some("password"), Some("owner"))
    );
}

#[tokio::test]
async fn operators_create_users_and_every_invalid_field_is_reported() {
    let app = TestApp::start().await;
    let create = |body: serde_json::Value| app.as_user(Method::POST, "admin", "/api/v1/users").json(&body).send();

    let r =
        create(serde_json::json!({"name": "alice", "password": PASSWORD, "email": "alice@example.com"})).await.unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["location"], "/api/v1/users/alice");
    let (_, alice) = json(r).await;
    assert_eq!((alice["name"].as_str(), alice["disabled"].as_bool()), (Some("alice"), Some(false)));

    let (status, body) = json(create(serde_json::json!({"name": "alice", "password": PASSWORD})).await.unwrap()).await;
    assert_eq!((status, body["detail"].as_str()), (409, Some("user \"alice\" already exists")));

    let long = "a".repeat(40);
    let (status, body) =
        json(create(serde_json::json!({"name": long, "password": "short", "email": "nope"})).await.unwrap()).await;
    assert_eq!(status, 422);
    assert_json_snapshot!(body, @r#"
    {
      "detail": "3 fields are invalid",
      "errors": [
        {
          "detail": "must be at most 39 characters long (got 40)",
          "pointer": "/name"
        },
        {
          "detail": "password must be at least 12 characters long (got 5)",
          "pointer": "/password"
        },
        {
          "detail": "must be an e-mail address such as name@example.com",
          "pointer": "/email"
        }
      ],
      "status": 422,
      "title": "Invalid request",
      "type": "urn:wharf:problem:validation-failed"
    }
    "#);
    let (status, body) = json(create(serde_json::json!({"name": "Bad_Name"})).await.unwrap()).await;
    assert_eq!((status, body["errors"][0]["pointer"].as_str()), (422, Some("/name")));

    // Mass assignment: unknown fields are refused, and nothing is stored.
    let (status, body) = json(create(serde_json::json!({"name": "mallory", "is_admin": true})).await.unwrap()).await;
    assert_eq!(status, 400);
    assert!(body["detail"].as_str().unwrap().contains("unknown field `is_admin`"), "{body}");
    assert!(app.db.user_by_name(&"mallory".parse().unwrap()).await.unwrap().is_none());

    // Non-operators may not create or list users.
    app.user("bob").await;
    let r = app
        .as_user(Method::POST, "bob", "/api/v1/users")
        .json(&serde_json::json!({"name": "carol"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(app.as_user(Method::GET, "bob", "/api/v1/users").send().await.unwrap().status(), 403);
    // Users see themselves, not others.
    assert_eq!(app.as_user(Method::GET, "bob", "/api/v1/users/bob").send().await.unwrap().status(), 200);
    assert_eq!(app.as_user(Method::GET, "bob", "/api/v1/users/alice").send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn listings_page_with_cursors_and_link_headers() {
    let app = TestApp::start().await;
    for n in ["u1", "u2", "u3", "u4"] {
        app.user(n).await;
    }
    let mut names = Vec::new();
    let mut path = "/api/v1/users?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let r = app.as_user(Method::GET, "admin", &path).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let link = r.headers().get("link").map(|v| v.to_str().unwrap().to_owned());
        let (_, page) = json(r).await;
        pages += 1;
        names.extend(page["items"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                let link = link.expect("a Link header with the next page");
                assert!(link.ends_with("rel=\"next\"") && link.contains(cursor), "{link}");
                path = format!("/api/v1/users?limit=2&cursor={cursor}");
            }
            None => {
                assert!(link.is_none());
                break;
            }
        }
    }
    assert_eq!(names, ["admin", "u1", "u2", "u3", "u4"]);
    assert_eq!(pages, 3);
    for bad in [
        "/api/v1/users?limit=0",
        "/api/v1/users?limit=100000",
        "/api/v1/users?cursor=%%%",
        "/api/v1/users?limit=x",
        "/api/v1/users?sort=name",
    ] {
        let (status, body) = json(app.as_user(Method::GET, "admin", bad).send().await.unwrap()).await;
        assert_eq!((status, body["type"].as_str()), (400, Some("urn:wharf:problem:bad-request")), "{bad}: {body}");
    }
}

#[tokio::test]
async fn oversized_and_non_json_bodies_are_refused_and_store_nothing() {
    let app = TestApp::with_config(|c| c.api.max_body_bytes = 1024).await;
    let big = serde_json::json!({"name": "big", "email": format!("{}@example.com", "a".repeat(2000))});
    let r = app.as_user(Method::POST, "admin", "/api/v1/users").json(&big).send().await.unwrap();
    let (status, body) = json(r).await;
    assert_eq!((status, body["type"].as_str()), (413, Some("urn:wharf:problem:payload-too-large")), "{body}");
    assert!(app.db.user_by_name(&"big".parse().unwrap()).await.unwrap().is_none());

    let r = app
        .as_user(Method::POST, "admin", "/api/v1/users")
        .body("name=x")
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = app
        .as_user(Method::POST, "admin", "/api/v1/users")
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    let (status, body) = json(r).await;
    assert_eq!((status, body["type"].as_str()), (400, Some("urn:wharf:problem:bad-request")), "{body}");
}

#[tokio::test]
async fn unknown_endpoints_and_methods_are_problems() {
    let app = TestApp::start().await;
    let (status, body) = json(app.as_user(Method::GET, "admin", "/api/v1/nope").send().await.unwrap()).await;
    assert_eq!((status, body["type"].as_str()), (404, Some("urn:wharf:problem:not-found")));
    let (status, body) = json(app.as_user(Method::DELETE, "admin", "/api/v1/users").send().await.unwrap()).await;
    assert_eq!((status, body["type"].as_str()), (405, Some("urn:wharf:problem:method-not-allowed")));
}

#[tokio::test]
async fn organizations_are_invisible_to_outsiders() {
    let app = TestApp::start().await;
    for u in ["alice", "bob"] {
        app.user(u).await;
    }
    let r = app
        .as_user(Method::POST, "admin", "/api/v1/orgs")
        .json(&serde_json::json!({"name": "acme", "kind": "publisher", "display_name": "ACME", "owner": "alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (_, acme) = json(r).await;
    assert_eq!((acme["kind"].as_str(), acme["role"].as_null()), (Some("publisher"), Some(())), "{acme}");

    let (_, mine) = json(app.as_user(Method::GET, "alice", "/api/v1/orgs").send().await.unwrap()).await;
    assert_eq!(mine["items"][0]["role"], "owner");
    let (_, none) = json(app.as_user(Method::GET, "bob", "/api/v1/orgs").send().await.unwrap()).await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0);

    // An outsider cannot tell an existing organization from a missing one.
    let existing = json(app.as_user(Method::GET, "bob", "/api/v1/orgs/acme").send().await.unwrap()).await;
    let missing = json(app.as_user(Method::GET, "bob", "/api/v1/orgs/nope").send().await.unwrap()).await;
    assert_eq!(existing.0, 404);
    assert_eq!(missing.0, 404);
    assert_eq!(
        existing.1["detail"].as_str().unwrap().replace("acme", "X"),
        missing.1["detail"].as_str().unwrap().replace("nope", "X")
    );
    for (m, path) in [
        (Method::GET, "/api/v1/orgs/acme/members"),
        (Method::DELETE, "/api/v1/orgs/acme"),
        (Method::PATCH, "/api/v1/orgs/acme"),
    ] {
        let r = app.as_user(m, "bob", path).json(&serde_json::json!({})).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }

    // Invalid organizations, all fields at once.
    let r = app
        .as_user(Method::POST, "admin", "/api/v1/orgs")
        .json(&serde_json::json!({"name": "mp", "kind": "vendor", "owner": "ghost", "display_name": ""}))
        .send()
        .await
        .unwrap();
    let (status, body) = json(r).await;
    assert_eq!(status, 422);
    let pointers: Vec<&str> =
        body["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
    assert_eq!(pointers, ["/name", "/kind", "/display_name", "/owner"], "{body}");
    assert_eq!(body["errors"][0]["detail"], "\"mp\" is reserved");
}

/// The permission matrix at the HTTP boundary: each role against each action.
/// Operators approve publishers (who and when are recorded) and withdraw approvals;
/// nobody else may, and only publishers are approved.
#[tokio::test]
async fn operators_approve_publishers() {
    let app = TestApp::start().await;
    app.user("alice").await;
    for (name, kind) in [("acme", "publisher"), ("tenant", "customer")] {
        let body = serde_json::json!({"name": name, "kind": kind, "owner": "alice"});
        let r = app.as_user(Method::POST, "admin", "/api/v1/orgs").json(&body).send().await.unwrap();
        assert_eq!(r.status(), 201);
    }
    let (_, acme) = json(app.as_user(Method::GET, "alice", "/api/v1/orgs/acme").send().await.unwrap()).await;
    assert!(acme.get("approval").is_none(), "not approved yet: {acme}");

    // The publisher's own owner may not approve it.
    let r = app.as_user(Method::PUT, "alice", "/api/v1/orgs/acme/approval").send().await.unwrap();
    let (status, body) = json(r).await;
    assert_eq!(status, 403, "{body}");

    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/acme/approval").send().await.unwrap();
    let (status, acme) = json(r).await;
    assert_eq!((status, acme["approval"]["by"].as_str()), (200, Some("admin")), "{acme}");
    assert!(acme["approval"]["at"].as_str().is_some_and(|t| t.ends_with('Z')), "{acme}");
    let (_, seen) = json(app.as_user(Method::GET, "alice", "/api/v1/orgs/acme").send().await.unwrap()).await;
    assert_eq!(seen["approval"], acme["approval"], "the publisher sees it");

    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/tenant/approval").send().await.unwrap();
    let (status, body) = json(r).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (409, Some("tenant is a customer organization: only publishers are approved"))
    );
    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/nope/approval").send().await.unwrap();
    assert_eq!(r.status(), 404);

    let r = app.as_user(Method::DELETE, "admin", "/api/v1/orgs/acme/approval").send().await.unwrap();
    let (status, acme) = json(r).await;
    assert_eq!(status, 200);
    assert!(acme.get("approval").is_none(), "withdrawn: {acme}");
}

/// Operators import OSV archives into the server's advisory store; each import is a
/// snapshot kept (and its store never collected), the newest the one in use.
#[tokio::test]
async fn operators_import_advisories_as_snapshots() {
    let app = TestApp::start().await;
    app.user("alice").await;
    let first = osv_zip(&[
        ("a/GHSA-0001.json", osv("GHSA-0001", "npm", "left-pad")),
        ("b/DEBIAN-CVE-1.json", osv("DEBIAN-CVE-1", "Debian:12", "zlib")),
        ("c/broken.json", "{not osv".to_owned()),
    ]);
    let post = |user: &str, body: Vec<u8>, source: &str| {
        app.as_user(Method::POST, user, &format!("/api/v1/advisories?source={source}"))
            .header("content-type", "application/zip")
            .body(body)
    };
    let r = post("alice", first.clone(), "all.zip").send().await.unwrap();
    assert_eq!(r.status(), 403);
    let (status, body) = json(post("admin", b"not a zip".to_vec(), "x.zip").send().await.unwrap()).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("ZIP archive"), "{body}");

    let (status, done) = json(post("admin", first, "all.zip").send().await.unwrap()).await;
    assert_eq!(status, 201, "{done}");
    let s = &done["snapshot"];
    assert_eq!(
        (
            s["imported"].as_u64(),
            s["invalid"].as_u64(),
            s["total"].as_u64(),
            s["source"].as_str(),
            s["imported_by"].as_str()
        ),
        (Some(2), Some(1), Some(2), Some("all.zip"), Some("admin"))
    );
    assert_eq!(s["by_ecosystem"], serde_json::json!({"Debian:12": 1, "npm": 1}));
    assert_eq!(done["rejected"][0]["name"], "c/broken.json");

    let second = osv_zip(&[("GHSA-0002.json", osv("GHSA-0002", "npm", "lodash"))]);
    let (status, done) = json(post("admin", second, "npm.zip").send().await.unwrap()).await;
    assert_eq!((status, done["snapshot"]["total"].as_u64()), (201, Some(3)), "{done}");

    let (status, list) = json(app.as_user(Method::GET, "admin", "/api/v1/advisories").send().await.unwrap()).await;
    assert_eq!(status, 200);
    let sources: Vec<&str> = list.as_array().unwrap().iter().map(|s| s["source"].as_str().unwrap()).collect();
    assert_eq!(sources, ["npm.zip", "all.zip"], "newest first");

    // A collection that keeps nothing young keeps every snapshot's store.
    let options = wharf_app::gc::GcOptions { grace: Duration::ZERO, upload_ttl: Duration::ZERO, dry_run: false };
    wharf_app::gc::collect(&app.state.db, &app.state.blobs, &options).await.unwrap();
    for s in list.as_array().unwrap() {
        let digest: wharf_oci::Digest = s["digest"].as_str().unwrap().parse().unwrap();
        assert!(app.state.blobs.stat(&digest).await.unwrap().is_some(), "{digest} kept");
    }
}

#[tokio::test]
async fn membership_roles_follow_the_permission_matrix() {
    let app = TestApp::start().await;
    app.user("owner").await;
    app.org("acme", OrgKind::Publisher, "owner").await;
    for (user, role) in [("viewer", Role::Viewer), ("dev", Role::Developer), ("adm", Role::Admin)] {
        app.user(user).await;
        app.member("acme", user, role).await;
    }
    app.user("target").await;
    // (method, path, body, [viewer, dev, adm, owner] expected statuses)
    let cases: Vec<(Method, &str, serde_json::Value, [u16; 4])> = vec![
        (Method::GET, "/api/v1/orgs/acme", serde_json::json!(null), [200, 200, 200, 200]),
        (Method::GET, "/api/v1/orgs/acme/members", serde_json::json!(null), [200, 200, 200, 200]),
        (Method::PATCH, "/api/v1/orgs/acme", serde_json::json!({"display_name": "A"}), [403, 403, 200, 200]),
        (Method::PUT, "/api/v1/orgs/acme/members/target", serde_json::json!({"role": "viewer"}), [403, 403, 201, 200]),
        (Method::PUT, "/api/v1/orgs/acme/members/target", serde_json::json!({"role": "owner"}), [403, 403, 403, 200]),
        (Method::DELETE, "/api/v1/orgs/acme/members/target", serde_json::json!(null), [403, 403, 403, 204]),
    ];
    for (method, path, body, expected) in cases {
        for (user, want) in ["viewer", "dev", "adm", "owner"].iter().zip(expected) {
            let mut rb = app.as_user(method.clone(), user, path);
            if !body.is_null() {
                rb = rb.json(&body);
            }
            let r = rb.send().await.unwrap();
            assert_eq!(r.status().as_u16(), want, "{user} {method} {path} {body}");
        }
    }
    // Owners only delete the organization; admins cannot.
    assert_eq!(app.as_user(Method::DELETE, "adm", "/api/v1/orgs/acme").send().await.unwrap().status(), 403);
    // The last owner can neither leave nor be demoted.
    let (status, body) =
        json(app.as_user(Method::DELETE, "owner", "/api/v1/orgs/acme/members/owner").send().await.unwrap()).await;
    assert_eq!((status, body["detail"].as_str()), (409, Some("an organization must keep at least one owner")));
    let r = app
        .as_user(Method::PUT, "owner", "/api/v1/orgs/acme/members/owner")
        .json(&serde_json::json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    // Members may leave.
    assert_eq!(
        app.as_user(Method::DELETE, "viewer", "/api/v1/orgs/acme/members/viewer").send().await.unwrap().status(),
        204
    );
    assert_eq!(app.as_user(Method::GET, "viewer", "/api/v1/orgs/acme").send().await.unwrap().status(), 404);
    // Bad role names are field errors.
    let r = app
        .as_user(Method::PUT, "owner", "/api/v1/orgs/acme/members/dev")
        .json(&serde_json::json!({"role": "root"}))
        .send()
        .await
        .unwrap();
    let (status, body) = json(r).await;
    assert_eq!((status, body["errors"][0]["pointer"].as_str()), (422, Some("/role")));
    // Operators act as owners anywhere.
    assert_eq!(app.as_user(Method::DELETE, "admin", "/api/v1/orgs/acme").send().await.unwrap().status(), 204);
}

#[tokio::test]
async fn api_tokens_are_shown_once_scoped_and_revocable() {
    let app = TestApp::start().await;
    app.user("alice").await;
    let r = app
        .as_user(Method::POST, "alice", "/api/v1/user/tokens")
        .json(&serde_json::json!({"name": "ci", "scopes": ["api:read", "registry:pull"], "expires_in_days": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let (_, created) = json(r).await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("wharf_pat_"));
    assert_eq!(created["state"], "active");

    // Listing never shows secrets.
    let (_, list) = json(app.as_user(Method::GET, "alice", "/api/v1/user/tokens").send().await.unwrap()).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(&secret));

    // The token authenticates, as Bearer or as a Basic password, within its scopes.
    let (status, me) = json(app.with_token(Method::GET, &secret, "/api/v1/user").send().await.unwrap()).await;
    assert_eq!((status, me["credential"].as_str()), (200, Some("api_token")));
    let r = app.http.get(format!("{}/api/v1/user", app.url)).basic_auth("alice", Some(&secret)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .with_token(Method::PATCH, &secret, "/api/v1/users/alice")
        .json(&serde_json::json!({"email": "a@example.com"}))
        .send()
        .await
        .unwrap();
    let (status, body) = json(r).await;
    assert_eq!((status, body["detail"].as_str()), (403, Some("the API token lacks the api:write scope")));
    // Tokens cannot mint tokens.
    let r = app
        .with_token(Method::POST, &secret, "/api/v1/user/tokens")
        .json(&serde_json::json!({"name": "x", "scopes": ["api:read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Invalid token requests: every field reported.
    let r = app
        .as_user(Method::POST, "alice", "/api/v1/user/tokens")
        .json(&serde_json::json!({"name": "", "scopes": ["api:read", "root"], "expires_in_days": 0}))
        .send()
        .await
        .unwrap();
    let (status, body) = json(r).await;
    let pointers: Vec<&str> =
        body["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
    assert_eq!((status, pointers), (422, vec!["/name", "/scopes/1", "/expires_in_days"]), "{body}");
    let dup = app
        .as_user(Method::POST, "alice", "/api/v1/user/tokens")
        .json(&serde_json::json!({"name": "ci", "scopes": ["api:read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), 409);

    // Revocation: idempotent, and the token stops working at once.
    let id = created["id"].as_i64().unwrap();
    for _ in 0..2 {
        assert_eq!(
            app.as_user(Method::DELETE, "alice", &format!("/api/v1/user/tokens/{id}")).send().await.unwrap().status(),
            204
        );
    }
    let (status, body) = json(app.with_token(Method::GET, &secret, "/api/v1/user").send().await.unwrap()).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("the API token has been revoked")));
    app.user("bob").await;
    assert_eq!(
        app.as_user(Method::DELETE, "bob", &format!("/api/v1/user/tokens/{id}")).send().await.unwrap().status(),
        404
    );

    // Expired and forged tokens.
    let alice = app.db.user_by_name(&"alice".parse().unwrap()).await.unwrap().unwrap();
    let past = wharf_core::Timestamp::now().plus(std::time::Duration::from_millis(1));
    let (_, expired) =
        app.state.auth.create_api_token(&alice, "old", &"api:read".parse().unwrap(), Some(past)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    let (status, body) = json(app.with_token(Method::GET, &expired, "/api/v1/user").send().await.unwrap()).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("the API token has expired")));
    let forged = format!("wharf_pat_{}", "x".repeat(40));
    assert_eq!(app.with_token(Method::GET, &forged, "/api/v1/user").send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn account_changes_respect_who_and_how() {
    let app = TestApp::start().await;
    app.user("alice").await;
    let token = app.token("alice", &["api:read", "api:write"]).await;
    let new_password = "a much better password";
    // Own password: only with password authentication.
    let r = app
        .with_token(Method::PATCH, &token, "/api/v1/users/alice")
        .json(&serde_json::json!({"password": new_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = app
        .as_user(Method::PATCH, "alice", "/api/v1/users/alice")
        .json(&serde_json::json!({"password": new_password, "email": "a@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r =
        app.http.get(format!("{}/api/v1/user", app.url)).basic_auth("alice", Some(new_password)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Users cannot disable themselves or others; operators can disable others.
    let r = app
        .http
        .patch(format!("{}/api/v1/users/alice", app.url))
        .basic_auth("alice", Some(new_password))
        .json(&serde_json::json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = app
        .as_user(Method::PATCH, "admin", "/api/v1/users/admin")
        .json(&serde_json::json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let r = app
        .as_user(Method::PATCH, "admin", "/api/v1/users/alice")
        .json(&serde_json::json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r =
        app.http.get(format!("{}/api/v1/user", app.url)).basic_auth("alice", Some(new_password)).send().await.unwrap();
    let (status, body) = json(r).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("the account is disabled")));
    assert_eq!(
        app.with_token(Method::GET, &token, "/api/v1/user").send().await.unwrap().status(),
        401,
        "tokens of disabled users stop too"
    );
}

#[tokio::test]
async fn openapi_document_covers_the_api() {
    let app = TestApp::start().await;
    let r = app.anon(Method::GET, "/api/v1/openapi.json").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (_, doc) = json(r).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["components"]["securitySchemes"]["basic"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let mut ops: Vec<String> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            ops.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    ops.sort();
    insta::assert_snapshot!(ops.join("\n"), @"
    DELETE /api/v1/access-offers/{name}
    DELETE /api/v1/orgs/{org}
    DELETE /api/v1/orgs/{org}/access/{id}
    DELETE /api/v1/orgs/{org}/approval
    DELETE /api/v1/orgs/{org}/members/{user}
    DELETE /api/v1/orgs/{org}/subscriptions/{id}/deployments/{deployment}
    DELETE /api/v1/orgs/{org}/subscriptions/{id}/pull-secrets/{secret}
    DELETE /api/v1/orgs/{org}/webhooks/{id}
    DELETE /api/v1/user/tokens/{id}
    GET /api/v1/access-offers
    GET /api/v1/access-offers/{name}
    GET /api/v1/advisories
    GET /api/v1/catalog
    GET /api/v1/catalog/{publisher}/{offer}
    GET /api/v1/catalog/{publisher}/{offer}/media/{digest}
    GET /api/v1/catalog/{publisher}/{offer}/sboms/{digest}
    GET /api/v1/categories
    GET /api/v1/entitlement
    GET /api/v1/marketplace/signing-key
    GET /api/v1/orgs
    GET /api/v1/orgs/{org}
    GET /api/v1/orgs/{org}/access
    GET /api/v1/orgs/{org}/leads
    GET /api/v1/orgs/{org}/media/{digest}
    GET /api/v1/orgs/{org}/members
    GET /api/v1/orgs/{org}/offers
    GET /api/v1/orgs/{org}/offers/{offer}
    GET /api/v1/orgs/{org}/offers/{offer}/compare
    GET /api/v1/orgs/{org}/offers/{offer}/draft
    GET /api/v1/orgs/{org}/offers/{offer}/history
    GET /api/v1/orgs/{org}/offers/{offer}/usage
    GET /api/v1/orgs/{org}/offers/{offer}/versions
    GET /api/v1/orgs/{org}/offers/{offer}/versions/{version}
    GET /api/v1/orgs/{org}/offers/{offer}/versions/{version}/events
    GET /api/v1/orgs/{org}/offers/{offer}/versions/{version}/health
    GET /api/v1/orgs/{org}/offers/{offer}/versions/{version}/images
    GET /api/v1/orgs/{org}/offers/{offer}/versions/{version}/report
    GET /api/v1/orgs/{org}/offers/{offer}/versions/{version}/sboms
    GET /api/v1/orgs/{org}/offers/{offer}/versions/{version}/sboms/{digest}
    GET /api/v1/orgs/{org}/offers/{offer}/versions/{version}/steps
    GET /api/v1/orgs/{org}/subscriptions
    GET /api/v1/orgs/{org}/subscriptions/{id}
    GET /api/v1/orgs/{org}/subscriptions/{id}/deployments
    GET /api/v1/orgs/{org}/subscriptions/{id}/pull-secrets
    GET /api/v1/orgs/{org}/subscriptions/{id}/usage
    GET /api/v1/orgs/{org}/usage
    GET /api/v1/orgs/{org}/webhooks
    GET /api/v1/orgs/{org}/webhooks/{id}/deliveries
    GET /api/v1/schemas/offer.json
    GET /api/v1/user
    GET /api/v1/user/tokens
    GET /api/v1/users
    GET /api/v1/users/{name}
    PATCH /api/v1/orgs/{org}
    PATCH /api/v1/users/{name}
    POST /api/v1/access-offers
    POST /api/v1/advisories
    POST /api/v1/orgs
    POST /api/v1/orgs/{org}/access
    POST /api/v1/orgs/{org}/media
    POST /api/v1/orgs/{org}/offers
    POST /api/v1/orgs/{org}/offers/{offer}/cancel
    POST /api/v1/orgs/{org}/offers/{offer}/go-live
    POST /api/v1/orgs/{org}/offers/{offer}/plans/{plan}/resume
    POST /api/v1/orgs/{org}/offers/{offer}/plans/{plan}/stop-sell
    POST /api/v1/orgs/{org}/offers/{offer}/resume
    POST /api/v1/orgs/{org}/offers/{offer}/stop-sell
    POST /api/v1/orgs/{org}/offers/{offer}/submit
    POST /api/v1/orgs/{org}/subscriptions
    POST /api/v1/orgs/{org}/subscriptions/{id}/cancel
    POST /api/v1/orgs/{org}/subscriptions/{id}/deployments
    POST /api/v1/orgs/{org}/subscriptions/{id}/pull-secrets
    POST /api/v1/orgs/{org}/subscriptions/{id}/usage-key
    POST /api/v1/orgs/{org}/webhooks
    POST /api/v1/usage
    POST /api/v1/user/tokens
    POST /api/v1/users
    PUT /api/v1/access-offers/{name}
    PUT /api/v1/orgs/{org}/approval
    PUT /api/v1/orgs/{org}/members/{user}
    PUT /api/v1/orgs/{org}/offers/{offer}/draft
    ");
    // Every problem response is documented as problem+json.
    let text = doc.to_string();
    assert!(text.contains("application/problem+json"));
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}
