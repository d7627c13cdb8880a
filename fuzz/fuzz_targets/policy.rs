//! A certification policy file (TOML), as `wharf certify --policy` reads it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = wharf_certify::policy::Policy::parse(text);
});
