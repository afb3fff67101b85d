//! Multi-row statements: `insert … values (…), (…), …` with one round trip for many rows.
//! An import writes hundreds of thousands of rows; one statement per row would spend its
//! time in driver round trips rather than in the database.

use super::{dialect, Backend};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, FromRow};
use std::borrow::Cow;

/// One value of a row, bound as a parameter.
#[derive(Debug, Clone)]
pub enum Param {
    Text(Option<String>),
    Int(Option<i64>),
}

impl From<String> for Param {
    fn from(v: String) -> Param {
        Param::Text(Some(v))
    }
}

impl From<&str> for Param {
    fn from(v: &str) -> Param {
        Param::Text(Some(v.to_owned()))
    }
}

impl From<&String> for Param {
    fn from(v: &String) -> Param {
        Param::Text(Some(v.clone()))
    }
}

impl From<Option<String>> for Param {
    fn from(v: Option<String>) -> Param {
        Param::Text(v)
    }
}

impl From<Option<&str>> for Param {
    fn from(v: Option<&str>) -> Param {
        Param::Text(v.map(str::to_owned))
    }
}

impl From<i64> for Param {
    fn from(v: i64) -> Param {
        Param::Int(Some(v))
    }
}

impl From<Option<i64>> for Param {
    fn from(v: Option<i64>) -> Param {
        Param::Int(v)
    }
}

/// Parameters per statement: well under SQLite's 32,766 and PostgreSQL's 65,535.
const MAX_PARAMS: usize = 8_000;

/// Values in one `in (…)` list: a longer list is read in chunks of this many.
pub const MAX_LIST: usize = MAX_PARAMS;

