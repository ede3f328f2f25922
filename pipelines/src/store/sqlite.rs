//! The SQLite workflow store of the embedded default: one file, WAL mode.
//!
//! Every write goes through one rusqlite connection ([`sqlite_direct`]):
//! a delivery's tickets, events and orders in one transaction of prepared
//! single-row statements; the small writes in group commits. sqlx opens and
//! migrates the file and does the reads.

use super::roles::*;
use super::sqlite_chores::Chore;
use super::sqlite_group::Committer;
use super::{
    ActionCommit, Applied, Committed, DUE_FORWARDS_COLUMNS, DupCandidate, ForwardCounts, ForwardJob, ForwardSettle, NEARDUP_COLUMNS,
    NearDupRow, NewQuarantine, OrderQuery, OrderRow, ParkedForward, QuarantineQuery, QuarantineRow, StoreCounts, StoreError,
    StoredEscalation, neardup_row, orders_in, parse_order, transfer_from_row,
};
#[cfg(test)]
use crate::db::PAGE_SIZE;
use crate::db::sqlite_direct::{self, Writer, apply_merges, id_text, ticket_seqs, write};
use crate::db::sqlite_file_options as file_options;
use crate::ticket::stored_payload;
use crate::ticket::{EventType, Ticket, TicketEvent};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use minqing_connectors::Channel;
use minqing_connectors::timefmt::shanghai;
use rusqlite::{Connection, params};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use uuid::Uuid;

pub struct SqliteStore {
    /// Migrations, and reads that must see this process's last commit.
    pool: SqlitePool,
    /// Read-only connections for lookups, lists and counts: in WAL mode they
    /// read the last commit while the writer works, so the API's order reads
    /// and intake's lookups do not queue behind the writer's transactions.
    read: SqlitePool,
    /// The file's one writer (see [`sqlite_direct`]).
    writer: Arc<Writer>,
    actions: Committer<ActionCommit>,
    /// Checkpoints, quarantine and the outboxes, committed in groups.
    chores: Committer<Chore>,
    /// See [`OutboxStore::keep_intake_for_warehouse`].
    keep_intake: AtomicBool,
}

