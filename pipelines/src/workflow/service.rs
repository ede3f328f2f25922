//! Work orders as a service: what `/api/v1` (and anything else that acts
//! for a person) asks of them, with HTTP left out.
//!
//! An action is decided by the state machine on the order as stored and
//! committed only on the version it was decided on, so two clerks acting
//! at once cannot both win; an idempotency key makes a retried request
//! return the first answer without acting twice, and binds that answer to
//! the order, the action and its body. The action's events are committed
//! with it into the store's warehouse outbox and the relay is woken: the
//! caller need not wait for the warehouse, and a crash after the commit
//! cannot lose the warehouse's copy.

use super::{Action, Actor, Deadlines, Order, Refusal, RefusalKind, Role, action_events};
use crate::calendar::Calendar;
use crate::relay::Relay;
use crate::store::{ActionCommit, Committed, OrderQuery, OrderStore, StoreError};
use crate::triage::Live;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

/// The clock actions are stamped with; tests inject their own.
pub type Clock = Arc<dyn Fn() -> DateTime<FixedOffset> + Send + Sync>;

/// Now in Asia/Shanghai, where deadlines are counted.
pub fn now() -> DateTime<FixedOffset> {
    Utc::now().with_timezone(&minqing_connectors::timefmt::shanghai())
}

pub fn system_clock() -> Clock {
    Arc::new(now)
}

/// The longest reason, reply, plan or name in an action, in characters.
pub const MAX_TEXT: usize = 4000;

/// Attempts at an action when another one changed the order meanwhile.
const RACES: usize = 3;

/// Why a call on work orders was not done; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("no work order for ticket {0}")]
    NotFound(Uuid),
    #[error("a unit reads its own orders only")]
    NotYours,
    /// The state machine refused; the refusal names its rule.
    #[error("{}", .0.message)]
    Refused(Refusal),
    #[error("unit `{0}` is not in the units file (triage.units); dispatch to a listed unit code")]
    UnknownUnit(String),
    #[error("body: `{field}` has {chars} characters; at most {MAX_TEXT}")]
    TooLong { field: String, chars: usize },
    #[error("Idempotency-Key was used before for another request (another order, action or body); use a new key")]
    KeyReused,
    #[error("the order kept changing while this action was decided; read it again and retry")]
    Contended,
    #[error("due: `{0}` is not one of overdue, today, tomorrow (the next working day)")]
    BadDue(String),
    #[error("the workflow store failed: {0}")]
    Store(#[from] StoreError),
}

/// What kind of answer an [`OrderError`] deserves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    Forbidden,
    Conflict,
    Invalid,
    /// The store failed: retry later.
    Unavailable,
}

impl OrderError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            OrderError::NotFound(_) => ErrorKind::NotFound,
            OrderError::NotYours => ErrorKind::Forbidden,
            OrderError::Refused(r) => match r.kind {
                RefusalKind::Forbidden => ErrorKind::Forbidden,
                RefusalKind::Conflict => ErrorKind::Conflict,
                RefusalKind::Invalid => ErrorKind::Invalid,
            },
            OrderError::Contended => ErrorKind::Conflict,
            OrderError::UnknownUnit(_) | OrderError::TooLong { .. } | OrderError::KeyReused | OrderError::BadDue(_) => ErrorKind::Invalid,
            OrderError::Store(_) => ErrorKind::Unavailable,
        }
    }

    /// The stable id of the rule that refused, where one did.
    pub fn rule(&self) -> Option<&'static str> {
        match self {
            OrderError::NotYours => Some("own_orders_only"),
            OrderError::Refused(r) => Some(r.rule),
            OrderError::UnknownUnit(_) => Some("unknown_unit"),
            OrderError::TooLong { .. } => Some("too_long"),
            OrderError::KeyReused => Some("idempotency_key_reused"),
            OrderError::Contended => Some("concurrent_change"),
            _ => None,
        }
    }

    /// Whether the same call may succeed later unchanged.
    pub fn is_retryable(&self) -> bool {
        match self {
            OrderError::Contended => true,
            OrderError::Store(e) => e.is_retryable(),
            _ => false,
        }
    }
}

