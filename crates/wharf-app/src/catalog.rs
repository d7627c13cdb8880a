//! The catalog customers browse: each offer's live version as a searchable entry,
//! written with the go-live (`Db::version_to_live`), shown per locale with
//! `Accept-Language` negotiation, and each listing's security view (grade, findings,
//! SBOMs, how to verify the signatures).
//!
//! Who sees what: everyone (signed in or not) sees offers with a public plan on sale;
//! a customer organization's members also see offers with a private plan for it; a
//! publisher's members see their own offers, stop-sold ones too; operators see all.
//! A listing the reader may not see answers exactly like a missing one.

use std::collections::{BTreeSet, HashMap};

use bytes::Bytes;
use wharf_api_types::{
    CatalogImageView, CatalogItemView, CatalogListingView, CatalogPlanView, CatalogResults, CatalogSbomView,
    FACET_VALUES, FacetValueView, FacetView, LinkView, ListingMediaView, ReleasedVersionView, SbomView, ScreenshotView,
    SecurityView, SignatureView, SupportView,
};
use wharf_core::catalog::{LanguageRange, negotiate, text_search_language};
use wharf_core::{
    CatalogFacet, CatalogSort, FacetValues, OfferKey, PlatformAction, SearchText, Timestamp, TokenScope, VersionStatus,
};
use wharf_db::catalog::{CatalogCursor, CatalogEntry, CatalogPlan, CatalogText, CatalogViewer};

use crate::catalog_index::{Looker, Search};
use wharf_offer::OfferSpec;

use crate::input::{Parsed, invalid};
use crate::{Actor, App, AppError, MediaFile, Paging};

/// Writes the catalog entry of every live version that has none; queued when the
/// server starts (after an upgrade that added the catalog, nothing else is missing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RebuildCatalog;

impl wharf_jobs::Job for RebuildCatalog {
    const KIND: &'static str = "catalog.rebuild";
    const MAX_ATTEMPTS: u32 = 5;
    type Context = App;

    fn fair_key(&self) -> String {
        "operator".into()
    }

    async fn run(&self, app: &App) -> anyhow::Result<()> {
        let n = app.rebuild_catalog().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        if n > 0 {
            tracing::info!(entries = n, "catalog entries rebuilt");
        }
        Ok(())
    }
}

/// A catalog search as a surface parsed it.
#[derive(Debug, Clone)]
pub struct CatalogSearchInput {
    /// The words to find (`q`).
    pub text: Parsed<SearchText>,
    /// Facet filters.
    pub filters: Vec<(CatalogFacet, Parsed<FacetValues>)>,
    /// The order.
    pub sort: Parsed<Option<CatalogSort>>,
    /// The page.
    pub paging: Paging,
    /// The reader's languages, best first (`Accept-Language`).
    pub languages: Vec<LanguageRange>,
}

