//! Character-bigram TF-IDF vectors of appeals, their cosine, and the
//! pairs worth comparing: those naming one place, and those sharing
//! several rare bigrams (an inverted index, so a week of tickets is not
//! compared all with all).

use std::collections::HashMap;

/// A sparse vector: (term, weight), sorted by term, of length 1.
pub type Vector = Vec<(u32, f32)>;

/// Rare bigrams two appeals must share to be compared without a place.
const SHARED_RARE: u16 = 3;

fn bigrams(text: &str) -> impl Iterator<Item = (char, char)> + '_ {
    let chars: Vec<char> = text.chars().filter(|c| c.is_alphanumeric()).collect();
    (1..chars.len())
        .map(move |i| (chars[i - 1], chars[i]))
        .collect::<Vec<_>>()
        .into_iter()
}

/// The TF-IDF vectors of `texts`; each `titles[i]` counts once more (a
/// subject line says what the appeal is about).
pub fn tfidf(texts: &[String], titles: &[&str]) -> Vec<Vector> {
    let mut ids: HashMap<(char, char), u32> = HashMap::new();
    let mut counts: Vec<HashMap<u32, f32>> = Vec::with_capacity(texts.len());
    for (i, t) in texts.iter().enumerate() {
        let mut tf: HashMap<u32, f32> = HashMap::new();
        let title = titles.get(i).copied().unwrap_or_default();
        for b in bigrams(t).chain(bigrams(title)) {
            let next = ids.len() as u32;
            *tf.entry(*ids.entry(b).or_insert(next)).or_default() += 1.0;
        }
        counts.push(tf);
    }
    let mut df = vec![0u32; ids.len()];
    for tf in &counts {
        for t in tf.keys() {
            df[*t as usize] += 1;
        }
    }
    let n = texts.len().max(1) as f32;
    counts
        .into_iter()
        .map(|tf| {
            let mut v: Vector = tf
                .into_iter()
                // Smoothed IDF (as scikit-learn's): a bigram in every text still
                // counts a little, and small sets do not inflate the rare ones.
                .map(|(t, c)| (t, (1.0 + c.ln()) * (((1.0 + n) / (1.0 + df[t as usize] as f32)).ln() + 1.0)))
                .collect();
            let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
            v.iter_mut().for_each(|(_, w)| *w /= norm);
            v.sort_unstable_by_key(|(t, _)| *t);
            v
        })
        .collect()
}

pub fn cosine(a: &Vector, b: &Vector) -> f64 {
    let (mut i, mut j, mut dot) = (0, 0, 0.0f32);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                dot += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    f64::from(dot)
}

/// Pairs (a < b) to compare: every pair naming a common place (places
/// named by very many appeals are too general to block on), and pairs
/// sharing at least three rare bigrams.
pub fn candidates(vecs: &[Vector], places: &[Vec<String>]) -> Vec<(usize, usize)> {
    let n = vecs.len();
    let common = (n / 20).max(50);
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    let mut by_place: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, ps) in places.iter().enumerate() {
        for p in ps {
            by_place.entry(p.as_str()).or_default().push(i);
        }
    }
    for list in by_place.values().filter(|l| l.len() <= common) {
        for (x, &a) in list.iter().enumerate() {
            pairs.extend(list[x + 1..].iter().map(|&b| (a.min(b), a.max(b))));
        }
    }
    let rare = (n / 50).max(30);
    let mut postings: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, v) in vecs.iter().enumerate() {
        for (t, _) in v {
            postings.entry(*t).or_default().push(i);
        }
    }
    let mut shared: HashMap<(usize, usize), u16> = HashMap::new();
    for list in postings.values().filter(|l| l.len() >= 2 && l.len() <= rare) {
        for (x, &a) in list.iter().enumerate() {
            for &b in &list[x + 1..] {
                *shared.entry((a, b)).or_default() += 1;
            }
        }
    }
    pairs.extend(shared.into_iter().filter(|(_, c)| *c >= SHARED_RARE).map(|(p, _)| p));
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alike_texts_are_near_and_others_far() {
        let texts: Vec<String> = [
            "小区门口搅拌站噪音很大晚上无法休息",
            "搅拌站噪音太大了晚上没法休息",
            "学校食堂饭菜价格太贵",
        ]
        .map(str::to_owned)
        .to_vec();
        let v = tfidf(&texts, &["", "", ""]);
        assert!(cosine(&v[0], &v[1]) > 0.3, "{}", cosine(&v[0], &v[1]));
        assert!(cosine(&v[0], &v[2]) < 0.05);
        let pairs = candidates(&v, &[vec!["x小区".into()], vec![], vec!["x小区".into()]]);
        assert!(pairs.contains(&(0, 2)), "one place: {pairs:?}");
        assert!(pairs.contains(&(0, 1)), "rare bigrams shared: {pairs:?}");
    }
}
