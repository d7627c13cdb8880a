//! Access offers, subscriptions and entitlement-scoped pulls, over HTTP: operators
//! define access offers of base and add-on plans with quotas; a customer
//! organization subscribes to one before it may subscribe to the items it opens,
//! accepting their terms; quotas are enforced with an error naming the quota and its
//! limit; pulls follow entitlements only (user tokens and per-subscription pull
//! secrets); cancelling refuses new tokens at once; stop-selling keeps subscribers
//! pulling and seeing the listing; other tenants' subscriptions do not exist for
//! them.

mod common;

use common::publishing::{BASE, PERMISSIVE, document, get_manifest, go_live, setup};
use common::{PASSWORD, TestApp, json};
use reqwest::Method;
use serde_json::{Value, json};

const FREE_REPO: &str = "mp/contoso/db/free/example-db";
const CLUSTER_REPO: &str = "mp/contoso/db/byol-cluster/example-db";

/// A live `contoso/db` (plans `free` and `byol-cluster`), customers `fabrikam`
/// (owner `cust`) and `northwind` (owner `outsider`).
async fn live() -> (TestApp, wharf_app::App, tempfile::TempDir) {
    let (app, application, dir) = setup(Some(PERMISSIVE)).await;
    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/contoso/approval").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let doc = document(&app).await;
    go_live(&app, &application, &doc).await;
    (app, application, dir)
}

fn access_offers() -> [Value; 2] {
    [
        json!({
            "name": "standard", "display_name": "Standard access",
            "plans": [
                {"name": "databases", "kind": "base", "opens": {"categories": ["databases"]}, "quotas": {"subscriptions": 1}},
                {"name": "more", "kind": "add_on", "opens": {"publishers": ["contoso"]}, "quotas": {"subscriptions": 1}},
            ],
        }),
        json!({
            "name": "vip", "display_name": "For fabrikam", "visibility": "private", "audience": ["fabrikam"],
            "plans": [{"name": "everything", "kind": "base", "opens": {"all": true}}],
        }),
    ]
}

async fn post(app: &TestApp, user: &str, path: &str, body: &Value) -> (u16, Value) {
    json(app.as_user(Method::POST, user, path).json(body).send().await.unwrap()).await
}

async fn get(app: &TestApp, user: &str, path: &str) -> (u16, Value) {
    json(app.as_user(Method::GET, user, path).send().await.unwrap()).await
}

/// Creates the two access offers and subscribes fabrikam to `standard`'s base plan.
async fn standard_access(app: &TestApp) {
    for offer in access_offers() {
        let (status, body) = post(app, "admin", "/api/v1/access-offers", &offer).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) =
        post(app, "cust", "/api/v1/orgs/fabrikam/access", &json!({"access_offer": "standard", "plan": "databases"}))
            .await;
    assert_eq!((status, body["kind"].as_str()), (201, Some("base")), "{body}");
}

async fn subscribe(app: &TestApp, plan: &str) -> (u16, Value) {
    let body = json!({"offer": "contoso/db", "plan": plan, "accept_terms": true});
    post(app, "cust", "/api/v1/orgs/fabrikam/subscriptions", &body).await
}

