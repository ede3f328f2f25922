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
mod vectors;

use super::rising::{RisingSettings, rises};
use crate::warehouse::saved::{Cell, Table};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// `[analysis.hotspots]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HotspotSettings {
    /// Cosine from which two appeals naming one place are one issue.
    pub place_similarity: f64,
    /// Cosine from which two appeals are one issue wherever they are.
    pub text_similarity: f64,
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
            text_similarity: 0.5,
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

/// Union-find over message indexes.
struct Groups(Vec<usize>);

impl Groups {
    fn find(&mut self, mut x: usize) -> usize {
        while self.0[x] != x {
            self.0[x] = self.0[self.0[x]];
            x = self.0[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.0[a.max(b)] = a.min(b);
        }
    }
}

/// Joins `messages` into issues; each issue's member indexes.
pub fn group(messages: &[Message], s: &HotspotSettings) -> Vec<Vec<usize>> {
    let places: Vec<Vec<String>> = messages.iter().map(places_of).collect();
    let vecs = problem_vectors(messages, &places);
    let mut g = Groups((0..messages.len()).collect());
    let mut by_cluster: HashMap<&str, usize> = HashMap::new();
    for (i, m) in messages.iter().enumerate() {
        if let Some(c) = m.cluster.as_deref().filter(|c| !c.is_empty()) {
            let first = *by_cluster.entry(c).or_insert(i);
            g.union(first, i);
        }
    }
    for (a, b) in vectors::candidates(&vecs, &places) {
        let cos = vectors::cosine(&vecs[a], &vecs[b]);
        let same_place = places[a].iter().any(|p| places[b].contains(p));
        if cos >= s.text_similarity || (same_place && cos >= s.place_similarity) {
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

/// The places an appeal names, its title's first.
fn places_of(m: &Message) -> Vec<String> {
    let mut p = place::places(&m.title);
    for x in place::places(head(&m.text)) {
        if !p.contains(&x) {
            p.push(x);
        }
    }
    p
}

/// What each appeal is about, apart from where: its title and the start of
/// its text with the places it names taken out, as TF-IDF vectors. Two
/// appeals about one compound would otherwise look alike for the
/// compound's name alone.
fn problem_vectors(messages: &[Message], places: &[Vec<String>]) -> Vec<vectors::Vector> {
    let strip = |t: &str, ps: &[String]| ps.iter().fold(t.to_owned(), |t, p| t.replace(p.as_str(), " "));
    let titles: Vec<String> = messages.iter().zip(places).map(|(m, p)| strip(&m.title, p)).collect();
    let texts: Vec<String> = messages
        .iter()
        .zip(places)
        .zip(&titles)
        .map(|((m, p), t)| format!("{t}\n{}", strip(head(&m.text), p)))
        .collect();
    vectors::tfidf(&texts, &titles.iter().map(String::as_str).collect::<Vec<_>>())
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
    let mut out: Vec<Hotspot> = group(messages, s)
        .into_iter()
        .filter_map(|m| describe(messages, m, s, rising, to))
        .collect();
    out.sort_by(|a, b| b.heat.total_cmp(&a.heat).then(a.first.cmp(&b.first)));
    out.truncate(top);
    for (i, h) in out.iter_mut().enumerate() {
        h.rank = i + 1;
    }
    out
}

/// An issue as a hotspot, if enough citizens raised it.
fn describe(messages: &[Message], members: Vec<usize>, s: &HotspotSettings, r: &RisingSettings, to: NaiveDate) -> Option<Hotspot> {
    let citizens = members.iter().map(|&i| messages[i].user.as_str()).collect::<BTreeSet<_>>().len();
    if citizens < s.min_citizens {
        return None;
    }
    let first = messages[members[0]].at;
    let last = messages[*members.last()?].at;
    let votes: i64 = members.iter().map(|&i| messages[i].up_votes.max(0)).sum();
    let (z, rising) = growth(messages, &members, s, r, to);
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

/// The appeals in the last `growth_days` before `to` against its
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

/// The place most of the appeals name.
fn common_place(messages: &[Message], members: &[usize]) -> String {
    let mut n: HashMap<String, usize> = HashMap::new();
    for &i in members {
        for p in places_of(&messages[i]) {
            *n.entry(p).or_default() += 1;
        }
    }
    n.into_iter()
        .filter(|(_, c)| *c >= 2 || members.len() < 2)
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
