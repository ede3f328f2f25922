//! Grid workers (网格员): push, JSON webhook.
//!
//! - **Auth:** `X-Grid-Timestamp` (unix seconds, within 300 s of our clock) and
//!   `X-Grid-Signature`, the hex HMAC-SHA256 under the shared secret of
//!   `timestamp + "." + body`. A bad signature is answered 401 and recorded in
//!   quarantine as a digest, the size and the first 256 bytes, never the
//!   body ([`crate::guard`]); past 30 refusals a minute from one address the
//!   answer is 429 and nothing is recorded.
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
use crate::guard::{self, Refusals};
use crate::pull::ChannelStats;
use crate::sign::verify_hmac_sha256_hex;
use crate::sink::AppealSink;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::net::IpAddr;
use std::sync::Arc;

pub const PATH: &str = "/webhooks/grid";

/// `[connectors.grid]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub enabled: bool,
    pub secret: crate::secret::Secret,
    /// Largest batch body accepted.
    pub max_body_bytes: usize,
    /// Refused unsigned posts recorded per source address and minute; more
    /// are answered 429 and not recorded.
    #[serde(default = "crate::guard::refusals_default")]
    pub refusals_per_minute: u32,
}

/// How far `X-Grid-Timestamp` may be from our clock.
pub const MAX_SKEW: std::time::Duration = std::time::Duration::from_secs(300);
/// What the webhook needs.
pub struct Webhook {
    pub cfg: Config,
    pub sink: Arc<dyn AppealSink>,
    pub stats: Arc<ChannelStats>,
    /// Bounds what callers who cannot sign make us record.
    refusals: Refusals,
    /// Bodies being read at once: a body must be read whole before its
    /// signature can be checked, so this bounds the memory unsigned posts
    /// can take (`READING` × `max_body_bytes`).
    reading: tokio::sync::Semaphore,
}

/// Grid bodies read at once; more posts are told to retry (503).
pub const READING: usize = 16;

impl Webhook {
    pub fn new(cfg: Config, sink: Arc<dyn AppealSink>, stats: Arc<ChannelStats>) -> Self {
        let refusals = Refusals::new(cfg.refusals_per_minute);
        Webhook {
            cfg,
            sink,
            stats,
            refusals,
            reading: tokio::sync::Semaphore::new(READING),
        }
    }
}

/// The route to mount on the API server.
pub fn router(hook: Arc<Webhook>) -> Router {
    let limit = hook.cfg.max_body_bytes;
    Router::new()
        .route(PATH, post(receive))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(hook)
}

fn header<'a>(headers: &'a HeaderMap, k: &str) -> &'a str {
    headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Checks the timestamp, before the body is read.
fn fresh(headers: &HeaderMap) -> Result<(), &'static str> {
    if guard::fresh(header(headers, "x-grid-timestamp"), MAX_SKEW) {
        Ok(())
    } else {
        Err("bad signature: X-Grid-Timestamp is missing or more than 300 s off")
    }
}

/// Checks the signature over `timestamp + "." + body`.
fn authenticate(secret: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), &'static str> {
    let h = |k: &str| header(headers, k);
    let ts = h("x-grid-timestamp");
    let mut signed = Vec::with_capacity(ts.len() + 1 + body.len());
    signed.extend_from_slice(ts.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    if !verify_hmac_sha256_hex(secret.as_bytes(), &signed, h("x-grid-signature")) {
        return Err("bad signature: X-Grid-Signature does not match the body");
    }
    Ok(())
}

