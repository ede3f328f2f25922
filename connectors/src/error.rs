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
    Sink(#[from] SinkError),
    #[error("the checkpoint store failed: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// A stored cursor this connector cannot read; `reason` says how to
    /// recover (usually: delete it).
    #[error("{reason}")]
    Cursor { reason: String },
}

/// An error from outside the connectors (the workflow store, the bus),
/// kept with its type as the source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The checkpoint store could not load or save a cursor.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CheckpointError(#[source] pub BoxError);

impl ConnectorError {
    /// Whether the same request may succeed later.
    pub fn is_retryable(&self) -> bool {
        match self {
            ConnectorError::Http { .. } | ConnectorError::Exhausted { .. } => true,
            ConnectorError::Status { status, .. } => *status == 429 || *status >= 500,
            ConnectorError::Fault { retryable, .. } => *retryable,
            ConnectorError::Sink(e) => e.is_retryable(),
            ConnectorError::Checkpoint(_) => true,
            ConnectorError::Auth { .. } | ConnectorError::Contract { .. } | ConnectorError::Cursor { .. } => false,
        }
    }

    /// A 401 or 403 from `endpoint` as what it means: our credentials were
    /// refused (with `hint` after the upstream's own text). Any other error
    /// is returned as it is.
    pub fn refused_as_auth(self, endpoint: &str, hint: &str) -> ConnectorError {
        match self {
            ConnectorError::Status {
                status: 401 | 403, body, ..
            } => ConnectorError::Auth {
                endpoint: endpoint.to_owned(),
                reason: format!("{body}{hint}"),
            },
            other => other,
        }
    }
}

/// The sink could not take the batch; the caller keeps its checkpoint and
/// retries later (push endpoints answer 503 so the sender retries).
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The pipeline behind the sink (the bus, the store) failed; the
    /// source keeps its own type.
    #[error("{0}")]
    Pipeline(#[source] BoxError),
    /// The task handing the batch on failed.
    #[error("the hand-off task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl SinkError {
    /// Every sink failure is worth retrying: nothing was taken, so the
    /// same batch goes again.
    pub fn is_retryable(&self) -> bool {
        true
    }
}
