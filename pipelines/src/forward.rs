//! The Huangshi 12345 forwarder: `forwarded` events become rows of the
//! workflow store's outbox (through the `tickets.forward` queue), and a
//! delivery loop sends due rows until Huangshi confirms each one.
//!
//! Exactly once: a row leaves `pending` only on Huangshi's answer, so a
//! crash, a restart or hours of Huangshi being down only delay it; a send
//! repeated after a lost answer gets 409, which counts as delivered.

use crate::sink::Target;
use crate::store::{ForwardJob, ForwardSettle, ForwardStore, StoreError};
use crate::ticket::TicketEvent;
use async_trait::async_trait;
use chrono::Utc;
use minqing_connectors::huangshi::{Client, HuangshiSettings, Outcome};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwarderSettings {
    pub enabled: bool,
    /// How often the outbox is checked for due transfers.
    pub poll_ms: u64,
    /// Transfers sent at once.
    pub concurrency: usize,
    /// First retry delay; doubled per attempt up to `max_delay_ms`.
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
    /// Attempts before a transfer is parked and an alert raised.
    pub max_attempts: u32,
    pub huangshi: HuangshiSettings,
}

/// What the forwarder did in this process, for `/metrics`.
#[derive(Debug, Default)]
pub struct ForwardStats {
    pub delivered: AtomicU64,
    /// Delivered by a 409: an earlier send had got through.
    pub repeats: AtomicU64,
    pub retries: AtomicU64,
    pub parked: AtomicU64,
}

/// `minqing_forward_{delivered,repeats,retries,parked}_total`, read from
/// the atomics at scrape time.
impl Collector for ForwardStats {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        // Counter names without `_total`: the encoder adds it.
        for (name, help, value) in [
            ("minqing_forward_delivered", "Transfers Huangshi 12345 confirmed.", &self.delivered),
            (
                "minqing_forward_repeats",
                "Of those, confirmed by a 409 (an earlier send had arrived).",
                &self.repeats,
            ),
            ("minqing_forward_retries", "Transfer attempts to be retried.", &self.retries),
            ("minqing_forward_parked", "Transfers given up and parked (alert).", &self.parked),
        ] {
            let metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            ConstCounter::new(value.load(Ordering::Relaxed)).encode(metric)?;
        }
        Ok(())
    }
}

/// The `tickets.forward` sink: puts forwarded tickets in the outbox.
pub struct OutboxTarget {
    pub store: Arc<dyn ForwardStore>,
}

#[async_trait]
impl Target for OutboxTarget {
    fn name(&self) -> &'static str {
        "forward outbox"
    }
    async fn write(&self, events: &[TicketEvent]) -> Result<Vec<Uuid>, crate::sink::WriteError> {
        Ok(self.store.enqueue_forwards(events).await?)
    }
}

/// The two calls the delivery loop makes on the workflow store's outbox;
/// a seam of its own so that its failure paths can be tested.
#[async_trait]
pub trait Outbox: Send + Sync {
    async fn due(&self, limit: i64) -> Result<Vec<ForwardJob>, StoreError>;
    async fn settle(&self, settled: &[(Uuid, u32, ForwardSettle)]) -> Result<(), StoreError>;
}

/// The workflow store's outbox.
pub struct StoreOutbox(pub Arc<dyn ForwardStore>);

#[async_trait]
impl Outbox for StoreOutbox {
    async fn due(&self, limit: i64) -> Result<Vec<ForwardJob>, StoreError> {
        self.0.due_forwards(Utc::now(), limit).await
    }
    async fn settle(&self, settled: &[(Uuid, u32, ForwardSettle)]) -> Result<(), StoreError> {
        self.0.settle_forwards(settled).await
    }
}

/// How one round of the delivery loop ended.
enum Step {
    Sent,
    Idle,
}

pub struct Forwarder {
    pub outbox: Arc<dyn Outbox>,
    pub settings: ForwarderSettings,
    pub stats: Arc<ForwardStats>,
}

impl Forwarder {
    /// The delay before attempt `attempts + 1`: capped exponential with
    /// full jitter, never shorter than Huangshi's `Retry-After`.
    pub fn delay(&self, attempts: u32, after: Option<Duration>) -> Duration {
        let s = &self.settings;
        let cap = s.base_delay_ms.saturating_mul(1u64 << attempts.min(30)).min(s.max_delay_ms).max(1);
        let d = Duration::from_millis(rand::rng().random_range(cap / 2..=cap));
        after.map_or(d, |a| a.max(d))
    }

