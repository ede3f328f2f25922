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
