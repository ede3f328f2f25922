//! The channel registry: every channel's settings, one table each
//! (`[connectors.<channel>]`), and [`Connectors::all`], the list the
//! runtime, the configuration checks, the secrets check and quarantine
//! iterate. A new channel is one field and one line here, besides its own
//! folder (which implements [`ChannelSpec`] for its `Config`), its table in
//! `config/default.toml`, docs and tests.

use crate::appeal::Channel;
use crate::spec::{ChannelSpec, check_common};
use crate::{grid, hotline12345, police110, supervision, tax12366, wechat, yunshang};
use serde::{Deserialize, Serialize};

/// Every channel's settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connectors {
    pub hotline_12345: hotline12345::Config,
    pub supervision: supervision::Config,
    pub yunshang_app: yunshang::Config,
    pub wechat: wechat::Config,
    pub police_110: police110::Config,
    pub tax_12366: tax12366::Config,
    pub grid: grid::Config,
}

impl Connectors {
    /// Every registered channel, pulled ones first.
    pub fn all(&self) -> [&dyn ChannelSpec; 7] {
        [
            &self.hotline_12345,
            &self.supervision,
            &self.yunshang_app,
            &self.police_110,
            &self.tax_12366,
            &self.wechat,
            &self.grid,
        ]
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
