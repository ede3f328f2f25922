//! The sinks: consumers of `tickets.workflow` and `tickets.warehouse` that
//! write ticket events to a backend and ack each delivery only after the
//! write is durable.
//!
//! Failures are sorted by what the error says (each backend's typed error
//! answers `is_retryable`), not by asking the backend whether it is up:
//! - retryable (a resource is short: disk full, out of memory; or the
//!   backend cannot be reached or did not answer in time; see
//!   [`crate::store::StoreError::is_retryable`] and
//!   [`crate::warehouse::WarehouseError::is_retryable`]): hold the
//!   deliveries and retry with capped backoff for as long as it takes; on
//!   the broker they wait in their queue;
//! - anything else, and the batch still fails after a few tries: write
//!   item by item and park only the items that fail, with the backend's
//!   reason, so one poison event never stalls the stream.

use crate::bus::{Consumer, Delivery};
use crate::latency::{Histogram, Latencies};
use crate::store::EventStore;
use crate::ticket::{EventType, TicketEvent};
use crate::warehouse::Warehouse;
use async_trait::async_trait;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Why a write failed, and whether waiting can fix it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct WriteError {
    pub message: String,
    /// The backend lacks a resource (disk space, memory, connections) or
    /// cannot be reached: the events are held and retried, never parked as
    /// poison, however long it takes.
    pub resource: bool,
}

impl WriteError {
    /// Whether waiting can fix it (see [`WriteError::resource`]).
    pub fn is_retryable(&self) -> bool {
        self.resource
    }
}

impl From<crate::store::StoreError> for WriteError {
    fn from(e: crate::store::StoreError) -> Self {
        WriteError {
            resource: e.is_retryable(),
            message: e.to_string(),
        }
    }
}

/// Whether a sink's last write failed for want of a resource, for `/readyz`:
/// a store that answers pings but cannot write is not ready.
#[derive(Debug, Default)]
pub struct WriteHealth(std::sync::Mutex<Option<String>>);

impl WriteHealth {
    /// Notes how a write ended: a resource failure marks the sink unable to
    /// write until a write succeeds.
    pub fn record<T>(&self, r: &Result<T, WriteError>) {
        let mut h = self.0.lock().expect("health lock");
        match r {
            Ok(_) => *h = None,
            Err(e) if e.resource => *h = Some(e.message.clone()),
            Err(_) => {}
        }
    }

    /// The reason writes fail, while they do.
    pub fn failing(&self) -> Option<String> {
        self.0.lock().expect("health lock").clone()
    }
}

/// Where a sink writes.
#[async_trait]
pub trait Target: Send + Sync {
    fn name(&self) -> &'static str;
    /// Writes idempotently; resolves once durable. Returns the ids of events
    /// deferred because their ticket is not stored yet.
    async fn write(&self, events: &[TicketEvent]) -> Result<Vec<Uuid>, WriteError>;
}

/// Writes to the workflow store; records ingest-to-commit latency.
pub struct StoreTarget {
    pub store: Arc<dyn EventStore>,
    pub latency: Arc<Latencies>,
    pub health: Arc<WriteHealth>,
    /// Told after each commit when intake's events wait in the store's
    /// outbox for the warehouse (the memory bus), so they leave at once.
    relay: Option<Arc<crate::relay::Relay>>,
}

impl StoreTarget {
    pub fn new(store: Arc<dyn EventStore>, latency: Arc<Latencies>) -> Self {
        StoreTarget {
            store,
            latency,
            health: Arc::default(),
            relay: None,
        }
    }

    /// Wakes `relay` after each commit.
    pub fn with_relay(mut self, relay: Arc<crate::relay::Relay>) -> Self {
        self.relay = Some(relay);
        self
    }
}

#[async_trait]
impl Target for StoreTarget {
    fn name(&self) -> &'static str {
        "workflow store"
    }
    async fn write(&self, events: &[TicketEvent]) -> Result<Vec<Uuid>, WriteError> {
        let applied = self.store.apply_events(events).await.map_err(WriteError::from);
        self.health.record(&applied);
        let applied = applied?;
        record(&self.latency.workflow, events, &applied.deferred);
        if let Some(r) = &self.relay {
            r.wake();
        }
        Ok(applied.deferred)
    }
}

