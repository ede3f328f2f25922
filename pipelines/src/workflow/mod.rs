//! The work-order lifecycle (DESIGN.md §1): dispatch, sign, return, reply,
//! put on account, extensions, return visits, the unsatisfied path with
//! its deduction request, and close, as a pure state machine over working
//! days. Stores keep an order's state and apply the machine's transitions;
//! the API and the SLA sweeps drive it.

pub mod machine;
pub mod rules;
pub mod service;
pub mod sweep;

use crate::calendar::Calendar;
use crate::ticket::{EventPayload, EventType, Ticket, TicketEvent};
use chrono::{DateTime, FixedOffset};
use std::sync::Arc;

pub use machine::{Action, Actor, Effect, Order, Overdue, Refusal, RefusalKind, Role, Satisfaction, State, Supervision, Transition};
pub use rules::Rules;

/// The calendar and the rules deadlines are counted on.
#[derive(Debug, Clone)]
pub struct Deadlines {
    pub calendar: Arc<Calendar>,
    pub rules: Rules,
}

/// The system dispatches what triage routed; the centre's name in events.
pub fn system() -> Actor {
    Actor {
        role: Role::Centre,
        unit: None,
        name: "自动派单".into(),
    }
}

/// The work order a new ticket opens: none unless triage dispatched it
/// (a duplicate's original carries the work); dispatched to the routed
/// unit at receipt, or waiting in the centre's queue.
pub fn first_order(t: &Ticket, d: &Deadlines) -> Option<Order> {
    let decision = t.triage.as_ref()?;
    if t.duplicate_of.is_some() || decision.scope != crate::triage::ScopeKind::Dispatch {
        return None;
    }
    let mut order = Order::new(t.ticket_id, t.channel, decision.category.clone());
    order.record.received_at = Some(t.received_at);
    order.record.town = t.town.clone();
    match (&decision.unit, decision.manual) {
        (Some(unit), false) => order
            .apply(
                &Action::Dispatch { unit: unit.clone() },
                &system(),
                t.received_at,
                &d.calendar,
                &d.rules,
            )
            .map(|tr| tr.order)
            .ok(),
        _ => Some(order),
    }
}

/// The events of an accepted action: the action's own, then what it set
/// off (supervision, clue transfer). Ids derive from the order's version,
/// so the same transition always makes the same events.
pub fn action_events(t: &Transition, action: &Action, actor: &Actor, at: DateTime<FixedOffset>) -> Vec<TicketEvent> {
    let o = &t.order;
    let v = o.version.to_string();
    let mut out = vec![TicketEvent::new(
        o.ticket_id,
        o.channel,
        t.event,
        &v,
        at,
        EventPayload::Workflow {
            action: Box::new(action.clone()),
            actor: actor.clone(),
            from: t.from,
            order: Box::new(o.clone()),
        },
    )];
    out.extend(effect_events(o, &t.effects, &v, at));
    out
}

/// The events of an SLA finding.
pub fn overdue_events(x: &Overdue, at: DateTime<FixedOffset>) -> Vec<TicketEvent> {
    let o = &x.order;
    let v = o.version.to_string();
    let mut out = vec![TicketEvent::new(
        o.ticket_id,
        o.channel,
        x.event,
        &x.due.to_string(),
        at,
        EventPayload::Overdue {
            due: x.due,
            order: Box::new(o.clone()),
        },
    )];
    out.extend(effect_events(o, &x.effects, &v, at));
    out
}

fn effect_events(o: &Order, effects: &[Effect], v: &str, at: DateTime<FixedOffset>) -> Vec<TicketEvent> {
    effects
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let (level, trigger, proposed) = match e {
                Effect::Supervised { level, trigger } => (level.id(), trigger.clone(), *level == Supervision::Written),
                Effect::ClueTransfer { trigger } => ("clue_transfer", trigger.clone(), true),
            };
            TicketEvent::new(
                o.ticket_id,
                o.channel,
                EventType::Supervised,
                &format!("{v}:{i}"),
                at,
                EventPayload::Supervision {
                    level: level.into(),
                    trigger,
                    proposed,
                },
            )
        })
        .collect()
}
