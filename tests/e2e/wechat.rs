use crate::helpers::{counts, quiet, settings};
use minqing_connectors::Channel;
use minqing_connectors::wechat::crypto::{WxCrypt, sha1_sorted};
use minqing_connectors::wechat::parse_message;
use minqing_connectors::xml::first_text;
use minqing_pipelines::ticket::{short_no, ticket_id};

struct Wx {
    base: String,
    token: String,
    crypt: WxCrypt,
    http: reqwest::Client,
}

impl Wx {
    fn new(rt: &minqing::runtime::Runtime, s: &minqing::config::Settings) -> Wx {
        let c = &s.connectors.wechat;
        Wx {
            base: format!("http://{}", rt.api_addr),
            token: c.token.expose().to_owned(),
            crypt: WxCrypt::new(&c.encoding_aes_key, &c.app_id).unwrap(),
            http: reqwest::Client::new(),
        }
    }

    fn query(&self, ts: &str, nonce: &str) -> String {
        format!(
            "signature={}&timestamp={ts}&nonce={nonce}&openid=oCitizen1",
            sha1_sorted(&[&self.token, ts, nonce])
        )
    }

    async fn post(&self, query: &str, body: String) -> (u16, String) {
        let r = self
            .http
            .post(format!("{}/webhooks/wechat?{query}", self.base))
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// Posts in safe mode and returns the decrypted reply, after checking its signature.
    async fn post_safe(&self, xml: &str, nonce: &str) -> (u16, Option<String>) {
        let ts = &now();
        let enc = self.crypt.encrypt(xml, [9; 16]);
        let q = format!(
            "{}&encrypt_type=aes&msg_signature={}",
            self.query(ts, nonce),
            sha1_sorted(&[&self.token, ts, nonce, &enc])
        );
        let (status, body) = self
            .post(
                &q,
                format!("<xml><ToUserName><![CDATA[gh_daye_minqing]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"),
            )
            .await;
        if status != 200 {
            return (status, None);
        }
        let enc = first_text(&body, "Encrypt").expect("an encrypted reply");
        let (rts, rnonce) = (first_text(&body, "TimeStamp").unwrap(), first_text(&body, "Nonce").unwrap());
        assert_eq!(
            first_text(&body, "MsgSignature").unwrap(),
            sha1_sorted(&[&self.token, &rts, &rnonce, &enc]),
            "reply signature"
        );
        (status, Some(self.crypt.decrypt(&enc).expect("the reply decrypts")))
    }
}

fn now() -> String {
    chrono::Utc::now().timestamp().to_string()
}

fn text(msg_id: &str, content: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_daye_minqing]]></ToUserName><FromUserName><![CDATA[oCitizen1]]></FromUserName><CreateTime>1780000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_follows_the_wechat_spec() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    let c = &mut s.connectors;
    for e in [
        &mut c.hotline_12345.enabled,
        &mut c.supervision.enabled,
        &mut c.yunshang_app.enabled,
        &mut c.police_110.enabled,
        &mut c.tax_12366.enabled,
    ] {
        *e = false;
    }
    let rt = quiet(&s).await;
    let wx = Wx::new(&rt, &s);

    // URL verification.
    let ok = wx
        .http
        .get(format!("{}/webhooks/wechat?{}&echostr=hello", wx.base, wx.query("1", "2")))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.text().await.unwrap(), "hello");
    let bad = wx
        .http
        .get(format!(
            "{}/webhooks/wechat?signature=00&timestamp=1&nonce=2&echostr=hello",
            wx.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);

    // Safe mode: the reply is encrypted and carries the acceptance number.
    let number = short_no(&ticket_id(Channel::Wechat, "24000000000000777"));
    let (status, reply) = wx.post_safe(&text("24000000000000777", "东岳路街道路灯不亮"), "41").await;
    assert_eq!(status, 200);
    let reply = parse_message(&reply.unwrap()).unwrap();
    assert_eq!(reply.msg_type.as_deref(), Some("text"));
    assert_eq!(reply.to_user.as_deref(), Some("oCitizen1"));
    assert!(reply.content.unwrap().contains(&number));

    // WeChat's retry of the same MsgId: the same number, still one ticket.
    let (_, again) = wx.post_safe(&text("24000000000000777", "东岳路街道路灯不亮"), "42").await;
    assert!(parse_message(&again.unwrap()).unwrap().content.unwrap().contains(&number));
    let (_, third) = wx.post_safe(&text("24000000000000778", "垃圾没人清运"), "43").await;
    assert!(parse_message(&third.unwrap()).unwrap().content.unwrap().contains("DY-"));

    // Safe mode, the default, takes no plaintext.
    let (status, reason) = wx.post(&wx.query(&now(), "6"), text("24000000000000779", "噪音扰民")).await;
    assert_eq!(status, 400);
    assert!(reason.contains("safe mode"), "{reason}");

    // A follow gets the welcome; no ticket.
    let follow = "<xml><ToUserName>gh</ToUserName><FromUserName>oCitizen1</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>";
    let (_, welcome) = wx.post_safe(follow, "44").await;
    assert!(parse_message(&welcome.unwrap()).unwrap().content.unwrap().contains("欢迎"));

    // Bad signature: 401; bad AES block: 400; both quarantined with the reason.
    let (status, _) = wx.post("signature=0000&timestamp=1&nonce=2", text("1", "x")).await;
    assert_eq!(status, 401);
    let (ts, nonce, junk) = (&now(), "8", "WldXV1dXV1dXV1dXV1dXV1dXV1dXV1dXV1dXV1dXV1dX");
    let q = format!(
        "{}&encrypt_type=aes&msg_signature={}",
        wx.query(ts, nonce),
        sha1_sorted(&[&wx.token, ts, nonce, junk])
    );
    let (status, reason) = wx
        .post(&q, format!("<xml><ToUserName>gh</ToUserName><Encrypt>{junk}</Encrypt></xml>"))
        .await;
    assert_eq!(status, 400);
    assert!(reason.contains("bad AES block"), "{reason}");

    // Health, readiness, status, metrics.
    let get = |p: &str| wx.http.get(format!("{}{p}", wx.base)).send();
    assert_eq!(get("/healthz").await.unwrap().text().await.unwrap(), "ok");
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    let status: serde_json::Value = get("/status").await.unwrap().json().await.unwrap();
    assert_eq!(status["channels"].as_object().unwrap().len(), 7);
    assert_eq!(status["channels"]["wechat"]["intake"]["tickets"], 2);
    assert_eq!(status["channels"]["wechat"]["intake"]["replays"], 1);
    assert_eq!(status["channels"]["hotline_12345"]["enabled"], false);
    let metrics = get("/metrics").await.unwrap();
    let kind = metrics.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    let metrics = metrics.text().await.unwrap();
    assert!(metrics.contains("minqing_intake_tickets_total{channel=\"wechat\"} 2"), "{metrics}");
    assert_metric_families(&metrics);

    rt.shutdown().await;
    let c = counts(&dir.path().join("minqing.db")).await;
    assert_eq!(c[&Channel::Wechat].tickets, 2);
    assert_eq!(
        c[&Channel::Wechat].quarantined,
        3,
        "bad signature, bad AES block, plaintext in safe mode"
    );
}

