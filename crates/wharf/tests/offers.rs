//! Offers through the REST API: drafts with ETags, every problem at once, media
//! checks, Submit with tags resolved to digests, lifecycle, history and compare.
//!
//! These tests run no job workers: a submitted version stays submitted (the pipeline's
//! certification job is queued, and tested in pipeline.rs). Tests that need a live
//! version set it in the database as the pipeline's later steps will (`go_live`).

mod common;

use common::{TestApp, json};
use reqwest::Method;
use serde_json::{Value, json};
use wharf_core::{OrgKind, Role};
use wharf_oci::{Algorithm, Digest};
use wharf_offer::OfferSpec;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

async fn setup() -> TestApp {
    let app = TestApp::start().await;
    for u in ["dev", "viewer", "outsider"] {
        app.user(u).await;
    }
    app.org("contoso", OrgKind::Publisher, "dev").await;
    app.org("fabrikam", OrgKind::Publisher, "outsider").await;
    app.org("acme", OrgKind::Customer, "outsider").await;
    app.member("contoso", "viewer", Role::Viewer).await;
    app
}

/// Pushes a one-layer image to `repo:tag` through `/v2/` as `user`; returns its digest.
async fn push_image(app: &TestApp, user: &str, repo: &str, tag: &str, seed: &str) -> Digest {
    let scope = format!("repository:{repo}:pull,push");
    let r = app
        .http
        .get(format!("{}/token", app.url))
        .query(&[("service", "wharf-registry"), ("scope", scope.as_str())])
        .basic_auth(user, Some(common::PASSWORD))
        .send()
        .await
        .unwrap();
    let auth = format!("Bearer {}", json(r).await.1["token"].as_str().unwrap());
    let blob = |data: Vec<u8>| {
        let d = Digest::of(Algorithm::Sha256, &data);
        let (url, auth) = (format!("{}/v2/{repo}/blobs/uploads/?digest={d}", app.url), auth.clone());
        async move {
            let r = app.http.post(url).header("authorization", auth).body(data).send().await.unwrap();
            assert_eq!(r.status(), 201);
            d
        }
    };
    let config = blob(format!("{{\"seed\":\"{seed}\"}}").into_bytes()).await;
    let layer = blob(format!("layer {seed}").into_bytes()).await;
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":1}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer}","size":1}}]}}"#
    );
    let r = app
        .http
        .put(format!("{}/v2/{repo}/manifests/{tag}", app.url))
        .header("authorization", &auth)
        .header("content-type", OCI_MANIFEST)
        .body(manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    Digest::of(Algorithm::Sha256, manifest.as_bytes())
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(width, height, image::Rgb([10, 100, 200]))
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

async fn upload(app: &TestApp, user: &str, org: &str, bytes: Vec<u8>) -> (u16, Value) {
    json(app.as_user(Method::POST, user, &format!("/api/v1/orgs/{org}/media")).body(bytes).send().await.unwrap()).await
}

/// A complete offer document for contoso/db:1.0.0 with uploaded icons.
async fn document(app: &TestApp) -> Value {
    let text =
        wharf_offer::template::starter("db", "contoso", "http://localhost").replace("contoso/example-db", "contoso/db");
    let (mut spec, _) =
        wharf_offer::parse::parse::<OfferSpec>(text.as_bytes(), wharf_offer::parse::Format::Yaml).unwrap();
    for (name, slot) in spec.media.icons.slots_mut() {
        let (w, h) = wharf_offer::media::ImageSlot::icon(name).unwrap().size();
        let (status, m) = upload(app, "dev", "contoso", png(w, h)).await;
        assert_eq!(status, 201, "{m}");
        *slot = Some(m["digest"].as_str().unwrap().to_owned());
    }
    serde_json::to_value(spec).unwrap()
}

const BASE: &str = "/api/v1/orgs/contoso/offers";

async fn create(app: &TestApp, doc: &Value) -> (u16, Value) {
    json(app.as_user(Method::POST, "dev", BASE).json(doc).send().await.unwrap()).await
}

async fn put_draft(app: &TestApp, doc: &Value, etag: Option<&str>) -> reqwest::Response {
    let rb = app.as_user(Method::PUT, "dev", &format!("{BASE}/db/draft")).json(doc);
    let rb = match etag {
        Some(e) => rb.header("if-match", e),
        None => rb,
    };
    rb.send().await.unwrap()
}

async fn draft(app: &TestApp) -> (String, Value) {
    let r = app.as_user(Method::GET, "dev", &format!("{BASE}/db/draft")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    (etag, r.json().await.unwrap())
}

async fn post(app: &TestApp, user: &str, path: &str) -> (u16, Value) {
    json(app.as_user(Method::POST, user, &format!("{BASE}/db{path}")).send().await.unwrap()).await
}

/// Marks version `n` live, as the publishing pipeline (a later issue) will.
async fn go_live(app: &TestApp, n: &str) {
    wharf_db::testing::execute(
        &app.db,
        "UPDATE offer_versions SET status = 'live' WHERE version = CAST($1 AS BIGINT)",
        &[n],
    )
    .await;
    wharf_db::testing::execute(&app.db, "UPDATE offers SET state = 'live'", &[]).await;
}

/// contoso/db:1.0.0 pushed, the complete document created, submitted and live as
/// version 1; returns the document.
async fn live_offer(app: &TestApp) -> Value {
    push_image(app, "dev", "contoso/db", "1.0.0", "x").await;
    let doc = document(app).await;
    assert_eq!(create(app, &doc).await.0, 201);
    assert_eq!(post(app, "dev", "/submit").await.0, 201);
    go_live(app, "1").await;
    doc
}

#[tokio::test]
async fn a_draft_is_edited_with_etags_and_submitted_with_tags_frozen() {
    let app = setup().await;
    let first = push_image(&app, "dev", "contoso/db", "1.0.0", "one").await;
    let doc = document(&app).await;
    let (status, body) = create(&app, &doc).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!((body["revision"].as_i64(), body["changed"].as_bool()), (Some(1), Some(true)));
    let (status, body) = create(&app, &doc).await;
    assert_eq!((status, body["detail"].as_str()), (409, Some("offer \"db\" already exists")));

    let (etag, stored) = draft(&app).await;
    assert_eq!((etag.as_str(), &stored), ("\"r1\"", &doc));
    // The same document again changes nothing.
    let r = put_draft(&app, &doc, Some(&etag)).await;
    assert_eq!(r.headers()["etag"], "\"r1\"");
    assert_eq!(json(r).await.1["changed"], false);
    let mut edited = doc.clone();
    edited["listings"]["en-US"]["name"] = json!("Contoso DB");
    let r = put_draft(&app, &edited, Some("\"r1\"")).await;
    assert_eq!((r.status().as_u16(), r.headers()["etag"].to_str().unwrap()), (200, "\"r2\""));

    let (status, sub) = post(&app, "dev", "/submit").await;
    assert_eq!(status, 201, "{sub}");
    assert_eq!((sub["version"]["version"].as_i64(), sub["state"].as_str()), (Some(1), Some("publish_in_progress")));
    assert!(sub["validated_in_ms"].as_u64().unwrap() < 1000, "{sub}");
    // The tag moves after Submit; the frozen version keeps the digest of that moment.
    let second = push_image(&app, "dev", "contoso/db", "1.0.0", "two").await;
    assert_ne!(first, second);
    let (_, v1) = json(app.as_user(Method::GET, "dev", &format!("{BASE}/db/versions/1")).send().await.unwrap()).await;
    assert_eq!(v1["document"]["plans"][0]["images"][0]["digests"]["1.0.0"], first.to_string());
    assert_eq!(v1["status"], "submitted");
    // A second submission waits for the first.
    let (status, body) = post(&app, "dev", "/submit").await;
    assert_eq!(status, 409, "{body}");

    let (_, offer) = json(app.as_user(Method::GET, "dev", &format!("{BASE}/db")).send().await.unwrap()).await;
    assert_eq!((offer["state_label"].as_str(), offer["revision"].as_i64()), (Some("Publish in progress"), Some(2)));

    // Cancel before sign-off; the offer is a draft again; nothing left to cancel.
    let (status, offer) = post(&app, "dev", "/cancel").await;
    assert_eq!((status, offer["state"].as_str()), (200, Some("draft")));
    let (status, body) = post(&app, "dev", "/cancel").await;
    assert_eq!((status, body["detail"].as_str()), (409, Some("no version is being published")));

    let (_, history) = json(app.as_user(Method::GET, "dev", &format!("{BASE}/db/history")).send().await.unwrap()).await;
    let kinds: Vec<&str> = history["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["offer_created", "plan_created", "submitted", "cancelled"]);
    assert!(history["items"].as_array().unwrap().iter().all(|e| e["actor"] == "dev"));
}

#[tokio::test]
async fn concurrent_edits_get_412_and_edits_without_if_match_get_428() {
    let app = setup().await;
    let doc = document(&app).await;
    assert_eq!(create(&app, &doc).await.0, 201);
    let mut a = doc.clone();
    a["listings"]["en-US"]["keywords"] = json!(["alpha"]);
    let mut b = doc.clone();
    b["listings"]["en-US"]["keywords"] = json!(["beta"]);
    assert_eq!(put_draft(&app, &a, Some("\"r1\"")).await.status(), 200);
    let (status, body) = json(put_draft(&app, &b, Some("\"r1\"")).await).await;
    assert_eq!(status, 412, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("it is at revision 2"), "{body}");
    let (status, body) = json(put_draft(&app, &b, None).await).await;
    assert_eq!((status, body["type"].as_str()), (428, Some("urn:wharf:problem:precondition-required")));
    let (_, stored) = draft(&app).await;
    assert_eq!(stored["listings"]["en-US"]["keywords"], json!(["alpha"]));
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once_and_nothing_is_stored() {
    let app = setup().await;
    let doc = document(&app).await;
    assert_eq!(create(&app, &doc).await.0, 201);
    let mut bad = doc.clone();
    bad["id"] = json!("other");
    bad["colour"] = json!("blue");
    bad["listings"]["en-US"]["summary"] = json!("x".repeat(101));
    bad["listings"]["en-US"]["support"]["email"] = json!("nope");
    bad["plans"][0]["images"][0]["repository"] = json!("fabrikam/db");
    bad["plans"][0]["images"][0]["tags"] = json!(["latest"]);
    let plan = bad["plans"][0].clone();
    bad["plans"].as_array_mut().unwrap().push(plan);
    bad["media"]["icons"]["small"] = bad["media"]["icons"]["medium"].clone();
    let (status, body) = json(put_draft(&app, &bad, Some("\"r1\"")).await).await;
    assert_eq!(status, 422);
    let found: Vec<(String, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["pointer"].as_str().unwrap().to_owned(), e["detail"].as_str().unwrap().to_owned()))
        .collect();
    for (pointer, text) in [
        ("/colour", "is not a known field"),
        ("/id", "cannot change"),
        ("/listings/en-US/summary", "at most 100 characters"),
        ("/listings/en-US/support/email", "e-mail address"),
        ("/plans/0/images/0/repository", "must be a repository of the publisher organization contoso"),
        ("/plans/0/images/0/tags/0", "\"latest\" is not a version tag"),
        ("/plans/1/id", "repeats plan id \"standard\""),
        ("/media/icons/small", "must be 48×48 pixels for this icon (the uploaded image is 90×90)"),
    ] {
        assert!(found.iter().any(|(p, d)| p == pointer && d.contains(text)), "{pointer} {text} not in {found:#?}");
    }
    let (etag, stored) = draft(&app).await;
    assert_eq!((etag.as_str(), &stored), ("\"r1\"", &doc));

    // Listing HTML is sanitized when shown; the draft keeps the source and warns.
    let mut html = doc.clone();
    html["listings"]["en-US"]["description"] =
        json!("Hi <script>alert(1)</script><iframe src=x></iframe>[x](javascript:alert(1))");
    let (status, body) = json(put_draft(&app, &html, Some("\"r1\"")).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["warnings"][0]["pointer"], "/listings/en-US/description");
}

/// Creates `doc` as the offer and submits it, which must be refused (422): each error
/// as `"pointer" "detail"`.
async fn refused_submit(app: &TestApp, doc: &Value) -> Vec<String> {
    assert_eq!(create(app, doc).await.0, 201);
    let (status, body) = post(app, "dev", "/submit").await;
    assert_eq!(status, 422, "{body}");
    body["errors"].as_array().unwrap().iter().map(|e| format!("{} {}", e["pointer"], e["detail"])).collect()
}

#[tokio::test]
async fn submit_checks_images_tenants_and_media_against_the_server() {
    let app = setup().await;
    let mut doc = document(&app).await;
    doc["preview_audience"] = json!(["acme", "nobody", "fabrikam"]);
    doc["plans"][0]["images"][0]["tags"] = json!(["1.0.0", "1.1.0"]);
    push_image(&app, "dev", "contoso/db", "1.0.0", "x").await;
    let errors = refused_submit(&app, &doc).await;
    assert_eq!(
        errors,
        [
            "\"/plans/0/images/0/tags/1\" \"contoso/db:1.1.0 does not exist in the registry: push it first\"",
            "\"/preview_audience/1\" \"no customer organization named \\\"nobody\\\"\"",
            "\"/preview_audience/2\" \"no customer organization named \\\"fabrikam\\\"\"",
        ]
    );
    let (_, offer) = json(app.as_user(Method::GET, "dev", &format!("{BASE}/db")).send().await.unwrap()).await;
    assert_eq!((offer["state"].as_str(), offer["versions"].as_array().unwrap().len()), (Some("draft"), 0));
}

#[tokio::test]
async fn submit_renders_each_deployment_as_a_customer_would_and_names_what_breaks() {
    let app = setup().await;
    let mut doc = document(&app).await;
    push_image(&app, "dev", "contoso/db", "1.0.0", "x").await;
    doc["plans"][0]["deployment"] = json!({
        "kind": "kubernetes",
        "template": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: db}\nspec:\n  replicas: ${replicas}\n  \
                     selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: db}}\n    spec:\n      \
                     containers:\n        - {name: db, image: \"${image:contoso/db}\", colour: blue}\n        \
                     - {name: sidecar, image: \"busybox:latest\"}\n",
        "parameters": [{"name": "replicas", "label": "Replicas", "type": "integer", "min": 1, "max": 5}],
    });
    let errors = refused_submit(&app, &doc).await;
    assert_eq!(
        errors,
        [
            "\"/plans/0/deployment/template\" \"cannot be rendered for customers: a container image \\\"busybox:latest\\\" is not one the marketplace pinned\"",
            "\"/plans/0/deployment/template\" \"cannot be rendered for customers: document 1: spec.template.spec.containers[0].colour is not a field of the Kubernetes API\"",
        ]
    );
    let (_, offer) = json(app.as_user(Method::GET, "dev", &format!("{BASE}/db")).send().await.unwrap()).await;
    assert_eq!((offer["state"].as_str(), offer["versions"].as_array().unwrap().len()), (Some("draft"), 0));
}

#[tokio::test]
async fn roles_decide_and_outsiders_cannot_learn_that_an_offer_exists() {
    let app = setup().await;
    let doc = document(&app).await;
    assert_eq!(create(&app, &doc).await.0, 201);
    let get = |user: &'static str, path: String| {
        let app = &app;
        async move { json(app.as_user(Method::GET, user, &path).send().await.unwrap()).await }
    };
    let (s1, b1) = get("outsider", format!("{BASE}/db")).await;
    let (s2, b2) = get("outsider", format!("{BASE}/nothing")).await;
    assert_eq!((s1, s2), (404, 404));
    assert_eq!(b1["detail"], b2["detail"], "the same answer whether the offer exists or not");
    assert_eq!(get("viewer", format!("{BASE}/db")).await.0, 200);
    let r = app
        .as_user(Method::PUT, "viewer", &format!("{BASE}/db/draft"))
        .header("if-match", "\"r1\"")
        .json(&doc)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(post(&app, "viewer", "/submit").await.0, 403);
    assert_eq!(get("admin", format!("{BASE}/db/draft")).await.0, 200, "operators read every offer");
}

