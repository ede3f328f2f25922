//! The OAuth2 client-credentials token, cached until shortly before expiry.

use super::wire::TokenResponse;
use crate::error::ConnectorError;
use crate::http::HttpClient;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

pub(super) struct TokenCache {
    endpoint: String,
    client_id: String,
    client_secret: String,
    /// A tokio mutex, held across the refresh request, so concurrent callers
    /// wait for one refresh instead of each asking for a token.
    current: Mutex<Option<(String, Instant)>>,
}

impl TokenCache {
    pub(super) fn new(endpoint: String, client_id: String, client_secret: String) -> Self {
        TokenCache {
            endpoint,
            client_id,
            client_secret,
            current: Mutex::new(None),
        }
    }

    /// A token valid for a while yet, refreshing it if needed.
    pub(super) async fn get(&self, http: &HttpClient) -> Result<String, ConnectorError> {
        let mut cur = self.current.lock().await;
        if let Some((tok, until)) = cur.as_ref()
            && Instant::now() < *until
        {
            return Ok(tok.clone());
        }
        let resp = http
            .send(&self.endpoint, |c| {
                c.post(&self.endpoint)
                    .basic_auth(&self.client_id, Some(&self.client_secret))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("grant_type=client_credentials")
            })
            .await
            .map_err(|e| match e {
                ConnectorError::Status {
                    status: 400 | 401, body, ..
                } => ConnectorError::Auth {
                    endpoint: self.endpoint.clone(),
                    reason: format!("the token endpoint refused the client credentials: {body}"),
                },
                other => other,
            })?;
        let body = http.body(&self.endpoint, resp).await?;
        let t: TokenResponse = serde_json::from_slice(&body).map_err(|e| ConnectorError::Contract {
            endpoint: self.endpoint.clone(),
            reason: format!("the token response is not OAuth2 JSON: {e}"),
        })?;
        if !t.token_type.eq_ignore_ascii_case("bearer") {
            return Err(ConnectorError::Contract {
                endpoint: self.endpoint.clone(),
                reason: format!("token_type `{}` is not Bearer", t.token_type),
            });
        }
        // Refresh at 80% of the lifetime so a request never leaves with a token
        // about to expire.
        let life = Duration::from_millis(t.expires_in.saturating_mul(800));
        *cur = Some((t.access_token.clone(), Instant::now() + life));
        Ok(t.access_token)
    }

    /// Drops `token` if it is still the cached one.
    pub(super) async fn invalidate(&self, token: &str) {
        let mut cur = self.current.lock().await;
        if cur.as_ref().is_some_and(|(t, _)| t == token) {
            *cur = None;
        }
    }
}
