//! The certifier reads layers as the runtime does. Go's `archive/tar` (what
//! containerd, Docker, CRI-O and Podman unpack with) lists each archive through
//! `tests/gotar/main.go`, built here with the machine's Go; wharf-certify's reader
//! must list exactly the same entries (names, types, sizes, modes, owners, xattrs,
//! the data's SHA-256) and end the same way (cleanly or with an error). Archives
//! that readers disagree on must in addition be reported ambiguous.
//!
//! Corpora: crafted archives (each construct readers disagree on, and the attacks
//! that once passed certification), Go's own `archive/tar` test archives, the
//! layer fuzz target's corpus (`fuzz/corpus/layer`), and archives generated from a
//! seed (`WHARF_DIFF_SEED`, `WHARF_DIFF_CASES` to run more).

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::rawtar::{Magic, archive, checksum, end, entry, entry_declaring, gnu_long, header, padded, pax, with_mode};
use wharf_certify::tarball::{self, Listing, TarError};

/// The Go lister, built once per test process.
fn gotar() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| manifest.join("../../target"));
        let dir = target.join("gotar");
        std::fs::create_dir_all(&dir).unwrap();
        // Each test process builds (Go's cache makes it quick) and renames into place.
        let bin = dir.join("gotar");
        let tmp = dir.join(format!("gotar-{}", std::process::id()));
        let out = Command::new("go")
            .args(["build", "-o"])
            .arg(&tmp)
            .arg(manifest.join("tests/gotar/main.go"))
            .env("GO111MODULE", "off")
            .env("GOCACHE", dir.join("cache"))
            .env("GOFLAGS", "")
            .output()
            .expect("Go is needed for the differential test (Debian's golang-go; .ci/run installs it)");
        assert!(out.status.success(), "go build failed: {}", String::from_utf8_lossy(&out.stderr));
        std::fs::rename(&tmp, &bin).unwrap();
        bin
    })
}

/// Go's listing of each file: its lines, `END …` last.
fn go_list(files: &[PathBuf]) -> BTreeMap<PathBuf, Vec<String>> {
    let mut out = BTreeMap::new();
    for chunk in files.chunks(500) {
        let run = Command::new(gotar()).args(chunk).output().unwrap();
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let text = String::from_utf8(run.stdout).unwrap();
        let mut current: Option<PathBuf> = None;
        for line in text.lines() {
            if let Some(p) = line.strip_prefix("FILE ") {
                current = Some(PathBuf::from(p));
                out.insert(PathBuf::from(p), Vec::new());
            } else {
                out.get_mut(current.as_ref().unwrap()).unwrap().push(line.to_owned());
            }
        }
    }
    out
}

/// wharf-certify's listing (gzip decompressed first, as the layer reader does).
fn rust_list(bytes: &[u8]) -> Listing {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        tarball::list(flate2::read::MultiGzDecoder::new(bytes))
    } else {
        tarball::list(bytes)
    }
}

/// Every entry, its data drained rather than read.
fn drain_all(bytes: &[u8]) -> Result<(), TarError> {
    let run = |r: &mut dyn Read| {
        let mut reader = tarball::Reader::new(r);
        while reader.next_entry()?.is_some() {
            reader.drain()?;
        }
        Ok(())
    };
    if bytes.starts_with(&[0x1f, 0x8b]) {
        run(&mut flate2::read::MultiGzDecoder::new(bytes))
    } else {
        run(&mut &bytes[..])
    }
}

fn lines(l: &Listing) -> Vec<String> {
    let mut out: Vec<String> = l.entries.iter().map(|e| e.line()).collect();
    out.push(match &l.end {
        Ok(()) => "END ok".to_owned(),
        Err(e) => format!("END error {e}"),
    });
    out
}

