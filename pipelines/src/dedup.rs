//! Deduplication, two levels for now:
//!
//! 1. **Replay:** the same `channel:source_id` is the same `ticket_id`; a
//!    repeat makes no new ticket. A newer version of an edited post updates it.
//! 2. **Cross-channel duplicate:** the same citizen (`citizen_key`) with the
//!    same text (`text_hash`) within the window is stored with
//!    `duplicate_of` pointing at the original.
//!
//! [`DedupIndex`] is a cache over the store: intake loads what a batch needs
//! from the store, decides the whole batch against cache plus batch, and
//! commits the decisions to the cache only after the batch is published, so
//! a failed batch leaves no trace and is decided afresh on redelivery.

use crate::store::DupCandidate;
use crate::ticket::Ticket;
use chrono::{DateTime, Duration, FixedOffset};
use std::collections::HashMap;
use uuid::Uuid;

/// What to do with a normalized ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    New,
    /// New, and a duplicate of this original.
    Duplicate(Uuid),
    /// Seen before with this version or a newer one.
    Replay,
    /// Seen before with an older version: replace the text.
    Update,
}

type Key = (String, String);

#[derive(Debug, Default)]
pub struct DedupIndex {
    /// Known tickets and their versions.
    known: HashMap<Uuid, u32>,
    /// Originals by (citizen_key, text_hash).
    roots: HashMap<Key, Vec<(Uuid, DateTime<FixedOffset>)>>,
    /// Receive times (unix seconds, inclusive) whose originals are loaded.
    covered: Option<(i64, i64)>,
    window: Duration,
    capacity: usize,
    /// The cache holds everything the store holds: no lookups needed.
    complete: bool,
}

/// Decisions of one batch, applied to the index once the batch is published.
#[derive(Debug, Default)]
pub struct Pending {
    known: Vec<(Uuid, u32)>,
    roots: Vec<(Key, Uuid, DateTime<FixedOffset>)>,
}

impl DedupIndex {
    pub fn new(window_hours: i64, capacity: usize) -> Self {
        DedupIndex {
            window: Duration::hours(window_hours),
            capacity: capacity.max(1000),
            ..Default::default()
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Forgets everything when the cache is over capacity; the store still knows.
    pub fn trim(&mut self) {
        if self.known.len() > self.capacity || self.roots.len() > self.capacity {
            self.reset();
        }
    }

    /// Forgets everything; later batches ask the store again. Used when the
    /// cache may hold decisions that were never committed.
    pub fn reset(&mut self) {
        self.known.clear();
        self.roots.clear();
        self.covered = None;
        self.complete = false;
    }

    /// Loads the whole store's dedup state (see `EventStore::dedup_snapshot`).
    pub fn load_complete(&mut self, known: HashMap<Uuid, u32>, roots: Vec<DupCandidate>) {
        self.reset();
        self.known = known;
        self.absorb_roots(None, roots);
        self.complete = true;
    }

    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Ids among `ids` the cache does not know; ask the store about these.
    pub fn unknown_ids<'a>(&self, ids: impl IntoIterator<Item = &'a Uuid>) -> Vec<Uuid> {
        if self.complete {
            return Vec::new();
        }
        ids.into_iter().filter(|id| !self.known.contains_key(id)).copied().collect()
    }

    /// Receive-time ranges whose originals the store must be asked for: the
    /// batch's span widened by the window, less what is loaded already.
    pub fn uncovered<'a>(&self, tickets: impl IntoIterator<Item = &'a Ticket>) -> Vec<(i64, i64)> {
        if self.complete {
            return Vec::new();
        }
        let span = tickets
            .into_iter()
            .filter(|t| t.citizen_key.is_some())
            .map(|t| t.received_at.timestamp())
            .fold(None, |s: Option<(i64, i64)>, at| {
                Some(s.map_or((at, at), |(lo, hi)| (lo.min(at), hi.max(at))))
            });
        let Some((lo, hi)) = span else {
            return Vec::new();
        };
        let w = self.window.num_seconds();
        let (lo, hi) = (lo - w, hi + w);
        match self.covered {
            None => vec![(lo, hi)],
            Some((c_lo, c_hi)) => {
                let mut v = Vec::new();
                if lo < c_lo {
                    v.push((lo, c_lo - 1));
                }
                if hi > c_hi {
                    v.push((c_hi + 1, hi));
                }
                v
            }
        }
    }

