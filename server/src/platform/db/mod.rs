//! Storage. One pool type (sqlx's `Any`) and one set of SQL for SQLite and PostgreSQL;
//! the few places the dialects really differ live in [`dialect`].

pub mod checkpoint;
pub mod conn;
pub mod dialect;
pub mod direct;
pub mod rows;
pub mod time;

use anyhow::Context;
use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::path::{Path, PathBuf};

/// Which engine is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// The database file, on SQLite: the answer writer opens its own connection to it.
    sqlite_file: Option<PathBuf>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

impl Db {
    /// Connects to `sqlite://path` (the file and its folder are created) or `postgres://…`.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            anyhow::bail!("unsupported database URL scheme; use sqlite:// or postgres://");
        };

        let mut sqlite_file = None;
        let (url, max_connections) = match backend {
            Backend::Sqlite => {
                let path = url
                    .trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:");
                let path = path.split('?').next().unwrap_or(path);
                if let Some(dir) = Path::new(path)
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(dir).with_context(|| {
                        format!("creating the data directory {}", dir.display())
                    })?;
                }
                sqlite_file = Some(PathBuf::from(path));
                let sep = if url.contains('?') { '&' } else { '?' };
                // One writer at a time is SQLite's rule anyway; a few readers help the
                // page and API reads run beside the worker.
                (format!("{url}{sep}mode=rwc"), 4)
            }
            // Ten for requests and jobs, and one for each group-commit writer, which keeps
            // its own.
            Backend::Postgres => (url.to_owned(), 10 + POSTGRES_WRITERS as u32),
        };

        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(sqlite_pragmas().as_str()).await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .context("connecting to the database")?;
        let db = Db {
            pool,
            backend,
            sqlite_file,
        };
        if backend == Backend::Sqlite {
            checkpoint::start(db.clone());
        }
        Ok(db)
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .context("applying migrations")
    }

    /// Applies the migrations up to and including `version` only, as an older release
    /// would have: tests write data in an old schema and check it carries forward.
    pub async fn migrate_up_to(&self, version: i64) -> anyhow::Result<()> {
        let older = sqlx::migrate::Migrator {
            migrations: MIGRATOR
                .migrations
                .iter()
                .filter(|m| m.version <= version)
                .cloned()
                .collect(),
            ..sqlx::migrate::Migrator::DEFAULT
        };
        older.run(&self.pool).await.context("applying migrations")
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// On SQLite, a connection of its own for the answer writer, driven on its thread
    /// (see [`direct`]); on PostgreSQL, none.
    pub fn direct(&self) -> Option<anyhow::Result<direct::DirectConnection>> {
        let file = self.sqlite_file.as_deref()?;
        Some(direct::DirectConnection::open(file, &sqlite_pragmas()))
    }

    /// How many group-commit writers are worth running side by side: PostgreSQL commits
    /// many transactions at once; SQLite has one writer whatever the connections.
    pub fn writers(&self) -> usize {
        match self.backend {
            Backend::Sqlite => 1,
            Backend::Postgres => POSTGRES_WRITERS,
        }
    }
}

/// Every SQLite connection's settings. WAL lets readers run during a write; busy_timeout
/// makes a second writer wait instead of failing; foreign keys are off by default.
/// Checkpoints are a task's, off the writers' path (see `checkpoint`); a writer makes one
/// only past a 1 GiB backstop. An 8 MiB page cache (2 MiB by default) keeps an import's
/// index pages from being read back from the file. Not more: SQLite walks the cache at
/// every commit, and at 64 MiB that walk took a tenth of the CPU of saving answers in
/// groups.
fn sqlite_pragmas() -> String {
    format!(
        "pragma journal_mode = wal; pragma synchronous = normal; \
         pragma busy_timeout = 5000; pragma foreign_keys = on; \
         pragma wal_autocheckpoint = {}; pragma cache_size = -8192;",
        checkpoint::BACKSTOP_PAGES
    )
}

/// Answer writers on PostgreSQL. Each of a group's statements costs PostgreSQL a round
/// trip and a plan whatever the group's size, so fewer, larger groups save its CPU, while two
/// let one group's commit overlap the next group's reads. With PostgreSQL on the same two
/// cores: 7,753–8,597 answers/s with two, 7,345 with three, 6,027–6,557 with four and 5,509
/// with one, whose groups wait on each commit (BENCHMARKS.md, session 14).
const POSTGRES_WRITERS: usize = 2;

/// A new primary key: UUIDv7, so keys sort by creation time on both engines.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
