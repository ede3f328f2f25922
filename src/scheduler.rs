//! One scheduler for every periodic job: the channels' pulls, the SLA
//! sweep, and whatever comes to run on a clock (reports). Each job has a
//! cron expression from config and a task of its own, so a job that is
//! down or slow never holds up the others; its runs never overlap (ticks
//! that pass during a long run are skipped, not queued); and its figures
//! are kept for `/metrics`.
//!
//! The catch-up rule after downtime: a job marked [`CatchUp::AtStart`]
//! runs once as soon as it is added, and the job itself finds what the
//! downtime left (a pull resumes from its saved cursor, the sweep reports
//! every deadline passed and not yet reported), so a missed tick is made
//! up without keeping a record of ticks. [`CatchUp::NextTick`] waits for
//! the next tick.

use chrono::Utc;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// One run of a job.
pub type Run = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// What a job does once; an error is logged and counted, and the next
/// tick runs it again.
pub type Work = Arc<dyn Fn(CancellationToken) -> Run + Send + Sync>;

/// When a job first runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// At once, then on the schedule.
    AtStart,
    /// On the schedule's next tick.
    NextTick,
}

/// One periodic job.
pub struct Job {
    /// A stable name for logs and metrics, e.g. `pull:hotline_12345`.
    pub name: String,
    /// The config key the schedule came from, for errors.
    pub key: String,
    /// A cron expression with seconds.
    pub schedule: String,
    pub catch_up: CatchUp,
    pub work: Work,
}

/// A job's figures since start.
#[derive(Debug, Default)]
pub struct JobStats {
    pub runs: AtomicU64,
    pub failures: AtomicU64,
    /// Milliseconds spent running, over all runs.
    pub busy_ms: AtomicU64,
    /// Unix seconds of the last run that succeeded; 0 before one did.
    pub last_success: AtomicU64,
    pub running: AtomicBool,
}

/// Runs jobs on their schedules until cancelled.
#[derive(Debug)]
pub struct Scheduler {
    tracker: TaskTracker,
    cancel: CancellationToken,
    jobs: Mutex<BTreeMap<String, Arc<JobStats>>>,
}

impl Scheduler {
    pub fn new(tracker: TaskTracker, cancel: CancellationToken) -> Arc<Scheduler> {
        Arc::new(Scheduler {
            tracker,
            cancel,
            jobs: Mutex::new(BTreeMap::new()),
        })
    }

    /// Starts `job`'s loop; refuses a bad cron expression (naming its key)
    /// or a name already taken.
    pub fn add(&self, job: Job) -> anyhow::Result<()> {
        let schedule = cron::Schedule::from_str(&job.schedule)
            .map_err(|e| anyhow::anyhow!("`{}`: `{}` is not a cron expression with seconds: {e}", job.key, job.schedule))?;
        let stats = Arc::new(JobStats::default());
        {
            let mut jobs = self.jobs.lock().expect("scheduler lock");
            anyhow::ensure!(!jobs.contains_key(&job.name), "job `{}` is scheduled twice", job.name);
            jobs.insert(job.name.clone(), stats.clone());
        }
        self.tracker
            .spawn(run_loop(job.name, schedule, job.catch_up, job.work, stats, self.cancel.clone()));
        Ok(())
    }

    /// Every job's figures, by name.
    pub fn stats(&self) -> Vec<(String, Arc<JobStats>)> {
        let jobs = self.jobs.lock().expect("scheduler lock");
        jobs.iter().map(|(n, s)| (n.clone(), s.clone())).collect()
    }
}

