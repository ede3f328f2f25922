//! What a channel tells the rest of minqing about itself: one trait,
//! [`ChannelSpec`], implemented by each channel's `Config` in its own
//! folder. The registry (`crate::registry`) lists the channels; the
//! runtime, the configuration checks, the secrets check and quarantine
//! iterate it instead of naming channels.

use crate::appeal::{Channel, RawAppeal};
use crate::http::HttpClient;
use crate::pull::{ChannelStats, PullConnector};
use crate::secret::Secret;
use crate::sink::AppealSink;
use std::sync::Arc;

/// The settings every pulled channel has. They stay fields of each
/// channel's own `Config` (serde cannot flatten a shared struct into a
/// table that refuses unknown keys) and are read through this.
#[derive(Debug, Clone, Copy)]
pub struct PullCommon<'a> {
    /// A cron expression with seconds.
    pub schedule: &'a str,
    pub base_url: &'a str,
    pub page_size: u32,
}

/// How strong a secret must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// Issued by the upstream: whatever it gave, but not empty or a placeholder.
    Given,
    /// Chosen by us: long enough to resist guessing.
    Own,
    /// Exactly this many characters (WeChat's EncodingAESKey: 43).
    Exact(usize),
}

/// One secret of a channel's settings.
#[derive(Debug, Clone, Copy)]
pub struct SecretField<'a> {
    /// The key under the channel's table, e.g. `app_secret`.
    pub key: &'static str,
    pub value: &'a Secret,
    pub kind: SecretKind,
}

/// A setting a channel cannot start with, by its key under the channel's
/// table (`connectors.<channel>.<key>`). The configuration checks refuse
/// such settings at load; this is what is left when one gets past them.
#[derive(Debug, thiserror::Error)]
#[error("`{key}`: {reason}")]
pub struct SettingError {
    pub key: &'static str,
    pub reason: String,
}

/// Why a record cannot be read: the reason quarantine keeps beside it and
/// shows the operator. Text by design, since it is stored with the record;
/// never retryable, since the same bytes read the same way fail the same
/// way (a corrected mapping, then `quarantine replay`, is the remedy).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Unreadable {
    pub reason: String,
}

impl From<String> for Unreadable {
    fn from(reason: String) -> Self {
        Unreadable { reason }
    }
}

/// What building a channel gives.
pub enum Built {
    /// Polled on its schedule by the one scheduler.
    Pull(Arc<dyn PullConnector>),
    /// Routes merged into the gateway's HTTP server.
    Push(axum::Router),
}

/// A channel, as the rest of minqing sees it.
pub trait ChannelSpec: Send + Sync {
    fn channel(&self) -> Channel;

    fn enabled(&self) -> bool;

    /// A pulled channel's schedule, base URL and page size; `None` for a
    /// pushed one.
    fn pull(&self) -> Option<PullCommon<'_>> {
        None
    }

    /// Checks the types cannot make, each problem naming its key under
    /// `path` (`connectors.<channel>`). The common pull settings are
    /// checked for every channel by [`check_common`].
    fn check(&self, _path: &str) -> Vec<String> {
        Vec::new()
    }

    /// The channel's secrets, for the shipped-or-weak check.
    fn secrets(&self) -> Vec<SecretField<'_>>;

    /// The connector (pulled) or the webhook routes (pushed).
    fn build(&self, http: &HttpClient, sink: Arc<dyn AppealSink>, stats: Arc<ChannelStats>) -> Result<Built, SettingError>;

    /// Maps a quarantined record's raw bytes again (`minqing quarantine
    /// replay`): the reason when it still cannot be read.
    fn remap(&self, raw: &[u8]) -> Result<RawAppeal, Unreadable>;

    /// Readies the settings for simulated traffic that starts at `from`:
    /// on, polled every second from `from`, and no limit on refusals (the
    /// simulators send every forgery from one address).
    #[cfg(feature = "sim")]
    fn for_demo(&mut self, from: chrono::DateTime<chrono::FixedOffset>);

    /// A pulled channel's simulated upstream, to run on loopback;
    /// [`ChannelSpec::point_at`] then aims the channel at it.
    #[cfg(feature = "sim")]
    fn upstream(&self, _u: crate::sim::Upstream) -> Option<axum::Router> {
        None
    }

    /// Aims a pulled channel at `base_url` (its simulated upstream).
    #[cfg(feature = "sim")]
    fn point_at(&mut self, _base_url: String) {}

    /// A pushed channel's simulated sender, sending its feed to our API
    /// until it is done or cancelled.
    #[cfg(feature = "sim")]
    fn sender(&self, _to: crate::sim::SendTo) -> Result<Option<crate::sim::Sending>, SettingError> {
        Ok(None)
    }
}