/// An action's answer as first given: its status and JSON body, replayed
/// as they are for a retry under the same key.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// Which orders a list asks for.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub unit: Option<String>,
    /// `overdue`, `today` or `tomorrow` (the next working day).
    pub due: Option<String>,
    /// Closed orders too.
    pub all: bool,
    pub limit: Option<i64>,
}

/// The owed-deadline range (from, to) of a supervisor's question:
/// `overdue` (before today), `today`, or `tomorrow` (the next working day).
pub fn due_range(when: &str, today: NaiveDate, cal: &Calendar) -> Result<(Option<NaiveDate>, Option<NaiveDate>), OrderError> {
    match when {
        "overdue" => Ok((None, Some(today - Duration::days(1)))),
        "today" => Ok((Some(today), Some(today))),
        "tomorrow" => {
            let next = cal.add_workdays(today, 1).0;
            Ok((Some(next), Some(next)))
        }
        other => Err(OrderError::BadDue(other.to_owned())),
    }
}

/// The work-order service over one store.
pub struct Orders {
    pub store: Arc<dyn OrderStore>,
    /// Told when an action committed events for the warehouse.
    pub relay: Arc<Relay>,
    pub deadlines: Deadlines,
    pub clock: Clock,
    /// The units of the rules in force: a dispatch names one of them.
    /// `None` (benchmarks, the demo's simulated units) checks nothing.
    pub units: Option<Live>,
}

impl Orders {
    pub fn new(store: Arc<dyn OrderStore>, relay: Arc<Relay>, deadlines: Deadlines, clock: Clock) -> Orders {
        Orders {
            store,
            relay,
            deadlines,
            clock,
            units: None,
        }
    }

    /// Refuses dispatches to units the rules in force do not list.
    pub fn with_units(mut self, units: Live) -> Orders {
        self.units = Some(units);
        self
    }

    /// Today, and the orders `actor` may see that `f` asks for.
    pub async fn list(&self, actor: &Actor, f: &OrderFilter) -> Result<(NaiveDate, Vec<Order>), OrderError> {
        // A unit sees its own orders only.
        let unit = match (actor.role, &f.unit) {
            (Role::Unit, Some(u)) if Some(u) != actor.unit.as_ref() => return Err(OrderError::NotYours),
            (Role::Unit, _) => actor.unit.clone(),
            (_, u) => u.clone(),
        };
        let today = (self.clock)().date_naive();
        let (due_from, due_by) = match f.due.as_deref() {
            None => (None, None),
            Some(when) => due_range(when, today, &self.deadlines.calendar)?,
        };
        let query = OrderQuery {
            unit,
            open: !f.all,
            due_from,
            due_by,
            provisional: false,
            limit: f.limit.unwrap_or(500).clamp(1, 10_000),
        };
        Ok((today, self.store.orders(&query).await?))
    }

    /// One order, if `actor` may see it.
    pub async fn one(&self, actor: &Actor, id: Uuid) -> Result<Order, OrderError> {
        match self.store.work_order(id).await? {
            Some(o) if actor.role == Role::Unit && o.unit != actor.unit => Err(OrderError::NotYours),
            Some(o) => Ok(o),
            None => Err(OrderError::NotFound(id)),
        }
    }