/// Every job's `/metrics` (`minqing_job_*{job=…}`), read from its atomics
/// at scrape time; the jobs' lock is held only to list them.
impl Collector for Scheduler {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let jobs = self.stats();
        type Read = fn(&JobStats) -> u64;
        // Counter names without `_total`, and names without the unit: the
        // encoder adds both (`minqing_job_busy_seconds_total`).
        let counters: [(&str, &str, Read); 2] = [
            ("minqing_job_runs", "Runs of a scheduled job.", |j| j.runs.load(Ordering::Relaxed)),
            ("minqing_job_failures", "Runs that failed (alert if it keeps rising).", |j| {
                j.failures.load(Ordering::Relaxed)
            }),
        ];
        for (name, help, read) in counters {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (job, j) in &jobs {
                ConstCounter::new(read(j)).encode(metric.encode_family(&[("job", job.as_str())])?)?;
            }
        }
        let seconds = Unit::Seconds;
        let mut metric = encoder.encode_descriptor("minqing_job_busy", "Time spent running.", Some(&seconds), MetricType::Counter)?;
        for (job, j) in &jobs {
            let busy = j.busy_ms.load(Ordering::Relaxed) as f64 / 1000.0;
            ConstCounter::new(busy).encode(metric.encode_family(&[("job", job.as_str())])?)?;
        }
        let gauges: [(&str, &str, Option<&Unit>, Read); 2] = [
            (
                "minqing_job_last_success_timestamp",
                "When a run last succeeded (0: never).",
                Some(&seconds),
                |j| j.last_success.load(Ordering::Relaxed),
            ),
            ("minqing_job_running", "1 while a run is under way.", None, |j| {
                u64::from(j.running.load(Ordering::Relaxed))
            }),
        ];
        for (name, help, unit, read) in gauges {
            let mut metric = encoder.encode_descriptor(name, help, unit, MetricType::Gauge)?;
            for (job, j) in &jobs {
                ConstGauge::new(read(j)).encode(metric.encode_family(&[("job", job.as_str())])?)?;
            }
        }
        Ok(())
    }
}

async fn run_loop(name: String, schedule: cron::Schedule, catch_up: CatchUp, work: Work, stats: Arc<JobStats>, cancel: CancellationToken) {
    let mut first = catch_up == CatchUp::AtStart;
    loop {
        if !first {
            // Counted from now, so ticks passed during a long run are skipped.
            let Some(next) = schedule.upcoming(Utc).next() else {
                tracing::warn!(job = %name, "The schedule has no future tick; the job stops.");
                return;
            };
            let wait = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = cancel.cancelled() => return,
            }
        }
        first = false;
        run_once(&name, &work, &stats, &cancel).await;
        if cancel.is_cancelled() {
            return;
        }
    }
}

