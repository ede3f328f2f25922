//! Consuming a queue: deliveries gathered into batches, settled after the
//! consumer's commit, parked with a reason when they cannot be processed,
//! and a fresh subscription after any disconnect.

use super::{Inner, REASON_HEADER, broker, table, text};
use crate::bus::{Acker, BusError, Consumer, Delivery};
use async_trait::async_trait;
use futures_util::{FutureExt, StreamExt};
use lapin::Channel;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::FieldTable;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

/// An ack or nack on a connection that just died can hang; the broker
/// redelivers the message anyway.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends messages to a queue's parking queue, with the reason.
#[derive(Clone)]
pub(super) struct Parker {
    inner: Arc<Inner>,
    queue: String,
}

impl Parker {
    pub fn new(inner: Arc<Inner>, queue: String) -> Self {
        Parker { inner, queue }
    }

    async fn park(&self, body: Vec<u8>, reason: &str) -> Result<(), BusError> {
        let headers = table(&[(REASON_HEADER, text(reason)), ("x-minqing-queue", text(&self.queue))]);
        let msgs = [(self.queue.clone(), body)];
        self.inner
            .publish(&self.inner.names.dlx, &msgs, Some(&headers))
            .await
            .map_err(|e| match e {
                BusError::Amqp { source, .. } => BusError::amqp(format!("parking a message from {}", self.queue), source),
                other => other,
            })
    }
}

/// A consumer on one channel of one connection generation.
struct Subscription {
    generation: u64,
    // Kept so the channel lives as long as its consumer.
    _channel: Channel,
    consumer: lapin::Consumer,
}

pub(super) struct RabbitConsumer<T> {
    inner: Arc<Inner>,
    parker: Parker,
    prefetch: u16,
    sub: Subscription,
    _t: std::marker::PhantomData<fn() -> T>,
}

async fn open(inner: &Inner, queue: &str, prefetch: u16) -> Result<Subscription, BusError> {
    let link = inner.links.current();
    let ch = link.conn.create_channel().await.map_err(broker)?;
    ch.basic_qos(prefetch, BasicQosOptions::default()).await.map_err(broker)?;
    let consumer = ch
        .basic_consume(queue.into(), "".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await
        .map_err(broker)?;
    Ok(Subscription {
        generation: link.generation,
        _channel: ch,
        consumer,
    })
}

impl<T: DeserializeOwned> RabbitConsumer<T> {
    /// Subscribes once; a failure here is reported to the caller.
    pub async fn subscribe(inner: Arc<Inner>, parker: Parker, prefetch: u16) -> Result<Self, BusError> {
        let sub = open(&inner, &parker.queue, prefetch).await?;
        Ok(RabbitConsumer {
            inner,
            parker,
            prefetch,
            sub,
            _t: std::marker::PhantomData,
        })
    }

    /// Subscribes again after the subscription of generation `failed`
    /// ended: on the same connection if it is still up, else on a new one.
    /// Keeps trying until it works.
    async fn resubscribe(&mut self, failed: u64) {
        let mut failed = failed;
        loop {
            let link = self.inner.links.current();
            if link.generation == failed && !link.conn.status().connected() {
                self.inner.links.replace(failed).await;
            }
            match open(&self.inner, &self.parker.queue, self.prefetch).await {
                Ok(sub) => {
                    tracing::info!(queue = %self.parker.queue, generation = sub.generation, "Consuming again.");
                    self.sub = sub;
                    return;
                }
                Err(e) => {
                    tracing::warn!(queue = %self.parker.queue, error = %e, "Cannot consume yet; reconnecting.");
                    // The connection looked up but refused a channel: replace it.
                    failed = link.generation;
                    self.inner.links.replace(failed).await;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }

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
                    let _ = tokio::time::timeout(SETTLE_TIMEOUT, d.acker.ack(BasicAckOptions::default())).await;
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
                self.sub.consumer.next().await
            } else if items.len() >= self.inner.max_batch {
                break;
            } else {
                match self.sub.consumer.next().now_or_never() {
                    Some(n) => n,
                    None => break,
                }
            };
            match next {
                Some(Ok(d)) => self.take(d, &mut items, &mut ackers).await,
                // The stream ends (None) when the broker cancels the consumer
                // or the channel closes; either way, subscribe again.
                ended => {
                    if let Some(Err(e)) = ended {
                        tracing::warn!(queue = %self.parker.queue, error = %e, "RabbitMQ consumer interrupted; reconnecting.");
                    } else {
                        tracing::warn!(queue = %self.parker.queue, "RabbitMQ ended the subscription; subscribing again.");
                    }
                    // Their channel is gone; the broker delivers them again.
                    items.clear();
                    ackers.clear();
                    self.resubscribe(self.sub.generation).await;
                }
            }
        }
        Some(Delivery::of_messages(
            items,
            ackers.len(),
            Box::new(RabbitAcker {
                ackers,
                parker: self.parker.clone(),
            }),
        ))
    }

    fn window(&self) -> Option<usize> {
        Some(usize::from(self.prefetch))
    }
}

struct RabbitAcker {
    ackers: Vec<lapin::Acker>,
    parker: Parker,
}

async fn settle(what: impl std::future::Future<Output = lapin::Result<bool>>) -> Result<(), BusError> {
    match tokio::time::timeout(SETTLE_TIMEOUT, what).await {
        Ok(Ok(true)) => Ok(()),
        // A delivery of a channel that has since closed; it comes back.
        Ok(Ok(false)) => Err(BusError::ChannelGone),
        Ok(Err(e)) => Err(broker(e)),
        Err(_) => Err(BusError::TimedOut {
            what: "settling a delivery (it will be delivered again)".into(),
            after: SETTLE_TIMEOUT,
        }),
    }
}

#[async_trait]
impl Acker for RabbitAcker {
    async fn ack(self: Box<Self>) -> Result<(), BusError> {
        for a in self.ackers {
            settle(a.ack(BasicAckOptions::default())).await?;
        }
        Ok(())
    }

    async fn nack(self: Box<Self>, _reason: String) -> Result<(), BusError> {
        // Back to the queue; x-delivery-limit parks it after too many tries.
        for a in self.ackers {
            settle(a.nack(BasicNackOptions {
                requeue: true,
                ..Default::default()
            }))
            .await?;
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
