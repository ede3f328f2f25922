//! The PostgreSQL workflow store of production deployments, the same role as
//! the SQLite one (`migrations/postgres/`).
//!
//! Each delivery is one transaction. Tickets and events go in as one
//! `INSERT … SELECT FROM UNNEST(arrays…) ON CONFLICT DO NOTHING` each, so a
//! batch of thousands costs a few round trips and a redelivered batch is a
//! no-op. Killed connections are replaced by the pool on the next call.

use super::roles::*;
use super::{
    ActionCommit, Applied, Committed, DUE_FORWARDS_COLUMNS, DupCandidate, ForwardCounts, ForwardJob, ForwardSettle, NEARDUP_COLUMNS,
    NearDupRow, NewQuarantine, OrderQuery, OrderRow, ParkedForward, QuarantineQuery, QuarantineRow, StoreCounts, StoreError,
    StoredEscalation, digest, neardup_row, orders_in, parse_order, settle_rows, transfer_from_row,
};
use crate::ticket::stored_payload;
use crate::ticket::{EventType, Ticket, TicketEvent, referenced_elsewhere, split_deferred};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use minqing_connectors::Channel;
use minqing_connectors::timefmt::shanghai;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgPool, Postgres, QueryBuilder, Row};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgSettings {
    /// `postgres://user[:password]@host:port/database`; the database is
    /// created on first use if the user may.
    pub url: String,
    pub max_connections: u32,
}

impl Default for PgSettings {
    fn default() -> Self {
        PgSettings {
            url: "postgres://postgres@127.0.0.1:5432/minqing".into(),
            max_connections: 8,
        }
    }
}

pub struct PgStore {
    pool: PgPool,
    /// See [`OutboxStore::keep_intake_for_warehouse`].
    keep_intake: AtomicBool,
}