impl SqliteStore {
    /// Runs a `SELECT channel, COUNT(*) … GROUP BY channel` query.
    async fn count_by_channel(&self, sql: &'static str) -> Result<Vec<(Channel, u64)>, StoreError> {
        let rows = sqlx::query(sql).fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| Ok((channel(&r.try_get::<String, _>(0)?)?, r.try_get::<i64, _>(1)? as u64)))
            .collect()
    }

    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let opts = file_options(path)
            .map_err(|source| StoreError::Folder {
                path: path.to_path_buf(),
                source,
            })?
            .pragma("cache_size", "-65536")
            .foreign_keys(false);
        let pool = crate::db::pool::options::<sqlx::Sqlite>()
            .max_connections(1)
            .connect_with(opts.clone())
            .await?;
        sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
        // One writer: SQLite serializes writers anyway, and a second
        // writer's commits would empty this one's page cache.
        let writer = Arc::new(sqlite_direct::open(path, 65536, false)?);
        let read = crate::db::pool::options::<sqlx::Sqlite>()
            .max_connections(2)
            .connect_with(opts.read_only(true).create_if_missing(false))
            .await?;
        let actions = Committer::start(writer.clone());
        let chores = Committer::start(writer.clone());
        Ok(SqliteStore {
            pool,
            read,
            writer,
            actions,
            chores,
            keep_intake: AtomicBool::new(false),
        })
    }

    /// The writer connection, for tests.
    #[cfg(test)]
    pub(crate) fn writer(&self) -> Arc<Writer> {
        self.writer.clone()
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

pub(super) fn now() -> String {
    Utc::now().with_timezone(&shanghai()).to_rfc3339()
}

/// Inserts the tickets not there yet; returns the `seq` of each one inserted.
fn insert_tickets(db: &Connection, tickets: &[&Ticket]) -> rusqlite::Result<HashMap<Uuid, i64>> {
    let stamp = now();
    let mut seqs = HashMap::with_capacity(tickets.len());
    let mut stmt = db.prepare_cached(
        "INSERT OR IGNORE INTO tickets (ticket_id, short_no, channel, source_id, version, received_at, received_ts, \
         title, content, content_truncated, appeal_type, category, town, location, lat, lon, citizen_key, contact_name, \
         contact_phone, phone_masked, anonymous, attachments, text_hash, duplicate_of, cluster_id, status, created_at, updated_at, \
         scope, scope_rule, scope_reason, unit, reply) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, \
         ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?27, ?28, ?29, ?30, ?31, ?32)",
    )?;
    let (mut buf, mut dup) = ([0; uuid::fmt::Hyphenated::LENGTH], [0; uuid::fmt::Hyphenated::LENGTH]);
    for t in tickets {
        let d = t.triage.as_ref();
        let inserted = stmt.execute(params![
            id_text(&t.ticket_id, &mut buf),
            t.short_no,
            t.channel.id(),
            t.source_id,
            t.version,
            t.received_at.to_rfc3339(),
            t.received_at.timestamp(),
            t.title,
            t.content,
            t.content_truncated,
            t.appeal_type.map(|a| a.id()),
            t.category,
            t.town,
            t.location,
            t.coordinates.map(|c| c.lat),
            t.coordinates.map(|c| c.lon),
            t.citizen_key,
            t.contact_name,
            t.contact_phone,
            t.phone_masked,
            t.anonymous,
            serde_json::to_string(&t.attachments).unwrap_or_else(|_| "[]".into()),
            t.text_hash,
            t.duplicate_of.as_ref().map(|d| id_text(d, &mut dup)),
            t.cluster_id,
            t.initial_status(),
            stamp,
            d.map(|d| d.scope.id()),
            d.and_then(|d| d.rule.as_deref()),
            d.map(|d| d.reason.as_str()),
            d.and_then(|d| d.unit.as_deref()),
            d.and_then(|d| d.reply.as_deref()),
        ])?;
        // A ticket stored before, or a second copy in the batch, is ignored.
        if inserted == 1 {
            seqs.insert(t.ticket_id, db.last_insert_rowid());
        }
    }
    Ok(seqs)
}

/// Inserts the events not there yet; returns how many were new.
pub(super) fn insert_events(db: &Connection, events: &[(i64, &TicketEvent)]) -> rusqlite::Result<u64> {
    let stamp = now();
    let mut stmt = db.prepare_cached(
        "INSERT OR IGNORE INTO ticket_events (ticket_seq, ticket_id, event_id, event_type, occurred_at, schema_version, payload, \
         recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let (mut ticket, mut event) = ([0; uuid::fmt::Hyphenated::LENGTH], [0; uuid::fmt::Hyphenated::LENGTH]);
    let mut new = 0;
    for (seq, e) in events {
        new += stmt.execute(params![
            seq,
            id_text(&e.ticket_id, &mut ticket),
            id_text(&e.event_id, &mut event),
            e.event_type.id(),
            e.occurred_at.to_rfc3339(),
            e.schema_version,
            stored_payload(e),
            stamp,
        ])? as u64;
    }
    Ok(new)
}

/// Writes orders unless the store holds a newer version already, so a
/// redelivered event never winds an order back.
/// `orders` come with their ticket's `seq`, which keys the table.
pub(super) fn upsert_orders(db: &Connection, orders: &[(i64, &crate::ticket::order::Order)]) -> rusqlite::Result<()> {
    let stamp = now();
    let mut stmt = db.prepare_cached(
        "INSERT INTO work_orders (ticket_seq, ticket_id, state, unit, sign_due, reply_due, due, open_due, provisional, version, \
         body, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
         ON CONFLICT (ticket_seq) DO UPDATE SET state = excluded.state, unit = excluded.unit, sign_due = excluded.sign_due, \
         reply_due = excluded.reply_due, due = excluded.due, open_due = excluded.open_due, provisional = excluded.provisional, \
         version = excluded.version, body = excluded.body, updated_at = excluded.updated_at \
         WHERE excluded.version > work_orders.version",
    )?;
    let day = |d: Option<NaiveDate>| d.map(|d| d.to_string());
    let mut buf = [0; uuid::fmt::Hyphenated::LENGTH];
    for (seq, o) in orders {
        let r = OrderRow::of(o);
        stmt.execute(params![
            seq,
            id_text(&r.ticket_id, &mut buf),
            r.state,
            r.unit,
            day(r.sign_due),
            day(r.reply_due),
            day(r.due),
            day(r.open_due),
            r.provisional,
            r.version,
            r.body,
            stamp,
        ])?;
    }
    Ok(())
}

fn parse_id(id: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(id).map_err(|e| StoreError::corrupt("ticket_id", format!("`{id}`: {e}")))
}

/// `SELECT {columns} FROM tickets WHERE ticket_id IN (…ids)`.
fn by_ticket_ids(columns: &str, ids: &[Uuid]) -> QueryBuilder<Sqlite> {
    let mut q = QueryBuilder::<Sqlite>::new(format!("SELECT {columns} FROM tickets WHERE ticket_id IN ("));
    let mut sep = q.separated(", ");
    for id in ids {
        sep.push_bind(id.to_string());
    }
    q.push(")");
    q
}

/// Applies a batch of events in the transaction `db`.
fn apply_batch(db: &Connection, events: &[TicketEvent]) -> rusqlite::Result<Applied> {
    let tickets: Vec<&Ticket> = events.iter().filter_map(TicketEvent::ticket).collect();
    let before = last_rowid(db)?;
    let mut seqs = insert_tickets(db, &tickets)?;
    let mut buf = [0; uuid::fmt::Hyphenated::LENGTH];
    for (e, edit) in events.iter().filter_map(|e| Some((e, e.edit()?))) {
        db.prepare_cached(
            "UPDATE tickets SET version = ?1, title = ?2, content = ?3, content_truncated = ?4, text_hash = ?5, updated_at = ?6 \
             WHERE ticket_id = ?7 AND version < ?1",
        )?
        .execute(params![
            edit.version,
            edit.title,
            edit.content,
            edit.content_truncated,
            edit.text_hash,
            now(),
            id_text(&e.ticket_id, &mut buf),
        ])?;
    }
    // Events about tickets stored earlier (redeliveries, updates) need their seq.
    ticket_seqs(db, events.iter().map(|e| e.ticket_id), &mut seqs)?;
    // An edit of a ticket not stored yet changed nothing above; it is
    // deferred with the rest of that ticket's events.
    let mut rows = Vec::with_capacity(events.len());
    let mut deferred = Vec::new();
    for e in events {
        match seqs.get(&e.ticket_id) {
            Some(seq) => rows.push((*seq, e)),
            None => deferred.push(e.event_id),
        }
    }
    apply_merges(db, events.iter().filter_map(|e| e.merge()))?;
    if !tickets.is_empty() {
        resolve_merged(db, before)?;
    }
    let new = insert_events(db, &rows)?;
    // Orders of deferred tickets wait with their events.
    let orders: Vec<(i64, &crate::ticket::order::Order)> = orders_in(events)
        .into_iter()
        .filter_map(|o| Some((*seqs.get(&o.ticket_id)?, o)))
        .collect();
    upsert_orders(db, &orders)?;
    Ok(Applied { new, deferred })
}

/// Puts events committed in `tx` in the warehouse outbox.
pub(super) fn keep_for_warehouse(tx: &Connection, json: &str) -> rusqlite::Result<()> {
    if json != "[]" {
        tx.prepare_cached("INSERT INTO warehouse_outbox (events, created_at) VALUES (?1, ?2)")?
            .execute(params![json, now()])?;
    }
    Ok(())
}

#[async_trait]
impl StoreHealth for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn apply_events(&self, events: &[TicketEvent]) -> Result<Applied, StoreError> {
        if !self.keep_intake.load(Ordering::Relaxed) {
            return write(&self.writer, |tx| Ok(apply_batch(tx, events)?));
        }
        // Written before the writer is taken; rarely, events are deferred
        // and the row is written again without them.
        let all = super::outbox_json(events)?;
        write(&self.writer, |tx| {
            let applied = apply_batch(tx, events)?;
            if applied.deferred.is_empty() {
                keep_for_warehouse(tx, &all)?;
            } else {
                let kept = events.iter().filter(|e| !applied.deferred.contains(&e.event_id));
                keep_for_warehouse(tx, &super::outbox_json(kept)?)?;
            }
            Ok(applied)
        })
    }

    async fn known_tickets(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, u32>, StoreError> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let mut q = by_ticket_ids("ticket_id, version", chunk);
            for row in q.build().fetch_all(&self.read).await? {
                let id: String = row.try_get(0)?;
                let v: i64 = row.try_get(1)?;
                out.insert(parse_id(&id)?, u32::try_from(v).unwrap_or(0));
            }
        }
        Ok(out)
    }

    async fn duplicate_roots_between(&self, from: i64, to: i64) -> Result<Vec<DupCandidate>, StoreError> {
        let rows = sqlx::query(
            "SELECT ticket_id, citizen_key, text_hash, received_at FROM tickets \
             WHERE received_ts BETWEEN ? AND ? AND duplicate_of IS NULL AND citizen_key IS NOT NULL",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|row| {
                let at: String = row.try_get(3)?;
                Ok(DupCandidate {
                    ticket_id: parse_id(&row.try_get::<String, _>(0)?)?,
                    citizen_key: row.try_get(1)?,
                    text_hash: row.try_get(2)?,
                    received_at: DateTime::parse_from_rfc3339(&at)
                        .map_err(|e| StoreError::corrupt("received_at", format!("`{at}`: {e}")))?,
                })
            })
            .collect()
    }

    async fn dedup_snapshot(&self, limit: u64) -> Result<Option<(HashMap<Uuid, u32>, Vec<DupCandidate>)>, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets").fetch_one(&self.read).await?;
        if n as u64 > limit {
            return Ok(None);
        }
        let parse = |id: &str| Uuid::parse_str(id).map_err(|e| StoreError::corrupt("ticket_id", format!("`{id}`: {e}")));
        let mut known = HashMap::with_capacity(n as usize);
        let mut roots = Vec::new();
        let rows = sqlx::query("SELECT ticket_id, version, citizen_key, text_hash, received_at, duplicate_of IS NULL FROM tickets")
            .fetch_all(&self.read)
            .await?;
        for r in rows {
            let id: String = r.try_get(0)?;
            let id = parse(&id)?;
            known.insert(id, u32::try_from(r.try_get::<i64, _>(1)?).unwrap_or(0));
            let key: Option<String> = r.try_get(2)?;
            if let (Some(citizen_key), true) = (key, r.try_get::<bool, _>(5)?) {
                let at: String = r.try_get(4)?;
                roots.push(DupCandidate {
                    ticket_id: id,
                    citizen_key,
                    text_hash: r.try_get(3)?,
                    received_at: DateTime::parse_from_rfc3339(&at)
                        .map_err(|e| StoreError::corrupt("received_at", format!("`{at}`: {e}")))?,
                });
            }
        }
        Ok(Some((known, roots)))
    }

    async fn channel_counts(&self) -> Result<BTreeMap<Channel, StoreCounts>, StoreError> {
        let mut out: BTreeMap<Channel, StoreCounts> = BTreeMap::new();
        let tickets = sqlx::query("SELECT channel, COUNT(*), SUM(duplicate_of IS NOT NULL) FROM tickets GROUP BY channel")
            .fetch_all(&self.read)
            .await?;
        for r in tickets {
            let c = channel(&r.try_get::<String, _>(0)?)?;
            let e = out.entry(c).or_default();
            e.tickets = r.try_get::<i64, _>(1)? as u64;
            e.duplicates = r.try_get::<i64, _>(2)? as u64;
        }
        for (c, n) in self
            .count_by_channel("SELECT channel, COUNT(*) FROM quarantine GROUP BY channel")
            .await?
        {
            out.entry(c).or_default().quarantined = n;
        }
        let events = "SELECT t.channel, COUNT(*) FROM ticket_events e JOIN tickets t USING (ticket_id) GROUP BY t.channel";
        for (c, n) in self.count_by_channel(events).await? {
            out.entry(c).or_default().events = n;
        }
        Ok(out)
    }

    async fn ticket_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets").fetch_one(&self.read).await?;
        Ok(n as u64)
    }
}

