//! The catalog: a projection of each offer's live version, for customers to find.
//!
//! [`project`] writes an offer's entry in the transaction that makes a version live;
//! stop-sell, resume and regrading keep it in step in their own transactions, so the
//! catalog never shows a state the offer is not in. Searching is the one place where
//! the dialects differ in more than DDL (a named exception to "one SQL text"):
//! SQLite matches with FTS5 (`catalog_fts`, ranked by `bm25`), PostgreSQL with its
//! text search (`catalog_texts.search`, a GIN index, ranked by `ts_rank_cd`, each
//! locale stemmed in its own language). Both receive only the words
//! [`wharf_core::SearchText`] kept, never the reader's query text.

use sqlx::any::AnyRow;
use wharf_core::catalog::TEXT_SEARCH_LANGUAGES;
use wharf_core::{CatalogFacet, CatalogSort, OfferKey, OrgId, PlanId, UserId};

use crate::error::parse_stored;
use crate::offers::Tx;
use crate::pool::col;
use crate::{Backend, Db, DbError};

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

/// A catalog search.
#[derive(Debug, Clone)]
pub struct CatalogSearch<'a> {
    /// The words to find (all of them; the last one as a prefix); none: every entry.
    pub words: &'a [String],
    /// Facet filters: within a facet any value, across facets all.
    pub filters: &'a [(CatalogFacet, Vec<String>)],
    /// Who is looking.
    pub viewer: CatalogViewer,
    /// The order (relevance without words is by name).
    pub sort: CatalogSort,
    /// Where the page starts.
    pub after: Option<&'a CatalogCursor>,
    /// At most this many results.
    pub limit: u32,
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

/// A page of results, how many there are in all and their facet counts.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogResults {
    /// Up to `limit` results.
    pub hits: Vec<CatalogHit>,
    /// Whether more follow.
    pub more: bool,
    /// Results in all.
    pub total: u64,
    /// Per facet and value, the results that have it. A facet the search filters by
    /// is counted without its own filter, so each of its values says what choosing
    /// it (too) would give.
    pub facets: Vec<(CatalogFacet, String, u64)>,
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
           sort_name, grade, public, stop_sold, listed_at, live_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, 0, $9, $10, $10) \
         ON CONFLICT (offer) DO UPDATE SET publisher_id = excluded.publisher_id, publisher = excluded.publisher, \
           publisher_name = excluded.publisher_name, offer_id = excluded.offer_id, version = excluded.version, \
           default_locale = excluded.default_locale, sort_name = excluded.sort_name, grade = NULL, \
           stop_sold = excluded.stop_sold, live_at = excluded.live_at",
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
    .execute(&mut **tx)
    .await?;
    for t in &entry.texts {
        sqlx::query(
            "INSERT INTO catalog_texts (offer, locale, language, name, summary, description, keywords, publisher) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
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
    refresh_public(tx, pk).await
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
    sqlx::query("UPDATE catalog_items SET stop_sold = $1 WHERE offer = $2")
        .bind(i64::from(stop))
        .bind(pk.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Marks one plan of an entry stop-sold or on sale again.
pub(crate) async fn set_plan_stop_sold(tx: &mut Tx, pk: OfferKey, plan: &PlanId, stop: bool) -> Result<(), DbError> {
    sqlx::query("UPDATE catalog_plans SET stop_sold = $1 WHERE offer = $2 AND plan = $3")
        .bind(i64::from(stop))
        .bind(pk.0)
        .bind(plan.as_str())
        .execute(&mut **tx)
        .await?;
    refresh_public(tx, pk).await
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
    }
    Ok(())
}

/// A value bound to a statement built at run time.
#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    Int(i64),
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
                Arg::Real(r) => q.bind(*r),
            };
        }
        q
    }
}

/// FTS5's query for `words`: each a quoted string (they hold only letters and
/// digits), all required, the last one also as a prefix.
fn fts5_query(words: &[String]) -> String {
    let last = words.len().saturating_sub(1);
    words
        .iter()
        .enumerate()
        .map(|(i, w)| if i == last && w.chars().count() >= 2 { format!("\"{w}\"*") } else { format!("\"{w}\"") })
        .collect::<Vec<_>>()
        .join(" ")
}

