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
//! Publishing waits for the broker's confirm and, after a disconnect, for the
//! connection's automatic recovery, then publishes again: a message may thus
//! arrive twice, which the deterministic ids make harmless. Consumers ack only
//! after their effect is committed; what was unacked at a disconnect comes
//! back.

use super::{Acker, Bus, BusError, Consumer, Delivery, EventQueue};
use crate::ticket::TicketEvent;
use async_trait::async_trait;
use futures_util::{FutureExt, StreamExt};
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use minqing_connectors::Inbound;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RabbitSettings {
    /// `amqp://user:password@host:port/vhost` (the default vhost is `%2f`).
    pub url: String,
    /// Prepended to every exchange and queue name, so deployments (and
    /// tests) can share a broker.
    pub prefix: String,
    /// Unacked messages a consumer may hold.
    pub prefetch: u16,
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
            prefetch: 64,
            delivery_limit: 20,
            max_message_items: 500,
            publish_timeout_secs: 120,
        }
    }
}

/// Exchange and queue names, with the configured prefix.
#[derive(Debug, Clone)]
pub struct Names {
    pub raw: String,
    pub tickets: String,
    pub dlx: String,
    pub intake: String,
    prefix: String,
}

impl Names {
    pub fn new(prefix: &str) -> Self {
        Names {
            raw: format!("{prefix}minqing.raw"),
            tickets: format!("{prefix}minqing.tickets"),
            dlx: format!("{prefix}minqing.dlx"),
            intake: format!("{prefix}raw.intake"),
            prefix: prefix.to_owned(),
        }
    }

    pub fn queue(&self, q: EventQueue) -> String {
        format!("{}{}", self.prefix, q.name())
    }

    pub fn parked(queue: &str) -> String {
        format!("{queue}.parked")
    }

    /// Every consumed queue, raw first.
    pub fn all_queues(&self) -> Vec<String> {
        let mut v = vec![self.intake.clone()];
        v.extend(EventQueue::ALL.iter().map(|q| self.queue(*q)));
        v
    }
}

/// The header that carries why a message was parked.
pub const REASON_HEADER: &str = "x-minqing-reason";

pub struct RabbitBus {
    conn: Connection,
    publisher: Channel,
    names: Names,
    cfg: RabbitSettings,
    max_batch: usize,
}

