//! The category of a ticket: the trained model when one is configured,
//! otherwise the keyword rules of `config/triage.toml` (the category with
//! the most distinct cue words wins; ties go to the earlier category).

use super::terms::{ListId, Terms, TermsBuilder};
use crate::classify::Model;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryFile {
    pub name: String,
    pub keywords: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Categorizer {
    Model(Arc<Model>),
    /// Category names with their keyword lists, scanned in one pass.
    Rules(Vec<(String, ListId)>, Terms),
}

/// A category and where it came from (`model` or `rules`).
#[derive(Debug, Clone, PartialEq)]
pub struct Categorized {
    pub category: String,
    pub by: &'static str,
}

impl Categorizer {
    pub fn rules(files: &[CategoryFile], errors: &mut Vec<String>) -> Categorizer {
        let mut b = TermsBuilder::default();
        let rules = files
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let set = b.list(&format!("category[{i}].keywords"), &c.keywords, errors);
                if b.is_empty(set) {
                    errors.push(format!("`category[{i}].keywords` ({}): must list at least one word", c.name));
                }
                (c.name.clone(), set)
            })
            .collect();
        Categorizer::Rules(rules, b.build(errors))
    }

    pub fn categorize(&self, text: &str) -> Option<Categorized> {
        match self {
            Categorizer::Model(m) => Some(Categorized {
                category: m.predict(text).label.to_owned(),
                by: "model",
            }),
            Categorizer::Rules(rules, terms) => {
                let hits = terms.scan(text);
                let mut best: Option<(&str, usize)> = None;
                for (name, set) in rules {
                    let n = hits.found(*set).len();
                    if n > 0 && best.is_none_or(|(_, b)| n > b) {
                        best = Some((name, n));
                    }
                }
                best.map(|(c, _)| Categorized {
                    category: c.to_owned(),
                    by: "rules",
                })
            }
        }
    }
}
