//! The in-process bus of the embedded default.
//!
//! Nothing here survives the process, so durability comes from the other
//! end: `publish_*` resolves only when every consumer has acked, which it
//! does after committing. A connector therefore moves its checkpoint only
//! after the tickets are in the store, and a crash at any point re-reads
//! rather than loses.
//!
//! Consumers take whatever is waiting, up to `max_batch` items, as one
//! delivery, so many small publishes (one WeChat message each) share one
//! commit.

use super::{Acker, Bus, BusError, Consumer, Delivery, EventQueue};
use crate::privacy::Masker;
use crate::ticket::TicketEvent;
use async_trait::async_trait;
use minqing_connectors::Inbound;
use std::sync::Mutex;
use tokio::sync::{mpsc, oneshot};

struct Msg<T> {
    items: Vec<T>,
    done: oneshot::Sender<Result<(), String>>,
}

struct Queue<T> {
    name: &'static str,
    tx: mpsc::Sender<Msg<T>>,
    /// Taken by the one consumer.
    rx: Mutex<Option<mpsc::Receiver<Msg<T>>>>,
}

impl<T: Send + 'static> Queue<T> {
    fn new(name: &'static str, depth: usize) -> Self {
        let (tx, rx) = mpsc::channel(depth);
        Queue {
            name,
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }

    async fn send(&self, items: Vec<T>) -> Result<oneshot::Receiver<Result<(), String>>, BusError> {
        let (done, wait) = oneshot::channel();
        self.tx.send(Msg { items, done }).await.map_err(|_| BusError::Closed)?;
        Ok(wait)
    }

    fn take(&self, max_batch: usize) -> Result<Box<dyn Consumer<T>>, BusError> {
        let rx = self.rx.lock().expect("queue lock").take().ok_or(BusError::Busy(self.name))?;
        Ok(Box::new(MemoryConsumer { rx, max_batch }))
    }
}

async fn settled(wait: oneshot::Receiver<Result<(), String>>) -> Result<(), BusError> {
    match wait.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(reason)) => Err(BusError::Refused { reason }),
        // The consumer dropped the delivery unsettled: it stopped mid-work.
        Err(_) => Err(BusError::Closed),
    }
}

pub struct MemoryBus {
    raw: Queue<Inbound>,
    events: Vec<(EventQueue, Queue<TicketEvent>)>,
    max_batch: usize,
    /// Masks what goes to the warehouse's queue.
    masker: Masker,
}

impl MemoryBus {
    /// A bus with `queues` bound to the ticket-event exchange.
    pub fn new(queues: &[EventQueue], max_batch: usize) -> Self {
        MemoryBus {
            raw: Queue::new("raw.intake", 1024),
            events: queues.iter().map(|q| (*q, Queue::new(q.name(), 64))).collect(),
            max_batch: max_batch.max(1),
            masker: Masker::default(),
        }
    }

    /// The same bus, masking the warehouse's copies with `masker`.
    pub fn with_masker(mut self, masker: Masker) -> Self {
        self.masker = masker;
        self
    }
}

