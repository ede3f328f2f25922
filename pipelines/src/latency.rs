//! Ingest-to-store latency: from the moment minqing accepted an appeal from
//! its channel to the commit of its ticket in a store.
//!
//! Two sets of buckets of atomics, so sinks record without a lock:
//!
//! - log buckets 4% apart, from 1 ms to about an hour, from which
//!   `minqing demo` reads quantiles (a quantile is the upper edge of its
//!   bucket, so it overstates by at most 4%);
//! - the few round bounds, 1 ms to 60 s, of the Prometheus histogram
//!   `minqing_ingest_latency_seconds{store=…}` in `/metrics`
//!   ([`Latencies`] is its collector). Prometheus counts a sample in every
//!   bucket whose bound is at least the sample, which the log buckets' edges
//!   (1.04^i ms) cannot say of 5 ms or 1 s; one more relaxed add per sample
//!   keeps its counts exact.

use chrono::{DateTime, Utc};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const GROWTH: f64 = 1.04;
/// 1.04^387 ms ≈ 68 min; slower samples share the last bucket.
const BUCKETS: usize = 388;

/// Upper bounds (`le`) of the buckets `/metrics` shows, in microseconds:
/// a memory bus commits in milliseconds, a broker and a remote warehouse in
/// tens to hundreds, and a backlog or a stalled store shows up past seconds.
const EXPOSED_US: [u64; 15] = [
    1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 30_000_000,
    60_000_000,
];

pub struct Histogram {
    buckets: Vec<AtomicU64>,
    /// Samples per [`EXPOSED_US`] bucket, not cumulative; the last one
    /// holds those over 60 s.
    exposed: [AtomicU64; EXPOSED_US.len() + 1],
    count: AtomicU64,
    sum_us: AtomicU64,
    max_us: AtomicU64,
}

/// The totals only: the buckets would be hundreds of lines.
impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.count)
            .field("sum_us", &self.sum_us)
            .field("max_us", &self.max_us)
            .finish_non_exhaustive()
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            exposed: Default::default(),
            count: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
            max_us: AtomicU64::new(0),
        }
    }
}

/// Bucket 0 holds samples under 1 ms; bucket i ≥ 1 holds
/// [1.04^(i-1), 1.04^i) ms.
fn bucket(ms: f64) -> usize {
    if ms < 1.0 {
        0
    } else {
        ((ms.ln() / GROWTH.ln()).floor() as usize + 1).min(BUCKETS - 1)
    }
}

fn upper_edge_ms(i: usize) -> f64 {
    GROWTH.powi(i as i32)
}

/// What the histogram says, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Histogram {
    pub fn record(&self, d: Duration) {
        let us = d.as_micros().min(u64::MAX as u128) as u64;
        self.buckets[bucket(us as f64 / 1000.0)].fetch_add(1, Ordering::Relaxed);
        // The first bound at least `us`; past the last, the overflow bucket.
        self.exposed[EXPOSED_US.partition_point(|&le| le < us)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    /// Records `now - at`; a stamp from the future (clock skew) counts as 0.
    pub fn record_since(&self, at: DateTime<Utc>, now: DateTime<Utc>) {
        self.record((now - at).to_std().unwrap_or_default());
    }

    /// The upper edge of the bucket holding the `q` quantile, in ms.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                // Never above the largest sample seen.
                return Some(upper_edge_ms(i).min(self.max_us.load(Ordering::Relaxed) as f64 / 1000.0));
            }
        }
        None
    }

    pub fn summary(&self) -> Summary {
        let count = self.count.load(Ordering::Relaxed);
        if count == 0 {
            return Summary::default();
        }
        Summary {
            count,
            p50_ms: self.quantile_ms(0.5).unwrap_or_default(),
            p99_ms: self.quantile_ms(0.99).unwrap_or_default(),
            max_ms: self.max_us.load(Ordering::Relaxed) as f64 / 1000.0,
            mean_ms: self.sum_us.load(Ordering::Relaxed) as f64 / 1000.0 / count as f64,
        }
    }

    /// The Prometheus buckets as (upper bound in seconds, samples in that
    /// bucket alone), the last bound `+Inf`; the sample count; their sum in
    /// seconds. The count is the buckets' total, so that `_count` and the
    /// `+Inf` bucket agree even while samples arrive.
    fn exposed(&self) -> ([(f64, u64); EXPOSED_US.len() + 1], u64, f64) {
        let mut buckets = [(f64::INFINITY, 0); EXPOSED_US.len() + 1];
        for (i, (le, n)) in buckets.iter_mut().enumerate() {
            if let Some(us) = EXPOSED_US.get(i) {
                *le = *us as f64 / 1e6;
            }
            *n = self.exposed[i].load(Ordering::Relaxed);
        }
        let count = buckets.iter().map(|(_, n)| n).sum();
        (buckets, count, self.sum_us.load(Ordering::Relaxed) as f64 / 1e6)
    }
}

