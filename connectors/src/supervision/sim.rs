//! A simulator of the supervision platform's clue feed.

use super::{PATH, WINDOW_FMT};
use crate::sign::ct_eq;
use crate::sim::faults::{FaultInjector, inject};
use crate::sim::{Entry, EntryKind, Malform, server, visible};
use crate::timefmt::{format_local, parse_local};
use crate::xml::{cdata, escape};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use std::fmt::Write;
use std::sync::Arc;

/// How this channel's traffic looks in the demo. 互联网+监督 sends XML records with titles.
pub const PROFILE: crate::sim::Profile = {
    use crate::sim::Malform::*;
    crate::sim::Profile::new(0.08, &[BadXml, MissingContent, BadDate], |serial, day| {
        format!("JD-{day}-{serial:06}")
    })
    .titled()
};

pub struct Sim {
    pub feed: Arc<Vec<Entry>>,
    pub token: String,
}

pub fn router(sim: Sim, faults: Arc<FaultInjector>) -> Router {
    Router::new()
        .route(PATH, get(clues))
        .layer(axum::middleware::from_fn_with_state(faults, inject))
        .with_state(Arc::new(sim))
}

#[derive(Deserialize)]
struct Params {
    from: String,
    to: String,
    #[serde(default)]
    offset: usize,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

fn xml_error(code: u16, msg: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><response><code>{code}</code><message>{}</message></response>",
        escape(msg)
    );
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
        [("content-type", "application/xml")],
        body,
    )
        .into_response()
}

async fn clues(State(sim): State<Arc<Sim>>, headers: HeaderMap, Query(p): Query<Params>) -> Response {
    let token = headers.get("x-auth-token").map(|v| v.as_bytes()).unwrap_or_default();
    if !ct_eq(token, sim.token.as_bytes()) {
        return xml_error(401, "invalid token");
    }
    let (Ok(from), Ok(to)) = (parse_local(&p.from, WINDOW_FMT), parse_local(&p.to, WINDOW_FMT)) else {
        return xml_error(400, "from and to must be yyyy-MM-ddTHH:mm:ss");
    };
    let feed = &sim.feed[..visible(&sim.feed, server::now())];
    let lo = feed.partition_point(|e| e.delivered_at < from);
    let hi = feed.partition_point(|e| e.delivered_at < to).max(lo);
    let window = &feed[lo..hi];
    let mut body = String::with_capacity(512 * p.limit.min(window.len()) + 256);
    body.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response><code>0</code><message>ok</message>");
    let _ = write!(body, "<total>{}</total><clues>", window.len());
    for e in window.iter().skip(p.offset).take(p.limit.clamp(1, 1000)) {
        render(&mut body, e);
    }
    body.push_str("</clues></response>");
    ([("content-type", "application/xml; charset=utf-8")], body).into_response()
}

fn render(out: &mut String, e: &Entry) {
    let a = &e.appeal;
    let mut at = format_local(&a.received_at, WINDOW_FMT);
    if a.serial.is_multiple_of(2) {
        at.push_str("+08:00");
    }
    let content = match e.kind {
        EntryKind::Malformed(Malform::MissingContent) => String::new(),
        EntryKind::Malformed(Malform::BadXml) => format!("<content>{} & <b>急</content>", a.text.content),
        _ => format!("<content>{}</content>", cdata(&a.text.content)),
    };
    if let EntryKind::Malformed(Malform::BadDate) = e.kind {
        at = "2026-13-45T10:00:00".into();
    }
    let _ = write!(
        out,
        "\n<clue><clue_id>{}</clue_id><submitted_at>{at}</submitted_at><title>{}</title>{content}",
        escape(&a.source_id),
        cdata(&a.text.title)
    );
    if a.anonymous {
        out.push_str("<anonymous>true</anonymous>");
    } else {
        let _ = write!(
            out,
            "<reporter><name>{}</name><mobile>{}</mobile></reporter>",
            escape(&a.person.name),
            escape(&a.phone_shown)
        );
    }
    if !a.serial.is_multiple_of(3) {
        let _ = write!(out, "<address>{}</address>", escape(&a.text.address));
    }
    let _ = write!(out, "<category>{}</category></clue>", escape(a.text.category));
}

/// The registry's simulated upstream: 互联网+监督's XML service on `feed`, behind its token.
pub(crate) fn upstream(cfg: &super::Config, crate::sim::Upstream { feed, faults, .. }: crate::sim::Upstream) -> axum::Router {
    router(
        Sim {
            feed,
            token: cfg.token.expose().to_owned(),
        },
        faults,
    )
}
