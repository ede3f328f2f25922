//! WeChat's side: verifies our URL, then pushes the feed as WeChat does,
//! signed, encrypted in safe mode, re-sent when no answer comes in 5 s, and
//! checks every passive reply (signature, decryption, acceptance number).

use super::PATH;
use super::crypto::{WxCrypt, sha1_sorted};
use super::wire::{Encrypted, parse_message};
use crate::sim::{Entry, EntryKind, Malform, WxKind, server, visible};
use crate::xml::cdata;
use base64::Engine;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How this channel's traffic looks in the demo. WeChat knows citizens by openid, retries a message it got no answer to, and carries pictures and locations.
pub const PROFILE: crate::sim::Profile = {
    use crate::sim::Malform::*;
    crate::sim::Profile::new(0.14, &[BadSignature, BadAes, BadXml], |serial, _| {
        (24_000_000_000_000_000u64 + serial * 7919).to_string()
    })
    .wechat()
};

#[derive(Debug, Default)]
pub struct PushStats {
    pub messages: AtomicU64,
    pub retries: AtomicU64,
    pub refused: AtomicU64,
    pub replies_ok: AtomicU64,
    pub replies_bad: AtomicU64,
    pub subscribes: AtomicU64,
    pub url_verified: AtomicU64,
}

pub struct Pusher {
    pub feed: Arc<Vec<Entry>>,
    pub target: String,
    pub token: String,
    pub crypt: WxCrypt,
    pub account_id: String,
    /// Share of messages sent encrypted (1.0 = safe mode only).
    pub encrypted_share: f64,
    pub concurrency: usize,
    pub stats: Arc<PushStats>,
}

struct Shot {
    query: String,
    body: String,
    encrypted: bool,
}

impl Pusher {
    fn sign(&self, ts: &str, nonce: &str) -> String {
        sha1_sorted(&[&self.token, ts, nonce])
    }

    /// The XML WeChat would send for an entry.
    fn message(&self, e: &Entry) -> String {
        let a = &e.appeal;
        let head = format!(
            "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{}</CreateTime>",
            cdata(&self.account_id),
            cdata(&a.openid),
            a.received_at.timestamp()
        );
        let body = match a.wx {
            WxKind::Text => format!("<MsgType><![CDATA[text]]></MsgType><Content>{}</Content>", cdata(&a.text.content)),
            WxKind::Image => format!(
                "<MsgType><![CDATA[image]]></MsgType><PicUrl>{}</PicUrl><MediaId>{}</MediaId>",
                cdata(&format!("http://mmbiz.qpic.cn/mmbiz_jpg/{}/0", a.source_id)),
                cdata(&format!("media_{}", a.source_id))
            ),
            WxKind::Location => format!(
                "<MsgType><![CDATA[location]]></MsgType><Location_X>{:.6}</Location_X><Location_Y>{:.6}</Location_Y><Scale>15</Scale><Label>{}</Label>",
                a.coords.0,
                a.coords.1,
                cdata(&a.text.address)
            ),
        };
        if e.kind == EntryKind::Malformed(Malform::BadXml) {
            return format!("{head}<MsgType>text</MsgType><Content>{}</xml>", a.text.content);
        }
        format!("{head}{body}<MsgId>{}</MsgId></xml>", a.source_id)
    }

    fn shot(&self, e: &Entry, plain: &str, serial: u64) -> Shot {
        let ts = chrono::Utc::now().timestamp().to_string();
        let nonce = format!("{}", 100_000 + serial);
        let openid = &e.appeal.openid;
        let mut sig = self.sign(&ts, &nonce);
        if e.kind == EntryKind::Malformed(Malform::BadSignature) {
            sig = "0".repeat(40);
        }
        let bad_aes = e.kind == EntryKind::Malformed(Malform::BadAes);
        let encrypt = bad_aes || (e.appeal.serial % 100) as f64 / 100.0 < self.encrypted_share;
        if !encrypt {
            return Shot {
                query: format!("signature={sig}&timestamp={ts}&nonce={nonce}&openid={openid}"),
                body: plain.to_owned(),
                encrypted: false,
            };
        }
        let enc = if bad_aes {
            // A corrupted ciphertext: 33 bytes, never a whole number of blocks.
            let mut junk = [0x5Au8; 33];
            junk[..8].copy_from_slice(&e.appeal.serial.to_be_bytes());
            base64::engine::general_purpose::STANDARD.encode(junk)
        } else {
            self.crypt.encrypt(plain, [(serial % 251) as u8; 16])
        };
        let msg_sig = sha1_sorted(&[&self.token, &ts, &nonce, &enc]);
        Shot {
            query: format!("signature={sig}&timestamp={ts}&nonce={nonce}&openid={openid}&encrypt_type=aes&msg_signature={msg_sig}"),
            body: format!(
                "<xml><ToUserName>{}</ToUserName><Encrypt>{}</Encrypt></xml>",
                cdata(&self.account_id),
                cdata(&enc)
            ),
            encrypted: true,
        }
    }

