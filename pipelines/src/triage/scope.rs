//! The scope rules of `config/triage.toml`: what is forwarded to the
//! Huangshi 12345 hotline, what is not accepted, and why.
//!
//! A forward class needs a *subject* (a bank, a courier, an operator) and a
//! *matter* that is that subject's own business (fees, lost parcels, mobile
//! signal). Naming a subject is not enough: "城管 blocked the street in front
//! of the bank" is about the street. The matter must also stand within
//! `forward_window_chars` of the subject. When the city's own matters
//! (`local_matters`: roads, 城管, noise…) are named at least as often as the
//! subject's, the appeal stays in scope.

use super::terms::{ListId, Terms, TermsBuilder};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardClassFile {
    pub id: String,
    pub name: String,
    pub subjects: Vec<String>,
    pub matters: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectRuleFile {
    pub id: String,
    pub name: String,
    /// `emergency`: any term rejects; `jurisdiction`: a term rejects only
    /// when the text names no place in Daye's gazetteer.
    pub kind: RejectKind,
    pub terms: Vec<String>,
    /// Terms that cancel the rule ("火灾隐患" is a hazard, not a fire).
    #[serde(default)]
    pub unless: Vec<String>,
    /// What the citizen is told.
    pub reply: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectKind {
    Emergency,
    Jurisdiction,
}

#[derive(Debug, Clone)]
struct ForwardClass {
    id: String,
    name: String,
    subjects: ListId,
    matters: ListId,
}

#[derive(Debug, Clone)]
struct RejectRule {
    id: String,
    name: String,
    kind: RejectKind,
    terms: ListId,
    unless: ListId,
    reply: String,
}

/// A scope rule that fired, with the terms that made it fire.
#[derive(Debug, Clone, PartialEq)]
pub enum ScopeHit {
    Forward { class: String, reason: String },
    Reject { rule: String, reason: String, reply: String },
}

#[derive(Debug, Clone)]
pub struct ScopeRules {
    /// A matter counts only this close (in bytes) to a subject.
    window: usize,
    /// Every list below, scanned in one pass.
    terms: Terms,
    local: ListId,
    forward: Vec<ForwardClass>,
    reject: Vec<RejectRule>,
}

fn ids_unique<'a>(what: &str, ids: impl Iterator<Item = &'a str>, errors: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if id.trim().is_empty() {
            errors.push(format!("`{what}`: an entry has an empty id"));
        } else if !seen.insert(id) {
            errors.push(format!("`{what}`: id `{id}` is used twice"));
        }
    }
}

impl ScopeRules {
    pub fn new(f: &super::TriageFile, errors: &mut Vec<String>) -> ScopeRules {
        ids_unique("forward", f.forward.iter().map(|c| c.id.as_str()), errors);
        ids_unique("reject", f.reject.iter().map(|r| r.id.as_str()), errors);
        let mut b = TermsBuilder::default();
        let forward = f
            .forward
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let path = |k: &str| format!("forward[{i}].{k}");
                let subjects = b.list(&path("subjects"), &c.subjects, errors);
                let matters = b.list(&path("matters"), &c.matters, errors);
                if b.is_empty(subjects) || b.is_empty(matters) {
                    errors.push(format!("`forward[{i}]` ({}): needs at least one subject and one matter", c.id));
                }
                ForwardClass {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    subjects,
                    matters,
                }
            })
            .collect::<Vec<_>>();
        let reject = f
            .reject
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let terms = b.list(&format!("reject[{i}].terms"), &r.terms, errors);
                if b.is_empty(terms) {
                    errors.push(format!("`reject[{i}].terms` ({}): must list at least one term", r.id));
                }
                if r.reply.trim().is_empty() {
                    errors.push(format!(
                        "`reject[{i}].reply` ({}): the citizen must be told why; write the reply",
                        r.id
                    ));
                }
                RejectRule {
                    id: r.id.clone(),
                    name: r.name.clone(),
                    kind: r.kind,
                    terms,
                    unless: b.list(&format!("reject[{i}].unless"), &r.unless, errors),
                    reply: r.reply.trim().to_owned(),
                }
            })
            .collect::<Vec<_>>();
        let local = b.list("local_matters", &f.local_matters, errors);
        ScopeRules {
            // UTF-8 CJK characters are three bytes each.
            window: f.forward_window_chars.saturating_mul(3),
            terms: b.build(errors),
            local,
            forward,
            reject,
        }
    }

    pub fn forward_classes(&self) -> impl Iterator<Item = &str> {
        self.forward.iter().map(|c| c.id.as_str())
    }

    /// Rejections first (an emergency must not wait in a queue), then
    /// forwards. `in_daye` says whether the gazetteer placed the appeal.
    pub fn check(&self, text: &str, in_daye: bool) -> Option<ScopeHit> {
        let hits = self.terms.scan(text);
        for r in &self.reject {
            if r.kind == RejectKind::Jurisdiction && in_daye {
                continue;
            }
            let found = hits.found(r.terms);
            if found.is_empty() || hits.any(r.unless) {
                continue;
            }
            return Some(ScopeHit::Reject {
                rule: r.id.clone(),
                reason: format!("{}: {}", r.name, found.join("、")),
                reply: r.reply.clone(),
            });
        }
        let local = hits.found(self.local);
        for c in &self.forward {
            let subjects = hits.positions(c.subjects);
            if subjects.is_empty() {
                continue;
            }
            // A matter far from every subject is about something else: a
            // long letter about a developer mentions the bank's loan once.
            let near = |at: usize| subjects.iter().any(|&(_, s)| s.abs_diff(at) <= self.window);
            let mut matters: Vec<&str> = hits
                .positions(c.matters)
                .into_iter()
                .filter(|&(_, at)| near(at))
                .map(|(m, _)| m)
                .collect();
            matters.sort_unstable();
            matters.dedup();
            if matters.is_empty() || local.len() >= matters.len() {
                continue;
            }
            let mut subjects: Vec<&str> = subjects.into_iter().map(|(s, _)| s).collect();
            subjects.sort_unstable();
            subjects.dedup();
            return Some(ScopeHit::Forward {
                class: c.id.clone(),
                reason: format!("{}: {} + {}", c.name, subjects.join("、"), matters.join("、")),
            });
        }
        None
    }
}
