//! A SQLite writer connection of our own (rusqlite): every write to a file
//! goes through it.
//!
//! Through sqlx every statement and every returned row crosses a channel
//! to the connection's worker thread, and every bound value is first
//! copied into an owned argument: for a batch of tickets that was more CPU
//! than SQLite's own B-tree work. This connection is used from the caller's
//! thread (off the async runtime's workers, see [`blocking`]), keeps its
//! prepared single-row statements across transactions and binds the rows'
//! fields where they lie.
//!
//! It must be the file's only writer: a second one would take turns with
//! it on the write lock, and each commit of one empties the other's page
//! cache. sqlx keeps the migrations and the reads.

use super::sqlite_checkpoint::{Checkpointer, Thresholds};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use uuid::Uuid;

/// Prepared statements kept per connection; more than any writer uses.
const STATEMENTS: usize = 48;

/// A file's writer connection and the thread that checkpoints its WAL.
pub(crate) struct Writer {
    conn: Mutex<Connection>,
    checkpoints: Checkpointer,
}

impl Writer {
    /// The connection, outside any transaction (tests).
    #[cfg(test)]
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Opens the writer connection with the pragmas of
/// [`super::sqlite_file_options`], after sqlx has created and migrated the
/// file, and the thread that checkpoints its WAL (keep it as long as the
/// connection). Foreign keys are checked only if `foreign_keys` (SQLite's
/// own default, off, is not what this build of it defaults to).
pub(crate) fn open(path: &Path, cache_kib: i64, foreign_keys: bool) -> rusqlite::Result<Writer> {
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    db.busy_timeout(std::time::Duration::from_secs(30))?;
    db.set_prepared_statement_cache_capacity(STATEMENTS);
    db.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA mmap_size = 1073741824; \
         PRAGMA temp_store = memory; PRAGMA wal_autocheckpoint = 20000; PRAGMA cache_size = -{cache_kib}; \
         PRAGMA foreign_keys = {};",
        if foreign_keys { "ON" } else { "OFF" }
    ))?;
    // Replaces the automatic checkpoint (the pragma above stays for
    // whatever opens this file without this module).
    let page: i64 = db.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let checkpoints = super::sqlite_checkpoint::start(&db, path, Thresholds::for_page_size(page))?;
    Ok(Writer {
        conn: Mutex::new(db),
        checkpoints,
    })
}

/// Runs `f`, which blocks on SQLite, without stalling the runtime: on a
/// multi-threaded runtime the worker's other tasks move to another thread
/// meanwhile. A current-thread runtime (tests) just runs it.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Runs `f` in one transaction on the writer `db`, off the runtime's
/// workers; an error rolls the transaction back.
pub(crate) fn write<R, E: From<rusqlite::Error>>(w: &Writer, f: impl FnOnce(&Transaction<'_>) -> Result<R, E>) -> Result<R, E> {
    blocking(|| {
        // A panic inside a transaction rolled it back as it unwound, so the
        // connection is fine to use after a poisoned lock.
        let mut db = w.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let r = f(&tx)?;
        w.checkpoints.commit(|| tx.commit())?;
        Ok(r)
    })
}

/// A ticket id as the text the tables hold, without allocating.
pub(crate) fn id_text<'b>(id: &Uuid, buf: &'b mut [u8; uuid::fmt::Hyphenated::LENGTH]) -> &'b str {
    id.hyphenated().encode_lower(buf)
}

/// Adds to `seqs` the `seq` of each ticket among `ids` that it lacks and
/// the file holds.
pub(crate) fn ticket_seqs(db: &Connection, ids: impl IntoIterator<Item = Uuid>, seqs: &mut HashMap<Uuid, i64>) -> rusqlite::Result<()> {
    let mut stmt = db.prepare_cached("SELECT seq FROM tickets WHERE ticket_id = ?1")?;
    let mut buf = [0; uuid::fmt::Hyphenated::LENGTH];
    for id in ids {
        if seqs.contains_key(&id) {
            continue;
        }
        let mut rows = stmt.query([id_text(&id, &mut buf)])?;
        if let Some(row) = rows.next()? {
            seqs.insert(id, row.get(0)?);
        }
    }
    Ok(())
}

/// Where each of `clusters` lives now, for those that were merged.
pub(crate) fn merged_into<'a>(db: &Connection, clusters: impl IntoIterator<Item = &'a str>) -> rusqlite::Result<HashMap<String, String>> {
    let mut stmt = db.prepare_cached("SELECT into_cluster FROM cluster_merges WHERE from_cluster = ?1")?;
    let mut out = HashMap::new();
    for c in clusters {
        if out.contains_key(c) {
            continue;
        }
        let mut rows = stmt.query([c])?;
        if let Some(row) = rows.next()? {
            out.insert(c.to_owned(), row.get(0)?);
        }
    }
    Ok(out)
}

/// Records cluster merges, flattened (each absorbed cluster maps to where
/// it lives now, whatever order the merges came in), and moves the stored
/// tickets of the absorbed clusters. Shared by the workflow store and the
/// SQLite warehouse, which have the same two tables.
pub(crate) fn apply_merges<'a>(db: &Connection, merges: impl Iterator<Item = (&'a str, &'a [String])>) -> rusqlite::Result<()> {
    for (into, from) in merges {
        let into: String = db
            .prepare_cached("SELECT COALESCE((SELECT into_cluster FROM cluster_merges WHERE from_cluster = ?1), ?1)")?
            .query_row([into], |r| r.get(0))?;
        for f in from.iter().filter(|f| **f != into) {
            db.prepare_cached("UPDATE cluster_merges SET into_cluster = ?1 WHERE into_cluster = ?2")?
                .execute([&into, f])?;
            db.prepare_cached(
                "INSERT INTO cluster_merges (from_cluster, into_cluster) VALUES (?1, ?2) \
                 ON CONFLICT (from_cluster) DO UPDATE SET into_cluster = excluded.into_cluster",
            )?
            .execute([f, &into])?;
            // `cluster_id = ?2`, in two halves that each have an index: the
            // members (a partial index) and the cluster's first ticket.
            db.prepare_cached(
                "UPDATE tickets SET cluster_id = ?1 \
                 WHERE (cluster_id = ?2 AND cluster_id <> ticket_id) OR (ticket_id = ?2 AND cluster_id = ?2)",
            )?
            .execute([&into, f])?;
        }
    }
    Ok(())
}
