//! Publishers' webhooks, end to end over loopback only: subscriptions through the API,
//! messages from the publishing pipeline, Standard Webhooks signatures, the delivery
//! log, and the destinations refused, proven by a canary listener that no request
//! reaches.
//!
//! "Public" and "private" are modelled on loopback: the receiver listens on 127.0.0.2,
//! which the test's configuration allows (`webhooks.allow`), and the canary on
//! 127.0.0.1, which stays refused; `webhooks.resolve` gives host names their
//! addresses. The other ranges (link-local, cloud metadata, private) are checked by
//! refusal before any connection, never by connecting.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use common::json;
use common::publishing::{PERMISSIVE, offer, run_jobs, setup_configured, submit};
use reqwest::Method;
use serde_json::{Value, json};
use wharf_app::pipeline::CertifyVersion;

/// A listener on 127.0.0.1 that counts connections: nothing may ever reach it.
async fn canary() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    (port, hits)
}

type Received = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// `/hook`, keeping every message it takes (204).
fn hook_router() -> (Received, axum::Router) {
    let received: Received = Arc::default();
    let store = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let store = store.clone();
            async move {
                store.lock().unwrap().push((headers, body));
                StatusCode::NO_CONTENT
            }
        }),
    );
    (received, app)
}

/// The "public" receiver on 127.0.0.2: `/hook` takes messages (204), `/redirect`
/// answers 307 to the canary.
async fn receiver(canary_port: u16) -> (u16, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (received, app) = hook_router();
    let app = app.route(
        "/redirect",
        axum::routing::post(move || async move {
            (StatusCode::TEMPORARY_REDIRECT, [("location", format!("http://127.0.0.1:{canary_port}/hook"))])
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, received)
}

/// A private CA and a certificate it signs for `host`, made by openssl in `dir`:
/// (CA file, certificate chain, key).
fn private_ca(dir: &std::path::Path, host: &str) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Wharf test CA"],
    ]
    .concat());
    run(&[&["req"][..], &ec, &["-keyout", "leaf.key", "-out", "leaf.csr", "-subj", &format!("/CN={host}")]].concat());
    std::fs::write(
        dir.join("leaf.ext"),
        format!("subjectAltName=DNS:{host}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"),
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "1",
        "-extfile",
        "leaf.ext",
    ]);
    (dir.join("ca.pem"), dir.join("leaf.pem"), dir.join("leaf.key"))
}

