//! The catalog's search speed over many listings, and how soon a go-live is searchable.
//! Run by `bench/catalog`, which prepares the database and starts the server.
//!
//!   catalog_bench load DATABASE_URL [--listings N]
//!       generates N listings (deterministic: the same every run) into a migrated,
//!       empty database: 1,000 publishers, 20 categories, a vocabulary with a few
//!       common product words and thousands of rare ones, 10% of listings in a second
//!       locale, pricing, architectures, deployment kinds and grades spread unevenly.
//!   catalog_bench measure DATABASE_URL SERVER_URL ADMIN_PASSWORD [--queries N]
//!       per query shape (keyword, facet filter, keyword + facets), N searches one
//!       after another, each three ways: the whole search in SQL (`Db::search_catalog`,
//!       the yardstick), the part the server asks of the database (the catalog's state
//!       and the full-text matches), and an anonymous `GET /api/v1/catalog` to the
//!       server (its in-memory index over those matches, 20 results with facet counts);
//!       p50 and p99 of each. Then publishes an offer through the API and measures
//!       from the go-live's answer to the offer's first appearance in search.

#![allow(clippy::print_stdout, reason = "the benchmark reports on stdout")]

#[path = "../tests/common/tar.rs"]
mod tar;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wharf_core::catalog::text_search_language;
use wharf_core::{CatalogFacet, CatalogSort, OrgKind};
use wharf_db::catalog::{CatalogEntry, CatalogPlan, CatalogSearch, CatalogText, CatalogViewer};
use wharf_db::{Db, DbOptions};

const DOMAIN: &[&str] = &[
    "database",
    "kafka",
    "monitoring",
    "security",
    "backup",
    "analytics",
    "cache",
    "gateway",
    "observability",
    "streaming",
    "search",
    "vector",
    "inference",
    "identity",
    "vault",
    "proxy",
    "ingress",
    "logging",
    "metrics",
    "tracing",
    "queue",
    "storage",
    "firewall",
    "scanner",
    "dns",
    "mail",
    "chat",
    "wiki",
    "cms",
    "payments",
    "crm",
    "devops",
    "registry",
    "mesh",
    "serverless",
    "notebook",
    "etl",
    "warehouse",
    "graph",
    "timeseries",
];
const ADJECTIVES: &[&str] =
    &["Swift", "Secure", "Open", "Cloud", "Rapid", "Smart", "Edge", "Hyper", "Lean", "Solid", "Bright", "Quiet"];
const SUFFIXES: &[&str] = &["Hub", "Server", "Suite", "Platform", "Engine", "Stack", "Pro", "Cloud", "Kit", "One"];
const CATEGORIES: &[&str] = &[
    "databases",
    "security",
    "monitoring",
    "networking",
    "storage",
    "analytics",
    "ai-ml",
    "developer-tools",
    "integration",
    "identity",
    "messaging",
    "web",
    "media",
    "iot",
    "devops",
    "compliance",
    "backup",
    "content",
    "finance",
    "productivity",
];
const LOCALES: &[&str] = &["nl-NL", "de-DE", "fr-FR", "ja-JP"];

/// Zipf-like pick of an index below `n`: small indexes far more often.
fn zipf(rng: &mut fastrand::Rng, n: usize) -> usize {
    let u = rng.f64();
    ((n as f64).powf(u) - 1.0).floor() as usize % n
}

fn filler(rng: &mut fastrand::Rng, words: &[String], n: usize) -> String {
    (0..n).map(|_| words[zipf(rng, words.len())].as_str()).collect::<Vec<_>>().join(" ")
}

fn vocabulary() -> Vec<String> {
    let syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "pe", "sa", "do", "ri", "fu", "go", "be"];
    let mut words = Vec::new();
    for a in syllables {
        for b in syllables {
            for c in syllables {
                words.push(format!("{a}{b}{c}"));
            }
        }
    }
    words // 3,375 words
}

