//! The analysts' rows on ClickHouse: order versions, supervision and
//! escalations ([`super::orders`]), written before the batch's events.
//!
//! `unit_daily` is a materialized view over `order_facts`, so an order
//! version written twice would be counted twice: each write first asks
//! which of its versions are there (by `received_date` and `ticket_id`,
//! the table's sorting key, so the lookup reads few granules) and leaves
//! them out. The order does not depend on the events: a crash after
//! these rows and before the events neither loses nor doubles them when
//! the batch comes again. Supervision and escalation rows are replacing
//! tables read with `FINAL`, where a second copy is harmless.

use super::WarehouseError;
use super::orders::{EscalationFact, OrderFact, Oversight, SupervisionFact, local_date};
use crate::ticket::TicketEvent;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use clickhouse::{Client, Row};
use serde::Serialize;
use std::collections::HashSet;
use uuid::Uuid;

type Ts = DateTime<Utc>;

fn utc(t: &DateTime<FixedOffset>) -> Ts {
    t.with_timezone(&Utc)
}

#[derive(Row, Serialize)]
struct OrderRow {
    #[serde(with = "clickhouse::serde::uuid")]
    ticket_id: Uuid,
    version: u32,
    event_type: &'static str,
    actor_role: &'static str,
    actor_unit: String,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    occurred_at: Ts,
    #[serde(with = "clickhouse::serde::chrono::date")]
    occurred_date: NaiveDate,
    #[serde(with = "clickhouse::serde::chrono::date")]
    received_date: NaiveDate,
    channel: &'static str,
    category: String,
    town: String,
    unit: String,
    state: &'static str,
    dispatches: u32,
    returns: u32,
    #[serde(with = "clickhouse::serde::chrono::datetime::option")]
    dispatched_at: Option<Ts>,
    #[serde(with = "clickhouse::serde::chrono::date::option")]
    sign_due: Option<NaiveDate>,
    #[serde(with = "clickhouse::serde::chrono::datetime::option")]
    signed_at: Option<Ts>,
    signed_on_time: Option<u8>,
    #[serde(with = "clickhouse::serde::chrono::date::option")]
    reply_due: Option<NaiveDate>,
    #[serde(with = "clickhouse::serde::chrono::datetime::option")]
    replied_at: Option<Ts>,
    replied_on_time: Option<u8>,
    #[serde(with = "clickhouse::serde::chrono::datetime::option")]
    returned_at: Option<Ts>,
    #[serde(with = "clickhouse::serde::chrono::datetime::option")]
    visited_at: Option<Ts>,
    #[serde(with = "clickhouse::serde::chrono::datetime::option")]
    closed_at: Option<Ts>,
    sign_overdue: u8,
    reply_overdue: u8,
    extended_workdays: u32,
    on_account: u8,
    visit_contacted: Option<u8>,
    visit_resolved: Option<u8>,
    satisfaction: &'static str,
    unsatisfied_visits: u32,
    deduction_requests: u32,
    deducted: u8,
    confirmed_unsatisfied: u32,
    supervision: &'static str,
    clue_transferred: u8,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    loaded_at: Ts,
}

impl OrderRow {
    fn new(o: OrderFact, loaded_at: Ts) -> OrderRow {
        let t = |x: Option<DateTime<FixedOffset>>| x.as_ref().map(utc);
        OrderRow {
            ticket_id: o.ticket_id,
            version: o.version,
            event_type: o.event_type,
            actor_role: o.actor_role,
            actor_unit: o.actor_unit,
            occurred_at: utc(&o.occurred_at),
            occurred_date: local_date(&o.occurred_at),
            received_date: o.received_date,
            channel: o.channel,
            category: o.category,
            town: o.town,
            unit: o.unit,
            state: o.state,
            dispatches: o.dispatches,
            returns: o.returns,
            dispatched_at: t(o.dispatched_at),
            sign_due: o.sign_due,
            signed_at: t(o.signed_at),
            signed_on_time: o.signed_on_time.map(u8::from),
            reply_due: o.reply_due,
            replied_at: t(o.replied_at),
            replied_on_time: o.replied_on_time.map(u8::from),
            returned_at: t(o.returned_at),
            visited_at: t(o.visited_at),
            closed_at: t(o.closed_at),
            sign_overdue: o.sign_overdue.into(),
            reply_overdue: o.reply_overdue.into(),
            extended_workdays: o.extended_workdays,
            on_account: o.on_account.into(),
            visit_contacted: o.visit_contacted.map(u8::from),
            visit_resolved: o.visit_resolved.map(u8::from),
            satisfaction: o.satisfaction,
            unsatisfied_visits: o.unsatisfied_visits,
            deduction_requests: o.deduction_requests,
            deducted: o.deducted.into(),
            confirmed_unsatisfied: o.confirmed_unsatisfied,
            supervision: o.supervision,
            clue_transferred: o.clue_transferred.into(),
            loaded_at,
        }
    }
}

