//! The built-in channel simulators as one fleet, from the channel registry:
//! every pulled channel's upstream served on loopback (the channel is
//! pointed at it) and every pushed channel's sender aimed at our own
//! webhooks.

use crate::config::Connectors;
use anyhow::Result;
use minqing_connectors::Channel;
use minqing_connectors::sim::faults::FaultInjector;
use minqing_connectors::sim::{HttpFaults, Scenario, SendTo, Upstream, server};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub struct Fleet {
    pub scenario: Arc<Scenario>,
    pub cancel: CancellationToken,
    tracker: TaskTracker,
    pub injectors: Vec<(Channel, Arc<FaultInjector>)>,
    /// Each push sender's checked passive replies: (as expected, not).
    replies: Vec<Arc<dyn Fn() -> (u64, u64) + Send + Sync>>,
    /// The Huangshi 12345 receiver, once [`Fleet::serve_huangshi`] ran.
    pub huangshi: Option<Arc<minqing_connectors::huangshi::sim::HuangshiSim>>,
}

/// Injected transport faults, summed over the pull simulators.
#[derive(Debug, Default, serde::Serialize)]
pub struct FaultSummary {
    pub requests: u64,
    pub http_500: u64,
    pub http_429: u64,
    pub slow: u64,
}

impl Fleet {
    /// Starts every pulled channel's simulated upstream and points the
    /// channel at it.
    pub async fn start(scenario: Scenario, connectors: &mut Connectors, faults: bool) -> Result<Fleet> {
        let scenario = Arc::new(scenario);
        let cancel = CancellationToken::new();
        let http = if faults {
            scenario.settings.http.clone()
        } else {
            HttpFaults::none()
        };
        let seed = scenario.settings.seed;
        let mut injectors = Vec::new();
        for spec in connectors.all_mut() {
            let c = spec.channel();
            let inj = FaultInjector::new(seed ^ ((c as u64 + 1) * 0x5851_F42D), http.clone());
            let upstream = Upstream {
                feed: scenario.feed(c),
                faults: inj.clone(),
                injected: faults,
            };
            let Some(router) = spec.upstream(upstream) else {
                continue;
            };
            injectors.push((c, inj));
            let running = server::serve(router, "127.0.0.1:0".parse()?, cancel.clone()).await?;
            spec.point_at(running.base_url());
        }
        Ok(Fleet {
            scenario,
            cancel,
            tracker: TaskTracker::new(),
            injectors,
            replies: Vec::new(),
            huangshi: None,
        })
    }

    /// Serves the Huangshi 12345 simulator on loopback and points the
    /// forwarder at it; `down` keeps it answering 503 for a while at first.
    pub async fn serve_huangshi(&mut self, f: &mut minqing_pipelines::forward::ForwarderSettings, down: Option<Duration>) -> Result<()> {
        let sim = minqing_connectors::huangshi::sim::HuangshiSim::new(&f.huangshi.app_key, &f.huangshi.secret);
        if let Some(d) = down {
            sim.down_for(d);
        }
        let running = server::serve(sim.router(), "127.0.0.1:0".parse()?, self.cancel.clone()).await?;
        f.huangshi.base_url = running.base_url();
        self.huangshi = Some(sim);
        Ok(())
    }

    /// Starts every pushed channel's simulated sender against `target`
    /// (our API).
    pub fn push(&mut self, connectors: &Connectors, target: &str) -> Result<()> {
        for spec in connectors.all() {
            let to = SendTo {
                feed: self.scenario.feed(spec.channel()),
                target: target.to_owned(),
                cancel: self.cancel.clone(),
            };
            if let Some(s) = spec.sender(to)? {
                self.replies.push(s.replies);
                self.tracker.spawn(s.run);
            }
        }
        Ok(())
    }

    /// Passive replies the senders checked: (as expected, not).
    pub fn replies(&self) -> (u64, u64) {
        self.replies.iter().map(|r| r()).fold((0, 0), |(a, b), (x, y)| (a + x, b + y))
    }

    pub fn faults(&self) -> FaultSummary {
        let mut s = FaultSummary::default();
        for (_, f) in &self.injectors {
            s.requests += f.counts.requests.load(Ordering::Relaxed);
            s.http_500 += f.counts.errors.load(Ordering::Relaxed);
            s.http_429 += f.counts.throttles.load(Ordering::Relaxed);
            s.slow += f.counts.slow.load(Ordering::Relaxed);
        }
        s
    }

    pub async fn stop(self) {
        self.cancel.cancel();
        self.tracker.close();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.tracker.wait()).await;
    }
}
