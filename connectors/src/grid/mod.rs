//! Grid workers (网格员): push, JSON webhook.
//!
//! - **Auth:** `X-Grid-Timestamp` (unix seconds, within 300 s of our clock) and
//!   `X-Grid-Signature`, the hex HMAC-SHA256 under the shared secret of
//!   `timestamp + "." + body`. A bad signature is quarantined and answered 401.
//! - **Shape:** batches of reports with GPS coordinates and photos. Each
//!   report is mapped on its own: a bad one is quarantined and named in the
//!   answer, the others are accepted.
//! - **Delivery:** we answer 200 only once the batch is durably accepted, and
//!   503 when it is not, so the grid app re-sends; a re-sent report keeps its
//!   `report_id` and is deduplicated downstream.
//!
//! The contract is written out in `docs/channels/grid.md`.

#[cfg(feature = "sim")]
pub mod sim;
mod wire;

pub use wire::{Batch, map_report};

use crate::appeal::{Channel, Inbound, Rejected};
use crate::pull::ChannelStats;
use crate::sign::verify_hmac_sha256_hex;
use crate::sink::AppealSink;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;

pub const PATH: &str = "/webhooks/grid";

/// `[connectors.grid]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub enabled: bool,
    pub secret: String,
    /// Largest batch body accepted.
    pub max_body_bytes: usize,
}

/// What the webhook needs.
pub struct Webhook {
    pub cfg: Config,
    pub sink: Arc<dyn AppealSink>,
    pub stats: Arc<ChannelStats>,
}

/// The route to mount on the API server.
pub fn router(hook: Arc<Webhook>) -> Router {
    let limit = hook.cfg.max_body_bytes;
    Router::new()
        .route(PATH, post(receive))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(hook)
}

fn reject(channel_reason: &str, body: &[u8]) -> Inbound {
    Inbound::Rejected(Rejected {
        channel: Channel::Grid,
        source_id: None,
        raw: body.to_vec(),
        reason: channel_reason.to_owned(),
    })
}

async fn receive(State(hook): State<Arc<Webhook>>, headers: HeaderMap, body: Bytes) -> Response {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
    let ts = h("x-grid-timestamp");
    let fresh = ts.parse::<i64>().is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() <= 300);
    let mut signed = ts.as_bytes().to_vec();
    signed.push(b'.');
    signed.extend_from_slice(&body);
    let (status, reason) = if !fresh {
        (
            StatusCode::UNAUTHORIZED,
            "bad signature: X-Grid-Timestamp is missing or more than 300 s off",
        )
    } else if !verify_hmac_sha256_hex(hook.cfg.secret.as_bytes(), &signed, h("x-grid-signature")) {
        (StatusCode::UNAUTHORIZED, "bad signature: X-Grid-Signature does not match the body")
    } else {
        (StatusCode::OK, "")
    };
    let batch = if status == StatusCode::OK {
        match serde_json::from_slice::<Batch>(&body) {
            Ok(b) => Ok(b),
            Err(e) => Err((StatusCode::BAD_REQUEST, format!("the batch is not valid JSON: {e}"))),
        }
    } else {
        Err((status, reason.to_owned()))
    };
    let (items, quarantined, answer) = match batch {
        Ok(b) => {
            let mut quarantined = Vec::new();
            let items: Vec<Inbound> = b
                .reports
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let raw = r.get();
                    match map_report(raw) {
                        Ok(a) => Inbound::Appeal(Box::new(a)),
                        Err(reason) => {
                            let id = crate::appeal::json_field(raw, "report_id");
                            quarantined.push(json!({"index": i, "report_id": id, "reason": reason}));
                            Inbound::Rejected(Rejected {
                                channel: Channel::Grid,
                                source_id: id,
                                raw: raw.as_bytes().to_vec(),
                                reason,
                            })
                        }
                    }
                })
                .collect();
            (items, quarantined, Ok(b.batch_id))
        }
        Err((status, reason)) => (vec![reject(&reason, &body)], Vec::new(), Err((status, reason))),
    };
    let n = items.len();
    if let Err(e) = hook.sink.accept(items).await {
        hook.stats.record_error(&e);
        tracing::warn!(connector = "grid", error = %e, "Batch not accepted; answering 503 so it is re-sent.");
        return (StatusCode::SERVICE_UNAVAILABLE, "temporarily unable to accept; retry").into_response();
    }
    match answer {
        Ok(batch_id) => {
            hook.stats.record_success(n);
            axum::Json(json!({"batch_id": batch_id, "accepted": n - quarantined.len(), "quarantined": quarantined})).into_response()
        }
        Err((status, reason)) => {
            hook.stats.record_error(&reason);
            (status, axum::Json(json!({"error": reason}))).into_response()
        }
    }
}
