//! The official working-day calendar: the State Council's holidays and
//! make-up workdays (调休), one file per year in `config/calendar/`, each
//! citing its notice. Deadlines count working days on it.
//!
//! A year the data does not cover falls back to the weekday rule (Monday to
//! Friday), and every answer about such a day says `provisional`, so a
//! deadline computed before the year's notice can be marked and recomputed.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// `config/calendar/<year>.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearFile {
    pub year: i32,
    /// The notice the dates come from (title, number, date).
    pub notice: String,
    pub holiday: Vec<HolidayFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayFile {
    pub name: String,
    /// First and last day off (`YYYY-MM-DD`), weekends inside included.
    pub from: String,
    pub to: String,
    /// Weekend days worked instead (调休上班).
    #[serde(default)]
    pub workdays: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("calendar data has {} problem(s):\n  {}", .0.len(), .0.join("\n  "))]
pub struct CalendarError(pub Vec<String>);

/// What the calendar says of one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    pub workday: bool,
    /// The year is not in the data: the weekday rule answered.
    pub provisional: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Calendar {
    /// Year → its notice.
    years: BTreeMap<i32, String>,
    /// Days off on weekdays and their holiday; make-up workdays.
    off: HashMap<NaiveDate, String>,
    on: HashMap<NaiveDate, String>,
    /// Every day from 1 January of the first year in the data to 31
    /// December of the last: [`OPEN`], [`CLOSED`] or [`UNKNOWN`] (a year
    /// between them that the data lacks). Deadlines count days one by one,
    /// about forty per work order, so this answers them without hashing.
    days: Vec<u8>,
    first: Option<NaiveDate>,
}

const UNKNOWN: u8 = 0;
const OPEN: u8 = 1;
const CLOSED: u8 = 2;

/// The festivals every year's notice covers.
const FESTIVALS: [&str; 7] = ["元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"];

/// The files built in from `config/calendar/`.
pub const BUILTIN: &[(&str, &str)] = &[
    ("2023.toml", include_str!("../../config/calendar/2023.toml")),
    ("2024.toml", include_str!("../../config/calendar/2024.toml")),
    ("2025.toml", include_str!("../../config/calendar/2025.toml")),
    ("2026.toml", include_str!("../../config/calendar/2026.toml")),
];

fn weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

impl Calendar {
    /// The built-in years, which are checked by the tests.
    pub fn builtin() -> Calendar {
        let files: Vec<(String, String)> = BUILTIN.iter().map(|(n, t)| ((*n).to_owned(), (*t).to_owned())).collect();
        Calendar::load(&files).expect("the built-in calendar is consistent")
    }

    /// Reads and checks year files, `(name, text)`: every problem of every
    /// file at once, each naming the file and key.
    pub fn load(files: &[(String, String)]) -> Result<Calendar, CalendarError> {
        let mut errors = Vec::new();
        let mut cal = Calendar::default();
        for (name, text) in files {
            let f: YearFile = match toml::from_str(text) {
                Ok(f) => f,
                Err(e) => {
                    errors.push(format!("{name}: {}", e.to_string().trim_end()));
                    continue;
                }
            };
            let mut e = Vec::new();
            cal.add_year(&f, &mut e);
            if let Some(stem) = name.strip_suffix(".toml").and_then(|s| s.rsplit('/').next())
                && stem.parse::<i32>().is_ok_and(|y| y != f.year)
            {
                e.push(format!("`year` is {} but the file is named {name}", f.year));
            }
            errors.extend(e.into_iter().map(|m| format!("{name}: {m}")));
        }
        if !errors.is_empty() {
            return Err(CalendarError(errors));
        }
        cal.tabulate();
        Ok(cal)
    }

    /// Fills [`Calendar::days`] from the years read.
    fn tabulate(&mut self) {
        let (Some(&lo), Some(&hi)) = (self.years.keys().next(), self.years.keys().next_back()) else {
            return;
        };
        let (Some(first), Some(last)) = (NaiveDate::from_ymd_opt(lo, 1, 1), NaiveDate::from_ymd_opt(hi, 12, 31)) else {
            return;
        };
        self.days = first
            .iter_days()
            .take_while(|d| *d <= last)
            .map(|d| match self.covers(d.year()) {
                false => UNKNOWN,
                true if self.on.contains_key(&d) || (!weekend(d) && !self.off.contains_key(&d)) => OPEN,
                true => CLOSED,
            })
            .collect();
        self.first = Some(first);
    }