/// Runs `{head} values (…), (…) {tail}` over `rows` (each with the same number of values),
/// in as few statements as the parameter limits allow, and collects what `tail`'s
/// `returning` clause gives back.
pub async fn insert_many<R>(
    conn: &mut AnyConnection,
    head: &str,
    tail: &str,
    rows: Vec<Vec<Param>>,
) -> sqlx::Result<Vec<R>>
where
    R: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
{
    let mut returned = Vec::new();
    for (sql, params) in statements(head, tail, rows, backend(conn))? {
        let mut query = sqlx::query_as::<_, R>(&sql);
        for param in params {
            query = match param {
                Param::Text(v) => query.bind(v),
                Param::Int(v) => query.bind(v),
            };
        }
        returned.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(returned)
}

/// As [`insert_many`], for a statement that returns nothing; gives the rows affected.
pub async fn execute_many(
    conn: &mut AnyConnection,
    head: &str,
    tail: &str,
    rows: Vec<Vec<Param>>,
) -> sqlx::Result<u64> {
    let mut affected = 0;
    for (sql, params) in statements(head, tail, rows, backend(conn))? {
        let mut query = sqlx::query(&sql);
        for param in params {
            query = match param {
                Param::Text(v) => query.bind(v),
                Param::Int(v) => query.bind(v),
            };
        }
        affected += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(affected)
}

/// Runs `select {fields} {from}` with `params` as `$1`, `$2`…, its rows gathered into one
/// JSON value ([`dialect::json_rows`] over `fields`, as `(name, expression)`): handing each
/// row across sqlx's SQLite thread and through the `Any` layer costs more than finding it.
/// `R` reads one row's object.
pub async fn fetch_json<R: serde::de::DeserializeOwned>(
    conn: &mut AnyConnection,
    fields: &[(&str, &str)],
    from: &str,
    params: &[Param],
) -> anyhow::Result<Vec<R>> {
    let sql = format!(
        "select {} {from}",
        dialect::json_rows(backend(conn), fields)
    );
    let mut query = sqlx::query_as::<_, (String,)>(&sql);
    for param in params {
        query = match param {
            Param::Text(v) => query.bind(v.clone()),
            Param::Int(v) => query.bind(*v),
        };
    }
    let (json,) = query.fetch_one(&mut *conn).await?;
    read_json(&sql, &json)
}

/// As [`fetch_json`], over many values of one column: `from` is given what goes inside
/// the `in (…)` of the values it reads (see [`in_list`]), and writes the statement from its
/// `from` on.
pub async fn fetch_json_in<R: serde::de::DeserializeOwned>(
    conn: &mut AnyConnection,
    fields: &[(&str, &str)],
    values: &[&str],
    from: impl Fn(&str) -> String,
) -> anyhow::Result<Vec<R>> {
    let select = dialect::json_rows(backend(conn), fields);
    let mut found = Vec::with_capacity(values.len());
    for (list, binds) in in_list(backend(conn), 1, values) {
        let sql = format!("select {select} {}", from(&list));
        let mut query = sqlx::query_as::<_, (String,)>(&sql);
        for value in binds {
            query = query.bind(value);
        }
        let (json,) = query.fetch_one(&mut *conn).await?;
        found.extend(read_json::<R>(&sql, &json)?);
    }
    Ok(found)
}

/// The rows of `sql`'s JSON value. serde's message would quote the value it refused (a
/// buyer's words, an address): the log gets where it failed, never what it read.
fn read_json<R: serde::de::DeserializeOwned>(sql: &str, json: &str) -> anyhow::Result<Vec<R>> {
    serde_json::from_str(json).map_err(|e| {
        anyhow::anyhow!(
            "reading the rows of `{sql}`: {:?} error at column {}",
            e.classify(),
            e.column()
        )
    })
}

/// As [`fetch_json_in`], for a statement that returns nothing, with `before` bound ahead of
/// the list as `$1`, `$2`…; gives the rows affected.
pub async fn execute_in(
    conn: &mut AnyConnection,
    before: &[&str],
    values: &[&str],
    sql: impl Fn(&str) -> String,
) -> sqlx::Result<u64> {
    let mut affected = 0;
    for (list, binds) in in_list(backend(conn), before.len() + 1, values) {
        let sql = sql(&list);
        let mut query = sqlx::query(&sql);
        for value in before {
            query = query.bind(*value);
        }
        for value in binds {
            query = query.bind(value);
        }
        affected += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(affected)
}

/// The statements that read or write `values` as an `in (…)` list whose parameters are
/// numbered from `first`: for each, what goes inside the parentheses and what it binds.
/// None for no values.
///
/// PostgreSQL takes the whole list as one array, `select unnest($N::text[])`, so the
/// statement's text is the same whatever the list's length: prepared once per
/// connection, where a list of placeholders would make a statement of each length, each
/// parsed and planned again, and more than sqlx's statement cache holds. sqlx's `Any`
/// driver binds no arrays, so the array goes as its text, which PostgreSQL casts.
/// SQLite takes a list of placeholders, at most [`MAX_LIST`] a statement: bare `?` when
/// they are all the parameters (see [`Marker`]); numbered after others, since sqlx's
/// SQLite driver gives a bare `?` the next of its own count of bare ones, whatever the
/// `$N` before it.
fn in_list(backend: Backend, first: usize, values: &[&str]) -> Vec<(String, Vec<String>)> {
    if values.is_empty() {
        return Vec::new();
    }
    match backend {
        Backend::Postgres => vec![(
            format!("select unnest(${first}::text[])"),
            vec![array(values.iter().map(|v| Some(*v)))],
        )],
        Backend::Sqlite => values
            .chunks(MAX_LIST)
            .map(|chunk| {
                let marker = if first == 1 {
                    Marker::Positional
                } else {
                    Marker::Numbered
                };
                let list = markers(marker, first, chunk.len());
                (list, chunk.iter().map(|v| (*v).to_owned()).collect())
            })
            .collect(),
    }
}

/// PostgreSQL's text form of an array of `values`, which it reads back as the same values
/// whatever they hold: each quoted, with `"` and `\` escaped; `NULL` for none.
fn array<T: AsRef<str>>(values: impl IntoIterator<Item = Option<T>>) -> String {
    let mut out = String::from("{");
    for (i, value) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match value {
            None => out.push_str("NULL"),
            Some(v) => {
                out.push('"');
                for c in v.as_ref().chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
        }
    }
    out.push('}');
    out
}

/// Rows keyed by a unique column (`key`) with a generated id: how [`upsert_keyed`] writes
/// them.
pub struct Keyed<'a> {
    pub table: &'a str,
    pub key: &'a str,
    /// `insert into {table} (…)`, its columns in the rows' order.
    pub head: &'a str,
    /// `on conflict ({key}) do update set …`: what a row whose key is stored already does.
    pub upsert: &'a str,
}

/// Inserts or updates rows keyed by a unique column, each row given as its key, its new
/// id and its values; returns the stored id by key. Only the keys already stored are read
/// back: sqlx's SQLite driver hands each returned row across a thread, which costs more
/// than writing it, and an import's rows are nearly all new. Should a concurrent writer
/// store a new key first (PostgreSQL; on SQLite the caller holds the write lock), its row
/// stands, as if it had come second.
pub async fn upsert_keyed(
    conn: &mut AnyConnection,
    keyed: &Keyed<'_>,
    rows: Vec<(String, String, Vec<Param>)>,
) -> sqlx::Result<std::collections::HashMap<String, String>> {
    let keys: Vec<&str> = rows.iter().map(|(k, _, _)| k.as_str()).collect();
    let mut ids = stored_ids(conn, keyed, &keys).await?;
    let (known, new): (Vec<_>, Vec<_>) =
        rows.into_iter().partition(|(k, _, _)| ids.contains_key(k));
    // Their ids are the stored ones, read above: the update keeps them.
    let known = known.into_iter().map(|(_, _, row)| row).collect();
    execute_many(conn, keyed.head, keyed.upsert, known).await?;

    let mut new_ids = Vec::with_capacity(new.len());
    let mut new_rows = Vec::with_capacity(new.len());
    for (key, id, row) in new {
        new_ids.push((key, id));
        new_rows.push(row);
    }
    let tail = format!("on conflict ({}) do nothing", keyed.key);
    let inserted = execute_many(conn, keyed.head, &tail, new_rows).await?;
    if inserted == new_ids.len() as u64 {
        ids.extend(new_ids);
    } else {
        let keys: Vec<&str> = new_ids.iter().map(|(k, _)| k.as_str()).collect();
        ids.extend(stored_ids(conn, keyed, &keys).await?);
    }
    Ok(ids)
}

/// The ids of the stored rows among `keys`.
async fn stored_ids(
    conn: &mut AnyConnection,
    keyed: &Keyed<'_>,
    keys: &[&str],
) -> sqlx::Result<std::collections::HashMap<String, String>> {
    let mut ids = std::collections::HashMap::new();
    for chunk in keys.chunks(MAX_PARAMS) {
        let sql = format!(
            "select {key}, id from {table} where {key} in ({})",
            list(conn, chunk.len()),
            key = keyed.key,
            table = keyed.table,
        );
        let mut query = sqlx::query_as::<_, (String, String)>(&sql);
        for k in chunk {
            query = query.bind(*k);
        }
        ids.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(ids)
}

/// How parameters are written: `$1` for PostgreSQL, a bare `?` for SQLite. SQLite keeps
/// `$1` and `?1` in a list of names that it searches from the start for each one, and
/// sqlx asks it the name of every parameter it binds: quadratic, 70 ms for a statement
/// of 8,000 parameters. Bare `?` have no names and bind in order.
#[derive(Debug, Clone, Copy)]
enum Marker {
    Numbered,
    Positional,
}

fn marker(conn: &AnyConnection) -> Marker {
    match backend(conn) {
        Backend::Sqlite => Marker::Positional,
        Backend::Postgres => Marker::Numbered,
    }
}

/// The engine behind a connection.
pub fn backend(conn: &AnyConnection) -> Backend {
    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    }
}

/// `n` parameters for an `in (…)` list that makes up all of a query's parameters, in
/// the form that binds fastest on this connection (see [`Marker`]).
pub fn list(conn: &AnyConnection, n: usize) -> String {
    list_from(conn, 1, n)
}

/// `n` parameters numbered from `first`, for a query where each parameter appears once
/// and in the order it is bound: then SQLite takes bare `?` (see [`Marker`]).
pub fn list_from(conn: &AnyConnection, first: usize, n: usize) -> String {
    markers(marker(conn), first, n)
}

/// `n` parameters numbered from `first` as `$N` on both engines, for a query that uses
/// a parameter twice (which a bare `?` cannot).
pub fn numbered(first: usize, n: usize) -> String {
    markers(Marker::Numbered, first, n)
}

/// `n` parameters numbered from `first`, written as `marker` says.
fn markers(marker: Marker, first: usize, n: usize) -> String {
    let mut out = String::with_capacity(n * 6);
    for i in first..first + n {
        if i > first {
            out.push_str(", ");
        }
        push_marker(&mut out, marker, i);
    }
    out
}

/// `(…), (…)`: `rows` groups of `width` parameters, numbered from 1 on PostgreSQL.
pub fn values(conn: &AnyConnection, rows: usize, width: usize) -> String {
    groups(marker(conn), rows, width)
}

/// The `n`th parameter (from 1), where it comes after all those before it.
pub fn placeholder(conn: &AnyConnection, n: usize) -> String {
    let mut out = String::new();
    push_marker(&mut out, marker(conn), n);
    out
}

fn push_marker(out: &mut String, marker: Marker, n: usize) {
    match marker {
        Marker::Numbered => {
            out.push('$');
            out.push_str(&n.to_string());
        }
        Marker::Positional => out.push('?'),
    }
}

/// Rows a statement writes on PostgreSQL: its text is the same for any number, so this
/// only bounds the size of its arrays.
const PG_ROWS: usize = 10_000;

/// The statements that write `rows`, each with its parameters in order. On SQLite, rows
/// of placeholders, as many as the parameter limit allows; on PostgreSQL, one array per
/// column (`select * from unnest($1::text[], $2::bigint[], …)`: see [`in_list`] on why),
/// typed by the first row's values. Rows must agree on the kind of each value.
fn statements(
    head: &str,
    tail: &str,
    rows: Vec<Vec<Param>>,
    backend: Backend,
) -> sqlx::Result<Vec<(String, Vec<Param>)>> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let width = first.len();
    if let Some(row) = rows.iter().find(|r| {
        r.len() != width
            || r.iter()
                .zip(first)
                .any(|(a, b)| std::mem::discriminant(a) != std::mem::discriminant(b))
    }) {
        return Err(sqlx::Error::Encode(
            format!(
                "rows of different shapes written together: {} values",
                row.len()
            )
            .into(),
        ));
    }
    let mut out = Vec::new();
    match backend {
        Backend::Sqlite => {
            let per_statement = (MAX_PARAMS / width.max(1)).max(1);
            let mut rows = rows.into_iter().peekable();
            while rows.peek().is_some() {
                let slice: Vec<Vec<Param>> = rows.by_ref().take(per_statement).collect();
                let sql = statement(head, tail, width, slice.len(), Marker::Positional);
                out.push((sql, slice.into_iter().flatten().collect()));
            }
        }
        Backend::Postgres => {
            let columns = first
                .iter()
                .enumerate()
                .map(|(i, p)| match p {
                    Param::Int(_) => format!("${}::bigint[]", i + 1),
                    Param::Text(_) => format!("${}::text[]", i + 1),
                })
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("{head} select * from unnest({columns}) {tail}");
            for slice in rows.chunks(PG_ROWS) {
                let params = (0..width)
                    .map(|col| {
                        Param::Text(Some(array(slice.iter().map(|row| match &row[col] {
                            Param::Text(v) => v.as_deref().map(Cow::Borrowed),
                            Param::Int(v) => v.map(|n| Cow::Owned(n.to_string())),
                        }))))
                    })
                    .collect();
                out.push((sql.clone(), params));
            }
        }
    }
    Ok(out)
}

fn statement(head: &str, tail: &str, width: usize, rows: usize, marker: Marker) -> String {
    format!("{head} values {} {tail}", groups(marker, rows, width))
}

/// `(…), (…)`: `rows` groups of `width` parameters, numbered from 1 when numbered.
fn groups(marker: Marker, rows: usize, width: usize) -> String {
    let mut out = String::with_capacity(rows * width * 6);
    let mut n = 0;
    for row in 0..rows {
        if row > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for col in 0..width {
            if col > 0 {
                out.push_str(", ");
            }
            n += 1;
            push_marker(&mut out, marker, n);
        }
        out.push(')');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{statement, Marker};

    #[test]
    fn numbers_every_parameter_once_across_rows() {
        assert_eq!(
            statement(
                "insert into t (a, b)",
                "returning a",
                2,
                3,
                Marker::Numbered
            ),
            "insert into t (a, b) values ($1, $2), ($3, $4), ($5, $6) returning a"
        );
        assert_eq!(
            statement("insert into t (a)", "", 1, 2, Marker::Positional),
            "insert into t (a) values (?), (?) "
        );
    }
}