/// Writes to the warehouse; records ingest-to-commit latency.
pub struct WarehouseTarget {
    pub warehouse: Arc<dyn Warehouse>,
    pub latency: Arc<Latencies>,
    pub health: Arc<WriteHealth>,
    /// Masks again what still holds personal data: the queue carries masked
    /// copies, but messages queued by an earlier version, or by an old
    /// instance during a rolling upgrade, do not.
    pub masker: crate::privacy::Masker,
}

impl WarehouseTarget {
    pub fn new(warehouse: Arc<dyn Warehouse>, latency: Arc<Latencies>) -> Self {
        WarehouseTarget {
            warehouse,
            latency,
            health: Arc::default(),
            masker: crate::privacy::Masker::default(),
        }
    }

    pub fn with_masker(mut self, masker: crate::privacy::Masker) -> Self {
        self.masker = masker;
        self
    }
}

#[async_trait]
impl Target for WarehouseTarget {
    fn name(&self) -> &'static str {
        "warehouse"
    }
    async fn write(&self, events: &[TicketEvent]) -> Result<Vec<Uuid>, WriteError> {
        let masked: Vec<TicketEvent>;
        let events = if events.iter().any(|e| self.masker.needs_masking(e)) {
            tracing::warn!(
                sink = self.name(),
                "Events with personal data reached the warehouse's queue; masking them here."
            );
            masked = events.iter().map(|e| self.masker.event_for_analysis(e)).collect();
            &masked[..]
        } else {
            events
        };
        let deferred = self.warehouse.write(events).await.map_err(WriteError::from);
        self.health.record(&deferred);
        let deferred = deferred?;
        record(&self.latency.warehouse, events, &deferred);
        Ok(deferred)
    }
}

/// One sample per appeal stored: its `received` or `updated` event.
fn record(h: &Histogram, events: &[TicketEvent], deferred: &[Uuid]) {
    let now = chrono::Utc::now();
    for e in events {
        if deferred.contains(&e.event_id) {
            continue;
        }
        if let (Some(at), EventType::Received | EventType::Updated) = (e.accepted_at, e.event_type) {
            h.record_since(at, now);
        }
    }
}

/// How a sink groups deliveries into writes.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    /// Write once this many events are pending…
    pub max_rows: usize,
    /// …or this long after the first one arrived; zero writes whatever is
    /// there as soon as nothing more is waiting.
    pub flush: Duration,
    /// Tries of one batch failing for a reason waiting cannot fix, before the batch
    /// is split and failing items parked.
    pub max_attempts: u32,
}

impl Default for Batching {
    fn default() -> Self {
        Batching {
            max_rows: 10_000,
            flush: Duration::ZERO,
            max_attempts: 5,
        }
    }
}

