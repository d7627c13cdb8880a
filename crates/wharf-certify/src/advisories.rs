//! Vulnerability advisories in the OSV format, imported offline into a store and
//! matched against an image's packages.
//!
//! `wharf advisories import DIR|ZIP` reads OSV JSON files (one advisory each, as
//! osv.dev's per-ecosystem `all.zip` holds them), keeps what matching needs and
//! records the import: its source, when it ran, the snapshot date (the newest
//! `modified` time among the advisories) and counts per ecosystem. A later import
//! replaces advisories with the same id; nothing else is lost.
//!
//! Matching uses each ecosystem's own version order ([`crate::versions`]), OSV's
//! range semantics (`introduced`, `fixed`, `last_affected`, and explicit `versions`)
//! and the severity of the advisory's CVSS v3 vector.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::package::Component;
use crate::versions::Scheme;

/// One advisory file may be at most this large.
pub const MAX_ADVISORY_BYTES: u64 = 8 << 20;

/// The store's file name in its directory.
pub const STORE_FILE: &str = "advisories.json";

/// What can go wrong with the store or an import.
#[derive(Debug, thiserror::Error)]
pub enum AdvisoryError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The source is neither a directory nor a ZIP archive, or the archive is broken.
    #[error("{path}: {message}")]
    Source {
        /// The source.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The store file does not parse.
    #[error("the advisory store {path} is damaged ({message}); import the advisories again into an empty directory")]
    Store {
        /// The store file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Not one advisory in the source could be read; the store is unchanged.
    #[error("{path}: no valid OSV advisory found ({invalid} file(s) rejected); the store is unchanged")]
    NothingValid {
        /// The source.
        path: PathBuf,
        /// How many files were rejected.
        invalid: usize,
    },
}

// ---- OSV as published ----

#[derive(Debug, Deserialize)]
struct OsvAdvisory {
    id: String,
    modified: String,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    severity: Vec<OsvSeverity>,
    #[serde(default)]
    affected: Vec<OsvAffected>,
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct OsvSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Debug, Deserialize)]
struct OsvAffected {
    #[serde(default)]
    package: Option<OsvPackage>,
    #[serde(default)]
    severity: Vec<OsvSeverity>,
    #[serde(default)]
    ranges: Vec<OsvRange>,
    #[serde(default)]
    versions: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct OsvPackage {
    ecosystem: String,
    name: String,
}

#[derive(Debug, Deserialize)]
struct OsvRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<BTreeMap<String, String>>,
}

// ---- the store ----

/// A CVSS v3 score with its vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cvss {
    /// The base score, 0.0 to 10.0.
    pub score: f64,
    /// The vector, `CVSS:3.1/AV:N/…`.
    pub vector: String,
}

/// One event of a range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Vulnerable from this version (`0`: from the first).
    Introduced(String),
    /// Fixed in this version.
    Fixed(String),
    /// Vulnerable up to and including this version.
    LastAffected(String),
}

/// A range of affected versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// OSV `SEMVER` (else the ecosystem's own order).
    pub semver: bool,
    /// Its events.
    pub events: Vec<Event>,
}

/// A package an advisory affects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// OSV ecosystem, `Debian:12`, `PyPI`, …
    pub ecosystem: String,
    /// Package name as the ecosystem writes it.
    pub name: String,
    /// Ranges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    /// Versions listed one by one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// A severity for this package only, overriding the advisory's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss: Option<Cvss>,
}

/// An advisory as stored: what matching and the report need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// `CVE-…`, `GHSA-…`, `DSA-…`, …
    pub id: String,
    /// Other ids of the same vulnerability.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// One line.
    pub summary: String,
    /// Last modified (RFC 3339).
    pub modified: String,
    /// First published (RFC 3339), when the record says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// CVSS v3, when the advisory has a vector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss: Option<Cvss>,
    /// The database's own severity word (`HIGH`, `MODERATE`, …) when there is no vector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_label: Option<String>,
    /// The packages it affects.
    pub affected: Vec<Affected>,
}

