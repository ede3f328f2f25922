//! `minqing privacy scan`: what the masker does to a file of real texts.
//!
//! Reads the named columns of a CSV (for example `text` and `reply` of the
//! shared evaluation data), masks every cell as the warehouse would, and
//! reports how many cells changed, by label, with examples shown masked
//! (the context around each label, never the original), so that a person
//! can judge false positives without seeing personal data. It times the
//! masker against the normalizer's own text cleaning of the same cells, as
//! a yardstick that moves with the machine.

use anyhow::{Context, Result};
use minqing_pipelines::privacy::{self, Masker};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

#[derive(Debug, Serialize)]
pub struct ScanReport {
    pub cells: usize,
    pub changed: usize,
    /// Replacements by label.
    pub labels: BTreeMap<&'static str, usize>,
    /// Masked context of the first replacements, for a person to judge.
    pub examples: Vec<String>,
    pub mask_secs: f64,
    /// The same cells through `normalize::text::clean`, the yardstick.
    pub clean_secs: f64,
}

const LABELS: [&str; 6] = [
    privacy::MOBILE,
    privacy::LANDLINE,
    privacy::ID_NUMBER,
    privacy::BANK_CARD,
    privacy::PLATE,
    privacy::NAME,
];

/// Reads `columns` of `input` and masks every cell.
pub fn scan(masker: &Masker, input: &Path, columns: &[String], show: usize) -> Result<ScanReport> {
    let cells = read_cells(input, columns)?;
    let started = Instant::now();
    let masked: Vec<String> = cells.iter().map(|c| masker.mask(c).into_owned()).collect();
    let mask_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let cleaned: usize = cells
        .iter()
        .map(|c| minqing_pipelines::normalize::text::clean(c, usize::MAX).0.len())
        .sum();
    let clean_secs = started.elapsed().as_secs_f64();
    std::hint::black_box(cleaned);
    let mut report = ScanReport {
        cells: cells.len(),
        changed: 0,
        labels: BTreeMap::new(),
        examples: Vec::new(),
        mask_secs,
        clean_secs,
    };
    for (orig, m) in cells.iter().zip(&masked) {
        if orig == m {
            continue;
        }
        report.changed += 1;
        for label in LABELS {
            let n = m.matches(label).count();
            if n > 0 {
                *report.labels.entry(label).or_default() += n;
            }
        }
        if report.examples.len() < show {
            report.examples.extend(contexts(m).into_iter().take(show - report.examples.len()));
        }
    }
    Ok(report)
}

/// Up to 12 characters either side of each label in a masked text.
fn contexts(masked: &str) -> Vec<String> {
    let chars: Vec<char> = masked.chars().collect();
    let mut out = Vec::new();
    for label in LABELS {
        let lc: Vec<char> = label.chars().collect();
        let mut i = 0;
        while i + lc.len() <= chars.len() {
            if chars[i..i + lc.len()] == lc[..] {
                let from = i.saturating_sub(12);
                let to = (i + lc.len() + 12).min(chars.len());
                out.push(chars[from..to].iter().collect::<String>().replace('\n', " "));
                i += lc.len();
            } else {
                i += 1;
            }
        }
    }
    out
}

fn read_cells(input: &Path, columns: &[String]) -> Result<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(input)
        .with_context(|| format!("opening {}", input.display()))?;
    let headers = r.headers()?.clone();
    let idx: Vec<usize> = columns
        .iter()
        .map(|c| {
            headers
                .iter()
                .position(|h| h.trim().trim_start_matches('\u{feff}') == c)
                .with_context(|| {
                    format!(
                        "{} has no `{c}` column (its columns: {})",
                        input.display(),
                        headers.iter().collect::<Vec<_>>().join(", ")
                    )
                })
        })
        .collect::<Result<_>>()?;
    let mut cells = Vec::new();
    for row in r.records() {
        let row = row.with_context(|| format!("reading {}", input.display()))?;
        cells.extend(idx.iter().filter_map(|i| row.get(*i)).filter(|c| !c.is_empty()).map(str::to_owned));
    }
    Ok(cells)
}

/// The report as a person reads it, with the command that reproduces it.
pub fn table(r: &ScanReport, input: &Path, columns: &[String]) -> String {
    let mut out = format!(
        "{} cells, {} changed ({:.2}%)\n",
        r.cells,
        r.changed,
        100.0 * r.changed as f64 / r.cells.max(1) as f64
    );
    for (label, n) in &r.labels {
        out.push_str(&format!("  {label} {n}\n"));
    }
    for e in &r.examples {
        out.push_str(&format!("  … {e} …\n"));
    }
    out.push_str(&format!(
        "masking {:.3} s, text cleaning {:.3} s on the same cells (ratio {:.2})\n  reproduce: minqing privacy scan --input {} --columns {}\n",
        r.mask_secs,
        r.clean_secs,
        r.mask_secs / r.clean_secs.max(1e-9),
        input.display(),
        columns.join(",")
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_counts_what_changed_and_shows_it_masked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(
            &path,
            "id,text,reply\n1,路灯坏了,已修复\n2,电话13812345678,请拨0714-8765432\n3,身份证42028119900101123X,\n",
        )
        .unwrap();
        let r = scan(&Masker::default(), &path, &["text".into(), "reply".into()], 10).unwrap();
        assert_eq!((r.cells, r.changed), (5, 3));
        assert_eq!(r.labels[privacy::MOBILE], 1);
        assert_eq!(r.labels[privacy::LANDLINE], 1);
        assert_eq!(r.labels[privacy::ID_NUMBER], 1);
        assert!(r.examples.iter().all(|e| !e.contains("1381234")), "{:?}", r.examples);
        assert!(
            scan(&Masker::default(), &path, &["body".into()], 1)
                .unwrap_err()
                .to_string()
                .contains("no `body` column")
        );
    }
}
