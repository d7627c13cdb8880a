//! Offers as code: drafts (one document, replaced whole under a revision), Submit
//! (every prerequisite checked, the document frozen as a version with each tag
//! resolved to its digest), the lifecycle (cancel, stop-sell, resume, per plan too),
//! versions, comparisons, history, and listing images. An offer of an organization
//! the actor may not read does not exist for them.

mod check;
mod media;

pub use media::MediaFile;

use std::str::FromStr;

use wharf_api_types::{
    Comparison, EventView, FieldError, OfferView, SaveResult, SubmitResult, VersionSummary, VersionView,
};
use wharf_core::{OfferEvent, OfferId, OfferKey, OrgAction, PlanId, TokenScope, VersionStatus};
use wharf_db::offers::{OfferRow, OfferWriteError, VersionRow};
use wharf_db::orgs::Org;
use wharf_offer::parse::{Format, parse};
use wharf_offer::rules::Stage;
use wharf_offer::{OfferSpec, Problems};

use crate::{Actor, App, AppError, Listed, Paging, views};

/// A change of an offer's lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferChange {
    /// Cancel the version being published, before the publisher's sign-off.
    Cancel,
    /// Hide a live offer from new customers; existing subscriptions keep working.
    StopSell,
    /// Sell a stop-sold offer again.
    Resume,
    /// Stop-sell one plan of the live version while the offer sells others.
    StopSellPlan(PlanId),
    /// Sell a stop-sold plan again.
    ResumePlan(PlanId),
}

/// What to compare the draft with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareWith {
    /// The live version (none: everything is added).
    Live,
    /// The version in preview.
    Preview,
    /// A version by number.
    Version(i64),
}

impl FromStr for CompareWith {
    type Err = String;

    fn from_str(s: &str) -> Result<CompareWith, String> {
        match s {
            "live" => Ok(CompareWith::Live),
            "preview" => Ok(CompareWith::Preview),
            n => n
                .parse::<i64>()
                .map(CompareWith::Version)
                .map_err(|_| format!("with must be live, preview or a version number (got {s:?})")),
        }
    }
}

impl std::fmt::Display for CompareWith {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompareWith::Live => f.write_str("live"),
            CompareWith::Preview => f.write_str("preview"),
            CompareWith::Version(n) => write!(f, "{n}"),
        }
    }
}

/// An offer document as it arrived: JSON or YAML text. Unknown fields are reported
/// together with the rules' problems.
#[derive(Debug, Clone, Copy)]
pub struct Document<'a> {
    /// The text.
    pub bytes: &'a [u8],
    /// JSON or YAML.
    pub format: Format,
}

impl Document<'_> {
    fn parse(self) -> Result<(OfferSpec, Problems), AppError> {
        parse::<OfferSpec>(self.bytes, self.format).map_err(|p| AppError::Invalid(field_errors(&p)))
    }
}

/// A saved draft: the offer, its revision now, whether anything changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    /// The offer id.
    pub offer: String,
    /// The publisher.
    pub publisher: String,
    /// The answer.
    pub result: SaveResult,
}

/// The document as stored (JSON text) back as a document.
fn stored(text: &str, what: &str) -> Result<OfferSpec, AppError> {
    serde_json::from_str(text).map_err(|e| AppError::Internal(format!("stored {what} does not parse: {e}")))
}

fn to_json(spec: &OfferSpec) -> Result<String, AppError> {
    serde_json::to_string(spec).map_err(|e| AppError::Internal(e.to_string()))
}

pub(crate) fn write_error(e: OfferWriteError) -> AppError {
    match e {
        OfferWriteError::RevisionMismatch { expected, current } => AppError::PreconditionFailed(format!(
            "the draft changed since revision {expected} (it is at revision {current}): get it again, reapply your change and send it with If-Match: \"r{current}\""
        )),
        OfferWriteError::NotFound => AppError::NotFound("the offer no longer exists".into()),
        OfferWriteError::WrongState(m) => AppError::Conflict(m),
        OfferWriteError::Db(db) => db.into(),
    }
}

/// The rules' problems as field errors.
fn field_errors(problems: &Problems) -> Vec<FieldError> {
    problems.all().iter().map(|p| FieldError::new(&p.path.pointer(), &p.message)).collect()
}

