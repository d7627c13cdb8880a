//! A node's in-memory index of the catalog: who may see each entry, its facet values
//! and its sort keys, so that filtering, facet counts, sorting and paging take a few
//! milliseconds over a hundred thousand entries. The database stays the truth and
//! does the full-text matching (`Db::catalog_matches`); the index follows it: each
//! search first reads the catalog's change sequence (one row) and, when it moved,
//! loads the entries changed since (every entry after a deletion), so a change made
//! on any node is searchable at the next search.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use wharf_core::{CatalogFacet, CatalogSort, OfferKey, OrgId};
use wharf_db::Db;
use wharf_db::catalog::{CatalogCursor, CatalogState, IndexRow};

use crate::AppError;

/// One entry.
#[derive(Debug, Clone)]
struct Entry {
    offer: OfferKey,
    publisher: OrgId,
    sort_name: String,
    live_at: i64,
    public: bool,
    stop_sold: bool,
    /// Facet value ids, ascending.
    values: Vec<u32>,
    audience: Vec<OrgId>,
    /// Its place in name order (sort name, then offer).
    name_rank: u32,
}

/// Facet value ids an entry's [`Hot`] line holds itself.
const INLINE_VALUES: usize = 13;

/// What every search reads of an entry, one cache line each, side by side (the
/// entries themselves are read only for the few that need more): a search over all
/// entries streams through memory, and one over full-text matches misses the cache
/// once per match, not once per field.
#[derive(Debug, Clone, Copy, Default)]
#[repr(align(64))]
struct Hot {
    /// Its facet value ids, ascending, when they fit.
    values: [u32; INLINE_VALUES],
    /// Where all its facet value ids start in `CatalogIndex::spill` when they do not.
    spill: u32,
    len: u16,
    /// A public plan is on sale and the offer is not stop-sold: anyone sees it.
    open: bool,
}

/// The index at one catalog state.
#[derive(Debug, Clone, Default)]
pub(crate) struct CatalogIndex {
    state: CatalogState,
    entries: Vec<Entry>,
    at: HashMap<OfferKey, usize>,
    /// Every entry's (offer, position), in offer order: matches arrive in offer order
    /// and are looked up here in one forward pass (a hash lookup per match missed the
    /// cache each time: a quarter of a search's time).
    by_offer: Vec<(OfferKey, u32)>,
    ids: HashMap<(CatalogFacet, String), u32>,
    values: Vec<(CatalogFacet, String)>,
    /// Entries (positions) in name order.
    by_name: Vec<u32>,
    /// Per entry, by position.
    hot: Vec<Hot>,
    /// The facet value ids of entries with more than [`INLINE_VALUES`], one after another.
    spill: Vec<u32>,
    /// The text search configurations the catalog's texts use.
    languages: Vec<String>,
}

/// Who is looking, as the index sees it.
#[derive(Debug, Clone)]
pub(crate) enum Looker {
    /// Everything.
    Operator,
    /// Public entries on sale, and what these organizations (the user's) may see:
    /// their own offers, private plans on sale to them, and the offers they
    /// subscribe to (stop-sold or not).
    Orgs(Vec<OrgId>, Vec<OfferKey>),
}

/// A search of the index.
#[derive(Debug)]
pub(crate) struct Search<'a> {
    /// Full-text matches with their rank, in offer order; `None`: every entry.
    pub matches: Option<&'a [(OfferKey, f64)]>,
    pub filters: &'a [(CatalogFacet, Vec<String>)],
    pub looker: &'a Looker,
    pub sort: CatalogSort,
    pub after: Option<&'a CatalogCursor>,
    pub limit: u32,
}

/// What a search keeps, before it is ordered and paged.
#[derive(Debug)]
pub(crate) struct Selected {
    /// Each entry (position) with its rank.
    passed: Vec<(usize, f64)>,
    total: u64,
    /// Per facet value id.
    counts: Vec<u64>,
}

/// Facet values, as (facet, value).
pub(crate) type FacetValues = Vec<(CatalogFacet, String)>;

