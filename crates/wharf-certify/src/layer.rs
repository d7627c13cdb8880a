//! Reading one layer safely: decompressed as a stream (gzip, zstd or none, told by
//! its first bytes, never by its media type), walked entry by entry, every path
//! checked before the view sees it. Sizes, ratios, counts and depths are bounded by
//! [`Limits`]; going past one is a finding and stops the layer, so a bomb costs at
//! most the limit's worth of work. Nothing is ever written to the host.

use std::cell::Cell;
use std::io::{self, Read};

use crate::check::Check;
use crate::finding::{Finding, Findings, Severity};
use crate::limits::Limits;
use crate::tarball::{Ambiguity, Reader, TarError, typeflag};
use crate::view::{Node, View};

/// How a layer is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar stream.
    None,
    /// gzip (one or more members).
    Gzip,
    /// zstd.
    Zstd,
}

impl Compression {
    /// Tells the compression from a layer's first bytes.
    pub fn detect(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
            || (head.len() >= 4 && head[0] & 0xf0 == 0x50 && head[1..4] == [0x2a, 0x4d, 0x18])
        {
            // A zstd frame, or a skippable frame (magic 0x184D2A5?), which zstd
            // readers skip and containerd accepts.
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// What the layers of one image have used so far of the image-wide limits.
#[derive(Debug, Default, Clone, Copy)]
pub struct Budget {
    /// Uncompressed bytes read.
    pub bytes: u64,
    /// Entries read.
    pub entries: u64,
    /// Logical bytes of sparse files (their holes read as zeros by whoever reads them).
    pub sparse_bytes: u64,
}

/// What reading a layer saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayerStats {
    /// Entries read.
    pub entries: u64,
    /// Compressed bytes read.
    pub compressed_bytes: u64,
    /// Uncompressed bytes read.
    pub uncompressed_bytes: u64,
    /// Whether the whole layer was read (false when a limit or damage stopped it).
    pub complete: bool,
}

/// Why the counting reader stopped the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Total,
    Ratio,
}

/// Counts the compressed bytes read from the source.
struct Source<'a, R> {
    inner: R,
    count: &'a Cell<u64>,
}

impl<R: Read> Read for Source<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Counts the uncompressed bytes and fails the stream once a limit is passed.
struct Inflated<'a, R> {
    inner: R,
    read: &'a Cell<u64>,
    compressed: &'a Cell<u64>,
    budget_before: u64,
    limits: &'a Limits,
    stop: &'a Cell<Option<Stop>>,
}

const RATIO_GRACE: u64 = 1 << 20;

impl<R: Read> Read for Inflated<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.read.get() + n as u64;
        self.read.set(total);
        if self.budget_before + total > self.limits.max_total_bytes {
            self.stop.set(Some(Stop::Total));
        } else if total > RATIO_GRACE && total / self.compressed.get().max(1) > self.limits.max_ratio {
            self.stop.set(Some(Stop::Ratio));
        }
        if self.stop.get().is_some() {
            return Err(io::Error::other("limit passed"));
        }
        Ok(n)
    }
}

/// A path as written in a layer, made safe for the view: relative, `/`-separated,
/// without `.` components. Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathProblem {
    /// Contains a NUL byte.
    Nul,
    /// Not UTF-8.
    NotUtf8,
    /// Starts with `/`.
    Absolute,
    /// Has a `..` component.
    Traversal,
    /// Deeper than the limit.
    TooDeep(usize),
    /// Longer than the limit.
    TooLong(usize),
}

/// Escapes a raw path for evidence: printable ASCII as is, anything else as `\xNN`.
pub fn escape(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len().min(512));
    for &b in raw.iter().take(512) {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    if raw.len() > 512 {
        out.push_str(&format!("… ({} bytes)", raw.len()));
    }
    out
}

