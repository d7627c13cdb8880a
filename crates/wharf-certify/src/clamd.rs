//! Malware scanning with ClamAV's daemon: every regular file of every layer (files a
//! later layer deletes or replaces still ship) is streamed to clamd with `INSTREAM`,
//! over a unix socket or TCP, while the layer is being read.
//!
//! A few connections run at once (one file each), so clamd scans one file while the
//! reader decompresses the next. clamd being unreachable, or refusing a file, is a
//! finding, never a silent pass.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long to wait to connect to clamd.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long clamd may take to answer for one file.
const REPLY_TIMEOUT: Duration = Duration::from_secs(300);
/// The size of the chunks sent.
const CHUNK: usize = 256 * 1024;

/// Where clamd listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClamdAddr {
    /// A unix socket (clamd's `LocalSocket`).
    Unix(PathBuf),
    /// `host:port` (clamd's `TCPSocket`/`TCPAddr`).
    Tcp(String),
}

impl std::str::FromStr for ClamdAddr {
    type Err = String;

    /// `unix:/run/clamav/clamd.ctl`, `/run/clamav/clamd.ctl`, `tcp://127.0.0.1:3310` or `127.0.0.1:3310`.
    fn from_str(s: &str) -> Result<ClamdAddr, String> {
        if let Some(p) = s.strip_prefix("unix:") {
            return Ok(ClamdAddr::Unix(PathBuf::from(p)));
        }
        if s.starts_with('/') || s.starts_with('.') {
            return Ok(ClamdAddr::Unix(PathBuf::from(s)));
        }
        let hostport = s.strip_prefix("tcp://").unwrap_or(s);
        match hostport.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                Ok(ClamdAddr::Tcp(hostport.to_owned()))
            }
            _ => Err(format!(
                "{s:?} is not a clamd address: give a unix socket path (unix:/run/clamav/clamd.ctl) or host:port (127.0.0.1:3310)"
            )),
        }
    }
}

impl std::fmt::Display for ClamdAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClamdAddr::Unix(p) => write!(f, "unix:{}", p.display()),
            ClamdAddr::Tcp(a) => write!(f, "tcp://{a}"),
        }
    }
}

trait Conn: Read + Write + Send {}
impl<T: Read + Write + Send> Conn for T {}

impl ClamdAddr {
    fn connect(&self) -> io::Result<Box<dyn Conn>> {
        match self {
            ClamdAddr::Unix(p) => {
                let s = UnixStream::connect(p)?;
                s.set_read_timeout(Some(REPLY_TIMEOUT))?;
                s.set_write_timeout(Some(REPLY_TIMEOUT))?;
                Ok(Box::new(s))
            }
            ClamdAddr::Tcp(a) => {
                let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{a} resolves to no address"));
                for addr in std::net::ToSocketAddrs::to_socket_addrs(a.as_str())? {
                    match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                        Ok(s) => {
                            s.set_read_timeout(Some(REPLY_TIMEOUT))?;
                            s.set_write_timeout(Some(REPLY_TIMEOUT))?;
                            s.set_nodelay(true)?;
                            return Ok(Box::new(s));
                        }
                        Err(e) => last = e,
                    }
                }
                Err(last)
            }
        }
    }

    /// clamd's version (`ClamAV 1.4.3/…`): also proves it is up.
    pub fn version(&self) -> io::Result<String> {
        let mut c = self.connect()?;
        c.write_all(b"zVERSION\0")?;
        read_reply(&mut c)
    }

    /// Scans one stream.
    pub fn scan(&self, mut r: impl Read) -> Result<Verdict, String> {
        let mut c = self.connect().map_err(|e| format!("cannot reach clamd at {self}: {e}"))?;
        let mut buf = vec![0u8; CHUNK];
        let sent = (|| -> io::Result<()> {
            c.write_all(b"zINSTREAM\0")?;
            loop {
                let n = r.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                send_chunk(&mut c, &buf[..n])?;
            }
            c.write_all(&[0, 0, 0, 0])
        })();
        finish(c, sent)
    }
}

fn send_chunk(c: &mut dyn Conn, chunk: &[u8]) -> io::Result<()> {
    c.write_all(&(chunk.len() as u32).to_be_bytes())?;
    c.write_all(chunk)
}

/// Reads clamd's reply for a stream; a write that failed first may still have a
/// reply (clamd closes early when a stream is too large).
fn finish(mut c: Box<dyn Conn>, sent: io::Result<()>) -> Result<Verdict, String> {
    let reply = read_reply(&mut c);
    match (reply, sent) {
        (Ok(r), _) => parse_reply(&r),
        (Err(_), Err(e)) | (Err(e), Ok(())) => Err(format!("clamd stopped answering: {e}")),
    }
}

fn read_reply(c: &mut dyn Conn) -> io::Result<String> {
    let mut out = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match c.read(&mut byte)? {
            0 => break,
            _ if byte[0] == 0 => break,
            _ => out.push(byte[0]),
        }
        if out.len() > 4096 {
            break;
        }
    }
    if out.is_empty() {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "clamd closed the connection without an answer"));
    }
    Ok(String::from_utf8_lossy(&out).trim().to_owned())
}

