//! The RabbitMQ bus of production deployments (lapin), with the topology of
//! DESIGN.md §3:
//!
//! - exchanges `minqing.raw` (fanout) and `minqing.tickets` (topic, routing
//!   key `ticket.<event_type>.<channel>`), plus `minqing.dlx` for parking;
//! - durable quorum queues `raw.intake` (single active consumer),
//!   `tickets.workflow`, `tickets.warehouse` and `tickets.forward`, each with
//!   `x-delivery-limit` and a parking queue `<queue>.parked` behind the DLX.
//!
//! A message body is a JSON array of items that share one routing key: a
//! connector page, or one intake batch's events of one type and channel.
//! Framing items together keeps the broker's per-message cost off the hot
//! path; consumers still settle and park per message.
//!
//! Publishing waits for the broker's confirm. After a failure it reconnects
//! ([`link`]) and publishes again: a message may thus arrive twice, which the
//! deterministic ids make harmless. Consumers ack only after their effect is
//! committed; what was unacked at a disconnect comes back.

pub mod bench;
mod consumer;
mod link;
mod topology;

pub use topology::Names;

use super::{Bus, BusError, Consumer, EventQueue};
use crate::ticket::TicketEvent;
use async_trait::async_trait;
use consumer::{Parker, RabbitConsumer};
use lapin::options::{BasicPublishOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel};
use link::Links;
use minqing_connectors::Inbound;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RabbitSettings {
    /// `amqp://user:password@host:port/vhost` (the default vhost is `%2f`).
    pub url: String,
    /// Prepended to every exchange and queue name, so deployments (and
    /// tests) can share a broker.
    pub prefix: String,
    /// Unacked messages a sink consumer may hold (a message frames up to
    /// `max_message_items` events).
    pub prefetch: u16,
    /// Unacked messages intake may hold. Higher than `prefetch`: many raw
    /// messages are single pushed appeals, and intake keeps up to
    /// `bus.max_in_flight` batches unacked while they commit.
    pub intake_prefetch: u16,
    /// Deliveries of one message before the broker parks it.
    pub delivery_limit: u32,
    /// Most items framed into one message.
    pub max_message_items: usize,
    /// How long a publish may wait for the broker to come back.
    pub publish_timeout_secs: u64,
}

impl Default for RabbitSettings {
    fn default() -> Self {
        RabbitSettings {
            url: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
            prefix: String::new(),
            prefetch: 128,
            intake_prefetch: 512,
            delivery_limit: 20,
            max_message_items: 500,
            publish_timeout_secs: 120,
        }
    }
}

/// The header that carries why a message was parked.
pub const REASON_HEADER: &str = "x-minqing-reason";

/// Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct RabbitBus {
    inner: Arc<Inner>,
}

struct Inner {
    links: Links,
    names: Names,
    cfg: RabbitSettings,
    max_batch: usize,
    /// Masks the copies published for the warehouse's queue.
    masker: crate::privacy::Masker,
}

fn broker(e: lapin::Error) -> BusError {
    BusError::amqp("", e)
}

fn table(entries: &[(&str, AMQPValue)]) -> FieldTable {
    let mut t = BTreeMap::new();
    for (k, v) in entries {
        t.insert(ShortString::from(*k), v.clone());
    }
    FieldTable::from(t)
}

fn text(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s))
}

impl RabbitBus {
    /// Connects, declares the topology and enables publisher confirms.
    pub async fn connect(cfg: &RabbitSettings, max_batch: usize) -> Result<Self, BusError> {
        let names = Names::new(&cfg.prefix);
        let links = Links::open(cfg, &names).await?;
        Ok(RabbitBus {
            inner: Arc::new(Inner {
                links,
                names,
                cfg: cfg.clone(),
                max_batch: max_batch.max(1),
                masker: crate::privacy::Masker::default(),
            }),
        })
    }

