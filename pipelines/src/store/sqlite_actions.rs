//! Work-order actions on SQLite, committed in groups.
//!
//! SQLite has one writer, and the embedded store one connection, so every
//! API action used to wait for its own transaction: a commit writes each
//! dirty page to the WAL, and that, not the few statements of an action,
//! was most of its cost. Actions that arrive while a transaction is being
//! written wait for the next one and share it. Each action is still decided
//! on its own inside that transaction (its idempotency key, then its order's
//! version, which sees the writes of the actions before it), so two clerks
//! acting on one order in the same group get what they would one at a time:
//! the first is done, the second is stale. If the shared transaction fails,
//! each action is retried in a transaction of its own, so one bad action
//! never fails its neighbours.

use super::sqlite::{insert_events, now, ticket_seqs, upsert_orders};
use super::sqlite_group::Grouped;
use super::{ActionCommit, Committed, StoreError};
use crate::ticket::TicketEvent;
use async_trait::async_trait;
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::collections::HashMap;

#[async_trait]
impl Grouped for ActionCommit {
    type Answer = Committed;
    const WHAT: &'static str = "work-order actions";
    async fn commit(pool: &SqlitePool, group: &[&Self]) -> Result<Vec<Committed>, StoreError> {
        commit_group(pool, group).await
    }
}

/// Commits `commits` in one transaction, deciding each in order.
pub(crate) async fn commit_group(pool: &SqlitePool, commits: &[&ActionCommit]) -> Result<Vec<Committed>, StoreError> {
    let mut tx = pool.begin().await?;
    let mut answers = Vec::with_capacity(commits.len());
    for c in commits {
        answers.push(commit_one(&mut tx, c).await?);
    }
    tx.commit().await?;
    Ok(answers)
}

/// One action inside a transaction: replayed if its key was used, stale if
/// its order moved on, otherwise written.
async fn commit_one(tx: &mut Transaction<'_, Sqlite>, c: &ActionCommit) -> Result<Committed, StoreError> {
    if let Some((key, _, _)) = &c.key
        && let Some((status, response)) = sqlx::query_as::<_, (i64, String)>("SELECT status, response FROM idempotency_keys WHERE key = ?")
            .bind(key)
            .fetch_optional(&mut **tx)
            .await?
    {
        return Ok(Committed::Replayed {
            status: status as u16,
            response,
        });
    }
    let id = c.order.ticket_id;
    let mut seqs = HashMap::new();
    ticket_seqs(tx, [id], &mut seqs).await?;
    // The order is keyed by its ticket's arrival order.
    let seq = *seqs
        .get(&id)
        .ok_or_else(|| StoreError::Corrupt(format!("work order {id} has no ticket")))?;
    let version: Option<i64> = sqlx::query_scalar("SELECT version FROM work_orders WHERE ticket_seq = ?")
        .bind(seq)
        .fetch_optional(&mut **tx)
        .await?;
    if version != Some(i64::from(c.expected_version)) {
        return Ok(Committed::Stale {
            version: version.unwrap_or(0) as u32,
        });
    }
    let rows: Vec<(i64, &TicketEvent)> = c.events.iter().map(|e| (seq, e)).collect();
    insert_events(tx, &rows).await?;
    upsert_orders(tx, &[(seq, &c.order)]).await?;
    if let Some((key, status, response)) = &c.key {
        sqlx::query("INSERT INTO idempotency_keys (key, ticket_id, status, response, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(key)
            .bind(id.to_string())
            .bind(i64::from(*status))
            .bind(response)
            .bind(now())
            .execute(&mut **tx)
            .await?;
    }
    Ok(Committed::Done)
}
