//! The HTTP API besides the webhooks: `/healthz`, `/readyz`, `/status` (per
//! channel) and `/metrics` (Prometheus text format, encoded by
//! prometheus-client from each producing module's collector).

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minqing_connectors::Channel;
use minqing_connectors::pull::{ChannelMetrics, ChannelStats};
use minqing_pipelines::intake::IntakeStats;
use minqing_pipelines::store::{ForwardCounts, OutboxCounts, WorkflowStore};
use minqing_pipelines::warehouse::Warehouse;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::registry::Registry;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// How a channel is doing, for `/status`.
pub struct ChannelInfo {
    pub stats: Arc<ChannelStats>,
    pub push: bool,
    pub enabled: bool,
}

pub struct ApiState {
    pub store: Arc<dyn WorkflowStore>,
    pub warehouse: Arc<dyn Warehouse>,
    pub bus: Arc<dyn minqing_pipelines::bus::Bus>,
    pub intake_stats: Arc<IntakeStats>,
    pub latency: Arc<minqing_pipelines::latency::Latencies>,
    pub channels: Arc<BTreeMap<Channel, ChannelInfo>>,
    pub started: std::time::Instant,
    pub forward_stats: Arc<minqing_pipelines::forward::ForwardStats>,
    pub sweep_stats: Arc<crate::sweeper::SweepStats>,
    /// Every scheduled job's figures.
    pub scheduler: Arc<crate::scheduler::Scheduler>,
    pub relay: Arc<minqing_pipelines::relay::Relay>,
    /// (workflow store, warehouse): set while writes fail for want of a resource.
    pub write_health: [Arc<minqing_pipelines::sink::WriteHealth>; 2],
}

pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Ready when every backend answers and the last write to each went
/// through (a full disk answers pings but takes no writes); each is
/// reported by name.
async fn readyz(State(s): State<Arc<ApiState>>) -> Response {
    // Unauthenticated: say what is wrong, not the backend's own text
    // (paths, addresses), which goes to the log.
    let writable = |i: usize, r: Result<(), String>| {
        let r = match (r, s.write_health[i].failing()) {
            (Ok(()), Some(why)) => Err(("cannot write", why)),
            (Ok(()), None) => Ok(()),
            (Err(e), _) => Err(("unreachable", e)),
        };
        r.map_err(|(what, why)| {
            tracing::warn!(backend = i, error = %why, "Not ready: a store is {what}.");
            what.to_owned()
        })
    };
    let store = writable(0, s.store.ping().await.map_err(|e| e.to_string()));
    let warehouse = writable(1, s.warehouse.ping().await.map_err(|e| e.to_string()));
    let show = |r: &Result<(), String>| match r {
        Ok(()) => "ok".to_owned(),
        Err(e) => e.clone(),
    };
    let bus = s.bus.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "Not ready: the bus is unreachable.");
        "unreachable".to_owned()
    });
    let ready = store.is_ok() && warehouse.is_ok() && bus.is_ok();
    let body = json!({
        "ready": ready,
        "workflow_store": show(&store),
        "warehouse": show(&warehouse),
        "warehouse_backend": s.warehouse.kind(),
        "bus": show(&bus),
        "bus_backend": s.bus.kind(),
    });
    let code = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, axum::Json(body)).into_response()
}

async fn status(State(s): State<Arc<ApiState>>) -> Response {
    let intake = s.intake_stats.snapshot();
    let channels: serde_json::Map<String, serde_json::Value> = s
        .channels
        .iter()
        .map(|(c, info)| {
            let st = &info.stats;
            let last = st.last_success_ms.load(Ordering::Relaxed);
            let v = json!({
                "kind": if info.push { "push" } else { "pull" },
                "enabled": info.enabled,
                "healthy": st.last_error().is_none(),
                "polls": st.polls.load(Ordering::Relaxed),
                "pages": st.pages.load(Ordering::Relaxed),
                "items": st.items.load(Ordering::Relaxed),
                "errors": st.errors.load(Ordering::Relaxed),
                "last_success_unix_ms": (last > 0).then_some(last),
                "last_error": st.last_error(),
                "intake": intake.get(c),
            });
            (c.id().to_owned(), v)
        })
        .collect();
    axum::Json(json!({"uptime_secs": s.started.elapsed().as_secs(), "channels": channels})).into_response()
}

/// `/metrics`: Prometheus's text format (0.0.4), encoded by prometheus-client
/// from the collectors that each producing module keeps beside its figures.
async fn metrics(State(s): State<Arc<ApiState>>) -> Response {
    // Collectors cannot await, so the store's counts are asked first; a
    // store that does not answer leaves out those gauges, not the rest.
    let outbox = s.store.outbox_counts().await.ok();
    let forward = s.store.forward_counts().await.ok();
    let mut body = String::new();
    if let Err(e) = prometheus_text::encode(&mut body, &registry(&s, outbox, forward)) {
        tracing::error!(error = %e, "Could not encode /metrics.");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    ([(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)], body).into_response()
}

/// Every producer's collector. Built per scrape, since two of them are the
/// store's answers of the moment; the rest hold `Arc`s of live atomics, so
/// registering them costs a few allocations and no counting.
fn registry(s: &ApiState, outbox: Option<OutboxCounts>, forward: Option<ForwardCounts>) -> Registry {
    let channels = s.channels.iter().map(|(c, info)| (*c, info.stats.clone())).collect();
    let mut r = Registry::default();
    r.register_collector(Box::new(s.intake_stats.clone()));
    r.register_collector(Box::new(ChannelMetrics(channels)));
    r.register_collector(Box::new(s.latency.clone()));
    r.register_collector(Box::new(s.forward_stats.clone()));
    r.register_collector(Box::new(s.relay.clone()));
    if let Some(outbox) = outbox {
        r.register_collector(Box::new(outbox));
    }
    r.register_collector(Box::new(s.sweep_stats.clone()));
    r.register_collector(Box::new(s.scheduler.clone()));
    if let Some(forward) = forward {
        r.register_collector(Box::new(forward));
    }
    r
}
