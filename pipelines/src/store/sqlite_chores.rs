//! The pipeline's small writes on SQLite, committed in groups: connector
//! checkpoints, quarantined records and the Huangshi outbox.
//!
//! These writes come many times a second from several tasks, and each used
//! to take the store's one writer connection for a transaction of its own:
//! the workflow sink, which carries nearly all the data, queued behind a
//! dozen of them after every commit (about a quarter of its time in a
//! 100,000-appeal demo). Through [`super::sqlite_group`] they share one.

use super::sqlite::{now, pow2_chunks};
use super::sqlite_group::Grouped;
use super::{ForwardSettle, NewQuarantine, StoreError, digest, settle_rows};
use async_trait::async_trait;
use minqing_connectors::Channel;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};
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
}

#[async_trait]
impl Grouped for Chore {
    /// For quarantine, whether each record was new; empty otherwise.
    type Answer = Vec<bool>;
    const WHAT: &'static str = "checkpoints, quarantine and outbox";
    async fn commit(pool: &SqlitePool, group: &[&Self]) -> Result<Vec<Vec<bool>>, StoreError> {
        let mut tx = pool.begin().await?;
        let mut done = Vec::with_capacity(group.len());
        for chore in group {
            done.push(match chore {
                Chore::Checkpoint { channel, cursor } => {
                    checkpoint(&mut tx, *channel, cursor).await?;
                    Vec::new()
                }
                Chore::Quarantine(items) => quarantine(&mut tx, items).await?,
                Chore::EnqueueForwards(ids) => {
                    enqueue_forwards(&mut tx, ids).await?;
                    Vec::new()
                }
                Chore::SettleForwards(settled) => {
                    settle_forwards(&mut tx, settled).await?;
                    Vec::new()
                }
            });
        }
        tx.commit().await?;
        Ok(done)
    }
}

async fn checkpoint(tx: &mut SqliteConnection, channel: Channel, cursor: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO connector_checkpoints (channel, cursor, updated_at) VALUES (?, ?, ?) \
         ON CONFLICT (channel) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
    )
    .bind(channel.id())
    .bind(cursor)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn quarantine(tx: &mut SqliteConnection, items: &[NewQuarantine]) -> Result<Vec<bool>, StoreError> {
    let stamp = now();
    let mut out = Vec::with_capacity(items.len());
    for q in items {
        let r = sqlx::query(
            "INSERT OR IGNORE INTO quarantine (digest, channel, source_id, reason, raw, received_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(digest(q.channel, &q.raw))
        .bind(q.channel.id())
        .bind(q.source_id.as_deref())
        .bind(q.reason.as_str())
        .bind(q.raw.as_slice())
        .bind(stamp.as_str())
        .execute(&mut *tx)
        .await?;
        out.push(r.rows_affected() == 1);
    }
    Ok(out)
}

async fn enqueue_forwards(tx: &mut SqliteConnection, ids: &[String]) -> Result<(), StoreError> {
    let stamp = now();
    let at_ms = chrono::Utc::now().timestamp_millis();
    for chunk in pow2_chunks(ids) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT OR IGNORE INTO forward_outbox (ticket_id, status, attempts, next_attempt_ms, created_at, updated_at) ",
        );
        q.push_values(chunk, |mut b, id| {
            b.push_bind(id.as_str())
                .push("'pending'")
                .push("0")
                .push_bind(at_ms)
                .push_bind(stamp.as_str())
                .push_bind(stamp.as_str());
        });
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// One statement per table and chunk: a statement per transfer was a round
/// trip to the writer thread each, about 30,000 of them in a 100,000-appeal
/// demo.
async fn settle_forwards(tx: &mut SqliteConnection, settled: &[(Uuid, u32, ForwardSettle)]) -> Result<(), StoreError> {
    let stamp = now();
    let rows: Vec<(String, super::SettleRow<'_>)> = settle_rows(settled).into_iter().map(|r| (r.ticket_id.to_string(), r)).collect();
    for chunk in pow2_chunks(&rows) {
        let mut q = QueryBuilder::<Sqlite>::new("WITH u (id, st, n, err, num, nx) AS (");
        q.push_values(chunk, |mut b, (id, r)| {
            b.push_bind(id.as_str())
                .push_bind(r.status)
                .push_bind(i64::from(r.attempts))
                .push_bind(r.error)
                .push_bind(r.number)
                .push_bind(r.retry_at.map_or(0, |t| t.timestamp_millis()));
        });
        q.push(
            ") UPDATE forward_outbox SET status = u.st, attempts = u.n, last_error = COALESCE(u.err, last_error), \
             huangshi_no = COALESCE(u.num, huangshi_no), next_attempt_ms = u.nx, updated_at = ",
        );
        q.push_bind(stamp.as_str());
        q.push(" FROM u WHERE forward_outbox.ticket_id = u.id");
        q.build().execute(&mut *tx).await?;
    }
    let done: Vec<(&str, &'static str)> = rows.iter().filter_map(|(id, r)| Some((id.as_str(), r.ticket_status?))).collect();
    for chunk in pow2_chunks(&done) {
        let mut q = QueryBuilder::<Sqlite>::new("WITH u (id, st) AS (");
        q.push_values(chunk, |mut b, (id, status)| {
            b.push_bind(*id).push_bind(*status);
        });
        q.push(") UPDATE tickets SET status = u.st, updated_at = ");
        q.push_bind(stamp.as_str());
        q.push(" FROM u WHERE tickets.ticket_id = u.id");
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::WorkflowStore;
    use crate::store::sqlite::SqliteStore;
    use crate::store::sqlite_group::Committer;

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
        let chores = Committer::<Chore>::start(store.pool().clone());
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
        sqlx::query("DROP TABLE forward_outbox").execute(store.pool()).await.unwrap();
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