/// Runs a sink until the consumer ends or `cancel` fires.
pub async fn run_sink(target: Arc<dyn Target>, consumer: Box<dyn Consumer<TicketEvent>>, batching: Batching, cancel: CancellationToken) {
    // A pump task owns the consumer, so waiting for the next delivery can be
    // cut short by the flush timer without dropping one half-received.
    let (tx, mut rx) = mpsc::channel::<Delivery<TicketEvent>>(64);
    let window = consumer.window().unwrap_or(usize::MAX);
    let pump_cancel = cancel.clone();
    let pump = tokio::spawn(async move {
        let mut consumer = consumer;
        loop {
            let d = tokio::select! {
                d = consumer.next() => d,
                _ = pump_cancel.cancelled() => None,
            };
            let Some(d) = d else { break };
            if let Err(mpsc::error::SendError(d)) = tx.send(d).await {
                let _ = d.nack("sink stopped".into()).await;
                break;
            }
        }
    });
    let mut pending: Vec<Delivery<TicketEvent>> = Vec::new();
    let mut rows = 0usize;
    let mut messages = 0usize;
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let got = if pending.is_empty() {
            tokio::select! {
                d = rx.recv() => d,
                _ = cancel.cancelled() => None,
            }
        } else if batching.flush.is_zero() {
            rx.try_recv().ok()
        } else {
            let until = deadline.unwrap_or_else(tokio::time::Instant::now);
            tokio::select! {
                d = rx.recv() => d,
                _ = tokio::time::sleep_until(until) => None,
                _ = cancel.cancelled() => None,
            }
        };
        match got {
            Some(d) => {
                rows += d.items.len();
                messages += d.messages;
                if pending.is_empty() {
                    deadline = Some(tokio::time::Instant::now() + batching.flush);
                }
                pending.push(d);
                // Holding the whole prefetch window, nothing more comes
                // until this batch is written: waiting out the flush timer
                // would only idle (it capped a backlogged warehouse at one
                // window per `flush_ms`).
                if rows < batching.max_rows && messages < window {
                    continue;
                }
            }
            None if pending.is_empty() => break,
            None => {}
        }
        flush(&target, std::mem::take(&mut pending), &batching, &cancel).await;
        rows = 0;
        messages = 0;
        deadline = None;
        if cancel.is_cancelled() {
            break;
        }
    }
    for d in pending {
        let _ = d.nack("sink stopped".into()).await;
    }
    rx.close();
    while let Some(d) = rx.recv().await {
        let _ = d.nack("sink stopped".into()).await;
    }
    let _ = pump.await;
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((100u64 << attempt.min(6)).min(5_000))
}

async fn flush(target: &Arc<dyn Target>, mut pending: Vec<Delivery<TicketEvent>>, batching: &Batching, cancel: &CancellationToken) {
    // The deliveries' events are moved into one batch and back, not
    // copied: a deep copy of every event was a few percent of the CPU.
    let lens: Vec<usize> = pending.iter().map(|d| d.items.len()).collect();
    let mut items = Vec::with_capacity(lens.iter().sum());
    for d in &mut pending {
        items.append(&mut d.items);
    }
    let outcome = write_batch(target, &items, batching, cancel).await;
    let mut back = items.into_iter();
    for (d, n) in pending.iter_mut().zip(lens) {
        d.items = back.by_ref().take(n).collect();
    }
    match outcome {
        Outcome::Written(deferred) => {
            let deferred: HashSet<Uuid> = deferred.into_iter().collect();
            for d in pending {
                let waiting = waiting_in(&d, &deferred);
                if !waiting.is_empty() {
                    defer(target.clone(), d, waiting);
                } else if let Err(e) = d.ack().await {
                    tracing::warn!(sink = target.name(), error = %e, "Ack failed; the events come again and are absorbed.");
                }
            }
        }
        Outcome::Stopping(e) => {
            for d in pending {
                let _ = d.nack(format!("{}: {e}", target.name())).await;
            }
        }
        Outcome::Poisoned => {
            for d in pending {
                isolate(target, d).await;
            }
        }
    }
}

/// How a batch's write ended.
enum Outcome {
    /// Written; these events wait for their tickets.
    Written(Vec<Uuid>),
    /// Failed while the sink stops: the events go back to the bus.
    Stopping(String),
    /// Keeps failing while the backend is up: some event is poison.
    Poisoned,
}

/// Writes `items`, waiting out an unreachable backend and retrying other
/// failures up to `batching.max_attempts` times.
async fn write_batch(target: &Arc<dyn Target>, items: &[TicketEvent], batching: &Batching, cancel: &CancellationToken) -> Outcome {
    let mut attempts = 0;
    let mut waits = 0;
    loop {
        let started = std::time::Instant::now();
        match target.write(items).await {
            Ok(deferred) => {
                tracing::debug!(
                    sink = target.name(),
                    events = items.len(),
                    ms = started.elapsed().as_millis() as u64,
                    "Wrote a batch."
                );
                return Outcome::Written(deferred);
            }
            Err(e) if cancel.is_cancelled() => {
                tracing::warn!(sink = target.name(), error = %e, "Write failed while stopping; handing the events back.");
                return Outcome::Stopping(e.to_string());
            }
            Err(e) if e.is_retryable() => {
                if waits % 10 == 0 {
                    tracing::warn!(sink = target.name(), error = %e, events = items.len(), "The backend cannot write now (unreachable, or a resource is short); holding the events until it can.");
                }
                waits += 1;
                tokio::time::sleep(backoff(waits)).await;
                continue;
            }
            Err(e) => {
                attempts += 1;
                if attempts < batching.max_attempts {
                    tracing::warn!(sink = target.name(), error = %e, attempt = attempts, "Write failed; retrying.");
                    tokio::time::sleep(backoff(attempts)).await;
                    continue;
                }
                tracing::warn!(sink = target.name(), error = %e, "Write keeps failing for a reason waiting cannot fix; isolating the poison events.");
                return Outcome::Poisoned;
            }
        }
    }
}

