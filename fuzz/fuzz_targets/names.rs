//! Repository names, digests and manifest references (tag or digest) as they come
//! in URLs. What parses must print back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(name) = text.parse::<wharf_oci::RepositoryName>() {
        assert_eq!(name.as_str(), text);
    }
    if let Ok(d) = text.parse::<wharf_oci::Digest>() {
        assert_eq!(d.to_string(), text);
    }
    match wharf_oci::reference(text) {
        Ok(wharf_oci::Reference::Tag(t)) => assert_eq!(t, text),
        Ok(wharf_oci::Reference::Digest(d)) => assert_eq!(d.to_string(), text),
        Err(_) => {}
    }
});
