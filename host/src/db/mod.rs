//! SQLite storage: the connection pools, the one async helper that runs database closures on the
//! blocking pool, and schema migrations.
//!
//! Reads go through a pool of connections; writes go through a separate pool of exactly one
//! connection, so concurrent writers queue in the daemon instead of fighting over SQLite's lock
//! (`SQLITE_BUSY` storms). Repository functions are plain sync functions over `&Connection`.

pub mod audit;
pub mod auth;
pub mod invitations;
pub mod jobs;
pub mod meta;
mod migrations;
pub mod servers;
pub mod settings;
pub mod time;
pub mod users;
pub mod wizards;

pub use migrations::{MIGRATIONS, Migration, migrate, schema_version};

use crate::error::{Error, Result};
use r2d2::{Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

type Manager = SqliteConnectionManager;

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    read: Pool<Manager>,
    write: Pool<Manager>,
    /// Bumped after every [`Db::run`] and [`Db::write`] (see [`Db::generation`]).
    generation: Arc<AtomicU64>,
}

/// Bytes of the database file each connection reads through a memory map
/// (`PRAGMA mmap_size`).
const MMAP_BYTES: u64 = 256 * 1024 * 1024;

/// Prepared statements each connection keeps ([`Cached`]): every statement of a join fits, and
/// the least recently used one goes first.
const STATEMENT_CACHE: usize = 96;

/// `execute` and `query_row` through the connection's prepared-statement cache. Preparing (SQLite
/// parsing the SQL and planning it) was 38 % of SQLite's time in a join when every call
/// prepared its statement again (docs/performance.md, "The join's database time"); a cached
/// statement is parsed once per connection. Works on a `Transaction` or `Savepoint` through
/// their `Deref` to `Connection`.
pub trait Cached {
    /// Like `Connection::execute`, with the statement from the cache.
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;

    /// Like `Connection::query_row`, with the statement from the cache.
    fn row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}

/// Pragmas every connection gets. The file is read through a memory map: with SQLite's default
/// page cache (2 MiB per connection) a page of 100,000 users found by a search read about a
/// thousand rows from the file at random, one `pread` each, and missed the cache on most
/// (docs/performance.md, "The page cache"). Mapped, those reads are memory reads of the kernel's
/// page cache, shared by every connection; no connection keeps a copy of its own.
///
/// Public so the bench measures queries on a connection as the daemon opens it.
pub fn configure(conn: &mut Connection, busy_timeout: Duration) -> rusqlite::Result<()> {
    conn.busy_timeout(busy_timeout)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = ON;
         PRAGMA synchronous = NORMAL;
         PRAGMA temp_store = MEMORY;
         PRAGMA mmap_size = {MMAP_BYTES};"
    ))?;
    Ok(())
}

impl Db {
    /// Open (creating if needed) the database file, switch it to WAL, apply migrations.
    pub fn open(path: &Path, pool_size: u32, busy_timeout: Duration) -> anyhow::Result<Db> {
        {
            // WAL is a property of the file: set it once on a plain connection, and run the
            // migrations there before any pool exists.
            let mut conn = Connection::open(path)?;
            configure(&mut conn, busy_timeout)?;
            let mode: String = conn.row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            anyhow::ensure!(
                mode.eq_ignore_ascii_case("wal"),
                "SQLite refused WAL mode ({mode})"
            );
            migrate(&mut conn)?;
        }
        let make = |size: u32| -> anyhow::Result<Pool<Manager>> {
            let manager =
                SqliteConnectionManager::file(path).with_init(move |c| configure(c, busy_timeout));
            Ok(Pool::builder()
                .max_size(size)
                .connection_timeout(Duration::from_secs(10))
                .build(manager)?)
        };
        Ok(Db {
            read: make(pool_size)?,
            write: make(1)?,
            generation: Arc::default(),
        })
    }

    /// An in-memory database with migrations applied (tests). Every pooled connection shares
    /// the same named in-memory database.
    pub fn open_in_memory() -> anyhow::Result<Db> {
        let name = format!(
            "file:zondarr-{}?mode=memory&cache=shared",
            uuid::Uuid::new_v4()
        );
        let flags = rusqlite::OpenFlags::default() | rusqlite::OpenFlags::SQLITE_OPEN_URI;
        let manager = || {
            SqliteConnectionManager::file(&name)
                .with_flags(flags)
                .with_init(|c| configure(c, Duration::from_secs(5)))
        };
        let write = Pool::builder().max_size(1).build(manager())?;
        let mut conn = write.get()?;
        migrate(&mut conn)?;
        drop(conn);
        let read = Pool::builder().max_size(4).build(manager())?;
        Ok(Db {
            read,
            write,
            generation: Arc::default(),
        })
    }

