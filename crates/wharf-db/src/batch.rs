//! Several statements run in order inside one transaction, in as few round trips
//! as the engine allows.
//!
//! SQLite runs in-process on sqlx's worker thread, and every statement costs a
//! hand-off to that thread and back, a large part of a small write's cost. SQLite
//! accepts several statements in one query, and sqlx binds `$N` parameters by
//! their absolute number across them, so a [`Batch`] goes to SQLite as one query
//! whose statements are renumbered onto one argument list. PostgreSQL prepares
//! one statement at a time, so there the statements run one after another.
//! Either way every statement runs and the rows of all of them come back in
//! order; the caller decides afterwards whether to commit.

use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use crate::Backend;

/// A value bound to a statement.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    Int(i64),
    Text(&'a str),
    OptText(Option<&'a str>),
    Bytes(&'a [u8]),
}

/// Statements to run in order; each numbers its parameters from `$1`.
#[derive(Debug, Default)]
pub(crate) struct Batch<'a> {
    statements: Vec<(String, Vec<Arg<'a>>)>,
}

impl<'a> Batch<'a> {
    /// Appends a statement.
    pub(crate) fn push(&mut self, sql: impl Into<String>, args: Vec<Arg<'a>>) {
        self.statements.push((sql.into(), args));
    }

    /// Runs every statement in `tx`, returning the rows they produced, in order.
    pub(crate) async fn run(
        self,
        backend: Backend,
        tx: &mut Transaction<'static, Any>,
    ) -> Result<Vec<AnyRow>, sqlx::Error> {
        match backend {
            Backend::Sqlite => {
                let mut rows = Vec::new();
                for group in groups(self.statements, MAX_ARGS) {
                    let mut sql = String::new();
                    let mut args = Vec::new();
                    for (text, a) in group {
                        sql.push_str(&renumber(&text, args.len()));
                        sql.push_str(";\n");
                        args.extend(a);
                    }
                    rows.extend(bind(sqlx::query(sqlx::AssertSqlSafe(sql)), args).fetch_all(&mut **tx).await?);
                }
                Ok(rows)
            }
            Backend::Postgres => {
                let mut rows = Vec::new();
                for (text, a) in self.statements {
                    rows.extend(bind(sqlx::query(sqlx::AssertSqlSafe(text)), a).fetch_all(&mut **tx).await?);
                }
                Ok(rows)
            }
        }
    }
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
