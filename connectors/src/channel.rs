//! The list of channels: one line per channel in [`channels!`] gives the
//! [`Channel`] enum (its id is its config table, metric label, routing key
//! and `ticket_id` seed) here, and, through `crate::registry`, its settings
//! table in `Connectors` and its simulator's traffic profile. Nothing here
//! names anything else of the crate, so every module may name a channel.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Hands the channel list to `$then`, a macro that writes something per
/// channel: `Variant = "id", settings_field: folder, pull|push, "名称";`. A new
/// channel is one line here.
macro_rules! channels {
    ($then:ident) => {
        $then! {
            Hotline12345 = "hotline_12345", hotline_12345: hotline12345, pull, "12345热线";
            Supervision = "supervision", supervision: supervision, pull, "互联网+监督";
            YunshangApp = "yunshang_app", yunshang_app: yunshang, pull, "云上大冶";
            Wechat = "wechat", wechat: wechat, push, "今日大冶微信";
            Police110 = "police_110", police_110: police110, pull, "110联动";
            Tax12366 = "tax_12366", tax_12366: tax12366, pull, "12366纳税服务热线";
            Grid = "grid", grid: grid, push, "网格员";
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
    ($($variant:ident = $id:literal, $field:ident: $folder:ident, $how:ident, $label:literal;)+) => {
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
            /// The channel's name as the centre says it (`12345热线`…).
            pub fn label(self) -> &'static str {
                match self {
                    $(Channel::$variant => $label,)+
                }
            }

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
