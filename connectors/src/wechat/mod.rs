//! 今日大冶 WeChat official account: push, the public WeChat server-message
//! protocol, exactly.
//!
//! - **URL verification:** `GET ?signature&timestamp&nonce&echostr`; we answer
//!   `echostr` when `signature` = SHA-1(sorted token, timestamp, nonce).
//! - **Messages:** `POST` with the same query plus `openid`; in safe mode also
//!   `encrypt_type=aes` and `msg_signature`, and the body is
//!   `<xml><ToUserName/><Encrypt/></xml>` with AES-256-CBC from the
//!   EncodingAESKey (see [`crypto`]). `mode` is `plain`, `compat` (either) or
//!   `safe` (encrypted only).
//! - **Types:** text, image, location (voice, video and link too) become
//!   appeals; a `subscribe` event gets a welcome; other events are answered
//!   `success`.
//! - **Retries:** WeChat re-sends a message up to three times when it has no
//!   answer in 5 s. The `MsgId` is the appeal's source id, so a retry maps to
//!   the same ticket and is deduplicated; the reply repeats the same number.
//! - **Reply:** a passive text reply with the acceptance number, encrypted in
//!   safe mode. We reply only after the appeal is durably accepted; if it is
//!   not, we answer 503 and WeChat retries.
//! - **Freshness:** `timestamp` must be within 300 s of our clock, and a
//!   (timestamp, nonce) pair seen before with another body is refused (in
//!   plaintext the signature does not cover the body). `openid` in the URL
//!   must match `<FromUserName>`; `<CreateTime>` must be from 2000 on and
//!   not over a day ahead, checked before we answer "accepted".
//! - **Bad input:** a bad signature, a stale timestamp or a replayed nonce
//!   (401) is quarantined as a digest, the size and the first 256 bytes of
//!   the body, and past 30 such refusals a minute from one address not at
//!   all (429); a bad AES block or bad XML of a signed request (400) is
//!   quarantined whole, with the reason. `mode` defaults to `safe`.
//!
//! The contract is written out in `docs/channels/wechat.md`.

pub mod crypto;
#[cfg(feature = "sim")]
pub mod sim;
mod wire;

pub use wire::{Meaning, Message, encrypted_reply, interpret, parse_message, text_reply};

use crate::appeal::{Channel, Inbound, RawAppeal, Rejected};
use crate::guard::{self, Refusals, Replays};
use crate::pull::ChannelStats;
use crate::sign::ct_eq;
use crate::sink::AppealSink;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{Extensions, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use crypto::{WxCrypt, sha1_sorted};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

pub const PATH: &str = "/webhooks/wechat";

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Plain,
    Compat,
    Safe,
}

/// `[connectors.wechat]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub enabled: bool,
    pub token: crate::secret::Secret,
    /// The 43-character EncodingAESKey from the WeChat console.
    pub encoding_aes_key: crate::secret::Secret,
    pub app_id: String,
    /// The account's original id (`gh_…`), the sender of our replies.
    pub account_id: String,
    pub mode: Mode,
    /// Reply to an appeal; `{no}` becomes the acceptance number.
    pub reply_template: String,
    pub welcome: String,
    /// Refused unauthenticated requests recorded per source address and
    /// minute; more are answered 429 and not recorded.
    #[serde(default = "crate::guard::refusals_default")]
    pub refusals_per_minute: u32,
}

pub struct Webhook {
    pub cfg: Config,
    pub crypt: WxCrypt,
    pub sink: Arc<dyn AppealSink>,
    pub stats: Arc<ChannelStats>,
    /// Bounds what callers who cannot sign make us record.
    refusals: Refusals,
    /// Signed (timestamp, nonce) pairs seen inside the window.
    replays: Replays,
}

/// How far the signed `timestamp` may be from our clock.
pub const MAX_SKEW: Duration = Duration::from_secs(300);

