//! The command line's subcommands that are not the gateway itself: each
//! answers one operator's or analyst's question from the configuration,
//! the stores or a file, and returns what to print.

pub mod analysts;
pub mod bench;
pub mod bench_warehouse;
pub mod calendar;
pub mod classifier;
pub mod dedup;
pub mod forward;
pub mod privacy;
pub mod quarantine;
pub mod relay;
pub mod tables;
pub mod tickets;
pub mod triage;
