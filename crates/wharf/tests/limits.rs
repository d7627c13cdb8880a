//! The server resists slow, idle and numerous clients: headers that trickle in,
//! keep-alive connections left open, more connections than it serves at once, and
//! request bodies that stall. Each is bounded by `[server]` settings while other
//! clients keep being served quickly. Loopback only.

mod common;

use std::time::{Duration, Instant};

use common::reg::Reg;
use common::{TestApp, json};
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wharf::config::{Config, HumanDuration};
use wharf_core::OrgKind;

async fn setup(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let app = TestApp::with_config(adjust).await;
    app.user("dev").await;
    app.org("acme", OrgKind::Publisher, "dev").await;
    app
}

fn addr(app: &TestApp) -> String {
    app.url.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection; returns what it sent.
async fn until_closed(stream: &mut (impl AsyncReadExt + Unpin)) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_trickling_headers_are_closed_within_the_timeout_while_others_are_served() {
    let app = setup(|c| c.server.header_read_timeout = HumanDuration(Duration::from_secs(2))).await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    let blob: Vec<u8> = (0..(4u32 << 20)).map(|i| (i % 251) as u8).collect();
    let digest = reg.push_blob(&blob).await;
    let target = addr(&app);
    // What the machine gives now, to judge the times under attack against (a shared
    // CI runner may be slow for reasons of its own).
    let (base_health, base_pull) = baseline(&app, &reg, &digest).await;
    // 300 connections, each sending one header byte every 700 ms: complete headers
    // would take a minute.
    let mut slow = Vec::new();
    for _ in 0..300 {
        let target = target.clone();
        slow.push(tokio::spawn(async move {
            // Timed from the established connection (a burst of SYNs may see one retried after 1 s).
            let stream = TcpStream::connect(&target).await.unwrap();
            let started = Instant::now();
            let (mut read, mut write) = stream.into_split();
            let trickle = async move {
                for b in
                    b"GET /healthz HTTP/1.1\r\nHost: wharf\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n"
                {
                    if write.write_all(&[*b]).await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(700)).await;
                }
                std::future::pending::<()>().await;
            };
            tokio::select! {
                _ = until_closed(&mut read) => {}
                () = trickle => {}
            }
            started.elapsed()
        }));
    }
    // Meanwhile health checks and pulls of the 4 MiB blob stay fast.
    let mut worst_health = Duration::ZERO;
    let mut worst_pull = Duration::ZERO;
    let probing = Instant::now();
    while probing.elapsed() < Duration::from_secs(3) {
        let t = Instant::now();
        let r = app.anon(Method::GET, "/healthz").send().await.unwrap();
        assert_eq!(r.status(), 200);
        worst_health = worst_health.max(t.elapsed());
        let t = Instant::now();
        let r = reg.req(Method::GET, &format!("/blobs/{digest}")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.unwrap().len(), blob.len());
        worst_pull = worst_pull.max(t.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut lifetimes = Vec::new();
    for t in slow {
        lifetimes.push(
            tokio::time::timeout(Duration::from_secs(10), t).await.expect("a slow client was not closed").unwrap(),
        );
    }
    lifetimes.sort();
    let longest = lifetimes.last().unwrap();
    eprintln!("client lifetimes: min {:?}, median {:?}, max {longest:?}", lifetimes[0], lifetimes[lifetimes.len() / 2]);
    eprintln!(
        "slowest client closed after {longest:?}; worst /healthz {worst_health:?}, worst 4 MiB pull {worst_pull:?}"
    );
    assert!(*longest < Duration::from_millis(3000), "{longest:?}");
    assert!(lifetimes.iter().all(|l| *l >= Duration::from_millis(1500)), "closed before the timeout: {lifetimes:?}");
    eprintln!("before the attack: /healthz {base_health:?}, 4 MiB pull {base_pull:?}");
    assert!(worst_health < (base_health * 10).max(Duration::from_millis(500)), "{worst_health:?}");
    assert!(worst_pull < (base_pull * 10).max(Duration::from_secs(1)), "{worst_pull:?}");
}

/// The slowest of three `/healthz` calls and of three pulls of `digest`, unloaded.
async fn baseline(app: &TestApp, reg: &Reg<'_>, digest: &wharf_oci::Digest) -> (Duration, Duration) {
    let (mut health, mut pull) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..3 {
        let t = Instant::now();
        assert_eq!(app.anon(Method::GET, "/healthz").send().await.unwrap().status(), 200);
        health = health.max(t.elapsed());
        let t = Instant::now();
        let r = reg.req(Method::GET, &format!("/blobs/{digest}")).send().await.unwrap();
        r.bytes().await.unwrap();
        pull = pull.max(t.elapsed());
    }
    (health, pull)
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let app = setup(|c| c.server.header_read_timeout = HumanDuration(Duration::from_secs(1))).await;
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: wharf\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
    let idle = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), until_closed(&mut s)).await.expect("the idle connection stayed open");
    let after = idle.elapsed();
    assert!(after >= Duration::from_millis(800) && after < Duration::from_secs(3), "{after:?}");
}

