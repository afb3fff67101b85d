//! The SQLite answer writer's own connection, driven directly (rusqlite) on the writer's
//! own thread. Through sqlx, each statement crosses to the connection's thread and back,
//! its values are copied through the `Any` layer, and a group's rows go in statements
//! whose text changes with the group's size, so they are prepared again and again. Here a
//! statement is one call, prepared once for the connection's life, run once per row: the
//! writer's serial path, which bounds how many answers SQLite takes a second, is then
//! about the database's own work. The SQL is the same as sqlx runs (see [`super::conn`]).

use super::conn::{Begin, Commit, Conn};
use super::rows::Param;
use anyhow::Context;
use rusqlite::types::ValueRef;
use rusqlite::{CachedStatement, Connection, OpenFlags};
use serde::de::DeserializeOwned;
use std::path::Path;

/// Statements kept prepared: the answer path uses about a dozen.
const CACHED_STATEMENTS: usize = 64;

pub struct DirectConnection {
    conn: Connection,
}

impl DirectConnection {
    /// Opens the database file with the pool's settings (`pragmas`).
    pub fn open(path: &Path, pragmas: &str) -> anyhow::Result<DirectConnection> {
        // The pool has made the file and its tables: a path that names another file fails
        // here, rather than answers going to a new, empty database.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .with_context(|| format!("opening the database {}", path.display()))?;
        conn.execute_batch(pragmas)?;
        conn.busy_handler(Some(wait_briefly))?;
        conn.set_prepared_statement_cache_capacity(CACHED_STATEMENTS);
        Ok(DirectConnection { conn })
    }
}

/// A checkpoint's mode (`pragma wal_checkpoint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Copies what it can without making anyone wait.
    Passive,
    /// Copies everything, keeping writers out meanwhile, then waits for readers to leave
    /// the WAL so that the next writer starts it over.
    Restart,
    /// As `Restart`, and truncates the WAL file.
    Truncate,
}

/// What a checkpoint did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Checkpointed {
    /// Kept from finishing by a reader or writer.
    pub busy: bool,
    /// Pages in the WAL.
    pub pages: i64,
    /// Pages of the WAL copied back into the database file.
    pub copied: i64,
}

impl Checkpointed {
    /// Pages still to copy back.
    pub fn left(&self) -> i64 {
        self.pages - self.copied
    }
}

impl DirectConnection {
    /// Copies SQLite's WAL back into the database file, in `mode`.
    pub fn checkpoint(&self, mode: Mode) -> anyhow::Result<Checkpointed> {
        let sql = match mode {
            Mode::Passive => "pragma wal_checkpoint(passive)",
            Mode::Restart => "pragma wal_checkpoint(restart)",
            Mode::Truncate => "pragma wal_checkpoint(truncate)",
        };
        let (busy, pages, copied): (i64, i64, i64) = self
            .conn
            .query_row(sql, [], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
        Ok(Checkpointed {
            busy: busy != 0,
            pages,
            copied,
        })
    }
}

#[cfg(test)]
impl DirectConnection {
    pub(crate) fn execute_batch(&self, sql: &str) -> rusqlite::Result<()> {
        self.conn.execute_batch(sql)
    }
}

/// Retries every 50 µs for 5 s when another connection holds the write lock (the
/// checkpointer, restarting the WAL, for a few milliseconds). SQLite's own handler sleeps
/// 1, 2, 5, 10, 15 ms and more between tries, so a writer kept out 4 ms waited 8.
fn wait_briefly(tries: i32) -> bool {
    const EVERY: std::time::Duration = std::time::Duration::from_micros(50);
    if tries >= 100_000 {
        return false;
    }
    std::thread::sleep(EVERY);
    true
}

/// A transaction on a [`DirectConnection`], rolled back when dropped uncommitted.
/// (rusqlite's own holds a shared reference, which cannot cross threads; the writer's
/// futures must be able to.)
pub struct DirectTx<'c> {
    conn: &'c mut Connection,
    done: bool,
}

