//! Malware scanning with ClamAV's daemon: every regular file of every layer (files a
//! later layer deletes or replaces still ship) reaches clamd while the layer is being
//! read, in one of two modes ([`Mode`]):
//!
//! - **stream** (any clamd, local or remote, over a unix socket or TCP): each file is
//!   sent with `INSTREAM`, a few connections at once (one file each), so clamd scans
//!   one file while the reader decompresses the next;
//! - **scratch** (a clamd on this host that shares its file system): files are
//!   written into a private scratch directory (memory-backed `/dev/shm` when there is
//!   one) and clamd reads them itself, a batch of 256 at a time with `CONTSCAN`, which
//!   costs clamd half the CPU per file of a stream. It is used only after a probe
//!   showed clamd finds the EICAR test file in such a directory
//!   ([`ClamdAddr::reads_scratch`]).
//!
//! (Passing a memory file's descriptor with `FILDES` was measured slower with clamd
//! 1.4: 5.9 s against 2.8 s for the Debian test image, as `clamdscan --fdpass` is
//! slower than its default.) clamd being unreachable, or refusing a file, is a
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
    // `stream: OK` (INSTREAM); `fd[12]: OK` is how clamd answers a passed descriptor.
    let body = match r.split_once(": ") {
        Some((source, rest)) if source == "stream" || source.starts_with("fd[") => rest,
        _ => r,
    };
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

/// A batch of files in a scratch directory, scanned with one `CONTSCAN`.
struct Batch {
    dir: PathBuf,
    files: Vec<(String, String)>,
}

/// How files reach clamd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Each file streamed with `INSTREAM` (works with any clamd, local or remote).
    Stream,
    /// Files written into a private scratch directory under this one, which clamd
    /// reads itself (`CONTSCAN`, a batch of files at a time): for a clamd on this host
    /// sharing its file system, which then spends half the CPU per file that a stream
    /// costs it.
    Scratch(PathBuf),
}

/// Files scanned per batch in scratch mode.
const BATCH_FILES: usize = 256;

/// The EICAR anti-virus test file: the canary that shows clamd reads the scratch area.
const EICAR: &[u8] = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// A directory clamd (perhaps another user) may read.
fn readable_dir(parent: &std::path::Path, prefix: &str) -> io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::Builder::new().prefix(prefix).tempdir_in(parent)?;
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755))?;
    Ok(d)
}

/// Where scratch areas go: memory-backed `/dev/shm` when there is one, else the
/// temporary directory.
pub fn scratch_parent() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() && tempfile::tempdir_in(&shm).is_ok() { shm } else { std::env::temp_dir() }
}

impl ClamdAddr {
    /// Whether clamd reads files in a scratch directory under `parent` (it runs on
    /// this host and shares its file system): it must find the EICAR test file there.
    pub fn reads_scratch(&self, parent: &std::path::Path) -> bool {
        let probe = || -> io::Result<bool> {
            let dir = readable_dir(parent, "wharf-clamd-probe-")?;
            std::fs::write(dir.path().join("eicar"), EICAR)?;
            let mut c = self.connect()?;
            c.write_all(format!("zCONTSCAN {}\0", dir.path().display()).as_bytes())?;
            let mut reply = Vec::new();
            c.read_to_end(&mut reply)?;
            Ok(String::from_utf8_lossy(&reply).contains(" FOUND"))
        };
        probe().unwrap_or(false)
    }
}

/// Scans a batch directory with `CONTSCAN`: every file clean unless clamd names it.
fn scan_batch(addr: &ClamdAddr, batch: Batch, out: &std::sync::mpsc::Sender<FileResult>) {
    let size = |name: &str| std::fs::metadata(batch.dir.join(name)).map(|m| m.len()).unwrap_or(0);
    let replies = (|| -> io::Result<Vec<String>> {
        let mut c = addr.connect()?;
        c.write_all(format!("zCONTSCAN {}\0", batch.dir.display()).as_bytes())?;
        let mut reply = Vec::new();
        c.read_to_end(&mut reply)?;
        Ok(reply
            .split(|b| *b == 0)
            .filter(|r| !r.is_empty())
            .map(|r| String::from_utf8_lossy(r).trim().to_owned())
            .collect())
    })();
    let dir = batch.dir.display().to_string();
    let whole: Option<String> = match &replies {
        Err(e) => Some(format!("cannot reach clamd at {addr}: {e}")),
        Ok(r) if !r.iter().any(|l| l.starts_with(&dir) && (l.ends_with(": OK") || l.ends_with(" FOUND"))) => {
            Some(format!("clamd answered {:?}", r.join("; ")))
        }
        Ok(_) => None,
    };
    for (i, (layer, path)) in batch.files.into_iter().enumerate() {
        let name = i.to_string();
        let bytes = size(&name);
        let prefix = format!("{dir}/{name}: ");
        let verdict = match &whole {
            Some(e) => Err(e.clone()),
            None => match replies.iter().flatten().find_map(|l| l.strip_prefix(&prefix)) {
                Some(r) => parse_reply(&format!("stream: {r}")),
                None => Ok(Verdict::Clean),
            },
        };
        let _ = out.send(FileResult { layer, path, bytes, verdict });
    }
    let _ = std::fs::remove_dir_all(&batch.dir);
}

