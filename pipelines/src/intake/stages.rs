//! Intake's stages, in the order a record meets them:
//! normalize → dedup → near-dup → triage → open order.
//!
//! Each stage decides one thing and hands its decision on; none overwrites
//! an earlier one's. Exact dedup is asked first (a replay or an edit stops
//! there); near-dup may link a ticket only when exact dedup found it new;
//! triage hears whether the ticket is a duplicate, so a duplicate's citizen
//! is told the original's number from the start; and only an original is
//! counted in scope and given a work order. Dedup itself needs the store
//! and lives on [`super::Intake`]; the other stages are plain functions.

use super::tally::Tally;
use crate::dedup::Decision;
use crate::neardup::engine::Outcome;
use crate::normalize::Normalizer;
use crate::store::NewQuarantine;
use crate::ticket::{EventPayload, EventType, Ticket, TicketEvent, duplicate_reply, short_no};
use crate::triage::{ScopeKind, Triage};
use chrono::{DateTime, Utc};
use minqing_connectors::Inbound;
use uuid::Uuid;

/// A normalized record on its way in.
pub(super) struct Arrival {
    pub ticket: Ticket,
    pub accepted_at: Option<DateTime<Utc>>,
    pub occurrence: Option<u64>,
}

/// What normalizing a batch produced.
#[derive(Default)]
pub(super) struct Sorted {
    pub arrivals: Vec<Arrival>,
    pub quarantine: Vec<NewQuarantine>,
    /// Each quarantined record's occurrence, in the same order.
    pub quarantine_from: Vec<Option<u64>>,
}

/// Stage 1: normalizes each record, or sets it aside for quarantine with
/// the reason. Counts every record received.
pub(super) fn normalize(n: &Normalizer, items: &[Inbound], tally: &mut Tally) -> Sorted {
    let mut out = Sorted {
        arrivals: Vec::with_capacity(items.len()),
        ..Sorted::default()
    };
    for item in items {
        tally.at(item.channel()).received += 1;
        let held = match item {
            Inbound::Rejected(r) => NewQuarantine {
                channel: r.channel,
                source_id: r.source_id.as_deref().map(capped_id),
                reason: r.reason.clone(),
                raw: r.raw.clone(),
            },
            Inbound::Appeal(a) => match n.normalize(a) {
                Ok(ticket) => {
                    out.arrivals.push(Arrival {
                        ticket,
                        accepted_at: a.accepted_at,
                        occurrence: a.occurrence,
                    });
                    continue;
                }
                Err(e) => NewQuarantine {
                    channel: a.channel,
                    source_id: Some(capped_id(&a.source_id)),
                    reason: e.to_string(),
                    raw: a.raw.clone().into_bytes(),
                },
            },
        };
        out.quarantine.push(held);
        out.quarantine_from.push(item.occurrence());
    }
    out
}

/// A record id as quarantine keeps it: whole up to the limit, the rest
/// cut (the raw record keeps it all, up to the body limits).
fn capped_id(id: &str) -> String {
    id[..crate::privacy::floor_boundary(id, crate::normalize::MAX_SOURCE_ID)].to_owned()
}

/// What near-dup decided for a new ticket.
#[derive(Default)]
pub(super) struct Near {
    /// The original it restates, when exact dedup found none.
    pub duplicate_of: Option<Uuid>,
    pub cluster_id: Option<String>,
    /// Clusters merged and 现场督办 proposals.
    pub events: Vec<TicketEvent>,
}

/// Stage 3: near-duplicates and same-issue clusters, for a ticket exact
/// dedup found new or a duplicate. Exact dedup's link stands; near-dup's
/// is asked only for a new ticket.
pub(super) fn near_dup(stage: Option<&mut crate::neardup::stage::Stage>, t: &Ticket, exact: &Decision) -> Near {
    let Some(n) = stage else { return Near::default() };
    let days = n.params().escalation.same_citizen_days;
    let o = n.decide(t);
    let duplicate_of = match exact {
        Decision::New => o.duplicate_of.map(|(root, _)| root),
        _ => None,
    };
    Near {
        duplicate_of,
        cluster_id: Some(o.cluster.to_string()),
        events: cluster_events(t, o, days),
    }
}

