//! Offer documents against the server's data: the checks `wharf-offer` cannot make
//! alone (uploaded media, repositories and tags, tenants, earlier versions), tag
//! resolution at Submit, and the write-only lead secret.

use std::collections::BTreeSet;

use wharf_api_types::FieldError;
use wharf_core::{OrgKind, OrgName, PlanId};
use wharf_db::orgs::Org;
use wharf_oci::{Digest, RepositoryName};
use wharf_offer::media::ImageSlot;
use wharf_offer::rules::{self, Context, Stage};
use wharf_offer::{FieldPath, OfferSpec, Problems, Severity};

use crate::{App, AppError};

/// The outcome of checking a document: its errors and warnings.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    pub errors: Vec<FieldError>,
    pub warnings: Vec<FieldError>,
}

impl Checked {
    fn from_problems(p: &Problems) -> Checked {
        let mut c = Checked::default();
        for problem in p.all() {
            let e = FieldError::new(&problem.path.pointer(), &problem.message);
            match problem.severity {
                Severity::Error => c.errors.push(e),
                Severity::Warning => c.warnings.push(e),
            }
        }
        c
    }

    /// Fails with every error, if there is any.
    pub fn into_result(self) -> Result<Vec<FieldError>, AppError> {
        if self.errors.is_empty() { Ok(self.warnings) } else { Err(AppError::Invalid(self.errors)) }
    }
}

/// Fills `id` and `publisher` from the URL when the document leaves them out, and
/// refuses a document naming another offer or publisher (both are fixed).
pub(crate) fn bind_identity(spec: &mut OfferSpec, org: &Org, offer_id: &str, problems: &mut Problems) {
    let root = FieldPath::root();
    match &spec.id {
        None => spec.id = Some(offer_id.to_owned()),
        Some(id) if id != offer_id => problems.error(
            &root.key("id"),
            format!("cannot change: this is offer {offer_id:?} (an offer id is fixed once created)"),
        ),
        Some(_) => {}
    }
    match &spec.publisher {
        None => spec.publisher = Some(org.name.to_string()),
        Some(p) if p != org.name.as_str() => problems.error(
            &root.key("publisher"),
            format!("cannot change: the offer belongs to {} (the publisher is fixed)", org.name),
        ),
        Some(_) => {}
    }
}

/// Runs every check of `stage` on `spec` for offer `offer_id` of `org`: the document
/// rules, uploaded media, the rules between versions, and for Submit the
/// repositories, tags and tenants. At Submit every tag is resolved to its digest in
/// `spec` (the frozen version keeps those digests whatever the tags do later).
pub(crate) async fn check(
    app: &App,
    org: &Org,
    offer_id: &str,
    spec: &mut OfferSpec,
    stage: Stage,
    earlier: &[(i64, OfferSpec)],
    mut problems: Problems,
) -> Result<Checked, AppError> {
    bind_identity(spec, org, offer_id, &mut problems);
    let ctx = Context { categories: Some(&app.categories), media_paths_allowed: false };
    let found = rules::check(spec, &ctx, stage);
    let flagged: BTreeSet<FieldPath> = found.all().iter().map(|p| p.path.clone()).collect();
    problems.extend(found);
    for (path, reference, slot) in rules::media_refs(spec) {
        if flagged.contains(&path) {
            continue;
        }
        let Ok(digest) = reference.parse::<Digest>() else { continue };
        match app.db.media(org.id, &digest).await? {
            None => problems.error(
                &path,
                format!("no image {digest} was uploaded to {} (POST /api/v1/orgs/{}/media)", org.name, org.name),
            ),
            Some(m) => {
                let (w, h) = slot.size();
                if (m.width, m.height) != (w, h) {
                    let what = if slot == ImageSlot::Screenshot { "a screenshot" } else { "this icon" };
                    problems.error(
                        &path,
                        format!("must be {w}×{h} pixels for {what} (the uploaded image is {}×{})", m.width, m.height),
                    );
                }
            }
        }
    }
    // A lead destination must be an address webhooks may reach (checked again on the
    // resolved addresses at every delivery).
    let lead_url = FieldPath::root().key("lead_destination").key("url");
    if let Some(url) = spec.lead_destination.as_ref().and_then(|l| l.url.as_deref())
        && !flagged.contains(&lead_url)
    {
        let checked = url
            .parse::<wharf_webhook::Destination>()
            .map_err(|e| e.to_string())
            .and_then(|d| app.webhooks.policy.check(&d).map_err(|e| e.to_string()));
        if let Err(why) = checked {
            problems.error(&lead_url, why);
        }
    }
    problems.extend(wharf_offer::versions::check_against_earlier(spec, earlier));
    if stage == Stage::Submit {
        resolve_tags(app, org, spec, &flagged, &mut problems).await?;
        check_tenants(app, spec, &mut problems).await?;
        if problems.all().iter().all(|p| p.severity != Severity::Error) {
            check_renderings(app, org, spec, &mut problems);
        }
    }
    Ok(Checked::from_problems(&problems))
}