/// Whether both listings agree: same entries, both clean or both failed. Our reader
/// is stricter in one place only: GNU sparse maps over 1 MiB are refused.
fn agree(go: &[String], ours: &Listing) -> Result<(), String> {
    let mine = lines(ours);
    let (go_entries, go_end) = go.split_at(go.len() - 1);
    let (my_entries, _) = mine.split_at(mine.len() - 1);
    let go_ok = go_end[0] == "END ok";
    let my_ok = ours.end.is_ok();
    let capped = matches!(&ours.end, Err(TarError::TooLong { what, .. }) if what.contains("sparse map"));
    if capped && go_entries.starts_with(my_entries) {
        return Ok(());
    }
    // Go merges a global header's records in its maps' random order and stops at an
    // invalid one, so such a header's own name and xattrs vary from run to run. No
    // runtime unpacks a global header, and one that sets these keys is ambiguous.
    let global_ambiguous = ours.ambiguities().any(|a| a.what.starts_with("a PAX global header"));
    let mask = |l: &String| {
        if global_ambiguous && l.starts_with("E 103 ") { "E 103 (a global header)".to_owned() } else { l.clone() }
    };
    let go_entries: Vec<String> = go_entries.iter().map(mask).collect();
    let my_entries: Vec<String> = my_entries.iter().map(mask).collect();
    // When both fail, the layer is corrupt to both; where exactly a damaged gzip
    // stream fails can differ by an entry (Go's decompressor returns its last bytes
    // with the error, flate2 returns the error on the next read), so the entries
    // read before the failure must agree as far as both got.
    if !go_ok && !my_ok && (go_entries.starts_with(&my_entries) || my_entries.starts_with(&go_entries)) {
        return Ok(());
    }
    if go_entries != my_entries || go_ok != my_ok {
        return Err(format!("Go:\n  {}\nwharf:\n  {}", go.join("\n  "), mine.join("\n  ")));
    }
    Ok(())
}

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Compares every file; returns how many were ambiguous by our reading.
fn check_all(files: &[PathBuf]) -> usize {
    let go = go_list(files);
    let mut failures = Vec::new();
    let mut ambiguous = 0;
    for f in files {
        let bytes = std::fs::read(f).unwrap();
        let ours = rust_list(&bytes);
        if ours.ambiguities().next().is_some() {
            ambiguous += 1;
        }
        if let Err(why) = agree(&go[f], &ours) {
            failures.push(format!("{}:\n{why}", f.display()));
        }
        // Skipping entries' data (holes unread) ends the same way as reading it all.
        let drained = drain_all(&bytes);
        if drained.as_ref().err() != ours.end.as_ref().err() {
            failures.push(format!("{}: drained {drained:?}, read {:?}", f.display(), ours.end));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} archives read differently:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
    ambiguous
}

/// What a crafted archive must give.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Read without error or ambiguity.
    Clean,
    /// Ambiguous, the evidence's construct containing this text.
    Ambiguous(&'static str),
    /// Refused by both readers.
    Corrupt,
}

fn pax_size_on(kind: u8, size: &[u8]) -> Vec<u8> {
    archive(&[pax(b'x', &[(b"size", size)]), entry(b"thing", kind, b"target", b""), entry(b"after", b'0', b"", b"x")])
}

/// A directory whose size field makes other readers skip a header that Go reads:
/// `hidden` is what Go unpacks, invisible to the `tar` crate.
fn hidden_behind(kind: u8, hidden: Vec<u8>) -> Vec<u8> {
    archive(&[
        entry_declaring(b"innocent/", kind, b"", hidden.len() as u64, &hidden),
        entry(b"readme", b'0', b"", b"hi\n"),
    ])
}

fn crafted() -> Vec<(&'static str, Vec<u8>, Expect)> {
    use Expect::*;
    let setuid = with_mode(header(Magic::Ustar, b"usr/bin/helper", b'0', b"", 8), 0o4755);
    let mut setuid_entry = setuid.to_vec();
    setuid_entry.extend(padded(b"#!/bin/sh"));
    let mut gnu_prefix = header(Magic::Gnu, b"passwd", b'0', b"", 4);
    gnu_prefix[345..348].copy_from_slice(b"etc");
    checksum(&mut gnu_prefix);
    // A GNU header with real times: no prefix, whatever follows them.
    let mut gnu_times = header(Magic::Gnu, b"passwd", b'0', b"", 4);
    gnu_times[345..357].copy_from_slice(b"00000000001\0");
    gnu_times[369..372].copy_from_slice(b"etc");
    checksum(&mut gnu_times);
    let mut gnu_times_entry = gnu_times.to_vec();
    gnu_times_entry.extend(padded(b"x::0"));
    let mut signed = header(Magic::Ustar, b"caf\xe9\xff", b'0', b"", 0);
    {
        signed[148..156].copy_from_slice(b"        ");
        let sum: i64 = signed.iter().map(|&b| i64::from(b as i8)).sum();
        signed[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    }
    let mut base256 = header(Magic::Gnu, b"big-uid", b'0', b"", 0);
    base256[108..116].copy_from_slice(&[0x80, 0, 0, 0, 0, 0x12, 0x34, 0x56]);
    checksum(&mut base256);
    let mut negative = header(Magic::Gnu, b"negative", b'0', b"", 0);
    negative[124..136].copy_from_slice(&[0xff; 12]);
    checksum(&mut negative);
    let mut bad_sum = header(Magic::Ustar, b"file", b'0', b"", 0);
    bad_sum[0] = b'g';
    let mut v7 = header(Magic::V7, b"old/file", 0, b"", 3).to_vec();
    v7.extend(padded(b"abc"));
    let long = b"d/".repeat(2000);
    vec![
        // What the tar crate and Go agree on.
        ("plain", archive(&[entry(b"etc/", b'5', b"", b""), entry(b"etc/os-release", b'0', b"", b"ID=x\n")]), Clean),
        ("pax-path", archive(&[pax(b'x', &[(b"path", &long)]), entry(b"short", b'0', b"", b"x")]), Clean),
        (
            "gnu-long-name-and-link",
            archive(&[gnu_long(b'L', &long), gnu_long(b'K', b"target/x"), entry(b"short", b'1', b"t", b"")]),
            Clean,
        ),
        ("v7-file", archive(&[v7]), Clean),
        ("signed-checksum", archive(&[signed.to_vec()]), Clean),
        ("base-256-uid", archive(&[base256.to_vec()]), Clean),
        (
            "pax-xattrs",
            archive(&[
                pax(b'x', &[(b"SCHILY.xattr.security.capability", b"\x01\x00\x00\x02"), (b"mtime", b"1.5")]),
                entry(b"bin/ping", b'0', b"", b""),
            ]),
            Clean,
        ),
        (
            "git-archive-comment",
            archive(&[pax(b'g', &[(b"comment", b"3f2a0c")]), entry(b"README", b'0', b"", b"x")]),
            Clean,
        ),
        ("one-zero-block", [entry(b"f", b'0', b"", b"x"), vec![0; 512]].concat(), Clean),
        ("no-end-marker", entry(b"f", b'0', b"", b"x"), Clean),
        ("truncated-padding", entry(b"f", b'0', b"", b"x")[..600].to_vec(), Clean),
        (
            "data-after-end",
            [archive(&[entry(b"f", b'0', b"", b"x")]), entry(b"hidden", b'0', b"", b"y")].concat(),
            Clean,
        ),
        (
            "pax-plus-size",
            archive(&[pax(b'x', &[(b"size", b"+3")]), entry_declaring(b"f", b'0', b"", 0, b"abc")]),
            Clean,
        ),
        // The four layers that once passed certification.
        (
            "repeated-pax-path",
            archive(&[
                pax(b'x', &[(b"path", b"safe/file"), (b"path", b"../../../../tmp/pwned")]),
                entry(b"x", b'0', b"", b"evil"),
            ]),
            Ambiguous("gives `path` more than once"),
        ),
        ("setuid-hidden-in-directory", hidden_behind(b'5', setuid_entry), Ambiguous("directory header declares")),
        (
            "passwd-hidden-in-symlink",
            hidden_behind(b'2', entry(b"etc/passwd", b'0', b"", b"root::0:0:root:/root:/bin/sh\n")),
            Ambiguous("symlink header declares"),
        ),
        (
            "repeated-pax-size",
            archive(&[
                pax(b'x', &[(b"size", b"0"), (b"size", b"1024")]),
                entry_declaring(
                    b"f",
                    b'0',
                    b"",
                    0,
                    &[entry(b"etc/shadow", b'0', b"", b"root::1:").as_slice(), &[0; 512][..]].concat(),
                ),
            ]),
            Ambiguous("gives `size` more than once"),
        ),
        // Every other construct readers disagree on.
        (
            "repeated-pax-linkpath",
            archive(&[pax(b'x', &[(b"linkpath", b"ok"), (b"linkpath", b"/etc/shadow")]), entry(b"l", b'2', b"", b"")]),
            Ambiguous("`linkpath` more than once"),
        ),
        (
            "hardlink-with-size",
            hidden_behind(b'1', entry(b"x", b'0', b"", b"y")),
            Ambiguous("hardlink header declares"),
        ),
        (
            "chardev-with-size",
            hidden_behind(b'3', entry(b"x", b'0', b"", b"y")),
            Ambiguous("character device header declares"),
        ),
        (
            "blockdev-with-size",
            hidden_behind(b'4', entry(b"x", b'0', b"", b"y")),
            Ambiguous("block device header declares"),
        ),
        ("fifo-with-size", hidden_behind(b'6', entry(b"x", b'0', b"", b"y")), Ambiguous("FIFO header declares")),
        ("pax-size-on-directory", pax_size_on(b'5', b"512"), Ambiguous("directory header declares 512")),
        (
            "two-pax-headers",
            archive(&[pax(b'x', &[(b"path", b"a")]), pax(b'x', &[(b"uid", b"0")]), entry(b"f", b'0', b"", b"")]),
            Ambiguous("two PAX extended headers"),
        ),
        (
            "two-long-names",
            archive(&[gnu_long(b'L', b"first"), gnu_long(b'L', b"second"), entry(b"f", b'0', b"", b"")]),
            Ambiguous("two GNU long name"),
        ),
        (
            "long-name-and-pax-path",
            archive(&[pax(b'x', &[(b"path", b"from-pax")]), gnu_long(b'L', b"from-gnu"), entry(b"f", b'0', b"", b"")]),
            Ambiguous("both a PAX record and a GNU header"),
        ),
        (
            "long-name-with-nul",
            archive(&[gnu_long(b'L', b"visible\0../../hidden"), entry(b"f", b'0', b"", b"")]),
            Ambiguous("bytes after a NUL"),
        ),
        (
            "global-pax-path",
            archive(&[pax(b'g', &[(b"path", b"../escape")]), entry(b"f", b'0', b"", b"x")]),
            Ambiguous("global header sets path"),
        ),
        (
            "global-pax-size",
            archive(&[pax(b'g', &[(b"size", b"0")]), entry(b"f", b'0', b"", b"x")]),
            Ambiguous("global header sets size"),
        ),
        (
            "pax-then-global",
            archive(&[
                pax(b'x', &[(b"path", b"renamed")]),
                pax(b'g', &[(b"comment", b"c")]),
                entry(b"f", b'0', b"", b""),
            ]),
            Ambiguous("followed by a PAX global header"),
        ),
        (
            "gnu-prefix-fallback",
            {
                let mut h = gnu_prefix;
                h[357..369].copy_from_slice(b"not-a-time!\0");
                checksum(&mut h);
                let mut e = h.to_vec();
                e.extend(padded(b"x::0"));
                archive(&[e])
            },
            Ambiguous("access and change time fields are not numbers"),
        ),
        ("gnu-numeric-times-no-prefix", archive(&[gnu_times_entry]), Clean),
        (
            "pax-in-a-v7-header",
            archive(&[
                {
                    let records = common::rawtar::record(b"path", b"../../escape");
                    let mut h = header(Magic::V7, b"pax", b'x', b"", records.len() as u64).to_vec();
                    h.extend(padded(&records));
                    h
                },
                entry(b"plain", b'0', b"", b"x"),
            ]),
            Ambiguous("PAX header without the USTAR or GNU magic"),
        ),
        (
            "long-name-in-a-v7-header",
            archive(&[
                {
                    let mut h = header(Magic::V7, b"././@LongLink", b'L', b"", 8).to_vec();
                    h.extend(padded(b"renamed\0"));
                    h
                },
                entry(b"plain", b'0', b"", b"x"),
            ]),
            Ambiguous("GNU long name or link header without the USTAR or GNU magic"),
        ),
        (
            "empty-long-link",
            archive(&[gnu_long(b'K', b""), entry(b"l", b'2', b"target", b"")]),
            Ambiguous("long link is empty"),
        ),
        (
            "long-name-padded-with-nuls",
            archive(&[
                {
                    let mut h = header(Magic::Gnu, b"././@LongLink", b'L', b"", 12).to_vec();
                    h.extend(padded(b"name\0\0\0\0\0\0\0\0"));
                    h
                },
                entry(b"f", b'0', b"", b""),
            ]),
            Ambiguous("bytes after a NUL"),
        ),
        (
            "empty-pax-path",
            archive(&[pax(b'x', &[(b"path", b"")]), entry(b"kept", b'0', b"", b"")]),
            Ambiguous("gives `path` an empty value"),
        ),
        ("old-style-directory", archive(&[entry(b"dir/", 0, b"", b"")]), Ambiguous("type NUL")),
        // What Go refuses; the certifier must too.
        ("zero-block-then-header", [vec![0; 512], entry(b"f", b'0', b"", b"x"), end()].concat(), Corrupt),
        ("bad-checksum", archive(&[bad_sum.to_vec()]), Corrupt),
        ("negative-size", archive(&[negative.to_vec()]), Corrupt),
        ("truncated-data", entry(b"f", b'0', b"", &[7; 2000])[..1000].to_vec(), Corrupt),
        ("truncated-header", entry(b"f", b'0', b"", b"x")[..300].to_vec(), Corrupt),
        ("pax-bad-uid", archive(&[pax(b'x', &[(b"uid", b"0x10")]), entry(b"f", b'0', b"", b"")]), Corrupt),
        ("pax-bad-mtime", archive(&[pax(b'x', &[(b"mtime", b".5")]), entry(b"f", b'0', b"", b"")]), Corrupt),
        ("pax-nul-in-path", archive(&[pax(b'x', &[(b"path", b"a\0b")]), entry(b"f", b'0', b"", b"")]), Corrupt),
        (
            "pax-record-length-lies",
            archive(&[entry(b"p", b'x', b"", b"99 path=a\n"), entry(b"f", b'0', b"", b"")]),
            Corrupt,
        ),
        (
            "long-name-over-1-mib",
            archive(&[gnu_long(b'L', &vec![b'a'; (1 << 20) + 1]), entry(b"f", b'0', b"", b"")]),
            Corrupt,
        ),
        (
            "pax-over-1-mib",
            archive(&[pax(b'x', &[(b"comment", &vec![b'c'; 1 << 20])]), entry(b"f", b'0', b"", b"")]),
            Corrupt,
        ),
        (
            "sparse-on-directory",
            archive(&[
                pax(b'x', &[(b"GNU.sparse.map", b"0,1"), (b"GNU.sparse.numblocks", b"1")]),
                entry(b"d/", b'5', b"", b""),
            ]),
            Corrupt,
        ),
        (
            "sparse-map-past-size",
            archive(&[
                pax(b'x', &[(b"GNU.sparse.map", b"0,10"), (b"GNU.sparse.numblocks", b"1"), (b"GNU.sparse.size", b"5")]),
                entry(b"s", b'0', b"", &[1; 10]),
            ]),
            Corrupt,
        ),
        (
            "sparse-missing-data",
            archive(&[
                pax(
                    b'x',
                    &[(b"GNU.sparse.map", b"0,10"), (b"GNU.sparse.numblocks", b"1"), (b"GNU.sparse.size", b"20")],
                ),
                entry(b"s", b'0', b"", &[1; 4]),
            ]),
            Corrupt,
        ),
        (
            "sparse-unreferenced-data",
            archive(&[
                pax(b'x', &[(b"GNU.sparse.map", b"0,2"), (b"GNU.sparse.numblocks", b"1"), (b"GNU.sparse.size", b"20")]),
                entry(b"s", b'0', b"", &[1; 4]),
            ]),
            Corrupt,
        ),
        (
            "sparse-0.1",
            archive(&[
                pax(
                    b'x',
                    &[
                        (b"GNU.sparse.map", b"2,3,10,2"),
                        (b"GNU.sparse.numblocks", b"2"),
                        (b"GNU.sparse.size", b"16"),
                        (b"GNU.sparse.name", b"real/name"),
                    ],
                ),
                entry(b"GNUSparseFile.0/name", b'0', b"", b"abcde"),
            ]),
            Ambiguous("sparse file in PAX format"),
        ),
        (
            "sparse-0.0",
            archive(&[
                pax(
                    b'x',
                    &[
                        (b"GNU.sparse.offset", b"4"),
                        (b"GNU.sparse.numbytes", b"2"),
                        (b"GNU.sparse.numblocks", b"1"),
                        (b"GNU.sparse.size", b"8"),
                    ],
                ),
                entry(b"s", b'0', b"", b"zz"),
            ]),
            Ambiguous("sparse file in PAX format"),
        ),
        (
            "sparse-1.0",
            {
                let map = padded(b"2\n0\n3\n8\n1\n");
                let data = [map, b"abcd".to_vec()].concat();
                archive(&[
                    pax(
                        b'x',
                        &[
                            (b"GNU.sparse.major", b"1"),
                            (b"GNU.sparse.minor", b"0"),
                            (b"GNU.sparse.realsize", b"9"),
                            (b"GNU.sparse.name", b"one"),
                        ],
                    ),
                    entry(b"GNUSparseFile.0/one", b'0', b"", &data),
                ])
            },
            Ambiguous("sparse file in PAX format"),
        ),
    ]
}

#[test]
fn crafted_archives_are_read_as_the_runtime_reads_them_or_are_ambiguous() {
    let dir = scratch();
    let cases = crafted();
    let mut files = Vec::new();
    for (name, bytes, _) in &cases {
        let path = dir.path().join(format!("{name}.tar"));
        std::fs::write(&path, bytes).unwrap();
        files.push(path);
        // The same archive gzipped, as layers usually are.
        let gz = dir.path().join(format!("{name}.tar.gz"));
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, bytes).unwrap();
        std::fs::write(&gz, e.finish().unwrap()).unwrap();
        files.push(gz);
    }
    check_all(&files);
    // The fuzz target's seeds: `WHARF_WRITE_CORPUS=fuzz/corpus/layer cargo test …`.
    if let Some(out) = std::env::var_os("WHARF_WRITE_CORPUS") {
        for f in &files {
            std::fs::copy(f, Path::new(&out).join(format!("crafted-{}", f.file_name().unwrap().to_string_lossy())))
                .unwrap();
        }
    }
    for (name, bytes, expect) in &cases {
        let l = rust_list(bytes);
        let found: Vec<String> = l.ambiguities().map(|a| a.what.clone()).collect();
        match expect {
            Expect::Clean => assert!(found.is_empty() && l.end.is_ok(), "{name}: {found:?} {:?}", l.end),
            Expect::Ambiguous(what) => {
                assert!(found.iter().any(|f| f.contains(what)), "{name}: expected {what:?}, found {found:?}");
                let a = l.ambiguities().next().unwrap();
                assert!(!a.runtime.is_empty() && !a.other.is_empty() && a.runtime != a.other, "{name}: {a:?}");
            }
            Expect::Corrupt => assert!(l.end.is_err(), "{name}: read cleanly: {:?}", lines(&l)),
        }
    }
}

#[test]
fn ambiguities_carry_the_offset_and_both_readings() {
    let l = rust_list(&hidden_behind(b'5', entry(b"usr/bin/su", b'0', b"", b"x")));
    let a = l.ambiguities().next().unwrap();
    assert_eq!(a.offset, 0);
    assert_eq!(a.runtime, "no data: the next header is at offset 512");
    assert_eq!(a.other, "1024 bytes of data skipped: the next header is at offset 1536");
    // The runtime's reading: the hidden file is an entry of its own.
    let names: Vec<&[u8]> = l.entries.iter().map(|e| e.header.name.as_slice()).collect();
    assert_eq!(names, [&b"innocent/"[..], b"usr/bin/su", b"readme"]);
    let l = rust_list(&archive(&[
        entry(b"first", b'0', b"", &[0; 1024]),
        pax(b'x', &[(b"path", b"a"), (b"path", b"b")]),
        entry(b"x", b'0', b"", b""),
    ]));
    let a = l.ambiguities().next().unwrap();
    assert_eq!((a.offset, a.runtime.as_str(), a.other.as_str()), (1536, "the last value, b", "the first value, a"));
    assert_eq!(l.entries[1].header.offset, 1536, "an entry's offset is its first header's");
}

/// Go's own test archives, from the Go installation (BSD-licensed, not copied here).
#[test]
fn gos_own_test_archives_read_the_same() {
    let dir = Path::new("/usr/lib/go/src/archive/tar/testdata");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("Go's archive/tar test data (Debian's golang-go)")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tar"))
        // Two archives hold a 60 GB sparse file each: hashing their holes takes each
        // reader minutes. sparse-formats.tar and the *-nil-sparse-* archives exercise
        // the same formats (GNU old, PAX 0.0, 0.1, 1.0) at a few KiB.
        .filter(|p| !p.ends_with("gnu-sparse-big.tar") && !p.ends_with("pax-sparse-big.tar"))
        .collect();
    files.sort();
    assert!(files.len() >= 38, "{}", files.len());
    check_all(&files);
}

/// The layer fuzz target's corpus: every input libFuzzer kept for new coverage.
#[test]
fn the_fuzzing_corpus_reads_the_same() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/layer");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 20, "{} files in {}", files.len(), dir.display());
    check_all(&files);
}

