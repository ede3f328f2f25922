//! `minqing bench api`: actions through `/api/v1` over real HTTP on
//! loopback, against the configured workflow store (filled by the
//! benchmark, so it must be empty). Every order is signed, then replied
//! to, by its own unit's token with an idempotency key, `--concurrency`
//! requests at a time: each one read, decided, committed, answered and
//! relayed to the bus.

use crate::config::Settings;
use crate::v1::{ApiSettings, ApiToken, Clock, V1};
use anyhow::{Context, Result};
use minqing_pipelines::store::OrderQuery;
use minqing_pipelines::workflow::Role;
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Clone, Serialize)]
pub struct ApiBench {
    pub backend: String,
    pub orders: u64,
    pub concurrency: usize,
    pub sign_per_sec: f64,
    pub reply_per_sec: f64,
    /// Answers other than 200 (should be 0).
    pub failed: u64,
}

pub async fn run(settings: &Settings, orders: usize, concurrency: usize) -> Result<ApiBench> {
    let store = crate::runtime::open_store(settings).await?;
    let today = crate::sim::seed::seed_orders(settings, store.as_ref(), orders, 0).await?;
    // No consumers on this bus: the relay has nowhere to wait.
    let bus: Arc<dyn minqing_pipelines::bus::Bus> = Arc::new(minqing_pipelines::bus::memory::MemoryBus::new(&[], 1));
    let api = ApiSettings {
        tokens: (0..200)
            .map(|u| ApiToken {
                token: format!("bench-unit-{u:03}-0123456789").into(),
                role: Role::Unit,
                unit: Some(format!("U{u:03}")),
                name: format!("U{u:03}"),
            })
            .collect(),
    };
    let clock: Clock = Arc::new(move || today);
    // The outbox is emptied as a gateway would, while the requests run.
    let relay = minqing_pipelines::relay::Relay::new(store.clone(), bus);
    let cancel = tokio_util::sync::CancellationToken::new();
    let relaying = tokio::spawn(relay.clone().run(cancel.clone()));
    let v1 = V1::new(store.clone(), relay.clone(), crate::runtime::deadlines(settings)?, &api, clock);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, crate::v1::router(Arc::new(v1))).await });
    let list = store
        .orders(&OrderQuery {
            open: true,
            limit: orders as i64,
            ..OrderQuery::default()
        })
        .await?;
    let targets: Vec<(uuid::Uuid, String)> = list
        .iter()
        .map(|o| {
            let unit = o.unit.clone().unwrap_or_default();
            (o.ticket_id, format!("bench-unit-{}-0123456789", unit.trim_start_matches('U')))
        })
        .collect();
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let mut failed = 0;
    let mut rates = Vec::new();
    for body in [
        serde_json::json!({"action": "sign"}),
        serde_json::json!({"action": "reply", "text": "已处理完毕"}),
    ] {
        let started = std::time::Instant::now();
        failed += act_on_all(&http, &base, &targets, &body, concurrency).await?;
        rates.push(targets.len() as f64 / started.elapsed().as_secs_f64().max(0.001));
    }
    server.abort();
    cancel.cancel();
    relaying.await?;
    relay.drain().await?;
    Ok(ApiBench {
        backend: format!("{:?}", settings.store.backend).to_lowercase(),
        orders: targets.len() as u64,
        concurrency,
        sign_per_sec: (rates[0] * 10.0).round() / 10.0,
        reply_per_sec: (rates[1] * 10.0).round() / 10.0,
        failed,
    })
}

/// Posts `body` to every target order, `concurrency` at a time; returns
/// how many were not answered 200.
async fn act_on_all(
    http: &reqwest::Client,
    base: &str,
    targets: &[(uuid::Uuid, String)],
    body: &serde_json::Value,
    concurrency: usize,
) -> Result<u64> {
    let sem = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (id, token) in targets.iter().cloned() {
        let (http, sem, body) = (http.clone(), sem.clone(), body.clone());
        let url = format!("{base}/api/v1/orders/{id}/actions");
        set.spawn(async move {
            let _p = sem.acquire_owned().await;
            http.post(url)
                .bearer_auth(token)
                .header("Idempotency-Key", format!("bench-{id}-{}", body["action"]))
                .json(&body)
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false)
        });
    }
    let mut failed = 0;
    while let Some(ok) = set.join_next().await {
        if !ok.context("a request task panicked")? {
            failed += 1;
        }
    }
    Ok(failed)
}
