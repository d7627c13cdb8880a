//! Safe layer reading: each bad input of the certification issue becomes a finding
//! with evidence and a clean return (no panic, no hang, nothing written anywhere:
//! the reader has no file system access at all, only an in-memory view).

mod common;

use std::io::Write;

use common::rawtar::{entry, pax};
use wharf_certify::finding::Findings;
use wharf_certify::layer::{Budget, read_layer};
use wharf_certify::view::{Node, View};
use wharf_certify::{Finding, Limits};

/// A PAX header giving the next entry a long (or odd) path.
fn pax_path(path: &[u8]) -> Vec<u8> {
    pax(b'x', &[(b"path", path)])
}

fn end(mut tar: Vec<u8>) -> Vec<u8> {
    tar.extend_from_slice(&[0u8; 1024]);
    tar
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

struct Outcome {
    findings: Vec<Finding>,
    view: View,
    complete: bool,
    files: Vec<(String, Vec<u8>)>,
}

fn read_with(layers: &[Vec<u8>], limits: Limits) -> Outcome {
    let mut view = View::new();
    let mut findings = Findings::new(limits.max_findings_per_check);
    let mut budget = Budget::default();
    let mut files = Vec::new();
    let mut complete = true;
    for (i, layer) in layers.iter().enumerate() {
        let digest = format!("sha256:layer{i}");
        let stats = read_layer(&digest, &layer[..], &limits, &mut budget, &mut view, &mut findings, &mut |p, r| {
            let mut content = Vec::new();
            r.read_to_end(&mut content)?;
            files.push((p.to_owned(), content));
            Ok(())
        });
        complete &= stats.complete;
    }
    Outcome { findings: findings.into_vec(), view, complete, files }
}

fn read(layers: &[Vec<u8>]) -> Outcome {
    read_with(layers, Limits::default())
}

fn checks(o: &Outcome) -> Vec<&'static str> {
    o.findings.iter().map(|f| f.check).collect()
}

#[test]
fn a_clean_image_builds_its_view_with_whiteouts_and_streams_file_contents() {
    let base = end([
        entry(b"etc/", b'5', b"", b""),
        entry(b"etc/os-release", b'0', b"", b"ID=debian\n"),
        entry(b"opt/old", b'0', b"", b"x"),
    ]
    .concat());
    let top = end([entry(b"opt/.wh.old", b'0', b"", b""), entry(b"usr/bin/app", b'0', b"", b"#!/bin/sh\n")].concat());
    for layers in [vec![base.clone(), top.clone()], vec![gzip(&base), zstd::encode_all(&top[..], 3).unwrap()]] {
        let o = read(&layers);
        assert!(o.findings.is_empty(), "{:?}", o.findings);
        assert!(o.complete);
        let paths: Vec<&str> = o.view.iter().map(|(p, _)| p).collect();
        assert_eq!(paths, ["etc", "etc/os-release", "usr/bin/app"]);
        // Deleted files still ship in the image: the scanner hook saw them.
        assert_eq!(
            o.files.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
            ["etc/os-release", "opt/old", "usr/bin/app"]
        );
        assert_eq!(o.files[0].1, b"ID=debian\n");
    }
}

#[test]
fn escaping_paths_and_links_are_findings() {
    let layer = end([
        entry(b"../../etc/cron.d/x", b'0', b"", b"evil"),
        entry(b"/etc/passwd", b'0', b"", b"root::0:0::/:/bin/sh"),
        entry(b"root", b'2', b"/", b""),
        entry(b"root/etc/shadow", b'0', b"", b"through the link"),
        entry(b"h", b'1', b"../../../etc/shadow", b""),
        entry(b"dev/sda", b'3', b"", b""),
        entry(b"dup", b'0', b"", b"1"),
        entry(b"dup", b'0', b"", b"2"),
    ]
    .concat());
    let o = read(&[layer]);
    assert_eq!(
        checks(&o),
        [
            "layer.path-traversal",
            "layer.path-absolute",
            "layer.through-symlink",
            "layer.hardlink-outside",
            "layer.device",
            "layer.duplicate-entry"
        ]
    );
    assert_eq!(o.findings[0].evidence.path.as_deref(), Some("../../etc/cron.d/x"));
    assert_eq!(o.findings[0].evidence.layer.as_deref(), Some("sha256:layer0"));
    assert_eq!(o.findings[3].evidence.detail.as_deref(), Some("links to ../../../etc/shadow"));
    assert!(o.complete, "bad entries are skipped, the layer is still read");
    assert!(o.view.get("etc/passwd").is_none() && o.view.get("root/etc/shadow").is_none());
    assert_eq!(o.view.get("dup").map(|p| &p.node), Some(&Node::File { size: 1, mode: 0o644 }));
}