#[async_trait]
impl QuarantineStore for SqliteStore {
    async fn quarantine(&self, items: &[NewQuarantine]) -> Result<Vec<bool>, StoreError> {
        self.chores.commit(Chore::Quarantine(items.to_vec())).await
    }

    async fn list_quarantine(&self, f: &QuarantineQuery) -> Result<Vec<QuarantineRow>, StoreError> {
        let raw = if f.with_raw { "raw" } else { "x''" };
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "SELECT id, channel, source_id, reason, {raw}, received_at, status, resolution, length(raw) FROM quarantine WHERE 1 = 1"
        ));
        if !f.include_resolved {
            q.push(" AND status = 'held'");
        }
        if let Some(c) = f.channel {
            q.push(" AND channel = ").push_bind(c.id());
        }
        if let Some(id) = f.id {
            q.push(" AND id = ").push_bind(id);
        }
        q.push(" ORDER BY id LIMIT ")
            .push_bind(if f.limit > 0 { f.limit } else { i64::MAX });
        let rows = q.build().fetch_all(&self.read).await?;
        rows.into_iter()
            .map(|r| {
                let raw: Vec<u8> = r.try_get(4)?;
                Ok(QuarantineRow {
                    id: r.try_get(0)?,
                    channel: r.try_get(1)?,
                    source_id: r.try_get(2)?,
                    reason: r.try_get(3)?,
                    raw_bytes: usize::try_from(r.try_get::<i64, _>(8)?).unwrap_or(0),
                    raw,
                    received_at: r.try_get(5)?,
                    status: r.try_get(6)?,
                    resolution: r.try_get(7)?,
                })
            })
            .collect()
    }

    async fn resolve_quarantine(&self, id: i64, resolution: &str) -> Result<(), StoreError> {
        write(&self.writer, |tx| {
            tx.prepare_cached("UPDATE quarantine SET status = 'replayed', resolved_at = ?1, resolution = ?2 WHERE id = ?3")?
                .execute(params![now(), resolution, id])?;
            Ok(())
        })
    }
}

