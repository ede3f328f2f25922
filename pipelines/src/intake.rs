//! Intake: the single active consumer of `raw.intake`.
//!
//! For each delivery: quarantine what cannot be normalized, decide replays
//! and duplicates, publish the ticket events, and only then ack. A failure
//! anywhere nacks the delivery, so the publisher (or the broker) tries again
//! and nothing is half-done.

use crate::bus::{Bus, Consumer};
use crate::dedup::{Decision, DedupIndex};
use crate::normalize::Normalizer;
use crate::store::{NewQuarantine, WorkflowStore};
use crate::ticket::{EventPayload, EventType, Ticket, TicketEvent};
use minqing_connectors::{Channel, Inbound};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio_util::sync::CancellationToken;

/// Counters of one channel, as intake saw it in this process.
#[derive(Debug, Default)]
pub struct Counters {
    pub received: AtomicU64,
    pub tickets: AtomicU64,
    /// Repeat deliveries: same id again (updates of edited posts included),
    /// or a quarantined record sent again.
    pub replays: AtomicU64,
    pub updates: AtomicU64,
    pub duplicates: AtomicU64,
    pub quarantined: AtomicU64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CountersSnapshot {
    pub received: u64,
    pub tickets: u64,
    pub replays: u64,
    pub updates: u64,
    pub duplicates: u64,
    pub quarantined: u64,
}

#[derive(Debug, Default)]
pub struct IntakeStats {
    channels: [Counters; 7],
    pub batches: AtomicU64,
    pub failures: AtomicU64,
}

impl IntakeStats {
    pub fn channel(&self, c: Channel) -> &Counters {
        let i = Channel::ALL.iter().position(|x| *x == c).expect("every channel is listed");
        &self.channels[i]
    }

    pub fn snapshot(&self) -> BTreeMap<Channel, CountersSnapshot> {
        Channel::ALL
            .into_iter()
            .map(|c| {
                let k = self.channel(c);
                let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
                (c, CountersSnapshot {
                    received: l(&k.received),
                    tickets: l(&k.tickets),
                    replays: l(&k.replays),
                    updates: l(&k.updates),
                    duplicates: l(&k.duplicates),
                    quarantined: l(&k.quarantined),
                })
            })
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("bus: {0}")]
    Bus(#[from] crate::bus::BusError),
}

pub struct Intake {
    pub normalizer: Arc<Normalizer>,
    pub store: Arc<dyn WorkflowStore>,
    pub bus: Arc<dyn Bus>,
    pub index: DedupIndex,
    pub stats: Arc<IntakeStats>,
}

/// Tallies of one batch, added to the shared counters once it is done.
#[derive(Default)]
struct Tally(BTreeMap<Channel, CountersSnapshot>);

impl Tally {
    fn at(&mut self, c: Channel) -> &mut CountersSnapshot {
        self.0.entry(c).or_default()
    }

    fn publish(self, stats: &IntakeStats) {
        for (c, t) in self.0 {
            let k = stats.channel(c);
            k.received.fetch_add(t.received, Ordering::Relaxed);
            k.tickets.fetch_add(t.tickets, Ordering::Relaxed);
            k.replays.fetch_add(t.replays, Ordering::Relaxed);
            k.updates.fetch_add(t.updates, Ordering::Relaxed);
            k.duplicates.fetch_add(t.duplicates, Ordering::Relaxed);
            k.quarantined.fetch_add(t.quarantined, Ordering::Relaxed);
        }
    }
}

impl Intake {
    /// Consumes until the bus closes or `cancel` fires.
    pub async fn run(mut self, mut consumer: Box<dyn Consumer<Inbound>>, cancel: CancellationToken) {
        loop {
            let delivery = tokio::select! {
                d = consumer.next() => d,
                _ = cancel.cancelled() => None,
            };
            let Some(d) = delivery else { break };
            match self.process(&d.items).await {
                Ok(()) => {
                    if let Err(e) = d.ack().await {
                        tracing::warn!(error = %e, "Ack failed; the batch will be redelivered and deduplicated.");
                    }
                }
                Err(e) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, count = d.items.len(), "Intake batch failed; handing it back.");
                    let _ = d.nack(e.to_string()).await;
                }
            }
        }
    }

