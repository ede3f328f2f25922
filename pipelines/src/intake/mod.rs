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
use crate::ticket::{EventPayload, EventType, Ticket, TicketEvent};
use minqing_connectors::Inbound;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tally::{Seen, Tally};
use tokio_util::sync::CancellationToken;

mod tally;
pub use tally::{Counters, CountersSnapshot, IntakeStats};

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
    commit: tokio::task::JoinHandle<Result<Tally, String>>,
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

    /// Quarantines, looks up and decides one batch. The decisions are in the
    /// dedup cache when it returns; the events still need publishing.
    #[tracing::instrument(skip_all, fields(count = items.len()))]
    async fn prepare(&mut self, items: &[Inbound]) -> Result<Prepared, IntakeError> {
        let mut tally = Tally::default();
        let mut quarantine = Vec::new();
        let mut quarantine_from = Vec::new();
        let mut tickets: Vec<Ticket> = Vec::with_capacity(items.len());
        let mut accepted = Vec::with_capacity(items.len());
        let mut pulled = Vec::with_capacity(items.len());
        for item in items {
            tally.at(item.channel()).received += 1;
            match item {
                Inbound::Rejected(r) => quarantine.push(NewQuarantine {
                    channel: r.channel,
                    source_id: r.source_id.as_deref().map(capped_id),
                    reason: r.reason.clone(),
                    raw: r.raw.clone(),
                }),
                Inbound::Appeal(a) => match self.normalizer.normalize(a) {
                    Ok(t) => {
                        tickets.push(t);
                        accepted.push(a.accepted_at);
                        pulled.push(a.occurrence);
                        continue;
                    }
                    Err(e) => quarantine.push(NewQuarantine {
                        channel: a.channel,
                        source_id: Some(capped_id(&a.source_id)),
                        reason: e.to_string(),
                        raw: a.raw.clone().into_bytes(),
                    }),
                },
            }
            quarantine_from.push(item.occurrence());
        }
        if let Some(n) = &mut self.neardup {
            n.ensure(&*self.store).await?;
        }
        self.index.trim();
        let unknown = self.index.unknown_ids(tickets.iter().map(|t| &t.ticket_id));
        if !unknown.is_empty() {
            let known = self.store.known_tickets(&unknown).await?;
            self.index.absorb_known(known);
        }
        for (from, to) in self.index.uncovered(&tickets) {
            let roots = self.store.duplicate_roots_between(from, to).await?;
            self.index.absorb_roots(Some((from, to)), roots);
        }
        let (decisions, pending) = self.index.decide(&tickets);
        self.index.commit(pending);
        let triage = self.triage.as_ref().map(crate::triage::Live::current);
        let mut events = Vec::with_capacity(tickets.len());
        for (((mut t, d), accepted_at), occurrence) in tickets.into_iter().zip(decisions).zip(accepted).zip(pulled) {
            let channel = t.channel;
            let before = *tally.at(channel);
            let c = tally.at(channel);
            let from = events.len();
            match d {
                Decision::Replay => c.replays += 1,
                Decision::Update => {
                    c.replays += 1;
                    c.updates += 1;
                    events.push(TicketEvent::updated(&t));
                }
                Decision::New | Decision::Duplicate(_) => {
                    c.tickets += 1;
                    let near = self
                        .neardup
                        .as_mut()
                        .map(|n| (n.decide(&t), n.params().escalation.same_citizen_days));
                    let d = match (&d, &near) {
                        (Decision::New, Some((o, _))) => o.duplicate_of.map_or(d, |(root, _)| Decision::Duplicate(root)),
                        _ => d,
                    };
                    let mut clustered = Vec::new();
                    if let Some((o, days)) = near {
                        t.cluster_id = Some(o.cluster.to_string());
                        clustered = cluster_events(&t, o, days);
                    }
                    let linked = if let Decision::Duplicate(root) = d {
                        c.duplicates += 1;
                        t.duplicate_of = Some(root);
                        Some(TicketEvent::new(
                            t.ticket_id,
                            t.channel,
                            EventType::DuplicateLinked,
                            "",
                            t.received_at,
                            EventPayload::DuplicateLinked {
                                duplicate_of: root,
                                original_no: crate::ticket::short_no(&root),
                                reply: crate::ticket::duplicate_reply(&crate::ticket::short_no(&root)),
                            },
                        ))
                    } else {
                        None
                    };
                    if let Some(tr) = &triage {
                        let d = tr.decide(&crate::triage::Input {
                            title: t.title.as_deref(),
                            content: &t.content,
                            appeal_type: t.appeal_type,
                            town: t.town.as_deref(),
                            channel_category: t.category.as_deref(),
                        });
                        t.category = d.category.clone().or(t.category.take());
                        t.appeal_type = d.appeal_type.or(t.appeal_type);
                        t.triage = Some(d);
                    }
                    // A duplicate's citizen hears the original's number, not
                    // what triage would have told them.
                    if let (Some(d), Some(EventPayload::DuplicateLinked { reply, .. })) =
                        (t.triage.as_mut(), linked.as_ref().map(|e| &*e.payload))
                    {
                        d.reply = Some(reply.clone());
                    }
                    // A duplicate is recorded with what triage would say, but
                    // only its original is forwarded, answered or dispatched.
                    let scoped = match (&t.triage, linked.is_some()) {
                        (Some(d), false) => {
                            use crate::triage::ScopeKind;
                            match d.scope {
                                ScopeKind::ForwardHuangshi => c.forwarded += 1,
                                ScopeKind::Rejected => c.rejected += 1,
                                ScopeKind::AnsweredOnline => c.answered_online += 1,
                                ScopeKind::Dispatch => c.dispatched += 1,
                            }
                            if d.manual {
                                c.manual += 1;
                            }
                            Some(TicketEvent::new(
                                t.ticket_id,
                                t.channel,
                                d.event_type(),
                                "",
                                t.received_at,
                                EventPayload::Triaged {
                                    decision: Box::new(d.clone()),
                                    order: self
                                        .workflow
                                        .as_ref()
                                        .and_then(|w| crate::workflow::first_order(&t, w))
                                        .map(Box::new),
                                },
                            ))
                        }
                        _ => None,
                    };
                    events.push(TicketEvent::received(t));
                    events.extend(linked);
                    events.extend(scoped);
                    events.extend(clustered);
                }
            }
            for e in &mut events[from..] {
                e.accepted_at = accepted_at;
            }
            tally.pulled(channel, occurrence, before, false);
        }
        Ok(Prepared {
            events,
            quarantine,
            quarantine_from,
            tally,
        })
    }
}

