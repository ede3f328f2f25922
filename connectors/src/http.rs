//! The retrying HTTP client that every pull connector uses.
//!
//! Retries connection errors, timeouts, 5xx and 429 with capped exponential
//! backoff and full jitter, so that many gateways restarting together do not
//! hammer an upstream in lockstep. A 429's `Retry-After` (seconds or an HTTP
//! date) is honoured, up to `max_retry_after`.

use crate::error::ConnectorError;
use rand::Rng;
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime};

/// How hard to try before a poll gives up (the next cron tick tries again).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff; doubled per attempt.
    pub base_delay_ms: u64,
    /// Backoff cap.
    pub max_delay_ms: u64,
    /// Per-request timeout; a slow upstream counts as a failed attempt.
    pub timeout_ms: u64,
    /// The longest `Retry-After` we wait for before giving up this poll.
    pub max_retry_after_ms: u64,
    /// Largest response body accepted, so a runaway upstream cannot exhaust memory.
    pub max_body_bytes: usize,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay_ms: 100,
            max_delay_ms: 10_000,
            timeout_ms: 10_000,
            max_retry_after_ms: 120_000,
            max_body_bytes: 64 * 1024 * 1024,
        }
    }
}

impl RetryPolicy {
    /// Full-jitter backoff for the given retry number (0 for the first retry).
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay_ms
            .saturating_mul(1u64 << retry.min(20))
            .min(self.max_delay_ms)
            .max(1);
        Duration::from_millis(rand::rng().random_range(exp / 2..=exp))
    }
}

/// A `reqwest::Client` plus the retry policy.
#[derive(Clone)]
pub struct HttpClient {
    client: Client,
    policy: RetryPolicy,
}

impl HttpClient {
    pub fn new(policy: RetryPolicy) -> Self {
        let client = Client::builder()
            .timeout(Duration::from_millis(policy.timeout_ms))
            .pool_max_idle_per_host(8)
            .build()
            .expect("the HTTP client builds with static settings");
        HttpClient { client, policy }
    }

    pub fn inner(&self) -> &Client {
        &self.client
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Sends the request that `build` makes, retrying as the policy says.
    /// `build` runs once per attempt, so signatures get a fresh timestamp and
    /// nonce. Returns the response of the first 2xx answer; a non-retryable
    /// status is returned as [`ConnectorError::Status`] at once.
    pub async fn send(&self, endpoint: &str, build: impl Fn(&Client) -> RequestBuilder) -> Result<Response, ConnectorError> {
        self.send_accepting(endpoint, &[], build).await
    }

    /// Like [`HttpClient::send`], but statuses in `accept` are handed back as
    /// they are, for protocols that put an answer in an error status (SOAP
    /// faults come with HTTP 500).
    pub async fn send_accepting(
        &self,
        endpoint: &str,
        accept: &[u16],
        build: impl Fn(&Client) -> RequestBuilder,
    ) -> Result<Response, ConnectorError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let wait = match build(&self.client).send().await {
                Ok(resp) if resp.status().is_success() || accept.contains(&resp.status().as_u16()) => return Ok(resp),
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = retry_after(&resp);
                    let body = read_limited(resp, 2048).await.unwrap_or_default();
                    let err = ConnectorError::Status {
                        endpoint: endpoint.to_owned(),
                        status: status.as_u16(),
                        body: String::from_utf8_lossy(&body).into_owned(),
                    };
                    if !err.is_retryable() || attempt >= self.policy.max_attempts {
                        return Err(exhausted(endpoint, attempt, err));
                    }
                    match (status, retry_after) {
                        (StatusCode::TOO_MANY_REQUESTS, Some(d)) => {
                            if d.as_millis() > u128::from(self.policy.max_retry_after_ms) {
                                return Err(exhausted(endpoint, attempt, err));
                            }
                            d
                        }
                        _ => self.policy.backoff(attempt - 1),
                    }
                }
                Err(source) => {
                    let err = ConnectorError::Http {
                        endpoint: endpoint.to_owned(),
                        source,
                    };
                    if attempt >= self.policy.max_attempts {
                        return Err(exhausted(endpoint, attempt, err));
                    }
                    self.policy.backoff(attempt - 1)
                }
            };
            tracing::debug!(endpoint, attempt, wait_ms = wait.as_millis() as u64, "Retrying request.");
            tokio::time::sleep(wait).await;
        }
    }

    /// Reads a body up to the policy's size limit.
    pub async fn body(&self, endpoint: &str, resp: Response) -> Result<Vec<u8>, ConnectorError> {
        read_limited(resp, self.policy.max_body_bytes)
            .await
            .map_err(|reason| ConnectorError::Contract {
                endpoint: endpoint.to_owned(),
                reason,
            })
    }
}

fn exhausted(endpoint: &str, attempts: u32, err: ConnectorError) -> ConnectorError {
    if attempts <= 1 || !err.is_retryable() {
        return err;
    }
    ConnectorError::Exhausted {
        endpoint: endpoint.to_owned(),
        attempts,
        last: err.to_string(),
    }
}

/// Parses `Retry-After` as delta-seconds or an HTTP date.
pub fn retry_after(resp: &Response) -> Option<Duration> {
    let v = resp.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(v, SystemTime::now())
}

fn parse_retry_after(v: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(secs) = v.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v.trim()).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

async fn read_limited(mut resp: Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("reading the body failed: {e}"))? {
        if out.len() + chunk.len() > limit {
            return Err(format!("the body is larger than the {limit}-byte limit"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(10));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        let p = RetryPolicy {
            base_delay_ms: 100,
            max_delay_ms: 1000,
            ..RetryPolicy::default()
        };
        for retry in 0..30 {
            let d = p.backoff(retry).as_millis() as u64;
            let cap = (100u64 << retry.min(20)).min(1000);
            assert!(d >= cap / 2 && d <= cap, "retry {retry}: {d}ms outside [{}, {cap}]", cap / 2);
        }
    }
}
