//! One call per ticket, in order of arrival: its verified matches decide
//! `duplicate_of` (same citizen, near-identical, within hours) and its
//! cluster (same issue over weeks), merge clusters it bridges, and fire the
//! 现场督办 triggers the cluster now crosses.
//!
//! The engine is deterministic: the same tickets in the same order give the
//! same links. [`NearDup::restore`] rebuilds it from stored links (for
//! start-up) without deciding anything again.

use super::Params;
use super::cluster::{Clusters, Trigger};
use super::index::{Index, Prepared, Text};
use std::collections::HashMap;
use std::hash::Hash;

const NONE: u32 = u32::MAX;

/// A ticket as the engine sees it.
#[derive(Debug, Clone, Copy)]
pub struct Ticket<'a, I> {
    pub id: &'a I,
    pub title: Option<&'a str>,
    pub text: &'a str,
    /// The keyed citizen hash; anonymous tickets have none.
    pub citizen: Option<&'a str>,
    pub town: Option<&'a str>,
    /// Unix seconds.
    pub at: i64,
}

impl<I> Ticket<'_, I> {
    fn text(&self) -> Text<'_> {
        Text {
            title: self.title,
            text: self.text,
            town: self.town,
            at: self.at,
        }
    }
}

/// What the engine decided for one ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<I> {
    /// The original this ticket duplicates, with their similarity.
    pub duplicate_of: Option<(I, f64)>,
    /// The cluster: the id of its first ticket.
    pub cluster: I,
    /// The most similar earlier ticket, if any.
    pub similar: Option<(I, f64)>,
    /// Clusters this ticket bridged, now merged into `cluster`.
    pub merged: Vec<I>,
    pub escalations: Vec<Escalation<I>>,
    pub members: u32,
    pub citizens: u32,
}

/// A 现场督办 proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct Escalation<I> {
    pub cluster: I,
    /// `same_citizen` or `citizens`.
    pub trigger: &'static str,
    /// For `same_citizen`: whose reports.
    pub citizen: Option<String>,
    pub count: u32,
}

/// A stored ticket's links, for [`NearDup::restore`].
#[derive(Debug, Clone)]
pub struct Stored<'a, I> {
    pub ticket: Ticket<'a, I>,
    pub cluster: Option<&'a I>,
    pub duplicate_of: Option<&'a I>,
}

/// Cluster statistics for stores and reports.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterInfo<I> {
    pub id: I,
    pub first: i64,
    pub last: i64,
    pub members: u32,
    pub citizens: u32,
}

pub struct NearDup<I> {
    params: Params,
    index: Index,
    clusters: Clusters,
    ids: Vec<I>,
    by_id: HashMap<I, u32>,
    /// Per doc: its cluster slot, its original (or NONE), its citizen.
    slot: Vec<u32>,
    original: Vec<u32>,
    citizen: Vec<u32>,
    citizens: HashMap<String, u32>,
    citizen_names: Vec<String>,
    /// Cluster id → slot, for restoring.
    cluster_slot: HashMap<I, u32>,
    /// Restored clusters named after a ticket no longer in the index.
    named: HashMap<u32, I>,
}

impl<I: Clone + Eq + Hash> NearDup<I> {
    pub fn new(params: &Params) -> Self {
        NearDup {
            index: Index::new(params),
            params: params.clone(),
            clusters: Clusters::default(),
            ids: Vec::new(),
            by_id: HashMap::new(),
            slot: Vec::new(),
            original: Vec::new(),
            citizen: Vec::new(),
            citizens: HashMap::new(),
            citizen_names: Vec::new(),
            cluster_slot: HashMap::new(),
            named: HashMap::new(),
        }
    }

