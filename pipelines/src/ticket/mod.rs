//! The canonical ticket and its events.
//!
//! `ticket_id` is the UUIDv5 of `channel:source_id`, so a re-pull of the same
//! record maps to the same ticket; `event_id` is the UUIDv5 of the ticket and
//! what happened, so a redelivered event is recognised by every sink.

use chrono::{DateTime, FixedOffset, Utc};
use minqing_connectors::{Channel, GeoPoint};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;
use uuid::Uuid;

mod decode;
pub use stored::stored_payload;
pub mod decision;
pub mod order;
mod stored;

/// Bumped when the event payload changes shape.
pub const SCHEMA_VERSION: u16 = 1;

/// The namespace of every minqing UUIDv5.
pub use minqing_connectors::appeal::{short_no, ticket_id};

/// 咨询, 求助, 投诉, 举报, 建议, 表扬.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppealType {
    Consultation,
    Help,
    Complaint,
    Report,
    Suggestion,
    Praise,
}

impl AppealType {
    pub fn label(self) -> &'static str {
        match self {
            AppealType::Consultation => "咨询",
            AppealType::Help => "求助",
            AppealType::Complaint => "投诉",
            AppealType::Report => "举报",
            AppealType::Suggestion => "建议",
            AppealType::Praise => "表扬",
        }
    }

    /// From its id (`consultation`…), its label (`咨询`…) or the 12345
    /// platform's code (`ZX`…).
    pub fn parse(s: &str) -> Option<AppealType> {
        use AppealType::*;
        Some(match s.trim() {
            "consultation" | "咨询" | "ZX" => Consultation,
            "help" | "求助" | "QZ" => Help,
            "complaint" | "投诉" | "TS" => Complaint,
            "report" | "举报" | "JB" => Report,
            "suggestion" | "建议" | "JY" => Suggestion,
            "praise" | "表扬" | "BY" => Praise,
            _ => return None,
        })
    }

    pub fn id(self) -> &'static str {
        match self {
            AppealType::Consultation => "consultation",
            AppealType::Help => "help",
            AppealType::Complaint => "complaint",
            AppealType::Report => "report",
            AppealType::Suggestion => "suggestion",
            AppealType::Praise => "praise",
        }
    }
}

/// A citizen's key under a key id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyLink {
    pub id: String,
    pub key: String,
}

/// A normalized appeal. Contact fields stay in the workflow store, which
/// needs them for return visits; sinks for analytics keep only `citizen_key`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub ticket_id: Uuid,
    pub short_no: String,
    pub channel: Channel,
    pub source_id: String,
    pub version: u32,
    #[serde(with = "minqing_connectors::timeserde::fixed")]
    pub received_at: DateTime<FixedOffset>,
    pub title: Option<String>,
    pub content: String,
    pub content_truncated: bool,
    pub appeal_type: Option<AppealType>,
    pub category: Option<String>,
    pub town: Option<String>,
    pub location: Option<String>,
    pub coordinates: Option<GeoPoint>,
    /// Keyed hash of the normalized phone or openid.
    pub citizen_key: Option<String>,
    /// Which key made `citizen_key` (`pipeline.citizen_key_id`), so that a
    /// key can be rotated; absent on tickets from before key ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citizen_key_id: Option<String>,
    /// The same citizen's keys under retired keys, while a rotation is
    /// under way (`pipeline.previous_citizen_keys`): what links a citizen's
    /// tickets from before the change to those after it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_citizen_keys: Vec<KeyLink>,
    pub contact_name: Option<String>,
    /// Normalized phone, for the call-back; never logged, never warehoused.
    pub contact_phone: Option<String>,
    pub phone_masked: Option<String>,
    pub anonymous: bool,
    pub attachments: Vec<String>,
    /// Hash of the text as compared for duplicates.
    pub text_hash: String,
    pub duplicate_of: Option<Uuid>,
    pub cluster_id: Option<String>,
    /// What triage decided, with its reason; absent on events from before
    /// triage existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triage: Option<decision::Decision>,
}

impl Ticket {
    /// The workflow status a new ticket starts in.
    pub fn initial_status(&self) -> &'static str {
        use decision::ScopeKind;
        if self.duplicate_of.is_some() {
            return "duplicate";
        }
        match &self.triage {
            None => "received",
            Some(d) => match d.scope {
                ScopeKind::Dispatch if d.manual => "awaiting_dispatch",
                ScopeKind::Dispatch => "dispatched",
                ScopeKind::AnsweredOnline => "answered_online",
                ScopeKind::Rejected => "rejected",
                ScopeKind::ForwardHuangshi => "forward_pending",
            },
        }
    }
}