impl Webhook {
    pub fn new(cfg: Config, sink: Arc<dyn AppealSink>, stats: Arc<ChannelStats>) -> Result<Self, String> {
        let crypt = WxCrypt::new(&cfg.encoding_aes_key, &cfg.app_id)?;
        let refusals = Refusals::new(cfg.refusals_per_minute);
        Ok(Webhook {
            cfg,
            crypt,
            sink,
            stats,
            refusals,
            replays: Replays::new(MAX_SKEW),
        })
    }
}

/// Re-maps a quarantined body (for `quarantine replay`): decrypts it first
/// if it is a safe-mode envelope.
pub fn remap(crypt: &WxCrypt, raw: &[u8]) -> Result<RawAppeal, String> {
    let text = std::str::from_utf8(raw).map_err(|e| format!("the body is not UTF-8: {e}"))?;
    let plain = match quick_xml::de::from_str::<wire::Encrypted>(text) {
        Ok(env) => crypt.decrypt(&env.encrypt)?,
        Err(_) => text.to_owned(),
    };
    match interpret(&parse_message(&plain)?, &plain)? {
        Meaning::Appeal(a) => Ok(*a),
        _ => Err("the message is an event, not an appeal".into()),
    }
}

pub fn router(hook: Arc<Webhook>) -> Router {
    Router::new()
        .route(PATH, get(verify).post(receive))
        .layer(axum::extract::DefaultBodyLimit::max(1024 * 1024))
        .with_state(hook)
}

#[derive(Debug, Deserialize)]
pub struct Params {
    #[serde(default)]
    signature: String,
    #[serde(default)]
    timestamp: String,
    #[serde(default)]
    nonce: String,
    echostr: Option<String>,
    encrypt_type: Option<String>,
    msg_signature: Option<String>,
    /// The sender, which WeChat puts in the signed URL as well as the body.
    openid: Option<String>,
}

fn signed(token: &str, p: &Params) -> bool {
    ct_eq(sha1_sorted(&[token, &p.timestamp, &p.nonce]).as_bytes(), p.signature.as_bytes())
}

async fn verify(State(hook): State<Arc<Webhook>>, Query(p): Query<Params>) -> Response {
    match (&p.echostr, signed(&hook.cfg.token, &p)) {
        (Some(echo), true) => echo.clone().into_response(),
        _ => (StatusCode::UNAUTHORIZED, "signature check failed").into_response(),
    }
}

/// Why a push was refused: it is quarantined and answered with `status`.
struct Refusal {
    status: StatusCode,
    reason: String,
    /// What quarantine keeps: the body itself once the request is
    /// authenticated, otherwise only its digest, size and prefix.
    raw: Vec<u8>,
    /// Whether the sender proved who it is; refusals of those who did not
    /// count against their address's limit.
    authenticated: bool,
}

/// A refusal of a request whose signature, timestamp or nonce failed, or
/// whose body no signature covers.
fn unsigned(status: StatusCode, reason: impl Into<String>, raw: &[u8]) -> Refusal {
    Refusal {
        status,
        reason: reason.into(),
        raw: guard::unauthenticated_record(raw),
        authenticated: false,
    }
}

/// A refusal of a signed request that cannot be read.
fn refuse(status: StatusCode, reason: impl Into<String>, raw: &[u8]) -> Refusal {
    Refusal {
        status,
        reason: reason.into(),
        raw: raw.to_vec(),
        authenticated: true,
    }
}

// The body is taken as bytes: a body that is not UTF-8 is refused by us,
// and quarantined with the reason, not by the framework before we see it.
async fn receive(State(hook): State<Arc<Webhook>>, ext: Extensions, Query(p): Query<Params>, body: Bytes) -> Response {
    match decode(&hook, &p, &body) {
        Ok((plain, encrypted)) => respond(&hook, &p, &plain, encrypted).await,
        Err(r) => record_refusal(&hook, guard::source_ip(&ext), r).await,
    }
}

