//! What the answer path's queries need from a connection, whichever drives it: sqlx's
//! `AnyConnection` on either engine, or the SQLite answer writer's own connection
//! ([`super::direct`]), which it drives on its own thread. The SQL is written once; each
//! side runs it its cheapest way. Through sqlx, a statement crosses to sqlx's SQLite
//! thread or to PostgreSQL's socket, so a group's rows go in as few statements as the
//! parameter limits allow (on PostgreSQL, one, its lists and rows bound as arrays: see
//! `rows::in_list`). Driven directly, a call into SQLite costs less than building
//! and preparing a statement of many rows, so each row runs one cached statement.

use super::rows::{self, Param};
use serde::de::DeserializeOwned;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Transaction};
use std::future::Future;

/// Statements over a connection; see the module's note.
pub trait Conn: Send {
    /// `select {fields} {from}` with `params` as `$1`, `$2`…; `fields` are
    /// `(name, expression)` and `R` reads one row's fields by name. See
    /// [`rows::fetch_json`].
    fn fetch<R: DeserializeOwned + Send>(
        &mut self,
        fields: &[(&str, &str)],
        from: &str,
        params: &[Param],
    ) -> impl Future<Output = anyhow::Result<Vec<R>>> + Send;

    /// `select {fields} {from(list)}` over `values`, where `from` is given what goes
    /// inside the `in (…)` of some of them, and `R` reads one row as [`Conn::fetch`]'s
    /// do. See [`rows::fetch_json_in`].
    fn fetch_in<R: DeserializeOwned + Send>(
        &mut self,
        fields: &[(&str, &str)],
        values: &[&str],
        from: impl Fn(&str) -> String + Send,
    ) -> impl Future<Output = anyhow::Result<Vec<R>>> + Send;

    /// `{head} values (…) {tail}` for each of `rows`; gives the rows affected. See
    /// [`rows::execute_many`].
    fn execute_many(
        &mut self,
        head: &str,
        tail: &str,
        rows: Vec<Vec<Param>>,
    ) -> impl Future<Output = anyhow::Result<u64>> + Send;

    /// `sql(list)` over `values` as [`Conn::fetch_in`] reads them, for a statement that
    /// returns nothing, with `before` bound ahead of the list as `$1`, `$2`…; gives the
    /// rows affected. See [`rows::execute_in`].
    fn execute_in(
        &mut self,
        before: &[&str],
        values: &[&str],
        sql: impl Fn(&str) -> String + Send,
    ) -> impl Future<Output = anyhow::Result<u64>> + Send;
}

/// The text `expr` of the row `from` finds (with `params` as `$1`, `$2`…), if any: a
/// stored definition read by its version, on any connection.
pub async fn fetch_text<C: Conn>(
    conn: &mut C,
    expr: &str,
    from: &str,
    params: &[Param],
) -> anyhow::Result<Option<String>> {
    #[derive(serde::Deserialize)]
    struct Row {
        value: String,
    }
    let rows = conn.fetch::<Row>(&[("value", expr)], from, params).await?;
    Ok(rows.into_iter().next().map(|row| row.value))
}

/// A connection that opens transactions. A transaction not committed is rolled back
/// when dropped, also when its task panics or is cancelled.
pub trait Begin: Conn {
    fn transaction(&mut self) -> impl Future<Output = anyhow::Result<impl Commit + '_>> + Send;
}

/// An open transaction.
pub trait Commit: Conn {
    fn commit(self) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// sqlx's connections: each is, or derefs to, an `AnyConnection`.
macro_rules! through_sqlx {
    ($($t:ty),*) => {$(
        impl Conn for $t {
            async fn fetch<R: DeserializeOwned + Send>(
                &mut self,
                fields: &[(&str, &str)],
                from: &str,
                params: &[Param],
            ) -> anyhow::Result<Vec<R>> {
                let conn: &mut AnyConnection = self;
                rows::fetch_json(conn, fields, from, params).await
            }

            async fn fetch_in<R: DeserializeOwned + Send>(
                &mut self,
                fields: &[(&str, &str)],
                values: &[&str],
                from: impl Fn(&str) -> String + Send,
            ) -> anyhow::Result<Vec<R>> {
                let conn: &mut AnyConnection = self;
                rows::fetch_json_in(conn, fields, values, from).await
            }

            async fn execute_many(
                &mut self,
                head: &str,
                tail: &str,
                rows: Vec<Vec<Param>>,
            ) -> anyhow::Result<u64> {
                let conn: &mut AnyConnection = self;
                Ok(rows::execute_many(conn, head, tail, rows).await?)
            }

            async fn execute_in(
                &mut self,
                before: &[&str],
                values: &[&str],
                sql: impl Fn(&str) -> String + Send,
            ) -> anyhow::Result<u64> {
                let conn: &mut AnyConnection = self;
                Ok(rows::execute_in(conn, before, values, sql).await?)
            }
        }
    )*};
}

through_sqlx!(AnyConnection, Transaction<'_, Any>, PoolConnection<Any>);

impl Begin for AnyConnection {
    async fn transaction(&mut self) -> anyhow::Result<impl Commit + '_> {
        Ok(sqlx::Connection::begin(self).await?)
    }
}

impl Begin for PoolConnection<Any> {
    async fn transaction(&mut self) -> anyhow::Result<impl Commit + '_> {
        Ok(sqlx::Connection::begin(&mut **self).await?)
    }
}

impl Commit for Transaction<'_, Any> {
    async fn commit(self) -> anyhow::Result<()> {
        Ok(Transaction::commit(self).await?)
    }
}
