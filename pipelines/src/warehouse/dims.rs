//! The warehouse's dimension tables, loaded from config whenever the
//! warehouse opens (`minqing migrate`, the gateway's start): units,
//! categories, towns, channels and the working-day calendar, so that a
//! query can name a unit, count working days or list a town with no
//! tickets. Each table is replaced whole.

use crate::calendar::Calendar;
use crate::normalize::town::TownEntry;
use crate::triage::Triage;
use chrono::{Datelike, Duration, NaiveDate};
use minqing_connectors::Channel;

#[derive(Debug, Clone, PartialEq)]
pub struct UnitDim {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub town: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TownDim {
    pub name: String,
    pub kind: String,
    pub code: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChannelDim {
    pub id: &'static str,
    pub name: &'static str,
    /// `pull` or `push`.
    pub direction: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DayDim {
    pub day: NaiveDate,
    pub workday: bool,
    /// The calendar has no data for the year: the weekday rule answered.
    pub provisional: bool,
    /// The holiday a day off (or a make-up working day) belongs to.
    pub holiday: String,
    /// 1 (Monday) to 7.
    pub weekday: u8,
    /// The Monday of its week.
    pub week_start: NaiveDate,
    /// `YYYY-MM`.
    pub month: String,
}

/// Everything the dimension tables hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dimensions {
    pub units: Vec<UnitDim>,
    /// Category names in the order of `triage.toml`.
    pub categories: Vec<String>,
    pub towns: Vec<TownDim>,
    pub channels: Vec<ChannelDim>,
    pub calendar: Vec<DayDim>,
}

impl Dimensions {
    /// From the rules in force. The calendar covers the years it has data
    /// for and every year up to the one after `today`'s (provisional where
    /// the data stops).
    pub fn new(triage: &Triage, towns: &[TownEntry], cal: &Calendar, today: NaiveDate) -> Dimensions {
        let router = triage.router();
        let centre = router.centre();
        let units = std::iter::once(centre)
            .chain(router.units())
            .map(|u| UnitDim {
                code: u.code.clone(),
                name: u.name.clone(),
                kind: u.kind.clone(),
                town: u.town.clone().unwrap_or_default(),
            })
            .collect();
        let first = cal.years().keys().next().copied().unwrap_or(today.year()).min(today.year());
        let last = cal
            .years()
            .keys()
            .next_back()
            .copied()
            .unwrap_or(today.year())
            .max(today.year() + 1);
        Dimensions {
            units,
            categories: triage.categories().to_vec(),
            towns: towns
                .iter()
                .map(|t| TownDim {
                    name: t.name.clone(),
                    kind: t.kind.clone(),
                    code: t.code.clone(),
                })
                .collect(),
            channels: Channel::ALL
                .iter()
                .map(|c| ChannelDim {
                    id: c.id(),
                    name: c.label(),
                    direction: if c.is_push() { "push" } else { "pull" },
                })
                .collect(),
            calendar: days(cal, first, last),
        }
    }
}

/// Every day from 1 January of `first` to 31 December of `last`.
fn days(cal: &Calendar, first: i32, last: i32) -> Vec<DayDim> {
    let (Some(mut d), Some(end)) = (NaiveDate::from_ymd_opt(first, 1, 1), NaiveDate::from_ymd_opt(last, 12, 31)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    while d <= end {
        let day = cal.day(d);
        let weekday = d.weekday().number_from_monday();
        out.push(DayDim {
            day: d,
            workday: day.workday,
            provisional: day.provisional,
            holiday: cal.holiday(d).unwrap_or_default().to_owned(),
            weekday: weekday as u8,
            week_start: d - Duration::days(i64::from(weekday) - 1),
            month: d.format("%Y-%m").to_string(),
        });
        d += Duration::days(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calendar_dimension_knows_holidays_and_weeks() {
        let cal = Calendar::builtin();
        let d = days(&cal, 2026, 2026);
        assert_eq!(d.len(), 365);
        let oct1 = d.iter().find(|x| x.day == NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()).unwrap();
        assert!(!oct1.workday && !oct1.holiday.is_empty(), "{oct1:?}");
        assert_eq!(
            (oct1.weekday, oct1.week_start.to_string(), oct1.month.as_str()),
            (4, "2026-09-28".into(), "2026-10")
        );
    }
}
