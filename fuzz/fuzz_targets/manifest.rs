//! An image manifest or index as pushed to the registry, with each content type a
//! client may send. Parsing may refuse, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

const TYPES: [Option<&str>; 5] = [
    None,
    Some("application/vnd.oci.image.manifest.v1+json"),
    Some("application/vnd.oci.image.index.v1+json"),
    Some("application/vnd.docker.distribution.manifest.v2+json"),
    Some("application/vnd.docker.distribution.manifest.list.v2+json"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    if let Ok(m) = wharf_oci::manifest::parse(body, TYPES[usize::from(pick) % TYPES.len()]) {
        // What the registry reads next from a parsed manifest.
        let _ = format!("{m:?}");
    }
});
