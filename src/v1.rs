//! `/api/v1`: work orders for handling units, the hotline centre,
//! supervisors and analysts (`docs/openapi.yaml`).
//!
//! Every call carries `Authorization: Bearer <token>`; `[api]` maps tokens
//! to a role (and a unit). An action is decided by the state machine on
//! the order as stored and committed only on the version it was decided
//! on, so two clerks acting at once cannot both win; an `Idempotency-Key`
//! makes a retried request return the first answer without acting twice.
//! An action's events reach the warehouse through the workflow store's
//! outbox (`minqing_pipelines::relay`), committed with the action: the
//! caller need not wait for the warehouse, and a crash after the commit
//! cannot lose the warehouse's copy.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, FixedOffset};
use minqing_pipelines::relay::Relay;
use minqing_pipelines::store::{ActionCommit, Committed, OrderQuery, WorkflowStore};
use minqing_pipelines::workflow::{self, Action, Actor, Deadlines, RefusalKind, Role};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    #[serde(default)]
    pub tokens: Vec<ApiToken>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiToken {
    pub token: String,
    pub role: Role,
    /// The unit's code, for role `unit`.
    #[serde(default)]
    pub unit: Option<String>,
    /// Who acts, for the record.
    pub name: String,
}

impl ApiSettings {
    pub fn check(&self, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, t) in self.tokens.iter().enumerate() {
            let at = format!("{prefix}.tokens[{i}]");
            if t.token.chars().count() < 16 {
                out.push(format!("{at}.token: at least 16 characters, random; this one is guessable"));
            }
            if !seen.insert(&t.token) {
                out.push(format!("{at}.token: listed twice"));
            }
            if t.role == Role::Unit && t.unit.as_deref().is_none_or(|u| u.trim().is_empty()) {
                out.push(format!("{at}.unit: a unit token needs the unit's code"));
            }
            if t.name.trim().is_empty() {
                out.push(format!("{at}.name: empty; actions record who acted"));
            }
        }
        out
    }
}

/// The clock actions are stamped with; tests inject their own.
pub type Clock = Arc<dyn Fn() -> DateTime<FixedOffset> + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(crate::sweeper::now)
}

pub struct V1 {
    pub store: Arc<dyn WorkflowStore>,
    /// Told when an action committed events for the warehouse.
    pub relay: Arc<Relay>,
    pub deadlines: Deadlines,
    pub tokens: HashMap<String, Actor>,
    pub clock: Clock,
    /// The units of the rules in force: a dispatch names one of them.
    /// `None` (benchmarks, the demo's simulated units) checks nothing.
    pub units: Option<minqing_pipelines::triage::Live>,
}

impl V1 {
    pub fn new(store: Arc<dyn WorkflowStore>, relay: Arc<Relay>, deadlines: Deadlines, api: &ApiSettings, clock: Clock) -> V1 {
        let tokens = api
            .tokens
            .iter()
            .map(|t| {
                (
                    t.token.clone(),
                    Actor {
                        role: t.role,
                        unit: t.unit.clone(),
                        name: t.name.clone(),
                    },
                )
            })
            .collect();
        V1 {
            store,
            relay,
            deadlines,
            tokens,
            clock,
            units: None,
        }
    }

    /// Refuses dispatches to units the rules in force do not list.
    pub fn with_units(mut self, units: minqing_pipelines::triage::Live) -> V1 {
        self.units = Some(units);
        self
    }
}

pub fn router(state: Arc<V1>) -> Router {
    Router::new()
        .route("/api/v1/orders", get(list))
        .route("/api/v1/orders/{id}", get(one))
        .route("/api/v1/orders/{id}/actions", post(act))
        // An action is a few fields of text; nothing needs more.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// An error answer: `{"error": …, "rule": …}`.
struct ApiError {
    status: StatusCode,
    error: String,
    rule: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(json!({"error": self.error, "rule": self.rule}))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        r
    }
}

fn error(status: StatusCode, error: impl Into<String>, rule: Option<&str>) -> ApiError {
    ApiError {
        status,
        error: error.into(),
        rule: rule.map(str::to_owned),
    }
}

