//! The catalog: a projection of each offer's live version, for customers to find.
//!
//! [`project`] writes an offer's entry in the transaction that makes a version live;
//! stop-sell, resume and regrading keep it in step in their own transactions, so the
//! catalog never shows a state the offer is not in. Searching is the one place where
//! the dialects differ in more than DDL (a named exception to "one SQL text"):
//! SQLite matches with FTS5 (`catalog_fts`, ranked by `bm25`), PostgreSQL with its
//! text search (`catalog_texts.search`, a GIN index, ranked by `ts_rank`, each
//! locale stemmed in its own language). Both receive only the words
//! [`wharf_core::SearchText`] kept, never the reader's query text.
//!
//! `testing` (feature `testing`): the whole search in SQL, the oracle of the server's
//! in-memory index in tests and the benchmark's yardstick, and a bulk loader.

use sqlx::any::AnyRow;
use wharf_core::{CatalogFacet, CatalogSort, OfferKey, OrgId, PlanId, UserId};

use crate::error::parse_stored;
use crate::offers::Tx;
use crate::pool::col;
use crate::{Db, DbError};

#[cfg(feature = "testing")]
mod testing;
mod text;

#[cfg(feature = "testing")]
pub use testing::{CatalogResults, CatalogSearch};
pub use text::CatalogMatches;
#[cfg(feature = "testing")]
use text::{SQLITE_RANK, fts5_query, pg_matches, tsquery};

/// One offer's catalog entry, as its live version describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    /// The publisher organization.
    pub publisher_id: OrgId,
    /// Its name.
    pub publisher: String,
    /// Its display name.
    pub publisher_name: String,
    /// The offer id.
    pub offer_id: String,
    /// The live version.
    pub version: i64,
    /// The locale shown when none the reader accepts is there.
    pub default_locale: String,
    /// The default locale's name, case-folded: the name sort's key.
    pub sort_name: String,
    /// The listing's searchable text, per locale.
    pub texts: Vec<CatalogText>,
    /// Facet values (category, pricing, architecture, …; the grade is the database's:
    /// the version's health as it stands).
    pub facets: Vec<(CatalogFacet, String)>,
    /// The plans, whether each is public, and the customer organizations (names) a
    /// private one is for.
    pub plans: Vec<CatalogPlan>,
}

/// A listing's searchable text in one locale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogText {
    /// The BCP 47 tag, as the publisher wrote it.
    pub locale: String,
    /// PostgreSQL's text search configuration for its language.
    pub language: String,
    /// The offer's name.
    pub name: String,
    /// Its summary.
    pub summary: String,
    /// Its description as plain text.
    pub description: String,
    /// Its keywords, space-separated.
    pub keywords: String,
    /// The publisher's display name and organization name.
    pub publisher: String,
}

/// A plan of the live version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogPlan {
    /// The plan id.
    pub id: String,
    /// Whether every customer sees it.
    pub public: bool,
    /// The customer organizations (names) a private plan is for.
    pub audience: Vec<String>,
}

/// Who is looking: what the catalog shows depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogViewer {
    /// Not signed in: public plans of offers on sale.
    Anonymous,
    /// A signed-in user: also the offers their organizations have private plans of,
    /// and their own organizations' offers (stop-sold ones too).
    User(UserId),
    /// An operator: everything.
    Operator,
}

/// Where a page of results starts: after this result.
#[derive(Debug, Clone, PartialEq)]
pub enum CatalogCursor {
    /// After (rank, offer) in relevance order.
    Rank(f64, i64),
    /// After (sort name, offer) in name order.
    Name(String, i64),
    /// After (live since, offer) in newest-first order.
    Newest(i64, i64),
}

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogHit {
    /// The offer.
    pub offer: OfferKey,
    /// The publisher organization's name.
    pub publisher: String,
    /// Its display name.
    pub publisher_name: String,
    /// The offer id.
    pub offer_id: String,
    /// The live version.
    pub version: i64,
    /// The default locale.
    pub default_locale: String,
    /// The name sort's key.
    pub sort_name: String,
    /// The health grade.
    pub grade: Option<String>,
    /// Whether the offer is stop-sold (only its subscribers, publisher and operators see it).
    pub stop_sold: bool,
    /// When the offer first went live.
    pub listed_at: i64,
    /// When the live version did.
    pub live_at: i64,
    /// Its rank (smaller is better; 0 without words).
    pub rank: f64,
}

