//! The analysts' facts an event batch adds beside tickets: one row per
//! work-order version ([`OrderFact`]), supervision ([`SupervisionFact`])
//! and same-issue escalations ([`EscalationFact`]). Every event that
//! changes an order carries the whole order (`ticket::order::Order` with
//! its `Record`), so a row needs nothing but its event; both backends
//! write the same rows.

use crate::ticket::order::{Order, State};
use crate::ticket::{EventPayload, TicketEvent};
use chrono::{DateTime, FixedOffset, NaiveDate};
use minqing_connectors::timefmt::shanghai;
use uuid::Uuid;

/// A work order as one event left it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderFact {
    pub ticket_id: Uuid,
    pub version: u32,
    pub event_type: &'static str,
    /// `unit`, `centre`, `supervisor`, `admin`, or `system` (triage's
    /// dispatch, the SLA sweep).
    pub actor_role: &'static str,
    /// The unit that acted; "" when the centre or the system did.
    pub actor_unit: String,
    pub occurred_at: DateTime<FixedOffset>,
    pub received_date: NaiveDate,
    pub channel: &'static str,
    pub category: String,
    pub town: String,
    pub unit: String,
    pub state: &'static str,
    pub dispatches: u32,
    pub returns: u32,
    pub dispatched_at: Option<DateTime<FixedOffset>>,
    pub sign_due: Option<NaiveDate>,
    pub signed_at: Option<DateTime<FixedOffset>>,
    pub signed_on_time: Option<bool>,
    pub reply_due: Option<NaiveDate>,
    pub replied_at: Option<DateTime<FixedOffset>>,
    pub replied_on_time: Option<bool>,
    pub returned_at: Option<DateTime<FixedOffset>>,
    pub visited_at: Option<DateTime<FixedOffset>>,
    pub closed_at: Option<DateTime<FixedOffset>>,
    pub sign_overdue: bool,
    pub reply_overdue: bool,
    pub extended_workdays: u32,
    pub on_account: bool,
    pub visit_contacted: Option<bool>,
    pub visit_resolved: Option<bool>,
    /// `satisfied`, `basically_satisfied`, `unsatisfied`, or "" before a visit.
    pub satisfaction: &'static str,
    pub unsatisfied_visits: u32,
    pub deduction_requests: u32,
    pub deducted: bool,
    pub confirmed_unsatisfied: u32,
    /// The strongest supervision so far: `phone`, `written` or "".
    pub supervision: &'static str,
    pub clue_transferred: bool,
}

/// The local (Daye) date of a time.
pub fn local_date(t: &DateTime<FixedOffset>) -> NaiveDate {
    t.with_timezone(&shanghai()).date_naive()
}