fn fail(status: StatusCode, e: impl Into<String>, rule: Option<&str>) -> Response {
    error(status, e, rule).into_response()
}

/// The caller learns that it may retry and which log line to quote; the
/// store's own error (paths, SQL, server text) stays in the log.
fn store_failed(e: impl std::fmt::Display) -> Response {
    let correlation = Uuid::new_v4().simple().to_string();
    tracing::error!(error = %e, correlation = %correlation, "Workflow store call failed in /api/v1.");
    fail(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the workflow store is unavailable; retry later (correlation id {correlation})"),
        None,
    )
}

fn who(s: &V1, headers: &HeaderMap) -> Result<Actor, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match token.and_then(|t| s.tokens.get(t)) {
        Some(a) => Ok(a.clone()),
        None => Err(error(
            StatusCode::UNAUTHORIZED,
            "send Authorization: Bearer <token>, a token listed under [api] tokens",
            None,
        )),
    }
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| error(StatusCode::NOT_FOUND, format!("`{id}` is not a ticket id (a UUID)"), None))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    unit: Option<String>,
    /// `overdue`, `today` or `tomorrow` (the next working day).
    due: Option<String>,
    /// Closed orders too.
    #[serde(default)]
    all: bool,
    limit: Option<i64>,
}

async fn list(
    State(s): State<Arc<V1>>,
    headers: HeaderMap,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let actor = match who(&s, &headers) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let Query(q) = match q {
        Ok(q) => q,
        Err(e) => return fail(StatusCode::UNPROCESSABLE_ENTITY, format!("query: {e}"), None),
    };
    // A unit sees its own orders only.
    let unit = match (actor.role, &q.unit) {
        (Role::Unit, Some(u)) if Some(u) != actor.unit.as_ref() => {
            return fail(StatusCode::FORBIDDEN, "a unit reads its own orders only", Some("own_orders_only"));
        }
        (Role::Unit, _) => actor.unit.clone(),
        (_, u) => u.clone(),
    };
    let today = (s.clock)().date_naive();
    let (due_from, due_by) = match q.due.as_deref() {
        None => (None, None),
        Some(when) => match crate::tickets::due_range(when, today, &s.deadlines.calendar) {
            Ok(r) => r,
            Err(e) => return fail(StatusCode::UNPROCESSABLE_ENTITY, format!("due: {e}"), None),
        },
    };
    let query = OrderQuery {
        unit,
        open: !q.all,
        due_from,
        due_by,
        provisional: false,
        limit: q.limit.unwrap_or(500).clamp(1, 10_000),
    };
    match s.store.orders(&query).await {
        Ok(orders) => axum::Json(json!({"today": today, "orders": orders})).into_response(),
        Err(e) => store_failed(e),
    }
}

async fn one(State(s): State<Arc<V1>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let actor = match who(&s, &headers) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return r.into_response(),
    };
    match s.store.work_order(id).await {
        Ok(Some(o)) if actor.role == Role::Unit && o.unit != actor.unit => {
            fail(StatusCode::FORBIDDEN, "a unit reads its own orders only", Some("own_orders_only"))
        }
        Ok(Some(o)) => axum::Json(json!({"order": o})).into_response(),
        Ok(None) => fail(StatusCode::NOT_FOUND, format!("no work order for ticket {id}"), None),
        Err(e) => store_failed(e),
    }
}

/// The largest action body accepted.
const MAX_BODY: usize = 64 * 1024;
/// The longest reason, reply, plan or name in an action, in characters.
const MAX_TEXT: usize = 4000;

/// The first text field of `action` over [`MAX_TEXT`] characters.
fn too_long(action: &Action) -> Option<(String, usize)> {
    let v = serde_json::to_value(action).ok()?;
    v.as_object()?.iter().find_map(|(k, v)| {
        let n = v.as_str()?.chars().count();
        (n > MAX_TEXT).then(|| (k.clone(), n))
    })
}

/// Attempts at an action when another one changed the order meanwhile.
const RACES: usize = 3;

