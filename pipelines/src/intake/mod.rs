//! Intake: the single active consumer of `raw.intake`.
//!
//! For each delivery: quarantine what cannot be normalized, decide replays
//! and duplicates, publish the ticket events, and only then ack. A failure
//! anywhere nacks the delivery, so the publisher (or the broker) sends it
//! again and nothing is half-done.

use crate::bus::{Bus, Consumer, Delivery};
use crate::dedup::{Decision, DedupIndex};
use crate::normalize::Normalizer;
use crate::store::{NewQuarantine, WorkflowStore};
use crate::ticket::{Ticket, TicketEvent};
use crate::triage::Triage;
use minqing_connectors::Inbound;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tally::{Seen, Tally};
use tokio_util::sync::CancellationToken;

mod stages;
mod tally;
pub use tally::{Counters, CountersSnapshot, IntakeStats};

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("bus: {0}")]
    Bus(#[from] crate::bus::BusError),
    #[error("quarantining: {0}")]
    Quarantine(#[source] crate::store::StoreError),
    #[error("the commit task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

pub struct Intake {
    pub normalizer: Arc<Normalizer>,
    pub store: Arc<dyn WorkflowStore>,
    pub bus: Arc<dyn Bus>,
    pub index: DedupIndex,
    pub stats: Arc<IntakeStats>,
    /// Batches whose events may be in flight to the sinks at once.
    pub max_in_flight: usize,
    /// Scope, category and unit for every new ticket; `None` leaves tickets
    /// untriaged (tests of other stages).
    pub triage: Option<crate::triage::Live>,
    /// Near-duplicates and same-issue clusters; `None` links only the same
    /// citizen's identical text.
    pub neardup: Option<crate::neardup::stage::Stage>,
    /// Opens a work order, with its deadlines, for each dispatched ticket.
    pub workflow: Option<crate::workflow::Deadlines>,
}

/// A batch decided and on its way to the sinks.
struct InFlight {
    delivery: Delivery<Inbound>,
    /// Quarantines and publishes the batch; yields its completed tally.
    commit: tokio::task::JoinHandle<Result<Tally, IntakeError>>,
}

/// What deciding a batch produced, before anything of it is durable.
struct Prepared {
    events: Vec<TicketEvent>,
    quarantine: Vec<NewQuarantine>,
    /// Each quarantined record's occurrence, in the same order.
    quarantine_from: Vec<Option<u64>>,
    tally: Tally,
}

impl Intake {
    /// Consumes until the bus closes or `cancel` fires.
    ///
    /// Batch k+1 is decided while batch k's events are still being committed
    /// (up to `max_in_flight` batches), and deliveries are settled strictly in
    /// order by a second task. Decisions enter the dedup cache before their
    /// commit; if a commit fails, its delivery is nacked (so its publisher
    /// sends it again) and the cache is reset to what the store holds.
    pub async fn run(mut self, mut consumer: Box<dyn Consumer<Inbound>>, cancel: CancellationToken) {
        match self.store.dedup_snapshot(self.index.capacity() as u64).await {
            Ok(Some((known, roots))) => self.index.load_complete(known, roots),
            Ok(None) => tracing::info!("The store is larger than the dedup cache; intake looks tickets up per batch."),
            Err(e) => tracing::warn!(error = %e, "Loading the dedup cache failed; intake looks tickets up per batch."),
        }
        let poisoned = Arc::new(AtomicBool::new(false));
        let (tx, rx) = tokio::sync::mpsc::channel::<InFlight>(self.max_in_flight.max(1));
        let settler = tokio::spawn(settle(rx, self.stats.clone(), poisoned.clone()));
        loop {
            let delivery = tokio::select! {
                d = consumer.next() => d,
                _ = cancel.cancelled() => None,
            };
            let Some(d) = delivery else { break };
            if poisoned.swap(false, Ordering::AcqRel) {
                self.index.reset();
                if let Some(n) = &mut self.neardup {
                    n.invalidate();
                }
            }
            match self.prepare(&d.items).await {
                Ok(p) => {
                    let commit = tokio::spawn(commit(p, self.store.clone(), self.bus.clone()));
                    if tx.send(InFlight { delivery: d, commit }).await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    self.index.reset();
                    if let Some(n) = &mut self.neardup {
                        n.invalidate();
                    }
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, count = d.items.len(), "Intake batch failed; handing it back once the store answers.");
                    // Handing it back at once would spin through the broker's
                    // delivery limit while the store is away.
                    self.wait_for_store(&cancel).await;
                    let _ = d.nack(e.to_string()).await;
                }
            }
        }
        drop(tx);
        let _ = settler.await;
    }

    /// Returns once the store answers a ping, or on cancel.
    async fn wait_for_store(&self, cancel: &CancellationToken) {
        let mut delay = std::time::Duration::from_millis(100);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = cancel.cancelled() => return,
            }
            if self.store.ping().await.is_ok() {
                return;
            }
            delay = (delay * 2).min(std::time::Duration::from_secs(5));
        }
    }

    /// Decides one batch, stage by stage (see [`stages`]). The decisions
    /// are in the dedup cache when it returns; nothing is durable yet.
    #[tracing::instrument(skip_all, fields(count = items.len()))]
    async fn prepare(&mut self, items: &[Inbound]) -> Result<Prepared, IntakeError> {
        let mut tally = Tally::default();
        let sorted = stages::normalize(&self.normalizer, items, &mut tally);
        let decisions = self.dedup(&sorted.arrivals).await?;
        let triage = self.triage.as_ref().map(crate::triage::Live::current);
        let mut events = Vec::with_capacity(sorted.arrivals.len());
        for (a, d) in sorted.arrivals.into_iter().zip(decisions) {
            let channel = a.ticket.channel;
            let before = *tally.at(channel);
            let from = events.len();
            self.admit(a.ticket, d, triage.as_deref(), &mut tally, &mut events);
            for e in &mut events[from..] {
                e.accepted_at = a.accepted_at;
            }
            tally.pulled(channel, a.occurrence, before, false);
        }
        Ok(Prepared {
            events,
            quarantine: sorted.quarantine,
            quarantine_from: sorted.quarantine_from,
            tally,
        })
    }

    /// Stage 2: exact dedup. Looks up in the store what the cache does not
    /// cover, then decides each ticket and enters the decisions in the cache.
    async fn dedup(&mut self, arrivals: &[stages::Arrival]) -> Result<Vec<Decision>, IntakeError> {
        if let Some(n) = &mut self.neardup {
            n.ensure(&*self.store).await?;
        }
        let tickets: Vec<&Ticket> = arrivals.iter().map(|a| &a.ticket).collect();
        self.index.trim();
        let unknown = self.index.unknown_ids(tickets.iter().map(|t| &t.ticket_id));
        if !unknown.is_empty() {
            let known = self.store.known_tickets(&unknown).await?;
            self.index.absorb_known(known);
        }
        for (from, to) in self.index.uncovered(tickets.iter().copied()) {
            let roots = self.store.duplicate_roots_between(from, to).await?;
            self.index.absorb_roots(Some((from, to)), roots);
        }
        let (decisions, pending) = self.index.decide(tickets.iter().copied());
        self.index.commit(pending);
        Ok(decisions)
    }

    /// One ticket through the stages after dedup: a replay stops, an edit
    /// updates, a new ticket or duplicate goes on through near-dup, triage
    /// and the opening of its order.
    fn admit(&mut self, mut t: Ticket, d: Decision, triage: Option<&Triage>, tally: &mut Tally, events: &mut Vec<TicketEvent>) {
        let c = tally.at(t.channel);
        let exact_root = match d {
            Decision::Replay => {
                c.replays += 1;
                return;
            }
            Decision::Update => {
                c.replays += 1;
                c.updates += 1;
                events.push(TicketEvent::updated(&t));
                return;
            }
            Decision::New => None,
            Decision::Duplicate(root) => Some(root),
        };
        c.tickets += 1;
        let near = stages::near_dup(self.neardup.as_mut(), &t, &d);
        t.cluster_id = near.cluster_id;
        t.duplicate_of = exact_root.or(near.duplicate_of);
        let linked = t.duplicate_of.map(|root| {
            c.duplicates += 1;
            stages::linked(&t, root)
        });
        if let Some(tr) = triage {
            let d = stages::triage(tr, &t);
            t.category = d.category.clone().or(t.category.take());
            t.appeal_type = d.appeal_type.or(t.appeal_type);
            t.triage = Some(d);
        }
        let scoped = stages::open(&t, self.workflow.as_ref());
        if let (Some(d), Some(_)) = (&t.triage, &scoped) {
            stages::count_scope(c, d);
        }
        events.push(TicketEvent::received(t));
        events.extend(linked);
        events.extend(scoped);
        events.extend(near.events);
    }
}

