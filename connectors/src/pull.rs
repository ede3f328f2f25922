//! Pull connectors and the runner that pages through them.
//!
//! [`PullRunner::poll`] loads the checkpoint, asks the connector for a page,
//! hands the page to the [`AppealSink`] and saves the page's cursor only after
//! the sink has durably accepted it. A crash between the two re-reads a page
//! (the pipeline dedups the replay), never skips one. While a page waits for
//! acceptance the next one is fetched (`pages_in_flight`), but cursors are
//! saved strictly in page order.

use crate::appeal::{Channel, Inbound};
use crate::error::{CheckpointError, ConnectorError};
use crate::sink::{AppealSink, SinkError};
use async_trait::async_trait;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

/// One page from a channel.
#[derive(Debug, Default)]
pub struct Page {
    /// Appeals and quarantined records, in the channel's order.
    pub items: Vec<Inbound>,
    /// The cursor to persist once `items` are accepted; `None` keeps the old one.
    pub next: Option<String>,
    /// Whether another page is ready now; otherwise wait for the next tick.
    pub more: bool,
}

/// A channel that minqing pulls from on a schedule.
#[async_trait]
pub trait PullConnector: Send + Sync {
    /// Stable id; used in config, metrics and log fields.
    fn channel(&self) -> Channel;
    /// Cheap reachability probe for /readyz; must not emit appeals.
    async fn check(&self) -> Result<(), ConnectorError>;
    /// Fetches the page after `cursor` (`None`: start from the configured point).
    async fn pull(&self, cursor: Option<&str>) -> Result<Page, ConnectorError>;
}

/// Where cursors live. Implemented by the workflow store.
#[async_trait]
pub trait CheckpointStore: Send + Sync {
    async fn load(&self, channel: Channel) -> Result<Option<String>, CheckpointError>;
    async fn save(&self, channel: Channel, cursor: &str) -> Result<(), CheckpointError>;
}

/// Counters and the last error of one channel, for `/status` and metrics.
#[derive(Debug, Default)]
pub struct ChannelStats {
    pub polls: AtomicU64,
    pub pages: AtomicU64,
    pub items: AtomicU64,
    pub errors: AtomicU64,
    /// Unix milliseconds of the last successful poll or push.
    pub last_success_ms: AtomicU64,
    pub last_error: Mutex<Option<String>>,
}

impl ChannelStats {
    pub fn record_success(&self, items: usize) {
        self.items.fetch_add(items as u64, Ordering::Relaxed);
        self.last_success_ms.store(now_ms(), Ordering::Relaxed);
        *self.last_error.lock().expect("stats lock") = None;
    }

    pub fn record_error(&self, err: &dyn std::fmt::Display) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        *self.last_error.lock().expect("stats lock") = Some(err.to_string());
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().expect("stats lock").clone()
    }
}

/// Every channel's [`ChannelStats`] as `/metrics` counters
/// (`minqing_connector_{polls,items,errors}_total{channel=…}`).
///
/// A collector, not library counters: the atomics above stay what polls and
/// pushes add to, and are read only when Prometheus scrapes.
#[derive(Debug)]
pub struct ChannelMetrics(pub Vec<(Channel, Arc<ChannelStats>)>);

impl Collector for ChannelMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        type Read = fn(&ChannelStats) -> &AtomicU64;
        // Counter names without `_total`: the encoder adds it.
        let series: [(&str, &str, Read); 3] = [
            ("minqing_connector_polls", "Polls started.", |s| &s.polls),
            ("minqing_connector_items", "Records handed on.", |s| &s.items),
            ("minqing_connector_errors", "Failed polls or refused pushes.", |s| &s.errors),
        ];
        for (name, help, read) in series {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (channel, stats) in &self.0 {
                let value = read(stats).load(Ordering::Relaxed);
                ConstCounter::new(value).encode(metric.encode_family(&[("channel", channel.id())])?)?;
            }
        }
        Ok(())
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Drives one [`PullConnector`]: pages until the channel has nothing more.
pub struct PullRunner {
    pub connector: Arc<dyn PullConnector>,
    pub sink: Arc<dyn AppealSink>,
    pub checkpoints: Arc<dyn CheckpointStore>,
    pub stats: Arc<ChannelStats>,
    /// Pages that may wait for acceptance while the next is fetched. Cursors
    /// are still saved strictly in page order.
    pub pages_in_flight: usize,
}

/// A page handed to the sink, waiting for acceptance.
struct Pending {
    accept: tokio::task::JoinHandle<Result<(), crate::sink::SinkError>>,
    next: Option<String>,
    items: u64,
}

impl PullRunner {
    /// One poll: pages until the upstream has no more or `cancel` fires.
    /// Returns the number of items handed on.
    pub async fn poll(&self, cancel: &CancellationToken) -> Result<u64, ConnectorError> {
        let channel = self.connector.channel();
        self.stats.polls.fetch_add(1, Ordering::Relaxed);
        let result = self.poll_pages(channel, cancel).await;
        match &result {
            Ok(n) => self.stats.record_success(*n as usize),
            Err(e) => {
                self.stats.record_error(e);
                tracing::warn!(connector = %channel, error = %e, "Poll failed; the checkpoint stays where it was.");
            }
        }
        result
    }

