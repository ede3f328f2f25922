//! The built-in calendar, every day of 2023-2026, against an independent
//! source: the `chinesecalendar` package on PyPI (`pip install
//! chinesecalendar`). Skipped with a note where python3 or the package is
//! missing; `.ci/run` installs it.

use chrono::{Datelike, Duration, NaiveDate};
use minqing_pipelines::calendar::Calendar;
use std::process::Command;

const SCRIPT: &str = r#"
import datetime, chinese_calendar as c
d = datetime.date(2023, 1, 1)
while d <= datetime.date(2026, 12, 31):
    print(d.isoformat(), int(c.is_workday(d)))
    d += datetime.timedelta(days=1)
"#;

#[test]
fn every_day_of_2023_to_2026_agrees_with_chinesecalendar() {
    let out = match Command::new("python3").args(["-c", SCRIPT]).output() {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            eprintln!(
                "skipped: chinesecalendar is not installed (pip install chinesecalendar): {}",
                String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("")
            );
            return;
        }
        Err(e) => {
            eprintln!("skipped: python3 is not available: {e}");
            return;
        }
    };
    let cal = Calendar::builtin();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut days = 0;
    let mut disagree = Vec::new();
    for line in text.lines() {
        let (d, w) = line.split_once(' ').unwrap();
        let d = NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        let ours = cal.day(d);
        assert!(!ours.provisional, "{d} is covered by the built-in data");
        if ours.workday != (w == "1") {
            disagree.push(format!("{d} ({}): ours {}, chinesecalendar {w}", d.weekday(), ours.workday));
        }
        days += 1;
    }
    let expected =
        (NaiveDate::from_ymd_opt(2026, 12, 31).unwrap() - NaiveDate::from_ymd_opt(2023, 1, 1).unwrap() + Duration::days(1)).num_days();
    assert_eq!(days, expected);
    assert!(disagree.is_empty(), "{} days disagree:\n{}", disagree.len(), disagree.join("\n"));
}