    /// Checks a passive reply the way the WeChat server would.
    fn reply_ok(&self, shot: &Shot, body: &str, want_number: bool) -> bool {
        let plain = if shot.encrypted {
            let Ok(env) = quick_xml::de::from_str::<Encrypted>(body) else {
                return false;
            };
            let (Some(sig), Some(ts), Some(nonce)) = (
                crate::xml::first_text(body, "MsgSignature"),
                crate::xml::first_text(body, "TimeStamp"),
                crate::xml::first_text(body, "Nonce"),
            ) else {
                return false;
            };
            if sha1_sorted(&[&self.token, &ts, &nonce, &env.encrypt]) != sig {
                return false;
            }
            match self.crypt.decrypt(&env.encrypt) {
                Ok(p) => p,
                Err(_) => return false,
            }
        } else {
            body.to_owned()
        };
        parse_message(&plain)
            .is_ok_and(|m| m.msg_type.as_deref() == Some("text") && (!want_number || m.content.is_some_and(|c| c.contains("DY-"))))
    }

    /// Verifies the URL, sends a few follows, then pushes every entry.
    pub async fn run(self, cancel: CancellationToken) {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("static client");
        let url = format!("{}{PATH}", self.target);
        let ts = chrono::Utc::now().timestamp().to_string();
        let verify = format!("{url}?signature={}&timestamp={ts}&nonce=1&echostr=echo{ts}", self.sign(&ts, "1"));
        if let Ok(r) = client.get(&verify).send().await
            && r.text().await.is_ok_and(|t| t == format!("echo{ts}"))
        {
            self.stats.url_verified.fetch_add(1, Ordering::Relaxed);
        }
        let me = Arc::new(self);
        let sem = Arc::new(tokio::sync::Semaphore::new(me.concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        let mut next = 0;
        while next < me.feed.len() && !cancel.is_cancelled() {
            let upto = visible(&me.feed, server::now());
            if upto <= next {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(200)) => continue,
                    _ = cancel.cancelled() => break,
                }
            }
            for i in next..upto {
                let permit = sem.clone().acquire_owned().await.expect("semaphore open");
                let (me, client, url, cancel) = (me.clone(), client.clone(), url.clone(), cancel.clone());
                tasks.spawn(async move {
                    let _permit = permit;
                    let e = &me.feed[i];
                    if i % 50 == 0 {
                        me.follow(&client, &url, &e.appeal.openid, i as u64).await;
                    }
                    let plain = me.message(e);
                    me.push(&client, &url, e, &plain, i as u64, &cancel).await;
                });
                while tasks.try_join_next().is_some() {}
            }
            next = upto;
        }
        while tasks.join_next().await.is_some() {}
    }

    async fn follow(&self, client: &reqwest::Client, url: &str, openid: &str, serial: u64) {
        let xml = format!(
            "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>",
            cdata(&self.account_id),
            cdata(openid),
            chrono::Utc::now().timestamp()
        );
        // WeChat names the follower in the URL too.
        let mut follower = self.feed[0].appeal.as_ref().clone();
        follower.openid = openid.to_owned();
        let e = Entry {
            kind: EntryKind::Fresh,
            appeal: Arc::new(follower),
            delivered_at: server::now(),
        };
        let shot = self.shot(&e, &xml, serial + 1_000_000);
        if let Ok(r) = client.post(format!("{url}?{}", shot.query)).body(shot.body.clone()).send().await
            && let Ok(body) = r.text().await
            && self.reply_ok(&shot, &body, false)
        {
            self.stats.subscribes.fetch_add(1, Ordering::Relaxed);
        }
    }

    async fn push(&self, client: &reqwest::Client, url: &str, e: &Entry, plain: &str, serial: u64, cancel: &CancellationToken) {
        self.stats.messages.fetch_add(1, Ordering::Relaxed);
        // WeChat tries a message three times; we go on a little longer when
        // our own gateway says 503, so a slow start does not lose the test.
        for attempt in 0..20 {
            if cancel.is_cancelled() {
                return;
            }
            if attempt > 0 {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200 * attempt.min(10))).await;
            }
            let shot = self.shot(e, plain, serial);
            match client
                .post(format!("{url}?{}", shot.query))
                .header("content-type", "text/xml")
                .body(shot.body.clone())
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => {
                    let body = r.text().await.unwrap_or_default();
                    let counter = if self.reply_ok(&shot, &body, true) {
                        &self.stats.replies_ok
                    } else {
                        &self.stats.replies_bad
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Ok(r) if r.status().is_client_error() => {
                    self.stats.refused.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                _ => continue,
            }
        }
    }
}

/// The simulated sender for the registry: WeChat pushing `feed` to
/// `target` with the token and key of `cfg`, in the share of encrypted
/// messages its mode implies.
pub(crate) fn sender(cfg: &super::Config, to: crate::sim::SendTo) -> Result<crate::sim::Sending, String> {
    let crate::sim::SendTo { feed, target, cancel } = to;
    let stats = Arc::new(PushStats::default());
    let pusher = Pusher {
        feed,
        target,
        token: cfg.token.expose().to_owned(),
        crypt: WxCrypt::new(&cfg.encoding_aes_key, &cfg.app_id)?,
        account_id: cfg.account_id.clone(),
        encrypted_share: match cfg.mode {
            super::Mode::Plain => 0.0,
            super::Mode::Compat => 0.7,
            super::Mode::Safe => 1.0,
        },
        concurrency: 512,
        stats: stats.clone(),
    };
    Ok(crate::sim::Sending {
        run: Box::pin(pusher.run(cancel)),
        replies: Arc::new(move || (stats.replies_ok.load(Ordering::Relaxed), stats.replies_bad.load(Ordering::Relaxed))),
    })
}