impl MemoryBus {
    /// Hands each queue its batch (one per queue, in order) and waits until
    /// every consumer has settled.
    async fn deliver(&self, batches: Vec<Vec<TicketEvent>>) -> Result<(), BusError> {
        let mut waits = Vec::with_capacity(self.events.len());
        for ((_, q), items) in self.events.iter().zip(batches) {
            if !items.is_empty() {
                waits.push(q.send(items).await?);
            }
        }
        for w in waits {
            settled(w).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Bus for MemoryBus {
    async fn publish_raw(&self, items: Vec<Inbound>) -> Result<(), BusError> {
        settled(self.raw.send(items).await?).await
    }

    async fn publish_events(&self, events: Vec<TicketEvent>) -> Result<(), BusError> {
        // Each queue gets what its binding matches, and the last queue that
        // takes everything gets the batch itself. Copies share the payload
        // (the ticket's whole text), so a copy is a few words per event. The
        // warehouse's queue gets nothing here: its copies leave through the
        // workflow store's outbox once the store has committed them.
        let last_full = self
            .events
            .iter()
            .rposition(|(k, _)| !k.for_analysis() && events.iter().all(|e| k.wants(e)));
        let mut batches: Vec<Vec<TicketEvent>> = self
            .events
            .iter()
            .enumerate()
            .map(|(i, (kind, _))| {
                if Some(i) == last_full || kind.for_analysis() {
                    Vec::new()
                } else {
                    events.iter().filter(|e| kind.wants(e)).cloned().collect()
                }
            })
            .collect();
        if let Some(i) = last_full {
            batches[i] = events;
        }
        self.deliver(batches).await
    }

    async fn publish_analysis(&self, events: Vec<TicketEvent>) -> Result<(), BusError> {
        let batches = self
            .events
            .iter()
            .map(|(kind, _)| {
                if kind.for_analysis() {
                    events
                        .iter()
                        .filter(|e| kind.wants(e))
                        .map(|e| self.masker.event_for_analysis(e))
                        .collect()
                } else {
                    Vec::new()
                }
            })
            .collect();
        self.deliver(batches).await
    }

    fn warehouse_from_outbox(&self) -> bool {
        true
    }

    async fn consume_raw(&self) -> Result<Box<dyn Consumer<Inbound>>, BusError> {
        self.raw.take(self.max_batch)
    }

    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn consume_events(&self, queue: EventQueue) -> Result<Box<dyn Consumer<TicketEvent>>, BusError> {
        let q = self.events.iter().find(|(n, _)| *n == queue).map(|(_, q)| q);
        q.ok_or(BusError::NotBound(queue.name()))?.take(self.max_batch)
    }
}

struct MemoryConsumer<T> {
    rx: mpsc::Receiver<Msg<T>>,
    max_batch: usize,
}

#[async_trait]
impl<T: Send + 'static> Consumer<T> for MemoryConsumer<T> {
    async fn next(&mut self) -> Option<Delivery<T>> {
        let first = self.rx.recv().await?;
        let mut items = first.items;
        let mut dones = vec![first.done];
        while items.len() < self.max_batch {
            match self.rx.try_recv() {
                Ok(m) => {
                    items.extend(m.items);
                    dones.push(m.done);
                }
                Err(_) => break,
            }
        }
        Some(Delivery::new(items, Box::new(MemoryAcker { dones })))
    }
}

struct MemoryAcker {
    dones: Vec<oneshot::Sender<Result<(), String>>>,
}

#[async_trait]
impl Acker for MemoryAcker {
    async fn ack(self: Box<Self>) -> Result<(), BusError> {
        for d in self.dones {
            // A publisher that gave up waiting is fine: the effect is committed.
            let _ = d.send(Ok(()));
        }
        Ok(())
    }

    async fn nack(self: Box<Self>, reason: String) -> Result<(), BusError> {
        for d in self.dones {
            let _ = d.send(Err(reason.clone()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minqing_connectors::{Channel, Rejected};

    fn item(n: u8) -> Inbound {
        Inbound::Rejected(Rejected {
            occurrence: None,
            channel: Channel::Grid,
            source_id: None,
            raw: vec![n],
            reason: String::new(),
        })
    }

    #[tokio::test]
    async fn publish_resolves_on_ack_and_fails_on_nack() {
        let bus = std::sync::Arc::new(MemoryBus::new(&[EventQueue::Workflow], 100));
        let mut c = bus.consume_raw().await.unwrap();
        assert!(matches!(bus.consume_raw().await, Err(BusError::Busy(_))));
        let b = bus.clone();
        let p1 = tokio::spawn(async move { b.publish_raw(vec![item(1)]).await });
        let d = c.next().await.unwrap();
        assert_eq!(d.items.len(), 1);
        assert!(!p1.is_finished());
        d.ack().await.unwrap();
        assert!(p1.await.unwrap().is_ok());

        let b = bus.clone();
        let p2 = tokio::spawn(async move { b.publish_raw(vec![item(2)]).await });
        c.next().await.unwrap().nack("store down".into()).await.unwrap();
        assert!(matches!(p2.await.unwrap(), Err(BusError::Refused { reason: r }) if r == "store down"));
    }

    #[tokio::test]
    async fn waiting_publishes_are_coalesced_into_one_delivery() {
        let bus = std::sync::Arc::new(MemoryBus::new(&[], 100));
        let mut c = bus.consume_raw().await.unwrap();
        let mut pubs = Vec::new();
        for n in 0..5 {
            let b = bus.clone();
            pubs.push(tokio::spawn(async move { b.publish_raw(vec![item(n)]).await }));
        }
        tokio::task::yield_now().await;
        while bus.raw.tx.capacity() > 1024 - 5 {
            tokio::task::yield_now().await;
        }
        let d = c.next().await.unwrap();
        assert_eq!(d.items.len(), 5);
        d.ack().await.unwrap();
        for p in pubs {
            assert!(p.await.unwrap().is_ok());
        }
    }

    fn event(t: crate::ticket::EventType) -> TicketEvent {
        crate::ticket::sample_event("g1", t)
    }

    #[tokio::test]
    async fn each_queue_gets_what_its_broker_binding_would() {
        use crate::ticket::EventType;
        let bus = std::sync::Arc::new(MemoryBus::new(&EventQueue::ALL, 100));
        let mut consumers = Vec::new();
        for q in EventQueue::ALL {
            consumers.push((q, bus.consume_events(q).await.unwrap()));
        }
        let types = [EventType::Received, EventType::Forwarded, EventType::Dispatched];
        // Intake's events go to the workflow and forward queues; the
        // warehouse's copies come from the store's outbox.
        for analysis in [false, true] {
            let b = bus.clone();
            let events: Vec<TicketEvent> = types.iter().map(|t| event(*t)).collect();
            let p = tokio::spawn(async move {
                if analysis {
                    b.publish_analysis(events).await
                } else {
                    b.publish_events(events).await
                }
            });
            for (q, c) in consumers.iter_mut().filter(|(q, _)| q.for_analysis() == analysis) {
                let d = c.next().await.unwrap();
                let got: Vec<EventType> = d.items.iter().map(|e| e.event_type).collect();
                for e in &d.items {
                    // The broker's topic binding: `ticket.#`, `analysis.#` or `ticket.forwarded.#`.
                    assert!(q.routing_key(e).starts_with(q.binding().trim_end_matches('#')));
                }
                match q {
                    EventQueue::Forward => assert_eq!(got, [EventType::Forwarded]),
                    _ => assert_eq!(got, types),
                }
                d.ack().await.unwrap();
            }
            assert!(p.await.unwrap().is_ok());
        }
        // A batch with nothing for the forward queue does not wait for it.
        let b = bus.clone();
        let p = tokio::spawn(async move { b.publish_events(vec![event(EventType::Received)]).await });
        consumers[0].1.next().await.unwrap().ack().await.unwrap();
        assert!(p.await.unwrap().is_ok());
    }

    /// The finding of issue 31 (item 7): the warehouse held decisions that
    /// the store never committed. Intake's publish reaches no warehouse
    /// consumer, whether the store commits or refuses.
    #[tokio::test]
    async fn intake_events_never_reach_the_warehouse_queue_directly() {
        use crate::ticket::EventType;
        let bus = std::sync::Arc::new(MemoryBus::new(&[EventQueue::Workflow, EventQueue::Warehouse], 100));
        let mut workflow = bus.consume_events(EventQueue::Workflow).await.unwrap();
        let mut warehouse = bus.consume_events(EventQueue::Warehouse).await.unwrap();
        for commit in [false, true] {
            let b = bus.clone();
            let p = tokio::spawn(async move { b.publish_events(vec![event(EventType::Received)]).await });
            let d = workflow.next().await.unwrap();
            if commit {
                d.ack().await.unwrap();
            } else {
                d.nack("disk full".into()).await.unwrap();
            }
            assert_eq!(p.await.unwrap().is_ok(), commit);
            let nothing = tokio::time::timeout(std::time::Duration::from_millis(50), warehouse.next()).await;
            assert!(nothing.is_err(), "the warehouse got intake's events straight from the bus");
        }
        assert!(bus.warehouse_from_outbox());
    }

    #[test]
    fn wants_mirrors_the_broker_bindings() {
        use crate::ticket::EventType::*;
        for t in [
            Received,
            Updated,
            DuplicateLinked,
            Forwarded,
            Rejected,
            Dispatched,
            Signed,
            Escalated,
            ClustersMerged,
            SignOverdue,
        ] {
            let e = event(t);
            for q in EventQueue::ALL {
                // What the queue's copy is published under matches its binding
                // exactly when the in-process bus hands it the event.
                let published = if q.for_analysis() {
                    EventQueue::Warehouse
                } else {
                    EventQueue::Workflow
                };
                assert_eq!(
                    q.wants(&e),
                    published.routing_key(&e).starts_with(q.binding().trim_end_matches('#')),
                    "{q:?} {t:?}"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_dropped_delivery_fails_the_publisher() {
        let bus = std::sync::Arc::new(MemoryBus::new(&[], 100));
        let mut c = bus.consume_raw().await.unwrap();
        let b = bus.clone();
        let p = tokio::spawn(async move { b.publish_raw(vec![item(1)]).await });
        drop(c.next().await.unwrap());
        assert!(matches!(p.await.unwrap(), Err(BusError::Closed)));
    }
}
