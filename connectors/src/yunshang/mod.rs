//! 云上大冶 (Yunshang Daye) app: pull, JSON REST.
//!
//! - **Auth:** OAuth2 client credentials. `POST /oauth/token` with HTTP Basic
//!   client id and secret gives a bearer token with `expires_in`; the
//!   connector refreshes it shortly before it expires, and once more when the
//!   API answers 401 anyway (clock skew, revocation).
//! - **Paging:** an opaque `next_cursor`, stored as-is as the checkpoint.
//! - **Quirks:** image attachments; edited posts come back with the same
//!   `post_id` and a higher `version`.
//!
//! The contract is written out in `docs/channels/yunshang_app.md`.

#[cfg(feature = "sim")]
pub mod sim;
mod token;
mod wire;

pub use wire::{POSTS_PATH, TOKEN_PATH, map_record};

use crate::appeal::{Channel, Inbound, Rejected};
use crate::error::ConnectorError;
use crate::http::HttpClient;
use crate::pull::{Page, PullConnector};
use async_trait::async_trait;
use token::TokenCache;

crate::spec::pull_config! {
    /// `[connectors.yunshang_app]`
    {
        client_id: String,
        client_secret: crate::secret::Secret,
    }
}

pub struct Yunshang {
    cfg: Config,
    http: HttpClient,
    token: TokenCache,
}

impl Yunshang {
    pub fn new(cfg: Config, http: HttpClient) -> Self {
        let token = TokenCache::new(
            format!("{}{TOKEN_PATH}", cfg.base_url),
            cfg.client_id.clone(),
            cfg.client_secret.expose().to_owned(),
        );
        Yunshang { cfg, http, token }
    }

    async fn fetch(&self, cursor: Option<&str>, limit: u32) -> Result<wire::PostsPage, ConnectorError> {
        let endpoint = format!("{}{POSTS_PATH}", self.cfg.base_url);
        let mut refreshed = false;
        loop {
            let bearer = self.token.get(&self.http).await?;
            let res = self
                .http
                .send(&endpoint, |c| {
                    let mut r = c.get(&endpoint).bearer_auth(&bearer).query(&[("limit", limit)]);
                    if let Some(cur) = cursor {
                        r = r.query(&[("cursor", cur)]);
                    }
                    r
                })
                .await;
            match res {
                Ok(resp) => {
                    let body = self.http.body(&endpoint, resp).await?;
                    return serde_json::from_slice(&body).map_err(|e| ConnectorError::Contract {
                        endpoint,
                        reason: format!("the posts page is not the expected JSON: {e}"),
                    });
                }
                Err(ConnectorError::Status { status: 401, .. }) if !refreshed => {
                    // The token was revoked or our clock is off: fetch a new one once.
                    self.token.invalidate(&bearer).await;
                    refreshed = true;
                }
                Err(e) => return Err(e.refused_as_auth(&endpoint, "")),
            }
        }
    }
}

#[async_trait]
impl PullConnector for Yunshang {
    fn channel(&self) -> Channel {
        Channel::YunshangApp
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        self.token.get(&self.http).await.map(|_| ())
    }

    async fn pull(&self, cursor: Option<&str>) -> Result<Page, ConnectorError> {
        let page = self.fetch(cursor, self.cfg.page_size).await?;
        let items = page
            .posts
            .into_iter()
            .map(|p| {
                let raw = p.get();
                match map_record(raw) {
                    Ok(a) => Inbound::Appeal(Box::new(a)),
                    Err(reason) => Inbound::Rejected(Rejected {
                        occurrence: None,
                        channel: Channel::YunshangApp,
                        source_id: crate::appeal::json_field(raw, "post_id"),
                        raw: raw.as_bytes().to_vec(),
                        reason,
                    }),
                }
            })
            .collect();
        Ok(Page {
            items,
            next: page.next_cursor,
            more: page.has_more,
        })
    }
}

// What the rest of minqing sees of this channel (`crate::spec`).
crate::spec::pull_spec!(YunshangApp, client_secret, Yunshang, |raw| wire::map_record(crate::spec::utf8(
    raw
)?));