async fn record_refusal(hook: &Webhook, ip: std::net::IpAddr, r: Refusal) -> Response {
    hook.stats.record_error(&r.reason);
    if !r.authenticated && !hook.refusals.record(ip) {
        return (StatusCode::TOO_MANY_REQUESTS, "too many refused requests; slow down").into_response();
    }
    let item = Inbound::Rejected(Rejected {
        occurrence: None,
        channel: Channel::Wechat,
        source_id: None,
        raw: r.raw,
        reason: r.reason.clone(),
    });
    if let Err(e) = hook.sink.accept(vec![item]).await {
        hook.stats.record_error(&e);
        return (StatusCode::SERVICE_UNAVAILABLE, "retry").into_response();
    }
    (r.status, r.reason).into_response()
}

/// Checks signatures, the timestamp and the nonce, and decrypts: the
/// plaintext XML, and whether it was encrypted.
fn decode(hook: &Webhook, p: &Params, raw: &[u8]) -> Result<(String, bool), Refusal> {
    let unauthorized = StatusCode::UNAUTHORIZED;
    if !signed(&hook.cfg.token, p) {
        return Err(unsigned(
            unauthorized,
            "bad signature: `signature` does not match token, timestamp and nonce",
            raw,
        ));
    }
    if !guard::fresh(&p.timestamp, MAX_SKEW) {
        return Err(unsigned(
            unauthorized,
            "stale request: `timestamp` is more than 300 s from our clock",
            raw,
        ));
    }
    let encrypted = p.encrypt_type.as_deref() == Some("aes");
    if !encrypted {
        if hook.cfg.mode == Mode::Safe {
            return Err(unsigned(
                StatusCode::BAD_REQUEST,
                "plaintext message refused: the account is in safe mode",
                raw,
            ));
        }
        // In plaintext the signature does not cover the body: the same
        // signed URL with another body is a forgery. WeChat's own retries
        // send the same body again.
        if hook.replays.check(&p.timestamp, &p.nonce, raw) == guard::Seen::Replay {
            return Err(unsigned(
                unauthorized,
                "replayed request: this timestamp and nonce came before with another body",
                raw,
            ));
        }
        let body = std::str::from_utf8(raw).map_err(|e| refuse(StatusCode::BAD_REQUEST, format!("the body is not UTF-8: {e}"), raw))?;
        return Ok((body.to_owned(), false));
    }
    // Until msg_signature checks out, the body is nobody's: only its digest is kept.
    let bad = StatusCode::BAD_REQUEST;
    if hook.cfg.mode == Mode::Plain {
        return Err(unsigned(bad, "encrypted message refused: the account is in plaintext mode", raw));
    }
    let body = std::str::from_utf8(raw).map_err(|e| unsigned(bad, format!("the body is not UTF-8: {e}"), raw))?;
    let env: wire::Encrypted =
        quick_xml::de::from_str(body).map_err(|e| unsigned(bad, format!("the safe-mode envelope has no <Encrypt>: {e}"), raw))?;
    let want = sha1_sorted(&[&hook.cfg.token, &p.timestamp, &p.nonce, &env.encrypt]);
    if !ct_eq(want.as_bytes(), p.msg_signature.as_deref().unwrap_or("").as_bytes()) {
        return Err(unsigned(
            unauthorized,
            "bad signature: `msg_signature` does not match the Encrypt element",
            raw,
        ));
    }
    let plain = hook.crypt.decrypt(&env.encrypt).map_err(|e| refuse(bad, e, raw))?;
    Ok((plain, true))
}

