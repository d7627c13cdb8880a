//! The catalog's search done wholly in SQL (the oracle of the server's in-memory
//! index, and the benchmark's yardstick) and a bulk loader for benchmarks.

use wharf_core::{CatalogFacet, CatalogSort, OfferKey};

use super::{
    Arg, CatalogCursor, CatalogEntry, CatalogHit, CatalogViewer, HIT_COLUMNS, LOCALE_SLOTS, SQLITE_RANK, Sql,
    facet_lines, fts5_query, hit_from_row, in_list, languages, pg_matches, text_id, tsquery, visibility,
};
use crate::error::parse_stored;
use crate::pool::col;
use crate::{Backend, Db, DbError};

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

impl Db {
    /// Searches the catalog wholly in SQL (see [`CatalogSearch`]): the server searches
    /// with a node's in-memory index over [`Db::catalog_matches`] instead; this is the
    /// index's oracle in tests and the benchmark's yardstick.
    pub async fn search_catalog(&self, s: &CatalogSearch<'_>) -> Result<CatalogResults, DbError> {
        let keyword = !s.words.is_empty();
        let sort = if keyword {
            s.sort
        } else if s.sort == CatalogSort::Relevance {
            CatalogSort::Name
        } else {
            s.sort
        };
        // PostgreSQL matches the words as each configuration the texts use stems them.
        let present: Vec<String> = match (keyword, self.backend()) {
            (true, Backend::Postgres) => {
                sqlx::query_scalar("SELECT DISTINCT language FROM catalog_texts").fetch_all(self.pool()).await?
            }
            _ => Vec::new(),
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
                    sql.push(&format!(
                        "WITH m AS MATERIALIZED (SELECT rowid AS id, {SQLITE_RANK} AS r \
                         FROM catalog_fts WHERE catalog_fts MATCH ",
                    ))
                    .arg(Arg::Text(fts5_query(s.words)))
                    .push(
                        "), hits AS (SELECT t.offer AS offer, MIN(m.r) AS rank FROM m JOIN catalog_texts t ON t.id = m.id \
                         GROUP BY t.offer) ",
                    );
                }
                Backend::Postgres => {
                    sql.args.push(Arg::Text(tsquery(s.words)));
                    // No texts at all: nothing matches anyway.
                    let matches = pg_matches(&present, sql.args.len(), true, None)
                        .unwrap_or_else(|| "SELECT 0 AS offer, CAST(0 AS BIGINT) AS r WHERE 1 = 0".into());
                    sql.push(&format!(
                        "WITH hits AS (SELECT offer, MIN(r) AS rank FROM ({matches}) u GROUP BY offer) "
                    ));
                }
            }
        };
        let from = if keyword {
            " FROM catalog_items i JOIN hits h ON h.offer = i.offer WHERE "
        } else {
            " FROM catalog_items i WHERE "
        };
        // The rank as the index has it: the scaled whole number over the scale.
        let rank =
            if keyword { "CAST(h.rank AS DOUBLE PRECISION) / 1000000000" } else { "CAST(0 AS DOUBLE PRECISION)" };
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
        page.push(&format!("SELECT {HIT_COLUMNS}, {rank} AS rank")).push(from);
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
}

/// Bulk loading for benchmarks: many entries at once, without the pipeline.
impl Db {
    /// Creates one live offer (version 1) per entry, with its catalog entry and
    /// `grade`, in transactions of a few hundred entries with multi-row statements.
    /// Entries must have distinct (publisher, offer id) pairs not taken yet.
    pub async fn bulk_load_catalog(&self, entries: &[(CatalogEntry, Option<String>)]) -> Result<(), DbError> {
        const BATCH: usize = 400;
        let now = wharf_core::Timestamp::now().as_millis();
        for chunk in entries.chunks(BATCH) {
            let mut tx = self.begin_write().await?;
            let seq: i64 = sqlx::query_scalar("UPDATE catalog_state SET seq = seq + 1 WHERE id = 1 RETURNING seq")
                .fetch_one(&mut *tx)
                .await?;
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
                 sort_name, grade, public, stop_sold, listed_at, live_at, facets, languages, changed) VALUES ",
            );
            for (i, (e, grade)) in chunk.iter().enumerate() {
                let sep = if i > 0 { ", (" } else { "(" };
                versions
                    .push(sep)
                    .arg(Arg::Int(key(e)))
                    .push(", 1, '{}', 'live', 'bench', ")
                    .arg(Arg::Int(now))
                    .push(", ");
                versions.arg(Arg::Int(now)).push(")");
                let public = e.plans.iter().any(|p| p.public);
                items.push(sep).arg(Arg::Int(key(e))).push(", ").arg(Arg::Int(e.publisher_id.0)).push(", ");
                items
                    .arg(Arg::Text(e.publisher.clone()))
                    .push(", ")
                    .arg(Arg::Text(e.publisher_name.clone()))
                    .push(", ");
                items
                    .arg(Arg::Text(e.offer_id.clone()))
                    .push(", 1, ")
                    .arg(Arg::Text(e.default_locale.clone()))
                    .push(", ");
                items.arg(Arg::Text(e.sort_name.clone())).push(", ");
                match grade {
                    Some(g) => items.arg(Arg::Text(g.clone())),
                    None => items.push("NULL"),
                };
                // Spread over the last year, so the newest-first order has work to do.
                let live_at = now - (key(e) % 365) * 86_400_000;
                items.push(&format!(", {}, 0, ", i64::from(public))).arg(Arg::Int(live_at)).push(", ");
                items.arg(Arg::Int(live_at)).push(", ").arg(Arg::Text(facet_lines(&e.facets))).push(", ");
                items.arg(Arg::Text(languages(&e.texts))).push(", ");
                items.arg(Arg::Int(seq)).push(")");
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
                    e.texts.iter().take(LOCALE_SLOTS as usize).enumerate().map(|(slot, t)| {
                        vec![
                            Arg::Int(text_id(OfferKey(key(e)), slot)),
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
                "INSERT INTO catalog_texts (id, offer, locale, language, name, summary, description, keywords, publisher) \
                 VALUES ",
                texts,
            ));
            let facets: Vec<Vec<Arg>> = chunk
                .iter()
                .flat_map(|(e, grade)| {
                    let grade = grade.iter().map(|g| (CatalogFacet::Grade, g.clone()));
                    e.facets
                        .iter()
                        .cloned()
                        .chain(grade)
                        .map(|(f, v)| vec![Arg::Int(key(e)), Arg::Text(f.as_str().to_owned()), Arg::Text(v)])
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
        // Statistics for the planner, (PostgreSQL) the pages marked all-visible, as
        // autovacuum leaves a table a minute after a bulk load, and (SQLite) the
        // full-text index merged.
        let analyze = if self.backend() == Backend::Postgres { "VACUUM ANALYZE" } else { "ANALYZE" };
        sqlx::query(analyze).execute(self.writes()).await?;
        if self.backend() == Backend::Sqlite {
            sqlx::query("INSERT INTO catalog_fts (catalog_fts) VALUES ('optimize')").execute(self.writes()).await?;
        }
        Ok(())
    }
}
