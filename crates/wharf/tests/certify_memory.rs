//! `wharf certify` is bounded on every bad input: the real binary certifies an image
//! made of each hostile layer, and its peak resident memory (GNU time's maximum
//! RSS) stays under 256 MiB, its report under 1 MiB, and each run under a minute.
//! The inputs are the layer reader's bad inputs at their worst: bombs, a gibibyte
//! long name and PAX header (9 MB of gzip once took 2 GB), hundreds of thousands of
//! hostile entries (a 4 MB layer once gave a 235 MB report and 600 MB of memory),
//! names up to the view's budget, a terabyte of sparse holes, the ambiguous layers.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use common::wharf;
use serde_json::{Value, json};
use wharf_oci::{Algorithm, Digest};

const MAX_RSS_KIB: u64 = 256 * 1024;

fn put(dir: &Path, bytes: &[u8]) -> (String, u64) {
    let d = Digest::of(Algorithm::Sha256, bytes);
    let path = dir.join("blobs/sha256").join(d.hex());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    (d.to_string(), bytes.len() as u64)
}

/// An OCI layout of one image whose only layer is `layer`.
fn layout(dir: &Path, layer: &[u8]) {
    let config = json!({"architecture": "amd64", "os": "linux", "config": {"User": "1000"}, "rootfs": {"type": "layers", "diff_ids": []}});
    let (cd, cs) = put(dir, config.to_string().as_bytes());
    let (ld, ls) = put(dir, layer);
    let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld, "size": ls}]});
    let (md, ms) = put(dir, manifest.to_string().as_bytes());
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms}]});
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
}

/// The certifier's hand-made tar builder, shared with its own tests.
#[allow(dead_code, reason = "this test uses part of it")]
#[path = "../../wharf-certify/tests/common/rawtar.rs"]
mod rawtar;

/// A USTAR header block of `mode`, checksum set.
fn header(name: &[u8], kind: u8, size: u64, mode: u32) -> Vec<u8> {
    rawtar::with_mode(rawtar::header(rawtar::Magic::Ustar, name, kind, b"", size), mode).to_vec()
}

fn entry(name: &[u8], kind: u8, data: &[u8], mode: u32) -> Vec<u8> {
    [header(name, kind, data.len() as u64, mode), rawtar::padded(data)].concat()
}

fn pax(records: &[(&[u8], &[u8])]) -> Vec<u8> {
    rawtar::pax(b'x', records)
}

/// gzip of whatever `write` writes, streamed (nothing held whole).
fn gzip(level: u32, write: impl FnOnce(&mut dyn Write)) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    write(&mut e);
    e.write_all(&[0u8; 1024]).unwrap();
    e.finish().unwrap()
}

/// A meta header declaring 1 GiB of data that is really there: one gzip member of
/// 1 MiB of `fill`, repeated 1,024 times (gzip readers read every member), so the
/// layer is about a megabyte.
fn gibibyte_meta(kind: u8, fill: u8) -> Vec<u8> {
    let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    out.write_all(&header(b"././@LongLink", kind, 1 << 30, 0o644)).unwrap();
    let mut layer = out.finish().unwrap();
    let member = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![fill; 1 << 20]).unwrap();
        e.finish().unwrap()
    };
    for _ in 0..1024 {
        layer.extend_from_slice(&member);
    }
    layer.extend(gzip(1, |w| w.write_all(&entry(b"f", b'0', b"", 0o644)).unwrap()));
    layer
}

fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    let zeros = vec![0u8; 1 << 20];
    vec![
        (
            "gzip bomb: 1 GiB of zeros",
            gzip(9, |w| {
                w.write_all(&header(b"zeros", b'0', 1 << 30, 0o644)).unwrap();
                for _ in 0..1024 {
                    w.write_all(&zeros).unwrap();
                }
            }),
        ),
        ("GNU long name of 1 GiB", gibibyte_meta(b'L', b'a')),
        ("PAX header of 1 GiB", gibibyte_meta(b'x', b'a')),
        (
            "a million empty files",
            gzip(1, |w| {
                for i in 0..1_000_000u32 {
                    w.write_all(&header(format!("f/{i:07}").as_bytes(), b'0', 0, 0o644)).unwrap();
                }
            }),
        ),
        (
            "200,000 entries climbing out with 3 KB names",
            gzip(6, |w| {
                let climb = "../".repeat(1000);
                for i in 0..200_000u32 {
                    w.write_all(&pax(&[(b"path", format!("{climb}{i}").as_bytes())])).unwrap();
                    w.write_all(&header(b"x", b'0', 0, 0o644)).unwrap();
                }
            }),
        ),
        (
            "200,000 setuid world-writable files",
            gzip(6, |w| {
                for i in 0..200_000u32 {
                    w.write_all(&header(format!("usr/bin/s{i}").as_bytes(), b'0', 0, 0o4777)).unwrap();
                }
            }),
        ),
        (
            "unique 4 KB names past the names budget",
            gzip(6, |w| {
                let mut rng = fastrand::Rng::with_seed(7);
                for _ in 0..20_000u32 {
                    let name: String =
                        (0..4000).map(|i| if i % 100 == 99 { '/' } else { rng.alphanumeric() }).collect();
                    w.write_all(&pax(&[(b"path", name.as_bytes())])).unwrap();
                    w.write_all(&header(b"x", b'0', 0, 0o644)).unwrap();
                }
            }),
        ),
        (
            "a path 10,000 directories deep",
            gzip(6, |w| {
                w.write_all(&pax(&[(b"path", "d/".repeat(10_000).as_bytes())])).unwrap();
                w.write_all(&header(b"x", b'0', 0, 0o644)).unwrap();
            }),
        ),
        (
            "a 64 KiB symlink target",
            gzip(6, |w| {
                w.write_all(&pax(&[(b"linkpath", "t/".repeat(32 << 10).as_bytes())])).unwrap();
                w.write_all(&header(b"link", b'2', 0, 0o777)).unwrap();
            }),
        ),
        (
            "a sparse file of 1 TiB of holes",
            gzip(6, |w| {
                w.write_all(&pax(&[
                    (b"GNU.sparse.map", b"0,4"),
                    (b"GNU.sparse.numblocks", b"1"),
                    (b"GNU.sparse.size", b"1099511627776"),
                ]))
                .unwrap();
                w.write_all(&entry(b"sparse", b'0', b"data", 0o644)).unwrap();
            }),
        ),
        ("a zstd window of 2^30", {
            let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
            enc.window_log(30).unwrap();
            enc.long_distance_matching(true).unwrap();
            enc.write_all(&entry(b"f", b'0', b"data", 0o644)).unwrap();
            enc.write_all(&[0u8; 1024]).unwrap();
            enc.finish().unwrap()
        }),
        (
            "a directory hiding a setuid file",
            gzip(6, |w| {
                let hidden = entry(b"usr/bin/su", b'0', b"#!/bin/sh", 0o4755);
                w.write_all(&header(b"innocent/", b'5', hidden.len() as u64, 0o755)).unwrap();
                w.write_all(&hidden).unwrap();
            }),
        ),
        (
            "a PAX header repeating path",
            gzip(6, |w| {
                w.write_all(&pax(&[(b"path", b"safe"), (b"path", b"../../../../tmp/x")])).unwrap();
                w.write_all(&entry(b"x", b'0', b"evil", 0o644)).unwrap();
            }),
        ),
    ]
}

#[test]
fn certify_stays_bounded_on_every_bad_input() {
    let time = Path::new("/usr/bin/time");
    assert!(time.exists(), "GNU time is needed to read the peak RSS (Debian's package time; .ci/run installs it)");
    let mut table = Vec::new();
    let mut failures = Vec::new();
    for (name, layer) in inputs() {
        let dir = tempfile::tempdir().unwrap();
        layout(dir.path(), &layer);
        let rss_file = dir.path().join("rss");
        let started = Instant::now();
        let out = {
            let cmd = wharf(&["certify", dir.path().to_str().unwrap(), "--output", "json"], &[]);
            // GNU time runs the binary and writes its maximum RSS (KiB) to a file.
            let program = cmd.get_program().to_owned();
            let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
            let mut timed = std::process::Command::new(time);
            timed.arg("-f").arg("%M").arg("-o").arg(&rss_file).arg(program).args(args);
            for (k, v) in cmd.get_envs() {
                match v {
                    Some(v) => timed.env(k, v),
                    None => timed.env_remove(k),
                };
            }
            timed.output().unwrap()
        };
        let took = started.elapsed();
        let rss: u64 = std::fs::read_to_string(&rss_file).unwrap().trim().lines().last().unwrap().parse().unwrap();
        let report: Value = match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(e) => panic!("{name}: no JSON report ({e}); stderr: {}", String::from_utf8_lossy(&out.stderr)),
        };
        let findings = report["platforms"][0]["findings"].as_array().map(Vec::len).unwrap_or(0);
        let checks: std::collections::BTreeSet<&str> = report["platforms"][0]["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["check"].as_str())
            .collect();
        table.push(format!(
            "{name:<48} {:>6} KiB layer {:>7} KiB RSS {:>5} KiB report {findings:>4} findings {:>5} ms  {checks:?}",
            layer.len() / 1024,
            rss,
            out.stdout.len() / 1024,
            took.as_millis()
        ));
        if out.status.code() != Some(1) || report["verdict"] != "fail" {
            failures.push(format!("{name}: exit {:?}, verdict {}", out.status.code(), report["verdict"]));
        }
        if rss > MAX_RSS_KIB || out.stdout.len() > 1 << 20 || took > Duration::from_secs(60) {
            failures.push(format!("{name}: {rss} KiB RSS, {} bytes of report, {took:?}", out.stdout.len()));
        }
    }
    eprintln!("{}", table.join("\n"));
    assert!(failures.is_empty(), "{}\n{}", failures.join("\n"), table.join("\n"));
}
