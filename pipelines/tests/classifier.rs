//! The category classifier on a small fixture of our own: training,
//! prediction, the model file's round trip and its refusals, and
//! cross-validation.

use minqing_pipelines::classify::{self, FeatureSpec, Model, TrainParams, data};
use std::path::PathBuf;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/classify_small.csv")
}

fn small_spec() -> FeatureSpec {
    // The fixture is tiny: every n-gram counts.
    FeatureSpec {
        min_df: 1,
        ..FeatureSpec::default()
    }
}

#[test]
fn a_trained_model_separates_the_fixture_classes_and_generalizes() {
    let examples = data::read_csv(&fixture()).unwrap();
    assert_eq!(examples.len(), 36);
    let model = classify::train(&examples, &small_spec(), &TrainParams::default()).unwrap();
    assert_eq!(model.labels(), ["城乡建设", "教育文体", "环境保护"]);
    let on_train = classify::evaluate(&model, &examples);
    assert!(on_train.accuracy > 0.97, "training accuracy {}", on_train.accuracy);
    // Unseen wordings.
    assert_eq!(model.predict("我家楼下的路灯又坏了").label, "城乡建设");
    assert_eq!(model.predict("学校乱收补课费").label, "教育文体");
    assert_eq!(model.predict("工厂晚上排放废气，气味刺鼻").label, "环境保护");
    let p = model.predict("河道里全是垃圾");
    assert!(p.margin > 0.0 && p.margin.is_finite());
}

#[test]
fn the_model_file_round_trips_and_bad_files_are_refused() {
    let examples = data::read_csv(&fixture()).unwrap();
    let model = classify::train(&examples, &small_spec(), &TrainParams::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("models/category.json");
    model.save(&path).unwrap();
    let loaded = Model::load(&path).unwrap();
    assert_eq!(loaded.labels(), model.labels());
    assert_eq!(loaded.spec(), model.spec());
    for e in &examples {
        assert_eq!(loaded.scores(&e.text), model.scores(&e.text), "{}", e.text);
    }

    let text = std::fs::read_to_string(&path).unwrap();
    let newer = text.replacen("\"version\":1", "\"version\":99", 1);
    std::fs::write(&path, newer).unwrap();
    let err = Model::load(&path).unwrap_err().to_string();
    assert!(err.contains("version 99") && err.contains("classifier train"), "{err}");

    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    let err = Model::load(&path).unwrap_err().to_string();
    assert!(err.contains("not a usable model"), "{err}");

    let err = Model::load(&dir.path().join("missing.json")).unwrap_err().to_string();
    assert!(err.contains("missing.json"), "{err}");
}

#[test]
fn cross_validation_predicts_every_example_once() {
    let examples = data::read_csv(&fixture()).unwrap();
    let r = classify::cross_validate(&examples, 3, &small_spec(), &TrainParams::default(), 7).unwrap();
    assert_eq!(r.examples, 36);
    assert_eq!(r.per_class.values().map(|c| c.support).sum::<usize>(), 36);
    assert!(r.macro_f1 > 0.6, "macro-F1 {}", r.macro_f1);
    // Same seed, same folds, same figures.
    let again = classify::cross_validate(&examples, 3, &small_spec(), &TrainParams::default(), 7).unwrap();
    assert_eq!(r, again);
    let err = classify::cross_validate(&examples, 1, &small_spec(), &TrainParams::default(), 7).unwrap_err();
    assert!(err.to_string().contains("at least 2"));
}

#[test]
fn one_label_is_not_enough_to_train() {
    let examples = data::read("text,label\n路灯坏了,城乡建设\n道路破损,城乡建设\n".as_bytes(), "one.csv").unwrap();
    let err = classify::train(&examples, &small_spec(), &TrainParams::default()).unwrap_err();
    assert!(err.to_string().contains("at least two labels"), "{err}");
}
