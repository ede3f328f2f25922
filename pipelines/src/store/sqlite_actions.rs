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

use super::sqlite::{insert_events, keep_for_warehouse, now, upsert_orders};
use super::sqlite_group::Grouped;
use super::{ActionCommit, Committed, StoreError};
use crate::db::sqlite_direct::{id_text, ticket_seqs};
use crate::ticket::TicketEvent;
use rusqlite::{OptionalExtension, Transaction, params};
use std::collections::HashMap;

impl Grouped for ActionCommit {
    type Answer = Committed;
    const WHAT: &'static str = "work-order actions";
    /// Decides each action in order, inside one transaction.
    fn write(tx: &Transaction<'_>, group: &[&Self]) -> Result<Vec<Committed>, StoreError> {
        group.iter().map(|c| commit_one(tx, c)).collect()
    }
}

/// One action inside a transaction: replayed if its key was used, stale if
/// its order moved on, otherwise written.
fn commit_one(tx: &Transaction<'_>, c: &ActionCommit) -> Result<Committed, StoreError> {
    if let Some((key, _, _)) = &c.key
        && let Some((status, response)) = tx
            .prepare_cached("SELECT status, response FROM idempotency_keys WHERE key = ?1")?
            .query_row([key], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .optional()?
    {
        return Ok(Committed::Replayed {
            status: status as u16,
            response,
        });
    }
    let id = c.order.ticket_id;
    let mut seqs = HashMap::new();
    ticket_seqs(tx, [id], &mut seqs)?;
    // The order is keyed by its ticket's arrival order.
    let seq = *seqs
        .get(&id)
        .ok_or_else(|| StoreError::corrupt("work order", format!("{id} has no ticket")))?;
    let version: Option<i64> = tx
        .prepare_cached("SELECT version FROM work_orders WHERE ticket_seq = ?1")?
        .query_row([seq], |r| r.get(0))
        .optional()?;
    if version != Some(i64::from(c.expected_version)) {
        return Ok(Committed::Stale {
            version: version.unwrap_or(0) as u32,
        });
    }
    let rows: Vec<(i64, &TicketEvent)> = c.events.iter().map(|e| (seq, e)).collect();
    insert_events(tx, &rows)?;
    // The warehouse's copy leaves from here, so a crash after this commit
    // cannot lose it.
    keep_for_warehouse(tx, &super::outbox_json(&c.events)?)?;
    upsert_orders(tx, &[(seq, &c.order)])?;
    if let Some((key, status, response)) = &c.key {
        let mut buf = [0; uuid::fmt::Hyphenated::LENGTH];
        tx.prepare_cached("INSERT INTO idempotency_keys (key, ticket_id, status, response, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![key, id_text(&id, &mut buf), status, response, now()])?;
    }
    Ok(Committed::Done)
}
