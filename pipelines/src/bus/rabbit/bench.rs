//! The broker's own ceiling for minqing's topology (`minqing bench broker`):
//! the same exchanges, quorum queues, confirms and framing as the pipeline,
//! with stages that do nothing. Messages are published to `minqing.raw` with
//! confirms; a no-op intake republishes each one to `minqing.tickets` twice,
//! as intake does (the events, and their masked copy for the warehouse),
//! with confirms, and then acks it; the workflow and warehouse queues ack what
//! they get. The run ends when both have acked every message. No real
//! pipeline on this broker and machine can beat this figure.
//!
//! It runs under its own name prefix and deletes its queues and exchanges
//! afterwards.

use super::{Inner, RabbitBus, RabbitSettings, broker};
use crate::bus::{BusError, EventQueue};
use futures_util::{FutureExt, StreamExt};
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions, ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::types::FieldTable;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct BrokerBenchArgs {
    pub messages: usize,
    /// Items framed into each message, as a connector page or push is.
    pub items_per_message: usize,
    /// Bytes of each item's JSON (a raw appeal is about 1–2 KB).
    pub item_bytes: usize,
    /// Concurrent publishers (connectors).
    pub publishers: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct BrokerBenchReport {
    pub messages: usize,
    pub items: usize,
    pub message_bytes: usize,
    pub elapsed_ms: u64,
    pub messages_per_sec: f64,
    pub items_per_sec: f64,
}

/// One item of the given size: JSON with Chinese text, like an appeal.
fn body(items: usize, item_bytes: usize) -> Vec<u8> {
    let filler = "东岳路小区门口路灯不亮已经一周了请尽快处理";
    let mut text = String::new();
    while text.len() + filler.len() + 64 < item_bytes {
        text.push_str(filler);
    }
    let item = serde_json::json!({"channel": "hotline_12345", "source_id": "bench", "content": text});
    let items: Vec<_> = (0..items).map(|_| item.clone()).collect();
    serde_json::to_vec(&items).expect("JSON")
}

/// Acks every message of `queue` until `total` were acked.
async fn drain(inner: Arc<Inner>, queue: String, total: u64, prefetch: u16) -> Result<(), BusError> {
    let ch = inner.links.current().conn.create_channel().await.map_err(broker)?;
    ch.basic_qos(prefetch, BasicQosOptions::default()).await.map_err(broker)?;
    let mut consumer = ch
        .basic_consume(
            queue.as_str().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(broker)?;
    let mut acked = 0;
    while acked < total {
        let d = consumer
            .next()
            .await
            .ok_or_else(|| BusError::ConsumerEnded { queue: queue.to_string() })?
            .map_err(broker)?;
        d.acker.ack(BasicAckOptions::default()).await.map_err(broker)?;
        acked += 1;
    }
    Ok(())
}

/// The no-op intake: gathers what is delivered, republishes it with
/// confirms, then acks it, as intake does.
async fn relay(inner: Arc<Inner>, total: u64, relayed: Arc<AtomicU64>) -> Result<(), BusError> {
    let ch = inner.links.current().conn.create_channel().await.map_err(broker)?;
    ch.basic_qos(inner.cfg.intake_prefetch, BasicQosOptions::default())
        .await
        .map_err(broker)?;
    let mut consumer = ch
        .basic_consume(
            inner.names.intake.as_str().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(broker)?;
    // As intake publishes: events for the workflow and forward queues, and
    // their masked copies for the warehouse's (`analysis.#`).
    let keys = [
        "ticket.received.hotline_12345".to_owned(),
        format!("{}received.hotline_12345", super::ANALYSIS_PREFIX),
    ];
    while relayed.load(Ordering::Relaxed) < total {
        let first = consumer
            .next()
            .await
            .ok_or_else(|| BusError::ConsumerEnded {
                queue: "raw.intake".into(),
            })?
            .map_err(broker)?;
        let mut batch = vec![first];
        while let Some(Some(Ok(d))) = consumer.next().now_or_never() {
            batch.push(d);
        }
        let msgs: Vec<(String, Vec<u8>)> = batch
            .iter()
            .flat_map(|d| keys.iter().map(|k| (k.clone(), d.data.clone())))
            .collect();
        inner.publish(&inner.names.tickets, &msgs, None).await?;
        for d in &batch {
            d.acker.ack(BasicAckOptions::default()).await.map_err(broker)?;
        }
        relayed.fetch_add(batch.len() as u64, Ordering::Relaxed);
    }
    Ok(())
}

/// Runs the no-op pipeline once; see the module doc.
pub async fn run(cfg: &RabbitSettings, args: &BrokerBenchArgs) -> Result<BrokerBenchReport, BusError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let cfg = RabbitSettings {
        prefix: format!("{}bench-{}-{nanos}.", cfg.prefix, std::process::id()),
        ..cfg.clone()
    };
    let bus = RabbitBus::connect(&cfg, 1).await?;
    let inner = bus.inner.clone();
    let total = args.messages as u64;
    let body = Arc::new(body(args.items_per_message.max(1), args.item_bytes));
    let started = Instant::now();
    let relayed = Arc::new(AtomicU64::new(0));
    let relay_task = tokio::spawn(relay(inner.clone(), total, relayed));
    let sinks: Vec<_> = [EventQueue::Workflow, EventQueue::Warehouse]
        .into_iter()
        .map(|q| tokio::spawn(drain(inner.clone(), inner.names.queue(q), total, inner.cfg.prefetch)))
        .collect();
    let publishers = args.publishers.max(1);
    let mut pubs = Vec::new();
    for p in 0..publishers {
        let (inner, body) = (inner.clone(), body.clone());
        let mine = args.messages / publishers + usize::from(p < args.messages % publishers);
        pubs.push(tokio::spawn(async move {
            // Each publisher waits for the confirm of one message before the
            // next, as a connector does for a page.
            for _ in 0..mine {
                inner
                    .publish(&inner.names.raw, &[(String::new(), body.as_ref().clone())], None)
                    .await?;
            }
            Ok::<(), BusError>(())
        }));
    }
    let join = |r: Result<Result<(), BusError>, tokio::task::JoinError>| r.map_err(BusError::from)?;
    let outcome = async {
        for p in pubs {
            join(p.await)?;
        }
        join(relay_task.await)?;
        for s in sinks {
            join(s.await)?;
        }
        Ok::<(), BusError>(())
    };
    let result = tokio::time::timeout(Duration::from_secs(1800), outcome).await;
    let elapsed = started.elapsed();
    cleanup(&inner).await;
    match result {
        Err(_) => {
            return Err(BusError::TimedOut {
                what: "the broker bench".into(),
                after: Duration::from_secs(30 * 60),
            });
        }
        Ok(Err(e)) => return Err(e),
        Ok(Ok(())) => {}
    }
    let secs = elapsed.as_secs_f64().max(0.001);
    let items = args.messages * args.items_per_message.max(1);
    Ok(BrokerBenchReport {
        messages: args.messages,
        items,
        message_bytes: body.len(),
        elapsed_ms: elapsed.as_millis() as u64,
        messages_per_sec: (args.messages as f64 / secs).round(),
        items_per_sec: (items as f64 / secs).round(),
    })
}

/// Deletes the bench's queues and exchanges.
async fn cleanup(inner: &Inner) {
    let Ok(ch) = inner.links.current().conn.create_channel().await else {
        return;
    };
    for q in inner.names.all_queues() {
        for name in [super::Names::parked(&q), q] {
            let _ = ch.queue_delete(name.as_str().into(), QueueDeleteOptions::default()).await;
        }
    }
    for x in [&inner.names.raw, &inner.names.tickets, &inner.names.dlx] {
        let _ = ch.exchange_delete(x.as_str().into(), ExchangeDeleteOptions::default()).await;
    }
    let _ = ch.close(200, "done".into()).await;
}
