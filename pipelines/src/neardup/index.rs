//! The windowed LSH index.
//!
//! Each indexed ticket keeps its shingle sets (for the exact check) and
//! puts one entry per band in a bucket table: a map from band key to the
//! newest entry, and a `next` array chaining older entries of the same key.
//! That is two words per band instead of a vector per bucket, which keeps
//! half a million tickets in a few hundred megabytes.
//!
//! Tickets older than the window are skipped when verifying, and once they
//! are a quarter of the index, the table is rebuilt without them.

use super::Params;
use super::minhash::{MinHasher, band_keys};
use super::shingle::{Shingler, intersection, jaccard};
use super::table::BandTable;

const NONE: u32 = u32::MAX;
/// Set on a link whose entry has an older one under the same key.
const OLDER: u32 = 1 << 31;

const VIEW_FULL: u64 = 0x46;
const VIEW_HEAD: u64 = 0x48;

/// How many positions of `a` and `b` hold the same byte. Counted in
/// sixteen byte-wide lanes, which the compiler turns into vector compares:
/// the plain count went two bytes at a time, and it runs for every
/// candidate a band brings.
fn agreeing(a: &[u8], b: &[u8]) -> usize {
    const LANES: usize = 16;
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail = ca.remainder().iter().zip(cb.remainder()).filter(|(x, y)| x == y).count();
    let mut total = 0;
    let mut lanes = [0u8; LANES];
    for (n, (x, y)) in ca.zip(cb).enumerate() {
        for i in 0..LANES {
            lanes[i] += u8::from(x[i] == y[i]);
        }
        // A lane holds at most 255: empty them before they can overflow.
        if n % 255 == 254 {
            total += lanes.iter().map(|&l| usize::from(l)).sum::<usize>();
            lanes = [0; LANES];
        }
    }
    total + lanes.iter().map(|&l| usize::from(l)).sum::<usize>() + tail
}

/// What the index needs of a ticket.
#[derive(Debug, Clone, Copy)]
pub struct Text<'a> {
    pub title: Option<&'a str>,
    pub text: &'a str,
    /// The block: tickets of other towns are never compared.
    pub town: Option<&'a str>,
    /// Unix seconds.
    pub at: i64,
}

/// A ticket's shingles and band keys, computed once.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    pub full: Vec<u32>,
    pub head: Vec<u32>,
    pub block: u64,
    pub at: i64,
    keys: Vec<u64>,
    /// How many of `keys` are the full text's (they come first).
    full_keys: usize,
    /// The low byte of each signature value (b-bit MinHash): a cheap
    /// estimate that spares most candidates the exact check.
    sketch: Vec<u8>,
}

impl Prepared {
    /// No shingles and no keys: a ticket that is never compared.
    pub fn empty(at: i64) -> Prepared {
        Prepared { at, ..Prepared::default() }
    }
}

/// A verified match.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    pub doc: u32,
    /// Jaccard of the full texts.
    pub full: f64,
    /// Jaccard of the heads, when both are long enough to count.
    pub head: f64,
}

#[derive(Debug)]
struct Entry {
    full: Vec<u32>,
    head: Vec<u32>,
    block: u64,
    at: i64,
    /// Its band keys are in the table (not evicted, not a duplicate).
    indexed: bool,
}

#[derive(Debug)]
pub struct Index {
    params: Params,
    shingler: Shingler,
    hasher: MinHasher,
    docs: Vec<Entry>,
    /// `num_perm` sketch bytes per doc.
    sketches: Vec<u8>,
    /// Band key → newest entry (doc × bands_per_doc + band).
    heads: BandTable,
    next: Vec<u32>,
    /// Per doc: the query that last saw it, so each candidate is verified once.
    seen: Vec<u32>,
    query: u32,
    newest: i64,
    live: usize,
}

impl Index {
    pub fn new(params: &Params) -> Index {
        Index {
            shingler: Shingler::new(params.ngram, &params.ignore_phrases),
            hasher: MinHasher::new(params.num_perm, params.seed),
            params: params.clone(),
            docs: Vec::new(),
            sketches: Vec::new(),
            heads: BandTable::default(),
            next: Vec::new(),
            seen: Vec::new(),
            query: 0,
            newest: i64::MIN,
            live: 0,
        }
    }