/// The generated listings.
fn generate(publishers: &[(wharf_core::OrgId, String)], listings: usize) -> Vec<(CatalogEntry, Option<String>)> {
    let mut rng = fastrand::Rng::with_seed(15);
    let words = vocabulary();
    (0..listings)
        .map(|i| {
            let (publisher_id, publisher) = publishers[zipf(&mut rng, publishers.len())].clone();
            // Product words evenly (each in a few percent of listings), filler words by
            // Zipf's law as in natural text: the commonest are in most listings.
            let domain = DOMAIN[rng.usize(..DOMAIN.len())];
            let name = format!(
                "{} {}{} {}",
                ADJECTIVES[rng.usize(..ADJECTIVES.len())],
                &domain[..1].to_uppercase(),
                &domain[1..],
                SUFFIXES[rng.usize(..SUFFIXES.len())]
            );
            let keywords =
                format!("{domain} {} {}", DOMAIN[rng.usize(..DOMAIN.len())], words[rng.usize(..words.len())]);
            let publisher_name = format!("{} Software", publisher.replace('-', " "));
            let mut texts = vec![CatalogText {
                locale: "en-US".into(),
                language: "english".into(),
                name: name.clone(),
                summary: format!("A {domain} product: {}", filler(&mut rng, &words, 12)),
                description: format!("{} {domain} {}", filler(&mut rng, &words, 40), filler(&mut rng, &words, 20)),
                keywords: keywords.clone(),
                publisher: format!("{publisher_name} {publisher}"),
            }];
            if rng.usize(..10) == 0 {
                let locale = LOCALES[rng.usize(..LOCALES.len())];
                texts.push(CatalogText {
                    locale: locale.into(),
                    language: text_search_language(locale).into(),
                    name: format!("{name} ({locale})"),
                    summary: filler(&mut rng, &words, 12),
                    description: filler(&mut rng, &words, 50),
                    keywords: keywords.clone(),
                    publisher: format!("{publisher_name} {publisher}"),
                });
            }
            let mut facets = vec![(CatalogFacet::Publisher, publisher.clone())];
            facets.push((CatalogFacet::Category, CATEGORIES[zipf(&mut rng, CATEGORIES.len())].into()));
            if rng.bool() {
                facets.push((CatalogFacet::Category, CATEGORIES[rng.usize(..CATEGORIES.len())].into()));
            }
            let pricing = match rng.usize(..20) {
                0..10 => "free",
                10..15 => "byol",
                15..18 => "flat_monthly",
                _ => "per_core_hour",
            };
            facets.push((CatalogFacet::Pricing, pricing.into()));
            if rng.usize(..3) == 0 {
                facets.push((CatalogFacet::Pricing, "free".into()));
            }
            facets.push((CatalogFacet::Architecture, "amd64".into()));
            if rng.usize(..5) < 2 {
                facets.push((CatalogFacet::Architecture, "arm64".into()));
            }
            let kinds = ["container", "kubernetes", "compose"];
            facets.push((CatalogFacet::Deployment, kinds[zipf(&mut rng, 3)].into()));
            facets.sort();
            facets.dedup();
            let grade = match rng.usize(..100) {
                0..60 => "A",
                60..80 => "B",
                80..90 => "C",
                90..95 => "D",
                95..98 => "E",
                _ => "F",
            };
            let public = rng.usize(..50) != 0;
            let entry = CatalogEntry {
                publisher_id,
                publisher,
                publisher_name,
                offer_id: format!("offer-{i:06}"),
                version: 1,
                default_locale: "en-US".into(),
                sort_name: name.to_lowercase(),
                texts,
                facets,
                plans: vec![CatalogPlan { id: "standard".into(), public, audience: Vec::new() }],
            };
            (entry, Some(grade.to_owned()))
        })
        .collect()
}

async fn connect(url: &str) -> Db {
    let options = DbOptions {
        url: url.to_owned(),
        max_connections: 5,
        connect_timeout: Duration::from_secs(10),
        sqlite_busy_timeout: Duration::from_secs(10),
    };
    Db::connect(&options).await.unwrap_or_else(|e| panic!("{e}"))
}