/// A local time as ClickHouse prints a `DateTime('Asia/Shanghai')`, which
/// the SQLite warehouse stores for the analysts' tables.
pub fn local_text(t: &DateTime<FixedOffset>) -> String {
    t.with_timezone(&shanghai()).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Whether `done` fell on or before `due`; `None` until it is done.
fn on_time(done: Option<DateTime<FixedOffset>>, due: Option<NaiveDate>) -> Option<bool> {
    Some(local_date(&done?) <= due?)
}

impl OrderFact {
    /// The row of `e`, if `e` leaves an order behind.
    pub fn of(e: &TicketEvent) -> Option<OrderFact> {
        let o = e.order()?;
        let (actor_role, actor_unit) = match &*e.payload {
            EventPayload::Workflow { actor, .. } => (role_id(actor.role), actor.unit.clone().unwrap_or_default()),
            _ => ("system", String::new()),
        };
        Some(OrderFact {
            ticket_id: o.ticket_id,
            version: o.version,
            event_type: e.event_type.id(),
            actor_role,
            actor_unit,
            occurred_at: e.occurred_at,
            received_date: received_date(o, e),
            channel: o.channel.id(),
            category: o.category.clone().unwrap_or_default(),
            town: o.record.town.clone().unwrap_or_default(),
            unit: o.unit.clone().unwrap_or_default(),
            state: o.state.id(),
            dispatches: o.record.dispatches,
            returns: o.returned_by.len() as u32,
            dispatched_at: o.dispatched_at,
            sign_due: o.sign_due,
            signed_at: o.signed_at,
            signed_on_time: on_time(o.signed_at, o.sign_due),
            reply_due: o.reply_due,
            replied_at: o.record.replied_at,
            replied_on_time: on_time(o.record.replied_at, o.reply_due),
            returned_at: o.record.returned_at,
            visited_at: o.record.visited_at,
            closed_at: o.record.closed_at.or_else(|| (o.state == State::Closed).then_some(e.occurred_at)),
            sign_overdue: o.sign_overdue_for.is_some(),
            reply_overdue: o.reply_overdue_for.is_some(),
            extended_workdays: o.extended_workdays,
            on_account: o.record.on_account,
            visit_contacted: o.record.visit.map(|v| v.contacted),
            visit_resolved: o.record.visit.map(|v| v.resolved),
            satisfaction: o.record.visit.map_or("", |v| v.satisfaction.id()),
            unsatisfied_visits: o.unsatisfied_visits,
            deduction_requests: o.record.deduction_requests,
            deducted: o.deducted,
            confirmed_unsatisfied: o.confirmed_unsatisfied,
            supervision: o.supervision.map_or("", |s| s.id()),
            clue_transferred: o.clue_transferred,
        })
    }
}

/// The ticket's date; an order stored before orders carried it is dated
/// by its dispatch, or else by the event.
fn received_date(o: &Order, e: &TicketEvent) -> NaiveDate {
    local_date(&o.record.received_at.or(o.dispatched_at).unwrap_or(e.occurred_at))
}

fn role_id(r: crate::ticket::order::Role) -> &'static str {
    use crate::ticket::order::Role::*;
    match r {
        Unit => "unit",
        Centre => "centre",
        Supervisor => "supervisor",
        Analyst => "analyst",
        Admin => "admin",
    }
}

/// 电话督办 (recorded), 公函督办 or 线索移交 (proposed).
#[derive(Debug, Clone, PartialEq)]
pub struct SupervisionFact {
    pub event_id: Uuid,
    pub ticket_id: Uuid,
    pub occurred_at: DateTime<FixedOffset>,
    pub level: String,
    pub trigger: String,
    pub proposed: bool,
}

/// A same-issue cluster crossing the 现场督办 rule.
#[derive(Debug, Clone, PartialEq)]
pub struct EscalationFact {
    pub event_id: Uuid,
    pub ticket_id: Uuid,
    pub cluster_id: String,
    pub occurred_at: DateTime<FixedOffset>,
    pub trigger: String,
    /// The citizen's key for a `same_citizen` trigger, else "".
    pub citizen_key: String,
    pub count: u32,
    pub members: u32,
    pub citizens: u32,
    pub proposal: String,
}

/// What else a batch's events add: supervision and escalation rows.
#[derive(Debug, Default)]
pub struct Oversight {
    pub supervisions: Vec<SupervisionFact>,
    pub escalations: Vec<EscalationFact>,
}

