//! A work order as events and stores carry it: its state, who acts, the
//! actions and what they set off. The ground floor: the state machine that
//! decides transitions (`crate::workflow::machine`) builds on these types,
//! and the event model needs nothing of it.

use super::EventType;
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// In the centre's queue: not dispatched yet, or returned by a unit.
    AwaitingDispatch,
    Dispatched,
    Signed,
    /// 挂账: long-running, with a plan and a target date.
    OnAccount,
    Replied,
    /// A return visit found the citizen satisfied; the centre closes it.
    Visited,
    /// An unsatisfied return visit sent it back to the unit in writing.
    Reassigned,
    /// 核减 requested by the unit, signed by its head.
    DeductionRequested,
    /// The centre found the unit had not acted lawfully: supervised in
    /// writing, copied to the discipline commission; the unit handles it
    /// again.
    ConfirmedUnsatisfied,
    Closed,
}

impl State {
    pub fn id(self) -> &'static str {
        match self {
            State::AwaitingDispatch => "awaiting_dispatch",
            State::Dispatched => "dispatched",
            State::Signed => "signed",
            State::OnAccount => "on_account",
            State::Replied => "replied",
            State::Visited => "visited",
            State::Reassigned => "reassigned",
            State::DeductionRequested => "deduction_requested",
            State::ConfirmedUnsatisfied => "confirmed_unsatisfied",
            State::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        ALL_STATES.into_iter().find(|x| x.id() == s)
    }

    /// The handling unit owes a reply.
    pub fn awaits_reply(self) -> bool {
        matches!(
            self,
            State::Signed | State::OnAccount | State::Reassigned | State::ConfirmedUnsatisfied
        )
    }
}

pub const ALL_STATES: [State; 10] = [
    State::AwaitingDispatch,
    State::Dispatched,
    State::Signed,
    State::OnAccount,
    State::Replied,
    State::Visited,
    State::Reassigned,
    State::DeductionRequested,
    State::ConfirmedUnsatisfied,
    State::Closed,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A handling unit (承办单位): acts on its own orders only.
    Unit,
    /// The hotline centre: dispatch, visits, decisions.
    Centre,
    Supervisor,
    /// Reads only.
    Analyst,
    Admin,
}

/// Who acts: a role, a unit code for units, a person's name for the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    Satisfied,
    BasicallySatisfied,
    Unsatisfied,
}

impl Satisfaction {
    pub fn id(self) -> &'static str {
        match self {
            Satisfaction::Satisfied => "satisfied",
            Satisfaction::BasicallySatisfied => "basically_satisfied",
            Satisfaction::Unsatisfied => "unsatisfied",
        }
    }
}

/// What the last return visit found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitOutcome {
    pub contacted: bool,
    pub resolved: bool,
    pub satisfaction: Satisfaction,
}

/// What has happened to an order so far, beside its state: when it was
/// returned, replied to, visited and closed, what the visit found, where
/// and when its ticket came. Every event carries the whole order, so the
/// warehouse makes one fact row per order version from the event alone
/// (`warehouse::orders`). Absent from orders stored before it existed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Record {
    /// When the ticket was received, and its town: what the order's facts
    /// are dated and placed by.
    #[serde(with = "minqing_connectors::timeserde::fixed_opt")]
    pub received_at: Option<DateTime<FixedOffset>>,
    pub town: Option<String>,
    /// Dispatches so far; more than one is a re-dispatch.
    pub dispatches: u32,
    #[serde(with = "minqing_connectors::timeserde::fixed_opt")]
    pub returned_at: Option<DateTime<FixedOffset>>,
    #[serde(with = "minqing_connectors::timeserde::fixed_opt")]
    pub replied_at: Option<DateTime<FixedOffset>>,
    #[serde(with = "minqing_connectors::timeserde::fixed_opt")]
    pub visited_at: Option<DateTime<FixedOffset>>,
    #[serde(with = "minqing_connectors::timeserde::fixed_opt")]
    pub closed_at: Option<DateTime<FixedOffset>>,
    /// Put on account (挂账) at some point.
    pub on_account: bool,
    pub visit: Option<VisitOutcome>,
    /// Deductions (核减) the unit asked for.
    pub deduction_requests: u32,
}

impl Record {
    /// Notes `action`, accepted at `at`.
    pub fn note(&mut self, action: &Action, at: DateTime<FixedOffset>) {
        match action {
            Action::Dispatch { .. } => self.dispatches += 1,
            Action::Return { .. } => self.returned_at = Some(at),
            Action::Reply { .. } => self.replied_at = Some(at),
            Action::OnAccount { .. } => self.on_account = true,
            Action::Visit {
                contacted,
                resolved,
                satisfaction,
                ..
            } => {
                self.visited_at = Some(at);
                self.visit = Some(VisitOutcome {
                    contacted: *contacted,
                    resolved: *resolved,
                    satisfaction: *satisfaction,
                });
            }
            Action::RequestDeduction { .. } => self.deduction_requests += 1,
            Action::Close => self.closed_at = Some(at),
            Action::DecideDeduction { approve: true, .. } => self.closed_at = Some(at),
            Action::Sign | Action::RequestExtension { .. } | Action::GrantExtension { .. } | Action::DecideDeduction { .. } => {}
        }
    }
}

