//! What triage decided for a ticket, as events carry it: the ground
//! floor, so the event model needs nothing of the triage rules that make
//! the decision (`crate::triage`).

use super::AppealType;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    Dispatch,
    AnsweredOnline,
    ForwardHuangshi,
    Rejected,
}

impl ScopeKind {
    pub fn id(self) -> &'static str {
        match self {
            ScopeKind::Dispatch => "dispatch",
            ScopeKind::AnsweredOnline => "answered_online",
            ScopeKind::ForwardHuangshi => "forward_huangshi",
            ScopeKind::Rejected => "rejected",
        }
    }
}

/// What triage decided for one ticket, with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub scope: ScopeKind,
    /// Why, in words an operator can check: the rule and the terms it saw.
    pub reason: String,
    /// The forward class, reject rule or knowledge entry that decided.
    pub rule: Option<String>,
    pub category: Option<String>,
    /// `channel`, `model` or `rules`.
    pub category_by: Option<String>,
    /// Handling unit code for dispatched tickets (the centre's code when
    /// the ticket waits in its manual queue).
    pub unit: Option<String>,
    pub unit_name: Option<String>,
    /// Dispatched, but no route fits: the centre dispatches by hand.
    pub manual: bool,
    /// What the citizen is told: the rejection's explanation or the answer.
    pub reply: Option<String>,
    /// Where an online answer comes from.
    pub answer_source: Option<String>,
    /// 咨询, 求助…: the channel's code, or what the cue words say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appeal_type: Option<AppealType>,
    /// `channel` or `cues`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appeal_type_by: Option<String>,
}

/// A dispatch decision for tests.
#[cfg(test)]
pub(crate) fn sample_decision() -> Decision {
    Decision {
        scope: ScopeKind::Dispatch,
        reason: "城乡建设 in 金湖街道".into(),
        rule: None,
        category: Some("城乡建设".into()),
        category_by: Some("model".into()),
        unit: Some("DY-T-1".into()),
        unit_name: Some("金湖街道办事处".into()),
        manual: false,
        reply: None,
        answer_source: None,
        appeal_type: None,
        appeal_type_by: None,
    }
}