/// Every family `/metrics` has shown since it was written by hand, with its
/// kind: dashboards and alerts (docs/runbook.md) query these names.
fn assert_metric_families(metrics: &str) {
    let counters = [
        "minqing_intake_tickets_total",
        "minqing_intake_replays_total",
        "minqing_intake_redelivered_total",
        "minqing_intake_duplicates_total",
        "minqing_intake_quarantined_total",
        "minqing_intake_updates_total",
        "minqing_intake_batch_failures_total",
        "minqing_connector_polls_total",
        "minqing_connector_items_total",
        "minqing_connector_errors_total",
        "minqing_forward_delivered_total",
        "minqing_forward_repeats_total",
        "minqing_forward_retries_total",
        "minqing_forward_parked_total",
        "minqing_warehouse_relay_events_total",
        "minqing_warehouse_relay_failures_total",
        "minqing_sla_sweeps_total",
        "minqing_sla_sweep_failures_total",
        "minqing_sla_sign_overdue_total",
        "minqing_sla_reply_overdue_total",
        "minqing_supervision_phone_total",
        "minqing_supervision_written_total",
        "minqing_clue_transfers_total",
        "minqing_job_runs_total",
        "minqing_job_failures_total",
        "minqing_job_busy_seconds_total",
    ];
    let gauges = [
        "minqing_warehouse_outbox_rows",
        "minqing_provisional_orders",
        "minqing_job_last_success_timestamp_seconds",
        "minqing_job_running",
        "minqing_forward_outbox",
    ];
    let families = (counters.iter().map(|n| (n, "counter")))
        .chain(gauges.iter().map(|n| (n, "gauge")))
        .chain([(&"minqing_ingest_latency_seconds", "histogram")]);
    for (name, kind) in families {
        let line = format!("# TYPE {name} {kind}");
        assert!(metrics.lines().any(|l| l == line), "{line} not in\n{metrics}");
    }
    for line in [
        "minqing_warehouse_outbox_rows{state=\"waiting\"}",
        "minqing_forward_outbox{status=\"pending\"}",
        "minqing_connector_polls_total{channel=\"hotline_12345\"}",
        "minqing_ingest_latency_seconds_bucket{store=\"workflow\",le=\"+Inf\"}",
        "minqing_ingest_latency_seconds_count{store=\"warehouse\"}",
    ] {
        assert!(metrics.contains(line), "{line} not in\n{metrics}");
    }
}