    fn add_year(&mut self, f: &YearFile, e: &mut Vec<String>) {
        if self.years.insert(f.year, f.notice.clone()).is_some() {
            e.push(format!("`year` {} is given twice", f.year));
        }
        if f.notice.trim().is_empty() {
            e.push("`notice`: cite the State Council notice the dates come from".into());
        }
        let date = |key: String, s: &str, e: &mut Vec<String>| match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                e.push(format!("`{key}`: `{s}` is not a date (YYYY-MM-DD)"));
                None
            }
        };
        let mut ranges: Vec<(NaiveDate, NaiveDate, &str)> = Vec::new();
        for (i, h) in f.holiday.iter().enumerate() {
            let (Some(from), Some(to)) = (
                date(format!("holiday[{i}].from"), &h.from, e),
                date(format!("holiday[{i}].to"), &h.to, e),
            ) else {
                continue;
            };
            if to < from {
                e.push(format!("`holiday[{i}]` ({}): `to` {to} is before `from` {from}", h.name));
                continue;
            }
            if (to - from).num_days() > 10 {
                e.push(format!("`holiday[{i}]` ({}): {from} to {to} is longer than any holiday", h.name));
                continue;
            }
            if from.year() != f.year && to.year() != f.year {
                e.push(format!("`holiday[{i}]` ({}): {from} to {to} is not in {}", h.name, f.year));
            }
            if let Some((a, b, other)) = ranges.iter().find(|(a, b, _)| from <= *b && *a <= to) {
                e.push(format!("`holiday[{i}]` ({}): overlaps {other} ({a} to {b})", h.name));
            }
            ranges.push((from, to, &h.name));
            let mut d = from;
            while d <= to {
                if let Some(other) = self.off.insert(d, h.name.clone())
                    && other != h.name
                {
                    e.push(format!("`holiday[{i}]` ({}): {d} is already a day off for {other}", h.name));
                }
                d += Duration::days(1);
            }
        }
        for (i, h) in f.holiday.iter().enumerate() {
            for (j, w) in h.workdays.iter().enumerate() {
                let Some(d) = date(format!("holiday[{i}].workdays[{j}]"), w, e) else {
                    continue;
                };
                if !weekend(d) {
                    e.push(format!(
                        "`holiday[{i}].workdays[{j}]` ({}): {d} is a {:?}; make-up workdays are weekend days",
                        h.name,
                        d.weekday()
                    ));
                }
                if let Some(off) = self.off.get(&d) {
                    e.push(format!("`holiday[{i}].workdays[{j}]` ({}): {d} is a day off for {off}", h.name));
                }
                self.on.insert(d, h.name.clone());
            }
        }
        let named: String = f.holiday.iter().map(|h| h.name.as_str()).collect();
        for fest in FESTIVALS {
            if !named.contains(fest) {
                e.push(format!("`holiday`: no {fest}; every year's notice has all seven festivals"));
            }
        }
    }

    /// The years the data covers, with their notices.
    pub fn years(&self) -> &BTreeMap<i32, String> {
        &self.years
    }

    pub fn covers(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// The holiday a weekday off belongs to, or the holiday a make-up
    /// working day serves.
    pub fn holiday(&self, d: NaiveDate) -> Option<&str> {
        self.off.get(&d).or_else(|| self.on.get(&d)).map(String::as_str)
    }

    pub fn day(&self, d: NaiveDate) -> Day {
        let known = self
            .first
            .and_then(|f| usize::try_from((d - f).num_days()).ok())
            .and_then(|i| self.days.get(i).copied())
            .unwrap_or(UNKNOWN);
        match known {
            UNKNOWN => Day {
                workday: !weekend(d),
                provisional: true,
            },
            day => Day {
                workday: day == OPEN,
                provisional: false,
            },
        }
    }

    /// The date `n` working days after `d` (`d` itself for 0); provisional
    /// if any day counted lies outside the data.
    pub fn add_workdays(&self, d: NaiveDate, n: u32) -> (NaiveDate, bool) {
        let (mut at, mut left, mut provisional) = (d, n, false);
        while left > 0 {
            at += Duration::days(1);
            let day = self.day(at);
            provisional |= day.provisional;
            if day.workday {
                left -= 1;
            }
        }
        (at, provisional)
    }

    /// Working days from `from` to `to`, both included (0 if `to` is
    /// before `from`); provisional if any day lies outside the data.
    pub fn workdays(&self, from: NaiveDate, to: NaiveDate) -> (u32, bool) {
        let (mut n, mut provisional, mut d) = (0, false, from);
        while d <= to {
            let day = self.day(d);
            provisional |= day.provisional;
            n += u32::from(day.workday);
            d += Duration::days(1);
        }
        (n, provisional)
    }

    /// A year's figures, for `minqing calendar check`: working days, days
    /// off on weekdays, make-up workdays.
    pub fn summary(&self, year: i32) -> Option<(u32, usize, usize)> {
        self.years.get(&year)?;
        let first = NaiveDate::from_ymd_opt(year, 1, 1)?;
        let last = NaiveDate::from_ymd_opt(year, 12, 31)?;
        let off = self.off.keys().filter(|d| d.year() == year && !weekend(**d)).count();
        let on = self.on.keys().filter(|d| d.year() == year).count();
        Some((self.workdays(first, last).0, off, on))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn holidays_and_make_up_workdays_of_the_notices() {
        let c = Calendar::builtin();
        for (day, workday) in [
            ("2023-01-28", true),  // Saturday worked for 春节
            ("2023-01-23", false), // Monday of 春节
            ("2023-04-05", false), // 清明节
            ("2024-02-04", true),  // Sunday worked
            ("2024-02-09", true),  // 除夕 2024: a working day
            ("2024-02-12", false),
            ("2025-01-01", false),
            ("2025-01-26", true),
            ("2025-10-08", false),
            ("2025-10-11", true),
            ("2026-01-04", true),
            ("2026-02-14", true),
            ("2026-02-23", false),
            ("2026-02-24", true),
            ("2026-11-27", true), // an ordinary Friday
            ("2026-11-28", false),
        ] {
            assert_eq!(
                c.day(d(day)),
                Day {
                    workday,
                    provisional: false
                },
                "{day}"
            );
        }
        assert_eq!((2023..=2026).filter(|y| c.covers(*y)).count(), 4);
    }

    /// The day table answers as the notices' dates do, a year missing
    /// between two in the data and the years around them included.
    #[test]
    fn the_day_table_agrees_with_the_notices_dates() {
        let files: Vec<(String, String)> = BUILTIN
            .iter()
            .filter(|(n, _)| *n != "2024.toml")
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect();
        for c in [Calendar::builtin(), Calendar::load(&files).unwrap(), Calendar::default()] {
            let mut closed = 0;
            for day in d("2021-12-25").iter_days().take_while(|x| *x <= d("2028-01-05")) {
                let expected = if c.covers(day.year()) {
                    Day {
                        workday: c.on.contains_key(&day) || (!weekend(day) && !c.off.contains_key(&day)),
                        provisional: false,
                    }
                } else {
                    Day {
                        workday: !weekend(day),
                        provisional: true,
                    }
                };
                assert_eq!(c.day(day), expected, "{day}");
                closed += usize::from(!expected.workday && !expected.provisional && !weekend(day));
            }
            assert_eq!(closed > 0, c.covers(2025), "holidays on weekdays were checked");
        }
    }

    #[test]
    fn adding_and_counting_working_days_across_the_spring_festival() {
        let c = Calendar::builtin();
        assert_eq!(c.add_workdays(d("2026-02-13"), 0), (d("2026-02-13"), false));
        assert_eq!(c.add_workdays(d("2026-02-13"), 1), (d("2026-02-14"), false), "a make-up Saturday");
        assert_eq!(c.add_workdays(d("2026-02-13"), 2), (d("2026-02-24"), false), "over the holiday");
        // Sunday 29 September worked, then the National Day week off.
        assert_eq!(c.add_workdays(d("2024-09-27"), 5), (d("2024-10-10"), false));
        // February 2026: 20 weekdays, 6 of them off (16–20, 23), 2 Saturdays worked.
        assert_eq!(c.workdays(d("2026-02-01"), d("2026-02-28")), (16, false));
        assert_eq!(c.workdays(d("2026-02-28"), d("2026-02-01")), (0, false));
        assert_eq!(c.summary(2025).map(|s| s.0), Some(248));
    }

    #[test]
    fn years_without_data_use_the_weekday_rule_and_say_so() {
        let c = Calendar::builtin();
        assert_eq!(
            c.day(d("2027-01-01")),
            Day {
                workday: true,
                provisional: true
            }
        );
        assert_eq!(c.add_workdays(d("2026-12-31"), 1), (d("2027-01-01"), true));
        assert_eq!(c.workdays(d("2026-12-28"), d("2026-12-31")), (4, false));
        assert_eq!(c.workdays(d("2026-12-28"), d("2027-01-04")), (6, true));
    }

    #[test]
    fn inconsistent_data_is_refused_with_file_and_key() {
        let mut text = BUILTIN[3].1.replace("workdays = [\"2026-01-04\"]", "workdays = [\"2026-01-05\"]");
        text = text.replace("from = \"2026-06-19\"", "from = \"2026-06-31\"");
        text = text.replace("name = \"端午节\"", "name = \"端阳\"");
        let err = Calendar::load(&[("2026.toml".into(), text)]).unwrap_err().to_string();
        assert!(
            err.contains("2026.toml: `holiday[0].workdays[0]` (元旦): 2026-01-05 is a Mon"),
            "{err}"
        );
        assert!(err.contains("`holiday[4].from`: `2026-06-31` is not a date"), "{err}");
        assert!(err.contains("no 端午节"), "{err}");
        let err = Calendar::load(&[("2025.toml".into(), BUILTIN[3].1.to_owned())])
            .unwrap_err()
            .to_string();
        assert!(err.contains("`year` is 2026 but the file is named 2025.toml"), "{err}");
        let clash = BUILTIN[2].1.replace("\"2025-01-26\", \"2025-02-08\"", "\"2025-02-02\"");
        let err = Calendar::load(&[("2025.toml".into(), clash)]).unwrap_err().to_string();
        assert!(err.contains("2025-02-02 is a day off for 春节"), "{err}");
    }
}