/// The events of a ticket's cluster outcome: clusters it merged, and the
/// 现场督办 proposals it triggered.
fn cluster_events(t: &Ticket, o: crate::neardup::engine::Outcome<uuid::Uuid>, days: i64) -> Vec<TicketEvent> {
    let mut out = Vec::new();
    if !o.merged.is_empty() {
        out.push(TicketEvent::new(
            t.ticket_id,
            t.channel,
            EventType::ClustersMerged,
            "",
            t.received_at,
            EventPayload::ClustersMerged {
                into: o.cluster.to_string(),
                from: o.merged.iter().map(ToString::to_string).collect(),
            },
        ));
    }
    for x in o.escalations {
        out.push(TicketEvent::new(
            t.ticket_id,
            t.channel,
            EventType::Escalated,
            &format!("{}:{}", x.trigger, x.citizen.as_deref().unwrap_or("")),
            t.received_at,
            EventPayload::Escalated {
                cluster_id: x.cluster.to_string(),
                trigger: x.trigger.to_owned(),
                proposal: crate::neardup::stage::proposal(x.trigger, x.count, days),
                citizen_key: x.citizen,
                count: x.count,
                members: o.members,
                citizens: o.citizens,
            },
        ));
    }
    out
}

/// Makes a decided batch durable: its quarantined records in the store and
/// its events on the bus, at once. Off intake's loop, so the next batch is
/// decided meanwhile.
async fn commit(p: Prepared, store: Arc<dyn WorkflowStore>, bus: Arc<dyn Bus>) -> Result<Tally, String> {
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
            store.quarantine(&quarantine).await.map_err(|e| format!("quarantining: {e}"))
        }
    };
    let published = async {
        if events.is_empty() {
            Ok(())
        } else {
            bus.publish_events(events).await.map_err(|e| e.to_string())
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
        let result = match f.commit.await {
            Ok(r) => r,
            Err(e) => Err(format!("the commit task failed: {e}")),
        };
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
                let _ = f.delivery.nack(e).await;
            }
        }
    }
}

/// A record id as quarantine keeps it: whole up to the limit, the rest
/// cut (the raw record keeps it all, up to the body limits).
fn capped_id(id: &str) -> String {
    id[..crate::privacy::floor_boundary(id, crate::normalize::MAX_SOURCE_ID)].to_owned()
}
