//! Transport faults for the simulators: HTTP 500s, 429s with `Retry-After`
//! and slow answers, chosen deterministically from the seed and the request's
//! sequence number so a run can be repeated.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Rates are per request, in `[0, 1]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpFaults {
    pub error_rate: f64,
    pub throttle_rate: f64,
    /// Seconds sent in `Retry-After` with a 429.
    pub retry_after_secs: u64,
    pub slow_rate: f64,
    pub slow_ms: u64,
}

impl Default for HttpFaults {
    fn default() -> Self {
        HttpFaults {
            error_rate: 0.02,
            throttle_rate: 0.01,
            retry_after_secs: 1,
            slow_rate: 0.02,
            slow_ms: 150,
        }
    }
}

impl HttpFaults {
    pub fn none() -> Self {
        HttpFaults {
            error_rate: 0.0,
            throttle_rate: 0.0,
            retry_after_secs: 0,
            slow_rate: 0.0,
            slow_ms: 0,
        }
    }
}

/// Counts what was injected, for the demo's report.
#[derive(Debug, Default)]
pub struct FaultCounts {
    pub requests: AtomicU64,
    pub errors: AtomicU64,
    pub throttles: AtomicU64,
    pub slow: AtomicU64,
}

/// The injector shared by one simulator's routes.
#[derive(Debug)]
pub struct FaultInjector {
    seed: u64,
    cfg: HttpFaults,
    pub counts: FaultCounts,
}

impl FaultInjector {
    pub fn new(seed: u64, cfg: HttpFaults) -> Arc<Self> {
        Arc::new(FaultInjector {
            seed,
            cfg,
            counts: FaultCounts::default(),
        })
    }

    /// A number in `[0, 1)` from the seed and the request number (splitmix64).
    fn roll(&self, n: u64, salt: u64) -> f64 {
        let mut z = self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Axum middleware: `axum::middleware::from_fn_with_state(injector, inject)`.
pub async fn inject(State(f): State<Arc<FaultInjector>>, req: Request, next: Next) -> Response {
    let n = f.counts.requests.fetch_add(1, Ordering::Relaxed);
    // Token and health endpoints stay clean so a fault always costs a retry of
    // the data request itself.
    if req.uri().path().starts_with("/oauth") {
        return next.run(req).await;
    }
    if f.roll(n, 1) < f.cfg.error_rate {
        f.counts.errors.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::INTERNAL_SERVER_ERROR, "simulated upstream failure").into_response();
    }
    if f.roll(n, 2) < f.cfg.throttle_rate {
        f.counts.throttles.fetch_add(1, Ordering::Relaxed);
        let mut resp = (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response();
        if let Ok(v) = HeaderValue::from_str(&f.cfg.retry_after_secs.to_string()) {
            resp.headers_mut().insert("retry-after", v);
        }
        return resp;
    }
    if f.roll(n, 3) < f.cfg.slow_rate {
        f.counts.slow.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(f.cfg.slow_ms)).await;
    }
    next.run(req).await
}
