//! People and accounts: a person is one buyer address across deals, an account one buying
//! company. Contact caps, cooldowns, suppressions and bounces hang off them.

pub mod roles;
pub mod routes;
pub mod suppressions;

use crate::platform::db::rows::{insert_many, upsert_keyed, Keyed, Param};
use crate::platform::db::{self, time::to_db};
use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use std::collections::HashMap;

/// An account as a decided deal names it.
#[derive(Debug, Clone, Copy)]
pub struct AccountNamed<'a> {
    pub name: &'a str,
    /// The address of the account manager on the deal (lower-cased): who manages the
    /// account from now on.
    pub manager_email: &'a str,
}

/// Creates accounts, or renames them and hands them to their deal's manager, given by key;
/// their ids by key. One row per key: PostgreSQL refuses to upsert one row twice in a
/// statement.
///
/// One statement that writes, then returns the ids: recording a decision starts here, and
/// on SQLite a transaction whose first statement only reads cannot later take the write
/// lock from a concurrent writer (it fails at once instead of waiting its turn). A deal
/// has one account, so the rows read back are few.
pub async fn upsert_accounts(
    conn: &mut AnyConnection,
    accounts: HashMap<&str, AccountNamed<'_>>,
    now: DateTime<Utc>,
) -> sqlx::Result<HashMap<String, String>> {
    let head = "insert into accounts (id, key, name, manager_email, created_at, updated_at)";
    let tail = "on conflict (key) do update set name = excluded.name, \
                manager_email = excluded.manager_email, updated_at = excluded.updated_at \
                returning key, id";
    let stamp = to_db(now);
    let rows = accounts
        .into_iter()
        .map(|(key, account)| {
            vec![
                db::new_id().into(),
                key.into(),
                account.name.into(),
                account.manager_email.to_lowercase().into(),
                (&stamp).into(),
                (&stamp).into(),
            ]
        })
        .collect();
    let ids: Vec<(String, String)> = insert_many(conn, head, tail, rows).await?;
    Ok(ids.into_iter().collect())
}

/// Creates or renames persons, given as (lower-cased) address → name; their ids by
/// address. Most are new in an import, and only the known are read back.
pub async fn upsert_persons(
    conn: &mut AnyConnection,
    names: HashMap<&str, &str>,
    now: DateTime<Utc>,
) -> sqlx::Result<HashMap<String, String>> {
    let (head, upsert) = statements("persons", "email");
    let keyed = Keyed {
        table: "persons",
        key: "email",
        head: &head,
        upsert: &upsert,
    };
    upsert_keyed(conn, &keyed, rows(names, now)).await
}

/// The insert and the on-conflict update of a table of named things.
fn statements(table: &str, key: &str) -> (String, String) {
    (
        format!("insert into {table} (id, {key}, name, created_at, updated_at)"),
        format!(
            "on conflict ({key}) do update set name = excluded.name, updated_at = excluded.updated_at"
        ),
    )
}

/// Rows for [`upsert_keyed`]: key, new id, values.
fn rows(names: HashMap<&str, &str>, now: DateTime<Utc>) -> Vec<(String, String, Vec<Param>)> {
    let stamp = to_db(now);
    names
        .into_iter()
        .map(|(k, name)| {
            let id = db::new_id();
            let row = vec![
                id.clone().into(),
                k.into(),
                name.into(),
                (&stamp).into(),
                (&stamp).into(),
            ];
            (k.to_owned(), id, row)
        })
        .collect()
}