#[test]
fn odd_names_are_findings_with_escaped_evidence() {
    let deep = b"a/".repeat(200);
    let very_deep = b"d/".repeat(10_000);
    let layer = end([
        entry(b"caf\xe9", b'0', b"", b""),
        pax_path(&deep),
        entry(b"placeholder2", b'0', b"", b""),
        pax_path(&very_deep),
        entry(b"placeholder3", b'0', b"", b""),
        entry(b"long-link", b'2', &b"x".repeat(100), b""),
        pax(b'x', &[(b"linkpath", &b"t/".repeat(32 << 10))]),
        entry(b"huge-link", b'2', b"", b""),
    ]
    .concat());
    let o = read(&[layer]);
    assert_eq!(checks(&o), ["layer.path-encoding", "layer.path-depth", "layer.path-length", "layer.path-length"]);
    assert_eq!(o.findings[0].evidence.path.as_deref(), Some("caf\\xe9"));
    assert!(o.findings[2].message.contains("is 20000 bytes long (limit 4096)"), "{}", o.findings[2].message);
    // A 64 KiB symlink target is refused like a long path.
    assert!(o.findings[3].message.starts_with("a symlink's target is 65536 bytes long"), "{}", o.findings[3].message);
    assert_eq!(o.findings[3].evidence.path.as_deref(), Some("huge-link"));
    let paths: Vec<&str> = o.view.iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["long-link"]);
    // A NUL inside a PAX path is an invalid header to the runtime's reader too.
    let o = read(&[end([pax_path(b"nul\0inside"), entry(b"placeholder1", b'0', b"", b"")].concat())]);
    assert_eq!(checks(&o), ["layer.corrupt"]);
    assert!(
        o.findings[0].message.contains("runtimes refuse it too: invalid tar header at offset 0"),
        "{}",
        o.findings[0].message
    );
}

#[test]
fn a_gzip_bomb_stops_at_the_ratio_limit() {
    // 256 MiB of zeros in one file: about 256 KiB of gzip.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let size = 256u64 << 20;
    let mut header = entry(b"zeros", b'0', b"", b"");
    header[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header[..512].iter().map(|&b| u32::from(b)).sum();
    header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    e.write_all(&header[..512]).unwrap();
    let block = vec![0u8; 1 << 20];
    for _ in 0..256 {
        e.write_all(&block).unwrap();
    }
    e.write_all(&[0u8; 1024]).unwrap();
    let bomb = e.finish().unwrap();
    assert!(bomb.len() < 2 << 20, "{}", bomb.len());
    let o = read(std::slice::from_ref(&bomb));
    assert_eq!(checks(&o), ["layer.bomb-ratio"]);
    assert!(!o.complete);
    // With the ratio allowed, the total size limit stops it instead.
    let o = read_with(&[bomb], Limits { max_ratio: u64::MAX, max_total_bytes: 64 << 20, ..Limits::default() });
    assert_eq!(checks(&o), ["layer.bomb-size"]);
}

#[test]
fn a_zstd_frame_asking_for_a_huge_window_is_refused() {
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    enc.window_log(30).unwrap();
    enc.long_distance_matching(true).unwrap();
    enc.write_all(&end(entry(b"f", b'0', b"", b"data"))).unwrap();
    let layer = enc.finish().unwrap();
    let o = read(&[layer]);
    assert_eq!(checks(&o), ["layer.bomb-zstd-window"], "{:?}", o.findings);
}

#[test]
fn a_million_empty_files_stop_at_the_entry_limit() {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for i in 0..1_000_000u32 {
        e.write_all(&entry(format!("f/{i:07}").as_bytes(), b'0', b"", b"")).unwrap();
    }
    e.write_all(&[0u8; 1024]).unwrap();
    let o = read(&[e.finish().unwrap()]);
    assert_eq!(checks(&o), ["layer.bomb-entries"]);
    assert_eq!(o.view.len(), 500_000);
}

#[test]
fn a_truncated_layer_is_a_finding() {
    let whole = gzip(&end([entry(b"a", b'0', b"", &[7u8; 5000]), entry(b"b", b'0', b"", b"x")].concat()));
    let o = read(&[whole[..whole.len() / 2].to_vec()]);
    assert_eq!(checks(&o), ["layer.corrupt"]);
    assert!(!o.complete);
    let o = read(&[b"not a tar at all, just some text that is long enough to fill a header....".repeat(10)]);
    assert_eq!(checks(&o), ["layer.corrupt"]);
}
