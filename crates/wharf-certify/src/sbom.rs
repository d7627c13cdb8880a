//! The software bill of materials: packages found in the image's final file view,
//! each with its purl and the path it was found at, written as CycloneDX 1.5 and
//! SPDX 2.3 JSON.
//!
//! Sources read so far: the dpkg status database, the apk installed database,
//! Python `*.dist-info/METADATA` and `*.egg-info/PKG-INFO`, npm `package.json` under
//! `node_modules`, Rust `Cargo.lock` files (registry packages only).

use serde_json::json;

pub use crate::package::Component;
use crate::package::encode;

/// Files the SBOM reads are captured while layers stream, if at most this large.
pub const MAX_CAPTURED_BYTES: u64 = 16 << 20;

/// How much of `path` the SBOM wants to read, if it wants it: package databases and
/// manifests (and `os-release`, which qualifies OS packages).
pub fn capture_limit(path: &str) -> Option<u64> {
    if crate::rpmdb::PATHS.contains(&path) {
        Some(crate::rpmdb::MAX_BYTES)
    } else if wants(path) || path == "etc/os-release" || path == "usr/lib/os-release" {
        Some(MAX_CAPTURED_BYTES)
    } else {
        None
    }
}

/// Whether the SBOM wants the content of `path`.
pub fn wants(path: &str) -> bool {
    path.ends_with("/package-lock.json")
        || path.ends_with("/npm-shrinkwrap.json")
        || path == "package-lock.json"
        || path == "var/lib/dpkg/status"
        || path == "lib/apk/db/installed"
        || (path.ends_with(".dist-info/METADATA") && path.contains("-packages/"))
        || (path.ends_with(".egg-info/PKG-INFO") && path.contains("-packages/"))
        || (path.ends_with("/package.json") && path.contains("node_modules/"))
        || path.ends_with("/Cargo.lock")
        || path == "Cargo.lock"
}