/// What a search found.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// The page: each offer with its rank and facet values.
    pub hits: Vec<(OfferKey, f64, FacetValues)>,
    pub more: bool,
    pub total: u64,
    pub facets: Vec<(CatalogFacet, String, u64)>,
}

/// Total order on ranks (no NaN comes from the databases, and it would sort last).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rank(f64);

impl Eq for Rank {}
impl PartialOrd for Rank {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Rank {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl CatalogIndex {
    fn value_id(&mut self, facet: CatalogFacet, value: &str) -> u32 {
        if let Some(id) = self.ids.get(&(facet, value.to_owned())) {
            return *id;
        }
        let id = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
        self.values.push((facet, value.to_owned()));
        self.ids.insert((facet, value.to_owned()), id);
        id
    }

    /// The text search configurations the catalog's texts use.
    pub(crate) fn languages(&self) -> &[String] {
        &self.languages
    }

    /// Takes in changed entries and recomputes the name order and the packed data.
    #[cfg(test)]
    fn apply(&mut self, rows: Vec<IndexRow>, state: CatalogState) {
        for row in rows {
            self.take(row);
        }
        self.finish(state);
    }

    /// Takes in one changed entry (then [`CatalogIndex::finish`]).
    fn take(&mut self, row: IndexRow) {
        for l in &row.languages {
            if !self.languages.contains(l) {
                self.languages.push(l.clone());
            }
        }
        let mut values: Vec<u32> = row.facets.iter().map(|(f, v)| self.value_id(*f, v)).collect();
        values.sort_unstable();
        values.dedup();
        let entry = Entry {
            offer: row.offer,
            publisher: row.publisher_id,
            sort_name: row.sort_name,
            live_at: row.live_at,
            public: row.public,
            stop_sold: row.stop_sold,
            values,
            audience: row.audience,
            name_rank: 0,
        };
        match self.at.get(&row.offer) {
            Some(i) => self.entries[*i] = entry,
            None => {
                self.at.insert(row.offer, self.entries.len());
                self.entries.push(entry);
            }
        }
    }

    /// Recomputes the name order and the packed data after [`CatalogIndex::take`]s.
    fn finish(&mut self, state: CatalogState) {
        let mut order: Vec<u32> = (0..u32::try_from(self.entries.len()).unwrap_or(u32::MAX)).collect();
        let entries = &self.entries;
        order.sort_unstable_by(|a, b| {
            let (a, b) = (&entries[*a as usize], &entries[*b as usize]);
            a.sort_name.cmp(&b.sort_name).then(a.offer.0.cmp(&b.offer.0))
        });
        for (rank, i) in order.iter().enumerate() {
            self.entries[*i as usize].name_rank = u32::try_from(rank).unwrap_or(u32::MAX);
        }
        self.by_name = order;
        self.by_offer = self.at.iter().map(|(o, i)| (*o, u32::try_from(*i).unwrap_or(u32::MAX))).collect();
        self.by_offer.sort_unstable();
        self.spill.clear();
        self.hot.clear();
        for e in &self.entries {
            let mut hot = Hot {
                len: u16::try_from(e.values.len()).unwrap_or(u16::MAX),
                open: e.public && !e.stop_sold,
                ..Hot::default()
            };
            match e.values.len() <= INLINE_VALUES {
                true => hot.values[..e.values.len()].copy_from_slice(&e.values),
                false => {
                    hot.spill = u32::try_from(self.spill.len()).unwrap_or(u32::MAX);
                    self.spill.extend_from_slice(&e.values[..usize::from(hot.len)]);
                }
            }
            self.hot.push(hot);
        }
        self.state = state;
    }

    /// An entry's facet value ids.
    fn values<'a>(&'a self, hot: &'a Hot) -> &'a [u32] {
        let len = usize::from(hot.len);
        match len <= INLINE_VALUES {
            true => &hot.values[..len],
            false => &self.spill[hot.spill as usize..hot.spill as usize + len],
        }
    }

    /// Whether `looker` sees entry `i` (`open`: its [`Hot::open`]).
    fn visible(&self, i: usize, open: bool, looker: &Looker) -> bool {
        match looker {
            Looker::Operator => true,
            _ if open => true,
            Looker::Orgs(orgs, _) if orgs.is_empty() => false,
            Looker::Orgs(orgs, subscribed) => {
                let e = &self.entries[i];
                orgs.contains(&e.publisher)
                    || subscribed.contains(&e.offer)
                    || (!e.stop_sold && e.audience.iter().any(|a| orgs.contains(a)))
            }
        }
    }

