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
    let w = crate::runtime::open_warehouse_for_reading(settings).await?;
    let params = Params::new(from, to, settings.analysis.weights())?;
    // A period with no tickets at all is a wrong date, not an answer of
    // zeros (the calendar's query needs none).
    if q.name != "workdays_in_period" {
        let n = w
            .select(&saved::render(
                "SELECT count(*) FROM ticket_facts {final} WHERE received_date >= {from} AND received_date <= {to}",
                w.dialect(),
                &params,
            )?)
            .await?;
        if n.rows.first().and_then(|r| r.first()).is_some_and(|c| c.to_string() == "0") {
            bail!(
                "the warehouse holds no tickets between {from} and {to}; check the dates (and that the warehouse is the one the gateway writes)"
            );
        }
    }
    let sql = saved::render(q.sql, w.dialect(), &params)?;
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
    let w = crate::runtime::open_warehouse_for_reading(settings).await?;
    let table = trends::trends(w.as_ref(), by, period_, from, to, &settings.analysis.rising).await?;
    write(
        &out,
        &[Named {
            name: "trends",
            table: &table,
        }],
    )
}

pub use crate::cli::HotspotArgs;

/// `minqing hotspots`.
pub async fn hotspots(settings: &Settings, a: HotspotArgs) -> Result<String> {
    let s = &settings.analysis;
    let (messages, span) = match &a.input {
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
            (hotspots::within(all, a.from, Some(to)), hotspots::Period { from: a.from, to })
        }
        None => {
            let (from, to) = period(a.from, a.to, 6)?;
            let w = crate::runtime::open_warehouse_for_reading(settings).await?;
            let span = hotspots::Period { from: Some(from), to };
            let since = span.history_from(&s.hotspots, &s.rising).unwrap_or(from);
            let all = hotspots::stored::messages(w.as_ref(), since, to, a.town.as_deref(), a.category.as_deref()).await?;
            if !all.iter().any(|m| m.at.date() >= from) {
                bail!("no appeals between {from} and {to}; widen --from/--to or check the filters");
            }
            (all, span)
        }
    };
    // A CSV is another city's board: Daye's towns mean nothing there.
    let wide = if a.input.is_some() {
        Default::default()
    } else {
        crate::runtime::wide_places(settings)?
    };
    if messages.is_empty() {
        bail!("no appeals in the period (to {}); widen --from/--to or check the filters", span.to);
    }
    if let Some(labels) = &a.evaluate {
        let text = std::fs::read_to_string(labels).with_context(|| format!("reading {}", labels.display()))?;
        let labels = hotspots::eval::labels(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", a.evaluate.as_ref().map_or(String::new(), |p| p.display().to_string())))?;
        let all = hotspots::hotspots_in(&messages, &s.hotspots, &s.rising, span, usize::MAX, &wide);
        let report = hotspots::eval::evaluate(&messages, &all, &labels);
        return Ok(if a.out.json {
            serde_json::to_string_pretty(&report)? + "\n"
        } else {
            report.text()
        });
    }
    let hot = hotspots::hotspots_in(&messages, &s.hotspots, &s.rising, span, a.top.unwrap_or(s.hotspots.top), &wide);
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