async fn respond(hook: &Webhook, p: &Params, plain: &str, encrypted: bool) -> Response {
    let meaning = parse_message(plain).and_then(|m| {
        // WeChat names the sender in the URL and in the body. The URL's
        // openid is not signed, so this is no proof; it refuses requests
        // that were not put together by WeChat (a captured URL with a
        // body of someone else's).
        match &p.openid {
            None => return Err("`openid` is missing from the URL".to_owned()),
            Some(openid) if m.from_user.as_deref() != Some(openid.as_str()) => {
                return Err("`openid` in the URL does not match <FromUserName>".to_owned());
            }
            Some(_) => {}
        }
        interpret(&m, plain).map(|x| (m, x))
    });
    let (msg, meaning) = match meaning {
        Ok(v) => v,
        Err(reason) => {
            let item = Inbound::Rejected(Rejected {
                occurrence: None,
                channel: Channel::Wechat,
                source_id: None,
                raw: plain.as_bytes().to_vec(),
                reason: reason.clone(),
            });
            if hook.sink.accept(vec![item]).await.is_err() {
                return (StatusCode::SERVICE_UNAVAILABLE, "retry").into_response();
            }
            hook.stats.record_error(&reason);
            return (StatusCode::BAD_REQUEST, reason).into_response();
        }
    };
    let text = match meaning {
        Meaning::Appeal(a) => {
            let no = a.acceptance_no();
            if let Err(e) = hook.sink.accept(vec![Inbound::Appeal(a)]).await {
                hook.stats.record_error(&e);
                tracing::warn!(connector = "wechat", error = %e, "Message not accepted; answering 503 so WeChat retries.");
                return (StatusCode::SERVICE_UNAVAILABLE, "retry").into_response();
            }
            hook.stats.record_success(1);
            hook.cfg.reply_template.replace("{no}", &no)
        }
        Meaning::Subscribe => hook.cfg.welcome.clone(),
        Meaning::OtherEvent => return "success".into_response(),
    };
    let to = msg.from_user.unwrap_or_default();
    let now = chrono::Utc::now().timestamp();
    let reply = text_reply(&to, &hook.cfg.account_id, now, &text);
    let body = if encrypted {
        let enc = hook.crypt.encrypt(&reply, rand::random());
        let ts = now.to_string();
        let nonce = format!("{}", rand::random::<u32>());
        let sig = sha1_sorted(&[&hook.cfg.token, &ts, &nonce, &enc]);
        encrypted_reply(&enc, &sig, &ts, &nonce)
    } else {
        reply
    };
    ([("content-type", "application/xml")], body).into_response()
}

/// The one setting building can fail on: the key does not decode.
fn aes_key(reason: String) -> crate::spec::SettingError {
    crate::spec::SettingError {
        key: "encoding_aes_key",
        reason,
    }
}

impl crate::spec::ChannelSpec for Config {
    fn channel(&self) -> Channel {
        Channel::Wechat
    }

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn check(&self, path: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Err(e) = WxCrypt::new(&self.encoding_aes_key, &self.app_id) {
            out.push(format!("`{path}.encoding_aes_key`: {e}"));
        }
        if !self.reply_template.contains("{no}") {
            out.push(format!(
                "`{path}.reply_template`: must contain {{no}}, where the acceptance number goes"
            ));
        }
        out
    }

    fn secrets(&self) -> Vec<crate::spec::SecretField<'_>> {
        use crate::spec::{SecretField, SecretKind};
        vec![
            SecretField {
                key: "token",
                value: &self.token,
                kind: SecretKind::Own,
            },
            // The shipped key is the WeChat documentation's sample.
            SecretField {
                key: "encoding_aes_key",
                value: &self.encoding_aes_key,
                kind: SecretKind::Exact(43),
            },
        ]
    }

    fn build(
        &self,
        _http: &crate::http::HttpClient,
        sink: Arc<dyn AppealSink>,
        stats: Arc<ChannelStats>,
    ) -> Result<crate::spec::Built, crate::spec::SettingError> {
        let hook = Webhook::new(self.clone(), sink, stats).map_err(aes_key)?;
        Ok(crate::spec::Built::Push(router(Arc::new(hook))))
    }

    fn remap(&self, raw: &[u8]) -> Result<RawAppeal, crate::spec::Unreadable> {
        Ok(remap(&WxCrypt::new(&self.encoding_aes_key, &self.app_id)?, raw)?)
    }

    #[cfg(feature = "sim")]
    fn for_demo(&mut self, _from: chrono::DateTime<chrono::FixedOffset>) {
        self.enabled = true;
        self.refusals_per_minute = u32::MAX;
    }

    #[cfg(feature = "sim")]
    fn sender(&self, to: crate::sim::SendTo) -> Result<Option<crate::sim::Sending>, crate::spec::SettingError> {
        sim::sender(self, to).map(Some).map_err(aes_key)
    }
}