/// Never prints personal data.
impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticket")
            .field("ticket_id", &self.ticket_id)
            .field("channel", &self.channel)
            .field("source_id", &self.source_id)
            .field("version", &self.version)
            .field("town", &self.town)
            .field("phone", &self.phone_masked)
            .field("duplicate_of", &self.duplicate_of)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    Received,
    /// A newer version of an edited post replaced the text.
    Updated,
    DuplicateLinked,
    Forwarded,
    Rejected,
    AnsweredOnline,
    Dispatched,
    Signed,
    Returned,
    Replied,
    OnAccount,
    ExtensionRequested,
    ExtensionGranted,
    Visited,
    DeductionRequested,
    DeductionDecided,
    Supervised,
    Escalated,
    /// A ticket bridged same-issue clusters: they are one cluster now.
    ClustersMerged,
    Closed,
    SignOverdue,
    ReplyOverdue,
}

impl EventType {
    pub fn id(self) -> &'static str {
        match self {
            EventType::Received => "received",
            EventType::Updated => "updated",
            EventType::DuplicateLinked => "duplicate_linked",
            EventType::Forwarded => "forwarded",
            EventType::Rejected => "rejected",
            EventType::AnsweredOnline => "answered_online",
            EventType::Dispatched => "dispatched",
            EventType::Signed => "signed",
            EventType::Returned => "returned",
            EventType::Replied => "replied",
            EventType::OnAccount => "on_account",
            EventType::ExtensionRequested => "extension_requested",
            EventType::ExtensionGranted => "extension_granted",
            EventType::Visited => "visited",
            EventType::DeductionRequested => "deduction_requested",
            EventType::DeductionDecided => "deduction_decided",
            EventType::Supervised => "supervised",
            EventType::Escalated => "escalated",
            EventType::ClustersMerged => "clusters_merged",
            EventType::Closed => "closed",
            EventType::SignOverdue => "sign_overdue",
            EventType::ReplyOverdue => "reply_overdue",
        }
    }
}

/// What the citizen of a duplicate is told: the original's number.
pub fn duplicate_reply(original_no: &str) -> String {
    format!("您反映的问题已在工单{original_no}中受理，将与该工单一并办理答复，请以该编号查询进度，无需重复反映。")
}

decode::payload! {
/// What an event carries: `kind` names the variant, beside its fields.
pub enum EventPayload {
    Received {
        ticket: Box<Ticket>,
    },
    Updated {
        version: u32,
        title: Option<String>,
        content: String,
        content_truncated: bool,
        text_hash: String,
    },
    /// The citizen is told the original's acceptance number (`reply`);
    /// only the original is dispatched.
    DuplicateLinked {
        duplicate_of: Uuid,
        #[serde(default)]
        original_no: String,
        #[serde(default)]
        reply: String,
    },
    /// The scope decision behind `forwarded`, `rejected`, `answered_online`
    /// and `dispatched`.
    Triaged {
        decision: Box<decision::Decision>,
        /// The work order a dispatch opens, with its deadlines.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        order: Option<Box<order::Order>>,
    },
    /// A work-order action (or an SLA finding): who, in which unit, why,
    /// and the order after it.
    Workflow {
        action: Box<order::Action>,
        actor: order::Actor,
        from: order::State,
        order: Box<order::Order>,
    },
    /// `sign_overdue` / `reply_overdue`: the deadline missed.
    Overdue {
        due: chrono::NaiveDate,
        order: Box<order::Order>,
    },
    /// 电话督办 (recorded), 公函督办 or 线索移交 (proposed), with its trigger.
    Supervision {
        level: String,
        trigger: String,
        proposed: bool,
    },
    /// A same-issue cluster crossed the 现场督办 rule: `same_citizen`
    /// (`citizen_key` reported it `count` times within the days) or
    /// `citizens` (`count` distinct citizens).
    Escalated {
        cluster_id: String,
        trigger: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        citizen_key: Option<String>,
        count: u32,
        members: u32,
        citizens: u32,
        proposal: String,
    },
    /// The clusters `from` are part of `into` from now on.
    ClustersMerged {
        into: String,
        from: Vec<String>,
    },
}
}