/// Normalizes a path from a layer (see [`PathProblem`]).
pub fn normalize(raw: &[u8], limits: &Limits) -> Result<String, PathProblem> {
    if raw.len() > limits.max_path_bytes {
        return Err(PathProblem::TooLong(raw.len()));
    }
    if raw.contains(&0) {
        return Err(PathProblem::Nul);
    }
    let text = std::str::from_utf8(raw).map_err(|_| PathProblem::NotUtf8)?;
    if text.starts_with('/') {
        return Err(PathProblem::Absolute);
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in text.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(PathProblem::Traversal),
            other => parts.push(other),
        }
    }
    if parts.len() > limits.max_path_depth {
        return Err(PathProblem::TooDeep(parts.len()));
    }
    Ok(parts.join("/"))
}

fn path_finding(problem: &PathProblem, raw: &[u8], layer: &str, limits: &Limits, what: &str) -> Finding {
    let (check, severity, message) = match problem {
        PathProblem::Nul => (Check::LayerPathNul, Severity::High, format!("{what} contains a NUL byte")),
        PathProblem::NotUtf8 => (Check::LayerPathEncoding, Severity::Medium, format!("{what} is not UTF-8")),
        PathProblem::Absolute => (
            Check::LayerPathAbsolute,
            Severity::High,
            format!("{what} is absolute: extracted naively it lands outside the root"),
        ),
        PathProblem::Traversal => (
            Check::LayerPathTraversal,
            Severity::Critical,
            format!("{what} has a '..' component: it can climb out of the root"),
        ),
        PathProblem::TooDeep(n) => (
            Check::LayerPathDepth,
            Severity::High,
            format!("{what} is {n} directories deep (limit {})", limits.max_path_depth),
        ),
        PathProblem::TooLong(n) => (
            Check::LayerPathLength,
            Severity::High,
            format!("{what} is {n} bytes long (limit {})", limits.max_path_bytes),
        ),
    };
    Finding::new(check, severity, message, layer).path(escape(raw))
}

