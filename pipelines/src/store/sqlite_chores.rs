//! The pipeline's small writes on SQLite, committed in groups: connector
//! checkpoints, quarantined records and the Huangshi outbox.
//!
//! These writes come many times a second from several tasks, and each used
//! to take the store's one writer connection for a transaction of its own:
//! the workflow sink, which carries nearly all the data, queued behind a
//! dozen of them after every commit (about a quarter of its time in a
//! 100,000-appeal demo). Through [`super::sqlite_group`] they share one.

use super::sqlite::now;
use super::sqlite_group::Grouped;
use super::{ForwardSettle, NewQuarantine, StoreError, digest, settle_rows};
use crate::db::sqlite_direct::id_text;
use minqing_connectors::Channel;
use rusqlite::{Connection, Transaction, params};
use uuid::Uuid;

/// One small write.
#[derive(Debug)]
pub(crate) enum Chore {
    Checkpoint {
        channel: Channel,
        cursor: String,
    },
    /// Answers whether each record was new.
    Quarantine(Vec<NewQuarantine>),
    /// Ticket ids entering the Huangshi outbox.
    EnqueueForwards(Vec<String>),
    SettleForwards(Vec<(Uuid, u32, ForwardSettle)>),
    /// Warehouse outbox rows the warehouse has committed.
    Relayed(Vec<i64>),
}

impl Grouped for Chore {
    /// For quarantine, whether each record was new; empty otherwise.
    type Answer = Vec<bool>;
    const WHAT: &'static str = "checkpoints, quarantine and outbox";
    fn write(tx: &Transaction<'_>, group: &[&Self]) -> Result<Vec<Vec<bool>>, StoreError> {
        let mut done = Vec::with_capacity(group.len());
        for chore in group {
            done.push(match chore {
                Chore::Checkpoint { channel, cursor } => {
                    checkpoint(tx, *channel, cursor)?;
                    Vec::new()
                }
                Chore::Quarantine(items) => quarantine(tx, items)?,
                Chore::EnqueueForwards(ids) => {
                    enqueue_forwards(tx, ids)?;
                    Vec::new()
                }
                Chore::SettleForwards(settled) => {
                    settle_forwards(tx, settled)?;
                    Vec::new()
                }
                Chore::Relayed(ids) => {
                    let mut del = tx.prepare_cached("DELETE FROM warehouse_outbox WHERE id = ?1")?;
                    for id in ids {
                        del.execute([id])?;
                    }
                    Vec::new()
                }
            });
        }
        Ok(done)
    }
}

fn checkpoint(db: &Connection, channel: Channel, cursor: &str) -> rusqlite::Result<()> {
    db.prepare_cached(
        "INSERT INTO connector_checkpoints (channel, cursor, updated_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (channel) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
    )?
    .execute(params![channel.id(), cursor, now()])?;
    Ok(())
}

fn quarantine(db: &Connection, items: &[NewQuarantine]) -> rusqlite::Result<Vec<bool>> {
    let stamp = now();
    let mut stmt = db.prepare_cached(
        "INSERT OR IGNORE INTO quarantine (digest, channel, source_id, reason, raw, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut out = Vec::with_capacity(items.len());
    for q in items {
        let n = stmt.execute(params![
            digest(q.channel, &q.raw),
            q.channel.id(),
            q.source_id,
            q.reason,
            q.raw,
            stamp
        ])?;
        out.push(n == 1);
    }
    Ok(out)
}

fn enqueue_forwards(db: &Connection, ids: &[String]) -> rusqlite::Result<()> {
    let stamp = now();
    let at_ms = chrono::Utc::now().timestamp_millis();
    let mut stmt = db.prepare_cached(
        "INSERT OR IGNORE INTO forward_outbox (ticket_id, status, attempts, next_attempt_ms, created_at, updated_at) \
         VALUES (?1, 'pending', 0, ?2, ?3, ?3)",
    )?;
    for id in ids {
        stmt.execute(params![id, at_ms, stamp])?;
    }
    Ok(())
}

/// Each transfer's outcome, and the ticket's status where it changes.
fn settle_forwards(db: &Connection, settled: &[(Uuid, u32, ForwardSettle)]) -> rusqlite::Result<()> {
    let stamp = now();
    let mut outbox = db.prepare_cached(
        "UPDATE forward_outbox SET status = ?2, attempts = ?3, last_error = COALESCE(?4, last_error), \
         huangshi_no = COALESCE(?5, huangshi_no), next_attempt_ms = ?6, updated_at = ?7 WHERE ticket_id = ?1",
    )?;
    let mut ticket = db.prepare_cached("UPDATE tickets SET status = ?2, updated_at = ?3 WHERE ticket_id = ?1")?;
    let mut buf = [0; uuid::fmt::Hyphenated::LENGTH];
    for r in settle_rows(settled) {
        let id = id_text(&r.ticket_id, &mut buf);
        outbox.execute(params![
            id,
            r.status,
            r.attempts,
            r.error,
            r.number,
            r.retry_at.map_or(0, |t| t.timestamp_millis()),
            stamp
        ])?;
        if let Some(status) = r.ticket_status {
            ticket.execute(params![id, status, stamp])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;
    use crate::store::sqlite_group::Committer;
    use crate::store::{CursorStore, QuarantineStore};

    fn record(raw: &[u8]) -> NewQuarantine {
        NewQuarantine {
            channel: Channel::Police110,
            source_id: None,
            reason: "police_110: bad XML".into(),
            raw: raw.to_vec(),
        }
    }

    /// Concurrent small writes share transactions and each caller hears its
    /// own answer; a write that fails inside a group does not fail the others.
    #[tokio::test]
    async fn concurrent_writes_each_get_their_own_answer() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("w.db")).await.unwrap();
        let chores = Committer::<Chore>::start(store.writer());
        let mut waits = Vec::new();
        for i in 0..40u8 {
            let c = chores.clone();
            waits.push(tokio::spawn(async move {
                // Every record twice: the second is not new.
                let q = c.commit(Chore::Quarantine(vec![record(&[i]), record(&[i])])).await.unwrap();
                let k = c
                    .commit(Chore::Checkpoint {
                        channel: Channel::Police110,
                        cursor: format!("{i}"),
                    })
                    .await
                    .unwrap();
                (q, k)
            }));
        }
        for w in waits {
            let (q, k) = w.await.unwrap();
            assert_eq!(q, vec![true, false]);
            assert!(k.is_empty());
        }
        assert!(store.load_checkpoint(Channel::Police110).await.unwrap().is_some());
        let held = store.list_quarantine(&Default::default()).await.unwrap();
        assert_eq!(held.len(), 40);

        // A write that cannot commit (its table is gone) fails alone.
        store.writer().lock().execute_batch("DROP TABLE forward_outbox").unwrap();
        let (a, b) = tokio::join!(
            chores.commit(Chore::EnqueueForwards(vec![Uuid::nil().to_string()])),
            chores.commit(Chore::Checkpoint {
                channel: Channel::Grid,
                cursor: "c9".into()
            }),
        );
        assert!(a.unwrap_err().to_string().contains("forward_outbox"));
        assert!(b.is_ok());
        assert_eq!(store.load_checkpoint(Channel::Grid).await.unwrap().as_deref(), Some("c9"));
    }
}
