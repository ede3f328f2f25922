//! Same-issue clusters: a union-find over cluster slots, each root holding
//! the cluster's statistics, and the 现场督办 triggers.
//!
//! A new ticket that matches tickets of two clusters bridges them: the
//! younger cluster is merged into the older one (the lower slot), so a
//! cluster keeps the id of its first ticket. Triggers fire once per
//! crossing: a cluster that has escalated for "3 citizens" never does so
//! again, nor does one citizen's "3 times in 30 days" in the same cluster,
//! and a merge keeps what either side had already fired.

use super::EscalationParams;
use std::collections::{HashMap, HashSet};

/// What made a cluster escalate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Trigger {
    /// One citizen (interned number) reported it this often within the days.
    SameCitizen(u32),
    /// This many distinct citizens reported it.
    Citizens,
}

/// A fired trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fired {
    pub root: u32,
    pub trigger: Trigger,
    /// Reports (same citizen, within the days) or distinct citizens.
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterData {
    /// The slot's first doc; its ticket names the cluster.
    pub founder: u32,
    pub first: i64,
    pub last: i64,
    pub members: u32,
    /// Per citizen, the times of their reports (duplicates excluded).
    by_citizen: HashMap<u32, Vec<i64>>,
    escalated_citizens: bool,
    escalated_same: HashSet<u32>,
}

impl ClusterData {
    pub fn citizens(&self) -> u32 {
        self.by_citizen.len() as u32
    }
}

#[derive(Debug, Default)]
pub struct Clusters {
    parent: Vec<u32>,
    data: Vec<Option<ClusterData>>,
}

impl Clusters {
    pub fn find(&mut self, mut s: u32) -> u32 {
        let mut root = s;
        while self.parent[root as usize] != root {
            root = self.parent[root as usize];
        }
        while self.parent[s as usize] != root {
            let up = self.parent[s as usize];
            self.parent[s as usize] = root;
            s = up;
        }
        root
    }

    pub fn get(&self, root: u32) -> &ClusterData {
        self.data[root as usize].as_ref().expect("a root holds its data")
    }