/// PostgreSQL's `to_tsquery` text for `words` (letters and digits only): all
/// required, the last one also as a prefix.
fn tsquery(words: &[String]) -> String {
    let last = words.len().saturating_sub(1);
    words
        .iter()
        .enumerate()
        .map(|(i, w)| if i == last && w.chars().count() >= 2 { format!("{w}:*") } else { w.clone() })
        .collect::<Vec<_>>()
        .join(" & ")
}

impl Db {
    /// Searches the catalog (see [`CatalogSearch`]).
    pub async fn search_catalog(&self, s: &CatalogSearch<'_>) -> Result<CatalogResults, DbError> {
        let keyword = !s.words.is_empty();
        let sort = if keyword {
            s.sort
        } else if s.sort == CatalogSort::Relevance {
            CatalogSort::Name
        } else {
            s.sort
        };
        // The matches (with their rank) as `hits`, ahead of the statement.
        let with = |sql: &mut Sql| {
            if !keyword {
                return;
            }
            match self.backend() {
                Backend::Sqlite => {
                    // bm25() only works in the full-text scan itself: ranked there,
                    // then grouped per offer.
                    sql.push(
                        "WITH m AS MATERIALIZED (SELECT rowid AS id, bm25(catalog_fts, 10.0, 3.0, 1.0, 6.0, 4.0) AS r \
                         FROM catalog_fts WHERE catalog_fts MATCH ",
                    )
                    .arg(Arg::Text(fts5_query(s.words)))
                    .push(
                        "), hits AS (SELECT t.offer AS offer, MIN(m.r) AS rank FROM m JOIN catalog_texts t ON t.id = m.id \
                         GROUP BY t.offer) ",
                    );
                }
                Backend::Postgres => {
                    sql.push("WITH q AS (SELECT (");
                    sql.args.push(Arg::Text(tsquery(s.words)));
                    let n = sql.args.len();
                    let parts: Vec<String> =
                        TEXT_SEARCH_LANGUAGES.iter().map(|l| format!("to_tsquery('{l}', ${n})")).collect();
                    sql.push(&parts.join(" || ")).push(
                        ") AS q), hits AS (SELECT t.offer AS offer, \
                         MIN(-CAST(ts_rank_cd(t.search, q.q) AS DOUBLE PRECISION)) AS rank \
                         FROM catalog_texts t, q WHERE t.search @@ q.q GROUP BY t.offer) ",
                    );
                }
            }
        };
        let from = if keyword {
            " FROM catalog_items i JOIN hits h ON h.offer = i.offer WHERE "
        } else {
            " FROM catalog_items i WHERE "
        };
        let rank = if keyword { "h.rank" } else { "CAST(0 AS DOUBLE PRECISION)" };
        let conditions = |sql: &mut Sql, skip: Option<CatalogFacet>| {
            visibility(sql, s.viewer);
            for (facet, values) in s.filters.iter().filter(|(f, v)| Some(*f) != skip && !v.is_empty()) {
                sql.push(" AND i.offer IN (SELECT offer FROM catalog_facets WHERE facet = ")
                    .arg(Arg::Text(facet.as_str().to_owned()))
                    .push(" AND value IN (");
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.arg(Arg::Text(v.clone()));
                }
                sql.push("))");
            }
        };

