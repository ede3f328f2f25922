//! Near-duplicates and same-issue clusters (同一问题).
//!
//! - [`shingle`]: canonical text (no punctuation, width or boilerplate) and
//!   character n-gram shingles, with the exact Jaccard check.
//! - [`minhash`]: MinHash signatures and LSH band keys.
//! - [`index`]: the windowed LSH index: candidates by band, blocked by town
//!   and time, verified by the real similarity before any link is made.
//! - [`stage`]: the engine inside intake, rebuilt from the workflow store.
//! - [`table`]: the compact band-key table.
//! - [`cluster`]: clusters as a union-find with their statistics, and the
//!   on-site supervision (现场督办) triggers, once per crossing.
//! - [`batch`]: CSV in, links out, and pairwise precision and recall, for
//!   `minqing dedup cluster|eval`.
//! - [`bench`]: the throughput benchmark and its load.
//! - [`engine`]: one call per ticket: `duplicate_of`, `cluster_id`, merges
//!   and escalations.

pub mod batch;
pub mod bench;
pub mod cluster;
pub mod engine;
pub mod index;
pub mod minhash;
pub mod shingle;
pub mod stage;
pub mod table;

use serde::{Deserialize, Serialize};

/// `[neardup]` in the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Intake links near-duplicates and clusters; off, it links only the
    /// same citizen's identical text.
    pub enabled: bool,
    /// Characters per shingle.
    pub ngram: usize,
    /// MinHash permutations; `bands × rows` of them are banded.
    pub num_perm: usize,
    pub bands: usize,
    pub rows: usize,
    /// Bands of the head view (the title), `rows` each.
    pub head_bands: usize,
    /// A head view needs this many shingles to count: short generic
    /// titles ("咨询问题") say nothing about the issue.
    pub min_head_shingles: usize,
    /// Exact Jaccard of the full texts that links two tickets to one issue.
    pub cluster_threshold: f64,
    /// Exact Jaccard of the heads that links them too (a title sent
    /// alone), when the shorter text's shingles are at least this share of
    /// the longer one's.
    pub head_threshold: f64,
    /// Same citizen, Jaccard at least this, within `duplicate_window_hours`:
    /// a duplicate, not dispatched again.
    pub duplicate_threshold: f64,
    pub duplicate_window_hours: i64,
    /// Tickets older than this are no longer compared with new ones.
    pub window_days: i64,
    /// Compare only tickets of the same town (tickets without one form
    /// their own block).
    pub block_by_town: bool,
    /// Boilerplate removed before shingling: greetings, sign-offs.
    pub ignore_phrases: Vec<String>,
    pub seed: u64,
    pub escalation: EscalationParams,
}

/// The 现场督办 rule: one citizen `same_citizen` times within
/// `same_citizen_days`, or `citizens` distinct citizens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EscalationParams {
    pub same_citizen: u32,
    pub same_citizen_days: i64,
    pub citizens: u32,
}

impl Default for EscalationParams {
    fn default() -> Self {
        EscalationParams {
            same_citizen: 3,
            same_citizen_days: 30,
            citizens: 3,
        }
    }
}

impl Default for Params {
    fn default() -> Self {
        Params {
            enabled: true,
            ngram: 2,
            num_perm: 128,
            bands: 32,
            rows: 4,
            head_bands: 8,
            min_head_shingles: 8,
            cluster_threshold: 0.4,
            head_threshold: 0.8,
            duplicate_threshold: 0.8,
            duplicate_window_hours: 72,
            window_days: 90,
            block_by_town: true,
            ignore_phrases: [
                "尊敬的领导",
                "尊敬的市长",
                "尊敬的书记",
                "领导您好",
                "领导你好",
                "您好",
                "你好",
                "谢谢",
                "此致敬礼",
            ]
            .map(String::from)
            .to_vec(),
            seed: 0x6D69_6E71_696E_6721,
            escalation: EscalationParams::default(),
        }
    }
}

impl Params {
    /// Every problem, each naming its key under `prefix` (`neardup`).
    pub fn check(&self, prefix: &str) -> Vec<String> {
        let mut e = Vec::new();
        let mut bad = |key: &str, why: String| e.push(format!("`{prefix}.{key}`: {why}"));
        if !(1..=8).contains(&self.ngram) {
            bad(
                "ngram",
                format!("{} is out of range; use 1 to 8 characters (2 suits Chinese)", self.ngram),
            );
        }
        if self.rows == 0 || self.bands == 0 {
            bad("bands", "bands and rows must both be at least 1".into());
        } else if self.bands * self.rows > self.num_perm {
            bad(
                "bands",
                format!(
                    "bands × rows = {} needs that many permutations, but num_perm is {}",
                    self.bands * self.rows,
                    self.num_perm
                ),
            );
        }
        if self.head_bands * self.rows > self.num_perm {
            bad("head_bands", format!("head_bands × rows exceeds num_perm ({})", self.num_perm));
        }
        for (key, v) in [
            ("cluster_threshold", self.cluster_threshold),
            ("head_threshold", self.head_threshold),
            ("duplicate_threshold", self.duplicate_threshold),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                bad(key, format!("{v} is not a similarity; use a value in (0, 1]"));
            }
        }
        if self.window_days < 1 {
            bad("window_days", "must be at least 1".into());
        }
        if self.duplicate_window_hours < 0 {
            bad("duplicate_window_hours", "must not be negative".into());
        }
        let x = &self.escalation;
        if x.same_citizen < 2 || x.citizens < 2 {
            bad("escalation", "thresholds below 2 would escalate every ticket".into());
        }
        if x.same_citizen_days < 1 {
            bad("escalation.same_citizen_days", "must be at least 1".into());
        }
        e
    }
}