/// Builds a random archive from a seed: headers of every type and format, PAX and
/// GNU meta headers with valid and invalid values, sizes that lie, sparse maps,
/// broken checksums and numbers, end markers or none, then a few flipped bytes.
fn generate(rng: &mut fastrand::Rng) -> Vec<u8> {
    const KINDS: &[u8] = b"0\x001234567xgLKSAV";
    const KEYS: &[&[u8]] = &[
        b"path",
        b"linkpath",
        b"size",
        b"uid",
        b"gid",
        b"uname",
        b"mtime",
        b"atime",
        b"comment",
        b"SCHILY.xattr.user.a",
        b"GNU.sparse.map",
        b"GNU.sparse.numblocks",
        b"GNU.sparse.size",
        b"GNU.sparse.realsize",
        b"GNU.sparse.name",
        b"GNU.sparse.major",
        b"GNU.sparse.minor",
        b"GNU.sparse.offset",
        b"GNU.sparse.numbytes",
    ];
    // Mostly values a writer would write for the key, sometimes anything.
    let value = |rng: &mut fastrand::Rng, key: &[u8]| -> Vec<u8> {
        let numeric = matches!(key, b"size" | b"uid" | b"gid" | b"mtime" | b"atime")
            || (key.starts_with(b"GNU.sparse.") && !key.ends_with(b"name") && !key.ends_with(b"map"));
        match rng.u8(0..12) {
            0 => Vec::new(),
            1 => format!("-{}", rng.u16(..)).into_bytes(),
            2 => format!("+{}", rng.u16(..)).into_bytes(),
            3 => b"0,1,2,3".to_vec(),
            4 => format!("{}.{}", rng.u32(..), rng.u16(..)).into_bytes(),
            5 => vec![b"abc/"[rng.usize(..4)]; rng.usize(1..20)],
            _ if numeric => {
                [b"0".to_vec(), b"1".to_vec(), rng.u16(..2000).to_string().into_bytes()][rng.usize(..3)].clone()
            }
            _ => format!("n{}/x{}", rng.u8(..10), rng.u8(..10)).into_bytes(),
        }
    };
    let mut out = Vec::new();
    for _ in 0..rng.usize(1..8) {
        let magic = [Magic::Ustar, Magic::Gnu, Magic::V7][rng.usize(..3)];
        // Regular files half the time, any type otherwise.
        let kind = if rng.bool() { b'0' } else { KINDS[rng.usize(..KINDS.len())] };
        let data_len = [0, 1, 3, 511, 512, 700][rng.usize(..6)];
        let mut data: Vec<u8> = if matches!(kind, b'x' | b'g') {
            (0..rng.usize(0..4))
                .flat_map(|_| {
                    let key = KEYS[rng.usize(..KEYS.len())];
                    common::rawtar::record(key, &value(rng, key))
                })
                .collect()
        } else if kind == b'L' || kind == b'K' {
            let mut v = value(rng, b"path");
            v.push(0);
            v
        } else {
            (0..data_len).map(|_| rng.u8(..)).collect()
        };
        if rng.u8(..6) == 0 {
            data = [padded(b"2\n0\n3\n8\n1\n"), data].concat();
        }
        let declared = match rng.u8(..8) {
            0 => data.len() as u64 + 512,
            1 => data.len().saturating_sub(1) as u64,
            _ => data.len() as u64,
        };
        let name: Vec<u8> = match rng.u8(..6) {
            0 => b"dir/".to_vec(),
            1 => b"../x".to_vec(),
            _ => format!("f{}", rng.u8(..20)).into_bytes(),
        };
        let mut h = header(magic, &name, kind, b"link", declared);
        match rng.u8(..24) {
            0 => h[124..136].copy_from_slice(&[0xff; 12]),
            1 => h[100..108].copy_from_slice(b"0 644\0\0\0"),
            2 => h[345..357].copy_from_slice(b"zzzzzzzzzzzz"),
            3 => h[345..350].copy_from_slice(b"pre\0x"),
            4 => h[108..116].copy_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 1]),
            5 => h[508..512].copy_from_slice(b"tar\0"),
            6 => h[483..495].copy_from_slice(b"00000000020\0"),
            7 => h[386..398].copy_from_slice(b"00000000001\0"),
            _ => {}
        }
        checksum(&mut h);
        if rng.u8(..40) == 0 {
            h[148] ^= 1;
        }
        out.extend_from_slice(&h);
        out.extend(padded(&data));
    }
    match rng.u8(..5) {
        0 => {}
        1 => out.extend_from_slice(&[0; 512]),
        _ => out.extend(end()),
    }
    for _ in 0..rng.usize(..3) {
        if !out.is_empty() && rng.u8(..6) == 0 {
            let i = rng.usize(..out.len());
            out[i] = rng.u8(..);
        }
    }
    if rng.u8(..10) == 0 && !out.is_empty() {
        out.truncate(rng.usize(..out.len()));
    }
    out
}

