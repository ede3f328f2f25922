//! The outbound channel to the Huangshi 12345 hotline
//! (`docs/channels/huangshi_12345.md`): a signed JSON POST per transfer,
//! keyed for idempotency, whose answer says deliver, retry or give up.

#[cfg(feature = "sim")]
pub mod sim;

use crate::sign::hmac_sha256_hex;
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub const PATH: &str = "/api/v1/transfers";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HuangshiSettings {
    /// Base URL of Huangshi's transfer API.
    pub base_url: String,
    pub app_key: String,
    pub secret: crate::secret::Secret,
    /// Per request.
    pub timeout_ms: u64,
}

/// One appeal handed over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    pub transfer_id: String,
    pub acceptance_no: String,
    pub from: String,
    pub received_at: String,
    pub channel: String,
    pub class: String,
    pub reason: String,
    pub title: Option<String>,
    pub content: String,
    pub appeal_type: Option<String>,
    pub town: Option<String>,
    pub location: Option<String>,
    pub contact: TransferContact,
}

#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TransferContact {
    pub name: Option<String>,
    pub phone: Option<String>,
}

/// Personal data: never printed.
impl std::fmt::Debug for TransferContact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TransferContact(…)")
    }
}

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Huangshi has it (201, or 409 for a repeat of an earlier send).
    Delivered { huangshi_no: String, repeat: bool },
    /// Try again later; `after` is Huangshi's `Retry-After`.
    Retry { reason: String, after: Option<Duration> },
    /// Sending again cannot help (signature, request format).
    Refused { reason: String },
}

/// The string the signature covers.
pub fn signing_input(app_key: &str, timestamp: &str, key: &str, body: &[u8]) -> Vec<u8> {
    let mut m = format!("{app_key}\n{timestamp}\n{key}\n").into_bytes();
    m.extend_from_slice(body);
    m
}

#[derive(Deserialize)]
struct Answer {
    huangshi_no: Option<String>,
    error: Option<String>,
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    settings: HuangshiSettings,
}

impl Client {
    pub fn new(settings: HuangshiSettings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms.max(1)))
            .build()
            .expect("a client with a timeout builds");
        Client { http, settings }
    }

    /// One attempt; never panics, every failure is an [`Outcome`].
    pub async fn send(&self, t: &Transfer) -> Outcome {
        let body = match serde_json::to_vec(t) {
            Ok(b) => b,
            Err(e) => {
                return Outcome::Refused {
                    reason: format!("cannot encode the transfer: {e}"),
                };
            }
        };
        let ts = chrono::Utc::now().timestamp().to_string();
        let sig = hmac_sha256_hex(
            self.settings.secret.as_bytes(),
            &signing_input(&self.settings.app_key, &ts, &t.transfer_id, &body),
        );
        let url = format!("{}{PATH}", self.settings.base_url.trim_end_matches('/'));
        let res = self
            .http
            .post(&url)
            .header("content-type", "application/json")
            .header("x-app-key", &self.settings.app_key)
            .header("x-timestamp", &ts)
            .header("idempotency-key", &t.transfer_id)
            .header("x-signature", sig)
            .body(body)
            .send()
            .await;
        let res = match res {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Retry {
                    reason: if e.is_timeout() {
                        format!("{url}: no answer within {} ms", self.settings.timeout_ms)
                    } else {
                        format!("{url}: {e}")
                    },
                    after: None,
                };
            }
        };
        let status = res.status().as_u16();
        let after = crate::http::retry_after(&res);
        let text = res.text().await.unwrap_or_default();
        let answer: Option<Answer> = serde_json::from_str(&text).ok();
        let no = answer.as_ref().and_then(|a| a.huangshi_no.clone());
        let said = answer.and_then(|a| a.error).unwrap_or_else(|| text.chars().take(200).collect());
        match status {
            201 | 200 => match no {
                Some(huangshi_no) => Outcome::Delivered {
                    huangshi_no,
                    repeat: false,
                },
                None => Outcome::Retry {
                    reason: format!("HTTP {status} without huangshi_no"),
                    after: None,
                },
            },
            409 => Outcome::Delivered {
                huangshi_no: no.unwrap_or_default(),
                repeat: true,
            },
            429 | 500..=599 | 408 => Outcome::Retry {
                reason: format!("HTTP {status}: {said}"),
                after,
            },
            _ => Outcome::Refused {
                reason: format!("HTTP {status}: {said}"),
            },
        }
    }
}
