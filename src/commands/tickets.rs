//! `minqing tickets …`: a supervisor's questions of the workflow store —
//! open orders per unit with their deadlines, what is overdue, what falls
//! due today or on the next working day — and one SLA sweep on demand.

use crate::cli::TicketsAction;
use crate::config::Settings;
use anyhow::{Context, Result};
use chrono::NaiveDate;
use minqing_pipelines::store::OrderQuery;
use minqing_pipelines::ticket::short_no;
use minqing_pipelines::workflow::Order;
use minqing_pipelines::workflow::service::due_range;

fn day(date: Option<String>) -> Result<NaiveDate> {
    match date {
        None => Ok(minqing_pipelines::workflow::service::now().date_naive()),
        Some(d) => NaiveDate::parse_from_str(&d, "%Y-%m-%d").with_context(|| format!("--date {d}: expected YYYY-MM-DD")),
    }
}

pub async fn command(settings: &Settings, action: TicketsAction) -> Result<String> {
    let store = crate::runtime::open_store(settings).await?;
    let deadlines = crate::runtime::deadlines(settings)?;
    let (query, json) = match action {
        TicketsAction::Open { filter: f } => (
            OrderQuery {
                unit: f.unit,
                open: true,
                limit: f.limit,
                ..OrderQuery::default()
            },
            f.json,
        ),
        TicketsAction::Overdue { filter: f } => due(&f, "overdue", &deadlines)?,
        TicketsAction::Due { when, filter: f } => due(&f, &when, &deadlines)?,
        TicketsAction::Sweep { date } => {
            use chrono::TimeZone;
            let at = match date {
                None => minqing_pipelines::workflow::service::now(),
                Some(_) => minqing_connectors::timefmt::shanghai()
                    .from_local_datetime(&day(date)?.and_hms_opt(0, 0, 0).expect("midnight exists"))
                    .single()
                    .context("no such local time")?,
            };
            // Its events wait in the workflow store's warehouse outbox; a
            // running gateway's relay takes them to the warehouse.
            let (r, _) = minqing_pipelines::workflow::sweep::sweep(store.as_ref(), at.date_naive(), at, 1000).await?;
            return Ok(serde_json::to_string_pretty(&r)? + "\n");
        }
    };
    let orders = store.orders(&query).await?;
    if json {
        return Ok(serde_json::to_string_pretty(&orders)? + "\n");
    }
    Ok(table(&orders))
}

fn due(f: &crate::cli::OrderFilter, when: &str, d: &minqing_pipelines::workflow::Deadlines) -> Result<(OrderQuery, bool)> {
    let (due_from, due_by) = due_range(when, day(f.date.clone())?, &d.calendar)?;
    let q = OrderQuery {
        unit: f.unit.clone(),
        open: true,
        due_from,
        due_by,
        limit: f.limit,
        ..OrderQuery::default()
    };
    Ok((q, f.json))
}

fn table(orders: &[Order]) -> String {
    let mut out = format!(
        "{:<17} {:<22} {:<14} {:<10} {:<10} {:<10} {}\n",
        "ticket", "state", "unit", "due", "sign_due", "reply_due", "supervision"
    );
    let d = |x: Option<NaiveDate>| x.map_or("-".to_owned(), |d| d.to_string());
    for o in orders {
        out += &format!(
            "{:<17} {:<22} {:<14} {:<10} {:<10} {:<10} {}{}\n",
            short_no(&o.ticket_id),
            o.state.id(),
            o.unit.as_deref().unwrap_or("(centre)"),
            d(o.due()),
            d(o.sign_due),
            d(o.reply_due),
            o.supervision.map_or("-", |s| s.id()),
            if o.provisional { " (provisional)" } else { "" }
        );
    }
    out += &format!("{} orders\n", orders.len());
    out
}
