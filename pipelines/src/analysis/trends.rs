//! `minqing trends`: counts per period and per category, town, channel or
//! unit, with each key's share of the period, the change against the
//! previous period and against the same period a year before, and the
//! rising flag of [`super::rising`] against the key's own trailing periods.
//!
//! Read from the daily aggregates (`daily_tickets` for tickets,
//! `unit_daily` for the orders dispatched to each unit), which are small
//! whatever the range; the same SQL runs on both warehouses.

use super::rising::{RisingSettings, rises};
use crate::warehouse::saved::{Cell, Table};
use crate::warehouse::{Warehouse, WarehouseError};
use chrono::{Datelike, Duration, Months, NaiveDate};
use std::collections::{BTreeMap, BTreeSet};

/// What the counts are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Category,
    Town,
    /// Each category in each town (`城乡建设 · 金湖街道`): where rising
    /// detection finds a local surge a town's total hides.
    CategoryTown,
    Channel,
    /// Orders dispatched to each unit.
    Unit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    /// Monday to Sunday.
    Week,
    Month,
}

impl std::str::FromStr for By {
    type Err = String;
    fn from_str(s: &str) -> Result<By, String> {
        Ok(match s {
            "category" => By::Category,
            "town" => By::Town,
            "category_town" => By::CategoryTown,
            "channel" => By::Channel,
            "unit" => By::Unit,
            _ => return Err(format!("`{s}`: group by category, town, category_town, channel or unit")),
        })
    }
}

impl std::str::FromStr for Period {
    type Err = String;
    fn from_str(s: &str) -> Result<Period, String> {
        Ok(match s {
            "day" => Period::Day,
            "week" => Period::Week,
            "month" => Period::Month,
            _ => return Err(format!("`{s}`: a period is day, week or month")),
        })
    }
}

impl Period {
    /// The first day of the period `d` falls in.
    pub fn start(self, d: NaiveDate) -> NaiveDate {
        match self {
            Period::Day => d,
            Period::Week => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
            Period::Month => d.with_day(1).unwrap_or(d),
        }
    }

    /// The start of the period `n` periods before the one starting `start`.
    pub fn back(self, start: NaiveDate, n: u32) -> NaiveDate {
        match self {
            Period::Day => start - Duration::days(i64::from(n)),
            Period::Week => start - Duration::weeks(i64::from(n)),
            Period::Month => start.checked_sub_months(Months::new(n)).unwrap_or(start),
        }
    }

    /// The same period a year before: 52 weeks back for a week (same
    /// weekdays), the same date for a day or a month.
    pub fn year_before(self, start: NaiveDate) -> NaiveDate {
        match self {
            Period::Week => start - Duration::weeks(52),
            _ => start.checked_sub_months(Months::new(12)).unwrap_or(start),
        }
    }

    fn label(self, start: NaiveDate) -> String {
        match self {
            Period::Month => start.format("%Y-%m").to_string(),
            _ => start.to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrendError {
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error("the period runs backwards: --from {from} is after --to {to}; swap them")]
    Backwards { from: NaiveDate, to: NaiveDate },
    #[error(
        "the warehouse holds no tickets between {from} and {to}; check the dates (and that the warehouse is the one the gateway writes)"
    )]
    Empty { from: NaiveDate, to: NaiveDate },
}

/// Daily counts per key between two days, from the aggregates.
fn sql(by: By, from: NaiveDate, to: NaiveDate) -> String {
    let (table, key, count) = match by {
        By::Category => ("daily_tickets", "category", "tickets"),
        By::Town => ("daily_tickets", "town", "tickets"),
        // concat() is both engines' (SQLite's since 3.44).
        By::CategoryTown => ("daily_tickets", "concat(category, ' · ', town)", "tickets"),
        By::Channel => ("daily_tickets", "channel", "tickets"),
        By::Unit => ("unit_daily", "unit", "dispatched"),
    };
    // A unit's row "" holds what no unit did (the centre's queue).
    let known = if by == By::Unit { " AND unit != ''" } else { "" };
    format!(
        "SELECT day, {key} AS k, sum({count}) AS n FROM {table} WHERE day >= '{from}' AND day <= '{to}'{known} \
         GROUP BY day, k ORDER BY day, k"
    )
}

type Counts = BTreeMap<(NaiveDate, String), u64>;

/// Counts per (period start, key) between `from` and `to`.
async fn counts(w: &dyn Warehouse, by: By, period: Period, from: NaiveDate, to: NaiveDate) -> Result<Counts, TrendError> {
    let t = w.select(&sql(by, from, to)).await?;
    let mut out = Counts::new();
    for r in &t.rows {
        let (Cell::Text(day), key, n) = (&r[0], r[1].to_string(), &r[2]) else {
            continue;
        };
        let Ok(day) = NaiveDate::parse_from_str(day, "%Y-%m-%d") else {
            continue;
        };
        let n = match n {
            Cell::Int(n) => *n as u64,
            Cell::Float(x) => *x as u64,
            _ => 0,
        };
        *out.entry((period.start(day), key)).or_default() += n;
    }
    Ok(out)
}

/// The trend table for `from`..=`to`.
pub async fn trends(
    w: &dyn Warehouse,
    by: By,
    period: Period,
    from: NaiveDate,
    to: NaiveDate,
    s: &RisingSettings,
) -> Result<Table, TrendError> {
    if from > to {
        return Err(TrendError::Backwards { from, to });
    }
    let first = period.start(from);
    let base = period.back(first, s.baseline_periods as u32);
    let now = counts(w, by, period, base, to).await?;
    let ly_from = period.year_before(first);
    let ly_to = period.year_before(period.start(to)) + (to - period.start(to));
    let ly = counts(w, by, period, ly_from, ly_to.max(ly_from)).await?;
    let table = build(&now, &ly, period, from, to, s);
    if table.rows.is_empty() {
        return Err(TrendError::Empty { from, to });
    }
    Ok(table)
}