impl CatalogHit {
    /// The cursor for the page after this result, in `sort` order.
    pub fn cursor(&self, sort: CatalogSort) -> CatalogCursor {
        match sort {
            CatalogSort::Relevance => CatalogCursor::Rank(self.rank, self.offer.0),
            CatalogSort::Name => CatalogCursor::Name(self.sort_name.clone(), self.offer.0),
            CatalogSort::Newest => CatalogCursor::Newest(self.live_at, self.offer.0),
        }
    }
}

/// An entry as a node's in-memory index holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexRow {
    /// The offer.
    pub offer: OfferKey,
    /// The publisher organization.
    pub publisher_id: OrgId,
    /// The name sort's key.
    pub sort_name: String,
    /// When the live version went live.
    pub live_at: i64,
    /// A public plan is on sale.
    pub public: bool,
    /// The offer is stop-sold.
    pub stop_sold: bool,
    /// Facet values, the grade included.
    pub facets: Vec<(CatalogFacet, String)>,
    /// The customer organizations with a private plan on sale.
    pub audience: Vec<OrgId>,
    /// The text search configurations of its locales.
    pub languages: Vec<String>,
}

/// Where the catalog stands: its change sequence and its deletion epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CatalogState {
    /// Bumped by every change.
    pub seq: i64,
    /// Bumped by every deletion of entries.
    pub epoch: i64,
}

