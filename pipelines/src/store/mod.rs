//! The [`WorkflowStore`] seam: tickets, their events, connector checkpoints
//! and quarantine, work orders and the two outboxes. SQLite for the
//! embedded default ([`sqlite`]); PostgreSQL for production ([`postgres`])
//! behind the same traits: one per role ([`roles`]), and [`WorkflowStore`]
//! for all of them. This module holds the types they trade in.
//!
//! Every write is idempotent: tickets on `ticket_id`, events on `event_id`,
//! quarantine on the digest of the raw record.

pub mod postgres;
pub mod roles;
pub mod sqlite;
mod sqlite_actions;
mod sqlite_chores;
mod sqlite_group;

pub use roles::{
    ClusterStore, CursorStore, EventStore, ForwardStore, OrderStore, OutboxStore, QuarantineStore, StoreHealth, WorkflowStore,
};

use crate::ticket::TicketEvent;
use crate::ticket::order::Order;
use async_trait::async_trait;
use chrono::{DateTime, FixedOffset, NaiveDate};
use minqing_connectors::Channel;
use minqing_connectors::error::CheckpointError;
use minqing_connectors::pull::CheckpointStore;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("`store.postgres.url` is not a PostgreSQL URL: {0}")]
    BadUrl(#[source] sqlx::Error),
    #[error("cannot reach PostgreSQL: {0}; is it running (scripts/services start)?")]
    Unreachable(#[source] sqlx::Error),
    #[error("cannot create the folder of {path}: {source}")]
    Folder {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The thread that writes a SQLite file is gone (it panicked, or the
    /// store is closing).
    #[error("the SQLite writer of {0} has stopped")]
    WriterStopped(&'static str),
    /// A stored value that does not parse: a bug or a hand edit, never the
    /// caller's input.
    #[error("stored {what} is unreadable: {source}")]
    Corrupt {
        what: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    /// A stored `what` that does not parse, and why.
    pub fn corrupt(what: &'static str, e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
        StoreError::Corrupt { what, source: e.into() }
    }

    /// Whether the database lacks a resource or cannot be reached, rather
    /// than refusing these rows: a full disk, no memory, a read-only or
    /// busy file, a lost connection. Waiting can fix these; splitting the
    /// batch and parking its events cannot.
    pub fn is_resource(&self) -> bool {
        match self {
            StoreError::Sqlite(e) => crate::db::sqlite_lacks_resource(e),
            StoreError::Db(e) => match e {
                sqlx::Error::Database(d) => match d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                    // PostgreSQL: class 53 (insufficient resources: disk
                    // full, out of memory, too many connections), 08
                    // (connection), 57P (the server is shutting down or
                    // restarting), 25006 (read-only, as a replica is until
                    // a failover completes).
                    Some(pg) => {
                        let c = pg.code();
                        c.starts_with("53") || c.starts_with("08") || c.starts_with("57P") || c == "25006"
                    }
                    // SQLite through sqlx (migrations, reads).
                    None => crate::db::sqlx_unreached(e),
                },
                _ => crate::db::sqlx_unreached(e),
            },
            StoreError::Unreachable(_) | StoreError::Folder { .. } | StoreError::WriterStopped(_) => true,
            _ => false,
        }
    }

    /// Whether the same call may succeed later unchanged: the database
    /// lacked a resource or could not be reached ([`StoreError::is_resource`]).
    pub fn is_retryable(&self) -> bool {
        self.is_resource()
    }
}

/// A record to hold in quarantine.
#[derive(Debug, Clone)]
pub struct NewQuarantine {
    pub channel: Channel,
    pub source_id: Option<String>,
    pub reason: String,
    pub raw: Vec<u8>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuarantineRow {
    pub id: i64,
    pub channel: String,
    pub source_id: Option<String>,
    pub reason: String,
    #[serde(skip)]
    pub raw: Vec<u8>,
    pub raw_bytes: usize,
    pub received_at: String,
    pub status: String,
    pub resolution: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct QuarantineQuery {
    pub channel: Option<Channel>,
    pub include_resolved: bool,
    pub id: Option<i64>,
    pub limit: i64,
    /// Load each record's raw bytes (for a replay); a listing needs only
    /// their size, and loading bodies once took 915 MB to list 106 records.
    pub with_raw: bool,
}

/// A ticket that a new one may duplicate.
#[derive(Debug, Clone)]
pub struct DupCandidate {
    pub ticket_id: Uuid,
    pub citizen_key: String,
    pub text_hash: String,
    pub received_at: DateTime<FixedOffset>,
}

/// Per-channel totals, for the demo's check and for tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StoreCounts {
    pub tickets: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    pub events: u64,
}

/// What [`EventStore::apply_events`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Events stored that were not there before.
    pub new: u64,
    /// Ids of events left out because their ticket is not stored yet; their
    /// delivery should come again later.
    pub deferred: Vec<Uuid>,
}

/// A transfer to Huangshi waiting in the outbox.
#[derive(Debug, Clone)]
pub struct ForwardJob {
    pub ticket_id: Uuid,
    pub attempts: u32,
    pub transfer: minqing_connectors::huangshi::Transfer,
}

/// How a delivery attempt ends for the outbox.
#[derive(Debug, Clone, PartialEq)]
pub enum ForwardSettle {
    /// Huangshi has it: the ticket becomes `forwarded`.
    Delivered { huangshi_no: String },
    /// Try again at `next_at`.
    Retry { error: String, next_at: DateTime<chrono::Utc> },
    /// Given up: parked with the reason, the ticket becomes `forward_failed`.
    Parked { error: String },
}

/// One ticket's settlement, as the outbox and ticket rows take it.
pub(crate) struct SettleRow<'a> {
    pub ticket_id: Uuid,
    pub status: &'static str,
    pub attempts: u32,
    pub error: Option<&'a str>,
    pub number: Option<&'a str>,
    /// When a retry is due; none once the transfer is settled for good.
    pub retry_at: Option<DateTime<chrono::Utc>>,
    pub ticket_status: Option<&'static str>,
}

/// A set of settlements as one row per ticket, in first-seen order, so a
/// backend can write the set in a statement or two. A ticket settled twice
/// in one set ends as if the two had been applied in turn: the later
/// outcome, and the last error and number given.
pub(crate) fn settle_rows(settled: &[(Uuid, u32, ForwardSettle)]) -> Vec<SettleRow<'_>> {
    let mut at: HashMap<Uuid, usize> = HashMap::with_capacity(settled.len());
    let mut rows: Vec<SettleRow<'_>> = Vec::with_capacity(settled.len());
    for (ticket_id, attempts, how) in settled {
        let row = SettleRow {
            ticket_id: *ticket_id,
            status: how.outbox_status(),
            attempts: *attempts,
            error: how.error(),
            number: how.huangshi_no(),
            retry_at: match how {
                ForwardSettle::Retry { next_at, .. } => Some(*next_at),
                _ => None,
            },
            ticket_status: how.ticket_status(),
        };
        match at.get(ticket_id) {
            Some(&i) => {
                let before = std::mem::replace(&mut rows[i], row);
                let r = &mut rows[i];
                r.error = r.error.or(before.error);
                r.number = r.number.or(before.number);
                r.ticket_status = r.ticket_status.or(before.ticket_status);
            }
            None => {
                at.insert(*ticket_id, rows.len());
                rows.push(row);
            }
        }
    }
    rows
}

/// Outbox totals, for the demo, `/metrics` and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ForwardCounts {
    pub pending: u64,
    pub sent: u64,
    pub parked: u64,
}

/// `minqing_forward_outbox{status=…}`. The `/metrics` handler queries the
/// counts before it encodes: a collector cannot await the store.
impl Collector for ForwardCounts {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let help = "Huangshi transfers by outbox status.";
        let mut metric = encoder.encode_descriptor("minqing_forward_outbox", help, None, MetricType::Gauge)?;
        for (status, n) in [("pending", self.pending), ("sent", self.sent), ("parked", self.parked)] {
            ConstGauge::new(n).encode(metric.encode_family(&[("status", status)])?)?;
        }
        Ok(())
    }
}

