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
use crate::store::{OutboxStore, StoreError};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
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
    /// The warehouse refused the events of these rows.
    #[error("the warehouse refused outbox rows {ids:?}: {reason}")]
    Refused { ids: Vec<i64>, reason: String },
}

/// Totals since start, for `/metrics`.
#[derive(Debug, Default)]
pub struct RelayStats {
    pub events: AtomicU64,
    pub failures: AtomicU64,
    pub parked: AtomicU64,
}

pub struct Relay {
    store: Arc<dyn OutboxStore>,
    bus: Arc<dyn Bus>,
    wake: Notify,
    /// One round at a time, so rows are published in order.
    round: Mutex<()>,
    pub stats: RelayStats,
}

/// By hand: a [`Collector`] must be `Debug`, and the store and the bus are
/// not.
impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").field("stats", &self.stats).finish_non_exhaustive()
    }
}

/// `minqing_warehouse_relay_{events,failures}_total`, read from the atomics
/// at scrape time.
impl Collector for Relay {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let r = &self.stats;
        // Counter names without `_total`: the encoder adds it.
        for (name, help, value) in [
            (
                "minqing_warehouse_relay_events",
                "Events taken from the workflow store's outbox to the warehouse.",
                &r.events,
            ),
            (
                "minqing_warehouse_relay_failures",
                "Relay rounds that failed and wait to be retried (alert if it keeps rising).",
                &r.failures,
            ),
        ] {
            let metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            ConstCounter::new(value.load(Ordering::Relaxed)).encode(metric)?;
        }
        Ok(())
    }
}

impl Relay {
    pub fn new(store: Arc<dyn OutboxStore>, bus: Arc<dyn Bus>) -> Arc<Relay> {
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
        let (mut ids, mut events) = (Vec::with_capacity(rows.len()), Vec::new());
        for row in rows {
            match row.events {
                Ok(e) => {
                    ids.push(row.id);
                    events.extend(e);
                }
                // Written by another version, say: set aside, not retried
                // for ever ahead of the rows behind it.
                Err(why) => self.park(row.id, &why).await?,
            }
        }
        if ids.is_empty() {
            return Ok(0);
        }
        let n = events.len();
        if n > 0 {
            match self.bus.publish_analysis(events).await {
                Ok(()) => {}
                Err(BusError::Refused { reason }) => return Err(RelayError::Refused { ids, reason }),
                Err(e) => return Err(e.into()),
            }
        }
        self.store.relayed(&ids).await?;
        self.stats.events.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n.max(1))
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

    async fn park(&self, id: i64, why: &str) -> Result<(), StoreError> {
        self.store.park_outbox(id, why).await?;
        self.stats.parked.fetch_add(1, Ordering::Relaxed);
        tracing::error!(row = id, reason = %crate::normalize::text::redact(why), "A warehouse outbox row is parked; see `minqing relay status`.");
        Ok(())
    }

    /// Relays until `cancel` fires: at once when woken or while rows wait,
    /// every [`IDLE`] otherwise, backing off while the store or the bus fails.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        // After a refusal rows go one at a time, to find the one refused;
        // `refused` counts that row's refusals alone.
        let (mut failures, mut alone, mut refused) = (0u32, false, 0u32);
        while !cancel.is_cancelled() {
            let pause = match self.round_of(if alone { 1 } else { ROWS_PER_ROUND }).await {
                Ok(0) => {
                    (failures, alone, refused) = (0, false, 0);
                    IDLE
                }
                Ok(_) => {
                    (failures, alone, refused) = (0, false, 0);
                    continue;
                }
                // A shutdown cuts the warehouse's sink off mid-publish.
                Err(_) if cancel.is_cancelled() => break,
                Err(RelayError::Refused { ids, reason }) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    match ids.as_slice() {
                        [id] if refused + 1 >= PARK_AFTER => {
                            if let Err(e) = self.park(*id, &reason).await {
                                tracing::warn!(error = %e, "Could not park a refused warehouse outbox row.");
                            }
                            (alone, refused) = (false, 0);
                        }
                        [_] => refused += 1,
                        _ => (alone, refused) = (true, 0),
                    }
                    // The sink waited for the events' ticket before it refused.
                    Duration::from_millis(100)
                }
                Err(e) => {
                    failures += 1;
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    // Logged once per outage, then every tenth try.
                    if failures == 1 || failures.is_multiple_of(10) {
                        tracing::warn!(error = %e, tries = failures, "The warehouse relay is failing; the rows wait in the workflow store's outbox.");
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
    use crate::store::WorkflowStore;
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
        // Once with the good row, then alone until parked.
        assert_eq!(refused, PARK_AFTER + 1);
        cancel.cancel();
        running.await.unwrap();
        let c = store.outbox_counts().await.unwrap();
        assert_eq!((c.waiting, c.parked), (0, 1));
        assert_eq!(relay.stats.parked.load(Ordering::Relaxed), 1);
        let parked = store.parked_outbox(10).await.unwrap();
        assert!(parked[0].reason.contains("before their ticket"), "{parked:?}");
    }

    /// A row that cannot be read (written by another version) is parked
    /// with the reason, and the rows behind it go on.
    #[tokio::test]
    async fn an_unreadable_row_is_parked_and_the_rest_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let store: Arc<dyn WorkflowStore> = Arc::new(SqliteStore::open(&path).await.unwrap());
        let pool = crate::db::pool::connect::<sqlx::Sqlite>(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        sqlx::query("INSERT INTO warehouse_outbox (events, created_at) VALUES ('[{\"kind\":\"from the future\"}]', 'x')")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        store.keep_intake_for_warehouse(true);
        let good = received("good");
        store.apply_events(std::slice::from_ref(&good)).await.unwrap();
        let bus = Arc::new(MemoryBus::new(&[EventQueue::Warehouse], 100));
        let mut warehouse = bus.consume_events(EventQueue::Warehouse).await.unwrap();
        let relay = Relay::new(store.clone(), bus);
        let drain = tokio::spawn({
            let relay = relay.clone();
            async move { relay.drain().await }
        });
        let d = warehouse.next().await.unwrap();
        assert_eq!(d.items[0].ticket_id, good.ticket_id);
        d.ack().await.unwrap();
        assert_eq!(drain.await.unwrap().unwrap(), 1);
        let parked = store.parked_outbox(10).await.unwrap();
        assert!(parked[0].reason.contains("cannot be read"), "{parked:?}");
    }
}
