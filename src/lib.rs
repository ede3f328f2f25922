//! minqing: the channel gateway and ETL pipeline of Daye City's 民情通
//! unified citizen-appeal platform. This crate is the composition root; the
//! channels live in `minqing-connectors`, the pipeline in `minqing-pipelines`.
//!
//! # Layout
//!
//! - [`cli`]: the command line; [`config`]: layered settings with key paths in errors.
//! - [`runtime`]: wires store, bus, intake, sinks, connectors and the API.
//! - [`scheduler`]: cron-driven polls, one task per channel.
//! - [`api`]: health, readiness, per-channel status and metrics.
//! - [`sims`]: the built-in channel simulators as one fleet.
//! - [`demo`]: `minqing demo`, the self-checking end-to-end run.
//! - [`dedup`]: `minqing dedup cluster|eval` over the near-duplicate engine.
//! - [`forward`]: the Huangshi outbox's parked transfers and their requeue.
//! - [`quarantine`]: listing and replaying held records.
//! - [`calendar`]: `minqing calendar …` and loading the working-day calendar.
//! - [`classifier`]: training, evaluating and benchmarking the category model.
//! - [`telemetry`]: the tracing subscriber.
//! - [`triage`]: the triage rule files, the model, and their SIGHUP reload.

pub mod api;
pub mod apibench;
pub mod calendar;
pub mod classifier;
pub mod cli;
pub mod config;
pub mod dedup;
pub mod demo;
pub mod forward;
pub mod privacy;
pub mod quarantine;
pub mod relay;
pub mod runtime;
pub mod scheduler;
pub mod secrets;
pub mod server;
pub mod sims;
pub mod sweeper;
pub mod telemetry;
pub mod tickets;
pub mod triage;
pub mod units_sim;
pub mod v1;
