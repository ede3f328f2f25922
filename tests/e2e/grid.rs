use crate::helpers::{counts, quiet, settings};
use minqing_connectors::Channel;
use minqing_connectors::sign::hmac_sha256_hex;

/// Posts a batch, signed with `secret` at `ts`.
async fn post(http: &reqwest::Client, base: &str, secret: &str, ts: i64, body: String) -> (u16, String) {
    let ts = ts.to_string();
    let sig = hmac_sha256_hex(secret.as_bytes(), format!("{ts}.{body}").as_bytes());
    let r = http
        .post(format!("{base}/webhooks/grid"))
        .header("x-grid-timestamp", &ts)
        .header("x-grid-signature", sig)
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn report(id: &str, at: &str) -> serde_json::Value {
    serde_json::json!({
        "report_id": id, "grid_code": "DY-01-01", "worker_id": "W0001", "worker_name": "网格员1",
        "reported_at": at, "category": "市容环境", "description": "金湖街道港湖村垃圾堆放多日无人清运",
        "address": "金湖街道港湖村", "gps": {"lat": 30.1, "lng": 114.9}, "photos": [],
        "citizen": {"name": null, "phone": null}
    })
}

/// A caller who cannot sign makes us keep a digest, not its 8 MiB, and is
/// cut off after 30 refusals a minute; a signed report with a time nobody
/// could mean is named as quarantined in the answer, not counted accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_posts_are_bounded_and_impossible_times_are_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path());
    let rt = quiet(&s).await;
    let (http, base) = (reqwest::Client::new(), format!("http://{}", rt.api_addr));
    let now = chrono::Utc::now();
    let secret = s.connectors.grid.secret.clone();

    let good = report("GR-1", &now.to_rfc3339());
    let old = report("GR-1811", "1811-03-01T09:00:00+08:00");
    let body = serde_json::json!({"batch_id": "B1", "sent_at": now.to_rfc3339(), "reports": [good, old]}).to_string();
    let (status, answer) = post(&http, &base, &secret, now.timestamp(), body).await;
    assert_eq!(status, 200, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["accepted"], 1, "{answer}");
    assert_eq!(answer["quarantined"][0]["report_id"], "GR-1811", "{answer}");

    let big = "x".repeat(8 * 1024 * 1024 - 1024);
    let mut answers = std::collections::BTreeMap::new();
    for i in 0..35 {
        let (status, _) = post(&http, &base, "not-the-secret", now.timestamp(), format!("{i}{big}")).await;
        *answers.entry(status).or_insert(0) += 1;
    }
    assert_eq!(answers, [(401, 30), (429, 5)].into_iter().collect());
    rt.shutdown().await;

    let c = counts(&dir.path().join("minqing.db")).await;
    assert_eq!((c[&Channel::Grid].tickets, c[&Channel::Grid].quarantined), (1, 31));
    let db = std::fs::metadata(dir.path().join("minqing.db")).unwrap().len();
    let wal = std::fs::metadata(dir.path().join("minqing.db-wal")).map_or(0, |m| m.len());
    assert!(db + wal < 8 * 1024 * 1024, "30 unsigned 8 MiB posts left {} bytes", db + wal);
}