impl App {
    /// Searches the catalog (see the module for who sees what).
    pub async fn search_catalog(
        &self,
        actor: Option<&Actor>,
        input: CatalogSearchInput,
    ) -> Result<CatalogResults, AppError> {
        let viewer = self.viewer(actor)?;
        let (text, sort) = match (input.text, input.sort) {
            (Ok(t), Ok(s)) => (t, s),
            (t, s) => {
                let filters = input.filters.into_iter().map(|(_, f)| f.err());
                return Err(invalid([t.err(), s.err()].into_iter().chain(filters), Vec::new()));
            }
        };
        let mut filters = Vec::new();
        let mut errors = Vec::new();
        for (facet, values) in input.filters {
            match values {
                Ok(v) => filters.push((facet, v.into_values())),
                Err(e) => errors.push(Some(e)),
            }
        }
        if !errors.is_empty() {
            return Err(invalid(errors, Vec::new()));
        }
        let sort = match sort {
            Some(CatalogSort::Relevance) | None if !text.is_empty() => CatalogSort::Relevance,
            None | Some(CatalogSort::Relevance) => CatalogSort::Name,
            Some(other) => other,
        };
        let after = input.paging.after.as_deref().map(parse_cursor).transpose()?;
        let looker = match viewer {
            CatalogViewer::Operator => Looker::Operator,
            CatalogViewer::Anonymous => Looker::Orgs(Vec::new(), Vec::new()),
            CatalogViewer::User(u) => {
                let orgs = self.db.org_ids_of_user(u).await?;
                let subscribed = self.db.subscribed_offers(&orgs).await?;
                Looker::Orgs(orgs, subscribed)
            }
        };
        let index = self.catalog.get(&self.db).await?;
        // Ranking can cost far more than matching: every match is ranked only when
        // any of them may be on the page; otherwise, unless the database ranked them
        // anyway, only those left after the filters and the reader's visibility are.
        let (words, languages) = (text.words(), index.languages());
        let rank_all = sort == CatalogSort::Relevance && filters.iter().all(|(_, v)| v.is_empty());
        let matches = match text.is_empty() {
            true => None,
            false => Some(self.db.catalog_matches(words, languages, rank_all).await?),
        };
        let search = Search {
            matches: matches.as_ref().map(|m| m.offers.as_slice()),
            filters: &filters,
            looker: &looker,
            sort,
            after: after.as_ref(),
            limit: input.paging.limit,
        };
        let mut selected = index.select(&search);
        if sort == CatalogSort::Relevance && matches.as_ref().is_some_and(|m| !m.ranked) {
            let ranks = self.db.catalog_ranks(words, languages, &index.offers(&selected)).await?;
            index.rank(&mut selected, &ranks);
        }
        let found = index.page(selected, &search);
        let keys: Vec<OfferKey> = found.hits.iter().map(|(k, _, _)| *k).collect();
        let mut rows: HashMap<OfferKey, wharf_db::catalog::CatalogHit> =
            self.db.catalog_hits(&keys).await?.into_iter().map(|h| (h.offer, h)).collect();
        let mut texts: HashMap<OfferKey, Vec<CatalogText>> = HashMap::new();
        for (k, t) in self.db.catalog_texts(&keys).await? {
            texts.entry(k).or_default().push(t);
        }
        let mut hits = Vec::new();
        for (offer, rank, values) in found.hits {
            // An entry gone since the index was read (its organization deleted) is left out.
            if let Some(mut h) = rows.remove(&offer) {
                h.rank = rank;
                hits.push((h, values));
            }
        }
        let next_cursor = if found.more { hits.last().map(|(h, _)| cursor_text(&h.cursor(sort))) } else { None };
        let items = hits
            .into_iter()
            .map(|(h, values)| {
                let texts = texts.remove(&h.offer).unwrap_or_default();
                let locales: Vec<String> = texts.iter().map(|t| t.locale.clone()).collect();
                let locale = negotiate(&input.languages, &locales, &h.default_locale).to_owned();
                let shown = texts.into_iter().find(|t| t.locale == locale);
                let facet = |f: CatalogFacet| -> Vec<String> {
                    values.iter().filter(|(x, _)| *x == f).map(|(_, v)| v.clone()).collect()
                };
                CatalogItemView {
                    publisher: h.publisher.clone(),
                    publisher_name: h.publisher_name.clone(),
                    offer: h.offer_id.clone(),
                    name: shown.as_ref().map(|t| t.name.clone()).unwrap_or_default(),
                    summary: shown.map(|t| t.summary).unwrap_or_default(),
                    locale,
                    categories: facet(CatalogFacet::Category),
                    pricing: facet(CatalogFacet::Pricing),
                    architectures: facet(CatalogFacet::Architecture),
                    deployment: facet(CatalogFacet::Deployment),
                    grade: h.grade.clone(),
                    version: h.version,
                    live_at: Timestamp::from_millis(h.live_at),
                    stop_sold: h.stop_sold,
                }
            })
            .collect();
        let facets = facet_views(found.facets, &filters);
        Ok(CatalogResults { items, total: found.total, facets, next_cursor })
    }

