//! The HTTP server: the axum router on hyper, with the limits that keep
//! slow or numerous callers from holding the gateway (DESIGN.md §7).
//!
//! `axum::serve` gives hyper no timer, so hyper's header-read timeout never
//! fires: a probe held 500 connections that sent half a request line
//! indefinitely, and with a low file limit `/healthz` stopped answering.
//! This loop is axum's, plus:
//!
//! - at most `max_connections` open connections; past that, accepting waits
//!   until one closes (the kernel's backlog holds the rest);
//! - `header_timeout` to receive a request's headers, on a real timer;
//! - `request_timeout` for a whole request, body included (tower-http
//!   answers 408);
//! - at most `max_in_flight` requests being handled at once by the webhooks
//!   and `/api/v1` together (others wait; [`limited`]), so that `/healthz`,
//!   `/readyz`, `/status` and `/metrics` answer when they are busy;
//! - HTTP/1 only.
//!
//! Per-route body limits stay with the routes (`DefaultBodyLimit`).

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// `[server]` limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Open connections at most.
    pub max_connections: usize,
    /// Seconds a caller has to send a request's headers.
    pub header_timeout_secs: u64,
    /// Seconds a request may take, reading its body included.
    pub request_timeout_secs: u64,
    /// Requests handled at once at most.
    pub max_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            header_timeout_secs: 10,
            request_timeout_secs: 60,
            max_in_flight: 512,
        }
    }
}

impl Limits {
    pub fn check(&self, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        if self.max_connections == 0 || self.max_in_flight == 0 {
            out.push(format!(
                "`{prefix}.max_connections` and `{prefix}.max_in_flight`: must be at least 1"
            ));
        }
        if self.header_timeout_secs == 0 || self.request_timeout_secs == 0 {
            out.push(format!(
                "`{prefix}.header_timeout_secs` and `{prefix}.request_timeout_secs`: must be at least 1"
            ));
        }
        out
    }
}

/// `routes` with at most `max_in_flight` requests handled at once across
/// all of them (one semaphore, not one per route); for the webhooks and
/// `/api/v1`, so that health and metrics still answer when they are full.
pub fn limited(routes: Router, limits: &Limits) -> Router {
    routes.layer(tower::limit::GlobalConcurrencyLimitLayer::new(limits.max_in_flight))
}

/// Serves `app` on `listener` until `shutdown`, then lets open requests
/// finish (the caller bounds how long it waits).
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, shutdown: CancellationToken) {
    let app = app.into_service::<Body>();
    let app = tower::ServiceBuilder::new()
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(limits.request_timeout_secs),
        ))
        .service(app);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let connections = TaskTracker::new();
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            _ = shutdown.cancelled() => break,
        };
        let (stream, addr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(v) => v,
                Err(e) => {
                    // Out of file descriptors, mostly: wait rather than spin.
                    tracing::warn!(error = %e, "Accepting a connection failed.");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        let svc = app.clone().map_request(move |req: axum::http::Request<Incoming>| {
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(ConnectInfo(addr));
            req
        });
        let shutdown = shutdown.clone();
        let header_timeout = Duration::from_secs(limits.header_timeout_secs);
        connections.spawn(async move {
            let _permit = permit;
            // HTTP/1 only: WeChat, the grid app and Huangshi speak it, and
            // HTTP/2 would let one connection carry hundreds of requests and
            // idle past the header timeout.
            let mut builder = Builder::new(TokioExecutor::new()).http1_only();
            builder.http1().timer(TokioTimer::new()).header_read_timeout(header_timeout);
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(svc));
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    connections.close();
    connections.wait().await;
}
