//! Deliveries over real sockets, all on loopback: "public" is 127.0.0.2 (allowed by the
//! test's policy, as an operator would allow a range) and a canary listens on 127.0.0.1,
//! which no delivery may reach. No packet leaves the machine: other ranges are checked
//! by refusal before any connection.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wharf_webhook::{
    Connection, DeliveryError, Destination, DestinationError, DestinationPolicy, Resolver, Secret, deliver,
};

/// Names to addresses, as a DNS server controlled by an attacker might answer.
struct TestResolver(HashMap<&'static str, Vec<IpAddr>>);

impl Resolver for TestResolver {
    async fn lookup(&self, host: &str, _port: u16) -> std::io::Result<Vec<IpAddr>> {
        self.0.get(host).cloned().ok_or_else(|| std::io::Error::other("NXDOMAIN"))
    }
}

/// One request as the server read it.
#[derive(Debug, Clone)]
struct Seen {
    head: String,
    body: Vec<u8>,
}

/// A tiny HTTP server: `/redirect` answers 302 to `redirect_to`; anything else 204.
async fn server(ip: &str, redirect_to: String) -> (u16, Arc<std::sync::Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind((ip, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else { return };
            let (log, redirect_to) = (log.clone(), redirect_to.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let end = loop {
                    let n = s.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while buf.len() < end + len {
                    let n = s.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let answer = if head.starts_with("post /redirect") {
                    format!("HTTP/1.1 302 Found\r\nlocation: {redirect_to}\r\ncontent-length: 0\r\n\r\n")
                } else {
                    "HTTP/1.1 204 No Content\r\n\r\n".to_owned()
                };
                log.lock().unwrap().push(Seen { head, body: buf[end..].to_vec() });
                let _ = s.write_all(answer.as_bytes()).await;
            });
        }
    });
    (port, seen)
}

/// A listener that only counts connections: nothing may reach it.
async fn canary() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let count = hits.clone();
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            count.fetch_add(1, Ordering::SeqCst);
        }
    });
    (port, hits)
}

fn header<'a>(seen: &'a Seen, name: &str) -> &'a str {
    seen.head.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).map(str::trim).unwrap()
}

#[tokio::test]
async fn deliveries_reach_only_allowed_addresses_and_follow_no_redirect() {
    let (canary_port, canary_hits) = canary().await;
    let (port, seen) = server("127.0.0.2", format!("http://127.0.0.1:{canary_port}/")).await;
    let policy = DestinationPolicy::new(vec!["127.0.0.2/32".parse().unwrap()]);
    let resolver = TestResolver(HashMap::from([
        ("public.test", vec!["127.0.0.2".parse().unwrap()]),
        ("private.test", vec!["127.0.0.1".parse().unwrap()]),
        ("mixed.test", vec!["127.0.0.2".parse().unwrap(), "127.0.0.1".parse().unwrap()]),
    ]));
    let secret = Secret::generate().unwrap();
    let timeout = Duration::from_secs(5);
    let send = |url: String| {
        let (policy, resolver, secret) = (&policy, &resolver, &secret);
        async move {
            let d: Destination = url.parse().unwrap();
            deliver(policy, resolver, &d, secret, "msg_1", br#"{"type":"version.live"}"#, &Connection::new(timeout))
                .await
        }
    };

    // An allowed destination gets the signed message.
    let done = send(format!("http://public.test:{port}/hook")).await.unwrap();
    assert!(done.accepted(), "{done:?}");
    let got = seen.lock().unwrap()[0].clone();
    assert_eq!(got.body, br#"{"type":"version.live"}"#);
    assert_eq!(header(&got, "webhook-id"), "msg_1");
    let timestamp: i64 = header(&got, "webhook-timestamp").parse().unwrap();
    // Headers were lower-cased by the server's log; the signature's base64 is not case-blind.
    let signature = secret.sign("msg_1", timestamp, &got.body);
    assert_eq!(header(&got, "webhook-signature"), signature.to_lowercase());
    assert_eq!(secret.verify("msg_1", timestamp, &got.body, &signature), Ok(()));

    // A redirect to a private address is an answer, not followed.
    let done = send(format!("http://public.test:{port}/redirect")).await.unwrap();
    assert_eq!(done.status, 302);
    assert!(!done.accepted());

    // Names resolving to a private address, even among public ones, and private
    // addresses in any spelling, are refused before any connection.
    for url in [
        format!("http://private.test:{canary_port}/"),
        format!("http://mixed.test:{port}/"),
        format!("http://127.0.0.1:{canary_port}/"),
        format!("http://0x7f000001:{canary_port}/"),
        format!("http://2130706433:{canary_port}/"),
        format!("http://[::ffff:127.0.0.1]:{canary_port}/"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[fd00:ec2::254]/".to_owned(),
        "http://10.1.2.3/".to_owned(),
    ] {
        match send(url.clone()).await {
            Err(DeliveryError::Destination(DestinationError::Forbidden { .. })) => {}
            other => panic!("{url}: {other:?}"),
        }
    }
    match send("http://nowhere.test/".to_owned()).await {
        Err(DeliveryError::Destination(DestinationError::Unresolved { .. })) => {}
        other => panic!("{other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(canary_hits.load(Ordering::SeqCst), 0, "nothing reached the canary");
    assert_eq!(seen.lock().unwrap().len(), 2, "the public endpoint saw the two allowed deliveries only");
}