    /// One listing in the reader's locale (see the module for who sees what).
    pub async fn catalog_listing(
        &self,
        actor: Option<&Actor>,
        publisher: &str,
        offer: &str,
        languages: &[LanguageRange],
    ) -> Result<CatalogListingView, AppError> {
        let viewer = self.viewer(actor)?;
        let hit = self.visible_entry(viewer, publisher, offer).await?;
        let version = self
            .db
            .offer_version(hit.offer, hit.version)
            .await?
            .ok_or_else(|| AppError::Internal(format!("the catalog names version {} that is gone", hit.version)))?;
        let spec: OfferSpec = serde_json::from_str(&version.document)
            .map_err(|e| AppError::Internal(format!("stored version does not parse: {e}")))?;
        let locales: Vec<String> = spec.listings.keys().cloned().collect();
        let locale = negotiate(languages, &locales, &hit.default_locale).to_owned();
        let listing = spec.listings.get(&locale).cloned().unwrap_or_default();

        let visible: BTreeSet<String> = self.db.catalog_plans(hit.offer, viewer).await?.into_iter().collect();
        let stopped = self.db.offer_by_key(hit.offer).await?.map(|o| o.stopped_plans).unwrap_or_default();
        let sboms = self.stored_sboms(hit.offer, hit.version).await?;
        let promotions = self.db.promotions(hit.offer, hit.version).await?;
        let host = &self.marketplace.registry_host;
        let plans: Vec<CatalogPlanView> = spec
            .plans
            .iter()
            .filter(|p| p.id.as_ref().is_some_and(|id| visible.contains(id)))
            .map(|p| {
                let id = p.id.clone().unwrap_or_default();
                let pricing = p.pricing.clone().unwrap_or_default();
                CatalogPlanView {
                    images: promotions
                        .iter()
                        .filter(|m| m.plan == id)
                        .map(|m| CatalogImageView {
                            repository: m.repository.to_string(),
                            tag: m.tag.clone(),
                            reference: format!("{host}/{}:{}", m.repository, m.tag),
                            pinned_reference: format!("{host}/{}@{}", m.repository, m.digest),
                            digest: m.digest.to_string(),
                            platforms: sboms
                                .iter()
                                .filter(|s| s.image == m.digest.as_str())
                                .map(|s| s.platform.clone())
                                .collect(),
                        })
                        .collect(),
                    stop_sold: stopped.iter().any(|s| s.as_str() == id),
                    id,
                    name: p.name.clone().unwrap_or_default(),
                    description: p.description.clone().unwrap_or_default(),
                    pricing: pricing.model.unwrap_or_else(|| "free".into()),
                    price: pricing.price,
                    currency: pricing.currency,
                    visibility: p.visibility.clone().unwrap_or_else(|| "public".into()),
                    deployment: p.deployment.as_ref().and_then(|d| d.kind.clone()),
                }
            })
            .collect();

        let health = self.db.version_health(hit.offer, hit.version).await?;
        let base = format!("/api/v1/catalog/{}/{}", hit.publisher, hit.offer_id);
        let key_url = format!("{}/api/v1/marketplace/signing-key", self.marketplace.public_url);
        let first = plans.iter().flat_map(|p| p.images.iter()).next();
        let security = SecurityView {
            grade: health.as_ref().map(|h| h.grade.clone()),
            reason: health.as_ref().map(|h| h.reason.clone()),
            graded_at: health.as_ref().map(|h| h.graded_at),
            findings: health.as_ref().and_then(|h| serde_json::from_str(&h.summary).ok()).unwrap_or_default(),
            breaks_policy: health.as_ref().is_some_and(|h| h.breaks_policy),
            fix_due: health.as_ref().filter(|h| h.breaks_policy).and_then(|h| h.grace_until),
            sboms: sboms
                .iter()
                .filter(|s| plans.iter().flat_map(|p| p.images.iter()).any(|i| i.digest == s.image))
                .map(|s| CatalogSbomView {
                    image: s.image.clone(),
                    platform: s.platform.clone(),
                    digest: s.digest.clone(),
                    size: s.size,
                    url: format!("{base}/sboms/{}", s.digest),
                })
                .collect(),
            signature: SignatureView {
                format: "cosign".into(),
                verify: first.map(|i| format!("cosign verify --key {key_url} {}", i.pinned_reference)),
                key_url,
            },
        };
        let mut versions: Vec<ReleasedVersionView> = self
            .db
            .offer_versions(hit.offer)
            .await?
            .into_iter()
            .filter(|v| matches!(v.status, VersionStatus::Live | VersionStatus::Superseded))
            .map(|v| ReleasedVersionView {
                version: v.version,
                status: v.status.to_string(),
                submitted_at: v.submitted_at,
            })
            .collect();
        versions.sort_by_key(|v| std::cmp::Reverse(v.version));
        let description = listing.description.clone().unwrap_or_default();
        Ok(CatalogListingView {
            publisher: hit.publisher,
            publisher_name: hit.publisher_name,
            offer: hit.offer_id,
            locale,
            locales,
            name: listing.name.clone().unwrap_or_default(),
            summary: listing.summary.clone().unwrap_or_default(),
            short_description: listing.short_description.clone(),
            description_html: wharf_offer::text::render_markdown(&description),
            description,
            keywords: listing.keywords.clone(),
            categories: listing.categories.clone(),
            media: ListingMediaView {
                icons: spec
                    .media
                    .icons
                    .slots()
                    .into_iter()
                    .filter_map(|(slot, d)| Some((slot.to_owned(), format!("{base}/media/{}", d?))))
                    .collect(),
                screenshots: spec
                    .media
                    .screenshots
                    .iter()
                    .filter_map(|s| {
                        Some(ScreenshotView {
                            url: format!("{base}/media/{}", s.image.as_ref()?),
                            caption: s.caption.clone(),
                        })
                    })
                    .collect(),
                videos: spec
                    .media
                    .videos
                    .iter()
                    .map(|v| LinkView {
                        title: v.title.clone().unwrap_or_default(),
                        url: v.url.clone().unwrap_or_default(),
                    })
                    .collect(),
            },
            links: listing
                .useful_links
                .iter()
                .map(|l| LinkView {
                    title: l.title.clone().unwrap_or_default(),
                    url: l.url.clone().unwrap_or_default(),
                })
                .collect(),
            privacy_policy_url: listing.privacy_policy_url.clone(),
            support: listing.support.as_ref().map(|s| SupportView {
                name: s.name.clone(),
                email: s.email.clone(),
                phone: s.phone.clone(),
                url: s.url.clone(),
            }),
            contract: spec.legal.as_ref().and_then(|l| l.contract.clone()),
            terms: spec.legal.as_ref().and_then(|l| l.terms.clone()),
            terms_sha256: wharf_offer::spec::terms_sha256(spec.legal.as_ref()),
            plans,
            security,
            versions,
            version: hit.version,
            live_at: Timestamp::from_millis(hit.live_at),
            listed_at: Timestamp::from_millis(hit.listed_at),
            stop_sold: hit.stop_sold,
        })
    }