#[tokio::test]
async fn a_connection_that_stops_reading_a_response_is_closed() {
    let app = setup(|c| c.server.idle_timeout = HumanDuration(Duration::from_secs(1))).await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    let digest = reg.push_blob(&vec![1u8; 32 << 20]).await;
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    let request =
        format!("GET /v2/acme/app/blobs/{digest} HTTP/1.1\r\nHost: wharf\r\nAuthorization: {}\r\n\r\n", reg.auth);
    s.write_all(request.as_bytes()).await.unwrap();
    // Read a little, then stop: the server's writes block, and it gives up.
    let mut buf = [0u8; 4096];
    s.read_exact(&mut buf).await.unwrap();
    assert!(buf.starts_with(b"HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let started = Instant::now();
    let rest = tokio::time::timeout(Duration::from_secs(10), until_closed(&mut s)).await.unwrap();
    assert!(rest.len() < 32 << 20, "the whole blob arrived: {} bytes", rest.len());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    let app = setup(|c| c.server.max_connections = 8).await;
    let target = addr(&app);
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(TcpStream::connect(&target).await.unwrap());
    }
    // Let the server take all eight.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let waiting = {
        let url = format!("{}/healthz", app.url);
        tokio::spawn(async move {
            let started = Instant::now();
            let r = reqwest::get(url).await.unwrap();
            (r.status().as_u16(), started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!waiting.is_finished(), "a ninth connection was served while eight were open");
    drop(held.pop());
    let (status, took) = tokio::time::timeout(Duration::from_secs(5), waiting).await.unwrap().unwrap();
    assert_eq!(status, 200);
    assert!(took >= Duration::from_millis(600), "{took:?}");
    let metrics = app.anon(Method::GET, "/metrics").send().await.unwrap().text().await;
    // The eight held plus the probe's own: the gauge counts open connections.
    assert!(metrics.unwrap().contains("wharf_http_connections "), "no connection gauge");
}

#[tokio::test]
async fn a_stalled_upload_body_fails_and_the_session_stays_resumable() {
    let app = setup(|c| {
        c.server.body_min_rate = 1000;
        c.server.body_rate_window = HumanDuration(Duration::from_secs(1));
    })
    .await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    let r = reg.req(Method::POST, "/blobs/uploads/").send().await.unwrap();
    assert_eq!(r.status(), 202);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
    // A first chunk that delivers 5,000 bytes, then nothing for a minute.
    let first = data[..5000].to_vec();
    let stream = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(first))]).chain(
        futures::stream::once(async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(bytes::Bytes::new())
        }),
    );
    let started = Instant::now();
    let r = reg
        .req(Method::PATCH, &location)
        .header("content-type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "{took:?}");
    if let Ok(r) = r {
        let (status, body) = json(r).await;
        assert!(status >= 400, "{status} {body}");
        assert!(body.to_string().contains("too slowly"), "{body}");
    }
    // The session is still there, at a byte count the client can resume from.
    let r = reg.req(Method::GET, &location).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let range = r.headers()["range"].to_str().unwrap().to_owned();
    let have: usize = range.trim_start_matches("0-").parse::<usize>().map(|end| end + 1).unwrap_or(0);
    assert!(have == 0 || have == 5000, "{range}");
    let d = wharf_oci::Digest::of(wharf_oci::Algorithm::Sha256, &data);
    let r = reg
        .req(Method::PUT, &format!("{location}?digest={d}"))
        .header("content-range", format!("{have}-{}", data.len() - 1))
        .body(data[have..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

use futures::StreamExt;

fn http_get(stream: &mut std::net::TcpStream, path: &str) -> String {
    use std::io::{Read, Write};
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: wharf\r\n\r\n").as_bytes()).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let n = stream.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// The real binary with 128 file descriptors, flooded with connections: accepting
/// fails, and that is logged (at most once a second), counted, reported by
/// readiness, and survived: open connections keep working, and new ones are
/// accepted as soon as descriptors are free again.
#[test]
fn running_out_of_file_descriptors_is_visible_and_survivable() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::Server::spawn_limited(&dir.path().join("data"), &[], Some(128));
    let addr = server.url.trim_start_matches("http://").to_owned();
    let mut kept = std::net::TcpStream::connect(&addr).unwrap();
    assert!(http_get(&mut kept, "/healthz").starts_with("HTTP/1.1 200"));
    let flooding = Instant::now();
    // More connections than descriptors; once the backlog is full, connects time out.
    let socket: std::net::SocketAddr = addr.parse().unwrap();
    let flood: Vec<std::net::TcpStream> = (0..300)
        .filter_map(|_| std::net::TcpStream::connect_timeout(&socket, Duration::from_millis(100)).ok())
        .collect();
    assert!(flood.len() > 128, "{} connections", flood.len());
    std::thread::sleep(Duration::from_millis(1500));
    // Served on a connection it already has, while it cannot accept new ones.
    let reply = http_get(&mut kept, "/readyz");
    assert!(reply.starts_with("HTTP/1.1 503"), "{reply}");
    assert!(reply.contains("too many open files"), "{reply}");
    drop(flood);
    // Descriptors are free again: new connections are served at once.
    let freed = Instant::now();
    loop {
        if let Ok(mut s) = std::net::TcpStream::connect(&addr)
            && http_get(&mut s, "/healthz").starts_with("HTTP/1.1 200")
        {
            break;
        }
        assert!(freed.elapsed() < Duration::from_secs(2), "not serving again after 2 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    let metrics = http_get(&mut s, "/metrics");
    let line = metrics.lines().find(|l| l.starts_with("wharf_http_accept_errors_total{")).unwrap_or_default();
    let count: f64 = line.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0.0);
    assert!(count >= 1.0, "{metrics}");
    // Rate-limited log: at most about one line per second of trouble.
    let logged = server.stderr().matches("cannot accept a connection").count();
    let seconds = flooding.elapsed().as_secs() as usize;
    assert!(logged >= 1 && logged <= seconds + 2, "{logged} log lines in {seconds} s, {count} failed accepts");
}

/// 1,000 upload sessions started at once by one user: the default cap (256) holds
/// exactly, the rest are told to retry later, and it all takes moments.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_upload_session_flood_is_capped() {
    let app = setup(|_| {}).await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    let started = Instant::now();
    let mut requests = Vec::new();
    for _ in 0..1000 {
        let r = reg.req(Method::POST, "/blobs/uploads/");
        requests.push(tokio::spawn(async move { r.send().await.map(|r| r.status().as_u16()) }));
    }
    let mut by_status = std::collections::BTreeMap::new();
    for r in requests {
        *by_status.entry(r.await.unwrap().unwrap()).or_insert(0) += 1;
    }
    let took = started.elapsed();
    eprintln!("1,000 session starts in {took:?}: {by_status:?}");
    assert_eq!(by_status, [(202, 256), (429, 744)].into_iter().collect());
    assert!(took < Duration::from_secs(30), "{took:?}");
}

/// 600 uploads trickling one byte a second hold sockets, not threads: a 20 MB pull
/// and a small push still finish within a second each, and every slow session
/// stays resumable. (When each body held two blocking threads, about 300 of them
/// exhausted tokio's blocking pool and every blob read and write waited.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_uploads_hold_no_threads() {
    let app = setup(|c| {
        c.registry.max_uploads_per_principal = 1000;
        c.registry.max_uploads_per_repository = 1000;
    })
    .await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    let big: Vec<u8> = (0..(20u32 << 20)).map(|i| (i % 253) as u8).collect();
    let big_digest = reg.push_blob(&big).await;
    let (_, base_pull) = baseline(&app, &reg, &big_digest).await;
    let target = addr(&app);
    let mut locations = Vec::new();
    for _ in 0..600 {
        let r = reg.req(Method::POST, "/blobs/uploads/").send().await.unwrap();
        assert_eq!(r.status(), 202);
        locations.push(r.headers()["location"].to_str().unwrap().to_owned());
    }
    let (stop, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut trickles = Vec::new();
    for location in &locations {
        let (target, auth, location) = (target.clone(), reg.auth.clone(), location.clone());
        let mut stop = stop.subscribe();
        trickles.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(&target).await.unwrap();
            let head = format!(
                "PATCH {location} HTTP/1.1\r\nHost: wharf\r\nAuthorization: {auth}\r\nTransfer-Encoding: chunked\r\n\r\n"
            );
            s.write_all(head.as_bytes()).await.unwrap();
            loop {
                if s.write_all(b"1\r\nx\r\n").await.is_err() {
                    return;
                }
                tokio::select! {
                    _ = stop.recv() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }));
    }
    // Let every trickle reach the server and start its body.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let t = Instant::now();
    let r = reg.req(Method::GET, &format!("/blobs/{big_digest}")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().len(), big.len());
    let pull = t.elapsed();
    let t = Instant::now();
    reg.push_blob(b"a small push while 600 uploads trickle").await;
    let push = t.elapsed();
    eprintln!("with 600 trickling uploads: 20 MiB pull {pull:?} (before: {base_pull:?}), small push {push:?}");
    // Within a second, or (on a runner slowed by other work) within ten times the
    // same pull before the uploads started. Threads held by uploads made it 27 s.
    assert!(pull < (base_pull * 10).max(Duration::from_secs(1)), "{pull:?}");
    assert!(push < (base_pull * 10).max(Duration::from_secs(1)), "{push:?}");
    let _ = stop.send(());
    for t in trickles {
        t.await.unwrap();
    }
    // Each slow session is still there and resumable: it reports how many bytes it
    // holds, as recorded when its connection closed (600 closing at once queue on the
    // database's writer; a record that could not be written leaves the session at
    // its last recorded size, which is where the client resumes).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut recorded = 0;
    for location in &locations {
        let r = reg.req(Method::GET, location).send().await.unwrap();
        assert_eq!(r.status(), 204, "{location}");
        let range = r.headers()["range"].to_str().unwrap().to_owned();
        let end: u64 = range.trim_start_matches("0-").parse().unwrap();
        assert!(end < 10, "{location}: {range}");
        recorded += usize::from(range != "0-0");
    }
    eprintln!("{recorded} of 600 slow sessions recorded their bytes");
    assert!(recorded >= 100, "{recorded}");
    // One resumes and finishes from where it is.
    let r = reg.req(Method::GET, &locations[0]).send().await.unwrap();
    let have: usize = match r.headers()["range"].to_str().unwrap() {
        "0-0" => 0,
        range => range.trim_start_matches("0-").parse::<usize>().unwrap() + 1,
    };
    let whole = vec![b'x'; have + 3];
    let d = wharf_oci::Digest::of(wharf_oci::Algorithm::Sha256, &whole);
    let r = reg
        .req(Method::PUT, &format!("{}?digest={d}", locations[0]))
        .header("content-range", format!("{have}-{}", have + 2))
        .body(vec![b'x'; 3])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

/// Hundreds of clients at once, each getting a token with a password (then with
/// an API token) and pulling a 4 MiB image: all succeed (429s honoured), and the
/// real server's peak memory stays under 512 MiB. The 1,000-client figures come
/// from `bench/pull-storm`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pull_storm_with_passwords_and_tokens_stays_within_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = common::backend_env().await;
    env.push(("WHARF_ADMIN_PASSWORD".into(), common::PASSWORD.into()));
    let server = common::Server::spawn(&dir.path().join("data"), &env);
    let base = server.url.clone();
    for (org, tokens) in [("storm", false), ("stormt", true)] {
        let users = common::storm::users(&base, common::PASSWORD, org, 20, tokens).await;
        let image = common::storm::push(&base, common::PASSWORD, &format!("{org}/app"), "1.0", 2, 2 << 20).await;
        let outcome = common::storm::storm(&base, 300, &users, &image).await;
        let rss = common::storm::peak_rss_kib(server.child.id());
        eprintln!(
            "{} clients with {}: {} pulled, {} failed, {} retries after 429, slowest {:?}, all in {:?}; server peak RSS {} MiB",
            300,
            if tokens { "API tokens" } else { "passwords" },
            outcome.ok,
            outcome.failed.len(),
            outcome.retried,
            outcome.slowest,
            outcome.elapsed,
            rss / 1024
        );
        assert_eq!(outcome.ok, 300, "{:?}", &outcome.failed[..outcome.failed.len().min(5)]);
        assert!(rss < 512 * 1024, "{rss} KiB");
        assert!(outcome.elapsed < Duration::from_secs(120), "{:?}", outcome.elapsed);
    }
    // 300 token requests at once with wrong passwords (unknown names, so each costs a
    // full argon2 check): refused with 401 or, past the address's failure limit or the
    // line's deadline, 429 with Retry-After; never a 5xx, and memory stays bounded.
    let http = reqwest::Client::new();
    let wrong: Vec<_> = (0..300)
        .map(|i| {
            let request = http
                .get(format!("{base}/token?service=wharf-registry&scope=repository:storm/app:pull"))
                .basic_auth(format!("nobody{i}"), Some("not the password"));
            tokio::spawn(async move {
                let r = request.send().await.unwrap();
                (r.status().as_u16(), r.headers().contains_key("retry-after"))
            })
        })
        .collect();
    let mut statuses = std::collections::BTreeMap::new();
    for t in wrong {
        let (status, retry_after) = t.await.unwrap();
        assert!(status == 401 || (status == 429 && retry_after), "{status}");
        *statuses.entry(status).or_insert(0) += 1;
    }
    let rss = common::storm::peak_rss_kib(server.child.id());
    eprintln!("300 wrong passwords at once: {statuses:?}; server peak RSS {} MiB", rss / 1024);
    assert!(rss < 512 * 1024, "{rss} KiB");
}
