//! Channel connectors for minqing: what each of the seven appeal channels says,
//! turned into [`RawAppeal`]s.
//!
//! # Layout
//!
//! - [`channel`]: one line per channel gives [`Channel`]; [`registry`]: its
//!   settings table; [`spec`]: [`spec::ChannelSpec`], what each channel's `Config`
//!   tells the rest of minqing (checks, secrets, build, quarantine remap,
//!   simulator).
//! - [`appeal`]: [`RawAppeal`] (what a channel said) and [`Inbound`]
//!   (an appeal, or a record that could not be mapped and goes to quarantine).
//! - [`pull`]: the [`pull::PullConnector`] trait and [`pull::PullRunner`], which
//!   pages through a channel and moves the checkpoint only after the sink has
//!   durably accepted the page.
//! - [`sink`]: [`sink::AppealSink`], the one way a connector hands appeals on. A
//!   connector knows nothing of queues or databases.
//! - [`http`]: the retrying HTTP client shared by pull connectors (capped,
//!   jittered backoff; honours `Retry-After`).
//! - One module per channel: `hotline12345`, `supervision`, `yunshang`, `wechat`,
//!   `police110`, `tax12366`, `grid`. Each holds its wire types, its client or
//!   webhook handler, its mapping, and (feature `sim`) a simulator of the
//!   upstream server that speaks the same contract over real HTTP.
//! - [`metrics`]: reading a Prometheus collector back as text (tests).
//! - [`clock`]: "now" for connectors and simulators; real time except in a
//!   paced demo.
//! - [`timeserde`]: timestamps and dates in serde as chrono writes them, on a
//!   fast path (every event carries several).
//! - [`huangshi`]: the outbound channel to the Huangshi 12345 hotline, and
//!   (feature `sim`) its simulator.
//! - [`sim`] (feature `sim`): the shared appeal generator and fault plan that
//!   the simulators serve from.

pub mod appeal;
pub mod channel;
pub mod clock;
pub mod cursor;
pub mod error;
pub mod guard;
pub mod http;
pub mod metrics;
pub mod pull;
pub mod registry;
pub mod secret;
pub mod sign;
pub mod sink;
pub mod spec;
pub mod timefmt;
pub mod timeserde;
pub mod xml;

pub mod grid;
pub mod hotline12345;
pub mod huangshi;
pub mod police110;
pub mod supervision;
pub mod tax12366;
pub mod wechat;
pub mod yunshang;

#[cfg(feature = "sim")]
pub mod sim;

pub use appeal::{Channel, Contact, GeoPoint, Inbound, RawAppeal, Rejected};
pub use error::ConnectorError;
pub use secret::Secret;
