//! The starter offer file `wharf offer init` writes: every field, commented.

/// The categories a marketplace offers when its operator defines none.
pub const DEFAULT_CATEGORIES: &[&str] = &[
    "ai-ml",
    "analytics",
    "databases",
    "developer-tools",
    "devops",
    "identity",
    "integration",
    "iot",
    "monitoring",
    "networking",
    "security",
    "storage",
    "web",
];

const TEMPLATE: &str = r#"# yaml-language-server: $schema={schema_url}
#
# A Wharf offer, as code. Check it offline with `wharf offer validate offer.yaml`,
# preview the change with `wharf offer plan offer.yaml`, save it as the offer's draft
# with `wharf offer apply offer.yaml`, then `wharf offer submit {publisher}/{id}`.
# Media paths are relative to this file; `apply` uploads them.

# Lowercase letters, digits, '-' and '_'; at most 50 characters. Fixed once created.
id: {id}
# The publisher organization that owns the offer (and the repositories of its plans).
publisher: {publisher}

# The listing shown when a customer's language has none of its own (BCP 47 tag).
default_locale: en-US
listings:
  en-US:
    name: Example Database               # at most 200 characters, no emoji but ™ ©
    summary: A managed example database for Kubernetes and container hosts.  # one sentence, at most 100
    short_description: Example Database runs a replicated database with backups in one command.  # plain text, at most 256
    description: |                        # Markdown, at most 5,000 characters; HTML is sanitized
      ## What you get
      - Replication and point-in-time recovery
      - Metrics for Prometheus
    keywords: [database, sql]             # at most 10
    categories: [databases]               # 1 to 3, from the marketplace's taxonomy
    useful_links:                         # at most 10
      - title: Documentation
        url: https://example.com/docs
    privacy_policy_url: https://example.com/privacy   # required
    support:                              # shown to customers
      name: Example Support
      email: support@example.com
      phone: "+1 555 010 0000"
      url: https://example.com/support
    engineering:                          # never shown to customers
      name: Example Engineering
      email: engineering@example.com

media:
  icons:                                  # PNG or JPEG, exactly these sizes
    small: media/icon-48x48.png           # 48×48
    medium: media/icon-90x90.png          # 90×90
    large: media/icon-216x216.png         # 216×216
    wide: media/icon-255x115.png          # 255×115
  screenshots: []                         # up to 5: {image: media/shot.png, caption: …}, 1280×720
  videos: []                              # up to 4: {title: …, url: https://…}

legal:
  contract: standard                      # or: custom, with `terms:` (Markdown)

plans:
  - id: standard                          # same rule as the offer id; fixed after the first submit
    name: Standard
    description: One database node.
    pricing:
      model: free                         # free | byol | flat_monthly | per_core_hour (with price, currency)
    visibility: public                    # or private, with `audience: [customer-org, …]`
    images:
      - repository: {publisher}/example-db   # a repository of the publisher organization
        tags: ["1.0.0"]                   # X.Y.Z[-suffix]; at most 16 per plan; new ones above all earlier
    deployment:
      kind: container                     # kubernetes | compose | container
      template: >-
        docker run -d -p ${port}:5432 -e DB_PASSWORD=${password} ${image:{publisher}/example-db}
      parameters:
        - name: port
          label: Port on the host
          type: integer                   # string | integer | boolean | choice | secret
          default: 5432
          min: 1
          max: 65535
        - name: password
          label: Database password
          type: secret
          generate_length: 24             # generated when the customer gives none

preview_audience: []                      # customer organizations that see a version in preview (at most 100)
# lead_destination:                       # where new subscriptions are sent, signed with HMAC-SHA256
#   url: https://crm.example.com/wharf-leads
#   secret: at-least-16-characters
# certification_notes: how to test the product (for the certification team only)
"#;

/// The starter file for offer `id` of `publisher`, pointing editors at the schema
/// served by the Wharf at `base_url`.
pub fn starter(id: &str, publisher: &str, base_url: &str) -> String {
    let schema_url = format!("{}{}", base_url.trim_end_matches('/'), crate::schema::SCHEMA_PATH);
    TEMPLATE.replace("{schema_url}", &schema_url).replace("{id}", id).replace("{publisher}", publisher)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{Format, parse};
    use crate::rules::{Context, Stage, check};
    use crate::spec::OfferSpec;

    #[test]
    fn the_starter_file_follows_every_rule() {
        let text = starter("example-db", "contoso", "http://127.0.0.1:5000/");
        assert!(text.starts_with("# yaml-language-server: $schema=http://127.0.0.1:5000/api/v1/schemas/offer.json\n"));
        let (spec, unknown) = parse::<OfferSpec>(text.as_bytes(), Format::Yaml).unwrap();
        assert!(unknown.is_empty(), "{unknown:?}");
        let categories: Vec<String> = DEFAULT_CATEGORIES.iter().map(|s| (*s).to_owned()).collect();
        let ctx = Context { categories: Some(&categories), media_paths_allowed: true };
        let problems = check(&spec, &ctx, Stage::Submit);
        assert!(problems.is_empty(), "{:#?}", problems.all());
        assert_eq!(spec.plans[0].images[0].repository.as_deref(), Some("contoso/example-db"));
    }
}
