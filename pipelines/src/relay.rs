//! The warehouse relay: from the workflow store's outbox to the warehouse.
//!
//! Whatever the workflow store commits that the warehouse must also get (a
//! work-order action, a sweep's findings, and on the in-process bus every
//! intake batch) is written to `warehouse_outbox` in the same transaction.
//! The relay publishes those rows' events to the warehouse's queue, masked
//! ([`Bus::publish_analysis`]), and removes the rows once the publish
//! resolved: on a broker once it confirmed, on the memory bus once the
//! warehouse committed. A crash in between publishes them again, which the
//! events' deterministic ids make harmless; a crash before the store's
//! commit leaves nothing for the warehouse to hold that the store does not.

use crate::bus::{Bus, BusError};
use crate::store::{StoreError, WorkflowStore};
use crate::ticket::TicketEvent;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;

/// Outbox rows taken per round. An intake row holds one sink batch (up to
/// thousands of events), so a round is kept to a few.
const ROWS_PER_ROUND: i64 = 4;
/// How often an idle relay looks for rows nobody woke it for (a sweep run
/// from the command line, intake on the memory bus).
const IDLE: Duration = Duration::from_millis(100);
/// Refusals of one row, taken alone, before it is parked. The warehouse
/// refuses events whose ticket it does not hold after waiting for it, or
/// that it cannot write at all; neither gets better by waiting longer.
const PARK_AFTER: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("reading or clearing the warehouse outbox in the workflow store: {0}")]
    Store(#[from] StoreError),
    #[error("publishing to the warehouse's queue: {0}")]
    Bus(#[from] BusError),
}

/// Totals since start, for `/metrics`.
#[derive(Debug, Default)]
pub struct RelayStats {
    pub events: AtomicU64,
    pub failures: AtomicU64,
    pub parked: AtomicU64,
}

pub struct Relay {
    store: Arc<dyn WorkflowStore>,
    bus: Arc<dyn Bus>,
    wake: Notify,
    /// One round at a time, so rows are published in order.
    round: Mutex<()>,
    pub stats: RelayStats,
}

impl Relay {
    pub fn new(store: Arc<dyn WorkflowStore>, bus: Arc<dyn Bus>) -> Arc<Relay> {
        Arc::new(Relay {
            store,
            bus,
            wake: Notify::new(),
            round: Mutex::new(()),
            stats: RelayStats::default(),
        })
    }

    /// Tells the running relay that rows were just committed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Publishes the oldest rows' events and removes the rows; how many
    /// events went out.
    pub async fn round(&self) -> Result<usize, RelayError> {
        self.round_of(ROWS_PER_ROUND).await
    }

    async fn round_of(&self, rows: i64) -> Result<usize, RelayError> {
        let _one = self.round.lock().await;
        let rows = self.store.outbox_rows(rows).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
        let events: Vec<TicketEvent> = rows.into_iter().flat_map(|(_, events)| events).collect();
        let n = events.len();
        if n > 0 {
            self.bus.publish_analysis(events).await?;
        }
        self.store.relayed(&ids).await?;
        self.stats.events.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    /// Rounds until no row waits; how many events went out. A row the
    /// warehouse refuses fails the drain (the running relay parks it).
    pub async fn drain(&self) -> Result<u64, RelayError> {
        let mut total = 0;
        while self.store.outbox_counts().await?.waiting > 0 {
            total += self.round().await? as u64;
        }
        Ok(total)
    }

    /// After a refusal, one row at a time; the row refused [`PARK_AFTER`]
    /// times in a row is parked, so the rows behind it go on.
    async fn after_refusal(&self, tries: u32, why: &str) -> Result<(), RelayError> {
        if tries < PARK_AFTER {
            return Ok(());
        }
        if let Some((id, _)) = self.store.outbox_rows(1).await?.first() {
            self.store.park_outbox(*id, why).await?;
            self.stats.parked.fetch_add(1, Ordering::Relaxed);
            tracing::error!(row = id, reason = %why, "A warehouse outbox row was refused {tries} times and is parked; see `minqing relay status`.");
        }
        Ok(())
    }

    /// Relays until `cancel` fires: at once when woken or while rows wait,
    /// every [`IDLE`] otherwise, backing off while the store or the bus fails.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let (mut failures, mut refused) = (0u32, 0u32);
        while !cancel.is_cancelled() {
            let rows = if refused > 0 { 1 } else { ROWS_PER_ROUND };
            let pause = match self.round_of(rows).await {
                Ok(0) => {
                    (failures, refused) = (0, 0);
                    IDLE
                }
                Ok(_) => {
                    (failures, refused) = (0, 0);
                    continue;
                }
                // A shutdown cuts the warehouse's sink off mid-publish.
                Err(_) if cancel.is_cancelled() => break,
                Err(e) => {
                    failures += 1;
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    // Logged once per outage, then every tenth try.
                    if failures == 1 || failures.is_multiple_of(10) {
                        tracing::warn!(error = %e, tries = failures, "The warehouse relay is failing; the rows wait in the workflow store's outbox.");
                    }
                    if let RelayError::Bus(BusError::Refused(why)) = &e {
                        refused += 1;
                        if let Err(e) = self.after_refusal(refused, why).await {
                            tracing::warn!(error = %e, "Could not park a refused warehouse outbox row.");
                        } else if refused >= PARK_AFTER {
                            (failures, refused) = (0, 0);
                            continue;
                        }
                    }
                    Duration::from_millis((100u64 << failures.min(6)).min(5_000))
                }
            };
            tokio::select! {
                _ = self.wake.notified(), if failures == 0 => {}
                _ = tokio::time::sleep(pause) => {}
                _ = cancel.cancelled() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::EventQueue;
    use crate::bus::memory::MemoryBus;
    use crate::store::sqlite::SqliteStore;
    use crate::ticket::{TicketEvent, sample};

    fn received(source: &str) -> TicketEvent {
        let mut t = sample();
        t.source_id = source.into();
        t.ticket_id = crate::ticket::ticket_id(t.channel, source);
        TicketEvent::received(t)
    }

    /// A row the warehouse keeps refusing is parked after [`PARK_AFTER`]
    /// tries alone, and the rows behind it go on.
    #[tokio::test]
    async fn a_row_the_warehouse_keeps_refusing_is_parked_and_the_rest_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn WorkflowStore> = Arc::new(SqliteStore::open(&dir.path().join("m.db")).await.unwrap());
        store.keep_intake_for_warehouse(true);
        let (bad, good) = (received("bad"), received("good"));
        for e in [&bad, &good] {
            store.apply_events(std::slice::from_ref(e)).await.unwrap();
        }
        let bus = Arc::new(MemoryBus::new(&[EventQueue::Warehouse], 100));
        let mut warehouse = bus.consume_events(EventQueue::Warehouse).await.unwrap();
        let relay = Relay::new(store.clone(), bus);
        let cancel = CancellationToken::new();
        let running = tokio::spawn(relay.clone().run(cancel.clone()));
        // The warehouse refuses anything holding the bad ticket.
        let mut refused = 0;
        let took = loop {
            let d = warehouse.next().await.unwrap();
            if d.items.iter().any(|e| e.ticket_id == bad.ticket_id) {
                refused += 1;
                d.nack("events arrived before their ticket".into()).await.unwrap();
            } else {
                let ids: Vec<_> = d.items.iter().map(|e| e.ticket_id).collect();
                d.ack().await.unwrap();
                break ids;
            }
        };
        assert_eq!(took, [good.ticket_id]);
        assert_eq!(refused, PARK_AFTER);
        cancel.cancel();
        running.await.unwrap();
        let c = store.outbox_counts().await.unwrap();
        assert_eq!((c.waiting, c.parked), (0, 1));
        assert_eq!(relay.stats.parked.load(Ordering::Relaxed), 1);
        let parked = store.parked_outbox(10).await.unwrap();
        assert!(parked[0].reason.contains("before their ticket"), "{parked:?}");
    }
}
