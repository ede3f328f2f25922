use std::process::Command;

fn minqing(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_minqing"))
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_config_names_the_path_of_every_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[connectors.grid]\nsecrett = \"x\"\n").unwrap();
    let (code, _, err) = minqing(&["check-config", "--config", file.to_str().unwrap()], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`connectors.grid.secrett`: unknown key; expected one of: enabled, secret"),
        "{err}"
    );
    assert!(err.contains("bad.toml"), "{err}");

    std::fs::write(
        &file,
        "[server]\nlisten = \"everywhere\"\n[connectors.hotline_12345]\nschedule = \"hourly\"\n",
    )
    .unwrap();
    let (code, _, err) = minqing(&["check-config", "--config", file.to_str().unwrap()], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`server.listen`") && err.contains("`connectors.hotline_12345.schedule`"),
        "all semantic errors at once: {err}"
    );

    let (code, _, err) = minqing(&["check-config"], &[("MINQING__SERVER__SHUTDOWN_GRACE_SECS", "soon")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("`server.shutdown_grace_secs`") && err.contains("MINQING__SERVER__SHUTDOWN_GRACE_SECS"),
        "{err}"
    );

    let (code, _, err) = minqing(&["check-config"], &[("MINQING__CONNECTORS__WECHAT__ENCODING_AES_KEY", "short")]);
    assert_eq!(code, 2);
    assert!(err.contains("`connectors.wechat.encoding_aes_key`"), "{err}");

    let (code, out, _) = minqing(&["check-config"], &[]);
    assert_eq!(code, 0);
    assert!(out.contains("configuration ok"));
}

#[test]
fn the_demo_command_prints_json_with_every_channel() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = minqing(
        &["demo", "--appeals", "700", "--json", "--data-dir", dir.path().to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for c in [
        "hotline_12345",
        "supervision",
        "yunshang_app",
        "wechat",
        "police_110",
        "tax_12366",
        "grid",
    ] {
        assert_eq!(v["channels"][c]["missing"], 0, "{c}: {out}");
    }
    assert_eq!(v["totals"]["generated"], 700);
    assert_eq!(v["totals"]["quarantined"], v["expected"]["quarantined"]);
    assert!(v["elapsed_ms"].as_u64().is_some() && v["appeals_per_sec"].as_f64().is_some());
}

#[test]
fn classifier_train_eval_cv_and_bench_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("category.json");
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/tests/fixtures/classify_small.csv");
    let m = model.to_str().unwrap();
    let (code, out, err) = minqing(&["classifier", "train", "--data", data, "--out", m, "--min-df", "1"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("trained on 36 examples (3 labels"), "{out}");

    let (code, out, err) = minqing(&["classifier", "eval", "--model", m, "--data", data, "--json"], &[]);
    assert_eq!(code, 0, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(r["accuracy"].as_f64().unwrap() > 0.9, "{r}");
    assert!(r["macro_f1"].as_f64().is_some());
    for label in ["城乡建设", "教育文体", "环境保护"] {
        let c = &r["per_class"][label];
        assert!(c["precision"].is_number() && c["recall"].is_number() && c["f1"].is_number(), "{r}");
    }

    let (code, out, err) = minqing(&["classifier", "cv", "--data", data, "--folds", "3", "--min-df", "1"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("3-fold cross-validation") && out.contains("macro-F1"), "{out}");

    let (code, out, err) = minqing(
        &["bench", "classifier", "--data", data, "--model", m, "--seconds", "0.2", "--json"],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["texts"], 36);
    assert!(r["predictions"].as_u64().unwrap() >= 36, "{r}");

    let (code, _, err) = minqing(&["classifier", "eval", "--model", data, "--data", data], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("not a usable model"), "{err}");
}