#[async_trait]
impl CursorStore for SqliteStore {
    async fn load_checkpoint(&self, channel: Channel) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT cursor FROM connector_checkpoints WHERE channel = ?")
            .bind(channel.id())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    async fn save_checkpoint(&self, channel: Channel, cursor: &str) -> Result<(), StoreError> {
        self.chores
            .commit(Chore::Checkpoint {
                channel,
                cursor: cursor.to_owned(),
            })
            .await?;
        Ok(())
    }

    async fn clear_checkpoints(&self, channels: &[Channel]) -> Result<(), StoreError> {
        write(&self.writer, |tx| {
            let mut stmt = tx.prepare_cached("DELETE FROM connector_checkpoints WHERE channel = ?1")?;
            for c in channels {
                stmt.execute([c.id()])?;
            }
            Ok(())
        })
    }
}

#[async_trait]
impl ForwardStore for SqliteStore {
    async fn enqueue_forwards(&self, events: &[TicketEvent]) -> Result<Vec<Uuid>, StoreError> {
        let ids: Vec<String> = events
            .iter()
            .filter(|e| e.event_type == EventType::Forwarded)
            .map(|e| e.ticket_id.to_string())
            .collect();
        if !ids.is_empty() {
            self.chores.commit(Chore::EnqueueForwards(ids)).await?;
        }
        Ok(Vec::new())
    }