/// What clamd said of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No signature matched.
    Clean,
    /// A signature matched: its name.
    Found(String),
}

fn parse_reply(r: &str) -> Result<Verdict, String> {
    let body = r.strip_prefix("stream: ").unwrap_or(r);
    if body == "OK" {
        Ok(Verdict::Clean)
    } else if let Some(sig) = body.strip_suffix(" FOUND") {
        Ok(Verdict::Found(sig.to_owned()))
    } else if r.contains("size limit exceeded") {
        Err(format!("clamd refused the file: {r} (raise StreamMaxLength in clamd.conf)"))
    } else {
        Err(format!("clamd answered {r:?}"))
    }
}

/// One file's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileResult {
    /// The layer it came from.
    pub layer: String,
    /// Its path in the layer.
    pub path: String,
    /// Its size.
    pub bytes: u64,
    /// clamd's verdict, or why there is none.
    pub verdict: Result<Verdict, String>,
}

struct Job {
    layer: String,
    path: String,
    chunks: Receiver<Vec<u8>>,
}

/// Files being scanned, a few at once.
#[derive(Debug)]
pub struct Scanner {
    jobs: Option<SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
    results: Receiver<FileResult>,
}

/// One file on its way to clamd: write its bytes, then drop or [`Upload::finish`] it.
pub struct Upload {
    chunks: SyncSender<Vec<u8>>,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload").field("buffered", &self.buf.len()).finish()
    }
}

impl Write for Upload {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            let full = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
            // A worker that gave up drains nothing: its error is reported with the file.
            let _ = self.chunks.send(full);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Upload {
    /// Sends what is buffered; the file is complete.
    pub fn finish(mut self) {
        if !self.buf.is_empty() {
            let _ = self.chunks.send(std::mem::take(&mut self.buf));
        }
    }
}

fn work(addr: &ClamdAddr, job: Job) -> FileResult {
    let mut bytes = 0u64;
    let verdict = match addr.connect() {
        Err(e) => {
            // Drain the file so the reader is never blocked.
            for c in job.chunks.iter() {
                bytes += c.len() as u64;
            }
            Err(format!("cannot reach clamd at {addr}: {e}"))
        }
        Ok(mut c) => {
            let mut sent = c.write_all(b"zINSTREAM\0");
            for chunk in job.chunks.iter() {
                bytes += chunk.len() as u64;
                if sent.is_ok() {
                    sent = send_chunk(&mut c, &chunk);
                }
            }
            if sent.is_ok() {
                sent = c.write_all(&[0, 0, 0, 0]);
            }
            finish(c, sent)
        }
    };
    FileResult { layer: job.layer, path: job.path, bytes, verdict }
}

impl Scanner {
    /// Starts `connections` workers talking to clamd at `addr`.
    pub fn start(addr: ClamdAddr, connections: usize) -> Scanner {
        let (jobs_tx, jobs_rx) = sync_channel::<Job>(connections.max(1));
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        let (results_tx, results) = std::sync::mpsc::channel();
        let workers = (0..connections.max(1))
            .map(|_| {
                let (jobs_rx, results_tx, addr) = (Arc::clone(&jobs_rx), results_tx.clone(), addr.clone());
                std::thread::spawn(move || {
                    loop {
                        let job = match jobs_rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        if results_tx.send(work(&addr, job)).is_err() {
                            return;
                        }
                    }
                })
            })
            .collect();
        Scanner { jobs: Some(jobs_tx), workers, results }
    }

    /// Starts scanning one file; write its bytes into the returned upload.
    pub fn file(&self, layer: &str, path: &str) -> Option<Upload> {
        let (tx, rx) = sync_channel(4);
        let job = Job { layer: layer.to_owned(), path: path.to_owned(), chunks: rx };
        self.jobs.as_ref()?.send(job).ok()?;
        Some(Upload { chunks: tx, buf: Vec::with_capacity(CHUNK) })
    }

    /// Waits for every file and returns the results, in the order they finished.
    pub fn finish(mut self) -> Vec<FileResult> {
        drop(self.jobs.take());
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        self.results.try_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_replies_parse() {
        assert_eq!("unix:/run/clamav/clamd.ctl".parse(), Ok(ClamdAddr::Unix("/run/clamav/clamd.ctl".into())));
        assert_eq!("/tmp/c.sock".parse(), Ok(ClamdAddr::Unix("/tmp/c.sock".into())));
        assert_eq!("tcp://127.0.0.1:3310".parse(), Ok(ClamdAddr::Tcp("127.0.0.1:3310".into())));
        assert_eq!("localhost:3310".parse(), Ok(ClamdAddr::Tcp("localhost:3310".into())));
        assert!("clamd".parse::<ClamdAddr>().unwrap_err().contains("is not a clamd address"));
        assert_eq!(parse_reply("stream: OK"), Ok(Verdict::Clean));
        assert_eq!(
            parse_reply("stream: Eicar-Test-Signature FOUND"),
            Ok(Verdict::Found("Eicar-Test-Signature".into()))
        );
        assert!(parse_reply("INSTREAM size limit exceeded. ERROR").unwrap_err().contains("StreamMaxLength"));
    }
}
