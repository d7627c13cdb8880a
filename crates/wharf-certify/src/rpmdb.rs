//! The RPM database in its SQLite form (`rpmdb.sqlite`, RHEL 9, Fedora 33+, UBI 9,
//! openSUSE): each row of `Packages` is an RPM header blob, whose tags give the
//! package's name, epoch, version, release, architecture and source RPM.
//!
//! The database bytes are written to a private temporary file (SQLite reads files),
//! opened read-only and immutable, and removed. Older Berkeley DB (`Packages`) and
//! ndb (`Packages.db`) databases are not read.

use std::io::Write;

use crate::package::{Component, encode};

/// Where rpm keeps its SQLite database.
pub const PATHS: [&str; 2] = ["var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite"];

/// The largest database read.
pub const MAX_BYTES: u64 = 256 << 20;

const TAG_NAME: i32 = 1000;
const TAG_VERSION: i32 = 1001;
const TAG_RELEASE: i32 = 1002;
const TAG_EPOCH: i32 = 1003;
const TAG_ARCH: i32 = 1022;
const TAG_SOURCERPM: i32 = 1044;

const TYPE_INT32: i32 = 4;
const TYPE_STRING: i32 = 6;
const TYPE_I18NSTRING: i32 = 9;

/// A value of a header tag.
enum Value<'a> {
    Int(i32),
    Str(&'a str),
}

/// Parses an RPM header blob (as rpmdb stores it: without the lead and magic) into
/// the tags asked for.
fn header(blob: &[u8]) -> Option<Vec<(i32, Value<'_>)>> {
    let be = |b: &[u8], at: usize| -> Option<i32> { Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?)) };
    let count = usize::try_from(be(blob, 0)?).ok()?;
    let data_len = usize::try_from(be(blob, 4)?).ok()?;
    let index_end = 8usize.checked_add(count.checked_mul(16)?)?;
    let data = blob.get(index_end..index_end.checked_add(data_len)?)?;
    let mut out = Vec::new();
    for i in 0..count {
        let at = 8 + i * 16;
        let (tag, kind, offset) = (be(blob, at)?, be(blob, at + 4)?, usize::try_from(be(blob, at + 8)?).ok()?);
        if !matches!(tag, TAG_NAME | TAG_VERSION | TAG_RELEASE | TAG_EPOCH | TAG_ARCH | TAG_SOURCERPM) {
            continue;
        }
        match kind {
            TYPE_INT32 => out.push((tag, Value::Int(be(data, offset)?))),
            TYPE_STRING | TYPE_I18NSTRING => {
                let rest = data.get(offset..)?;
                let end = memchr::memchr(0, rest)?;
                out.push((tag, Value::Str(std::str::from_utf8(&rest[..end]).ok()?)));
            }
            _ => {}
        }
    }
    Some(out)
}

/// The purl namespace of a distribution id (`rhel` → `redhat`).
fn namespace(distro: Option<&str>) -> &str {
    let id = distro.and_then(|d| d.split_once('-')).map_or(distro.unwrap_or(""), |(id, _)| id);
    match id {
        "rhel" | "" => "redhat",
        "centos" => "centos",
        "fedora" => "fedora",
        "rocky" => "rocky",
        "almalinux" => "almalinux",
        "ol" => "oracle",
        "amzn" => "amazon",
        i if i.starts_with("opensuse") || i == "sles" => "opensuse",
        _ => "redhat",
    }
}

/// The packages in an `rpmdb.sqlite` database's bytes; an error names what is wrong.
pub fn parse(path: &str, bytes: &[u8], distro: Option<&str>) -> Result<Vec<Component>, String> {
    let mut tmp = tempfile::Builder::new().prefix("wharf-rpmdb-").tempfile().map_err(|e| e.to_string())?;
    tmp.write_all(bytes).and_then(|()| tmp.flush()).map_err(|e| e.to_string())?;
    let uri = format!("file:{}?immutable=1", tmp.path().display());
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI;
    let db = rusqlite::Connection::open_with_flags(&uri, flags).map_err(|e| format!("not an SQLite database: {e}"))?;
    let mut stmt = db.prepare("SELECT blob FROM Packages").map_err(|e| format!("no Packages table: {e}"))?;
    let rows = stmt.query_map([], |row| row.get::<_, Vec<u8>>(0)).map_err(|e| e.to_string())?;
    let ns = namespace(distro);
    let distro_q = distro.map(|d| format!("&distro={}", encode(d))).unwrap_or_default();
    let mut out = Vec::new();
    for row in rows {
        let blob = row.map_err(|e| e.to_string())?;
        let Some(tags) = header(&blob) else { continue };
        let s = |t: i32| {
            tags.iter().find_map(|(tag, v)| match v {
                Value::Str(x) if *tag == t => Some(*x),
                _ => None,
            })
        };
        let epoch = tags.iter().find_map(|(tag, v)| match v {
            Value::Int(e) if *tag == TAG_EPOCH => Some(*e),
            _ => None,
        });
        let (Some(name), Some(version), Some(release)) = (s(TAG_NAME), s(TAG_VERSION), s(TAG_RELEASE)) else {
            continue;
        };
        // The public key pseudo-packages are not software.
        if name == "gpg-pubkey" {
            continue;
        }
        let arch = s(TAG_ARCH).unwrap_or("noarch");
        // `openssl-3.0.7-24.el9.src.rpm` → `openssl`.
        let source = s(TAG_SOURCERPM).and_then(|src| {
            let stem = src.strip_suffix(".rpm")?.rsplit_once('.')?.0;
            let (rest, _release) = stem.rsplit_once('-')?;
            Some(rest.rsplit_once('-')?.0.to_owned())
        });
        let evr = match epoch {
            Some(e) if e != 0 => format!("{e}:{version}-{release}"),
            _ => format!("{version}-{release}"),
        };
        let epoch_q = epoch.filter(|e| *e != 0).map(|e| format!("&epoch={e}")).unwrap_or_default();
        out.push(Component {
            ecosystem: "rpm",
            name: name.to_owned(),
            version: evr,
            purl: format!(
                "pkg:rpm/{ns}/{}@{}-{}?arch={}{epoch_q}{distro_q}",
                encode(name),
                encode(version),
                encode(release),
                encode(arch)
            ),
            path: path.to_owned(),
            source: source.filter(|s| s != name),
            source_version: None,
        });
    }
    Ok(out)
}
