//! A simulator of Huangshi's transfer API: verifies the signature and the
//! idempotency key, refuses repeats with 409, and can be down for a while.

use super::{PATH, Transfer, signing_input};
use crate::sign::verify_hmac_sha256_hex;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct Counters {
    /// Distinct transfers accepted.
    pub received: AtomicU64,
    /// Repeats refused with 409.
    pub duplicates_refused: AtomicU64,
    pub bad_signature: AtomicU64,
    /// Requests answered 503 while down.
    pub refused_while_down: AtomicU64,
}

pub struct HuangshiSim {
    app_key: String,
    secret: String,
    pub counters: Counters,
    /// Transfer id → (Huangshi's number, the transfer).
    received: Mutex<HashMap<String, (String, Transfer)>>,
    down_until: Mutex<Option<Instant>>,
}

impl HuangshiSim {
    pub fn new(app_key: &str, secret: &str) -> Arc<Self> {
        Arc::new(HuangshiSim {
            app_key: app_key.into(),
            secret: secret.into(),
            counters: Counters::default(),
            received: Mutex::new(HashMap::new()),
            down_until: Mutex::new(None),
        })
    }

    /// Answers 503 for the next `d`.
    pub fn down_for(&self, d: Duration) {
        *self.down_until.lock().expect("sim lock") = Some(Instant::now() + d);
    }

    pub fn up(&self) {
        *self.down_until.lock().expect("sim lock") = None;
    }

    /// The transfers received, by transfer id.
    pub fn transfers(&self) -> HashMap<String, Transfer> {
        let r = self.received.lock().expect("sim lock");
        r.iter().map(|(k, (_, t))| (k.clone(), t.clone())).collect()
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new().route(PATH, post(receive)).with_state(self.clone())
    }

    fn is_down(&self) -> bool {
        let mut d = self.down_until.lock().expect("sim lock");
        match *d {
            Some(t) if Instant::now() < t => true,
            Some(_) => {
                *d = None;
                false
            }
            None => false,
        }
    }
}

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({"error": msg.into()}))).into_response()
}

async fn receive(State(sim): State<Arc<HuangshiSim>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if sim.is_down() {
        sim.counters.refused_while_down.fetch_add(1, Ordering::Relaxed);
        return ([("retry-after", "1")], error(StatusCode::SERVICE_UNAVAILABLE, "maintenance")).into_response();
    }
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let (app_key, ts, key, sig) = (h("x-app-key"), h("x-timestamp"), h("idempotency-key"), h("x-signature"));
    let fresh = ts.parse::<i64>().is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() <= 300);
    if app_key != sim.app_key || !fresh || !verify_hmac_sha256_hex(sim.secret.as_bytes(), &signing_input(&app_key, &ts, &key, &body), &sig)
    {
        sim.counters.bad_signature.fetch_add(1, Ordering::Relaxed);
        return error(StatusCode::UNAUTHORIZED, "bad signature, app key or timestamp");
    }
    let t: Transfer = match serde_json::from_slice(&body) {
        Ok(t) => t,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("body: {e}")),
    };
    if t.transfer_id != key || key.is_empty() {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Idempotency-Key must equal transfer_id");
    }
    let mut r = sim.received.lock().expect("sim lock");
    if let Some((no, _)) = r.get(&key) {
        sim.counters.duplicates_refused.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::CONFLICT, Json(json!({"huangshi_no": no}))).into_response();
    }
    let no = format!("HS{:010}", r.len() + 1);
    r.insert(key, (no.clone(), t));
    sim.counters.received.fetch_add(1, Ordering::Relaxed);
    (StatusCode::CREATED, Json(json!({"huangshi_no": no}))).into_response()
}

#[cfg(test)]
mod tests {
    use super::super::{Client, HuangshiSettings, Outcome, TransferContact};
    use super::*;
    use tokio_util::sync::CancellationToken;

    fn transfer(id: &str) -> Transfer {
        Transfer {
            transfer_id: id.into(),
            acceptance_no: "DY-00000-00001".into(),
            from: "大冶市12345".into(),
            received_at: "2026-06-01T09:58:00+08:00".into(),
            channel: "hotline_12345".into(),
            class: "bank".into(),
            reason: "银行业监管: 银行 + 年费".into(),
            title: Some("银行卡乱扣年费".into()),
            content: "农商行乱扣年费".into(),
            appeal_type: Some("complaint".into()),
            town: Some("金湖街道".into()),
            location: None,
            contact: TransferContact {
                name: Some("王伟".into()),
                phone: Some("13800001111".into()),
            },
        }
    }

    #[tokio::test]
    async fn delivered_once_refused_repeats_down_means_retry_and_bad_keys_are_refused() {
        let sim = HuangshiSim::new("daye", "s3cret");
        let cancel = CancellationToken::new();
        let running = crate::sim::server::serve(sim.router(), "127.0.0.1:0".parse().unwrap(), cancel.clone())
            .await
            .unwrap();
        let settings = HuangshiSettings {
            base_url: running.base_url(),
            app_key: "daye".into(),
            secret: "s3cret".into(),
            timeout_ms: 5000,
        };
        let client = Client::new(settings.clone());

        let first = client.send(&transfer("t1")).await;
        assert!(
            matches!(&first, Outcome::Delivered { repeat: false, huangshi_no } if huangshi_no.starts_with("HS")),
            "{first:?}"
        );
        let again = client.send(&transfer("t1")).await;
        assert!(matches!(again, Outcome::Delivered { repeat: true, .. }), "{again:?}");
        assert_eq!(sim.counters.received.load(Ordering::Relaxed), 1);
        assert_eq!(sim.counters.duplicates_refused.load(Ordering::Relaxed), 1);
        assert_eq!(sim.transfers()["t1"].contact.phone.as_deref(), Some("13800001111"));

        sim.down_for(Duration::from_secs(60));
        let down = client.send(&transfer("t2")).await;
        assert!(
            matches!(&down, Outcome::Retry { after: Some(d), .. } if *d == Duration::from_secs(1)),
            "{down:?}"
        );
        sim.up();
        assert!(matches!(
            client.send(&transfer("t2")).await,
            Outcome::Delivered { repeat: false, .. }
        ));

        let forged = Client::new(HuangshiSettings {
            secret: "wrong".into(),
            ..settings.clone()
        });
        let refused = forged.send(&transfer("t3")).await;
        assert!(
            matches!(&refused, Outcome::Refused { reason } if reason.contains("401")),
            "{refused:?}"
        );
        assert_eq!(sim.counters.received.load(Ordering::Relaxed), 2);

        cancel.cancel();
        let _ = running.handle.await;
        let gone = client.send(&transfer("t4")).await;
        assert!(matches!(gone, Outcome::Retry { .. }), "{gone:?}");
    }
}