    /// One image (icon or screenshot) of a listing's live version.
    pub async fn catalog_media(
        &self,
        actor: Option<&Actor>,
        publisher: &str,
        offer: &str,
        digest: &str,
    ) -> Result<MediaFile, AppError> {
        let viewer = self.viewer(actor)?;
        let hit = self.visible_entry(viewer, publisher, offer).await?;
        let missing = || AppError::NotFound(format!("the listing {publisher}/{offer} has no image {digest}"));
        let version = self.db.offer_version(hit.offer, hit.version).await?.ok_or_else(missing)?;
        let spec: OfferSpec = serde_json::from_str(&version.document)
            .map_err(|e| AppError::Internal(format!("stored version does not parse: {e}")))?;
        if !spec.media.images().any(|i| i == digest) {
            return Err(missing());
        }
        let d: wharf_oci::Digest = digest.parse().map_err(|_| missing())?;
        let org = self.db.org_by_name(&hit.publisher.parse().map_err(|_| missing())?).await?.ok_or_else(missing)?;
        let m = self.db.media(org.id, &d).await?.ok_or_else(missing)?;
        Ok(MediaFile { media_type: m.media_type, bytes: self.blob_bytes(&d).await? })
    }

    /// One SBOM of a listing's live version (CycloneDX JSON).
    pub async fn catalog_sbom(
        &self,
        actor: Option<&Actor>,
        publisher: &str,
        offer: &str,
        digest: &str,
    ) -> Result<Bytes, AppError> {
        let viewer = self.viewer(actor)?;
        let hit = self.visible_entry(viewer, publisher, offer).await?;
        let sboms: Vec<SbomView> = self.stored_sboms(hit.offer, hit.version).await?;
        let sbom = sboms
            .iter()
            .find(|s| s.digest == digest)
            .ok_or_else(|| AppError::NotFound(format!("the listing {publisher}/{offer} has no SBOM {digest}")))?;
        let digest: wharf_oci::Digest = sbom.digest.parse().map_err(|e| AppError::Internal(format!("{e}")))?;
        self.blob_bytes(&digest).await
    }

