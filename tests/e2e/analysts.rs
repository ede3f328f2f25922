//! The analysts' commands from the command line, on a demo's SQLite
//! warehouse and on a CSV of messages: saved queries, trends, hotspots,
//! every output format, and the clear errors bad input gets.

use std::path::Path;
use std::process::Command;

fn minqing(args: &[&str], data_dir: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_minqing"))
        .args(args)
        .env("MINQING__DATA_DIR", data_dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The demo's simulated week falls inside this period.
const WIDE: [&str; 4] = ["--from", "2020-01-01", "--to", "2035-12-31"];

#[test]
fn saved_queries_trends_and_hotspots_on_a_demo_warehouse() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, out, err) = minqing(
        &[
            "demo",
            "--appeals",
            "700",
            "--no-faults",
            "--json",
            "--data-dir",
            d.to_str().unwrap(),
        ],
        d,
    );
    assert_eq!(code, 0, "{err}");
    let demo: serde_json::Value = serde_json::from_str(&out).unwrap();
    let tickets = demo["stores"]["warehouse_tickets"].as_i64().unwrap();

    let (code, list, _) = minqing(&["query"], d);
    assert_eq!(code, 0);
    assert!(
        list.lines().filter(|l| l.starts_with("  ") && !l.starts_with("   ")).count() >= 15,
        "{list}"
    );

    let json = |args: &[&str]| -> serde_json::Value {
        let (code, out, err) = minqing(args, d);
        assert_eq!(code, 0, "{args:?}: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    };
    let mut args = vec!["query", "volume_by_channel", "--json"];
    args.extend(WIDE);
    let v = json(&args);
    let rows = v["volume_by_channel"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 7, "every channel: {v}");
    assert_eq!(rows.iter().map(|r| r[1].as_i64().unwrap()).sum::<i64>(), tickets);

    // The simulated units worked the orders: visits were made and rated.
    let mut args = vec!["query", "three_rates_overall", "--json"];
    args.extend(WIDE);
    let v = json(&args);
    let visits = v["three_rates_overall"]["rows"][0][1].as_i64().unwrap();
    assert!(visits > 0, "{v}");

    let xlsx = d.join("rates.xlsx");
    let mut args = vec!["query", "three_rates_by_unit", "--xlsx", xlsx.to_str().unwrap()];
    args.extend(WIDE);
    let (code, out, err) = minqing(&args, d);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rates.xlsx") && std::fs::read(&xlsx).unwrap().starts_with(b"PK"));

    let mut args = vec!["trends", "--by", "category", "--period", "week", "--csv"];
    args.extend(WIDE);
    let (code, out, err) = minqing(&args, d);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("period,key,count,share,previous,change,last_year,year_on_year,rising,z\n"),
        "{out}"
    );

    let mut args = vec!["hotspots", "--json", "--top", "5"];
    args.extend(WIDE);
    let v = json(&args);
    let hot = v["hotspots"]["rows"].as_array().unwrap();
    assert!(!hot.is_empty(), "the simulated week has neighbours on one issue: {v}");
    assert!(
        hot.iter().all(|h| h[6].as_i64().unwrap() >= 2),
        "each raised by two citizens or more"
    );
    assert!(!v["details"]["rows"].as_array().unwrap().is_empty());
}

#[test]
fn bad_periods_towns_and_queries_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, _, err) = minqing(&["query", "volume_by_town", "--from", "2026-06-07", "--to", "2026-06-01"], d);
    assert_ne!(code, 0);
    assert!(err.contains("--from 2026-06-07 is after --to 2026-06-01; swap them"), "{err}");
    let (code, _, err) = minqing(&["query", "volume_by_towns"], d);
    assert_ne!(code, 0);
    assert!(
        err.contains("no saved query `volume_by_towns`") && err.contains("volume_by_town"),
        "{err}"
    );
    let (code, _, err) = minqing(&["query", "volume_by_town", "--from", "June 1"], d);
    assert_ne!(code, 0);
    assert!(err.contains("write it as YYYY-MM-DD"), "{err}");
    let (code, _, err) = minqing(&["query", "volume_by_town", "--from", "2001-01-01", "--to", "2001-01-07"], d);
    assert_ne!(code, 0);
    assert!(err.contains("holds no tickets between 2001-01-01 and 2001-01-07"), "{err}");
    let (code, _, err) = minqing(&["hotspots", "--town", "火星镇"], d);
    assert_ne!(code, 0);
    assert!(err.contains("unknown town `火星镇`") && err.contains("金湖街道"), "{err}");
    let (code, _, err) = minqing(&["trends", "--by", "weather"], d);
    assert_ne!(code, 0);
    assert!(err.contains("category, town, category_town, channel or unit"), "{err}");
    let (code, _, err) = minqing(&["trends", "--by", "town", "--from", "2001-01-01", "--to", "2001-01-31"], d);
    assert_ne!(code, 0);
    assert!(err.contains("no tickets between 2001-01-01 and 2001-01-31"), "{err}");
}

#[test]
fn hotspots_over_a_csv_of_messages_and_its_broken_rows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let board = fixture("hotspots_board.csv");
    let (code, out, err) = minqing(
        &["hotspots", "--input", &board, "--config", &fixture("hotspots_small_board.toml")],
        d,
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "hotspots");
    assert!(lines[2].starts_with("1     1      ") && lines[2].contains("桂花园小区"), "{out}");
    assert!(out.contains("details") && out.contains("p6"), "{out}");
    let (code, out, err) = minqing(&["hotspots", "--input", &board, "--csv"], d);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("# hotspots\nrank,issue,heat,span,place,description,citizens,messages,rising\n"),
        "{out}"
    );
    assert!(
        out.contains("# details\nissue,message,user,title,time,text,up_votes,down_votes\n"),
        "{out}"
    );
    let xlsx = d.join("hot.xlsx");
    let (code, out, err) = minqing(&["hotspots", "--input", &board, "--xlsx", xlsx.to_str().unwrap()], d);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 sheet(s)"), "{out}");

    let bad = d.join("bad.csv");
    std::fs::write(&bad, "id,user,title,text\n1,u,t,x\n").unwrap();
    let (code, _, err) = minqing(&["hotspots", "--input", bad.to_str().unwrap()], d);
    assert_ne!(code, 0);
    assert!(err.contains("missing column(s) time, down_votes, up_votes"), "{err}");
    std::fs::write(
        &bad,
        "id,user,title,time,text,down_votes,up_votes\n1,u,t,2019/7/1 10:00:00,x,0,0\n2,u,t,someday,x,0,0\n",
    )
    .unwrap();
    let (code, _, err) = minqing(&["hotspots", "--input", bad.to_str().unwrap()], d);
    assert_ne!(code, 0);
    assert!(err.contains("row 2 (line 3): `time` is not a time: \"someday\""), "{err}");
    let (code, _, err) = minqing(&["hotspots", "--input", &board, "--town", "金湖街道"], d);
    assert_ne!(code, 0);
    assert!(err.contains("a CSV of messages has neither"), "{err}");
}
