//! The [`Warehouse`] seam: where ticket facts and events go for analysis.
//!
//! A warehouse consumes `tickets.warehouse` in batches and is idempotent:
//! before writing it drops the tickets and events it holds already, so a
//! redelivered batch adds nothing and the daily aggregate counts each ticket
//! once. Rows are built by [`FactRow::from_ticket`], which leaves out the
//! contact name, the phone and its masked form: only `citizen_key` and its
//! key id go in. Free text comes masked already: the warehouse's queue
//! carries [`crate::privacy::Masker::event_for_analysis`] copies.
//!
//! Two implementations with the same tables: [`sqlite`] for the embedded
//! default and [`clickhouse`] for production.

pub mod clickhouse;
mod clickhouse_facts;
pub mod dims;
pub mod orders;
pub mod saved;
pub mod sqlite;

use crate::ticket::{Edit, Ticket, TicketEvent};
use async_trait::async_trait;
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::Serialize;
use uuid::Uuid;

/// Why a warehouse call failed; [`WarehouseError::is_retryable`] tells
/// the sink whether to hold the events (waiting can fix it) or to look
/// for a poison event.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    /// ClickHouse refused or could not be reached; `detail` is the error
    /// with its causes ("client error (Connect)" alone hides a refused
    /// certificate).
    #[error("warehouse (ClickHouse){context}: {detail}")]
    Clickhouse {
        context: String,
        detail: String,
        #[source]
        source: ::clickhouse::error::Error,
    },
    /// No answer within `warehouse.clickhouse.timeout_secs`.
    #[error(
        "warehouse: {what}: ClickHouse at {url} did not answer within {secs} s (warehouse.clickhouse.timeout_secs; is it the HTTP port?)"
    )]
    TimedOut { what: String, url: String, secs: u64 },
    #[error("warehouse (SQLite): {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("warehouse (SQLite): {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("warehouse migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("warehouse: cannot create the folder of {path}: {source}")]
    Folder {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The warehouse holds something this version cannot read.
    #[error("warehouse: {what}")]
    Unreadable { what: String },
}

/// ClickHouse's codes for what waiting fixes: a lack of resources (243
/// not enough space, 241 memory, 252 too many parts: inserts faster than
/// merges), overload (202 too many simultaneous queries, 159 timeout,
/// 209 socket timeout, 210 network error), a table read-only while a
/// replica recovers (242), a query cancelled as the server stops (394).
const RETRY_CODES: [&str; 9] = [
    "Code: 243.",
    "Code: 241.",
    "Code: 252.",
    "Code: 202.",
    "Code: 159.",
    "Code: 209.",
    "Code: 210.",
    "Code: 242.",
    "Code: 394.",
];

/// Texts of a lack of resources under any code (a full disk surfaces as
/// several).
const RESOURCE_TEXTS: [&str; 2] = ["No space left", "Memory limit"];

impl WarehouseError {
    /// Whether waiting can fix it: the backend lacks a resource (disk,
    /// memory), is overloaded, or cannot be reached. Parking the events
    /// cannot fix these.
    pub fn is_retryable(&self) -> bool {
        match self {
            WarehouseError::Clickhouse { source, detail, .. } => match source {
                ::clickhouse::error::Error::Network(_) | ::clickhouse::error::Error::TimedOut => true,
                // A ClickHouse server's own refusal starts "Code: N."; any
                // other bad response (a proxy's 502 or 503 page, a cut
                // body) is the way there failing, not the rows.
                ::clickhouse::error::Error::BadResponse(text) if !text.trim_start().starts_with("Code:") => true,
                _ => RETRY_CODES.iter().chain(&RESOURCE_TEXTS).any(|c| detail.contains(c)),
            },
            WarehouseError::TimedOut { .. } => true,
            WarehouseError::Sqlite(e) => crate::db::sqlite_lacks_resource(e),
            WarehouseError::Sqlx(e) => crate::db::sqlx_unreached(e),
            WarehouseError::Folder { .. } => true,
            _ => false,
        }
    }