        // The page.
        let mut page = Sql::default();
        with(&mut page);
        page.push(&format!(
            "SELECT i.offer, i.publisher, i.publisher_name, i.offer_id, i.version, i.default_locale, i.sort_name, \
             i.grade, i.stop_sold, i.listed_at, i.live_at, {rank} AS rank"
        ))
        .push(from);
        conditions(&mut page, None);
        if let Some(after) = s.after {
            match (sort, after) {
                (CatalogSort::Relevance, CatalogCursor::Rank(r, o)) => {
                    page.push(&format!(" AND ({rank} > "))
                        .arg(Arg::Real(*r))
                        .push(&format!(" OR ({rank} = "))
                        .arg(Arg::Real(*r))
                        .push(" AND i.offer > ")
                        .arg(Arg::Int(*o))
                        .push("))");
                }
                (CatalogSort::Name, CatalogCursor::Name(n, o)) => {
                    page.push(" AND (i.sort_name > ")
                        .arg(Arg::Text(n.clone()))
                        .push(" OR (i.sort_name = ")
                        .arg(Arg::Text(n.clone()))
                        .push(" AND i.offer > ")
                        .arg(Arg::Int(*o))
                        .push("))");
                }
                (CatalogSort::Newest, CatalogCursor::Newest(t, o)) => {
                    page.push(" AND (i.live_at < ")
                        .arg(Arg::Int(*t))
                        .push(" OR (i.live_at = ")
                        .arg(Arg::Int(*t))
                        .push(" AND i.offer < ")
                        .arg(Arg::Int(*o))
                        .push("))");
                }
                // A cursor of another order: start from the top.
                _ => {}
            }
        }
        page.push(match sort {
            CatalogSort::Relevance => " ORDER BY rank, i.offer",
            CatalogSort::Name => " ORDER BY i.sort_name, i.offer",
            CatalogSort::Newest => " ORDER BY i.live_at DESC, i.offer DESC",
        })
        .push(" LIMIT ")
        .arg(Arg::Int(i64::from(s.limit) + 1));
        let rows = page.query().fetch_all(self.pool()).await?;
        let mut hits = rows.iter().map(hit_from_row).collect::<Result<Vec<_>, _>>()?;
        let more = hits.len() > s.limit as usize;
        hits.truncate(s.limit as usize);

        // How many in all.
        let mut count = Sql::default();
        with(&mut count);
        count.push("SELECT COUNT(*) AS n").push(from);
        conditions(&mut count, None);
        let total: i64 = col(&count.query().fetch_one(self.pool()).await?, "n")?;

