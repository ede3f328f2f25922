//! Test support (feature `test-util`): the whole gateway on the embedded
//! default in a temporary folder with a free port ([`spawn_app`]), the
//! settings such a test deployment uses ([`test_settings`], with secrets of
//! its own, since the shipped ones run only the built-in simulators), and
//! shared fixtures: a test appeal and the calendar deadlines count on.

use crate::config::{self, Settings};
use crate::runtime::{Runtime, StartOptions};
use chrono::{DateTime, FixedOffset};
use minqing_connectors::{Channel, RawAppeal};
use std::path::Path;

/// A test deployment's own secrets, as `MINQING__` variables without the
/// prefix; [`test_settings`] sets the same.
pub const OWN_SECRETS: &[(&str, &str)] = &[
    ("PIPELINE__CITIZEN_KEY_SECRET", "test-citizen-key-0123456789abcdef"),
    ("CONNECTORS__HOTLINE_12345__APP_SECRET", "test-12345-app-secret"),
    ("CONNECTORS__SUPERVISION__TOKEN", "test-supervision-token"),
    ("CONNECTORS__YUNSHANG_APP__CLIENT_SECRET", "test-yunshang-secret"),
    ("CONNECTORS__POLICE_110__TOKEN", "test-110-token-xyz"),
    ("CONNECTORS__TAX_12366__PASSWORD", "test-12366-password"),
    ("CONNECTORS__WECHAT__TOKEN", "test-wechat-token-2026"),
    (
        "CONNECTORS__WECHAT__ENCODING_AES_KEY",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    ),
    ("CONNECTORS__GRID__SECRET", "test-grid-secret-2026"),
    ("FORWARDER__HUANGSHI__SECRET", "test-huangshi-secret"),
];

/// [`OWN_SECRETS`] as environment variables for a `minqing` process.
pub fn own_secret_env() -> impl Iterator<Item = (String, &'static str)> {
    OWN_SECRETS.iter().map(|(k, v)| (format!("MINQING__{k}"), *v))
}

/// The embedded default, with its data in `dir`, any free port, no
/// simulators, and [`OWN_SECRETS`].
pub fn test_settings(dir: &Path) -> Settings {
    let mut s = config::load(None).expect("the embedded default loads");
    s.data_dir = dir.to_path_buf();
    s.server.listen = "127.0.0.1:0".into();
    s.simulators.enabled = false;
    let c = &mut s.connectors;
    for (key, value) in OWN_SECRETS {
        let value = (*value).into();
        match *key {
            "PIPELINE__CITIZEN_KEY_SECRET" => s.pipeline.citizen_key_secret = value,
            "CONNECTORS__HOTLINE_12345__APP_SECRET" => c.hotline_12345.app_secret = value,
            "CONNECTORS__SUPERVISION__TOKEN" => c.supervision.token = value,
            "CONNECTORS__YUNSHANG_APP__CLIENT_SECRET" => c.yunshang_app.client_secret = value,
            "CONNECTORS__POLICE_110__TOKEN" => c.police_110.token = value,
            "CONNECTORS__TAX_12366__PASSWORD" => c.tax_12366.password = value,
            "CONNECTORS__WECHAT__TOKEN" => c.wechat.token = value,
            "CONNECTORS__WECHAT__ENCODING_AES_KEY" => c.wechat.encoding_aes_key = value,
            "CONNECTORS__GRID__SECRET" => c.grid.secret = value,
            "FORWARDER__HUANGSHI__SECRET" => s.forwarder.huangshi.secret = value,
            other => panic!("OWN_SECRETS has {other}, which test_settings() does not set"),
        }
    }
    s
}

/// A running gateway and the folder it keeps its data in (removed when
/// the app is dropped).
pub struct TestApp {
    pub runtime: Runtime,
    pub settings: Settings,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    dir: tempfile::TempDir,
}

impl TestApp {
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the gateway as SIGTERM would.
    pub async fn shutdown(self) {
        self.runtime.shutdown().await;
    }
}

/// Starts the whole gateway (store, bus, intake, sinks, relay, webhooks,
/// `/api/v1`) on the embedded default in a temporary folder, listening on
/// a free port; `adjust` changes the settings first. Nothing polls at start
/// and no SLA sweep runs, so a test decides what happens.
pub async fn spawn_app(adjust: impl FnOnce(&mut Settings)) -> anyhow::Result<TestApp> {
    let dir = tempfile::tempdir()?;
    let mut settings = test_settings(dir.path());
    adjust(&mut settings);
    let runtime = Runtime::start(
        &settings,
        StartOptions {
            poll_at_start: false,
            sweep: false,
        },
    )
    .await?;
    let base = format!("http://{}", runtime.api_addr);
    Ok(TestApp {
        runtime,
        settings,
        base,
        dir,
    })
}

/// A 12345 call from `phone` at `received_at` saying `content`.
pub fn test_appeal(source_id: &str, phone: &str, received_at: DateTime<FixedOffset>, content: &str) -> RawAppeal {
    RawAppeal::plain(Channel::Hotline12345, source_id, received_at, Some(phone), content)
}

/// The calendar deadlines are counted on: the built-in State Council years.
pub fn test_calendar() -> minqing_pipelines::calendar::Calendar {
    minqing_pipelines::calendar::Calendar::builtin()
}
