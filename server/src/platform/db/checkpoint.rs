//! SQLite's WAL checkpoints, off the writers' path. By default the connection whose commit
//! takes the WAL past its threshold copies every page back into the database file and
//! syncs it before its commit returns: under a steady stream of answers, one group of
//! buyers in a few hundred waited a tenth of a second for it. Here a task copies the WAL
//! back every 100 ms in `PASSIVE` mode, which never makes a writer or a reader wait, and
//! starts the WAL over once it is large; a writer checkpoints only past a 1 GiB backstop,
//! should the task stop or fall behind.
//!
//! The task drives its own connection (see [`super::direct`]) for its busy handler: to
//! start the WAL over it must take the write lock between two of the answer writer's
//! groups, and SQLite's own handler, sleeping 1, 2, 5, 10 ms and more between tries, lost
//! that race for a tenth of a second while the WAL grew.

use super::direct::{Checkpointed, DirectConnection, Mode};
use super::Db;
use std::time::Duration;

/// How often the WAL is copied back into the database file. Each copy ends with an fsync
/// of both files, whose cost grows with what was written since the last: once a second,
/// the answer writer's commits stalled up to 54 ms behind it (10 ms at most, every 100 ms).
const EVERY: Duration = Duration::from_millis(100);

/// WAL pages (4 KiB, so 32 MiB) past which the WAL is started over. SQLite starts it over
/// by itself only when a writer begins while every page is copied back, which a steady
/// stream of writes never allows: the WAL grew to the backstop, and the commit that
/// reached it copied a gigabyte back (a stall of 170–220 ms). Starting over keeps writers
/// out while the last pages are copied and both files synced, 13–16 ms at 64 MiB and
/// 40 ms at 256 MiB. Answer benchmark p99: 8.7–9.6 ms at 32 MiB, 8.3–10.0 ms at 64 MiB,
/// 8.7–37 ms at 256 MiB (BENCHMARKS.md, session 15).
const RESTART_PAGES: i64 = 8_192;

/// Pages written during a copy few enough (1 MiB) for `RESTART`, which keeps writers out
/// while it copies them, to start the WAL over. A copy reports the WAL as it found it, so
/// until one finds little new, another copies what was written meanwhile.
const CAUGHT_UP_PAGES: i64 = 256;

/// Passive copies made to catch up before starting over; past them, the next tick tries
/// again.
const CATCH_UP_PASSES: usize = 8;

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
        let mut held: Option<DirectConnection> = None;
        loop {
            tick.tick().await;
            if db.pool().is_closed() {
                return;
            }
            let conn = match held.take().map(Ok).or_else(|| db.direct()) {
                Some(Ok(conn)) => conn,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "opening SQLite's checkpointer failed; retrying");
                    continue;
                }
                None => return,
            };
            // The copies read and write the files: off the runtime's threads.
            let done = tokio::task::spawn_blocking(move || {
                let now = checkpoint(&conn, wal, RESTART_PAGES);
                (conn, now)
            })
            .await;
            match done {
                Ok((conn, Ok(now))) => {
                    wal = now;
                    held = Some(conn);
                }
                Ok((_, Err(e))) => {
                    tracing::warn!(error = %e, "copying SQLite's WAL back failed; retrying");
                }
                Err(e) => tracing::error!(error = %e, "SQLite's checkpointer panicked"),
            }
        }
    });
}

/// One round: copies the WAL back, starts it over once it holds more than `restart_at`
/// pages, and truncates its file after a burst (nothing written since, everything copied
/// back). Gives the WAL as it leaves it.
fn checkpoint(conn: &DirectConnection, last: Wal, restart_at: i64) -> anyhow::Result<Wal> {
    let mut done = conn.checkpoint(Mode::Passive)?;
    if done.pages > restart_at {
        for _ in 0..CATCH_UP_PASSES {
            let before = done.pages;
            done = conn.checkpoint(Mode::Passive)?;
            if done.pages - before < CAUGHT_UP_PAGES && done.left() == 0 {
                break;
            }
        }
        if done.left() == 0 && !conn.checkpoint(Mode::Restart)?.busy {
            done = Checkpointed::default();
        }
    }
    let peak = last.peak.max(done.pages);
    let idle = done.pages == last.pages && done.left() == 0;
    if idle && peak > TRIM_PAGES {
        // Busy: a reader or writer came in meanwhile; the next quiet tick tries again.
        if !conn.checkpoint(Mode::Truncate)?.busy {
            return Ok(Wal::default());
        }
    }
    Ok(Wal {
        pages: done.pages,
        peak,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database file with a table of notes, in a folder removed when dropped.
    async fn notes() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("debrief.db");
        let db = Db::connect(&format!("sqlite://{}", file.display()))
            .await
            .expect("connect");
        sqlx::query("create table notes (body text not null)")
            .execute(db.pool())
            .await
            .expect("table");
        (dir, db)
    }

    #[tokio::test]
    async fn a_checkpoint_copies_what_was_committed_into_the_database_file() {
        let (dir, db) = notes().await;
        let file = dir.path().join("debrief.db");
        let before = std::fs::metadata(&file).expect("file").len();
        for _ in 0..50 {
            sqlx::query("insert into notes (body) values ($1)")
                .bind("x".repeat(4_000))
                .execute(db.pool())
                .await
                .expect("insert");
        }
        let conn = db.direct().expect("SQLite").expect("connection");
        checkpoint(&conn, Wal::default(), RESTART_PAGES).expect("checkpoint");
        assert!(
            std::fs::metadata(&file).expect("file").len() >= before + 50 * 4_000,
            "the rows are in the database file"
        );
    }

    #[tokio::test]
    async fn under_writes_that_never_pause_the_wal_starts_over() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Barrier};
        let (_dir, db) = notes().await;
        // Commits go on until the WAL has started over at least once (or a bound): on a
        // loaded machine, a fixed count could end before the checkpointer ever ran.
        const AT_LEAST: i64 = 2_000;
        const AT_MOST: i64 = 100_000;
        let restarted = Arc::new(AtomicBool::new(false));
        let start = Arc::new(Barrier::new(2));
        let writer = db.direct().expect("SQLite").expect("connection");
        let writing = {
            let (restarted, start) = (restarted.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                // One commit right after another, as the answer writer under load.
                let mut commits = 0;
                while commits < AT_LEAST
                    || (!restarted.load(Ordering::Relaxed) && commits < AT_MOST)
                {
                    writer
                        .execute_batch(&format!(
                            "insert into notes (body) values ('note {commits}')"
                        ))
                        .expect("insert");
                    commits += 1;
                }
                commits
            })
        };
        let checkpointer = db.direct().expect("SQLite").expect("connection");
        let mut wal = Wal::default();
        start.wait();
        while !writing.is_finished() {
            let before = wal;
            wal = checkpoint(&checkpointer, wal, 16).expect("checkpoint");
            if before.pages > 0 && wal.pages == 0 {
                restarted.store(true, Ordering::Relaxed);
            }
        }
        let commits = writing.join().expect("writer");
        let left = checkpointer.checkpoint(Mode::Passive).expect("checkpoint");
        // Each commit adds at least one page to the WAL: one that never started over
        // would hold at least as many pages as there were commits.
        assert!(
            left.pages < commits,
            "the WAL holds {} pages after {commits} commits",
            left.pages
        );
        let (rows,): (i64,) = sqlx::query_as("select count(*) from notes")
            .fetch_one(db.pool())
            .await
            .expect("count");
        assert_eq!(rows, commits, "every note is kept across the restarts");
    }
}