    pub fn absorb_known(&mut self, known: HashMap<Uuid, u32>) {
        for (id, v) in known {
            let e = self.known.entry(id).or_insert(v);
            *e = (*e).max(v);
        }
    }

    /// Adds originals found in the store for `range` (receive times).
    pub fn absorb_roots(&mut self, range: Option<(i64, i64)>, found: Vec<DupCandidate>) {
        if let Some((lo, hi)) = range {
            // Ranges come from `uncovered`, so they touch what is covered.
            self.covered = Some(match self.covered {
                Some((c_lo, c_hi)) => (c_lo.min(lo), c_hi.max(hi)),
                None => (lo, hi),
            });
        }
        for c in found {
            let list = self.roots.entry((c.citizen_key, c.text_hash)).or_default();
            if !list.iter().any(|(id, _)| *id == c.ticket_id) {
                list.push((c.ticket_id, c.received_at));
            }
        }
    }

    /// Decides a batch in order; later tickets see earlier ones of the batch.
    pub fn decide<'a>(&self, tickets: impl IntoIterator<Item = &'a Ticket>) -> (Vec<Decision>, Pending) {
        let mut pending = Pending::default();
        let mut batch_known: HashMap<Uuid, u32> = HashMap::new();
        let mut batch_roots: HashMap<Key, Vec<(Uuid, DateTime<FixedOffset>)>> = HashMap::new();
        let tickets = tickets.into_iter();
        let mut out = Vec::with_capacity(tickets.size_hint().0);
        for t in tickets {
            let seen = batch_known.get(&t.ticket_id).or_else(|| self.known.get(&t.ticket_id)).copied();
            let decision = match seen {
                Some(v) if t.version > v => Decision::Update,
                Some(_) => Decision::Replay,
                None => {
                    let key = t.citizen_key.clone().map(|c| (c, t.text_hash.clone()));
                    let within = |list: Option<&Vec<(Uuid, DateTime<FixedOffset>)>>| {
                        list.into_iter()
                            .flatten()
                            .filter(|(_, at)| (*at - t.received_at).abs() <= self.window)
                            .min_by_key(|(_, at)| (*at - t.received_at).abs())
                            .map(|(id, _)| *id)
                    };
                    // The cache's roots first, then this batch's: a root
                    // outside the window in one must not hide one inside
                    // it in the other.
                    let near = |k: &Key| within(self.roots.get(k)).or_else(|| within(batch_roots.get(k)));
                    // Across a key rotation, the citizen's tickets from
                    // before it carry a retired key.
                    let root = key.as_ref().and_then(near).or_else(|| {
                        t.previous_citizen_keys
                            .iter()
                            .find_map(|p| near(&(p.key.clone(), t.text_hash.clone())))
                    });
                    match (root, key) {
                        (Some(r), _) => Decision::Duplicate(r),
                        (None, Some(k)) => {
                            batch_roots.entry(k.clone()).or_default().push((t.ticket_id, t.received_at));
                            pending.roots.push((k, t.ticket_id, t.received_at));
                            Decision::New
                        }
                        (None, None) => Decision::New,
                    }
                }
            };
            if decision != Decision::Replay {
                batch_known.insert(t.ticket_id, t.version.max(seen.unwrap_or(0)));
                pending.known.push((t.ticket_id, t.version));
            }
            out.push(decision);
        }
        (out, pending)
    }

    pub fn commit(&mut self, p: Pending) {
        for (id, v) in p.known {
            let e = self.known.entry(id).or_insert(v);
            *e = (*e).max(v);
        }
        for (k, id, at) in p.roots {
            self.roots.entry(k).or_default().push((id, at));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::ticket_id;
    use minqing_connectors::Channel;

    fn t(ch: Channel, id: &str, citizen: Option<&str>, text: &str, at: &str, version: u32) -> Ticket {
        let tid = ticket_id(ch, id);
        Ticket {
            previous_citizen_keys: Vec::new(),
            ticket_id: tid,
            short_no: String::new(),
            channel: ch,
            source_id: id.into(),
            version,
            received_at: DateTime::parse_from_rfc3339(at).unwrap(),
            title: None,
            content: text.into(),
            content_truncated: false,
            appeal_type: None,
            category: None,
            town: None,
            location: None,
            coordinates: None,
            citizen_key: citizen.map(str::to_owned),
            citizen_key_id: None,
            contact_name: None,
            contact_phone: None,
            phone_masked: None,
            anonymous: false,
            attachments: vec![],
            text_hash: text.into(),
            duplicate_of: None,
            cluster_id: None,
            triage: None,
        }
    }

    #[test]
    fn replays_updates_and_duplicates_within_a_batch() {
        let idx = DedupIndex::new(72, 10_000);
        let a = t(Channel::Hotline12345, "1", Some("c1"), "路灯坏了", "2026-06-01T09:00:00+08:00", 0);
        let replay = a.clone();
        let dup = t(Channel::Supervision, "9", Some("c1"), "路灯坏了", "2026-06-03T08:00:00+08:00", 0);
        let late = t(Channel::Grid, "5", Some("c1"), "路灯坏了", "2026-06-05T10:00:00+08:00", 0);
        let other = t(Channel::Grid, "6", Some("c2"), "路灯坏了", "2026-06-01T10:00:00+08:00", 0);
        let v1 = t(Channel::YunshangApp, "p", None, "x", "2026-06-01T09:00:00+08:00", 1);
        let v2 = t(Channel::YunshangApp, "p", None, "y", "2026-06-01T09:00:00+08:00", 2);
        let (d, _) = idx.decide(&[a.clone(), replay, dup, late, other, v1.clone(), v2, v1]);
        assert_eq!(
            d,
            vec![
                Decision::New,
                Decision::Replay,
                Decision::Duplicate(a.ticket_id),
                Decision::New, // 73 hours after the original: outside the window
                Decision::New, // another citizen
                Decision::New,
                Decision::Update,
                Decision::Replay,
            ]
        );
    }

    #[test]
    fn nothing_is_remembered_until_commit() {
        let mut idx = DedupIndex::new(72, 10_000);
        let a = t(Channel::Hotline12345, "1", Some("c1"), "x", "2026-06-01T09:00:00+08:00", 0);
        let (_, pending) = idx.decide(std::slice::from_ref(&a));
        assert_eq!(idx.decide(std::slice::from_ref(&a)).0, vec![Decision::New]);
        idx.commit(pending);
        assert_eq!(idx.decide(std::slice::from_ref(&a)).0, vec![Decision::Replay]);
        let b = t(Channel::Grid, "2", Some("c1"), "x", "2026-06-02T09:00:00+08:00", 0);
        assert_eq!(idx.decide(&[b]).0, vec![Decision::Duplicate(a.ticket_id)]);
    }

    /// An old root of the same citizen and text, outside the window, does
    /// not hide a root inside it from earlier in the same batch.
    #[test]
    fn a_root_outside_the_window_does_not_hide_one_in_the_batch() {
        let mut idx = DedupIndex::new(72, 10_000);
        let old = t(Channel::Hotline12345, "0", Some("c1"), "x", "2026-05-01T09:00:00+08:00", 0);
        let (_, pending) = idx.decide(std::slice::from_ref(&old));
        idx.commit(pending);
        let a = t(Channel::Hotline12345, "1", Some("c1"), "x", "2026-06-01T09:00:00+08:00", 0);
        let b = t(Channel::Grid, "2", Some("c1"), "x", "2026-06-01T10:00:00+08:00", 0);
        let id = a.ticket_id;
        assert_eq!(idx.decide(&[a, b]).0, vec![Decision::New, Decision::Duplicate(id)]);
    }

    /// After a rotation a ticket keyed with the new key finds the same
    /// citizen's original keyed with the retired one.
    #[test]
    fn a_duplicate_is_found_across_a_key_rotation() {
        let mut idx = DedupIndex::new(72, 10_000);
        let old = t(Channel::Hotline12345, "1", Some("k1-key"), "x", "2026-06-01T09:00:00+08:00", 0);
        let (_, pending) = idx.decide(std::slice::from_ref(&old));
        idx.commit(pending);
        let mut new = t(Channel::Grid, "2", Some("k2-key"), "x", "2026-06-02T09:00:00+08:00", 0);
        assert_eq!(idx.decide(std::slice::from_ref(&new)).0, vec![Decision::New]);
        new.previous_citizen_keys = vec![crate::ticket::KeyLink {
            id: "k1".into(),
            key: "k1-key".into(),
        }];
        assert_eq!(idx.decide(&[new]).0, vec![Decision::Duplicate(old.ticket_id)]);
    }

    #[test]
    fn a_complete_cache_asks_nothing_until_reset() {
        let mut idx = DedupIndex::new(72, 10_000);
        let id = Uuid::new_v4();
        idx.load_complete(HashMap::new(), vec![]);
        assert!(idx.unknown_ids([&id]).is_empty());
        let probe = t(Channel::Grid, "p", Some("c"), "x", "2026-06-01T09:00:00+08:00", 0);
        assert!(idx.uncovered(std::slice::from_ref(&probe)).is_empty());
        idx.reset();
        assert_eq!(idx.unknown_ids([&id]), vec![id]);
        assert!(!idx.is_complete());
    }

    #[test]
    fn store_answers_fill_the_cache() {
        let mut idx = DedupIndex::new(72, 10_000);
        let a = t(Channel::Hotline12345, "1", Some("c1"), "x", "2026-06-01T09:00:00+08:00", 0);
        assert_eq!(idx.unknown_ids([&a.ticket_id]), vec![a.ticket_id]);
        idx.absorb_known(HashMap::from([(a.ticket_id, 0)]));
        assert!(idx.unknown_ids([&a.ticket_id]).is_empty());
        let root = Uuid::new_v4();
        let b = t(Channel::Grid, "2", Some("c9"), "y", "2026-06-01T10:00:00+08:00", 0);
        // The batch's span, widened by 72 hours on each side, must be loaded.
        let need = idx.uncovered(std::slice::from_ref(&b));
        let at = b.received_at.timestamp();
        assert_eq!(need, vec![(at - 72 * 3600, at + 72 * 3600)]);
        let found = DupCandidate {
            ticket_id: root,
            citizen_key: "c9".into(),
            text_hash: "y".into(),
            received_at: a.received_at,
        };
        idx.absorb_roots(Some(need[0]), vec![found]);
        assert!(idx.uncovered(std::slice::from_ref(&b)).is_empty());
        // A later batch needs only the part beyond what is covered.
        let later = t(Channel::Grid, "3", Some("c1"), "z", "2026-06-02T10:00:00+08:00", 0);
        assert_eq!(
            idx.uncovered(std::slice::from_ref(&later)),
            vec![(at + 72 * 3600 + 1, at + 96 * 3600)]
        );
        let b = t(Channel::Grid, "2", Some("c9"), "y", "2026-06-01T10:00:00+08:00", 0);
        assert_eq!(idx.decide(&[a, b]).0, vec![Decision::Replay, Decision::Duplicate(root)]);
    }
}
