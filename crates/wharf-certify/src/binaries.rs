//! Packages recorded inside files: Java archives (`META-INF/maven/**/pom.properties`,
//! else the manifest's implementation or bundle attributes; jars nested one level
//! deep, as Spring Boot's `BOOT-INF/lib/` holds them) and Rust executables built with
//! cargo-auditable (the zlib-compressed JSON dependency list in the `.dep-v0` ELF
//! section).

use std::io::{Cursor, Read};

use crate::package::{Component, encode};

/// Archives larger than this are not opened.
pub const MAX_ARCHIVE_BYTES: u64 = 128 << 20;
/// One entry (a manifest, a nested jar) read from an archive is at most this large.
const MAX_ENTRY_BYTES: u64 = 64 << 20;
/// The dependency list inflates to at most this.
const MAX_AUDIT_JSON_BYTES: u64 = 8 << 20;

/// Whether `path` is a Java archive.
pub fn is_java_archive(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".jar", ".war", ".ear"].iter().any(|x| lower.ends_with(x))
}

fn maven(group: &str, artifact: &str, version: &str, path: &str) -> Component {
    Component {
        ecosystem: "maven",
        name: format!("{group}:{artifact}"),
        version: version.to_owned(),
        purl: format!("pkg:maven/{}/{}@{}", encode(group), encode(artifact), encode(version)),
        path: path.to_owned(),
        ..Component::default()
    }
}

fn properties(text: &str) -> impl Fn(&str) -> Option<String> + '_ {
    move |key: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once(['=', ':'])?;
            (k.trim() == key).then(|| v.trim().to_owned())
        })
    }
}

/// The components a Java archive records; `depth` 0 for a file of the image.
pub fn java_archive(path: &str, bytes: &[u8]) -> Vec<Component> {
    java(path, bytes, 0)
}

fn java(path: &str, bytes: &[u8], depth: usize) -> Vec<Component> {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut manifest = None;
    let mut nested = Vec::new();
    for i in 0..zip.len() {
        let Ok(mut entry) = zip.by_index(i) else { continue };
        let Ok(name) = entry.name().map(|n| n.into_owned()) else { continue };
        let read = |entry: &mut zip::read::ZipFile<'_, _>| {
            let mut buf = Vec::new();
            entry.take(MAX_ENTRY_BYTES + 1).read_to_end(&mut buf).ok()?;
            (buf.len() as u64 <= MAX_ENTRY_BYTES).then_some(buf)
        };
        if name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties") {
            if let Some(buf) = read(&mut entry) {
                let text = String::from_utf8_lossy(&buf);
                let get = properties(&text);
                if let (Some(g), Some(a), Some(v)) = (get("groupId"), get("artifactId"), get("version")) {
                    out.push(maven(&g, &a, &v, path));
                }
            }
        } else if name == "META-INF/MANIFEST.MF" {
            manifest = read(&mut entry);
        } else if depth == 0
            && is_java_archive(&name)
            && let Some(buf) = read(&mut entry)
        {
            nested.push((format!("{path}!/{name}"), buf));
        }
    }
    if out.is_empty()
        && let Some(m) = manifest
    {
        // No Maven metadata: the manifest's attributes, the group from the bundle name.
        let text = String::from_utf8_lossy(&m);
        let get = properties(&text);
        let version = get("Implementation-Version").or_else(|| get("Bundle-Version"));
        let title = get("Implementation-Title").or_else(|| get("Bundle-Name"));
        let symbolic = get("Bundle-SymbolicName").map(|s| s.split(';').next().unwrap_or("").trim().to_owned());
        if let Some(v) = version {
            match (symbolic, title) {
                (Some(sym), _) if sym.contains('.') => {
                    let (g, a) = sym.rsplit_once('.').unwrap_or(("", &sym));
                    out.push(maven(g, a, &v, path));
                }
                (_, Some(t)) => {
                    let vendor = get("Implementation-Vendor-Id").unwrap_or_default();
                    out.push(maven(&vendor, &t, &v, path));
                }
                _ => {}
            }
        }
    }
    for (p, b) in nested {
        out.extend(java(&p, &b, depth + 1));
    }
    out
}

