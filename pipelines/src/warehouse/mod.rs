//! The [`Warehouse`] seam: where ticket facts and events go for analysis.
//!
//! A warehouse consumes `tickets.warehouse` in batches and must be idempotent
//! on `event_id` (ClickHouse: `ReplacingMergeTree`). It receives tickets with
//! personal data already removed: only `citizen_key`, never a phone or name.
//! The SQLite and ClickHouse implementations come with the production
//! backends; until then the embedded default binds no warehouse queue.

use crate::ticket::TicketEvent;
use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
#[error("warehouse: {0}")]
pub struct WarehouseError(pub String);

#[async_trait]
pub trait Warehouse: Send + Sync {
    /// Writes a batch; resolves once it is durable.
    async fn write(&self, events: &[TicketEvent]) -> Result<(), WarehouseError>;
    /// Cheap reachability probe for /readyz.
    async fn ping(&self) -> Result<(), WarehouseError>;
}
