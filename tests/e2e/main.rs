//! End-to-end tests: the binary's pieces against the channel simulators over
//! real HTTP, on the embedded default (SQLite in a temporary directory) and,
//! in `production`, on real RabbitMQ, PostgreSQL and ClickHouse servers.

mod helpers;

/// The analysts' commands: saved queries, trends, hotspots, their errors.
mod analysts;
/// `/api/v1`: tokens and roles, refusals, idempotent retries, concurrency.
mod api;
/// Every registered channel through the same checks.
mod channels;
/// The command line itself: check-config and demo --json.
mod cli;
/// `kill -9` of a running gateway mid-run, and a restart on the same data.
mod crash;
/// The demo machinery with fault injection, then a second run on the same data.
mod demo;
/// The Huangshi 12345 forwarder: downtime, a restart, a lost answer, refusals.
mod forward;
/// The grid webhook: what an unsigned caller can make us keep, times refused up front.
mod grid;
/// One channel down while the others go on.
mod isolation;
/// The layout: no import circles, the event model at the ground floor.
mod layout;
/// Personal data out of the SQLite warehouse (production.rs has the servers').
mod privacy;
/// RabbitMQ, PostgreSQL and ClickHouse: the demo, and the faults they must survive.
mod production;
/// Quarantine list and replay after a configuration fix.
mod quarantine;
/// The HTTP server's limits: header and request timeouts, connections at most.
mod server;
/// The WeChat webhook, exactly per the public spec, plus health and status;
/// forged, stale and replayed messages.
mod wechat;
