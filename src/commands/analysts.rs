//! The analysts' commands on the configured warehouse: `minqing query`
//! (the saved queries), `minqing trends` and `minqing hotspots` (also over a
//! CSV of messages), each writing its tables as text, CSV, JSON or XLSX.

use super::tables::{Named, OutputArgs, write};
use crate::config::Settings;
use anyhow::{Context, Result, bail};
use chrono::{Duration, NaiveDate};
use minqing_pipelines::analysis::hotspots;
use minqing_pipelines::analysis::trends::{self, By, Period};
use minqing_pipelines::warehouse::saved::{self, Params, SAVED};
use std::path::PathBuf;

/// Today in Daye.
fn today() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&minqing_connectors::timefmt::shanghai())
        .date_naive()
}

/// `--from`/`--to` with their defaults: `back` days before `to`, today.
fn period(from: Option<NaiveDate>, to: Option<NaiveDate>, back: i64) -> Result<(NaiveDate, NaiveDate)> {
    let to = to.unwrap_or_else(today);
    let from = from.unwrap_or(to - Duration::days(back));
    if from > to {
        bail!("the period runs backwards: --from {from} is after --to {to}; swap them");
    }
    Ok((from, to))
}

/// `minqing query [NAME]`.
pub async fn query(
    settings: &Settings,
    name: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    out: OutputArgs,
) -> Result<String> {
    let Some(name) = name else {
        let mut s = String::from("saved queries (minqing query NAME --from YYYY-MM-DD --to YYYY-MM-DD):\n");
        for q in SAVED {
            s += &format!("  {:<28} {}\n  {:<28} {}\n", q.name, q.title(), "", q.about());
        }
        return Ok(s);
    };
    let q = saved::find(&name)?;
    let (from, to) = period(from, to, 6)?;
    let w = crate::runtime::open_warehouse(settings).await?;
    let sql = saved::render(q.sql, w.dialect(), &Params::new(from, to, settings.analysis.weights())?)?;
    let table = w.select(&sql).await.with_context(|| format!("running saved query {name}"))?;
    write(
        &out,
        &[Named {
            name: q.name,
            table: &table,
        }],
    )
}

/// `minqing trends`.
pub async fn trends(
    settings: &Settings,
    by: By,
    period_: Period,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    out: OutputArgs,
) -> Result<String> {
    let (from, to) = period(from, to, 55)?;
    let w = crate::runtime::open_warehouse(settings).await?;
    let table = trends::trends(w.as_ref(), by, period_, from, to, &settings.analysis.rising).await?;
    write(
        &out,
        &[Named {
            name: "trends",
            table: &table,
        }],
    )
}

/// What `minqing hotspots` was asked.
pub struct HotspotArgs {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub top: Option<usize>,
    pub town: Option<String>,
    pub category: Option<String>,
    pub input: Option<PathBuf>,
    pub evaluate: Option<PathBuf>,
    pub out: OutputArgs,
}

/// `minqing hotspots`.
pub async fn hotspots(settings: &Settings, a: HotspotArgs) -> Result<String> {
    let s = &settings.analysis;
    let (messages, to) = match &a.input {
        Some(path) => {
            if a.town.is_some() || a.category.is_some() {
                bail!("--town and --category filter the warehouse's tickets; a CSV of messages has neither");
            }
            let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
            let all = hotspots::csv::read(file, &path.display().to_string())?;
            let to = a.to.or_else(|| hotspots::last_day(&all)).unwrap_or_else(today);
            if let Some(from) = a.from.filter(|f| *f > to) {
                bail!("the period runs backwards: --from {from} is after --to {to}; swap them");
            }
            (hotspots::within(all, a.from, Some(to)), to)
        }
        None => {
            let (from, to) = period(a.from, a.to, 6)?;
            let w = crate::runtime::open_warehouse(settings).await?;
            (
                hotspots::stored::messages(w.as_ref(), from, to, a.town.as_deref(), a.category.as_deref()).await?,
                to,
            )
        }
    };
    // A CSV is another city's board: Daye's towns mean nothing there.
    let wide = if a.input.is_some() {
        Default::default()
    } else {
        crate::runtime::wide_places(settings)?
    };
    if messages.is_empty() {
        bail!("no appeals in the period (to {to}); widen --from/--to or check the filters");
    }
    if let Some(labels) = &a.evaluate {
        let text = std::fs::read_to_string(labels).with_context(|| format!("reading {}", labels.display()))?;
        let labels = hotspots::eval::labels(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", a.evaluate.as_ref().map_or(String::new(), |p| p.display().to_string())))?;
        let all = hotspots::hotspots_in(&messages, &s.hotspots, &s.rising, to, usize::MAX, &wide);
        let report = hotspots::eval::evaluate(&messages, &all, &labels);
        return Ok(if a.out.json {
            serde_json::to_string_pretty(&report)? + "\n"
        } else {
            report.text()
        });
    }
    let hot = hotspots::hotspots_in(&messages, &s.hotspots, &s.rising, to, a.top.unwrap_or(s.hotspots.top), &wide);
    let (table, detail) = hotspots::tables(&messages, &hot);
    write(
        &a.out,
        &[
            Named {
                name: "hotspots",
                table: &table,
            },
            Named {
                name: "details",
                table: &detail,
            },
        ],
    )
}
