//! Hotspots (热点问题): one issue at one place raised by many people, in
//! their own words. Appeals are joined into issues ([`group`]) when
//!
//! - they name the same finer place ([`place`]: a 小区, road, school,
//!   market, village, company…) and their texts are at least
//!   `place_similarity` alike (character-bigram TF-IDF cosine), or
//! - their texts are at least `text_similarity` alike wherever they are
//!   (one scheme's victims, a rewording of one letter), or
//! - the near-duplicate engine already put them in one same-issue cluster
//!   (the warehouse's `cluster_id`).
//!
//! Each issue gets a heat index ([`heat`], docs/analysts.md):
//!
//! `heat = C + 0.3 (M − C) + 0.2 ln(1 + V) + 2^(−age / half_life) + 0.5 min(max(z, 0), 5)`
//!
//! with C its distinct citizens, M its appeals, V the votes (likes) its
//! appeals got where the channel has them, `age` the days since its last
//! appeal, and z the rising score ([`super::rising`]) of its appeals in the
//! last `growth_days` against its own trailing periods of that length.
//! Citizens count first: one more citizen outweighs three more appeals,
//! and fewer than about 150 votes (e^5).

pub mod csv;
pub mod eval;
pub mod place;
pub mod stored;
mod vectors;

use super::rising::{RisingSettings, rises};
use crate::warehouse::saved::{Cell, Table};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};

/// `[analysis.hotspots]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HotspotSettings {
    /// Cosine from which two appeals naming one place are one issue.
    pub place_similarity: f64,
    /// Cosine from which two appeals are one issue wherever they are.
    pub text_similarity: f64,
    /// Two issues join when the mean cosine between their appeals reaches
    /// this share of the threshold of the pair that links them.
    pub issue_share: f64,
    /// An issue needs this many distinct citizens to be a hotspot.
    pub min_citizens: usize,
    /// Days in which the recency term halves.
    pub half_life_days: f64,
    /// The period growth is measured over, in days.
    pub growth_days: i64,
    /// Hotspots listed when `--top` is not given.
    pub top: usize,
}

impl Default for HotspotSettings {
    fn default() -> Self {
        HotspotSettings {
            place_similarity: 0.14,
            text_similarity: 0.6,
            issue_share: 0.5,
            min_citizens: 2,
            half_life_days: 14.0,
            growth_days: 7,
            top: 10,
        }
    }
}

/// One appeal as hotspot mining reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: String,
    /// Who wrote it: a user id, or a citizen's keyed hash.
    pub user: String,
    pub title: String,
    pub text: String,
    /// Local time.
    pub at: NaiveDateTime,
    pub up_votes: i64,
    pub down_votes: i64,
    /// The near-duplicate engine's same-issue cluster, where known.
    pub cluster: Option<String>,
    /// The gazetteer's town, where known: one place is in one town.
    pub town: Option<String>,
}

/// One hotspot issue.
#[derive(Debug, Clone, PartialEq)]
pub struct Hotspot {
    pub rank: usize,
    pub heat: f64,
    pub citizens: usize,
    /// Indexes into the messages, in time order.
    pub members: Vec<usize>,
    pub first: NaiveDateTime,
    pub last: NaiveDateTime,
    pub place: String,
    pub description: String,
    pub rising: bool,
}

/// Issues as they form: a union-find over message indexes that keeps each
/// issue's members, so that two issues join only if they are alike as
/// wholes: the mean cosine between (up to [`SAMPLE`] of) their members.
/// Single links chained the simulators' templated appeals of one street
/// into an "issue" of 1,600 citizens, and summed vectors drifted towards
/// the words every letter shares.
struct Groups<'v> {
    parent: Vec<usize>,
    members: Vec<Vec<usize>>,
    vecs: &'v [vectors::Vector],
    /// The places and towns each issue's appeals name: an appeal that names
    /// none must not bridge two issues at different places.
    places: Vec<BTreeSet<String>>,
    towns: Vec<BTreeSet<String>>,
}

/// Members of each issue compared when two issues may join.
const SAMPLE: usize = 8;

