//! `/api/v1`: work orders for handling units, the hotline centre,
//! supervisors and analysts (`docs/openapi.yaml`), over HTTP.
//!
//! Every call carries `Authorization: Bearer <token>`; `[api]` maps tokens
//! to a role (and a unit), and the [`Caller`] extractor turns the header
//! into the actor. What an action means (deciding it, committing it on the
//! version it was decided on, idempotency, the warehouse relay) is the
//! work-order service's, `minqing_pipelines::workflow::service`; this
//! module parses requests and turns [`OrderError`]s into answers.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minqing_pipelines::relay::Relay;
use minqing_pipelines::store::WorkflowStore;
use minqing_pipelines::workflow::service::{ErrorKind, OrderError, OrderFilter, Orders};
use minqing_pipelines::workflow::{Action, Actor, Deadlines, Role};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

pub use minqing_pipelines::workflow::service::{Clock, system_clock};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    #[serde(default)]
    pub tokens: Vec<ApiToken>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiToken {
    pub token: minqing_connectors::Secret,
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
            if !seen.insert(t.token.expose()) {
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

pub struct V1 {
    pub orders: Orders,
    pub tokens: HashMap<String, Actor>,
}

impl V1 {
    pub fn new(store: Arc<dyn WorkflowStore>, relay: Arc<Relay>, deadlines: Deadlines, api: &ApiSettings, clock: Clock) -> V1 {
        let tokens = api
            .tokens
            .iter()
            .map(|t| {
                (
                    t.token.expose().to_owned(),
                    Actor {
                        role: t.role,
                        unit: t.unit.clone(),
                        name: t.name.clone(),
                    },
                )
            })
            .collect();
        V1 {
            orders: Orders::new(store, relay, deadlines, clock),
            tokens,
        }
    }

    /// Refuses dispatches to units the rules in force do not list.
    pub fn with_units(mut self, units: minqing_pipelines::triage::Live) -> V1 {
        self.orders = self.orders.with_units(units);
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
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: String,
    rule: Option<&'static str>,
}

impl ApiError {
    fn new(status: StatusCode, error: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error: error.into(),
            rule: None,
        }
    }
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

impl From<OrderError> for ApiError {
    fn from(e: OrderError) -> ApiError {
        let status = match e.kind() {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Unavailable => return store_failed(&e),
        };
        ApiError {
            status,
            error: e.to_string(),
            rule: e.rule(),
        }
    }
}

/// The caller learns that it may retry and which log line to quote; the
/// store's own error (paths, SQL, server text) stays in the log.
fn store_failed(e: &OrderError) -> ApiError {
    let correlation = Uuid::new_v4().simple().to_string();
    tracing::error!(error = %e, correlation = %correlation, "Workflow store call failed in /api/v1.");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the workflow store is unavailable; retry later (correlation id {correlation})"),
    )
}

/// Who calls: the actor of the bearer token, or 401.
pub struct Caller(pub Actor);

impl FromRequestParts<Arc<V1>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &Arc<V1>) -> Result<Caller, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        match token.and_then(|t| s.tokens.get(t)) {
            Some(a) => Ok(Caller(a.clone())),
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "send Authorization: Bearer <token>, a token listed under [api] tokens",
            )),
        }
    }
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::new(StatusCode::NOT_FOUND, format!("`{id}` is not a ticket id (a UUID)")))
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
    Caller(actor): Caller,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("query: {e}")))?;
    let filter = OrderFilter {
        unit: q.unit,
        due: q.due,
        all: q.all,
        limit: q.limit,
    };
    let (today, orders) = s.orders.list(&actor, &filter).await?;
    Ok(axum::Json(json!({"today": today, "orders": orders})).into_response())
}

async fn one(State(s): State<Arc<V1>>, Caller(actor): Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let order = s.orders.one(&actor, parse_id(&id)?).await?;
    Ok(axum::Json(json!({"order": order})).into_response())
}

/// The largest action body accepted.
const MAX_BODY: usize = 64 * 1024;

async fn act(
    State(s): State<Arc<V1>>,
    Caller(actor): Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let action: Action = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("body: {e}; send one action, e.g. {{\"action\": \"sign\"}}"),
        )
    })?;
    // As before the service took actions over: an over-long text is
    // named before a malformed key.
    minqing_pipelines::workflow::service::check_text(&action)?;
    let key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => None,
        Some(Ok(k)) if !k.trim().is_empty() && k.len() <= 200 => Some(k.trim()),
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Idempotency-Key: 1 to 200 visible characters",
            ));
        }
    };
    let answer = s.orders.act(&actor, id, &action, key).await?;
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    Ok((status, [(header::CONTENT_TYPE, "application/json")], answer.body).into_response())
}

#[cfg(test)]
mod tests {
    //! The router without a socket (`oneshot`): who may call, and how a
    //! refusal reads.
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use minqing_pipelines::bus::memory::MemoryBus;
    use minqing_pipelines::store::sqlite::SqliteStore;
    use tower::ServiceExt;

    const TOKEN: &str = "centre-token-0123456789";

    async fn app(dir: &std::path::Path) -> Router {
        let store: Arc<dyn WorkflowStore> = Arc::new(SqliteStore::open(&dir.join("minqing.db")).await.unwrap());
        let relay = Relay::new(store.clone(), Arc::new(MemoryBus::new(&[], 1)));
        let api = ApiSettings {
            tokens: vec![ApiToken {
                token: TOKEN.into(),
                role: Role::Centre,
                unit: None,
                name: "值班长".into(),
            }],
        };
        let deadlines = Deadlines {
            calendar: Arc::new(minqing_pipelines::calendar::Calendar::builtin()),
            rules: Default::default(),
        };
        router(Arc::new(V1::new(store, relay, deadlines, &api, system_clock())))
    }

    async fn call(app: Router, uri: &str, token: Option<&str>) -> (StatusCode, Option<String>, serde_json::Value) {
        let mut req = Request::get(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let r = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let status = r.status();
        let auth = r.headers().get(header::WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        (status, auth, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn a_caller_without_a_listed_token_is_refused_before_anything_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let (status, auth, body) = call(app(dir.path()).await, "/api/v1/orders", None).await;
        assert_eq!((status, auth.as_deref()), (StatusCode::UNAUTHORIZED, Some("Bearer")));
        assert!(body["error"].as_str().unwrap().contains("[api] tokens"), "{body}");
        let (status, _, _) = call(app(dir.path()).await, "/api/v1/orders", Some("not-a-listed-token")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn the_service_s_errors_become_answers() {
        let dir = tempfile::tempdir().unwrap();
        let (status, _, body) = call(app(dir.path()).await, "/api/v1/orders", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["orders"].as_array().map(Vec::len), Some(0));
        let id = Uuid::new_v4();
        let (status, _, body) = call(app(dir.path()).await, &format!("/api/v1/orders/{id}"), Some(TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"], format!("no work order for ticket {id}"));
        let (status, _, body) = call(app(dir.path()).await, "/api/v1/orders?due=someday", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body["error"].as_str().unwrap().starts_with("due: `someday`"), "{body}");
    }
}
