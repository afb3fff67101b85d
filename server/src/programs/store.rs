//! Program versions. A version is written once and never edited; parsed versions are
//! cached, since planning asks for one on every decided deal.

use super::definition::ProgramRequest;
use super::Program;
use crate::platform::db::conn::{fetch_text, Conn};
use crate::platform::db::rows::Param;
use crate::platform::db::time::to_db;
use crate::platform::db::Db;
use chrono::{DateTime, Utc};
use debrief_common::FieldError;
use serde::Serialize;
use sqlx::AnyConnection;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

#[derive(Clone, Default)]
pub struct Programs {
    cache: Arc<RwLock<HashMap<i64, Arc<Program>>>>,
}

/// A stored version as staff see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StoredVersion {
    pub version: i64,
    pub effective_from: String,
    pub created_at: String,
    pub created_by: String,
    pub definition: ProgramRequest,
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("the definition has invalid fields")]
    Invalid(Vec<FieldError>),
    #[error("the program changed meanwhile: version {current} is current, not {expected}")]
    Stale { expected: i64, current: i64 },
    #[error(transparent)]
    Database(#[from] anyhow::Error),
}

/// The built-in program's definition: every decided deal's buyers get the survey.
pub fn built_in_request() -> ProgramRequest {
    serde_json::from_value(serde_json::json!({
        "name": "Every decided deal",
        "segments": [{ "key": "all", "name": "All decided deals", "method": "survey" }]
    }))
    .expect("the built-in definition is well-formed")
}

type VersionRow = (i64, String, String, String, String);

fn stored(
    (version, definition, effective_from, created_at, created_by): VersionRow,
) -> anyhow::Result<StoredVersion> {
    Ok(StoredVersion {
        version,
        effective_from,
        created_at,
        created_by,
        definition: serde_json::from_str(&definition)?,
    })
}

impl Programs {
    fn cached(&self, version: i64) -> Option<Arc<Program>> {
        self.cache
            .read()
            .ok()
            .and_then(|c| c.get(&version).cloned())
    }