/// An action on an order, as the API takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    Dispatch {
        unit: String,
    },
    Sign,
    Return {
        reason: String,
    },
    Reply {
        text: String,
    },
    OnAccount {
        plan: String,
        target: NaiveDate,
    },
    RequestExtension {
        workdays: u32,
        reason: String,
    },
    /// Grants the pending request, or fewer days than asked.
    GrantExtension {
        #[serde(default)]
        workdays: Option<u32>,
    },
    Visit {
        contacted: bool,
        resolved: bool,
        satisfaction: Satisfaction,
        /// Trust in the government's handling, 1 (none) to 5.
        trust: u8,
    },
    RequestDeduction {
        reason: String,
        /// The unit head who signed the application.
        approved_by: String,
    },
    DecideDeduction {
        approve: bool,
        reason: String,
    },
    Close,
}

impl Action {
    pub fn event_type(&self) -> EventType {
        match self {
            Action::Dispatch { .. } => EventType::Dispatched,
            Action::Sign => EventType::Signed,
            Action::Return { .. } => EventType::Returned,
            Action::Reply { .. } => EventType::Replied,
            Action::OnAccount { .. } => EventType::OnAccount,
            Action::RequestExtension { .. } => EventType::ExtensionRequested,
            Action::GrantExtension { .. } => EventType::ExtensionGranted,
            Action::Visit { .. } => EventType::Visited,
            Action::RequestDeduction { .. } => EventType::DeductionRequested,
            Action::DecideDeduction { .. } => EventType::DeductionDecided,
            Action::Close => EventType::Closed,
        }
    }

    /// The reason written with it, if the action has one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Action::Return { reason }
            | Action::RequestExtension { reason, .. }
            | Action::RequestDeduction { reason, .. }
            | Action::DecideDeduction { reason, .. } => Some(reason),
            Action::OnAccount { plan, .. } => Some(plan),
            _ => None,
        }
    }

    pub(crate) fn by_unit(&self) -> bool {
        matches!(
            self,
            Action::Sign
                | Action::Return { .. }
                | Action::Reply { .. }
                | Action::OnAccount { .. }
                | Action::RequestExtension { .. }
                | Action::RequestDeduction { .. }
        )
    }
}

/// Something an action or a sweep sets off besides its own event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Effect {
    /// 电话督办 (recorded) or 公函督办 (proposed), with what triggered it.
    Supervised { level: Supervision, trigger: String },
    /// 线索移交 to the discipline commission, proposed.
    ClueTransfer { trigger: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Supervision {
    Phone,
    Written,
}

impl Supervision {
    pub fn id(self) -> &'static str {
        match self {
            Supervision::Phone => "phone",
            Supervision::Written => "written",
        }
    }
}

/// One work order's state, as a store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub ticket_id: Uuid,
    pub channel: minqing_connectors::Channel,
    pub state: State,
    pub unit: Option<String>,
    pub category: Option<String>,
    #[serde(default, with = "minqing_connectors::timeserde::fixed_opt")]
    pub dispatched_at: Option<DateTime<FixedOffset>>,
    #[serde(default, with = "minqing_connectors::timeserde::date_opt")]
    pub sign_due: Option<NaiveDate>,
    /// The last day a return is allowed.
    #[serde(default, with = "minqing_connectors::timeserde::date_opt")]
    pub return_until: Option<NaiveDate>,
    #[serde(default, with = "minqing_connectors::timeserde::fixed_opt")]
    pub signed_at: Option<DateTime<FixedOffset>>,
    #[serde(default, with = "minqing_connectors::timeserde::date_opt")]
    pub reply_due: Option<NaiveDate>,
    /// No extension takes the reply beyond this day.
    #[serde(default, with = "minqing_connectors::timeserde::date_opt")]
    pub limit: Option<NaiveDate>,
    pub extension_pending: Option<u32>,
    pub extended_workdays: u32,
    /// Units that returned it, in order.
    pub returned_by: Vec<String>,
    pub unsatisfied_visits: u32,
    pub confirmed_unsatisfied: u32,
    pub deducted: bool,
    /// The strongest supervision so far.
    pub supervision: Option<Supervision>,
    pub clue_transferred: bool,
    /// The deadlines already reported overdue (once each).
    #[serde(default, with = "minqing_connectors::timeserde::date_opt")]
    pub sign_overdue_for: Option<NaiveDate>,
    #[serde(default, with = "minqing_connectors::timeserde::date_opt")]
    pub reply_overdue_for: Option<NaiveDate>,
    /// A deadline was counted on the weekday rule.
    pub provisional: bool,
    /// Transitions applied; stores update only the version they read.
    pub version: u32,
    #[serde(default)]
    pub record: Record,
}
