//! The catalog customers browse, over HTTP: an offer going live is searchable at
//! once (its entry is written in the go-live's transaction), per locale, with facets,
//! sorting and cursor pages; private plans show only to their tenants, stop-sold
//! offers only to their publisher; each listing has its security view; bad queries
//! get clear problems.

mod common;

use common::publishing::{BASE, PERMISSIVE, document, go_live, offer, setup};
use common::{TestApp, json};
use reqwest::Method;
use serde_json::{Value, json};

/// An anonymous search: status and body.
async fn search(app: &TestApp, query: &str, language: Option<&str>) -> (u16, Value) {
    let mut rb = app.anon(Method::GET, &format!("/api/v1/catalog{query}"));
    if let Some(l) = language {
        rb = rb.header("accept-language", l);
    }
    json(rb.send().await.unwrap()).await
}

fn names(results: &Value) -> Vec<String> {
    results["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_owned()).collect()
}

fn facet(results: &Value, facet: &str) -> Vec<(String, u64)> {
    results["facets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["facet"] == facet)
        .flat_map(|f| f["values"].as_array().unwrap().iter())
        .map(|v| (v["value"].as_str().unwrap().to_owned(), v["count"].as_u64().unwrap()))
        .collect()
}

async fn approved() -> (TestApp, wharf_app::App, tempfile::TempDir) {
    let (app, application, dir) = setup(Some(PERMISSIVE)).await;
    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/contoso/approval").send().await.unwrap();
    assert_eq!(r.status(), 200);
    (app, application, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_offer_is_searchable_at_once_in_every_locale_with_its_security_view() {
    let (app, application, _dir) = approved().await;
    let doc = document(&app).await;
    // Not live yet: nothing to find.
    let (status, results) = search(&app, "?q=replicated", None).await;
    assert_eq!((status, results["total"].as_u64()), (200, Some(0)), "{results}");

    go_live(&app, &application, &doc).await;
    let (_, view) = offer(&app).await;
    assert_eq!(view["state"], "live", "{view}");

    // Found by a word of its summary, shown in the reader's language.
    let (status, results) = search(&app, "?q=replicated", None).await;
    assert_eq!(status, 200, "{results}");
    assert_eq!(names(&results), ["Contoso Example DB"]);
    let item = &results["items"][0];
    assert_eq!((item["publisher"].as_str(), item["offer"].as_str()), (Some("contoso"), Some("db")));
    assert_eq!(item["locale"], "en-US");
    assert_eq!(item["categories"], json!(["databases", "storage"]));
    assert_eq!(item["pricing"], json!(["byol", "free"]));
    assert_eq!(item["architectures"], json!(["amd64"]));
    assert_eq!(item["deployment"], json!(["container", "kubernetes"]));
    assert_eq!(item["grade"], "A");
    let (_, dutch) = search(&app, "?q=replicated", Some("nl-BE, nl;q=0.9, en;q=0.5")).await;
    assert_eq!(names(&dutch), ["Contoso Voorbeeld-DB"]);
    assert_eq!(dutch["items"][0]["locale"], "nl-NL");
    // A Dutch word finds it too; an unknown locale falls back to the default one.
    let (_, found) = search(&app, "?q=voorbeelddatabase", Some("xx-YY")).await;
    assert_eq!(names(&found), ["Contoso Example DB"]);
    // Words from the description, keywords and publisher; the last word as a prefix.
    for q in ["prometheus", "backup", "contoso", "Contoso%20Exam", "point-in-time", "REPLICATION"] {
        let (_, found) = search(&app, &format!("?q={q}"), None).await;
        assert_eq!(found["total"], 1, "{q}: {found}");
    }
    let (_, none) = search(&app, "?q=replicated%20kafka", None).await;
    assert_eq!(none["total"], 0, "every word must match: {none}");

    // Facets, with counts; a facet filtered by keeps its other values' counts.
    let (_, all) = search(&app, "", None).await;
    assert_eq!(facet(&all, "category"), [("databases".to_owned(), 1), ("storage".to_owned(), 1)]);
    assert_eq!(facet(&all, "grade"), [("A".to_owned(), 1)]);
    assert_eq!(facet(&all, "publisher"), [("contoso".to_owned(), 1)]);
    let (_, none) = search(&app, "?category=security", None).await;
    assert_eq!(none["total"], 0);
    assert_eq!(facet(&none, "category"), [("databases".to_owned(), 1), ("storage".to_owned(), 1)]);
    let (_, one) = search(&app, "?category=security,storage&pricing=byol&architecture=amd64&grade=A", None).await;
    assert_eq!(names(&one), ["Contoso Example DB"]);
    let (_, none) = search(&app, "?deployment=compose", None).await;
    assert_eq!(none["total"], 0);

    // The listing: texts in the negotiated locale, plans with pinned images, the
    // security view (grade, SBOM to download, how to verify the signature), versions.
    let r = app.anon(Method::GET, "/api/v1/catalog/contoso/db").header("accept-language", "nl").send().await.unwrap();
    assert_eq!(r.headers()["content-language"], "nl-NL");
    let (status, listing) = json(r).await;
    assert_eq!(status, 200, "{listing}");
    assert_eq!(listing["name"], "Contoso Voorbeeld-DB");
    assert_eq!(listing["locales"], json!(["en-US", "nl-NL"]));
    assert!(listing["description_html"].as_str().unwrap().contains("<h2>Wat u krijgt</h2>"), "{listing}");
    let plans: Vec<&str> = listing["plans"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(plans, ["free", "byol-cluster"]);
    let image = &listing["plans"][0]["images"][0];
    let host = app.url.trim_start_matches("http://");
    assert_eq!(image["reference"], format!("{host}/mp/contoso/db/free/example-db:1.0.0"));
    assert_eq!(
        image["pinned_reference"],
        format!("{host}/mp/contoso/db/free/example-db@{}", image["digest"].as_str().unwrap())
    );
    assert_eq!(image["platforms"], json!(["linux/amd64"]));
    let security = &listing["security"];
    assert_eq!(security["grade"], "A");
    assert_eq!(security["breaks_policy"], false);
    assert_eq!(security["signature"]["key_url"], format!("{}/api/v1/marketplace/signing-key", app.url));
    assert_eq!(
        security["signature"]["verify"],
        format!(
            "cosign verify --key {}/api/v1/marketplace/signing-key {}",
            app.url,
            image["pinned_reference"].as_str().unwrap()
        )
    );
    let sbom_url = security["sboms"][0]["url"].as_str().unwrap();
    let r = app.anon(Method::GET, sbom_url).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/vnd.cyclonedx+json");
    let (status, bom) = json(r).await;
    assert_eq!((status, bom["bomFormat"].as_str()), (200, Some("CycloneDX")));
    let r = app
        .anon(Method::GET, &format!("/api/v1/catalog/contoso/db/sboms/sha256:{}", "0".repeat(64)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(listing["versions"][0]["status"], "live");
    // Its icons and screenshots, served for anyone who may see it.
    let icon = listing["media"]["icons"]["small"].as_str().unwrap();
    let r = app.anon(Method::GET, icon).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["content-type"].to_str().unwrap()), (200, "image/png"));
    assert_eq!(&r.bytes().await.unwrap()[1..4], b"PNG");
    let shot = listing["media"]["screenshots"][0]["url"].as_str().unwrap();
    assert_eq!(app.anon(Method::GET, shot).send().await.unwrap().status(), 200);
    assert_eq!(listing["media"]["videos"][0]["title"], "Example DB in five minutes");
    let r = app
        .anon(Method::GET, &format!("/api/v1/catalog/contoso/db/media/sha256:{}", "0".repeat(64)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let (status, _) = json(app.anon(Method::GET, "/api/v1/catalog/contoso/nope").send().await.unwrap()).await;
    assert_eq!(status, 404);

    // Stop-sold: gone for new customers (search and listing), still there for the
    // publisher, marked; resumed: back.
    let r = app.as_user(Method::POST, "dev", &format!("{BASE}/db/stop-sell")).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(search(&app, "?q=replicated", None).await.1["total"], 0);
    let (status, _) = json(app.anon(Method::GET, "/api/v1/catalog/contoso/db").send().await.unwrap()).await;
    assert_eq!(status, 404);
    let (_, own) = json(app.as_user(Method::GET, "dev", "/api/v1/catalog?q=replicated").send().await.unwrap()).await;
    assert_eq!(own["items"][0]["stop_sold"], true, "{own}");
    let r = app.as_user(Method::POST, "dev", &format!("{BASE}/db/resume")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(search(&app, "?q=replicated", None).await.1["total"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_plans_show_only_to_their_tenants() {
    let (app, application, _dir) = approved().await;
    let mut doc = document(&app).await;
    // The cluster plan is for fabrikam only.
    doc["plans"][1]["visibility"] = json!("private");
    doc["plans"][1]["audience"] = json!(["fabrikam"]);
    go_live(&app, &application, &doc).await;
    // A second offer whose only plan is private.
    let mut only = doc.clone();
    only["id"] = json!("db-private");
    only["listings"]["en-US"]["name"] = json!("Contoso Private DB");
    only["plans"] = json!([doc["plans"][1].clone()]);
    go_live(&app, &application, &only).await;

    let plans = |listing: &Value| -> Vec<String> {
        listing["plans"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect()
    };
    // Anyone: the public offer with its public plan.
    let (_, anyone) = search(&app, "?q=contoso&sort=name", None).await;
    assert_eq!(names(&anyone), ["Contoso Example DB"]);
    let (_, listing) = json(app.anon(Method::GET, "/api/v1/catalog/contoso/db").send().await.unwrap()).await;
    assert_eq!(plans(&listing), ["free"]);
    // An outsider (another customer) signed in: the same; the private-only offer is a
    // missing listing.
    let (_, outsider) =
        json(app.as_user(Method::GET, "outsider", "/api/v1/catalog?q=contoso").send().await.unwrap()).await;
    assert_eq!(names(&outsider), ["Contoso Example DB"]);
    let (status, _) =
        json(app.as_user(Method::GET, "outsider", "/api/v1/catalog/contoso/db-private").send().await.unwrap()).await;
    assert_eq!(status, 404);
    // The tenant: both offers, and the private plan.
    let (_, tenant) =
        json(app.as_user(Method::GET, "cust", "/api/v1/catalog?q=contoso&sort=name").send().await.unwrap()).await;
    assert_eq!(names(&tenant), ["Contoso Example DB", "Contoso Private DB"]);
    let (_, listing) = json(app.as_user(Method::GET, "cust", "/api/v1/catalog/contoso/db").send().await.unwrap()).await;
    assert_eq!(plans(&listing), ["free", "byol-cluster"]);
    // Operators see everything.
    let (_, all) = json(app.as_user(Method::GET, "admin", "/api/v1/catalog").send().await.unwrap()).await;
    assert_eq!(all["total"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_are_sorted_and_paged_by_cursor() {
    let (app, application, _dir) = approved().await;
    let doc = document(&app).await;
    for (id, name) in [("db", "Delta DB"), ("alpha", "Alpha DB"), ("charlie", "Charlie DB")] {
        let mut d = doc.clone();
        d["id"] = json!(id);
        d["listings"]["en-US"]["name"] = json!(name);
        go_live(&app, &application, &d).await;
    }
    // By name, one per page, following next_cursor and the Link header.
    let mut seen = Vec::new();
    let mut path = "/api/v1/catalog?sort=name&limit=1".to_owned();
    loop {
        let r = app.anon(Method::GET, &path).send().await.unwrap();
        let link = r.headers().get("link").map(|v| v.to_str().unwrap().to_owned());
        let (status, page) = json(r).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["total"], 3);
        seen.extend(names(&page));
        match page["next_cursor"].as_str() {
            Some(c) => {
                let link = link.expect("a Link header with the next page");
                assert!(link.contains(&format!("cursor={c}")) && link.contains("sort=name"), "{link}");
                path = format!("/api/v1/catalog?sort=name&limit=1&cursor={c}");
            }
            None => break,
        }
    }
    assert_eq!(seen, ["Alpha DB", "Charlie DB", "Delta DB"]);
    // Newest first: the order they went live.
    let (_, newest) = search(&app, "?sort=newest", None).await;
    assert_eq!(names(&newest), ["Charlie DB", "Alpha DB", "Delta DB"]);
    // By relevance, two pages: a name match ranks first, and pages do not overlap.
    let (_, first) = search(&app, "?q=alpha%20db&limit=1", None).await;
    assert_eq!(names(&first), ["Alpha DB"]);
    assert_eq!(first["total"], 1);
    let (_, first) = search(&app, "?q=db&limit=2", None).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = search(&app, &format!("?q=db&limit=2&cursor={cursor}"), None).await;
    let mut all = names(&first);
    all.extend(names(&second));
    all.sort();
    assert_eq!(all, ["Alpha DB", "Charlie DB", "Delta DB"]);
}

/// Bad input gets a clear problem, and search syntax in a query is just words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_get_clear_problems() {
    let (app, application, _dir) = approved().await;
    let doc = document(&app).await;
    go_live(&app, &application, &doc).await;

    let long = "a".repeat(10_000);
    let (status, problem) = search(&app, &format!("?q={long}"), None).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "q");
    assert!(
        problem["errors"][0]["detail"].as_str().unwrap().contains("at most 256 characters long (got 10000)"),
        "{problem}"
    );
    // FTS5 and tsquery syntax, quotes and SQL: words, never an error.
    for q in [
        "\"replicated",
        "replicated\"",
        "replicated*",
        "NEAR(replicated database)",
        "name:replicated",
        "replicated OR kafka",
        "replicated & !x | y:*",
        "'; DROP TABLE catalog_items; --",
        "(((",
        "\"\"\"",
        "*",
    ] {
        let (status, body) = search(&app, &format!("?q={}", urlencode(q)), None).await;
        assert_eq!(status, 200, "{q}: {body}");
    }
    let (_, found) = search(&app, &format!("?q={}", urlencode("\"replicated* database\"")), None).await;
    assert_eq!(found["total"], 1, "{found}");
    // Everything still there.
    assert_eq!(search(&app, "", None).await.1["total"], 1);

    let (status, problem) = search(&app, "?sort=cheapest&grade=", None).await;
    assert_eq!(status, 422, "{problem}");
    let pointers: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
    assert_eq!(pointers, ["sort", "grade"], "{problem}");
    let (status, problem) = search(&app, "?cursor=bm90IGEgY3Vyc29y", None).await;
    assert_eq!(status, 400, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("invalid cursor"), "{problem}");
    let (status, problem) = search(&app, "?colour=red", None).await;
    assert_eq!(status, 400, "{problem}");
    let (status, _) = search(&app, "?limit=0", None).await;
    assert_eq!(status, 400);
    // Credentials that are given must be valid.
    let r = app.anon(Method::GET, "/api/v1/catalog").basic_auth("dev", Some("wrong")).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// `wharf catalog search|show`, not logged in: what anyone sees, for people and as JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_searches_and_shows_listings_without_a_login() {
    let (app, application, dir) = approved().await;
    let doc = document(&app).await;
    go_live(&app, &application, &doc).await;
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let env = [
        ("WHARF_URL".to_owned(), app.url.clone()),
        ("HOME".to_owned(), home.display().to_string()),
        ("XDG_CONFIG_HOME".to_owned(), home.display().to_string()),
    ];
    let run = |args: &[&str]| {
        let out = common::wharf(args, &env).output().unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let host = app.url.trim_start_matches("http://").to_owned();
    let redact = |s: &str| {
        let mut s = s.replace(&app.url, "http://SERVER").replace(&host, "SERVER");
        // Digests and times differ per run.
        let digest = regex::Regex::new("sha256:[0-9a-f]{64}").unwrap();
        s = digest.replace_all(&s, "sha256:DIGEST").into_owned();
        let time = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z").unwrap();
        time.replace_all(&s, "TIME").into_owned()
    };

    let (code, stdout, stderr) = run(&["catalog", "search", "replicated", "database"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(redact(&stdout), @"
    LISTING     NAME                GRADE  PRICING    SUMMARY
    contoso/db  Contoso Example DB  A      byol,free  A replicated example database with backups, for Kubernetes and container hosts.

    1 in all
    category: databases (1), storage (1)
    publisher: contoso (1)
    pricing: byol (1), free (1)
    architecture: amd64 (1)
    deployment: container (1), kubernetes (1)
    grade: A (1)
    ");
    let (code, stdout, stderr) = run(&["catalog", "search", "--category", "storage", "-o", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let results: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(names(&results), ["Contoso Example DB"]);
    let (code, stdout, stderr) = run(&["catalog", "show", "contoso/db", "--language", "nl-NL"]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(redact(&stdout), @"
    Contoso Voorbeeld-DB (contoso/db), version 1, nl-NL
    by contoso
    Een gerepliceerde voorbeelddatabase met back-ups, voor Kubernetes en containerhosts.
    categories: databases

    security: grade A (no critical or high vulnerability with a fix available)
      signing key: http://SERVER/api/v1/marketplace/signing-key
      verify: cosign verify --key http://SERVER/api/v1/marketplace/signing-key SERVER/mp/contoso/db/free/example-db@sha256:DIGEST
      SBOM linux/amd64 (305 bytes): http://SERVER/api/v1/catalog/contoso/db/sboms/sha256:DIGEST

    plans:
      free (Free): free
        SERVER/mp/contoso/db/free/example-db@sha256:DIGEST [linux/amd64]
      byol-cluster (Cluster (bring your own license)): byol
        SERVER/mp/contoso/db/byol-cluster/example-db@sha256:DIGEST [linux/amd64]

    versions:
      1 live (submitted TIME)
    ");
    // Clear errors: a listing not named as PUBLISHER/OFFER, a missing one, a bad query.
    let (code, _, stderr) = run(&["catalog", "show", "db"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("name the listing as PUBLISHER/OFFER"), "{stderr}");
    let (code, _, stderr) = run(&["catalog", "show", "contoso/nope"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("the catalog has no listing contoso/nope"), "{stderr}");
    let (code, _, stderr) = run(&["catalog", "search", "--sort", "cheapest"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("sort: unknown sort order \"cheapest\""), "{stderr}");
}

/// The server searches with a node's in-memory index over the database's full-text
/// matches; over generated listings it answers exactly what a search done wholly in
/// SQL answers (results in order through every page, totals, facet counts), for
/// anyone (a fifth of the listings are private) and for an operator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_answers_what_the_database_answers() {
    use wharf_core::{CatalogFacet, CatalogSort, OrgKind};
    use wharf_db::catalog::{CatalogEntry, CatalogPlan, CatalogSearch, CatalogText, CatalogViewer};
    let app = TestApp::start().await;
    let db = &app.state.db;
    let mut publishers = Vec::new();
    for i in 0..12 {
        publishers
            .push(db.create_org(&format!("pub{i}").parse().unwrap(), OrgKind::Publisher, None, None).await.unwrap());
    }
    let words = ["database", "kafka", "monitoring", "backup", "vector", "proxy", "alpha", "omega"];
    let mut rng = fastrand::Rng::with_seed(7);
    let mut entries = Vec::new();
    for i in 0..600 {
        let p = &publishers[rng.usize(..publishers.len())];
        let (w1, w2) = (words[rng.usize(..words.len())], words[rng.usize(..words.len())]);
        let name = format!("{} {w1} {}", ["Swift", "Open", "Edge"][rng.usize(..3)], i % 37);
        let mut facets = vec![
            (CatalogFacet::Publisher, p.name.to_string()),
            (CatalogFacet::Category, ["databases", "security", "web"][rng.usize(..3)].to_owned()),
            (CatalogFacet::Pricing, ["free", "byol"][rng.usize(..2)].to_owned()),
            (CatalogFacet::Architecture, "amd64".to_owned()),
        ];
        if rng.bool() {
            facets.push((CatalogFacet::Architecture, "arm64".to_owned()));
        }
        let public = rng.usize(..5) != 0;
        let entry = CatalogEntry {
            publisher_id: p.id,
            publisher: p.name.to_string(),
            publisher_name: p.name.to_string(),
            offer_id: format!("o{i}"),
            version: 1,
            default_locale: "en-US".into(),
            sort_name: name.to_lowercase(),
            texts: vec![CatalogText {
                locale: "en-US".into(),
                language: "english".into(),
                name,
                summary: format!("A {w2} thing"),
                description: format!("{w1} and {w2}, {}", words[rng.usize(..words.len())]),
                keywords: w2.into(),
                publisher: p.name.to_string(),
            }],
            facets,
            plans: vec![CatalogPlan { id: "p".into(), public, audience: Vec::new() }],
        };
        entries.push((entry, Some(["A", "B", "F"][rng.usize(..3)].to_owned())));
    }
    db.bulk_load_catalog(&entries).await.unwrap();
    // Ranking some of the matches afterwards gives each the rank it has among all.
    let (kafka, languages) = (vec!["kafka".to_owned()], vec!["english".to_owned()]);
    let all = db.catalog_matches(&kafka, &languages, true).await.unwrap();
    let some: Vec<(wharf_core::OfferKey, f64)> = all.offers.iter().step_by(3).copied().collect();
    let keys: Vec<wharf_core::OfferKey> = some.iter().map(|(o, _)| *o).collect();
    assert!(all.ranked && some.len() > 10, "{}", some.len());
    assert_eq!(db.catalog_ranks(&kafka, &languages, &keys).await.unwrap(), some);
    let private: Vec<String> =
        entries.iter().filter(|(e, _)| !e.plans[0].public).map(|(e, _)| e.offer_id.clone()).collect();
    assert!(private.len() > 60, "{}", private.len());

    type Case<'a> = (Option<&'a str>, Vec<(CatalogFacet, &'a str)>, CatalogSort);
    let queries: Vec<Case> = vec![
        (None, vec![], CatalogSort::Name),
        (None, vec![], CatalogSort::Newest),
        (None, vec![(CatalogFacet::Category, "databases")], CatalogSort::Name),
        (None, vec![(CatalogFacet::Pricing, "free"), (CatalogFacet::Architecture, "arm64")], CatalogSort::Newest),
        (None, vec![(CatalogFacet::Grade, "A,B"), (CatalogFacet::Category, "web,security")], CatalogSort::Name),
        (Some("database"), vec![], CatalogSort::Relevance),
        (Some("kafka monitoring"), vec![], CatalogSort::Relevance),
        (Some("swift"), vec![(CatalogFacet::Pricing, "byol")], CatalogSort::Name),
        (Some("vec"), vec![(CatalogFacet::Category, "databases,web")], CatalogSort::Relevance),
        (Some("omega"), vec![(CatalogFacet::Publisher, "pub3,pub4")], CatalogSort::Newest),
        // Filtered matches are ranked after the filters (SQLite), or with the matches.
        (
            Some("backup data"),
            vec![(CatalogFacet::Grade, "A"), (CatalogFacet::Pricing, "free")],
            CatalogSort::Relevance,
        ),
        (Some("nothingmatches"), vec![], CatalogSort::Relevance),
    ];
    for (who, viewer) in [("anyone", CatalogViewer::Anonymous), ("admin", CatalogViewer::Operator)] {
        for (q, filters, sort) in &queries {
            // The oracle: one SQL search with every result on one page.
            let words: Vec<String> =
                q.map(|q| q.parse::<wharf_core::SearchText>().unwrap().words().to_vec()).unwrap_or_default();
            let owned: Vec<(CatalogFacet, Vec<String>)> =
                filters.iter().map(|(f, v)| (*f, v.split(',').map(str::to_owned).collect())).collect();
            let search =
                CatalogSearch { words: &words, filters: &owned, viewer, sort: *sort, after: None, limit: 10_000 };
            let expected = db.search_catalog(&search).await.unwrap();
            let expected_offers: Vec<String> = expected.hits.iter().map(|h| h.offer_id.clone()).collect();
            // The server, page after page.
            let mut params: Vec<(String, String)> =
                vec![("sort".into(), sort.as_str().into()), ("limit".into(), "37".into())];
            if let Some(q) = q {
                params.push(("q".into(), (*q).into()));
            }
            for (f, v) in filters {
                params.push((f.as_str().into(), (*v).into()));
            }
            let mut got: Vec<String> = Vec::new();
            let mut cursor: Option<String> = None;
            let mut first: Option<Value> = None;
            loop {
                let mut p = params.clone();
                if let Some(c) = &cursor {
                    p.push(("cursor".into(), c.clone()));
                }
                let rb = if who == "admin" {
                    app.as_user(Method::GET, "admin", "/api/v1/catalog")
                } else {
                    app.anon(Method::GET, "/api/v1/catalog")
                };
                let (status, page) = json(rb.query(&p).send().await.unwrap()).await;
                assert_eq!(status, 200, "{page}");
                got.extend(page["items"].as_array().unwrap().iter().map(|i| i["offer"].as_str().unwrap().to_owned()));
                cursor = page["next_cursor"].as_str().map(str::to_owned);
                first.get_or_insert(page);
                if cursor.is_none() {
                    break;
                }
            }
            let first = first.unwrap();
            let context = format!("{who} {q:?} {filters:?} {sort:?}");
            assert_eq!(got, expected_offers, "{context}");
            assert_eq!(first["total"].as_u64(), Some(expected.total), "{context}");
            let mut counts: Vec<(String, String, u64)> = Vec::new();
            for f in first["facets"].as_array().unwrap() {
                for v in f["values"].as_array().unwrap() {
                    counts.push((
                        f["facet"].as_str().unwrap().into(),
                        v["value"].as_str().unwrap().into(),
                        v["count"].as_u64().unwrap(),
                    ));
                }
            }
            let oracle: Vec<(String, String, u64)> =
                expected.facets.iter().map(|(f, v, n)| (f.as_str().to_owned(), v.clone(), *n)).collect();
            assert_eq!(counts, oracle, "{context}");
        }
    }
}