fn view_of(org: &Org, row: &OfferRow, versions: &[VersionRow]) -> OfferView {
    OfferView {
        id: row.offer_id.to_string(),
        publisher: org.name.to_string(),
        state: row.state,
        state_label: row.state.label().to_owned(),
        revision: row.revision,
        stopped_plans: row.stopped_plans.iter().map(ToString::to_string).collect(),
        live_version: versions.iter().find(|v| v.status == VersionStatus::Live).map(|v| v.version),
        versions: versions.iter().map(views::version).collect(),
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

impl App {
    /// The organization and offer an actor names, after checking `action`.
    pub(crate) async fn offer_for(
        &self,
        actor: &Actor,
        org: &str,
        offer: &str,
        action: OrgAction,
    ) -> Result<(Org, OfferRow), AppError> {
        let (org, _) = self.org_for(actor, org, action).await?;
        let missing = || AppError::NotFound(format!("organization {} has no offer {offer:?}", org.name));
        let id: OfferId = offer.parse().map_err(|_| missing())?;
        let row = self.db.offer(org.id, &id).await?.ok_or_else(missing)?;
        Ok((org, row))
    }

    /// The documents of the versions that count as earlier for the rules between
    /// versions: every submitted one but the cancelled, oldest first.
    async fn earlier_versions(&self, pk: OfferKey) -> Result<Vec<(i64, OfferSpec)>, AppError> {
        let mut out = Vec::new();
        for v in self.db.offer_versions(pk).await?.iter().rev() {
            if v.status != VersionStatus::Cancelled {
                out.push((v.version, stored(&v.document, "version")?));
            }
        }
        Ok(out)
    }

    pub(crate) async fn offer_view(&self, org: &Org, row: &OfferRow) -> Result<OfferView, AppError> {
        Ok(view_of(org, row, &self.db.offer_versions(row.pk).await?))
    }

    /// The marketplace's categories (the operator's taxonomy).
    pub fn categories(&self, actor: &Actor) -> Result<Vec<String>, AppError> {
        actor.require(TokenScope::ApiRead)?;
        Ok(self.categories.as_ref().clone())
    }

    /// An organization's offers, by id.
    pub async fn list_offers(&self, actor: &Actor, org: &str, paging: &Paging) -> Result<Listed<OfferView>, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (org, _) = self.org_for(actor, org, OrgAction::ReadOffers).await?;
        let rows = self.db.list_offers(org.id, paging.after.as_deref(), paging.fetch()).await?;
        let pks: Vec<OfferKey> = rows.iter().map(|r| r.pk).collect();
        let versions = self.db.versions_of_offers(&pks).await?;
        let views = rows
            .iter()
            .map(|r| {
                let mine: Vec<VersionRow> =
                    versions.iter().filter(|(pk, _)| *pk == r.pk).map(|(_, v)| v.clone()).collect();
                view_of(&org, r, &mine)
            })
            .collect();
        Ok(Listed::from_rows(views, paging, |o| o.id.clone()))
    }

    /// Creates an offer from a document (its draft). Every problem is reported at
    /// once; missing fields are fine until Submit.
    pub async fn create_offer(&self, actor: &Actor, org: &str, document: Document<'_>) -> Result<Saved, AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let (org, _) = self.org_for(actor, org, OrgAction::EditOffers).await?;
        let (mut spec, problems) = document.parse()?;
        let Some(id) = spec.id.clone() else {
            return Err(AppError::field("/id", "is required to create an offer"));
        };
        let offer_id: OfferId = id.parse().map_err(|e| AppError::field("/id", e))?;
        let warnings =
            check::check(self, &org, offer_id.as_str(), &mut spec, Stage::Draft, &[], problems).await?.into_result()?;
        let plans = check::plan_ids(&spec);
        let row = self.db.create_offer(org.id, &offer_id, &to_json(&spec)?, &plans, &actor.name()).await?;
        tracing::info!(org.name = %org.name, offer.id = %offer_id, by = %actor.name(), "offer created");
        Ok(Saved {
            offer: offer_id.to_string(),
            publisher: org.name.to_string(),
            result: SaveResult { revision: row.revision, changed: true, warnings },
        })
    }

    /// One offer: state, revision and versions.
    pub async fn offer(&self, actor: &Actor, org: &str, offer: &str) -> Result<OfferView, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (org, row) = self.offer_for(actor, org, offer, OrgAction::ReadOffers).await?;
        self.offer_view(&org, &row).await
    }

    /// The draft document and its revision. The lead secret shows as its SHA-256.
    pub async fn draft(&self, actor: &Actor, org: &str, offer: &str) -> Result<(OfferSpec, i64), AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (_, row) = self.offer_for(actor, org, offer, OrgAction::ReadOffers).await?;
        Ok((stored(&row.draft, "draft")?.redacted(), row.revision))
    }

    /// Replaces the draft, which must still be at revision `expected` (`None`: the
    /// caller did not say, which is refused so that concurrent edits are not lost).
    /// Every problem is reported at once and nothing is stored unless there is none.
    /// The same document again changes nothing.
    pub async fn put_draft(
        &self,
        actor: &Actor,
        org: &str,
        offer: &str,
        expected: Option<i64>,
        document: Document<'_>,
    ) -> Result<SaveResult, AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let (org, row) = self.offer_for(actor, org, offer, OrgAction::EditOffers).await?;
        let Some(expected) = expected else {
            return Err(AppError::PreconditionRequired(format!(
                "send If-Match with the draft's ETag (it is \"r{}\"; GET the draft to see it) so that concurrent edits are not lost",
                row.revision
            )));
        };
        if expected != row.revision {
            return Err(write_error(OfferWriteError::RevisionMismatch { expected, current: row.revision }));
        }
        let (mut spec, problems) = document.parse()?;
        let current = stored(&row.draft, "draft")?;
        check::keep_secret(&mut spec, &current);
        let earlier = self.earlier_versions(row.pk).await?;
        let warnings = check::check(self, &org, row.offer_id.as_str(), &mut spec, Stage::Draft, &earlier, problems)
            .await?
            .into_result()?;
        if spec == current {
            return Ok(SaveResult { revision: row.revision, changed: false, warnings });
        }
        let (before, after) = (check::plan_ids(&current), check::plan_ids(&spec));
        let mut events: Vec<(OfferEvent, Option<String>)> = Vec::new();
        events.extend(
            after.iter().filter(|p| !before.contains(p)).map(|p| (OfferEvent::PlanCreated, Some(p.to_string()))),
        );
        events.extend(
            before.iter().filter(|p| !after.contains(p)).map(|p| (OfferEvent::PlanDeleted, Some(p.to_string()))),
        );
        let saved = self
            .db
            .update_draft(row.pk, expected, &to_json(&spec)?, &events, &actor.name())
            .await
            .map_err(write_error)?;
        tracing::info!(org.name = %org.name, offer.id = %row.offer_id, revision = saved.revision, by = %actor.name(), "offer draft saved");
        Ok(SaveResult { revision: saved.revision, changed: true, warnings })
    }

    /// Submits the draft: validates every prerequisite (required fields in every
    /// locale, media, images resolvable, tag rules, unique plan ids, audiences), then
    /// freezes it as a new version with each tag resolved to its digest. When
    /// `expected` is given, the draft must still be at that revision.
    pub async fn submit(
        &self,
        actor: &Actor,
        org: &str,
        offer: &str,
        expected: Option<i64>,
    ) -> Result<SubmitResult, AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let started = std::time::Instant::now();
        let (org, row) = self.offer_for(actor, org, offer, OrgAction::PublishOffers).await?;
        if let Some(e) = expected
            && e != row.revision
        {
            return Err(write_error(OfferWriteError::RevisionMismatch { expected: e, current: row.revision }));
        }
        let mut spec = stored(&row.draft, "draft")?;
        let earlier = self.earlier_versions(row.pk).await?;
        let warnings =
            check::check(self, &org, row.offer_id.as_str(), &mut spec, Stage::Submit, &earlier, Problems::new())
                .await?
                .into_result()?;
        let images: Vec<_> =
            crate::pipeline::frozen_images(&spec)?.into_iter().map(|i| (i.repository, i.digest)).collect();
        let frozen = wharf_db::offers::Frozen { images: &images, audience: &spec.preview_audience };
        // The certification job is queued with the version, in one transaction.
        let (pk, publisher) = (row.pk, org.name.to_string());
        let certify = move |version: i64| {
            let job = crate::pipeline::CertifyVersion { offer: pk, version, publisher: publisher.clone() };
            let key = crate::pipeline::certify_key(&job);
            wharf_jobs::new_job(&job, Some(&key)).expect("a job's payload serializes")
        };
        let (offer_row, version) = self
            .db
            .submit_version(
                row.pk,
                Some(expected.unwrap_or(row.revision)),
                &to_json(&spec)?,
                frozen,
                Some(&certify),
                &actor.name(),
            )
            .await
            .map_err(write_error)?;
        wharf_jobs::queued();
        let validated_in_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::info!(org.name = %org.name, offer.id = %row.offer_id, version = version.version, validated_in_ms, by = %actor.name(), "offer submitted");
        Ok(SubmitResult { version: views::version(&version), state: offer_row.state, warnings, validated_in_ms })
    }

    /// Changes an offer's lifecycle (publishers).
    pub async fn change_offer(
        &self,
        actor: &Actor,
        org: &str,
        offer: &str,
        change: OfferChange,
    ) -> Result<OfferView, AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let (org, row) = self.offer_for(actor, org, offer, OrgAction::PublishOffers).await?;
        let who = actor.name();
        let changed = match &change {
            OfferChange::Cancel => self.db.cancel_submission(row.pk, &who).await.map(|(r, _)| r),
            OfferChange::StopSell => self.db.set_offer_selling(row.pk, true, &who).await,
            OfferChange::Resume => self.db.set_offer_selling(row.pk, false, &who).await,
            OfferChange::StopSellPlan(plan) | OfferChange::ResumePlan(plan) => {
                let stop = matches!(change, OfferChange::StopSellPlan(_));
                let plans = self.live_plans(&row).await?;
                self.db.set_plan_selling(row.pk, plan, &plans, stop, &who).await
            }
        }
        .map_err(write_error)?;
        tracing::info!(org.name = %org.name, offer.id = %row.offer_id, state = %changed.state, by = %who, "offer lifecycle changed");
        self.offer_view(&org, &changed).await
    }

    /// The plan ids of the live version (none without one).
    async fn live_plans(&self, row: &OfferRow) -> Result<Vec<PlanId>, AppError> {
        for v in self.db.offer_versions(row.pk).await? {
            if v.status == VersionStatus::Live {
                return Ok(check::plan_ids(&stored(&v.document, "version")?));
            }
        }
        Ok(Vec::new())
    }

    /// Every version, newest first.
    pub async fn versions(&self, actor: &Actor, org: &str, offer: &str) -> Result<Vec<VersionSummary>, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (_, row) = self.offer_for(actor, org, offer, OrgAction::ReadOffers).await?;
        Ok(self.db.offer_versions(row.pk).await?.iter().map(views::version).collect())
    }

    /// One version with its frozen document.
    pub async fn version(&self, actor: &Actor, org: &str, offer: &str, version: i64) -> Result<VersionView, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (_, row) = self.offer_for(actor, org, offer, OrgAction::ReadOffers).await?;
        let v = self
            .db
            .offer_version(row.pk, version)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("offer {offer:?} has no version \"{version}\"")))?;
        Ok(VersionView { summary: views::version(&v), document: stored(&v.document, "version")?.redacted() })
    }

    /// The draft against the live version, the version in preview, or any version:
    /// every added, removed and changed field.
    pub async fn compare(
        &self,
        actor: &Actor,
        org: &str,
        offer: &str,
        with: CompareWith,
    ) -> Result<Comparison, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (_, row) = self.offer_for(actor, org, offer, OrgAction::ReadOffers).await?;
        let versions = self.db.offer_versions(row.pk).await?;
        let base = match with {
            CompareWith::Live => versions.iter().find(|v| v.status == VersionStatus::Live),
            CompareWith::Preview => versions.iter().find(|v| v.status == VersionStatus::Preview),
            CompareWith::Version(n) => Some(
                versions
                    .iter()
                    .find(|v| v.version == n)
                    .ok_or_else(|| AppError::NotFound(format!("offer {offer:?} has no version {n}")))?,
            ),
        };
        let plain = |mut s: OfferSpec| {
            for plan in &mut s.plans {
                for image in &mut plan.images {
                    image.digests.clear();
                }
            }
            serde_json::to_value(s.redacted()).unwrap_or_default()
        };
        let draft = plain(stored(&row.draft, "draft")?);
        let base_doc = match base {
            Some(v) => plain(stored(&v.document, "version")?),
            None => serde_json::json!({}),
        };
        Ok(Comparison {
            base: with.to_string(),
            base_version: base.map(|v| v.version),
            changes: wharf_offer::diff::diff(&base_doc, &draft),
        })
    }

    /// The offer's history: who did what and when, oldest first.
    pub async fn history(
        &self,
        actor: &Actor,
        org: &str,
        offer: &str,
        paging: &Paging,
    ) -> Result<Listed<EventView>, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (_, row) = self.offer_for(actor, org, offer, OrgAction::ReadOffers).await?;
        let after = match &paging.after {
            None => 0,
            Some(a) => a.parse().map_err(|_| AppError::BadRequest("invalid cursor".into()))?,
        };
        let events = self.db.offer_events(row.pk, after, paging.fetch()).await?;
        let views = events
            .into_iter()
            .map(|e| EventView {
                id: e.id,
                kind: e.kind,
                label: e.kind.label().to_owned(),
                detail: e.detail,
                actor: e.actor,
                at: e.at,
            })
            .collect();
        Ok(Listed::from_rows(views, paging, |e| e.id.to_string()))
    }
}
