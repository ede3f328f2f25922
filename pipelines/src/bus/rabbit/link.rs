//! The connection to RabbitMQ and its publishing channel, replaced as a
//! whole when anything on it fails.
//!
//! lapin's own automatic recovery did not come back from a broker
//! `stop_app`/`start_app` here (its recovery never completed and every
//! caller waited forever), so minqing reconnects itself: whoever sees a
//! failure asks for a new [`Link`] naming the generation that failed; the
//! first asker connects, redeclares the topology and swaps it in, and the
//! others find the new generation already there. Consumers then subscribe
//! again on the new connection. What was unacked on the old one comes back
//! from the broker, which the idempotent consumers absorb.

use super::topology::{Names, declare};
use super::{RabbitSettings, broker};
use crate::bus::BusError;
use lapin::options::ConfirmSelectOptions;
use lapin::{Channel, Connection, ConnectionProperties};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// One connection and the channel all publishing goes through.
pub(super) struct Link {
    pub conn: Connection,
    pub publisher: Channel,
    pub generation: u64,
}

/// The current [`Link`] and the means to replace it.
pub(super) struct Links {
    cfg: RabbitSettings,
    names: Names,
    current: RwLock<Arc<Link>>,
    replacing: tokio::sync::Mutex<()>,
}

/// A connect (TCP, AMQP handshake, declarations) that takes longer is
/// abandoned and tried again; a broker that is still booting can hang it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

impl Links {
    /// Connects once; a failure here is reported, not retried, so a wrong
    /// URL fails start-up with a clear message.
    pub async fn open(cfg: &RabbitSettings, names: &Names) -> Result<Self, BusError> {
        let link = connect(cfg, names, 0).await?;
        Ok(Links {
            cfg: cfg.clone(),
            names: names.clone(),
            current: RwLock::new(Arc::new(link)),
            replacing: tokio::sync::Mutex::new(()),
        })
    }

    pub fn current(&self) -> Arc<Link> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the link of generation `failed` with a new one, unless
    /// another task already has, and returns the current link. Keeps
    /// trying, with capped backoff, until the broker answers; callers with
    /// a deadline put a timeout around it.
    pub async fn replace(&self, failed: u64) -> Arc<Link> {
        let _turn = self.replacing.lock().await;
        let old = self.current();
        if old.generation != failed {
            return old;
        }
        // Closing the old connection makes the broker requeue what its
        // consumers held, and ends their streams so they resubscribe.
        if old.conn.status().connected() {
            let _ = tokio::time::timeout(Duration::from_secs(2), old.conn.close(320, "reconnecting".into())).await;
        }
        let mut delay = Duration::from_millis(200);
        loop {
            match connect(&self.cfg, &self.names, failed + 1).await {
                Ok(link) => {
                    tracing::info!(generation = link.generation, "Reconnected to RabbitMQ.");
                    let link = Arc::new(link);
                    *self.current.write().unwrap_or_else(|p| p.into_inner()) = link.clone();
                    return link;
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "RabbitMQ unreachable; reconnecting.");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

async fn connect(cfg: &RabbitSettings, names: &Names, generation: u64) -> Result<Link, BusError> {
    let attempt = async {
        let props = ConnectionProperties::default().with_connection_name("minqing".into());
        let conn = Connection::connect(&cfg.url, props).await.map_err(|source| BusError::Amqp {
            context: format!("connecting to {}: ", redact(&cfg.url)),
            source,
            hint: "; is RabbitMQ running (scripts/services start)?",
        })?;
        let publisher = conn.create_channel().await.map_err(broker)?;
        declare(&publisher, names, cfg.delivery_limit).await?;
        publisher.confirm_select(ConfirmSelectOptions::default()).await.map_err(broker)?;
        Ok(Link {
            conn,
            publisher,
            generation,
        })
    };
    tokio::time::timeout(CONNECT_TIMEOUT, attempt)
        .await
        .map_err(|_| BusError::TimedOut {
            what: format!("connecting to {}", redact(&cfg.url)),
            after: CONNECT_TIMEOUT,
        })?
}

/// The URL without its password, for messages.
pub(super) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].find(':') {
            Some(c) => format!("{}:***{}", &url[..s + 3 + c], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}
