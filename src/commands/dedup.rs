//! `minqing dedup cluster|eval`: the near-duplicate engine on a CSV, through
//! exactly the code intake uses (`minqing_pipelines::neardup`), with the
//! `[neardup]` parameters of the configuration.

use anyhow::{Context, Result};
use minqing_pipelines::neardup::Params;
use minqing_pipelines::neardup::batch::{self, Pairwise};
use serde::Serialize;
use std::path::Path;

fn with_threshold(params: &Params, threshold: Option<f64>) -> Result<Params> {
    let mut p = params.clone();
    if let Some(t) = threshold {
        p.cluster_threshold = t;
    }
    let problems = p.check("neardup");
    anyhow::ensure!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(p)
}

/// Writes `id,cluster_id,duplicate_of` for every input row, in input order.
pub fn cluster(params: &Params, input: &Path, output: &Path, threshold: Option<f64>) -> Result<String> {
    let p = with_threshold(params, threshold)?;
    let records = batch::read_csv(input)?;
    let (links, took) = batch::run(&records, &p);
    let mut w = csv::Writer::from_path(output).with_context(|| format!("creating {}", output.display()))?;
    w.write_record(["id", "cluster_id", "duplicate_of"])?;
    for a in &links {
        w.write_record([a.id.as_str(), a.cluster.as_str(), a.duplicate_of.as_deref().unwrap_or("")])?;
    }
    w.flush()?;
    let clusters = count_clusters(&links);
    let dups = links.iter().filter(|a| a.duplicate_of.is_some()).count();
    Ok(format!(
        "{} tickets: {} clusters of 2 or more, {} duplicates, in {:.2} s ({:.0} tickets/s) -> {}\n",
        links.len(),
        clusters,
        dups,
        took.as_secs_f64(),
        links.len() as f64 / took.as_secs_f64().max(1e-9),
        output.display()
    ))
}

fn count_clusters(links: &[batch::Assigned]) -> usize {
    let mut n: std::collections::HashMap<&str, u32> = Default::default();
    for a in links {
        *n.entry(&a.cluster).or_default() += 1;
    }
    n.values().filter(|&&c| c > 1).count()
}

#[derive(Debug, Serialize)]
pub struct Eval {
    pub tickets: usize,
    pub groups: usize,
    pub clusters: usize,
    pub duplicates: usize,
    #[serde(flatten)]
    pub pairwise: Pairwise,
    pub seconds: f64,
    pub tickets_per_second: f64,
    pub threshold: f64,
    /// (operation, linked, rows) when the input has an `ops` column.
    pub recall_by_op: Vec<(String, u64, u64)>,
}

/// Pairwise precision/recall against the `group` column, and throughput.
pub fn eval(params: &Params, input: &Path, threshold: Option<f64>) -> Result<Eval> {
    let p = with_threshold(params, threshold)?;
    let records = batch::read_csv(input)?;
    if let Some((i, _)) = records.iter().enumerate().find(|(_, r)| r.group.is_none()) {
        anyhow::bail!(
            "{}: record {} has no `group`; eval needs the ground-truth group of every row (a row alone in its group gets its own name)",
            input.display(),
            i + 2
        );
    }
    let (links, took) = batch::run(&records, &p);
    let groups: std::collections::HashSet<&str> = records.iter().filter_map(|r| r.group.as_deref()).collect();
    let pairwise = batch::pairwise(
        links
            .iter()
            .zip(&records)
            .map(|(a, r)| (a.cluster.as_str(), r.group.as_deref().unwrap_or(""))),
    );
    Ok(Eval {
        tickets: records.len(),
        groups: groups.len(),
        clusters: count_clusters(&links),
        duplicates: links.iter().filter(|a| a.duplicate_of.is_some()).count(),
        pairwise,
        seconds: took.as_secs_f64(),
        tickets_per_second: records.len() as f64 / took.as_secs_f64().max(1e-9),
        threshold: p.cluster_threshold,
        recall_by_op: batch::recall_by_op(&records, &links),
    })
}

impl Eval {
    pub fn table(&self) -> String {
        let m = &self.pairwise;
        let mut out = format!(
            "tickets {}  groups {}  predicted clusters (2+) {}  duplicates {}\n\
             pairwise precision {:.4}  recall {:.4}  F1 {:.4}  (true pairs {}, predicted {}, correct {})\n\
             engine {:.3} s, {:.0} tickets/s on one thread; cluster_threshold {}\n",
            self.tickets,
            self.groups,
            self.clusters,
            self.duplicates,
            m.precision,
            m.recall,
            m.f1,
            m.true_pairs,
            m.predicted_pairs,
            m.correct_pairs,
            self.seconds,
            self.tickets_per_second,
            self.threshold
        );
        if !self.recall_by_op.is_empty() {
            out += "linked to their group, by operation:\n";
            for (op, linked, n) in &self.recall_by_op {
                out += &format!("  {op:<12} {linked:>5} / {n:<5} {:.3}\n", *linked as f64 / (*n).max(1) as f64);
            }
        }
        out
    }
}

/// `minqing bench neardup`.
pub fn bench(
    params: &Params,
    data: &Path,
    index: usize,
    measure: usize,
    seed: u64,
    write_load: Option<&Path>,
) -> Result<minqing_pipelines::neardup::bench::BenchResult> {
    use minqing_pipelines::neardup::bench;
    let messages = batch::read_csv(data)?;
    let load = bench::load(&messages, index + measure, seed);
    if let Some(out) = write_load {
        let mut w = csv::Writer::from_path(out).with_context(|| format!("creating {}", out.display()))?;
        w.write_record(["id", "title", "text", "user", "time", "town"])?;
        for r in &load {
            let at = r.at.unwrap_or(0).to_string();
            w.write_record([
                r.id.as_str(),
                r.title.as_deref().unwrap_or(""),
                r.text.as_str(),
                r.user.as_deref().unwrap_or(""),
                at.as_str(),
                r.town.as_deref().unwrap_or(""),
            ])?;
        }
        w.flush()?;
    }
    Ok(bench::run(&load, index, params))
}

pub fn bench_table(r: &minqing_pipelines::neardup::bench::BenchResult, data: &Path, index: usize, measure: usize, seed: u64) -> String {
    format!(
        "near-duplicate engine, one thread:\n  \
         fill: {} tickets in {:.2} s ({:.0} tickets/s)\n  \
         insert + query at {} indexed: {} tickets in {:.2} s = {:.0} tickets/s ({} joined a cluster)\n  \
         rebuild from stored links (start-up): {} tickets in {:.2} s\n  \
         resident memory {}\n  \
         reproduce: minqing bench neardup --data {} --index {index} --measure {measure} --seed {seed}\n",
        r.index,
        r.fill_seconds,
        r.fill_per_second,
        r.index,
        r.measured,
        r.seconds,
        r.per_second,
        r.clusters_touched,
        r.rebuild_tickets,
        r.rebuild_seconds,
        r.rss_mb.map(|m| format!("{m:.0} MB")).unwrap_or_else(|| "unknown".into()),
        data.display()
    )
}
