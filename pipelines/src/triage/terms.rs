//! Keyword lists compiled into one Aho-Corasick automaton per rule table,
//! answering "which terms of list L does the text contain, and where".
//!
//! A table (the scope rules, the appeal-type cues, the knowledge base, the
//! category keywords) has many lists: scanning the text once per list cost
//! about twenty scans per ticket. Its lists now share one automaton, and a
//! text is scanned once per table; [`Hits`] answers for every list from
//! that one scan.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use std::collections::HashMap;

/// A list inside its [`Terms`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListId(u32);

/// Collects the lists of one table.
#[derive(Debug, Default)]
pub struct TermsBuilder {
    lists: Vec<Vec<String>>,
    patterns: Vec<String>,
    index: HashMap<String, u32>,
    /// Per pattern: the lists (and positions in them) that hold it.
    owners: Vec<Vec<(u32, u32)>>,
    /// Where each list came from, for the automaton's own error.
    paths: Vec<String>,
}

impl TermsBuilder {
    /// Adds a list; `path` names it in errors (`forward[0].subjects`).
    pub fn list(&mut self, path: &str, terms: &[String], errors: &mut Vec<String>) -> ListId {
        let id = self.lists.len() as u32;
        let mut clean: Vec<String> = Vec::with_capacity(terms.len());
        for t in terms {
            let t = t.trim();
            if t.is_empty() {
                errors.push(format!("`{path}`: holds an empty term"));
                continue;
            }
            let at = clean.len() as u32;
            clean.push(t.to_owned());
            let p = *self.index.entry(t.to_owned()).or_insert_with(|| {
                self.patterns.push(t.to_owned());
                self.owners.push(Vec::new());
                (self.patterns.len() - 1) as u32
            });
            self.owners[p as usize].push((id, at));
        }
        self.lists.push(clean);
        self.paths.push(path.to_owned());
        ListId(id)
    }

    /// The list holds no term (all were empty).
    pub fn is_empty(&self, list: ListId) -> bool {
        self.lists[list.0 as usize].is_empty()
    }

    pub fn build(self, errors: &mut Vec<String>) -> Terms {
        let matcher = if self.patterns.is_empty() {
            None
        } else {
            // A full DFA: a few MB for the shipped tables, and triage on the
            // evaluation messages took 17 µs per ticket with the crate's
            // default (a contiguous NFA at this size), 11 µs with it.
            let built = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&self.patterns);
            match built {
                Ok(m) => Some(m),
                Err(e) => {
                    errors.push(format!("`{}`: {e}", self.paths.join("`, `")));
                    None
                }
            }
        };
        Terms {
            lists: self.lists,
            owners: self.owners,
            matcher,
        }
    }
}

/// The compiled lists of one table.
#[derive(Debug, Clone, Default)]
pub struct Terms {
    lists: Vec<Vec<String>>,
    owners: Vec<Vec<(u32, u32)>>,
    matcher: Option<AhoCorasick>,
}

impl Terms {
    /// Every occurrence of every term in `text`, overlapping ones included.
    pub fn scan(&self, text: &str) -> Hits<'_> {
        let mut found = Vec::new();
        if let Some(m) = &self.matcher {
            for f in m.find_overlapping_iter(text) {
                for &(list, at) in &self.owners[f.pattern().as_usize()] {
                    found.push(Hit {
                        list,
                        at,
                        start: f.start(),
                    });
                }
            }
        }
        // Grouped by list, so each list's hits are one slice.
        found.sort_unstable_by_key(|h| (h.list, h.start, h.at));
        Hits { terms: self, found }
    }
}

#[derive(Debug, Clone, Copy)]
struct Hit {
    list: u32,
    /// The term's position in its list.
    at: u32,
    /// Byte offset in the text.
    start: usize,
}

/// One text's occurrences, for every list of the table.
#[derive(Debug)]
pub struct Hits<'a> {
    terms: &'a Terms,
    found: Vec<Hit>,
}

impl<'a> Hits<'a> {
    fn of(&self, list: ListId) -> &[Hit] {
        let from = self.found.partition_point(|h| h.list < list.0);
        let to = from + self.found[from..].partition_point(|h| h.list == list.0);
        &self.found[from..to]
    }

    /// The distinct terms of `list` found, in the list's order.
    pub fn found(&self, list: ListId) -> Vec<&'a str> {
        let terms = &self.terms.lists[list.0 as usize];
        let mut hit = vec![false; terms.len()];
        for h in self.of(list) {
            hit[h.at as usize] = true;
        }
        terms.iter().zip(hit).filter(|(_, h)| *h).map(|(t, _)| t.as_str()).collect()
    }

    /// Every occurrence of `list`'s terms: (term, byte offset), by offset.
    pub fn positions(&self, list: ListId) -> Vec<(&'a str, usize)> {
        let terms = &self.terms.lists[list.0 as usize];
        self.of(list).iter().map(|h| (terms[h.at as usize].as_str(), h.start)).collect()
    }

    pub fn any(&self, list: ListId) -> bool {
        !self.of(list).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn lists_sharing_terms_answer_as_if_scanned_alone() {
        let mut e = Vec::new();
        let mut b = TermsBuilder::default();
        let banks = b.list("banks", &strings(&["银行", "信用卡", "工商银行"]), &mut e);
        let fees = b.list("fees", &strings(&["手续费", "信用卡", " 年费 "]), &mut e);
        let none = b.list("none", &strings(&["快递"]), &mut e);
        let terms = b.build(&mut e);
        assert!(e.is_empty(), "{e:?}");
        let text = "工商银行信用卡年费和手续费，银行不退";
        let hits = terms.scan(text);
        // Distinct, in list order; overlapping occurrences count.
        assert_eq!(hits.found(banks), vec!["银行", "信用卡", "工商银行"]);
        assert_eq!(hits.found(fees), vec!["手续费", "信用卡", "年费"]);
        assert!(hits.found(none).is_empty() && !hits.any(none) && hits.any(fees));
        let mut at = hits.positions(banks);
        at.sort_unstable_by_key(|&(_, s)| s);
        let bank = |n: usize| text.match_indices("银行").nth(n).unwrap().0;
        assert_eq!(
            at,
            vec![
                ("工商银行", 0),
                ("银行", bank(0)),
                ("信用卡", text.find("信用卡").unwrap()),
                ("银行", bank(1))
            ]
        );
    }

    #[test]
    fn empty_terms_are_named_and_an_empty_table_finds_nothing() {
        let mut e = Vec::new();
        let mut b = TermsBuilder::default();
        let l = b.list("reject[2].terms", &strings(&["  "]), &mut e);
        assert!(b.is_empty(l));
        let terms = b.build(&mut e);
        assert_eq!(e, vec!["`reject[2].terms`: holds an empty term".to_string()]);
        assert!(!terms.scan("任何文本").any(l));
    }
}
