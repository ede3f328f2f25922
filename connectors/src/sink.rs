//! [`AppealSink`]: where connectors hand their appeals.

use crate::appeal::Inbound;
use async_trait::async_trait;

/// The downstream side of a connector. `accept` resolves only when every item
/// is durably accepted (committed, or confirmed by the broker); only then may a
/// pull connector move its checkpoint or a push endpoint answer 200.
#[async_trait]
pub trait AppealSink: Send + Sync {
    async fn accept(&self, items: Vec<Inbound>) -> Result<(), SinkError>;
}

/// The sink could not take the batch; the caller keeps its checkpoint and
/// retries later (push endpoints answer 503 so the sender retries).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);
