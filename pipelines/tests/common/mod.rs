//! What the pipelines' integration tests share: intake and the store's
//! sink wired to a memory bus, and a PostgreSQL database dropped after use.
#![allow(dead_code)] // each test file uses its own share

use minqing_pipelines::bus::memory::MemoryBus;
use minqing_pipelines::bus::{Bus, EventQueue};
use minqing_pipelines::db::pool::connect;
use minqing_pipelines::intake::Intake;
use minqing_pipelines::sink::{Batching, StoreTarget, run_sink};
use minqing_pipelines::store::EventStore;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Runs `intake` on `bus`'s raw queue and the workflow store's sink on its
/// event queue, until `cancel`.
pub async fn run_intake(intake: Intake, bus: &Arc<MemoryBus>, store: Arc<dyn EventStore>, cancel: &CancellationToken) {
    tokio::spawn(intake.run(bus.consume_raw().await.unwrap(), cancel.clone()));
    tokio::spawn(run_sink(
        Arc::new(StoreTarget::new(store, Default::default())),
        bus.consume_events(EventQueue::Workflow).await.unwrap(),
        Batching::default(),
        cancel.clone(),
    ));
}

/// Drops the test database `name` from the local PostgreSQL.
pub async fn drop_database(name: &str) {
    let pool = connect::<sqlx::Postgres>("postgres://postgres@127.0.0.1:5432/postgres")
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
        .execute(&pool)
        .await
        .unwrap();
}