/// Answers a request that failed authentication: records a digest of it
/// (unless its source is over its limit) and says why.
async fn refuse_unsigned(hook: &Webhook, ip: IpAddr, reason: &str, body: &[u8]) -> Response {
    hook.stats.record_error(&reason);
    if !hook.refusals.record(ip) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(json!({"error": "too many refused requests; slow down"})),
        )
            .into_response();
    }
    let item = Inbound::Rejected(Rejected {
        occurrence: None,
        channel: Channel::Grid,
        source_id: None,
        raw: guard::unauthenticated_record(body),
        reason: reason.to_owned(),
    });
    if let Err(e) = hook.sink.accept(vec![item]).await {
        tracing::warn!(connector = "grid", error = %e, "Refusal not recorded.");
        return (StatusCode::SERVICE_UNAVAILABLE, "temporarily unable to accept; retry").into_response();
    }
    (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": reason}))).into_response()
}

async fn receive(State(hook): State<Arc<Webhook>>, ext: Extensions, headers: HeaderMap, body: Body) -> Response {
    if let Err(reason) = fresh(&headers) {
        return refuse_unsigned(&hook, guard::source_ip(&ext), reason, b"").await;
    }
    let Ok(_reading) = hook.reading.try_acquire() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "busy; retry").into_response();
    };
    let body: Bytes = match axum::body::to_bytes(body, hook.cfg.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                axum::Json(json!({"error": "the body is over connectors.grid.max_body_bytes or was cut off"})),
            )
                .into_response();
        }
    };
    if let Err(reason) = authenticate(&hook.cfg.secret, &headers, &body) {
        return refuse_unsigned(&hook, guard::source_ip(&ext), reason, &body).await;
    }
    let (items, quarantined, answer) = match serde_json::from_slice::<Batch>(&body) {
        Ok(b) => {
            let (items, quarantined) = map_batch(&b);
            (items, quarantined, Ok(b.batch_id))
        }
        Err(e) => {
            let reason = format!("the batch is not valid JSON: {e}");
            let item = Inbound::Rejected(Rejected {
                occurrence: None,
                channel: Channel::Grid,
                source_id: None,
                raw: body.to_vec(),
                reason: reason.clone(),
            });
            (vec![item], Vec::new(), Err(reason))
        }
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
        Err(reason) => {
            hook.stats.record_error(&reason);
            (StatusCode::BAD_REQUEST, axum::Json(json!({"error": reason}))).into_response()
        }
    }
}

/// Each report mapped on its own; the bad ones quarantined and described.
fn map_batch(b: &Batch) -> (Vec<Inbound>, Vec<serde_json::Value>) {
    let mut quarantined = Vec::new();
    let items = b
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
                        occurrence: None,
                        channel: Channel::Grid,
                        source_id: id,
                        raw: raw.as_bytes().to_vec(),
                        reason,
                    })
                }
            }
        })
        .collect();
    (items, quarantined)
}

impl crate::spec::ChannelSpec for Config {
    fn channel(&self) -> Channel {
        Channel::Grid
    }

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn secrets(&self) -> Vec<crate::spec::SecretField<'_>> {
        vec![crate::spec::SecretField {
            key: "secret",
            value: &self.secret,
            kind: crate::spec::SecretKind::Own,
        }]
    }

    fn build(
        &self,
        _http: &crate::http::HttpClient,
        sink: Arc<dyn AppealSink>,
        stats: Arc<ChannelStats>,
    ) -> Result<crate::spec::Built, crate::spec::SettingError> {
        Ok(crate::spec::Built::Push(router(Arc::new(Webhook::new(self.clone(), sink, stats)))))
    }

    fn remap(&self, raw: &[u8]) -> Result<crate::appeal::RawAppeal, crate::spec::Unreadable> {
        Ok(wire::map_report(crate::spec::utf8(raw)?)?)
    }

    #[cfg(feature = "sim")]
    fn for_demo(&mut self, _from: chrono::DateTime<chrono::FixedOffset>) {
        self.enabled = true;
        self.refusals_per_minute = u32::MAX;
    }

    #[cfg(feature = "sim")]
    fn sender(&self, to: crate::sim::SendTo) -> Result<Option<crate::sim::Sending>, crate::spec::SettingError> {
        Ok(Some(sim::sender(self, to)))
    }
}
