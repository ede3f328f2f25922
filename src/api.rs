//! The HTTP API besides the webhooks: `/healthz`, `/readyz`, `/status` (per
//! channel) and `/metrics` (Prometheus text format).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minqing_connectors::Channel;
use minqing_connectors::pull::ChannelStats;
use minqing_pipelines::intake::IntakeStats;
use minqing_pipelines::store::WorkflowStore;
use minqing_pipelines::warehouse::Warehouse;
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// A metric: name, help text, and how to read it from a channel's counters.
type Series<T> = (&'static str, &'static str, fn(&T) -> u64);

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

async fn metrics(State(s): State<Arc<ApiState>>) -> Response {
    let mut out = String::new();
    let intake = s.intake_stats.snapshot();
    let series: [Series<minqing_pipelines::intake::CountersSnapshot>; 6] = [
        ("minqing_intake_tickets_total", "Tickets created.", |c| c.tickets),
        ("minqing_intake_replays_total", "Repeat deliveries ignored.", |c| c.replays),
        (
            "minqing_intake_redelivered_total",
            "Records read again after our own faults (re-read pages, broker redeliveries).",
            |c| c.redelivered,
        ),
        (
            "minqing_intake_duplicates_total",
            "Tickets linked as cross-channel duplicates.",
            |c| c.duplicates,
        ),
        ("minqing_intake_quarantined_total", "Records sent to quarantine.", |c| c.quarantined),
        ("minqing_intake_updates_total", "Edited posts applied.", |c| c.updates),
    ];
    for (name, help, f) in series {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (c, v) in &intake {
            let _ = writeln!(out, "{name}{{channel=\"{c}\"}} {}", f(v));
        }
    }
    let conn: [Series<ChannelStats>; 3] = [
        ("minqing_connector_polls_total", "Polls started.", |s| {
            s.polls.load(Ordering::Relaxed)
        }),
        ("minqing_connector_items_total", "Records handed on.", |s| {
            s.items.load(Ordering::Relaxed)
        }),
        ("minqing_connector_errors_total", "Failed polls or refused pushes.", |s| {
            s.errors.load(Ordering::Relaxed)
        }),
    ];
    for (name, help, f) in conn {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (c, info) in s.channels.iter() {
            let _ = writeln!(out, "{name}{{channel=\"{c}\"}} {}", f(&info.stats));
        }
    }
    let _ = writeln!(
        out,
        "# HELP minqing_intake_batch_failures_total Intake batches handed back.\n# TYPE minqing_intake_batch_failures_total counter"
    );
    let _ = writeln!(
        out,
        "minqing_intake_batch_failures_total {}",
        s.intake_stats.failures.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "# HELP minqing_ingest_latency_seconds From accepting an appeal to committing its ticket, per store.\n# TYPE minqing_ingest_latency_seconds summary"
    );
    for (store, h) in [("workflow", &s.latency.workflow), ("warehouse", &s.latency.warehouse)] {
        let sum = h.summary();
        for q in [0.5, 0.9, 0.99] {
            if let Some(ms) = h.quantile_ms(q) {
                let _ = writeln!(
                    out,
                    "minqing_ingest_latency_seconds{{store=\"{store}\",quantile=\"{q}\"}} {}",
                    ms / 1000.0
                );
            }
        }
        let _ = writeln!(
            out,
            "minqing_ingest_latency_seconds_sum{{store=\"{store}\"}} {}",
            sum.mean_ms * sum.count as f64 / 1000.0
        );
        let _ = writeln!(out, "minqing_ingest_latency_seconds_count{{store=\"{store}\"}} {}", sum.count);
    }
    let f = &s.forward_stats;
    for (name, help, v) in [
        (
            "minqing_forward_delivered_total",
            "Transfers Huangshi 12345 confirmed.",
            &f.delivered,
        ),
        (
            "minqing_forward_repeats_total",
            "Of those, confirmed by a 409 (an earlier send had arrived).",
            &f.repeats,
        ),
        ("minqing_forward_retries_total", "Transfer attempts to be retried.", &f.retries),
        ("minqing_forward_parked_total", "Transfers given up and parked (alert).", &f.parked),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
            v.load(Ordering::Relaxed)
        );
    }
    let r = &s.relay.stats;
    for (name, help, v) in [
        (
            "minqing_warehouse_relay_events_total",
            "Events taken from the workflow store's outbox to the warehouse.",
            &r.events,
        ),
        (
            "minqing_warehouse_relay_failures_total",
            "Relay rounds that failed and wait to be retried (alert if it keeps rising).",
            &r.failures,
        ),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
            v.load(Ordering::Relaxed)
        );
    }
    if let Ok(n) = s.store.outbox_counts().await {
        let name = "minqing_warehouse_outbox_rows";
        let _ = writeln!(
            out,
            "# HELP {name} Rows in the workflow store's warehouse outbox: waiting, or parked after the warehouse kept refusing them (alert).\n# TYPE {name} gauge\n{name}{{state=\"waiting\"}} {}\n{name}{{state=\"parked\"}} {}",
            n.waiting, n.parked
        );
    }
    let w = &s.sweep_stats;
    for (name, help, v, kind) in [
        ("minqing_sla_sweeps_total", "SLA sweeps run.", &w.runs, "counter"),
        (
            "minqing_sla_sweep_failures_total",
            "SLA sweeps that failed (alert).",
            &w.failures,
            "counter",
        ),
        (
            "minqing_sla_sign_overdue_total",
            "Orders reported late to sign.",
            &w.sign_overdue,
            "counter",
        ),
        (
            "minqing_sla_reply_overdue_total",
            "Orders reported late to reply.",
            &w.reply_overdue,
            "counter",
        ),
        (
            "minqing_supervision_phone_total",
            "Phone supervision (电话督办) recorded.",
            &w.phone_supervision,
            "counter",
        ),
        (
            "minqing_supervision_written_total",
            "Written supervision (公函督办) proposed.",
            &w.written_supervision,
            "counter",
        ),
        (
            "minqing_clue_transfers_total",
            "Clue transfers (线索移交) proposed.",
            &w.clue_transfers,
            "counter",
        ),
        (
            "minqing_provisional_orders",
            "Open orders with deadlines on the weekday rule (a year the calendar lacks; add its file).",
            &w.provisional_orders,
            "gauge",
        ),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}",
            v.load(Ordering::Relaxed)
        );
    }
    jobs(&mut out, &s.scheduler);
    if let Ok(c) = s.store.forward_counts().await {
        let _ = writeln!(
            out,
            "# HELP minqing_forward_outbox Huangshi transfers by outbox status.\n# TYPE minqing_forward_outbox gauge"
        );
        for (k, v) in [("pending", c.pending), ("sent", c.sent), ("parked", c.parked)] {
            let _ = writeln!(out, "minqing_forward_outbox{{status=\"{k}\"}} {v}");
        }
    }
    ([("content-type", "text/plain; version=0.0.4")], out).into_response()
}