/// The "public" receiver of [`receiver`], over HTTPS with `cert` and `key`.
async fn tls_receiver(cert: &std::path::Path, key: &std::path::Path) -> (u16, Received) {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(cert).unwrap().map(Result::unwrap).collect();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let config =
        tokio_rustls::rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(chain, key).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (received, app) = hook_router();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(socket).await else { return };
                let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let app = app.clone();
                    async move { tower::ServiceExt::oneshot(app, request.map(axum::body::Body::new)).await }
                });
                let io = hyper_util::rt::TokioIo::new(tls);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
    (port, received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_events_reach_subscribed_webhooks_signed_and_never_a_refused_address() {
    let (canary_port, canary_hits) = canary().await;
    let (port, received) = receiver(canary_port).await;
    let (app, application, _dir) = setup_configured(Some(PERMISSIVE), |c| {
        c.webhooks.allow = vec!["127.0.0.2/32".into()];
        c.webhooks.resolve.insert("hooks.public.test".into(), vec!["127.0.0.2".into()]);
        c.webhooks.resolve.insert("sneaky.test".into(), vec!["127.0.0.1".into()]);
        c.webhooks.resolve.insert("mixed.test".into(), vec!["127.0.0.2".into(), "10.1.2.3".into()]);
    })
    .await;
    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/contoso/approval").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let hooks = "/api/v1/orgs/contoso/webhooks";
    let create = |url: String, events: Vec<&'static str>| {
        app.as_user(Method::POST, "dev", hooks).json(&json!({"url": url, "events": events})).send()
    };

    // Refused when saved: addresses that are not public, in every spelling; unknown
    // event types; no events.
    for url in [
        format!("http://127.0.0.1:{canary_port}/hook"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        format!("http://[::ffff:127.0.0.1]:{canary_port}/hook"),
        format!("http://0x7f000001:{canary_port}/hook"),
        "http://10.0.0.1/hook".to_owned(),
        "http://[fd00::1]/hook".to_owned(),
        "ftp://hooks.public.test/".to_owned(),
    ] {
        let (status, problem) = json(create(url.clone(), vec!["version.live"]).await.unwrap()).await;
        assert_eq!(status, 422, "{url}: {problem}");
        assert_eq!(problem["errors"][0]["pointer"], "/url", "{url}: {problem}");
    }
    let (status, problem) =
        json(create(format!("http://hooks.public.test:{port}/hook"), vec!["version.sold"]).await.unwrap()).await;
    assert_eq!((status, problem["errors"][0]["pointer"].as_str()), (422, Some("/events/0")), "{problem}");
    assert!(problem["errors"][0]["detail"].as_str().unwrap().contains("version.live"), "{problem}");
    // Only the organization's admins manage webhooks.
    app.user("writer").await;
    app.member("contoso", "writer", wharf_core::Role::Developer).await;
    let r = app
        .as_user(Method::POST, "writer", hooks)
        .json(&json!({"url": format!("http://hooks.public.test:{port}/hook"), "events": ["version.live"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Saved (host names are checked at delivery, on what they resolve to then).
    let all = vec!["version.certified", "version.preview", "version.live", "version.attention_needed"];
    let (status, good) =
        json(create(format!("http://hooks.public.test:{port}/hook"), all.clone()).await.unwrap()).await;
    assert_eq!(status, 201, "{good}");
    let secret: wharf_webhook::Secret = good["secret"].as_str().unwrap().parse().unwrap();
    let mut refused_ids = Vec::new();
    for url in [
        format!("http://sneaky.test:{canary_port}/hook"),
        format!("http://mixed.test:{port}/hook"),
        format!("http://hooks.public.test:{port}/redirect"),
    ] {
        let (status, hook) = json(create(url, vec!["version.certified"]).await.unwrap()).await;
        assert_eq!(status, 201, "{hook}");
        refused_ids.push(hook["id"].as_i64().unwrap());
    }
    let (_, listed) = json(app.as_user(Method::GET, "dev", hooks).send().await.unwrap()).await;
    assert_eq!(listed.as_array().unwrap().len(), 4);
    assert!(listed[0].get("secret").is_none(), "the secret is shown once: {listed}");

    // The pipeline runs: certified and in preview, delivered signed.
    let v1 = submit(&app).await;
    run_jobs(&app, &application).await;
    let (key, view) = offer(&app).await;
    assert_eq!(view["state"], "preview");
    let messages = received.lock().unwrap().clone();
    let types: Vec<String> = messages
        .iter()
        .map(|(_, body)| serde_json::from_str::<Value>(body).unwrap()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types, ["version.certified", "version.preview"]);
    for (headers, body) in &messages {
        let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
        let timestamp: i64 = header("webhook-timestamp").parse().unwrap();
        secret.verify(&header("webhook-id"), timestamp, body.as_bytes(), &header("webhook-signature")).unwrap();
        let message: Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            (
                message["data"]["publisher"].as_str(),
                message["data"]["offer"].as_str(),
                message["data"]["version"].as_i64()
            ),
            (Some("contoso"), Some("db"), Some(v1))
        );
    }

    // The certification job again (its worker died after the work): nothing is sent twice.
    let job = CertifyVersion { offer: key, version: v1, publisher: "contoso".into() };
    wharf_jobs::enqueue(&app.state.db, &job, None).await.unwrap();
    run_jobs(&app, &application).await;
    assert_eq!(received.lock().unwrap().len(), 2);

    // The delivery log: the good webhook delivered both; the others never reached
    // anything refused.
    let app_ref = &app;
    let log = |id: i64| {
        let path = format!("{hooks}/{id}/deliveries");
        async move { json(app_ref.as_user(Method::GET, "dev", &path).send().await.unwrap()).await.1 }
    };
    let delivered = log(good["id"].as_i64().unwrap()).await;
    for d in delivered.as_array().unwrap() {
        assert_eq!(d["state"], "delivered", "{d}");
        assert_eq!(d["attempts"][0]["status"], 204, "{d}");
    }
    let sneaky = log(refused_ids[0]).await;
    assert_eq!(sneaky[0]["state"], "failed", "{sneaky}");
    assert!(sneaky[0]["attempts"][0]["error"].as_str().unwrap().contains("127.0.0.1"), "{sneaky}");
    let mixed = log(refused_ids[1]).await;
    assert_eq!(mixed[0]["state"], "failed", "{mixed}");
    assert!(mixed[0]["attempts"][0]["error"].as_str().unwrap().contains("10.1.2.3"), "{mixed}");
    let redirected = log(refused_ids[2]).await;
    assert_eq!(redirected[0]["state"], "pending", "retried later: {redirected}");
    assert_eq!(redirected[0]["attempts"][0]["status"], 307, "{redirected}");
    assert!(redirected[0]["attempts"][0]["error"].as_str().unwrap().contains("redirects are not followed"));
    assert_eq!(canary_hits.load(Ordering::SeqCst), 0, "a refused address was reached");

    // Deleted, a webhook gets nothing more; another organization cannot see it.
    let r = app.as_user(Method::DELETE, "dev", &format!("{hooks}/{}", refused_ids[2])).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let r = app.as_user(Method::GET, "cust", &format!("{hooks}/{}/deliveries", good["id"])).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

/// Leads go through the same delivery: a test lead when a version goes live, one per
/// subscription and cancellation, signed with the offer's lead secret, contact details
/// only where the customer agreed; a lead destination on a private address is refused
/// when saved, and one whose name resolves to it is refused before connecting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leads_reach_the_publisher_signed_with_contact_only_where_shared() {
    let (canary_port, canary_hits) = canary().await;
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = private_ca(certs.path(), "crm.public.test");
    let (port, received) = tls_receiver(&cert, &key).await;
    let (app, application, _dir) = setup_configured(Some(PERMISSIVE), |c| {
        c.webhooks.allow = vec!["127.0.0.2/32".into()];
        c.webhooks.ca_file = ca.display().to_string();
        c.webhooks.resolve.insert("crm.public.test".into(), vec!["127.0.0.2".into()]);
        c.webhooks.resolve.insert("sneaky.test".into(), vec!["127.0.0.1".into()]);
    })
    .await;
    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/contoso/approval").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut doc = common::publishing::document(&app).await;
    let draft = "/api/v1/orgs/contoso/offers/db/draft";
    let save = |doc: Value| {
        let app = &app;
        async move {
            let r = app.as_user(Method::GET, "dev", draft).send().await.unwrap();
            let etag = r.headers()["etag"].to_str().unwrap().to_owned();
            json(app.as_user(Method::PUT, "dev", draft).header("if-match", etag).json(&doc).send().await.unwrap()).await
        }
    };
    const LEAD_SECRET: &str = "a-shared-lead-secret";
    for url in [format!("https://127.0.0.1:{canary_port}/lead"), "https://10.0.0.1/lead".to_owned()] {
        doc["lead_destination"] = json!({"url": url, "secret": LEAD_SECRET});
        let (status, problem) = save(doc.clone()).await;
        assert_eq!(
            (status, problem["errors"][0]["pointer"].as_str()),
            (422, Some("/lead_destination/url")),
            "{problem}"
        );
    }
    doc["lead_destination"] = json!({"url": format!("https://crm.public.test:{port}/hook"), "secret": LEAD_SECRET});
    common::publishing::go_live(&app, &application, &doc).await;

    // Customers subscribe: fabrikam shares its contact, northwind does not.
    let access = json!({"name": "all", "display_name": "Everything", "plans": [{"name": "all", "kind": "base", "opens": {"all": true}}]});
    let r = app.as_user(Method::POST, "admin", "/api/v1/access-offers").json(&access).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let mut subscriptions = Vec::new();
    for (user, org, share) in [("cust", "fabrikam", true), ("outsider", "northwind", false)] {
        let path = format!("/api/v1/orgs/{org}/access");
        let r = app.as_user(Method::POST, user, &path).json(&json!({"access_offer": "all", "plan": "all"})).send();
        assert_eq!(r.await.unwrap().status(), 201);
        let body = json!({"offer": "contoso/db", "plan": "free", "accept_terms": true, "share_contact": share});
        let path = format!("/api/v1/orgs/{org}/subscriptions");
        let (status, sub) = json(app.as_user(Method::POST, user, &path).json(&body).send().await.unwrap()).await;
        assert_eq!(status, 201, "{sub}");
        subscriptions.push(sub["id"].as_i64().unwrap());
    }
    let path = format!("/api/v1/orgs/northwind/subscriptions/{}/cancel", subscriptions[1]);
    assert_eq!(app.as_user(Method::POST, "outsider", &path).send().await.unwrap().status(), 200);
    run_jobs(&app, &application).await;

    let secret = wharf_webhook::Secret::from_text(LEAD_SECRET).unwrap();
    let leads: Vec<Value> = received
        .lock()
        .unwrap()
        .iter()
        .map(|(headers, body)| {
            let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
            let timestamp: i64 = header("webhook-timestamp").parse().unwrap();
            secret.verify(&header("webhook-id"), timestamp, body.as_bytes(), &header("webhook-signature")).unwrap();
            serde_json::from_str::<Value>(body).unwrap()
        })
        .collect();
    let mut summary: Vec<String> = leads
        .iter()
        .map(|l| {
            let d = &l["data"];
            format!(
                "{} {}/{} plan={} customer={} contact={}",
                l["type"].as_str().unwrap(),
                d["publisher"].as_str().unwrap(),
                d["offer"].as_str().unwrap(),
                d["plan"],
                d["customer"]["organization"],
                d["customer"]["contact"]
            )
        })
        .collect();
    summary.sort();
    insta::assert_snapshot!(summary.join("\n"), @"
    lead.cancelled contoso/db plan=\"free\" customer=\"northwind\" contact=null
    lead.subscribed contoso/db plan=\"free\" customer=\"fabrikam\" contact={\"email\":null,\"name\":\"cust\"}
    lead.subscribed contoso/db plan=\"free\" customer=\"northwind\" contact=null
    lead.test contoso/db plan=null customer=null contact=null
    ");

    // The publisher lists them, delivered; nobody else sees them.
    let (status, listed) =
        json(app.as_user(Method::GET, "dev", "/api/v1/orgs/contoso/leads").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(listed.as_array().unwrap().len(), 4, "{listed}");
    assert!(listed.as_array().unwrap().iter().all(|l| l["state"] == "delivered" && l["attempts"][0]["status"] == 204));
    let r = app.as_user(Method::GET, "cust", "/api/v1/orgs/contoso/leads").send().await.unwrap();
    assert_eq!(r.status(), 404);

    // A destination whose name resolves to a refused address: saved (names are
    // checked at delivery), and the lead refused before connecting.
    doc["lead_destination"] = json!({"url": format!("https://sneaky.test:{canary_port}/lead"), "secret": LEAD_SECRET});
    doc["listings"]["en-US"]["summary"] = json!("A second version with a new lead destination.");
    common::publishing::go_live(&app, &application, &doc).await;
    run_jobs(&app, &application).await;
    let (_, listed) = json(app.as_user(Method::GET, "dev", "/api/v1/orgs/contoso/leads").send().await.unwrap()).await;
    let newest = &listed[0];
    assert_eq!((newest["event"].as_str(), newest["state"].as_str()), (Some("lead.test"), Some("failed")), "{newest}");
    assert!(newest["attempts"][0]["error"].as_str().unwrap().contains("127.0.0.1"), "{newest}");
    assert_eq!(canary_hits.load(Ordering::SeqCst), 0, "a refused address was reached");
}