    async fn due_forwards(&self, now_at: DateTime<Utc>, limit: i64) -> Result<Vec<ForwardJob>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DUE_FORWARDS_COLUMNS} FROM forward_outbox o JOIN tickets t ON t.ticket_id = o.ticket_id \
             WHERE o.status = 'pending' AND o.next_attempt_ms <= ? ORDER BY o.next_attempt_ms LIMIT ?"
        )))
        .bind(now_at.timestamp_millis())
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|r| {
                let id: String = r.try_get(0)?;
                let ticket_id = Uuid::parse_str(&id).map_err(|e| StoreError::corrupt("outbox ticket id", format!("`{id}`: {e}")))?;
                Ok(ForwardJob {
                    ticket_id,
                    attempts: r.try_get::<i64, _>(1)? as u32,
                    transfer: transfer_from_row(&r, ticket_id, r.try_get(3)?)?,
                })
            })
            .collect()
    }

    async fn settle_forwards(&self, settled: &[(Uuid, u32, ForwardSettle)]) -> Result<(), StoreError> {
        self.chores.commit(Chore::SettleForwards(settled.to_vec())).await?;
        Ok(())
    }

    async fn forward_counts(&self) -> Result<ForwardCounts, StoreError> {
        let r = sqlx::query(
            "SELECT COALESCE(SUM(status = 'pending'), 0), COALESCE(SUM(status = 'sent'), 0), COALESCE(SUM(status = 'parked'), 0) \
             FROM forward_outbox",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(ForwardCounts {
            pending: r.try_get::<i64, _>(0)? as u64,
            sent: r.try_get::<i64, _>(1)? as u64,
            parked: r.try_get::<i64, _>(2)? as u64,
        })
    }

    async fn parked_forwards(&self, limit: i64) -> Result<Vec<ParkedForward>, StoreError> {
        let rows = sqlx::query(
            "SELECT o.ticket_id, t.short_no, o.attempts, o.last_error, o.updated_at FROM forward_outbox o \
             LEFT JOIN tickets t ON t.ticket_id = o.ticket_id WHERE o.status = 'parked' ORDER BY o.updated_at DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let id: String = r.try_get(0)?;
                Ok(ParkedForward {
                    ticket_id: Uuid::parse_str(&id).map_err(|e| StoreError::corrupt("outbox ticket id", format!("`{id}`: {e}")))?,
                    short_no: r.try_get(1)?,
                    attempts: r.try_get::<i64, _>(2)? as u32,
                    last_error: r.try_get(3)?,
                    parked_at: r.try_get(4)?,
                })
            })
            .collect()
    }

    async fn requeue_forwards(&self, ticket: Option<Uuid>) -> Result<u64, StoreError> {
        let stamp = now();
        let id = ticket.map(|t| t.to_string());
        write(&self.writer, |tx| {
            // Tickets first: afterwards the rows are no longer `parked`.
            tx.execute(
                "UPDATE tickets SET status = 'forward_pending', updated_at = ?1 WHERE ticket_id IN \
                 (SELECT ticket_id FROM forward_outbox WHERE status = 'parked' AND (?2 IS NULL OR ticket_id = ?2))",
                params![stamp, id],
            )?;
            let n = tx.execute(
                "UPDATE forward_outbox SET status = 'pending', attempts = 0, next_attempt_ms = ?1, updated_at = ?2 \
                 WHERE status = 'parked' AND (?3 IS NULL OR ticket_id = ?3)",
                params![Utc::now().timestamp_millis(), stamp, id],
            )?;
            Ok(n as u64)
        })
    }
}

