//! The SQLite warehouse of the embedded default: the ClickHouse tables in
//! SQLite's dialect (`migrations/sqlite_warehouse/`), in a file of its own.
//! `INSERT OR IGNORE` on the primary keys makes writes idempotent. The daily
//! aggregate counts each ticket once, as ClickHouse's materialized view does:
//! the writer adds the facts each INSERT reports as new, in the same
//! transaction.

use super::dims::Dimensions;
use super::orders::{OrderFact, Oversight, local_date, local_text};
use super::saved::{Cell, Dialect, Table};
use super::{FactRow, Warehouse, WarehouseCounts, WarehouseError, event_payload, facts};
use crate::db::sqlite_direct::{self, apply_merges, id_text, merged_into, ticket_seqs, write};
use crate::ticket::{TicketEvent, referenced_elsewhere, split_deferred};
use async_trait::async_trait;
use chrono::{NaiveDate, Utc};
use minqing_connectors::timefmt::shanghai;
use rusqlite::{Connection, Transaction, params};
use sqlx::{Row, SqlitePool};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use uuid::Uuid;

/// Page cache of the writer connection, in KiB.
const CACHE_KIB: i64 = 32768;

pub struct SqliteWarehouse {
    /// Migrations and reads.
    pool: SqlitePool,
    /// The file, for the analysts' read-only connections.
    path: std::path::PathBuf,
    /// The file's one writer.
    writer: sqlite_direct::Writer,
}

impl SqliteWarehouse {
    pub async fn open(path: &Path) -> Result<Self, WarehouseError> {
        let opts = crate::db::sqlite_file_options(path).map_err(|source| WarehouseError::Folder {
            path: path.to_owned(),
            source,
        })?;
        let pool = crate::db::pool::options::<sqlx::Sqlite>()
            .max_connections(1)
            .connect_with(opts)
            .await?;
        sqlx::migrate!("../migrations/sqlite_warehouse").run(&pool).await?;
        let writer = sqlite_direct::open(path, CACHE_KIB, true)?;
        Ok(SqliteWarehouse {
            pool,
            writer,
            path: path.to_owned(),
        })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Runs SQL statements in one transaction on the file's writer: for
    /// tools that fill a warehouse in bulk (`minqing bench warehouse`).
    pub fn run_script(&self, sql: &str) -> Result<(), WarehouseError> {
        write(&self.writer, |tx| tx.execute_batch(sql)).map_err(WarehouseError::from)
    }
}

/// Tickets and duplicates per (day, channel, category, town).
type Daily<'a> = HashMap<(NaiveDate, &'a str, &'a str, &'a str), (i64, i64)>;

/// Inserts the facts not stored yet, records the `seq` of each and adds
/// them to the daily aggregate.
fn insert_facts(db: &Connection, rows: &[FactRow], seqs: &mut HashMap<Uuid, i64>) -> rusqlite::Result<()> {
    let stamp = Utc::now().with_timezone(&shanghai()).to_rfc3339();
    let mut daily = Daily::new();
    let mut stmt = db.prepare_cached(
        "INSERT OR IGNORE INTO tickets (ticket_id, short_no, channel, source_id, version, received_at, received_date, title, \
         content, content_truncated, appeal_type, category, town, location, lat, lon, citizen_key, citizen_key_id, \
         anonymous, attachments, text_hash, duplicate_of, cluster_id, status, loaded_at, scope, scope_rule, unit) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, \
         ?25, ?26, ?27, ?28)",
    )?;
    let mut buf = [0; uuid::fmt::Hyphenated::LENGTH];
    for r in rows {
        let attachments = serde_json::to_string(&r.attachments).unwrap_or_else(|_| "[]".into());
        let inserted = stmt.execute(params![
            id_text(&r.ticket_id, &mut buf),
            r.short_no,
            r.channel,
            r.source_id,
            r.version,
            r.received_at.to_rfc3339(),
            r.received_date.to_string(),
            r.title,
            r.content,
            r.content_truncated,
            r.appeal_type,
            r.category,
            r.town,
            r.location,
            r.coordinates.map(|c| c.0),
            r.coordinates.map(|c| c.1),
            r.citizen_key,
            r.citizen_key_id,
            r.anonymous,
            attachments,
            r.text_hash,
            r.duplicate_of,
            r.cluster_id,
            r.status,
            stamp,
            r.scope,
            r.scope_rule,
            r.unit,
        ])?;
        // Only a row inserted now counts: a redelivered ticket, or a second
        // copy within the batch, is ignored and not counted again.
        if inserted == 1 {
            seqs.insert(r.ticket_id, db.last_insert_rowid());
            let n = daily
                .entry((r.received_date, r.channel, r.category.as_str(), r.town.as_str()))
                .or_default();
            n.0 += 1;
            n.1 += i64::from(!r.duplicate_of.is_empty());
        }
    }
    add_daily(db, &daily)
}

