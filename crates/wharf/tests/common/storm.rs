//! A pull storm: many clients at once, each doing what docker, podman and skopeo do
//! to pull an image: `GET /v2/`, a token from the challenge's realm with a password
//! or an API token (Basic), the manifest by tag, every blob (large ones in two
//! `Range` halves, as a resumed download), each checked against its digest. A 429
//! is honoured (`Retry-After`) and retried, as those clients do. Shared by the CI
//! test (`tests/limits.rs`) and the 1,000-client benchmark (`examples/pull_storm.rs`).
#![allow(dead_code)]

use std::time::{Duration, Instant};

use reqwest::StatusCode;

/// An image in the registry.
#[derive(Debug, Clone)]
pub struct Image {
    /// `org/name`.
    pub repo: String,
    /// The tag pulled.
    pub tag: String,
    /// The manifest's digest.
    pub manifest: String,
    /// Its blobs: digest and size.
    pub blobs: Vec<(String, u64)>,
}

/// What the storm saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Clients that pulled the whole image, every digest right.
    pub ok: usize,
    /// Clients that failed, with why.
    pub failed: Vec<String>,
    /// 429 answers honoured and retried.
    pub retried: usize,
    /// Slowest client.
    pub slowest: Duration,
    /// Wall time.
    pub elapsed: Duration,
}

