//! Keyword lists compiled once into an Aho-Corasick automaton, answering
//! "which of these terms does the text contain".

use aho_corasick::{AhoCorasick, MatchKind};

#[derive(Debug, Clone)]
pub struct TermSet {
    terms: Vec<String>,
    matcher: Option<AhoCorasick>,
}

impl TermSet {
    /// `path` names the list in errors (`forward.bank.subjects`).
    pub fn new(path: &str, terms: &[String], errors: &mut Vec<String>) -> TermSet {
        let mut clean = Vec::with_capacity(terms.len());
        for t in terms {
            let t = t.trim();
            if t.is_empty() {
                errors.push(format!("`{path}`: holds an empty term"));
            } else {
                clean.push(t.to_owned());
            }
        }
        let matcher = if clean.is_empty() {
            None
        } else {
            match AhoCorasick::builder().match_kind(MatchKind::Standard).build(&clean) {
                Ok(m) => Some(m),
                Err(e) => {
                    errors.push(format!("`{path}`: {e}"));
                    None
                }
            }
        };
        TermSet { terms: clean, matcher }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The distinct terms found in `text`, in the list's order.
    pub fn found(&self, text: &str) -> Vec<&str> {
        let Some(m) = &self.matcher else { return Vec::new() };
        let mut hit = vec![false; self.terms.len()];
        for f in m.find_overlapping_iter(text) {
            hit[f.pattern().as_usize()] = true;
        }
        self.terms.iter().zip(hit).filter(|(_, h)| *h).map(|(t, _)| t.as_str()).collect()
    }

    /// Every occurrence: (term, byte offset), overlapping ones included.
    pub fn positions<'a>(&'a self, text: &str) -> Vec<(&'a str, usize)> {
        let Some(m) = &self.matcher else { return Vec::new() };
        m.find_overlapping_iter(text)
            .map(|f| (self.terms[f.pattern().as_usize()].as_str(), f.start()))
            .collect()
    }

    pub fn any(&self, text: &str) -> bool {
        self.matcher.as_ref().is_some_and(|m| m.is_match(text))
    }
}