    fn per_doc(&self) -> usize {
        self.params.bands + self.params.head_bands
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Room for `n` more tickets, so the tables do not grow (and rehash)
    /// while tickets wait.
    pub fn reserve(&mut self, n: usize) {
        self.heads.reserve(n * self.per_doc());
        self.next.reserve(n * self.per_doc());
        self.docs.reserve(n);
        self.seen.reserve(n);
        self.sketches.reserve(n * self.params.num_perm);
    }

    /// When a doc was received (unix seconds).
    pub fn at(&self, doc: u32) -> i64 {
        self.docs[doc as usize].at
    }

    /// Tickets whose band keys are in the table.
    pub fn live(&self) -> usize {
        self.live
    }

    /// Shingles and band keys of a ticket; pure, so callers may prepare
    /// many tickets on several threads.
    pub fn prepare(&self, t: &Text<'_>) -> Prepared {
        let p = &self.params;
        // The whole message is the title and the text, unless the text
        // already starts with its title.
        let title = t.title.map(|x| self.shingler.canonical(x)).filter(|c| !c.is_empty());
        let mut chars = self.shingler.canonical(t.text);
        if let Some(tt) = &title
            && !chars.starts_with(tt)
        {
            chars.splice(0..0, tt.iter().copied());
        }
        let full = self.shingler.shingles_of(&chars);
        // The head view is the title: a text's first characters are too
        // often a greeting and the citizen's estate to say what the issue is.
        let head = title.as_deref().map(|tt| self.shingler.shingles_of(tt)).unwrap_or_default();
        let block = match (p.block_by_town, t.town) {
            (true, Some(town)) => super::shingle::mix(town.bytes().fold(0u64, |h, b| h.rotate_left(8) ^ u64::from(b))),
            _ => 0,
        };
        let (keys, full_keys, sketch) = self.keys(&full, &head, block);
        Prepared {
            full,
            head,
            block,
            at: t.at,
            keys,
            full_keys,
            sketch,
        }
    }

    /// The band keys of both views, how many are the full text's, and the
    /// full text's sketch.
    fn keys(&self, full: &[u32], head: &[u32], block: u64) -> (Vec<u64>, usize, Vec<u8>) {
        let p = &self.params;
        let mut keys = Vec::with_capacity(p.bands + p.head_bands);
        let mut sig = Vec::with_capacity(p.num_perm);
        let (mut part, mut own) = (Vec::new(), Vec::new());
        let mut sketch = vec![0; p.num_perm];
        if !full.is_empty() {
            // The sketch takes every value.
            self.hasher.signature_head(full, p.num_perm, &mut sig, &mut own);
            band_keys(&sig, p.bands, p.rows, VIEW_FULL, block, &mut part);
            keys.extend_from_slice(&part);
            for (b, v) in sketch.iter_mut().zip(&sig) {
                *b = *v as u8;
            }
        }
        let full_keys = keys.len();
        if head.len() >= p.min_head_shingles && p.head_bands > 0 {
            self.hasher.signature_head(head, p.head_bands * p.rows, &mut sig, &mut own);
            band_keys(&sig, p.head_bands, p.rows, VIEW_HEAD, block, &mut part);
            keys.extend_from_slice(&part);
        }
        (keys, full_keys, sketch)
    }

    /// Jaccard estimated from two sketches: bytes agree with probability
    /// J + (1 - J)/256.
    fn estimate(&self, a: &[u8], d: u32) -> f64 {
        let k = self.params.num_perm;
        let b = &self.sketches[d as usize * k..(d as usize + 1) * k];
        let same = agreeing(a, b) as f64 / k as f64;
        (same - 1.0 / 256.0) / (1.0 - 1.0 / 256.0)
    }

    /// Verified matches of a prepared ticket among the indexed ones within
    /// the window, best first. `group` names each candidate's cluster and
    /// whether it must be checked anyway (a possible duplicate): once one
    /// ticket of a cluster matched, its other tickets are not checked, so a
    /// joint letter sent by a thousand citizens costs one check, not a
    /// thousand.
    pub fn matches(&mut self, q: &Prepared, mut group: impl FnMut(u32) -> (u32, bool)) -> Vec<Match> {
        self.query = self.query.wrapping_add(1);
        if self.query == 0 {
            self.seen.iter_mut().for_each(|s| *s = 0);
            self.query = 1;
        }
        let window = self.params.window_days * 86_400;
        let per = self.per_doc() as u32;
        let min_head = self.params.min_head_shingles;
        let mut out = Vec::new();
        let mut matched: Vec<u32> = Vec::new();
        // Well below the threshold by the sketch: not worth the exact check
        // (3.5 standard deviations at 128 bytes).
        let floor = self.params.cluster_threshold - 0.15;
        self.heads.warm(&q.keys);
        for (i, key) in q.keys.iter().enumerate() {
            let mut link = self.heads.get(*key).unwrap_or(NONE);
            while link != NONE {
                let e = link & !OLDER;
                let d = e / per;
                // Only an entry that replaced another has a chain to follow.
                link = if link & OLDER != 0 { self.next[e as usize] } else { NONE };
                let doc = &self.docs[d as usize];
                if self.seen[d as usize] == self.query || doc.block != q.block || (doc.at - q.at).abs() > window {
                    continue;
                }
                // A head-view hit needs the shorter text within the longer:
                // that bounds the Jaccard from below by the set sizes (low
                // for a title alone, high for two letters).
                let need = if i < q.full_keys {
                    floor
                } else {
                    let (m, sum) = (q.full.len().min(doc.full.len()) as f64, (q.full.len() + doc.full.len()) as f64);
                    let c = self.params.head_threshold * m;
                    c / (sum - c).max(1.0) - 0.15
                };
                if need > 0.0 && self.estimate(&q.sketch, d) < need {
                    continue;
                }
                self.seen[d as usize] = self.query;
                let (g, must) = group(d);
                if !must && matched.contains(&g) {
                    continue;
                }
                let common = intersection(&q.full, &doc.full);
                let full = common as f64 / (q.full.len() + doc.full.len() - common).max(1) as f64;
                // Equal titles alone say little ("投诉噪音扰民"): a head
                // match counts only when the shorter text lies within the
                // longer one, as a title sent alone lies within its letter.
                let contained = common as f64 / q.full.len().min(doc.full.len()).max(1) as f64;
                let head = if q.head.len() >= min_head && doc.head.len() >= min_head && contained >= self.params.head_threshold {
                    jaccard(&q.head, &doc.head)
                } else {
                    0.0
                };
                if full >= self.params.cluster_threshold || head >= self.params.head_threshold {
                    out.push(Match { doc: d, full, head });
                    if !matched.contains(&g) {
                        matched.push(g);
                    }
                }
            }
        }
        out.sort_by(|a, b| b.full.max(b.head).total_cmp(&a.full.max(a.head)).then(a.doc.cmp(&b.doc)));
        out
    }

    /// Adds a ticket; `index` false keeps it out of the buckets (a
    /// duplicate, whose original stands for it). Returns its doc number.
    pub fn insert(&mut self, p: Prepared, index: bool) -> u32 {
        let d = self.docs.len() as u32;
        let per = self.per_doc();
        self.next.resize(self.next.len() + per, NONE);
        if index {
            self.link(d, &p.keys);
            self.live += 1;
        }
        // Every doc owns `num_perm` sketch bytes, a wordless one too.
        let room = self.sketches.len() + self.params.num_perm;
        self.sketches.extend_from_slice(&p.sketch);
        self.sketches.resize(room, 0);
        self.newest = self.newest.max(p.at);
        self.docs.push(Entry {
            full: p.full,
            head: p.head,
            block: p.block,
            at: p.at,
            indexed: index,
        });
        self.seen.push(0);
        self.maybe_evict();
        d
    }

    fn link(&mut self, d: u32, keys: &[u64]) {
        let per = self.per_doc() as u32;
        self.heads.warm(keys);
        for (i, k) in keys.iter().enumerate() {
            let e = d * per + i as u32;
            assert!(e < OLDER, "the band table holds at most 2^31 entries");
            // The table's link says whether `e` has an older entry; `next`
            // holds that older entry's link.
            match self.heads.insert(*k, e | OLDER) {
                Some(prev) => self.next[e as usize] = prev,
                None => {
                    self.heads.insert(*k, e);
                }
            }
        }
    }

    /// Drops tickets older than the window once they are a quarter of the
    /// live ones: their shingles are freed and the buckets rebuilt. Looked
    /// at every 4,096 inserts, so the scan costs nothing per ticket.
    fn maybe_evict(&mut self) {
        if !self.docs.len().is_multiple_of(4096) {
            return;
        }
        let cutoff = self.newest.saturating_sub(self.params.window_days * 86_400);
        let old = self.docs.iter().filter(|d| d.indexed && d.at < cutoff).count();
        if old == 0 || old * 4 < self.live {
            return;
        }
        self.heads.clear();
        self.next.iter_mut().for_each(|n| *n = NONE);
        self.live = 0;
        for d in 0..self.docs.len() {
            let doc = &mut self.docs[d];
            if doc.at < cutoff {
                doc.indexed = false;
                doc.full = Vec::new();
                doc.head = Vec::new();
            }
            if !doc.indexed {
                continue;
            }
            let (keys, _, _) = self.keys(&self.docs[d].full, &self.docs[d].head, self.docs[d].block);
            self.link(d as u32, &keys);
            self.live += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::agreeing;

    #[test]
    fn agreeing_counts_equal_bytes_at_any_length() {
        // Lengths around the lanes, and past 255 rounds of them (a lane
        // would overflow if it were never emptied).
        for len in [0, 1, 15, 16, 17, 128, 130, 4080, 4096, 9000] {
            let a: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let b: Vec<u8> = (0..len)
                .map(|i| if i % 3 == 0 { (i * 7 % 251) as u8 } else { 1 + (i * 7 % 251) as u8 })
                .collect();
            let naive = a.iter().zip(&b).filter(|(x, y)| x == y).count();
            assert_eq!(agreeing(&a, &b), naive, "length {len}");
            assert_eq!(agreeing(&a, &a), len, "length {len}");
        }
    }
}