/// Writes an offer's entry (replacing what it had), in the caller's transaction.
/// `stopped_plans` are the offer's stop-sold plans; `stop_sold` whether the offer is.
pub(crate) async fn project(
    tx: &mut Tx,
    pk: OfferKey,
    entry: &CatalogEntry,
    stop_sold: bool,
    stopped_plans: &[PlanId],
    now: i64,
) -> Result<(), DbError> {
    for table in ["catalog_audience", "catalog_plans", "catalog_facets", "catalog_texts"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE offer = $1")))
            .bind(pk.0)
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO catalog_items (offer, publisher_id, publisher, publisher_name, offer_id, version, default_locale, \
           sort_name, grade, public, stop_sold, listed_at, live_at, facets, languages, changed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, 0, $9, $10, $10, $11, $12, 0) \
         ON CONFLICT (offer) DO UPDATE SET publisher_id = excluded.publisher_id, publisher = excluded.publisher, \
           publisher_name = excluded.publisher_name, offer_id = excluded.offer_id, version = excluded.version, \
           default_locale = excluded.default_locale, sort_name = excluded.sort_name, grade = NULL, \
           stop_sold = excluded.stop_sold, live_at = excluded.live_at, facets = excluded.facets, \
           languages = excluded.languages",
    )
    .bind(pk.0)
    .bind(entry.publisher_id.0)
    .bind(&entry.publisher)
    .bind(&entry.publisher_name)
    .bind(&entry.offer_id)
    .bind(entry.version)
    .bind(&entry.default_locale)
    .bind(&entry.sort_name)
    .bind(i64::from(stop_sold))
    .bind(now)
    .bind(facet_lines(&entry.facets))
    .bind(languages(&entry.texts))
    .execute(&mut **tx)
    .await?;
    for (slot, t) in entry.texts.iter().take(LOCALE_SLOTS as usize).enumerate() {
        sqlx::query(
            "INSERT INTO catalog_texts (id, offer, locale, language, name, summary, description, keywords, publisher) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(text_id(pk, slot))
        .bind(pk.0)
        .bind(&t.locale)
        .bind(&t.language)
        .bind(&t.name)
        .bind(&t.summary)
        .bind(&t.description)
        .bind(&t.keywords)
        .bind(&t.publisher)
        .execute(&mut **tx)
        .await?;
    }
    for (facet, value) in entry.facets.iter().filter(|(f, _)| *f != CatalogFacet::Grade) {
        sqlx::query("INSERT INTO catalog_facets (offer, facet, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(pk.0)
            .bind(facet.as_str())
            .bind(value)
            .execute(&mut **tx)
            .await?;
    }
    for plan in &entry.plans {
        let stopped = stopped_plans.iter().any(|p| p.as_str() == plan.id);
        sqlx::query("INSERT INTO catalog_plans (offer, plan, public, stop_sold) VALUES ($1, $2, $3, $4)")
            .bind(pk.0)
            .bind(&plan.id)
            .bind(i64::from(plan.public))
            .bind(i64::from(stopped))
            .execute(&mut **tx)
            .await?;
        for org in &plan.audience {
            sqlx::query(
                "INSERT INTO catalog_audience (offer, plan, org_id) \
                 SELECT $1, $2, id FROM organizations WHERE name = $3 AND kind = 'customer' ON CONFLICT DO NOTHING",
            )
            .bind(pk.0)
            .bind(&plan.id)
            .bind(org)
            .execute(&mut **tx)
            .await?;
        }
    }
    set_grade(tx, pk, entry.version).await?;
    refresh_public(tx, pk).await?;
    bump(tx, pk).await
}

/// Locales of a listing indexed for search (`catalog_texts.id` is the offer's key
/// times this plus the locale's place); a listing's locales past it are shown but not
/// searched.
const LOCALE_SLOTS: i64 = 1024;

fn text_id(pk: OfferKey, slot: usize) -> i64 {
    pk.0 * LOCALE_SLOTS + i64::try_from(slot).unwrap_or(0)
}

/// The distinct text search configurations of a listing's locales.
fn languages(texts: &[CatalogText]) -> String {
    let set: std::collections::BTreeSet<&str> = texts.iter().map(|t| t.language.as_str()).collect();
    set.into_iter().collect::<Vec<_>>().join(" ")
}

/// The facet values but the grade as `catalog_items.facets` keeps them.
fn facet_lines(facets: &[(CatalogFacet, String)]) -> String {
    facets.iter().filter(|(f, _)| *f != CatalogFacet::Grade).map(|(f, v)| format!("{f}={v}\n")).collect()
}

/// Records a change of an entry: the catalog's sequence goes up (the row lock orders
/// concurrent changes as they commit) and the entry carries it.
async fn bump(tx: &mut Tx, pk: OfferKey) -> Result<(), DbError> {
    let seq: i64 = sqlx::query_scalar("UPDATE catalog_state SET seq = seq + 1 WHERE id = 1 RETURNING seq")
        .fetch_one(&mut **tx)
        .await?;
    sqlx::query("UPDATE catalog_items SET changed = $1 WHERE offer = $2")
        .bind(seq)
        .bind(pk.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Recomputes whether an entry has a public plan on sale.
async fn refresh_public(tx: &mut Tx, pk: OfferKey) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE catalog_items SET public = CASE WHEN EXISTS (SELECT 1 FROM catalog_plans p \
           WHERE p.offer = $1 AND p.public = 1 AND p.stop_sold = 0) THEN 1 ELSE 0 END WHERE offer = $1",
    )
    .bind(pk.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Marks an entry stop-sold or on sale again.
pub(crate) async fn set_stop_sold(tx: &mut Tx, pk: OfferKey, stop: bool) -> Result<(), DbError> {
    let updated = sqlx::query("UPDATE catalog_items SET stop_sold = $1 WHERE offer = $2")
        .bind(i64::from(stop))
        .bind(pk.0)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if updated == 1 {
        bump(tx, pk).await?;
    }
    Ok(())
}

/// Marks one plan of an entry stop-sold or on sale again.
pub(crate) async fn set_plan_stop_sold(tx: &mut Tx, pk: OfferKey, plan: &PlanId, stop: bool) -> Result<(), DbError> {
    let updated = sqlx::query("UPDATE catalog_plans SET stop_sold = $1 WHERE offer = $2 AND plan = $3")
        .bind(i64::from(stop))
        .bind(pk.0)
        .bind(plan.as_str())
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if updated == 1 {
        refresh_public(tx, pk).await?;
        bump(tx, pk).await?;
    }
    Ok(())
}

/// Copies the health grade of version `version` into its entry, if it is the
/// entry's version.
pub(crate) async fn set_grade(tx: &mut Tx, pk: OfferKey, version: i64) -> Result<(), DbError> {
    let updated = sqlx::query(
        "UPDATE catalog_items SET grade = (SELECT h.grade FROM version_health h WHERE h.offer = $1 AND h.version = $2) \
         WHERE offer = $1 AND version = $2",
    )
    .bind(pk.0)
    .bind(version)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if updated == 1 {
        sqlx::query("DELETE FROM catalog_facets WHERE offer = $1 AND facet = 'grade'")
            .bind(pk.0)
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "INSERT INTO catalog_facets (offer, facet, value) \
             SELECT offer, 'grade', grade FROM version_health WHERE offer = $1 AND version = $2",
        )
        .bind(pk.0)
        .bind(version)
        .execute(&mut **tx)
        .await?;
        bump(tx, pk).await?;
    }
    Ok(())
}

/// A value bound to a statement built at run time.
#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    Int(i64),
    #[cfg(feature = "testing")]
    Real(f64),
}

/// A statement built at run time: its text and its arguments, numbered as pushed.
#[derive(Debug, Default, Clone)]
struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a placeholder bound to `arg`.
    fn arg(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        let n = self.args.len();
        self.text.push_str(&format!("${n}"));
        self
    }

    fn query(&self) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.text.clone()));
        for a in &self.args {
            q = match a {
                Arg::Text(s) => q.bind(s.clone()),
                Arg::Int(i) => q.bind(*i),
                #[cfg(feature = "testing")]
                Arg::Real(r) => q.bind(*r),
            };
        }
        q
    }
}