    fn remember(&self, program: Arc<Program>) -> Arc<Program> {
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(program.version, program.clone());
        }
        program
    }

    /// The program in force for a deal decided at `decided_at`: the latest version
    /// effective by then, or the first version for deals decided before any, or the
    /// built-in program when staff have stored none.
    pub async fn in_force_at(
        &self,
        conn: &mut AnyConnection,
        decided_at: DateTime<Utc>,
    ) -> anyhow::Result<Arc<Program>> {
        let mut programs = self.in_force_for(conn, &[decided_at]).await?;
        programs
            .pop()
            .ok_or_else(|| anyhow::anyhow!("no program for the deal"))
    }

    /// [`Programs::in_force_at`] for many decision times, with one query: an import
    /// plans thousands of deals at once.
    pub async fn in_force_for(
        &self,
        conn: &mut AnyConnection,
        decided: &[DateTime<Utc>],
    ) -> anyhow::Result<Vec<Arc<Program>>> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("select version, effective_from from program_versions order by version")
                .fetch_all(&mut *conn)
                .await?;
        let timeline = rows
            .into_iter()
            .map(|(v, from)| Ok((v, crate::platform::db::time::from_db(&from)?)))
            .collect::<anyhow::Result<Vec<(i64, DateTime<Utc>)>>>()?;
        let mut programs = Vec::with_capacity(decided.len());
        for at in decided {
            let version = timeline
                .iter()
                .rev()
                .find(|(_, from)| from <= at)
                .or(timeline.first())
                .map_or(0, |(v, _)| *v);
            let program = self
                .load(conn, version)
                .await?
                .ok_or_else(|| anyhow::anyhow!("program version {version} vanished"))?;
            programs.push(program);
        }
        Ok(programs)
    }

    /// A given version (0 is the built-in program).
    pub async fn version(&self, db: &Db, version: i64) -> anyhow::Result<Option<Arc<Program>>> {
        if let Some(p) = self.cached(version) {
            return Ok(Some(p));
        }
        let mut conn = db.pool().acquire().await?;
        self.load(&mut *conn, version).await
    }

    /// From the cache, else parsed from its stored definition. Versions never change, so
    /// a version once parsed is good for the life of the process.
    pub async fn load<C: Conn>(
        &self,
        conn: &mut C,
        version: i64,
    ) -> anyhow::Result<Option<Arc<Program>>> {
        if let Some(p) = self.cached(version) {
            return Ok(Some(p));
        }
        if version == 0 {
            return Ok(Some(self.remember(Arc::new(Program::built_in()))));
        }
        let stored = fetch_text(
            conn,
            "definition",
            "from program_versions where version = $1",
            &[Param::from(version)],
        )
        .await?;
        let Some(definition) = stored else {
            return Ok(None);
        };
        let request: ProgramRequest = serde_json::from_str(&definition)?;
        let program = request.parse(version).map_err(|faults| {
            anyhow::anyhow!("stored program version {version} no longer parses: {faults:?}")
        })?;
        Ok(Some(self.remember(Arc::new(program))))
    }

    pub async fn current(db: &Db) -> anyhow::Result<Option<StoredVersion>> {
        let row: Option<VersionRow> = sqlx::query_as(
            "select version, definition, effective_from, created_at, created_by
             from program_versions order by version desc limit 1",
        )
        .fetch_optional(db.pool())
        .await?;
        row.map(stored).transpose()
    }

    pub async fn stored(db: &Db, version: i64) -> anyhow::Result<Option<StoredVersion>> {
        let row: Option<VersionRow> = sqlx::query_as(
            "select version, definition, effective_from, created_at, created_by
             from program_versions where version = $1",
        )
        .bind(version)
        .fetch_optional(db.pool())
        .await?;
        row.map(stored).transpose()
    }

    pub async fn history(db: &Db) -> anyhow::Result<Vec<StoredVersion>> {
        let rows: Vec<VersionRow> = sqlx::query_as(
            "select version, definition, effective_from, created_at, created_by
             from program_versions order by version desc",
        )
        .fetch_all(db.pool())
        .await?;
        rows.into_iter().map(stored).collect()
    }

    /// Stores a new version, effective now. With `expected`, only if that version is
    /// still the latest: two owners editing at once cannot silently overwrite each other.
    /// One statement writes the whole version, so no reader ever sees half of one.
    pub async fn save(
        &self,
        db: &Db,
        request: &ProgramRequest,
        expected: Option<i64>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<StoredVersion, SaveError> {
        let (latest,): (i64,) =
            sqlx::query_as("select coalesce(max(version), 0) from program_versions")
                .fetch_one(db.pool())
                .await
                .map_err(anyhow::Error::from)?;
        if let Some(expected) = expected {
            if expected != latest {
                return Err(SaveError::Stale {
                    expected,
                    current: latest,
                });
            }
        }
        let version = latest + 1;
        let program = request.parse(version).map_err(SaveError::Invalid)?;
        let definition = serde_json::to_string(request).map_err(anyhow::Error::from)?;
        let stamp = to_db(now);
        // The primary key settles a race: of two saves on the same base, one inserts and
        // the other is told the program changed.
        let inserted = sqlx::query(
            "insert into program_versions (version, definition, effective_from, created_at, created_by)
             values ($1, $2, $3, $3, $4)
             on conflict (version) do nothing",
        )
        .bind(version)
        .bind(&definition)
        .bind(&stamp)
        .bind(by)
        .execute(db.pool())
        .await
        .map_err(anyhow::Error::from)?
        .rows_affected();
        if inserted == 0 {
            return Err(SaveError::Stale {
                expected: expected.unwrap_or(latest),
                current: latest + 1,
            });
        }
        self.remember(Arc::new(program));
        Ok(StoredVersion {
            version,
            effective_from: stamp.clone(),
            created_at: stamp,
            created_by: by.to_owned(),
            definition: request.clone(),
        })
    }
}
