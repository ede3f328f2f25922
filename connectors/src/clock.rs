//! What the connectors and the simulators take for "now".
//!
//! Real time, except in a paced demo (`minqing demo --rate`). There the
//! simulators' scenario, a week of appeals, is played forward from its first
//! delivery at a fixed speed, so appeals arrive at the asked rate instead of
//! all at once, and ingest latency can be read at a steady load. The
//! time-window connectors (supervision, 12366) read the same clock, as in
//! life they ask an upstream only for windows that have passed there.
//!
//! The warp is set at most once per process, and only by the command line:
//! tests share a process, so they never set it, and `minqing run` never does.
//! Signature timestamps and token lifetimes stay on real time.

use crate::timefmt::shanghai;
use chrono::{DateTime, Duration, FixedOffset};
use std::sync::OnceLock;
use std::time::Instant;

/// Scenario time run forward from `start` at `speed` scenario seconds per
/// real second.
#[derive(Debug, Clone, Copy)]
pub struct Warp {
    real_start: Instant,
    start: DateTime<FixedOffset>,
    speed: f64,
}

impl Warp {
    pub fn new(start: DateTime<FixedOffset>, speed: f64, real_start: Instant) -> Warp {
        Warp { real_start, start, speed }
    }

    /// The scenario time at the real instant `real`.
    pub fn at(&self, real: Instant) -> DateTime<FixedOffset> {
        let real = real.saturating_duration_since(self.real_start).as_secs_f64();
        self.start + Duration::microseconds((real * self.speed * 1e6) as i64)
    }
}

static WARP: OnceLock<Warp> = OnceLock::new();

/// The clock of this process was warped already.
#[derive(Debug, thiserror::Error)]
#[error("the clock of this process was warped already; a paced demo runs once per process")]
pub struct AlreadyWarped;

/// Runs this process's clock as `w` from now on; an error if it was set.
pub fn warp(w: Warp) -> Result<(), AlreadyWarped> {
    WARP.set(w).map_err(|_| AlreadyWarped)
}

/// Now, in Asia/Shanghai: real time, or the paced demo's scenario time.
pub fn now() -> DateTime<FixedOffset> {
    match WARP.get() {
        Some(w) => w.at(Instant::now()),
        None => chrono::Utc::now().with_timezone(&shanghai()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warp_runs_scenario_time_at_its_speed_from_its_start() {
        let start = DateTime::parse_from_rfc3339("2026-06-01T08:00:00+08:00").unwrap();
        let t0 = Instant::now();
        let w = Warp::new(start, 3600.0, t0);
        assert_eq!(w.at(t0), start);
        assert_eq!(w.at(t0 + std::time::Duration::from_millis(500)), start + Duration::minutes(30));
        assert_eq!(w.at(t0 + std::time::Duration::from_secs(2)), start + Duration::hours(2));
        // An instant before the start is the start.
        assert_eq!(Warp::new(start, 10.0, t0 + std::time::Duration::from_secs(1)).at(t0), start);
    }

    #[test]
    fn without_a_warp_now_is_real_time() {
        let real = chrono::Utc::now();
        assert!((now().with_timezone(&chrono::Utc) - real).num_seconds().abs() <= 1);
    }
}