/// The period after the one starting `start`.
fn next(period: Period, start: NaiveDate) -> Option<NaiveDate> {
    match period {
        Period::Day => start.checked_add_signed(Duration::days(1)),
        Period::Week => start.checked_add_signed(Duration::weeks(1)),
        Period::Month => start.checked_add_months(Months::new(1)),
    }
}

/// The rows: every period from the one holding `from` to the one holding
/// `to`, and every key seen in them. `days` says how many of a period's
/// days fall within `from..=to`: a first or last period cut short counts
/// only those, against whole periods before it.
fn build(now: &Counts, ly: &Counts, period: Period, from: NaiveDate, to: NaiveDate, s: &RisingSettings) -> Table {
    let first = period.start(from);
    let keys: BTreeSet<&String> = now.keys().filter(|(d, _)| *d >= first).map(|(_, k)| k).collect();
    let mut rows = Vec::new();
    let mut start = first;
    while start <= to {
        let total: u64 = now.iter().filter(|((d, _), _)| *d == start).map(|(_, n)| n).sum();
        for k in &keys {
            let get = |c: &Counts, d: NaiveDate| c.get(&(d, (*k).clone())).copied().unwrap_or(0);
            let x = get(now, start);
            let history: Vec<u64> = (1..=s.baseline_periods as u32)
                .rev()
                .map(|i| get(now, period.back(start, i)))
                .collect();
            let prev = get(now, period.back(start, 1));
            let last_year = get(ly, period.year_before(start));
            if x == 0 && prev == 0 {
                continue;
            }
            let (rising, z) = rises(x, &history, s);
            let ratio = |a: u64, b: u64| {
                if b == 0 {
                    Cell::Null
                } else {
                    Cell::Float(round4((a as f64 - b as f64) / b as f64))
                }
            };
            rows.push(vec![
                Cell::Text(period.label(start)),
                Cell::Int(days_within(period, start, from, to)),
                Cell::Text((*k).clone()),
                Cell::Int(x as i64),
                if total == 0 {
                    Cell::Null
                } else {
                    Cell::Float(round4(x as f64 / total as f64))
                },
                Cell::Int(prev as i64),
                ratio(x, prev),
                Cell::Int(last_year as i64),
                ratio(x, last_year),
                Cell::Int(i64::from(rising)),
                z.map_or(Cell::Null, |z| Cell::Float(round4(z))),
            ]);
        }
        start = match period {
            Period::Day => start + Duration::days(1),
            Period::Week => start + Duration::weeks(1),
            Period::Month => start.checked_add_months(Months::new(1)).unwrap_or(to + Duration::days(1)),
        };
    }
    let columns = [
        "period",
        "key",
        "count",
        "share",
        "previous",
        "change",
        "last_year",
        "year_on_year",
        "rising",
        "z",
    ];
    Table {
        columns: columns.map(str::to_owned).to_vec(),
        rows,
    }
}

/// Days of the period starting `start` within `from..=to`.
fn days_within(period: Period, start: NaiveDate, from: NaiveDate, to: NaiveDate) -> i64 {
    let end = next(period, start).map_or(to, |n| n - Duration::days(1));
    ((end.min(to) - start.max(from)).num_days() + 1).max(0)
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods_start_on_monday_and_the_first() {
        assert_eq!(Period::Week.start(d("2026-06-07")), d("2026-06-01"));
        assert_eq!(Period::Month.start(d("2026-06-07")), d("2026-06-01"));
        assert_eq!(Period::Week.year_before(d("2026-06-01")), d("2025-06-02"), "a Monday again");
        assert_eq!(Period::Month.back(d("2026-03-01"), 2), d("2026-01-01"));
    }

    /// A week that jumps against eight quiet ones rises; the share, the
    /// change and the year-on-year change are against the right periods.
    #[test]
    fn a_jump_rises_and_changes_are_against_the_right_periods() {
        let mut now = Counts::new();
        let first = d("2026-06-01");
        for i in 1..=8 {
            now.insert((Period::Week.back(first, i), "城乡建设".into()), 4);
            now.insert((Period::Week.back(first, i), "环境保护".into()), 6);
        }
        now.insert((first, "城乡建设".into()), 20);
        now.insert((first, "环境保护".into()), 5);
        let mut ly = Counts::new();
        ly.insert((d("2025-06-02"), "城乡建设".into()), 10);
        // From a Wednesday: the first week has five days in the period.
        let t = build(
            &now,
            &ly,
            Period::Week,
            d("2026-06-03"),
            d("2026-06-07"),
            &RisingSettings::default(),
        );
        assert_eq!(t.rows.len(), 2);
        let city = &t.rows[0];
        assert_eq!(
            city[..6],
            [
                Cell::Text("2026-06-01".into()),
                Cell::Int(5),
                Cell::Text("城乡建设".into()),
                Cell::Int(20),
                Cell::Float(0.8),
                Cell::Int(4)
            ]
        );
        assert_eq!(city[6], Cell::Float(4.0), "(20 - 4) / 4");
        assert_eq!((city[7].clone(), city[8].clone()), (Cell::Int(10), Cell::Float(1.0)));
        assert_eq!(city[9], Cell::Int(1), "rising");
        assert_eq!(t.rows[1][9], Cell::Int(0), "环境保护 fell");
        assert_eq!(t.rows[1][8], Cell::Null, "no tickets a year before");
        assert_eq!(days_within(Period::Month, d("2026-02-01"), d("2026-01-20"), d("2026-03-31")), 28);
    }
}