/// What a registry token for `scope` grants, asked with Basic `user:secret`: the
/// HTTP status, the granted actions, the token and its lifetime.
async fn token(app: &TestApp, user: &str, secret: &str, scope: &str) -> (u16, Vec<String>, String, u64) {
    let r = app
        .http
        .get(format!("{}/token", app.url))
        .query(&[("service", "wharf-registry"), ("scope", scope)])
        .basic_auth(user, Some(secret))
        .send()
        .await
        .unwrap();
    let (status, body) = json(r).await;
    let token = body["token"].as_str().unwrap_or_default().to_owned();
    let granted = match token.split('.').nth(1) {
        Some(payload) => {
            use base64::Engine as _;
            let claims: Value =
                serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap())
                    .unwrap();
            claims["access"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|a| a["actions"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()))
                .collect()
        }
        None => Vec::new(),
    };
    (status, granted, token, body["expires_in"].as_u64().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_offers_open_items_and_quotas_bound_subscriptions() {
    let (app, _application, _dir) = live().await;

    // A definition with every field wrong: each problem reported at once, nothing stored.
    let bad = json!({
        "name": "Bad Name", "display_name": "", "visibility": "secret", "audience": ["contoso", "nobody"],
        "plans": [
            {"name": "a", "kind": "extra", "opens": {"all": true, "categories": ["no-such-category"]},
             "quotas": {"gigawatts": 1, "pulled_gb_per_month": 3}},
            {"name": "a", "kind": "add_on", "opens": {"items": ["not-an-item"]}},
        ],
    });
    let (status, problem) = post(&app, "admin", "/api/v1/access-offers", &bad).await;
    assert_eq!(status, 422, "{problem}");
    let pointers: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
    insta::assert_snapshot!(pointers.join("\n"), @"
    /name
    /display_name
    /visibility
    /audience
    /audience/0
    /audience/1
    /plans/0/kind
    /plans/0/opens
    /plans/0/opens/categories/0
    /plans/0/quotas/gigawatts
    /plans/0/quotas/pulled_gb_per_month
    /plans/1/name
    /plans/1/opens/items/0
    /plans
    ");
    let (_, all) = get(&app, "admin", "/api/v1/access-offers").await;
    assert_eq!(all, json!([]));
    // Customers do not define access offers.
    let (status, _) = post(&app, "cust", "/api/v1/access-offers", &access_offers()[0]).await;
    assert_eq!(status, 403);

    // Before any access subscription, the item cannot be subscribed to.
    for offer in access_offers() {
        let (status, body) = post(&app, "admin", "/api/v1/access-offers", &offer).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, problem) = subscribe(&app, "free").await;
    assert_eq!(status, 403, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("no access plan of organization fabrikam opens contoso/db"));

    // A private access offer exists only for its audience.
    let (_, seen) = get(&app, "outsider", "/api/v1/access-offers").await;
    let names: Vec<&str> = seen.as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["standard"]);
    let (status, _) = get(&app, "outsider", "/api/v1/access-offers/vip").await;
    assert_eq!(status, 404);
    let (status, missing) =
        post(&app, "outsider", "/api/v1/orgs/northwind/access", &json!({"access_offer": "vip", "plan": "everything"}))
            .await;
    let (_, absent) =
        post(&app, "outsider", "/api/v1/orgs/northwind/access", &json!({"access_offer": "nope", "plan": "everything"}))
            .await;
    assert_eq!(status, 404);
    assert_eq!(
        missing["detail"].as_str().unwrap().replace("vip", "X"),
        absent["detail"].as_str().unwrap().replace("nope", "X")
    );
    let (_, fabrikam_sees) = get(&app, "cust", "/api/v1/access-offers/vip").await;
    assert_eq!(fabrikam_sees["audience"], Value::Null, "customers do not see other tenants named: {fabrikam_sees}");

    // An add-on needs its base plan.
    let add_on = json!({"access_offer": "standard", "plan": "more"});
    let (status, problem) = post(&app, "cust", "/api/v1/orgs/fabrikam/access", &add_on).await;
    assert_eq!(status, 409);
    assert!(problem["detail"].as_str().unwrap().contains("subscribe to a base plan of \"standard\" first (databases)"));
    let (status, _) =
        post(&app, "cust", "/api/v1/orgs/fabrikam/access", &json!({"access_offer": "standard", "plan": "databases"}))
            .await;
    assert_eq!(status, 201);

    // Terms: must be accepted; a stale SHA-256 is refused.
    let (status, problem) =
        post(&app, "cust", "/api/v1/orgs/fabrikam/subscriptions", &json!({"offer": "contoso/db", "plan": "free"}))
            .await;
    assert_eq!((status, problem["errors"][0]["pointer"].as_str()), (422, Some("/accept_terms")), "{problem}");
    let stale = json!({"offer": "contoso/db", "plan": "free", "accept_terms": true, "terms_sha256": "00".repeat(32)});
    let (status, problem) = post(&app, "cust", "/api/v1/orgs/fabrikam/subscriptions", &stale).await;
    assert_eq!(status, 409, "{problem}");
    let (_, listing) = get(&app, "cust", "/api/v1/catalog/contoso/db").await;
    let terms = listing["terms_sha256"].as_str().unwrap().to_owned();

    // The same subscription twice under one Idempotency-Key: one subscription.
    let body = json!({"offer": "contoso/db", "plan": "free", "accept_terms": true, "terms_sha256": terms, "share_contact": true});
    let mut answers = Vec::new();
    for _ in 0..2 {
        let r = app
            .as_user(Method::POST, "cust", "/api/v1/orgs/fabrikam/subscriptions")
            .header("idempotency-key", "3c1f6a52-5d1e-4d4b-9b8e-2f4f1d0c9a77")
            .json(&body)
            .send()
            .await
            .unwrap();
        answers.push(json(r).await);
    }
    assert_eq!(answers[0].0, 201, "{}", answers[0].1);
    assert_eq!(answers[0], answers[1]);
    let sub = answers[0].1.clone();
    assert_eq!(sub["terms"]["sha256"], json!(terms));
    assert_eq!(sub["terms"]["accepted_by"], "cust");
    assert_eq!(sub["access"], "standard/databases");
    assert_eq!(sub["repositories"], json!([format!("{}/{FREE_REPO}", app.url.trim_start_matches("http://"))]));
    let (_, list) = get(&app, "cust", "/api/v1/orgs/fabrikam/subscriptions").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    // Without the key, a second subscription to the same plan is a conflict.
    let (status, _) = subscribe(&app, "free").await;
    assert_eq!(status, 409);

    // The quota: one subscription through the base plan.
    let (status, problem) = subscribe(&app, "byol-cluster").await;
    assert_eq!((status, problem["type"].as_str()), (403, Some("urn:wharf:problem:quota-exceeded")), "{problem}");
    insta::assert_snapshot!(problem["detail"].as_str().unwrap(), @"
    quota subscriptions of access offer \"standard\" is used up: 1 of 1 subscriptions; cancel one, or add an add-on plan that raises it
    ");
    let (_, usage) = get(&app, "cust", "/api/v1/orgs/fabrikam/usage").await;
    assert_eq!(
        usage["access"][0]["quotas"],
        json!([{"quota": "subscriptions", "limit": 1, "used": 1}, {"quota": "deployments", "used": 0}])
    );
    // The add-on raises it.
    let (status, _) = post(&app, "cust", "/api/v1/orgs/fabrikam/access", &add_on).await;
    assert_eq!(status, 201);
    let (status, body) = subscribe(&app, "byol-cluster").await;
    assert_eq!(status, 201, "{body}");
    let (_, usage) = get(&app, "admin", "/api/v1/orgs/fabrikam/usage").await;
    assert_eq!(usage["access"][0]["plans"], json!(["databases", "more"]));
    assert_eq!(
        usage["access"][0]["quotas"],
        json!([{"quota": "subscriptions", "limit": 2, "used": 2}, {"quota": "deployments", "used": 0}])
    );
    let (_, standard) = get(&app, "admin", "/api/v1/access-offers/standard").await;
    assert_eq!(standard["subscribers"], json!(["fabrikam"]));

    // Another tenant: fabrikam's subscription does not exist for it, by any path.
    let id = sub["id"].as_i64().unwrap();
    for path in [
        format!("/api/v1/orgs/fabrikam/subscriptions/{id}"),
        format!("/api/v1/orgs/northwind/subscriptions/{id}"),
        format!("/api/v1/orgs/fabrikam/subscriptions/{id}/pull-secrets"),
        "/api/v1/orgs/fabrikam/usage".to_owned(),
        "/api/v1/orgs/fabrikam/access".to_owned(),
    ] {
        let (status, _) = get(&app, "outsider", &path).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = post(
        &app,
        "outsider",
        &format!("/api/v1/orgs/fabrikam/subscriptions/{id}/pull-secrets"),
        &json!({"name": "steal"}),
    )
    .await;
    assert_eq!(status, 404);

    // The access subscription cannot go while subscriptions go through it; the plan
    // cannot be removed while subscribed; the access offer cannot be deleted.
    let (_, access) = get(&app, "cust", "/api/v1/orgs/fabrikam/access").await;
    let base = access.as_array().unwrap().iter().find(|a| a["plan"] == "databases").unwrap()["id"].as_i64().unwrap();
    let r = app.as_user(Method::DELETE, "cust", &format!("/api/v1/orgs/fabrikam/access/{base}")).send().await.unwrap();
    assert_eq!(r.status(), 409);
    let mut fewer = access_offers()[0].clone();
    fewer["plans"].as_array_mut().unwrap().truncate(1);
    let r = app.as_user(Method::PUT, "admin", "/api/v1/access-offers/standard").json(&fewer).send().await.unwrap();
    let (status, problem) = json(r).await;
    assert_eq!(status, 409);
    assert!(problem["detail"].as_str().unwrap().contains("plan \"more\" cannot be removed: fabrikam subscribe"));
    let r = app.as_user(Method::DELETE, "admin", "/api/v1/access-offers/standard").send().await.unwrap();
    assert_eq!(r.status(), 409);
    let r = app.as_user(Method::DELETE, "admin", "/api/v1/access-offers/vip").send().await.unwrap();
    assert_eq!(r.status(), 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_follow_entitlements_and_end_with_the_subscription() {
    let (app, _application, _dir) = live().await;
    standard_access(&app).await;
    let free_pull = format!("repository:{FREE_REPO}:pull");
    let cluster_pull = format!("repository:{CLUSTER_REPO}:pull");

    // Not subscribed yet: nothing.
    let (_, granted, _, _) = token(&app, "cust", PASSWORD, &free_pull).await;
    assert!(granted.is_empty());
    let (status, sub) = subscribe(&app, "free").await;
    assert_eq!(status, 201, "{sub}");
    let id = sub["id"].as_i64().unwrap();

    // A member's token pulls the subscribed plan's repository, not another plan's,
    // and lives at most five minutes; another tenant gets nothing.
    let (_, granted, bearer, ttl) = token(&app, "cust", PASSWORD, &free_pull).await;
    assert_eq!(granted, ["pull"]);
    assert!(ttl <= 270, "{ttl}: with 30 s of allowed clock skew, at most five minutes");
    let (status, _, _) = get_manifest(&app, Some(&format!("Bearer {bearer}")), FREE_REPO, "1.0.0").await;
    assert_eq!(status, 200);
    let (_, granted, _, _) = token(&app, "cust", PASSWORD, &cluster_pull).await;
    assert!(granted.is_empty());
    let (_, granted, _, _) = token(&app, "outsider", PASSWORD, &free_pull).await;
    assert!(granted.is_empty());

    // A pull secret: the subscription's repository only, never the publisher's sources.
    let (status, secret) = post(
        &app,
        "cust",
        &format!("/api/v1/orgs/fabrikam/subscriptions/{id}/pull-secrets"),
        &json!({"name": "prod cluster"}),
    )
    .await;
    assert_eq!(status, 201, "{secret}");
    let (user, password) = (secret["username"].as_str().unwrap(), secret["password"].as_str().unwrap());
    assert!(password.starts_with("wharf_pull_"));
    assert!(secret["kubernetes_secret"].as_str().unwrap().contains("type: kubernetes.io/dockerconfigjson"));
    let (status, granted, pulled, _) = token(&app, user, password, &free_pull).await;
    assert_eq!((status, granted), (200, vec!["pull".to_owned()]));
    let (status, _, _) = get_manifest(&app, Some(&format!("Bearer {pulled}")), FREE_REPO, "1.0.0").await;
    assert_eq!(status, 200);
    for scope in
        [cluster_pull.clone(), "repository:contoso/example-db:pull".into(), format!("repository:{FREE_REPO}:push")]
    {
        let (_, granted, _, _) = token(&app, user, password, &scope).await;
        assert!(granted.iter().all(|a| a != "push") && (scope.ends_with(":push") || granted.is_empty()), "{scope}");
    }
    let (status, _, _, _) = token(&app, "cust", password, &free_pull).await;
    assert_eq!(status, 401, "a pull secret logs in only under its own user name");
    let r = app.with_token(Method::GET, password, "/api/v1/user").send().await.unwrap();
    assert_eq!(r.status(), 401, "a pull secret is no API credential");
    let (_, listed) = get(&app, "cust", &format!("/api/v1/orgs/fabrikam/subscriptions/{id}/pull-secrets")).await;
    assert_eq!(listed[0]["name"], "prod cluster");
    assert!(listed[0].get("password").is_none());

    // Stop-sell: the subscriber keeps seeing and pulling; a newcomer sees nothing.
    let r = app.as_user(Method::POST, "dev", &format!("{BASE}/db/stop-sell")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (status, _) = get(&app, "cust", "/api/v1/catalog/contoso/db").await;
    assert_eq!(status, 200);
    let (_, found) = get(&app, "cust", "/api/v1/catalog?q=example").await;
    assert_eq!(found["total"], 1);
    let (status, _) = get(&app, "outsider", "/api/v1/catalog/contoso/db").await;
    assert_eq!(status, 404);
    let (_, granted, _, _) = token(&app, "cust", PASSWORD, &free_pull).await;
    assert_eq!(granted, ["pull"]);
    let (_, granted, _, _) = token(&app, user, password, &free_pull).await;
    assert_eq!(granted, ["pull"]);

    // A token past its expiry (with the clock skew verification allows) pulls nothing,
    // though it names the repository: cancelled access ends within a token's life.
    let now = wharf_core::Timestamp::now().as_secs();
    let forged = |exp: i64| {
        let claims = wharf_auth::registry::RegistryClaims {
            iss: app.state.auth.settings().issuer.clone(),
            sub: "cust".into(),
            aud: app.state.auth.settings().service.clone(),
            exp,
            nbf: now - 600,
            iat: now - 600,
            jti: format!("test-{exp}"),
            access: vec![wharf_auth::registry::Access {
                resource_type: "repository".into(),
                name: FREE_REPO.into(),
                actions: vec!["pull".into()],
            }],
        };
        format!("Bearer {}", app.state.auth.keys().sign(&claims).unwrap())
    };
    let (status, _, _) = get_manifest(&app, Some(&forged(now + 60)), FREE_REPO, "1.0.0").await;
    assert_eq!(status, 200);
    let (status, code, _) = get_manifest(&app, Some(&forged(now - 31)), FREE_REPO, "1.0.0").await;
    assert_eq!((status, code.as_str()), (401, "UNAUTHORIZED"));

    // Cancelling: new tokens refused at once, for members and the pull secret alike.
    let (status, cancelled) =
        post(&app, "cust", &format!("/api/v1/orgs/fabrikam/subscriptions/{id}/cancel"), &json!({})).await;
    assert_eq!((status, cancelled["status"].as_str()), (200, Some("cancelled")), "{cancelled}");
    let (_, granted, _, _) = token(&app, "cust", PASSWORD, &free_pull).await;
    assert!(granted.is_empty());
    let (status, _, _, _) = token(&app, user, password, &free_pull).await;
    assert_eq!(status, 401);
    // The stop-sold listing is gone for the former subscriber.
    let (status, _) = get(&app, "cust", "/api/v1/catalog/contoso/db").await;
    assert_eq!(status, 404);
    let (status, _) = post(&app, "cust", &format!("/api/v1/orgs/fabrikam/subscriptions/{id}/cancel"), &json!({})).await;
    assert_eq!(status, 409);
}

/// Replaces the registry host and digests in rendered text, for snapshots.
fn redact(app: &TestApp, text: &str) -> String {
    let host = app.url.trim_start_matches("http://");
    let digests = regex::Regex::new("sha256:[0-9a-f]{64}").unwrap();
    let secrets = regex::Regex::new("wharf_pull_[0-9A-Za-z]+").unwrap();
    let text = digests.replace_all(&text.replace(host, "[registry]"), "sha256:[digest]").into_owned();
    secrets.replace_all(&text, "[password]").into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_render_checked_values_inertly_within_the_quota() {
    let (app, _application, _dir) = live().await;
    let mut access = access_offers()[0].clone();
    access["plans"][0]["quotas"] = json!({"subscriptions": 2, "deployments": 1});
    let (status, body) = post(&app, "admin", "/api/v1/access-offers", &access).await;
    assert_eq!(status, 201, "{body}");
    let (status, _) =
        post(&app, "cust", "/api/v1/orgs/fabrikam/access", &json!({"access_offer": "standard", "plan": "databases"}))
            .await;
    assert_eq!(status, 201);
    let (_, free) = subscribe(&app, "free").await;
    let (_, cluster) = subscribe(&app, "byol-cluster").await;
    let deploy = |id: &Value| format!("/api/v1/orgs/fabrikam/subscriptions/{id}/deployments");

    // Shell syntax, newlines and placeholders in a value: one inert argument.
    let hostile = "p'; rm -rf / #\n$(id) `id` ${HOME} }";
    let body = json!({"values": {"password": hostile, "port": "15432"}, "dry_run": true});
    let (status, dry) = post(&app, "cust", &deploy(&free["id"]), &body).await;
    assert_eq!(status, 200, "{dry}");
    insta::assert_snapshot!(redact(&app, &dry["commands"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect::<Vec<_>>().join("\n")), @"
    docker login --username <pull-secret-user> --password-stdin [registry]
    docker run -d --name example-db -p 15432:5432 -e \"DB_PASSWORD=p'; rm -rf / #
    \"'$(id) `id` ${HOME} }' [registry]/mp/contoso/db/free/example-db@sha256:[digest]
    ");
    assert!(dry["argv"].as_array().unwrap().contains(&json!(format!("DB_PASSWORD={hostile}"))));
    assert!(dry.get("id").is_none() && dry.get("password").is_none(), "a dry run issues nothing: {dry}");

    // A missing required value with two invalid ones: all three reported, nothing recorded.
    let (status, problem) =
        post(&app, "cust", &deploy(&cluster["id"]), &json!({"values": {"replicas": "4", "colour": "blue"}})).await;
    assert_eq!(status, 422, "{problem}");
    let errors: Vec<String> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{}: {}", e["pointer"].as_str().unwrap(), e["detail"].as_str().unwrap()))
        .collect();
    insta::assert_snapshot!(errors.join("\n"), @"
    /values/colour: the plan has no parameter \"colour\" (it has: replicas, license)
    /values/replicas: must be one of 3, 5
    /values/license: is required
    ");
    let (_, none) = get(&app, "cust", &deploy(&cluster["id"])).await;
    assert_eq!(none, json!([]));

    // Kubernetes: YAML syntax in a value adds no field; every document is an API object.
    let license = "KEY\nkind: Secret\nmetadata: {name: evil}\n\"}: ${replicas}";
    let (status, k8s) =
        post(&app, "cust", &deploy(&cluster["id"]), &json!({"values": {"license": license, "replicas": 5}})).await;
    assert_eq!(status, 201, "{k8s}");
    let manifests = k8s["files"][0]["content"].as_str().unwrap();
    let docs: Vec<Value> =
        yaml_serde::Deserializer::from_str(manifests).map(|d| serde::Deserialize::deserialize(d).unwrap()).collect();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Secret", "StatefulSet"]);
    let pod = &docs[1]["spec"]["template"]["spec"];
    assert_eq!(pod["containers"][0]["env"][0]["value"], json!(license));
    assert_eq!(docs[1]["spec"]["replicas"], json!(5));
    assert!(pod["containers"][0]["image"].as_str().unwrap().contains(&format!("/{CLUSTER_REPO}@sha256:")));
    assert_eq!(pod["imagePullSecrets"][0]["name"], docs[0]["metadata"]["name"]);
    // The deployment's credential pulls the plan's image.
    let (user, password) = (k8s["username"].as_str().unwrap(), k8s["password"].as_str().unwrap());
    let (_, granted, _, _) = token(&app, user, password, &format!("repository:{CLUSTER_REPO}:pull")).await;
    assert_eq!(granted, ["pull"]);

    // The deployments quota: one; deleting the deployment frees it and revokes its credential.
    let (status, problem) = post(&app, "cust", &deploy(&free["id"]), &json!({})).await;
    assert_eq!((status, problem["type"].as_str()), (403, Some("urn:wharf:problem:quota-exceeded")), "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("quota deployments is used up: 1 of 1"), "{problem}");
    let path = format!("{}/{}", deploy(&cluster["id"]), k8s["id"]);
    assert_eq!(app.as_user(Method::DELETE, "cust", &path).send().await.unwrap().status(), 204);
    let (status, _, _, _) = token(&app, user, password, &format!("repository:{CLUSTER_REPO}:pull")).await;
    assert_eq!(status, 401);
    let (status, container) = post(&app, "cust", &deploy(&free["id"]), &json!({"name": "edge-db"})).await;
    assert_eq!(status, 201, "{container}");
    assert_eq!(container["generated"], json!(["password"]));
    assert_eq!(container["values"]["password"].as_str().unwrap().len(), 24);
    // Another tenant renders nothing of fabrikam's.
    let (status, _) = post(&app, "outsider", &deploy(&free["id"]), &json!({"dry_run": true})).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metered_usage_counts_each_hour_once_under_the_subscriptions_own_key() {
    let (app, application, _dir) = setup(Some(PERMISSIVE)).await;
    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/contoso/approval").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut doc = document(&app).await;
    doc["plans"][0]["pricing"] = json!({"model": "per_core_hour", "price": "0.05", "currency": "USD",
        "dimensions": [{"id": "requests", "name": "API requests", "unit": "1k requests", "price": "0.01"}]});
    go_live(&app, &application, &doc).await;
    let all = json!({"name": "all", "display_name": "Everything", "plans": [{"name": "all", "kind": "base", "opens": {"all": true}}]});
    assert_eq!(post(&app, "admin", "/api/v1/access-offers", &all).await.0, 201);
    let mut keys = Vec::new();
    let mut ids = Vec::new();
    for (user, org) in [("cust", "fabrikam"), ("outsider", "northwind")] {
        let access = json!({"access_offer": "all", "plan": "all"});
        assert_eq!(post(&app, user, &format!("/api/v1/orgs/{org}/access"), &access).await.0, 201);
        let body = json!({"offer": "contoso/db", "plan": "free", "accept_terms": true});
        let (status, sub) = post(&app, user, &format!("/api/v1/orgs/{org}/subscriptions"), &body).await;
        assert_eq!(status, 201, "{sub}");
        let id = sub["id"].as_i64().unwrap();
        let (status, key) =
            post(&app, user, &format!("/api/v1/orgs/{org}/subscriptions/{id}/usage-key"), &json!({})).await;
        assert_eq!(status, 201, "{key}");
        keys.push(key["key"].as_str().unwrap().to_owned());
        ids.push(id);
    }
    let with_key =
        |method: Method, path: &str, key: &str| app.http.request(method, format!("{}{path}", app.url)).bearer_auth(key);

    // The entitlement check.
    let (status, e) = json(with_key(Method::GET, "/api/v1/entitlement", &keys[0]).send().await.unwrap()).await;
    assert_eq!(status, 200, "{e}");
    assert_eq!(
        (e["active"].as_bool(), e["offer"].as_str(), e["plan"].as_str(), e["org"].as_str()),
        (Some(true), Some("contoso/db"), Some("free"), Some("fabrikam"))
    );
    assert_eq!(e["dimensions"], json!(["core_hours", "requests"]));
    for bad in ["wharf_usage_nope", "wharf_pat_nope"] {
        let (status, _) = json(with_key(Method::GET, "/api/v1/entitlement", bad).send().await.unwrap()).await;
        assert_eq!(status, 401);
    }

    // One hour reported three times: counted once, with the first quantity.
    let hour = wharf_core::Timestamp::from_millis(wharf_core::Timestamp::now().as_millis() - 3_600_000).to_string();
    let report = |key: &str, body: Value| {
        let rb = with_key(Method::POST, "/api/v1/usage", key).json(&body);
        async move { json(rb.send().await.unwrap()).await }
    };
    let body = json!({"subscription": ids[0], "dimension": "core_hours", "hour": hour, "quantity": 4});
    let (status, first) = report(&keys[0], body.clone()).await;
    assert_eq!(
        (status, first["status"].as_str(), first["quantity"].as_f64()),
        (200, Some("accepted"), Some(4.0)),
        "{first}"
    );
    let (_, again) = report(&keys[0], body.clone()).await;
    assert_eq!((again["status"].as_str(), again["quantity"].as_f64()), (Some("duplicate"), Some(4.0)));
    let mut more = body.clone();
    more["quantity"] = json!(9.5);
    let (_, changed) = report(&keys[0], more).await;
    assert_eq!((changed["status"].as_str(), changed["quantity"].as_f64()), (Some("duplicate"), Some(4.0)));
    let (status, _) =
        report(&keys[0], json!({"subscription": ids[0], "dimension": "requests", "hour": hour, "quantity": 1.25}))
            .await;
    assert_eq!(status, 200);
    // Another subscription's key: refused.
    let (status, problem) = report(&keys[1], body.clone()).await;
    assert_eq!(status, 403, "{problem}");
    // Every bad field at once.
    let far = wharf_core::Timestamp::from_millis(wharf_core::Timestamp::now().as_millis() - 3 * 86_400_000).to_string();
    let (status, problem) =
        report(&keys[0], json!({"subscription": ids[0], "dimension": "gpu", "hour": far, "quantity": -1})).await;
    assert_eq!(status, 422);
    let pointers: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
    assert_eq!(pointers, ["/dimension", "/hour", "/quantity"], "{problem}");

    // Read per subscription (the customer) and per offer (the publisher).
    let month: String = hour.chars().take(7).collect();
    let (_, mine) =
        get(&app, "cust", &format!("/api/v1/orgs/fabrikam/subscriptions/{}/usage?month={month}", ids[0])).await;
    let totals: Vec<(String, f64, i64)> = mine["usage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (u["dimension"].as_str().unwrap().to_owned(), u["quantity"].as_f64().unwrap(), u["hours"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(totals, [("core_hours".to_owned(), 4.0, 1), ("requests".to_owned(), 1.25, 1)]);
    let (_, publisher) = get(&app, "dev", &format!("/api/v1/orgs/contoso/offers/db/usage?month={month}")).await;
    assert_eq!(publisher["usage"].as_array().unwrap().len(), 2, "{publisher}");
    assert_eq!(publisher["usage"][0]["org"], "fabrikam");
    let (status, _) = get(&app, "outsider", &format!("/api/v1/orgs/fabrikam/subscriptions/{}/usage", ids[0])).await;
    assert_eq!(status, 404);
    let (status, _) =
        get(&app, "cust", &format!("/api/v1/orgs/fabrikam/subscriptions/{}/usage?month=2026-13", ids[0])).await;
    assert_eq!(status, 422);

    // Cancelled: the check says so; the hour it was cancelled in can still be
    // reported (it began while the subscription was active), later ones are future.
    let (status, _) =
        post(&app, "cust", &format!("/api/v1/orgs/fabrikam/subscriptions/{}/cancel", ids[0]), &json!({})).await;
    assert_eq!(status, 200);
    let (_, e) = json(with_key(Method::GET, "/api/v1/entitlement", &keys[0]).send().await.unwrap()).await;
    assert_eq!(e["active"], false);
    let now = wharf_core::Timestamp::now().to_string();
    let (status, late) =
        report(&keys[0], json!({"subscription": ids[0], "dimension": "core_hours", "hour": now, "quantity": 1})).await;
    assert_eq!((status, late["status"].as_str()), (200, Some("accepted")), "{late}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_private_to_another_tenant_is_indistinguishable_from_a_missing_one() {
    let (app, application, _dir) = setup(Some(PERMISSIVE)).await;
    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/contoso/approval").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut doc = document(&app).await;
    doc["plans"][1]["visibility"] = json!("private");
    doc["plans"][1]["audience"] = json!(["fabrikam"]);
    go_live(&app, &application, &doc).await;
    let all = json!({"name": "all", "display_name": "Everything", "plans": [{"name": "all", "kind": "base", "opens": {"all": true}}]});
    assert_eq!(post(&app, "admin", "/api/v1/access-offers", &all).await.0, 201);
    for (user, org) in [("cust", "fabrikam"), ("outsider", "northwind")] {
        let access = json!({"access_offer": "all", "plan": "all"});
        assert_eq!(post(&app, user, &format!("/api/v1/orgs/{org}/access"), &access).await.0, 201);
    }
    let try_plan = |user: &'static str, org: &'static str, plan: &'static str| {
        let body = json!({"offer": "contoso/db", "plan": plan, "accept_terms": true});
        let path = format!("/api/v1/orgs/{org}/subscriptions");
        let app = &app;
        async move { post(app, user, &path, &body).await }
    };
    let (status, private) = try_plan("outsider", "northwind", "byol-cluster").await;
    let (missing_status, missing) = try_plan("outsider", "northwind", "no-such-plan").await;
    assert_eq!((status, missing_status), (404, 404));
    assert_eq!(
        private["detail"].as_str().unwrap().replace("byol-cluster", "X"),
        missing["detail"].as_str().unwrap().replace("no-such-plan", "X")
    );
    let (status, body) = try_plan("cust", "fabrikam", "byol-cluster").await;
    assert_eq!(status, 201, "{body}");
    // Viewers see; only admins subscribe (and a viewer's 403 names no other tenant).
    app.user("reader").await;
    app.member("fabrikam", "reader", wharf_core::Role::Viewer).await;
    let (status, _) = try_plan("reader", "fabrikam", "free").await;
    assert_eq!(status, 403);
    let (status, listed) = get(&app, "reader", "/api/v1/orgs/fabrikam/subscriptions").await;
    assert_eq!((status, listed.as_array().unwrap().len()), (200, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_ui_definition_form_drives_the_deployment_and_what_cannot_render_is_named() {
    let (app, application, _dir) = setup(Some(PERMISSIVE)).await;
    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/contoso/approval").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut doc = document(&app).await;
    let form = |extra: Value| {
        json!({
            "$schema": "https://schema.management.azure.com/schemas/0.1.2-preview/CreateUIDefinition.MultiVm.json#",
            "handler": "Microsoft.Azure.CreateUIDef",
            "version": "0.1.2-preview",
            "parameters": {
                "basics": [{"name": "hostPort", "type": "Microsoft.Common.Slider", "label": "Port", "min": 1024, "max": 65535, "defaultValue": 8080}],
                "steps": [{"name": "secrets", "label": "Secrets", "elements": [
                    {"name": "pw", "type": "Microsoft.Common.PasswordBox", "label": {"password": "Password"},
                     "constraints": {"required": true, "regex": "^.{12,}$", "validationMessage": "at least 12 characters"}},
                    extra
                ]}],
                "outputs": {"hostPort": "[basics('hostPort')]", "dbPassword": "[steps('secrets').pw]"}
            }
        })
    };
    let plan = &mut doc["plans"][0]["deployment"];
    plan["template"] =
        json!("docker run -d -p ${hostPort}:5432 -e DB_PASSWORD=${dbPassword} ${image:contoso/example-db}");
    plan["parameters"] = json!([]);
    plan["ui_definition"] =
        form(json!({"name": "vnet", "type": "Microsoft.Network.VirtualNetworkCombo", "label": "VNet"}));
    // An element Wharf cannot render is named; nothing is saved.
    let draft = "/api/v1/orgs/contoso/offers/db/draft";
    let r = app.as_user(Method::GET, "dev", draft).send().await.unwrap();
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let (status, problem) =
        json(app.as_user(Method::PUT, "dev", draft).header("if-match", &etag).json(&doc).send().await.unwrap()).await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["errors"].as_array().unwrap().iter().any(|e| e["pointer"] == "/plans/0/deployment/ui_definition"
            && e["detail"]
                .as_str()
                .unwrap()
                .contains("\"vnet\" is a Microsoft.Network.VirtualNetworkCombo, which Wharf cannot render")),
        "{problem}"
    );
    doc["plans"][0]["deployment"]["ui_definition"] =
        form(json!({"name": "note", "type": "Microsoft.Common.TextBlock", "options": {"text": "hi"}}));
    go_live(&app, &application, &doc).await;
    let all = json!({"name": "all", "display_name": "Everything", "plans": [{"name": "all", "kind": "base", "opens": {"all": true}}]});
    assert_eq!(post(&app, "admin", "/api/v1/access-offers", &all).await.0, 201);
    assert_eq!(
        post(&app, "cust", "/api/v1/orgs/fabrikam/access", &json!({"access_offer": "all", "plan": "all"})).await.0,
        201
    );
    let (_, sub) = subscribe(&app, "free").await;
    let path = format!("/api/v1/orgs/fabrikam/subscriptions/{}/deployments", sub["id"]);
    // The form's constraints are checked, with its messages.
    let (status, problem) =
        post(&app, "cust", &path, &json!({"values": {"dbPassword": "short"}, "dry_run": true})).await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0], json!({"pointer": "/values/dbPassword", "detail": "at least 12 characters"}));
    let (status, dry) =
        post(&app, "cust", &path, &json!({"values": {"dbPassword": "long-enough-pw"}, "dry_run": true})).await;
    assert_eq!(status, 200, "{dry}");
    assert!(dry["argv"].as_array().unwrap().contains(&json!("8080:5432")), "{dry}");
    assert!(dry["argv"].as_array().unwrap().contains(&json!("DB_PASSWORD=long-enough-pw")), "{dry}");
}
