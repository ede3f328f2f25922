//! [`ConnectorError`]: what went wrong talking to a channel, and whether to retry.

/// Errors from fetching, verifying or decoding a channel's data. Every variant
/// answers [`ConnectorError::is_retryable`]: transport trouble is retried with
/// backoff, a contract violation is not.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error("request to {endpoint} failed: {source}")]
    Http {
        endpoint: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{endpoint} answered HTTP {status}: {body}")]
    Status { endpoint: String, status: u16, body: String },
    #[error("authentication with {endpoint} failed: {reason}; check the channel's credentials in config")]
    Auth { endpoint: String, reason: String },
    #[error("{endpoint} sent a response that breaks the contract: {reason}")]
    Contract { endpoint: String, reason: String },
    #[error("upstream fault from {endpoint}: {code}: {message}")]
    Fault {
        endpoint: String,
        code: String,
        message: String,
        retryable: bool,
    },
    #[error("gave up on {endpoint} after {attempts} attempts: {last}")]
    Exhausted { endpoint: String, attempts: u32, last: String },
    #[error("the downstream sink refused the batch: {0}")]
    Sink(String),
    #[error("the checkpoint store failed: {0}")]
    Checkpoint(String),
}

impl ConnectorError {
    /// Whether the same request may succeed later.
    pub fn is_retryable(&self) -> bool {
        match self {
            ConnectorError::Http { .. } | ConnectorError::Exhausted { .. } => true,
            ConnectorError::Status { status, .. } => *status == 429 || *status >= 500,
            ConnectorError::Fault { retryable, .. } => *retryable,
            ConnectorError::Sink(_) | ConnectorError::Checkpoint(_) => true,
            ConnectorError::Auth { .. } | ConnectorError::Contract { .. } => false,
        }
    }
}