    /// The same bus, masking the warehouse's copies with `masker`; call
    /// before the bus is shared.
    pub fn with_masker(mut self, masker: crate::privacy::Masker) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.masker = masker;
        }
        self
    }

    pub fn names(&self) -> &Names {
        &self.inner.names
    }

    /// Messages ready in a queue (not counting unacked ones).
    pub async fn ready(&self, queue: &str) -> Result<u32, BusError> {
        let ch = self.channel().await?;
        let q = ch
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(broker)?;
        let _ = ch.close(200, "done".into()).await;
        Ok(q.message_count())
    }

    /// A fresh channel on the current connection, for one-off work.
    async fn channel(&self) -> Result<Channel, BusError> {
        self.inner.links.current().conn.create_channel().await.map_err(broker)
    }

    /// Publishes raw bodies and waits for every confirm, retrying the whole
    /// set after a reconnect; duplicates are harmless downstream.
    pub async fn publish_bodies(&self, exchange: &str, msgs: &[(String, Vec<u8>)]) -> Result<(), BusError> {
        self.inner.publish(exchange, msgs, None).await
    }

    async fn consume<T: DeserializeOwned + Send + 'static>(&self, queue: String, prefetch: u16) -> Result<Box<dyn Consumer<T>>, BusError> {
        let parker = Parker::new(self.inner.clone(), queue);
        Ok(Box::new(RabbitConsumer::subscribe(self.inner.clone(), parker, prefetch).await?))
    }

    fn frame<T: Serialize>(&self, items: &[T]) -> Result<Vec<Vec<u8>>, BusError> {
        items
            .chunks(self.inner.cfg.max_message_items.max(1))
            .map(|c| serde_json::to_vec(c).map_err(BusError::from))
            .collect()
    }
}

impl Inner {
    /// Publishes and waits for the confirms. A failed publish is retried on
    /// a new connection until `publish_timeout_secs` has passed.
    async fn publish(&self, exchange: &str, msgs: &[(String, Vec<u8>)], headers: Option<&FieldTable>) -> Result<(), BusError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(self.cfg.publish_timeout_secs);
        loop {
            let link = self.links.current();
            let e = match publish_confirmed(&link.publisher, exchange, msgs, headers).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(BusError::Publish {
                    exchange: exchange.to_owned(),
                    source: e,
                });
            }
            tracing::warn!(error = %e, exchange, "Publishing to RabbitMQ failed; retrying.");
            match e {
                // The broker is there but refused; its queues may be electing.
                PublishError::Nacked => tokio::time::sleep(Duration::from_millis(500)).await,
                PublishError::Broker(_) | PublishError::Timeout => {
                    if tokio::time::timeout_at(deadline, self.links.replace(link.generation))
                        .await
                        .is_err()
                    {
                        return Err(BusError::Publish {
                            exchange: exchange.to_owned(),
                            source: e,
                        });
                    }
                }
            }
        }
    }
}

async fn publish_confirmed(
    ch: &Channel,
    exchange: &str,
    msgs: &[(String, Vec<u8>)],
    headers: Option<&FieldTable>,
) -> Result<(), PublishError> {
    let mut props = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into());
    if let Some(h) = headers {
        props = props.with_headers(h.clone());
    }
    let mut confirms = Vec::with_capacity(msgs.len());
    for (key, body) in msgs {
        let publish = ch.basic_publish(
            exchange.into(),
            key.as_str().into(),
            BasicPublishOptions::default(),
            body,
            props.clone(),
        );
        // Around a disconnect a publish can wait forever; it is retried instead.
        confirms.push(
            tokio::time::timeout(CONFIRM_TIMEOUT, publish)
                .await
                .map_err(|_| PublishError::Timeout)??,
        );
    }
    for c in confirms {
        // A confirm pending when the connection dropped may never come;
        // publishing again is safe, so give up on it after a while.
        let confirmation = tokio::time::timeout(CONFIRM_TIMEOUT, c)
            .await
            .map_err(|_| PublishError::Timeout)??;
        if confirmation.is_nack() {
            return Err(PublishError::Nacked);
        }
    }
    Ok(())
}

/// Why one publish did not get its confirm.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{0}")]
    Broker(#[from] lapin::Error),
    #[error("the broker refused (nacked) a message")]
    Nacked,
    #[error("no publish or confirm within {CONFIRM_TIMEOUT:?}")]
    Timeout,
}

/// Routing keys of events as they are (`ticket.<event>.<channel>`) and of
/// their masked copies for the warehouse (`analysis.<event>.<channel>`).
const TICKET_PREFIX: &str = "ticket.";
pub(crate) const ANALYSIS_PREFIX: &str = "analysis.";

const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

