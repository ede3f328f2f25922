//! A simulator of the 110 centre's hand-over feed, in GBK.

use super::{PATH, TIME_FMT};
use crate::sign::ct_eq;
use crate::sim::faults::{FaultInjector, inject};
use crate::sim::{Entry, EntryKind, Malform, server, visible};
use crate::timefmt::format_local;
use crate::xml::escape;
use axum::Router;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use encoding_rs::GBK;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// How this channel's traffic looks in the demo. 110 hands over GBK XML without titles.
pub const PROFILE: crate::sim::Profile = {
    use crate::sim::Malform::*;
    crate::sim::Profile::new(0.08, &[BadEncoding, BadDate, BadXml], |serial, day| {
        format!("J420281{day}{serial:06}")
    })
};

pub struct Sim {
    pub feed: Arc<Vec<Entry>>,
    pub token: String,
    pub allow: Vec<IpAddr>,
}

pub fn router(sim: Sim, faults: Arc<FaultInjector>) -> Router {
    Router::new()
        .route(PATH, get(records))
        .layer(axum::middleware::from_fn_with_state(faults, inject))
        .with_state(Arc::new(sim))
}

#[derive(Deserialize)]
struct Params {
    #[serde(default)]
    last_id: u64,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

fn gbk_xml(status: StatusCode, body: &str) -> Response {
    (
        status,
        [("content-type", "application/xml; charset=GBK")],
        GBK.encode(body).0.into_owned(),
    )
        .into_response()
}

async fn records(
    State(sim): State<Arc<Sim>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Response {
    if !sim.allow.contains(&peer.ip()) {
        return gbk_xml(
            StatusCode::FORBIDDEN,
            "<?xml version=\"1.0\" encoding=\"GBK\"?><Root><ResultCode>403</ResultCode><ResultMsg>地址不在白名单</ResultMsg></Root>",
        );
    }
    let token = headers.get("x-token").map(|v| v.as_bytes()).unwrap_or_default();
    if !ct_eq(token, sim.token.as_bytes()) {
        return gbk_xml(
            StatusCode::UNAUTHORIZED,
            "<?xml version=\"1.0\" encoding=\"GBK\"?><Root><ResultCode>401</ResultCode><ResultMsg>令牌无效</ResultMsg></Root>",
        );
    }
    let feed = &sim.feed[..visible(&sim.feed, server::now())];
    // Seq is the 1-based position in the feed.
    let start = usize::try_from(p.last_id).unwrap_or(usize::MAX).min(feed.len());
    let end = (start + p.limit.clamp(1, 1000)).min(feed.len());
    let mut out: Vec<u8> = GBK
        .encode("<?xml version=\"1.0\" encoding=\"GBK\"?>\n<Root><ResultCode>0</ResultCode><ResultMsg>成功</ResultMsg><Records>")
        .0
        .into_owned();
    for (i, e) in feed[start..end].iter().enumerate() {
        out.extend(render(start + i + 1, e));
    }
    out.extend_from_slice(b"</Records></Root>");
    (StatusCode::OK, [("content-type", "application/xml; charset=GBK")], out).into_response()
}

fn render(seq: usize, e: &Entry) -> Vec<u8> {
    let a = &e.appeal;
    let at = match e.kind {
        EntryKind::Malformed(Malform::BadDate) => "20261345250000".to_owned(),
        _ => format_local(&a.received_at, TIME_FMT),
    };
    let content = match e.kind {
        EntryKind::Malformed(Malform::BadXml) => format!("<BJNR>{}", escape(&a.text.content)),
        _ => format!("<BJNR>{}</BJNR>", escape(&a.text.content)),
    };
    let xml = format!(
        "\n<Record><Seq>{seq}</Seq><JJDBH>{}</JJDBH><BJSJ>{at}</BJSJ><BJRXM>{}</BJRXM><BJDH>{}</BJDH>{content}<SFDZ>{}</SFDZ><JQLB>{}</JQLB><ZBX>{:.6}</ZBX><ZBY>{:.6}</ZBY></Record>",
        escape(&a.source_id),
        escape(&a.person.name),
        escape(&a.phone_shown),
        escape(&a.text.address),
        escape(a.text.category),
        a.coords.1,
        a.coords.0,
    );
    let mut bytes = GBK.encode(&xml).0.into_owned();
    if let EntryKind::Malformed(Malform::BadEncoding) = e.kind
        && let Some(pos) = bytes.windows(6).position(|w| w == b"<BJNR>")
    {
        // 0xFF is never a GBK lead byte.
        bytes.insert(pos + 6, 0xFF);
    }
    bytes
}

/// The registry's simulated upstream: the 110 centre's GBK XML feed, behind its token and address list.
pub(crate) fn upstream(cfg: &super::Config, crate::sim::Upstream { feed, faults, .. }: crate::sim::Upstream) -> axum::Router {
    let sim = Sim {
        feed,
        token: cfg.token.expose().to_owned(),
        allow: vec![std::net::Ipv4Addr::LOCALHOST.into()],
    };
    router(sim, faults)
}