    /// Processes one batch; every effect is committed when it returns `Ok`.
    #[tracing::instrument(skip_all, fields(count = items.len()))]
    pub async fn process(&mut self, items: &[Inbound]) -> Result<(), IntakeError> {
        let mut tally = Tally::default();
        let mut quarantine = Vec::new();
        let mut tickets: Vec<Ticket> = Vec::with_capacity(items.len());
        for item in items {
            tally.at(item.channel()).received += 1;
            match item {
                Inbound::Rejected(r) => quarantine.push(NewQuarantine {
                    channel: r.channel,
                    source_id: r.source_id.clone(),
                    reason: r.reason.clone(),
                    raw: r.raw.clone(),
                }),
                Inbound::Appeal(a) => match self.normalizer.normalize(a) {
                    Ok(t) => tickets.push(t),
                    Err(e) => quarantine.push(NewQuarantine {
                        channel: a.channel,
                        source_id: Some(a.source_id.clone()),
                        reason: e.to_string(),
                        raw: a.raw.clone().into_bytes(),
                    }),
                },
            }
        }
        if !quarantine.is_empty() {
            let fresh = self.store.quarantine(&quarantine).await?;
            for (q, new) in quarantine.iter().zip(fresh) {
                let t = tally.at(q.channel);
                if new {
                    t.quarantined += 1;
                    tracing::info!(connector = %q.channel, reason = %crate::normalize::text::redact(&q.reason), "Record quarantined.");
                } else {
                    t.replays += 1;
                }
            }
        }
        self.index.trim();
        let unknown = self.index.unknown_ids(tickets.iter().map(|t| &t.ticket_id));
        if !unknown.is_empty() {
            let known = self.store.known_tickets(&unknown).await?;
            self.index.absorb_known(known);
        }
        let citizens = self.index.unloaded_citizens(tickets.iter().filter_map(|t| t.citizen_key.as_ref()));
        if !citizens.is_empty() {
            let roots = self.store.duplicate_roots(&citizens).await?;
            self.index.absorb_roots(&citizens, roots);
        }
        let (decisions, pending) = self.index.decide(&tickets);
        let mut events = Vec::with_capacity(tickets.len());
        for (mut t, d) in tickets.into_iter().zip(decisions) {
            let c = tally.at(t.channel);
            match d {
                Decision::Replay => c.replays += 1,
                Decision::Update => {
                    c.replays += 1;
                    c.updates += 1;
                    let payload = EventPayload::Updated {
                        version: t.version,
                        title: t.title.clone(),
                        content: t.content.clone(),
                        content_truncated: t.content_truncated,
                        text_hash: t.text_hash.clone(),
                    };
                    events.push(TicketEvent::new(t.ticket_id, t.channel, EventType::Updated, &t.version.to_string(), t.received_at, payload));
                }
                Decision::New | Decision::Duplicate(_) => {
                    c.tickets += 1;
                    let linked = if let Decision::Duplicate(root) = d {
                        c.duplicates += 1;
                        t.duplicate_of = Some(root);
                        Some(TicketEvent::new(t.ticket_id, t.channel, EventType::DuplicateLinked, "", t.received_at, EventPayload::DuplicateLinked { duplicate_of: root }))
                    } else {
                        None
                    };
                    let (id, ch, at) = (t.ticket_id, t.channel, t.received_at);
                    events.push(TicketEvent::new(id, ch, EventType::Received, "", at, EventPayload::Received { ticket: Box::new(t) }));
                    events.extend(linked);
                }
            }
        }
        if !events.is_empty() {
            self.bus.publish_events(events).await?;
        }
        self.index.commit(pending);
        tally.publish(&self.stats);
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}