impl RabbitBus {
    /// The messages for `events`: (routing key, body). Groups keep the
    /// order of first appearance, so a ticket's received event is published
    /// (and, on one queue, delivered) before the events that refer to it.
    /// The warehouse's queue is bound to `analysis.#` and gets copies with
    /// personal data masked: a queue that feeds analysis never holds it.
    /// `ticket` adds the `ticket.*` messages for the workflow and forward
    /// queues.
    fn event_messages(&self, events: &[TicketEvent], ticket: bool) -> Result<Vec<(String, Vec<u8>)>, BusError> {
        let mut groups: Vec<(String, Vec<&TicketEvent>)> = Vec::new();
        for e in events {
            let key = e.routing_key();
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, g)) => g.push(e),
                None => groups.push((key, vec![e])),
            }
        }
        let mut msgs = Vec::new();
        for (key, group) in groups {
            if ticket {
                for body in self.frame(&group)? {
                    msgs.push((key.clone(), body));
                }
            }
            let masked: Vec<TicketEvent> = group.iter().map(|e| self.inner.masker.event_for_analysis(e)).collect();
            let analysis = EventQueue::Warehouse.routing_key(group[0]);
            for body in self.frame(&masked)? {
                msgs.push((analysis.clone(), body));
            }
        }
        Ok(msgs)
    }
}

#[async_trait]
impl Bus for RabbitBus {
    async fn publish_raw(&self, items: Vec<Inbound>) -> Result<(), BusError> {
        let msgs: Vec<(String, Vec<u8>)> = self.frame(&items)?.into_iter().map(|b| (String::new(), b)).collect();
        self.publish_bodies(&self.inner.names.raw, &msgs).await
    }

    async fn publish_events(&self, events: Vec<TicketEvent>) -> Result<(), BusError> {
        let msgs = self.event_messages(&events, true)?;
        self.publish_bodies(&self.inner.names.tickets, &msgs).await
    }

    async fn publish_analysis(&self, events: Vec<TicketEvent>) -> Result<(), BusError> {
        let msgs = self.event_messages(&events, false)?;
        self.publish_bodies(&self.inner.names.tickets, &msgs).await
    }

    fn warehouse_from_outbox(&self) -> bool {
        false
    }

    async fn consume_raw(&self) -> Result<Box<dyn Consumer<Inbound>>, BusError> {
        self.consume(self.inner.names.intake.clone(), self.inner.cfg.intake_prefetch).await
    }

    async fn ping(&self) -> Result<(), BusError> {
        if self.inner.links.current().conn.status().connected() {
            Ok(())
        } else {
            Err(BusError::Disconnected)
        }
    }

    fn kind(&self) -> &'static str {
        "rabbitmq"
    }

    async fn consume_events(&self, queue: EventQueue) -> Result<Box<dyn Consumer<TicketEvent>>, BusError> {
        self.consume(self.inner.names.queue(queue), self.inner.cfg.prefetch).await
    }
}

/// A parked message as read back from a parking queue.
#[derive(Debug, Clone)]
pub struct ParkedMessage {
    pub reason: Option<String>,
    pub body: Vec<u8>,
}

/// Reads (without removing) up to `limit` parked messages of `queue`; for
/// operators and tests.
pub async fn peek_parked(bus: &RabbitBus, queue: &str, limit: usize) -> Result<Vec<ParkedMessage>, BusError> {
    peek(bus, &Names::parked(queue), limit).await
}

/// Reads (without removing) up to `limit` messages of `queue`, with the
/// reason header parked ones carry; for operators and tests.
pub async fn peek(bus: &RabbitBus, queue: &str, limit: usize) -> Result<Vec<ParkedMessage>, BusError> {
    let ch = bus.channel().await?;
    let mut out = Vec::new();
    while out.len() < limit {
        let got = ch
            .basic_get(queue.into(), lapin::options::BasicGetOptions::default())
            .await
            .map_err(broker)?;
        let Some(m) = got else { break };
        let reason = m
            .delivery
            .properties
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get(REASON_HEADER).cloned())
            .and_then(|v| match v {
                AMQPValue::LongString(s) => Some(s.to_string()),
                _ => None,
            });
        out.push(ParkedMessage {
            reason,
            body: m.delivery.data.clone(),
        });
    }
    // Closing without acking puts them back.
    let _ = ch.close(200, "done".into()).await;
    Ok(out)
}
