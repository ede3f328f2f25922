//! The [`WorkflowStore`] seam: tickets, their events, connector checkpoints
//! and quarantine. SQLite for the embedded default ([`sqlite`]); PostgreSQL
//! for production comes behind the same trait.
//!
//! Every write is idempotent: tickets on `ticket_id`, events on `event_id`,
//! quarantine on the digest of the raw record.

pub mod postgres;
pub mod sqlite;

use crate::ticket::TicketEvent;
use async_trait::async_trait;
use chrono::{DateTime, FixedOffset};
use minqing_connectors::Channel;
use minqing_connectors::pull::CheckpointStore;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot reach the database: {0}")]
    Connect(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
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

/// What [`WorkflowStore::apply_events`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Events stored that were not there before.
    pub new: u64,
    /// Ids of events left out because their ticket is not stored yet; their
    /// delivery should come again later.
    pub deferred: Vec<Uuid>,
}

#[async_trait]
pub trait WorkflowStore: Send + Sync {
    /// Applies ticket events in one transaction. Events about a ticket that
    /// is neither stored nor in the batch are not applied but deferred.
    async fn apply_events(&self, events: &[TicketEvent]) -> Result<Applied, StoreError>;
    /// Holds records in quarantine; for each, whether it was new.
    async fn quarantine(&self, items: &[NewQuarantine]) -> Result<Vec<bool>, StoreError>;
    /// Which of `ids` exist, with their version.
    async fn known_tickets(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, u32>, StoreError>;
    /// Original (non-duplicate) tickets with a citizen key received between
    /// `from` and `to` (unix seconds, inclusive).
    async fn duplicate_roots_between(&self, from: i64, to: i64) -> Result<Vec<DupCandidate>, StoreError>;
    /// Every ticket's version and every original with a citizen key, if the
    /// store holds at most `limit` tickets; intake then needs no lookups.
    async fn dedup_snapshot(&self, limit: u64) -> Result<Option<(HashMap<Uuid, u32>, Vec<DupCandidate>)>, StoreError>;
    async fn load_checkpoint(&self, channel: Channel) -> Result<Option<String>, StoreError>;
    async fn save_checkpoint(&self, channel: Channel, cursor: &str) -> Result<(), StoreError>;
    async fn clear_checkpoints(&self, channels: &[Channel]) -> Result<(), StoreError>;
    async fn list_quarantine(&self, q: &QuarantineQuery) -> Result<Vec<QuarantineRow>, StoreError>;
    async fn resolve_quarantine(&self, id: i64, resolution: &str) -> Result<(), StoreError>;
    async fn channel_counts(&self) -> Result<BTreeMap<Channel, StoreCounts>, StoreError>;
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Lets connectors keep their cursors in the workflow store.
pub struct Checkpoints(pub Arc<dyn WorkflowStore>);

#[async_trait]
impl CheckpointStore for Checkpoints {
    async fn load(&self, channel: Channel) -> Result<Option<String>, String> {
        self.0.load_checkpoint(channel).await.map_err(|e| e.to_string())
    }

    async fn save(&self, channel: Channel, cursor: &str) -> Result<(), String> {
        self.0.save_checkpoint(channel, cursor).await.map_err(|e| e.to_string())
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

/// An event's payload as stored. The received event's payload is the ticket
/// row itself, so only its number and version are kept, rather than the
/// contact details twice.
pub(crate) fn stored_payload(e: &TicketEvent) -> serde_json::Value {
    match &e.payload {
        crate::ticket::EventPayload::Received { ticket } => {
            serde_json::json!({"kind": "received", "short_no": ticket.short_no, "version": ticket.version})
        }
        p => serde_json::to_value(p).unwrap_or_default(),
    }
}
