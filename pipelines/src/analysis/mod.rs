//! What the warehouse answers analysts beyond the saved queries: trends
//! per period with rising flags ([`trends`], [`rising`]) and hotspots, one
//! issue at one place raised by many people ([`hotspots`]). `[analysis]`
//! in config holds their factors and thresholds.

pub mod hotspots;
pub mod rising;
pub mod trends;

use serde::{Deserialize, Serialize};

/// `[analysis]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AnalysisSettings {
    /// 满意 counts this much in 满意率.
    pub satisfied_weight: f64,
    /// 基本满意 counts this much in 满意率 (0.9 in the operating rules).
    pub basically_weight: f64,
    /// A repeat complaint: the same citizen on the same issue within so
    /// many days (the default window of `repeat_complaints`).
    pub repeat_days: u32,
    pub rising: rising::RisingSettings,
    pub hotspots: hotspots::HotspotSettings,
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        let w = crate::warehouse::saved::Weights::default();
        AnalysisSettings {
            satisfied_weight: w.satisfied_weight,
            basically_weight: w.basically_weight,
            repeat_days: 30,
            rising: Default::default(),
            hotspots: Default::default(),
        }
    }
}

impl AnalysisSettings {
    pub fn weights(&self) -> crate::warehouse::saved::Weights {
        crate::warehouse::saved::Weights {
            satisfied_weight: self.satisfied_weight,
            basically_weight: self.basically_weight,
            repeat_days: self.repeat_days,
        }
    }

    /// What is wrong with the settings, each naming its key.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (key, w) in [
            ("satisfied_weight", self.satisfied_weight),
            ("basically_weight", self.basically_weight),
        ] {
            if !(0.0..=1.0).contains(&w) {
                out.push(format!("analysis.{key} = {w}: a weight is between 0 and 1"));
            }
        }
        if self.rising.baseline_periods < 2 {
            out.push("analysis.rising.baseline_periods: at least 2 periods make a baseline".into());
        }
        if self.rising.z <= 0.0 {
            out.push(format!("analysis.rising.z = {}: the threshold must be above 0", self.rising.z));
        }
        out
    }
}
