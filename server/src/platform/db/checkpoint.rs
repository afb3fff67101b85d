//! SQLite's WAL checkpoints, off the writers' path. By default the connection whose commit
//! takes the WAL past its threshold copies every page back into the database file and
//! syncs it before its commit returns: under a steady stream of answers, one group of
//! buyers in a few hundred waited a tenth of a second for it (a p99 of 100 ms in the
//! answer benchmark, 15–18 ms with this task). Here a task copies the WAL back every
//! second in `PASSIVE` mode, which never makes a writer or a reader wait; a writer
//! checkpoints only past a 1 GiB backstop, should the task stop or fall behind.

use super::Db;
use std::time::Duration;

/// How often the WAL is copied back into the database file.
const EVERY: Duration = Duration::from_secs(1);

/// WAL pages (4 KiB, so 64 MiB) beyond which a burst's WAL file is truncated once it is
/// over. SQLite writes the WAL from its start again once a copy has caught up, but the
/// file keeps the size of the largest burst (a 70k-deal import leaves about 1 GiB).
/// Truncating makes writers wait while it runs, so it is done once nothing was written
/// for a whole tick and everything is copied back. (Trimming on every restart of the WAL,
/// with `journal_size_limit`, put the truncation inside a writer's commit: a p99 of
/// 158 ms instead of 18 in the answer benchmark, and truncating whenever a copy had
/// caught up, even between two commits, 62–65 ms.)
const TRIM_PAGES: i64 = 16_384;

/// The backstop every connection keeps (`wal_autocheckpoint`, in pages: 1 GiB), should
/// this task stop or fall behind: past it, the committing writer checkpoints, as SQLite
/// does by default at 4 MiB.
pub(super) const BACKSTOP_PAGES: i64 = 262_144;

/// The WAL as the task last saw it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Wal {
    /// Pages in the WAL at the last checkpoint.
    pages: i64,
    /// The most pages the WAL held since its file was last truncated: its file's size.
    peak: i64,
}

/// Starts the checkpointer of `db`'s SQLite file; it stops once the pool is closed.
pub(super) fn start(db: Db) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + EVERY, EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut wal = Wal::default();
        loop {
            tick.tick().await;
            if db.pool().is_closed() {
                return;
            }
            match checkpoint(&db, wal).await {
                Ok(now) => wal = now,
                Err(e) => {
                    tracing::warn!(error = %e, "copying SQLite's WAL back failed; retrying in a second");
                }
            }
        }
    });
}

/// One checkpoint, given the WAL as the last one left it; truncates the WAL file after a
/// burst (nothing written since, everything copied back). Gives the WAL as it leaves it.
async fn checkpoint(db: &Db, last: Wal) -> anyhow::Result<Wal> {
    let mut conn = db.pool().acquire().await?;
    // (busy, pages in the WAL, pages copied back)
    let (_, pages, copied): (i64, i64, i64) = sqlx::query_as("pragma wal_checkpoint(passive)")
        .fetch_one(&mut *conn)
        .await?;
    let peak = last.peak.max(pages);
    let idle = pages == last.pages && copied == pages;
    if idle && peak > TRIM_PAGES {
        let (busy, _, _): (i64, i64, i64) = sqlx::query_as("pragma wal_checkpoint(truncate)")
            .fetch_one(&mut *conn)
            .await?;
        // Busy: a reader or writer came in meanwhile; the next quiet tick tries again.
        if busy == 0 {
            return Ok(Wal::default());
        }
    }
    Ok(Wal { pages, peak })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_checkpoint_copies_what_was_committed_into_the_database_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("debrief.db");
        let db = Db::connect(&format!("sqlite://{}", file.display()))
            .await
            .expect("connect");
        sqlx::query("create table notes (body text not null)")
            .execute(db.pool())
            .await
            .expect("table");
        let before = std::fs::metadata(&file).expect("file").len();
        for _ in 0..50 {
            sqlx::query("insert into notes (body) values ($1)")
                .bind("x".repeat(4_000))
                .execute(db.pool())
                .await
                .expect("insert");
        }
        checkpoint(&db, Wal::default()).await.expect("checkpoint");
        assert!(
            std::fs::metadata(&file).expect("file").len() >= before + 50 * 4_000,
            "the rows are in the database file"
        );
    }
}