impl PgStore {
    /// Connects (creating the database if it is missing) and migrates.
    pub async fn open(cfg: &PgSettings) -> Result<Self, StoreError> {
        let opts = PgConnectOptions::from_str(&cfg.url)
            .map_err(StoreError::BadUrl)?
            .log_statements(tracing::log::LevelFilter::Trace);
        create_database_if_missing(&opts).await?;
        let pool = crate::db::pool::options::<sqlx::Postgres>()
            .max_connections(cfg.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            // A connection killed by the server is found out before use.
            .test_before_acquire(true)
            .connect_with(opts)
            .await
            .map_err(StoreError::Unreachable)?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await?;
        Ok(PgStore {
            pool,
            keep_intake: AtomicBool::new(false),
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

async fn create_database_if_missing(opts: &PgConnectOptions) -> Result<(), StoreError> {
    let Some(db) = opts.get_database().map(str::to_owned) else {
        return Ok(());
    };
    let admin = opts.clone().database("postgres");
    let mut conn = match admin.connect().await {
        Ok(c) => c,
        // No admin access: the database must exist already, and open() says so.
        Err(_) => return Ok(()),
    };
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&db)
        .fetch_one(&mut conn)
        .await?;
    if !exists {
        let sql = format!("CREATE DATABASE \"{}\"", db.replace('"', "\"\""));
        if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await {
            // Another process may have created it at the same moment.
            tracing::debug!(error = %e, "CREATE DATABASE failed");
        }
    }
    Ok(())
}

/// The supervisor's order list as a query.
fn orders_query(q: &OrderQuery) -> QueryBuilder<Postgres> {
    let mut b = QueryBuilder::<Postgres>::new("SELECT body::text FROM work_orders WHERE TRUE");
    if let Some(u) = &q.unit {
        b.push(" AND unit = ").push_bind(u.clone());
    }
    if q.open {
        b.push(" AND state <> 'closed'");
    }
    if q.provisional {
        b.push(" AND provisional");
    }
    if let Some(d) = q.due_by {
        b.push(" AND due <= ").push_bind(d);
    }
    if let Some(d) = q.due_from {
        b.push(" AND due >= ").push_bind(d);
    }
    b.push(" ORDER BY due NULLS LAST, ticket_id LIMIT ").push_bind(q.limit.max(1));
    b
}

/// Whether an error means the connection went away (the server killed the
/// backend, restarted, or the socket broke) rather than that the statement
/// failed: a read is then worth another try on a fresh connection.
fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) => true,
        // admin_shutdown, crash_shutdown, cannot_connect_now; connection exceptions.
        sqlx::Error::Database(d) => matches!(d.code().as_deref(), Some("57P01" | "57P02" | "57P03" | "08000" | "08003" | "08006")),
        _ => false,
    }
}

/// Runs a read, again (up to three more times) if its connection was lost.
/// Writes are not retried here: their callers settle or redeliver them.
async fn reread<T, F, Fut>(read: F) -> Result<T, sqlx::Error>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let mut tries = 0;
    loop {
        match read().await {
            Err(e) if tries < 3 && connection_lost(&e) => {
                tries += 1;
                tracing::warn!(error = %e, "A PostgreSQL read lost its connection; reading again.");
                tokio::time::sleep(Duration::from_millis(100 * tries)).await;
            }
            r => return r,
        }
    }
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

/// Column arrays of a ticket batch, for `UNNEST`.
#[derive(Default)]
struct TicketColumns {
    ticket_id: Vec<Uuid>,
    short_no: Vec<String>,
    channel: Vec<String>,
    source_id: Vec<String>,
    version: Vec<i32>,
    received_at: Vec<DateTime<Utc>>,
    received_ts: Vec<i64>,
    title: Vec<Option<String>>,
    content: Vec<String>,
    content_truncated: Vec<bool>,
    appeal_type: Vec<Option<String>>,
    category: Vec<Option<String>>,
    town: Vec<Option<String>>,
    location: Vec<Option<String>>,
    lat: Vec<Option<f64>>,
    lon: Vec<Option<f64>>,
    citizen_key: Vec<Option<String>>,
    contact_name: Vec<Option<String>>,
    contact_phone: Vec<Option<String>>,
    phone_masked: Vec<Option<String>>,
    anonymous: Vec<bool>,
    attachments: Vec<String>,
    text_hash: Vec<String>,
    duplicate_of: Vec<Option<Uuid>>,
    cluster_id: Vec<Option<String>>,
    status: Vec<&'static str>,
    scope: Vec<Option<&'static str>>,
    scope_rule: Vec<Option<String>>,
    scope_reason: Vec<Option<String>>,
    unit: Vec<Option<String>>,
    reply: Vec<Option<String>>,
}

impl TicketColumns {
    fn push(&mut self, t: &Ticket) {
        self.ticket_id.push(t.ticket_id);
        self.short_no.push(t.short_no.clone());
        self.channel.push(t.channel.id().to_owned());
        self.source_id.push(t.source_id.clone());
        self.version.push(t.version as i32);
        self.received_at.push(t.received_at.with_timezone(&Utc));
        self.received_ts.push(t.received_at.timestamp());
        self.title.push(t.title.clone());
        self.content.push(t.content.clone());
        self.content_truncated.push(t.content_truncated);
        self.appeal_type.push(t.appeal_type.map(|a| a.id().to_owned()));
        self.category.push(t.category.clone());
        self.town.push(t.town.clone());
        self.location.push(t.location.clone());
        self.lat.push(t.coordinates.map(|c| c.lat));
        self.lon.push(t.coordinates.map(|c| c.lon));
        self.citizen_key.push(t.citizen_key.clone());
        self.contact_name.push(t.contact_name.clone());
        self.contact_phone.push(t.contact_phone.clone());
        self.phone_masked.push(t.phone_masked.clone());
        self.anonymous.push(t.anonymous);
        self.attachments
            .push(serde_json::to_string(&t.attachments).unwrap_or_else(|_| "[]".into()));
        self.text_hash.push(t.text_hash.clone());
        self.duplicate_of.push(t.duplicate_of);
        self.cluster_id.push(t.cluster_id.clone());
        self.status.push(t.initial_status());
        let d = t.triage.as_ref();
        self.scope.push(d.map(|d| d.scope.id()));
        self.scope_rule.push(d.and_then(|d| d.rule.clone()));
        self.scope_reason.push(d.map(|d| d.reason.clone()));
        self.unit.push(d.and_then(|d| d.unit.clone()));
        self.reply.push(d.and_then(|d| d.reply.clone()));
    }
}

async fn insert_tickets(tx: &mut sqlx::Transaction<'_, Postgres>, tickets: &[&Ticket]) -> Result<(), StoreError> {
    if tickets.is_empty() {
        return Ok(());
    }
    let mut c = TicketColumns::default();
    for t in tickets {
        c.push(t);
    }
    let stamp = now();
    sqlx::query(
        "INSERT INTO tickets (ticket_id, short_no, channel, source_id, version, received_at, received_ts, title, content, \
         content_truncated, appeal_type, category, town, location, lat, lon, citizen_key, contact_name, contact_phone, \
         phone_masked, anonymous, attachments, text_hash, duplicate_of, cluster_id, status, created_at, updated_at, \
         scope, scope_rule, scope_reason, unit, reply) \
         SELECT ticket_id, short_no, channel, source_id, version, received_at, received_ts, title, content, \
         content_truncated, appeal_type, category, town, location, lat, lon, citizen_key, contact_name, contact_phone, \
         phone_masked, anonymous, attachments::jsonb, text_hash, duplicate_of, cluster_id, status, $26, $26, \
         scope, scope_rule, scope_reason, unit, reply \
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int4[], \
         $6::timestamptz[], $7::int8[], $8::text[], $9::text[], $10::bool[], $11::text[], $12::text[], $13::text[], \
         $14::text[], $15::float8[], $16::float8[], $17::text[], $18::text[], $19::text[], $20::text[], $21::bool[], \
         $22::text[], $23::text[], $24::uuid[], $25::text[], $27::text[], $28::text[], $29::text[], $30::text[], \
         $31::text[], $32::text[]) AS u (ticket_id, short_no, channel, source_id, version, \
         received_at, received_ts, title, content, content_truncated, appeal_type, category, town, location, lat, lon, \
         citizen_key, contact_name, contact_phone, phone_masked, anonymous, attachments, text_hash, duplicate_of, cluster_id, \
         status, scope, scope_rule, scope_reason, unit, reply) \
         ON CONFLICT (ticket_id) DO NOTHING",
    )
    .bind(c.ticket_id)
    .bind(c.short_no)
    .bind(c.channel)
    .bind(c.source_id)
    .bind(c.version)
    .bind(c.received_at)
    .bind(c.received_ts)
    .bind(c.title)
    .bind(c.content)
    .bind(c.content_truncated)
    .bind(c.appeal_type)
    .bind(c.category)
    .bind(c.town)
    .bind(c.location)
    .bind(c.lat)
    .bind(c.lon)
    .bind(c.citizen_key)
    .bind(c.contact_name)
    .bind(c.contact_phone)
    .bind(c.phone_masked)
    .bind(c.anonymous)
    .bind(c.attachments)
    .bind(c.text_hash)
    .bind(c.duplicate_of)
    .bind(c.cluster_id)
    .bind(stamp)
    .bind(c.status)
    .bind(c.scope)
    .bind(c.scope_rule)
    .bind(c.scope_reason)
    .bind(c.unit)
    .bind(c.reply)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Column arrays of an event batch, for `UNNEST`.
struct EventColumns {
    ids: Vec<Uuid>,
    tickets: Vec<Uuid>,
    types: Vec<String>,
    at: Vec<DateTime<Utc>>,
    versions: Vec<i32>,
    payloads: Vec<String>,
}

impl EventColumns {
    fn of<'a>(events: impl ExactSizeIterator<Item = &'a TicketEvent>) -> EventColumns {
        let n = events.len();
        let mut c = EventColumns {
            ids: Vec::with_capacity(n),
            tickets: Vec::with_capacity(n),
            types: Vec::with_capacity(n),
            at: Vec::with_capacity(n),
            versions: Vec::with_capacity(n),
            payloads: Vec::with_capacity(n),
        };
        for e in events {
            c.ids.push(e.event_id);
            c.tickets.push(e.ticket_id);
            c.types.push(e.event_type.id().to_owned());
            c.at.push(e.occurred_at.with_timezone(&Utc));
            c.versions.push(e.schema_version as i32);
            c.payloads.push(stored_payload(e));
        }
        c
    }
}

async fn insert_events(tx: &mut sqlx::Transaction<'_, Postgres>, events: &[&TicketEvent]) -> Result<u64, StoreError> {
    let c = EventColumns::of(events.iter().copied());
    let r = sqlx::query(
        "INSERT INTO ticket_events (event_id, ticket_id, event_type, occurred_at, schema_version, payload, recorded_at) \
         SELECT event_id, ticket_id, event_type, occurred_at, schema_version, payload::jsonb, $7 \
         FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::int4[], $6::text[]) \
         AS u (event_id, ticket_id, event_type, occurred_at, schema_version, payload) \
         ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(c.ids)
    .bind(c.tickets)
    .bind(c.types)
    .bind(c.at)
    .bind(c.versions)
    .bind(c.payloads)
    .bind(now())
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected())
}

fn candidate(r: &sqlx::postgres::PgRow) -> Result<DupCandidate, StoreError> {
    let at: DateTime<Utc> = r.try_get("received_at")?;
    Ok(DupCandidate {
        ticket_id: r.try_get("ticket_id")?,
        citizen_key: r.try_get("citizen_key")?,
        text_hash: r.try_get("text_hash")?,
        received_at: at.with_timezone(&shanghai()),
    })
}

/// Writes orders unless the store holds a newer version already, so a
/// redelivered event never winds an order back. One statement per batch.
async fn upsert_orders(tx: &mut sqlx::Transaction<'_, Postgres>, orders: &[&crate::ticket::order::Order]) -> Result<(), StoreError> {
    if orders.is_empty() {
        return Ok(());
    }
    let rows: Vec<OrderRow> = orders.iter().map(|o| OrderRow::of(o)).collect();
    sqlx::query(
        "INSERT INTO work_orders (ticket_id, state, unit, sign_due, reply_due, due, open_due, provisional, version, body, updated_at) \
         SELECT id, st, u, sd, rd, d, od, p, v, b::jsonb, $11 \
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::date[], $5::date[], $6::date[], $7::date[], $8::bool[], $9::int[], $10::text[]) \
         AS x (id, st, u, sd, rd, d, od, p, v, b) \
         ON CONFLICT (ticket_id) DO UPDATE SET state = excluded.state, unit = excluded.unit, sign_due = excluded.sign_due, \
         reply_due = excluded.reply_due, due = excluded.due, open_due = excluded.open_due, provisional = excluded.provisional, \
         version = excluded.version, body = excluded.body, updated_at = excluded.updated_at \
         WHERE excluded.version > work_orders.version",
    )
    .bind(rows.iter().map(|r| r.ticket_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.state.to_owned()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.unit.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.sign_due).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.reply_due).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.due).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.open_due).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.provisional).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.version as i32).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.body.clone()).collect::<Vec<_>>())
    .bind(now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Puts events committed in `tx` in the warehouse outbox.
async fn keep_for_warehouse(tx: &mut sqlx::Transaction<'_, Postgres>, events: &[&TicketEvent]) -> Result<(), StoreError> {
    if !events.is_empty() {
        sqlx::query("INSERT INTO warehouse_outbox (events) VALUES ($1)")
            .bind(super::outbox_json(events.iter().copied())?)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl StoreHealth for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// Records the batch's cluster merges flattened (each absorbed cluster
/// maps to where it lives now, whatever order they came in), and moves
/// the tickets of absorbed clusters, those of this batch included.
async fn apply_merges(tx: &mut sqlx::Transaction<'_, Postgres>, events: &[&TicketEvent], tickets: &[&Ticket]) -> Result<(), StoreError> {
    for (into, from) in events.iter().filter_map(|e| e.merge()) {
        let into: String = sqlx::query_scalar("SELECT COALESCE((SELECT into_cluster FROM cluster_merges WHERE from_cluster = $1), $1)")
            .bind(into)
            .fetch_one(&mut **tx)
            .await?;
        let from: Vec<&String> = from.iter().filter(|f| **f != into).collect();
        sqlx::query("UPDATE cluster_merges SET into_cluster = $1 WHERE into_cluster = ANY($2)")
            .bind(&into)
            .bind(&from)
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "INSERT INTO cluster_merges (from_cluster, into_cluster) SELECT f, $1 FROM UNNEST($2::text[]) AS u (f) \
             ON CONFLICT (from_cluster) DO UPDATE SET into_cluster = excluded.into_cluster",
        )
        .bind(&into)
        .bind(&from)
        .execute(&mut **tx)
        .await?;
        // `cluster_id = ANY($2)` in two halves that each have an index:
        // the members (tickets_cluster_members) and the first tickets,
        // whose id is their cluster's.
        let firsts: Vec<Uuid> = from.iter().filter_map(|f| Uuid::parse_str(f).ok()).collect();
        sqlx::query(
            "UPDATE tickets SET cluster_id = $1 \
             WHERE (cluster_id = ANY($2) AND cluster_id <> ticket_id::text) OR (ticket_id = ANY($3) AND cluster_id = ANY($2))",
        )
        .bind(&into)
        .bind(&from)
        .bind(&firsts)
        .execute(&mut **tx)
        .await?;
    }
    if !tickets.is_empty() {
        let ids: Vec<Uuid> = tickets.iter().map(|t| t.ticket_id).collect();
        sqlx::query(
            "UPDATE tickets t SET cluster_id = m.into_cluster FROM cluster_merges m \
             WHERE t.ticket_id = ANY($1) AND t.cluster_id = m.from_cluster",
        )
        .bind(&ids)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[async_trait]
impl EventStore for PgStore {
    async fn apply_events(&self, events: &[TicketEvent]) -> Result<Applied, StoreError> {
        let mut tx = self.pool.begin().await?;
        let tickets: Vec<&Ticket> = events.iter().filter_map(TicketEvent::ticket).collect();
        insert_tickets(&mut tx, &tickets).await?;
        let elsewhere = referenced_elsewhere(events);
        let mut missing: HashSet<Uuid> = elsewhere.iter().copied().collect();
        if !missing.is_empty() {
            let have: Vec<Uuid> = sqlx::query_scalar("SELECT ticket_id FROM tickets WHERE ticket_id = ANY($1)")
                .bind(&elsewhere)
                .fetch_all(&mut *tx)
                .await?;
            for id in have {
                missing.remove(&id);
            }
        }
        let (events, deferred) = split_deferred(events, &missing);
        for (e, edit) in events.iter().filter_map(|e| Some((e, e.edit()?))) {
            sqlx::query(
                "UPDATE tickets SET version = $1, title = $2, content = $3, content_truncated = $4, text_hash = $5, \
                 updated_at = $6 WHERE ticket_id = $7 AND version < $1",
            )
            .bind(edit.version as i32)
            .bind(edit.title)
            .bind(edit.content)
            .bind(edit.content_truncated)
            .bind(edit.text_hash)
            .bind(now())
            .bind(e.ticket_id)
            .execute(&mut *tx)
            .await?;
        }
        apply_merges(&mut tx, &events, &tickets).await?;
        let new = insert_events(&mut tx, &events).await?;
        upsert_orders(&mut tx, &orders_in(events.iter().copied())).await?;
        if self.keep_intake.load(Ordering::Relaxed) {
            keep_for_warehouse(&mut tx, &events).await?;
        }
        tx.commit().await?;
        Ok(Applied { new, deferred })
    }

    async fn known_tickets(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, u32>, StoreError> {
        let rows = sqlx::query("SELECT ticket_id, version FROM tickets WHERE ticket_id = ANY($1)")
            .bind(ids.to_vec())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<Uuid, _>(0)?, r.try_get::<i32, _>(1)?.max(0) as u32)))
            .collect()
    }

    async fn duplicate_roots_between(&self, from: i64, to: i64) -> Result<Vec<DupCandidate>, StoreError> {
        let rows = sqlx::query(
            "SELECT ticket_id, citizen_key, text_hash, received_at FROM tickets \
             WHERE received_ts BETWEEN $1 AND $2 AND duplicate_of IS NULL AND citizen_key IS NOT NULL",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(candidate).collect()
    }

    async fn dedup_snapshot(&self, limit: u64) -> Result<Option<(HashMap<Uuid, u32>, Vec<DupCandidate>)>, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets").fetch_one(&self.pool).await?;
        if n as u64 > limit {
            return Ok(None);
        }
        let rows = sqlx::query("SELECT ticket_id, version, citizen_key, text_hash, received_at, duplicate_of IS NULL AS root FROM tickets")
            .fetch_all(&self.pool)
            .await?;
        let mut known = HashMap::with_capacity(rows.len());
        let mut roots = Vec::new();
        for r in &rows {
            known.insert(r.try_get::<Uuid, _>(0)?, r.try_get::<i32, _>(1)?.max(0) as u32);
            let key: Option<String> = r.try_get(2)?;
            if key.is_some() && r.try_get::<bool, _>(5)? {
                roots.push(candidate(r)?);
            }
        }
        Ok(Some((known, roots)))
    }

    async fn channel_counts(&self) -> Result<BTreeMap<Channel, StoreCounts>, StoreError> {
        let mut out: BTreeMap<Channel, StoreCounts> = BTreeMap::new();
        let sql = "SELECT channel, \
              (SELECT COUNT(*) FROM tickets t WHERE t.channel = c.channel), \
              (SELECT COUNT(*) FROM tickets t WHERE t.channel = c.channel AND duplicate_of IS NOT NULL), \
              (SELECT COUNT(*) FROM quarantine q WHERE q.channel = c.channel), \
              (SELECT COUNT(*) FROM ticket_events e JOIN tickets t USING (ticket_id) WHERE t.channel = c.channel) \
            FROM (SELECT channel FROM tickets UNION SELECT channel FROM quarantine) c";
        for r in sqlx::query(sql).fetch_all(&self.pool).await? {
            let c = Channel::from_str(&r.try_get::<String, _>(0)?).map_err(|e| StoreError::corrupt("channel", e))?;
            let n = |i: usize| r.try_get::<i64, _>(i).map(|v| v as u64);
            out.insert(
                c,
                StoreCounts {
                    tickets: n(1)?,
                    duplicates: n(2)?,
                    quarantined: n(3)?,
                    events: n(4)?,
                },
            );
        }
        Ok(out)
    }

    async fn ticket_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets").fetch_one(&self.pool).await?;
        Ok(n as u64)
    }
}

#[async_trait]
impl QuarantineStore for PgStore {
    async fn quarantine(&self, items: &[NewQuarantine]) -> Result<Vec<bool>, StoreError> {
        // One statement for the batch: a round trip per record cost intake
        // most of its time under load.
        let digests: Vec<String> = items.iter().map(|q| digest(q.channel, &q.raw)).collect();
        let inserted: Vec<String> = sqlx::query_scalar(
            "INSERT INTO quarantine (digest, channel, source_id, reason, raw, received_at) \
             SELECT digest, channel, source_id, reason, raw, $6 \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[]) \
             AS u (digest, channel, source_id, reason, raw) \
             ON CONFLICT (digest) DO NOTHING RETURNING digest",
        )
        .bind(&digests)
        .bind(items.iter().map(|q| q.channel.id().to_owned()).collect::<Vec<_>>())
        .bind(items.iter().map(|q| q.source_id.clone()).collect::<Vec<_>>())
        .bind(items.iter().map(|q| q.reason.clone()).collect::<Vec<_>>())
        .bind(items.iter().map(|q| q.raw.clone()).collect::<Vec<_>>())
        .bind(now())
        .fetch_all(&self.pool)
        .await?;
        // A record twice in one batch is new only the first time.
        let mut fresh: std::collections::HashSet<String> = inserted.into_iter().collect();
        Ok(digests.iter().map(|d| fresh.remove(d)).collect())
    }

    async fn list_quarantine(&self, f: &QuarantineQuery) -> Result<Vec<QuarantineRow>, StoreError> {
        let raw = if f.with_raw { "raw" } else { "''::bytea" };
        let mut q = QueryBuilder::<Postgres>::new(format!(
            "SELECT id, channel, source_id, reason, {raw}, received_at, status, resolution, octet_length(raw) FROM quarantine WHERE TRUE"
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
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.into_iter()
            .map(|r| {
                let raw: Vec<u8> = r.try_get(4)?;
                let at: DateTime<Utc> = r.try_get(5)?;
                Ok(QuarantineRow {
                    id: r.try_get(0)?,
                    channel: r.try_get(1)?,
                    source_id: r.try_get(2)?,
                    reason: r.try_get(3)?,
                    raw_bytes: usize::try_from(r.try_get::<i64, _>(8)?).unwrap_or(0),
                    raw,
                    received_at: at.with_timezone(&shanghai()).to_rfc3339(),
                    status: r.try_get(6)?,
                    resolution: r.try_get(7)?,
                })
            })
            .collect()
    }

    async fn resolve_quarantine(&self, id: i64, resolution: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE quarantine SET status = 'replayed', resolved_at = $1, resolution = $2 WHERE id = $3")
            .bind(now())
            .bind(resolution)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl CursorStore for PgStore {
    async fn load_checkpoint(&self, channel: Channel) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT cursor FROM connector_checkpoints WHERE channel = $1")
            .bind(channel.id())
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn save_checkpoint(&self, channel: Channel, cursor: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO connector_checkpoints (channel, cursor, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (channel) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
        )
        .bind(channel.id())
        .bind(cursor)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn clear_checkpoints(&self, channels: &[Channel]) -> Result<(), StoreError> {
        let ids: Vec<String> = channels.iter().map(|c| c.id().to_owned()).collect();
        sqlx::query("DELETE FROM connector_checkpoints WHERE channel = ANY($1)")
            .bind(ids)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl ForwardStore for PgStore {
    async fn enqueue_forwards(&self, events: &[TicketEvent]) -> Result<Vec<Uuid>, StoreError> {
        let ids: Vec<Uuid> = events
            .iter()
            .filter(|e| e.event_type == EventType::Forwarded)
            .map(|e| e.ticket_id)
            .collect();
        if !ids.is_empty() {
            sqlx::query(
                "INSERT INTO forward_outbox (ticket_id, status, attempts, next_attempt_at, created_at, updated_at) \
                 SELECT id, 'pending', 0, $2, $2, $2 FROM UNNEST($1::uuid[]) AS u (id) ON CONFLICT (ticket_id) DO NOTHING",
            )
            .bind(&ids)
            .bind(now())
            .execute(&self.pool)
            .await?;
        }
        Ok(Vec::new())
    }

    async fn due_forwards(&self, now_at: DateTime<Utc>, limit: i64) -> Result<Vec<ForwardJob>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DUE_FORWARDS_COLUMNS} FROM forward_outbox o JOIN tickets t ON t.ticket_id = o.ticket_id \
             WHERE o.status = 'pending' AND o.next_attempt_at <= $1 ORDER BY o.next_attempt_at LIMIT $2"
        )))
        .bind(now_at)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let ticket_id: Uuid = r.try_get(0)?;
                let received: DateTime<Utc> = r.try_get(3)?;
                Ok(ForwardJob {
                    ticket_id,
                    attempts: r.try_get::<i32, _>(1)? as u32,
                    transfer: transfer_from_row(
                        &r,
                        ticket_id,
                        received.with_timezone(&minqing_connectors::timefmt::shanghai()).to_rfc3339(),
                    )?,
                })
            })
            .collect()
    }

    async fn settle_forwards(&self, settled: &[(Uuid, u32, ForwardSettle)]) -> Result<(), StoreError> {
        if settled.is_empty() {
            return Ok(());
        }
        // Two statements for the whole set: a statement per transfer cost
        // more than the transfer itself (20,000 of them in a 50,000-appeal
        // demo).
        let stamp = now();
        let rows = settle_rows(settled);
        let ids: Vec<Uuid> = rows.iter().map(|r| r.ticket_id).collect();
        let status: Vec<&str> = rows.iter().map(|r| r.status).collect();
        let attempts: Vec<i32> = rows.iter().map(|r| r.attempts as i32).collect();
        let errors: Vec<Option<&str>> = rows.iter().map(|r| r.error).collect();
        let numbers: Vec<Option<&str>> = rows.iter().map(|r| r.number).collect();
        let next_at: Vec<DateTime<Utc>> = rows.iter().map(|r| r.retry_at.unwrap_or(stamp)).collect();
        let (done, done_status): (Vec<Uuid>, Vec<&str>) = rows.iter().filter_map(|r| Some((r.ticket_id, r.ticket_status?))).unzip();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE forward_outbox o SET status = u.st, attempts = u.n, last_error = COALESCE(u.err, o.last_error), \
             huangshi_no = COALESCE(u.no, o.huangshi_no), next_attempt_at = u.nx, updated_at = $7 \
             FROM UNNEST($1::uuid[], $2::text[], $3::int4[], $4::text[], $5::text[], $6::timestamptz[]) AS u (id, st, n, err, no, nx) \
             WHERE o.ticket_id = u.id",
        )
        .bind(&ids)
        .bind(&status)
        .bind(&attempts)
        .bind(&errors)
        .bind(&numbers)
        .bind(&next_at)
        .bind(stamp)
        .execute(&mut *tx)
        .await?;
        if !done.is_empty() {
            sqlx::query(
                "UPDATE tickets t SET status = u.st, updated_at = $3 FROM UNNEST($1::uuid[], $2::text[]) AS u (id, st) \
                 WHERE t.ticket_id = u.id",
            )
            .bind(&done)
            .bind(&done_status)
            .bind(stamp)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn forward_counts(&self) -> Result<ForwardCounts, StoreError> {
        let r = sqlx::query(
            "SELECT COUNT(*) FILTER (WHERE status = 'pending'), COUNT(*) FILTER (WHERE status = 'sent'), \
             COUNT(*) FILTER (WHERE status = 'parked') FROM forward_outbox",
        )
        .fetch_one(&self.pool)
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
             LEFT JOIN tickets t ON t.ticket_id = o.ticket_id WHERE o.status = 'parked' ORDER BY o.updated_at DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(ParkedForward {
                    ticket_id: r.try_get(0)?,
                    short_no: r.try_get(1)?,
                    attempts: r.try_get::<i32, _>(2)? as u32,
                    last_error: r.try_get(3)?,
                    parked_at: r.try_get::<DateTime<Utc>, _>(4)?.to_rfc3339(),
                })
            })
            .collect()
    }

    async fn requeue_forwards(&self, ticket: Option<Uuid>) -> Result<u64, StoreError> {
        let stamp = now();
        let mut tx = self.pool.begin().await?;
        // Tickets first: afterwards the rows are no longer `parked`.
        sqlx::query(
            "UPDATE tickets SET status = 'forward_pending', updated_at = $1 WHERE ticket_id IN \
             (SELECT ticket_id FROM forward_outbox WHERE status = 'parked' AND ($2::uuid IS NULL OR ticket_id = $2))",
        )
        .bind(stamp)
        .bind(ticket)
        .execute(&mut *tx)
        .await?;
        let n = sqlx::query(
            "UPDATE forward_outbox SET status = 'pending', attempts = 0, next_attempt_at = $1, updated_at = $1 \
             WHERE status = 'parked' AND ($2::uuid IS NULL OR ticket_id = $2)",
        )
        .bind(stamp)
        .bind(ticket)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n)
    }
}

