//! `minqing calendar …`: the working-day calendar (`crate::rules::calendar`)
//! from the command line.

use crate::config::Settings;
use anyhow::{Context, Result};
use chrono::NaiveDate;
use minqing_pipelines::calendar::Calendar;

fn date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").with_context(|| format!("`{s}` is not a date; write YYYY-MM-DD"))
}

fn provisional(cal: &Calendar) -> String {
    let years: Vec<String> = cal.years().keys().map(ToString::to_string).collect();
    format!(
        "warning: provisional: the calendar has no data for part of this range (it covers {}); \
         the weekday rule was used. Add the year's notice to config/calendar/.",
        years.join(", ")
    )
}

/// What `minqing calendar <action>` prints, and a warning for stderr.
pub fn run(s: &Settings, action: crate::cli::CalendarAction) -> Result<(String, Option<String>)> {
    use crate::cli::CalendarAction::*;
    let cal = crate::rules::calendar(&s.calendar)?;
    Ok(match action {
        IsWorkday { date: d } => {
            let day = cal.day(date(&d)?);
            (format!("{}\n", day.workday), day.provisional.then(|| provisional(&cal)))
        }
        AddWorkdays { date: d, n } => {
            let (at, p) = cal.add_workdays(date(&d)?, n);
            (format!("{at}\n"), p.then(|| provisional(&cal)))
        }
        Workdays { from, to } => {
            let (n, p) = cal.workdays(date(&from)?, date(&to)?);
            (format!("{n}\n"), p.then(|| provisional(&cal)))
        }
        Check { year } => {
            let mut out = String::new();
            for (y, notice) in cal.years() {
                if year.is_some_and(|want| want != *y) {
                    continue;
                }
                let (work, off, on) = cal.summary(*y).expect("a covered year");
                out += &format!("{y}: ok — {work} working days, {off} weekdays off, {on} weekend days worked; {notice}\n");
            }
            if let Some(want) = year
                && !cal.covers(want)
            {
                anyhow::bail!("no data for {want}: add config/calendar/{want}.toml from the State Council's notice");
            }
            (out, None)
        }
    })
}
