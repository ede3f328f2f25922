//! A simulator of the 12366 SOAP service, checking the UsernameToken digest.

use super::soap::{NS_APPEAL, NS_SOAP, PATH, PW_DIGEST, password_digest};
use crate::sim::faults::{FaultInjector, inject};
use crate::sim::{Entry, EntryKind, Malform, server, visible};
use crate::xml::{escape, first_text};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::DateTime;
use std::collections::HashSet;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// How this channel's traffic looks in the demo. 12366 answers SOAP with titled records.
pub const PROFILE: crate::sim::Profile = {
    use crate::sim::Malform::*;
    crate::sim::Profile::new(0.07, &[MissingContent, BadDate], |serial, day| format!("NS{day}{serial:06}")).titled()
};

pub struct Sim {
    pub feed: Arc<Vec<Entry>>,
    pub username: String,
    pub password: String,
    /// Every n-th call answers a `soapenv:Server` fault (0: never).
    pub server_fault_every: u64,
    pub calls: AtomicU64,
    pub nonces: Mutex<HashSet<String>>,
}

impl Sim {
    pub fn new(feed: Arc<Vec<Entry>>, username: &str, password: &str, server_fault_every: u64) -> Self {
        Sim {
            feed,
            username: username.into(),
            password: password.into(),
            server_fault_every,
            calls: AtomicU64::new(0),
            nonces: Mutex::new(HashSet::new()),
        }
    }
}

pub fn router(sim: Sim, faults: Arc<FaultInjector>) -> Router {
    Router::new()
        .route(PATH, post(service))
        .layer(axum::middleware::from_fn_with_state(faults, inject))
        .with_state(Arc::new(sim))
}

fn fault(code: &str, msg: &str) -> Response {
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{NS_SOAP}"><soapenv:Body><soapenv:Fault><faultcode>{code}</faultcode><faultstring>{}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#,
        escape(msg)
    );
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [("content-type", "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

fn authenticate(sim: &Sim, body: &str) -> Result<(), &'static str> {
    let user = first_text(body, "Username").ok_or("UsernameToken is missing")?;
    let pw = first_text(body, "Password").ok_or("Password is missing")?;
    let nonce = first_text(body, "Nonce").ok_or("Nonce is missing")?;
    let created = first_text(body, "Created").ok_or("Created is missing")?;
    if !body.contains(PW_DIGEST) {
        return Err("only PasswordDigest is accepted");
    }
    let at = DateTime::parse_from_rfc3339(&created).map_err(|_| "Created is not a dateTime")?;
    if (chrono::Utc::now() - at.with_timezone(&chrono::Utc)).num_seconds().abs() > 300 {
        return Err("Created is outside the 5-minute window");
    }
    let raw_nonce = STANDARD.decode(nonce.trim()).map_err(|_| "Nonce is not Base64")?;
    if user != sim.username || pw != password_digest(&raw_nonce, &created, &sim.password) {
        return Err("the security token could not be authenticated");
    }
    if !sim.nonces.lock().expect("nonce lock").insert(nonce) {
        return Err("the nonce was used before");
    }
    Ok(())
}

async fn service(State(sim): State<Arc<Sim>>, body: String) -> Response {
    if let Err(msg) = authenticate(&sim, &body) {
        return fault("wsse:FailedAuthentication", msg);
    }
    let n = sim.calls.fetch_add(1, Ordering::Relaxed) + 1;
    if sim.server_fault_every > 0 && n % sim.server_fault_every == 0 {
        return fault("soapenv:Server", "服务繁忙，请稍后重试");
    }
    let parse = |tag| first_text(&body, tag).and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok());
    let (Some(start), Some(end)) = (parse("StartTime"), parse("EndTime")) else {
        return fault("soapenv:Client", "StartTime and EndTime must be xs:dateTime with an offset");
    };
    let num = |tag, d: usize| first_text(&body, tag).and_then(|s| s.trim().parse().ok()).unwrap_or(d);
    let (page, size) = (num("PageNo", 1).max(1), num("PageSize", 100).clamp(1, 500));
    let feed = &sim.feed[..visible(&sim.feed, server::now())];
    let lo = feed.partition_point(|e| e.delivered_at < start);
    let hi = feed.partition_point(|e| e.delivered_at < end).max(lo);
    let window = &feed[lo..hi];
    let mut out = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{NS_SOAP}"><soapenv:Body><QueryAppealsResponse xmlns="{NS_APPEAL}"><Total>{}</Total><PageNo>{page}</PageNo><Appeals>"#,
        window.len()
    );
    for e in window.iter().skip((page - 1) * size).take(size) {
        render(&mut out, e);
    }
    out.push_str("</Appeals></QueryAppealsResponse></soapenv:Body></soapenv:Envelope>");
    ([("content-type", "text/xml; charset=utf-8")], out).into_response()
}

fn render(out: &mut String, e: &Entry) {
    let a = &e.appeal;
    let at = match e.kind {
        EntryKind::Malformed(Malform::BadDate) => "2026-02-30T09:00:00+08:00".to_owned(),
        _ => a.received_at.to_rfc3339(),
    };
    let content = match e.kind {
        EntryKind::Malformed(Malform::MissingContent) => String::new(),
        _ => format!("<Content>{}</Content>", escape(&a.text.content)),
    };
    let _ = write!(
        out,
        "\n<Appeal><AppealNo>{}</AppealNo><AcceptTime>{at}</AcceptTime><CallerName>{}</CallerName><CallerPhone>{}</CallerPhone><Subject>{}</Subject>{content}<BusinessType>{}</BusinessType><Region>{}</Region></Appeal>",
        escape(&a.source_id),
        escape(&a.person.name),
        escape(&a.phone_shown),
        escape(&a.text.title),
        escape(a.text.category),
        escape(&a.text.address),
    );
}

/// The registry's simulated upstream: 12366's SOAP service, with a fault in 13 answers when `injected`.
pub(crate) fn upstream(cfg: &super::Config, crate::sim::Upstream { feed, faults, injected }: crate::sim::Upstream) -> axum::Router {
    router(Sim::new(feed, &cfg.username, &cfg.password, if injected { 13 } else { 0 }), faults)
}
