//! `wharf catalog search|show`: what customers browse, from the command line. Works
//! signed in (what the user's organizations may see too) or not (public listings).

use clap::{Args, Subcommand};
use wharf_api_types::{CatalogListingView, CatalogQuery, CatalogResults};

use super::Failure;
use super::client::connect_or_anonymous;
use crate::output::{self, Format};

/// Arguments of `wharf catalog`.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    #[command(subcommand)]
    command: CatalogCommand,
    /// Server URL (default: the stored login's, else http://127.0.0.1:5000).
    #[arg(long, env = "WHARF_URL", global = true)]
    server: Option<String>,
    /// Preferred languages, as an Accept-Language value (e.g. `nl-NL, en;q=0.5`);
    /// listings fall back to their default locale.
    #[arg(long, env = "WHARF_LANGUAGE", global = true)]
    language: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "human", global = true)]
    output: Format,
}

#[derive(Debug, Subcommand)]
enum CatalogCommand {
    /// Search listings: words in names, summaries, descriptions, keywords and
    /// publishers, narrowed by facets (each takes one value or several separated by
    /// commas), with the counts of each facet's values.
    Search(SearchArgs),
    /// One listing: its texts, plans and pinned images, security view and versions.
    Show {
        /// The listing, as PUBLISHER/OFFER.
        listing: String,
    },
}

#[derive(Debug, Args)]
struct SearchArgs {
    /// Words to find.
    words: Vec<String>,
    /// Category ids.
    #[arg(long)]
    category: Option<String>,
    /// Publisher organizations.
    #[arg(long)]
    publisher: Option<String>,
    /// Pricing models: free, byol, flat_monthly, per_core_hour.
    #[arg(long)]
    pricing: Option<String>,
    /// CPU architectures, e.g. amd64, arm64.
    #[arg(long)]
    architecture: Option<String>,
    /// Deployment kinds: kubernetes, compose, container.
    #[arg(long)]
    deployment: Option<String>,
    /// Health grades, A to F.
    #[arg(long)]
    grade: Option<String>,
    /// relevance (default with words), name (default without) or newest.
    #[arg(long)]
    sort: Option<String>,
    /// Results per page.
    #[arg(long, default_value_t = 20)]
    limit: u32,
    /// The next page: the cursor a previous search printed.
    #[arg(long)]
    cursor: Option<String>,
}

/// Runs `wharf catalog`.
pub async fn run(args: CatalogArgs) -> Result<(), Failure> {
    let client = connect_or_anonymous(args.server.as_deref())?;
    let language = args.language.as_deref();
    match args.command {
        CatalogCommand::Search(s) => {
            let words = s.words.join(" ");
            let query = CatalogQuery {
                q: (!words.is_empty()).then_some(words),
                category: s.category,
                publisher: s.publisher,
                pricing: s.pricing,
                architecture: s.architecture,
                deployment: s.deployment,
                grade: s.grade,
                sort: s.sort,
                limit: Some(s.limit),
                cursor: s.cursor,
            };
            let results = client.catalog_search(&query, language).await?;
            match args.output {
                Format::Json => output::json(&results),
                Format::Human => print_results(&results),
            }
        }
        CatalogCommand::Show { listing } => {
            let (publisher, offer) =
                listing.split_once('/').filter(|(p, o)| !p.is_empty() && !o.is_empty()).ok_or_else(|| {
                    Failure::new(super::EXIT_USAGE, format!("{listing:?}: name the listing as PUBLISHER/OFFER"))
                })?;
            let view = client.catalog_listing(publisher, offer, language).await?;
            match args.output {
                Format::Json => output::json(&view),
                Format::Human => print_listing(&view, &client.server()),
            }
        }
    }
    Ok(())
}

fn print_results(r: &CatalogResults) {
    if r.items.is_empty() {
        output::line("no listings match");
    } else {
        output::rows(Format::Human, &r.items, &["listing", "name", "grade", "pricing", "summary"], |i| {
            vec![
                format!("{}/{}", i.publisher, i.offer),
                i.name.clone(),
                i.grade.clone().unwrap_or_else(|| "-".into()),
                i.pricing.join(","),
                i.summary.clone(),
            ]
        });
    }
    output::line(format!("\n{} in all", r.total));
    for f in &r.facets {
        let mut values: Vec<String> = f.values.iter().map(|v| format!("{} ({})", v.value, v.count)).collect();
        if f.more > 0 {
            values.push(format!("{} more", f.more));
        }
        output::line(format!("{}: {}", f.facet, values.join(", ")));
    }
    if let Some(c) = &r.next_cursor {
        output::line(format!("\nmore: --cursor {c}"));
    }
}

fn print_listing(l: &CatalogListingView, server: &str) {
    output::line(format!("{} ({}/{}), version {}, {}", l.name, l.publisher, l.offer, l.version, l.locale));
    output::line(format!("by {}", l.publisher_name));
    output::line(&l.summary);
    if l.stop_sold {
        output::line("stop-sold: no new subscriptions");
    }
    if !l.categories.is_empty() {
        output::line(format!("categories: {}", l.categories.join(", ")));
    }
    let s = &l.security;
    let grade = s.grade.as_deref().unwrap_or("not graded yet");
    let findings: Vec<String> = s.findings.iter().map(|(k, v)| format!("{v} {k}")).collect();
    output::line(format!(
        "\nsecurity: grade {grade}{}{}",
        s.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default(),
        if findings.is_empty() { String::new() } else { format!("; findings: {}", findings.join(", ")) }
    ));
    if s.breaks_policy {
        let due = s.fix_due.map(|d| format!(" (a fix is due by {d})")).unwrap_or_default();
        output::line(format!("  a vulnerability breaks the marketplace's policy{due}"));
    }
    output::line(format!("  signing key: {}", s.signature.key_url));
    if let Some(v) = &s.signature.verify {
        output::line(format!("  verify: {v}"));
    }
    for sbom in &s.sboms {
        output::line(format!("  SBOM {} ({} bytes): {server}{}", sbom.platform, sbom.size, sbom.url));
    }
    output::line("\nplans:");
    for p in &l.plans {
        let price =
            p.price.as_ref().map(|x| format!(" {x} {}", p.currency.clone().unwrap_or_default())).unwrap_or_default();
        let stop = if p.stop_sold { ", stop-sold" } else { "" };
        output::line(format!("  {} ({}): {}{price}{stop}", p.id, p.name, p.pricing));
        for i in &p.images {
            output::line(format!("    {} [{}]", i.pinned_reference, i.platforms.join(", ")));
        }
    }
    output::line("\nversions:");
    for v in &l.versions {
        output::line(format!("  {} {} (submitted {})", v.version, v.status, v.submitted_at));
    }
}
