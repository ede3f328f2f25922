//! Database plumbing shared by the workflow store and the warehouse:
//! sqlx pools built without sqlx's maintenance task ([`pool`]), the
//! SQLite files' one rusqlite writer ([`sqlite_direct`]) with the thread
//! that checkpoints its WAL ([`sqlite_checkpoint`]), and how every SQLite
//! file is opened.

pub mod pool;
pub(crate) mod sqlite_checkpoint;
pub(crate) mod sqlite_direct;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use std::path::Path;
use std::time::Duration;

/// Page size of new files (an existing file keeps its own). Each WAL frame
/// is two `pwrite`s and a checksum whatever its size, and the checkpoint
/// copies a page per call: with 4 KiB pages a 100,000-appeal demo made
/// about 450,000 such calls. 16 KiB pages wrote 25% more bytes but ran
/// the demo ~13% faster in four rounds (`docs/benchmarks.md`); the API's
/// single-order actions were no slower.
pub(crate) const PAGE_SIZE: u32 = 16384;

/// A SQLite file in WAL mode, its folder created if missing. NORMAL
/// synchronous in WAL mode survives a process crash; only a power cut can
/// lose the last commits.
///
/// Ticket ids are random, so inserts touch pages all over the B-trees: mmap
/// keeps them out of pread, and rare checkpoints batch the copy back into
/// the database file (a page rewritten by many commits is copied once).
pub(crate) fn sqlite_file_options(path: &Path) -> Result<SqliteConnectOptions, std::io::Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    Ok(SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .page_size(PAGE_SIZE)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(30))
        .pragma("mmap_size", "1073741824")
        .pragma("temp_store", "memory")
        .pragma("wal_autocheckpoint", "20000"))
}

/// Whether SQLite failed for want of a resource: a full disk, no memory,
/// an I/O failure, a read-only, unopenable, busy or locked file. Waiting
/// can fix these; refusing the rows cannot.
pub(crate) fn sqlite_lacks_resource(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode as C;
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _) if matches!(
            f.code,
            C::DiskFull | C::OutOfMemory | C::SystemIoFailure | C::ReadOnly | C::CannotOpen | C::DatabaseBusy | C::DatabaseLocked
        )
    )
}

/// Whether an sqlx call failed on the way to the database (a restart, a
/// cut socket, a TLS session torn down, no pooled connection) or SQLite,
/// through sqlx, lacked a resource: the rows were never judged.
/// PostgreSQL's own error codes are read by the store.
pub(crate) fn sqlx_unreached(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.message().contains("database or disk is full") || d.message().contains("disk I/O error"),
        _ => false,
    }
}