/// The common pull settings' checks: a cron expression, an HTTP URL, a page.
pub fn check_common(path: &str, p: PullCommon<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if let Err(e) = <cron::Schedule as std::str::FromStr>::from_str(p.schedule) {
        out.push(format!(
            "`{path}.schedule`: `{}` is not a cron expression with seconds ({e}); e.g. \"0 */5 * * * *\"",
            p.schedule
        ));
    }
    if !(p.base_url.starts_with("http://") || p.base_url.starts_with("https://")) {
        out.push(format!("`{path}.base_url`: `{}` must start with http:// or https://", p.base_url));
    }
    if p.page_size == 0 {
        out.push(format!("`{path}.page_size`: must be at least 1"));
    }
    out
}

/// A record's bytes as UTF-8 text, or why not.
pub fn utf8(raw: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(raw).map_err(|e| format!("the record is not UTF-8: {e}"))
}

/// Checks a `start_from` time in the channel's own format.
pub fn check_start_from(path: &str, v: &Option<String>, fmt: &str) -> Vec<String> {
    match v.as_deref().map(|t| crate::timefmt::parse_local(t, fmt)) {
        Some(Err(e)) => vec![format!("`{path}.start_from`: {e}")],
        _ => Vec::new(),
    }
}

/// A pulled channel's `Config`: the common settings (`enabled`,
/// `schedule`, `base_url`, `page_size`) and the channel's own fields, in
/// one table that refuses unknown keys. (serde cannot flatten a shared
/// struct into such a table, so the common fields are written here once.)
macro_rules! pull_config {
    ($(#[$doc:meta])* { $($(#[$m:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
        #[serde(deny_unknown_fields)]
        pub struct Config {
            /// Whether the channel is pulled at all.
            pub enabled: bool,
            /// Cron expression with seconds, e.g. `0 */5 * * * *`.
            pub schedule: String,
            /// The upstream's base URL.
            pub base_url: String,
            /// Records asked for per page.
            pub page_size: u32,
            $($(#[$m])* pub $field: $ty,)*
        }
    };
}
pub(crate) use pull_config;

/// [`ChannelSpec`] for a pulled channel's `Config`: the common fields
/// (`enabled`, `schedule`, `base_url`, `page_size`), the one secret its
/// upstream issued, its connector built from the config and the HTTP
/// client, its quarantine remap, and optionally the format its
/// `start_from` is checked in.
macro_rules! pull_spec {
    ($channel:ident, $secret:ident, $connector:ident, |$raw:ident| $remap:expr $(, start_from: $fmt:expr)?) => {
        impl $crate::spec::ChannelSpec for Config {
            fn channel(&self) -> $crate::appeal::Channel {
                $crate::appeal::Channel::$channel
            }

            fn enabled(&self) -> bool {
                self.enabled
            }

            fn pull(&self) -> Option<$crate::spec::PullCommon<'_>> {
                Some($crate::spec::PullCommon {
                    schedule: &self.schedule,
                    base_url: &self.base_url,
                    page_size: self.page_size,
                })
            }

            $(
                fn check(&self, path: &str) -> Vec<String> {
                    $crate::spec::check_start_from(path, &self.start_from, $fmt)
                }
            )?

            fn secrets(&self) -> Vec<$crate::spec::SecretField<'_>> {
                vec![$crate::spec::SecretField {
                    key: stringify!($secret),
                    value: &self.$secret,
                    kind: $crate::spec::SecretKind::Given,
                }]
            }

            fn build(
                &self,
                http: &$crate::http::HttpClient,
                _sink: std::sync::Arc<dyn $crate::sink::AppealSink>,
                _stats: std::sync::Arc<$crate::pull::ChannelStats>,
            ) -> Result<$crate::spec::Built, $crate::spec::SettingError> {
                Ok($crate::spec::Built::Pull(std::sync::Arc::new($connector::new(self.clone(), http.clone()))))
            }

            fn remap(&self, $raw: &[u8]) -> Result<$crate::appeal::RawAppeal, $crate::spec::Unreadable> {
                let mapped = || -> Result<$crate::appeal::RawAppeal, String> { $remap };
                mapped().map_err($crate::spec::Unreadable::from)
            }

            #[cfg(feature = "sim")]
            fn for_demo(&mut self, from: chrono::DateTime<chrono::FixedOffset>) {
                self.enabled = true;
                self.schedule = "* * * * * *".into();
                let _ = from;
                $(self.start_from = Some($crate::timefmt::format_local(&from, $fmt));)?
            }

            #[cfg(feature = "sim")]
            fn upstream(&self, u: $crate::sim::Upstream) -> Option<axum::Router> {
                Some(sim::upstream(self, u))
            }

            #[cfg(feature = "sim")]
            fn point_at(&mut self, base_url: String) {
                self.base_url = base_url;
            }
        }
    };
}
pub(crate) use pull_spec;
