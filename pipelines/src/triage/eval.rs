//! Scoring the forward-to-Huangshi decision against hand labels
//! (`minqing triage eval-scope`): the counts, the ratios and every
//! disagreement with its rule's reason. Reading the files is the CLI's.

use super::{Input, ScopeKind, Triage};
use serde::Serialize;

/// How the forward decision agrees with the labels.
#[derive(Debug, Default, Serialize)]
pub struct ScopeEval {
    pub labelled: usize,
    pub tp: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub mistakes: Vec<ScopeMistake>,
}

/// One message decided otherwise than labelled.
#[derive(Debug, Serialize)]
pub struct ScopeMistake {
    pub id: String,
    pub label: String,
    pub decided: String,
    pub reason: String,
}

/// Decides labelled messages one by one, then gives the score.
pub struct ScopeScorer<'a> {
    triage: &'a Triage,
    out: ScopeEval,
}

impl<'a> ScopeScorer<'a> {
    pub fn new(triage: &'a Triage) -> ScopeScorer<'a> {
        ScopeScorer {
            triage,
            out: ScopeEval::default(),
        }
    }

    /// One message labelled `forward` (true) or `stay`. The evaluation
    /// messages' places are anonymised stand-ins for the home city, so
    /// every one counts as inside the jurisdiction.
    pub fn add(&mut self, id: &str, forward: bool, title: Option<&str>, text: &str) {
        let d = self.triage.decide(&Input {
            title,
            content: text,
            appeal_type: None,
            town: Some("A市"),
            channel_category: None,
        });
        let got = d.scope == ScopeKind::ForwardHuangshi;
        let out = &mut self.out;
        out.labelled += 1;
        match (forward, got) {
            (true, true) => out.tp += 1,
            (false, true) => out.fp += 1,
            (true, false) => out.fn_ += 1,
            (false, false) => {}
        }
        if forward != got {
            out.mistakes.push(ScopeMistake {
                id: id.to_owned(),
                label: if forward { "forward" } else { "stay" }.into(),
                decided: d.scope.id().into(),
                reason: d.reason,
            });
        }
    }

    pub fn finish(mut self) -> ScopeEval {
        let out = &mut self.out;
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        out.precision = ratio(out.tp, out.tp + out.fp);
        out.recall = ratio(out.tp, out.tp + out.fn_);
        out.f1 = if out.precision + out.recall > 0.0 {
            2.0 * out.precision * out.recall / (out.precision + out.recall)
        } else {
            0.0
        };
        self.out
    }
}