#[tokio::test]
async fn listing_images_are_checked_from_their_bytes() {
    let app = setup().await;
    let (status, m) = upload(&app, "dev", "contoso", png(48, 48)).await;
    assert_eq!((status, m["media_type"].as_str(), m["width"].as_u64()), (201, Some("image/png"), Some(48)));
    let r = app
        .as_user(Method::GET, "dev", &format!("/api/v1/orgs/contoso/media/{}", m["digest"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["content-type"].to_str().unwrap()), (200, "image/png"));
    assert_eq!(r.bytes().await.unwrap().to_vec(), png(48, 48));
    let (status, body) = upload(
        &app,
        "dev",
        "contoso",
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".to_vec(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body["detail"].as_str().unwrap().contains("SVG"), "{body}");
    let (status, body) = upload(&app, "dev", "contoso", b"plain text".to_vec()).await;
    assert_eq!((status, body["detail"].as_str()), (422, Some(": the upload is not a PNG or JPEG image")));
    let mut huge = png(1, 1);
    huge[16..20].copy_from_slice(&65535u32.to_be_bytes());
    huge[20..24].copy_from_slice(&65535u32.to_be_bytes());
    let (status, body) = upload(&app, "dev", "contoso", huge).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = upload(&app, "dev", "contoso", vec![0u8; 100 * 1024 * 1024]).await;
    assert_eq!((status, body["type"].as_str()), (413, Some("urn:wharf:problem:payload-too-large")));
    assert_eq!(upload(&app, "outsider", "contoso", png(48, 48)).await.0, 404);
}

#[tokio::test]
async fn live_offers_stop_sell_and_resume_and_immutable_fields_hold() {
    let app = setup().await;
    let doc = live_offer(&app).await;

    // The only plan cannot be stop-sold alone; the offer can.
    let (status, body) = post(&app, "dev", "/plans/standard/stop-sell").await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (409, Some("plan \"standard\" is the last plan selling: stop-sell the offer instead"))
    );
    let (status, offer) = post(&app, "dev", "/stop-sell").await;
    assert_eq!((status, offer["state"].as_str()), (200, Some("stop_sold")));
    assert_eq!(post(&app, "dev", "/stop-sell").await.0, 409);
    let (status, offer) = post(&app, "dev", "/resume").await;
    assert_eq!((status, offer["state"].as_str()), (200, Some("live")));

    // After the first submission the plan keeps its pricing model and its tags.
    let mut changed = doc.clone();
    changed["plans"][0]["pricing"] = json!({"model": "byol"});
    changed["plans"][0]["images"][0]["tags"] = json!(["0.9.0"]);
    let (status, body) = json(put_draft(&app, &changed, Some("\"r1\"")).await).await;
    assert_eq!(status, 422);
    let found: Vec<String> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{}: {}", e["pointer"].as_str().unwrap(), e["detail"].as_str().unwrap()))
        .collect();
    assert_eq!(
        found,
        [
            "/plans/0/pricing/model: cannot change once the plan is submitted (was free in version 1)",
            "/plans/0/images/0/tags: must keep tag 1.0.0, delivered since version 1",
            "/plans/0/images/0/tags/0: 0.9.0 is new, so it must be greater than 1.0.0, the highest tag delivered before",
        ]
    );

    // Compare: the draft against the live version, field by field.
    let mut renamed = doc.clone();
    renamed["listings"]["en-US"]["name"] = json!("Contoso DB");
    assert_eq!(put_draft(&app, &renamed, Some("\"r1\"")).await.status(), 200);
    let (_, cmp) = json(app.as_user(Method::GET, "dev", &format!("{BASE}/db/compare")).send().await.unwrap()).await;
    assert_eq!(cmp["base_version"], 1);
    assert_eq!(
        cmp["changes"],
        json!([{"path": "listings.en-US.name", "pointer": "/listings/en-US/name", "kind": "changed", "before": "Example Database", "after": "Contoso DB"}])
    );
}

#[tokio::test]
async fn the_offer_schema_is_public() {
    let app = setup().await;
    let (status, schema) = json(app.anon(Method::GET, "/api/v1/schemas/offer.json").send().await.unwrap()).await;
    assert_eq!((status, schema["$ref"].as_str()), (200, Some("#/$defs/OfferSpec")));
    let (_, doc) = json(app.anon(Method::GET, "/api/v1/openapi.json").send().await.unwrap()).await;
    assert!(doc["paths"]["/api/v1/orgs/{org}/offers/{offer}/draft"]["put"].is_object());
}

#[tokio::test]
async fn plans_stop_sell_while_another_sells_and_plan_changes_are_history() {
    let app = setup().await;
    push_image(&app, "dev", "contoso/db", "1.0.0", "x").await;
    let mut doc = document(&app).await;
    let mut pro = doc["plans"][0].clone();
    pro["id"] = json!("pro");
    pro["name"] = json!("Pro");
    doc["plans"].as_array_mut().unwrap().push(pro);
    assert_eq!(create(&app, &doc).await.0, 201);
    assert_eq!(post(&app, "dev", "/submit").await.0, 201);
    go_live(&app, "1").await;
    let (status, offer) = post(&app, "dev", "/plans/pro/stop-sell").await;
    assert_eq!((status, offer["stopped_plans"].clone()), (200, json!(["pro"])), "{offer}");
    let (status, body) = post(&app, "dev", "/plans/standard/stop-sell").await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (409, Some("plan \"standard\" is the last plan selling: stop-sell the offer instead"))
    );
    assert_eq!(post(&app, "dev", "/plans/nope/stop-sell").await.0, 409);
    let (status, offer) = post(&app, "dev", "/plans/pro/resume").await;
    assert_eq!((status, offer["stopped_plans"].clone()), (200, json!([])));

    // A plan added to the draft is history; removing a submitted plan is refused.
    let mut more = doc.clone();
    let mut team = doc["plans"][0].clone();
    team["id"] = json!("team");
    more["plans"].as_array_mut().unwrap().push(team);
    assert_eq!(put_draft(&app, &more, Some("\"r1\"")).await.status(), 200);
    let mut fewer = more.clone();
    fewer["plans"].as_array_mut().unwrap().remove(1);
    let (status, body) = json(put_draft(&app, &fewer, Some("\"r2\"")).await).await;
    assert_eq!(status, 422);
    assert_eq!(
        body["errors"][0]["detail"],
        "must keep plan \"pro\", submitted in version 1: stop-sell it instead of removing it"
    );
    let (_, history) = json(app.as_user(Method::GET, "dev", &format!("{BASE}/db/history")).send().await.unwrap()).await;
    let events: Vec<String> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["kind"].as_str().unwrap(), e["detail"].as_str().unwrap_or("-")))
        .collect();
    assert_eq!(
        events,
        [
            "offer_created -",
            "plan_created standard",
            "plan_created pro",
            "submitted 1",
            "plan_stop_sold pro",
            "plan_resumed pro",
            "plan_created team"
        ]
    );
}

