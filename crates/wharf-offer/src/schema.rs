//! The JSON Schema (2020-12) of the offer document, derived from the same types the
//! server and the CLI read, so it cannot drift from them. Editors that speak the YAML
//! language server use it through the `# yaml-language-server: $schema=…` line that
//! `wharf offer init` writes.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(components(schemas(crate::spec::OfferSpec)))]
struct Components;

/// Where Wharf serves the schema, relative to its base URL.
pub const SCHEMA_PATH: &str = "/api/v1/schemas/offer.json";

/// The schema: `OfferSpec` at the root, every type it uses under `$defs`.
pub fn offer_schema() -> serde_json::Value {
    let components = Components::openapi().components.map(|c| c.schemas).unwrap_or_default();
    let defs = serde_json::to_value(components).unwrap_or_default();
    let mut text = serde_json::to_string(&defs).unwrap_or_default();
    text = text.replace("\"#/components/schemas/", "\"#/$defs/");
    let defs: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("urn:wharf:schema:offer:v1"),
        "title": "Wharf offer",
        "description": "An offer of a Wharf marketplace, as written for `wharf offer apply` and stored as a draft. \
            Rules beyond types (lengths, formats, required fields at submission) are checked by `wharf offer validate` and the server.",
        "$ref": "#/$defs/OfferSpec",
        "$defs": defs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_describes_the_document_and_resolves_every_reference() {
        let schema = offer_schema();
        let defs = schema["$defs"].as_object().unwrap();
        for name in
            ["OfferSpec", "Listing", "Plan", "Pricing", "PricingModel", "Deployment", "Parameter", "Media", "Icons"]
        {
            assert!(defs.contains_key(name), "{name} missing from $defs");
        }
        let text = schema.to_string();
        assert!(!text.contains("#/components/"));
        for r in text.split("\"$ref\":\"").skip(1) {
            let target = r.split('"').next().unwrap();
            let name = target.strip_prefix("#/$defs/").unwrap_or_else(|| panic!("unexpected ref {target}"));
            assert!(defs.contains_key(name), "dangling ref {target}");
        }
        let props = defs["OfferSpec"]["properties"].as_object().unwrap();
        assert!(
            props.contains_key("listings") && props.contains_key("plans") && props.contains_key("preview_audience")
        );
        let models = defs["PricingModel"].to_string();
        assert!(models.contains("per_core_hour"), "{models}");
    }
}