/// One histogram per store.
#[derive(Debug, Default)]
pub struct Latencies {
    pub workflow: Histogram,
    pub warehouse: Histogram,
}

/// `minqing_ingest_latency_seconds{store="workflow"|"warehouse"}`, a
/// histogram, read from the atomics at scrape time.
impl Collector for Latencies {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let help = "From accepting an appeal to committing its ticket, per store.";
        // The unit is appended to the name: minqing_ingest_latency_seconds.
        let seconds = Unit::Seconds;
        let mut metric = encoder.encode_descriptor("minqing_ingest_latency", help, Some(&seconds), MetricType::Histogram)?;
        for (store, h) in [("workflow", &self.workflow), ("warehouse", &self.warehouse)] {
            let (buckets, count, sum) = h.exposed();
            let label = [("store", store)];
            let mut labelled = metric.encode_family(&label)?;
            labelled.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_land_within_a_bucket_of_the_truth() {
        let h = Histogram::default();
        for ms in 1..=1000u64 {
            h.record(Duration::from_millis(ms));
        }
        let p50 = h.quantile_ms(0.5).unwrap();
        let p99 = h.quantile_ms(0.99).unwrap();
        assert!((500.0..=520.0).contains(&p50), "{p50}");
        assert!((990.0..=1000.0).contains(&p99), "{p99}");
        let s = h.summary();
        assert_eq!(s.count, 1000);
        assert_eq!(s.max_ms, 1000.0);
        assert!((s.mean_ms - 500.5).abs() < 0.01);
    }

    #[test]
    fn sub_millisecond_and_huge_samples_are_kept() {
        let h = Histogram::default();
        h.record(Duration::from_micros(300));
        h.record(Duration::from_secs(10_000));
        assert_eq!(h.quantile_ms(0.5).unwrap(), 1.0);
        assert_eq!(h.summary().max_ms, 10_000_000.0);
        assert!(h.quantile_ms(1.0).unwrap() > 3_600_000.0);
        let h = Histogram::default();
        h.record(Duration::from_secs(4));
        h.record(Duration::from_secs(60));
        assert!((4000.0..=4160.0).contains(&h.quantile_ms(0.5).unwrap()));
    }

    #[test]
    fn metrics_show_a_histogram_per_store() {
        let l = Latencies::default();
        for ms in [1, 3, 5, 700, 90_000] {
            l.workflow.record(Duration::from_millis(ms));
        }
        l.warehouse.record(Duration::from_micros(5_001));
        let text = minqing_connectors::metrics::text_of(l);
        let w = "minqing_ingest_latency_seconds_bucket{store=\"workflow\",le=";
        let h = "minqing_ingest_latency_seconds_bucket{store=\"warehouse\",le=";
        minqing_connectors::metrics::assert_shows(
            &text,
            &[
                "# TYPE minqing_ingest_latency_seconds histogram",
                // A bound counts the samples at it: 1 ms and 5 ms exactly.
                &format!("{w}\"0.001\"}} 1"),
                &format!("{w}\"0.0025\"}} 1"),
                &format!("{w}\"0.005\"}} 3"),
                &format!("{w}\"1\"}} 4"),
                &format!("{w}\"60\"}} 4"),
                &format!("{w}\"+Inf\"}} 5"),
                "minqing_ingest_latency_seconds_sum{store=\"workflow\"} 90.709",
                "minqing_ingest_latency_seconds_count{store=\"workflow\"} 5",
                &format!("{h}\"0.005\"}} 0"),
                &format!("{h}\"0.01\"}} 1"),
                "minqing_ingest_latency_seconds_count{store=\"warehouse\"} 1",
            ],
        );
        assert_eq!(text.matches("_bucket{store=\"workflow\"").count(), EXPOSED_US.len() + 1);
    }

    #[test]
    fn an_empty_histogram_has_no_quantiles() {
        let h = Histogram::default();
        assert_eq!(h.quantile_ms(0.5), None);
        assert_eq!(h.summary(), Summary::default());
    }

    #[test]
    fn a_stamp_from_the_future_counts_as_zero() {
        let h = Histogram::default();
        let now = Utc::now();
        h.record_since(now + chrono::Duration::seconds(5), now);
        assert_eq!(h.summary().max_ms, 0.0);
    }
}