/// The property test: generated archives read the same by both readers.
#[test]
fn generated_archives_read_the_same() {
    let seed: u64 = std::env::var("WHARF_DIFF_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x57a4f);
    let cases: usize = std::env::var("WHARF_DIFF_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(3000);
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = scratch();
    let files: Vec<PathBuf> = (0..cases)
        .map(|i| {
            let p = dir.path().join(format!("gen-{seed}-{i}.tar"));
            std::fs::write(&p, generate(&mut rng)).unwrap();
            p
        })
        .collect();
    let ambiguous = check_all(&files);
    // The generator reaches the interesting constructs, not only broken headers.
    let clean = files.iter().filter(|f| rust_list(&std::fs::read(f).unwrap()).end.is_ok()).count();
    eprintln!("seed {seed}: {cases} archives, {clean} read cleanly, {ambiguous} ambiguous");
    assert!(clean > cases / 10 && ambiguous > cases / 50, "seed {seed}: {clean} clean, {ambiguous} ambiguous");
}

#[test]
fn entry_data_reads_through_the_reader_as_a_stream() {
    let bytes = archive(&[entry(b"a", b'0', b"", b"hello"), entry(b"b", b'0', b"", b"world")]);
    let mut r = tarball::Reader::new(&bytes[..]);
    let mut got = Vec::new();
    while let Some(h) = r.next_entry().unwrap() {
        let mut s = String::new();
        r.data().read_to_string(&mut s).unwrap();
        got.push((String::from_utf8(h.name).unwrap(), s));
    }
    assert_eq!(got, [("a".to_owned(), "hello".to_owned()), ("b".to_owned(), "world".to_owned())]);
}

/// The `tar` crate's listing (what Wharf read with before): name, type, link, data.
/// One entry as the crate reads it: type, name, link target, data.
type CrateEntry = (u8, Vec<u8>, Vec<u8>, Vec<u8>);

fn tar_crate_listing(bytes: &[u8]) -> Option<Vec<CrateEntry>> {
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(bytes);
    for entry in archive.entries().ok()? {
        let mut e = entry.ok()?;
        let kind = e.header().entry_type().as_byte();
        let name = e.path_bytes().into_owned();
        let link = e.link_name_bytes().map(|l| l.into_owned()).unwrap_or_default();
        let mut data = Vec::new();
        e.read_to_end(&mut data).ok()?;
        // Extension headers the crate did not apply come back as entries; a runtime
        // would skip them, so they are compared through the names they leave.
        if !matches!(kind, b'g' | b'x' | b'L' | b'K') {
            out.push((if kind == 0 { b'0' } else { kind }, name, link, data));
        }
    }
    Some(out)
}

/// Another reader, the `tar` crate, reads differently from Go only archives that are
/// reported ambiguous (or that it refuses outright): this is how the constructs in
/// `tarball.rs`'s ambiguity list beyond the were found.
#[test]
fn the_tar_crate_reads_differently_only_what_is_reported_ambiguous() {
    let seed: u64 = std::env::var("WHARF_DIFF_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x57a4f);
    let mut rng = fastrand::Rng::with_seed(seed ^ 0xc4a7e);
    let mut archives: Vec<Vec<u8>> = (0..5000).map(|_| generate(&mut rng)).collect();
    archives.extend(crafted().into_iter().map(|(_, bytes, _)| bytes));
    let (mut compared, mut differ) = (0, Vec::new());
    for bytes in &archives {
        let ours = tarball::list(&bytes[..]);
        let Some(theirs) = tar_crate_listing(bytes) else { continue };
        if ours.end.is_err() || ours.ambiguities().next().is_some() {
            continue;
        }
        compared += 1;
        let mine: Vec<_> = ours
            .entries
            .iter()
            .filter(|e| e.header.typeflag != b'g')
            .map(|e| (e.header.typeflag, e.header.name.clone(), e.header.linkname.clone(), e.sha256.clone()))
            .collect();
        let theirs: Vec<_> = theirs
            .into_iter()
            .map(|(k, n, l, d)| {
                let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &d);
                (k, n, l, hex::encode(digest.as_ref()))
            })
            .collect();
        if mine != theirs {
            differ.push(format!(
                "{:?}\n  vs {:?}",
                mine.iter().map(|m| (m.0 as char, String::from_utf8_lossy(&m.1).into_owned())).collect::<Vec<_>>(),
                theirs.iter().map(|m| (m.0 as char, String::from_utf8_lossy(&m.1).into_owned())).collect::<Vec<_>>()
            ));
        }
    }
    assert!(compared > 500, "{compared}");
    assert!(
        differ.is_empty(),
        "{} of {compared} read differently, unreported:\n{}",
        differ.len(),
        differ[..differ.len().min(5)].join("\n")
    );
}