/// One import, as recorded in the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Import {
    /// The directory or ZIP archive read.
    pub source: String,
    /// When the import ran (RFC 3339).
    pub imported_at: String,
    /// The snapshot's date: the newest `modified` among its advisories.
    pub snapshot: String,
    /// Advisories taken.
    pub advisories: usize,
    /// Withdrawn advisories skipped.
    pub withdrawn: usize,
    /// Files that were not valid OSV (named on the import's output).
    pub invalid: usize,
    /// Advisories per affected ecosystem.
    pub by_ecosystem: BTreeMap<String, usize>,
}

/// The advisory store: one JSON file in a directory.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Store {
    /// Every import, oldest first.
    pub imports: Vec<Import>,
    /// The advisories, by id.
    pub advisories: Vec<Advisory>,
    #[serde(skip)]
    index: HashMap<(String, String), Vec<usize>>,
    #[serde(skip)]
    ecosystems: HashMap<String, usize>,
}

/// The result of an import.
#[derive(Debug)]
pub struct ImportOutcome {
    /// What the store records.
    pub import: Import,
    /// Files rejected, with why.
    pub rejected: Vec<(String, String)>,
    /// Advisories in the store after the import.
    pub total: usize,
}

fn cvss_of(list: &[OsvSeverity]) -> Option<Cvss> {
    list.iter().filter(|s| s.kind == "CVSS_V3").find_map(|s| {
        let v = cvss::v3::Vector::from_str(s.score.trim()).ok()?;
        Some(Cvss { score: v.score().value(), vector: s.score.trim().to_owned() })
    })
}

fn normalize_name(ecosystem: &str, name: &str) -> String {
    match ecosystem.split(':').next().unwrap_or(ecosystem) {
        // PEP 503.
        "PyPI" => name.to_lowercase().replace(['_', '.'], "-"),
        _ => name.to_owned(),
    }
}

/// One OSV record (JSON) as an advisory; `None` when it is withdrawn.
pub fn parse_osv(bytes: &[u8]) -> Result<Option<Advisory>, String> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let osv: OsvAdvisory = serde_path_to_error::deserialize(de).map_err(|e| format!("not OSV JSON: {e}"))?;
    Ok(if osv.withdrawn.is_some() { None } else { Some(Advisory::from_osv(osv)) })
}

fn base(ecosystem: &str) -> &str {
    ecosystem.split(':').next().unwrap_or(ecosystem)
}

impl Advisory {
    fn from_osv(osv: OsvAdvisory) -> Advisory {
        let summary = osv
            .summary
            .filter(|s| !s.trim().is_empty())
            .or_else(|| {
                osv.details.as_deref().and_then(|d| d.lines().find(|l| !l.trim().is_empty())).map(str::to_owned)
            })
            .unwrap_or_default();
        let severity_label = osv
            .database_specific
            .as_ref()
            .and_then(|d| d.get("severity"))
            .and_then(|s| s.as_str())
            .map(|s| s.to_ascii_uppercase());
        let affected = osv
            .affected
            .into_iter()
            .filter_map(|a| {
                let package = a.package?;
                let ranges = a
                    .ranges
                    .into_iter()
                    .filter(|r| r.kind == "ECOSYSTEM" || r.kind == "SEMVER")
                    .map(|r| Range {
                        semver: r.kind == "SEMVER",
                        events: r
                            .events
                            .into_iter()
                            .filter_map(|e| {
                                let (k, v) = e.into_iter().next()?;
                                Some(match k.as_str() {
                                    "introduced" => Event::Introduced(v),
                                    "fixed" => Event::Fixed(v),
                                    "last_affected" => Event::LastAffected(v),
                                    _ => return None,
                                })
                            })
                            .collect(),
                    })
                    .collect();
                Some(Affected {
                    name: normalize_name(&package.ecosystem, &package.name),
                    ecosystem: package.ecosystem,
                    ranges,
                    versions: a.versions,
                    cvss: cvss_of(&a.severity),
                })
            })
            .collect();
        Advisory {
            id: osv.id,
            aliases: osv.aliases,
            summary,
            modified: osv.modified,
            published: osv.published,
            cvss: cvss_of(&osv.severity),
            severity_label,
            affected,
        }
    }

