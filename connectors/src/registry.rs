//! The channel registry: one line per channel, in [`registry!`] below,
//! gives the [`Channel`] enum (its id is its config table, metric label,
//! routing key and `ticket_id` seed), the channel's settings table
//! (`[connectors.<id>]`) in [`Connectors`], and, with the `sim` feature,
//! its traffic profile for the demo. [`Connectors::all`] is the list the
//! runtime, the configuration checks, the secrets check, quarantine and
//! the simulators iterate. A new channel is its own folder (which
//! implements [`ChannelSpec`] for its `Config`), one line here, its table
//! in `config/default.toml`, docs and tests.

use crate::spec::{ChannelSpec, check_common};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Writes the channel enum and the settings struct from one list:
/// `Variant = "id", settings_field: folder, pull|push;`.
macro_rules! registry {
    (@push push) => {
        true
    };
    (@push pull) => {
        false
    };
    ($($variant:ident = $id:literal, $field:ident: $folder:ident, $how:ident;)+) => {
        /// How many channels there are.
        pub const COUNT: usize = [$($id),+].len();

        /// The inbound channels. The snake_case id is used in config,
        /// metrics, log fields, routing keys and `ticket_id` derivation, so
        /// it never changes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Channel {
            $(#[serde(rename = $id)] $variant,)+
        }

        impl Channel {
            /// Every channel, in the order reports list them.
            pub const ALL: [Channel; COUNT] = [$(Channel::$variant),+];

            pub fn id(self) -> &'static str {
                match self {
                    $(Channel::$variant => $id,)+
                }
            }

            /// Push channels call us; the others are pulled on a schedule.
            pub fn is_push(self) -> bool {
                match self {
                    $(Channel::$variant => registry!(@push $how),)+
                }
            }

            /// How the channel's traffic looks in the demo.
            #[cfg(feature = "sim")]
            pub fn profile(self) -> &'static crate::sim::Profile {
                match self {
                    $(Channel::$variant => &crate::$folder::sim::PROFILE,)+
                }
            }
        }

        /// Every channel's settings.
        #[derive(Debug, Clone, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Connectors {
            $(pub $field: crate::$folder::Config,)+
        }

        impl Connectors {
            /// Every channel's spec, in [`Channel::ALL`]'s order.
            fn listed(&self) -> [&dyn ChannelSpec; COUNT] {
                [$(&self.$field),+]
            }

            /// Every channel's spec, to change its settings (the demo).
            pub fn all_mut(&mut self) -> [&mut dyn ChannelSpec; COUNT] {
                [$(&mut self.$field),+]
            }
        }
    };
}

registry! {
    Hotline12345 = "hotline_12345", hotline_12345: hotline12345, pull;
    Supervision = "supervision", supervision: supervision, pull;
    YunshangApp = "yunshang_app", yunshang_app: yunshang, pull;
    Wechat = "wechat", wechat: wechat, push;
    Police110 = "police_110", police_110: police110, pull;
    Tax12366 = "tax_12366", tax_12366: tax12366, pull;
    Grid = "grid", grid: grid, push;
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A channel id that no registered channel has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown channel `{given}`; expected one of {}", Channel::ALL.map(Channel::id).join(", "))]
pub struct UnknownChannel {
    pub given: String,
}

impl FromStr for Channel {
    type Err = UnknownChannel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Channel::ALL
            .into_iter()
            .find(|c| c.id() == s)
            .ok_or_else(|| UnknownChannel { given: s.to_owned() })
    }
}

impl Connectors {
    /// Every registered channel, pulled ones first.
    pub fn all(&self) -> [&dyn ChannelSpec; COUNT] {
        let mut all = self.listed();
        all.sort_by_key(|s| s.channel().is_push());
        all
    }

    /// The spec of `channel`.
    pub fn spec(&self, channel: Channel) -> &dyn ChannelSpec {
        self.all()
            .into_iter()
            .find(|s| s.channel() == channel)
            .expect("every channel is registered (tested)")
    }

    /// Every channel's problems, each naming its key path.
    pub fn check(&self) -> Vec<String> {
        let mut out = Vec::new();
        for spec in self.all() {
            let path = format!("connectors.{}", spec.channel().id());
            if let Some(p) = spec.pull() {
                out.extend(check_common(&path, p));
            }
            out.extend(spec.check(&path));
        }
        out
    }
}