/// Per-job figures of the scheduler.
fn jobs(out: &mut String, scheduler: &crate::scheduler::Scheduler) {
    let jobs = scheduler.stats();
    type Figure = fn(&crate::scheduler::JobStats) -> f64;
    let series: [(&str, &str, &str, Figure); 5] = [
        ("minqing_job_runs_total", "Runs of a scheduled job.", "counter", |j| {
            j.runs.load(Ordering::Relaxed) as f64
        }),
        (
            "minqing_job_failures_total",
            "Runs that failed (alert if it keeps rising).",
            "counter",
            |j| j.failures.load(Ordering::Relaxed) as f64,
        ),
        ("minqing_job_busy_seconds_total", "Time spent running.", "counter", |j| {
            j.busy_ms.load(Ordering::Relaxed) as f64 / 1000.0
        }),
        (
            "minqing_job_last_success_timestamp_seconds",
            "When a run last succeeded (0: never).",
            "gauge",
            |j| j.last_success.load(Ordering::Relaxed) as f64,
        ),
        ("minqing_job_running", "1 while a run is under way.", "gauge", |j| {
            u8::from(j.running.load(Ordering::Relaxed)) as f64
        }),
    ];
    for (name, help, kind, f) in series {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (job, j) in &jobs {
            let _ = writeln!(out, "{name}{{job=\"{job}\"}} {}", f(j));
        }
    }
}
