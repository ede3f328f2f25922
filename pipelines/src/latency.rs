//! Ingest-to-store latency: from the moment minqing accepted an appeal from
//! its channel to the commit of its ticket in a store.
//!
//! A log-bucketed histogram (buckets 4% apart, from 1 ms to about an hour)
//! of atomics, so sinks record without a lock; quantiles are read from it
//! for `minqing demo` and `/metrics`. A quantile is the upper edge of its
//! bucket, so it overstates by at most 4%.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const GROWTH: f64 = 1.04;
/// 1.04^387 ms ≈ 68 min; slower samples share the last bucket.
const BUCKETS: usize = 388;

pub struct Histogram {
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    sum_us: AtomicU64,
    max_us: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
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
}

/// One histogram per store.
#[derive(Default)]
pub struct Latencies {
    pub workflow: Histogram,
    pub warehouse: Histogram,
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
