//! The offline path of `minqing dedup cluster|eval`: tickets from a CSV
//! through exactly the engine intake uses, in time order, and pairwise
//! precision and recall against a ground-truth `group` column.

use super::Params;
use super::engine::{NearDup, Ticket};
use chrono::NaiveDateTime;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// One CSV row: `id,text` and the optional `title,user,time,town,group`.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    pub text: String,
    pub title: Option<String>,
    pub user: Option<String>,
    /// Unix seconds; rows without a time keep their file order.
    pub at: Option<i64>,
    pub town: Option<String>,
    pub group: Option<String>,
    /// `ops`: how an evaluation row was made (`original`, `typos+reorder`…),
    /// for recall by operation.
    pub ops: Option<String>,
}

impl Record {
    /// The record as the engine sees it, received at `at`.
    pub fn ticket(&self, at: i64) -> Ticket<'_, String> {
        Ticket {
            id: &self.id,
            title: self.title.as_deref(),
            text: &self.text,
            citizen: self.user.as_deref(),
            town: self.town.as_deref(),
            at,
        }
    }
}

/// What the engine linked a record to.
#[derive(Debug, Clone, PartialEq)]
pub struct Assigned {
    pub id: String,
    pub cluster: String,
    pub duplicate_of: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BatchError(pub String);

pub fn read_csv(path: &Path) -> Result<Vec<Record>, BatchError> {
    let f = std::fs::File::open(path).map_err(|e| BatchError(format!("opening {}: {e}", path.display())))?;
    read(f, &path.display().to_string())
}

pub fn read(input: impl std::io::Read, origin: &str) -> Result<Vec<Record>, BatchError> {
    let mut r = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let headers = r
        .headers()
        .map_err(|e| BatchError(format!("{origin}: cannot read the header row: {e}")))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.trim().trim_start_matches('\u{feff}') == name);
    let need = |name: &str| {
        col(name).ok_or_else(|| {
            BatchError(format!(
                "{origin} has no `{name}` column (its columns: {}); it needs at least id,text",
                headers.iter().collect::<Vec<_>>().join(", ")
            ))
        })
    };
    let (id, text) = (need("id")?, need("text")?);
    let (title, user, time, town, group) = (col("title"), col("user"), col("time"), col("town"), col("group"));
    let ops = col("ops");
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    for (n, row) in r.records().enumerate() {
        let line = n + 2;
        let row = row.map_err(|e| BatchError(format!("{origin}, record {line}: {e}")))?;
        let get = |c: Option<usize>| {
            c.and_then(|i| row.get(i))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let rid = get(Some(id)).ok_or_else(|| BatchError(format!("{origin}, record {line}: the id is empty")))?;
        if let Some(first) = seen.insert(rid.clone(), line) {
            return Err(BatchError(format!(
                "{origin}, record {line}: id `{rid}` is already used by record {first}; ids must be unique"
            )));
        }
        let at = match get(time) {
            Some(t) => Some(parse_time(&t).ok_or_else(|| {
                BatchError(format!(
                    "{origin}, record {line}: time `{t}` is not a date and time (use 2019-02-28 11:25:05, 2019/2/28 11:25:05, RFC 3339 or unix seconds)"
                ))
            })?),
            None => None,
        };
        out.push(Record {
            id: rid,
            text: row.get(text).unwrap_or("").to_owned(),
            title: get(title),
            user: get(user),
            at,
            town: get(town),
            group: get(group),
            ops: get(ops),
        });
    }
    Ok(out)
}

/// Local times (naive ones are taken as they are; only order and spans
/// matter here), RFC 3339 or unix seconds.
pub fn parse_time(t: &str) -> Option<i64> {
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp());
    }
    if let Ok(n) = t.parse::<i64>() {
        return Some(n);
    }
    let t = t.replace('/', "-").replace('T', " ");
    for f in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(&t, f) {
            return Some(dt.and_utc().timestamp());
        }
        if let Ok(d) = chrono::NaiveDate::parse_from_str(&t, f) {
            return Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp());
        }
    }
    None
}

