//! The list of channels: one line per channel in [`channels!`] gives the
//! [`Channel`] enum (its id is its config table, metric label, routing key
//! and `ticket_id` seed) here, and, through `crate::registry`, its settings
//! table in `Connectors` and its simulator's traffic profile. Nothing here
//! names anything else of the crate, so every module may name a channel.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Hands the channel list to `$then`, a macro that writes something per
/// channel: `Variant = "id", settings_field: folder, pull|push;`. A new
/// channel is one line here.
macro_rules! channels {
    ($then:ident) => {
        $then! {
            Hotline12345 = "hotline_12345", hotline_12345: hotline12345, pull;
            Supervision = "supervision", supervision: supervision, pull;
            YunshangApp = "yunshang_app", yunshang_app: yunshang, pull;
            Wechat = "wechat", wechat: wechat, push;
            Police110 = "police_110", police_110: police110, pull;
            Tax12366 = "tax_12366", tax_12366: tax12366, pull;
            Grid = "grid", grid: grid, push;
        }
    };
}
pub(crate) use channels;

/// Writes the channel enum from the list.
macro_rules! channel_enum {
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
                    $(Channel::$variant => channel_enum!(@push $how),)+
                }
            }
        }
    };
}

channels!(channel_enum);

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