#[async_trait]
impl ClusterStore for SqliteStore {
    async fn neardup_history(&self, window_secs: i64) -> Result<Vec<NearDupRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {NEARDUP_COLUMNS} FROM tickets WHERE received_ts >= (SELECT MAX(received_ts) FROM tickets) - ? \
             ORDER BY received_ts, seq"
        )))
        .bind(window_secs)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let dup = r.try_get::<Option<String>, _>(7)?.map(|d| parse_id(&d)).transpose()?;
                Ok(neardup_row(r, parse_id(&r.try_get::<String, _>(0)?)?, dup)?)
            })
            .collect()
    }

    async fn escalations(&self) -> Result<Vec<StoredEscalation>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT payload FROM ticket_events WHERE event_type = 'escalated'")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|p| StoredEscalation::from_payload(p)).collect()
    }

    async fn cluster_count(&self, min_members: i64) -> Result<u64, StoreError> {
        // A cluster of two or more has members besides its first ticket, and
        // those are what `tickets_cluster_members` holds (a few percent of
        // tickets): counting there, plus the first ticket where it is still
        // in its own cluster, gives the view's count without grouping every
        // ticket. The view answers the rest.
        let sql = if min_members >= 2 {
            "SELECT COUNT(*) FROM (SELECT m.cluster_id FROM tickets m WHERE m.cluster_id <> m.ticket_id GROUP BY m.cluster_id \
             HAVING COUNT(*) + (SELECT COUNT(*) FROM tickets f WHERE f.ticket_id = m.cluster_id AND f.cluster_id = m.cluster_id) >= ?)"
        } else {
            "SELECT COUNT(*) FROM clusters WHERE members >= ?"
        };
        let n: i64 = sqlx::query_scalar(sql).bind(min_members).fetch_one(&self.read).await?;
        Ok(n as u64)
    }
}

#[async_trait]
impl OrderStore for SqliteStore {
    async fn work_order(&self, ticket: Uuid) -> Result<Option<crate::ticket::order::Order>, StoreError> {
        let body: Option<String> =
            sqlx::query_scalar("SELECT body FROM work_orders WHERE ticket_seq = (SELECT seq FROM tickets WHERE ticket_id = ?)")
                .bind(ticket.to_string())
                .fetch_optional(&self.read)
                .await?;
        body.as_deref().map(parse_order).transpose()
    }

