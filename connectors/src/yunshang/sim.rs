//! A simulator of the 云上大冶 app's OAuth2 token endpoint and posts API.

use super::wire::{POSTS_PATH, TOKEN_PATH};
use crate::sim::faults::{FaultInjector, inject};
use crate::sim::{Entry, EntryKind, Malform, server, visible};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How this channel's traffic looks in the demo. 云上大冶 posts can be edited: half of what it sends again is an edit.
pub const PROFILE: crate::sim::Profile = {
    use crate::sim::Malform::*;
    crate::sim::Profile::new(0.14, &[MissingContent, BadDate, Oversize], |serial, _| format!("ys{serial:09}"))
        .titled()
        .edits()
};

pub struct Sim {
    pub feed: Arc<Vec<Entry>>,
    pub client_id: String,
    pub client_secret: String,
    /// Lifetime of issued tokens; short in the demo so refresh is exercised.
    pub token_ttl: Duration,
    pub tokens: Mutex<HashMap<String, Instant>>,
}

impl Sim {
    pub fn new(feed: Arc<Vec<Entry>>, client_id: &str, client_secret: &str, token_ttl: Duration) -> Self {
        Sim {
            feed,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            token_ttl,
            tokens: Mutex::new(HashMap::new()),
        }
    }
}

pub fn router(sim: Sim, faults: Arc<FaultInjector>) -> Router {
    Router::new()
        .route(TOKEN_PATH, post(token))
        .route(POSTS_PATH, get(posts))
        .layer(axum::middleware::from_fn_with_state(faults, inject))
        .with_state(Arc::new(sim))
}

async fn token(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: String) -> Response {
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let expected = format!("{}:{}", sim.client_id, sim.client_secret);
    if body.trim() != "grant_type=client_credentials" {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "unsupported_grant_type"}))).into_response();
    }
    if basic.as_deref() != Some(expected.as_str()) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "invalid_client"}))).into_response();
    }
    let tok = format!("yt{:032x}", rand::random::<u128>());
    let mut tokens = sim.tokens.lock().expect("token lock");
    let now = Instant::now();
    tokens.retain(|_, until| *until > now);
    tokens.insert(tok.clone(), now + sim.token_ttl);
    axum::Json(json!({"access_token": tok, "token_type": "Bearer", "expires_in": sim.token_ttl.as_secs().max(1)})).into_response()
}

#[derive(Deserialize)]
struct Params {
    cursor: Option<String>,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    50
}

async fn posts(State(sim): State<Arc<Sim>>, headers: HeaderMap, Query(p): Query<Params>) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let valid = bearer.is_some_and(|t| sim.tokens.lock().expect("token lock").get(t).is_some_and(|u| *u > Instant::now()));
    if !valid {
        return (
            StatusCode::UNAUTHORIZED,
            [("www-authenticate", "Bearer error=\"invalid_token\"")],
            "invalid or expired token",
        )
            .into_response();
    }
    let offset = match p.cursor.as_deref().map(decode_cursor) {
        None => 0,
        Some(Some(o)) => o,
        Some(None) => return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid cursor"}))).into_response(),
    };
    let feed = &sim.feed[..visible(&sim.feed, server::now())];
    let start = offset.min(feed.len());
    let end = (start + p.limit.clamp(1, 500)).min(feed.len());
    let posts: Vec<_> = feed[start..end].iter().map(render).collect();
    axum::Json(PageOut {
        posts,
        next_cursor: encode_cursor(end),
        has_more: end < feed.len(),
    })
    .into_response()
}

fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{offset}:{:x}", offset.wrapping_mul(0x9E37_79B9)))
}

fn decode_cursor(c: &str) -> Option<usize> {
    let s = String::from_utf8(URL_SAFE_NO_PAD.decode(c).ok()?).ok()?;
    let mut parts = s.split(':');
    let (Some("v1"), Some(o), Some(check)) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let o: usize = o.parse().ok()?;
    (format!("{:x}", o.wrapping_mul(0x9E37_79B9)) == check).then_some(o)
}

#[derive(Serialize)]
struct PageOut<'a> {
    posts: Vec<PostOut<'a>>,
    next_cursor: String,
    has_more: bool,
}

// Posts are written from borrowed fields: building a `serde_json::Value`
// per post cost a map node and a copy per field.
#[derive(Serialize)]
struct PostOut<'a> {
    post_id: &'a str,
    version: u32,
    created_at: Cow<'static, str>,
    updated_at: String,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<Cow<'a, str>>,
    author: AuthorOut<'a>,
    anonymous: bool,
    location: LocationOut<'a>,
    topic: &'static str,
    images: Vec<ImageOut>,
}

#[derive(Serialize)]
struct AuthorOut<'a> {
    nickname: String,
    real_name: &'a str,
    mobile: &'a str,
}

#[derive(Serialize)]
struct LocationOut<'a> {
    address: &'a str,
    lat: f64,
    lng: f64,
}

#[derive(Serialize)]
struct ImageOut {
    url: String,
    width: u32,
    height: u32,
}

fn render(e: &Entry) -> PostOut<'_> {
    let a = &e.appeal;
    let (mut created_at, mut body) = (Cow::Owned(a.received_at.to_rfc3339()), Some(Cow::Borrowed(a.text.content.as_str())));
    match e.kind {
        EntryKind::Malformed(Malform::MissingContent) => body = None,
        EntryKind::Malformed(Malform::BadDate) => created_at = Cow::Borrowed("2026-02-30T09:00:00+08:00"),
        EntryKind::Malformed(Malform::Oversize) => body = Some(Cow::Owned(crate::sim::oversize(&a.text.content))),
        _ => {}
    }
    let images = if a.serial.is_multiple_of(4) {
        vec![ImageOut {
            url: format!("https://img.yunshangdaye.example/{}.jpg", a.source_id),
            width: 1080,
            height: 1440,
        }]
    } else {
        Vec::new()
    };
    PostOut {
        post_id: &a.source_id,
        version: a.version,
        created_at,
        updated_at: e.delivered_at.to_rfc3339(),
        title: &a.text.title,
        body,
        author: AuthorOut {
            nickname: format!("网友{}", a.serial % 10000),
            real_name: &a.person.name,
            mobile: &a.phone_shown,
        },
        anonymous: a.anonymous,
        location: LocationOut {
            address: &a.text.address,
            lat: a.coords.0,
            lng: a.coords.1,
        },
        topic: a.text.category,
        images,
    }
}

/// The registry's simulated upstream: 云上大冶's OAuth-guarded API on `feed`, with tokens that expire in 3 s.
pub(crate) fn upstream(cfg: &super::Config, crate::sim::Upstream { feed, faults, .. }: crate::sim::Upstream) -> axum::Router {
    router(
        Sim::new(feed, &cfg.client_id, &cfg.client_secret, std::time::Duration::from_secs(3)),
        faults,
    )
}
