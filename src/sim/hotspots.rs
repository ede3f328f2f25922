//! The demo's hotspots: the top five of the simulated week, read back from
//! the warehouse the way `minqing hotspots` reads it, and checked against
//! what the scenario wrote. The simulators know which appeals are one
//! issue at one place: a planned hotspot (a dozen neighbours or more on
//! one issue, [`GroupKind::Hotspot`]), a planned same-issue group
//! (neighbours in their own words, bridged cases), or unplanned appeals
//! written from one issue template about one village (a large run cannot
//! keep every one of those apart: up to eight in a week of 5,000).
//!
//! Every planned hotspot must rank in the top five: that is the demo's
//! check. The report also says where each other planned group of three
//! citizens or more ranks and each listed hotspot's purity (the share of
//! it that is one written issue); those are reported, not required.

use anyhow::Result;
use chrono::NaiveDate;
use minqing_connectors::sim::{GroupKind, PlannedGroup, Scenario};
use minqing_pipelines::analysis::hotspots::{self, stored};
use minqing_pipelines::warehouse::Warehouse;
use serde::Serialize;
use std::collections::HashMap;

/// Hotspots the demo lists.
const TOP: usize = 5;

/// What the scenario planned, kept before the scenario goes to the
/// simulators: each appeal's group by acceptance number, and the week.
pub struct Plan {
    issue_of: HashMap<String, Issue>,
    groups: Vec<PlannedGroup>,
    from: NaiveDate,
    to: NaiveDate,
}

/// One issue at one place, as the scenario wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Issue {
    Planned(usize),
    /// Issue template, town, village.
    Spot(usize, Option<&'static str>, &'static str),
}

impl Plan {
    pub fn of(s: &Scenario) -> Plan {
        let mut issue_of = HashMap::new();
        let (mut from, mut to) = (NaiveDate::MAX, NaiveDate::MIN);
        for (channel, feed) in &s.feeds {
            for e in feed.iter() {
                let day = e.appeal.received_at.date_naive();
                (from, to) = (from.min(day), to.max(day));
                let t = &e.appeal.text;
                let issue = e.appeal.group.map_or(Issue::Spot(t.template, t.town, t.village), Issue::Planned);
                let id = minqing_pipelines::ticket::ticket_id(*channel, &e.appeal.source_id);
                issue_of.insert(minqing_pipelines::ticket::short_no(&id), issue);
            }
        }
        Plan {
            issue_of,
            groups: s.groups.clone(),
            from: from.min(to),
            to,
        }
    }
}

/// One of the week's hotspots.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DemoHotspot {
    pub rank: usize,
    pub heat: f64,
    pub citizens: usize,
    pub appeals: usize,
    pub place: String,
    pub description: String,
    /// The share of its appeals the scenario wrote as its main issue.
    pub purity: f64,
    /// Whether that issue is a planned same-issue group.
    pub planned: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct HotspotReport {
    pub top: Vec<DemoHotspot>,
    /// Where each planned hotspot ranks (none: not found).
    pub hotspot_ranks: Vec<Option<usize>>,
    /// Where each other planned group of three citizens or more ranks.
    pub planned_ranks: Vec<Option<usize>>,
    /// Every planned hotspot ranks in the top five.
    pub as_planned: bool,
}

/// A hotspot's main written issue and its share of the appeals.
fn main_issue(plan: &Plan, messages: &[hotspots::Message], members: &[usize]) -> Option<(Issue, f64)> {
    let mut n: HashMap<Issue, usize> = HashMap::new();
    for &i in members {
        if let Some(k) = plan.issue_of.get(&messages[i].id) {
            *n.entry(*k).or_default() += 1;
        }
    }
    // Ties go to a planned group, then the lowest: the same every run.
    let (k, c) = n.into_iter().max_by_key(|(k, c)| {
        let g = match k {
            Issue::Planned(g) => std::cmp::Reverse(*g),
            Issue::Spot(..) => std::cmp::Reverse(usize::MAX),
        };
        (*c, matches!(k, Issue::Planned(_)), g)
    })?;
    Some((k, c as f64 / members.len() as f64))
}

/// The week's top hotspots from `w`, checked against `plan`.
pub async fn check(w: &dyn Warehouse, plan: &Plan, settings: &crate::config::Settings) -> Result<HotspotReport> {
    let s = &settings.analysis;
    let messages = stored::messages(w, plan.from, plan.to, None, None).await?;
    let wide = crate::runtime::wide_places(settings)?;
    let all = hotspots::hotspots_in(
        &messages,
        &s.hotspots,
        &s.rising,
        hotspots::Period { from: None, to: plan.to },
        usize::MAX,
        &wide,
    );
    let mains: Vec<Option<(Issue, f64)>> = all.iter().map(|h| main_issue(plan, &messages, &h.members)).collect();
    let top: Vec<DemoHotspot> = all
        .iter()
        .zip(&mains)
        .take(TOP)
        .map(|(h, m)| DemoHotspot {
            rank: h.rank,
            heat: h.heat,
            citizens: h.citizens,
            appeals: h.members.len(),
            place: h.place.clone(),
            description: h.description.clone(),
            purity: m.map_or(0.0, |(_, p)| (p * 100.0).round() / 100.0),
            planned: matches!(m, Some((Issue::Planned(_), _))),
        })
        .collect();
    // A planned group ranks where the first listed issue holding at least
    // half of its appeals does, whatever else that issue joined.
    let size: HashMap<usize, usize> = plan.issue_of.values().fold(HashMap::new(), |mut n, i| {
        if let Issue::Planned(g) = i {
            *n.entry(*g).or_default() += 1;
        }
        n
    });
    let rank_of = |g: usize| {
        all.iter()
            .find(|h| {
                let held = h
                    .members
                    .iter()
                    .filter(|&&i| plan.issue_of.get(&messages[i].id) == Some(&Issue::Planned(g)))
                    .count();
                held > 0 && 2 * held >= size.get(&g).copied().unwrap_or(0)
            })
            .map(|h| h.rank)
    };
    let kinds = |hot: bool| {
        (0..plan.groups.len())
            .filter(move |g| (plan.groups[*g].kind == GroupKind::Hotspot) == hot && plan.groups[*g].citizens >= 3)
            .map(rank_of)
            .collect::<Vec<_>>()
    };
    let (hotspot_ranks, planned_ranks) = (kinds(true), kinds(false));
    let as_planned = hotspot_ranks.iter().all(|r| r.is_some_and(|r| r <= TOP));
    Ok(HotspotReport {
        top,
        hotspot_ranks,
        planned_ranks,
        as_planned,
    })
}
