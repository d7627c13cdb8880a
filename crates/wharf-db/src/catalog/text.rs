//! The full-text half of a search: which entries a search's words match, and their
//! rank, as FTS5 or PostgreSQL's text search finds them.

use wharf_core::OfferKey;
use wharf_core::catalog::TEXT_SEARCH_LANGUAGES;

use super::LOCALE_SLOTS;
use crate::{Backend, Db, DbError};

/// The entries a search's words match ([`Db::catalog_matches`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CatalogMatches {
    /// Each with its rank (smaller is better; 0 when not ranked), in offer order.
    pub offers: Vec<(OfferKey, f64)>,
    /// Whether they were ranked.
    pub ranked: bool,
}

/// FTS5's query for `words`: each a quoted string (they hold only letters and
/// digits), all required, the last one also as a prefix.
pub(super) fn fts5_query(words: &[String]) -> String {
    let last = words.len().saturating_sub(1);
    words
        .iter()
        .enumerate()
        .map(|(i, w)| if i == last && w.chars().count() >= 2 { format!("\"{w}\"*") } else { format!("\"{w}\"") })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Ranks travel as whole numbers: the rank (lower is better) times this, truncated.
/// Writing and reading a double as text costs far more than an integer's; the search
/// and its oracle both order by these.
pub(crate) const RANK_SCALE: f64 = 1_000_000_000.0;
/// SQLite's rank of a full-text match, scaled ([`RANK_SCALE`]).
pub(crate) const SQLITE_RANK: &str = "CAST(bm25(catalog_fts, 10.0, 3.0, 1.0, 6.0, 4.0) * 1000000000 AS INTEGER)";

/// PostgreSQL's matches of the words (the `to_tsquery` text bound as `$n`), `(offer, r)`
/// rows, `r` the rank when `ranked` (else 0): each locale's text is matched as its own
/// language stems the words (the `~language` lexeme every text carries keeps the other
/// languages out, inside the GIN index; filtering on the `language` column instead
/// measured slower, 23 -> 42 ms at the median for keywords with facets) and ranked by
/// `ts_rank` with its weights (name A, keywords and publisher B, summary C,
/// description D). `only` (the placeholder of a comma-separated list of offer keys)
/// keeps to those offers. `None` without languages (no texts).
pub(super) fn pg_matches(languages: &[String], n: usize, ranked: bool, only: Option<usize>) -> Option<String> {
    let branches: Vec<String> = TEXT_SEARCH_LANGUAGES
        .iter()
        .filter(|l| languages.iter().any(|x| x == *l))
        .map(|l| {
            // A sub-select, so the query is parsed once per search even in a prepared
            // statement's generic plan (which would otherwise parse it for every row
            // it ranks: 16 -> 24 ms for 5,000 matches).
            let query = format!("(SELECT to_tsquery('{l}', ${n}))");
            let rank = match ranked {
                true => format!("CAST(-ts_rank(search, {query}) * {RANK_SCALE} AS BIGINT)"),
                false => "CAST(0 AS BIGINT)".to_owned(),
            };
            let only = only.map(|k| format!(" AND offer = ANY(CAST(string_to_array(${k}, ',') AS BIGINT[]))"));
            format!(
                "SELECT offer, {rank} AS r FROM catalog_texts \
                 WHERE search @@ ({query} && '~{l}'::tsquery){}",
                only.unwrap_or_default()
            )
        })
        .collect();
    (!branches.is_empty()).then(|| branches.join(" UNION ALL "))
}

/// PostgreSQL's `to_tsquery` text for `words` (letters and digits only): all
/// required, the last one also as a prefix.
pub(super) fn tsquery(words: &[String]) -> String {
    let last = words.len().saturating_sub(1);
    words
        .iter()
        .enumerate()
        .map(|(i, w)| if i == last && w.chars().count() >= 2 { format!("{w}:*") } else { w.clone() })
        .collect::<Vec<_>>()
        .join(" & ")
}

impl Db {
    /// The entries whose text holds every word (the last also as a word's start), each
    /// once, in offer order: the full-text half of a search. With `ranked`, each with
    /// its rank (smaller is better). Without, ranked only where that costs little:
    /// SQLite's `bm25` is most of a search's cost (about 1 µs a match, ten times the
    /// match itself), so a search that filters the matches further ranks only what is
    /// left ([`Db::catalog_ranks`]); PostgreSQL reads each match's row anyway (its GIN
    /// index has no index-only scans) and ranks it there, a second pass costing more
    /// than it saves. `languages` are the text search configurations the catalog's
    /// texts use (PostgreSQL matches the words as each of them stems them).
    pub async fn catalog_matches(
        &self,
        words: &[String],
        languages: &[String],
        ranked: bool,
    ) -> Result<CatalogMatches, DbError> {
        let ranked = ranked || self.backend() == Backend::Postgres;
        Ok(CatalogMatches { offers: self.full_text(words, languages, ranked, None).await?, ranked })
    }

    /// The ranks of `offers` among the entries whose text holds every word (as
    /// [`Db::catalog_matches`] ranks them), in offer order; an offer that does not match
    /// is left out.
    pub async fn catalog_ranks(
        &self,
        words: &[String],
        languages: &[String],
        offers: &[OfferKey],
    ) -> Result<Vec<(OfferKey, f64)>, DbError> {
        if offers.is_empty() {
            return Ok(Vec::new());
        }
        self.full_text(words, languages, true, Some(offers)).await
    }

    async fn full_text(
        &self,
        words: &[String],
        languages: &[String],
        ranked: bool,
        only: Option<&[OfferKey]>,
    ) -> Result<Vec<(OfferKey, f64)>, DbError> {
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let list = only.map(|o| o.iter().map(|k| k.0.to_string()).collect::<Vec<_>>().join(","));
        // One row holding every match as text: far cheaper than a row per match.
        let text: Option<String> = match self.backend() {
            Backend::Sqlite => {
                // bm25() only works in the full-text scan itself; the row id names the
                // offer. The offers to keep are tested before the rank is computed.
                let rank = if ranked { SQLITE_RANK } else { "0" };
                let only = match only {
                    Some(_) => {
                        format!(" AND rowid / {LOCALE_SLOTS} IN (SELECT value FROM json_each('[' || $2 || ']'))")
                    }
                    None => String::new(),
                };
                let sql = format!(
                    "WITH m AS MATERIALIZED (SELECT rowid / {LOCALE_SLOTS} AS o, {rank} AS r \
                     FROM catalog_fts WHERE catalog_fts MATCH $1{only}) \
                     SELECT group_concat(o || ' ' || r, ',') FROM m"
                );
                let q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(fts5_query(words));
                let q = match list {
                    Some(l) => q.bind(l),
                    None => q,
                };
                q.fetch_one(self.pool()).await?
            }
            Backend::Postgres => {
                let Some(matches) = pg_matches(languages, 1, ranked, list.as_ref().map(|_| 2)) else {
                    return Ok(Vec::new());
                };
                let sql = format!("SELECT string_agg(m.offer || ' ' || m.r, ',') FROM ({matches}) m");
                let q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(tsquery(words));
                let q = match list {
                    Some(l) => q.bind(l),
                    None => q,
                };
                q.fetch_one(self.pool()).await?
            }
        };
        let mut all: Vec<(i64, i64)> = Vec::new();
        for item in text.as_deref().unwrap_or_default().split(',').filter(|s| !s.is_empty()) {
            let parsed = item.split_once(' ').and_then(|(o, r)| Some((o.parse::<i64>().ok()?, r.parse::<i64>().ok()?)));
            all.push(parsed.ok_or_else(|| DbError::Corrupt(format!("a full-text match {item:?}")))?);
        }
        // An offer matched in several locales keeps its best rank.
        all.sort_unstable();
        all.dedup_by_key(|(o, _)| *o);
        Ok(all.into_iter().map(|(o, r)| (OfferKey(o), r as f64 / RANK_SCALE)).collect())
    }
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