    /// Room for `n` more tickets (the window's expected size), so the
    /// index does not rehash while tickets wait.
    pub fn reserve(&mut self, n: usize) {
        self.index.reserve(n);
        self.ids.reserve(n);
        self.by_id.reserve(n);
        self.slot.reserve(n);
        self.original.reserve(n);
        self.citizen.reserve(n);
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn contains(&self, id: &I) -> bool {
        self.by_id.contains_key(id)
    }

    /// Shingles and band keys; pure, for preparing batches on many threads.
    pub fn prepare(&self, t: &Ticket<'_, I>) -> Prepared {
        self.index.prepare(&t.text())
    }

    fn intern(&mut self, who: Option<&str>) -> u32 {
        let Some(w) = who else { return NONE };
        if let Some(&n) = self.citizens.get(w) {
            return n;
        }
        let n = self.citizen_names.len() as u32;
        self.citizens.insert(w.to_owned(), n);
        self.citizen_names.push(w.to_owned());
        n
    }

    fn root(&mut self, doc: u32) -> u32 {
        self.clusters.find(self.slot[doc as usize])
    }

    fn founder_id(&self, root: u32) -> I {
        match self.named.get(&root) {
            Some(name) => name.clone(),
            None => self.ids[self.clusters.get(root).founder as usize].clone(),
        }
    }

    /// Decides one ticket and adds it. A ticket already added gets its
    /// standing links again and changes nothing.
    pub fn add(&mut self, t: &Ticket<'_, I>) -> Outcome<I> {
        let p = self.prepare(t);
        self.add_prepared(t, p)
    }

    /// A picture or location sent without words names no issue: it is a
    /// cluster of its own and is never compared with anything.
    fn wordless(t: &Ticket<'_, I>) -> bool {
        t.title.is_none_or(|x| x.trim().is_empty()) && minqing_connectors::appeal::is_media_placeholder(t.text)
    }

    pub fn add_prepared(&mut self, t: &Ticket<'_, I>, p: Prepared) -> Outcome<I> {
        if let Some(&d) = self.by_id.get(t.id) {
            return self.standing(d);
        }
        let wordless = Self::wordless(t);
        let p = if wordless { Prepared::empty(t.at) } else { p };
        let who = self.intern(t.citizen);
        let (clusters, slot, citizen) = (&mut self.clusters, &self.slot, &self.citizen);
        // The same citizen's tickets are always checked: one may be this
        // ticket's original.
        let matches = self
            .index
            .matches(&p, |d| (clusters.find(slot[d as usize]), who != NONE && citizen[d as usize] == who));
        let dup_window = self.params.duplicate_window_hours * 3600;
        let dup = matches
            .iter()
            .filter(|m| {
                who != NONE
                    && self.citizen[m.doc as usize] == who
                    && m.full >= self.params.duplicate_threshold
                    && (p.at - self.index_at(m.doc)).abs() <= dup_window
            })
            .max_by(|a, b| a.full.total_cmp(&b.full).then(b.doc.cmp(&a.doc)))
            .copied();
        let mut roots: Vec<u32> = matches.iter().map(|m| self.root(m.doc)).collect();
        roots.sort_unstable();
        roots.dedup();
        let d = self.ids.len() as u32;
        let mut merged = Vec::new();
        let root = match roots.split_first() {
            None => self.clusters.create(d, t.at),
            Some((&first, rest)) => {
                let mut root = first;
                for &r in rest {
                    merged.push(self.founder_id(r));
                    root = self.clusters.merge(root, r).0;
                }
                root
            }
        };
        let is_dup = dup.is_some();
        self.clusters.join(root, t.at, (who != NONE).then_some(who), is_dup);
        let original = dup.map(|m| match self.original[m.doc as usize] {
            NONE => m.doc,
            o => o,
        });
        self.push(t.id, d, root, original.unwrap_or(NONE), who);
        self.index.insert(p, !is_dup && !wordless);
        let fired = self
            .clusters
            .check(root, (who != NONE).then_some(who), !merged.is_empty(), &self.params.escalation);
        let cluster = self.founder_id(root);
        let c = self.clusters.get(root);
        Outcome {
            duplicate_of: original.map(|o| (self.ids[o as usize].clone(), dup.map_or(0.0, |m| m.full))),
            similar: matches.first().map(|m| (self.ids[m.doc as usize].clone(), m.full.max(m.head))),
            merged,
            members: c.members,
            citizens: c.citizens(),
            escalations: fired
                .into_iter()
                .map(|f| Escalation {
                    cluster: cluster.clone(),
                    trigger: match f.trigger {
                        Trigger::Citizens => "citizens",
                        Trigger::SameCitizen(_) => "same_citizen",
                    },
                    citizen: match f.trigger {
                        Trigger::SameCitizen(w) => Some(self.citizen_names[w as usize].clone()),
                        Trigger::Citizens => None,
                    },
                    count: f.count,
                })
                .collect(),
            cluster,
        }
    }

    fn index_at(&self, doc: u32) -> i64 {
        self.index.at(doc)
    }

    fn push(&mut self, id: &I, d: u32, root: u32, original: u32, who: u32) {
        self.ids.push(id.clone());
        self.by_id.insert(id.clone(), d);
        self.slot.push(root);
        self.original.push(original);
        self.citizen.push(who);
    }

    /// The links a known ticket already has.
    fn standing(&mut self, d: u32) -> Outcome<I> {
        let root = self.root(d);
        let c = self.clusters.get(root).clone();
        Outcome {
            duplicate_of: match self.original[d as usize] {
                NONE => None,
                o => Some((self.ids[o as usize].clone(), 1.0)),
            },
            cluster: self.founder_id(root),
            similar: None,
            merged: Vec::new(),
            escalations: Vec::new(),
            members: c.members,
            citizens: c.citizens(),
        }
    }

    /// Adds a stored ticket with the links it already has: no matching, no
    /// merging, no triggers. Tickets must come in their stored order;
    /// `fired` lists the triggers each cluster has already fired.
    pub fn restore(&mut self, s: &Stored<'_, I>) {
        let t = &s.ticket;
        if self.by_id.contains_key(t.id) {
            return;
        }
        let wordless = Self::wordless(t);
        let p = if wordless { Prepared::empty(t.at) } else { self.prepare(t) };
        let who = self.intern(t.citizen);
        let d = self.ids.len() as u32;
        let cluster_id = s.cluster.unwrap_or(t.id).clone();
        let root = match self.cluster_slot.get(&cluster_id) {
            Some(&slot) => self.clusters.find(slot),
            None => {
                let slot = self.clusters.create(d, t.at);
                self.cluster_slot.insert(cluster_id.clone(), slot);
                slot
            }
        };
        let original = s.duplicate_of.and_then(|o| self.by_id.get(o).copied()).unwrap_or(NONE);
        let is_dup = s.duplicate_of.is_some();
        self.clusters.join(root, t.at, (who != NONE).then_some(who), is_dup);
        self.push(t.id, d, root, original, who);
        self.index.insert(p, !is_dup && !wordless);
        // The cluster may be named after a ticket older than the window.
        if self.clusters.get(root).founder == d && &cluster_id != t.id {
            self.named.insert(root, cluster_id);
        }
    }

    /// Marks a stored escalation as done, so it does not fire again.
    pub fn restore_escalation(&mut self, cluster: &I, citizen: Option<&str>) {
        let Some(&slot) = self.cluster_slot.get(cluster) else { return };
        let root = self.clusters.find(slot);
        let trigger = match citizen {
            Some(w) => Trigger::SameCitizen(self.intern(Some(w))),
            None => Trigger::Citizens,
        };
        self.clusters.mark_fired(root, trigger);
    }

    /// The cluster a ticket belongs to now (merges included).
    pub fn cluster_of(&mut self, id: &I) -> Option<I> {
        let d = *self.by_id.get(id)?;
        let root = self.root(d);
        Some(self.founder_id(root))
    }

    /// The original a ticket duplicates, if it does.
    pub fn duplicate_of(&self, id: &I) -> Option<I> {
        let d = *self.by_id.get(id)?;
        match self.original[d as usize] {
            NONE => None,
            o => Some(self.ids[o as usize].clone()),
        }
    }

    /// Clusters of at least `min_members` tickets.
    pub fn clusters(&mut self, min_members: u32) -> Vec<ClusterInfo<I>> {
        let mut out = Vec::new();
        for s in 0..self.clusters.len() as u32 {
            if self.clusters.find(s) != s {
                continue;
            }
            let c = self.clusters.get(s).clone();
            if c.members >= min_members {
                out.push(ClusterInfo {
                    id: self.founder_id(s),
                    first: c.first,
                    last: c.last,
                    members: c.members,
                    citizens: c.citizens(),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600;
    const DAY: i64 = 86_400;

    const NOISE: &str = "金湖街道汪仁社区金色家园小区门口的烧烤摊每天晚上营业到凌晨两点，油烟直接排进三楼住户家里，噪音吵得老人孩子睡不着觉，已经持续两个多月了。";
    const NOISE_AGAIN: &str = "您好！再次反映：金湖街道汪仁社区金色家园小区门口烧烤摊每天晚上营业到凌晨两点，油烟直排三楼住户家里，噪音吵得老人孩子睡不着，已经两个多月了，一直没人管。";
    const ROAD: &str =
        "还地桥镇还地桥村到保安镇的公路有一段塌陷了，大概五米长，晚上没有路灯也没有警示牌，昨天已经有一辆电动车摔倒了，请尽快修复。";
    const ROAD_AGAIN: &str =
        "还地桥镇还地桥村到保安镇公路有一段塌陷，约五米长，晚上没有路灯也没有警示牌，已经有电动车摔倒，请相关部门尽快修复，谢谢。";
    const WAGES: &str =
        "我在东岳路街道一家建筑工地干了八个月，老板拖欠我们十二个工人的工资共计二十多万元，过年前答应结清，现在电话也不接了。";

    struct T {
        id: &'static str,
        text: &'static str,
        who: &'static str,
        town: &'static str,
        at: i64,
    }

    fn t(id: &'static str, text: &'static str, who: &'static str, town: &'static str, at: i64) -> T {
        T { id, text, who, town, at }
    }

    fn add(e: &mut NearDup<String>, x: &T) -> Outcome<String> {
        e.add(&Ticket {
            id: &x.id.to_owned(),
            title: None,
            text: x.text,
            citizen: Some(x.who),
            town: Some(x.town),
            at: x.at,
        })
    }

    fn engine() -> NearDup<String> {
        NearDup::new(&Params::default())
    }

    #[test]
    fn a_retyped_appeal_of_the_same_citizen_within_72_hours_is_a_duplicate() {
        let mut e = engine();
        let a = add(&mut e, &t("a", NOISE, "c1", "金湖街道", 0));
        assert_eq!((a.cluster.as_str(), a.duplicate_of.clone()), ("a", None));
        // The same words in another order, with a greeting, two days later.
        let b = add(&mut e, &t("b", NOISE_AGAIN, "c1", "金湖街道", 2 * DAY));
        assert_eq!(b.cluster, "a");
        assert!(b.duplicate_of.is_none(), "reworded, not near-identical: {b:?}");
        let c = add(&mut e, &t("c", NOISE, "c1", "金湖街道", 2 * DAY + H));
        assert_eq!(c.duplicate_of.as_ref().map(|d| d.0.as_str()), Some("a"));
        assert_eq!(c.cluster, "a");
        // Another citizen, or four days later: the same issue, not a duplicate.
        let d = add(&mut e, &t("d", NOISE, "c2", "金湖街道", 2 * DAY + 2 * H));
        assert_eq!((d.cluster.as_str(), d.duplicate_of.clone()), ("a", None));
        let f = add(&mut e, &t("f", NOISE, "c1", "金湖街道", 7 * DAY));
        assert_eq!((f.cluster.as_str(), f.duplicate_of.clone()), ("a", None));
        // A duplicate of a duplicate points at the original.
        let g = add(&mut e, &t("g", NOISE, "c2", "金湖街道", 2 * DAY + 3 * H));
        assert_eq!(g.duplicate_of.as_ref().map(|d| d.0.as_str()), Some("d"));
        // Again: nothing changes.
        assert_eq!(add(&mut e, &t("g", NOISE, "c2", "金湖街道", 9 * DAY)).cluster, "a");
        assert_eq!(e.len(), 6);
    }

    #[test]
    fn other_towns_other_issues_and_old_tickets_do_not_link() {
        let mut e = engine();
        add(&mut e, &t("a", ROAD, "c1", "还地桥镇", 0));
        assert_eq!(add(&mut e, &t("b", ROAD_AGAIN, "c2", "保安镇", DAY)).cluster, "b", "another town");
        assert_eq!(add(&mut e, &t("c", WAGES, "c3", "还地桥镇", DAY)).cluster, "c", "another issue");
        assert_eq!(
            add(&mut e, &t("d", ROAD_AGAIN, "c4", "还地桥镇", 91 * DAY)).cluster,
            "d",
            "past the window"
        );
        assert_eq!(add(&mut e, &t("e", ROAD_AGAIN, "c5", "还地桥镇", 2 * DAY)).cluster, "a");
    }

    #[test]
    fn pictures_and_locations_without_words_are_clusters_of_their_own() {
        let mut e = engine();
        let pics = [
            "[图片] http://mmbiz.qpic.cn/mmbiz_jpg/24000000000000007/0",
            "[图片] http://mmbiz.qpic.cn/mmbiz_jpg/24000000000000008/0",
            "[位置] 大冶市金湖街道金湖社区3号楼",
            "[位置] 大冶市金湖街道金湖社区3号楼",
        ];
        for (i, text) in pics.into_iter().enumerate() {
            let id = format!("p{i}");
            let o = e.add(&Ticket {
                id: &id,
                title: None,
                text,
                citizen: Some("c1"),
                town: Some("金湖街道"),
                at: i as i64 * H,
            });
            assert_eq!((o.cluster, o.duplicate_of, o.members), (id, None, 1));
        }
        // Words after them still cluster as usual.
        add(&mut e, &t("a", ROAD, "c1", "金湖街道", 0));
        assert_eq!(add(&mut e, &t("b", ROAD_AGAIN, "c2", "金湖街道", DAY)).cluster, "a");
    }

    #[test]
    fn a_ticket_that_bridges_two_clusters_merges_them_into_the_older() {
        // X+Y and Y+Z share a third (below the threshold); X+Y+Z shares
        // two thirds with each.
        const X: &str = "灵乡镇新街菜市场门口的下水道堵塞了半个月，污水漫到路面上，臭味很大。";
        const Y: &str = "附近商户和居民出行很不方便，买菜的老人摔倒过好几次，存在很大安全隐患。";
        const Z: &str = "旁边的路灯也坏了十几盏，晚上一片漆黑，多次打电话反映一直没有人来处理。";
        let mut e = engine();
        assert_eq!(add(&mut e, &t("a", [X, Y].concat().leak(), "c1", "灵乡镇", 0)).cluster, "a");
        assert_eq!(add(&mut e, &t("b", [Y, Z].concat().leak(), "c2", "灵乡镇", H)).cluster, "b");
        let c = add(&mut e, &t("c", [X, Y, Z].concat().leak(), "c3", "灵乡镇", 2 * H));
        assert_eq!((c.cluster.as_str(), c.merged.clone()), ("a", vec!["b".to_owned()]));
        assert_eq!((c.members, c.citizens), (3, 3));
        assert_eq!(e.cluster_of(&"b".to_owned()).as_deref(), Some("a"));
        let info = e.clusters(2);
        assert_eq!(info.len(), 1);
        assert_eq!((info[0].first, info[0].last), (0, 2 * H));
    }

    #[test]
    fn three_citizens_and_three_reports_in_30_days_each_escalate_once() {
        let mut e = engine();
        let mut fired = Vec::new();
        for (i, (who, at)) in [
            ("c1", 0),
            ("c1", 5 * DAY),
            ("c2", 6 * DAY),
            ("c1", 20 * DAY),
            ("c3", 21 * DAY),
            ("c4", 22 * DAY),
            ("c1", 23 * DAY),
        ]
        .into_iter()
        .enumerate()
        {
            let id = format!("t{i}").leak();
            let text = if i % 2 == 0 { NOISE } else { NOISE_AGAIN };
            let o = add(&mut e, &t(id, text, who, "金湖街道", at));
            fired.extend(o.escalations.into_iter().map(|x| (i, x.trigger, x.citizen, x.count)));
        }
        assert_eq!(
            fired,
            vec![(3, "same_citizen", Some("c1".to_owned()), 3), (4, "citizens", None, 3),]
        );
    }

    fn tickets() -> Vec<T> {
        let texts = [NOISE, NOISE_AGAIN, ROAD, ROAD_AGAIN, WAGES];
        let towns = ["金湖街道", "金湖街道", "还地桥镇", "还地桥镇", "东岳路街道"];
        (0..40)
            .map(|i| {
                let k = (i * 7 + i / 3) % 5;
                t(
                    format!("t{i:02}").leak(),
                    texts[k],
                    ["c1", "c2", "c3", "c4"][(i * 3) % 4],
                    towns[k],
                    i as i64 * 6 * H,
                )
            })
            .collect()
    }

    #[test]
    fn an_engine_restored_from_stored_links_continues_as_the_incremental_one() {
        let all = tickets();
        let mut straight = engine();
        let outcomes: Vec<_> = all.iter().map(|x| add(&mut straight, x)).collect();
        assert!(outcomes.iter().any(|o| !o.escalations.is_empty()), "the fixture escalates");
        assert!(outcomes.iter().any(|o| o.duplicate_of.is_some()), "the fixture duplicates");

        let cut = 23;
        let mut first = engine();
        let mut fired = Vec::new();
        for x in &all[..cut] {
            let o = add(&mut first, x);
            fired.extend(o.escalations.into_iter().map(|x| (x.cluster, x.citizen)));
        }
        // What a store holds: each ticket with its cluster (merges applied)
        // and original, and the escalations made.
        let stored: Vec<(String, String, Option<String>)> = all[..cut]
            .iter()
            .zip(&outcomes)
            .map(|(x, o)| {
                let id = x.id.to_owned();
                let c = first.cluster_of(&id).unwrap();
                (id, c, o.duplicate_of.clone().map(|d| d.0))
            })
            .collect();
        let mut restored = engine();
        for ((id, c, dup), x) in stored.iter().zip(&all) {
            restored.restore(&Stored {
                ticket: Ticket {
                    id,
                    title: None,
                    text: x.text,
                    citizen: Some(x.who),
                    town: Some(x.town),
                    at: x.at,
                },
                cluster: Some(c),
                duplicate_of: dup.as_ref(),
            });
        }
        for (c, who) in &fired {
            let c = first.cluster_of(c).unwrap();
            restored.restore_escalation(&c, who.as_deref());
        }
        for (x, want) in all[cut..].iter().zip(&outcomes[cut..]) {
            let got = add(&mut restored, x);
            assert_eq!(
                (&got.cluster, &got.duplicate_of, &got.escalations, got.members, got.citizens),
                (&want.cluster, &want.duplicate_of, &want.escalations, want.members, want.citizens),
                "ticket {}",
                x.id
            );
        }
        for x in &all {
            let id = x.id.to_owned();
            assert_eq!(restored.cluster_of(&id), straight.cluster_of(&id));
        }
    }
}