async fn run_once(name: &str, work: &Work, stats: &JobStats, cancel: &CancellationToken) {
    stats.running.store(true, Ordering::Relaxed);
    let started = Instant::now();
    let span = tracing::info_span!("job", job = %name);
    let result = tracing::Instrument::instrument(work(cancel.clone()), span).await;
    stats.busy_ms.fetch_add(started.elapsed().as_millis() as u64, Ordering::Relaxed);
    stats.runs.fetch_add(1, Ordering::Relaxed);
    stats.running.store(false, Ordering::Relaxed);
    match result {
        Ok(()) => stats.last_success.store(Utc::now().timestamp().max(0) as u64, Ordering::Relaxed),
        Err(e) => {
            stats.failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(job = %name, error = %format!("{e:#}"), "Scheduled job failed; its next tick tries again.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn counting(runs: Arc<AtomicUsize>, fail: bool) -> Work {
        Arc::new(move |_| {
            let runs = runs.clone();
            Box::pin(async move {
                runs.fetch_add(1, Ordering::SeqCst);
                if fail { Err(anyhow::anyhow!("refused")) } else { Ok(()) }
            })
        })
    }

    fn job(name: &str, schedule: &str, catch_up: CatchUp, work: Work) -> Job {
        Job {
            name: name.into(),
            key: format!("test.{name}"),
            schedule: schedule.into(),
            catch_up,
            work,
        }
    }

    #[tokio::test]
    async fn a_catch_up_job_runs_at_once_and_failures_are_counted() {
        let (tracker, cancel) = (TaskTracker::new(), CancellationToken::new());
        let s = Scheduler::new(tracker.clone(), cancel.clone());
        let (ok, bad) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        // Once a year: only the catch-up run can happen in this test.
        s.add(job("ok", "0 0 0 1 1 *", CatchUp::AtStart, counting(ok.clone(), false)))
            .unwrap();
        s.add(job("bad", "0 0 0 1 1 *", CatchUp::AtStart, counting(bad.clone(), true)))
            .unwrap();
        s.add(job(
            "later",
            "0 0 0 1 1 *",
            CatchUp::NextTick,
            counting(Arc::new(AtomicUsize::new(0)), false),
        ))
        .unwrap();
        for _ in 0..200 {
            if ok.load(Ordering::SeqCst) == 1 && bad.load(Ordering::SeqCst) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let stats: BTreeMap<_, _> = s.stats().into_iter().collect();
        assert_eq!(stats["ok"].runs.load(Ordering::SeqCst), 1);
        assert_eq!(stats["ok"].failures.load(Ordering::SeqCst), 0);
        assert!(stats["ok"].last_success.load(Ordering::SeqCst) > 0);
        assert_eq!(stats["bad"].failures.load(Ordering::SeqCst), 1);
        assert_eq!(stats["bad"].last_success.load(Ordering::SeqCst), 0);
        assert_eq!(stats["later"].runs.load(Ordering::SeqCst), 0);
        cancel.cancel();
        tracker.close();
        tracker.wait().await;
    }

    #[tokio::test]
    async fn runs_of_one_job_never_overlap() {
        let (tracker, cancel) = (TaskTracker::new(), CancellationToken::new());
        let s = Scheduler::new(tracker.clone(), cancel.clone());
        let (at_once, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (a, m) = (at_once.clone(), most.clone());
        // Every second, each run taking 1.5 s: a naive timer would overlap.
        let work: Work = Arc::new(move |_| {
            let (a, m) = (a.clone(), m.clone());
            Box::pin(async move {
                let now = a.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(1500)).await;
                a.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            })
        });
        s.add(job("slow", "* * * * * *", CatchUp::AtStart, work)).unwrap();
        tokio::time::sleep(Duration::from_millis(3200)).await;
        assert_eq!(most.load(Ordering::SeqCst), 1);
        let stats: BTreeMap<_, _> = s.stats().into_iter().collect();
        assert!(stats["slow"].runs.load(Ordering::SeqCst) >= 1);
        cancel.cancel();
        tracker.close();
        tracker.wait().await;
    }

    #[tokio::test]
    async fn job_metrics_keep_their_names_kinds_and_units() {
        let cancel = CancellationToken::new();
        let s = Scheduler::new(TaskTracker::new(), cancel.clone());
        s.add(job(
            "sla_sweep",
            "0 0 0 1 1 *",
            CatchUp::NextTick,
            counting(Arc::new(AtomicUsize::new(0)), false),
        ))
        .unwrap();
        let (_, j) = &s.stats()[0];
        j.runs.store(2, Ordering::Relaxed);
        j.busy_ms.store(1500, Ordering::Relaxed);
        j.last_success.store(1_700_000_000, Ordering::Relaxed);
        j.running.store(true, Ordering::Relaxed);
        let text = minqing_connectors::metrics::text_of(s.clone());
        minqing_connectors::metrics::assert_shows(
            &text,
            &[
                "# TYPE minqing_job_runs_total counter",
                "minqing_job_runs_total{job=\"sla_sweep\"} 2",
                "minqing_job_failures_total{job=\"sla_sweep\"} 0",
                "# TYPE minqing_job_busy_seconds_total counter",
                "minqing_job_busy_seconds_total{job=\"sla_sweep\"} 1.5",
                "# TYPE minqing_job_last_success_timestamp_seconds gauge",
                "minqing_job_last_success_timestamp_seconds{job=\"sla_sweep\"} 1700000000",
                "# TYPE minqing_job_running gauge",
                "minqing_job_running{job=\"sla_sweep\"} 1",
            ],
        );
        cancel.cancel();
    }

    #[tokio::test]
    async fn a_bad_schedule_names_its_key_and_a_name_is_taken_once() {
        let cancel = CancellationToken::new();
        let s = Scheduler::new(TaskTracker::new(), cancel.clone());
        let idle = || counting(Arc::new(AtomicUsize::new(0)), false);
        let err = s.add(job("x", "every minute", CatchUp::NextTick, idle())).unwrap_err().to_string();
        assert!(err.contains("`test.x`"), "{err}");
        s.add(job("y", "0 0 0 1 1 *", CatchUp::NextTick, idle())).unwrap();
        let err = s.add(job("y", "0 0 0 1 1 *", CatchUp::NextTick, idle())).unwrap_err().to_string();
        assert!(err.contains("twice"), "{err}");
        cancel.cancel();
    }
}
