//! Accuracy, per-class precision/recall/F1 and macro-F1, on a held-out file
//! or by stratified k-fold cross-validation.

use super::ClassifyError;
use super::features::FeatureSpec;
use super::model::{Example, Model, Rng, TrainParams, train};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Examples whose true label this is.
    pub support: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub examples: usize,
    pub accuracy: f64,
    /// The unweighted mean of the per-class F1s over the labels present in
    /// the data: every category counts the same, however rare.
    pub macro_f1: f64,
    pub per_class: BTreeMap<String, ClassScores>,
}

/// Scores predicted labels against true ones.
pub fn score(truth: &[&str], predicted: &[&str]) -> Report {
    let mut tp: BTreeMap<&str, usize> = BTreeMap::new();
    let mut fp: BTreeMap<&str, usize> = BTreeMap::new();
    let mut support: BTreeMap<&str, usize> = BTreeMap::new();
    for (&t, &p) in truth.iter().zip(predicted) {
        *support.entry(t).or_default() += 1;
        if t == p {
            *tp.entry(t).or_default() += 1;
        } else {
            *fp.entry(p).or_default() += 1;
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let per_class: BTreeMap<String, ClassScores> = support
        .iter()
        .map(|(&label, &n)| {
            let hit = tp.get(label).copied().unwrap_or(0);
            let precision = ratio(hit, hit + fp.get(label).copied().unwrap_or(0));
            let recall = ratio(hit, n);
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            (
                label.to_owned(),
                ClassScores {
                    precision,
                    recall,
                    f1,
                    support: n,
                },
            )
        })
        .collect();
    let correct: usize = tp.values().sum();
    Report {
        examples: truth.len(),
        accuracy: ratio(correct, truth.len()),
        macro_f1: per_class.values().map(|c| c.f1).sum::<f64>() / per_class.len().max(1) as f64,
        per_class,
    }
}

/// Scores `model` on `examples`.
pub fn evaluate(model: &Model, examples: &[Example]) -> Report {
    let predicted: Vec<&str> = examples.iter().map(|e| model.predict(&e.text).label).collect();
    let truth: Vec<&str> = examples.iter().map(|e| e.label.as_str()).collect();
    score(&truth, &predicted)
}

/// Stratified k-fold cross-validation: each label's examples are shuffled
/// (by `seed`) and dealt round-robin into `folds`; every example is
/// predicted once, by the model trained on the other folds, and the pooled
/// predictions are scored.
pub fn cross_validate(
    examples: &[Example],
    folds: usize,
    spec: &FeatureSpec,
    params: &TrainParams,
    seed: u64,
) -> Result<Report, ClassifyError> {
    if folds < 2 {
        return Err(ClassifyError::Data(format!("--folds must be at least 2, got {folds}")));
    }
    if examples.len() < folds {
        return Err(ClassifyError::Data(format!(
            "{} examples cannot fill {folds} folds",
            examples.len()
        )));
    }
    let mut by_label: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, e) in examples.iter().enumerate() {
        by_label.entry(&e.label).or_default().push(i);
    }
    let mut rng = Rng::new(seed);
    let mut fold_of = vec![0usize; examples.len()];
    let mut next = 0;
    for ids in by_label.values_mut() {
        rng.shuffle(ids);
        for &i in ids.iter() {
            fold_of[i] = next % folds;
            next += 1;
        }
    }
    let mut predicted: Vec<String> = vec![String::new(); examples.len()];
    for f in 0..folds {
        let train_set: Vec<Example> = examples
            .iter()
            .zip(&fold_of)
            .filter(|(_, k)| **k != f)
            .map(|(e, _)| e.clone())
            .collect();
        let model = train(&train_set, spec, params)?;
        for (i, e) in examples.iter().enumerate() {
            if fold_of[i] == f {
                predicted[i] = model.predict(&e.text).label.to_owned();
            }
        }
    }
    let truth: Vec<&str> = examples.iter().map(|e| e.label.as_str()).collect();
    let predicted: Vec<&str> = predicted.iter().map(String::as_str).collect();
    Ok(score(&truth, &predicted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_a_known_confusion() {
        let truth = ["a", "a", "a", "b", "b", "c"];
        let pred = ["a", "a", "b", "b", "a", "c"];
        let r = score(&truth, &pred);
        assert!((r.accuracy - 4.0 / 6.0).abs() < 1e-9);
        let a = &r.per_class["a"];
        assert!((a.precision - 2.0 / 3.0).abs() < 1e-9 && (a.recall - 2.0 / 3.0).abs() < 1e-9);
        let b = &r.per_class["b"];
        assert!((b.precision - 0.5).abs() < 1e-9 && (b.recall - 0.5).abs() < 1e-9);
        assert!((r.per_class["c"].f1 - 1.0).abs() < 1e-9);
        assert!((r.macro_f1 - (2.0 / 3.0 + 0.5 + 1.0) / 3.0).abs() < 1e-9);
    }
}
