//! `minqing demo`: the whole gateway against the built-in simulators, on the
//! embedded default, until every generated appeal is accounted for; then a
//! per-channel table that checks itself against what was injected.

use crate::config::Settings;
use crate::runtime::{Runtime, StartOptions};
use crate::sim::fleet::{FaultSummary, Fleet};
use anyhow::Result;
use chrono::{DateTime, Duration as ChronoDuration, FixedOffset};
use minqing_connectors::Channel;
use minqing_connectors::clock::{self, Warp};
use minqing_connectors::sim::{ExpectedTriage, Scenario, SimSettings};
use minqing_pipelines::latency::Summary;
use minqing_pipelines::store::{ClusterStore, EventStore};
use minqing_pipelines::warehouse::Warehouse;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub struct DemoArgs {
    pub appeals: usize,
    pub seed: u64,
    pub data_dir: Option<PathBuf>,
    pub faults: bool,
    /// Let the simulated units work the orders after ingest (a fresh store only).
    pub units: bool,
    pub timeout: Duration,
    /// Print progress to stderr while running.
    pub progress: bool,
    /// Appeals per second to play the scenario at; `None` delivers its whole
    /// week at once, as a backlog (the throughput benchmark).
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Row {
    pub generated: u64,
    pub tickets: u64,
    pub replays: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    pub missing: i64,
    /// Records read again after our own faults (a page re-read after a
    /// failed publish, a message the broker delivered again): not among
    /// the channels' replays, and not missing.
    pub redelivered: u64,
}

impl Row {
    fn add(&mut self, r: &Row) {
        self.generated += r.generated;
        self.tickets += r.tickets;
        self.replays += r.replays;
        self.duplicates += r.duplicates;
        self.quarantined += r.quarantined;
        self.missing += r.missing;
        self.redelivered += r.redelivered;
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Expected {
    pub replays: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    /// Same-issue clusters of two or more tickets the simulators planned.
    pub clusters: u64,
    /// 现场督办 escalations those clusters raise under the configured rule.
    pub escalations: u64,
    /// Triage outcomes the simulators' appeals were written to get.
    pub triage: ExpectedTriage,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct HuangshiReport {
    /// Distinct transfers accepted.
    pub received: u64,
    /// Repeats refused with 409 (sends whose answer was lost).
    pub duplicates_refused: u64,
}

/// Forwarded tickets intake made in this run.
fn fresh_forwards(r: &Runtime) -> u64 {
    r.intake_stats.snapshot().values().map(|c| c.forwarded).sum()
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub channels: BTreeMap<Channel, Row>,
    pub totals: Row,
    pub elapsed_ms: u64,
    pub appeals_per_sec: f64,
    /// Writing the simulators' appeals before the run, outside `elapsed_ms`.
    pub planning_ms: u64,
    pub expected: Expected,
    /// Same-issue clusters of two or more tickets this run added to the
    /// workflow store, and the escalations it recorded.
    pub clusters: u64,
    pub escalations: u64,
    /// The simulated units' work on the orders (a fresh store only), with
    /// what their plan should produce under `expected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<crate::sim::units::WorkflowReport>,
    /// The simulated week's top hotspots from the warehouse, checked
    /// against the planned same-issue groups (a fresh store only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hotspots: Option<crate::sim::hotspots::HotspotReport>,
    /// What triage decided for new, non-duplicate tickets.
    pub triage: ExpectedTriage,
    /// What the Huangshi 12345 simulator received in this run.
    pub huangshi: HuangshiReport,
    /// The stores were empty before: only then are the triage and Huangshi
    /// counts comparable with what the simulators wrote.
    pub fresh_store: bool,
    /// Transport faults the simulated servers injected.
    pub faults: FaultSummary,
    /// Passive replies the push senders checked and found right (WeChat:
    /// signature, decryption, acceptance number), and those they did not.
    #[serde(rename = "wechat_replies_ok")]
    pub replies_ok: u64,
    #[serde(rename = "wechat_replies_bad")]
    pub replies_bad: u64,
    /// What this run added to the workflow store and the warehouse.
    pub stores: Landed,
    /// From accepting an appeal to committing its ticket, per store.
    pub latency: LatencyReport,
    /// The pace asked for with `--rate`, appeals/s; absent when the
    /// scenario was delivered at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    pub backends: Backends,
    pub data_dir: PathBuf,
}

/// Rows this run added to each store; both should equal the tickets intake
/// made (and the warehouse's daily aggregate should too).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Landed {
    pub workflow_tickets: u64,
    pub warehouse_tickets: u64,
    pub warehouse_daily_total: u64,
}

impl Landed {
    /// What was added since `before`.
    fn since(&self, before: &Landed) -> Landed {
        Landed {
            workflow_tickets: self.workflow_tickets - before.workflow_tickets,
            warehouse_tickets: self.warehouse_tickets - before.warehouse_tickets,
            warehouse_daily_total: self.warehouse_daily_total - before.warehouse_daily_total,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct LatencyReport {
    pub workflow: Summary,
    pub warehouse: Summary,
}

#[derive(Debug, Clone, Serialize)]
pub struct Backends {
    pub bus: String,
    pub workflow_store: String,
    pub warehouse: String,
}

/// Clusters of two or more tickets, and escalations, in the workflow store.
async fn cluster_counts(store: &dyn ClusterStore) -> Result<(u64, u64)> {
    Ok((store.cluster_count(2).await?, store.escalations().await?.len() as u64))
}

async fn landed(store: &dyn EventStore, warehouse: &dyn Warehouse) -> Result<Landed> {
    let wf = store.ticket_count().await?;
    let wh = warehouse.counts().await?;
    Ok(Landed {
        workflow_tickets: wf,
        warehouse_tickets: wh.tickets,
        warehouse_daily_total: wh.daily_total,
    })
}

/// The receive times of the demo's appeals: a fixed week, so that a second
/// run on the same data directory replays exactly the same records.
pub const DEMO_START: &str = "2026-06-01T08:00:00+08:00";

/// The clock warp that plays `s` at about `rate` appeals a second: scenario
/// time from a second before its first delivery, at the speed that spreads
/// its deliveries (received times are uniform over the week) across
/// `generated / rate` real seconds. Returns the start and the speed.
pub fn pace(s: &Scenario, rate: f64) -> Result<(DateTime<FixedOffset>, f64)> {
    check_rate(rate)?;
    let first = s.feeds.values().filter_map(|f| f.first().map(|e| e.delivered_at)).min();
    let (Some(first), Some(last)) = (first, s.last_delivery()) else {
        anyhow::bail!("--rate: the scenario has no appeals to pace; give --appeals above 0");
    };
    let generated: u64 = s.expected.values().map(|e| e.generated).sum();
    let start = first - ChronoDuration::seconds(1);
    let span = (last - start).num_milliseconds() as f64 / 1000.0;
    Ok((start, span * rate / generated as f64))
}

fn check_rate(rate: f64) -> Result<()> {
    if !(rate.is_finite() && rate > 0.0) {
        anyhow::bail!("--rate {rate}: give the appeals per second as a number above 0, e.g. --rate 2000");
    }
    Ok(())
}

pub fn scenario(appeals: usize, seed: u64) -> Scenario {
    Scenario::generate(SimSettings {
        seed,
        appeals,
        start: DateTime::parse_from_rfc3339(DEMO_START).expect("valid literal"),
        ..SimSettings::default()
    })
}

/// Points connectors at a demo: poll every second from before the first appeal.
pub fn demo_settings(mut settings: Settings, data_dir: Option<PathBuf>) -> Settings {
    if let Some(d) = data_dir {
        settings.data_dir = d;
    }
    settings.server.listen = "127.0.0.1:0".into();
    let from = DateTime::parse_from_rfc3339(DEMO_START).expect("valid literal") - ChronoDuration::hours(1);
    // Each channel readies itself: on, polled every second from `from`,
    // and (pushed) no limit on refusals, since the simulators send their
    // injected forgeries from one address, far more than 30 a minute in a
    // large run, and each must be recorded for the count to close.
    for spec in settings.connectors.all_mut() {
        spec.for_demo(from);
    }
    settings
}

/// What the simulators will send, and what should come of it.
struct Planned {
    /// (start, speed) of the warped clock for a paced run.
    pace: Option<(DateTime<FixedOffset>, f64)>,
    by_channel: BTreeMap<Channel, minqing_connectors::sim::Expected>,
    clusters: u64,
    escalations: u64,
    planning: Duration,
    /// The planned same-issue groups, for the week's hotspots.
    hotspots: crate::sim::hotspots::Plan,
}

impl Planned {
    /// Plans the run; the scenario goes to the simulators.
    fn new(settings: &Settings, args: &DemoArgs) -> Result<(Planned, Scenario)> {
        if args.progress {
            eprintln!("planning {} appeals…", args.appeals);
        }
        // Before planning, which takes seconds for a large run.
        args.rate.map(check_rate).transpose()?;
        let started = Instant::now();
        let scenario = scenario(args.appeals, args.seed);
        let planning = started.elapsed();
        let pace = args.rate.map(|r| pace(&scenario, r)).transpose()?;
        let rule = &settings.neardup.escalation;
        let (clusters, escalations) = if settings.neardup.enabled {
            (
                scenario.expected_clusters(),
                scenario.expected_escalations(rule.same_citizen, rule.same_citizen_days, rule.citizens),
            )
        } else {
            (0, 0)
        };
        let planned = Planned {
            hotspots: crate::sim::hotspots::Plan::of(&scenario),
            by_channel: scenario.expected.clone(),
            pace,
            clusters,
            escalations,
            planning,
        };
        Ok((planned, scenario))
    }

    fn generated(&self) -> u64 {
        self.by_channel.values().map(|e| e.generated).sum()
    }
}

/// What the stores held before the run.
struct Before {
    landed: Landed,
    forwards: minqing_pipelines::store::ForwardCounts,
    clusters: (u64, u64),
}

impl Before {
    /// Counts what the stores hold, and clears the channels' cursors: the
    /// simulators are new upstreams, and cursors from an earlier run mean
    /// nothing to them.
    async fn count(settings: &Settings) -> Result<Before> {
        let store = crate::runtime::open_store(settings).await?;
        store.clear_checkpoints(&Channel::ALL).await?;
        let landed = landed(store.as_ref(), crate::runtime::open_warehouse(settings).await?.as_ref()).await?;
        Ok(Before {
            landed,
            forwards: store.forward_counts().await?,
            clusters: cluster_counts(store.as_ref()).await?,
        })
    }
}

pub async fn run(settings: Settings, args: DemoArgs) -> Result<Report> {
    let mut settings = demo_settings(settings, args.data_dir.clone());
    let (planned, scenario) = Planned::new(&settings, &args)?;
    let mut fleet = Fleet::start(scenario, &mut settings.connectors, args.faults).await?;
    // With faults on, Huangshi is down for the first seconds: forwarded
    // tickets wait in the outbox and go out when it is back.
    fleet
        .serve_huangshi(&mut settings.forwarder, args.faults.then_some(Duration::from_secs(2)))
        .await?;
    // What the stores hold already is counted before anything can land.
    let before = Before::count(&settings).await?;
    let started = Instant::now();
    if let Some((start, speed)) = planned.pace {
        clock::warp(Warp::new(start, speed, started))?;
    }
    let start = StartOptions {
        poll_at_start: true,
        sweep: false,
    };
    let runtime = Runtime::start(&settings, start).await?;
    fleet.push(&settings.connectors, &format!("http://{}", runtime.api_addr))?;
    // A paced run's timeout counts from when its last appeal falls due.
    let delivering = args
        .rate
        .map_or(Duration::ZERO, |r| Duration::from_secs_f64(planned.generated() as f64 / r));
    let deadline = started + delivering + args.timeout;
    wait_for_intake(&runtime, &planned, &args, started, deadline).await;
    let now = wait_for_stores(&runtime, &planned, &before.landed, deadline).await;
    wait_for_forwards(&runtime, &settings, &before, deadline).await;
    let clusters = wait_for_clusters(&runtime, before.clusters, deadline).await;
    let elapsed = started.elapsed();
    let fresh_store = before.landed.workflow_tickets == 0;
    // The units work their orders through /api/v1, day by day.
    let workflow = if fresh_store && args.units {
        let deadlines = crate::runtime::deadlines(&settings)?;
        Some(crate::sim::units::run(runtime.store.clone(), runtime.relay.clone(), deadlines, args.seed).await?)
    } else {
        None
    };
    let hotspots = week_hotspots(&runtime, &planned, &settings, &before.landed).await?;
    args.progress.then(|| eprintln!());
    let snap = runtime.intake_stats.snapshot();
    let latency = LatencyReport {
        workflow: runtime.latency.workflow.summary(),
        warehouse: runtime.latency.warehouse.summary(),
    };
    let (replies_ok, replies_bad) = fleet.replies();
    let huangshi = fleet.huangshi.as_ref().map(|h| HuangshiReport {
        received: h.counters.received.load(Ordering::Relaxed),
        duplicates_refused: h.counters.duplicates_refused.load(Ordering::Relaxed),
    });
    let faults = fleet.faults();
    runtime.shutdown().await;
    fleet.stop().await;
    let (channels, totals, expected, triage) = tally(&snap, &planned);
    let secs = elapsed.as_secs_f64().max(0.001);
    Ok(Report {
        channels,
        totals,
        elapsed_ms: elapsed.as_millis() as u64,
        appeals_per_sec: (planned.generated() as f64 / secs * 10.0).round() / 10.0,
        planning_ms: planned.planning.as_millis() as u64,
        expected,
        workflow,
        hotspots,
        clusters: clusters.0.saturating_sub(before.clusters.0),
        escalations: clusters.1.saturating_sub(before.clusters.1),
        triage,
        huangshi: huangshi.unwrap_or_default(),
        fresh_store,
        faults,
        replies_ok,
        replies_bad,
        stores: now.since(&before.landed),
        latency,
        rate: args.rate,
        backends: Backends::of(&settings),
        data_dir: settings.data_dir,
    })
}

/// The week's hotspots, against the plan, which only fresh stores match:
/// another run's appeals in the same week would compete with it.
async fn week_hotspots(
    runtime: &Runtime,
    planned: &Planned,
    settings: &Settings,
    before: &Landed,
) -> Result<Option<crate::sim::hotspots::HotspotReport>> {
    if before.workflow_tickets != 0 || before.warehouse_tickets != 0 {
        return Ok(None);
    }
    Ok(Some(
        crate::sim::hotspots::check(runtime.warehouse.as_ref(), &planned.hotspots, settings).await?,
    ))
}

/// Waits until intake has accounted for every appeal the simulators sent
/// (or the deadline), printing progress if asked.
async fn wait_for_intake(runtime: &Runtime, planned: &Planned, args: &DemoArgs, started: Instant, deadline: Instant) {
    let generated = planned.generated();
    let mut last_print = Instant::now();
    loop {
        let snap = runtime.intake_stats.snapshot();
        let accounted: u64 = snap.values().map(|c| c.tickets + c.replays + c.quarantined).sum();
        let done = Channel::ALL.iter().all(|c| {
            let s = snap[c];
            s.tickets + s.replays + s.quarantined >= planned.by_channel[c].generated
        });
        if args.progress && (last_print.elapsed() >= Duration::from_millis(500) || done) {
            let secs = started.elapsed().as_secs_f64().max(0.001);
            eprint!(
                "\r  {accounted:>8} / {generated} appeals accounted for, {:>8.0}/s  ",
                accounted as f64 / secs
            );
            let _ = std::io::stderr().flush();
            last_print = Instant::now();
        }
        if done || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until both stores hold the tickets the run meant to make (or the
/// deadline); returns what they hold.
///
/// End to end means in both stores, which on a broker lag behind intake.
/// Intake's own counts can run ahead of the truth on a broker: a batch
/// redelivered before its tickets reached the store is decided again.
/// The stores cannot, so the run waits for the tickets the simulators
/// meant to make (a repeat read of a new store is absorbed there). On a
/// store that held tickets already (a second run), they were there
/// before; then intake's count of new tickets is the target.
async fn wait_for_stores(runtime: &Runtime, planned: &Planned, before: &Landed, deadline: Instant) -> Landed {
    let meant: u64 = if before.workflow_tickets == 0 {
        planned.by_channel.values().map(|e| e.generated - e.replays - e.quarantined).sum()
    } else {
        runtime.intake_stats.snapshot().values().map(|c| c.tickets).sum()
    };
    let mut now = *before;
    loop {
        let polled = Instant::now();
        // A backend may be away for a while; that is a reason to wait, not to fail.
        if let Ok(l) = landed(runtime.store.as_ref(), runtime.warehouse.as_ref()).await {
            now = l;
        }
        // The daily aggregate is written apart from the fact rows (a
        // materialized view on ClickHouse), so it is waited for too.
        let behind = now.workflow_tickets < before.workflow_tickets + meant
            || now.warehouse_tickets < before.warehouse_tickets + meant
            || now.warehouse_daily_total < before.warehouse_daily_total + meant;
        if !behind || Instant::now() > deadline {
            return now;
        }
        // A poll counts every table (with FINAL on ClickHouse); on large
        // stores it takes seconds, and polling back to back slowed the very
        // writers it waits for. At most a third of the time goes to polls.
        tokio::time::sleep(Duration::from_millis(50).max(polled.elapsed() * 2)).await;
    }
}

/// Forwarded tickets leave through the outbox, on their own schedule:
/// waits until every one is sent or parked (or the deadline).
async fn wait_for_forwards(runtime: &Runtime, settings: &Settings, before: &Before, deadline: Instant) {
    let was = before.forwards.sent + before.forwards.parked;
    while settings.forwarder.enabled && Instant::now() <= deadline {
        match runtime.store.forward_counts().await {
            Ok(c) if c.pending == 0 && c.sent + c.parked >= was + fresh_forwards(runtime) => break,
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// A cluster merge is among a batch's last events: waits until the
/// cluster and escalation counts hold still, and returns them.
async fn wait_for_clusters(runtime: &Runtime, before: (u64, u64), deadline: Instant) -> (u64, u64) {
    let mut clusters = before;
    while Instant::now() <= deadline {
        if let Ok(now) = cluster_counts(runtime.store.as_ref()).await {
            let settled = now == clusters;
            clusters = now;
            if settled {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    clusters
}

/// Intake's counts per channel beside the plan's, with their totals.
fn tally(
    snap: &BTreeMap<Channel, minqing_pipelines::intake::CountersSnapshot>,
    planned: &Planned,
) -> (BTreeMap<Channel, Row>, Row, Expected, ExpectedTriage) {
    let mut channels = BTreeMap::new();
    let mut totals = Row::default();
    let mut expected = Expected {
        clusters: planned.clusters,
        escalations: planned.escalations,
        ..Expected::default()
    };
    let mut triage = ExpectedTriage::default();
    for c in Channel::ALL {
        let s = snap[&c];
        let e = planned.by_channel[&c];
        let row = Row {
            generated: e.generated,
            tickets: s.tickets,
            replays: s.replays,
            duplicates: s.duplicates,
            quarantined: s.quarantined,
            missing: e.generated as i64 - s.tickets as i64 - s.replays as i64 - s.quarantined as i64,
            redelivered: s.redelivered,
        };
        totals.add(&row);
        expected.replays += e.replays;
        expected.duplicates += e.duplicates;
        expected.quarantined += e.quarantined;
        expected.triage.add(&e.triage);
        triage.add(&ExpectedTriage {
            forwarded: s.forwarded,
            rejected: s.rejected,
            answered_online: s.answered_online,
            dispatched: s.dispatched,
            manual: s.manual,
        });
        channels.insert(c, row);
    }
    (channels, totals, expected, triage)
}

impl Backends {
    fn of(settings: &Settings) -> Backends {
        Backends {
            bus: format!("{:?}", settings.bus.backend).to_lowercase(),
            workflow_store: format!("{:?}", settings.store.backend).to_lowercase(),
            warehouse: format!("{:?}", settings.warehouse.backend).to_lowercase(),
        }
    }
}

impl Report {
    /// Why the run does not account for what the simulators sent, if it
    /// does not: `minqing demo` then exits with a failure.
    pub fn failure(&self) -> Option<String> {
        if self.fresh_store && self.triage != self.expected.triage {
            return Some(format!(
                "triage decided {:?}, but the simulators wrote appeals for {:?}",
                self.triage, self.expected.triage
            ));
        }
        if self.huangshi.received != self.triage.forwarded {
            return Some(format!(
                "{} tickets were forwarded, but Huangshi received {}",
                self.triage.forwarded, self.huangshi.received
            ));
        }
        if self.totals.missing != 0 {
            return Some(format!("{} appeal(s) not accounted for", self.totals.missing));
        }
        let s = &self.stores;
        if s.workflow_tickets != self.totals.tickets || s.warehouse_tickets != self.totals.tickets {
            return Some(format!(
                "intake made {} tickets, but {} reached the workflow store and {} the warehouse",
                self.totals.tickets, s.workflow_tickets, s.warehouse_tickets
            ));
        }
        if let Some(h) = self.hotspots.as_ref().filter(|h| !h.as_planned) {
            return Some(format!(
                "the planned hotspots rank {} in the week's hotspots; each should be in the top five",
                ranks(&h.hotspot_ranks)
            ));
        }
        None
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        let line = |name: &str, r: &Row| {
            format!(
                "{name:<15} {:>10} {:>10} {:>10} {:>11} {:>12} {:>8}\n",
                r.generated, r.tickets, r.replays, r.duplicates, r.quarantined, r.missing
            )
        };
        out.push_str(&format!(
            "{:<15} {:>10} {:>10} {:>10} {:>11} {:>12} {:>8}\n",
            "channel", "generated", "tickets", "replays", "duplicates", "quarantined", "missing"
        ));
        for (c, r) in &self.channels {
            out.push_str(&line(c.id(), r));
        }
        out.push_str(&line("total", &self.totals));
        out.push_str(&format!(
            "\nexpected (injected): replays {}, duplicates {}, quarantined {}\n",
            self.expected.replays, self.expected.duplicates, self.expected.quarantined
        ));
        if self.totals.redelivered > 0 {
            out.push_str(&format!(
                "read again after our own faults (not the channels' replays): {}\n",
                self.totals.redelivered
            ));
        }
        out.push_str(&self.outcomes());
        out.push_str(&self.plumbing());
        out
    }

    /// Triage, clusters and work orders beside what the plan expected.
    fn outcomes(&self) -> String {
        let mut out = String::new();
        let t = |x: &ExpectedTriage| {
            format!(
                "forwarded {}, rejected {}, answered online {}, dispatched {} (manual queue {})",
                x.forwarded, x.rejected, x.answered_online, x.dispatched, x.manual
            )
        };
        out.push_str(&format!("triage: {}\n  expected: {}\n", t(&self.triage), t(&self.expected.triage)));
        out.push_str(&format!(
            "same-issue clusters: {} (expected {}), 现场督办 escalations: {} (expected {})\n",
            self.clusters, self.expected.clusters, self.escalations, self.expected.escalations
        ));
        if let Some(w) = &self.workflow {
            let c = |x: &crate::sim::units::WorkflowCounts| {
                format!(
                    "signed on time {}, sign overdue {}, reply overdue {}, supervised {}, returned {}, unsatisfied {}, closed {}",
                    x.signed_on_time, x.sign_overdue, x.reply_overdue, x.supervised, x.returned, x.unsatisfied, x.closed
                )
            };
            out.push_str(&format!(
                "work orders ({} worked by simulated units through /api/v1, {} actions at {:.0}/s): {}\n  expected: {}\n",
                w.counts.orders,
                w.actions,
                w.actions_per_sec,
                c(&w.counts),
                c(&w.expected)
            ));
        }
        out
    }

    /// Huangshi, faults, the stores, latency and speed.
    fn plumbing(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "huangshi 12345: {} transfers received, {} repeats refused\n",
            self.huangshi.received, self.huangshi.duplicates_refused
        ));
        out.push_str(&format!(
            "transport faults injected: {} HTTP 500, {} HTTP 429, {} slow answers in {} requests; passive replies verified: {} ok, {} bad\n",
            self.faults.http_500,
            self.faults.http_429,
            self.faults.slow,
            self.faults.requests,
            self.replies_ok,
            self.replies_bad
        ));
        out.push_str(&format!(
            "landed: {} tickets in the workflow store ({}), {} in the warehouse ({}, daily aggregate {}); bus {}\n",
            self.stores.workflow_tickets,
            self.backends.workflow_store,
            self.stores.warehouse_tickets,
            self.backends.warehouse,
            self.stores.warehouse_daily_total,
            self.backends.bus
        ));
        for (store, l) in [("workflow store", &self.latency.workflow), ("warehouse", &self.latency.warehouse)] {
            out.push_str(&format!(
                "ingest-to-{store} latency: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms over {} appeals\n",
                l.p50_ms, l.p99_ms, l.max_ms, l.count
            ));
        }
        if let Some(h) = &self.hotspots {
            out.push_str(&hotspot_lines(h));
        }
        if let Some(r) = self.rate {
            out.push_str(&format!("paced: the simulators' week of appeals played at {r} appeals/s\n"));
        }
        out.push_str(&format!(
            "elapsed {:.2} s, {:.0} appeals/s (after {:.2} s planning the simulators' appeals); data in {}\n",
            self.elapsed_ms as f64 / 1000.0,
            self.appeals_per_sec,
            self.planning_ms as f64 / 1000.0,
            self.data_dir.display()
        ));
        out
    }
}

/// Ranks as the demo prints them: `-` for one not found.
fn ranks(v: &[Option<usize>]) -> String {
    if v.is_empty() {
        return "none planned".into();
    }
    v.iter()
        .map(|r| r.map_or("-".into(), |r| r.to_string()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The week's hotspots as the demo's table shows them.
fn hotspot_lines(h: &crate::sim::hotspots::HotspotReport) -> String {
    let found = h.planned_ranks.iter().filter(|r| r.is_some()).count();
    let mut out = format!(
        "hotspots of the week (planned hotspots ranked {}; {found} of {} other planned many-citizen groups found): rank, heat, citizens, appeals, purity, place, description\n",
        ranks(&h.hotspot_ranks),
        h.planned_ranks.len(),
    );
    for t in &h.top {
        out.push_str(&format!(
            "  {:>2} {:>6.2} {:>3} {:>3} {:>5.2}  {}{}  {}\n",
            t.rank,
            t.heat,
            t.citizens,
            t.appeals,
            t.purity,
            t.place,
            if t.planned { " (planned)" } else { "" },
            t.description
        ));
    }
    out
}

impl Report {
    /// Whether what was observed is what was injected, with nothing missing.
    pub fn checks_out(&self) -> bool {
        self.totals.missing == 0
            && self.stores.workflow_tickets == self.totals.tickets
            && self.stores.warehouse_tickets == self.totals.tickets
            && self.stores.warehouse_daily_total == self.totals.tickets
            && self.totals.replays == self.expected.replays
            && self.totals.duplicates == self.expected.duplicates
            && self.totals.quarantined == self.expected.quarantined
            && (!self.fresh_store
                || (self.triage == self.expected.triage
                    && self.clusters == self.expected.clusters
                    && self.escalations == self.expected.escalations
                    && self.workflow.as_ref().is_none_or(|w| w.counts == w.expected)))
            && self.huangshi.received == self.triage.forwarded
            && self.hotspots.as_ref().is_none_or(|h| h.as_planned)
    }
}

#[cfg(test)]
mod tests {
    use minqing_connectors::sim::corpus;
    use minqing_pipelines::normalize::Gazetteer;
    use rand::SeedableRng;

    /// The simulators' landmarks and estate names must not name a Daye
    /// place, or an appeal meant for the manual queue would get a town.
    #[test]
    fn made_up_names_never_resolve_to_a_town() {
        let g = Gazetteer::from_toml(crate::config::GAZETTEER_TOML).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let issue = corpus::ISSUES
            .iter()
            .position(|i| i.place == corpus::Place::Nowhere)
            .expect("one issue has no place");
        for serial in 0..2000 {
            let mut t = corpus::text(&mut rand_chacha::ChaCha8Rng::seed_from_u64(serial), serial);
            if t.template != issue {
                continue;
            }
            corpus::add_landmark(&mut rng, &mut t);
            corpus::add_landmark(&mut rng, &mut t);
            assert!(g.resolve([t.content.as_str()]).is_none(), "{}", t.content);
        }
        for _ in 0..5000 {
            let e = corpus::estate(&mut rng);
            assert!(g.resolve([e.as_str()]).is_none(), "{e}");
        }
    }
}
