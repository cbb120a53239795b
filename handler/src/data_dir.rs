//! The self-hosted relay's data directory (`--data-dir`): one SQLite database holding the
//! delivery queue, the dead letters, and the delivery state (exactly-once claims, living
//! messages), so a single binary has every feature without AWS.
//!
//! SQLite rather than an embedded key-value store because `handler dead-letters` and `handler
//! replay` must work while the relay serves from the same directory: SQLite's file locking lets
//! several processes share one database, where redb, say, locks its file to one process. The
//! database is in WAL mode with `synchronous = FULL`, so a committed write (the one a 202 answer
//! waits for) survives `kill -9` and power loss. One serving relay per directory is enforced by
//! an exclusive lock on `serve.lock`; the CLI commands need no lock.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

/// The database file inside the data directory.
pub const DATABASE: &str = "relay.sqlite3";
/// Held (exclusively) by the one relay serving from the directory.
pub const SERVE_LOCK: &str = "serve.lock";

/// An open data directory.
#[derive(Clone)]
pub struct DataDir {
    /// The queue's connection: every commit is on disk before it returns.
    db: Arc<Mutex<Connection>>,
    /// The delivery state's connection (`synchronous = NORMAL`: WAL commits without waiting for
    /// the disk). Losing its last commits to a power cut can at worst post a redelivered
    /// delivery again; waiting for the disk twice per delivery would cost every delivery.
    state_db: Arc<Mutex<Connection>>,
    path: PathBuf,
    /// The serving relay's lock, released when the last clone is dropped.
    _lock: Option<Arc<File>>,
}

impl std::fmt::Debug for DataDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataDir").field("path", &self.path).finish()
    }
}

/// Who opens the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opener {
    /// The relay serving deliveries: takes the directory's serve lock.
    Server,
    /// A CLI command (`dead-letters`, `replay`): shares the database with a running server.
    Command,
}

/// Why the data directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the data directory {path} could not be created: {why}")]
    Create { path: PathBuf, why: std::io::Error },
    #[error(
        "the data directory {path} is in use by another relay serving from it (its {SERVE_LOCK} \
         is locked); stop it or give this one another --data-dir"
    )]
    Locked { path: PathBuf },
    #[error("the data directory {path} could not be locked: {why}")]
    Lock { path: PathBuf, why: std::io::Error },
    #[error("the database {path} could not be opened: {why}")]
    Database { path: PathBuf, why: rusqlite::Error },
}

/// Milliseconds since the Unix epoch: how the database stores instants.
pub use crate::queue::now_ms;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT,
    kind TEXT NOT NULL,
    body BLOB NOT NULL,
    lane TEXT NOT NULL,
    org TEXT,
    project TEXT,
    stack TEXT,
    state TEXT NOT NULL CHECK (state IN ('queued', 'dead')),
    received_ms INTEGER NOT NULL,
    -- The start of the current retry window: the arrival, or the last replay.
    since_ms INTEGER NOT NULL,
    next_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    first_attempt_ms INTEGER,
    last_attempt_ms INTEGER,
    last_error TEXT,
    -- What Pulumi Cloud's API said about the run (JSON), kept for the retries.
    enrichment TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_by_lane ON deliveries (state, lane, seq);
CREATE TABLE IF NOT EXISTS state (
    pk TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    token TEXT,
    lease_until_ms INTEGER,
    channel TEXT,
    ts TEXT,
    requested_channel TEXT,
    rank INTEGER,
    expires_ms INTEGER NOT NULL,
    -- Who started a deployment from Slack (ChatOps), on its `start#…` row.
    started_by TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
";

/// A column later relays added to `table`, added (empty) to a database written before it: the
/// deliveries' `enrichment` (why a run failed), the state's `started_by` (ChatOps).
fn add_column(db: &rusqlite::Connection, table: &str, column: &str) -> rusqlite::Result<()> {
    let present = db
        .prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2")?
        .exists([table, column])?;
    if present {
        return Ok(());
    }
    match db.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} TEXT")) {
        // Another process (the server and a CLI command opening an old database together)
        // added it between the check and here.
        Err(e) if e.to_string().contains("duplicate column name") => Ok(()),
        other => other,
    }
}

