//! `minqing bench neardup`: insert plus query throughput of the engine at a
//! given index size, on one thread, on a load built from real messages.
//!
//! The load is deterministic: each ticket is a real title and four to
//! twelve clauses drawn from the whole file (so texts are as long and as
//! varied as citizens' and mostly distinct), and one in ten retells an earlier
//! ticket with a sentence dropped and a greeting added, so matches,
//! verification and cluster merges are part of what is timed. Tickets come
//! 12 s apart in 18 towns, so the whole index stays inside the window.
//! `--write-load` saves it for `benches/neardup/datasketch_compare.py`.

use super::Params;
use super::batch::Record;
use super::engine::NearDup;
use super::shingle::mix;
use std::time::Instant;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }
}

fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        cur.push(c);
        if matches!(c, '。' | '！' | '？' | '!' | '?' | '；' | '，' | ',' | '\n') {
            if cur.trim().chars().count() > 3 {
                out.push(std::mem::take(&mut cur));
            }
            cur.clear();
        }
    }
    if cur.trim().chars().count() > 3 {
        out.push(cur);
    }
    out
}

/// `n` tickets built from `messages` (their `title` and `text`).
pub fn load(messages: &[Record], n: usize, seed: u64) -> Vec<Record> {
    let pool: Vec<String> = messages.iter().flat_map(|m| sentences(&m.text)).collect();
    let titles: Vec<&str> = messages.iter().filter_map(|m| m.title.as_deref()).collect();
    assert!(
        !pool.is_empty() && !titles.is_empty(),
        "the load needs messages with titles and text"
    );
    let mut rng = Rng(seed);
    let mut out: Vec<Record> = Vec::with_capacity(n);
    const START: i64 = 1_700_000_000;
    for j in 0..n {
        let user = format!("U{}", rng.below(n / 3 + 1));
        let town = format!("T{}", rng.below(18));
        let (title, text, user, town) = if j > 100 && rng.below(10) == 0 {
            let earlier = &out[j - 1 - rng.below(j.min(10_000) - 1)];
            let mut ss = sentences(&earlier.text);
            if ss.len() > 2 {
                ss.remove(rng.below(ss.len()));
            }
            // The same place; the same citizen one time in three.
            let who = if rng.below(3) == 0 {
                earlier.user.clone().unwrap_or(user)
            } else {
                user
            };
            (None, format!("您好，{}", ss.concat()), who, earlier.town.clone().unwrap_or(town))
        } else {
            let k = 4 + rng.below(9);
            let text: String = (0..k).map(|_| pool[rng.below(pool.len())].as_str()).collect();
            (Some(titles[rng.below(titles.len())].to_owned()), text, user, town)
        };
        out.push(Record {
            id: format!("L{j}"),
            text,
            title,
            user: Some(user),
            at: Some(START + 12 * j as i64),
            town: Some(town),
            group: None,
            ops: None,
        });
    }
    out
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchResult {
    pub index: usize,
    pub measured: usize,
    pub fill_seconds: f64,
    pub fill_per_second: f64,
    pub seconds: f64,
    pub per_second: f64,
    pub clusters_touched: usize,
    /// Rebuilding an engine of the whole load from its stored links, as
    /// start-up does.
    pub rebuild_tickets: usize,
    pub rebuild_seconds: f64,
    pub rss_mb: Option<f64>,
}

/// Fills an engine with the first `index` tickets, then times `add` for the
/// rest.
pub fn run(load: &[Record], index: usize, params: &Params) -> BenchResult {
    let mut e: NearDup<String> = NearDup::new(params);
    e.reserve(load.len());
    let add = |e: &mut NearDup<String>, r: &Record| e.add(&r.ticket(r.at.unwrap_or(0)));
    let started = Instant::now();
    for r in &load[..index] {
        add(&mut e, r);
    }
    let fill = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut touched = 0;
    for r in &load[index..] {
        touched += usize::from(add(&mut e, r).members > 1);
    }
    let secs = started.elapsed().as_secs_f64();
    let measured = load.len() - index;
    // What a store would hand back at start-up: each ticket with its links.
    let links: Vec<(String, Option<String>)> = load
        .iter()
        .map(|r| (e.cluster_of(&r.id).expect("added"), e.duplicate_of(&r.id)))
        .collect();
    drop(e);
    let started = Instant::now();
    let mut rebuilt: NearDup<String> = NearDup::new(params);
    rebuilt.reserve(load.len());
    for (r, (cluster, dup)) in load.iter().zip(&links) {
        rebuilt.restore(&super::engine::Stored {
            ticket: r.ticket(r.at.unwrap_or(0)),
            cluster: Some(cluster),
            duplicate_of: dup.as_ref(),
        });
    }
    let rebuild = started.elapsed().as_secs_f64();
    assert_eq!(rebuilt.len(), load.len());
    BenchResult {
        index,
        measured,
        fill_seconds: fill,
        fill_per_second: index as f64 / fill.max(1e-9),
        seconds: secs,
        per_second: measured as f64 / secs.max(1e-9),
        clusters_touched: touched,
        rebuild_tickets: load.len(),
        rebuild_seconds: rebuild,
        rss_mb: rss_mb(),
    }
}

fn rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = s
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_is_deterministic_and_retells_some_tickets() {
        let msgs: Vec<Record> = (0..20)
            .map(|i| Record {
                id: i.to_string(),
                text: format!("第{i}个问题出现了。路灯坏了{i}天。没人来修！请尽快处理{i}。"),
                title: Some(format!("标题{i}")),
                user: None,
                at: None,
                town: None,
                group: None,
                ops: None,
            })
            .collect();
        let a = load(&msgs, 500, 1);
        assert_eq!(a, load(&msgs, 500, 1));
        assert_ne!(a, load(&msgs, 500, 2));
        let retold = a.iter().filter(|r| r.title.is_none()).count();
        assert!((20..90).contains(&retold), "{retold}");
        let r = run(&a, 400, &Params::default());
        assert_eq!((r.index, r.measured), (400, 100));
        assert!(r.clusters_touched > 0, "retold tickets join clusters");
    }
}
