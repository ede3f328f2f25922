//! Rising detection: is this period's count improbable against the same
//! series' trailing periods? The baseline is the mean μ of the last
//! `baseline_periods` periods and their standard deviation σ; the score is
//! z = (x − μ) / max(σ, √μ, 1). Flooring σ at √μ (the Poisson deviation)
//! keeps a quiet, steady series from flagging a small wobble, and the floor
//! of 1 keeps a series that was always zero from flagging its first
//! ticket. A period rises when z ≥ `z` and x ≥ `min_count`.

use serde::{Deserialize, Serialize};

/// `[analysis.rising]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RisingSettings {
    /// Trailing periods in the baseline.
    pub baseline_periods: usize,
    /// The score from which a period counts as rising.
    pub z: f64,
    /// Fewer tickets than this never count as rising.
    pub min_count: u64,
}

impl Default for RisingSettings {
    fn default() -> Self {
        RisingSettings {
            baseline_periods: 8,
            z: 3.0,
            min_count: 5,
        }
    }
}

/// The score of `x` against `history` (oldest first; only the last
/// `baseline_periods` count). `None` without any history.
pub fn score(x: u64, history: &[u64], s: &RisingSettings) -> Option<f64> {
    let tail = &history[history.len().saturating_sub(s.baseline_periods)..];
    if tail.is_empty() {
        return None;
    }
    let n = tail.len() as f64;
    let mean = tail.iter().sum::<u64>() as f64 / n;
    let var = tail.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let sd = var.sqrt().max(mean.sqrt()).max(1.0);
    Some((x as f64 - mean) / sd)
}

/// Whether `x` rises against `history`, and its score.
pub fn rises(x: u64, history: &[u64], s: &RisingSettings) -> (bool, Option<f64>) {
    let z = score(x, history, s);
    (x >= s.min_count && z.is_some_and(|z| z >= s.z), z)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jump_over_a_steady_baseline_rises_and_noise_does_not() {
        let s = RisingSettings::default();
        let steady = [10, 12, 9, 11, 10, 10, 12, 9];
        assert!(rises(30, &steady, &s).0);
        assert!(!rises(14, &steady, &s).0, "within √μ of the mean");
        // From nothing: five tickets in a series that never had one rise;
        // two do not (min_count).
        assert!(rises(5, &[0; 8], &s).0);
        assert!(!rises(2, &[0; 8], &s).0);
        assert_eq!(rises(5, &[], &s), (false, None), "no history, no verdict");
        // Only the last 8 periods count.
        let mut long = vec![100; 20];
        long.extend([1; 8]);
        assert!(rises(9, &long, &s).0);
    }
}