/// A stored ticket as the near-duplicate engine is rebuilt from it.
#[derive(Debug, Clone, PartialEq)]
pub struct NearDupRow {
    pub ticket_id: Uuid,
    pub title: Option<String>,
    pub content: String,
    pub citizen_key: Option<String>,
    pub town: Option<String>,
    pub received_ts: i64,
    pub cluster_id: Option<String>,
    pub duplicate_of: Option<Uuid>,
}

/// The columns [`neardup_row`] reads, in its order.
pub(crate) const NEARDUP_COLUMNS: &str = "ticket_id, title, content, citizen_key, town, received_ts, cluster_id, duplicate_of";

/// A [`NearDupRow`] from a row of [`NEARDUP_COLUMNS`]; the ids (columns 0
/// and 7) are read by each backend in its own type.
pub(crate) fn neardup_row<R>(r: &R, ticket_id: Uuid, duplicate_of: Option<Uuid>) -> Result<NearDupRow, sqlx::Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(NearDupRow {
        ticket_id,
        title: r.try_get(1)?,
        content: r.try_get(2)?,
        citizen_key: r.try_get(3)?,
        town: r.try_get(4)?,
        received_ts: r.try_get(5)?,
        cluster_id: r.try_get(6)?,
        duplicate_of,
    })
}