/// How often a delivery with events that overtook their ticket is tried
/// again, and for how long before it is handed back (after
/// `delivery_limit` rounds the broker parks it).
const DEFER_STEP: Duration = Duration::from_millis(200);
const DEFER_MAX: Duration = Duration::from_secs(5);

/// The events of `d` that wait for their ticket.
fn waiting_in(d: &Delivery<TicketEvent>, deferred: &HashSet<Uuid>) -> Vec<TicketEvent> {
    d.items.iter().filter(|e| deferred.contains(&e.event_id)).cloned().collect()
}

/// Retries the `waiting` events of a delivery aside, without holding up
/// the sink: the ticket they wait for usually comes in a delivery right
/// behind it (batches are published concurrently). The rest of the
/// delivery is written already, so only the waiting events are tried
/// again: rewriting all of it every step cost a write of up to a whole
/// prefetch window and counted its appeals' latency again each time. Only
/// if some are still missing after [`DEFER_MAX`] is the delivery handed
/// back; on the in-process bus that would fail the publisher's whole
/// batch. What was written is absorbed when it comes again.
fn defer(target: Arc<dyn Target>, d: Delivery<TicketEvent>, mut waiting: Vec<TicketEvent>) {
    tracing::debug!(
        sink = target.name(),
        events = waiting.len(),
        "Events arrived before their ticket; trying them again shortly."
    );
    tokio::spawn(async move {
        let mut waited = Duration::ZERO;
        while waited < DEFER_MAX {
            tokio::time::sleep(DEFER_STEP).await;
            waited += DEFER_STEP;
            if let Ok(later) = target.write(&waiting).await {
                waiting.retain(|e| later.contains(&e.event_id));
            }
            if waiting.is_empty() {
                if let Err(e) = d.ack().await {
                    tracing::warn!(sink = target.name(), error = %e, "Ack failed; the events come again and are absorbed.");
                }
                return;
            }
        }
        tracing::info!(
            sink = target.name(),
            events = waiting.len(),
            "Events still wait for their ticket; handing them back."
        );
        let _ = d.nack(format!("{}: events arrived before their ticket", target.name())).await;
    });
}

/// Writes a delivery item by item and parks those that fail.
async fn isolate(target: &Arc<dyn Target>, d: Delivery<TicketEvent>) {
    let mut poison = Vec::new();
    let mut reason = String::new();
    let mut deferred = HashSet::new();
    for item in &d.items {
        match target.write(std::slice::from_ref(item)).await {
            Ok(later) => deferred.extend(later),
            Err(e) => {
                reason = format!("{} rejected event {} ({}): {e}", target.name(), item.event_id, item.event_type.id());
                poison.push(item.clone());
            }
        }
    }
    if !deferred.is_empty() && poison.is_empty() {
        let waiting = waiting_in(&d, &deferred);
        defer(target.clone(), d, waiting);
        return;
    }
    let result = if poison.is_empty() {
        d.ack().await
    } else {
        tracing::warn!(sink = target.name(), count = poison.len(), reason = %reason, "Parking poison events.");
        d.park(&poison, reason).await
    };
    if let Err(e) = result {
        tracing::warn!(sink = target.name(), error = %e, "Settling failed; the events come again.");
    }
}

