//! 12345 hotline (the provincial 12345 platform): pull, JSON REST.
//!
//! - **Auth:** every request carries `X-App-Key`, `X-Timestamp` (unix
//!   seconds), `X-Nonce` and `X-Signature`, the hex HMAC-SHA256 under the app
//!   secret of `app_key \n timestamp \n nonce \n GET \n path \n query`.
//! - **Paging:** `updated_since` (exclusive, local time) plus a page number;
//!   records come ordered by update time `gxsj`. After the last page the
//!   cursor moves `updated_since` to the newest `gxsj` seen.
//! - **Quirks:** pinyin-abbreviated field names (`gdbh` 工单编号, `ldsj` 来电时间,
//!   `sqnr` 诉求内容 …) and naive `yyyy-MM-dd HH:mm:ss` local times. A work
//!   order that is updated comes back with a newer `gxsj`: a replay.
//!
//! The contract is written out in `docs/channels/hotline_12345.md`.

#[cfg(feature = "sim")]
pub mod sim;
mod wire;

pub use wire::{PATH, map_record, signing_string};

use crate::appeal::{Channel, Inbound, Rejected, json_field};
use crate::cursor;
use crate::error::ConnectorError;
use crate::http::HttpClient;
use crate::pull::{Page, PullConnector};
use crate::sign::hmac_sha256_hex;
use crate::timefmt::{format_local, parse_local};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub const TIME_FMT: &str = "%Y-%m-%d %H:%M:%S";

crate::spec::pull_config! {
    /// `[connectors.hotline_12345]`
    {
        app_key: String,
        app_secret: crate::secret::Secret,
        /// First `updated_since` when there is no checkpoint (`yyyy-MM-dd HH:mm:ss`);
        /// default: `backfill_days` ago.
        #[serde(default)]
        start_from: Option<String>,
        backfill_days: u32,
    }
}

/// Where paging stands; persisted as JSON.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Cursor {
    since: String,
    page: u32,
    /// Newest `gxsj` seen in this `since` window.
    #[serde(default)]
    max_seen: Option<String>,
}

pub struct Hotline12345 {
    cfg: Config,
    http: HttpClient,
}

impl Hotline12345 {
    pub fn new(cfg: Config, http: HttpClient) -> Self {
        Hotline12345 { cfg, http }
    }

    fn initial_since(&self) -> Result<String, ConnectorError> {
        let t = cursor::initial_time(self.cfg.start_from.as_deref(), TIME_FMT, self.cfg.backfill_days)?;
        Ok(format_local(&t, TIME_FMT))
    }

    async fn fetch(&self, since: &str, page: u32, size: u32) -> Result<wire::Envelope, ConnectorError> {
        let query = wire::query_string(since, page, size);
        let endpoint = format!("{}{PATH}", self.cfg.base_url);
        let resp = self
            .http
            .send(&endpoint, |c| {
                let ts = chrono::Utc::now().timestamp().to_string();
                let nonce = format!("{:016x}", rand::random::<u64>());
                let sig = hmac_sha256_hex(
                    self.cfg.app_secret.as_bytes(),
                    signing_string(&self.cfg.app_key, &ts, &nonce, PATH, &query).as_bytes(),
                );
                c.get(format!("{endpoint}?{query}"))
                    .header("X-App-Key", &self.cfg.app_key)
                    .header("X-Timestamp", ts)
                    .header("X-Nonce", nonce)
                    .header("X-Signature", sig)
            })
            .await
            .map_err(|e| e.refused_as_auth(&endpoint, ""))?;
        let body = self.http.body(&endpoint, resp).await?;
        let env: wire::Envelope = serde_json::from_slice(&body).map_err(|e| ConnectorError::Contract {
            endpoint: endpoint.clone(),
            reason: format!("the response is not the expected JSON envelope: {e}"),
        })?;
        if env.code != 0 {
            return Err(ConnectorError::Fault {
                endpoint,
                code: env.code.to_string(),
                message: env.msg,
                retryable: false,
            });
        }
        Ok(env)
    }
}

#[async_trait]
impl PullConnector for Hotline12345 {
    fn channel(&self) -> Channel {
        Channel::Hotline12345
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        let since = format_local(&cursor::now(), TIME_FMT);
        self.fetch(&since, 1, 1).await.map(|_| ())
    }

    async fn pull(&self, cursor: Option<&str>) -> Result<Page, ConnectorError> {
        let cur: Cursor = match cursor {
            Some(c) => cursor::decode(Channel::Hotline12345, c)?,
            None => Cursor {
                since: self.initial_since()?,
                page: 1,
                max_seen: None,
            },
        };
        let env = self.fetch(&cur.since, cur.page, self.cfg.page_size).await?;
        let records = env.data.map(|d| d.records).unwrap_or_default();
        let full = records.len() as u32 >= self.cfg.page_size;
        let mut max_seen = cur.max_seen.clone();
        let mut items = Vec::with_capacity(records.len());
        for rec in records {
            let raw = rec.get();
            // Decoded once; a record that does not decode is read loosely
            // for its update time and id, which the cursor and quarantine need.
            let (gxsj, gdbh, mapped) = match wire::parse_record(raw) {
                Ok(r) => {
                    let mapped = wire::map_parsed(&r, raw);
                    (r.gxsj, r.gdbh, mapped)
                }
                Err(reason) => (json_field(raw, "gxsj"), json_field(raw, "gdbh"), Err(reason)),
            };
            if let Some(g) = gxsj
                && parse_local(&g, TIME_FMT).is_ok()
                && max_seen.as_deref().is_none_or(|m| g.as_str() > m)
            {
                max_seen = Some(g);
            }
            items.push(match mapped {
                Ok(a) => Inbound::Appeal(Box::new(a)),
                Err(reason) => Inbound::Rejected(Rejected {
                    occurrence: None,
                    channel: Channel::Hotline12345,
                    source_id: gdbh,
                    raw: raw.as_bytes().to_vec(),
                    reason,
                }),
            });
        }
        let next = if full {
            Cursor {
                since: cur.since,
                page: cur.page + 1,
                max_seen,
            }
        } else {
            match max_seen {
                Some(m) => Cursor {
                    since: m,
                    page: 1,
                    max_seen: None,
                },
                None if items.is_empty() && cur.page == 1 => return Ok(Page::default()),
                None => Cursor {
                    since: cur.since,
                    page: 1,
                    max_seen: None,
                },
            }
        };
        Ok(Page {
            items,
            next: Some(cursor::encode(&next)),
            more: full,
        })
    }
}

// What the rest of minqing sees of this channel (`crate::spec`).
crate::spec::pull_spec!(Hotline12345, app_secret, Hotline12345, |raw| wire::map_record(crate::spec::utf8(raw)?), start_from: TIME_FMT);
