//! The registry's token service and `/v2/` challenge, as a Docker/OCI client sees them.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{PASSWORD, TestApp, json};
use reqwest::Method;
use wharf_core::{OrgKind, Role};

async fn setup() -> TestApp {
    let app = TestApp::start().await;
    for u in ["owner", "dev", "outsider"] {
        app.user(u).await;
    }
    app.org("acme", OrgKind::Publisher, "owner").await;
    app.org("globex", OrgKind::Publisher, "owner").await;
    app.member("acme", "dev", Role::Developer).await;
    app
}

fn claims(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Parses `Bearer realm="…",service="…",scope="…"`.
fn challenge_params(header: &str) -> Vec<(String, String)> {
    let rest = header.strip_prefix("Bearer ").expect("a Bearer challenge");
    rest.split("\",")
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_owned(), v.trim_matches('"').to_owned())
        })
        .collect()
}

/// What every Docker/OCI client does: /v2/ → 401 challenge → realm with the
/// challenge's parameters and Basic credentials → retry with the Bearer token.
#[tokio::test]
async fn standard_client_token_flow() {
    let app = setup().await;
    let r = app.anon(Method::GET, "/v2/").send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["docker-distribution-api-version"], "registry/2.0");
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert_eq!(challenge, format!("Bearer realm=\"{}/token\",service=\"wharf-registry\"", app.url));
    let (_, body) = json(r).await;
    assert_eq!(body["errors"][0]["code"], "UNAUTHORIZED");

    let params = challenge_params(&challenge);
    let realm = &params.iter().find(|(k, _)| k == "realm").unwrap().1;
    let service = &params.iter().find(|(k, _)| k == "service").unwrap().1;
    let r = app
        .http
        .get(realm)
        .query(&[("service", service.as_str()), ("scope", "repository:acme/app:pull,push"), ("account", "dev")])
        .basic_auth("dev", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let (_, body) = json(r).await;
    let token = body["token"].as_str().unwrap();
    assert_eq!(body["access_token"], body["token"]);
    assert_eq!(body["expires_in"], 300);
    assert!(body["issued_at"].as_str().unwrap().ends_with('Z'));

    let r = app.anon(Method::GET, "/v2/").bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["docker-distribution-api-version"], "registry/2.0");
}

