//! The offer rules, at the boundary users touch: a document in, every problem out.

use wharf_offer::parse::{Format, parse};
use wharf_offer::rules::{Context, Stage, check, image_refs, media_refs};
use wharf_offer::spec::OfferSpec;
use wharf_offer::template::{DEFAULT_CATEGORIES, starter};

fn categories() -> Vec<String> {
    DEFAULT_CATEGORIES.iter().map(|s| (*s).to_owned()).collect()
}

fn problems(yaml: &str, stage: Stage) -> Vec<String> {
    let (spec, unknown) = parse::<OfferSpec>(yaml.as_bytes(), Format::Yaml).expect("parses");
    let cats = categories();
    let ctx = Context { categories: Some(&cats), media_paths_allowed: true };
    let mut all = unknown;
    all.extend(check(&spec, &ctx, stage));
    all.all().iter().map(ToString::to_string).collect()
}

/// One document breaking every field rule: all problems come back at once, each
/// with its path.
#[test]
fn every_broken_rule_is_reported_at_once() {
    let yaml = r#"
id: Contoso DB!
publisher: -contoso
default_locale: en-GB
colour: blue
listings:
  english:
    name: "Rocket 🚀 DB"
  en-US:
    name: ""
    summary: Fast database. Runs anywhere and is also very much longer than one hundred characters in total length.
    short_description: "<b>bold</b> claims"
    description: "<script>alert(1)</script> [x](javascript:alert(1))"
    keywords: [db, DB, "", a, b, c, d, e, f, g, h]
    categories: [databases, cooking, databases, web]
    useful_links:
      - title: Docs
        url: ftp://example.com
      - url: https://example.com
    privacy_policy_url: http://example.com/privacy
    support:
      name: Support
      email: not-an-email
      phone: "12345"
      url: https://example.com/support
    engineering:
      email: eng@example.com
media:
  icons:
    small: /etc/passwd
    medium: ../outside.png
    large: media/large.png
  screenshots:
    - image: media/s1.png
    - caption: no image
  videos:
    - title: Demo
      url: javascript:alert(1)
legal:
  contract: custom
plans:
  - id: standard
    name: Standard
    pricing: {model: flat_monthly, price: "-5", currency: usd}
    visibility: private
    images:
      - repository: fabrikam/db
        tags: [latest, 1.2, 1.0.0, 1.0.0]
    deployment:
      kind: kubernetes
      template: "apiVersion: v1\nkind: Pod\nimage: ${image:contoso/other} ${missing} ${port}"
      parameters:
        - name: Port
          label: Port
          type: integer
          default: "80"
          min: 10
          max: 1
        - name: port
          label: Port
          type: number
        - name: mode
          label: Mode
          type: choice
          default: fast
        - name: pw
          label: Password
          type: secret
          default: hunter2
          generate_length: 8
  - id: standard
    pricing: {model: free, price: "1.00"}
    audience: [acme]
    images:
      - repository: contoso/db
        tags: ["1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4", "1.0.5", "1.0.6", "1.0.7", "1.0.8", "1.0.9", "1.0.10", "1.0.11", "1.0.12", "1.0.13", "1.0.14", "1.0.15", "1.0.16"]
preview_audience: [acme, acme, "Not An Org"]
lead_destination:
  url: http://crm.example.com
  secret: short
"#;
    insta::assert_snapshot!(problems(yaml, Stage::Submit).join("\n"));
}

/// A draft may be incomplete; only what is present is checked.
#[test]
fn drafts_may_be_incomplete_but_not_malformed() {
    assert_eq!(problems("id: db\npublisher: contoso\n", Stage::Draft), Vec::<String>::new());
    assert_eq!(
        problems("id: DB\nplans:\n  - pricing: {model: gratis}\n", Stage::Draft),
        [
            "error: id: may contain only lowercase letters a-z, digits, '-' and '_' (found 'D')",
            "error: plans[0].pricing.model: must be free, byol, flat_monthly or per_core_hour (got \"gratis\")",
        ]
    );
    let missing = problems("id: db\npublisher: contoso\n", Stage::Submit);
    for field in [
        "default_locale: is required",
        "listings: needs a listing",
        "legal: is required",
        "plans: needs at least one plan",
    ] {
        assert!(missing.iter().any(|p| p.contains(field)), "{field} not in {missing:#?}");
    }
}

/// Images from another organization's repository are refused; the starter file is clean.
#[test]
fn plans_deliver_only_the_publishers_own_repositories() {
    let text = starter("example-db", "contoso", "http://localhost:5000");
    let mine = problems(&text, Stage::Submit);
    assert!(mine.is_empty(), "{mine:#?}");
    let theirs = text.replace("repository: contoso/example-db", "repository: fabrikam/example-db");
    let found = problems(&theirs, Stage::Submit);
    assert!(
        found.contains(&"error: plans[0].images[0].repository: must be a repository of the publisher organization contoso (contoso/…)".to_owned()),
        "{found:#?}"
    );
    let (spec, _) = parse::<OfferSpec>(text.as_bytes(), Format::Yaml).unwrap();
    let refs = image_refs(&spec);
    assert_eq!(refs.len(), 1);
    assert_eq!((refs[0].repository.as_str(), refs[0].tag.as_str()), ("contoso/example-db", "1.0.0"));
    assert_eq!(refs[0].path.pointer(), "/plans/0/images/0/tags/0");
    assert_eq!(media_refs(&spec).len(), 4);
}

/// On the server media are named by digest only.
#[test]
fn stored_drafts_name_media_by_digest() {
    let (spec, _) = parse::<OfferSpec>(
        format!("media:\n  icons:\n    small: sha256:{}\n    medium: media/icon.png\n", "a".repeat(64)).as_bytes(),
        Format::Yaml,
    )
    .unwrap();
    let ctx = Context { categories: None, media_paths_allowed: false };
    let found: Vec<String> = check(&spec, &ctx, Stage::Draft).all().iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        [
            "error: media.icons.medium: must name uploaded media by digest (sha256:…); upload files first (wharf offer apply does)"
        ]
    );
}
