//! 12366 tax hotline: pull, SOAP 1.1.
//!
//! - **Auth:** WS-Security UsernameToken in the SOAP header, with
//!   `PasswordDigest` = Base64(SHA-1(nonce + created + password)), a fresh
//!   nonce and `wsu:Created` per request (`PasswordText` when configured).
//! - **Paging:** a `StartTime`/`EndTime` window plus `PageNo`/`PageSize`; the
//!   cursor is the window start and the page.
//! - **Quirks:** errors are SOAP faults inside HTTP 500. `soap:Server` faults
//!   are retried with backoff; `soap:Client` and `wsse:FailedAuthentication`
//!   are not.
//!
//! The contract is written out in `docs/channels/tax_12366.md`.

#[cfg(feature = "sim")]
pub mod sim;
mod soap;

pub use soap::{PATH, SOAP_ACTION, map_record, password_digest};

use crate::appeal::Channel;
use crate::cursor;
use crate::error::ConnectorError;
use crate::http::HttpClient;
use crate::pull::{Page, PullConnector};
use async_trait::async_trait;
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

pub const WINDOW_FMT: &str = "%Y-%m-%dT%H:%M:%S";

crate::spec::pull_config! {
    /// `[connectors.tax_12366]`
    {
        username: String,
        password: crate::secret::Secret,
        /// `digest` (PasswordDigest, the default) or `text` (PasswordText, only over TLS).
        password_type: PasswordType,
        window_hours: u32,
        lag_seconds: u32,
        #[serde(default)]
        start_from: Option<String>,
        backfill_days: u32,
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum PasswordType {
    Digest,
    Text,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Cursor {
    start: String,
    page: u32,
}

pub struct Tax12366 {
    cfg: Config,
    http: HttpClient,
}

impl Tax12366 {
    pub fn new(cfg: Config, http: HttpClient) -> Self {
        Tax12366 { cfg, http }
    }

    async fn call(
        &self,
        start: &DateTime<FixedOffset>,
        end: &DateTime<FixedOffset>,
        page: u32,
    ) -> Result<soap::QueryResult, ConnectorError> {
        let endpoint = format!("{}{PATH}", self.cfg.base_url);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let resp = self
                .http
                .send_accepting(&endpoint, &[500], |c| {
                    let envelope = soap::request(&self.cfg, start, end, page);
                    c.post(&endpoint)
                        .header("content-type", "text/xml; charset=utf-8")
                        .header("SOAPAction", format!("\"{SOAP_ACTION}\""))
                        .body(envelope)
                })
                .await?;
            let status = resp.status().as_u16();
            let body = self.http.body(&endpoint, resp).await?;
            match soap::parse_response(&body) {
                Ok(r) => return Ok(r),
                Err(soap::ResponseError::Fault { code, message }) => {
                    let err = ConnectorError::Fault {
                        endpoint: endpoint.clone(),
                        retryable: code.ends_with("Server"),
                        code: code.clone(),
                        message: message.clone(),
                    };
                    if code.ends_with("FailedAuthentication") {
                        return Err(ConnectorError::Auth { endpoint, reason: message });
                    }
                    if !err.is_retryable() || attempt >= self.http.policy().max_attempts {
                        return Err(err);
                    }
                }
                Err(soap::ResponseError::Invalid(reason)) if status == 500 => {
                    // A bare 500 from a proxy in front of the service: retry.
                    if attempt >= self.http.policy().max_attempts {
                        return Err(ConnectorError::Status {
                            endpoint,
                            status,
                            body: reason,
                        });
                    }
                }
                Err(soap::ResponseError::Invalid(reason)) => return Err(ConnectorError::Contract { endpoint, reason }),
            }
            tokio::time::sleep(self.http.policy().backoff(attempt - 1)).await;
        }
    }
}

#[async_trait]
impl PullConnector for Tax12366 {
    fn channel(&self) -> Channel {
        Channel::Tax12366
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        let now = cursor::now();
        self.call(&now, &now, 1).await.map(|_| ())
    }

    async fn pull(&self, cursor: Option<&str>) -> Result<Page, ConnectorError> {
        let cur: Cursor = match cursor {
            Some(c) => cursor::decode(Channel::Tax12366, c)?,
            None => {
                let start = cursor::initial_time(self.cfg.start_from.as_deref(), WINDOW_FMT, self.cfg.backfill_days)?;
                Cursor {
                    start: start.to_rfc3339(),
                    page: 1,
                }
            }
        };
        let start = DateTime::parse_from_rfc3339(&cur.start).map_err(|e| ConnectorError::Cursor {
            reason: format!("the stored tax_12366 cursor's start is not a time ({e}); delete it to start from start_from"),
        })?;
        let Some((end, horizon)) = cursor::next_window(start, self.cfg.window_hours, self.cfg.lag_seconds) else {
            return Ok(Page::default());
        };
        let r = self.call(&start, &end, cur.page).await?;
        let seen = (cur.page - 1) * self.cfg.page_size + r.items.len() as u32;
        let (next, more) = if !r.items.is_empty() && seen < r.total {
            (
                Cursor {
                    start: cur.start,
                    page: cur.page + 1,
                },
                true,
            )
        } else {
            (
                Cursor {
                    start: end.to_rfc3339(),
                    page: 1,
                },
                end < horizon,
            )
        };
        Ok(Page {
            items: r.items,
            next: Some(cursor::encode(&next)),
            more,
        })
    }
}

// What the rest of minqing sees of this channel (`crate::spec`).
crate::spec::pull_spec!(Tax12366, password, Tax12366, |raw| soap::map_record(crate::spec::utf8(raw)?), start_from: crate::supervision::WINDOW_FMT);