#[async_trait]
impl ClusterStore for PgStore {
    async fn neardup_history(&self, window_secs: i64) -> Result<Vec<NearDupRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {NEARDUP_COLUMNS} FROM tickets WHERE received_ts >= (SELECT MAX(received_ts) FROM tickets) - $1 \
             ORDER BY received_ts, seq"
        )))
        .bind(window_secs)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(neardup_row(r, r.try_get(0)?, r.try_get(7)?)?)).collect()
    }

    async fn escalations(&self) -> Result<Vec<StoredEscalation>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT payload::text FROM ticket_events WHERE event_type = 'escalated'")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|p| StoredEscalation::from_payload(p)).collect()
    }

    async fn cluster_count(&self, min_members: i64) -> Result<u64, StoreError> {
        // As on SQLite: clusters of two or more counted through their
        // members besides the first ticket (tickets_cluster_members), plus
        // the first ticket where it is still in its own cluster, instead of
        // grouping every ticket. Cluster ids are ticket ids; the CASE keeps
        // the cast from failing on anything else.
        let sql = if min_members >= 2 {
            "SELECT COUNT(*) FROM (SELECT m.cluster_id, COUNT(*) AS n FROM tickets m \
             WHERE m.cluster_id <> m.ticket_id::text GROUP BY m.cluster_id) c \
             WHERE c.n + (SELECT COUNT(*) FROM tickets f WHERE f.cluster_id = c.cluster_id AND f.ticket_id = \
             CASE WHEN c.cluster_id ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' THEN c.cluster_id::uuid END) >= $1"
        } else {
            "SELECT COUNT(*) FROM clusters WHERE members >= $1"
        };
        let n: i64 = sqlx::query_scalar(sql).bind(min_members).fetch_one(&self.pool).await?;
        Ok(n as u64)
    }
}