/// What an `updated` event changes: a newer version's text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edit<'a> {
    pub version: u32,
    pub title: Option<&'a str>,
    pub content: &'a str,
    pub content_truncated: bool,
    pub text_hash: &'a str,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketEvent {
    pub event_id: Uuid,
    pub ticket_id: Uuid,
    pub event_type: EventType,
    #[serde(with = "minqing_connectors::timeserde::fixed")]
    pub occurred_at: DateTime<FixedOffset>,
    pub schema_version: u16,
    pub channel: Channel,
    /// Shared, so the in-process bus hands one event to several queues
    /// without copying the ticket's text (`Arc::make_mut` to change it).
    pub payload: Arc<EventPayload>,
    /// When minqing accepted the appeal behind it, for latency figures;
    /// transport metadata, not stored with the event.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "minqing_connectors::timeserde::utc_opt")]
    pub accepted_at: Option<DateTime<Utc>>,
}

impl TicketEvent {
    /// The `received` event that carries `t`, at its receive time.
    pub fn received(t: Ticket) -> TicketEvent {
        let (id, channel, at) = (t.ticket_id, t.channel, t.received_at);
        TicketEvent::new(
            id,
            channel,
            EventType::Received,
            "",
            at,
            EventPayload::Received { ticket: Box::new(t) },
        )
    }

    /// The `updated` event of `t`, a newer version of a stored ticket: its
    /// text replaces the stored one (one event per version).
    pub fn updated(t: &Ticket) -> TicketEvent {
        TicketEvent::new(
            t.ticket_id,
            t.channel,
            EventType::Updated,
            &t.version.to_string(),
            t.received_at,
            EventPayload::Updated {
                version: t.version,
                title: t.title.clone(),
                content: t.content.clone(),
                content_truncated: t.content_truncated,
                text_hash: t.text_hash.clone(),
            },
        )
    }

    /// `discriminator` tells apart events of one type on one ticket (a version).
    pub fn new(
        ticket_id: Uuid,
        channel: Channel,
        event_type: EventType,
        discriminator: &str,
        occurred_at: DateTime<FixedOffset>,
        payload: EventPayload,
    ) -> Self {
        let event_id = Uuid::new_v5(&ticket_id, format!("{}:{discriminator}", event_type.id()).as_bytes());
        TicketEvent {
            event_id,
            ticket_id,
            event_type,
            occurred_at,
            schema_version: SCHEMA_VERSION,
            channel,
            payload: Arc::new(payload),
            accepted_at: None,
        }
    }

    /// The new ticket, if this is its `received` event.
    pub fn ticket(&self) -> Option<&Ticket> {
        match &*self.payload {
            EventPayload::Received { ticket } => Some(ticket),
            _ => None,
        }
    }

    /// The clusters merged, if this is a `clusters_merged` event.
    /// The work order this event leaves behind, if it changes one.
    pub fn order(&self) -> Option<&order::Order> {
        match &*self.payload {
            EventPayload::Triaged { order: Some(o), .. } => Some(o),
            EventPayload::Workflow { order, .. } | EventPayload::Overdue { order, .. } => Some(order),
            _ => None,
        }
    }

    pub fn merge(&self) -> Option<(&str, &[String])> {
        match &*self.payload {
            EventPayload::ClustersMerged { into, from } => Some((into, from)),
            _ => None,
        }
    }

    /// The new text, if this is an `updated` event.
    pub fn edit(&self) -> Option<Edit<'_>> {
        match &*self.payload {
            EventPayload::Updated {
                version,
                title,
                content,
                content_truncated,
                text_hash,
            } => Some(Edit {
                version: *version,
                title: title.as_deref(),
                content,
                content_truncated: *content_truncated,
                text_hash,
            }),
            _ => None,
        }
    }

    /// The topic routing key: `ticket.<event>.<channel>`.
    pub fn routing_key(&self) -> String {
        format!("ticket.{}.{}", self.event_type.id(), self.channel.id())
    }
}

/// Tickets that events of this batch are about but that the batch does not
/// bring (updates of older tickets, mostly); sorted, without repeats.
pub fn referenced_elsewhere(events: &[TicketEvent]) -> Vec<Uuid> {
    let here: std::collections::HashSet<Uuid> = events.iter().filter(|e| e.ticket().is_some()).map(|e| e.ticket_id).collect();
    let mut ids: Vec<Uuid> = events.iter().map(|e| e.ticket_id).filter(|id| !here.contains(id)).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Splits off the events about tickets in `missing`: a backend defers them
/// (their delivery comes again) rather than apply them before their ticket.
/// Events can overtake their ticket's `received`: batches are published
/// concurrently, and a redelivered message goes to the back of its queue.
pub fn split_deferred<'a>(events: &'a [TicketEvent], missing: &std::collections::HashSet<Uuid>) -> (Vec<&'a TicketEvent>, Vec<Uuid>) {
    let mut ready = Vec::with_capacity(events.len());
    let mut deferred = Vec::new();
    for e in events {
        if missing.contains(&e.ticket_id) {
            deferred.push(e.event_id);
        } else {
            ready.push(e);
        }
    }
    (ready, deferred)
}