    /// Sends due transfers until `cancel` fires.
    ///
    /// Huangshi's answers are recorded before anything more is sent: while
    /// the store cannot record them (a full disk, a lost database), the
    /// loop keeps them and retries recording with a capped exponential
    /// backoff, sending nothing. So at most one round of transfers
    /// (`concurrency` × 16) is ever sent and not yet recorded; a restart
    /// sends those again and Huangshi answers 409. Before this, a failed
    /// commit sent the same transfers again at once, 1.9 million times in
    /// 100 s against a full disk.
    pub async fn run(self, cancel: CancellationToken) {
        let this = Arc::new(self);
        let client = Client::new(this.settings.huangshi.clone());
        let poll = Duration::from_millis(this.settings.poll_ms.max(10));
        let mut unrecorded: Vec<(Uuid, u32, ForwardSettle)> = Vec::new();
        let mut failures = 0u32;
        while !cancel.is_cancelled() {
            let pause = match this.step(&client, &mut unrecorded).await {
                Ok(Step::Sent) => {
                    failures = 0;
                    continue;
                }
                Ok(Step::Idle) => {
                    failures = 0;
                    poll
                }
                Err(e) => {
                    failures += 1;
                    let wait = this.delay(failures - 1, None);
                    tracing::warn!(error = %e, failures, wait_ms = wait.as_millis() as u64, "Huangshi outbox unavailable; nothing is sent until it records again.");
                    wait
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = cancel.cancelled() => {}
            }
        }
    }

    /// Records what is unrecorded, then sends one round of due transfers.
    async fn step(self: &Arc<Self>, client: &Client, unrecorded: &mut Vec<(Uuid, u32, ForwardSettle)>) -> Result<Step, StoreError> {
        if !unrecorded.is_empty() {
            self.outbox.settle(unrecorded).await?;
            unrecorded.clear();
        }
        let due = self.outbox.due(self.settings.concurrency.max(1) as i64 * 16).await?;
        if due.is_empty() {
            return Ok(Step::Idle);
        }
        let sem = Arc::new(tokio::sync::Semaphore::new(self.settings.concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for job in due {
            let permit = sem.clone().acquire_owned().await.expect("semaphore open");
            let (this, client) = (self.clone(), client.clone());
            tasks.spawn(async move {
                let _permit = permit;
                let attempts = job.attempts + 1;
                (job.ticket_id, attempts, this.settle(attempts, client.send(&job.transfer).await))
            });
        }
        // One commit for the round's answers: the store's writer is shared
        // with the pipeline.
        while let Some(r) = tasks.join_next().await {
            unrecorded.extend(r.ok());
        }
        self.outbox.settle(unrecorded).await?;
        unrecorded.clear();
        Ok(Step::Sent)
    }

    fn settle(&self, attempts: u32, outcome: Outcome) -> ForwardSettle {
        match outcome {
            Outcome::Delivered { huangshi_no, repeat } => {
                self.stats.delivered.fetch_add(1, Ordering::Relaxed);
                if repeat {
                    self.stats.repeats.fetch_add(1, Ordering::Relaxed);
                }
                ForwardSettle::Delivered { huangshi_no }
            }
            Outcome::Retry { reason, .. } if attempts >= self.settings.max_attempts => self.park(attempts, reason),
            Outcome::Retry { reason, after } => {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                let next_at = Utc::now() + chrono::Duration::from_std(self.delay(attempts - 1, after)).unwrap_or_default();
                ForwardSettle::Retry { error: reason, next_at }
            }
            Outcome::Refused { reason } => self.park(attempts, reason),
        }
    }

    fn park(&self, attempts: u32, reason: String) -> ForwardSettle {
        self.stats.parked.fetch_add(1, Ordering::Relaxed);
        tracing::error!(
            attempts,
            error = %reason,
            "ALERT: a transfer to Huangshi 12345 was parked; the ticket is forward_failed. Fix the cause, then requeue it in forward_outbox (status = 'pending')."
        );
        ForwardSettle::Parked { error: reason }
    }
}