/// Files being scanned, a few at once.
#[derive(Debug)]
pub struct Scanner {
    jobs: Option<SyncSender<Job>>,
    batches: Option<SyncSender<Batch>>,
    workers: Vec<JoinHandle<()>>,
    results: Receiver<FileResult>,
    scratch: Option<(tempfile::TempDir, usize)>,
    current: Option<Batch>,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch").field("dir", &self.dir).field("files", &self.files.len()).finish()
    }
}

/// One file on its way to clamd: write its bytes, then drop or [`Upload::finish`] it.
pub struct Upload {
    inner: UploadTo,
    buf: Vec<u8>,
}

enum UploadTo {
    Chunks(SyncSender<Vec<u8>>),
    File(io::BufWriter<std::fs::File>),
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload").field("buffered", &self.buf.len()).finish()
    }
}

impl Write for Upload {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            UploadTo::File(f) => f.write_all(data)?,
            UploadTo::Chunks(chunks) => {
                self.buf.extend_from_slice(data);
                if self.buf.len() >= CHUNK {
                    let full = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
                    // A worker that gave up drains nothing: its error is reported with the file.
                    let _ = chunks.send(full);
                }
            }
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
        match &mut self.inner {
            UploadTo::Chunks(chunks) => {
                if !self.buf.is_empty() {
                    let _ = chunks.send(std::mem::take(&mut self.buf));
                }
            }
            UploadTo::File(f) => {
                let _ = f.flush();
            }
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

fn pool<T: Send + 'static>(
    connections: usize,
    run: impl Fn(T, &std::sync::mpsc::Sender<FileResult>) + Send + Sync + 'static,
) -> (SyncSender<T>, Vec<JoinHandle<()>>, Receiver<FileResult>) {
    let (tx, rx) = sync_channel::<T>(connections.max(1));
    let rx = Arc::new(Mutex::new(rx));
    let run = Arc::new(run);
    let (results_tx, results) = std::sync::mpsc::channel();
    let workers = (0..connections.max(1))
        .map(|_| {
            let (rx, results_tx, run) = (Arc::clone(&rx), results_tx.clone(), Arc::clone(&run));
            std::thread::spawn(move || {
                loop {
                    let item = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok(item) = item else { return };
                    run(item, &results_tx);
                }
            })
        })
        .collect();
    (tx, workers, results)
}

impl Scanner {
    /// Starts `connections` workers talking to clamd at `addr`, sending files the
    /// `mode`'s way (scratch mode falls back to streams if its directory cannot be made).
    pub fn start(addr: ClamdAddr, connections: usize, mode: &Mode) -> Scanner {
        if let Mode::Scratch(parent) = mode
            && let Ok(dir) = readable_dir(parent, "wharf-clamd-")
        {
            let (batches, workers, results) =
                pool(connections, move |b: Batch, out: &std::sync::mpsc::Sender<FileResult>| scan_batch(&addr, b, out));
            return Scanner {
                jobs: None,
                batches: Some(batches),
                workers,
                results,
                scratch: Some((dir, 0)),
                current: None,
            };
        }
        let (jobs, workers, results) = pool(connections, move |job: Job, out: &std::sync::mpsc::Sender<FileResult>| {
            let _ = out.send(work(&addr, job));
        });
        Scanner { jobs: Some(jobs), batches: None, workers, results, scratch: None, current: None }
    }

    fn seal(&mut self) {
        if let (Some(batch), Some(tx)) = (self.current.take(), &self.batches) {
            let _ = tx.send(batch);
        }
    }

    /// Starts scanning one file; write its bytes into the returned upload.
    pub fn file(&mut self, layer: &str, path: &str) -> Option<Upload> {
        if self.scratch.is_some() && self.current.as_ref().is_some_and(|b| b.files.len() >= BATCH_FILES) {
            self.seal();
        }
        if let Some((dir, count)) = &mut self.scratch {
            if self.current.is_none() {
                use std::os::unix::fs::PermissionsExt;
                *count += 1;
                let d = dir.path().join(format!("b{count}"));
                std::fs::create_dir(&d).ok()?;
                std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).ok()?;
                self.current = Some(Batch { dir: d, files: Vec::new() });
            }
            let batch = self.current.as_mut()?;
            let file = std::fs::File::create(batch.dir.join(batch.files.len().to_string())).ok()?;
            batch.files.push((layer.to_owned(), path.to_owned()));
            return Some(Upload { inner: UploadTo::File(io::BufWriter::with_capacity(CHUNK, file)), buf: Vec::new() });
        }
        let (tx, rx) = sync_channel(4);
        let job = Job { layer: layer.to_owned(), path: path.to_owned(), chunks: rx };
        self.jobs.as_ref()?.send(job).ok()?;
        Some(Upload { inner: UploadTo::Chunks(tx), buf: Vec::with_capacity(CHUNK) })
    }

    /// Waits for every file and returns the results, in the order they finished.
    pub fn finish(mut self) -> Vec<FileResult> {
        self.seal();
        drop(self.jobs.take());
        drop(self.batches.take());
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
        assert_eq!(parse_reply("fd[12]: OK"), Ok(Verdict::Clean));
        assert_eq!(
            parse_reply("fd[9]: Wharf.Test.Marker.UNOFFICIAL FOUND"),
            Ok(Verdict::Found("Wharf.Test.Marker.UNOFFICIAL".into()))
        );
        assert_eq!(
            parse_reply("stream: Eicar-Test-Signature FOUND"),
            Ok(Verdict::Found("Eicar-Test-Signature".into()))
        );
        assert!(parse_reply("INSTREAM size limit exceeded. ERROR").unwrap_err().contains("StreamMaxLength"));
    }
}
