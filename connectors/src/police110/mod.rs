//! 110 command centre: non-police matters passed to the hotline. Pull, XML.
//!
//! - **Auth:** the centre allows only listed source addresses, and every
//!   request carries the `X-Token` header.
//! - **Paging:** last seen id. Each hand-over record has a rising sequence
//!   number `Seq`; the connector asks for `last_id=<max Seq seen>`.
//! - **Quirks:** the XML is **GBK-encoded** (`encoding="GBK"`); times are
//!   compact local `yyyyMMddHHmmss` (`20230519120938`); coordinates `ZBX`
//!   (longitude) and `ZBY` (latitude). A record handed over twice keeps its
//!   接警单编号 `JJDBH` under a new `Seq`: a replay.
//!
//! The contract is written out in `docs/channels/police_110.md`.

#[cfg(feature = "sim")]
pub mod sim;
mod wire;

pub use wire::{PATH, map_record};

use crate::appeal::Channel;
use crate::error::ConnectorError;
use crate::http::HttpClient;
use crate::pull::{Page, PullConnector};
use async_trait::async_trait;

pub const TIME_FMT: &str = "%Y%m%d%H%M%S";

crate::spec::pull_config! {
    /// `[connectors.police_110]`
    {
        token: crate::secret::Secret,
    }
}

pub struct Police110 {
    cfg: Config,
    http: HttpClient,
}

impl Police110 {
    pub fn new(cfg: Config, http: HttpClient) -> Self {
        Police110 { cfg, http }
    }

    async fn fetch(&self, last_id: u64, limit: u32) -> Result<Vec<u8>, ConnectorError> {
        let endpoint = format!("{}{PATH}", self.cfg.base_url);
        let resp = self
            .http
            .send(&endpoint, |c| {
                c.get(&endpoint)
                    .query(&[("last_id", last_id), ("limit", u64::from(limit))])
                    .header("X-Token", self.cfg.token.expose())
            })
            .await
            .map_err(|e| e.refused_as_auth(&endpoint, " (is this gateway's address on the centre's allow-list?)"))?;
        self.http.body(&endpoint, resp).await
    }
}

#[async_trait]
impl PullConnector for Police110 {
    fn channel(&self) -> Channel {
        Channel::Police110
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        let body = self.fetch(u64::MAX / 2, 1).await?;
        wire::parse_page(&body).map(|_| ()).map_err(|reason| ConnectorError::Contract {
            endpoint: self.cfg.base_url.clone(),
            reason,
        })
    }

    async fn pull(&self, cursor: Option<&str>) -> Result<Page, ConnectorError> {
        let last_id = match cursor {
            Some(c) => c.parse::<u64>().map_err(|e| ConnectorError::Cursor {
                reason: format!("the stored police_110 cursor `{c}` is not a number ({e}); delete it to start from the beginning"),
            })?,
            None => 0,
        };
        let body = self.fetch(last_id, self.cfg.page_size).await?;
        let page = wire::parse_page(&body).map_err(|reason| ConnectorError::Contract {
            endpoint: format!("{}{PATH}", self.cfg.base_url),
            reason,
        })?;
        // A full page that moved the cursor means more may be waiting.
        let full = page.items.len() as u32 >= self.cfg.page_size;
        let next = page.max_seq.filter(|m| *m > last_id).map(|m| m.to_string());
        let more = full && next.is_some();
        Ok(Page {
            items: page.items,
            next,
            more,
        })
    }
}

// What the rest of minqing sees of this channel (`crate::spec`).
crate::spec::pull_spec!(Police110, token, Police110, |raw| wire::map_record(raw));