    pub fn len(&self) -> usize {
        self.parent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// A cluster of one ticket.
    pub fn create(&mut self, founder: u32, at: i64) -> u32 {
        let s = self.parent.len() as u32;
        self.parent.push(s);
        self.data.push(Some(ClusterData {
            founder,
            first: at,
            last: at,
            members: 0,
            by_citizen: HashMap::new(),
            escalated_citizens: false,
            escalated_same: HashSet::new(),
        }));
        s
    }

    /// Counts a ticket in a cluster; a duplicate adds a member, not a report.
    pub fn join(&mut self, root: u32, at: i64, citizen: Option<u32>, duplicate: bool) {
        let c = self.data[root as usize].as_mut().expect("root");
        c.members += 1;
        c.first = c.first.min(at);
        c.last = c.last.max(at);
        if let Some(who) = citizen {
            let times = c.by_citizen.entry(who).or_default();
            if !duplicate {
                times.push(at);
            }
        }
    }

    /// Merges two roots into the older (lower) one; returns (into, from).
    pub fn merge(&mut self, a: u32, b: u32) -> (u32, u32) {
        let (into, from) = if a < b { (a, b) } else { (b, a) };
        let f = self.data[from as usize].take().expect("root");
        self.parent[from as usize] = into;
        let c = self.data[into as usize].as_mut().expect("root");
        c.members += f.members;
        c.first = c.first.min(f.first);
        c.last = c.last.max(f.last);
        for (who, times) in f.by_citizen {
            c.by_citizen.entry(who).or_default().extend(times);
        }
        c.escalated_citizens |= f.escalated_citizens;
        c.escalated_same.extend(f.escalated_same);
        (into, from)
    }

    /// Marks triggers as already fired (restoring from a store).
    pub fn mark_fired(&mut self, root: u32, trigger: Trigger) {
        let c = self.data[root as usize].as_mut().expect("root");
        match trigger {
            Trigger::Citizens => c.escalated_citizens = true,
            Trigger::SameCitizen(w) => {
                c.escalated_same.insert(w);
            }
        }
    }

    /// Fires what the cluster now crosses: for `who` only, or for every
    /// citizen after a merge. Reports may arrive out of order (channels are
    /// polled independently), so a citizen's count is the most reports
    /// that fall within any `same_citizen_days` span, not the span before
    /// the latest arrival.
    pub fn check(&mut self, root: u32, who: Option<u32>, all: bool, p: &EscalationParams) -> Vec<Fired> {
        let c = self.data[root as usize].as_mut().expect("root");
        let mut out = Vec::new();
        let span = p.same_citizen_days * 86_400;
        // Only the reporting citizen can cross their threshold, unless a
        // merge brought reports together.
        let candidates: Vec<u32> = if all {
            c.by_citizen.keys().copied().collect()
        } else {
            who.into_iter().collect()
        };
        for w in candidates {
            if c.escalated_same.contains(&w) {
                continue;
            }
            let Some(times) = c.by_citizen.get_mut(&w) else { continue };
            times.sort_unstable();
            let n = densest(times, span);
            if n >= p.same_citizen {
                c.escalated_same.insert(w);
                out.push(Fired {
                    root,
                    trigger: Trigger::SameCitizen(w),
                    count: n,
                });
            }
        }
        out.sort_by_key(|f| f.trigger);
        if !c.escalated_citizens && c.citizens() >= p.citizens {
            c.escalated_citizens = true;
            out.push(Fired {
                root,
                trigger: Trigger::Citizens,
                count: c.citizens(),
            });
        }
        out
    }
}

/// The most of the sorted `times` within any `span` seconds.
fn densest(times: &[i64], span: i64) -> u32 {
    let (mut best, mut lo) = (0, 0);
    for hi in 0..times.len() {
        while times[hi] - times[lo] > span {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn merge_keeps_the_older_root_and_adds_up() {
        let mut c = Clusters::default();
        let a = c.create(0, 10 * DAY);
        c.join(a, 10 * DAY, Some(1), false);
        let b = c.create(1, 5 * DAY);
        c.join(b, 5 * DAY, Some(2), false);
        c.join(b, 6 * DAY, Some(1), false);
        let (into, from) = c.merge(b, a);
        assert_eq!((into, from), (a, b));
        assert_eq!(c.find(b), a);
        let d = c.get(a);
        assert_eq!((d.members, d.citizens(), d.first, d.last), (3, 2, 5 * DAY, 10 * DAY));
    }

    #[test]
    fn each_trigger_fires_once_per_crossing() {
        let p = EscalationParams::default();
        let mut c = Clusters::default();
        let r = c.create(0, 0);
        // One citizen, three times in 30 days; a duplicate does not count.
        c.join(r, 0, Some(7), false);
        c.join(r, DAY, Some(7), true);
        assert!(c.check(r, Some(7), false, &p).is_empty());
        c.join(r, 2 * DAY, Some(7), false);
        assert!(c.check(r, Some(7), false, &p).is_empty());
        c.join(r, 20 * DAY, Some(7), false);
        let f = c.check(r, Some(7), false, &p);
        assert_eq!(
            f,
            vec![Fired {
                root: r,
                trigger: Trigger::SameCitizen(7),
                count: 3
            }]
        );
        c.join(r, 21 * DAY, Some(7), false);
        assert!(c.check(r, Some(7), false, &p).is_empty(), "once, not per ticket");
        // Two more citizens: the third distinct one fires, once.
        c.join(r, 22 * DAY, Some(8), false);
        assert!(c.check(r, Some(8), false, &p).is_empty());
        c.join(r, 23 * DAY, Some(9), false);
        let f = c.check(r, Some(9), false, &p);
        assert_eq!(
            f,
            vec![Fired {
                root: r,
                trigger: Trigger::Citizens,
                count: 3
            }]
        );
        c.join(r, 24 * DAY, Some(10), false);
        assert!(c.check(r, Some(10), false, &p).is_empty());
    }

    #[test]
    fn reports_spread_over_more_than_the_days_do_not_fire() {
        let p = EscalationParams::default();
        let mut c = Clusters::default();
        let r = c.create(0, 0);
        for day in [0, 20, 40] {
            c.join(r, day * DAY, Some(1), false);
            assert!(c.check(r, Some(1), false, &p).is_empty(), "day {day}");
        }
        c.join(r, 45 * DAY, Some(1), false);
        assert_eq!(c.check(r, Some(1), false, &p).len(), 1, "20, 40, 45 fall within 30 days");
    }

    #[test]
    fn reports_arriving_out_of_order_still_fire_once() {
        // Channels are polled independently: the last report may be
        // decided before the middle one.
        let p = EscalationParams::default();
        let mut c = Clusters::default();
        let r = c.create(0, 0);
        for day in [0, 6] {
            c.join(r, day * DAY, Some(1), false);
            assert!(c.check(r, Some(1), false, &p).is_empty(), "day {day}");
        }
        c.join(r, 3 * DAY, Some(1), false);
        assert_eq!(c.check(r, Some(1), false, &p).len(), 1);
        c.join(r, 2 * DAY, Some(1), false);
        assert!(c.check(r, Some(1), false, &p).is_empty());
    }

    #[test]
    fn a_merge_can_cross_a_threshold_and_keeps_what_fired() {
        let p = EscalationParams::default();
        let mut c = Clusters::default();
        let a = c.create(0, 0);
        c.join(a, 0, Some(1), false);
        c.join(a, DAY, Some(1), false);
        let b = c.create(2, 2 * DAY);
        c.join(b, 2 * DAY, Some(1), false);
        c.join(b, 2 * DAY, Some(2), false);
        c.join(b, 2 * DAY, Some(3), false);
        assert_eq!(c.check(b, Some(3), false, &p).len(), 1, "b: 3 citizens");
        let (into, _) = c.merge(a, b);
        let f = c.check(into, None, true, &p);
        assert_eq!(
            f,
            vec![Fired {
                root: a,
                trigger: Trigger::SameCitizen(1),
                count: 3
            }],
            "citizens already fired in b"
        );
    }
}