impl Oversight {
    /// Adds the row `e` makes, if it is a supervision or an escalation.
    pub fn add(&mut self, e: &TicketEvent) {
        match &*e.payload {
            EventPayload::Supervision { level, trigger, proposed } => self.supervisions.push(SupervisionFact {
                event_id: e.event_id,
                ticket_id: e.ticket_id,
                occurred_at: e.occurred_at,
                level: level.clone(),
                trigger: trigger.clone(),
                proposed: *proposed,
            }),
            EventPayload::Escalated {
                cluster_id,
                trigger,
                citizen_key,
                count,
                members,
                citizens,
                proposal,
            } => self.escalations.push(EscalationFact {
                event_id: e.event_id,
                ticket_id: e.ticket_id,
                cluster_id: cluster_id.clone(),
                occurred_at: e.occurred_at,
                trigger: trigger.clone(),
                citizen_key: citizen_key.clone().unwrap_or_default(),
                count: *count,
                members: *members,
                citizens: *citizens,
                proposal: proposal.clone(),
            }),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Calendar;
    use crate::ticket::order::{Action, Actor, Role, Satisfaction};
    use crate::workflow::{Rules, action_events};

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    /// A dispatched order signed late, replied, visited: each version's
    /// row says what had happened by then.
    #[test]
    fn each_order_version_is_one_row_with_its_record() {
        let cal = Calendar::builtin();
        let rules = Rules::default();
        let mut t = crate::ticket::sample();
        t.town = Some("金湖街道".into());
        let mut o = Order::new(t.ticket_id, t.channel, Some("城乡建设".into()));
        o.record.received_at = Some(t.received_at);
        o.record.town = t.town.clone();
        let centre = Actor {
            role: Role::Centre,
            unit: None,
            name: "c".into(),
        };
        let unit = Actor {
            role: Role::Unit,
            unit: Some("DY-D-ZJ".into()),
            name: "u".into(),
        };
        let steps = [
            (Action::Dispatch { unit: "DY-D-ZJ".into() }, &centre, "2026-06-02T09:00:00+08:00"),
            (Action::Sign, &unit, "2026-06-10T09:00:00+08:00"),
            (Action::Reply { text: "已修复".into() }, &unit, "2026-06-11T09:00:00+08:00"),
            (
                Action::Visit {
                    contacted: true,
                    resolved: true,
                    satisfaction: Satisfaction::BasicallySatisfied,
                    trust: 4,
                },
                &centre,
                "2026-06-12T09:00:00+08:00",
            ),
        ];
        let mut rows = Vec::new();
        for (action, actor, when) in steps {
            let tr = o.apply(&action, actor, at(when), &cal, &rules).unwrap();
            let events = action_events(&tr, &action, actor, at(when));
            rows.push(OrderFact::of(&events[0]).unwrap());
            o = tr.order;
        }
        let [dispatched, signed, replied, visited] = &rows[..] else {
            panic!()
        };
        assert_eq!((dispatched.version, dispatched.dispatches, dispatched.actor_role), (1, 1, "centre"));
        assert_eq!(dispatched.received_date.to_string(), "2026-06-01", "23:30 in Daye");
        assert_eq!(dispatched.town, "金湖街道");
        assert_eq!(
            signed.signed_on_time,
            Some(false),
            "signed after its deadline: {:?}",
            signed.sign_due
        );
        assert_eq!((signed.actor_unit.as_str(), signed.unit.as_str()), ("DY-D-ZJ", "DY-D-ZJ"));
        assert_eq!(replied.replied_on_time, Some(true));
        assert_eq!(replied.satisfaction, "");
        assert_eq!(visited.satisfaction, "basically_satisfied");
        assert_eq!((visited.visit_contacted, visited.visit_resolved), (Some(true), Some(true)));
        assert_eq!(local_text(&visited.visited_at.unwrap()), "2026-06-12 09:00:00");
    }

    #[test]
    fn supervision_and_escalation_events_make_their_rows() {
        let mut out = Oversight::default();
        let mut e = crate::ticket::sample_event("g1", crate::ticket::EventType::Supervised);
        e.payload = std::sync::Arc::new(EventPayload::Supervision {
            level: "phone".into(),
            trigger: "sign overdue".into(),
            proposed: false,
        });
        out.add(&e);
        out.add(&crate::ticket::sample_event("g2", crate::ticket::EventType::DuplicateLinked));
        assert_eq!(out.supervisions.len(), 1);
        assert_eq!(out.supervisions[0].level, "phone");
        assert!(out.escalations.is_empty());
    }
}