/// Adds a batch's counts to `daily_tickets`.
fn add_daily(db: &Connection, daily: &Daily<'_>) -> rusqlite::Result<()> {
    let mut stmt = db.prepare_cached(
        "INSERT INTO daily_tickets (day, channel, category, town, tickets, duplicates) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (day, channel, category, town) DO UPDATE \
         SET tickets = tickets + excluded.tickets, duplicates = duplicates + excluded.duplicates",
    )?;
    for ((day, channel, category, town), (tickets, duplicates)) in daily {
        stmt.execute(params![day.to_string(), channel, category, town, tickets, duplicates])?;
    }
    Ok(())
}

/// Writes a batch inside the transaction `tx`; returns the deferred events' ids.
fn write_batch(tx: &Transaction<'_>, events: &[TicketEvent]) -> rusqlite::Result<Vec<Uuid>> {
    // Events are keyed by their ticket's seq: tickets stored earlier
    // give theirs here, and a ticket absent still defers its events.
    let elsewhere = referenced_elsewhere(events);
    let mut seqs = HashMap::new();
    ticket_seqs(tx, elsewhere.iter().copied(), &mut seqs)?;
    let missing: HashSet<Uuid> = elsewhere.into_iter().filter(|id| !seqs.contains_key(id)).collect();
    let (events, mut deferred) = split_deferred(events, &missing);
    let (mut rows, edits) = facts(&events);
    // A ticket whose cluster was merged before it came joins the survivor.
    let merged = merged_into(tx, rows.iter().map(|r| r.cluster_id.as_str()).filter(|c| !c.is_empty()))?;
    for r in &mut rows {
        if let Some(into) = merged.get(&r.cluster_id) {
            r.cluster_id = into.clone();
        }
    }
    insert_facts(tx, &rows, &mut seqs)?;
    for l in super::key_links(&events) {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO citizen_key_links (previous_key_id, previous_key, key_id, citizen_key) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![l.previous_key_id, l.previous_key, l.key_id, l.citizen_key])?;
    }
    // Tickets of this batch that were stored already (a redelivery).
    ticket_seqs(tx, rows.iter().map(|r| r.ticket_id), &mut seqs)?;
    let mut buf = [0; uuid::fmt::Hyphenated::LENGTH];
    for (ticket_id, edit) in edits {
        // An edit rewrites the fact without touching the aggregate,
        // which counts tickets, not versions.
        tx.prepare_cached(
            "UPDATE tickets SET version = ?1, title = ?2, content = ?3, content_truncated = ?4, text_hash = ?5 \
             WHERE ticket_id = ?6 AND version < ?1",
        )?
        .execute(params![
            edit.version,
            edit.title.unwrap_or_default(),
            edit.content,
            edit.content_truncated,
            edit.text_hash,
            id_text(&ticket_id, &mut buf),
        ])?;
    }
    // Tickets of merged clusters move to the surviving one (the
    // aggregate counts by town and category, not cluster).
    apply_merges(tx, events.iter().filter_map(|e| e.merge()))?;
    insert_events(tx, &events, &seqs, &mut deferred)?;
    Ok(deferred)
}