    /// Builds an offer's catalog entry from version `version` (about to go live).
    pub(crate) async fn catalog_entry(&self, pk: OfferKey, version: i64) -> Result<CatalogEntry, AppError> {
        let offer = self.db.offer_by_key(pk).await?.ok_or_else(|| AppError::NotFound(format!("offer {pk}")))?;
        let org = self
            .db
            .org_by_id(offer.org_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("organization of {pk}")))?;
        let row = self
            .db
            .offer_version(pk, version)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("version {version} of offer {pk}")))?;
        let spec: OfferSpec = serde_json::from_str(&row.document)
            .map_err(|e| AppError::Internal(format!("stored version does not parse: {e}")))?;
        let platforms: Vec<String> = self.stored_sboms(pk, version).await?.into_iter().map(|s| s.platform).collect();
        let publisher_name = org.display_name.clone().unwrap_or_else(|| org.name.to_string());
        Ok(entry_of(&spec, org.id, org.name.as_str(), &publisher_name, offer.offer_id.as_str(), version, &platforms))
    }

    /// Writes the catalog entry of every live version that has none; returns how many.
    pub async fn rebuild_catalog(&self) -> Result<usize, AppError> {
        let missing = self.db.live_versions_not_in_catalog().await?;
        for (pk, version) in &missing {
            let entry = self.catalog_entry(*pk, *version).await?;
            self.db.put_catalog_entry(*pk, &entry).await?;
        }
        Ok(missing.len())
    }

    /// What the actor may see of the catalog.
    fn viewer(&self, actor: Option<&Actor>) -> Result<CatalogViewer, AppError> {
        Ok(match actor {
            None => CatalogViewer::Anonymous,
            Some(a) => {
                a.require(TokenScope::ApiRead)?;
                match a {
                    _ if a.may_platform(PlatformAction::ReadAll) => CatalogViewer::Operator,
                    Actor::User(p) => CatalogViewer::User(p.user_id),
                    Actor::Console => CatalogViewer::Operator,
                }
            }
        })
    }

    async fn visible_entry(
        &self,
        viewer: CatalogViewer,
        publisher: &str,
        offer: &str,
    ) -> Result<wharf_db::catalog::CatalogHit, AppError> {
        self.db
            .catalog_entry(publisher, offer, viewer)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("the catalog has no listing {publisher}/{offer}")))
    }
}

