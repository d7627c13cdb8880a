//! Keyset paging, written once for every list: the surfaces turn `limit` and the
//! last key into [`Paging`] and a [`Listed`] page back into their own form (a cursor
//! and a `Link` header, or the next request of a loop).

/// Which page to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paging {
    /// Items to show, at least 1.
    pub limit: u32,
    /// The key of the last item of the previous page.
    pub after: Option<String>,
}

impl Paging {
    /// The first page of `limit` items.
    pub fn first(limit: u32) -> Paging {
        Paging { limit: limit.max(1), after: None }
    }

    /// How many rows to fetch: one more than shown, to know whether a next page exists.
    pub(crate) fn fetch(&self) -> u32 {
        self.limit.saturating_add(1)
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed<T> {
    /// The items.
    pub items: Vec<T>,
    /// The key to pass as [`Paging::after`] for the next page; `None` on the last.
    pub next: Option<String>,
}

impl<T> Listed<T> {
    /// A page from `paging.fetch()` rows: the extra row only says that more exist.
    pub(crate) fn from_rows(mut rows: Vec<T>, paging: &Paging, key: impl Fn(&T) -> String) -> Listed<T> {
        let more = rows.len() > paging.limit as usize;
        rows.truncate(paging.limit as usize);
        let next = if more { rows.last().map(key) } else { None };
        Listed { items: rows, next }
    }

    /// Every item of a list, page after page.
    pub async fn all<E>(mut page: impl AsyncFnMut(Paging) -> Result<Listed<T>, E>) -> Result<Vec<T>, E> {
        let mut items = Vec::new();
        let mut paging = Paging::first(500);
        loop {
            let listed = page(paging.clone()).await?;
            items.extend(listed.items);
            match listed.next {
                Some(after) => paging.after = Some(after),
                None => return Ok(items),
            }
        }
    }
}
