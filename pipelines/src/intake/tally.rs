//! Intake's counters: what each channel sent, as this process saw it, and
//! the per-batch tallies that reach them once a batch is durable. A record
//! read again after our own fault counts as `redelivered`, not as the
//! channel's replay.

use crate::store::NewQuarantine;
use minqing_connectors::{Channel, Inbound};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

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
    pub forwarded: AtomicU64,
    pub rejected: AtomicU64,
    pub answered_online: AtomicU64,
    /// Dispatched, the manual queue included.
    pub dispatched: AtomicU64,
    pub manual: AtomicU64,
    /// Records pulled again after our own fault (a page re-read after a
    /// failed publish, a message the broker delivered again), counted here
    /// and in nothing else: they are not the channel's replays.
    pub redelivered: AtomicU64,
    /// Replays published that turned out to be ours (see [`Seen`]), not
    /// yet taken off `replays`: a counter Prometheus reads must never go
    /// down, so they are paid from the replays published later, and the
    /// snapshot subtracts what is still owed.
    pub replay_debt: AtomicU64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CountersSnapshot {
    pub received: u64,
    pub tickets: u64,
    pub replays: u64,
    pub updates: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    pub forwarded: u64,
    pub rejected: u64,
    pub answered_online: u64,
    pub dispatched: u64,
    pub manual: u64,
    pub redelivered: u64,
}

impl CountersSnapshot {
    /// What was added since `before`.
    fn since(&self, before: &CountersSnapshot) -> CountersSnapshot {
        self.zip(before, u64::saturating_sub)
    }

    /// Takes back what `d` added.
    fn take_back(&mut self, d: &CountersSnapshot) {
        *self = self.zip(d, u64::saturating_sub);
    }

    fn zip(&self, o: &CountersSnapshot, f: fn(u64, u64) -> u64) -> CountersSnapshot {
        CountersSnapshot {
            received: f(self.received, o.received),
            tickets: f(self.tickets, o.tickets),
            replays: f(self.replays, o.replays),
            updates: f(self.updates, o.updates),
            duplicates: f(self.duplicates, o.duplicates),
            quarantined: f(self.quarantined, o.quarantined),
            forwarded: f(self.forwarded, o.forwarded),
            rejected: f(self.rejected, o.rejected),
            answered_online: f(self.answered_online, o.answered_online),
            dispatched: f(self.dispatched, o.dispatched),
            manual: f(self.manual, o.manual),
            redelivered: f(self.redelivered, o.redelivered),
        }
    }
}

#[derive(Debug, Default)]
pub struct IntakeStats {
    channels: [Counters; minqing_connectors::channel::COUNT],
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
                (
                    c,
                    CountersSnapshot {
                        received: l(&k.received),
                        tickets: l(&k.tickets),
                        replays: l(&k.replays).saturating_sub(l(&k.replay_debt)),
                        updates: l(&k.updates),
                        duplicates: l(&k.duplicates),
                        quarantined: l(&k.quarantined),
                        forwarded: l(&k.forwarded),
                        rejected: l(&k.rejected),
                        answered_online: l(&k.answered_online),
                        dispatched: l(&k.dispatched),
                        manual: l(&k.manual),
                        redelivered: l(&k.redelivered),
                    },
                )
            })
            .collect()
    }
}

/// The `/metrics` counters of intake, per channel
/// (`minqing_intake_{tickets,replays,…}_total{channel=…}`) and of its
/// batches, read from the atomics at scrape time so that intake's hot path
/// adds to nothing else.
impl Collector for IntakeStats {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        type Read = fn(&Counters) -> &AtomicU64;
        // Counter names without `_total`: the encoder adds it.
        let series: [(&str, &str, Read); 6] = [
            ("minqing_intake_tickets", "Tickets created.", |c| &c.tickets),
            ("minqing_intake_replays", "Repeat deliveries ignored.", |c| &c.replays),
            (
                "minqing_intake_redelivered",
                "Records read again after our own faults (re-read pages, broker redeliveries).",
                |c| &c.redelivered,
            ),
            ("minqing_intake_duplicates", "Tickets linked as cross-channel duplicates.", |c| {
                &c.duplicates
            }),
            ("minqing_intake_quarantined", "Records sent to quarantine.", |c| &c.quarantined),
            ("minqing_intake_updates", "Edited posts applied.", |c| &c.updates),
        ];
        for (name, help, read) in series {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for c in Channel::ALL {
                let value = read(self.channel(c)).load(Ordering::Relaxed);
                ConstCounter::new(value).encode(metric.encode_family(&[("channel", c.id())])?)?;
            }
        }
        let failures = ConstCounter::new(self.failures.load(Ordering::Relaxed));
        failures.encode(encoder.encode_descriptor(
            "minqing_intake_batch_failures",
            "Intake batches handed back.",
            None,
            MetricType::Counter,
        )?)
    }
}