/// Reads one layer (`digest`, for evidence) into `view`, calling `on_file` with the
/// content of every regular file as it streams by (a scanner's hook; the view keeps
/// no contents). The tar stream is read as container runtimes read it
/// ([`crate::tarball`]); where readers disagree the layer is `layer.ambiguous`.
/// Findings go to `findings`; the returned stats say whether the layer was read whole.
pub fn read_layer<R: Read>(
    digest: &str,
    reader: R,
    limits: &Limits,
    budget: &mut Budget,
    view: &mut View,
    findings: &mut Findings,
    on_file: &mut dyn FnMut(&str, &mut dyn Read) -> io::Result<()>,
) -> LayerStats {
    let compressed = Cell::new(0u64);
    let inflated = Cell::new(0u64);
    let stop = Cell::new(None);
    let mut source = io::BufReader::with_capacity(64 * 1024, Source { inner: reader, count: &compressed });
    let head = match io::BufRead::fill_buf(&mut source) {
        Ok(h) => h.to_vec(),
        Err(e) => {
            findings.push(Finding::new(
                Check::LayerUnreadable,
                Severity::Critical,
                format!("the layer cannot be read: {e}"),
                digest,
            ));
            return LayerStats::default();
        }
    };
    let decoder: Box<dyn Read + '_> = match Compression::detect(&head) {
        Compression::None => Box::new(source),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(source)),
        Compression::Zstd => match zstd::stream::read::Decoder::with_buffer(source) {
            Ok(mut d) => {
                if let Err(e) = d.window_log_max(limits.max_zstd_window_log) {
                    findings.push(Finding::new(
                        Check::LayerUnreadable,
                        Severity::Critical,
                        format!("zstd: {e}"),
                        digest,
                    ));
                    return LayerStats::default();
                }
                Box::new(d)
            }
            Err(e) => {
                findings.push(Finding::new(Check::LayerUnreadable, Severity::Critical, format!("zstd: {e}"), digest));
                return LayerStats::default();
            }
        },
    };
    let stream = Inflated {
        inner: decoder,
        read: &inflated,
        compressed: &compressed,
        budget_before: budget.bytes,
        limits,
        stop: &stop,
    };
    let mut archive = Reader::new(stream);
    let mut stats = LayerStats::default();
    view.begin_layer(digest);
    let result = walk(digest, &mut archive, limits, budget, view, findings, on_file, &mut stats);
    stats.compressed_bytes = compressed.get();
    stats.uncompressed_bytes = inflated.get();
    budget.bytes += inflated.get();
    let stopped = |check, message: String| Finding::new(check, Severity::Critical, message, digest);
    match (result, stop.get()) {
        (Ok(()), _) => stats.complete = true,
        (Err(_), Some(Stop::Total)) => findings.push(
            stopped(
                Check::LayerBombSize,
                format!("the image inflates past {} bytes (max_total_bytes); reading stopped", limits.max_total_bytes),
            )
            .detail(format!(
                "{} compressed bytes had inflated to {} when reading stopped",
                compressed.get(),
                inflated.get()
            )),
        ),
        (Err(_), Some(Stop::Ratio)) => findings.push(
            stopped(
                Check::LayerBombRatio,
                format!(
                    "the layer inflates more than {}× (max_ratio): a compression bomb; reading stopped",
                    limits.max_ratio
                ),
            )
            .detail(format!("{} compressed bytes had inflated to {}", compressed.get(), inflated.get())),
        ),
        (Err(WalkStop::Entries), None) => findings.push(stopped(
            Check::LayerBombEntries,
            format!("the image has more than {} entries (max_entries); reading stopped", limits.max_entries),
        )),
        (Err(WalkStop::Sparse(size)), None) => findings.push(
            stopped(
                Check::LayerBombSize,
                format!(
                    "sparse files make the image larger than {} bytes (max_total_bytes); reading stopped",
                    limits.max_total_bytes
                ),
            )
            .detail(format!("a sparse file of {size} bytes after {} entries", stats.entries)),
        ),
        (Err(WalkStop::Names), None) => findings.push(
            stopped(
                Check::LayerBombNames,
                format!(
                    "the image's paths take more than {} bytes together (max_names_bytes); reading stopped",
                    limits.max_names_bytes
                ),
            )
            .detail(format!("{} entries read", budget.entries)),
        ),
        (Err(WalkStop::Tar(e)), None) => {
            let text = e.to_string();
            let (check, message) = if text.contains("window") || text.contains("Frame requires too much memory") {
                (
                    Check::LayerBombZstdWindow,
                    format!(
                        "a zstd frame asks for a window over 2^{} bytes (max_zstd_window_log): {text}",
                        limits.max_zstd_window_log
                    ),
                )
            } else {
                (Check::LayerCorrupt, format!("the layer is truncated or damaged, and runtimes refuse it too: {text}"))
            };
            findings.push(stopped(check, message).detail(format!("after {} entries", stats.entries)));
        }
    }
    stats
}

enum WalkStop {
    Entries,
    Names,
    Sparse(i64),
    Tar(TarError),
}

impl From<TarError> for WalkStop {
    fn from(e: TarError) -> WalkStop {
        WalkStop::Tar(e)
    }
}

fn ambiguous(digest: &str, name: &[u8], a: &Ambiguity) -> Finding {
    Finding::new(
        Check::LayerAmbiguous,
        Severity::Critical,
        format!(
            "tar readers disagree on this layer: {}; a runtime built on another reader would unpack other files",
            a.what
        ),
        digest,
    )
    .path(escape(name))
    .detail(format!(
        "at offset {}: the runtime's reader (Go archive/tar: containerd, Docker, CRI-O, Podman) reads {}; another reader may read {}",
        a.offset, a.runtime, a.other
    ))
}

