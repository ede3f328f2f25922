//! The online-answer knowledge base, `config/knowledge/*.toml`: question
//! patterns, each with its answer and the source the answer rests on.
//!
//! A pattern is a list of term groups; it matches when every group has a
//! term in the text. Only consultations are answered online: a complaint
//! that mentions 养老保险补缴 needs a unit, not an FAQ.

use super::terms::{ListId, Terms, TermsBuilder};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnowledgeFile {
    pub entry: Vec<EntryFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryFile {
    pub id: String,
    /// The question in plain words, for operators.
    pub question: String,
    /// Every group must be matched by one of its terms.
    pub all: Vec<Vec<String>>,
    pub answer: String,
    /// The policy, notice or office the answer comes from.
    pub source: String,
}

#[derive(Debug, Clone)]
struct Entry {
    id: String,
    groups: Vec<ListId>,
    answer: String,
    source: String,
}

/// An FAQ answer for a ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub id: String,
    pub answer: String,
    pub source: String,
    pub matched: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    entries: Vec<Entry>,
    /// Every entry's groups, scanned in one pass.
    terms: Terms,
}

impl Knowledge {
    /// `files` are (name, parsed file); names prefix error paths.
    pub fn new(files: &[(String, KnowledgeFile)], errors: &mut Vec<String>) -> Knowledge {
        let mut entries = Vec::new();
        let mut seen = std::collections::HashMap::new();
        let mut b = TermsBuilder::default();
        for (name, f) in files {
            for (i, e) in f.entry.iter().enumerate() {
                let path = format!("{name}: entry[{i}]");
                if let Some(other) = seen.insert(e.id.clone(), path.clone()) {
                    errors.push(format!("`{path}`: id `{}` is already used by {other}", e.id));
                }
                if e.all.is_empty() {
                    errors.push(format!("`{path}.all` ({}): needs at least one group of terms", e.id));
                }
                for (k, v) in [("answer", &e.answer), ("source", &e.source), ("question", &e.question)] {
                    if v.trim().is_empty() {
                        errors.push(format!("`{path}.{k}` ({}): must not be empty", e.id));
                    }
                }
                let groups = e
                    .all
                    .iter()
                    .enumerate()
                    .map(|(g, terms)| {
                        let set = b.list(&format!("{path}.all[{g}]"), terms, errors);
                        if b.is_empty(set) {
                            errors.push(format!("`{path}.all[{g}]` ({}): an empty group never matches", e.id));
                        }
                        set
                    })
                    .collect();
                entries.push(Entry {
                    id: e.id.clone(),
                    groups,
                    answer: e.answer.trim().to_owned(),
                    source: e.source.trim().to_owned(),
                });
            }
        }
        Knowledge {
            entries,
            terms: b.build(errors),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first entry all of whose groups match `text`.
    pub fn answer(&self, text: &str) -> Option<Answer> {
        let hits = self.terms.scan(text);
        self.entries.iter().find_map(|e| {
            let mut matched = Vec::with_capacity(e.groups.len());
            for g in &e.groups {
                let found = hits.found(*g);
                matched.push(found.first()?.to_string());
            }
            Some(Answer {
                id: e.id.clone(),
                answer: e.answer.clone(),
                source: e.source.clone(),
                matched,
            })
        })
    }
}
