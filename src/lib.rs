//! minqing: the channel gateway and ETL pipeline of Daye City's 民情通
//! unified citizen-appeal platform. This crate is the composition root; the
//! channels live in `minqing-connectors`, the pipeline in `minqing-pipelines`.
//!
//! # Layout
//!
//! - [`cli`]: the command line; [`config`]: layered settings with key paths in errors.
//! - [`rules`]: the triage rule files, the model and the calendar, each
//!   from its own settings section, and the SIGHUP reload.
//! - [`runtime`]: wires store, bus, intake, sinks, connectors and the API.
//! - [`scheduler`]: cron-driven polls, one task per channel; [`sweeper`]:
//!   the SLA sweep on its schedule.
//! - [`api`]: health, readiness, per-channel status and metrics;
//!   [`v1`]: `/api/v1` over the work-order service; [`server`]: limits.
//! - [`secrets`]: shipped or weak secrets refused away from the simulators.
//! - [`commands`]: the operators' and analysts' subcommands.
//! - [`sim`]: the simulators as one fleet, the simulated units, the demo
//!   and the benchmarks' made-up orders.
//! - [`telemetry`]: the tracing subscriber.
//! - `testing` (feature `test-util`): `spawn_app()` and shared fixtures.

pub mod api;
pub mod cli;
pub mod commands;
pub mod config;
pub mod rules;
pub mod runtime;
pub mod scheduler;
pub mod secrets;
pub mod server;
pub mod sim;
pub mod sweeper;
pub mod telemetry;
#[cfg(feature = "test-util")]
pub mod testing;
pub mod v1;