/// The catalog entry a frozen offer document makes.
fn entry_of(
    spec: &OfferSpec,
    publisher_id: wharf_core::OrgId,
    publisher: &str,
    publisher_name: &str,
    offer_id: &str,
    version: i64,
    platforms: &[String],
) -> CatalogEntry {
    let default_locale =
        spec.default_locale.clone().or_else(|| spec.listings.keys().next().cloned()).unwrap_or_else(|| "en-US".into());
    let texts: Vec<CatalogText> = spec
        .listings
        .iter()
        .map(|(locale, l)| CatalogText {
            locale: locale.clone(),
            language: text_search_language(locale).to_owned(),
            name: l.name.clone().unwrap_or_default(),
            summary: l.summary.clone().unwrap_or_default(),
            description: wharf_offer::text::markdown_plain_text(l.description.as_deref().unwrap_or_default()),
            keywords: l.keywords.join(" "),
            publisher: format!("{publisher_name} {publisher}"),
        })
        .collect();
    let sort_name = texts
        .iter()
        .find(|t| t.locale == default_locale)
        .or(texts.first())
        .map(|t| t.name.to_lowercase())
        .unwrap_or_default();
    let mut facets: BTreeSet<(CatalogFacet, String)> = BTreeSet::new();
    for l in spec.listings.values() {
        facets.extend(l.categories.iter().map(|c| (CatalogFacet::Category, c.clone())));
    }
    facets.insert((CatalogFacet::Publisher, publisher.to_owned()));
    let public = |p: &&wharf_offer::spec::Plan| p.visibility.as_deref() != Some("private");
    let counted: Vec<&wharf_offer::spec::Plan> = if spec.plans.iter().any(|p| public(&p)) {
        spec.plans.iter().filter(public).collect()
    } else {
        spec.plans.iter().collect()
    };
    for p in counted {
        let model = p.pricing.as_ref().and_then(|x| x.model.clone()).unwrap_or_else(|| "free".into());
        facets.insert((CatalogFacet::Pricing, model));
        if let Some(kind) = p.deployment.as_ref().and_then(|d| d.kind.clone()) {
            facets.insert((CatalogFacet::Deployment, kind));
        }
    }
    for platform in platforms {
        if let Some(arch) = platform.split('/').nth(1).filter(|a| !a.is_empty()) {
            facets.insert((CatalogFacet::Architecture, arch.to_owned()));
        }
    }
    let plans = spec
        .plans
        .iter()
        .filter_map(|p| {
            Some(CatalogPlan {
                id: p.id.clone()?,
                public: public(&p),
                audience: if public(&p) { Vec::new() } else { p.audience.clone() },
            })
        })
        .collect();
    CatalogEntry {
        publisher_id,
        publisher: publisher.to_owned(),
        publisher_name: publisher_name.to_owned(),
        offer_id: offer_id.to_owned(),
        version,
        default_locale,
        sort_name,
        texts,
        facets: facets.into_iter().collect(),
        plans,
    }
}

/// The text of a cursor (the API encodes it again).
fn cursor_text(c: &CatalogCursor) -> String {
    match c {
        CatalogCursor::Rank(r, o) => format!("r:{r}:{o}"),
        CatalogCursor::Name(n, o) => format!("n:{o}:{n}"),
        CatalogCursor::Newest(t, o) => format!("t:{t}:{o}"),
    }
}

fn parse_cursor(text: &str) -> Result<CatalogCursor, AppError> {
    let bad = || AppError::BadRequest("invalid cursor: pass the next_cursor of the previous page".into());
    let (kind, rest) = text.split_once(':').ok_or_else(bad)?;
    match kind {
        "r" => {
            let (r, o) = rest.rsplit_once(':').ok_or_else(bad)?;
            let r: f64 = r.parse().map_err(|_| bad())?;
            if !r.is_finite() {
                return Err(bad());
            }
            Ok(CatalogCursor::Rank(r, o.parse().map_err(|_| bad())?))
        }
        "n" => {
            let (o, n) = rest.split_once(':').ok_or_else(bad)?;
            Ok(CatalogCursor::Name(n.to_owned(), o.parse().map_err(|_| bad())?))
        }
        "t" => {
            let (t, o) = rest.split_once(':').ok_or_else(bad)?;
            Ok(CatalogCursor::Newest(t.parse().map_err(|_| bad())?, o.parse().map_err(|_| bad())?))
        }
        _ => Err(bad()),
    }
}

