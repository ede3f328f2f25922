//! The pipeline of minqing: from what channels said to tickets in the stores.
//!
//! # Layout
//!
//! - [`ticket`]: the ground floor: the canonical [`ticket::Ticket`] and
//!   [`ticket::TicketEvent`] with their payloads (a triage decision, a work
//!   order), deterministic ids so every consumer can be idempotent.
//! - [`normalize`]: text, phones, times and towns (the gazetteer).
//! - [`dedup`]: replays and cross-channel duplicates.
//! - [`neardup`]: near-duplicates and same-issue clusters (MinHash LSH),
//!   with the 现场督办 triggers.
//! - [`intake`]: the single active consumer of raw appeals: normalize → dedup
//!   → ticket events, with quarantine for what cannot be normalized.
//! - [`bus`]: the [`bus::Bus`] seam and its in-process implementation, whose
//!   publish resolves only when every bound consumer has committed.
//! - [`store`]: the [`store::WorkflowStore`] seam, one trait per role
//!   ([`store::roles`]: events, quarantine, checkpoints, the Huangshi
//!   outbox, clusters, work orders, the warehouse outbox), and its SQLite
//!   and PostgreSQL implementations.
//! - [`db`]: pools and the SQLite writer shared by the store and the
//!   warehouse.
//! - [`warehouse`]: the [`warehouse::Warehouse`] seam for analytics sinks.
//! - [`sink`]: the consumers that apply ticket events to the workflow store
//!   and the warehouse.
//! - [`latency`]: ingest-to-store latency histograms.
//! - [`forward`]: the Huangshi 12345 outbox and its delivery loop.
//! - [`relay`]: the warehouse outbox's relay: what the workflow store
//!   committed reaches the warehouse, after the store and never before.
//! - [`classify`]: the category classifier (character n-grams, linear SVMs).
//! - [`calendar`]: the official working-day calendar (holidays, 调休).
//! - [`triage`]: scope (forward, reject, answer online, dispatch), category
//!   and routing to a handling unit.

pub mod analysis;
pub mod bus;
pub mod calendar;
pub mod classify;
pub mod db;
pub mod dedup;
pub mod forward;
pub mod intake;
pub mod latency;
pub mod neardup;
pub mod normalize;
pub mod privacy;
pub mod relay;
pub mod sink;
pub mod store;
pub mod ticket;
pub mod triage;
pub mod warehouse;
pub mod workflow;