fn broker(e: lapin::Error) -> BusError {
    BusError::Broker(e.to_string())
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
        let props = ConnectionProperties::default()
            .enable_auto_recover()
            // A broker restart takes seconds; keep trying for about two minutes.
            .configure_backoff(|b| {
                b.with_min_delay(Duration::from_millis(200))
                    .with_max_delay(Duration::from_secs(3))
                    .with_max_times(60)
            })
            .with_connection_name("minqing".into());
        let conn = Connection::connect(&cfg.url, props).await.map_err(|e| {
            BusError::Broker(format!(
                "connecting to {}: {e}; is RabbitMQ running (scripts/services start)?",
                redact(&cfg.url)
            ))
        })?;
        let publisher = conn.create_channel().await.map_err(broker)?;
        let names = Names::new(&cfg.prefix);
        declare(&publisher, &names, cfg.delivery_limit).await?;
        publisher.confirm_select(ConfirmSelectOptions::default()).await.map_err(broker)?;
        Ok(RabbitBus {
            conn,
            publisher,
            names,
            cfg: cfg.clone(),
            max_batch: max_batch.max(1),
        })
    }

    pub fn names(&self) -> &Names {
        &self.names
    }

    /// Messages ready in a queue (not counting unacked ones).
    pub async fn ready(&self, queue: &str) -> Result<u32, BusError> {
        let ch = self.conn.create_channel().await.map_err(broker)?;
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

    /// Publishes raw bodies and waits for every confirm, retrying the whole
    /// set after a recovery; duplicates are harmless downstream.
    pub async fn publish_bodies(&self, exchange: &str, msgs: &[(String, Vec<u8>)]) -> Result<(), BusError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(self.cfg.publish_timeout_secs);
        loop {
            match publish_confirmed(&self.publisher, exchange, msgs, None).await {
                Ok(()) => return Ok(()),
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing::warn!(error = %e, "Publishing to RabbitMQ failed; waiting for the connection to recover.");
                    e.settle(&self.publisher).await;
                }
                Err(e) => return Err(BusError::Broker(format!("publishing to {exchange}: {e}"))),
            }
        }
    }

    async fn consume<T: DeserializeOwned + Send + 'static>(&self, queue: String) -> Result<Box<dyn Consumer<T>>, BusError> {
        let ch = self.conn.create_channel().await.map_err(broker)?;
        ch.basic_qos(self.cfg.prefetch, BasicQosOptions::default()).await.map_err(broker)?;
        let consumer = ch
            .basic_consume(
                queue.as_str().into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(broker)?;
        Ok(Box::new(RabbitConsumer {
            channel: ch,
            consumer,
            parker: Parker {
                channel: self.publisher.clone(),
                dlx: self.names.dlx.clone(),
                queue,
            },
            max_batch: self.max_batch,
            _t: std::marker::PhantomData,
        }))
    }

    fn frame<T: Serialize>(&self, items: &[T]) -> Result<Vec<Vec<u8>>, BusError> {
        items
            .chunks(self.cfg.max_message_items.max(1))
            .map(|c| serde_json::to_vec(c).map_err(|e| BusError::Broker(format!("encoding a message: {e}"))))
            .collect()
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].find(':') {
            Some(c) => format!("{}:***{}", &url[..s + 3 + c], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
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
        // Around a reconnect a publish can wait forever; it is retried instead.
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

#[derive(Debug, thiserror::Error)]
enum PublishError {
    #[error("{0}")]
    Broker(#[from] lapin::Error),
    #[error("the broker refused (nacked) a message")]
    Nacked,
    #[error("no publish or confirm within {CONFIRM_TIMEOUT:?}")]
    Timeout,
}

const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

impl PublishError {
    /// Waits until publishing may succeed again.
    async fn settle(self, ch: &Channel) {
        let waited = match self {
            PublishError::Broker(e) => ch.wait_for_recovery(e).await.map_err(|e| e.to_string()),
            PublishError::Nacked | PublishError::Timeout => Err("nacked or timed out".into()),
        };
        if let Err(e) = waited {
            tracing::debug!(error = %e, "RabbitMQ not ready; retrying shortly.");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// Declares exchanges, queues, bindings and parking queues; idempotent.
async fn declare(ch: &Channel, n: &Names, delivery_limit: u32) -> Result<(), BusError> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    for (name, kind) in [
        (&n.raw, ExchangeKind::Fanout),
        (&n.tickets, ExchangeKind::Topic),
        (&n.dlx, ExchangeKind::Direct),
    ] {
        ch.exchange_declare(name.as_str().into(), kind, durable, FieldTable::default())
            .await
            .map_err(broker)?;
    }
    let qopts = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    let quorum = text("quorum");
    let mut queues: Vec<(String, &str, &str, bool)> = vec![(n.intake.clone(), n.raw.as_str(), "", true)];
    for q in EventQueue::ALL {
        queues.push((n.queue(q), n.tickets.as_str(), q.binding(), false));
    }
    for (queue, exchange, key, single) in &queues {
        let parked = Names::parked(queue);
        ch.queue_declare(parked.as_str().into(), qopts, table(&[("x-queue-type", quorum.clone())]))
            .await
            .map_err(broker)?;
        ch.queue_bind(
            parked.as_str().into(),
            n.dlx.as_str().into(),
            queue.as_str().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(broker)?;
        let mut args = vec![
            ("x-queue-type", quorum.clone()),
            ("x-dead-letter-exchange", text(&n.dlx)),
            ("x-dead-letter-routing-key", text(queue)),
            ("x-delivery-limit", AMQPValue::LongInt(delivery_limit as i32)),
        ];
        if *single {
            args.push(("x-single-active-consumer", AMQPValue::Boolean(true)));
        }
        ch.queue_declare(queue.as_str().into(), qopts, table(&args)).await.map_err(|e| {
            BusError::Broker(format!(
                "declaring queue {queue}: {e}; if it exists with other arguments, delete it or use another bus.rabbitmq.prefix"
            ))
        })?;
        ch.queue_bind(
            queue.as_str().into(),
            (*exchange).into(),
            (*key).into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(broker)?;
    }
    Ok(())
}

impl EventQueue {
    /// Its binding on the ticket-event exchange.
    pub fn binding(self) -> &'static str {
        match self {
            EventQueue::Workflow | EventQueue::Warehouse => "ticket.#",
            // Only what triage sends to Huangshi 12345.
            EventQueue::Forward => "ticket.forwarded.#",
        }
    }
}

#[async_trait]
impl Bus for RabbitBus {
    async fn publish_raw(&self, items: Vec<Inbound>) -> Result<(), BusError> {
        let msgs: Vec<(String, Vec<u8>)> = self.frame(&items)?.into_iter().map(|b| (String::new(), b)).collect();
        self.publish_bodies(&self.names.raw, &msgs).await
    }

    async fn publish_events(&self, events: Vec<TicketEvent>) -> Result<(), BusError> {
        // Groups keep the order of first appearance, so a ticket's received
        // event is published (and, on one queue, delivered) before the
        // events that refer to it.
        let mut groups: Vec<(String, Vec<&TicketEvent>)> = Vec::new();
        for e in &events {
            let key = e.routing_key();
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, g)) => g.push(e),
                None => groups.push((key, vec![e])),
            }
        }
        let mut msgs = Vec::new();
        for (key, group) in groups {
            for body in self.frame(&group)? {
                msgs.push((key.clone(), body));
            }
        }
        self.publish_bodies(&self.names.tickets, &msgs).await
    }

    async fn consume_raw(&self) -> Result<Box<dyn Consumer<Inbound>>, BusError> {
        self.consume(self.names.intake.clone()).await
    }

    async fn ping(&self) -> Result<(), BusError> {
        if self.conn.status().connected() {
            Ok(())
        } else {
            Err(BusError::Broker("not connected to RabbitMQ; reconnecting".into()))
        }
    }

    fn kind(&self) -> &'static str {
        "rabbitmq"
    }

    async fn consume_events(&self, queue: EventQueue) -> Result<Box<dyn Consumer<TicketEvent>>, BusError> {
        self.consume(self.names.queue(queue)).await
    }
}

/// Sends messages to a queue's parking queue, with the reason.
#[derive(Clone)]
struct Parker {
    channel: Channel,
    dlx: String,
    queue: String,
}

impl Parker {
    async fn park(&self, body: Vec<u8>, reason: &str) -> Result<(), BusError> {
        let headers = table(&[(REASON_HEADER, text(reason)), ("x-minqing-queue", text(&self.queue))]);
        let msgs = [(self.queue.clone(), body)];
        let mut tries = 0;
        loop {
            match publish_confirmed(&self.channel, &self.dlx, &msgs, Some(&headers)).await {
                Ok(()) => return Ok(()),
                Err(e) if tries < 60 => {
                    tries += 1;
                    e.settle(&self.channel).await;
                }
                Err(e) => return Err(BusError::Broker(format!("parking a message from {}: {e}", self.queue))),
            }
        }
    }
}

struct RabbitConsumer<T> {
    channel: Channel,
    consumer: lapin::Consumer,
    parker: Parker,
    max_batch: usize,
    _t: std::marker::PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> RabbitConsumer<T> {
    /// Decodes one message; an undecodable one is parked and acked here.
    async fn take(&self, d: lapin::message::Delivery, items: &mut Vec<T>, ackers: &mut Vec<lapin::Acker>) {
        match serde_json::from_slice::<Vec<T>>(&d.data) {
            Ok(v) => {
                items.extend(v);
                ackers.push(d.acker);
            }
            Err(e) => {
                let reason = format!("undecodable message: {e}");
                tracing::warn!(queue = %self.parker.queue, reason = %reason, "Parking a poison message.");
                if self.parker.park(d.data.clone(), &reason).await.is_ok() {
                    let _ = d.acker.ack(BasicAckOptions::default()).await;
                }
            }
        }
    }
}

#[async_trait]
impl<T: DeserializeOwned + Send + 'static> Consumer<T> for RabbitConsumer<T> {
    async fn next(&mut self) -> Option<Delivery<T>> {
        let mut items = Vec::new();
        let mut ackers = Vec::new();
        loop {
            // Wait for the first message, then take what is already there.
            let next = if ackers.is_empty() {
                self.consumer.next().await
            } else if items.len() >= self.max_batch {
                break;
            } else {
                match self.consumer.next().now_or_never() {
                    Some(n) => n,
                    None => break,
                }
            };
            match next {
                Some(Ok(d)) => self.take(d, &mut items, &mut ackers).await,
                Some(Err(e)) => {
                    tracing::warn!(queue = %self.parker.queue, error = %e, "RabbitMQ consumer interrupted; waiting for recovery.");
                    if !ackers.is_empty() {
                        // Their channel is gone; the broker delivers them again.
                        items.clear();
                        ackers.clear();
                    }
                    if let Err(e) = self.channel.wait_for_recovery(e).await {
                        tracing::error!(queue = %self.parker.queue, error = %e, "RabbitMQ consumer cannot recover.");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                None => {
                    if ackers.is_empty() {
                        return None;
                    }
                    break;
                }
            }
        }
        Some(Delivery::new(
            items,
            Box::new(RabbitAcker {
                ackers,
                parker: self.parker.clone(),
            }),
        ))
    }
}

struct RabbitAcker {
    ackers: Vec<lapin::Acker>,
    parker: Parker,
}

#[async_trait]
impl Acker for RabbitAcker {
    async fn ack(self: Box<Self>) -> Result<(), BusError> {
        for a in self.ackers {
            a.ack(BasicAckOptions::default()).await.map_err(broker)?;
        }
        Ok(())
    }

    async fn nack(self: Box<Self>, _reason: String) -> Result<(), BusError> {
        // Back to the queue; x-delivery-limit parks it after too many tries.
        for a in self.ackers {
            a.nack(BasicNackOptions {
                requeue: true,
                ..Default::default()
            })
            .await
            .map_err(broker)?;
        }
        Ok(())
    }

    async fn park(self: Box<Self>, body: Vec<u8>, reason: String) -> Result<(), BusError> {
        if !body.is_empty() {
            self.parker.park(body, &reason).await?;
        }
        self.ack().await
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
    let ch = bus.conn.create_channel().await.map_err(broker)?;
    let mut out = Vec::new();
    let parked = Names::parked(queue);
    while out.len() < limit {
        let got = ch
            .basic_get(parked.as_str().into(), lapin::options::BasicGetOptions::default())
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