/// The facet counts as a search shows them (`counts` by facet, most frequent first):
/// per facet its [`FACET_VALUES`] most frequent values and every value `filters` name,
/// with how many others there are (a publisher facet can have thousands).
fn facet_views(counts: Vec<(CatalogFacet, String, u64)>, filters: &[(CatalogFacet, Vec<String>)]) -> Vec<FacetView> {
    let mut facets: Vec<FacetView> = Vec::new();
    for (facet, value, count) in counts {
        let chosen = || filters.iter().any(|(f, vs)| *f == facet && vs.contains(&value));
        let view = match facets.last_mut() {
            Some(f) if f.facet == facet => f,
            _ => {
                facets.push(FacetView { facet, values: Vec::new(), more: 0 });
                facets.last_mut().expect("just pushed")
            }
        };
        match view.values.len() < FACET_VALUES || chosen() {
            true => view.values.push(FacetValueView { value, count }),
            false => view.more += 1,
        }
    }
    facets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facets_list_the_most_frequent_values_and_the_chosen_ones() {
        use CatalogFacet::{Category, Publisher};
        // Publishers p000..p079 with falling counts, one category.
        let mut counts: Vec<(CatalogFacet, String, u64)> = vec![(Category, "db".into(), 80)];
        counts.extend((0..80u64).map(|i| (Publisher, format!("p{i:03}"), 100 - i)));
        let filters = vec![(Publisher, vec!["p070".to_owned()])];
        let views = facet_views(counts, &filters);
        assert_eq!((views[0].values.len(), views[0].more), (1, 0));
        let shown: Vec<&str> = views[1].values.iter().map(|v| v.value.as_str()).collect();
        assert_eq!(shown.len(), FACET_VALUES + 1);
        assert_eq!((shown[0], shown[FACET_VALUES - 1], shown[FACET_VALUES]), ("p000", "p049", "p070"));
        assert_eq!(views[1].more, 80 - FACET_VALUES as u64 - 1);
    }

    #[test]
    fn cursors_round_trip() {
        for c in [
            CatalogCursor::Rank(-1.234_567_890_123e-7, 42),
            CatalogCursor::Name("kafka: streams".into(), 7),
            CatalogCursor::Newest(1_700_000_000_000, 9),
        ] {
            assert_eq!(parse_cursor(&cursor_text(&c)).unwrap(), c);
        }
        for bad in ["", "x:1", "r:NaN:1", "r:inf:1", "n:x:y", "t:1"] {
            assert!(parse_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_entry_holds_every_locale_and_facet() {
        let spec: OfferSpec = serde_json::from_value(serde_json::json!({
            "default_locale": "en-US",
            "listings": {
                "en-US": {"name": "Fast DB", "summary": "A fast one.", "description": "# Fast\n**very**",
                          "keywords": ["db", "kv"], "categories": ["databases"]},
                "nl-NL": {"name": "Snelle DB", "summary": "Een snelle.", "categories": ["databases", "storage"]}
            },
            "plans": [
                {"id": "free", "pricing": {"model": "free"}, "deployment": {"kind": "container"}},
                {"id": "gold", "visibility": "private", "audience": ["fabrikam"],
                 "pricing": {"model": "per_core_hour"}, "deployment": {"kind": "kubernetes"}}
            ]
        }))
        .unwrap();
        let platforms = ["linux/amd64".to_owned(), "linux/arm64/v8".to_owned()];
        let e = entry_of(&spec, wharf_core::OrgId(1), "contoso", "Contoso Ltd", "fastdb", 2, &platforms);
        assert_eq!(e.sort_name, "fast db");
        assert_eq!(e.texts.len(), 2);
        assert_eq!(e.texts[1].language, "dutch");
        assert_eq!(e.texts[0].description, "Fast very");
        assert_eq!(e.texts[0].publisher, "Contoso Ltd contoso");
        let f: Vec<String> = e.facets.iter().map(|(f, v)| format!("{f}={v}")).collect();
        assert_eq!(
            f,
            [
                "category=databases",
                "category=storage",
                "publisher=contoso",
                "pricing=free",
                "architecture=amd64",
                "architecture=arm64",
                "deployment=container"
            ]
        );
        assert_eq!(e.plans[1], CatalogPlan { id: "gold".into(), public: false, audience: vec!["fabrikam".into()] });
    }
}
