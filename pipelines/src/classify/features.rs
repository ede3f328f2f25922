//! Character n-gram features, as TF-IDF vectors.
//!
//! Chinese has no spaces, and appeals are full of typos, so character
//! n-grams beat word segmentation here: 1- and 2-grams carry most words, need
//! no dictionary and cost one hash per character. Two blocks are extracted:
//! the whole text, and its first `head_chars` characters again, because the
//! subject line (which many sources run into the body) says most about the
//! category. Each block is L2-normalized on its own, as a union of two
//! vectorizers would be.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// How text becomes features; stored in the model file, so a model is always
/// applied with the settings it was trained with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    /// n-gram lengths, in characters.
    pub ngrams: Vec<usize>,
    /// Characters of the head block; 0 turns it off.
    pub head_chars: usize,
    /// A feature must occur in this many training texts to be kept.
    pub min_df: u32,
    /// Scale of the head block against the whole-text block (below 1: the
    /// head sharpens the body's evidence rather than outvoting it).
    #[serde(default = "one")]
    pub head_weight: f32,
}

fn one() -> f32 {
    1.0
}

impl Default for FeatureSpec {
    fn default() -> Self {
        FeatureSpec {
            ngrams: vec![1, 2],
            head_chars: 60,
            min_df: 2,
            head_weight: 0.7,
        }
    }
}

/// NFKC, lower case, whitespace dropped, and every run of ASCII letters and
/// digits folded to one `0`: numbers, plate numbers and anonymised names
/// (A市, A3区) are noise to a category, their presence is not.
pub fn prepare(text: &str) -> Vec<char> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut in_run = false;
    let mut push = |c: char| {
        if c.is_ascii_alphanumeric() {
            if !in_run {
                out.push('0');
                in_run = true;
            }
            return;
        }
        in_run = false;
        if !(c.is_whitespace() || c.is_control()) {
            out.push(c);
        }
    };
    for c in text.chars() {
        // ASCII and the CJK ideographs are their own NFKC and compose with
        // nothing, and they are nearly all of an appeal; anything else is
        // normalized on its own, which is all features need.
        if c.is_ascii() || ('\u{4E00}'..='\u{9FFF}').contains(&c) {
            push(c);
        } else {
            std::iter::once(c).nfkc().for_each(&mut push);
        }
    }
    out
}