    /// The name rank the first result after `(name, offer)` may have.
    fn name_rank_after(&self, name: &str, offer: i64) -> u32 {
        let pos = self.by_name.partition_point(|i| {
            let e = &self.entries[*i as usize];
            (e.sort_name.as_str(), e.offer.0) <= (name, offer)
        });
        u32::try_from(pos).unwrap_or(u32::MAX)
    }

    /// Runs a search (see [`Search`]) with the ranks its matches carry.
    #[cfg(test)]
    pub(crate) fn search(&self, s: &Search<'_>) -> Found {
        let selected = self.select(s);
        self.page(selected, s)
    }

    /// The offers a selection kept.
    pub(crate) fn offers(&self, selected: &Selected) -> Vec<OfferKey> {
        selected.passed.iter().map(|(i, _)| self.entries[*i].offer).collect()
    }

    /// Gives a selection's entries their ranks, `ranks` in offer order (an entry
    /// without one ranks last).
    pub(crate) fn rank(&self, selected: &mut Selected, ranks: &[(OfferKey, f64)]) {
        for (i, r) in &mut selected.passed {
            let offer = self.entries[*i].offer;
            *r = match ranks.binary_search_by_key(&offer, |(o, _)| *o) {
                Ok(k) => ranks[k].1,
                Err(_) => f64::MAX,
            };
        }
    }

    /// The entries (positions) of full-text matches, with their ranks; a match the
    /// index does not hold (gone since it was read) is left out. Both in offer order:
    /// each lookup gallops forward from the last one, through memory it has just read.
    fn locate(&self, matches: &[(OfferKey, f64)]) -> Vec<(usize, f64)> {
        let mut found = Vec::with_capacity(matches.len());
        let mut rest = &self.by_offer[..];
        for (offer, rank) in matches {
            let mut end = 1;
            while end < rest.len() && rest[end - 1].0 < *offer {
                end *= 2;
            }
            let end = end.min(rest.len());
            let k = end / 2 + rest[end / 2..end].partition_point(|(o, _)| o < offer);
            match rest.get(k).filter(|(o, _)| o == offer) {
                Some((_, i)) => {
                    found.push((*i as usize, *rank));
                    rest = &rest[k + 1..];
                }
                None => rest = &rest[k..],
            }
        }
        found
    }

    /// The entries a search keeps (visible, matching, through every filter), and the
    /// facet counts.
    pub(crate) fn select(&self, s: &Search<'_>) -> Selected {
        // The filters as sets of value ids (bits); a value the index does not know
        // matches nothing.
        let words = self.values.len().div_ceil(64);
        let filters: Vec<(CatalogFacet, Vec<u64>)> = s
            .filters
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(f, vs)| {
                let mut bits = vec![0u64; words];
                for id in vs.iter().filter_map(|v| self.ids.get(&(*f, v.clone()))) {
                    bits[*id as usize / 64] |= 1 << (id % 64);
                }
                (*f, bits)
            })
            .collect();
        let has = |bits: &[u64], v: u32| bits[v as usize / 64] & (1 << (v % 64)) != 0;
        let mut counts = vec![0u64; self.values.len()];
        let mut total = 0u64;
        let mut passed: Vec<(usize, f64)> = Vec::new();
        let mut consider = |i: usize, h: &Hot, rank: f64| {
            if !self.visible(i, h.open, s.looker) {
                return;
            }
            let values = self.values(h);
            let mut failed = None;
            let mut fails = 0;
            for (k, (_, bits)) in filters.iter().enumerate() {
                if !values.iter().any(|v| has(bits, *v)) {
                    fails += 1;
                    failed = Some(k);
                    if fails > 1 {
                        return;
                    }
                }
            }
            match failed {
                None => {
                    total += 1;
                    for v in values {
                        counts[*v as usize] += 1;
                    }
                    passed.push((i, rank));
                }
                // Counts of the one facet it fails: what choosing its values would give.
                Some(k) => {
                    let facet = filters[k].0;
                    for v in values.iter().filter(|v| self.values[**v as usize].0 == facet) {
                        counts[*v as usize] += 1;
                    }
                }
            }
        };
        match s.matches {
            Some(matches) => {
                let found = self.locate(matches);
                // Their lines gathered first, in a loop without branches: the cache
                // misses overlap instead of waiting one after another.
                let lines: Vec<Hot> = found.iter().map(|(i, _)| self.hot[*i]).collect();
                for ((i, rank), h) in found.iter().zip(&lines) {
                    consider(*i, h, *rank);
                }
            }
            None => self.hot.iter().enumerate().for_each(|(i, h)| consider(i, h, 0.0)),
        }
        Selected { passed, total, counts }
    }