/// Paragraphs of a deb822-style file (`Key: value` lines, blank-line separated),
/// continuation lines folded into their field.
fn paragraphs(text: &str) -> Vec<Vec<(&str, String)>> {
    let mut out = Vec::new();
    let mut cur: Vec<(&str, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else if line.starts_with([' ', '\t']) {
            if let Some(last) = cur.last_mut() {
                last.1.push('\n');
                last.1.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            cur.push((k, v.trim().to_owned()));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn field<'a>(p: &'a [(&str, String)], key: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
}

fn npm(name: &str, version: &str, path: &str) -> Component {
    let purl_name = match name.split_once('/') {
        Some((scope, n)) if scope.starts_with('@') => format!("{}/{}", encode(scope), encode(n)),
        _ => encode(name),
    };
    Component {
        ecosystem: "npm",
        name: name.to_owned(),
        version: version.to_owned(),
        purl: format!("pkg:npm/{purl_name}@{}", encode(version)),
        path: path.to_owned(),
        ..Component::default()
    }
}

/// The packages an npm lock file pins: lockfileVersion 2 and 3 (`packages`, keyed by
/// `node_modules/…` paths) or 1 (`dependencies`, nested).
fn npm_lock(v: &serde_json::Value, path: &str) -> Vec<Component> {
    let mut out = Vec::new();
    if let Some(packages) = v["packages"].as_object() {
        for (key, p) in packages {
            // "" is the project itself; links point at workspace folders.
            let Some(at) = key.rfind("node_modules/") else { continue };
            if p["link"].as_bool() == Some(true) {
                continue;
            }
            let name = p["name"].as_str().unwrap_or(&key[at + "node_modules/".len()..]);
            if let Some(version) = p["version"].as_str() {
                out.push(npm(name, version, path));
            }
        }
    } else {
        fn walk(deps: &serde_json::Value, path: &str, out: &mut Vec<Component>) {
            for (name, d) in deps.as_object().into_iter().flatten() {
                if let Some(version) = d["version"].as_str().filter(|v| !v.starts_with("file:")) {
                    out.push(npm(name, version, path));
                }
                walk(&d["dependencies"], path, out);
            }
        }
        walk(&v["dependencies"], path, &mut out);
    }
    out
}

/// Components found in one captured file (`distro` qualifies OS package purls, e.g.
/// `debian-12`); an error when a database that should parse does not.
pub fn parse(path: &str, content: &[u8], distro: Option<&str>) -> Result<Vec<Component>, String> {
    if crate::rpmdb::PATHS.contains(&path) {
        return crate::rpmdb::parse(path, content, distro);
    }
    if path.ends_with("package-lock.json") || path.ends_with("npm-shrinkwrap.json") {
        let v: serde_json::Value = serde_json::from_slice(content).map_err(|e| format!("not JSON: {e}"))?;
        return Ok(npm_lock(&v, path));
    }
    let text = String::from_utf8_lossy(content);
    let mut out = Vec::new();
    let distro_q = distro.map(|d| format!("&distro={}", encode(d))).unwrap_or_default();
    if path == "var/lib/dpkg/status" {
        for p in paragraphs(&text) {
            let installed = field(&p, "Status").is_some_and(|s| s.ends_with(" installed"));
            if let (true, Some(name), Some(version)) = (installed, field(&p, "Package"), field(&p, "Version")) {
                let arch = field(&p, "Architecture").unwrap_or("all");
                // `Source: glibc` or `Source: glibc (2.36-9)`.
                let source = field(&p, "Source").map(|s| match s.split_once(" (") {
                    Some((n, v)) => (n.trim().to_owned(), Some(v.trim_end_matches(')').to_owned())),
                    None => (s.trim().to_owned(), None),
                });
                out.push(Component {
                    ecosystem: "deb",
                    name: name.to_owned(),
                    version: version.to_owned(),
                    purl: format!(
                        "pkg:deb/debian/{}@{}?arch={}{distro_q}",
                        encode(name),
                        encode(version),
                        encode(arch)
                    ),
                    path: path.to_owned(),
                    source_version: source.as_ref().and_then(|(_, v)| v.clone()),
                    source: source.map(|(n, _)| n),
                });
            }
        }
    } else if path == "lib/apk/db/installed" {
        for block in text.split("\n\n") {
            let get = |k: &str| block.lines().find_map(|l| l.strip_prefix(k));
            if let (Some(name), Some(version)) = (get("P:"), get("V:")) {
                let arch = get("A:").unwrap_or("noarch");
                out.push(Component {
                    ecosystem: "apk",
                    name: name.to_owned(),
                    version: version.to_owned(),
                    purl: format!(
                        "pkg:apk/alpine/{}@{}?arch={}{distro_q}",
                        encode(name),
                        encode(version),
                        encode(arch)
                    ),
                    path: path.to_owned(),
                    source: get("o:").map(str::to_owned),
                    source_version: None,
                });
            }
        }
    } else if path.ends_with("/METADATA") || path.ends_with("/PKG-INFO") {
        let head = text.split("\n\n").next().unwrap_or("");
        let p = paragraphs(head);
        if let (Some(name), Some(version)) = (field(&p.concat(), "Name"), field(&p.concat(), "Version")) {
            // PEP 503 normalization for the purl.
            let norm: String = name.to_lowercase().replace(['_', '.'], "-");
            out.push(Component {
                ecosystem: "pypi",
                name: name.to_owned(),
                version: version.to_owned(),
                purl: format!("pkg:pypi/{}@{}", encode(&norm), encode(version)),
                path: path.to_owned(),
                ..Component::default()
            });
        }
    } else if path.ends_with("Cargo.lock") {
        // `[[package]]` tables: name, version, and a `source` for registry packages
        // (path and workspace members have none and are not third-party components).
        for table in text.split("[[package]]").skip(1) {
            let get = |k: &str| {
                table.lines().find_map(|l| {
                    let (key, value) = l.split_once('=')?;
                    (key.trim() == k).then(|| value.trim().trim_matches('"').to_owned())
                })
            };
            if let (Some(name), Some(version), Some(source)) = (get("name"), get("version"), get("source"))
                && source.starts_with("registry+")
            {
                out.push(Component {
                    ecosystem: "cargo",
                    purl: format!("pkg:cargo/{}@{}", encode(&name), encode(&version)),
                    name,
                    version,
                    path: path.to_owned(),
                    ..Component::default()
                });
            }
        }
    } else if path.ends_with("/package.json")
        && let Ok(v) = serde_json::from_slice::<serde_json::Value>(content)
        && let (Some(name), Some(version)) = (v["name"].as_str(), v["version"].as_str())
    {
        out.push(npm(name, version, path));
    }
    Ok(out)
}

/// A CycloneDX 1.5 JSON document.
pub fn cyclonedx(image: &str, platform: &str, components: &[Component]) -> serde_json::Value {
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "tools": {"components": [{"type": "application", "name": "wharf-certify", "version": env!("CARGO_PKG_VERSION")}]},
            "component": {"type": "container", "name": image, "properties": [{"name": "wharf:platform", "value": platform}]},
        },
        "components": components.iter().map(|c| json!({
            "type": "library",
            "bom-ref": c.purl,
            "name": c.name,
            "version": c.version,
            "purl": c.purl,
            "properties": [{"name": "wharf:path", "value": c.path}, {"name": "wharf:ecosystem", "value": c.ecosystem}],
        })).collect::<Vec<_>>(),
    })
}