    async fn poll_pages(&self, channel: Channel, cancel: &CancellationToken) -> Result<u64, ConnectorError> {
        let mut cursor = self.checkpoints.load(channel).await?;
        let mut waiting: std::collections::VecDeque<Pending> = std::collections::VecDeque::new();
        let mut total = 0u64;
        let mut fetched = Ok(());
        while !cancel.is_cancelled() {
            if waiting.len() >= self.pages_in_flight.max(1) {
                let p = waiting.pop_front().expect("not empty");
                total += self.settle(channel, p).await?;
            }
            let mut page = match self.connector.pull(cursor.as_deref()).await {
                Ok(p) => p,
                Err(e) => {
                    fetched = Err(e);
                    break;
                }
            };
            for (i, item) in page.items.iter_mut().enumerate() {
                let o = crate::appeal::occurrence_of(channel, cursor.as_deref(), i, item.identity());
                item.set_occurrence(o);
            }
            if let Some(next) = &page.next {
                cursor = Some(next.clone());
            }
            let (sink, items, more) = (self.sink.clone(), page.items, page.more);
            let n = items.len() as u64;
            let accept = tokio::spawn(async move { if items.is_empty() { Ok(()) } else { sink.accept(items).await } });
            waiting.push_back(Pending {
                accept,
                next: page.next,
                items: n,
            });
            if !more {
                break;
            }
        }
        // Pages fetched before a failure are still settled and checkpointed.
        while let Some(p) = waiting.pop_front() {
            total += self.settle(channel, p).await?;
        }
        fetched.map(|()| total)
    }

    /// Waits for one page's acceptance, then saves its cursor. On error the
    /// pages behind it are not checkpointed; they are fetched again next time.
    async fn settle(&self, channel: Channel, p: Pending) -> Result<u64, ConnectorError> {
        match p.accept.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e.into()),
            Err(e) => return Err(SinkError::from(e).into()),
        }
        if let Some(next) = p.next {
            self.checkpoints.save(channel, &next).await?;
        }
        self.stats.pages.fetch_add(1, Ordering::Relaxed);
        Ok(p.items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appeal::Rejected;
    use crate::sink::SinkError;
    use std::collections::HashMap;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn channel_metrics_are_counters_per_channel() {
        let stats = Arc::new(ChannelStats::default());
        stats.polls.store(3, Ordering::Relaxed);
        stats.record_success(5);
        stats.record_error(&"down");
        let text = crate::metrics::text_of(ChannelMetrics(vec![(Channel::Wechat, stats)]));
        crate::metrics::assert_shows(
            &text,
            &[
                "# TYPE minqing_connector_polls_total counter",
                "minqing_connector_polls_total{channel=\"wechat\"} 3",
                "minqing_connector_items_total{channel=\"wechat\"} 5",
                "minqing_connector_errors_total{channel=\"wechat\"} 1",
            ],
        );
    }

    /// Three pages, cursors "1", "2", "3".
    struct Pages;

    #[async_trait]
    impl PullConnector for Pages {
        fn channel(&self) -> Channel {
            Channel::Police110
        }
        async fn check(&self) -> Result<(), ConnectorError> {
            Ok(())
        }
        async fn pull(&self, cursor: Option<&str>) -> Result<Page, ConnectorError> {
            let n: u32 = cursor.map(|c| c.parse().unwrap()).unwrap_or(0);
            let item = Inbound::Rejected(Rejected {
                occurrence: None,
                channel: Channel::Police110,
                source_id: None,
                raw: vec![n as u8],
                reason: String::new(),
            });
            Ok(Page {
                items: vec![item],
                next: Some((n + 1).to_string()),
                more: n + 1 < 3,
            })
        }
    }

    /// Refuses once `fail` is set.
    struct Sink {
        fail: AtomicBool,
        seen: Mutex<Vec<u8>>,
    }

    #[async_trait]
    impl AppealSink for Sink {
        async fn accept(&self, items: Vec<Inbound>) -> Result<(), SinkError> {
            if self.fail.load(Ordering::SeqCst) {
                return Err(SinkError::Pipeline("store down".into()));
            }
            for i in items {
                if let Inbound::Rejected(r) = i {
                    self.seen.lock().unwrap().push(r.raw[0]);
                }
            }
            Ok(())
        }
    }

    #[derive(Default)]
    struct Mem(Mutex<HashMap<Channel, String>>);

    #[async_trait]
    impl CheckpointStore for Mem {
        async fn load(&self, c: Channel) -> Result<Option<String>, CheckpointError> {
            Ok(self.0.lock().unwrap().get(&c).cloned())
        }
        async fn save(&self, c: Channel, cursor: &str) -> Result<(), CheckpointError> {
            self.0.lock().unwrap().insert(c, cursor.to_owned());
            Ok(())
        }
    }

    #[tokio::test]
    async fn the_cursor_moves_only_after_the_sink_accepts() {
        let sink = Arc::new(Sink {
            fail: AtomicBool::new(true),
            seen: Mutex::new(vec![]),
        });
        let cps = Arc::new(Mem::default());
        let runner = PullRunner {
            connector: Arc::new(Pages),
            sink: sink.clone(),
            checkpoints: cps.clone(),
            stats: Arc::default(),
            pages_in_flight: 2,
        };
        let cancel = CancellationToken::new();
        let err = runner.poll(&cancel).await.unwrap_err();
        assert!(err.to_string().contains("store down"));
        assert_eq!(
            cps.load(Channel::Police110).await.unwrap(),
            None,
            "a refused page must not move the cursor"
        );
        assert_eq!(runner.stats.last_error().as_deref(), Some(err.to_string().as_str()));

        sink.fail.store(false, Ordering::SeqCst);
        assert_eq!(runner.poll(&cancel).await.unwrap(), 3);
        assert_eq!(*sink.seen.lock().unwrap(), vec![0, 1, 2], "every page once, in order");
        assert_eq!(cps.load(Channel::Police110).await.unwrap().as_deref(), Some("3"));
        assert!(runner.stats.last_error().is_none());
    }
}
