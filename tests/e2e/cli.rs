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
    // The week's planned hotspot ranks in its top five.
    let h = &v["hotspots"];
    assert_eq!(h["as_planned"], true, "{h}");
    let ranks = h["hotspot_ranks"].as_array().unwrap();
    assert!(!ranks.is_empty() && ranks.iter().all(|r| r.as_u64().is_some_and(|r| r <= 5)), "{h}");
    assert!(h["top"].as_array().unwrap().iter().any(|t| t["planned"] == true), "{h}");

    // Every dispatched ticket opened a work order, and the simulated units
    // worked them: what stays open waits in the centre's queue (never
    // routed, or returned), with no deadline to miss.
    let w = &v["workflow"];
    assert_eq!(w["closed"], w["expected"]["closed"], "{out}");
    let env = [("MINQING__DATA_DIR", dir.path().to_str().unwrap())];
    let json = |args: &[&str]| -> serde_json::Value {
        let (code, out, err) = minqing(args, &env);
        assert_eq!(code, 0, "{args:?}: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    };
    let open = json(&["tickets", "open", "--json", "--limit", "10000"]);
    let open = open.as_array().unwrap();
    assert_eq!(
        open.len() as u64,
        v["triage"]["manual"].as_u64().unwrap() + w["returned"].as_u64().unwrap()
    );
    assert!(open.iter().all(|o| o["state"] == "awaiting_dispatch" && o["sign_due"].is_null()));
    assert_eq!(json(&["tickets", "overdue", "--json"]), serde_json::json!([]));
    let sweep = json(&["tickets", "sweep"]);
    assert_eq!(
        (sweep["sign_overdue"].as_u64(), sweep["reply_overdue"].as_u64()),
        (Some(0), Some(0))
    );
    let (code, out, _) = minqing(&["tickets", "due", "tomorrow", "--date", "2026-06-05"], &env);
    assert_eq!(code, 0);
    assert!(out.ends_with("0 orders\n"), "{out}");
}

/// `--rate` plays the week of appeals at a steady pace: the last ones are
/// delivered only after `appeals / rate` seconds, and nothing is lost or
/// doubled on the way.
#[test]
fn a_paced_demo_delivers_at_its_rate_and_accounts_for_every_appeal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, out, err) = minqing(
        &["demo", "--appeals", "600", "--rate", "200", "--json", "--no-units", "--data-dir", d],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rate"], 200.0);
    assert_eq!(v["totals"]["generated"], 600);
    assert_eq!(v["totals"]["missing"], 0, "{out}");
    for k in ["replays", "duplicates", "quarantined"] {
        assert_eq!(v["totals"][k], v["expected"][k], "{k}: {out}");
    }
    assert_eq!(v["stores"]["warehouse_tickets"], v["totals"]["tickets"], "{out}");
    assert_eq!(v["latency"]["warehouse"]["count"], v["latency"]["workflow"]["count"]);
    // 600 appeals at 200/s: the last deliveries fall due three seconds in.
    assert!(v["elapsed_ms"].as_u64().unwrap() >= 2_900, "{out}");

    let (code, _, err) = minqing(&["demo", "--appeals", "600", "--rate", "0", "--data-dir", d], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("--rate 0") && err.contains("above 0"), "{err}");
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

#[test]
fn triage_eval_scope_scores_forwarding_against_hand_labels() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("messages.csv");
    std::fs::write(
        &data,
        "id,user,title,time,text\n\
         1,u1,信用卡乱收年费,2020/1/1 10:00:00,农商行信用卡每年扣我年费，办卡时没说\n\
         2,u2,路灯不亮,2020/1/1 10:00:00,银行门口的路灯坏了一个月\n\
         3,u3,移动信号差,2020/1/1 10:00:00,我家小区中国移动信号很差打不了电话\n\
         4,u4,问个事,2020/1/1 10:00:00,快递的事邻居说他也不清楚\n",
    )
    .unwrap();
    let labels = dir.path().join("labels.csv");
    std::fs::write(
        &labels,
        "# ids and labels only\nid,label\n1,forward\n2,stay\n3,forward\n4,forward\n",
    )
    .unwrap();
    let (d, l) = (data.to_str().unwrap(), labels.to_str().unwrap());
    let eval = || minqing(&["triage", "eval-scope", "--data", d, "--labels", l, "--json"], &[]);
    let (code, out, err) = eval();
    assert_eq!(code, 0, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (r["tp"].as_u64(), r["fp"].as_u64(), r["fn"].as_u64()),
        (Some(2), Some(0), Some(1)),
        "{r}"
    );
    assert_eq!(r["precision"].as_f64(), Some(1.0));
    assert!((r["recall"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(r["mistakes"][0]["id"], "4");

    std::fs::write(&labels, "id,label\n1,maybe\n").unwrap();
    let (code, _, err) = eval();
    assert_ne!(code, 0);
    assert!(err.contains("neither forward nor stay"), "{err}");
}

#[test]
fn dedup_cluster_and_eval_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/neardup_small.csv");
    let output = dir.path().join("links.csv");
    let (code, out, err) = minqing(&["dedup", "cluster", "--input", input, "--output", output.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("9 tickets"), "{out}");
    let links: Vec<Vec<String>> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    assert_eq!(links[0], ["id", "cluster_id", "duplicate_of"]);
    let row = |id: &str| links.iter().find(|l| l[0] == id).unwrap().clone();
    // The reworded repeat, the title sent alone and the retyped copy join
    // the first report; the copy by the same citizen within 72 h is its
    // duplicate. Another issue in the same estate and the same words in
    // another town stay apart.
    for id in ["n1", "n2", "n3", "n4"] {
        assert_eq!(row(id)[1], "n1", "{id}");
    }
    assert_eq!(row("n4")[2], "n1");
    assert_eq!(row("n2")[2], "");
    assert_eq!((row("n6")[1].as_str(), row("n5")[1].as_str()), ("n5", "n5"));
    assert_eq!(row("n8")[1], "n8");
    assert_eq!(row("n9")[1], "n9");

    let (code, out, err) = minqing(&["dedup", "eval", "--input", input, "--json"], &[]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((v["precision"].as_f64(), v["recall"].as_f64()), (Some(1.0), Some(1.0)), "{v}");
    assert_eq!((v["tickets"].as_u64(), v["clusters"].as_u64()), (Some(9), Some(2)));
    assert!(v["tickets_per_second"].as_f64().unwrap() > 0.0);
    // A threshold only copies pass loses the rewordings.
    let (_, out, _) = minqing(&["dedup", "eval", "--input", input, "--threshold", "0.95", "--json"], &[]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["recall"].as_f64().unwrap() < 1.0, "{v}");

    let (code, _, err) = minqing(&["dedup", "eval", "--input", input, "--threshold", "1.5"], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("`neardup.cluster_threshold`"), "{err}");
    let (code, _, err) = minqing(&["check-config"], &[("MINQING__NEARDUP__BANDS", "64")]);
    assert_eq!(code, 2);
    assert!(err.contains("`neardup.bands`") && err.contains("num_perm is 128"), "{err}");
}

#[test]
fn calendar_commands_answer_from_the_state_council_notices() {
    let run = |args: &[&str]| {
        let mut a = vec!["calendar"];
        a.extend_from_slice(args);
        minqing(&a, &[])
    };
    assert_eq!(run(&["is-workday", "2026-02-14"]).1, "true\n", "a make-up Saturday");
    assert_eq!(run(&["is-workday", "2026-02-16"]).1, "false\n", "春节");
    assert_eq!(run(&["add-workdays", "2026-02-13", "2"]).1, "2026-02-24\n");
    assert_eq!(run(&["workdays", "2026-02-01", "2026-02-28"]).1, "16\n");
    let (code, out, _) = run(&["check"]);
    assert_eq!(code, 0);
    for y in ["2023: ok — 249", "2024: ok — 251", "2025: ok — 248", "2026: ok — 248"] {
        assert!(out.contains(y), "{out}");
    }
    // Outside the data: the weekday rule, and a warning that says so.
    let (code, out, err) = run(&["is-workday", "2027-01-01"]);
    assert_eq!((code, out.as_str()), (0, "true\n"));
    assert!(err.contains("provisional"), "{err}");
    let (code, _, err) = run(&["check", "--year", "2027"]);
    assert_ne!(code, 0);
    assert!(err.contains("add config/calendar/2027.toml"), "{err}");
    let (code, _, err) = run(&["is-workday", "2026/02/14"]);
    assert_ne!(code, 0);
    assert!(err.contains("YYYY-MM-DD"), "{err}");

    // A calendar folder with a broken file is refused by check-config.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("2026.toml"), "year = 2026\nnotice = \"x\"\n[[holiday]]\nname = \"春节\"\nfrom = \"2026-02-15\"\nto = \"2026-02-23\"\nworkdays = [\"2026-02-16\"]\n").unwrap();
    let (code, _, err) = minqing(&["check-config"], &[("MINQING__CALENDAR__DIR", dir.path().to_str().unwrap())]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`calendar.dir`") && err.contains("workdays[0]") && err.contains("no 国庆节"),
        "{err}"
    );
}

#[test]
fn the_work_order_benchmarks_run_on_an_empty_store_and_refuse_a_full_one() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("MINQING__DATA_DIR", dir.path().to_str().unwrap())];
    let (code, out, err) = minqing(&["bench", "sweep", "--orders", "2000", "--late", "50", "--json"], &env);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((v["orders"].as_u64(), v["reported"].as_u64()), (Some(2000), Some(50)), "{out}");
    // The store holds the benchmark's tickets now: a second run refuses it.
    let (code, _, err) = minqing(&["bench", "api", "--orders", "100"], &env);
    assert_ne!(code, 0);
    assert!(err.contains("holds tickets already"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let env = [("MINQING__DATA_DIR", dir.path().to_str().unwrap())];
    let (code, out, err) = minqing(&["bench", "api", "--orders", "300", "--concurrency", "8", "--json"], &env);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((v["orders"].as_u64(), v["failed"].as_u64()), (Some(300), Some(0)), "{out}");
}
