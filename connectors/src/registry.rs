//! The channel registry: from the list in `crate::channel` (one line per
//! channel), each channel's settings table (`[connectors.<id>]`) in
//! [`Connectors`] and, with the `sim` feature, its traffic profile for the
//! demo. [`Connectors::all`] is the list the runtime, the configuration
//! checks, the secrets check, quarantine and the simulators iterate. A new
//! channel is its own folder (which implements [`ChannelSpec`] for its
//! `Config`), one line in the list, its table in `config/default.toml`,
//! docs and tests.

pub use crate::channel::{COUNT, Channel, UnknownChannel};
use crate::spec::{ChannelSpec, check_common};
use serde::{Deserialize, Serialize};

/// Writes the settings struct and the profiles from the channel list.
macro_rules! connectors {
    ($($variant:ident = $id:literal, $field:ident: $folder:ident, $how:ident, $label:literal;)+) => {
        impl Channel {
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

crate::channel::channels!(connectors);

impl Connectors {
    /// Every registered channel, pulled ones first.
    pub fn all(&self) -> [&dyn ChannelSpec; COUNT] {
        let mut all = self.listed();
        all.sort_by_key(|s| s.channel().is_push());
        all
    }

    /// The spec of `channel`.
    pub fn spec(&self, channel: Channel) -> &dyn ChannelSpec {
        self.listed()
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