#[allow(clippy::too_many_arguments)]
fn walk<R: Read>(
    digest: &str,
    archive: &mut Reader<R>,
    limits: &Limits,
    budget: &mut Budget,
    view: &mut View,
    findings: &mut Findings,
    on_file: &mut dyn FnMut(&str, &mut dyn Read) -> io::Result<()>,
    stats: &mut LayerStats,
) -> Result<(), WalkStop> {
    while let Some(header) = archive.next_entry()? {
        stats.entries += 1;
        budget.entries += 1;
        if budget.entries > limits.max_entries {
            return Err(WalkStop::Entries);
        }
        for a in &header.ambiguities {
            findings.push(ambiguous(digest, &header.name, a));
        }
        if header.typeflag == typeflag::X_GLOBAL {
            continue; // runtimes ignore global headers (their ambiguities are above)
        }
        let raw = &header.name;
        let path = match normalize(raw, limits) {
            Ok(p) => p,
            Err(problem) => {
                findings.push(path_finding(&problem, raw, digest, limits, "the entry's path"));
                archive.drain()?;
                continue;
            }
        };
        if path.is_empty() {
            archive.drain()?;
            continue; // the root itself
        }
        let mode = (header.mode & 0o7777) as u32;
        let kind = header.typeflag;
        let node = match kind {
            typeflag::REG | typeflag::CONT | typeflag::GNU_SPARSE => {
                Node::File { size: header.size.max(0) as u64, mode }
            }
            typeflag::DIR => Node::Dir { mode },
            typeflag::SYMLINK => {
                let target = &header.linkname;
                if target.len() > limits.max_path_bytes {
                    findings.push(
                        path_finding(&PathProblem::TooLong(target.len()), target, digest, limits, "a symlink's target")
                            .path(path.clone()),
                    );
                    continue;
                }
                Node::Symlink { target: String::from_utf8_lossy(target).into_owned() }
            }
            typeflag::LINK => {
                let target = &header.linkname;
                match normalize(target, limits) {
                    Ok(t) => Node::Hardlink { target: t },
                    Err(problem) => {
                        let mut f = path_finding(&problem, target, digest, limits, "a hardlink's target");
                        f.check = Check::LayerHardlinkOutside;
                        f.severity = Severity::Critical;
                        findings.push(f.path(path.clone()).detail(format!("links to {}", escape(target))));
                        continue;
                    }
                }
            }
            typeflag::CHAR | typeflag::BLOCK | typeflag::FIFO => {
                findings.push(
                    Finding::new(
                        Check::LayerDevice,
                        Severity::Medium,
                        "a device or FIFO: containers get their devices from the runtime, not the image",
                        digest,
                    )
                    .path(path.clone())
                    .detail(crate::tarball::kind_name(kind).to_owned()),
                );
                Node::Special
            }
            other => {
                findings.push(
                    Finding::new(
                        Check::LayerEntryType,
                        Severity::Low,
                        "an entry of a type runtimes do not unpack was skipped",
                        digest,
                    )
                    .path(path.clone())
                    .detail(format!("typeflag {}", escape(&[other]))),
                );
                archive.drain()?;
                continue;
            }
        };
        if header.sparse {
            budget.sparse_bytes += header.size.max(0) as u64;
            if budget.bytes.saturating_add(budget.sparse_bytes) > limits.max_total_bytes {
                return Err(WalkStop::Sparse(header.size));
            }
        }
        let is_file = matches!(node, Node::File { .. });
        if view.apply(&path, node, findings) && is_file {
            let mut data = archive.data();
            if let Err(e) = on_file(&path, &mut data) {
                return Err(WalkStop::Tar(e.into()));
            }
        }
        if view.names_bytes() > limits.max_names_bytes {
            return Err(WalkStop::Names);
        }
        // What the hook left, read as a runtime writes it (a sparse map is checked).
        archive.drain()?;
    }
    Ok(())
}