#[tokio::test]
async fn the_lead_secret_is_write_only_and_multi_arch_indexes_resolve() {
    let app = setup().await;
    let amd = push_image(&app, "dev", "contoso/db", "1.0.0-amd64", "amd").await;
    let arm = push_image(&app, "dev", "contoso/db", "1.0.0-arm64", "arm").await;
    // A multi-arch index tagged 2.0.0 over the two images.
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{amd}","size":1,"platform":{{"architecture":"amd64","os":"linux"}}}},{{"mediaType":"{OCI_MANIFEST}","digest":"{arm}","size":1,"platform":{{"architecture":"arm64","os":"linux"}}}}]}}"#
    );
    let scope = "repository:contoso/db:pull,push";
    let r = app
        .http
        .get(format!("{}/token", app.url))
        .query(&[("service", "wharf-registry"), ("scope", scope)])
        .basic_auth("dev", Some(common::PASSWORD))
        .send()
        .await
        .unwrap();
    let token = json(r).await.1["token"].as_str().unwrap().to_owned();
    let r = app
        .http
        .put(format!("{}/v2/contoso/db/manifests/2.0.0", app.url))
        .bearer_auth(&token)
        .header("content-type", "application/vnd.oci.image.index.v1+json")
        .body(index.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());

    let mut doc = document(&app).await;
    doc["plans"][0]["images"][0]["tags"] = json!(["2.0.0"]);
    doc["lead_destination"] = json!({"url": "https://crm.contoso.example/leads", "secret": "s3cret-s3cret-s3cret"});
    assert_eq!(create(&app, &doc).await.0, 201);
    let (etag, shown) = draft(&app).await;
    assert_eq!(shown["lead_destination"].get("secret"), None, "{shown}");
    let hash = shown["lead_destination"]["secret_sha256"].as_str().unwrap().to_owned();
    assert_eq!(hash.len(), 64);
    // Sending back what was shown keeps the secret; the draft does not change.
    let (status, saved) = json(put_draft(&app, &shown, Some(&etag)).await).await;
    assert_eq!((status, saved["changed"].as_bool()), (200, Some(false)), "{saved}");
    let (status, sub) = post(&app, "dev", "/submit").await;
    assert_eq!(status, 201, "{sub}");
    let (_, v1) = json(app.as_user(Method::GET, "dev", &format!("{BASE}/db/versions/1")).send().await.unwrap()).await;
    let index_digest = Digest::of(Algorithm::Sha256, index.as_bytes());
    assert_eq!(v1["document"]["plans"][0]["images"][0]["digests"]["2.0.0"], index_digest.to_string());
    assert_eq!(v1["document"]["lead_destination"]["secret_sha256"], hash.as_str());
    assert_eq!(v1["document"]["lead_destination"].get("secret"), None);
}

/// A stop-sold offer stays stop-sold when a newer version's publishing is cancelled.
#[tokio::test]
async fn cancelling_a_new_version_keeps_a_stop_sold_offer_stop_sold() {
    let app = setup().await;
    live_offer(&app).await;
    assert_eq!(post(&app, "dev", "/stop-sell").await.1["state"], "stop_sold");
    let (status, sub) = post(&app, "dev", "/submit").await;
    assert_eq!((status, sub["state"].as_str()), (201, Some("publish_in_progress")), "{sub}");
    let (status, offer) = post(&app, "dev", "/cancel").await;
    assert_eq!((status, offer["state"].as_str(), offer["live_version"].as_i64()), (200, Some("stop_sold"), Some(1)));
}