impl<'v> Groups<'v> {
    fn new(vecs: &'v [vectors::Vector], places: &[Vec<String>], messages: &[Message]) -> Groups<'v> {
        Groups {
            parent: (0..vecs.len()).collect(),
            members: (0..vecs.len()).map(|i| vec![i]).collect(),
            vecs,
            places: places.iter().map(|p| p.iter().cloned().collect()).collect(),
            towns: messages.iter().map(|m| m.town.iter().cloned().collect()).collect(),
        }
    }

    /// Whether the issues of `a` and `b` are placed apart: both name places
    /// (or towns) and share none.
    fn apart(&mut self, a: usize, b: usize) -> bool {
        let (a, b) = (self.find(a), self.find(b));
        disjoint(&self.places[a], &self.places[b]) || disjoint(&self.towns[a], &self.towns[b])
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        let (keep, gone) = if self.members[a].len() >= self.members[b].len() {
            (a, b)
        } else {
            (b, a)
        };
        let moved = std::mem::take(&mut self.members[gone]);
        self.members[keep].extend(moved);
        let places = std::mem::take(&mut self.places[gone]);
        self.places[keep].extend(places);
        let towns = std::mem::take(&mut self.towns[gone]);
        self.towns[keep].extend(towns);
        self.parent[gone] = keep;
    }

    /// Evenly spaced members of the issues of `a` and `b`.
    fn samples(&mut self, a: usize, b: usize) -> (Vec<usize>, Vec<usize>) {
        let (a, b) = (self.find(a), self.find(b));
        let sample = |m: &[usize]| -> Vec<usize> {
            let step = m.len().div_ceil(SAMPLE).max(1);
            m.iter().step_by(step).copied().collect()
        };
        (sample(&self.members[a]), sample(&self.members[b]))
    }

    /// The mean cosine between the issues of `a` and `b`, over evenly
    /// spaced samples of their members.
    fn alike(&mut self, a: usize, b: usize) -> f64 {
        let (a, b) = (self.find(a), self.find(b));
        if a == b {
            return 1.0;
        }
        let (x, y) = self.samples(a, b);
        let total: f64 = x
            .iter()
            .flat_map(|&i| y.iter().map(move |&j| (i, j)))
            .map(|(i, j)| vectors::cosine(&self.vecs[i], &self.vecs[j]))
            .sum();
        total / (x.len() * y.len()).max(1) as f64
    }
}

/// Joins `messages` into issues; each issue's member indexes. `wide` are
/// names too wide to be one place (the gazetteer's towns and aliases).
pub fn group(messages: &[Message], s: &HotspotSettings, wide: &HashSet<String>) -> Vec<Vec<usize>> {
    let (places, keys): (Vec<Vec<String>>, Vec<Vec<String>>) = messages.iter().map(|m| named_places(m, wide)).unzip();
    let vecs = problem_vectors(messages, &places, wide);
    let mut g = Groups::new(&vecs, &keys, messages);
    let mut by_cluster: HashMap<&str, usize> = HashMap::new();
    for (i, m) in messages.iter().enumerate() {
        if let Some(c) = m.cluster.as_deref().filter(|c| !c.is_empty()) {
            let first = *by_cluster.entry(c).or_insert(i);
            g.union(first, i);
        }
    }
    // Strongest links first, each joining two issues only if they are
    // alike as wholes by the same measure.
    let mut links: Vec<(f64, f64, usize, usize)> = vectors::candidates(&vecs, &places)
        .into_iter()
        .filter_map(|(a, b)| {
            let cos = vectors::cosine(&vecs[a], &vecs[b]);
            let need = match place_relation(messages, &places, &keys, a, b) {
                Place::Same => s.place_similarity,
                Place::Unknown => s.text_similarity,
                // The same words about two places are two issues (a broken
                // lamp here and one there).
                Place::Different => return None,
            };
            (cos >= need).then_some((cos, need, a, b))
        })
        .collect();
    links.sort_by(|x, y| y.0.total_cmp(&x.0).then((x.2, x.3).cmp(&(y.2, y.3))));
    for (_, need, a, b) in links {
        if !g.apart(a, b) && !mostly_apart(&mut g, messages, &places, &keys, a, b) && g.alike(a, b) >= need * s.issue_share {
            g.union(a, b);
        }
    }
    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..messages.len() {
        let root = g.find(i);
        members.entry(root).or_default().push(i);
    }
    let mut out: Vec<Vec<usize>> = members.into_values().collect();
    for m in &mut out {
        m.sort_by_key(|&i| (messages[i].at, i));
    }
    out.sort_by_key(|m| m[0]);
    out
}

/// Whether most of the sampled pairs across the issues of `a` and `b` are
/// about different places: an issue's place set grows with it, so the
/// pairs, not the sets, decide.
fn mostly_apart(g: &mut Groups<'_>, messages: &[Message], places: &[Vec<String>], keys: &[Vec<String>], a: usize, b: usize) -> bool {
    let (x, y) = g.samples(a, b);
    let n = x.len() * y.len();
    let apart = x
        .iter()
        .flat_map(|&i| y.iter().map(move |&j| (i, j)))
        .filter(|&(i, j)| matches!(place_relation(messages, places, keys, i, j), Place::Different))
        .count();
    2 * apart > n
}

enum Place {
    /// They name one place, in one town.
    Same,
    /// Both are placed, and not at one place.
    Different,
    /// At least one names no place.
    Unknown,
}

/// Where two appeals are, as far as their words and towns tell: at one
/// place if any place they name is one; apart if the places they are
/// about (`keys`) are not.
fn place_relation(messages: &[Message], places: &[Vec<String>], keys: &[Vec<String>], a: usize, b: usize) -> Place {
    let towns_differ = matches!((&messages[a].town, &messages[b].town), (Some(x), Some(y)) if x != y);
    let set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<String>>();
    if towns_differ || disjoint(&set(&keys[a]), &set(&keys[b])) {
        Place::Different
    } else if places[a].iter().any(|p| places[b].iter().any(|q| same_name(p, q))) {
        Place::Same
    } else if places[a].is_empty() || places[b].is_empty() {
        Place::Unknown
    } else {
        Place::Different
    }
}

/// The places an appeal names (its title's, then its text's), and those it
/// is about, to tell two issues apart: its title's, or else all it names. A
/// text also says where the citizen lives ("本人是某小区的住户"), which two
/// appeals about different places may share. Names in `wide` are left out.
fn named_places(m: &Message, wide: &HashSet<String>) -> (Vec<String>, Vec<String>) {
    let title: Vec<String> = place::places(&m.title);
    let mut all = title.clone();
    for x in place::places(head(&m.text)) {
        if !all.contains(&x) {
            all.push(x);
        }
    }
    let keep = |v: Vec<String>| -> Vec<String> { v.into_iter().filter(|p| !wide.contains(p)).collect() };
    let (all, title) = (keep(all), keep(title));
    let key = if title.is_empty() { all.clone() } else { title };
    (all, key)
}

/// One place named two ways: the same name, or one the end of the other
/// (翠景园临江苑 and 临江苑).
fn same_name(a: &str, b: &str) -> bool {
    a == b || (a.chars().count() >= 3 && b.ends_with(a)) || (b.chars().count() >= 3 && a.ends_with(b))
}

/// Two sets of places have none in common.
fn disjoint(x: &BTreeSet<String>, y: &BTreeSet<String>) -> bool {
    !x.is_empty() && !y.is_empty() && !x.iter().any(|a| y.iter().any(|b| same_name(a, b)))
}

/// What each appeal is about, apart from where: its title and the start of
/// its text with the places it names (and the towns, `wide`) taken out, as
/// TF-IDF vectors. Two appeals about one compound, or one town, would
/// otherwise look alike for its name alone.
fn problem_vectors(messages: &[Message], places: &[Vec<String>], wide: &HashSet<String>) -> Vec<vectors::Vector> {
    // Longest first, so a town's full name goes before its short alias.
    let mut wide: Vec<&String> = wide.iter().collect();
    wide.sort_by_key(|w| (std::cmp::Reverse(w.chars().count()), *w));
    let strip = |t: &str, ps: &[String]| {
        let t = ps.iter().fold(without_links(t), |t, p| t.replace(p.as_str(), " "));
        wide.iter()
            .fold(t, |t, w| if t.contains(w.as_str()) { t.replace(w.as_str(), " ") } else { t })
    };
    let titles: Vec<String> = messages.iter().zip(places).map(|(m, p)| strip(&m.title, p)).collect();
    let texts: Vec<String> = messages
        .iter()
        .zip(places)
        .zip(&titles)
        .map(|((m, p), t)| format!("{t}\n{}", strip(head(&m.text), p)))
        .collect();
    vectors::tfidf(&texts, &titles.iter().map(String::as_str).collect::<Vec<_>>())
}

/// A text without its links (a WeChat picture arrives as its URL, and
/// every such URL looks like every other).
fn without_links(t: &str) -> String {
    t.split_whitespace()
        .filter(|w| !(w.starts_with("http://") || w.starts_with("https://")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The start of a text, where the issue and the place are named.
fn head(text: &str) -> &str {
    match text.char_indices().nth(300) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// The hotspots among `messages` as of `to`, hottest first, at most `top`.
pub fn hotspots(messages: &[Message], s: &HotspotSettings, rising: &RisingSettings, to: NaiveDate, top: usize) -> Vec<Hotspot> {
    let period = Period { from: None, to };
    hotspots_in(messages, s, rising, period, top, &HashSet::new())
}

/// The period hotspots are ranked for. Appeals before `from` are history:
/// they join issues and give growth its baseline, but an issue is listed
/// for its appeals in the period, and only if it has some.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub from: Option<NaiveDate>,
    pub to: NaiveDate,
}

impl Period {
    /// The first day whose appeals the growth baseline needs.
    pub fn history_from(&self, s: &HotspotSettings, r: &RisingSettings) -> Option<NaiveDate> {
        self.from
            .map(|f| f - Duration::days(s.growth_days.max(1) * r.baseline_periods as i64))
    }
}

/// [`hotspots`] for a period, with names too wide to be one place.
pub fn hotspots_in(
    messages: &[Message],
    s: &HotspotSettings,
    rising: &RisingSettings,
    period: Period,
    top: usize,
    wide: &HashSet<String>,
) -> Vec<Hotspot> {
    let mut out: Vec<Hotspot> = group(messages, s, wide)
        .into_iter()
        .filter_map(|m| describe(messages, m, s, rising, period))
        .collect();
    out.sort_by(|a, b| b.heat.total_cmp(&a.heat).then(a.first.cmp(&b.first)));
    out.truncate(top);
    for (i, h) in out.iter_mut().enumerate() {
        h.rank = i + 1;
    }
    out
}

/// An issue as a hotspot, if enough citizens raised it in the period.
fn describe(messages: &[Message], all: Vec<usize>, s: &HotspotSettings, r: &RisingSettings, period: Period) -> Option<Hotspot> {
    let to = period.to;
    let (z, rising) = growth(messages, &all, s, r, to);
    let members: Vec<usize> = all
        .into_iter()
        .filter(|&i| period.from.is_none_or(|f| messages[i].at.date() >= f))
        .collect();
    if members.is_empty() {
        return None;
    }
    let citizens = members.iter().map(|&i| messages[i].user.as_str()).collect::<BTreeSet<_>>().len();
    if citizens < s.min_citizens {
        return None;
    }
    let first = messages[members[0]].at;
    let last = messages[*members.last()?].at;
    let votes: i64 = members.iter().map(|&i| messages[i].up_votes.max(0)).sum();
    let age = (to - last.date()).num_days().max(0) as f64;
    Some(Hotspot {
        rank: 0,
        heat: heat(citizens, members.len(), votes, age, z, s),
        citizens,
        first,
        last,
        place: common_place(messages, &members),
        description: medoid_title(messages, &members),
        rising,
        members,
    })
}

/// The heat index (module docs).
pub fn heat(citizens: usize, messages: usize, votes: i64, age_days: f64, z: f64, s: &HotspotSettings) -> f64 {
    let c = citizens as f64;
    let extra = (messages as f64 - c).max(0.0);
    let recency = (-age_days / s.half_life_days.max(0.1)).exp2();
    let growth = z.clamp(0.0, 5.0);
    let h = c + 0.3 * extra + 0.2 * (1.0 + votes.max(0) as f64).ln() + recency + 0.5 * growth;
    (h * 100.0).round() / 100.0
}

/// The issue's appeals in the last `growth_days` before `to` against its
/// trailing periods of that length.
fn growth(messages: &[Message], members: &[usize], s: &HotspotSettings, r: &RisingSettings, to: NaiveDate) -> (f64, bool) {
    let len = s.growth_days.max(1);
    let period = |d: NaiveDate| (to - d).num_days().div_euclid(len);
    let mut counts = vec![0u64; r.baseline_periods + 1];
    for &i in members {
        let p = period(messages[i].at.date());
        if (0..counts.len() as i64).contains(&p) {
            counts[p as usize] += 1;
        }
    }
    let history: Vec<u64> = counts[1..].iter().rev().copied().collect();
    let (rising, z) = rises(counts[0], &history, r);
    (z.unwrap_or(0.0), rising)
}

/// The place most of the issue's appeals name, a title's place counting
/// twice (a text also says where the citizen lives).
fn common_place(messages: &[Message], members: &[usize]) -> String {
    let mut n: HashMap<String, usize> = HashMap::new();
    for &i in members {
        let m = &messages[i];
        for p in named_places(m, &HashSet::new()).0.into_iter().chain(place::places(&m.title)) {
            *n.entry(p).or_default() += 1;
        }
    }
    n.into_iter()
        .filter(|(_, c)| *c >= 3 || members.len() < 2)
        .max_by(|a, b| {
            a.1.cmp(&b.1)
                .then(b.0.chars().count().cmp(&a.0.chars().count()).reverse())
                .then(b.0.cmp(&a.0))
        })
        .map_or_else(String::new, |(p, _)| p)
}

/// The title most like the others' (their medoid), as the description.
fn medoid_title(messages: &[Message], members: &[usize]) -> String {
    let titles: Vec<&str> = members.iter().map(|&i| messages[i].title.as_str()).collect();
    let vecs = vectors::tfidf(&titles.iter().map(|t| t.to_string()).collect::<Vec<_>>(), &titles);
    let best = (0..titles.len())
        .max_by(|&a, &b| {
            let score = |x: usize| (0..titles.len()).map(|y| vectors::cosine(&vecs[x], &vecs[y])).sum::<f64>();
            score(a).total_cmp(&score(b)).then(b.cmp(&a))
        })
        .unwrap_or(0);
    let t = titles.get(best).copied().unwrap_or_default();
    if t.is_empty() {
        head(&messages[members[best]].text).chars().take(40).collect()
    } else {
        t.to_owned()
    }
}

/// The two tables of the 2020 Teddy Cup task: hotspots, and every appeal
/// of each. `issue` ids are the ranks.
pub fn tables(messages: &[Message], hot: &[Hotspot]) -> (Table, Table) {
    let fmt = |t: NaiveDateTime| t.format("%Y-%m-%d").to_string();
    let hotspot_rows = hot
        .iter()
        .map(|h| {
            vec![
                Cell::Int(h.rank as i64),
                Cell::Int(h.rank as i64),
                Cell::Float(h.heat),
                Cell::Text(format!("{} 至 {}", fmt(h.first), fmt(h.last))),
                Cell::Text(h.place.clone()),
                Cell::Text(h.description.clone()),
                Cell::Int(h.citizens as i64),
                Cell::Int(h.members.len() as i64),
                Cell::Int(i64::from(h.rising)),
            ]
        })
        .collect();
    let mut detail_rows = Vec::new();
    for h in hot {
        for &i in &h.members {
            let m = &messages[i];
            detail_rows.push(vec![
                Cell::Int(h.rank as i64),
                Cell::Text(m.id.clone()),
                Cell::Text(m.user.clone()),
                Cell::Text(m.title.clone()),
                Cell::Text(m.at.format("%Y-%m-%d %H:%M:%S").to_string()),
                Cell::Text(m.text.clone()),
                Cell::Int(m.up_votes),
                Cell::Int(m.down_votes),
            ]);
        }
    }
    let cols = |c: &[&str]| c.iter().map(|s| s.to_string()).collect();
    (
        Table {
            columns: cols(&[
                "rank",
                "issue",
                "heat",
                "span",
                "place",
                "description",
                "citizens",
                "messages",
                "rising",
            ]),
            rows: hotspot_rows,
        },
        Table {
            columns: cols(&["issue", "message", "user", "title", "time", "text", "up_votes", "down_votes"]),
            rows: detail_rows,
        },
    )
}

/// The last day the messages reach, the default end of a CSV's period.
pub fn last_day(messages: &[Message]) -> Option<NaiveDate> {
    messages.iter().map(|m| m.at.date()).max()
}

/// Keeps the messages of `from..=to`.
pub fn within(messages: Vec<Message>, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Vec<Message> {
    messages
        .into_iter()
        .filter(|m| from.is_none_or(|f| m.at.date() >= f) && to.is_none_or(|t| m.at.date() <= t))
        .collect()
}

/// A day `n` days before `d`.
pub fn days_before(d: NaiveDate, n: i64) -> NaiveDate {
    d - Duration::days(n)
}

#[cfg(test)]
mod tests;