/// An escalation already made: its cluster and, for `same_citizen`, whose.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEscalation {
    pub cluster_id: String,
    pub citizen_key: Option<String>,
}

impl StoredEscalation {
    pub(crate) fn from_payload(p: &str) -> Result<StoredEscalation, StoreError> {
        let v: serde_json::Value = serde_json::from_str(p).map_err(|e| StoreError::corrupt("escalated payload", e))?;
        let cluster_id = v["cluster_id"]
            .as_str()
            .ok_or_else(|| StoreError::corrupt("escalated payload", format!("no cluster_id in {p}")))?
            .to_owned();
        Ok(StoredEscalation {
            cluster_id,
            citizen_key: v["citizen_key"].as_str().map(str::to_owned),
        })
    }
}

/// A transfer given up on, for the operator who requeues it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParkedForward {
    pub ticket_id: Uuid,
    pub short_no: Option<String>,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// When it was parked (RFC 3339).
    pub parked_at: String,
}

/// The outbox query's columns after `o.ticket_id, o.attempts` (0, 1) and
/// before `t.received_at` (3), which each backend reads in its own type.
pub(crate) const DUE_FORWARDS_COLUMNS: &str = "o.ticket_id, o.attempts, t.short_no, t.received_at, t.channel, t.scope_rule, \
     t.scope_reason, t.title, t.content, t.appeal_type, t.town, t.location, t.contact_name, t.contact_phone";

/// The Huangshi transfer of a stored ticket, from a row of
/// [`DUE_FORWARDS_COLUMNS`]; `received_at` is column 3, already formatted.
pub(crate) fn transfer_from_row<R>(
    r: &R,
    ticket_id: Uuid,
    received_at: String,
) -> Result<minqing_connectors::huangshi::Transfer, sqlx::Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(minqing_connectors::huangshi::Transfer {
        transfer_id: ticket_id.to_string(),
        acceptance_no: r.try_get(2)?,
        from: "大冶市12345".into(),
        received_at,
        channel: r.try_get(4)?,
        class: r.try_get::<Option<String>, _>(5)?.unwrap_or_default(),
        reason: r.try_get::<Option<String>, _>(6)?.unwrap_or_default(),
        title: r.try_get(7)?,
        content: r.try_get(8)?,
        appeal_type: r.try_get(9)?,
        town: r.try_get(10)?,
        location: r.try_get(11)?,
        contact: minqing_connectors::huangshi::TransferContact {
            name: r.try_get(12)?,
            phone: r.try_get(13)?,
        },
    })
}

impl ForwardSettle {
    /// The outbox row's new status.
    pub fn outbox_status(&self) -> &'static str {
        match self {
            ForwardSettle::Delivered { .. } => "sent",
            ForwardSettle::Retry { .. } => "pending",
            ForwardSettle::Parked { .. } => "parked",
        }
    }

    /// The ticket's new status, if the attempt ended the transfer.
    pub fn ticket_status(&self) -> Option<&'static str> {
        match self {
            ForwardSettle::Delivered { .. } => Some("forwarded"),
            ForwardSettle::Retry { .. } => None,
            ForwardSettle::Parked { .. } => Some("forward_failed"),
        }
    }

    pub fn error(&self) -> Option<&str> {
        match self {
            ForwardSettle::Retry { error, .. } | ForwardSettle::Parked { error } => Some(error),
            ForwardSettle::Delivered { .. } => None,
        }
    }

    pub fn huangshi_no(&self) -> Option<&str> {
        match self {
            ForwardSettle::Delivered { huangshi_no } => Some(huangshi_no),
            _ => None,
        }
    }
}

/// A warehouse outbox row read back: its events, or why they could not be
/// read (a row written by another version), so that one bad row is set
/// aside instead of stopping the relay.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub events: Result<Vec<TicketEvent>, String>,
}

/// The warehouse outbox's size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutboxCounts {
    pub waiting: u64,
    pub parked: u64,
}

/// `minqing_warehouse_outbox_rows{state=…}`, queried by the `/metrics`
/// handler before it encodes, as [`ForwardCounts`].
impl Collector for OutboxCounts {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let help = "Rows in the workflow store's warehouse outbox: waiting, or parked after the warehouse kept refusing them (alert).";
        let mut metric = encoder.encode_descriptor("minqing_warehouse_outbox_rows", help, None, MetricType::Gauge)?;
        for (state, n) in [("waiting", self.waiting), ("parked", self.parked)] {
            ConstGauge::new(n).encode(metric.encode_family(&[("state", state)])?)?;
        }
        Ok(())
    }
}

