//! Stored survey definitions, by key and version. A version never changes once stored, so
//! a parsed one is kept for the life of the process.

use crate::platform::db::conn::{fetch_text, Conn};
use crate::platform::db::rows::Param;
use crate::platform::db::time::to_db;
use crate::platform::db::Db;
use crate::programs::SurveyKey;
use chrono::{DateTime, Utc};
use debrief_common::survey::{self, Definition};
use sqlx::Acquire;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The definitions this build ships, stored as version 1 of their key.
const BUILT_IN: [(SurveyKey, &str); 2] = [
    (SurveyKey::WinLoss, survey::DEFAULT_WIN_LOSS),
    (SurveyKey::DeclinedRequest, survey::DEFAULT_DECLINED_REQUEST),
];

/// A survey version: its key and number.
type VersionId = (String, i64);

#[derive(Clone, Default)]
pub struct Definitions {
    parsed: Arc<RwLock<HashMap<VersionId, Arc<Definition>>>>,
}

impl Definitions {
    /// Stores the built-in surveys as version 1, where they are not stored yet: several
    /// instances starting at once store each once.
    pub async fn ensure_builtin(&self, db: &Db, now: DateTime<Utc>) -> anyhow::Result<()> {
        for (key, json) in BUILT_IN {
            sqlx::query(
                "insert into survey_versions (survey_key, version, definition, created_at, created_by)
                 values ($1, 1, $2, $3, 'built-in')
                 on conflict (survey_key, version) do nothing",
            )
            .bind(key.as_str())
            .bind(json)
            .bind(to_db(now))
            .execute(db.pool())
            .await?;
        }
        Ok(())
    }

    /// One version, as its answers were given against it.
    pub async fn version<C: Conn>(
        &self,
        conn: &mut C,
        key: &str,
        version: i64,
    ) -> anyhow::Result<Option<Arc<Definition>>> {
        let id = (key.to_owned(), version);
        if let Some(d) = self.cached(&id) {
            return Ok(Some(d));
        }
        let stored = fetch_text(
            conn,
            "definition",
            "from survey_versions where survey_key = $1 and version = $2",
            &[Param::from(key), Param::from(version)],
        )
        .await?;
        let Some(json) = stored else {
            return Ok(None);
        };
        let definition: Arc<Definition> = Arc::new(serde_json::from_str(&json)?);
        if let Ok(mut parsed) = self.parsed.write() {
            parsed.insert(id, definition.clone());
        }
        Ok(Some(definition))
    }

    /// Stores an edited survey as the next version of its key; versions are never changed,
    /// so answers keep the version they answered. With `expected`, refuses when another
    /// version was stored since (two owners editing at once).
    pub async fn store(
        &self,
        db: &Db,
        key: &str,
        definition: &Definition,
        expected: Option<i64>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let mut conn = db.pool().acquire().await.map_err(anyhow::Error::from)?;
        let mut tx = conn.begin().await.map_err(anyhow::Error::from)?;
        let newest = newest(&mut tx, key).await?.unwrap_or(0);
        if expected.is_some_and(|e| e != newest) {
            return Err(StoreError::Stale { newest });
        }
        let json = serde_json::to_string(definition).map_err(anyhow::Error::from)?;
        // Two owners saving at once both read the same newest version: the primary key
        // lets one in and turns the other away as stale.
        let inserted = sqlx::query(
            "insert into survey_versions (survey_key, version, definition, created_at, created_by)
             values ($1, $2, $3, $4, $5)
             on conflict (survey_key, version) do nothing",
        )
        .bind(key)
        .bind(newest + 1)
        .bind(json)
        .bind(to_db(now))
        .bind(by)
        .execute(&mut *tx)
        .await
        .map_err(anyhow::Error::from)?
        .rows_affected();
        if inserted == 0 {
            return Err(StoreError::Stale { newest: newest + 1 });
        }
        tx.commit().await.map_err(anyhow::Error::from)?;
        Ok(newest + 1)
    }

    /// A stored version with its provenance.
    pub async fn stored(
        &self,
        db: &Db,
        key: &str,
        version: Option<i64>,
    ) -> anyhow::Result<Option<StoredSurvey>> {
        let version = match version {
            Some(v) => v,
            // Only the number: the text is read below, once.
            None => match newest(&mut *db.pool().acquire().await?, key).await? {
                Some(v) => v,
                None => return Ok(None),
            },
        };
        let row: Option<(String, String, String)> = sqlx::query_as(
            "select definition, created_at, created_by from survey_versions
             where survey_key = $1 and version = $2",
        )
        .bind(key)
        .bind(version)
        .fetch_optional(db.pool())
        .await?;
        let Some((json, created_at, created_by)) = row else {
            return Ok(None);
        };
        let (responses,): (i64,) = sqlx::query_as(
            "select count(*) from responses where survey_key = $1 and survey_version = $2",
        )
        .bind(key)
        .bind(version)
        .fetch_one(db.pool())
        .await?;
        Ok(Some(StoredSurvey {
            survey_key: key.to_owned(),
            version,
            created_at,
            created_by,
            responses,
            definition: serde_json::from_str(&json)?,
        }))
    }

    fn cached(&self, id: &VersionId) -> Option<Arc<Definition>> {
        self.parsed.read().ok()?.get(id).cloned()
    }
}

/// The newest version number of a survey, if it has one.
async fn newest(conn: &mut sqlx::AnyConnection, key: &str) -> anyhow::Result<Option<i64>> {
    let (newest,): (Option<i64>,) =
        sqlx::query_as("select max(version) from survey_versions where survey_key = $1")
            .bind(key)
            .fetch_one(conn)
            .await?;
    Ok(newest)
}

/// A survey version as staff see it.
#[derive(Debug, serde::Serialize)]
pub struct StoredSurvey {
    pub survey_key: String,
    pub version: i64,
    pub created_at: String,
    /// The staff key's name, or `built-in`.
    pub created_by: String,
    /// Responses that answer this version (partial ones included).
    pub responses: i64,
    pub definition: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the survey changed meanwhile: version {newest} is the newest")]
    Stale { newest: i64 },
    #[error(transparent)]
    Database(#[from] anyhow::Error),
}