async fn load(url: &str, listings: usize) {
    let db = connect(url).await;
    db.migrate().await.unwrap();
    let started = Instant::now();
    let mut publishers = Vec::new();
    for i in 0..1000 {
        let name: wharf_core::OrgName = format!("publisher-{i:04}").parse().unwrap();
        let org = db.create_org(&name, OrgKind::Publisher, None, None).await.unwrap();
        publishers.push((org.id, name.to_string()));
    }
    let entries = generate(&publishers, listings);
    db.bulk_load_catalog(&entries).await.unwrap();
    println!("loaded {listings} listings of 1000 publishers in {:.1} s", started.elapsed().as_secs_f64());
}

/// A search as query parameters.
type Query = Vec<(&'static str, String)>;

/// The query shapes, each with variants used in turn.
fn shapes() -> Vec<(&'static str, Vec<Query>)> {
    let q = |pairs: &[(&'static str, &str)]| pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect::<Query>();
    vec![
        (
            "keyword",
            vec![
                q(&[("q", "database")]),
                q(&[("q", "kafka streaming")]),
                q(&[("q", "monitoring")]),
                q(&[("q", "secure backup")]),
                q(&[("q", "fugobe")]),
                q(&[("q", "sadoka")]),
                q(&[("q", "observ")]),
                q(&[("q", "timeseries hub")]),
                q(&[("q", "publisher 0042")]),
            ],
        ),
        (
            "facet filter",
            vec![
                q(&[("category", "databases")]),
                q(&[("pricing", "free"), ("architecture", "arm64")]),
                q(&[("grade", "A"), ("deployment", "kubernetes")]),
                q(&[("publisher", "publisher-0001")]),
                q(&[("category", "security,monitoring"), ("pricing", "byol")]),
                q(&[("grade", "D,E,F")]),
            ],
        ),
        (
            "keyword + facets",
            vec![
                q(&[("q", "database"), ("category", "databases"), ("pricing", "free")]),
                q(&[("q", "monitoring"), ("grade", "A,B")]),
                q(&[("q", "kafka"), ("architecture", "arm64"), ("deployment", "kubernetes")]),
                q(&[("q", "secure"), ("category", "security")]),
                q(&[("q", "vault"), ("pricing", "per_core_hour,flat_monthly")]),
            ],
        ),
    ]
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

/// The full-text part the server asks of the database (and the catalog's state): the
/// matches, ranked when no facet filters them; with facets, unranked where ranking
/// costs, then the ranks of as many of them as the search keeps (`kept`, what the
/// yardstick answered).
async fn db_part(db: &Db, query: &Query, kept: u64) {
    db.catalog_state().await.unwrap();
    if let Some((_, q)) = query.iter().find(|(k, _)| *k == "q") {
        let words = q.parse::<wharf_core::SearchText>().unwrap().words().to_vec();
        let languages = ["english", "dutch", "german", "french", "simple"].map(str::to_owned);
        let facets = query.iter().any(|(k, _)| *k != "q");
        let matches = db.catalog_matches(&words, &languages, !facets).await.unwrap();
        if !matches.ranked {
            let kept: Vec<_> = matches.offers.iter().take(kept as usize).map(|(o, _)| *o).collect();
            db.catalog_ranks(&words, &languages, &kept).await.unwrap();
        }
    }
}

/// The whole search in SQL: the yardstick.
async fn db_search(db: &Db, query: &Query) -> u64 {
    let mut words = Vec::new();
    let mut filters = Vec::new();
    for (k, v) in query {
        if *k == "q" {
            words = v.parse::<wharf_core::SearchText>().unwrap().words().to_vec();
        } else {
            let values = v.parse::<wharf_core::FacetValues>().unwrap().into_values();
            filters.push((k.parse::<CatalogFacet>().unwrap(), values));
        }
    }
    let sort = if words.is_empty() { CatalogSort::Name } else { CatalogSort::Relevance };
    let search = CatalogSearch {
        words: &words,
        filters: &filters,
        viewer: CatalogViewer::Anonymous,
        sort,
        after: None,
        limit: 20,
    };
    db.search_catalog(&search).await.unwrap().total
}

async fn http_search(http: &reqwest::Client, server: &str, query: &Query) -> u64 {
    let r = http.get(format!("{server}/api/v1/catalog")).query(&[("limit", "20")]).query(query).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["total"].as_u64().unwrap()
}

async fn measure(url: &str, server: &str, password: &str, queries: usize) {
    let db = connect(url).await;
    let http = reqwest::Client::new();
    println!(
        "{:<18} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11}",
        "shape", "sql p50", "sql p99", "db p50", "db p99", "http p50", "http p99", "results"
    );
    for (shape, variants) in shapes() {
        let mut totals = Vec::new();
        for v in &variants {
            // Warm up, and check the server answers what SQL answers.
            let (a, b) = (db_search(&db, v).await, http_search(&http, server, v).await);
            assert_eq!(a, b, "{v:?}");
            totals.push(a);
        }
        // Each path in a series of its own (the yardstick's heavy queries would
        // otherwise evict what the server's next request reads, on 2 cores), in turn
        // over the variants.
        let mut times: [Vec<Duration>; 3] = Default::default();
        for i in 0..queries {
            let t = Instant::now();
            db_search(&db, &variants[i % variants.len()]).await;
            times[0].push(t.elapsed());
        }
        for i in 0..queries {
            let t = Instant::now();
            db_part(&db, &variants[i % variants.len()], totals[i % variants.len()]).await;
            times[1].push(t.elapsed());
        }
        for i in 0..queries {
            let t = Instant::now();
            http_search(&http, server, &variants[i % variants.len()]).await;
            times[2].push(t.elapsed());
        }
        // Each variant's median over HTTP: which query bounds the shape's p99.
        let mut per_variant: Vec<Vec<Duration>> = vec![Vec::new(); variants.len()];
        for (i, t) in times[2].iter().enumerate() {
            per_variant[i % variants.len()].push(*t);
        }
        let mut line = format!("{shape:<18}");
        for t in &mut times {
            t.sort();
            line.push_str(&format!(" {:>7.2}ms {:>7.2}ms", percentile(t, 0.5), percentile(t, 0.99)));
        }
        println!("{line} {:>11}", format!("{}-{}", totals.iter().min().unwrap(), totals.iter().max().unwrap()));
        for ((v, mut t), total) in variants.iter().zip(per_variant).zip(&totals) {
            t.sort();
            let v: Vec<String> = v.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!(
                "    http p50 {:>7.2}ms  max {:>7.2}ms  {total:>6} results  {}",
                percentile(&t, 0.5),
                percentile(&t, 1.0),
                v.join("&")
            );
        }
    }
    let visible = go_live_to_visible(&http, server, password).await;
    println!("go-live to visible in search: {:.0} ms", visible.as_secs_f64() * 1000.0);
}

fn sha256(data: &[u8]) -> String {
    wharf_oci::Digest::of(wharf_oci::Algorithm::Sha256, data).to_string()
}

/// Publishes the example offer as `benchpub/golive` and returns the time from the
/// go-live's answer to the first search that finds it.
async fn go_live_to_visible(http: &reqwest::Client, server: &str, password: &str) -> Duration {
    let admin = |rb: reqwest::RequestBuilder| rb.basic_auth("admin", Some(password));
    let r = admin(http.post(format!("{server}/api/v1/orgs"))).json(&json!({"name": "benchpub", "kind": "publisher"}));
    let status = r.send().await.unwrap().status();
    assert!(status == 201 || status == 409, "{status}");
    let r = admin(http.put(format!("{server}/api/v1/orgs/benchpub/approval"))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // An image: one tar layer, a non-root user.
    let repo = "benchpub/example-db";
    let r = admin(http.get(format!("{server}/token")))
        .query(&[("service", "wharf-registry"), ("scope", &format!("repository:{repo}:pull,push"))])
        .send()
        .await
        .unwrap();
    let token = format!("Bearer {}", r.json::<Value>().await.unwrap()["token"].as_str().unwrap());
    let layer = tar::tar(&[("hello.txt", b"hello from the catalog benchmark\n")]);
    let config = json!({"architecture": "amd64", "os": "linux", "config": {"User": "1000"},
        "rootfs": {"type": "layers", "diff_ids": [sha256(&layer)]}})
    .to_string();
    for blob in [&layer, config.as_bytes()] {
        let r = http
            .post(format!("{server}/v2/{repo}/blobs/uploads/?digest={}", sha256(blob)))
            .header("authorization", &token)
            .body(blob.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(config.as_bytes()), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256(&layer), "size": layer.len()}]})
    .to_string();
    let r = http
        .put(format!("{server}/v2/{repo}/manifests/1.0.0"))
        .header("authorization", &token)
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // The example offer, its media uploaded.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/offer/");
    let text = std::fs::read_to_string(format!("{dir}offer.yaml")).unwrap().replace("contoso", "benchpub");
    let mut doc: Value = yaml_serde::from_str(&text).unwrap();
    doc["id"] = json!("golive");
    doc["listings"]["en-US"]["keywords"] = json!(["database", "zyxwvbenchmark"]);
    let upload = async |path: &str| -> String {
        let bytes = std::fs::read(format!("{dir}{path}")).unwrap();
        let r = admin(http.post(format!("{server}/api/v1/orgs/benchpub/media"))).body(bytes).send().await.unwrap();
        r.json::<Value>().await.unwrap()["digest"].as_str().unwrap().to_owned()
    };
    for slot in ["small", "medium", "large", "wide"] {
        let path = doc["media"]["icons"][slot].as_str().unwrap().to_owned();
        doc["media"]["icons"][slot] = json!(upload(&path).await);
    }
    let shots = doc["media"]["screenshots"].as_array().unwrap().len();
    for i in 0..shots {
        let path = doc["media"]["screenshots"][i]["image"].as_str().unwrap().to_owned();
        doc["media"]["screenshots"][i]["image"] = json!(upload(&path).await);
    }
    let offers = format!("{server}/api/v1/orgs/benchpub/offers");
    let r = admin(http.post(&offers)).json(&doc).send().await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let r = admin(http.post(format!("{offers}/golive/submit"))).send().await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let state = async || {
        let r = admin(http.get(format!("{offers}/golive"))).send().await.unwrap();
        r.json::<Value>().await.unwrap()["state"].as_str().unwrap().to_owned()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while state().await != "preview" {
        assert!(Instant::now() < deadline, "the offer did not reach Preview: {}", state().await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = admin(http.post(format!("{offers}/golive/go-live"))).json(&json!({"version": 1})).send().await.unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let answered = Instant::now();
    loop {
        let r = http.get(format!("{server}/api/v1/catalog?q=zyxwvbenchmark")).send().await.unwrap();
        if r.json::<Value>().await.unwrap()["total"] == 1 {
            return answered.elapsed();
        }
        assert!(answered.elapsed() < Duration::from_secs(60), "not visible after a minute");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("load"), Some(url)) => load(url, arg(&args, "--listings", 100_000)).await,
        (Some("measure"), Some(url)) => {
            let (Some(server), Some(password)) = (args.get(3), args.get(4)) else {
                eprintln!("usage: catalog_bench measure DATABASE_URL SERVER_URL ADMIN_PASSWORD [--queries N]");
                std::process::exit(2);
            };
            measure(url, server, password, arg(&args, "--queries", 300)).await;
        }
        _ => {
            eprintln!("usage: catalog_bench load DATABASE_URL [--listings N]");
            eprintln!("       catalog_bench measure DATABASE_URL SERVER_URL ADMIN_PASSWORD [--queries N]");
            std::process::exit(2);
        }
    }
}