fn sha256(bytes: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    format!("sha256:{}", d.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn basic(user: &str, secret: &str) -> String {
    use base64::Engine as _;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}")))
}

/// Creates the organization `org` and `users` viewers in it (`puller0`, …) through
/// the REST API as `admin`; with `tokens`, each gets an API token with the
/// `registry:pull` scope. Returns each user's name and secret.
pub async fn users(base: &str, admin_password: &str, org: &str, users: usize, tokens: bool) -> Vec<(String, String)> {
    let http = reqwest::Client::new();
    let admin = basic("admin", admin_password);
    let r = http
        .post(format!("{base}/api/v1/orgs"))
        .header("authorization", &admin)
        .json(&serde_json::json!({"name": org, "kind": "publisher"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success() || r.status() == StatusCode::CONFLICT, "{}", r.text().await.unwrap());
    let mut out = Vec::new();
    for i in 0..users {
        let name = format!("{org}{i}");
        let password = format!("storm password {i} of {users}");
        let r = http
            .post(format!("{base}/api/v1/users"))
            .header("authorization", &admin)
            .json(&serde_json::json!({"name": name, "password": password}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        let r = http
            .put(format!("{base}/api/v1/orgs/{org}/members/{name}"))
            .header("authorization", &admin)
            .json(&serde_json::json!({"role": "viewer"}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        let secret = if tokens {
            let r = http
                .post(format!("{base}/api/v1/user/tokens"))
                .header("authorization", basic(&name, &password))
                .json(&serde_json::json!({"name": "storm", "scopes": ["registry:pull"]}))
                .send()
                .await
                .unwrap();
            let body: serde_json::Value = r.json().await.unwrap();
            body["secret"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
        } else {
            password
        };
        out.push((name, secret));
    }
    out
}

/// Pushes an image of one config and `layers` random layers of `layer_bytes` each as
/// `admin`, with the token flow.
pub async fn push(base: &str, admin_password: &str, repo: &str, tag: &str, layers: usize, layer_bytes: usize) -> Image {
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{base}/token?service=wharf-registry&scope=repository:{repo}:pull,push"))
        .header("authorization", basic("admin", admin_password))
        .send()
        .await
        .unwrap();
    let token = r.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let auth = format!("Bearer {token}");
    let mut rng = fastrand::Rng::with_seed(42);
    let mut blobs = Vec::new();
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
    let mut contents = vec![config];
    for _ in 0..layers {
        let mut layer = vec![0u8; layer_bytes];
        rng.fill(&mut layer);
        contents.push(layer);
    }
    for c in &contents {
        let d = sha256(c);
        let r = http
            .post(format!("{base}/v2/{repo}/blobs/uploads/?digest={d}"))
            .header("authorization", &auth)
            .body(c.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        blobs.push((d, c.len() as u64));
    }
    let layer_json: Vec<String> = blobs[1..]
        .iter()
        .map(|(d, s)| format!(r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{d}","size":{s}}}"#))
        .collect();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{}]}}"#,
        blobs[0].0,
        blobs[0].1,
        layer_json.join(",")
    );
    let r = http
        .put(format!("{base}/v2/{repo}/manifests/{tag}"))
        .header("authorization", &auth)
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    Image { repo: repo.to_owned(), tag: tag.to_owned(), manifest: sha256(manifest.as_bytes()), blobs }
}

/// Sends a request, honouring 429 with `Retry-After` (jittered) up to 30 times.
async fn with_retries(
    make: impl Fn() -> reqwest::RequestBuilder,
    retried: &mut usize,
) -> Result<reqwest::Response, String> {
    for attempt in 0..30 {
        let r = make().send().await.map_err(|e| e.to_string())?;
        if r.status() != StatusCode::TOO_MANY_REQUESTS && r.status() != StatusCode::SERVICE_UNAVAILABLE {
            return Ok(r);
        }
        *retried += 1;
        let secs: u64 = r.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok()).unwrap_or(1);
        let jitter = Duration::from_millis(fastrand::u64(0..500) + attempt * 10);
        tokio::time::sleep(Duration::from_secs(secs) + jitter).await;
    }
    Err("still refused after 30 retries".to_owned())
}

/// One client's pull.
async fn pull(base: String, user: String, secret: String, image: Image) -> Result<usize, String> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().map_err(|e| e.to_string())?;
    let mut retried = 0;
    let r = with_retries(|| http.get(format!("{base}/v2/")), &mut retried).await?;
    if r.status() != StatusCode::UNAUTHORIZED {
        return Err(format!("GET /v2/: {}", r.status()));
    }
    let challenge = r.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let param =
        |k: &str| challenge.split(&format!("{k}=\"")).nth(1).and_then(|s| s.split('"').next()).unwrap_or("").to_owned();
    let (realm, service) = (param("realm"), param("service"));
    let auth = basic(&user, &secret);
    let scope = format!("repository:{}:pull", image.repo);
    let r = with_retries(
        || {
            http.get(&realm)
                .query(&[("service", service.as_str()), ("scope", scope.as_str())])
                .header("authorization", &auth)
        },
        &mut retried,
    )
    .await?;
    if !r.status().is_success() {
        return Err(format!("token: {} {}", r.status(), r.text().await.unwrap_or_default()));
    }
    let token =
        r.json::<serde_json::Value>().await.map_err(|e| e.to_string())?["token"].as_str().ok_or("no token")?.to_owned();
    let bearer = format!("Bearer {token}");
    let get = |path: String| {
        let bearer = bearer.clone();
        let http = http.clone();
        move || http.get(&path).header("authorization", &bearer)
    };
    let r = with_retries(
        {
            let f = get(format!("{base}/v2/{}/manifests/{}", image.repo, image.tag));
            move || f().header("accept", "application/vnd.oci.image.manifest.v1+json")
        },
        &mut retried,
    )
    .await?;
    if r.status() != StatusCode::OK {
        return Err(format!("manifest: {}", r.status()));
    }
    let body = r.bytes().await.map_err(|e| e.to_string())?;
    if sha256(&body) != image.manifest {
        return Err("the manifest's digest is wrong".to_owned());
    }
    for (digest, size) in &image.blobs {
        let url = format!("{base}/v2/{}/blobs/{digest}", image.repo);
        let bytes = if *size > 1 << 20 {
            // A download resumed half-way, with Range.
            let half = size / 2;
            let mut all = Vec::with_capacity(*size as usize);
            for range in [format!("bytes=0-{}", half - 1), format!("bytes={half}-")] {
                let f = get(url.clone());
                let r = with_retries(move || f().header("range", range.clone()), &mut retried).await?;
                if r.status() != StatusCode::PARTIAL_CONTENT {
                    return Err(format!("blob range: {}", r.status()));
                }
                all.extend_from_slice(&r.bytes().await.map_err(|e| e.to_string())?);
            }
            all
        } else {
            let r = with_retries(get(url), &mut retried).await?;
            if r.status() != StatusCode::OK {
                return Err(format!("blob: {}", r.status()));
            }
            r.bytes().await.map_err(|e| e.to_string())?.to_vec()
        };
        if &sha256(&bytes) != digest {
            return Err(format!("blob {digest}: wrong digest"));
        }
    }
    Ok(retried)
}

/// `clients` pulls of `image` at once, spread over the credentials round-robin.
pub async fn storm(base: &str, clients: usize, credentials: &[(String, String)], image: &Image) -> Outcome {
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            let (user, secret) = credentials[i % credentials.len()].clone();
            let (base, image) = (base.to_owned(), image.clone());
            tokio::spawn(async move {
                let t = Instant::now();
                (pull(base, user, secret, image).await, t.elapsed())
            })
        })
        .collect();
    let mut outcome = Outcome::default();
    for t in tasks {
        let (result, took) = t.await.unwrap();
        outcome.slowest = outcome.slowest.max(took);
        match result {
            Ok(retried) => {
                outcome.ok += 1;
                outcome.retried += retried;
            }
            Err(e) => outcome.failed.push(e),
        }
    }
    outcome.elapsed = started.elapsed();
    outcome
}

/// The peak resident memory of process `pid`, in KiB (`VmHWM`).
pub fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
