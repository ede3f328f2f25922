//! The workflow store's roles: one trait per kind of work the store does
//! for the gateway (ticket events, quarantine, connector checkpoints, the
//! Huangshi outbox, same-issue clusters, work orders, the warehouse outbox,
//! health), and [`WorkflowStore`], every role at once, which each backend
//! gets for free by implementing them all.
//!
//! A component that needs one role may hold that role's trait object
//! (`Arc<dyn OutboxStore>`); an `Arc<dyn WorkflowStore>` coerces to it.
//! Every role's methods can be called on a `dyn WorkflowStore` as they
//! are; on a concrete store (`SqliteStore`, `PgStore`) the role must be in
//! scope, and this module holds nothing but the traits, so
//! `use minqing_pipelines::store::roles::*` brings them all.
//! A new store method goes on the role it serves.

use super::{
    ActionCommit, Applied, Committed, DupCandidate, ForwardCounts, ForwardJob, ForwardSettle, NearDupRow, NewQuarantine, OrderQuery,
    OutboxCounts, OutboxRow, ParkedForward, ParkedRelay, QuarantineQuery, QuarantineRow, StoreCounts, StoreError, StoredEscalation,
};
use crate::ticket::TicketEvent;
use crate::ticket::order::Order;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate};
use minqing_connectors::Channel;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Whether the store answers: what readiness and intake's wait for a
/// lost store ask.
#[async_trait]
pub trait StoreHealth: Send + Sync {
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Tickets and their events: the workflow sink's writes, and what intake
/// reads back about stored tickets to decide replays and duplicates, and
/// the per-channel totals.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Applies ticket events in one transaction. Events about a ticket that
    /// is neither stored nor in the batch are not applied but deferred.
    async fn apply_events(&self, events: &[TicketEvent]) -> Result<Applied, StoreError>;
    /// Which of `ids` exist, with their version.
    async fn known_tickets(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, u32>, StoreError>;
    /// Original (non-duplicate) tickets with a citizen key received between
    /// `from` and `to` (unix seconds, inclusive).
    async fn duplicate_roots_between(&self, from: i64, to: i64) -> Result<Vec<DupCandidate>, StoreError>;
    /// Every ticket's version and every original with a citizen key, if the
    /// store holds at most `limit` tickets; intake then needs no lookups.
    async fn dedup_snapshot(&self, limit: u64) -> Result<Option<(HashMap<Uuid, u32>, Vec<DupCandidate>)>, StoreError>;
    async fn channel_counts(&self) -> Result<BTreeMap<Channel, StoreCounts>, StoreError>;
    /// How many tickets are stored: one index count, for callers that poll
    /// (`channel_counts` also counts every event per channel).
    async fn ticket_count(&self) -> Result<u64, StoreError>;
}

/// Records intake could not read, held by the digest of their raw bytes
/// until an operator replays or dismisses them.
#[async_trait]
pub trait QuarantineStore: Send + Sync {
    /// Holds records in quarantine; for each, whether it was new.
    async fn quarantine(&self, items: &[NewQuarantine]) -> Result<Vec<bool>, StoreError>;
    async fn list_quarantine(&self, q: &QuarantineQuery) -> Result<Vec<QuarantineRow>, StoreError>;
    async fn resolve_quarantine(&self, id: i64, resolution: &str) -> Result<(), StoreError>;
}

/// Connector checkpoints: the cursor each pulled channel has reached, so
/// a restarted pull goes on from there. [`super::Checkpoints`] adapts this
/// role to the connectors' own `pull::CheckpointStore`.
#[async_trait]
pub trait CursorStore: Send + Sync {
    async fn load_checkpoint(&self, channel: Channel) -> Result<Option<String>, StoreError>;
    async fn save_checkpoint(&self, channel: Channel, cursor: &str) -> Result<(), StoreError>;
    async fn clear_checkpoints(&self, channels: &[Channel]) -> Result<(), StoreError>;
}

/// The Huangshi outbox: transfers of forwarded tickets waiting to be
/// delivered, how each attempt ended, and the parked ones an operator
/// requeues.
#[async_trait]
pub trait ForwardStore: Send + Sync {
    /// Puts the tickets of `forwarded` events in the Huangshi outbox, once
    /// each. A row whose ticket is not stored yet waits for it (the sender
    /// joins on tickets), so nothing is deferred; returns no ids.
    async fn enqueue_forwards(&self, events: &[TicketEvent]) -> Result<Vec<Uuid>, StoreError>;
    /// Pending transfers whose next attempt is due, oldest first.
    async fn due_forwards(&self, now: DateTime<chrono::Utc>, limit: i64) -> Result<Vec<ForwardJob>, StoreError>;
    /// Records how attempts ended, in one transaction: (ticket, attempts
    /// made so far, how the last one ended).
    async fn settle_forwards(&self, settled: &[(Uuid, u32, ForwardSettle)]) -> Result<(), StoreError>;
    async fn forward_counts(&self) -> Result<ForwardCounts, StoreError>;
    /// Parked transfers, most recently parked first.
    async fn parked_forwards(&self, limit: i64) -> Result<Vec<ParkedForward>, StoreError>;
    /// Puts parked transfers (one ticket's, or all) back in line with a
    /// fresh retry budget, their tickets back to `forward_pending`; returns
    /// how many. Huangshi's 409 keeps a transfer that did arrive from
    /// arriving twice.
    async fn requeue_forwards(&self, ticket: Option<Uuid>) -> Result<u64, StoreError>;
}

/// Same-issue clusters and their escalations: what the near-duplicate
/// engine is rebuilt from, and how many clusters there are.
#[async_trait]
pub trait ClusterStore: Send + Sync {
    /// Tickets received within `window_secs` before the newest one, with
    /// their links, in order of arrival: what the near-duplicate engine is
    /// rebuilt from. (Anchored at the newest ticket, not the clock, so a
    /// gateway back after a long stop, or data from another period, finds
    /// the same window the engine had.)
    async fn neardup_history(&self, window_secs: i64) -> Result<Vec<NearDupRow>, StoreError>;
    /// Every escalation made, so a rebuilt engine does not make it again.
    async fn escalations(&self) -> Result<Vec<StoredEscalation>, StoreError>;
    /// Same-issue clusters of at least `min_members` tickets.
    async fn cluster_count(&self, min_members: i64) -> Result<u64, StoreError>;
}

/// Work orders: reading them, committing actions and sweeps on the
/// version they were read at, and the answers kept for idempotency keys.
#[async_trait]
pub trait OrderStore: Send + Sync {
    /// A work order as stored.
    async fn work_order(&self, ticket: Uuid) -> Result<Option<Order>, StoreError>;
    /// Records an action: its events and the order after it, only if the
    /// stored order is still at `expected_version`, with its idempotency
    /// key, in one transaction.
    async fn commit_action(&self, c: &ActionCommit) -> Result<Committed, StoreError>;
    /// Many commits without idempotency keys (a sweep's page), each only
    /// if its order is still at its expected version; one answer each.
    async fn commit_many(&self, commits: &[ActionCommit]) -> Result<Vec<Committed>, StoreError> {
        let mut out = Vec::with_capacity(commits.len());
        for c in commits {
            out.push(self.commit_action(c).await?);
        }
        Ok(out)
    }
    /// The first answer given for an idempotency key.
    async fn idempotent(&self, key: &str) -> Result<Option<(u16, String)>, StoreError>;
    /// Orders whose owed deadline is before `today` and not reported yet,
    /// earliest first: what the SLA sweep works on (by index).
    async fn sweepable_orders(&self, today: NaiveDate, limit: i64) -> Result<Vec<Order>, StoreError>;
    /// Work orders for a supervisor's queries.
    async fn orders(&self, q: &OrderQuery) -> Result<Vec<Order>, StoreError>;
}

/// The warehouse outbox: events committed with the store's own writes,
/// kept until the relay has handed them to the warehouse; rows the
/// warehouse keeps refusing are parked for an operator.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Also keeps every intake batch that `apply_events` commits in the
    /// warehouse outbox. On when the warehouse gets intake's events from the
    /// store (the in-process bus), off when it gets them from the broker.
    /// Actions and sweeps (`commit_action`, `commit_many`) always keep theirs.
    fn keep_intake_for_warehouse(&self, on: bool);
    /// The oldest rows of the warehouse outbox that are not parked, at most
    /// `limit`: (row id, its events), in the order they were written.
    async fn outbox_rows(&self, limit: i64) -> Result<Vec<OutboxRow>, StoreError>;
    /// Removes outbox rows whose events the warehouse has committed.
    async fn relayed(&self, ids: &[i64]) -> Result<(), StoreError>;
    /// Sets a row the warehouse keeps refusing aside, with the reason.
    async fn park_outbox(&self, id: i64, reason: &str) -> Result<(), StoreError>;
    /// Parked rows, oldest first.
    async fn parked_outbox(&self, limit: i64) -> Result<Vec<ParkedRelay>, StoreError>;
    /// Puts parked rows (one, or all) back in line; how many.
    async fn requeue_outbox(&self, id: Option<i64>) -> Result<u64, StoreError>;
    /// Rows waiting and rows parked in the warehouse outbox.
    async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError>;
}

/// The whole workflow store: every role. Implemented for every type that
/// implements them all, so a backend implements the roles and nothing
/// else; held as `Arc<dyn WorkflowStore>` where a component needs more
/// than one role.
pub trait WorkflowStore:
    StoreHealth + EventStore + QuarantineStore + CursorStore + ForwardStore + ClusterStore + OrderStore + OutboxStore + Send + Sync
{
}

impl<T> WorkflowStore for T where
    T: StoreHealth + EventStore + QuarantineStore + CursorStore + ForwardStore + ClusterStore + OrderStore + OutboxStore
{
}