fn msg(msg_id: &str, from: &str, create_time: i64, content: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_daye_minqing]]></ToUserName><FromUserName><![CDATA[{from}]]></FromUserName><CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
}

/// In compat mode the URL's signature does not cover a plaintext body: the
/// timestamp window, the nonce cache and the openid check are what stop a
/// forged appeal. A `CreateTime` nobody could mean is refused before the
/// citizen is told "accepted". Refusals of unsigned requests are bounded
/// per address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_stale_replayed_and_impossible_messages_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.connectors.wechat.mode = minqing_connectors::wechat::Mode::Compat;
    let rt = quiet(&s).await;
    let wx = Wx::new(&rt, &s);
    let t = chrono::Utc::now().timestamp();

    // The probe's forgery: a signature over an old timestamp.
    let (status, reason) = wx
        .post(&wx.query("1000000000", "1"), msg("9001", "oCitizen1", t, "伪造的诉求"))
        .await;
    assert_eq!((status, reason.contains("stale")), (401, true), "{reason}");

    // A fresh signed URL is taken once, again with its own body (WeChat's
    // retry, the same ticket), and never with another body.
    let ts = now();
    let (status, body) = wx.post(&wx.query(&ts, "77"), msg("9002", "oCitizen1", t, "路灯坏了")).await;
    assert_eq!(status, 200, "{body}");
    let (status, again) = wx.post(&wx.query(&ts, "77"), msg("9002", "oCitizen1", t, "路灯坏了")).await;
    assert_eq!((status, again.contains("DY-")), (200, true), "{again}");
    let (status, reason) = wx.post(&wx.query(&ts, "77"), msg("9003", "oCitizen1", t, "伪造")).await;
    assert_eq!((status, reason.contains("replayed")), (401, true), "{reason}");

    // The body names another sender than the signed URL.
    let (status, reason) = wx.post(&wx.query(&now(), "78"), msg("9004", "oSomeoneElse", t, "伪造")).await;
    assert_eq!((status, reason.contains("openid")), (400, true), "{reason}");

    // 1811 and ten years ahead: refused with the truth, not "受理".
    for (n, at) in [("79", -4_911_000_000_i64), ("80", t + 10 * 365 * 86_400)] {
        let (status, reason) = wx
            .post(&wx.query(&now(), n), msg(&format!("99{n}"), "oCitizen1", at, "时间不对"))
            .await;
        assert_eq!(status, 400, "{reason}");
        assert!(reason.contains("CreateTime") && !reason.contains("受理"), "{reason}");
    }

    // Unsigned requests from one address: 28 more are recorded (two were
    // above), the rest answered 429 and not kept.
    let mut answers = std::collections::BTreeMap::new();
    for i in 0..40 {
        let body = format!("{i}{}", "x".repeat(100_000));
        let (status, _) = wx.post(&format!("signature=00&timestamp={t}&nonce=f{i}"), body).await;
        *answers.entry(status).or_insert(0) += 1;
    }
    assert_eq!(answers, [(401, 28), (429, 12)].into_iter().collect());

    rt.shutdown().await;
    let c = counts(&dir.path().join("minqing.db")).await;
    assert_eq!(c[&Channel::Wechat].tickets, 1);
    assert_eq!(c[&Channel::Wechat].quarantined, 2 + 1 + 2 + 28);
    // What an unsigned caller made us keep: a digest and a prefix, not its body.
    let q = minqing::commands::quarantine::list(
        &s,
        &minqing_pipelines::store::QuarantineQuery {
            limit: 1000,
            ..Default::default()
        },
        true,
    )
    .await
    .unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&q).unwrap();
    let biggest = rows.iter().map(|r| r["raw_bytes"].as_u64().unwrap()).max().unwrap();
    assert!(biggest < 1000, "an unsigned 100 kB body left {biggest} bytes");
}
