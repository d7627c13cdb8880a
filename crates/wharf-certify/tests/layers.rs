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
    o.findings.iter().map(|f| f.check.id()).collect()
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

#[test]
fn findings_about_entries_are_capped_per_check_and_layer() {
    let many: Vec<Vec<u8>> = (0..1000).map(|i| entry(format!("../up{i}").as_bytes(), b'0', b"", b"")).collect();
    let few: Vec<Vec<u8>> = (0..5).map(|i| entry(format!("/abs{i}").as_bytes(), b'0', b"", b"")).collect();
    let o = read(&[end(many.concat()), end([few.concat(), many[..150].concat()].concat())]);
    let count = |check: &str, layer: &str| {
        o.findings.iter().filter(|f| f.check.id() == check && f.evidence.layer.as_deref() == Some(layer)).count()
    };
    // 100 samples and one summary per check and layer; other checks and layers apart.
    assert_eq!(count("layer.path-traversal", "sha256:layer0"), 101);
    assert_eq!(count("layer.path-traversal", "sha256:layer1"), 101);
    assert_eq!(count("layer.path-absolute", "sha256:layer1"), 5);
    let summary = o.findings.iter().find(|f| f.evidence.path.is_none()).unwrap();
    assert_eq!(summary.check.id(), "layer.path-traversal");
    assert_eq!(summary.evidence.layer.as_deref(), Some("sha256:layer0"));
    assert_eq!(
        summary.message,
        "900 more layer.path-traversal findings in this layer are not listed; the first 100 above are samples"
    );
    assert_eq!(summary.evidence.detail.as_deref(), Some("1000 layer.path-traversal findings in this layer"));
    let o = read_with(&[end(many.concat())], Limits { max_findings_per_check: 3, ..Limits::default() });
    assert_eq!(o.findings.len(), 4);
}

#[test]
fn the_paths_of_an_image_are_bounded_together() {
    let names: Vec<Vec<u8>> =
        (0..200).map(|i| entry(format!("{i:03}-{}", "n".repeat(90)).as_bytes(), b'0', b"", b"")).collect();
    let o = read_with(&[end(names.concat())], Limits { max_names_bytes: 10_000, ..Limits::default() });
    assert_eq!(checks(&o), ["layer.bomb-names"]);
    assert!(!o.complete);
    assert!(o.view.len() <= 108, "{}", o.view.len());
    assert_eq!(read(&[end(names.concat())]).view.len(), 200);
}

#[test]
fn a_zstd_stream_starting_with_a_skippable_frame_is_zstd() {
    let tar = end(entry(b"etc/hostname", b'0', b"", b"box\n"));
    let mut layer = vec![0x5e, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, b'm', b'e', b't', b'a'];
    layer.extend(zstd::encode_all(&tar[..], 3).unwrap());
    let o = read(&[layer]);
    assert!(o.findings.is_empty(), "{:?}", o.findings);
    assert_eq!(o.files, [("etc/hostname".to_owned(), b"box\n".to_vec())]);
}

#[test]
fn layers_readers_disagree_on_are_ambiguous_and_read_as_the_runtime_reads_them() {
    use common::rawtar::{Magic, entry_declaring, header, padded, with_mode};
    // A directory whose size field hides a setuid shell from readers that honour it.
    let mut su = with_mode(header(Magic::Ustar, b"usr/bin/su", b'0', b"", 9), 0o4755).to_vec();
    su.extend(padded(b"#!/bin/sh"));
    let layer = end([
        entry_declaring(b"innocent/", b'5', b"", su.len() as u64, &su),
        pax(b'x', &[(b"path", b"safe"), (b"path", b"../../../../tmp/x")]),
        entry(b"placeholder", b'0', b"", b"evil"),
    ]
    .concat());
    let o = read(&[layer]);
    assert_eq!(checks(&o), ["layer.ambiguous", "layer.ambiguous", "layer.path-traversal"]);
    let f = &o.findings[0];
    assert_eq!(f.evidence.path.as_deref(), Some("innocent/"));
    assert_eq!(
        f.evidence.detail.as_deref(),
        Some(
            "at offset 0: the runtime's reader (Go archive/tar: containerd, Docker, CRI-O, Podman) reads no data: the next header is at offset 512; another reader may read 1024 bytes of data skipped: the next header is at offset 1536"
        )
    );
    assert_eq!(o.findings[1].evidence.path.as_deref(), Some("../../../../tmp/x"));
    // The view is the runtime's: the hidden setuid file is in it.
    assert_eq!(o.view.get("usr/bin/su").map(|p| &p.node), Some(&Node::File { size: 9, mode: 0o4755 }));
}

#[test]
fn sparse_files_count_their_holes_against_the_size_limit() {
    // A few hundred bytes declaring a file of 1 TiB of holes: stopped at once, not read.
    let layer = end([
        pax(
            b'x',
            &[(b"GNU.sparse.map", b"0,4"), (b"GNU.sparse.numblocks", b"1"), (b"GNU.sparse.size", b"1099511627776")],
        ),
        entry(b"sparse", b'0', b"", b"data"),
    ]
    .concat());
    let started = std::time::Instant::now();
    let o = read(&[layer]);
    assert_eq!(checks(&o), ["layer.ambiguous", "layer.bomb-size"]);
    assert_eq!(o.findings[1].evidence.detail.as_deref(), Some("a sparse file of 1099511627776 bytes after 1 entries"));
    assert!(started.elapsed().as_secs() < 5);
    // Under the limit, a sparse file reads with its holes as zeros.
    let layer = end([
        pax(b'x', &[(b"GNU.sparse.map", b"2,2"), (b"GNU.sparse.numblocks", b"1"), (b"GNU.sparse.size", b"6")]),
        entry(b"small", b'0', b"", b"ab"),
    ]
    .concat());
    let o = read(&[layer]);
    // Readers without PAX sparse support read another file: ambiguous, and read as
    // the runtime reads it.
    assert_eq!(checks(&o), ["layer.ambiguous"]);
    assert_eq!(o.files, [("small".to_owned(), b"\0\0ab\0\0".to_vec())]);
    assert_eq!(o.view.get("small").map(|p| &p.node), Some(&Node::File { size: 6, mode: 0o644 }));
}