impl Db {
    /// Where the catalog stands now.
    pub async fn catalog_state(&self) -> Result<CatalogState, DbError> {
        let (seq, epoch): (i64, i64) =
            sqlx::query_as("SELECT seq, epoch FROM catalog_state WHERE id = 1").fetch_one(self.pool()).await?;
        Ok(CatalogState { seq, epoch })
    }

    /// The entries changed after `since` (all of them with 0), as the index holds them,
    /// handed to `each` one at a time as they stream from the database; returns how many.
    pub async fn catalog_changes(&self, since: i64, mut each: impl FnMut(IndexRow)) -> Result<usize, DbError> {
        use futures::TryStreamExt as _;
        let tenancies: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT DISTINCT a.offer, a.org_id FROM catalog_audience a \
             JOIN catalog_plans p ON p.offer = a.offer AND p.plan = a.plan \
             JOIN catalog_items i ON i.offer = a.offer WHERE i.changed > $1 AND p.stop_sold = 0",
        )
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        let mut audiences: std::collections::HashMap<i64, Vec<OrgId>> = std::collections::HashMap::new();
        for (offer, org) in tenancies {
            audiences.entry(offer).or_default().push(OrgId(org));
        }
        let mut rows = sqlx::query(
            "SELECT offer, publisher_id, sort_name, live_at, public, stop_sold, grade, facets, languages \
             FROM catalog_items WHERE changed > $1",
        )
        .bind(since)
        .fetch(self.pool());
        let mut n = 0;
        while let Some(r) = rows.try_next().await? {
            let mut facets = Vec::new();
            for line in col::<String>(&r, "facets")?.lines() {
                let (f, v) = line
                    .split_once('=')
                    .ok_or_else(|| DbError::Corrupt(format!("catalog_items.facets line {line:?}")))?;
                facets.push((parse_stored::<CatalogFacet>("catalog_items.facets", f)?, v.to_owned()));
            }
            if let Some(g) = col::<Option<String>>(&r, "grade")? {
                facets.push((CatalogFacet::Grade, g));
            }
            let offer: i64 = col(&r, "offer")?;
            each(IndexRow {
                offer: OfferKey(offer),
                publisher_id: OrgId(col(&r, "publisher_id")?),
                sort_name: col(&r, "sort_name")?,
                live_at: col(&r, "live_at")?,
                public: col::<i64>(&r, "public")? != 0,
                stop_sold: col::<i64>(&r, "stop_sold")? != 0,
                facets,
                audience: audiences.remove(&offer).unwrap_or_default(),
                languages: col::<String>(&r, "languages")?.split_whitespace().map(str::to_owned).collect(),
            });
            n += 1;
        }
        Ok(n)
    }

    /// The entries `offers` (those that exist), for a page of results; rank 0.
    pub async fn catalog_hits(&self, offers: &[OfferKey]) -> Result<Vec<CatalogHit>, DbError> {
        if offers.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::default();
        sql.push(&format!(
            "SELECT {HIT_COLUMNS}, CAST(0 AS DOUBLE PRECISION) AS rank FROM catalog_items i WHERE i.offer IN ("
        ));
        in_list(&mut sql, offers);
        sql.push(")");
        let rows = sql.query().fetch_all(self.pool()).await?;
        rows.iter().map(hit_from_row).collect()
    }

    /// One entry, if `viewer` may see it.
    pub async fn catalog_entry(
        &self,
        publisher: &str,
        offer_id: &str,
        viewer: CatalogViewer,
    ) -> Result<Option<CatalogHit>, DbError> {
        let mut sql = Sql::default();
        sql.push(&format!(
            "SELECT {HIT_COLUMNS}, CAST(0 AS DOUBLE PRECISION) AS rank FROM catalog_items i WHERE i.publisher = "
        ))
        .arg(Arg::Text(publisher.to_owned()))
        .push(" AND i.offer_id = ")
        .arg(Arg::Text(offer_id.to_owned()))
        .push(" AND ");
        visibility(&mut sql, viewer);
        sql.query().fetch_optional(self.pool()).await?.as_ref().map(hit_from_row).transpose()
    }

    /// The plans of an entry `viewer` may see: public plans on sale, private ones on
    /// sale to the viewer's organizations, and those they subscribe to; all of them
    /// for the publisher's members and operators.
    pub async fn catalog_plans(&self, pk: OfferKey, viewer: CatalogViewer) -> Result<Vec<String>, DbError> {
        let mut sql = Sql::default();
        sql.push("SELECT p.plan FROM catalog_plans p JOIN catalog_items i ON i.offer = p.offer WHERE p.offer = ")
            .arg(Arg::Int(pk.0))
            .push(" AND ");
        match viewer {
            CatalogViewer::Operator => sql.push("1 = 1"),
            CatalogViewer::Anonymous => sql.push("p.public = 1 AND p.stop_sold = 0"),
            CatalogViewer::User(u) => sql
                .push("((p.public = 1 AND p.stop_sold = 0) OR EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = ")
                .arg(Arg::Int(u.0))
                .push(
                    " AND (m.org_id = i.publisher_id OR EXISTS (SELECT 1 FROM subscriptions s \
                     WHERE s.offer = p.offer AND s.plan = p.plan AND s.org_id = m.org_id AND s.cancelled_at IS NULL) \
                     OR (p.stop_sold = 0 AND EXISTS (SELECT 1 FROM catalog_audience a \
                     WHERE a.offer = p.offer AND a.plan = p.plan AND a.org_id = m.org_id)))))",
                ),
        };
        sql.push(" ORDER BY p.plan");
        let rows = sql.query().fetch_all(self.pool()).await?;
        rows.iter().map(|r| col(r, "plan")).collect()
    }

    /// The searchable texts of entries, per locale: (offer, locale, name, summary).
    pub async fn catalog_texts(&self, offers: &[OfferKey]) -> Result<Vec<(OfferKey, CatalogText)>, DbError> {
        if offers.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::default();
        sql.push(
            "SELECT offer, locale, language, name, summary, description, keywords, publisher FROM catalog_texts \
             WHERE offer IN (",
        );
        in_list(&mut sql, offers);
        sql.push(") ORDER BY offer, locale");
        let rows = sql.query().fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok((
                    OfferKey(col(r, "offer")?),
                    CatalogText {
                        locale: col(r, "locale")?,
                        language: col(r, "language")?,
                        name: col(r, "name")?,
                        summary: col(r, "summary")?,
                        description: col(r, "description")?,
                        keywords: col(r, "keywords")?,
                        publisher: col(r, "publisher")?,
                    },
                ))
            })
            .collect()
    }

    /// Writes an offer's entry outside a go-live (a rebuild), unless the offer has no
    /// live version any more.
    pub async fn put_catalog_entry(&self, pk: OfferKey, entry: &CatalogEntry) -> Result<(), DbError> {
        let mut tx = self.begin_write().await?;
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT o.state, o.stopped_plans FROM offers o JOIN offer_versions v ON v.offer = o.id \
             WHERE o.id = $1 AND v.version = $2 AND v.status = 'live'",
        )
        .bind(pk.0)
        .bind(entry.version)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((state, stopped)) = row else { return Ok(()) };
        let stopped: Vec<PlanId> = serde_json::from_str(&stopped)
            .map_err(|e| DbError::Corrupt(format!("offers.stopped_plans = {stopped:?}: {e}")))?;
        let now = wharf_core::Timestamp::now().as_millis();
        project(&mut tx, pk, entry, state == "stop_sold", &stopped, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The offers these organizations have an active subscription to.
    pub async fn subscribed_offers(&self, orgs: &[OrgId]) -> Result<Vec<OfferKey>, DbError> {
        let mut out = Vec::new();
        for org in orgs {
            let rows: Vec<(i64,)> = sqlx::query_as(
                "SELECT DISTINCT offer FROM subscriptions WHERE org_id = $1 AND cancelled_at IS NULL ORDER BY offer",
            )
            .bind(org.0)
            .fetch_all(self.pool())
            .await?;
            out.extend(rows.into_iter().map(|(o,)| OfferKey(o)));
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Live versions without a catalog entry (for a rebuild): (offer, version).
    pub async fn live_versions_not_in_catalog(&self) -> Result<Vec<(OfferKey, i64)>, DbError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT v.offer, v.version FROM offer_versions v WHERE v.status = 'live' \
             AND NOT EXISTS (SELECT 1 FROM catalog_items i WHERE i.offer = v.offer AND i.version = v.version) \
             ORDER BY v.offer",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(o, v)| (OfferKey(o), v)).collect())
    }
}

fn in_list(sql: &mut Sql, offers: &[OfferKey]) {
    for (i, o) in offers.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.arg(Arg::Int(o.0));
    }
}