/// A warehouse outbox row set aside.
#[derive(Debug, Clone, Serialize)]
pub struct ParkedRelay {
    pub id: i64,
    pub reason: String,
    pub events: usize,
    pub created_at: String,
}

/// Events as an outbox row holds them: the bus's JSON.
pub(crate) fn outbox_json<'a>(events: impl IntoIterator<Item = &'a TicketEvent>) -> Result<String, StoreError> {
    let events: Vec<&TicketEvent> = events.into_iter().collect();
    serde_json::to_string(&events).map_err(|e| StoreError::corrupt("events for the warehouse outbox", e))
}

/// A parked row as listed: the events are counted, not returned.
pub(crate) fn parked_relay(id: i64, reason: String, events: &str, created_at: String) -> ParkedRelay {
    let events = serde_json::from_str::<Vec<serde::de::IgnoredAny>>(events).map_or(0, |v| v.len());
    ParkedRelay {
        id,
        reason,
        events,
        created_at,
    }
}

/// An outbox row read back.
pub(crate) fn parse_outbox(id: i64, text: &str) -> OutboxRow {
    OutboxRow {
        id,
        events: serde_json::from_str(text).map_err(|e| format!("warehouse_outbox row {id} cannot be read: {e}")),
    }
}

/// Lets connectors keep their cursors in the workflow store.
pub struct Checkpoints(pub Arc<dyn CursorStore>);

#[async_trait]
impl CheckpointStore for Checkpoints {
    async fn load(&self, channel: Channel) -> Result<Option<String>, CheckpointError> {
        self.0.load_checkpoint(channel).await.map_err(|e| CheckpointError(Box::new(e)))
    }

    async fn save(&self, channel: Channel, cursor: &str) -> Result<(), CheckpointError> {
        self.0
            .save_checkpoint(channel, cursor)
            .await
            .map_err(|e| CheckpointError(Box::new(e)))
    }
}

/// The key that makes quarantine idempotent: sha256 of channel and raw bytes.
pub(crate) fn digest(channel: Channel, raw: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(channel.id().as_bytes());
    h.update([0]);
    h.update(raw);
    hex::encode(h.finalize())
}

/// An action to record; see [`OrderStore::commit_action`].
#[derive(Debug, Clone)]
pub struct ActionCommit {
    pub expected_version: u32,
    pub order: Order,
    pub events: Vec<TicketEvent>,
    /// The key and the answer to give again for it.
    pub key: Option<(String, u16, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    Done,
    /// The key was used before: its first answer.
    Replayed {
        status: u16,
        response: String,
    },
    /// Someone else changed the order first; it is at `version` now.
    Stale {
        version: u32,
    },
}

/// Filters of [`OrderStore::orders`]; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct OrderQuery {
    pub unit: Option<String>,
    /// Not closed.
    pub open: bool,
    /// Owed deadline on or before this day.
    pub due_by: Option<NaiveDate>,
    /// Owed deadline on or after this day.
    pub due_from: Option<NaiveDate>,
    /// Only orders with deadlines counted on the weekday rule.
    pub provisional: bool,
    pub limit: i64,
}

/// The columns a store keeps beside an order's JSON.
pub(crate) struct OrderRow {
    pub ticket_id: Uuid,
    pub state: &'static str,
    pub unit: Option<String>,
    pub sign_due: Option<NaiveDate>,
    pub reply_due: Option<NaiveDate>,
    pub due: Option<NaiveDate>,
    pub open_due: Option<NaiveDate>,
    pub provisional: bool,
    pub version: i64,
    pub body: String,
}

impl OrderRow {
    pub(crate) fn of(o: &Order) -> OrderRow {
        OrderRow {
            ticket_id: o.ticket_id,
            state: o.state.id(),
            unit: o.unit.clone(),
            sign_due: o.sign_due,
            reply_due: o.reply_due,
            due: o.due(),
            open_due: o.open_due(),
            provisional: o.provisional,
            version: i64::from(o.version),
            body: serde_json::to_string(o).unwrap_or_default(),
        }
    }
}

pub(crate) fn parse_order(body: &str) -> Result<Order, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError::corrupt("work order", e))
}

/// The last order each ticket's events leave behind, highest version.
pub(crate) fn orders_in<'a>(events: impl IntoIterator<Item = &'a TicketEvent>) -> Vec<&'a Order> {
    let mut last: HashMap<Uuid, &Order> = HashMap::new();
    for o in events.into_iter().filter_map(TicketEvent::order) {
        let keep = last.get(&o.ticket_id).is_none_or(|p| p.version < o.version);
        if keep {
            last.insert(o.ticket_id, o);
        }
    }
    let mut v: Vec<&Order> = last.into_values().collect();
    v.sort_by_key(|o| o.ticket_id);
    v
}