#[async_trait]
impl OrderStore for PgStore {
    async fn work_order(&self, ticket: Uuid) -> Result<Option<crate::ticket::order::Order>, StoreError> {
        let body: Option<String> = reread(|| {
            sqlx::query_scalar("SELECT body::text FROM work_orders WHERE ticket_id = $1")
                .bind(ticket)
                .fetch_optional(&self.pool)
        })
        .await?;
        body.as_deref().map(parse_order).transpose()
    }

    /// One statement, so one round trip: an action used to take seven (begin,
    /// lock, key, events, order, key, commit), which on a busy two-core
    /// machine cost more in wake-ups than in work. The order's row lock still
    /// serializes actions on one order: `go` is empty unless the version read
    /// under the lock is the one the action was decided on and the key is
    /// new, and every write waits on `go`. A key from an earlier commit on
    /// this order is visible here, as that commit changed the version the
    /// caller read afterwards.
    async fn commit_action(&self, c: &ActionCommit) -> Result<Committed, StoreError> {
        let e = EventColumns::of(c.events.iter());
        let outbox = if c.events.is_empty() {
            None
        } else {
            Some(super::outbox_json(&c.events)?)
        };
        let o = OrderRow::of(&c.order);
        let (key, status, response) = match &c.key {
            Some((k, s, r)) => (Some(k.as_str()), Some(i32::from(*s)), Some(r.as_str())),
            None => (None, None, None),
        };
        let (version, prior_status, prior_response): (Option<i32>, Option<i32>, Option<String>) = sqlx::query_as(
            "WITH cur AS (SELECT version FROM work_orders WHERE ticket_id = $1 FOR UPDATE), \
             prior AS (SELECT status, response FROM idempotency_keys WHERE key = $3::text), \
             go AS (SELECT 1 FROM cur WHERE cur.version = $2 AND NOT EXISTS (SELECT 1 FROM prior)), \
             ev AS (INSERT INTO ticket_events (event_id, ticket_id, event_type, occurred_at, schema_version, payload, recorded_at) \
               SELECT event_id, ticket_id, event_type, occurred_at, schema_version, payload::jsonb, $12 \
               FROM UNNEST($6::uuid[], $7::uuid[], $8::text[], $9::timestamptz[], $10::int4[], $11::text[]) \
               AS u (event_id, ticket_id, event_type, occurred_at, schema_version, payload) \
               WHERE EXISTS (SELECT 1 FROM go) ON CONFLICT (event_id) DO NOTHING), \
             ord AS (UPDATE work_orders SET state = $13, unit = $14, sign_due = $15, reply_due = $16, due = $17, \
               open_due = $18, provisional = $19, version = $20, body = $21::jsonb, updated_at = $12 \
               WHERE ticket_id = $1 AND EXISTS (SELECT 1 FROM go)), \
             k AS (INSERT INTO idempotency_keys (key, ticket_id, status, response) \
               SELECT $3::text, $1, $4::int4, $5::text WHERE $3::text IS NOT NULL AND EXISTS (SELECT 1 FROM go)), \
             ob AS (INSERT INTO warehouse_outbox (events) \
               SELECT $22::text WHERE $22::text IS NOT NULL AND EXISTS (SELECT 1 FROM go)) \
             SELECT (SELECT version FROM cur), (SELECT status FROM prior), (SELECT response FROM prior)",
        )
        .bind(c.order.ticket_id)
        .bind(c.expected_version as i32)
        .bind(key)
        .bind(status)
        .bind(response)
        .bind(e.ids)
        .bind(e.tickets)
        .bind(e.types)
        .bind(e.at)
        .bind(e.versions)
        .bind(e.payloads)
        .bind(now())
        .bind(o.state)
        .bind(o.unit)
        .bind(o.sign_due)
        .bind(o.reply_due)
        .bind(o.due)
        .bind(o.open_due)
        .bind(o.provisional)
        .bind(o.version as i32)
        .bind(o.body)
        // The warehouse's copy leaves from the outbox, so a crash after this
        // commit cannot lose it.
        .bind(outbox)
        .fetch_one(&self.pool)
        .await?;
        Ok(match (prior_status, prior_response) {
            (Some(status), Some(response)) => Committed::Replayed {
                status: status as u16,
                response,
            },
            _ if version != Some(c.expected_version as i32) => Committed::Stale {
                version: version.unwrap_or(0) as u32,
            },
            _ => Committed::Done,
        })
    }

