//! `minqing classifier train|eval|cv` and `minqing bench classifier`: the
//! category model's command line. None of it needs the configuration.

use crate::cli::{ClassifierAction, TrainOpts};
use anyhow::{Context, Result};
use minqing_pipelines::classify::{self, FeatureSpec, Model, Report, TrainParams, data};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

fn settings(o: &TrainOpts) -> (FeatureSpec, TrainParams) {
    (
        FeatureSpec {
            ngrams: o.ngrams.clone(),
            head_chars: o.head_chars,
            min_df: o.min_df,
            head_weight: o.head_weight,
        },
        TrainParams {
            c: o.c,
            balanced: !o.unbalanced,
            ..TrainParams::default()
        },
    )
}

/// Runs one classifier command and returns what it prints.
pub fn run(action: ClassifierAction) -> Result<String> {
    match action {
        ClassifierAction::Train { data: path, out, opts } => {
            let examples = data::read_csv(&path)?;
            let (spec, params) = settings(&opts);
            let started = Instant::now();
            let model = classify::train(&examples, &spec, &params)?;
            model.save(&out)?;
            Ok(format!(
                "trained on {} examples ({} labels, {} features) in {:.1} s; model written to {}\n",
                examples.len(),
                model.labels().len(),
                model.feature_count(),
                started.elapsed().as_secs_f64(),
                out.display()
            ))
        }
        ClassifierAction::Eval { model, data: path, json } => {
            let model = Model::load(&model)?;
            let examples = data::read_csv(&path)?;
            let report = classify::evaluate(&model, &examples);
            render(&report, json, &format!("eval of {} on {}", "model", path.display()))
        }
        ClassifierAction::Cv {
            data: path,
            folds,
            seed,
            json,
            opts,
        } => {
            let examples = data::read_csv(&path)?;
            let (spec, params) = settings(&opts);
            let report = classify::cross_validate(&examples, folds, &spec, &params, seed)?;
            render(
                &report,
                json,
                &format!("{folds}-fold cross-validation (seed {seed}) on {}", path.display()),
            )
        }
    }
}

fn render(r: &Report, json: bool, title: &str) -> Result<String> {
    if json {
        return Ok(serde_json::to_string(r)? + "\n");
    }
    let mut s = format!(
        "{title}\n  examples {}  accuracy {:.4}  macro-F1 {:.4}\n  {:<16} {:>9} {:>9} {:>9} {:>8}\n",
        r.examples, r.accuracy, r.macro_f1, "label", "precision", "recall", "F1", "support"
    );
    for (label, c) in &r.per_class {
        // Pad by display width: a CJK character takes two columns.
        let width: usize = label.chars().map(|ch| if ch.is_ascii() { 1 } else { 2 }).sum();
        let pad = " ".repeat(16usize.saturating_sub(width));
        let _ = writeln!(
            s,
            "  {label}{pad} {:>9.4} {:>9.4} {:>9.4} {:>8}",
            c.precision, c.recall, c.f1, c.support
        );
    }
    Ok(s)
}

#[derive(Debug, Serialize)]
pub struct ThroughputReport {
    pub texts: usize,
    pub predictions: u64,
    pub seconds: f64,
    pub messages_per_sec: f64,
    pub mean_chars: f64,
    pub features: usize,
}

/// Predicts every text of `path` over and over on this one thread.
pub fn bench(path: &Path, model: Option<&Path>, seconds: f64) -> Result<ThroughputReport> {
    let model = match model {
        Some(m) => Model::load(m)?,
        None => {
            let examples = data::read_csv(path).context("without --model the data needs labels to train on")?;
            classify::train(&examples, &FeatureSpec::default(), &TrainParams::default())?
        }
    };
    let texts = data::read_texts_csv(path)?;
    let mean_chars = texts.iter().map(|t| t.chars().count()).sum::<usize>() as f64 / texts.len().max(1) as f64;
    let started = Instant::now();
    let mut predictions = 0u64;
    let mut sink = 0f32;
    while started.elapsed().as_secs_f64() < seconds {
        for t in &texts {
            sink += model.predict(t).score;
            predictions += 1;
        }
    }
    std::hint::black_box(sink);
    let elapsed = started.elapsed().as_secs_f64();
    Ok(ThroughputReport {
        texts: texts.len(),
        predictions,
        seconds: elapsed,
        messages_per_sec: predictions as f64 / elapsed,
        mean_chars,
        features: model.feature_count(),
    })
}