    /// A selection's page in the search's order, with the facet counts.
    pub(crate) fn page(&self, selected: Selected, s: &Search<'_>) -> Found {
        let Selected { passed, total, counts } = selected;
        let limit = s.limit as usize;
        let page: Vec<(usize, f64)> = match s.sort {
            CatalogSort::Relevance => {
                let after = match s.after {
                    Some(CatalogCursor::Rank(r, o)) => Some((Rank(*r), *o)),
                    _ => None,
                };
                let keyed = passed.into_iter().map(|(i, r)| ((Rank(r), self.entries[i].offer.0), (i, r)));
                top(keyed.filter(|(k, _)| after.is_none_or(|a| *k > a)), limit)
            }
            CatalogSort::Name => {
                let from = match s.after {
                    Some(CatalogCursor::Name(n, o)) => self.name_rank_after(n, *o),
                    _ => 0,
                };
                let keyed = passed.into_iter().map(|(i, r)| (self.entries[i].name_rank, (i, r)));
                top(keyed.filter(|(k, _)| *k >= from), limit)
            }
            CatalogSort::Newest => {
                let after = match s.after {
                    Some(CatalogCursor::Newest(t, o)) => Some((std::cmp::Reverse(*t), std::cmp::Reverse(*o))),
                    _ => None,
                };
                let keyed = passed.into_iter().map(|(i, r)| {
                    let e = &self.entries[i];
                    ((std::cmp::Reverse(e.live_at), std::cmp::Reverse(e.offer.0)), (i, r))
                });
                top(keyed.filter(|(k, _)| after.is_none_or(|a| *k > a)), limit)
            }
        };
        let more = page.len() > limit;
        let hits = page
            .into_iter()
            .take(limit)
            .map(|(i, r)| {
                let e = &self.entries[i];
                (e.offer, r, e.values.iter().map(|v| self.values[*v as usize].clone()).collect())
            })
            .collect();
        let mut facets: Vec<(CatalogFacet, String, u64)> = counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(v, n)| (self.values[v].0, self.values[v].1.clone(), *n))
            .collect();
        facets.sort_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(&a.2)).then(a.1.cmp(&b.1)));
        Found { hits, more, total, facets }
    }
}

/// The `limit + 1` smallest items by key, in order (the extra one says more follow).
fn top<K: Ord, T>(items: impl Iterator<Item = (K, T)>, limit: usize) -> Vec<T> {
    let mut all: Vec<(K, T)> = items.collect();
    let keep = limit + 1;
    if all.len() > keep {
        all.select_nth_unstable_by(keep - 1, |a, b| a.0.cmp(&b.0));
        all.truncate(keep);
    }
    all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    all.into_iter().map(|(_, t)| t).collect()
}

/// The index shared by a node's requests, refreshed from the database as it changes.
#[derive(Debug, Clone, Default)]
pub(crate) struct SharedIndex {
    current: Arc<RwLock<Option<Arc<CatalogIndex>>>>,
    refreshing: Arc<tokio::sync::Mutex<()>>,
}