    /// The score that decides: the package's, the advisory's, or one estimated from
    /// the database's severity word (`CRITICAL` 9.0, `HIGH` 7.0, `MODERATE`/`MEDIUM`
    /// 4.0, `LOW` 0.1).
    pub fn score_for<'a>(&'a self, affected: &'a Affected) -> (Option<f64>, Option<&'a str>) {
        if let Some(c) = affected.cvss.as_ref().or(self.cvss.as_ref()) {
            return (Some(c.score), Some(c.vector.as_str()));
        }
        let estimated = match self.severity_label.as_deref() {
            Some("CRITICAL") => Some(9.0),
            Some("HIGH") => Some(7.0),
            Some("MODERATE" | "MEDIUM") => Some(4.0),
            Some("LOW") => Some(0.1),
            _ => None,
        };
        (estimated, None)
    }
}

fn read_limited(r: impl Read, name: &str) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    r.take(MAX_ADVISORY_BYTES + 1).read_to_end(&mut buf).map_err(|e| e.to_string())?;
    if buf.len() as u64 > MAX_ADVISORY_BYTES {
        return Err(format!("{name} is larger than {MAX_ADVISORY_BYTES} bytes"));
    }
    Ok(buf)
}

/// What reading a source found.
#[derive(Default)]
struct Read_ {
    taken: Vec<Advisory>,
    withdrawn: usize,
    rejected: Vec<(String, String)>,
}

impl Read_ {
    fn take(&mut self, name: String, bytes: Result<Vec<u8>, String>) {
        match bytes.and_then(|b| parse_osv(&b)) {
            Ok(None) => self.withdrawn += 1,
            Ok(Some(a)) => self.taken.push(a),
            Err(e) => self.rejected.push((name, e)),
        }
    }
}

/// The OSV files (`*.json`) of a ZIP archive.
fn read_zip(source: &Path, archive: impl Read + std::io::Seek) -> Result<Read_, AdvisoryError> {
    let mut zip = zip::ZipArchive::new(archive).map_err(|e| AdvisoryError::Source {
        path: source.to_owned(),
        message: format!("neither a directory nor a ZIP archive of OSV files ({e})"),
    })?;
    let mut read = Read_::default();
    for i in 0..zip.len() {
        let entry =
            zip.by_index(i).map_err(|e| AdvisoryError::Source { path: source.to_owned(), message: e.to_string() })?;
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_else(|_| format!("entry {i}"));
        if !entry.is_file() || !name.ends_with(".json") {
            continue;
        }
        let bytes = read_limited(entry, &name);
        read.take(name, bytes);
    }
    Ok(read)
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let t = e.file_type()?;
        if t.is_dir() {
            json_files(&e.path(), out)?;
        } else if t.is_file() && e.path().extension().is_some_and(|x| x == "json") {
            out.push(e.path());
        }
    }
    Ok(())
}

impl Store {
    /// Opens the store in `dir`; `None` when nothing was imported there yet.
    pub fn open(dir: &Path) -> Result<Option<Store>, AdvisoryError> {
        let path = dir.join(STORE_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(AdvisoryError::Io { path, source }),
        };
        let store = Store::from_json(&bytes).map_err(|e| match e {
            AdvisoryError::Store { message, .. } => AdvisoryError::Store { path: path.clone(), message },
            other => other,
        })?;
        Ok(Some(store))
    }

    /// A store holding `advisories` (in memory; nothing imported or saved).
    pub fn from_advisories(advisories: Vec<Advisory>) -> Store {
        let mut store = Store { advisories, ..Store::default() };
        store.reindex();
        store
    }

