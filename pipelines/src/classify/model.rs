//! A linear category model: one-vs-rest L2-regularized, squared-hinge SVMs
//! on the TF-IDF features, trained by dual coordinate descent (the method of
//! LIBLINEAR's default solver), and its versioned model file.

use super::ClassifyError;
use super::features::{self, FeatureSpec, Sparse};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;

/// What `format` in a model file must say.
pub const FORMAT: &str = "minqing-classifier";
/// The model file layout this build reads and writes.
pub const VERSION: u32 = 1;

/// Training settings, stored in the model file for the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    /// Inverse regularization strength.
    pub c: f64,
    /// Weigh each class inversely to its frequency, so small categories
    /// (交通运输 has a third of 城乡建设's examples) are not drowned out.
    pub balanced: bool,
    pub max_epochs: usize,
    /// Stop when the projected gradient's spread falls below this.
    pub tolerance: f64,
    /// Seeds the order examples are visited in; training is deterministic.
    pub seed: u64,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            c: 1.0,
            balanced: true,
            max_epochs: 1000,
            tolerance: 0.1,
            seed: 1,
        }
    }
}

/// One labelled text.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub text: String,
    pub label: String,
}

/// Keys are already hashes: hashing them again would only cost time.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<KeyHasher>>;

#[derive(Serialize, Deserialize)]
struct ModelFile {
    format: String,
    version: u32,
    trained_at: String,
    examples: usize,
    spec: FeatureSpec,
    params: TrainParams,
    labels: Vec<String>,
    /// Feature names (`t:` whole text, `h:` head), in index order.
    features: Vec<String>,
    idf: Vec<f32>,
    /// `features.len() × labels.len()`, feature-major.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

/// The category of a text, with how sure the model is.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction<'a> {
    pub label: &'a str,
    pub score: f32,
    /// Best score minus the runner-up's: small means a coin toss.
    pub margin: f32,
}

pub struct Model {
    file: ModelFile,
    /// Key → feature index, with `HEAD_BIT` on head features.
    index: KeyMap<u32>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("labels", &self.file.labels)
            .field("features", &self.file.features.len())
            .field("trained_at", &self.file.trained_at)
            .finish()
    }
}

impl Model {
    pub fn labels(&self) -> &[String] {
        &self.file.labels
    }

    pub fn feature_count(&self) -> usize {
        self.file.features.len()
    }

    pub fn spec(&self) -> &FeatureSpec {
        &self.file.spec
    }

    fn vector(&self, text: &str) -> Sparse {
        let chars = features::prepare(text);
        features::vectorize(&self.file.spec, &chars, &self.file.idf, |k| self.index.get(&k).copied())
    }

    /// One score per label, in `labels()` order.
    pub fn scores(&self, text: &str) -> Vec<f32> {
        let k = self.file.labels.len();
        let mut s = self.file.bias.clone();
        for (i, v) in self.vector(text) {
            let row = &self.file.weights[i as usize * k..(i as usize + 1) * k];
            for (acc, w) in s.iter_mut().zip(row) {
                *acc += v * w;
            }
        }
        s
    }