impl Drop for DirectTx<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Fails only when SQLite rolled back already (after some errors it does).
            let _ = self.conn.execute_batch("rollback");
        }
    }
}

impl Begin for DirectConnection {
    async fn transaction(&mut self) -> anyhow::Result<impl Commit + '_> {
        // Immediate: the write lock is taken now, so the transaction never fails later
        // for want of it (a deferred one that reads first cannot wait for it).
        self.conn.execute_batch("begin immediate")?;
        Ok(DirectTx {
            conn: &mut self.conn,
            done: false,
        })
    }
}

impl Commit for DirectTx<'_> {
    async fn commit(mut self) -> anyhow::Result<()> {
        self.conn.execute_batch("commit")?;
        self.done = true;
        Ok(())
    }
}

/// What the statements run on: the connection, or the connection in a transaction.
trait Driven: Send {
    fn connection(&self) -> &Connection;
}

impl Driven for DirectConnection {
    fn connection(&self) -> &Connection {
        &self.conn
    }
}

impl Driven for DirectTx<'_> {
    fn connection(&self) -> &Connection {
        self.conn
    }
}

impl<T: Driven> Conn for T {
    async fn fetch<R: DeserializeOwned + Send>(
        &mut self,
        fields: &[(&str, &str)],
        from: &str,
        params: &[Param],
    ) -> anyhow::Result<Vec<R>> {
        fetch(self.connection(), fields, from, params)
    }

    async fn fetch_in<R: DeserializeOwned + Send>(
        &mut self,
        fields: &[(&str, &str)],
        values: &[&str],
        from: impl Fn(&str) -> String + Send,
    ) -> anyhow::Result<Vec<R>> {
        fetch_in(self.connection(), fields, values, from)
    }

    async fn execute_many(
        &mut self,
        head: &str,
        tail: &str,
        rows: Vec<Vec<Param>>,
    ) -> anyhow::Result<u64> {
        execute_many(self.connection(), head, tail, rows)
    }

    async fn execute_in(
        &mut self,
        before: &[&str],
        values: &[&str],
        sql: impl Fn(&str) -> String + Send,
    ) -> anyhow::Result<u64> {
        execute_in(self.connection(), before, values, sql)
    }
}

fn fetch<R: DeserializeOwned>(
    conn: &Connection,
    fields: &[(&str, &str)],
    from: &str,
    params: &[Param],
) -> anyhow::Result<Vec<R>> {
    let sql = format!("select {} {from}", select(fields));
    let mut statement = conn.prepare_cached(&sql)?;
    bind(&mut statement, params)?;
    let mut found = Vec::new();
    read_rows(&mut statement, fields, &sql, &mut found)?;
    Ok(found)
}

/// One statement per value, its list a single `?`: the same text each time, so prepared
/// once.
fn fetch_in<R: DeserializeOwned>(
    conn: &Connection,
    fields: &[(&str, &str)],
    values: &[&str],
    from: impl Fn(&str) -> String,
) -> anyhow::Result<Vec<R>> {
    let sql = format!("select {} {}", select(fields), from("?"));
    let mut statement = conn.prepare_cached(&sql)?;
    let mut found = Vec::with_capacity(values.len());
    for value in values {
        statement.raw_bind_parameter(1, *value)?;
        read_rows(&mut statement, fields, &sql, &mut found)?;
    }
    Ok(found)
}