/// The bytes of the ELF section `wanted`, if the file has it and it lies inside `elf`.
pub fn elf_section<'a>(elf: &'a [u8], wanted: &str) -> Option<&'a [u8]> {
    if elf.get(..4)? != b"\x7fELF" {
        return None;
    }
    let wide = *elf.get(4)? == 2;
    let little = *elf.get(5)? == 1;
    let u16_at = |at: usize| -> Option<u64> {
        let b: [u8; 2] = elf.get(at..at + 2)?.try_into().ok()?;
        Some(u64::from(if little { u16::from_le_bytes(b) } else { u16::from_be_bytes(b) }))
    };
    let u32_at = |at: usize| -> Option<u64> {
        let b: [u8; 4] = elf.get(at..at + 4)?.try_into().ok()?;
        Some(u64::from(if little { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) }))
    };
    let u64_at = |at: usize| -> Option<u64> {
        let b: [u8; 8] = elf.get(at..at + 8)?.try_into().ok()?;
        Some(if little { u64::from_le_bytes(b) } else { u64::from_be_bytes(b) })
    };
    let word = |at: usize| if wide { u64_at(at) } else { u32_at(at) };
    let (shoff, shentsize, shnum, shstrndx) = if wide {
        (u64_at(0x28)?, u16_at(0x3a)?, u16_at(0x3c)?, u16_at(0x3e)?)
    } else {
        (u32_at(0x20)?, u16_at(0x2e)?, u16_at(0x30)?, u16_at(0x32)?)
    };
    let section = |i: u64| -> Option<(u64, u64, u64)> {
        let at = usize::try_from(shoff.checked_add(i.checked_mul(shentsize)?)?).ok()?;
        let name = u32_at(at)?;
        let (offset, size) =
            if wide { (word(at + 0x18)?, word(at + 0x20)?) } else { (word(at + 0x10)?, word(at + 0x14)?) };
        Some((name, offset, size))
    };
    let bytes = |offset: u64, size: u64| -> Option<&'a [u8]> {
        let start = usize::try_from(offset).ok()?;
        elf.get(start..start.checked_add(usize::try_from(size).ok()?)?)
    };
    let (_, str_off, str_size) = section(shstrndx)?;
    let names = bytes(str_off, str_size)?;
    for i in 0..shnum.min(4096) {
        let (name, offset, size) = section(i)?;
        let n = names.get(usize::try_from(name).ok()?..)?;
        let end = memchr::memchr(0, n)?;
        if &n[..end] == wanted.as_bytes() {
            return bytes(offset, size);
        }
    }
    None
}

/// The crates a cargo-auditable executable records (crates.io packages; the
/// executable's own workspace crates are not third-party components).
pub fn cargo_auditable(path: &str, elf: &[u8]) -> Vec<Component> {
    let Some(section) = elf_section(elf, ".dep-v0") else {
        return Vec::new();
    };
    let mut json = Vec::new();
    let decoder = flate2::read::ZlibDecoder::new(section);
    if decoder.take(MAX_AUDIT_JSON_BYTES).read_to_end(&mut json).is_err() {
        return Vec::new();
    }
    #[derive(serde::Deserialize)]
    struct Audit {
        packages: Vec<Package>,
    }
    #[derive(serde::Deserialize)]
    struct Package {
        name: String,
        version: String,
        source: String,
    }
    let Ok(audit) = serde_json::from_slice::<Audit>(&json) else {
        return Vec::new();
    };
    audit
        .packages
        .into_iter()
        .filter(|p| p.source == "crates.io")
        .map(|p| Component {
            ecosystem: "cargo",
            purl: format!("pkg:cargo/{}@{}", encode(&p.name), encode(&p.version)),
            name: p.name,
            version: p.version,
            path: path.to_owned(),
            ..Component::default()
        })
        .collect()
}