/// The condition under which `viewer` sees entry `i`.
fn visibility(sql: &mut Sql, viewer: CatalogViewer) {
    match viewer {
        CatalogViewer::Operator => {
            sql.push("1 = 1");
        }
        CatalogViewer::Anonymous => {
            sql.push("(i.public = 1 AND i.stop_sold = 0)");
        }
        CatalogViewer::User(u) => {
            sql.push("((i.public = 1 AND i.stop_sold = 0) OR EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = ")
                .arg(Arg::Int(u.0))
                .push(
                    " AND (m.org_id = i.publisher_id OR EXISTS (SELECT 1 FROM subscriptions s \
                     WHERE s.offer = i.offer AND s.org_id = m.org_id AND s.cancelled_at IS NULL) \
                     OR (i.stop_sold = 0 AND EXISTS (SELECT 1 FROM catalog_audience a \
                     JOIN catalog_plans p ON p.offer = a.offer AND p.plan = a.plan \
                     WHERE a.offer = i.offer AND a.org_id = m.org_id AND p.stop_sold = 0)))))",
                );
        }
    }
}

/// The columns [`hit_from_row`] reads (but `rank`), of `catalog_items i`.
const HIT_COLUMNS: &str = "i.offer, i.publisher, i.publisher_name, i.offer_id, i.version, i.default_locale, \
     i.sort_name, i.grade, i.stop_sold, i.listed_at, i.live_at";

fn hit_from_row(r: &AnyRow) -> Result<CatalogHit, DbError> {
    Ok(CatalogHit {
        offer: OfferKey(col(r, "offer")?),
        publisher: col(r, "publisher")?,
        publisher_name: col(r, "publisher_name")?,
        offer_id: col(r, "offer_id")?,
        version: col(r, "version")?,
        default_locale: col(r, "default_locale")?,
        sort_name: col(r, "sort_name")?,
        grade: col(r, "grade")?,
        stop_sold: col::<i64>(r, "stop_sold")? != 0,
        listed_at: col(r, "listed_at")?,
        live_at: col(r, "live_at")?,
        rank: col(r, "rank")?,
    })
}
