//! 互联网+监督 (internet + supervision) platform: pull, XML over HTTP.
//!
//! - **Auth:** a static token in the `X-Auth-Token` header.
//! - **Paging:** time windows. The connector asks for clues updated in
//!   `[from, to)`, `window_hours` wide and never closer to now than
//!   `lag_seconds` (the platform may still be writing the current minute),
//!   paging inside a window with `offset`/`limit`. The cursor is the window
//!   start plus the offset.
//! - **Quirks:** text in CDATA, other text entity-escaped, optional elements
//!   (`reporter`, `address`, `attachments` …), times with or without an offset.
//!
//! The contract is written out in `docs/channels/supervision.md`.

#[cfg(feature = "sim")]
pub mod sim;
mod wire;

pub use wire::{PATH, map_record};

use crate::appeal::{Channel, Inbound, Rejected};
use crate::cursor;
use crate::error::ConnectorError;
use crate::http::HttpClient;
use crate::pull::{Page, PullConnector};
use crate::timefmt::{format_local, parse_local};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub const WINDOW_FMT: &str = "%Y-%m-%dT%H:%M:%S";

crate::spec::pull_config! {
    /// `[connectors.supervision]`
    {
        token: crate::secret::Secret,
        window_hours: u32,
        lag_seconds: u32,
        /// First window start without a checkpoint (`yyyy-MM-ddTHH:mm:ss`, local).
        #[serde(default)]
        start_from: Option<String>,
        backfill_days: u32,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Cursor {
    from: String,
    offset: u32,
}

pub struct Supervision {
    cfg: Config,
    http: HttpClient,
}

impl Supervision {
    pub fn new(cfg: Config, http: HttpClient) -> Self {
        Supervision { cfg, http }
    }

    async fn fetch(&self, from: &str, to: &str, offset: u32, limit: u32) -> Result<(u32, Vec<Inbound>), ConnectorError> {
        let endpoint = format!("{}{PATH}", self.cfg.base_url);
        let resp = self
            .http
            .send(&endpoint, |c| {
                c.get(&endpoint)
                    .query(&[("from", from), ("to", to)])
                    .query(&[("offset", offset), ("limit", limit)])
                    .header("X-Auth-Token", self.cfg.token.expose())
            })
            .await
            .map_err(|e| e.refused_as_auth(&endpoint, ""))?;
        let body = self.http.body(&endpoint, resp).await?;
        wire::parse_page(&body).map_err(|reason| ConnectorError::Contract { endpoint, reason })
    }
}

#[async_trait]
impl PullConnector for Supervision {
    fn channel(&self) -> Channel {
        Channel::Supervision
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        let now = format_local(&cursor::now(), WINDOW_FMT);
        self.fetch(&now, &now, 0, 1).await.map(|_| ())
    }

    async fn pull(&self, cursor: Option<&str>) -> Result<Page, ConnectorError> {
        let cur: Cursor = match cursor {
            Some(c) => cursor::decode(Channel::Supervision, c)?,
            None => {
                let from = cursor::initial_time(self.cfg.start_from.as_deref(), WINDOW_FMT, self.cfg.backfill_days)?;
                Cursor {
                    from: format_local(&from, WINDOW_FMT),
                    offset: 0,
                }
            }
        };
        let from = parse_local(&cur.from, WINDOW_FMT).map_err(|e| ConnectorError::Cursor { reason: e.to_string() })?;
        let Some((to, horizon)) = cursor::next_window(from, self.cfg.window_hours, self.cfg.lag_seconds) else {
            return Ok(Page::default());
        };
        let to_s = format_local(&to, WINDOW_FMT);
        let (total, items) = self.fetch(&cur.from, &to_s, cur.offset, self.cfg.page_size).await?;
        let seen = cur.offset + items.len() as u32;
        let (next, more) = if !items.is_empty() && seen < total {
            (
                Cursor {
                    from: cur.from,
                    offset: seen,
                },
                true,
            )
        } else {
            (Cursor { from: to_s, offset: 0 }, to < horizon)
        };
        Ok(Page {
            items,
            next: Some(cursor::encode(&next)),
            more,
        })
    }
}

/// Turns a record's mapping result into what the sink takes.
pub(crate) fn inbound(raw: &[u8], id: Option<String>) -> Inbound {
    match std::str::from_utf8(raw)
        .map_err(|e| format!("the record is not valid UTF-8: {e}"))
        .and_then(map_record)
    {
        Ok(a) => Inbound::Appeal(Box::new(a)),
        Err(reason) => Inbound::Rejected(Rejected {
            occurrence: None,
            channel: Channel::Supervision,
            source_id: id,
            raw: raw.to_vec(),
            reason,
        }),
    }
}

// What the rest of minqing sees of this channel (`crate::spec`).
crate::spec::pull_spec!(Supervision, token, Supervision, |raw| wire::map_record(crate::spec::utf8(raw)?), start_from: WINDOW_FMT);