/// Tallies of one batch, added to the shared counters once it is done.
#[derive(Default)]
pub(super) struct Tally {
    by_channel: BTreeMap<Channel, CountersSnapshot>,
    /// What each pulled record added, by its occurrence, so that a record
    /// decided before (in a batch that committed) counts as ours; and
    /// whether it was a record quarantine held already.
    pulled: Vec<(Channel, u64, CountersSnapshot, bool)>,
    /// Replays that an earlier batch published and that were ours after
    /// all, to take back from the shared counters.
    overcounted: BTreeMap<Channel, u64>,
}

/// Occurrences of pulled records whose batch committed, and of those whose
/// batch failed, in this process. Bounded: past the cap it starts afresh,
/// which at worst counts a later re-read as the channel's replay.
#[derive(Default)]
pub(super) struct Seen {
    committed: HashSet<u64>,
    /// A failed batch may have committed its quarantine before it failed:
    /// sent again, its records find themselves held already.
    failed: HashSet<u64>,
    /// First copies that quarantine held already and that were counted as
    /// the channel's replays. Two copies of a page (a re-read after a failed
    /// poll) commit side by side; when the later copy's insert lands first,
    /// the earlier copy finds the record held. The later copy then reports
    /// the insert, and the count is put right.
    held: HashSet<u64>,
}

impl Seen {
    const CAP: usize = 1_000_000;

    /// Whether `o` is new here.
    fn first(&mut self, o: u64) -> bool {
        if self.committed.len() >= Self::CAP {
            // New sets, not `clear`: that keeps the memory.
            *self = Seen::default();
        }
        self.committed.insert(o)
    }

    /// Remembers the records of a batch that failed.
    pub(super) fn failed(&mut self, items: &[Inbound]) {
        if self.failed.len() >= Self::CAP {
            self.failed = Default::default();
        }
        self.failed.extend(items.iter().filter_map(Inbound::occurrence));
    }
}

impl Tally {
    pub(super) fn at(&mut self, c: Channel) -> &mut CountersSnapshot {
        self.by_channel.entry(c).or_default()
    }

    /// Remembers what a pulled record added since `before`.
    pub(super) fn pulled(&mut self, c: Channel, occurrence: Option<u64>, before: CountersSnapshot, held: bool) {
        if let Some(o) = occurrence {
            let d = self.at(c).since(&before);
            self.pulled.push((c, o, d, held));
        }
    }

    /// Counts each quarantined record as new or, if quarantine held it
    /// already (a re-read page), as a replay.
    pub(super) fn quarantined(&mut self, items: &[NewQuarantine], from: &[Option<u64>], fresh: &[bool]) {
        for ((q, new), o) in items.iter().zip(fresh).zip(from) {
            let before = *self.at(q.channel);
            let t = self.at(q.channel);
            if *new {
                t.quarantined += 1;
                tracing::info!(connector = %q.channel, reason = %crate::normalize::text::redact(&q.reason), "Record quarantined.");
            } else {
                t.replays += 1;
            }
            self.pulled(q.channel, *o, before, !*new);
        }
    }

    /// Moves the records decided before to `redelivered`. A record held in
    /// quarantine by its own failed batch counts as quarantined, and so
    /// does one whose later copy's insert overtook it.
    pub(super) fn ours(&mut self, seen: &mut Seen) {
        for (c, o, d, held) in std::mem::take(&mut self.pulled) {
            let retried = seen.failed.remove(&o);
            let t = self.at(c);
            if !seen.first(o) {
                t.take_back(&d);
                t.redelivered += 1;
                if !held && seen.held.remove(&o) {
                    t.quarantined += 1;
                    *self.overcounted.entry(c).or_default() += 1;
                }
            } else if held && retried {
                t.replays = t.replays.saturating_sub(1);
                t.quarantined += 1;
            } else if held {
                seen.held.insert(o);
            }
        }
    }