#[derive(Row, Serialize)]
struct SupervisionRow {
    #[serde(with = "clickhouse::serde::uuid")]
    event_id: Uuid,
    #[serde(with = "clickhouse::serde::uuid")]
    ticket_id: Uuid,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    occurred_at: Ts,
    #[serde(with = "clickhouse::serde::chrono::date")]
    occurred_date: NaiveDate,
    level: String,
    trigger: String,
    proposed: u8,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    loaded_at: Ts,
}

impl SupervisionRow {
    fn new(s: SupervisionFact, loaded_at: Ts) -> Self {
        SupervisionRow {
            event_id: s.event_id,
            ticket_id: s.ticket_id,
            occurred_at: utc(&s.occurred_at),
            occurred_date: local_date(&s.occurred_at),
            level: s.level,
            trigger: s.trigger,
            proposed: s.proposed.into(),
            loaded_at,
        }
    }
}

#[derive(Row, Serialize)]
struct EscalationRow {
    #[serde(with = "clickhouse::serde::uuid")]
    event_id: Uuid,
    #[serde(with = "clickhouse::serde::uuid")]
    ticket_id: Uuid,
    cluster_id: String,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    occurred_at: Ts,
    #[serde(with = "clickhouse::serde::chrono::date")]
    occurred_date: NaiveDate,
    trigger: String,
    citizen_key: String,
    count: u32,
    members: u32,
    citizens: u32,
    proposal: String,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    loaded_at: Ts,
}

impl EscalationRow {
    fn new(e: EscalationFact, loaded_at: Ts) -> Self {
        EscalationRow {
            event_id: e.event_id,
            ticket_id: e.ticket_id,
            cluster_id: e.cluster_id,
            occurred_at: utc(&e.occurred_at),
            occurred_date: local_date(&e.occurred_at),
            trigger: e.trigger,
            citizen_key: e.citizen_key,
            count: e.count,
            members: e.members,
            citizens: e.citizens,
            proposal: e.proposal,
            loaded_at,
        }
    }
}

/// Order versions per lookup query.
const LOOKUP: usize = 1_000;

/// The (ticket, version) pairs of `facts` that `order_facts` holds.
async fn stored_versions(client: &Client, facts: &[OrderFact]) -> Result<HashSet<(Uuid, u32)>, WarehouseError> {
    let mut out = HashSet::new();
    for chunk in facts.chunks(LOOKUP) {
        let mut days: Vec<String> = chunk.iter().map(|o| format!("'{}'", o.received_date)).collect();
        days.sort_unstable();
        days.dedup();
        // Uuid's and NaiveDate's text forms are safe to inline.
        let ids: Vec<String> = chunk.iter().map(|o| format!("'{}'", o.ticket_id)).collect();
        let sql = format!(
            "SELECT toString(ticket_id), version FROM order_facts WHERE received_date IN ({}) \
             AND ticket_id IN (SELECT toUUID(x) FROM system.one ARRAY JOIN [{}] AS x)",
            days.join(","),
            ids.join(",")
        );
        for (id, v) in client.query(&sql).fetch_all::<(String, u32)>().await? {
            let id = Uuid::parse_str(&id).map_err(|e| WarehouseError::Unreadable {
                what: format!("`{id}` in order_facts is not a ticket id: {e}"),
            })?;
            out.insert((id, v));
        }
    }
    Ok(out)
}

