//! An event's payload as the stores keep it (the workflow store's
//! `ticket_events.payload` and the warehouse's): beside the event, so
//! both write the same text without reaching into each other.

use super::{EventPayload, TicketEvent};
use serde::Serialize;

/// An event's payload as stored. The received event's payload is the ticket
/// row itself, so only its number and version are kept, rather than the
/// contact details twice.
pub fn stored_payload(e: &TicketEvent) -> String {
    // The two payloads nearly every ticket has are written straight from
    // borrowed fields; going through `serde_json::Value` allocated a map and
    // a key per field, twice per event (workflow store and warehouse). The
    // fields are in alphabetical order, as a `Value`'s map writes them, so
    // the stored text is the same either way.
    #[derive(Serialize)]
    struct Received<'a> {
        kind: &'static str,
        short_no: &'a str,
        version: u32,
    }
    #[derive(Serialize)]
    struct Triaged<'a> {
        category: &'a Option<String>,
        kind: &'static str,
        manual: bool,
        reason: &'a str,
        rule: &'a Option<String>,
        scope: &'static str,
        unit: &'a Option<String>,
    }
    let text = match &*e.payload {
        EventPayload::Received { ticket } => serde_json::to_string(&Received {
            kind: "received",
            short_no: &ticket.short_no,
            version: ticket.version,
        }),
        // The reply and the unit's name are on the ticket row already.
        EventPayload::Triaged { decision: d, .. } => serde_json::to_string(&Triaged {
            category: &d.category,
            kind: "triaged",
            manual: d.manual,
            reason: &d.reason,
            rule: &d.rule,
            scope: d.scope.id(),
            unit: &d.unit,
        }),
        p => serde_json::to_value(p).map(|v| v.to_string()),
    };
    text.unwrap_or_else(|_| "null".into())
}

#[cfg(test)]
mod tests {
    use super::stored_payload;
    use crate::ticket::decision::{ScopeKind, sample_decision};
    use crate::ticket::{EventPayload, EventType, TicketEvent, sample};

    /// The payload as it was written before the direct path: through a
    /// `serde_json::Value`, whose map sorts the keys.
    fn through_value(e: &TicketEvent) -> String {
        match &*e.payload {
            EventPayload::Received { ticket } => {
                serde_json::json!({"kind": "received", "short_no": ticket.short_no, "version": ticket.version}).to_string()
            }
            EventPayload::Triaged { decision: d, .. } => serde_json::json!({
                "kind": "triaged", "scope": d.scope.id(), "rule": d.rule, "reason": d.reason,
                "category": d.category, "unit": d.unit, "manual": d.manual,
            })
            .to_string(),
            p => serde_json::to_value(p).unwrap().to_string(),
        }
    }

    #[test]
    fn stored_payloads_are_the_text_the_value_route_wrote() {
        let t = sample();
        let received = TicketEvent::received(t.clone());
        let mut dispatch = sample_decision();
        // Quotes, escapes and non-ASCII inside a field.
        dispatch.reason = "城乡建设 in 金湖街道 \"路灯\" \\ \n".into();
        let mut decisions = vec![dispatch];
        let mut rejected = decisions[0].clone();
        (rejected.scope, rejected.rule, rejected.category, rejected.unit, rejected.manual) =
            (ScopeKind::Rejected, Some("R1".into()), None, None, true);
        decisions.push(rejected);
        let mut events = vec![received, TicketEvent::updated(&t)];
        for d in decisions {
            let payload = EventPayload::Triaged {
                decision: Box::new(d),
                order: None,
            };
            events.push(TicketEvent::new(
                t.ticket_id,
                t.channel,
                EventType::Dispatched,
                "",
                t.received_at,
                payload,
            ));
        }
        for e in &events {
            assert_eq!(stored_payload(e), through_value(e));
        }
    }
}