/// The select list of `fields`' expressions, in their order.
fn select(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(_, expr)| *expr)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs the bound `statement` (`sql`), reading each row into a JSON object of `fields`'
/// names, as sqlx's side reads its rows, and `R` from that.
fn read_rows<R: DeserializeOwned>(
    statement: &mut CachedStatement<'_>,
    fields: &[(&str, &str)],
    sql: &str,
    found: &mut Vec<R>,
) -> anyhow::Result<()> {
    let mut rows = statement.raw_query();
    while let Some(row) = rows.next()? {
        let mut object = serde_json::Map::with_capacity(fields.len());
        for (i, (name, _)) in fields.iter().enumerate() {
            let value = match row.get_ref(i)? {
                ValueRef::Null => serde_json::Value::Null,
                ValueRef::Integer(n) => n.into(),
                ValueRef::Real(x) => x.into(),
                ValueRef::Text(text) | ValueRef::Blob(text) => {
                    String::from_utf8_lossy(text).into_owned().into()
                }
            };
            object.insert((*name).to_owned(), value);
        }
        // As on sqlx's side: what kind of fault, never its message, which would quote
        // the value it refused (a buyer's words, an address).
        let read = serde_json::from_value(serde_json::Value::Object(object))
            .map_err(|e| anyhow::anyhow!("reading a row of `{sql}`: {:?} error", e.classify()))?;
        found.push(read);
    }
    Ok(())
}

fn execute_many(
    conn: &Connection,
    head: &str,
    tail: &str,
    rows: Vec<Vec<Param>>,
) -> anyhow::Result<u64> {
    let Some(width) = rows.first().map(Vec::len) else {
        return Ok(0);
    };
    let sql = format!("{head} values ({}) {tail}", vec!["?"; width].join(", "));
    let mut statement = conn.prepare_cached(&sql)?;
    let mut affected = 0;
    for row in &rows {
        bind(&mut statement, row)?;
        affected += statement.raw_execute()? as u64;
    }
    Ok(affected)
}

fn execute_in(
    conn: &Connection,
    before: &[&str],
    values: &[&str],
    sql: impl Fn(&str) -> String,
) -> anyhow::Result<u64> {
    let mut statement = conn.prepare_cached(&sql(&format!("${}", before.len() + 1)))?;
    let mut affected = 0;
    for value in values {
        let params: Vec<Param> = before.iter().chain([value]).map(|v| (*v).into()).collect();
        bind(&mut statement, &params)?;
        affected += statement.raw_execute()? as u64;
    }
    Ok(affected)
}