    /// One transaction for the page: rows locked, versions compared, the
    /// events and orders of the ones still current written in a batch each.
    async fn commit_many(&self, commits: &[ActionCommit]) -> Result<Vec<Committed>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let ids: Vec<Uuid> = commits.iter().map(|c| c.order.ticket_id).collect();
        let rows: Vec<(Uuid, i32)> =
            sqlx::query_as("SELECT ticket_id, version FROM work_orders WHERE ticket_id = ANY($1) ORDER BY ticket_id FOR UPDATE")
                .bind(&ids)
                .fetch_all(&mut *tx)
                .await?;
        let have: HashMap<Uuid, i32> = rows.into_iter().collect();
        let mut answers = Vec::with_capacity(commits.len());
        let mut events: Vec<&TicketEvent> = Vec::new();
        let mut orders = Vec::new();
        let mut taken = HashSet::new();
        for c in commits {
            let current = have.get(&c.order.ticket_id).copied();
            // Two commits for one order in a page: only the first can hold.
            if current == Some(c.expected_version as i32) && taken.insert(c.order.ticket_id) {
                events.extend(c.events.iter());
                orders.push(&c.order);
                answers.push(Committed::Done);
            } else {
                answers.push(Committed::Stale {
                    version: current.unwrap_or(0) as u32,
                });
            }
        }
        insert_events(&mut tx, &events).await?;
        upsert_orders(&mut tx, &orders).await?;
        keep_for_warehouse(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(answers)
    }