/// Runs the records through one engine in time order (file order for
/// equal or missing times); returns the links in file order and how long
/// the engine took.
pub fn run(records: &[Record], params: &Params) -> (Vec<Assigned>, Duration) {
    let mut order: Vec<usize> = (0..records.len()).collect();
    // Rows without a time go with the time of the row before them.
    let mut last = i64::MIN;
    let times: Vec<i64> = records
        .iter()
        .map(|r| {
            last = r.at.unwrap_or(last.max(0));
            last
        })
        .collect();
    order.sort_by_key(|&i| (times[i], i));
    let mut engine = NearDup::new(params);
    let mut out: Vec<Option<Assigned>> = vec![None; records.len()];
    let started = Instant::now();
    for &i in &order {
        let r = &records[i];
        let o = engine.add(&r.ticket(times[i]));
        out[i] = Some(Assigned {
            id: r.id.clone(),
            cluster: o.cluster,
            duplicate_of: o.duplicate_of.map(|(d, _)| d),
        });
    }
    let took = started.elapsed();
    // A cluster merged later is named by its final root.
    let mut resolved = out.into_iter().map(|a| a.expect("every record assigned")).collect::<Vec<_>>();
    for a in &mut resolved {
        a.cluster = engine.cluster_of(&a.id).expect("an added ticket has a cluster");
    }
    (resolved, took)
}

/// Of the rows made by each operation, how many share a cluster with
/// another row of their group: (operation, linked, rows).
pub fn recall_by_op(records: &[Record], links: &[Assigned]) -> Vec<(String, u64, u64)> {
    let mut clusters_of: HashMap<&str, HashMap<&str, u32>> = HashMap::new();
    for (r, a) in records.iter().zip(links) {
        if let Some(g) = &r.group {
            *clusters_of.entry(g).or_default().entry(&a.cluster).or_default() += 1;
        }
    }
    let mut out: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    for (r, a) in records.iter().zip(links) {
        let (Some(g), Some(ops)) = (&r.group, &r.ops) else { continue };
        if ops == "original" {
            continue;
        }
        let linked = clusters_of[g.as_str()][a.cluster.as_str()] > 1;
        for op in ops.split('+') {
            let e = out.entry(op.to_owned()).or_default();
            e.0 += u64::from(linked);
            e.1 += 1;
        }
    }
    out.into_iter().map(|(k, (l, n))| (k, l, n)).collect()
}

/// Pairwise precision, recall and F1 of predicted clusters against groups.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Pairwise {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub true_pairs: u64,
    pub predicted_pairs: u64,
    pub correct_pairs: u64,
}

pub fn pairwise<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Pairwise {
    let mut cells: HashMap<(&str, &str), u64> = HashMap::new();
    let mut by_pred: HashMap<&str, u64> = HashMap::new();
    let mut by_true: HashMap<&str, u64> = HashMap::new();
    for (pred, truth) in pairs {
        *cells.entry((pred, truth)).or_default() += 1;
        *by_pred.entry(pred).or_default() += 1;
        *by_true.entry(truth).or_default() += 1;
    }
    let c2 = |n: &u64| n * n.saturating_sub(1) / 2;
    let correct: u64 = cells.values().map(c2).sum();
    let predicted: u64 = by_pred.values().map(c2).sum();
    let truth: u64 = by_true.values().map(c2).sum();
    let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    let (p, r) = (ratio(correct, predicted), ratio(correct, truth));
    Pairwise {
        precision: p,
        recall: r,
        f1: if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) },
        true_pairs: truth,
        predicted_pairs: predicted,
        correct_pairs: correct,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_counts_pairs() {
        // Truth: {a,b,c} {d}; predicted: {a,b} {c,d}.
        let m = pairwise([("x", "1"), ("x", "1"), ("y", "1"), ("y", "2")]);
        assert_eq!((m.true_pairs, m.predicted_pairs, m.correct_pairs), (3, 2, 1));
        assert!((m.precision - 0.5).abs() < 1e-12 && (m.recall - 1.0 / 3.0).abs() < 1e-12);
        let none = pairwise([("x", "1"), ("y", "2")]);
        assert_eq!((none.precision, none.recall), (1.0, 1.0));
    }

    #[test]
    fn times_in_the_formats_citizens_data_comes_in() {
        let a = parse_time("2019/2/28 11:25:05").unwrap();
        assert_eq!(parse_time("2019-02-28 11:25:05"), Some(a));
        assert_eq!(parse_time("2019-02-28T11:25:05"), Some(a));
        assert_eq!(parse_time("2019-02-28T11:25:05+00:00"), Some(a));
        assert_eq!(parse_time(&a.to_string()), Some(a));
        assert_eq!(parse_time("2019-02-28"), Some(a - 11 * 3600 - 25 * 60 - 5));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn bad_files_are_explained() {
        let e = read("id,body\n1,x\n".as_bytes(), "in.csv").unwrap_err().0;
        assert!(e.contains("no `text` column"), "{e}");
        let e = read("id,text\n1,x\n1,y\n".as_bytes(), "in.csv").unwrap_err().0;
        assert!(e.contains("record 3") && e.contains("already used by record 2"), "{e}");
        let e = read("id,text,time\n1,x,soon\n".as_bytes(), "in.csv").unwrap_err().0;
        assert!(e.contains("time `soon`"), "{e}");
    }
}