/// The events of a ticket's cluster outcome: clusters it merged, and the
/// 现场督办 proposals it triggered.
fn cluster_events(t: &Ticket, o: Outcome<Uuid>, days: i64) -> Vec<TicketEvent> {
    let mut out = Vec::new();
    if !o.merged.is_empty() {
        out.push(TicketEvent::new(
            t.ticket_id,
            t.channel,
            EventType::ClustersMerged,
            "",
            t.received_at,
            EventPayload::ClustersMerged {
                into: o.cluster.to_string(),
                from: o.merged.iter().map(ToString::to_string).collect(),
            },
        ));
    }
    for x in o.escalations {
        out.push(TicketEvent::new(
            t.ticket_id,
            t.channel,
            EventType::Escalated,
            &format!("{}:{}", x.trigger, x.citizen.as_deref().unwrap_or("")),
            t.received_at,
            EventPayload::Escalated {
                cluster_id: x.cluster.to_string(),
                trigger: x.trigger.to_owned(),
                proposal: crate::neardup::stage::proposal(x.trigger, x.count, days),
                citizen_key: x.citizen,
                count: x.count,
                members: o.members,
                citizens: o.citizens,
            },
        ));
    }
    out
}

/// The link of a duplicate to its original, with the reply its citizen hears.
pub(super) fn linked(t: &Ticket, root: Uuid) -> TicketEvent {
    TicketEvent::new(
        t.ticket_id,
        t.channel,
        EventType::DuplicateLinked,
        "",
        t.received_at,
        EventPayload::DuplicateLinked {
            duplicate_of: root,
            original_no: short_no(&root),
            reply: duplicate_reply(&short_no(&root)),
        },
    )
}

/// Stage 4: scope, category and unit. A duplicate is recorded with what
/// triage would say, but its citizen hears the original's number.
pub(super) fn triage(tr: &Triage, t: &Ticket) -> crate::triage::Decision {
    let mut d = tr.decide(&crate::triage::Input {
        title: t.title.as_deref(),
        content: &t.content,
        appeal_type: t.appeal_type,
        town: t.town.as_deref(),
        channel_category: t.category.as_deref(),
    });
    if let Some(root) = t.duplicate_of {
        d.reply = Some(duplicate_reply(&short_no(&root)));
    }
    d
}

/// Stage 5: for an original that triage scoped, the scope event with the
/// work order it opens (when dispatched and a workflow is configured).
/// A duplicate is neither forwarded, answered nor dispatched.
pub(super) fn open(t: &Ticket, workflow: Option<&crate::workflow::Deadlines>) -> Option<TicketEvent> {
    let d = t.triage.as_ref().filter(|_| t.duplicate_of.is_none())?;
    Some(TicketEvent::new(
        t.ticket_id,
        t.channel,
        d.event_type(),
        "",
        t.received_at,
        EventPayload::Triaged {
            decision: Box::new(d.clone()),
            order: workflow.and_then(|w| crate::workflow::first_order(t, w)).map(Box::new),
        },
    ))
}

