//! Stored survey definitions, by key and version. A version never changes once stored, so
//! a parsed one is kept for the life of the process.

use crate::platform::db::time::to_db;
use crate::platform::db::Db;
use crate::programs::SurveyKey;
use chrono::{DateTime, Utc};
use debrief_common::survey::{self, Definition};
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

    /// The newest version of a survey, for a buyer who has not started it.
    pub async fn latest(
        &self,
        db: &Db,
        key: &str,
    ) -> anyhow::Result<Option<(i64, Arc<Definition>)>> {
        let (newest,): (Option<i64>,) =
            sqlx::query_as("select max(version) from survey_versions where survey_key = $1")
                .bind(key)
                .fetch_one(db.pool())
                .await?;
        let Some(version) = newest else {
            return Ok(None);
        };
        Ok(self.version(db, key, version).await?.map(|d| (version, d)))
    }

    /// One version, as its answers were given against it.
    pub async fn version(
        &self,
        db: &Db,
        key: &str,
        version: i64,
    ) -> anyhow::Result<Option<Arc<Definition>>> {
        let id = (key.to_owned(), version);
        if let Some(d) = self.cached(&id) {
            return Ok(Some(d));
        }
        let stored: Option<(String,)> = sqlx::query_as(
            "select definition from survey_versions where survey_key = $1 and version = $2",
        )
        .bind(key)
        .bind(version)
        .fetch_optional(db.pool())
        .await?;
        let Some((json,)) = stored else {
            return Ok(None);
        };
        let definition: Arc<Definition> = Arc::new(serde_json::from_str(&json)?);
        if let Ok(mut parsed) = self.parsed.write() {
            parsed.insert(id, definition.clone());
        }
        Ok(Some(definition))
    }

    fn cached(&self, id: &VersionId) -> Option<Arc<Definition>> {
        self.parsed.read().ok()?.get(id).cloned()
    }
}
