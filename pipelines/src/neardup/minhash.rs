//! MinHash signatures and LSH band keys.
//!
//! Signatures use one permutation hashing with optimal densification
//! (Li, Owen & Zhang 2012; Shrivastava 2017): each shingle is hashed once
//! and lands in one of `k` bins, each bin keeps its smallest value, and an
//! empty bin borrows the value of the first non-empty bin its own fixed
//! probe sequence meets. Two signatures agree in a position with
//! probability equal to the Jaccard similarity, as with `k` independent
//! permutations, at the cost of one hash per shingle instead of `k`.
//!
//! Banding cuts the signature into `bands` runs of `rows`; two texts become
//! candidates when any band agrees in full, so a pair of similarity `s` is
//! found with probability `1 - (1 - s^rows)^bands`. A band key also holds
//! the view (full text or head) and the block (the town), so texts of
//! different towns never meet.

use super::shingle::mix;

#[derive(Debug, Clone)]
pub struct MinHasher {
    k: usize,
    seed: u64,
    /// Per bin, the first probes of its densification sequence; longer
    /// sequences (almost never needed) are computed.
    probes: Vec<[u32; 8]>,
}

impl MinHasher {
    /// `k` bins hashed with `seed`: the same seed, the same signatures.
    pub fn new(k: usize, seed: u64) -> MinHasher {
        let k = k.max(1);
        let probes = (0..k)
            .map(|i| std::array::from_fn(|t| probe(seed, i, t as u64 + 1, k) as u32))
            .collect();
        MinHasher { k, seed, probes }
    }

    pub fn k(&self) -> usize {
        self.k
    }

    /// The signature of a shingle set; all `u32::MAX` for an empty set.
    pub fn signature(&self, shingles: &[u32], out: &mut Vec<u32>) {
        self.signature_head(shingles, self.k, out, &mut Vec::new());
    }

    /// The signature's first `need` values, as [`MinHasher::signature`]
    /// gives them; later bins may be left empty (`u32::MAX`). A title's
    /// few shingles leave most bins empty, and each empty bin probes about
    /// `k / filled` times, so a view banded over 32 bins skips three
    /// quarters of that work. `own` is scratch space.
    pub fn signature_head(&self, shingles: &[u32], need: usize, out: &mut Vec<u32>, own: &mut Vec<u32>) {
        out.clear();
        out.resize(self.k, u32::MAX);
        if shingles.is_empty() {
            return;
        }
        // Shingles are hashes already: two multiply-shifts give the bin
        // and the value from independent seeds.
        let (m1, m2) = (mix(self.seed) | 1, mix(!self.seed) | 1);
        for &x in shingles {
            let x = u64::from(x);
            let bin = (((x.wrapping_mul(m1) >> 32) * self.k as u64) >> 32) as usize;
            let v = (x.wrapping_mul(m2) >> 32) as u32;
            out[bin] = out[bin].min(v);
        }
        let need = need.min(self.k);
        // An empty bin still holds u32::MAX (a shingle hashing to exactly
        // that counts as empty too, which only costs one borrowed value).
        if !out[..need].contains(&u32::MAX) {
            return;
        }
        own.clear();
        own.extend_from_slice(out);
        for i in 0..need {
            if own[i] != u32::MAX {
                continue;
            }
            let mut t = 0u64;
            out[i] = loop {
                let j = match self.probes[i].get(t as usize) {
                    Some(&j) => j as usize,
                    None => probe(self.seed, i, t + 1, self.k),
                };
                if own[j] != u32::MAX {
                    break own[j];
                }
                t += 1;
            };
        }
    }
}

/// The `t`-th bin an empty bin `i` borrows from.
fn probe(seed: u64, i: usize, t: u64, k: usize) -> usize {
    let h = mix(seed ^ mix((i as u64) << 32 | t));
    (((h >> 32) * k as u64) >> 32) as usize
}

/// The LSH band keys of a signature, for one view and block.
pub fn band_keys(sig: &[u32], bands: usize, rows: usize, view: u64, block: u64, out: &mut Vec<u64>) {
    out.clear();
    for (band, chunk) in sig.chunks_exact(rows).take(bands).enumerate() {
        let mut h = mix(view ^ block.rotate_left(17) ^ ((band as u64) << 48));
        for &v in chunk {
            h = mix(h ^ u64::from(v));
        }
        out.push(h);
    }
}

/// The chance that a pair of similarity `s` shares at least one band.
pub fn candidate_probability(s: f64, bands: usize, rows: usize) -> f64 {
    1.0 - (1.0 - s.powi(rows as i32)).powi(bands as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neardup::shingle::{Shingler, jaccard};

    #[test]
    fn signature_agreement_estimates_jaccard() {
        let s = Shingler::new(2, &[]);
        let a = s.shingles("金湖街道某小区门口的烧烤摊每天晚上油烟很大，噪音扰民到凌晨两点，多次反映无人处理");
        let b = s.shingles("金湖街道某小区门口烧烤摊每晚油烟大，噪音扰民到凌晨，反映多次没人管");
        let j = jaccard(&a, &b);
        // Averaged over seeds, agreement is the Jaccard similarity.
        let (mut sa, mut sb) = (Vec::new(), Vec::new());
        let mut est = 0.0;
        for seed in 0..50 {
            let h = MinHasher::new(128, seed);
            h.signature(&a, &mut sa);
            h.signature(&b, &mut sb);
            est += sa.iter().zip(&sb).filter(|(x, y)| x == y).count() as f64 / 128.0 / 50.0;
        }
        assert!((est - j).abs() < 0.05, "estimate {est} vs exact {j}");
        let h = MinHasher::new(128, 7);
        h.signature(&a, &mut sa);
        h.signature(&a, &mut sb);
        assert_eq!(sa, sb);
        assert!(sa.iter().all(|&v| v != u32::MAX), "densified");
        h.signature(&[], &mut sa);
        assert!(sa.iter().all(|&v| v == u32::MAX));
        // A short text leaves most bins to borrow; the head is the same
        // values as far as it goes.
        let few = s.shingles("路灯不亮了");
        let mut own = Vec::new();
        h.signature(&few, &mut sa);
        h.signature_head(&few, 32, &mut sb, &mut own);
        assert_eq!(sa[..32], sb[..32]);
        assert!(sb.contains(&u32::MAX), "later bins are left empty");
    }

    #[test]
    fn equal_bands_give_equal_keys_and_view_and_block_separate_them() {
        let sig: Vec<u32> = (0..12).collect();
        let mut other = sig.clone();
        other[11] = 99; // only the last band differs
        let (mut k1, mut k2) = (Vec::new(), Vec::new());
        band_keys(&sig, 3, 4, 0, 5, &mut k1);
        band_keys(&other, 3, 4, 0, 5, &mut k2);
        assert_eq!(k1.len(), 3);
        assert_eq!(k1[..2], k2[..2]);
        assert_ne!(k1[2], k2[2]);
        band_keys(&sig, 3, 4, 1, 5, &mut k2);
        assert!(k1.iter().all(|k| !k2.contains(k)), "another view");
        band_keys(&sig, 3, 4, 0, 6, &mut k2);
        assert!(k1.iter().all(|k| !k2.contains(k)), "another block");
        // The same values in another band are another key.
        let same: Vec<u32> = [1, 2, 1, 2].into();
        band_keys(&same, 2, 2, 0, 0, &mut k1);
        assert_ne!(k1[0], k1[1]);
    }

    #[test]
    fn banding_s_curve() {
        assert!(candidate_probability(0.5, 32, 4) > 0.85);
        assert!(candidate_probability(0.1, 32, 4) < 0.01);
    }
}
