//! The grid app's side: pushes the feed to our webhook in signed batches.

use super::PATH;
use crate::sign::hmac_sha256_hex;
use crate::sim::{Entry, EntryKind, Malform, server, visible};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How this channel's traffic looks in the demo. Grid workers push signed batches with coordinates.
pub const PROFILE: crate::sim::Profile = {
    use crate::sim::Malform::*;
    crate::sim::Profile::new(0.14, &[BadSignature, MissingContent, BadGps], |serial, _| format!("WG-{serial:08}"))
};

/// What the pusher saw.
#[derive(Debug, Default)]
pub struct PushStats {
    pub batches: AtomicU64,
    pub reports: AtomicU64,
    pub retries: AtomicU64,
    pub refused: AtomicU64,
}

pub struct Pusher {
    pub feed: Arc<Vec<Entry>>,
    pub target: String,
    pub secret: String,
    pub batch_size: usize,
    pub concurrency: usize,
    pub stats: Arc<PushStats>,
}

impl Pusher {
    /// Pushes every entry as it becomes visible, until all are delivered or
    /// `cancel` fires. Badly signed entries go alone in a batch of their own.
    pub async fn run(self, cancel: CancellationToken) {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("static client");
        let url = format!("{}{PATH}", self.target);
        let sem = Arc::new(tokio::sync::Semaphore::new(self.concurrency.max(1)));
        let mut next = 0;
        let mut batch_no = 0u64;
        let mut tasks = tokio::task::JoinSet::new();
        while next < self.feed.len() && !cancel.is_cancelled() {
            let upto = visible(&self.feed, server::now());
            if upto <= next {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(200)) => continue,
                    _ = cancel.cancelled() => break,
                }
            }
            let mut batch = Vec::new();
            let mut forged = false;
            let first = next;
            while next < upto && batch.len() < self.batch_size {
                let e = &self.feed[next];
                let bad = e.kind == EntryKind::Malformed(Malform::BadSignature);
                if bad && !batch.is_empty() {
                    break;
                }
                batch.push(render(e));
                next += 1;
                if bad {
                    forged = true;
                    break;
                }
            }
            batch_no += 1;
            // Stamped from the feed, not the clock, so a re-sent batch is byte
            // for byte the same, as the grid app's own retry would be.
            let sent_at = self.feed[first..next]
                .iter()
                .map(|e| e.delivered_at)
                .max()
                .unwrap_or_else(server::now);
            let body = json!({"batch_id": format!("B{batch_no:07}"), "sent_at": sent_at.to_rfc3339(), "reports": batch}).to_string();
            let permit = sem.clone().acquire_owned().await.expect("semaphore open");
            let (client, url, secret, stats, cancel) =
                (client.clone(), url.clone(), self.secret.clone(), self.stats.clone(), cancel.clone());
            let n = batch.len() as u64;
            tasks.spawn(async move {
                let _permit = permit;
                deliver(&client, &url, &secret, body, forged, &stats, &cancel).await;
                stats.batches.fetch_add(1, Ordering::Relaxed);
                stats.reports.fetch_add(n, Ordering::Relaxed);
            });
        }
        while tasks.join_next().await.is_some() {}
    }
}

async fn deliver(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    body: String,
    forged: bool,
    stats: &PushStats,
    cancel: &CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    while !cancel.is_cancelled() {
        let ts = chrono::Utc::now().timestamp().to_string();
        let key = if forged { b"not-the-secret".as_slice() } else { secret.as_bytes() };
        let sig = hmac_sha256_hex(key, format!("{ts}.{body}").as_bytes());
        let res = client
            .post(url)
            .header("content-type", "application/json")
            .header("X-Grid-Timestamp", ts)
            .header("X-Grid-Signature", sig)
            .body(body.clone())
            .send()
            .await;
        match res {
            Ok(r) if r.status().is_success() => return,
            Ok(r) if r.status().is_client_error() => {
                stats.refused.fetch_add(1, Ordering::Relaxed);
                return;
            }
            _ => {
                stats.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

fn render(e: &Entry) -> serde_json::Value {
    let a = &e.appeal;
    let mut v = json!({
        "report_id": a.source_id,
        "grid_code": format!("DY-{:02}-{:02}", a.serial % 18, a.serial % 7),
        "worker_id": format!("W{:04}", a.serial % 600),
        "worker_name": format!("网格员{}", a.serial % 600),
        "reported_at": a.received_at.to_rfc3339(),
        "category": a.text.category,
        "description": a.text.content,
        "address": a.text.address,
        "gps": {"lat": a.coords.0, "lng": a.coords.1},
        "photos": [format!("https://grid.daye.example/photos/{}.jpg", a.source_id)],
        "citizen": {"name": a.person.name, "phone": a.phone_shown},
    });
    match e.kind {
        EntryKind::Malformed(Malform::MissingContent) => {
            v.as_object_mut().map(|o| o.remove("description"));
        }
        EntryKind::Malformed(Malform::BadGps) => v["gps"]["lat"] = 123.4.into(),
        _ => {}
    }
    v
}

/// The simulated sender for the registry: grid workers' phones pushing
/// `feed` to `target`, signed with the secret of `cfg`. Grid answers carry
/// nothing to check, so no replies are counted.
pub(crate) fn sender(cfg: &super::Config, to: crate::sim::SendTo) -> crate::sim::Sending {
    let crate::sim::SendTo { feed, target, cancel } = to;
    let pusher = Pusher {
        feed,
        target,
        secret: cfg.secret.expose().to_owned(),
        batch_size: 50,
        concurrency: 16,
        stats: Arc::default(),
    };
    crate::sim::Sending {
        run: Box::pin(pusher.run(cancel)),
        replies: Arc::new(|| (0, 0)),
    }
}
