//! Reading a platform's files once, for every check that needs their bytes: each
//! regular file of each layer is streamed to clamd, its head tells executables by
//! architecture, and up to what its readers need is kept for the secrets scan and the
//! SBOM (package databases, Go and cargo-auditable executables, Java archives).

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::time::{Duration, Instant};

use crate::check::Check;
use crate::finding::{Finding, Findings, Severity};
use crate::package::Component;
use crate::policy::{Action, Policy};

/// What reading a platform's layers collects, file by file.
#[derive(Debug)]
pub(crate) struct Scan<'a> {
    policy: &'a Policy,
    /// The malware scan, when clamd is there.
    pub(crate) scanner: Option<crate::clamd::Scanner>,
    /// Executables by architecture, with one example path each.
    pub(crate) binaries: BTreeMap<&'static str, (usize, String)>,
    /// Files the SBOM reads: path -> (layer index, content); later layers replace.
    pub(crate) captured: BTreeMap<String, (usize, Vec<u8>)>,
    /// Packages recorded in files (Go and cargo-auditable executables, Java
    /// archives): path -> (layer index, components).
    pub(crate) recorded: BTreeMap<String, (usize, Vec<Component>)>,
    /// Secrets found.
    pub(crate) secrets: Findings,
    /// Time spent scanning for secrets.
    pub(crate) secrets_time: Duration,
    /// Time spent finding packages.
    pub(crate) sbom_time: Duration,
    /// The current file's kept bytes (reused).
    content: Vec<u8>,
}

impl<'a> Scan<'a> {
    /// A scan under `policy`, streaming files to `scanner` when there is one.
    pub(crate) fn new(policy: &'a Policy, scanner: Option<crate::clamd::Scanner>) -> Scan<'a> {
        Scan {
            policy,
            scanner,
            binaries: BTreeMap::new(),
            captured: BTreeMap::new(),
            recorded: BTreeMap::new(),
            secrets: Findings::new(policy.limits.max_findings_per_check),
            secrets_time: Duration::ZERO,
            sbom_time: Duration::ZERO,
            content: Vec::new(),
        }
    }

    /// One regular file, `path` in the layer `digest` (the `index`th).
    pub(crate) fn file(&mut self, index: usize, digest: &str, path: &str, r: &mut dyn Read) -> io::Result<()> {
        let upload = self.scanner.as_mut().and_then(|s| s.file(digest, path));
        let mut tee = Tee { inner: r, out: upload };
        let r: &mut dyn Read = &mut tee;
        let mut head = [0u8; 20];
        let mut got = 0;
        while got < head.len() {
            let n = r.read(&mut head[got..])?;
            if n == 0 {
                break;
            }
            got += n;
        }
        let elf = elf_architecture(&head[..got]);
        if let Some(arch) = elf {
            let e = self.binaries.entry(arch).or_insert((0, path.to_owned()));
            e.0 += 1;
        }
        let java = crate::binaries::is_java_archive(path);
        // The file, up to what its readers need: the secrets scan, the SBOM's
        // databases, executables and Java archives.
        let limit = [
            crate::secrets::MAX_SCANNED_BYTES,
            crate::sbom::capture_limit(path).unwrap_or(0),
            if elf.is_some() || java { crate::binaries::MAX_ARCHIVE_BYTES } else { 0 },
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        let content = &mut self.content;
        content.clear();
        content.extend_from_slice(&head[..got]);
        r.take(limit + 1 - got as u64).read_to_end(content)?;
        let whole = content.len() as u64 <= limit;
        let t = Instant::now();
        if self.policy.secrets != Action::Off && content.len() as u64 <= crate::secrets::MAX_SCANNED_BYTES {
            for s in crate::secrets::scan(content) {
                self.secrets.push(
                    Finding::new(Check::PolicySecret, Severity::High, format!("{} in a file", s.what), digest)
                        .path(path)
                        .detail(format!("line {}: {}", s.line, s.redacted)),
                );
            }
        }
        self.secrets_time += t.elapsed();
        let t = Instant::now();
        if crate::sbom::capture_limit(path).is_some_and(|l| content.len() as u64 <= l) {
            self.captured.insert(path.to_owned(), (index, content.clone()));
        }
        let mut recorded = Vec::new();
        if java && whole {
            recorded.extend(crate::binaries::java_archive(path, content));
        }
        if elf.is_some() {
            if whole {
                recorded.extend(crate::binaries::cargo_auditable(path, content));
            }
            if let Some(info) = crate::gobuild::find(content, r)? {
                recorded.extend(crate::gobuild::parse(&info, path));
            }
        }
        if !recorded.is_empty() {
            self.recorded.insert(path.to_owned(), (index, recorded));
        }
        self.sbom_time += t.elapsed();
        // The rest of the file, for the malware scan.
        if tee.out.is_some() {
            io::copy(&mut tee, &mut io::sink())?;
        }
        if let Some(u) = tee.out.take() {
            u.finish();
        }
        Ok(())
    }
}

/// The architecture an ELF header names, in OCI's words.
fn elf_architecture(head: &[u8]) -> Option<&'static str> {
    if head.len() < 20 || &head[..4] != b"\x7fELF" {
        return None;
    }
    let little = head[5] == 1;
    let machine =
        if little { u16::from_le_bytes([head[18], head[19]]) } else { u16::from_be_bytes([head[18], head[19]]) };
    Some(match machine {
        3 => "386",
        40 => "arm",
        62 => "amd64",
        183 => "arm64",
        21 if little => "ppc64le",
        21 => "ppc64",
        22 => "s390x",
        243 => "riscv64",
        _ => "unknown",
    })
}

/// A `Read` that copies what is read into a malware scan upload.
struct Tee<'a> {
    inner: &'a mut dyn Read,
    out: Option<crate::clamd::Upload>,
}

impl Read for Tee<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(o) = &mut self.out {
            io::Write::write_all(o, &buf[..n])?;
        }
        Ok(n)
    }
}