/// The batch's events under their tickets' `seq`, each new one with its
/// analysts' rows; an event whose ticket has no `seq` is deferred.
fn insert_events(
    tx: &Transaction<'_>,
    events: &[&TicketEvent],
    seqs: &HashMap<Uuid, i64>,
    deferred: &mut Vec<Uuid>,
) -> rusqlite::Result<()> {
    let stamp = Utc::now().with_timezone(&shanghai()).to_rfc3339();
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO ticket_events (ticket_seq, event_id, ticket_id, event_type, channel, occurred_at, schema_version, \
         payload, loaded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    let (mut buf, mut event_buf) = ([0; uuid::fmt::Hyphenated::LENGTH], [0; uuid::fmt::Hyphenated::LENGTH]);
    let mut oversight = Oversight::default();
    for e in events {
        let Some(seq) = seqs.get(&e.ticket_id) else {
            // Not reachable while every event's ticket is checked above;
            // deferring is the safe answer if it ever is.
            deferred.push(e.event_id);
            continue;
        };
        let inserted = insert.execute(params![
            seq,
            id_text(&e.event_id, &mut event_buf),
            id_text(&e.ticket_id, &mut buf),
            e.event_type.id(),
            e.channel.id(),
            e.occurred_at.to_rfc3339(),
            e.schema_version,
            event_payload(e),
            stamp,
        ])?;
        // The analysts' rows of an event come with it, once: a redelivered
        // event inserts nothing and adds nothing.
        if inserted == 1 {
            if let Some(o) = OrderFact::of(e) {
                insert_order_fact(tx, *seq, &o, &stamp)?;
            }
            oversight.add(e);
        }
    }
    insert_oversight(tx, &oversight, &stamp)
}

/// One order version; its trigger keeps `orders` and `unit_daily`.
fn insert_order_fact(tx: &Transaction<'_>, seq: i64, o: &OrderFact, stamp: &str) -> rusqlite::Result<()> {
    let t = |x: &Option<chrono::DateTime<chrono::FixedOffset>>| x.as_ref().map(local_text);
    let d = |x: &Option<NaiveDate>| x.map(|d| d.to_string());
    tx.prepare_cached(
        "INSERT OR IGNORE INTO order_facts (ticket_seq, ticket_id, version, event_type, actor_role, actor_unit, occurred_at, \
         occurred_date, received_date, channel, category, town, unit, state, dispatches, returns, dispatched_at, sign_due, \
         signed_at, signed_on_time, reply_due, replied_at, replied_on_time, returned_at, visited_at, closed_at, sign_overdue, \
         reply_overdue, extended_workdays, on_account, visit_contacted, visit_resolved, satisfaction, unsatisfied_visits, \
         deduction_requests, deducted, confirmed_unsatisfied, supervision, clue_transferred, loaded_at) VALUES (?1, ?2, ?3, \
         ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, \
         ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38, ?39, ?40)",
    )?
    .execute(rusqlite::params_from_iter::<[&dyn rusqlite::ToSql; 40]>([
        &seq,
        &o.ticket_id.to_string(),
        &o.version,
        &o.event_type,
        &o.actor_role,
        &o.actor_unit,
        &local_text(&o.occurred_at),
        &local_date(&o.occurred_at).to_string(),
        &o.received_date.to_string(),
        &o.channel,
        &o.category,
        &o.town,
        &o.unit,
        &o.state,
        &o.dispatches,
        &o.returns,
        &t(&o.dispatched_at),
        &d(&o.sign_due),
        &t(&o.signed_at),
        &o.signed_on_time,
        &d(&o.reply_due),
        &t(&o.replied_at),
        &o.replied_on_time,
        &t(&o.returned_at),
        &t(&o.visited_at),
        &t(&o.closed_at),
        &o.sign_overdue,
        &o.reply_overdue,
        &o.extended_workdays,
        &o.on_account,
        &o.visit_contacted,
        &o.visit_resolved,
        &o.satisfaction,
        &o.unsatisfied_visits,
        &o.deduction_requests,
        &o.deducted,
        &o.confirmed_unsatisfied,
        &o.supervision,
        &o.clue_transferred,
        &stamp,
    ]))?;
    Ok(())
}

/// Runs `sql` on a read-only connection of its own, so a long query
/// neither waits for nor holds up the writer (WAL lets it read the last
/// commit).
fn select(path: &Path, sql: &str) -> Result<Table, WarehouseError> {
    use rusqlite::types::ValueRef;
    let db = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut stmt = db.prepare(sql)?;
    let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
    let n = columns.len();
    let mut rows = Vec::new();
    let mut cursor = stmt.query([])?;
    while let Some(r) = cursor.next()? {
        let mut row = Vec::with_capacity(n);
        for i in 0..n {
            row.push(match r.get_ref(i)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(v) => Cell::Int(v),
                ValueRef::Real(v) => Cell::Float(v),
                ValueRef::Text(t) | ValueRef::Blob(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
            });
        }
        rows.push(row);
    }
    Ok(Table { columns, rows })
}

/// Replaces every dimension table, in one transaction.
fn load_dimensions(tx: &Transaction<'_>, d: &Dimensions) -> rusqlite::Result<()> {
    for t in ["dim_units", "dim_categories", "dim_towns", "dim_channels", "dim_calendar"] {
        tx.execute(&format!("DELETE FROM {t}"), [])?;
    }
    for u in &d.units {
        tx.prepare_cached("INSERT OR REPLACE INTO dim_units (code, name, kind, town) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![u.code, u.name, u.kind, u.town])?;
    }
    for (i, c) in d.categories.iter().enumerate() {
        tx.prepare_cached("INSERT OR REPLACE INTO dim_categories (name, position) VALUES (?1, ?2)")?
            .execute(params![c, i as i64])?;
    }
    for t in &d.towns {
        tx.prepare_cached("INSERT OR REPLACE INTO dim_towns (name, kind, code) VALUES (?1, ?2, ?3)")?
            .execute(params![t.name, t.kind, t.code])?;
    }
    for c in &d.channels {
        tx.prepare_cached("INSERT OR REPLACE INTO dim_channels (id, name, direction) VALUES (?1, ?2, ?3)")?
            .execute(params![c.id, c.name, c.direction])?;
    }
    let mut day = tx.prepare_cached(
        "INSERT OR REPLACE INTO dim_calendar (day, workday, provisional, holiday, weekday, week_start, month) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for x in &d.calendar {
        day.execute(params![
            x.day.to_string(),
            x.workday,
            x.provisional,
            x.holiday,
            x.weekday,
            x.week_start.to_string(),
            x.month
        ])?;
    }
    Ok(())
}

/// A batch's supervision and escalation rows.
fn insert_oversight(tx: &Transaction<'_>, x: &Oversight, stamp: &str) -> rusqlite::Result<()> {
    for s in &x.supervisions {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO supervision_facts (event_id, ticket_id, occurred_at, occurred_date, level, \"trigger\", \
             proposed, loaded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            s.event_id.to_string(),
            s.ticket_id.to_string(),
            local_text(&s.occurred_at),
            local_date(&s.occurred_at).to_string(),
            s.level,
            s.trigger,
            s.proposed,
            stamp,
        ])?;
    }
    for e in &x.escalations {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO escalation_facts (event_id, ticket_id, cluster_id, occurred_at, occurred_date, \"trigger\", \
             citizen_key, count, members, citizens, proposal, loaded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?
        .execute(params![
            e.event_id.to_string(),
            e.ticket_id.to_string(),
            e.cluster_id,
            local_text(&e.occurred_at),
            local_date(&e.occurred_at).to_string(),
            e.trigger,
            e.citizen_key,
            e.count,
            e.members,
            e.citizens,
            e.proposal,
            stamp,
        ])?;
    }
    Ok(())
}

#[async_trait]
impl Warehouse for SqliteWarehouse {
    async fn write(&self, events: &[TicketEvent]) -> Result<Vec<Uuid>, WarehouseError> {
        write(&self.writer, |tx| write_batch(tx, events)).map_err(WarehouseError::from)
    }

    async fn select(&self, sql: &str) -> Result<Table, WarehouseError> {
        let (path, sql) = (self.path.clone(), sql.to_owned());
        tokio::task::spawn_blocking(move || select(&path, &sql))
            .await
            .map_err(|e| WarehouseError::Unreadable {
                what: format!("a query's thread failed: {e}"),
            })?
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn load_dimensions(&self, dims: &Dimensions) -> Result<(), WarehouseError> {
        write(&self.writer, |tx| load_dimensions(tx, dims)).map_err(WarehouseError::from)
    }

    async fn ping(&self) -> Result<(), WarehouseError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn counts(&self) -> Result<WarehouseCounts, WarehouseError> {
        let r = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM tickets), (SELECT COUNT(*) FROM ticket_events), \
             (SELECT COALESCE(SUM(tickets), 0) FROM daily_tickets)",
        )
        .fetch_all(&self.pool)
        .await?;
        let r = r.first().ok_or_else(|| WarehouseError::Unreadable {
            what: "no row from a count".into(),
        })?;
        let n = |i: usize| r.try_get::<i64, _>(i).map(|v| v as u64).map_err(WarehouseError::from);
        Ok(WarehouseCounts {
            tickets: n(0)?,
            events: n(1)?,
            daily_total: n(2)?,
        })
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::{EventPayload, EventType, sample, short_no, ticket_id};
    use minqing_connectors::Channel;

    fn received(source: &str) -> TicketEvent {
        let mut t = sample();
        t.ticket_id = ticket_id(Channel::Hotline12345, source);
        t.short_no = short_no(&t.ticket_id);
        t.source_id = source.into();
        t.cluster_id = Some(t.ticket_id.to_string());
        TicketEvent::received(t)
    }

    /// An event about `e`'s ticket other than its arrival.
    fn linked(e: &TicketEvent) -> TicketEvent {
        TicketEvent::new(
            e.ticket_id,
            e.channel,
            EventType::DuplicateLinked,
            "",
            e.occurred_at,
            EventPayload::DuplicateLinked {
                duplicate_of: e.ticket_id,
                original_no: short_no(&e.ticket_id),
                reply: String::new(),
            },
        )
    }

    async fn scalar(w: &SqliteWarehouse, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(w.pool()).await.unwrap()
    }

    /// Events are keyed by their ticket's `seq`; that must keep them
    /// idempotent and keep an event from landing before its ticket.
    #[tokio::test]
    async fn events_land_once_under_their_tickets_seq() {
        let dir = tempfile::tempdir().unwrap();
        let w = SqliteWarehouse::open(&dir.path().join("w.db")).await.unwrap();
        let (a, b) = (received("A"), received("B"));
        let early = linked(&b);
        let first = vec![a.clone(), linked(&a), early.clone()];
        assert_eq!(w.write(&first).await.unwrap(), vec![early.event_id], "b's event waits for b");
        // A redelivery, whole and in part (a's ticket is then stored already).
        assert_eq!(w.write(&first).await.unwrap(), vec![early.event_id]);
        assert!(w.write(&[linked(&a)]).await.unwrap().is_empty());
        let c = w.counts().await.unwrap();
        assert_eq!((c.tickets, c.events, c.daily_total), (1, 2, 1));
        assert!(w.write(&[b.clone(), early]).await.unwrap().is_empty());
        let c = w.counts().await.unwrap();
        assert_eq!((c.tickets, c.events, c.daily_total), (2, 4, 2));
        let keyed = "SELECT COUNT(*) FROM ticket_events e JOIN tickets t ON t.seq = e.ticket_seq AND t.ticket_id = e.ticket_id";
        assert_eq!(scalar(&w, keyed).await, 4);
    }

    /// A warehouse of the earlier shape (implicit rowids, events keyed by
    /// event_id) keeps every row, in order, when it is opened now.
    #[tokio::test]
    async fn the_seq_migration_keeps_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        {
            let opts = crate::db::sqlite_file_options(&path).unwrap();
            let pool = crate::db::pool::options::<sqlx::Sqlite>()
                .max_connections(1)
                .connect_with(opts)
                .await
                .unwrap();
            let mut earlier = sqlx::migrate!("../migrations/sqlite_warehouse");
            earlier.migrations = earlier.migrations.iter().filter(|m| m.version < 20261205000001).cloned().collect();
            earlier.run(&pool).await.unwrap();
            for id in ["t1", "t2", "t3"] {
                sqlx::query(
                    "INSERT INTO tickets (ticket_id, short_no, channel, source_id, version, received_at, received_date, title, \
                     content, content_truncated, appeal_type, category, town, location, citizen_key, phone_masked, anonymous, \
                     attachments, text_hash, duplicate_of, cluster_id, status, loaded_at) \
                     VALUES (?1, 'n', 'grid', ?1, 0, 'r', '2026-06-01', '', 'c', 0, '', '', '', '', '', '', 0, '[]', 'h', '', ?2, 's', 'l')",
                )
                .bind(id)
                .bind(if id == "t3" { "t1" } else { id })
                .execute(&pool)
                .await
                .unwrap();
            }
            sqlx::query("DELETE FROM tickets WHERE ticket_id = 't2'")
                .execute(&pool)
                .await
                .unwrap();
            for (event, ticket) in [("e1", "t1"), ("e3", "t3"), ("e9", "gone")] {
                sqlx::query(
                    "INSERT INTO ticket_events (event_id, ticket_id, event_type, channel, occurred_at, schema_version, payload, loaded_at) \
                     VALUES (?, ?, 'received', 'grid', 'o', 1, '{}', 'l')",
                )
                .bind(event)
                .bind(ticket)
                .execute(&pool)
                .await
                .unwrap();
            }
            pool.close().await;
        }
        let w = SqliteWarehouse::open(&path).await.unwrap();
        let tickets: Vec<(i64, String)> = sqlx::query_as("SELECT seq, ticket_id FROM tickets ORDER BY seq")
            .fetch_all(w.pool())
            .await
            .unwrap();
        assert_eq!(tickets, vec![(1, "t1".to_string()), (3, "t3".to_string())], "seq is the old rowid");
        let events: Vec<(i64, String)> = sqlx::query_as("SELECT ticket_seq, event_id FROM ticket_events ORDER BY rowid")
            .fetch_all(w.pool())
            .await
            .unwrap();
        let want: Vec<(i64, String)> = vec![(1, "e1".into()), (3, "e3".into()), (0, "e9".into())];
        assert_eq!(events, want, "an event without its ticket is kept under 0");
        // The daily aggregate is the writer's now (no trigger left to count
        // twice), and the members' index came back.
        assert_eq!(
            scalar(
                &w,
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'tickets'"
            )
            .await,
            0
        );
        let plan: Vec<(i64, i64, i64, String)> =
            sqlx::query_as("EXPLAIN QUERY PLAN SELECT ticket_id FROM tickets WHERE cluster_id = 't1' AND cluster_id <> ticket_id")
                .fetch_all(w.pool())
                .await
                .unwrap();
        assert!(plan.iter().any(|p| p.3.contains("tickets_cluster_members")), "{plan:?}");
        let before = w.counts().await.unwrap().daily_total;
        w.write(&[received("new")]).await.unwrap();
        assert_eq!(
            w.counts().await.unwrap().daily_total,
            before + 1,
            "counted by the writer since the migration"
        );
    }

    /// The aggregate must hold what a GROUP BY over the facts gives, through
    /// redeliveries, a ticket twice in one batch and duplicates.
    #[tokio::test]
    async fn the_daily_aggregate_counts_each_ticket_once() {
        let dir = tempfile::tempdir().unwrap();
        let w = SqliteWarehouse::open(&dir.path().join("w.db")).await.unwrap();
        let mut batch = Vec::new();
        for (i, town) in ["金湖街道", "金湖街道", "陈贵镇", "陈贵镇", "陈贵镇"].iter().enumerate() {
            let mut e = received(&format!("S{i}"));
            if let EventPayload::Received { ticket } = std::sync::Arc::make_mut(&mut e.payload) {
                ticket.town = Some((*town).into());
                if i == 4 {
                    ticket.duplicate_of = Some(ticket_id(Channel::Hotline12345, "S2"));
                }
            }
            batch.push(e);
        }
        // The first ticket twice in the batch, then the whole batch again.
        batch.push(batch[0].clone());
        w.write(&batch).await.unwrap();
        w.write(&batch).await.unwrap();
        w.write(&batch[2..4]).await.unwrap();
        let grouped = "SELECT COUNT(*) FROM (SELECT received_date, channel, category, town, COUNT(*) AS n, \
                       SUM(duplicate_of != '') AS d FROM tickets GROUP BY 1, 2, 3, 4) g \
                       JOIN daily_tickets a ON a.day = g.received_date AND a.channel = g.channel \
                       AND a.category = g.category AND a.town = g.town AND a.tickets = g.n AND a.duplicates = g.d";
        assert_eq!(scalar(&w, grouped).await, 2, "two groups, each equal to the facts");
        assert_eq!(scalar(&w, "SELECT COUNT(*) FROM daily_tickets").await, 2);
        assert_eq!(scalar(&w, "SELECT SUM(tickets) FROM daily_tickets").await, 5);
        assert_eq!(scalar(&w, "SELECT SUM(duplicates) FROM daily_tickets").await, 1);
    }
}