    fn reindex(&mut self) {
        self.index.clear();
        self.ecosystems.clear();
        for (i, a) in self.advisories.iter().enumerate() {
            for aff in &a.affected {
                let list = self.index.entry((base(&aff.ecosystem).to_owned(), aff.name.clone())).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
                *self.ecosystems.entry(aff.ecosystem.clone()).or_default() += 1;
            }
        }
    }

    /// Imports the OSV files of `source` (a directory, searched recursively, or a ZIP
    /// archive) into the store in `dir`, written atomically.
    pub fn import(dir: &Path, source: &Path) -> Result<ImportOutcome, AdvisoryError> {
        let mut store = Store::open(dir)?.unwrap_or_default();
        let read = if source.is_dir() {
            let mut files = Vec::new();
            json_files(source, &mut files).map_err(|e| AdvisoryError::Io { path: source.to_owned(), source: e })?;
            let mut read = Read_::default();
            for f in files {
                let name = f.strip_prefix(source).unwrap_or(&f).display().to_string();
                let bytes =
                    std::fs::File::open(&f).map_err(|e| e.to_string()).and_then(|file| read_limited(file, &name));
                read.take(name, bytes);
            }
            read
        } else {
            let file =
                std::fs::File::open(source).map_err(|e| AdvisoryError::Io { path: source.to_owned(), source: e })?;
            read_zip(source, file)?
        };
        let outcome = store.merge(source, read)?;
        store.save(dir)?;
        Ok(outcome)
    }

    /// Imports the OSV files of a ZIP archive (`name` says where it came from) into
    /// this store, in memory.
    pub fn import_zip(
        &mut self,
        name: &str,
        archive: impl Read + std::io::Seek,
    ) -> Result<ImportOutcome, AdvisoryError> {
        let read = read_zip(Path::new(name), archive)?;
        self.merge(Path::new(name), read)
    }

    /// The store as JSON, as it is saved.
    pub fn to_json(&self) -> Result<Vec<u8>, AdvisoryError> {
        serde_json::to_vec(self)
            .map_err(|e| AdvisoryError::Store { path: PathBuf::from(STORE_FILE), message: e.to_string() })
    }

