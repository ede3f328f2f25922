//! The SLA sweep as a job of the one scheduler (`[workflow] sweep_schedule`), and
//! the start-up pass that recounts provisional deadlines once the
//! calendar covers their year. Each sweep's events reach the warehouse
//! through the workflow store's outbox, committed with them; its figures
//! are kept for `/metrics`.

use crate::scheduler::{CatchUp, Job, Work};
use chrono::Datelike;
use minqing_pipelines::relay::Relay;
use minqing_pipelines::store::OrderStore;
use minqing_pipelines::workflow::Deadlines;
use minqing_pipelines::workflow::sweep::{SweepReport, recount_provisional, run_once};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Totals since start, for `/metrics`.
#[derive(Debug, Default)]
pub struct SweepStats {
    pub runs: AtomicU64,
    pub failures: AtomicU64,
    pub sign_overdue: AtomicU64,
    pub reply_overdue: AtomicU64,
    pub phone_supervision: AtomicU64,
    pub written_supervision: AtomicU64,
    pub clue_transfers: AtomicU64,
    /// Open orders whose deadlines were counted on the weekday rule.
    pub provisional_orders: AtomicU64,
}

/// The sweep's `/metrics`: `minqing_sla_*`, `minqing_supervision_*` and
/// `minqing_clue_transfers_total` counters and the
/// `minqing_provisional_orders` gauge, read from the atomics at scrape time.
impl Collector for SweepStats {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        // Counter names without `_total`: the encoder adds it.
        for (name, help, value) in [
            ("minqing_sla_sweeps", "SLA sweeps run.", &self.runs),
            ("minqing_sla_sweep_failures", "SLA sweeps that failed (alert).", &self.failures),
            ("minqing_sla_sign_overdue", "Orders reported late to sign.", &self.sign_overdue),
            ("minqing_sla_reply_overdue", "Orders reported late to reply.", &self.reply_overdue),
            (
                "minqing_supervision_phone",
                "Phone supervision (电话督办) recorded.",
                &self.phone_supervision,
            ),
            (
                "minqing_supervision_written",
                "Written supervision (公函督办) proposed.",
                &self.written_supervision,
            ),
            (
                "minqing_clue_transfers",
                "Clue transfers (线索移交) proposed.",
                &self.clue_transfers,
            ),
        ] {
            let metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            ConstCounter::new(value.load(Ordering::Relaxed)).encode(metric)?;
        }
        let help = "Open orders with deadlines on the weekday rule (a year the calendar lacks; add its file).";
        let metric = encoder.encode_descriptor("minqing_provisional_orders", help, None, MetricType::Gauge)?;
        ConstGauge::new(self.provisional_orders.load(Ordering::Relaxed)).encode(metric)
    }
}

impl SweepStats {
    fn add(&self, r: &SweepReport) {
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.sign_overdue.fetch_add(r.sign_overdue, Ordering::Relaxed);
        self.reply_overdue.fetch_add(r.reply_overdue, Ordering::Relaxed);
        self.phone_supervision.fetch_add(r.phone_supervision, Ordering::Relaxed);
        self.written_supervision.fetch_add(r.written_supervision, Ordering::Relaxed);
        self.clue_transfers.fetch_add(r.clue_transfers, Ordering::Relaxed);
    }
}

use minqing_pipelines::workflow::service::now;

/// Warns about years the calendar lacks and recounts provisional
/// deadlines on the calendar as loaded now; runs before the first sweep.
pub async fn prepare(store: &dyn OrderStore, deadlines: &Deadlines, stats: &SweepStats) {
    let year = now().date_naive().year_ce().1 as i32;
    for y in [year, year + 1] {
        if !deadlines.calendar.covers(y) {
            tracing::warn!(
                year = y,
                "The working-day calendar has no data for {y}: deadlines there follow the weekday rule and are marked provisional \
                 until config/calendar/{y}.toml is added (see `minqing calendar check`)."
            );
        }
    }
    match recount_provisional(store, deadlines).await {
        Ok((fixed, still)) => {
            stats.provisional_orders.store(still, Ordering::Relaxed);
            if fixed > 0 {
                tracing::info!(fixed, "Provisional deadlines recounted on the calendar's new data.");
            }
        }
        Err(e) => tracing::warn!(error = %e, "Could not recount provisional deadlines; the next start tries again."),
    }
}

/// The SLA sweep as a scheduled job on `workflow.sweep_schedule`. It
/// catches up at start: a sweep reports every deadline that passed and was
/// not reported yet, so the first one after downtime makes up the ticks
/// missed.
pub fn job(schedule: &str, store: Arc<dyn OrderStore>, relay: Arc<Relay>, stats: Arc<SweepStats>) -> Job {
    let work: Work = Arc::new(move |_cancel| {
        let (store, relay, stats) = (store.clone(), relay.clone(), stats.clone());
        Box::pin(async move {
            match run_once(store.as_ref(), &relay, now()).await {
                Ok(r) => {
                    stats.add(&r);
                    if r != SweepReport::default() {
                        tracing::info!(?r, "SLA sweep.");
                    }
                    Ok(())
                }
                Err(e) => {
                    stats.failures.fetch_add(1, Ordering::Relaxed);
                    Err(anyhow::anyhow!("SLA sweep: {e}"))
                }
            }
        })
    });
    Job {
        name: "sla_sweep".into(),
        key: "workflow.sweep_schedule".into(),
        schedule: schedule.into(),
        catch_up: CatchUp::AtStart,
        work,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_metrics_keep_their_names_and_kinds() {
        let stats = SweepStats::default();
        stats.runs.store(3, Ordering::Relaxed);
        stats.provisional_orders.store(2, Ordering::Relaxed);
        let text = minqing_connectors::metrics::text_of(stats);
        minqing_connectors::metrics::assert_shows(
            &text,
            &[
                "# TYPE minqing_sla_sweeps_total counter",
                "minqing_sla_sweeps_total 3",
                "minqing_clue_transfers_total 0",
                "# TYPE minqing_provisional_orders gauge",
                "minqing_provisional_orders 2",
            ],
        );
    }
}
