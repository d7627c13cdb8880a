//! An offer file (YAML, or JSON when it starts with `{`) parsed and checked at both
//! stages, as `wharf offer validate` and the API do.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_offer::OfferSpec;
use wharf_offer::parse::{Format, parse};
use wharf_offer::rules::{Context, Stage, check};

fuzz_target!(|data: &[u8]| {
    let format = if data.first() == Some(&b'{') { Format::Json } else { Format::Yaml };
    let Ok((spec, _unknown)) = parse::<OfferSpec>(data, format) else { return };
    let categories = vec!["databases".to_owned(), "security".to_owned()];
    for stage in [Stage::Draft, Stage::Submit] {
        let ctx = Context { categories: Some(&categories), media_paths_allowed: true };
        let _ = check(&spec, &ctx, stage);
    }
});
