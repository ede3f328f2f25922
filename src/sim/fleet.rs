//! The built-in channel simulators as one fleet: the five pull upstreams
//! served on loopback (the connectors' `base_url`s are pointed at them) and
//! the two push senders aimed at our own webhooks.

use crate::config::Connectors;
use anyhow::Result;
use minqing_connectors::Channel;
use minqing_connectors::sim::faults::FaultInjector;
use minqing_connectors::sim::{HttpFaults, Scenario, server};
use minqing_connectors::{grid, hotline12345, police110, supervision, tax12366, wechat, yunshang};
use std::net::SocketAddr;
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
    pub wechat: Arc<wechat::sim::PushStats>,
    pub grid: Arc<grid::sim::PushStats>,
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
    /// Starts the pull simulators and points `connectors` at them.
    pub async fn start(scenario: Scenario, connectors: &mut Connectors, faults: bool) -> Result<Fleet> {
        let scenario = Arc::new(scenario);
        let cancel = CancellationToken::new();
        let http = if faults {
            scenario.settings.http.clone()
        } else {
            HttpFaults::none()
        };
        let seed = scenario.settings.seed;
        let any: SocketAddr = "127.0.0.1:0".parse()?;
        let mut injectors = Vec::new();
        let mut serve = async |c: Channel, router_of: &dyn Fn(Arc<FaultInjector>) -> axum::Router| -> Result<String> {
            let inj = FaultInjector::new(seed ^ ((c as u64 + 1) * 0x5851_F42D), http.clone());
            injectors.push((c, inj.clone()));
            Ok(server::serve(router_of(inj), any, cancel.clone()).await?.base_url())
        };
        let c = connectors.clone();
        connectors.hotline_12345.base_url = serve(Channel::Hotline12345, &|f| {
            hotline12345::sim::router(
                hotline12345::sim::Sim {
                    feed: scenario.feed(Channel::Hotline12345),
                    app_key: c.hotline_12345.app_key.clone(),
                    app_secret: c.hotline_12345.app_secret.expose().to_owned(),
                },
                f,
            )
        })
        .await?;
        connectors.supervision.base_url = serve(Channel::Supervision, &|f| {
            supervision::sim::router(
                supervision::sim::Sim {
                    feed: scenario.feed(Channel::Supervision),
                    token: c.supervision.token.expose().to_owned(),
                },
                f,
            )
        })
        .await?;
        connectors.yunshang_app.base_url = serve(Channel::YunshangApp, &|f| {
            let sim = yunshang::sim::Sim::new(
                scenario.feed(Channel::YunshangApp),
                &c.yunshang_app.client_id,
                &c.yunshang_app.client_secret,
                Duration::from_secs(3),
            );
            yunshang::sim::router(sim, f)
        })
        .await?;
        connectors.police_110.base_url = serve(Channel::Police110, &|f| {
            let sim = police110::sim::Sim {
                feed: scenario.feed(Channel::Police110),
                token: c.police_110.token.expose().to_owned(),
                allow: vec!["127.0.0.1".parse().expect("literal")],
            };
            police110::sim::router(sim, f)
        })
        .await?;
        connectors.tax_12366.base_url = serve(Channel::Tax12366, &|f| {
            let sim = tax12366::sim::Sim::new(
                scenario.feed(Channel::Tax12366),
                &c.tax_12366.username,
                &c.tax_12366.password,
                if faults { 13 } else { 0 },
            );
            tax12366::sim::router(sim, f)
        })
        .await?;
        Ok(Fleet {
            scenario,
            cancel,
            tracker: TaskTracker::new(),
            injectors,
            wechat: Arc::default(),
            grid: Arc::default(),
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

    /// Starts the WeChat and grid senders against `target` (our API).
    pub fn push(&self, connectors: &Connectors, target: &str) -> Result<()> {
        let wx = &connectors.wechat;
        let crypt = wechat::crypto::WxCrypt::new(&wx.encoding_aes_key, &wx.app_id).map_err(|e| anyhow::anyhow!(e))?;
        let pusher = wechat::sim::Pusher {
            feed: self.scenario.feed(Channel::Wechat),
            target: target.to_owned(),
            token: wx.token.expose().to_owned(),
            crypt,
            account_id: wx.account_id.clone(),
            encrypted_share: match wx.mode {
                wechat::Mode::Plain => 0.0,
                wechat::Mode::Compat => 0.7,
                wechat::Mode::Safe => 1.0,
            },
            concurrency: 512,
            stats: self.wechat.clone(),
        };
        self.tracker.spawn(pusher.run(self.cancel.clone()));
        let g = grid::sim::Pusher {
            feed: self.scenario.feed(Channel::Grid),
            target: target.to_owned(),
            secret: connectors.grid.secret.expose().to_owned(),
            batch_size: 50,
            concurrency: 16,
            stats: self.grid.clone(),
        };
        self.tracker.spawn(g.run(self.cancel.clone()));
        Ok(())
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