/// Counts an original's scope.
pub(super) fn count_scope(c: &mut crate::intake::CountersSnapshot, d: &crate::triage::Decision) {
    match d.scope {
        ScopeKind::ForwardHuangshi => c.forwarded += 1,
        ScopeKind::Rejected => c.rejected += 1,
        ScopeKind::AnsweredOnline => c.answered_online += 1,
        ScopeKind::Dispatch => c.dispatched += 1,
    }
    if d.manual {
        c.manual += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::{Gazetteer, Settings};
    use crate::triage::Sources;
    use minqing_connectors::{Channel, RawAppeal, Rejected};

    fn config(name: &str) -> (String, String) {
        let path = format!("{}/../config/{name}", env!("CARGO_MANIFEST_DIR"));
        (name.to_owned(), std::fs::read_to_string(&path).unwrap())
    }

    fn gazetteer() -> Gazetteer {
        Gazetteer::from_toml(&config("gazetteer.toml").1).unwrap()
    }

    fn rules() -> Triage {
        let dir = format!("{}/../config/knowledge", env!("CARGO_MANIFEST_DIR"));
        let mut knowledge: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| config(&format!("knowledge/{}", e.unwrap().file_name().to_string_lossy())))
            .collect();
        knowledge.sort();
        let sources = Sources {
            triage: config("triage.toml"),
            knowledge,
            units: config("units.toml"),
            model: None,
        };
        let towns: Vec<String> = gazetteer().towns().iter().map(|t| t.name.clone()).collect();
        Triage::load(&sources, &towns).unwrap()
    }

    fn appeal(id: &str, content: &str) -> Inbound {
        let at = DateTime::parse_from_rfc3339("2026-06-01T09:00:00+08:00").unwrap();
        let mut a = Inbound::Appeal(Box::new(RawAppeal::plain(
            Channel::Hotline12345,
            id,
            at,
            Some("13800000000"),
            content,
        )));
        a.set_occurrence(id.len() as u64);
        a
    }

    fn ticket(content: &str) -> Ticket {
        let n = Normalizer::new(Settings::default(), gazetteer());
        let Inbound::Appeal(a) = appeal("GD1", content) else {
            unreachable!()
        };
        n.normalize(&a).unwrap()
    }

    #[test]
    fn normalize_sets_aside_what_cannot_be_read_with_its_reason_and_place() {
        let n = Normalizer::new(Settings::default(), gazetteer());
        let rejected = Inbound::Rejected(Rejected {
            channel: Channel::Hotline12345,
            source_id: Some("GD9".into()),
            raw: b"{".to_vec(),
            reason: "not JSON".into(),
            occurrence: Some(9),
        });
        let mut tally = Tally::default();
        let s = normalize(
            &n,
            &[appeal("GD1", "金湖街道路灯不亮"), rejected, appeal("GD22", "   ")],
            &mut tally,
        );
        assert_eq!(s.arrivals.len(), 1);
        assert_eq!(s.arrivals[0].occurrence, Some(3));
        let reasons: Vec<_> = s.quarantine.iter().map(|q| q.reason.as_str()).collect();
        assert_eq!(reasons[0], "not JSON");
        assert!(!reasons[1].is_empty(), "an empty appeal is held with a reason");
        assert_eq!(s.quarantine_from, vec![Some(9), Some(4)]);
        assert_eq!(tally.at(Channel::Hotline12345).received, 3);
    }

    #[test]
    fn without_near_dup_exact_dedup_decides_alone() {
        let n = near_dup(None, &ticket("金湖街道路灯不亮"), &Decision::New);
        assert!(n.duplicate_of.is_none() && n.cluster_id.is_none() && n.events.is_empty());
    }

    #[test]
    fn a_duplicate_is_told_the_originals_number_and_opens_no_order() {
        let tr = rules();
        let mut t = ticket("金湖街道新街口的路灯坏了一个月了，晚上出行很不方便，请尽快维修");
        let original = triage(&tr, &t);
        assert_ne!(original.reply.as_deref(), Some(duplicate_reply("X").as_str()));
        t.triage = Some(original.clone());
        assert!(open(&t, None).is_some(), "an original is scoped");

        let root = Uuid::new_v4();
        t.duplicate_of = Some(root);
        let d = triage(&tr, &t);
        assert_eq!(d.reply, Some(duplicate_reply(&short_no(&root))));
        assert_eq!(
            (d.scope, &d.category),
            (original.scope, &original.category),
            "triage still records its view"
        );
        t.triage = Some(d);
        assert!(
            open(&t, None).is_none(),
            "a duplicate is neither forwarded, answered nor dispatched"
        );
        let e = linked(&t, root);
        assert_eq!(e.event_type, EventType::DuplicateLinked);
    }

    #[test]
    fn an_original_is_counted_in_its_scope() {
        let tr = rules();
        let t = ticket("金湖街道新街口的路灯坏了一个月了，晚上出行很不方便，请尽快维修");
        let d = triage(&tr, &t);
        let mut c = crate::intake::CountersSnapshot::default();
        count_scope(&mut c, &d);
        assert_eq!(c.forwarded + c.rejected + c.answered_online + c.dispatched, 1);
        assert_eq!(c.manual, u64::from(d.manual));
    }
}