    /// A store from its JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Store, AdvisoryError> {
        let mut store: Store = serde_json::from_slice(bytes)
            .map_err(|e| AdvisoryError::Store { path: PathBuf::from(STORE_FILE), message: e.to_string() })?;
        store.reindex();
        Ok(store)
    }

    /// Adds what was read from `source` (newer advisories replace older ones by id) and
    /// records the import.
    fn merge(&mut self, source: &Path, read: Read_) -> Result<ImportOutcome, AdvisoryError> {
        let Read_ { taken, withdrawn, rejected } = read;
        if taken.is_empty() && withdrawn == 0 {
            return Err(AdvisoryError::NothingValid { path: source.to_owned(), invalid: rejected.len() });
        }
        let mut by_ecosystem = BTreeMap::new();
        let mut snapshot = String::new();
        for a in &taken {
            let mut seen: Vec<&str> = a.affected.iter().map(|x| x.ecosystem.as_str()).collect();
            seen.sort_unstable();
            seen.dedup();
            for e in seen {
                *by_ecosystem.entry(e.to_owned()).or_default() += 1;
            }
            let m = humantime::parse_rfc3339_weak(a.modified.trim_end_matches('Z'))
                .map(|t| humantime::format_rfc3339_seconds(t).to_string())
                .unwrap_or_else(|_| a.modified.clone());
            if m > snapshot {
                snapshot = m;
            }
        }
        let import = Import {
            source: source.display().to_string(),
            imported_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            snapshot,
            advisories: taken.len(),
            withdrawn,
            invalid: rejected.len(),
            by_ecosystem,
        };
        let mut by_id: BTreeMap<String, Advisory> = self.advisories.drain(..).map(|a| (a.id.clone(), a)).collect();
        for a in taken {
            by_id.insert(a.id.clone(), a);
        }
        self.advisories = by_id.into_values().collect();
        self.reindex();
        self.imports.push(import.clone());
        Ok(ImportOutcome { import, rejected, total: self.advisories.len() })
    }

    fn save(&self, dir: &Path) -> Result<(), AdvisoryError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| AdvisoryError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(STORE_FILE);
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
        serde_json::to_writer(std::io::BufWriter::new(tmp.as_file_mut()), self)
            .map_err(|e| AdvisoryError::Io { path: path.clone(), source: e.into() })?;
        tmp.as_file().sync_all().map_err(io(&path))?;
        tmp.persist(&path).map_err(|e| AdvisoryError::Io { path: path.clone(), source: e.error })?;
        Ok(())
    }

    /// How many advisories name `ecosystem` (`Debian:12`), or any release of its base
    /// when `release` is `None`.
    pub fn covers(&self, target: &Target) -> bool {
        self.ecosystems.keys().any(|e| target.matches_ecosystem(e))
    }

    /// The advisories affecting `component` as `target` names it, each with the
    /// affected entry that matched and the fixed version, if any. Versions that do
    /// not parse in the ecosystem's scheme are returned in `unordered`.
    pub fn matches<'a>(&'a self, target: &Target) -> Matches<'a> {
        let mut out = Matches::default();
        let Some(list) = self.index.get(&(target.base.clone(), target.name.clone())) else {
            return out;
        };
        for &i in list {
            let advisory = &self.advisories[i];
            for aff in &advisory.affected {
                if aff.name != target.name || !target.matches_ecosystem(&aff.ecosystem) {
                    continue;
                }
                match affects(aff, target) {
                    Affects::Yes { fixed } => out.hits.push(Hit { advisory, affected: aff, fixed }),
                    Affects::No => {}
                    Affects::Unordered => out.unordered.push(advisory),
                }
            }
        }
        out
    }

    /// Advisories per ecosystem.
    pub fn ecosystems(&self) -> &HashMap<String, usize> {
        &self.ecosystems
    }
}

/// A package as advisories name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// OSV ecosystem base: `Debian`, `Alpine`, `PyPI`, …
    pub base: String,
    /// The distribution release (`12`, `v3.19`, `22.04`), for OS packages.
    pub release: Option<String>,
    /// The name advisories use (a source package for OS packages).
    pub name: String,
    /// The version advisories compare.
    pub version: String,
    /// The version order.
    pub scheme: Scheme,
}

impl Target {
    /// How advisories name `c` in an image of `distro` (`debian-12`, `alpine-3.19.1`).
    pub fn of(c: &Component, distro: Option<&str>) -> Option<Target> {
        let (id, version_id) = match distro.and_then(|d| d.split_once('-')) {
            Some((i, v)) => (i, Some(v)),
            None => ("", None),
        };
        let (base, release, name, version) = match c.ecosystem {
            "deb" => {
                let base = if id == "ubuntu" { "Ubuntu" } else { "Debian" };
                let release = version_id
                    .filter(|v| !v.is_empty())
                    .map(|v| if base == "Debian" { v.split('.').next().unwrap_or(v).to_owned() } else { v.to_owned() });
                let name = c.source.clone().unwrap_or_else(|| c.name.clone());
                (base, release, name, c.source_version.clone().unwrap_or_else(|| c.version.clone()))
            }
            "apk" => {
                let release = version_id.map(|v| {
                    let mut parts = v.split('.');
                    format!("v{}.{}", parts.next().unwrap_or(""), parts.next().unwrap_or(""))
                });
                ("Alpine", release, c.source.clone().unwrap_or_else(|| c.name.clone()), c.version.clone())
            }
            "rpm" => {
                let base = match id {
                    "almalinux" => "AlmaLinux",
                    "rocky" => "Rocky Linux",
                    "opensuse-leap" | "opensuse-tumbleweed" | "opensuse" => "openSUSE",
                    "sles" => "SUSE",
                    _ => "Red Hat",
                };
                let release = version_id.map(|v| v.split('.').next().unwrap_or(v).to_owned());
                // RPM advisories name binary packages.
                (base, release, c.name.clone(), c.version.clone())
            }
            "pypi" => ("PyPI", None, normalize_name("PyPI", &c.name), c.version.clone()),
            "npm" => ("npm", None, c.name.clone(), c.version.clone()),
            "cargo" => ("crates.io", None, c.name.clone(), c.version.clone()),
            "golang" => ("Go", None, c.name.clone(), c.version.clone()),
            "maven" => ("Maven", None, c.name.clone(), c.version.clone()),
            _ => return None,
        };
        let scheme = Scheme::of_ecosystem(base)?;
        Some(Target { base: base.to_owned(), release, name, version, scheme })
    }

