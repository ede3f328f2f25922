//! The workflow sink: applies ticket events from `tickets.workflow` to the
//! workflow store, acking each delivery only after its transaction commits.

use crate::bus::Consumer;
use crate::store::WorkflowStore;
use crate::ticket::TicketEvent;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub async fn run_workflow_sink(store: Arc<dyn WorkflowStore>, mut consumer: Box<dyn Consumer<TicketEvent>>, cancel: CancellationToken) {
    loop {
        let delivery = tokio::select! {
            d = consumer.next() => d,
            _ = cancel.cancelled() => None,
        };
        let Some(d) = delivery else { break };
        match store.apply_events(&d.items).await {
            Ok(_) => {
                let _ = d.ack().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, count = d.items.len(), "Workflow store write failed; handing the events back.");
                let _ = d.nack(format!("workflow store: {e}")).await;
            }
        }
    }
}
