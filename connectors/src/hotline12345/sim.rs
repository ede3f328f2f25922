//! A simulator of the 12345 platform's work-order API.

use super::TIME_FMT;
use super::wire::{PATH, signing_string};
use crate::sign::verify_hmac_sha256_hex;
use crate::sim::faults::{FaultInjector, inject};
use crate::sim::{Entry, EntryKind, Malform, server, visible};
use crate::timefmt::{format_local, parse_local};
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// How this channel's traffic looks in the demo. 12345 is the bulk of the traffic; its records carry titles.
pub const PROFILE: crate::sim::Profile = {
    use crate::sim::Malform::*;
    crate::sim::Profile::new(0.35, &[MissingContent, BadDate, Oversize], |serial, day| {
        format!("GD{day}{serial:07}")
    })
    .titled()
};

pub struct Sim {
    pub feed: Arc<Vec<Entry>>,
    pub app_key: String,
    pub app_secret: String,
}

pub fn router(sim: Sim, faults: Arc<FaultInjector>) -> Router {
    Router::new()
        .route(PATH, get(workorders))
        .layer(axum::middleware::from_fn_with_state(faults, inject))
        .with_state(Arc::new(sim))
}

async fn workorders(State(sim): State<Arc<Sim>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let query = q.unwrap_or_default();
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
    let ts: i64 = h("x-timestamp").parse().unwrap_or(0);
    if (chrono::Utc::now().timestamp() - ts).abs() > 300 {
        return (StatusCode::UNAUTHORIZED, "timestamp outside the 300 s window").into_response();
    }
    let msg = signing_string(h("x-app-key"), h("x-timestamp"), h("x-nonce"), PATH, &query);
    if h("x-app-key") != sim.app_key || !verify_hmac_sha256_hex(sim.app_secret.as_bytes(), msg.as_bytes(), h("x-signature")) {
        return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
    }
    let params: HashMap<String, String> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace("%20", " ").replace("%3A", ":")))
        .collect();
    let Some(since) = params.get("updated_since").and_then(|s| parse_local(s, TIME_FMT).ok()) else {
        return (StatusCode::BAD_REQUEST, "updated_since is required as yyyy-MM-dd HH:mm:ss").into_response();
    };
    let page: usize = params.get("page").and_then(|p| p.parse().ok()).filter(|p| *p >= 1).unwrap_or(1);
    let size: usize = params.get("page_size").and_then(|p| p.parse().ok()).unwrap_or(100).clamp(1, 1000);
    let feed = &sim.feed[..visible(&sim.feed, server::now())];
    let start = feed.partition_point(|e| e.delivered_at <= since);
    let window = &feed[start..];
    let records: Vec<_> = window.iter().skip((page - 1) * size).take(size).map(render).collect();
    axum::Json(PageOut {
        code: 0,
        msg: "成功",
        data: DataOut {
            total: window.len(),
            page,
            page_size: size,
            records,
        },
    })
    .into_response()
}

// The page is written from borrowed fields: building a `serde_json::Value`
// per record cost a map node and a copy per field.
#[derive(Serialize)]
struct PageOut<'a> {
    code: i64,
    msg: &'static str,
    data: DataOut<'a>,
}

#[derive(Serialize)]
struct DataOut<'a> {
    total: usize,
    page: usize,
    page_size: usize,
    records: Vec<RecordOut<'a>>,
}

#[derive(Serialize)]
struct RecordOut<'a> {
    gdbh: &'a str,
    ldsj: Cow<'static, str>,
    gxsj: String,
    ldrxm: Option<&'a str>,
    lxdh: &'a str,
    sfnm: &'static str,
    sqbt: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sqnr: Option<Cow<'a, str>>,
    sqlx: &'static str,
    ywfl: &'static str,
    sjdz: &'a str,
    fj: [&'static str; 0],
}

fn render(e: &Entry) -> RecordOut<'_> {
    let a = &e.appeal;
    let (mut ldsj, mut sqnr) = (
        Cow::Owned(format_local(&a.received_at, TIME_FMT)),
        Some(Cow::Borrowed(a.text.content.as_str())),
    );
    match e.kind {
        EntryKind::Malformed(Malform::MissingContent) => sqnr = None,
        EntryKind::Malformed(Malform::BadDate) => ldsj = Cow::Borrowed("2026-02-30 25:61:00"),
        EntryKind::Malformed(Malform::Oversize) => sqnr = Some(Cow::Owned(crate::sim::oversize(&a.text.content))),
        _ => {}
    }
    RecordOut {
        gdbh: &a.source_id,
        ldsj,
        gxsj: format_local(&e.delivered_at, TIME_FMT),
        ldrxm: (!a.anonymous).then_some(a.person.name.as_str()),
        lxdh: &a.phone_shown,
        sfnm: if a.anonymous { "1" } else { "0" },
        sqbt: &a.text.title,
        sqnr,
        sqlx: a.text.type_code,
        ywfl: a.text.category,
        sjdz: &a.text.address,
        fj: [],
    }
}

/// The registry's simulated upstream: 12345's work-order API on `feed`, behind its app key and secret.
pub(crate) fn upstream(cfg: &super::Config, crate::sim::Upstream { feed, faults, .. }: crate::sim::Upstream) -> axum::Router {
    router(
        Sim {
            feed,
            app_key: cfg.app_key.clone(),
            app_secret: cfg.app_secret.expose().to_owned(),
        },
        faults,
    )
}