    /// Whether an advisory's ecosystem (`Debian:12`, `Alpine:v3.19`, `PyPI`) is this one's.
    pub fn matches_ecosystem(&self, ecosystem: &str) -> bool {
        let mut parts = ecosystem.split(':');
        if parts.next() != Some(self.base.as_str()) {
            return false;
        }
        let rest: Vec<&str> = parts.collect();
        match &self.release {
            _ if rest.is_empty() => true,
            Some(r) => rest.iter().any(|p| p == r),
            // An image whose release is unknown cannot be matched against one release's fixes.
            None => false,
        }
    }
}

/// What matching found for one package.
#[derive(Debug, Default)]
pub struct Matches<'a> {
    /// Advisories that affect it.
    pub hits: Vec<Hit<'a>>,
    /// Advisories whose versions could not be compared with the package's.
    pub unordered: Vec<&'a Advisory>,
}

/// An advisory that affects a package.
#[derive(Debug)]
pub struct Hit<'a> {
    /// The advisory.
    pub advisory: &'a Advisory,
    /// The affected entry that matched.
    pub affected: &'a Affected,
    /// The version that fixes it in this range, if there is one.
    pub fixed: Option<String>,
}

/// Whether an affected entry covers a package's version.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Affects {
    /// Affected; `fixed` is the version that fixes it, if the entry names one.
    Yes {
        /// The fixing version.
        fixed: Option<String>,
    },
    /// Not affected.
    No,
    /// The entry's versions cannot be ordered against the package's.
    Unordered,
}