/// An SPDX 2.3 JSON document (`created` is an RFC 3339 time).
pub fn spdx(image: &str, platform: &str, components: &[Component], created: &str) -> serde_json::Value {
    let namespace = format!("https://example.invalid/wharf/spdx/{}/{}", encode(image), encode(platform));
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("{image} ({platform})"),
        "documentNamespace": namespace,
        "creationInfo": {"created": created, "creators": [format!("Tool: wharf-certify-{}", env!("CARGO_PKG_VERSION"))]},
        "packages": components.iter().enumerate().map(|(i, c)| json!({
            "SPDXID": format!("SPDXRef-Package-{i}"),
            "name": c.name,
            "versionInfo": c.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "sourceInfo": format!("found at /{}", c.path),
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": c.purl}],
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_databases_become_components_with_purls() {
        let dpkg = b"Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9+deb12u4\nDescription: GNU C Library\n shared libraries\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n";
        let c = parse("var/lib/dpkg/status", dpkg, Some("debian-12")).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].purl, "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12");
        let apk = b"C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\n\nP:busybox\nV:1.36.1-r5\nA:x86_64\n";
        let c = parse("lib/apk/db/installed", apk, None).unwrap();
        assert_eq!(
            c.iter().map(|x| x.purl.as_str()).collect::<Vec<_>>(),
            ["pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64", "pkg:apk/alpine/busybox@1.36.1-r5?arch=x86_64"]
        );
        let py = b"Metadata-Version: 2.1\nName: Flask_Login\nVersion: 0.6.3\n\nlong description";
        let c = parse("usr/lib/python3/dist-packages/Flask_Login-0.6.3.dist-info/METADATA", py, None).unwrap();
        assert_eq!(c[0].purl, "pkg:pypi/flask-login@0.6.3");
        let npm = br#"{"name": "@babel/core", "version": "7.24.0"}"#;
        let c = parse("app/node_modules/@babel/core/package.json", npm, None).unwrap();
        assert_eq!(c[0].purl, "pkg:npm/%40babel/core@7.24.0");
        assert!(wants("app/node_modules/@babel/core/package.json") && !wants("app/package.json"));
        let lock = b"version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.228\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"abc\"\n";
        let c = parse("src/app/Cargo.lock", lock, None).unwrap();
        assert_eq!(c.iter().map(|x| x.purl.as_str()).collect::<Vec<_>>(), ["pkg:cargo/serde@1.0.228"]);
    }
}