impl From<crate::warehouse::WarehouseError> for WriteError {
    fn from(e: crate::warehouse::WarehouseError) -> Self {
        WriteError {
            resource: e.is_retryable(),
            message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::{Acker, BusError};
    use crate::ticket::sample_event;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts acks.
    struct Counted(Arc<AtomicUsize>);

    #[async_trait]
    impl Acker for Counted {
        async fn ack(self: Box<Self>) -> Result<(), BusError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
        async fn nack(self: Box<Self>, _reason: String) -> Result<(), BusError> {
            Ok(())
        }
    }

    /// Hands out its deliveries, then waits forever like an idle queue.
    struct Queue {
        left: Vec<Delivery<TicketEvent>>,
        window: Option<usize>,
    }

    #[async_trait]
    impl Consumer<TicketEvent> for Queue {
        async fn next(&mut self) -> Option<Delivery<TicketEvent>> {
            match self.left.pop() {
                Some(d) => Some(d),
                None => std::future::pending().await,
            }
        }
        fn window(&self) -> Option<usize> {
            self.window
        }
    }

    struct Nowhere;

    #[async_trait]
    impl Target for Nowhere {
        fn name(&self) -> &'static str {
            "nowhere"
        }
        async fn write(&self, _events: &[TicketEvent]) -> Result<Vec<Uuid>, WriteError> {
            Ok(vec![])
        }
    }

    /// Runs a sink over `left` until `want` deliveries are acked or a
    /// minute passes (of paused tokio time, so nothing here is timed for
    /// real); returns how many were acked.
    async fn acked_after(
        target: Arc<dyn Target>,
        left: Vec<Delivery<TicketEvent>>,
        window: Option<usize>,
        batching: Batching,
        acks: &AtomicUsize,
        want: usize,
    ) -> usize {
        let cancel = CancellationToken::new();
        let sink = tokio::spawn(run_sink(target, Box::new(Queue { left, window }), batching, cancel.clone()));
        let _ = tokio::time::timeout(Duration::from_secs(60), async {
            while acks.load(Ordering::SeqCst) < want {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        // Read before stopping: a stopping sink writes what it holds.
        let acked = acks.load(Ordering::SeqCst);
        cancel.cancel();
        let _ = sink.await;
        acked
    }

    /// Runs a sink with an hour-long flush timer over three one-message
    /// deliveries; returns how many were acked within a minute.
    async fn acked_within_a_minute(window: Option<usize>) -> usize {
        let acks = Arc::new(AtomicUsize::new(0));
        let left = (0..3)
            .map(|_| Delivery::of_messages(vec![], 1, Box::new(Counted(acks.clone()))))
            .collect();
        let batching = Batching {
            max_rows: 1_000_000,
            flush: Duration::from_secs(3600),
            max_attempts: 1,
        };
        acked_after(Arc::new(Nowhere), left, window, batching, &acks, 3).await
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_prefetch_window_is_written_without_waiting_for_the_flush_timer() {
        assert_eq!(acked_within_a_minute(Some(3)).await, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn below_the_window_the_sink_waits_for_the_flush_timer() {
        assert_eq!(acked_within_a_minute(Some(4)).await, 0);
        assert_eq!(acked_within_a_minute(None).await, 0);
    }

    /// Defers one event (an edit whose ticket is not stored) for its first
    /// `holds` writes and remembers what every write held.
    struct Overtaken {
        edit: Uuid,
        holds: AtomicUsize,
        writes: std::sync::Mutex<Vec<Vec<Uuid>>>,
    }

    #[async_trait]
    impl Target for Overtaken {
        fn name(&self) -> &'static str {
            "overtaken"
        }
        async fn write(&self, events: &[TicketEvent]) -> Result<Vec<Uuid>, WriteError> {
            self.writes.lock().unwrap().push(events.iter().map(|e| e.event_id).collect());
            let held = events.iter().any(|e| e.event_id == self.edit)
                && self
                    .holds
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
            Ok(if held { vec![self.edit] } else { vec![] })
        }
    }

    /// Only the events that wait for their ticket are written again; the
    /// rest of their delivery was stored by the first write (rewriting it
    /// counted those appeals' latency once more per retry).
    #[tokio::test(start_paused = true)]
    async fn a_deferred_retry_writes_only_the_waiting_events() {
        let items: Vec<TicketEvent> = ["g1", "g2", "g3"].iter().map(|s| sample_event(s, EventType::Received)).collect();
        let edit = sample_event("g0", EventType::Updated);
        let target = Arc::new(Overtaken {
            edit: edit.event_id,
            holds: AtomicUsize::new(2),
            writes: Default::default(),
        });
        let acks = Arc::new(AtomicUsize::new(0));
        let mut all = items.clone();
        all.push(edit.clone());
        let left = vec![Delivery::new(all, Box::new(Counted(acks.clone())))];
        let batching = Batching {
            max_rows: 1,
            flush: Duration::ZERO,
            max_attempts: 1,
        };
        let acked = acked_after(target.clone(), left, None, batching, &acks, 1).await;
        assert_eq!(acked, 1, "acked once its edit was stored");
        let writes = target.writes.lock().unwrap().clone();
        let first: Vec<Uuid> = items.iter().chain([&edit]).map(|e| e.event_id).collect();
        assert_eq!(writes, vec![first, vec![edit.event_id], vec![edit.event_id]]);
    }

    /// Records how each delivery was settled.
    struct Settled(Arc<std::sync::Mutex<Vec<&'static str>>>);

    #[async_trait]
    impl Acker for Settled {
        async fn ack(self: Box<Self>) -> Result<(), BusError> {
            self.0.lock().unwrap().push("ack");
            Ok(())
        }
        async fn nack(self: Box<Self>, _reason: String) -> Result<(), BusError> {
            self.0.lock().unwrap().push("nack");
            Ok(())
        }
        async fn park(self: Box<Self>, _body: Vec<u8>, _reason: String) -> Result<(), BusError> {
            self.0.lock().unwrap().push("park");
            Ok(())
        }
    }

    /// A store that answers but cannot write (SQLite's page limit fails
    /// exactly as a full disk does): the sink holds the events, parks
    /// nothing and reports the store unwritable, then writes them once
    /// there is room. Before, a full disk made them poison.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_disk_holds_the_events_until_there_is_room_and_parks_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(crate::store::sqlite::SqliteStore::open(&dir.path().join("w.db")).await.unwrap());
        let pages: i64 = store.writer().lock().query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        store
            .writer()
            .lock()
            .execute_batch(&format!("PRAGMA max_page_count = {pages}"))
            .unwrap();
        let target = Arc::new(StoreTarget::new(store.clone(), Default::default()));
        let mut t = crate::ticket::sample();
        t.content = "路灯不亮".repeat(5000);
        let event = TicketEvent::received(t);
        let e = target.write(std::slice::from_ref(&event)).await.unwrap_err();
        assert!(e.resource, "{e}");
        assert!(target.health.failing().is_some());

        let settled = Arc::new(std::sync::Mutex::new(Vec::new()));
        let delivery = Delivery::new(vec![event], Box::new(Settled(settled.clone())));
        let batching = Batching {
            max_attempts: 1,
            ..Batching::default()
        };
        let cancel = CancellationToken::new();
        let sink = tokio::spawn(run_sink(
            target.clone(),
            Box::new(Queue {
                left: vec![delivery],
                window: None,
            }),
            batching,
            cancel.clone(),
        ));
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(
            settled.lock().unwrap().is_empty(),
            "held, not parked: {:?}",
            settled.lock().unwrap()
        );
        store.writer().lock().execute_batch("PRAGMA max_page_count = 1073741823").unwrap();
        for _ in 0..300 {
            if !settled.lock().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(*settled.lock().unwrap(), vec!["ack"]);
        assert!(target.health.failing().is_none());
        cancel.cancel();
        let _ = sink.await;
    }

    /// A warehouse that lacks a resource is waited out, not parked.
    #[test]
    fn a_full_warehouse_is_a_resource_error_of_the_sink() {
        let full = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL), None);
        let w: WriteError = crate::warehouse::WarehouseError::from(full).into();
        assert!(w.is_retryable());
    }
}