    /// Decides `action` by `actor` on order `id` and commits it on the
    /// version it was decided on; `key` is the caller's idempotency key.
    pub async fn act(&self, actor: &Actor, id: Uuid, action: &Action, key: Option<&str>) -> Result<Answer, OrderError> {
        check_text(action)?;
        // Keys are per caller: two clients cannot collide on one.
        let key = key.map(|k| format!("{:?}:{}:{}:{k}", actor.role, actor.unit.as_deref().unwrap_or(""), actor.name));
        // What the key is bound to: this order, this action, this body (as
        // parsed, so spacing does not matter).
        let request = Uuid::new_v5(&id, serde_json::to_string(action).unwrap_or_default().as_bytes()).to_string();
        for _ in 0..RACES {
            let order = self.store.work_order(id).await?.ok_or(OrderError::NotFound(id))?;
            match self.try_once(actor, &order, action, key.as_deref(), &request).await? {
                Some(answer) => return Ok(answer),
                None => continue,
            }
        }
        Err(OrderError::Contended)
    }

    /// One attempt on `order` as read; `None` when another action changed
    /// it first.
    async fn try_once(
        &self,
        actor: &Actor,
        order: &Order,
        action: &Action,
        key: Option<&str>,
        request: &str,
    ) -> Result<Option<Answer>, OrderError> {
        let at = (self.clock)();
        let tr = match order.apply(action, actor, at, &self.deadlines.calendar, &self.deadlines.rules) {
            Ok(t) => t,
            // A retry of a done action is refused by the state it left
            // (or, if the order came round to that state again, caught by
            // the key in the commit): only then is the key looked up,
            // which spares every first request a query.
            Err(r) => return self.replay_or(key, request, OrderError::Refused(r)).await.map(Some),
        };
        // Checked once the caller may dispatch at all, so a unit that
        // tries is told it may not, whatever it named.
        if let (Action::Dispatch { unit }, Some(live)) = (action, &self.units)
            && !live.current().router().knows(unit)
        {
            return Err(OrderError::UnknownUnit(unit.clone()));
        }
        let events = action_events(&tr, action, actor, at);
        let body = json!({
            "request": request,
            "order": tr.order,
            "event": tr.event.id(),
            "events": events.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        })
        .to_string();
        let commit = ActionCommit {
            expected_version: order.version,
            order: tr.order.clone(),
            events,
            key: key.map(|k| (k.to_owned(), 200, body.clone())),
        };
        match self.store.commit_action(&commit).await? {
            Committed::Done => {
                // The events wait in the store's outbox; the relay takes them.
                self.relay.wake();
                Ok(Some(Answer { status: 200, body }))
            }
            Committed::Replayed { status, response } => bound(status, response, request).map(Some),
            Committed::Stale { .. } => Ok(None),
        }
    }

    /// The first answer given under `key` for this request, or `refused`.
    async fn replay_or(&self, key: Option<&str>, request: &str, refused: OrderError) -> Result<Answer, OrderError> {
        if let Some(k) = key
            && let Some((status, response)) = self.store.idempotent(k).await?
        {
            return bound(status, response, request);
        }
        Err(refused)
    }
}

/// The first answer given under an idempotency key, if the key was given
/// for this same request; a key reused for another order, action or body
/// is refused rather than answered with an unrelated success. (Answers
/// stored before keys were bound carry no `request` and are replayed.)
fn bound(status: u16, body: String, request: &str) -> Result<Answer, OrderError> {
    let same = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("request").and_then(|r| r.as_str()).map(|r| r == request));
    if same == Some(false) {
        return Err(OrderError::KeyReused);
    }
    Ok(Answer { status, body })
}

/// Refuses an action with a text field over [`MAX_TEXT`] characters.
pub fn check_text(action: &Action) -> Result<(), OrderError> {
    match too_long(action) {
        Some((field, chars)) => Err(OrderError::TooLong { field, chars }),
        None => Ok(()),
    }
}

/// The first text field of `action` over [`MAX_TEXT`] characters.
fn too_long(action: &Action) -> Option<(String, usize)> {
    let v = serde_json::to_value(action).ok()?;
    v.as_object()?.iter().find_map(|(k, v)| {
        let n = v.as_str()?.chars().count();
        (n > MAX_TEXT).then(|| (k.clone(), n))
    })
}