/// FNV-1a over the block, the n-gram length and the characters: a 64-bit key
/// for the n-gram that needs no allocation.
fn key(block: u8, gram: &[char]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut mix = |v: u64| {
        h ^= v;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    mix(u64::from(block));
    mix(gram.len() as u64);
    for &c in gram {
        mix(u64::from(c));
    }
    h
}

/// Calls `f(block, key, gram)` for every n-gram of every block of `chars`.
pub fn for_each_gram(spec: &FeatureSpec, chars: &[char], mut f: impl FnMut(u8, u64, &[char])) {
    let head = &chars[..chars.len().min(spec.head_chars)];
    let blocks: [(u8, &[char]); 2] = [(0, chars), (1, if spec.head_chars > 0 { head } else { &[] })];
    for (block, text) in blocks {
        for &n in &spec.ngrams {
            if n == 0 || text.len() < n {
                continue;
            }
            for gram in text.windows(n) {
                f(block, key(block, gram), gram);
            }
        }
    }
}

/// The readable name of a feature, as stored in the model file.
pub fn name(block: u8, gram: &[char]) -> String {
    let mut s = String::with_capacity(2 + gram.len() * 3);
    s.push(if block == 0 { 't' } else { 'h' });
    s.push(':');
    s.extend(gram);
    s
}

/// Parses `name` back into the key `for_each_gram` gives, and whether it is
/// a head feature.
pub fn key_of_name(name: &str) -> Option<(u64, bool)> {
    let (block, gram) = name.split_once(':')?;
    let block = match block {
        "t" => 0,
        "h" => 1,
        _ => return None,
    };
    let chars: Vec<char> = gram.chars().collect();
    (!chars.is_empty()).then(|| (key(block, &chars), block == 1))
}

/// A sparse vector: (feature index, value), sorted by index.
pub type Sparse = Vec<(u32, f32)>;

/// The top bit of a feature index marks the head block.
pub const HEAD_BIT: u32 = 1 << 31;

/// TF-IDF with sublinear term frequency, each block normalized to length 1
/// (the head block then scaled by `head_weight`). `lookup` maps a key to a
/// feature index, with [`HEAD_BIT`] set for head features; unknown n-grams
/// are skipped. `idf` is indexed by feature index without the bit.
pub fn vectorize(spec: &FeatureSpec, chars: &[char], idf: &[f32], mut lookup: impl FnMut(u64) -> Option<u32>) -> Sparse {
    let mut hits: Vec<u32> = Vec::with_capacity(chars.len() * spec.ngrams.len() + spec.head_chars);
    for_each_gram(spec, chars, |_, k, _| {
        if let Some(i) = lookup(k) {
            hits.push(i);
        }
    });
    // Plain u32s sort several times faster than tuples.
    hits.sort_unstable();
    let mut out: Sparse = Vec::with_capacity(hits.len());
    let mut norms = [0f32; 2];
    let mut i = 0;
    while i < hits.len() {
        let tagged = hits[i];
        let mut j = i + 1;
        while j < hits.len() && hits[j] == tagged {
            j += 1;
        }
        let idx = tagged & !HEAD_BIT;
        let v = sublinear(j - i) * idf[idx as usize];
        norms[usize::from(tagged & HEAD_BIT != 0)] += v * v;
        out.push((tagged, v));
        i = j;
    }
    let norms = [norms[0].sqrt(), norms[1].sqrt() / spec.head_weight].map(|n| if n > 0.0 { 1.0 / n } else { 0.0 });
    for e in &mut out {
        e.1 *= norms[usize::from(e.0 & HEAD_BIT != 0)];
        e.0 &= !HEAD_BIT;
    }
    out
}

/// 1 + ln(count), from a table for the counts that dominate.
fn sublinear(count: usize) -> f32 {
    const TABLE: [f32; 8] = [0.0, 1.0, 1.693_147_2, 2.098_612_3, 2.386_294_4, 2.609_438, 2.791_759_5, 2.945_910_2];
    TABLE.get(count).copied().unwrap_or_else(|| 1.0 + (count as f32).ln())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_folds_ascii_runs_and_drops_spaces() {
        let got: String = prepare("A3区 道路 破损ＡＢ12号").into_iter().collect();
        assert_eq!(got, "0区道路破损0号");
    }

    #[test]
    fn names_round_trip_to_keys() {
        let spec = FeatureSpec::default();
        let chars = prepare("路灯不亮");
        let mut seen = 0;
        for_each_gram(&spec, &chars, |b, k, g| {
            assert_eq!(key_of_name(&name(b, g)), Some((k, b == 1)));
            seen += 1;
        });
        // 4 + 3 grams in each of the two blocks.
        assert_eq!(seen, 14);
    }

    #[test]
    fn each_block_has_unit_length() {
        let spec = FeatureSpec {
            head_weight: 1.0,
            ..FeatureSpec::default()
        };
        let chars = prepare("噪音扰民噪音");
        let mut index = std::collections::HashMap::new();
        for_each_gram(&spec, &chars, |b, k, _| {
            let n = index.len() as u32;
            index.entry(k).or_insert(if b == 1 { n | HEAD_BIT } else { n });
        });
        let idf: Vec<f32> = (0..index.len()).map(|i| 1.0 + i as f32 / 10.0).collect();
        let v = vectorize(&spec, &chars, &idf, |k| index.get(&k).copied());
        let total: f32 = v.iter().map(|(_, x)| x * x).sum();
        assert!((total - 2.0).abs() < 1e-4, "two unit blocks, got {total}");
        assert!(v.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