async fn resolve_tags(
    app: &App,
    org: &Org,
    spec: &mut OfferSpec,
    flagged: &BTreeSet<FieldPath>,
    problems: &mut Problems,
) -> Result<(), AppError> {
    for (i, plan) in spec.plans.iter_mut().enumerate() {
        for (j, image) in plan.images.iter_mut().enumerate() {
            image.digests.clear();
            let here = FieldPath::root().key("plans").index(i).key("images").index(j);
            let Some(name) = image.repository.as_deref().and_then(|r| r.parse::<RepositoryName>().ok()) else {
                continue;
            };
            if name.namespace() != org.name.as_str() || flagged.contains(&here.key("repository")) {
                continue;
            }
            let Some(repo) = app.db.repository(&name).await? else {
                problems.error(
                    &here.key("repository"),
                    format!("repository {name} does not exist in the registry: push the image first"),
                );
                continue;
            };
            for (k, tag) in image.tags.iter().enumerate() {
                let path = here.key("tags").index(k);
                if flagged.contains(&path) {
                    continue;
                }
                match app.db.manifest_by_tag(repo.id, tag).await? {
                    Some(m) => {
                        image.digests.insert(tag.clone(), m.digest.to_string());
                    }
                    None => {
                        problems.error(&path, format!("{name}:{tag} does not exist in the registry: push it first"))
                    }
                }
            }
        }
    }
    Ok(())
}

/// Renders each plan's deployment with sample values, as a customer's would be: what
/// cannot be rendered into something valid (Kubernetes objects the API does not take,
/// images the marketplace would not pin) is the publisher's to fix now, not a
/// customer's to find.
fn check_renderings(app: &App, org: &Org, spec: &OfferSpec, problems: &mut Problems) {
    let offer = spec.id.clone().unwrap_or_default();
    for (i, plan) in spec.plans.iter().enumerate() {
        let Some(d) = &plan.deployment else { continue };
        let plan_id = plan.id.clone().unwrap_or_default();
        let images: std::collections::BTreeMap<String, String> = plan
            .images
            .iter()
            .filter_map(|image| {
                let repo = image.repository.clone()?;
                let digest = image.digests.values().next()?;
                let leaf = repo.rsplit('/').next().unwrap_or(&repo).to_owned();
                let pinned =
                    format!("{}/mp/{}/{offer}/{plan_id}/{leaf}@{digest}", app.marketplace.registry_host, org.name);
                Some((repo, pinned))
            })
            .collect();
        let target = wharf_deploy::Target {
            registry: &app.marketplace.registry_host,
            images: &images,
            name: "check",
            credential: Some(("user", "password")),
        };
        let samples = wharf_deploy::values::samples(&wharf_deploy::parameters(d));
        if let Err(wharf_deploy::DeployError::Template(found)) = wharf_deploy::render_with(d, &samples, &target) {
            let path = FieldPath::root().key("plans").index(i).key("deployment").key("template");
            for why in found {
                problems.error(&path, format!("cannot be rendered for customers: {why}"));
            }
        }
    }
}

async fn check_tenants(app: &App, spec: &OfferSpec, problems: &mut Problems) -> Result<(), AppError> {
    let mut lists: Vec<(FieldPath, &[String])> =
        vec![(FieldPath::root().key("preview_audience"), &spec.preview_audience)];
    for (i, plan) in spec.plans.iter().enumerate() {
        lists.push((FieldPath::root().key("plans").index(i).key("audience"), &plan.audience));
    }
    for (path, list) in lists {
        for (i, tenant) in list.iter().enumerate() {
            let Ok(name) = tenant.parse::<OrgName>() else { continue };
            match app.db.org_by_name(&name).await? {
                Some(o) if o.kind == OrgKind::Customer => {}
                _ => problems.error(&path.index(i), format!("no customer organization named {tenant:?}")),
            }
        }
    }
    Ok(())
}

/// A document sent back without its secret (as [`redact`] showed it) keeps the
/// stored secret when the hash still matches.
pub(crate) fn keep_secret(new: &mut OfferSpec, stored: &OfferSpec) {
    let stored_secret = stored.lead_destination.as_ref().and_then(|l| l.secret.clone());
    if let (Some(lead), Some(secret)) = (&mut new.lead_destination, stored_secret)
        && lead.secret.is_none()
        && lead.secret_sha256.as_deref() == Some(wharf_offer::spec::secret_sha256(&secret).as_str())
    {
        lead.secret = Some(secret);
    }
    if let Some(lead) = &mut new.lead_destination {
        lead.secret_sha256 = None;
    }
}

/// Plan ids of a document, in order.
pub(crate) fn plan_ids(spec: &OfferSpec) -> Vec<PlanId> {
    // The rules refuse a document with an invalid plan id before anything is stored.
    spec.plans.iter().filter_map(|p| p.id.as_deref()?.parse().ok()).collect()
}