    async fn idempotent(&self, key: &str) -> Result<Option<(u16, String)>, StoreError> {
        let row: Option<(i32, String)> = sqlx::query_as("SELECT status, response FROM idempotency_keys WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(s, r)| (s as u16, r)))
    }

    async fn sweepable_orders(&self, today: NaiveDate, limit: i64) -> Result<Vec<crate::ticket::order::Order>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT body::text FROM work_orders WHERE open_due < $1 ORDER BY open_due LIMIT $2")
            .bind(today)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|b| parse_order(b)).collect()
    }

    async fn orders(&self, q: &OrderQuery) -> Result<Vec<crate::ticket::order::Order>, StoreError> {
        let rows: Vec<String> = reread(|| async {
            let mut b = orders_query(q);
            b.build_query_scalar().fetch_all(&self.pool).await
        })
        .await?;
        rows.iter().map(|b| parse_order(b)).collect()
    }
}

#[async_trait]
impl OutboxStore for PgStore {
    fn keep_intake_for_warehouse(&self, on: bool) {
        self.keep_intake.store(on, Ordering::Relaxed);
    }

    async fn outbox_rows(&self, limit: i64) -> Result<Vec<super::OutboxRow>, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, events FROM warehouse_outbox WHERE parked IS NULL ORDER BY id LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|(id, text)| super::parse_outbox(*id, text)).collect())
    }

    async fn relayed(&self, ids: &[i64]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM warehouse_outbox WHERE id = ANY($1)")
            .bind(ids)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn park_outbox(&self, id: i64, reason: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE warehouse_outbox SET parked = $1 WHERE id = $2")
            .bind(reason)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn parked_outbox(&self, limit: i64) -> Result<Vec<super::ParkedRelay>, StoreError> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT id, parked, events, CAST(created_at AS TEXT) FROM warehouse_outbox WHERE parked IS NOT NULL ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, why, events, at)| super::parked_relay(id, why, &events, at))
            .collect())
    }

    async fn requeue_outbox(&self, id: Option<i64>) -> Result<u64, StoreError> {
        let r = sqlx::query("UPDATE warehouse_outbox SET parked = NULL WHERE parked IS NOT NULL AND ($1::int8 IS NULL OR id = $1)")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    async fn outbox_counts(&self) -> Result<super::OutboxCounts, StoreError> {
        let (waiting, parked): (i64, i64) = sqlx::query_as("SELECT COUNT(*) - COUNT(parked), COUNT(parked) FROM warehouse_outbox")
            .fetch_one(&self.pool)
            .await?;
        Ok(super::OutboxCounts {
            waiting: waiting as u64,
            parked: parked as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn broken() -> sqlx::Error {
        sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset by peer"))
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_that_lost_its_connection_is_read_again() {
        let calls = AtomicU32::new(0);
        let got = reread(|| async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(broken()),
                _ => Ok(7),
            }
        })
        .await
        .unwrap();
        assert_eq!((got, calls.load(Ordering::SeqCst)), (7, 3));
    }

    #[tokio::test(start_paused = true)]
    async fn other_errors_and_a_lasting_outage_are_returned() {
        let calls = AtomicU32::new(0);
        let e = reread(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(sqlx::Error::RowNotFound)
        })
        .await
        .unwrap_err();
        assert!(matches!(e, sqlx::Error::RowNotFound));
        assert_eq!(calls.load(Ordering::SeqCst), 1, "a wrong statement is not retried");
        calls.store(0, Ordering::SeqCst);
        let e = reread(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(broken())
        })
        .await
        .unwrap_err();
        assert!(connection_lost(&e));
        assert_eq!(calls.load(Ordering::SeqCst), 4, "one try and three more");
    }
}