/// A small event of grid record `source` for tests (a duplicate link, the
/// cheapest payload to build).
#[cfg(test)]
pub(crate) fn sample_event(source: &str, kind: EventType) -> TicketEvent {
    let id = ticket_id(Channel::Grid, source);
    let at = DateTime::parse_from_rfc3339("2026-06-01T09:00:00+08:00").unwrap();
    let p = EventPayload::DuplicateLinked {
        duplicate_of: id,
        original_no: short_no(&id),
        reply: String::new(),
    };
    TicketEvent::new(id, Channel::Grid, kind, "", at, p)
}

/// A ticket for tests: a night-time 12345 call with contact details.
#[cfg(test)]
pub(crate) fn sample() -> Ticket {
    let at = DateTime::parse_from_rfc3339("2026-06-01T23:30:00+08:00").unwrap();
    Ticket {
        ticket_id: Uuid::nil(),
        short_no: "DY-00000-00000".into(),
        source_id: "1".into(),
        citizen_key: Some("abc".into()),
        citizen_key_id: Some("k1".into()),
        contact_name: Some("张三".into()),
        contact_phone: Some("13800000000".into()),
        phone_masked: Some("138****0000".into()),
        anonymous: false,
        text_hash: "h".into(),
        ..Ticket::bare(Channel::Hotline12345, "1", "路灯不亮", at)
    }
}

impl Ticket {
    /// A ticket with nothing but its channel, id, time and text, in
    /// 金湖街道, from a citizen who left no contact: what tools and tests
    /// build when they need a ticket and not a whole appeal.
    pub fn bare(channel: Channel, source_id: &str, content: &str, received_at: DateTime<FixedOffset>) -> Ticket {
        let ticket_id = ticket_id(channel, source_id);
        Ticket {
            previous_citizen_keys: Vec::new(),
            ticket_id,
            short_no: short_no(&ticket_id),
            channel,
            source_id: source_id.into(),
            version: 0,
            received_at,
            title: None,
            content: content.into(),
            content_truncated: false,
            appeal_type: None,
            category: None,
            town: Some("金湖街道".into()),
            location: None,
            coordinates: None,
            citizen_key: None,
            citizen_key_id: None,
            contact_name: None,
            contact_phone: None,
            phone_masked: None,
            anonymous: true,
            attachments: vec![],
            text_hash: "h0".into(),
            duplicate_of: None,
            cluster_id: None,
            triage: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic() {
        let a = ticket_id(Channel::Hotline12345, "GD1");
        assert_eq!(a, ticket_id(Channel::Hotline12345, "GD1"));
        assert_ne!(a, ticket_id(Channel::Supervision, "GD1"));
        let no = short_no(&a);
        assert_eq!(no.len(), "DY-XXXXX-XXXXX".len());
        assert!(no.starts_with("DY-") && !no.contains(['I', 'L', 'O', 'U']));
        assert_eq!(no, short_no(&a));
    }

    #[test]
    fn event_ids_differ_by_type_and_version() {
        let t = ticket_id(Channel::YunshangApp, "ys1");
        let at = chrono::DateTime::parse_from_rfc3339("2026-06-01T09:00:00+08:00").unwrap();
        let p = EventPayload::DuplicateLinked {
            duplicate_of: t,
            original_no: short_no(&t),
            reply: String::new(),
        };
        let e1 = TicketEvent::new(t, Channel::YunshangApp, EventType::Updated, "2", at, p.clone());
        let e2 = TicketEvent::new(t, Channel::YunshangApp, EventType::Updated, "3", at, p.clone());
        let e3 = TicketEvent::new(t, Channel::YunshangApp, EventType::Updated, "2", at, p);
        assert_ne!(e1.event_id, e2.event_id);
        assert_eq!(e1.event_id, e3.event_id);
        assert_eq!(e1.routing_key(), "ticket.updated.yunshang_app");
    }
}