    /// Adds the tally to the shared counters. Batches are published in the
    /// order they were decided, so a replay taken back was published before;
    /// it becomes a debt on `replays` (see [`Counters::replay_debt`]).
    pub(super) fn publish(self, stats: &IntakeStats) {
        for (c, t) in self.by_channel {
            let k = stats.channel(c);
            let over = self.overcounted.get(&c).copied().unwrap_or(0);
            k.received.fetch_add(t.received, Ordering::Relaxed);
            k.tickets.fetch_add(t.tickets, Ordering::Relaxed);
            // Only the settling task publishes, so reading the debt and
            // writing it back cannot race another publish.
            let debt = k.replay_debt.load(Ordering::Relaxed) + over;
            let paid = debt.min(t.replays);
            k.replays.fetch_add(t.replays - paid, Ordering::Relaxed);
            k.replay_debt.store(debt - paid, Ordering::Relaxed);
            k.updates.fetch_add(t.updates, Ordering::Relaxed);
            k.duplicates.fetch_add(t.duplicates, Ordering::Relaxed);
            k.quarantined.fetch_add(t.quarantined, Ordering::Relaxed);
            k.forwarded.fetch_add(t.forwarded, Ordering::Relaxed);
            k.rejected.fetch_add(t.rejected, Ordering::Relaxed);
            k.answered_online.fetch_add(t.answered_online, Ordering::Relaxed);
            k.dispatched.fetch_add(t.dispatched, Ordering::Relaxed);
            k.manual.fetch_add(t.manual, Ordering::Relaxed);
            k.redelivered.fetch_add(t.redelivered, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: Channel = Channel::Hotline12345;

    #[test]
    fn intake_metrics_read_the_counters_per_channel() {
        let stats = IntakeStats::default();
        stats.channel(Channel::Wechat).tickets.store(2, Ordering::Relaxed);
        stats.channel(C).redelivered.store(4, Ordering::Relaxed);
        stats.failures.store(1, Ordering::Relaxed);
        let text = minqing_connectors::metrics::text_of(stats);
        minqing_connectors::metrics::assert_shows(
            &text,
            &[
                "# TYPE minqing_intake_tickets_total counter",
                "minqing_intake_tickets_total{channel=\"wechat\"} 2",
                "minqing_intake_tickets_total{channel=\"hotline_12345\"} 0",
                "minqing_intake_redelivered_total{channel=\"hotline_12345\"} 4",
                "minqing_intake_batch_failures_total 1",
            ],
        );
    }

    fn bad(source_id: &str) -> NewQuarantine {
        NewQuarantine {
            channel: C,
            source_id: Some(source_id.into()),
            reason: "no content".into(),
            raw: b"{}".to_vec(),
        }
    }

    /// One batch holding record `o`, whose quarantine insert was `fresh`.
    fn batch(o: u64, fresh: bool) -> Tally {
        let mut t = Tally::default();
        t.at(C).received += 1;
        t.quarantined(&[bad("a")], &[Some(o)], &[fresh]);
        t
    }

    /// Settles batches in order and returns the channel's counters.
    fn settle(batches: Vec<Result<Tally, Vec<Inbound>>>) -> CountersSnapshot {
        let stats = IntakeStats::default();
        let mut seen = Seen::default();
        for b in batches {
            match b {
                Ok(mut t) => {
                    t.ours(&mut seen);
                    t.publish(&stats);
                }
                Err(items) => seen.failed(&items),
            }
        }
        stats.snapshot()[&C]
    }

    fn rejected(o: u64) -> Inbound {
        let mut i = Inbound::Rejected(minqing_connectors::Rejected {
            channel: C,
            source_id: Some("a".into()),
            raw: b"{}".to_vec(),
            reason: "no content".into(),
            occurrence: None,
        });
        i.set_occurrence(o);
        i
    }

    // `received` counts every record read, re-reads included.
    #[test]
    fn a_page_read_twice_counts_its_bad_record_once_as_quarantined() {
        let s = settle(vec![Ok(batch(7, true)), Ok(batch(7, false))]);
        assert_eq!((s.quarantined, s.replays, s.redelivered, s.received), (1, 0, 1, 2));
    }

    #[test]
    fn a_later_copy_whose_insert_landed_first_still_counts_one_quarantined() {
        // The re-read copy committed its insert before the first copy did:
        // the first found the record held.
        let s = settle(vec![Ok(batch(7, false)), Ok(batch(7, true))]);
        assert_eq!((s.quarantined, s.replays, s.redelivered, s.received), (1, 0, 1, 2));
    }

    #[test]
    fn a_replay_taken_back_never_makes_the_exported_counter_go_down() {
        let stats = IntakeStats::default();
        let mut seen = Seen::default();
        for (o, fresh) in [(7, false), (7, true)] {
            let mut t = batch(o, fresh);
            t.ours(&mut seen);
            t.publish(&stats);
        }
        let k = stats.channel(C);
        assert_eq!(k.replays.load(Ordering::Relaxed), 1, "the counter keeps what it showed");
        assert_eq!(stats.snapshot()[&C].replays, 0, "the snapshot is exact");
        // The next replays pay the debt before the counter moves again.
        for o in [8, 9] {
            let mut t = batch(o, false);
            t.ours(&mut seen);
            t.publish(&stats);
        }
        assert_eq!(k.replays.load(Ordering::Relaxed), 2);
        assert_eq!(stats.snapshot()[&C].replays, 2);
    }

    #[test]
    fn a_record_held_by_its_own_failed_batch_counts_as_quarantined() {
        let s = settle(vec![Err(vec![rejected(7)]), Ok(batch(7, false))]);
        assert_eq!((s.quarantined, s.replays, s.redelivered), (1, 0, 0));
    }

    #[test]
    fn a_record_quarantine_held_before_this_process_is_the_channels_replay() {
        let s = settle(vec![Ok(batch(7, false)), Ok(batch(8, false))]);
        assert_eq!((s.quarantined, s.replays, s.redelivered), (0, 2, 0));
        // ... and a re-read of it stays a replay once.
        let s = settle(vec![Ok(batch(7, false)), Ok(batch(7, false))]);
        assert_eq!((s.quarantined, s.replays, s.redelivered), (0, 1, 1));
    }
}