/// Binds `params`: `$N` (which a statement may use more than once, or not at all) takes
/// the Nth, and a bare `?`, in a statement of bare `?` only, the one at its place.
fn bind(statement: &mut CachedStatement<'_>, params: &[Param]) -> anyhow::Result<()> {
    let count = statement.parameter_count();
    for index in 1..=count {
        let n = match statement.parameter_name(index) {
            Some(name) => name
                .strip_prefix('$')
                .and_then(|n| n.parse::<usize>().ok())
                .with_context(|| format!("parameter {name}: only $N and ? are bound"))?,
            None => index,
        };
        let param = n
            .checked_sub(1)
            .and_then(|i| params.get(i))
            .with_context(|| format!("parameter {n} of {count} has no value"))?;
        match param {
            Param::Text(v) => statement.raw_bind_parameter(index, v.as_deref())?,
            Param::Int(v) => statement.raw_bind_parameter(index, v)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::db::Db;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Row {
        id: String,
        status: String,
        n: Option<i64>,
        at: Option<String>,
    }

    /// A key with what an SQL list or a PostgreSQL array literal could misread: quotes,
    /// a backslash, a comma, braces, the word NULL, a right-to-left override.
    const ODD: &str = "q\"u'o\\te, {x} NULL \u{202e}é";

    /// Inserts four rows (and one twice), moves three, reads three back, and writes one in
    /// a transaction dropped uncommitted; gives the counts and rows, ids without `prefix`.
    async fn exercise<C: Begin>(conn: &mut C, prefix: &str) -> (u64, u64, Vec<Row>) {
        let id = |name: &str| format!("{prefix}{name}");
        let row = |name: &str, n: Option<i64>| {
            vec![
                Param::from(id(name)),
                Param::from("sent"),
                Param::from(n),
                Param::from(None::<String>),
            ]
        };
        let rows = vec![
            row("a", Some(1)),
            row("b", None),
            row("c", Some(3)),
            row("a", Some(9)),
            row(ODD, Some(4)),
        ];
        let inserted = conn
            .execute_many(
                "insert into t (id, status, n, at)",
                "on conflict (id) do nothing",
                rows,
            )
            .await
            .expect("inserted");
        // `$2` twice, and the list after numbered parameters.
        let (a, b, c, odd, missing) = (id("a"), id("b"), id("c"), id(ODD), id("missing"));
        let moved = conn
            .execute_in(&["started", "then"], &[&a, &b, &odd, &missing], |list| {
                format!(
                    "update t set status = $1, at = $2 where (at is null or at <> $2) and id in ({list})"
                )
            })
            .await
            .expect("moved");
        let fields = [("id", "id"), ("status", "status"), ("n", "n"), ("at", "at")];
        let mut read: Vec<Row> = conn
            .fetch_in(&fields, &[&a, &b, &c, &odd], |list| {
                format!("from t where status = 'started' and id in ({list})")
            })
            .await
            .expect("read");
        // A `$N` the text does not use (as an event without time stamps leaves `$2`).
        let skipped = conn
            .execute_in(&["moved", "unused", "sent"], &[&c], |list| {
                format!("update t set status = $1 where status = $3 and id in ({list})")
            })
            .await
            .expect("moved past an unused parameter");
        assert_eq!(
            skipped, 1,
            "{prefix}: the list's value bound past an unused $2"
        );
        {
            let mut tx = conn.transaction().await.expect("transaction");
            tx.execute_many(
                "insert into t (id, status)",
                "",
                vec![vec![Param::from(id("d")), Param::from("sent")]],
            )
            .await
            .expect("written in the transaction");
        }
        let after_rollback: Vec<Row> = conn
            .fetch_in(&fields, &[&id("d")], |list| {
                format!("from t where id in ({list})")
            })
            .await
            .expect("read after the rollback");
        assert!(
            after_rollback.is_empty(),
            "a dropped transaction is rolled back"
        );
        for row in &mut read {
            row.id = row.id.trim_start_matches(prefix).to_owned();
        }
        read.sort_by(|x, y| x.id.cmp(&y.id));
        (inserted, moved, read)
    }

    #[tokio::test]
    async fn statements_run_alike_on_both_engines_and_driven_directly() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::connect(&url).await.expect("the database");
        let mut pooled = db.pool().acquire().await.expect("a pooled connection");
        sqlx::query(TABLE)
            .execute(&mut *pooled)
            .await
            .expect("the table");
        let mut direct = db
            .direct()
            .expect("an SQLite database")
            .expect("the direct connection");

        let through_sqlx = exercise(&mut pooled, "sqlx-").await;
        let directly = exercise(&mut direct, "direct-").await;

        let expected = |id: &str, n| Row {
            id: id.to_owned(),
            status: "started".to_owned(),
            n,
            at: Some("then".to_owned()),
        };
        assert_eq!(
            through_sqlx,
            (
                4,
                3,
                vec![
                    expected("a", Some(1)),
                    expected("b", None),
                    expected(ODD, Some(4))
                ]
            )
        );
        assert_eq!(directly, through_sqlx);

        // PostgreSQL takes lists and rows as arrays (`rows::in_list`): the same again.
        // scripts/test.sh always gives it one.
        let Ok(pg_url) = std::env::var("DEBRIEF_TEST_PG_URL") else {
            return;
        };
        let pg = Db::connect(&pg_url).await.expect("PostgreSQL");
        let mut pooled = pg.pool().acquire().await.expect("a pooled connection");
        // Temporary: this connection's own, gone with it.
        sqlx::query(&TABLE.replace("create table", "create temporary table"))
            .execute(&mut *pooled)
            .await
            .expect("the table");
        assert_eq!(exercise(&mut pooled, "pg-").await, through_sqlx);
    }

    const TABLE: &str =
        "create table t (id text primary key, status text not null, n bigint, at text)";
}