    async fn commit_action(&self, c: &ActionCommit) -> Result<Committed, StoreError> {
        self.actions.commit(c.clone()).await
    }

    async fn commit_many(&self, commits: &[ActionCommit]) -> Result<Vec<Committed>, StoreError> {
        let all: Vec<&ActionCommit> = commits.iter().collect();
        super::sqlite_group::commit(&self.writer, &all)
    }

    async fn idempotent(&self, key: &str) -> Result<Option<(u16, String)>, StoreError> {
        let row: Option<(i64, String)> = sqlx::query_as("SELECT status, response FROM idempotency_keys WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(s, r)| (s as u16, r)))
    }

    async fn sweepable_orders(&self, today: NaiveDate, limit: i64) -> Result<Vec<crate::ticket::order::Order>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT body FROM work_orders WHERE open_due < ? ORDER BY open_due LIMIT ?")
            .bind(today.to_string())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|b| parse_order(b)).collect()
    }

    async fn orders(&self, q: &OrderQuery) -> Result<Vec<crate::ticket::order::Order>, StoreError> {
        let mut b = QueryBuilder::<Sqlite>::new("SELECT body FROM work_orders WHERE 1 = 1");
        if let Some(u) = &q.unit {
            b.push(" AND unit = ").push_bind(u.clone());
        }
        if q.open {
            b.push(" AND state <> 'closed'");
        }
        if q.provisional {
            b.push(" AND provisional = 1");
        }
        if let Some(d) = q.due_by {
            b.push(" AND due <= ").push_bind(d.to_string());
        }
        if let Some(d) = q.due_from {
            b.push(" AND due >= ").push_bind(d.to_string());
        }
        b.push(" ORDER BY due IS NULL, due, ticket_id LIMIT ").push_bind(q.limit.max(1));
        let rows: Vec<String> = b.build_query_scalar().fetch_all(&self.read).await?;
        rows.iter().map(|b| parse_order(b)).collect()
    }
}

#[async_trait]
impl OutboxStore for SqliteStore {
    fn keep_intake_for_warehouse(&self, on: bool) {
        self.keep_intake.store(on, Ordering::Relaxed);
    }

    async fn outbox_rows(&self, limit: i64) -> Result<Vec<super::OutboxRow>, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, events FROM warehouse_outbox WHERE parked IS NULL ORDER BY id LIMIT ?")
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        Ok(rows.iter().map(|(id, text)| super::parse_outbox(*id, text)).collect())
    }

    async fn relayed(&self, ids: &[i64]) -> Result<(), StoreError> {
        self.chores.commit(Chore::Relayed(ids.to_vec())).await.map(drop)
    }

    async fn park_outbox(&self, id: i64, reason: &str) -> Result<(), StoreError> {
        write(&self.writer, |tx| {
            tx.execute("UPDATE warehouse_outbox SET parked = ?1 WHERE id = ?2", params![reason, id])?;
            Ok(())
        })
    }

    async fn parked_outbox(&self, limit: i64) -> Result<Vec<super::ParkedRelay>, StoreError> {
        let rows: Vec<(i64, String, String, String)> =
            sqlx::query_as("SELECT id, parked, events, created_at FROM warehouse_outbox WHERE parked IS NOT NULL ORDER BY id LIMIT ?")
                .bind(limit)
                .fetch_all(&self.read)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, why, events, at)| super::parked_relay(id, why, &events, at))
            .collect())
    }

    async fn requeue_outbox(&self, id: Option<i64>) -> Result<u64, StoreError> {
        write(&self.writer, |tx| {
            let n = tx.execute(
                "UPDATE warehouse_outbox SET parked = NULL WHERE parked IS NOT NULL AND (?1 IS NULL OR id = ?1)",
                params![id],
            )?;
            Ok(n as u64)
        })
    }

    async fn outbox_counts(&self) -> Result<super::OutboxCounts, StoreError> {
        let (waiting, parked): (i64, i64) = sqlx::query_as("SELECT COUNT(*) - COUNT(parked), COUNT(parked) FROM warehouse_outbox")
            .fetch_one(&self.read)
            .await?;
        Ok(super::OutboxCounts {
            waiting: waiting as u64,
            parked: parked as u64,
        })
    }
}