fn affects(aff: &Affected, target: &Target) -> Affects {
    let v = target.version.as_str();
    if aff.versions.iter().any(|x| x == v) {
        // Listed versions carry no fix; a range may still name one.
        let fixed = aff.ranges.iter().flat_map(|r| &r.events).find_map(|e| match e {
            Event::Fixed(f) => Some(f.clone()),
            _ => None,
        });
        return Affects::Yes { fixed };
    }
    let mut ordered_any = aff.ranges.is_empty();
    for range in &aff.ranges {
        let scheme = if range.semver { Scheme::Semver } else { target.scheme };
        let cmp = |a: &str, b: &str| scheme.compare(a, b);
        // Every event version must be comparable with ours.
        let mut events: Vec<(&str, &Event)> = Vec::new();
        let mut ok = true;
        for e in &range.events {
            let x = match e {
                Event::Introduced(x) | Event::Fixed(x) | Event::LastAffected(x) => x.as_str(),
            };
            if x != "0" && cmp(v, x).is_none() {
                ok = false;
                break;
            }
            events.push((x, e));
        }
        if !ok {
            continue;
        }
        ordered_any = true;
        events.sort_by(|a, b| match (a.0, b.0) {
            ("0", "0") => std::cmp::Ordering::Equal,
            ("0", _) => std::cmp::Ordering::Less,
            (_, "0") => std::cmp::Ordering::Greater,
            (x, y) => cmp(x, y).unwrap_or(std::cmp::Ordering::Equal),
        });
        let mut affected = false;
        let mut fixed = None;
        for (x, e) in &events {
            let reached = *x == "0" || cmp(v, x).is_some_and(|o| o.is_ge());
            match e {
                Event::Introduced(_) if reached => {
                    affected = true;
                    fixed = None;
                }
                Event::Fixed(_) if reached => affected = false,
                Event::Fixed(f) if affected && fixed.is_none() => fixed = Some(f.clone()),
                Event::LastAffected(_) if cmp(v, x).is_some_and(|o| o.is_gt()) => affected = false,
                _ => {}
            }
        }
        if affected {
            return Affects::Yes { fixed };
        }
    }
    if ordered_any { Affects::No } else { Affects::Unordered }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(advisories: &[serde_json::Value]) -> Store {
        let mut s = Store {
            advisories: advisories
                .iter()
                .map(|v| Advisory::from_osv(serde_json::from_value(v.clone()).unwrap()))
                .collect(),
            ..Store::default()
        };
        s.reindex();
        s
    }

    fn deb(name: &str, version: &str) -> Component {
        Component { ecosystem: "deb", name: name.into(), version: version.into(), ..Component::default() }
    }

    #[test]
    fn ranges_follow_osv_semantics_in_the_ecosystems_order() {
        let s = store(&[
            serde_json::json!({"id": "CVE-2024-0001", "modified": "2024-05-01T00:00:00Z",
                "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
                "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]}]}]}),
            serde_json::json!({"id": "CVE-2024-0002", "modified": "2024-05-02T00:00:00Z",
                "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "3.0.12-1"}, {"last_affected": "3.0.12-2"}]}]}]}),
            serde_json::json!({"id": "CVE-2024-0003", "modified": "2024-05-02T00:00:00Z",
                "affected": [{"package": {"ecosystem": "Debian:11", "name": "openssl"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}),
        ]);
        let t = |v: &str| Target::of(&deb("openssl", v), Some("debian-12")).unwrap();
        let ids = |v: &str| -> Vec<(String, Option<String>)> {
            s.matches(&t(v)).hits.iter().map(|h| (h.advisory.id.clone(), h.fixed.clone())).collect()
        };
        assert_eq!(ids("3.0.11-1~deb12u2"), [("CVE-2024-0001".to_owned(), Some("3.0.13-1~deb12u1".to_owned()))]);
        // The fix itself and later: not affected (`~deb12u1` sorts before `-1`).
        assert!(ids("3.0.13-1~deb12u1").is_empty());
        assert!(ids("3.0.13-1").is_empty());
        // last_affected is inclusive.
        assert_eq!(ids("3.0.12-2").len(), 2);
        assert_eq!(ids("3.0.12-2+b1").len(), 1);
        let h = &s.matches(&t("3.0.11-1")).hits[0];
        assert_eq!(h.advisory.score_for(h.affected).0, Some(9.8));
    }

    #[test]
    fn source_packages_and_releases_decide_what_matches() {
        let mut libssl = deb("libssl3", "3.0.11-1~deb12u2");
        libssl.source = Some("openssl".into());
        let t = Target::of(&libssl, Some("debian-12")).unwrap();
        assert_eq!((t.name.as_str(), t.release.as_deref()), ("openssl", Some("12")));
        assert!(t.matches_ecosystem("Debian:12") && t.matches_ecosystem("Debian") && !t.matches_ecosystem("Debian:11"));
        let apk = Component {
            ecosystem: "apk",
            name: "libcrypto3".into(),
            version: "3.1.4-r0".into(),
            source: Some("openssl".into()),
            ..Component::default()
        };
        let t = Target::of(&apk, Some("alpine-3.19.1")).unwrap();
        assert!(t.matches_ecosystem("Alpine:v3.19") && !t.matches_ecosystem("Alpine:v3.18"));
        let py = Component {
            ecosystem: "pypi",
            name: "Flask_Login".into(),
            version: "0.6.3".into(),
            ..Component::default()
        };
        assert_eq!(Target::of(&py, None).unwrap().name, "flask-login");
    }
}