        // Facet counts: one statement for the facets not filtered by, one per facet
        // filtered by (without its own filter).
        let mut facets = Vec::new();
        let filtered: Vec<CatalogFacet> = s.filters.iter().filter(|(_, v)| !v.is_empty()).map(|(f, _)| *f).collect();
        let mut groups: Vec<Option<CatalogFacet>> = vec![None];
        groups.extend(filtered.iter().map(|f| Some(*f)));
        for skip in groups {
            let mut sql = Sql::default();
            with(&mut sql);
            sql.push("SELECT f.facet, f.value, COUNT(*) AS n FROM catalog_facets f WHERE f.offer IN (SELECT i.offer")
                .push(from);
            conditions(&mut sql, skip);
            sql.push(")");
            match skip {
                Some(f) => {
                    sql.push(" AND f.facet = ").arg(Arg::Text(f.as_str().to_owned()));
                }
                None if !filtered.is_empty() => {
                    sql.push(" AND f.facet NOT IN (");
                    for (i, f) in filtered.iter().enumerate() {
                        if i > 0 {
                            sql.push(", ");
                        }
                        sql.arg(Arg::Text(f.as_str().to_owned()));
                    }
                    sql.push(")");
                }
                None => {}
            }
            sql.push(" GROUP BY f.facet, f.value");
            for r in sql.query().fetch_all(self.pool()).await? {
                let facet: CatalogFacet = parse_stored("catalog_facets.facet", &col::<String>(&r, "facet")?)?;
                let n: i64 = col(&r, "n")?;
                facets.push((facet, col::<String>(&r, "value")?, u64::try_from(n).unwrap_or(0)));
            }
        }
        facets.sort_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(&a.2)).then(a.1.cmp(&b.1)));
        Ok(CatalogResults { hits, more, total: u64::try_from(total).unwrap_or(0), facets })
    }

    /// One entry, if `viewer` may see it.
    pub async fn catalog_entry(
        &self,
        publisher: &str,
        offer_id: &str,
        viewer: CatalogViewer,
    ) -> Result<Option<CatalogHit>, DbError> {
        let mut sql = Sql::default();
        sql.push(
            "SELECT i.offer, i.publisher, i.publisher_name, i.offer_id, i.version, i.default_locale, i.sort_name, \
             i.grade, i.stop_sold, i.listed_at, i.live_at, CAST(0 AS DOUBLE PRECISION) AS rank \
             FROM catalog_items i WHERE i.publisher = ",
        )
        .arg(Arg::Text(publisher.to_owned()))
        .push(" AND i.offer_id = ")
        .arg(Arg::Text(offer_id.to_owned()))
        .push(" AND ");
        visibility(&mut sql, viewer);
        sql.query().fetch_optional(self.pool()).await?.as_ref().map(hit_from_row).transpose()
    }

    /// The plans of an entry `viewer` may see and subscribe to: public plans on sale,
    /// private ones on sale to the viewer's organizations; all of them for the
    /// publisher's members and operators.
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
                    " AND (m.org_id = i.publisher_id OR (p.stop_sold = 0 AND EXISTS (SELECT 1 FROM catalog_audience a \
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

    /// The facet values of entries.
    pub async fn catalog_facet_values(
        &self,
        offers: &[OfferKey],
    ) -> Result<Vec<(OfferKey, CatalogFacet, String)>, DbError> {
        if offers.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::default();
        sql.push("SELECT offer, facet, value FROM catalog_facets WHERE offer IN (");
        in_list(&mut sql, offers);
        sql.push(") ORDER BY offer, facet, value");
        let rows = sql.query().fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok((
                    OfferKey(col(r, "offer")?),
                    parse_stored("catalog_facets.facet", &col::<String>(r, "facet")?)?,
                    col(r, "value")?,
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
                    " AND (m.org_id = i.publisher_id OR (i.stop_sold = 0 AND EXISTS (SELECT 1 FROM catalog_audience a \
                     JOIN catalog_plans p ON p.offer = a.offer AND p.plan = a.plan \
                     WHERE a.offer = i.offer AND a.org_id = m.org_id AND p.stop_sold = 0)))))",
                );
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_built_from_words_only() {
        let w = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(fts5_query(&w(&["kafka", "stream"])), "\"kafka\" \"stream\"*");
        assert_eq!(fts5_query(&w(&["a"])), "\"a\"");
        assert_eq!(tsquery(&w(&["kafka", "stream"])), "kafka & stream:*");
        assert_eq!(tsquery(&w(&["x", "y"])), "x & y");
    }
}

/// Bulk loading for benchmarks: many entries at once, without the pipeline.
#[cfg(feature = "testing")]
impl Db {
    /// Creates one live offer (version 1) per entry, with its catalog entry and
    /// `grade`, in transactions of a few hundred entries with multi-row statements.
    /// Entries must have distinct (publisher, offer id) pairs not taken yet.
    pub async fn bulk_load_catalog(&self, entries: &[(CatalogEntry, Option<String>)]) -> Result<(), DbError> {
        const BATCH: usize = 400;
        let now = wharf_core::Timestamp::now().as_millis();
        for chunk in entries.chunks(BATCH) {
            let mut tx = self.begin_write().await?;
            let mut sql = Sql::default();
            sql.push(
                "INSERT INTO offers (org_id, offer_id, state, draft, revision, stopped_plans, created_at, updated_at) VALUES ",
            );
            for (i, (e, _)) in chunk.iter().enumerate() {
                sql.push(if i > 0 { ", (" } else { "(" })
                    .arg(Arg::Int(e.publisher_id.0))
                    .push(", ")
                    .arg(Arg::Text(e.offer_id.clone()))
                    .push(", 'live', '{}', 1, '[]', ")
                    .arg(Arg::Int(now))
                    .push(", ")
                    .arg(Arg::Int(now))
                    .push(")");
            }
            sql.push(" RETURNING id, org_id, offer_id");
            let mut keys = std::collections::HashMap::new();
            for r in sql.query().fetch_all(&mut *tx).await? {
                keys.insert((col::<i64>(&r, "org_id")?, col::<String>(&r, "offer_id")?), col::<i64>(&r, "id")?);
            }
            let key = |e: &CatalogEntry| keys.get(&(e.publisher_id.0, e.offer_id.clone())).copied().unwrap_or_default();
            let mut statements = Vec::new();
            let mut versions = Sql::default();
            versions.push(
                "INSERT INTO offer_versions (offer, version, document, status, submitted_by, submitted_at, updated_at) VALUES ",
            );
            let mut items = Sql::default();
            items.push(
                "INSERT INTO catalog_items (offer, publisher_id, publisher, publisher_name, offer_id, version, default_locale, \
                 sort_name, grade, public, stop_sold, listed_at, live_at) VALUES ",
            );
            for (i, (e, grade)) in chunk.iter().enumerate() {
                let sep = if i > 0 { ", (" } else { "(" };
                versions.push(sep).arg(Arg::Int(key(e))).push(", 1, '{}', 'live', 'bench', ").arg(Arg::Int(now)).push(", ");
                versions.arg(Arg::Int(now)).push(")");
                let public = e.plans.iter().any(|p| p.public);
                items.push(sep).arg(Arg::Int(key(e))).push(", ").arg(Arg::Int(e.publisher_id.0)).push(", ");
                items.arg(Arg::Text(e.publisher.clone())).push(", ").arg(Arg::Text(e.publisher_name.clone())).push(", ");
                items.arg(Arg::Text(e.offer_id.clone())).push(", 1, ").arg(Arg::Text(e.default_locale.clone())).push(", ");
                items.arg(Arg::Text(e.sort_name.clone())).push(", ");
                match grade {
                    Some(g) => items.arg(Arg::Text(g.clone())),
                    None => items.push("NULL"),
                };
                // Spread over the last year, so the newest-first order has work to do.
                let live_at = now - i64::try_from(key(e) % 365).unwrap_or(0) * 86_400_000;
                items.push(&format!(", {}, 0, ", i64::from(public))).arg(Arg::Int(live_at)).push(", ");
                items.arg(Arg::Int(live_at)).push(")");
            }
            statements.push(versions);
            statements.push(items);
            let rows = |head: &str, values: Vec<Vec<Arg>>| {
                let mut sql = Sql::default();
                sql.push(head);
                for (i, row) in values.into_iter().enumerate() {
                    sql.push(if i > 0 { ", (" } else { "(" });
                    for (j, a) in row.into_iter().enumerate() {
                        if j > 0 {
                            sql.push(", ");
                        }
                        sql.arg(a);
                    }
                    sql.push(")");
                }
                sql
            };
            let texts: Vec<Vec<Arg>> = chunk
                .iter()
                .flat_map(|(e, _)| {
                    e.texts.iter().map(|t| {
                        vec![
                            Arg::Int(key(e)),
                            Arg::Text(t.locale.clone()),
                            Arg::Text(t.language.clone()),
                            Arg::Text(t.name.clone()),
                            Arg::Text(t.summary.clone()),
                            Arg::Text(t.description.clone()),
                            Arg::Text(t.keywords.clone()),
                            Arg::Text(t.publisher.clone()),
                        ]
                    })
                })
                .collect();
            statements.push(rows(
                "INSERT INTO catalog_texts (offer, locale, language, name, summary, description, keywords, publisher) VALUES ",
                texts,
            ));
            let facets: Vec<Vec<Arg>> = chunk
                .iter()
                .flat_map(|(e, grade)| {
                    let grade = grade.iter().map(|g| (CatalogFacet::Grade, g.clone()));
                    e.facets.iter().cloned().chain(grade).map(|(f, v)| {
                        vec![Arg::Int(key(e)), Arg::Text(f.as_str().to_owned()), Arg::Text(v)]
                    })
                })
                .collect();
            statements.push(rows("INSERT INTO catalog_facets (offer, facet, value) VALUES ", facets));
            let plans: Vec<Vec<Arg>> = chunk
                .iter()
                .flat_map(|(e, _)| {
                    e.plans.iter().map(|p| {
                        vec![Arg::Int(key(e)), Arg::Text(p.id.clone()), Arg::Int(i64::from(p.public)), Arg::Int(0)]
                    })
                })
                .collect();
            statements.push(rows("INSERT INTO catalog_plans (offer, plan, public, stop_sold) VALUES ", plans));
            for s in statements {
                if !s.args.is_empty() {
                    s.query().execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
        }
        // Statistics for the planner, and (SQLite) the full-text index merged.
        sqlx::query("ANALYZE").execute(self.writes()).await?;
        if self.backend() == Backend::Sqlite {
            sqlx::query("INSERT INTO catalog_fts (catalog_fts) VALUES ('optimize')").execute(self.writes()).await?;
        }
        Ok(())
    }
}
