//! The connection layer: accepting TCP connections and serving HTTP/1.1 and HTTP/2
//! on them, with the limits that keep slow, idle and numerous clients from holding
//! the server. axum's own `serve` sets no timer (so hyper reads headers forever),
//! has no connection cap, and sleeps a second after a failed accept (so running out
//! of file descriptors drops throughput to a request a second); this replaces it.
//!
//! - **Header read timeout**: a request's headers must arrive within it (hyper's
//!   own, with a timer); for HTTP/1.1 hyper also starts it while a keep-alive
//!   connection waits for its next request, so it bounds keep-alive idleness too.
//! - **Idle timeout**: a connection that moves no byte either way for this long
//!   while the server waits on it is closed (HTTP/2 included).
//! - **Connection cap**: past it new connections wait in the kernel's backlog.
//! - **Minimum body rate**: a request body that delivers less than the rate over a
//!   window fails the request; uploads may be long, not stalled.
//! - **Accept errors** (too many open files, no buffers) are counted, logged at most
//!   once a second, reported by `/readyz`, and retried within milliseconds.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;
use tower::ServiceExt;

/// Most bytes hyper buffers per HTTP/1.1 connection, each way: the longest request
/// head it accepts (registry clients send a few KiB), and the response bytes it queues
/// before it stops pulling the body. hyper's default (~400 KiB) let a thousand
/// connections streaming blobs hold 400 MiB of queued chunks; at 128 KiB a connection
/// holds at most two read chunks, and the kernel's socket buffer does the rest.
const HTTP1_MAX_BUF: usize = 128 * 1024;

/// The connection limits (`[server]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time to receive a request's headers (and, on HTTP/1.1, to wait for the next request).
    pub header_read_timeout: Duration,
    /// Time a connection may move no byte while the server waits on it.
    pub idle_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Bytes per second a request body must average over `body_rate_window` (0: off).
    pub body_min_rate: u64,
    /// The window over which the body rate is measured.
    pub body_rate_window: Duration,
}

/// What the accept loop saw, for `/readyz` and the metrics.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    open: AtomicU64,
    /// Milliseconds since the epoch of the last failed accept (0: none).
    last_accept_error_ms: AtomicU64,
    accept_errors: AtomicU64,
    last_reason: std::sync::Mutex<String>,
}

/// How recently a failed accept makes the server report itself not ready.
const ACCEPT_ERROR_RECENT: Duration = Duration::from_secs(5);

impl ConnectionStats {
    /// Connections open now.
    pub fn open(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    /// When accepting failed in the last few seconds: why, and how often in all.
    pub fn recent_accept_failure(&self) -> Option<String> {
        let last = self.last_accept_error_ms.load(Ordering::Relaxed);
        if last == 0 || now_ms().saturating_sub(last) > ACCEPT_ERROR_RECENT.as_millis() as u64 {
            return None;
        }
        let reason = self.last_reason.lock().map(|r| r.clone()).unwrap_or_default();
        Some(format!(
            "new connections cannot be accepted: {reason} ({} failed accepts since start)",
            self.accept_errors.load(Ordering::Relaxed)
        ))
    }

    fn record_accept_error(&self, reason: &str) {
        self.accept_errors.fetch_add(1, Ordering::Relaxed);
        self.last_accept_error_ms.store(now_ms(), Ordering::Relaxed);
        if let Ok(mut r) = self.last_reason.lock()
            && *r != reason
        {
            *r = reason.to_owned();
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Why an accept failed, for the log and the metric; `None` for errors of one
/// connection (reset before we took it), which are not the server's.
fn accept_failure(e: &io::Error) -> Option<&'static str> {
    match e.kind() {
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused => None,
        _ => Some(match e.raw_os_error() {
            Some(24) => "too many open files (the process's limit, ulimit -n)",
            Some(23) => "too many open files in the system",
            Some(105) => "no buffer space",
            Some(12) => "out of memory",
            _ => "other",
        }),
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting and
/// lets open connections finish their requests (the caller bounds how long).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    stats: Arc<ConnectionStats>,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(HTTP1_MAX_BUF);
    builder.http2().timer(TokioTimer::new()).keep_alive_interval(None);
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let closed = Arc::new(tokio::sync::Notify::new());
    let mut shutdown = std::pin::pin!(shutdown);
    let mut last_log: Option<Instant> = None;
    let mut suppressed = 0u64;
    let mut backoff = Duration::from_millis(1);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => break,
        };
        let (stream, remote) = match accepted {
            Ok(a) => a,
            Err(e) => {
                let Some(reason) = accept_failure(&e) else { continue };
                stats.record_accept_error(reason);
                metrics::counter!("wharf_http_accept_errors_total", "reason" => reason).increment(1);
                if last_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                    tracing::error!(error = %e, reason, suppressed, open = stats.open(), "cannot accept a connection; retrying");
                    last_log = Some(Instant::now());
                    suppressed = 0;
                } else {
                    suppressed += 1;
                }
                drop(permit);
                // Retry as soon as a connection closes (freeing a descriptor), or shortly.
                tokio::select! {
                    () = closed.notified() => {}
                    () = tokio::time::sleep(backoff) => {}
                    () = &mut shutdown => break,
                }
                backoff = (backoff * 2).min(Duration::from_millis(50));
                continue;
            }
        };
        backoff = Duration::from_millis(1);
        let _ = stream.set_nodelay(true);
        stats.open.fetch_add(1, Ordering::Relaxed);
        metrics::gauge!("wharf_http_connections").set(stats.open() as f64);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(remote));
            let request = request.map(|body| {
                if limits.body_min_rate == 0 {
                    Body::new(body)
                } else {
                    Body::new(MinRate::new(body, limits.body_min_rate, limits.body_rate_window))
                }
            });
            app.clone().oneshot(request)
        });
        let io = TokioIo::new(Idle::new(stream, limits.idle_timeout));
        let connection = graceful.watch(builder.serve_connection_with_upgrades(io, service).into_owned());
        let stats = stats.clone();
        let closed = closed.clone();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%remote, error = %e, "connection ended with an error");
            }
            stats.open.fetch_sub(1, Ordering::Relaxed);
            metrics::gauge!("wharf_http_connections").set(stats.open() as f64);
            drop(permit);
            closed.notify_one();
        });
    }
    drop(listener);
    tracing::info!(open = stats.open(), "stopped accepting; finishing in-flight requests");
    graceful.shutdown().await;
}