impl DataDir {
    /// Opens (creating if missing) the data directory `path`. `max_bytes` caps the database:
    /// past it, writes fail as a full disk would, and deliveries are answered 503.
    pub fn open(path: &Path, opener: Opener, max_bytes: Option<u64>) -> Result<DataDir, OpenError> {
        std::fs::create_dir_all(path).map_err(|why| OpenError::Create {
            path: path.to_owned(),
            why,
        })?;
        let lock = match opener {
            Opener::Command => None,
            Opener::Server => Some(Arc::new(lock(path)?)),
        };
        let file = path.join(DATABASE);
        let database = |why| OpenError::Database {
            path: file.clone(),
            why,
        };
        let db = connect(&file, "FULL", max_bytes).map_err(database)?;
        db.execute_batch(SCHEMA).map_err(database)?;
        add_column(&db, "deliveries", "enrichment").map_err(database)?;
        add_column(&db, "state", "started_by").map_err(database)?;
        if opener == Opener::Server {
            // Whoever held a claim or a first-post reservation before is gone: the serve lock
            // says no other relay uses this directory. Their deliveries are tried afresh.
            db.execute(
                "DELETE FROM state WHERE state IN ('claimed', 'posting') OR expires_ms < ?1",
                [now_ms()],
            )
            .map_err(database)?;
        }
        let state_db = connect(&file, "NORMAL", max_bytes).map_err(database)?;
        Ok(DataDir {
            db: Arc::new(Mutex::new(db)),
            state_db: Arc::new(Mutex::new(state_db)),
            path: path.to_owned(),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the queue's connection off the async runtime (a commit waits for the disk).
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> rusqlite::Result<T> {
        run_on(self.db.clone(), f).await
    }

    /// Runs `f` on the delivery state's connection off the async runtime.
    pub async fn run_state<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> rusqlite::Result<T> {
        run_on(self.state_db.clone(), f).await
    }

    /// Runs `f` on the database in this thread (the CLI commands).
    pub fn run_here<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let mut db = self
            .db
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut db)
    }
}

async fn run_on<T: Send + 'static>(
    db: Arc<Mutex<Connection>>,
    f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
) -> rusqlite::Result<T> {
    tokio::task::spawn_blocking(move || {
        let mut db = db.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut db)
    })
    .await
    .unwrap_or_else(|join| {
        Err(rusqlite::Error::ToSqlConversionFailure(
            format!("the database task failed: {join}").into(),
        ))
    })
}

/// A connection to `file` in WAL mode with the given `synchronous` level, capped at `max_bytes`.
fn connect(file: &Path, synchronous: &str, max_bytes: Option<u64>) -> rusqlite::Result<Connection> {
    let db = Connection::open(file)?;
    db.busy_timeout(std::time::Duration::from_secs(5))?;
    db.pragma_update(None, "journal_mode", "WAL")?;
    db.pragma_update(None, "synchronous", synchronous)?;
    if let Some(max) = max_bytes {
        let page: i64 = db.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let pages = (max as i64 / page).max(8);
        // Per connection: both of this process's connections are capped.
        db.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
    }
    Ok(db)
}

fn lock(dir: &Path) -> Result<File, OpenError> {
    let path = dir.join(SERVE_LOCK);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|why| OpenError::Lock {
            path: path.clone(),
            why,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(OpenError::Locked {
            path: dir.to_owned(),
        }),
        Err(TryLockError::Error(why)) => Err(OpenError::Lock { path, why }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::FailedAttempt;
    use crate::queue::local::LocalQueue;

    /// The `deliveries` table as relays before enrichment wrote it, with one queued delivery.
    fn old_database(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        let db = rusqlite::Connection::open(dir.join(DATABASE)).unwrap();
        let old = SCHEMA.replace(
            "last_error TEXT,\n    -- What Pulumi Cloud's API said about the run (JSON), kept for the retries.\n    enrichment TEXT",
            "last_error TEXT",
        );
        let old = old.replace(
            ",\n    -- Who started a deployment from Slack (ChatOps), on its `start#…` row.\n    started_by TEXT",
            "",
        );
        assert!(
            !old.contains("enrichment") && !old.contains("started_by"),
            "the old schema has neither column"
        );
        db.execute_batch(&old).unwrap();
        db.execute(
            "INSERT INTO deliveries (kind, body, lane, state, received_ms, since_ms, next_ms,
                attempts) VALUES ('stack_update', X'7B7D', 'a/b/c', 'queued', 0, 0, 0, 1)",
            [],
        )
        .unwrap();
    }

    #[tokio::test]
    async fn a_database_from_before_enrichment_opens_and_its_queue_keeps_working() {
        let dir = std::env::temp_dir().join(format!("relay-old-db-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        old_database(&dir);
        let queue = LocalQueue::new(DataDir::open(&dir, Opener::Command, None).unwrap());
        let due = queue.due(10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].enrichment, None);
        let fetched = relay_core::enrich::Enrichment {
            errors_total: 1,
            ..Default::default()
        };
        let failed = FailedAttempt {
            error: "ratelimited".into(),
            retry_in: Some(std::time::Duration::ZERO),
        };
        queue
            .failed(&due[0].id, failed, Some(fetched.clone()))
            .await
            .unwrap();
        assert_eq!(queue.due(10).await.unwrap()[0].enrichment, Some(fetched));
        // The state table gained `started_by` too: a run started from Slack is remembered.
        let state = crate::state::local::LocalState::new(
            DataDir::open(&dir, Opener::Command, None).unwrap(),
        );
        let start = crate::state::Start {
            user: "U0DEV00001".into(),
            thread: None,
        };
        state
            .remember_start("start#a/b/c#1", &start, std::time::Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(state.start("start#a/b/c#1").await.unwrap(), Some(start));
        // Opened again (the columns now there): nothing to add.
        DataDir::open(&dir, Opener::Command, None).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