#[tokio::test]
async fn granted_access_is_computed_not_echoed() {
    let app = setup().await;
    let get = |user: &'static str, scopes: &'static [&'static str]| {
        let mut q: Vec<(&str, &str)> = vec![("service", "wharf-registry")];
        q.extend(scopes.iter().map(|s| ("scope", *s)));
        let mut rb = app.http.get(format!("{}/token", app.url)).query(&q);
        if !user.is_empty() {
            rb = rb.basic_auth(user, Some(PASSWORD));
        }
        async move {
            let (status, body) = json(rb.send().await.unwrap()).await;
            assert_eq!(status, 200, "{body}");
            claims(body["token"].as_str().unwrap())
        }
    };
    let c = get("dev", &["repository:acme/app:pull,push,delete"]).await;
    assert_eq!(
        c["access"],
        serde_json::json!([{"type": "repository", "name": "acme/app", "actions": ["pull", "push"]}])
    );
    assert_eq!(c["sub"], "dev");
    assert_eq!(c["aud"], "wharf-registry");
    // Another organization's repository: granted nothing.
    assert_eq!(get("dev", &["repository:globex/app:pull"]).await["access"], serde_json::json!([]));
    assert_eq!(get("outsider", &["repository:acme/app:pull"]).await["access"], serde_json::json!([]));
    // Anonymous: a token with no access.
    let c = get("", &["repository:acme/app:pull"]).await;
    assert_eq!((c["sub"].as_str(), &c["access"]), (Some(""), &serde_json::json!([])));
    // Several scopes in one parameter, space-separated (OAuth style).
    let c = get("owner", &["repository:acme/a:pull repository:globex/b:delete"]).await;
    assert_eq!(c["access"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn token_endpoint_refuses_bad_requests_clearly() {
    let app = setup().await;
    let url = format!("{}/token", app.url);
    // Wrong password: 401 with a Basic challenge and the OCI error shape.
    let r = app
        .http
        .get(&url)
        .query(&[("service", "wharf-registry")])
        .basic_auth("dev", Some("nope nope nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic realm="));
    let (_, body) = json(r).await;
    assert_eq!(body["errors"][0]["code"], "UNAUTHORIZED");
    assert_eq!(body["errors"][0]["detail"], "invalid username, password or token");
    for (query, needle) in [
        (vec![], "the service parameter is required"),
        (vec![("service", "elsewhere")], "unknown service \"elsewhere\""),
        (vec![("service", "wharf-registry"), ("scope", "repository")], "malformed scope"),
    ] {
        let (status, body) = json(app.http.get(&url).query(&query).send().await.unwrap()).await;
        assert_eq!(status, 400, "{query:?}");
        assert!(body["errors"][0]["detail"].as_str().unwrap().contains(needle), "{body}");
    }
    // API tokens work as the password; revoked ones do not.
    let secret = app.token("dev", &["registry:pull"]).await;
    let ok = app
        .http
        .get(&url)
        .query(&[("service", "wharf-registry"), ("scope", "repository:acme/app:pull,push")])
        .basic_auth("dev", Some(&secret))
        .send()
        .await
        .unwrap();
    let (_, body) = json(ok).await;
    assert_eq!(
        claims(body["token"].as_str().unwrap())["access"][0]["actions"],
        serde_json::json!(["pull"]),
        "token scopes narrow the grant"
    );
    let (_, list) = json(app.as_user(Method::GET, "dev", "/api/v1/user/tokens").send().await.unwrap()).await;
    let id = list["items"][0]["id"].as_i64().unwrap();
    app.as_user(Method::DELETE, "dev", &format!("/api/v1/user/tokens/{id}")).send().await.unwrap();
    let r = app
        .http
        .get(&url)
        .query(&[("service", "wharf-registry")])
        .basic_auth("dev", Some(&secret))
        .send()
        .await
        .unwrap();
    let (status, body) = json(r).await;
    assert_eq!((status, body["errors"][0]["detail"].as_str()), (401, Some("the API token has been revoked")));
}

#[tokio::test]
async fn v2_refuses_forged_and_foreign_tokens() {
    let app = setup().await;
    let r = app
        .http
        .get(format!("{}/token?service=wharf-registry", app.url))
        .basic_auth("dev", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    let (_, body) = json(r).await;
    let good = body["token"].as_str().unwrap().to_owned();
    let parts: Vec<&str> = good.split('.').collect();
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let foreign = wharf_auth::keys::KeyRing::from_records(&[wharf_auth::keys::generate_key().unwrap()]).unwrap();
    let c = claims(&good);
    let foreign_token = foreign.sign(&c).unwrap();
    let tampered = {
        let mut c = c.clone();
        c["sub"] = "owner".into();
        format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(c.to_string()), parts[2])
    };
    for (token, detail) in [
        (format!("{none_header}.{}.", parts[1]), "malformed token"),
        (tampered, "token signature is invalid"),
        (foreign_token, "token signed by an unknown key"),
        ("garbage".to_owned(), "malformed token"),
    ] {
        let r = app.anon(Method::GET, "/v2/").bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), 401);
        let header = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(header.ends_with(",error=\"invalid_token\""), "{header}");
        let (_, body) = json(r).await;
        assert!(body["errors"][0]["detail"].as_str().unwrap().starts_with(detail), "{body}");
    }
}

/// Third parties can verify our tokens with the published JWK set alone.
#[tokio::test]
async fn jwks_verifies_issued_tokens() {
    let app = setup().await;
    let (status, jwks) = json(app.anon(Method::GET, "/.well-known/jwks.json").send().await.unwrap()).await;
    assert_eq!(status, 200);
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks).unwrap();
    let r = app
        .http
        .get(format!("{}/token?service=wharf-registry&scope=repository:acme/app:pull", app.url))
        .basic_auth("dev", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    let (_, body) = json(r).await;
    let token = body["token"].as_str().unwrap();
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let jwk = set.find(&kid).expect("the signing key is published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&["wharf-registry"]);
    let data = jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation).unwrap();
    assert_eq!(data.claims["iss"], "wharf");
}
