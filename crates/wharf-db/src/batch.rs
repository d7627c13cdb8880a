//! Several statements run in order as one write transaction, in as few round trips
//! as the engine allows, with guards that abort it.
//!
//! SQLite runs in-process on sqlx's worker thread, and every statement costs a
//! hand-off to that thread and back, a large part of a small write's cost. SQLite
//! accepts several statements in one query, and sqlx binds `$N` parameters by
//! their absolute number across them, so a [`Batch`] goes to SQLite as one query —
//! `BEGIN IMMEDIATE`, the statements renumbered onto one argument list, `COMMIT` —
//! a single round trip. A guard ([`Batch::abort_if`]) is a statement that fails when
//! its condition holds, which stops the query before anything after it, the
//! `COMMIT` included; the transaction is then rolled back. PostgreSQL prepares one
//! statement at a time, so there the statements run one after another in a
//! transaction, and a guard is a query whose row aborts it.
//!
//! A batch is safe to cancel: a connection given back mid-transaction (the future
//! dropped between its statements) is rolled back before anyone else uses it.

use sqlx::any::AnyRow;
use sqlx::pool::PoolConnection;
use sqlx::{Any, Executor};

use crate::{Backend, Db};

/// A value bound to a statement.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    Int(i64),
    Text(&'a str),
    OptText(Option<&'a str>),
    Bytes(&'a [u8]),
}

/// Why a batch did not commit.
#[derive(Debug)]
pub(crate) enum BatchError {
    /// A guard's condition held: nothing was changed.
    Aborted,
    /// The database failed: nothing was changed.
    Sql(sqlx::Error),
}

impl From<sqlx::Error> for BatchError {
    fn from(e: sqlx::Error) -> Self {
        BatchError::Sql(e)
    }
}

#[derive(Debug)]
enum Kind {
    Statement,
    Guard,
}

/// Statements and guards to run in order; each numbers its parameters from `$1`.
#[derive(Debug, Default)]
pub(crate) struct Batch<'a> {
    steps: Vec<(Kind, String, Vec<Arg<'a>>)>,
}

/// What a guard's failure says: SQLite has no way to raise an error of one's own
/// outside a trigger, so a guard makes `json()` reject this text.
const GUARD_TEXT: &str = "wharf: batch aborted";

impl<'a> Batch<'a> {
    /// Appends a statement; the rows it returns come back from [`Batch::commit`].
    pub(crate) fn push(&mut self, sql: impl Into<String>, args: Vec<Arg<'a>>) {
        self.steps.push((Kind::Statement, sql.into(), args));
    }

    /// Appends a guard: when the SQL condition `condition` holds at this point of
    /// the transaction, the batch stops and changes nothing ([`BatchError::Aborted`]).
    pub(crate) fn abort_if(&mut self, condition: impl Into<String>, args: Vec<Arg<'a>>) {
        self.steps.push((Kind::Guard, condition.into(), args));
    }

    /// Runs the batch as one write transaction and commits it. Returns the rows its
    /// statements produced, in order.
    pub(crate) async fn commit(&self, db: &Db) -> Result<Vec<AnyRow>, BatchError> {
        match db.backend() {
            Backend::Sqlite => self.commit_sqlite(db).await,
            Backend::Postgres => self.commit_postgres(db).await,
        }
    }

    async fn commit_sqlite(&self, db: &Db) -> Result<Vec<AnyRow>, BatchError> {
        let steps: Vec<(String, Vec<Arg<'a>>)> = self
            .steps
            .iter()
            .map(|(kind, sql, args)| match kind {
                Kind::Statement => (sql.clone(), args.clone()),
                // Non-constant, so SQLite cannot evaluate it ahead of the WHERE.
                Kind::Guard => {
                    (format!("SELECT json(CASE WHEN {sql} THEN '{GUARD_TEXT}' END) WHERE {sql}"), args.clone())
                }
            })
            .collect();
        let groups = groups(steps, MAX_ARGS);
        let last = groups.len().saturating_sub(1);
        let mut conn = InTransaction(Some(db.writes().acquire().await?));
        let mut rows = Vec::new();
        for (i, group) in groups.into_iter().enumerate() {
            let mut sql = String::new();
            if i == 0 {
                sql.push_str("BEGIN IMMEDIATE;\n");
            }
            let mut args = Vec::new();
            for (text, a) in group {
                sql.push_str(&renumber(&text, args.len()));
                sql.push_str(";\n");
                args.extend(a);
            }
            if i == last {
                sql.push_str("COMMIT;");
            }
            let result = match conn.0.as_mut() {
                Some(c) => bind(sqlx::query(sqlx::AssertSqlSafe(sql)), args).fetch_all(&mut **c).await,
                None => unreachable!("the connection is held until the batch ends"),
            };
            match result {
                Ok(r) => rows.extend(r),
                Err(e) => {
                    conn.rollback().await;
                    let guard = e.as_database_error().is_some_and(|d| d.message().contains("malformed JSON"));
                    return Err(if guard { BatchError::Aborted } else { BatchError::Sql(e) });
                }
            }
        }
        conn.0 = None;
        Ok(rows)
    }

    async fn commit_postgres(&self, db: &Db) -> Result<Vec<AnyRow>, BatchError> {
        let mut tx = db.pool().begin().await?;
        let mut rows = Vec::new();
        for (kind, sql, args) in &self.steps {
            match kind {
                Kind::Statement => {
                    rows.extend(
                        bind(sqlx::query(sqlx::AssertSqlSafe(sql.clone())), args.clone()).fetch_all(&mut *tx).await?,
                    );
                }
                Kind::Guard => {
                    let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT 1 WHERE {sql}")));
                    if bind(q, args.clone()).fetch_optional(&mut *tx).await?.is_some() {
                        // Dropping the transaction rolls it back.
                        return Err(BatchError::Aborted);
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(rows)
    }
}

/// The SQLite writer connection while a batch's transaction may be open. Dropped
/// with the connection still inside (the batch's future cancelled), it rolls the
/// transaction back in the background before the connection goes back to the pool.
struct InTransaction(Option<PoolConnection<Any>>);

impl InTransaction {
    async fn rollback(&mut self) {
        if let Some(conn) = self.0.take() {
            rollback(conn).await;
        }
    }
}

async fn rollback(mut conn: PoolConnection<Any>) {
    if let Err(e) = conn.execute("ROLLBACK").await {
        // No transaction open (it failed to start, or committed): nothing to undo.
        // Anything else: the connection cannot be trusted, so it is closed.
        if !e.to_string().contains("no transaction is active") {
            tracing::warn!(error = %e, "rolling back a write batch failed; closing its connection");
            let _ = conn.close().await;
        }
    }
}

impl Drop for InTransaction {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(rollback(conn));
        }
    }
}

/// `count` parameters numbered from `$first`, comma-separated, for an `IN (…)` list.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// SQLite's limit on a statement's parameter numbers (`SQLITE_MAX_VARIABLE_NUMBER`,
/// 32766 since 3.32), which a batch's renumbered parameters must stay under.
const MAX_ARGS: usize = 32_766;

/// The statements split, in order, into groups whose arguments number at most
/// `max` (a single larger statement makes a group of its own).
fn groups<T>(statements: Vec<(String, Vec<T>)>, max: usize) -> Vec<Vec<(String, Vec<T>)>> {
    let mut out: Vec<Vec<(String, Vec<T>)>> = Vec::new();
    let mut count = 0;
    for s in statements {
        if out.is_empty() || count + s.1.len() > max {
            out.push(Vec::new());
            count = 0;
        }
        count += s.1.len();
        out.last_mut().expect("pushed above").push(s);
    }
    out
}

type Query<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>;

fn bind<'q>(mut q: Query<'q>, args: Vec<Arg<'q>>) -> Query<'q> {
    for a in args {
        q = match a {
            Arg::Int(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
            Arg::OptText(v) => q.bind(v),
            Arg::Bytes(v) => q.bind(v),
        };
    }
    q
}

/// `sql` with every `$N` parameter shifted by `offset`. The statements given to a
/// batch are our own and contain `$` only in parameters.
fn renumber(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut rest = sql;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + offset).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::{groups, renumber};

    #[test]
    fn groups_stay_under_the_parameter_limit() {
        let st = |n: usize| (format!("s{n}"), vec![0u8; n]);
        let sizes = |g: Vec<Vec<(String, Vec<u8>)>>| -> Vec<Vec<usize>> {
            g.into_iter().map(|g| g.into_iter().map(|s| s.1.len()).collect()).collect()
        };
        assert_eq!(sizes(groups(vec![st(3), st(4), st(2)], 10)), vec![vec![3, 4, 2]]);
        assert_eq!(
            sizes(groups(vec![st(3), st(8), st(2), st(12), st(0)], 10)),
            vec![vec![3], vec![8, 2], vec![12], vec![0]]
        );
        assert!(groups(Vec::<(String, Vec<u8>)>::new(), 10).is_empty());
    }

    #[test]
    fn parameters_are_shifted() {
        assert_eq!(renumber("SELECT $1, $2", 0), "SELECT $1, $2");
        assert_eq!(renumber("VALUES ($1, $2, $10) -- $", 3), "VALUES ($4, $5, $13) -- $");
        assert_eq!(renumber("a = $9", 1), "a = $10");
    }
}
