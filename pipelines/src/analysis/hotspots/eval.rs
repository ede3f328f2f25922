//! How ranked hotspots match hand-labelled issues
//! (`tests/fixtures/hotspots_top10_*.csv`: `rank,issue,place,message_ids`).
//! For each labelled issue, the output issue sharing most of its messages
//! (Jaccard) is its match: where that issue ranks, and what share of the
//! labelled messages it holds (recall) and of its own messages are
//! labelled (precision). An issue counts as found when the match holds at
//! least half of the labelled messages and half of its own are labelled.

use super::{Hotspot, Message};
use serde::Serialize;
use std::collections::HashSet;

/// One labelled issue.
#[derive(Debug, Clone)]
pub struct Label {
    pub rank: usize,
    pub issue: String,
    pub ids: HashSet<String>,
}

/// Reads a labels file.
pub fn labels(text: &str) -> Result<Vec<Label>, String> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (n, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| format!("row {}: {e}", n + 1))?;
        let (Some(rank), Some(issue), Some(ids)) = (rec.get(0), rec.get(1), rec.get(3)) else {
            return Err(format!("row {}: expected rank,issue,place,message_ids", n + 1));
        };
        out.push(Label {
            rank: rank
                .trim()
                .parse()
                .map_err(|_| format!("row {}: rank {rank:?} is not a number", n + 1))?,
            issue: issue.to_owned(),
            ids: ids.split_whitespace().map(str::to_owned).collect(),
        });
    }
    Ok(out)
}

/// How one labelled issue was matched.
#[derive(Debug, Clone, Serialize)]
pub struct Match {
    pub label_rank: usize,
    pub issue: String,
    /// The rank of the best-matching hotspot, if any shares a message.
    pub rank: Option<usize>,
    pub recall: f64,
    pub precision: f64,
    pub found: bool,
}

/// The report over every label.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub matches: Vec<Match>,
    /// Labelled issues found among the first 10 and 20 hotspots.
    pub found_top10: usize,
    pub found_top20: usize,
    pub mean_recall: f64,
    pub mean_precision: f64,
}

/// Matches `labels` against `hot` (ranked over all issues, not cut at a
/// top N, so a miss shows where it landed).
pub fn evaluate(messages: &[Message], hot: &[Hotspot], labels: &[Label]) -> Report {
    let ids: Vec<HashSet<&str>> = hot
        .iter()
        .map(|h| h.members.iter().map(|&i| messages[i].id.as_str()).collect())
        .collect();
    let matches: Vec<Match> = labels
        .iter()
        .map(|l| {
            let best = ids
                .iter()
                .enumerate()
                .map(|(i, g)| {
                    let common = g.iter().filter(|id| l.ids.contains(**id)).count();
                    (i, common, g.len())
                })
                .filter(|(_, common, _)| *common > 0)
                .max_by(|a, b| {
                    jaccard(a.1, a.2, l.ids.len())
                        .total_cmp(&jaccard(b.1, b.2, l.ids.len()))
                        .then(b.0.cmp(&a.0))
                });
            let (rank, recall, precision) = best.map_or((None, 0.0, 0.0), |(i, common, size)| {
                (Some(hot[i].rank), common as f64 / l.ids.len() as f64, common as f64 / size as f64)
            });
            Match {
                label_rank: l.rank,
                issue: l.issue.clone(),
                rank,
                recall,
                precision,
                found: recall >= 0.5 && precision >= 0.5,
            }
        })
        .collect();
    let found = |n: usize| matches.iter().filter(|m| m.found && m.rank.is_some_and(|r| r <= n)).count();
    let n = matches.len().max(1) as f64;
    Report {
        found_top10: found(10),
        found_top20: found(20),
        mean_recall: matches.iter().map(|m| m.recall).sum::<f64>() / n,
        mean_precision: matches.iter().map(|m| m.precision).sum::<f64>() / n,
        matches,
    }
}

fn jaccard(common: usize, group: usize, label: usize) -> f64 {
    common as f64 / (group + label - common).max(1) as f64
}

impl Report {
    pub fn text(&self) -> String {
        let mut out = format!(
            "{} labelled issue(s): {} found in the top 10, {} in the top 20; mean member recall {:.3}, precision {:.3}\n",
            self.matches.len(),
            self.found_top10,
            self.found_top20,
            self.mean_recall,
            self.mean_precision
        );
        for m in &self.matches {
            out += &format!(
                "  label {:>2} {:<32} rank {:>5}  recall {:.2}  precision {:.2}{}\n",
                m.label_rank,
                m.issue,
                m.rank.map_or("-".to_owned(), |r| r.to_string()),
                m.recall,
                m.precision,
                if m.found { "  found" } else { "" }
            );
        }
        out
    }
}