    pub fn predict(&self, text: &str) -> Prediction<'_> {
        let s = self.scores(text);
        let (mut best, mut second) = (0usize, None::<usize>);
        for i in 1..s.len() {
            if s[i] > s[best] {
                second = Some(best);
                best = i;
            } else if second.is_none_or(|j| s[i] > s[j]) {
                second = Some(i);
            }
        }
        Prediction {
            label: &self.file.labels[best],
            score: s[best],
            margin: second.map_or(f32::INFINITY, |j| s[best] - s[j]),
        }
    }

    pub fn save(&self, path: &Path) -> Result<(), ClassifyError> {
        let json = serde_json::to_vec(&self.file).map_err(|e| ClassifyError::Model(e.to_string()))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| ClassifyError::Io(format!("creating {}: {e}", dir.display())))?;
        }
        // Written aside and renamed, so a reader never sees half a model.
        let tmp = path.with_extension("partial");
        std::fs::write(&tmp, json).map_err(|e| ClassifyError::Io(format!("writing {}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, path).map_err(|e| ClassifyError::Io(format!("renaming to {}: {e}", path.display())))
    }

    pub fn load(path: &Path) -> Result<Model, ClassifyError> {
        let bytes = std::fs::read(path).map_err(|e| ClassifyError::Io(format!("reading {}: {e}", path.display())))?;
        let bad = |what: String| {
            ClassifyError::Model(format!(
                "{} is not a usable model: {what}; train one with `minqing classifier train`",
                path.display()
            ))
        };
        let file: ModelFile = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        if file.format != FORMAT {
            return Err(bad(format!("format is {:?}, expected {FORMAT:?}", file.format)));
        }
        if file.version != VERSION {
            return Err(bad(format!("file version {} but this build reads version {VERSION}", file.version)));
        }
        let (v, k) = (file.features.len(), file.labels.len());
        if k < 2 || file.idf.len() != v || file.weights.len() != v * k || file.bias.len() != k {
            return Err(bad(format!(
                "sizes disagree: {k} labels, {v} features, {} idf, {} weights, {} biases",
                file.idf.len(),
                file.weights.len(),
                file.bias.len()
            )));
        }
        let mut index = KeyMap::default();
        index.reserve(v);
        for (i, name) in file.features.iter().enumerate() {
            let (key, head) = features::key_of_name(name).ok_or_else(|| bad(format!("feature {name:?} is malformed")))?;
            index.insert(key, tag(i, head));
        }
        Ok(Model { file, index })
    }
}

fn tag(i: usize, head: bool) -> u32 {
    if head { i as u32 | features::HEAD_BIT } else { i as u32 }
}

/// A small deterministic generator for the visiting order (SplitMix64).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub(crate) fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// Trains a model on `examples`.
pub fn train(examples: &[Example], spec: &FeatureSpec, params: &TrainParams) -> Result<Model, ClassifyError> {
    check_settings(spec, params)?;
    let labels = labels_of(examples)?;
    let prepared: Vec<Vec<char>> = examples.iter().map(|e| features::prepare(&e.text)).collect();
    let vocab = vocabulary(spec, &prepared);
    let xs: Vec<Sparse> = prepared
        .iter()
        .map(|c| features::vectorize(spec, c, &vocab.idf, |k| vocab.index.get(&k).copied()))
        .collect();
    let ys: Vec<usize> = examples
        .iter()
        .map(|e| labels.binary_search(&e.label).expect("label listed"))
        .collect();
    let cost = costs(&ys, labels.len(), params);
    let (weights, bias) = one_vs_rest(&xs, &ys, labels.len(), vocab.names.len(), &cost, params);
    Ok(Model {
        file: ModelFile {
            format: FORMAT.into(),
            version: VERSION,
            trained_at: chrono::Utc::now().to_rfc3339(),
            examples: examples.len(),
            spec: spec.clone(),
            params: params.clone(),
            labels,
            features: vocab.names,
            idf: vocab.idf,
            weights,
            bias,
        },
        index: vocab.index,
    })
}

/// Refuses feature and training settings no model can come of.
fn check_settings(spec: &FeatureSpec, params: &TrainParams) -> Result<(), ClassifyError> {
    if spec.ngrams.is_empty() || spec.ngrams.contains(&0) {
        return Err(ClassifyError::Data("ngrams must list lengths of at least 1".into()));
    }
    if params.c.is_nan() || params.c <= 0.0 {
        return Err(ClassifyError::Data(format!("C must be positive, got {}", params.c)));
    }
    Ok(())
}

/// The distinct labels of `examples`, sorted; at least two.
fn labels_of(examples: &[Example]) -> Result<Vec<String>, ClassifyError> {
    let mut labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
    labels.sort();
    labels.dedup();
    if labels.len() < 2 {
        return Err(ClassifyError::Data(format!(
            "training needs at least two labels, the data has {}",
            labels.len()
        )));
    }
    Ok(labels)
}

/// The features a model keeps, in index order.
struct Vocabulary {
    /// Key → feature index, with `HEAD_BIT` on head features.
    index: KeyMap<u32>,
    names: Vec<String>,
    idf: Vec<f32>,
}

/// The n-grams found in at least `spec.min_df` of the `prepared` texts,
/// indexed in name order (so a model's layout does not depend on hashing),
/// each with its IDF weight.
fn vocabulary(spec: &FeatureSpec, prepared: &[Vec<char>]) -> Vocabulary {
    let mut kept: Vec<(u64, String, u32)> = document_frequencies(spec, prepared)
        .into_iter()
        .filter(|(_, (_, n))| *n >= spec.min_df)
        .map(|(k, (name, n))| (k, name, n))
        .collect();
    kept.sort_by(|a, b| a.1.cmp(&b.1));
    let n_docs = prepared.len() as f32;
    let mut index = KeyMap::default();
    let mut names = Vec::with_capacity(kept.len());
    let mut idf = Vec::with_capacity(kept.len());
    for (i, (key, name, n)) in kept.into_iter().enumerate() {
        // Smoothed, as if one extra text held every feature.
        let w = ((1.0 + n_docs) / (1.0 + n as f32)).ln() + 1.0;
        index.insert(key, tag(i, name.starts_with("h:")));
        names.push(name);
        idf.push(w);
    }
    Vocabulary { index, names, idf }
}

/// Every n-gram of the `prepared` texts by key: its name and how many
/// texts it occurs in.
fn document_frequencies(spec: &FeatureSpec, prepared: &[Vec<char>]) -> KeyMap<(String, u32)> {
    let mut df: KeyMap<(String, u32)> = KeyMap::default();
    let mut seen: HashSet<u64, BuildHasherDefault<KeyHasher>> = HashSet::default();
    for chars in prepared {
        seen.clear();
        features::for_each_gram(spec, chars, |block, key, gram| {
            if seen.insert(key) {
                df.entry(key).or_insert_with(|| (features::name(block, gram), 0)).1 += 1;
            }
        });
    }
    df
}

/// Each example's cost: `C`, weighed (if `balanced`) inversely to its
/// class's share of the `k` classes.
fn costs(ys: &[usize], k: usize, params: &TrainParams) -> Vec<f64> {
    let counts = ys.iter().fold(vec![0usize; k], |mut c, &y| {
        c[y] += 1;
        c
    });
    ys.iter()
        .map(|&y| {
            let w = if params.balanced {
                ys.len() as f64 / (k as f64 * counts[y] as f64)
            } else {
                1.0
            };
            params.c * w
        })
        .collect()
}

/// One binary SVM per class of the `k`: the weights (`dims × k`,
/// feature-major) and the biases, as the model file stores them.
fn one_vs_rest(xs: &[Sparse], ys: &[usize], k: usize, dims: usize, cost: &[f64], params: &TrainParams) -> (Vec<f32>, Vec<f32>) {
    let mut weights = vec![0f32; dims * k];
    let mut bias = vec![0f32; k];
    for class in 0..k {
        let (w, b) = binary_svm(xs, ys, class, cost, dims, params);
        for (i, wi) in w.iter().enumerate() {
            weights[i * k + class] = *wi as f32;
        }
        bias[class] = b as f32;
    }
    (weights, bias)
}

/// One class against the rest: dual coordinate descent for the L2-loss SVM,
/// with the bias as a constant feature of value 1 (regularized, as in
/// LIBLINEAR). Returns the weights and the bias.
fn binary_svm(xs: &[Sparse], ys: &[usize], class: usize, cost: &[f64], dims: usize, p: &TrainParams) -> (Vec<f64>, f64) {
    let n = xs.len();
    let sign: Vec<f64> = ys.iter().map(|&y| if y == class { 1.0 } else { -1.0 }).collect();
    let diag: Vec<f64> = cost.iter().map(|c| 0.5 / c).collect();
    let qd: Vec<f64> = xs
        .iter()
        .zip(&diag)
        .map(|(x, d)| d + 1.0 + x.iter().map(|(_, v)| f64::from(*v).powi(2)).sum::<f64>())
        .collect();
    let mut alpha = vec![0f64; n];
    let mut w = vec![0f64; dims];
    let mut b = 0f64;
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Rng::new(p.seed ^ (class as u64).wrapping_mul(0x9e37_79b9));
    for _ in 0..p.max_epochs {
        rng.shuffle(&mut order);
        let (mut pg_max, mut pg_min) = (f64::NEG_INFINITY, f64::INFINITY);
        for &i in &order {
            let x = &xs[i];
            let dot = b + x.iter().map(|&(j, v)| w[j as usize] * f64::from(v)).sum::<f64>();
            let g = sign[i] * dot - 1.0 + alpha[i] * diag[i];
            let pg = if alpha[i] == 0.0 { g.min(0.0) } else { g };
            pg_max = pg_max.max(pg);
            pg_min = pg_min.min(pg);
            if pg.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - g / qd[i]).max(0.0);
                let d = (alpha[i] - old) * sign[i];
                for &(j, v) in x {
                    w[j as usize] += d * f64::from(v);
                }
                b += d;
            }
        }
        if pg_max - pg_min <= p.tolerance {
            break;
        }
    }
    (w, b)
}