    /// A ClickHouse error with what we were doing and its causes.
    pub(crate) fn clickhouse(context: impl Into<String>, source: ::clickhouse::error::Error) -> WarehouseError {
        let mut detail = source.to_string();
        let mut cause = std::error::Error::source(&source);
        while let Some(c) = cause {
            let text = c.to_string();
            if !detail.contains(&text) {
                detail = format!("{detail}: {text}");
            }
            cause = c.source();
        }
        let context = context.into();
        WarehouseError::Clickhouse {
            context: if context.is_empty() { context } else { format!(", {context}") },
            detail,
            source,
        }
    }
}

impl From<::clickhouse::error::Error> for WarehouseError {
    fn from(e: ::clickhouse::error::Error) -> Self {
        WarehouseError::clickhouse("", e)
    }
}

/// Row counts, for the demo's check, `/status` and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WarehouseCounts {
    /// Distinct tickets (ClickHouse: after `FINAL`).
    pub tickets: u64,
    pub events: u64,
    /// The sum of the daily aggregate; equals `tickets` when it is intact.
    pub daily_total: u64,
}

#[async_trait]
pub trait Warehouse: Send + Sync {
    /// Writes a batch idempotently; resolves once it is durable. Returns the
    /// ids of events left out because their ticket is neither stored nor in
    /// the batch; their delivery should come again later.
    async fn write(&self, events: &[TicketEvent]) -> Result<Vec<Uuid>, WarehouseError>;
    /// Runs a read-only query (a saved query rendered for [`Warehouse::dialect`]).
    async fn select(&self, sql: &str) -> Result<saved::Table, WarehouseError>;
    /// The SQL this warehouse speaks.
    fn dialect(&self) -> saved::Dialect;
    /// Replaces the dimension tables with `dims` (config, at open).
    async fn load_dimensions(&self, dims: &dims::Dimensions) -> Result<(), WarehouseError>;
    /// Cheap reachability probe for /readyz.
    async fn ping(&self) -> Result<(), WarehouseError>;
    async fn counts(&self) -> Result<WarehouseCounts, WarehouseError>;
    /// Which backend this is, for `/readyz`.
    fn kind(&self) -> &'static str;
}

/// A ticket as the warehouse holds it: no contact name, no phone.
#[derive(Debug, Clone, PartialEq)]
pub struct FactRow {
    pub ticket_id: Uuid,
    pub short_no: String,
    pub channel: &'static str,
    pub source_id: String,
    pub version: u32,
    pub is_update: bool,
    pub received_at: DateTime<FixedOffset>,
    pub received_date: NaiveDate,
    pub title: String,
    pub content: String,
    pub content_truncated: bool,
    pub appeal_type: &'static str,
    pub category: String,
    pub town: String,
    pub location: String,
    pub coordinates: Option<(f64, f64)>,
    pub citizen_key: String,
    /// The id of the key that made `citizen_key`.
    pub citizen_key_id: String,
    pub anonymous: bool,
    pub attachments: Vec<String>,
    pub text_hash: String,
    pub duplicate_of: String,
    pub cluster_id: String,
    pub status: &'static str,
    pub scope: &'static str,
    pub scope_rule: String,
    pub unit: String,
}

impl FactRow {
    pub fn from_ticket(t: &Ticket) -> Self {
        FactRow {
            ticket_id: t.ticket_id,
            short_no: t.short_no.clone(),
            channel: t.channel.id(),
            source_id: t.source_id.clone(),
            version: t.version,
            is_update: false,
            received_at: t.received_at,
            received_date: t.received_at.date_naive(),
            title: t.title.clone().unwrap_or_default(),
            content: t.content.clone(),
            content_truncated: t.content_truncated,
            appeal_type: t.appeal_type.map(|a| a.id()).unwrap_or(""),
            category: t.category.clone().unwrap_or_default(),
            town: t.town.clone().unwrap_or_default(),
            location: t.location.clone().unwrap_or_default(),
            coordinates: t.coordinates.map(|c| (c.lat, c.lon)),
            citizen_key: t.citizen_key.clone().unwrap_or_default(),
            citizen_key_id: t.citizen_key_id.clone().unwrap_or_default(),
            anonymous: t.anonymous,
            attachments: t.attachments.clone(),
            text_hash: t.text_hash.clone(),
            duplicate_of: t.duplicate_of.map(|d| d.to_string()).unwrap_or_default(),
            cluster_id: t.cluster_id.clone().unwrap_or_default(),
            status: t.initial_status(),
            scope: t.triage.as_ref().map_or("", |d| d.scope.id()),
            scope_rule: t.triage.as_ref().and_then(|d| d.rule.clone()).unwrap_or_default(),
            unit: t.triage.as_ref().and_then(|d| d.unit.clone()).unwrap_or_default(),
        }
    }
}

