//! A layer: gzip, zstd or plain tar, told by its bytes, read into the image's view
//! with the scanner hook reading every file; then the same bytes listed by the tar
//! reader alone. Neither may panic, hang or use unbounded memory, and both must
//! agree on how many entries there are when the archive reads cleanly.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use wharf_certify::finding::Findings;
use wharf_certify::layer::{Budget, read_layer};
use wharf_certify::tarball;
use wharf_certify::view::View;
use wharf_certify::Limits;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_total_bytes: 64 << 20, ..Limits::default() };
    let mut view = View::new();
    let mut findings = Findings::new(limits.max_findings_per_check);
    let mut budget = Budget::default();
    let mut sink = vec![0u8; 4096];
    let stats = read_layer("sha256:fuzz", data, &limits, &mut budget, &mut view, &mut findings, &mut |_, r| {
        while r.read(&mut sink)? > 0 {}
        Ok(())
    });
    let findings = findings.into_vec();
    if data.starts_with(&[0x1f, 0x8b]) || data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return;
    }
    let listing = tarball::list(data);
    if stats.complete && listing.end.is_ok() {
        assert_eq!(stats.entries, listing.entries.len() as u64, "{findings:?}");
    }
    assert_eq!(stats.complete, listing.end.is_ok() || findings.iter().any(|f| f.check.starts_with("layer.bomb")));
});