impl SharedIndex {
    fn loaded(&self) -> Option<Arc<CatalogIndex>> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The index as of the catalog's state now.
    pub(crate) async fn get(&self, db: &Db) -> Result<Arc<CatalogIndex>, AppError> {
        let state = db.catalog_state().await?;
        if let Some(ix) = self.loaded().filter(|ix| ix.state == state) {
            return Ok(ix);
        }
        let _one = self.refreshing.lock().await;
        let loaded = self.loaded();
        if let Some(ix) = loaded.as_ref().filter(|ix| ix.state.seq >= state.seq && ix.state.epoch == state.epoch) {
            return Ok(ix.clone());
        }
        let (mut next, since) = match loaded {
            Some(ix) if ix.state.epoch == state.epoch => (CatalogIndex::clone(&ix), ix.state.seq),
            _ => (CatalogIndex::default(), 0),
        };
        let started = std::time::Instant::now();
        let changed = db.catalog_changes(since, |row| next.take(row)).await?;
        next.finish(state);
        let next = Arc::new(next);
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(next.clone());
        tracing::debug!(
            changed,
            entries = next.entries.len(),
            seq = state.seq,
            took_ms = started.elapsed().as_millis() as u64,
            "catalog index refreshed"
        );
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(offer: i64, name: &str, public: bool, facets: &[(CatalogFacet, &str)]) -> IndexRow {
        IndexRow {
            offer: OfferKey(offer),
            publisher_id: OrgId(1),
            sort_name: name.to_owned(),
            live_at: offer * 10,
            public,
            stop_sold: false,
            facets: facets.iter().map(|(f, v)| (*f, (*v).to_owned())).collect(),
            audience: vec![OrgId(7)],
            languages: vec!["english".to_owned()],
        }
    }

    #[test]
    fn filters_counts_and_pages() {
        use CatalogFacet::{Category, Pricing};
        let mut ix = CatalogIndex::default();
        ix.apply(
            vec![
                row(1, "delta", true, &[(Category, "db"), (Pricing, "free")]),
                row(2, "alpha", true, &[(Category, "db"), (Pricing, "byol")]),
                row(3, "charlie", true, &[(Category, "web"), (Pricing, "free")]),
                row(4, "bravo", false, &[(Category, "db"), (Pricing, "free")]),
            ],
            CatalogState { seq: 1, epoch: 0 },
        );
        let anyone = Looker::Orgs(Vec::new(), Vec::new());
        let filters = vec![(Category, vec!["db".to_owned()])];
        fn run(
            ix: &CatalogIndex,
            filters: &[(CatalogFacet, Vec<String>)],
            looker: &Looker,
            after: Option<&CatalogCursor>,
        ) -> Found {
            ix.search(&Search { matches: None, filters, looker, sort: CatalogSort::Name, after, limit: 1 })
        }
        let search = |filters: &[(CatalogFacet, Vec<String>)], looker: &Looker, after: Option<&CatalogCursor>| {
            run(&ix, filters, looker, after)
        };
        let found = search(&filters, &anyone, None);
        assert_eq!((found.total, found.more), (2, true));
        assert_eq!(found.hits[0].0, OfferKey(2));
        // The category's counts ignore its own filter; pricing's do not.
        let count = |f: &Found, facet, value: &str| {
            f.facets.iter().find(|(x, v, _)| *x == facet && v == value).map_or(0, |(_, _, n)| *n)
        };
        assert_eq!((count(&found, Category, "db"), count(&found, Category, "web")), (2, 1));
        assert_eq!((count(&found, Pricing, "free"), count(&found, Pricing, "byol")), (1, 1));
        // The next page, after "alpha".
        let next = search(&filters, &anyone, Some(&CatalogCursor::Name("alpha".into(), 2)));
        assert_eq!((next.hits[0].0, next.more), (OfferKey(1), false));
        // The private entry shows to its tenant.
        let tenant = Looker::Orgs(vec![OrgId(7)], Vec::new());
        assert_eq!(search(&filters, &tenant, None).total, 3);
        // An unknown value matches nothing.
        assert_eq!(search(&[(Category, vec!["nope".into()])], &anyone, None).total, 0);
        // A change replaces the entry.
        ix.apply(vec![row(2, "zulu", true, &[(Category, "web")])], CatalogState { seq: 2, epoch: 0 });
        let found = run(&ix, &filters, &anyone, None);
        assert_eq!((found.total, found.hits[0].0), (1, OfferKey(1)));
    }

    #[test]
    fn matches_are_found_and_ranked() {
        use CatalogFacet::Category;
        let mut ix = CatalogIndex::default();
        // Loaded out of offer order, as changes arrive.
        ix.apply(
            vec![
                row(5, "echo", true, &[(Category, "db")]),
                row(2, "bravo", true, &[(Category, "web")]),
                row(9, "india", true, &[(Category, "db")]),
                row(1, "alpha", true, &[(Category, "db")]),
            ],
            CatalogState { seq: 1, epoch: 0 },
        );
        // One with more facet values than its line holds.
        let many: Vec<String> = (0..20).map(|k| format!("c{k:02}")).collect();
        let mut wide = row(11, "kilo", true, &[(Category, "db")]);
        wide.facets.extend(many.iter().map(|c| (Category, c.clone())));
        ix.apply(vec![wide], CatalogState { seq: 2, epoch: 0 });
        let anyone = Looker::Orgs(Vec::new(), Vec::new());
        let only = |v: &str| {
            let filters = vec![(Category, vec![v.to_owned()])];
            let search = Search {
                matches: None,
                filters: &filters,
                looker: &anyone,
                sort: CatalogSort::Name,
                after: None,
                limit: 5,
            };
            ix.offers(&ix.select(&search))
        };
        assert_eq!((only("c19"), only("c00")), (vec![OfferKey(11)], vec![OfferKey(11)]));
        // In the order they were loaded.
        assert_eq!(only("db"), [OfferKey(5), OfferKey(9), OfferKey(1), OfferKey(11)]);
        // Matches in offer order, one of them (7) not in the index.
        let matches = [(OfferKey(1), 0.0), (OfferKey(5), 0.0), (OfferKey(7), 0.0), (OfferKey(9), 0.0)];
        let filters = vec![(Category, vec!["db".to_owned()])];
        let search = Search {
            matches: Some(&matches),
            filters: &filters,
            looker: &anyone,
            sort: CatalogSort::Relevance,
            after: None,
            limit: 10,
        };
        let mut selected = ix.select(&search);
        assert_eq!(ix.offers(&selected), [OfferKey(1), OfferKey(5), OfferKey(9)]);
        // Ranked afterwards; one without a rank goes last.
        ix.rank(&mut selected, &[(OfferKey(1), -1.0), (OfferKey(9), -3.0)]);
        let found = ix.page(selected, &search);
        let order: Vec<OfferKey> = found.hits.iter().map(|(o, _, _)| *o).collect();
        assert_eq!((order, found.total), (vec![OfferKey(9), OfferKey(1), OfferKey(5)], 3));
    }

    #[test]
    fn every_match_is_found_among_many_entries() {
        let mut ix = CatalogIndex::default();
        // Offers 3, 6, 9, … loaded in reverse.
        ix.apply((1..=1000).rev().map(|k| row(k * 3, "x", true, &[])).collect(), CatalogState { seq: 1, epoch: 0 });
        let anyone = Looker::Orgs(Vec::new(), Vec::new());
        for stride in [1, 2, 7, 500, 3001] {
            // Every `stride`th offer key from 1: a third of them in the index.
            let matches: Vec<(OfferKey, f64)> = (1..3010).step_by(stride).map(|k| (OfferKey(k), 0.0)).collect();
            let search = Search {
                matches: Some(&matches),
                filters: &[],
                looker: &anyone,
                sort: CatalogSort::Name,
                after: None,
                limit: 1,
            };
            let want: Vec<OfferKey> = matches.iter().map(|(o, _)| *o).filter(|o| o.0 % 3 == 0 && o.0 <= 3000).collect();
            assert_eq!(ix.offers(&ix.select(&search)), want, "stride {stride}");
        }
    }

    #[test]
    fn top_keeps_one_more_than_asked_in_order() {
        let items = [5, 3, 9, 1, 7].into_iter().map(|k| (k, k * 10));
        assert_eq!(top(items, 2), [10, 30, 50]);
        assert_eq!(top([(2, 'b'), (1, 'a')].into_iter(), 5), ['a', 'b']);
    }
}