async fn act(State(s): State<Arc<V1>>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    let actor = match who(&s, &headers) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return r.into_response(),
    };
    let action: Action = match serde_json::from_slice(&body) {
        Ok(a) => a,
        Err(e) => {
            return fail(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("body: {e}; send one action, e.g. {{\"action\": \"sign\"}}"),
                None,
            );
        }
    };
    if let Some((field, n)) = too_long(&action) {
        return fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("body: `{field}` has {n} characters; at most {MAX_TEXT}"),
            Some("too_long"),
        );
    }
    // Keys are per caller: two clients cannot collide on one.
    let key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => None,
        Some(Ok(k)) if !k.trim().is_empty() && k.len() <= 200 => Some(format!(
            "{:?}:{}:{}:{}",
            actor.role,
            actor.unit.as_deref().unwrap_or(""),
            actor.name,
            k.trim()
        )),
        Some(_) => {
            return fail(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Idempotency-Key: 1 to 200 visible characters",
                None,
            );
        }
    };
    // What the key is bound to: this order, this action, this body (as
    // parsed, so spacing does not matter).
    let request = Uuid::new_v5(&id, serde_json::to_string(&action).unwrap_or_default().as_bytes()).to_string();
    // A retry of a done action is refused by the state it left (or, if
    // the order came round to that state again, caught by the key in the
    // commit): only then is the key looked up, which spares every first
    // request a query.
    for _ in 0..RACES {
        let order = match s.store.work_order(id).await {
            Ok(Some(o)) => o,
            Ok(None) => return fail(StatusCode::NOT_FOUND, format!("no work order for ticket {id}"), None),
            Err(e) => return store_failed(e),
        };
        let at = (s.clock)();
        let tr = match order.apply(&action, &actor, at, &s.deadlines.calendar, &s.deadlines.rules) {
            Ok(t) => t,
            Err(r) => {
                if let Some(k) = &key {
                    match s.store.idempotent(k).await {
                        Ok(Some((status, response))) => return replay(status, response, &request),
                        Ok(None) => {}
                        Err(e) => return store_failed(e),
                    }
                }
                let status = match r.kind {
                    RefusalKind::Forbidden => StatusCode::FORBIDDEN,
                    RefusalKind::Conflict => StatusCode::CONFLICT,
                    RefusalKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
                };
                return fail(status, r.message, Some(r.rule));
            }
        };
        // Checked once the caller may dispatch at all, so a unit that
        // tries is told it may not, whatever it named.
        if let (Action::Dispatch { unit }, Some(live)) = (&action, &s.units)
            && !live.current().router().knows(unit)
        {
            return fail(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("unit `{unit}` is not in the units file (triage.units); dispatch to a listed unit code"),
                Some("unknown_unit"),
            );
        }
        let events = workflow::action_events(&tr, &action, &actor, at);
        let answer = json!({
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
            key: key.clone().map(|k| (k, 200, answer.clone())),
        };
        match s.store.commit_action(&commit).await {
            Ok(Committed::Done) => {
                // The events wait in the store's outbox; the relay takes them.
                s.relay.wake();
                return replay(200, answer, &request);
            }
            Ok(Committed::Replayed { status, response }) => return replay(status, response, &request),
            Ok(Committed::Stale { .. }) => continue,
            Err(e) => return store_failed(e),
        }
    }
    fail(
        StatusCode::CONFLICT,
        "the order kept changing while this action was decided; read it again and retry",
        Some("concurrent_change"),
    )
}

/// The first answer given under an idempotency key, if the key was given
/// for this same request; a key reused for another order, action or body
/// is refused rather than answered with an unrelated success. (Answers
/// stored before keys were bound carry no `request` and are replayed.)
fn replay(status: u16, response: String, request: &str) -> Response {
    let bound = serde_json::from_str::<serde_json::Value>(&response)
        .ok()
        .and_then(|v| v.get("request").and_then(|r| r.as_str()).map(|r| r == request));
    if bound == Some(false) {
        return fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Idempotency-Key was used before for another request (another order, action or body); use a new key",
            Some("idempotency_key_reused"),
        );
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    (status, [(header::CONTENT_TYPE, "application/json")], response).into_response()
}
