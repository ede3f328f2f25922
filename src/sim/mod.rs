//! What runs minqing without real upstreams or people: the channel
//! simulators as one fleet, the handling units acting through `/api/v1`,
//! the self-checking demo, and the work orders the benchmarks make up.

pub mod apibench;
pub mod demo;
pub mod fleet;
pub mod hotspots;
pub mod seed;
pub mod units;
