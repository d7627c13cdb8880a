//! An OSV record as imported into the advisory store, then matched against a
//! package at every version the record names, in its ecosystem's version order
//! (dpkg, apk, rpm, SemVer, PEP 440, Maven).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_certify::advisories::{Event, Store, Target, parse_osv};
use wharf_certify::versions::Scheme;

fuzz_target!(|data: &[u8]| {
    let Ok(Some(advisory)) = parse_osv(data) else { return };
    let store = Store::from_advisories(vec![advisory.clone()]);
    for aff in advisory.affected.iter().take(8) {
        let mut parts = aff.ecosystem.split(':');
        let base = parts.next().unwrap_or_default().to_owned();
        let Some(scheme) = Scheme::of_ecosystem(&base) else { continue };
        let release = parts.next().map(str::to_owned);
        let versions = aff.versions.iter().chain(aff.ranges.iter().flat_map(|r| {
            r.events.iter().map(|e| match e {
                Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) => v,
            })
        }));
        for v in versions.take(32) {
            let target =
                Target { base: base.clone(), release: release.clone(), name: aff.name.clone(), version: v.clone(), scheme };
            let _ = store.matches(&target);
        }
    }
});