    /// Run a read-only closure on the blocking pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        // The read pool's connections can write: whatever the closure did, caches keyed on the
        // generation read again. Bumped on the blocking thread, so a caller that goes away
        // before the closure ends cannot skip it.
        let generation = self.generation.clone();
        self.select(move |c| {
            let out = f(c);
            generation.fetch_add(1, Ordering::AcqRel);
            out
        })
        .await
    }

    /// [`Db::run`] for a closure that only reads (`SELECT`s): it leaves [`Db::generation`]
    /// as it is, so a cache filled from it stays valid.
    pub async fn select<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let pool = self.read.clone();
        blocking(move || {
            let conn = pool.get()?;
            f(&conn)
        })
        .await
    }

    /// A number that changes after every [`Db::write`] and [`Db::run`] of this daemon (taken
    /// after it finished, so after its commit): data read by [`Db::select`] after seeing a
    /// generation is current as long as the generation is unchanged. Writes by other processes
    /// (the `zondarr` command line on the same file) do not change it.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Run a closure inside one write transaction (`BEGIN IMMEDIATE`) on the single writer
    /// connection; it commits when the closure returns `Ok` and rolls back otherwise (also when
    /// it panics, or the commit fails).
    ///
    /// `BEGIN IMMEDIATE` and `COMMIT` come from the statement cache like every other statement
    /// ([`Cached`]): rusqlite's `Transaction` parses both again each time, and a join makes five
    /// write transactions.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let pool = self.write.clone();
        let generation = self.generation.clone();
        blocking(move || {
            let conn: PooledConnection<Manager> = pool.get()?;
            conn.exec("BEGIN IMMEDIATE", [])?;
            let open = RollBackUnlessCommitted(&conn);
            let out = f(open.0)?;
            open.0.exec("COMMIT", [])?;
            drop(open);
            generation.fetch_add(1, Ordering::AcqRel);
            Ok(out)
        })
        .await
    }

    /// Connections of the read pool and of the writer, for metrics.
    pub fn pool_states(&self) -> Vec<crate::metrics::PoolState> {
        [("read", &self.read), ("write", &self.write)]
            .into_iter()
            .map(|(pool, p)| {
                let s = p.state();
                crate::metrics::PoolState {
                    pool,
                    idle: s.idle_connections,
                    in_use: s.connections.saturating_sub(s.idle_connections),
                }
            })
            .collect()
    }

    /// Whether the database answers (for `/health/ready`).
    pub async fn ping(&self) -> Result<()> {
        self.run(|c| Ok(c.row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
            .await
            .map(|_| ())
    }
}

/// Rolls back the transaction open on its connection when dropped before a `COMMIT` ended it:
/// an error, a failed commit or a panic never leaves the pooled writer inside a transaction.
struct RollBackUnlessCommitted<'a>(&'a Connection);

impl Drop for RollBackUnlessCommitted<'_> {
    fn drop(&mut self) {
        if !self.0.is_autocommit()
            && let Err(e) = self.0.execute_batch("ROLLBACK")
        {
            tracing::error!(error = %e, "could not roll back a write transaction");
        }
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("database task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn file_database_uses_wal_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db"), 2, Duration::from_secs(1)).unwrap();
        let (mode, fk) = db
            .run(|c| {
                let mode: String = c.row("PRAGMA journal_mode", [], |r| r.get(0))?;
                let fk: i64 = c.row("PRAGMA foreign_keys", [], |r| r.get(0))?;
                Ok((mode, fk))
            })
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(fk, 1);
        db.ping().await.unwrap();
    }

    #[tokio::test]
    async fn failed_write_rolls_back() {
        let db = Db::open_in_memory().unwrap();
        let res: Result<()> = db
            .write(|tx| {
                tx.exec("INSERT INTO meta (key, value) VALUES ('a', '1')", [])?;
                Err(Error::new(crate::error::ErrorCode::Conflict, "stop"))
            })
            .await;
        assert!(res.is_err());
        let n: i64 = db
            .run(|c| Ok(c.row("SELECT count(*) FROM meta", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(n, 0);
    }

    #[tokio::test]
    async fn a_panic_or_a_failed_commit_rolls_back_and_the_writer_stays_usable() {
        let db = Db::open_in_memory().unwrap();
        let count = |db: Db, table: &'static str| async move {
            db.run(move |c| {
                Ok(c.row(&format!("SELECT count(*) FROM {table}"), [], |r| {
                    r.get::<_, i64>(0)
                })?)
            })
            .await
            .unwrap()
        };
        let panicked: Result<()> = db
            .write(|tx| {
                tx.exec("INSERT INTO meta (key, value) VALUES ('p', '1')", [])?;
                panic!("a bug inside a write");
            })
            .await;
        assert!(panicked.is_err());
        assert_eq!(count(db.clone(), "meta").await, 0);

        // A deferred foreign key is checked at COMMIT, so that is where this write fails.
        db.write(|tx| {
            tx.execute_batch(
                "CREATE TABLE parent (id INTEGER PRIMARY KEY);
                 CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);",
            )?;
            Ok(())
        })
        .await
        .unwrap();
        let refused = db
            .write(|tx| {
                tx.exec("INSERT INTO child (parent) VALUES (7)", [])?;
                Ok(())
            })
            .await;
        assert!(refused.is_err(), "the commit must fail");
        assert_eq!(count(db.clone(), "child").await, 0);

        db.write(|tx| {
            tx.exec("INSERT INTO meta (key, value) VALUES ('after', '1')", [])?;
            Ok(())
        })
        .await
        .expect("the writer is usable after both");
        assert_eq!(count(db.clone(), "meta").await, 1);
    }

    #[tokio::test]
    async fn concurrent_writes_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db"), 4, Duration::from_secs(5)).unwrap();
        let mut tasks = Vec::new();
        for i in 0..50 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                db.write(move |tx| {
                    tx.exec(
                        "INSERT INTO meta (key, value) VALUES (?1, 'x')",
                        [format!("k{i}")],
                    )?;
                    Ok(())
                })
                .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let n: i64 = db
            .run(|c| Ok(c.row("SELECT count(*) FROM meta", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(n, 50);
    }
}
