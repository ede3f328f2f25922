//! The appeals hotspot mining reads from the warehouse: the ticket facts
//! of a period (masked text, the citizen as the start of a keyed hash),
//! each with the near-duplicate engine's cluster.

use super::Message;
use crate::warehouse::saved::{self, Cell, Params};
use crate::warehouse::{Warehouse, WarehouseError};
use chrono::{NaiveDate, NaiveDateTime};

#[derive(Debug, thiserror::Error)]
pub enum StoredError {
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error(transparent)]
    Query(#[from] saved::QueryError),
    #[error("unknown {what} `{value}`; the {what} names are: {known}")]
    Unknown { what: &'static str, value: String, known: String },
    #[error("ticket {ticket}: received_at {text:?} is not a time")]
    Time { ticket: String, text: String },
}

/// The appeals of `from..=to`, in `town` and `category` if given (each
/// checked against the dimension tables first).
pub async fn messages(
    w: &dyn Warehouse,
    from: NaiveDate,
    to: NaiveDate,
    town: Option<&str>,
    category: Option<&str>,
) -> Result<Vec<Message>, StoredError> {
    for (what, value, table) in [("town", town, "dim_towns"), ("category", category, "dim_categories")] {
        let Some(value) = value else { continue };
        let known: Vec<String> = w
            .select(&format!("SELECT name FROM {table} ORDER BY name"))
            .await?
            .rows
            .iter()
            .map(|r| r[0].to_string())
            .collect();
        if !known.iter().any(|k| k == value) {
            return Err(StoredError::Unknown {
                what,
                value: value.to_owned(),
                known: known.join(", "),
            });
        }
    }
    let sql = saved::render(
        "SELECT short_no, citizen_key, title, content, received_at, cluster_id, town, category FROM ticket_facts {final} \
         WHERE received_date >= {from} AND received_date <= {to} ORDER BY received_at, short_no",
        w.dialect(),
        &Params::new(from, to, Default::default())?,
    )?;
    let t = w.select(&sql).await?;
    let mut out = Vec::with_capacity(t.rows.len());
    for r in &t.rows {
        let text = |i: usize| r[i].to_string();
        // Filtered here rather than in SQL: nothing typed reaches the SQL text.
        if town.is_some_and(|x| text(6) != x) || category.is_some_and(|x| text(7) != x) {
            continue;
        }
        let at = NaiveDateTime::parse_from_str(&text(4), "%Y-%m-%d %H:%M:%S").map_err(|_| StoredError::Time {
            ticket: text(0),
            text: text(4),
        })?;
        // Anonymous appeals are each their own citizen.
        let user = match &r[1] {
            Cell::Text(k) if !k.is_empty() => k.chars().take(8).collect(),
            _ => format!("匿名-{}", text(0)),
        };
        out.push(Message {
            id: text(0),
            user,
            title: text(2),
            text: text(3),
            at,
            up_votes: 0,
            down_votes: 0,
            cluster: Some(text(5)),
            town: Some(text(6)).filter(|t| !t.is_empty()),
        });
    }
    Ok(out)
}