/// The newest ticket row, before a batch is inserted.
fn last_rowid(db: &Connection) -> rusqlite::Result<i64> {
    db.prepare_cached("SELECT COALESCE(MAX(rowid), 0) FROM tickets")?
        .query_row([], |r| r.get(0))
}

/// Tickets inserted after `after` (this batch) whose cluster was merged
/// before they came join the surviving cluster.
fn resolve_merged(db: &Connection, after: i64) -> rusqlite::Result<()> {
    db.prepare_cached(
        "UPDATE tickets SET cluster_id = (SELECT into_cluster FROM cluster_merges WHERE from_cluster = tickets.cluster_id) \
         WHERE rowid > ?1 AND cluster_id IN (SELECT from_cluster FROM cluster_merges)",
    )?
    .execute([after])?;
    Ok(())
}

fn channel(s: &str) -> Result<Channel, StoreError> {
    Channel::from_str(s).map_err(|e| StoreError::corrupt("channel", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::EventPayload;

    async fn view_counts(store: &SqliteStore) -> Vec<u64> {
        let mut out = Vec::new();
        for min in 1..=5i64 {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clusters WHERE members >= ?")
                .bind(min)
                .fetch_one(&store.read)
                .await
                .unwrap();
            out.push(n as u64);
        }
        out
    }

    async fn our_counts(store: &SqliteStore) -> Vec<u64> {
        let mut out = Vec::new();
        for min in 1..=5 {
            out.push(store.cluster_count(min).await.unwrap());
        }
        out
    }

    /// A new file gets `PAGE_SIZE` pages; a file made with another page
    /// size keeps it. Both take tickets.
    #[tokio::test]
    async fn new_files_get_large_pages_and_old_ones_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let page = |p: std::path::PathBuf| async move {
            let store = SqliteStore::open(&p).await.unwrap();
            store.apply_events(&[TicketEvent::received(crate::ticket::sample())]).await.unwrap();
            let size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(&store.read).await.unwrap();
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
                .fetch_one(&store.read)
                .await
                .unwrap();
            (size, n)
        };
        assert_eq!(page(dir.path().join("new.db")).await, (i64::from(PAGE_SIZE), 1));
        let old = dir.path().join("old.db");
        let c = rusqlite::Connection::open(&old).unwrap();
        c.execute_batch("PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE x (y);")
            .unwrap();
        drop(c);
        assert_eq!(page(old).await, (4096, 1));
    }

    /// The indexed count of clusters answers as the `clusters` view does:
    /// with first tickets in and out of their own cluster, a member whose
    /// first ticket is absent, and clusters merged into others.
    #[tokio::test]
    async fn cluster_count_matches_the_view() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("w.db")).await.unwrap();
        let id = |n: &str| crate::ticket::ticket_id(Channel::Hotline12345, n);
        // (ticket, cluster): clusters a {a,b}, c {c,d,e}, f {f}, h {g} (h absent), k {k,l}.
        let members = [
            ("a", "a"),
            ("b", "a"),
            ("c", "c"),
            ("d", "c"),
            ("e", "c"),
            ("f", "f"),
            ("g", "h"),
            ("k", "k"),
            ("l", "k"),
        ];
        let mut events = Vec::new();
        for (t, c) in members {
            let mut ticket = crate::ticket::sample();
            (ticket.ticket_id, ticket.source_id, ticket.cluster_id) = (id(t), t.into(), Some(id(c).to_string()));
            events.push(TicketEvent::received(ticket));
        }
        store.apply_events(&events).await.unwrap();
        assert_eq!(view_counts(&store).await, vec![5, 3, 1, 0, 0]);
        assert_eq!(our_counts(&store).await, view_counts(&store).await);
        // k joins a: a's cluster has a, b, k, l; k is no longer first anywhere.
        let t = crate::ticket::sample();
        let merge = EventPayload::ClustersMerged {
            into: id("a").to_string(),
            from: vec![id("k").to_string()],
        };
        store
            .apply_events(&[TicketEvent::new(
                id("a"),
                t.channel,
                EventType::ClustersMerged,
                "k",
                t.received_at,
                merge,
            )])
            .await
            .unwrap();
        assert_eq!(view_counts(&store).await, vec![4, 2, 2, 1, 0]);
        assert_eq!(our_counts(&store).await, view_counts(&store).await);
    }
}