/// Makes a decided batch durable: its quarantined records in the store and
/// its events on the bus, at once. Off intake's loop, so the next batch is
/// decided meanwhile.
async fn commit(p: Prepared, store: Arc<dyn WorkflowStore>, bus: Arc<dyn Bus>) -> Result<Tally, IntakeError> {
    let Prepared {
        events,
        quarantine,
        quarantine_from,
        mut tally,
    } = p;
    let quarantined = async {
        if quarantine.is_empty() {
            Ok(Vec::new())
        } else {
            store.quarantine(&quarantine).await.map_err(IntakeError::Quarantine)
        }
    };
    let published = async {
        if events.is_empty() {
            Ok(())
        } else {
            bus.publish_events(events).await.map_err(IntakeError::Bus)
        }
    };
    let (fresh, published) = tokio::join!(quarantined, published);
    published?;
    tally.quarantined(&quarantine, &quarantine_from, &fresh?);
    Ok(tally)
}

/// Settles deliveries in the order they were decided.
async fn settle(mut rx: tokio::sync::mpsc::Receiver<InFlight>, stats: Arc<IntakeStats>, poisoned: Arc<AtomicBool>) {
    let mut seen = Seen::default();
    while let Some(f) = rx.recv().await {
        let result = f.commit.await.unwrap_or_else(|e| Err(e.into()));
        match result {
            Ok(mut tally) => {
                tally.ours(&mut seen);
                if let Err(e) = f.delivery.ack().await {
                    tracing::warn!(error = %e, "Ack failed; the batch will be redelivered and deduplicated.");
                }
                tally.publish(&stats);
                stats.batches.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                seen.failed(&f.delivery.items);
                poisoned.store(true, Ordering::Release);
                stats.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, count = f.delivery.items.len(), "Publishing ticket events failed; handing the batch back.");
                let _ = f.delivery.nack(e.to_string()).await;
            }
        }
    }
}