/// A TCP stream that fails once it has moved no byte for `timeout` while being
/// waited on: a client that stops reading or writing loses its connection.
struct Idle {
    inner: TcpStream,
    timeout: Duration,
    last: Instant,
    timer: Pin<Box<Sleep>>,
}

impl Idle {
    fn new(inner: TcpStream, timeout: Duration) -> Idle {
        Idle { inner, timeout, last: Instant::now(), timer: Box::pin(tokio::time::sleep(timeout)) }
    }

    /// Called when the stream is not ready: errors once the deadline has passed.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let deadline = tokio::time::Instant::from_std(self.last + self.timeout);
        if self.timer.deadline() != deadline {
            self.timer.as_mut().reset(deadline);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                metrics::counter!("wharf_http_idle_closed_total").increment(1);
                Err(io::Error::new(io::ErrorKind::TimedOut, "the connection was idle too long"))
            }
            Poll::Pending => Ok(()),
        }
    }
}

impl Idle {
    /// Notes activity when the stream was ready; checks the deadline when it was not.
    fn track<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(r) => {
                self.last = Instant::now();
                Poll::Ready(r)
            }
            Poll::Pending => {
                self.check(cx)?;
                Poll::Pending
            }
        }
    }
}

impl AsyncRead for Idle {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        this.track(cx, poll)
    }
}

impl AsyncWrite for Idle {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.track(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.track(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// A request body too slow to keep: what the handler reading it gets.
#[derive(Debug)]
pub struct BodyTooSlow {
    /// Bytes received in the last window.
    pub received: u64,
    /// The window.
    pub window: Duration,
    /// The minimum rate, bytes per second.
    pub min_rate: u64,
}

impl std::fmt::Display for BodyTooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body arrived too slowly: {} bytes in {} s, the minimum is {} bytes per second",
            self.received,
            self.window.as_secs(),
            self.min_rate
        )
    }
}

impl std::error::Error for BodyTooSlow {}

/// A request body that must average `min_rate` bytes per second over each window
/// in which someone reads it. A handler that stops reading is not the client's
/// fault: the clock only runs while the body is polled.
struct MinRate<B> {
    inner: B,
    min_rate: u64,
    window: Duration,
    window_start: tokio::time::Instant,
    received: u64,
    timer: Pin<Box<Sleep>>,
}

impl<B> MinRate<B> {
    fn new(inner: B, min_rate: u64, window: Duration) -> MinRate<B> {
        MinRate {
            inner,
            min_rate,
            window,
            window_start: tokio::time::Instant::now(),
            received: 0,
            timer: Box::pin(tokio::time::sleep(window)),
        }
    }

    /// At the end of a window: too slow, or a new window.
    fn roll(&mut self) -> Result<(), BodyTooSlow> {
        if self.window_start.elapsed() < self.window {
            return Ok(());
        }
        let needed = self.min_rate.saturating_mul(self.window.as_secs().max(1));
        if self.received < needed {
            metrics::counter!("wharf_http_body_too_slow_total").increment(1);
            return Err(BodyTooSlow { received: self.received, window: self.window, min_rate: self.min_rate });
        }
        self.window_start = tokio::time::Instant::now();
        self.received = 0;
        Ok(())
    }
}

impl<B> http_body::Body for MinRate<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        loop {
            this.roll().map_err(Box::new)?;
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        this.received += data.len() as u64;
                    }
                    return Poll::Ready(Some(Ok(frame)));
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => {
                    let deadline = this.window_start + this.window;
                    if this.timer.deadline() != deadline {
                        this.timer.as_mut().reset(deadline);
                    }
                    ready!(this.timer.as_mut().poll(cx));
                    // The window ended with no frame: judge it.
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