/// Writes the analysts' rows of `events` (those whose ticket is stored or
/// in the batch).
pub(super) async fn write(client: &Client, events: &[&TicketEvent], now: Ts) -> Result<(), WarehouseError> {
    let mut facts: Vec<OrderFact> = events.iter().filter_map(|e| OrderFact::of(e)).collect();
    let mut oversight = Oversight::default();
    for e in events {
        oversight.add(e);
    }
    if !facts.is_empty() {
        let stored = stored_versions(client, &facts).await?;
        let mut seen = HashSet::new();
        facts.retain(|o| !stored.contains(&(o.ticket_id, o.version)) && seen.insert((o.ticket_id, o.version)));
        let mut inserter = client.inserter::<OrderRow>("order_facts");
        for o in facts {
            inserter.write(&OrderRow::new(o, now)).await?;
        }
        inserter.end().await?;
    }
    if !oversight.supervisions.is_empty() {
        let mut inserter = client.inserter::<SupervisionRow>("supervision_facts");
        for s in oversight.supervisions {
            inserter.write(&SupervisionRow::new(s, now)).await?;
        }
        inserter.end().await?;
    }
    if !oversight.escalations.is_empty() {
        let mut inserter = client.inserter::<EscalationRow>("escalation_facts");
        for e in oversight.escalations {
            inserter.write(&EscalationRow::new(e, now)).await?;
        }
        inserter.end().await?;
    }
    Ok(())
}

#[derive(Row, Serialize)]
struct UnitRow {
    code: String,
    name: String,
    kind: String,
    town: String,
}

#[derive(Row, Serialize)]
struct CategoryRow {
    name: String,
    position: u32,
}

#[derive(Row, Serialize)]
struct TownRow {
    name: String,
    kind: String,
    code: String,
}

#[derive(Row, Serialize)]
struct ChannelRow {
    id: String,
    name: String,
    direction: String,
}

#[derive(Row, Serialize)]
struct DayRow {
    #[serde(with = "clickhouse::serde::chrono::date")]
    day: NaiveDate,
    workday: u8,
    provisional: u8,
    holiday: String,
    weekday: u8,
    #[serde(with = "clickhouse::serde::chrono::date")]
    week_start: NaiveDate,
    month: String,
}

/// Empties `table` and writes `rows` into it. Not atomic: a query in
/// between sees the table empty, for the moment a load takes at start-up.
async fn replace<R>(client: &Client, table: &str, rows: Vec<R>) -> Result<(), WarehouseError>
where
    R: Serialize + for<'a> Row<Value<'a> = R>,
{
    client.query(&format!("TRUNCATE TABLE {table}")).execute().await?;
    let mut inserter = client.inserter::<R>(table);
    for r in rows {
        inserter.write(&r).await?;
    }
    inserter.end().await?;
    Ok(())
}

/// Replaces the dimension tables with `d`.
pub(super) async fn load_dimensions(client: &Client, d: &super::dims::Dimensions) -> Result<(), WarehouseError> {
    let units: Vec<_> = d
        .units
        .iter()
        .map(|u| UnitRow {
            code: u.code.clone(),
            name: u.name.clone(),
            kind: u.kind.clone(),
            town: u.town.clone(),
        })
        .collect();
    replace(client, "dim_units", units).await?;
    let categories: Vec<_> = d
        .categories
        .iter()
        .enumerate()
        .map(|(i, c)| CategoryRow {
            name: c.clone(),
            position: i as u32,
        })
        .collect();
    replace(client, "dim_categories", categories).await?;
    let towns: Vec<_> = d
        .towns
        .iter()
        .map(|t| TownRow {
            name: t.name.clone(),
            kind: t.kind.clone(),
            code: t.code.clone(),
        })
        .collect();
    replace(client, "dim_towns", towns).await?;
    let channels: Vec<_> = d
        .channels
        .iter()
        .map(|c| ChannelRow {
            id: c.id.into(),
            name: c.name.into(),
            direction: c.direction.into(),
        })
        .collect();
    replace(client, "dim_channels", channels).await?;
    let days: Vec<_> = d
        .calendar
        .iter()
        .map(|x| DayRow {
            day: x.day,
            workday: x.workday.into(),
            provisional: x.provisional.into(),
            holiday: x.holiday.clone(),
            weekday: x.weekday,
            week_start: x.week_start,
            month: x.month.clone(),
        })
        .collect();
    replace(client, "dim_calendar", days).await
}