/// The stored payload of an event: personal data stays out (a received
/// event carries the ticket, which is the fact row instead).
pub fn event_payload(e: &TicketEvent) -> String {
    crate::ticket::stored_payload(e)
}

/// Splits a batch into new ticket rows and the edits to apply, in order.
/// A citizen's key under a retired key and under the current one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyLinkRow {
    pub previous_key_id: String,
    pub previous_key: String,
    pub key_id: String,
    pub citizen_key: String,
}

/// The key links of the tickets that arrive in `events`, while a rotation
/// is under way.
pub fn key_links(events: &[&TicketEvent]) -> Vec<KeyLinkRow> {
    let mut out = Vec::new();
    for t in events.iter().filter_map(|e| e.ticket()) {
        let (Some(key), Some(id)) = (&t.citizen_key, &t.citizen_key_id) else {
            continue;
        };
        for p in &t.previous_citizen_keys {
            out.push(KeyLinkRow {
                previous_key_id: p.id.clone(),
                previous_key: p.key.clone(),
                key_id: id.clone(),
                citizen_key: key.clone(),
            });
        }
    }
    out
}

pub fn facts<'a>(events: &[&'a TicketEvent]) -> (Vec<FactRow>, Vec<(Uuid, Edit<'a>)>) {
    let rows = events.iter().filter_map(|e| e.ticket()).map(FactRow::from_ticket).collect();
    let edits = events.iter().filter_map(|e| Some((e.ticket_id, e.edit()?))).collect();
    (rows, edits)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full disk or an overloaded ClickHouse is waited out, not parked.
    #[test]
    fn resource_errors_are_told_apart_from_refused_rows() {
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            Some("database or disk is full".into()),
        );
        assert!(WarehouseError::from(full).is_retryable());
        let ch = |text: &str| WarehouseError::from(::clickhouse::error::Error::BadResponse(text.into()));
        assert!(ch("Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space").is_retryable());
        assert!(ch("Code: 241. DB::Exception: Memory limit (total) exceeded").is_retryable());
        assert!(!ch("Code: 53. DB::Exception: Type mismatch").is_retryable());
        assert!(WarehouseError::from(::clickhouse::error::Error::TimedOut).is_retryable());
        assert!(ch("Code: 202. DB::Exception: Too many simultaneous queries").is_retryable());
        assert!(ch("Code: 74. DB::Exception: Cannot write to file: No space left on device").is_retryable());
        assert!(ch("<html><body>502 Bad Gateway</body></html>").is_retryable());
        assert!(!ch("Code: 27. DB::Exception: Cannot parse input").is_retryable());
        let down = WarehouseError::TimedOut {
            what: "insert".into(),
            url: "http://127.0.0.1:8123".into(),
            secs: 30,
        };
        assert!(down.is_retryable());
    }

    #[test]
    fn fact_rows_carry_no_contact_details_and_a_local_date() {
        let row = FactRow::from_ticket(&crate::ticket::sample());
        let text = format!("{row:?}");
        assert!(!text.contains("张三") && !text.contains("13800000000"), "{text}");
        assert_eq!(row.citizen_key_id, "k1");
        assert!(!text.contains("****"), "no masked phone either: {text}");
        // 23:30 in Daye is still June 1st, although it is 15:30 UTC.
        assert_eq!(row.received_date.to_string(), "2026-06-01");
    }
}
