//! Settings: `config/default.toml` (compiled in) → `--config FILE` →
//! `MINQING__SECTION__KEY` environment variables. Unknown keys are errors,
//! and every error names the key's path and where the value came from.
//! Decoding stops at the first key that does not fit its type (serde's way);
//! the checks after decoding (cron, URLs, keys, sizes) report all at once.

use anyhow::Result;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use minqing_connectors::http::RetryPolicy;
use minqing_pipelines::bus::rabbit::RabbitSettings;
use minqing_pipelines::normalize;
use minqing_pipelines::store::postgres::PgSettings;
use minqing_pipelines::warehouse::clickhouse::ClickhouseSettings;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");
pub const GAZETTEER_TOML: &str = include_str!("../config/gazetteer.toml");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where the SQLite files live.
    pub data_dir: PathBuf,
    pub log: LogSettings,
    pub server: ServerSettings,
    /// Who may call `/api/v1`.
    #[serde(default)]
    pub api: crate::v1::ApiSettings,
    pub store: StoreSettings,
    pub bus: BusSettings,
    pub warehouse: WarehouseSettings,
    pub pipeline: normalize::Settings,
    /// What is masked in text that leaves the workflow store.
    #[serde(default)]
    pub privacy: minqing_pipelines::privacy::PrivacySettings,
    /// Gazetteer file; empty uses the built-in `config/gazetteer.toml`.
    pub gazetteer: Option<PathBuf>,
    pub http: RetryPolicy,
    pub triage: crate::rules::TriageSettings,
    pub forwarder: minqing_pipelines::forward::ForwarderSettings,
    /// Near-duplicates and same-issue clusters.
    #[serde(default)]
    pub neardup: minqing_pipelines::neardup::Params,
    #[serde(default)]
    pub calendar: crate::rules::CalendarSettings,
    /// The work-order deadlines, in working days.
    #[serde(default)]
    pub workflow: minqing_pipelines::workflow::Rules,
    /// The analysts' factors and thresholds: the satisfaction rate's
    /// weights, rising detection, hotspots.
    #[serde(default)]
    pub analysis: minqing_pipelines::analysis::AnalysisSettings,
    pub simulators: SimulatorSettings,
    pub connectors: Connectors,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// A `tracing` filter such as `info` or `minqing=debug,warn`; `RUST_LOG` wins.
    pub filter: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address of the HTTP API: webhooks, health, status, metrics.
    pub listen: String,
    /// Seconds to let in-flight requests finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// Connections, timeouts and requests at once (`src/server.rs`).
    #[serde(default)]
    pub limits: crate::server::Limits,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum StoreBackend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    pub backend: StoreBackend,
    /// SQLite file, relative to `data_dir`.
    pub sqlite_file: PathBuf,
    pub postgres: PgSettings,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum WarehouseBackend {
    Sqlite,
    Clickhouse,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarehouseSettings {
    pub backend: WarehouseBackend,
    /// SQLite file of the embedded warehouse, relative to `data_dir`.
    pub sqlite_file: PathBuf,
    /// Write once this many events are pending…
    pub batch_rows: usize,
    /// …or this many milliseconds after the first; 0 writes as soon as
    /// nothing more is waiting (what the in-process bus needs, since its
    /// publishers wait for the write).
    pub flush_ms: u64,
    pub clickhouse: ClickhouseSettings,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum BusBackend {
    Memory,
    Rabbitmq,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusSettings {
    pub backend: BusBackend,
    /// Most items a consumer takes as one delivery (one commit).
    pub max_batch: usize,
    /// Intake batches whose events may be committing at once.
    pub max_in_flight: usize,
    /// Pages a pull connector may have waiting for acceptance.
    pub pages_in_flight: usize,
    pub rabbitmq: RabbitSettings,
}

/// The built-in channel simulators, which feed `minqing run` on a machine
/// with no real upstreams. Turn them off in production.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorSettings {
    pub enabled: bool,
    pub seed: u64,
    /// Appeals across all channels per hour of simulated traffic.
    pub appeals_per_hour: u64,
    /// Hours of traffic a `run` gets.
    pub hours: u64,
    /// Transport faults injected by the simulated servers.
    pub faults: bool,
}

pub use minqing_connectors::registry::Connectors;

/// The embedded default alone, without files or environment: what shipped.
pub fn embedded_default() -> Settings {
    Figment::from(Toml::string(DEFAULT_TOML))
        .extract()
        .expect("config/default.toml is valid (tested)")
}

/// Builds the layered figment.
pub fn figment(file: Option<&Path>) -> Figment {
    let mut f = Figment::from(Toml::string(DEFAULT_TOML));
    if let Some(path) = file {
        f = f.merge(Toml::file_exact(path));
    }
    f.merge(Env::prefixed("MINQING__").split("__"))
}

/// Loads and validates; the error lists every problem with its key path.
pub fn load(file: Option<&Path>) -> Result<Settings> {
    let settings: Settings = figment(file).extract().map_err(|e| anyhow::anyhow!(explain(e)))?;
    let problems = validate(&settings);
    if !problems.is_empty() {
        anyhow::bail!("invalid configuration:\n  {}", problems.join("\n  "));
    }
    Ok(settings)
}

/// One line per error: the key path, what is wrong, and where it came from.
pub fn explain(err: figment::Error) -> String {
    let lines: Vec<String> = err
        .into_iter()
        .map(|e| {
            let mut path = e.path.join(".");
            let what = match &e.kind {
                figment::error::Kind::UnknownField(field, expected) => {
                    path = with_field(&e.path, field);
                    format!("unknown key; expected one of: {}", expected.join(", "))
                }
                // figment's own text wraps the list in backticks twice.
                figment::error::Kind::UnknownVariant(found, expected) => {
                    format!("unknown value `{found}`; expected one of: {}", expected.join(", "))
                }
                figment::error::Kind::MissingField(field) => {
                    path = with_field(&e.path, field);
                    "missing key".to_owned()
                }
                other => other.to_string(),
            };
            let source = match e.metadata.as_ref() {
                // Name the exact variable, which is what an operator greps for.
                Some(m) if m.name.contains("environment") => {
                    format!(" (from environment variable MINQING__{})", path.to_uppercase().replace('.', "__"))
                }
                Some(m) => match &m.source {
                    Some(src) => format!(" (from {src})"),
                    None => format!(" (from {})", m.name),
                },
                None => String::new(),
            };
            format!("`{path}`: {what}{source}")
        })
        .collect();
    format!("invalid configuration:\n  {}", lines.join("\n  "))
}

/// The key path ending in `field`; figment's path sometimes holds it already.
fn with_field(path: &[String], field: &str) -> String {
    match path.last() {
        Some(last) if last == field => path.join("."),
        Some(_) => format!("{}.{field}", path.join(".")),
        None => field.to_owned(),
    }
}

/// Checks what types cannot: cron expressions, URLs, keys, sizes.
pub fn validate(s: &Settings) -> Vec<String> {
    let mut p = Vec::new();
    p.extend(s.connectors.check());
    check_server_and_pipeline(s, &mut p);
    check_backends(s, &mut p);
    check_forwarder(s, &mut p);
    check_rules(s, &mut p);
    p.extend(s.analysis.problems().into_iter().map(|x| format!("`{}", x.replacen(' ', "` ", 1))));
    p
}

/// `server.listen`, the pipeline's sizes, the citizen key ids.
fn check_server_and_pipeline(s: &Settings, p: &mut Vec<String>) {
    if s.server.listen.parse::<std::net::SocketAddr>().is_err() {
        p.push(format!(
            "`server.listen`: `{}` is not an address such as 127.0.0.1:8080",
            s.server.listen
        ));
    }
    if s.pipeline.max_content_chars == 0 || s.pipeline.max_content_bytes == 0 {
        p.push("`pipeline.max_content_chars` and `pipeline.max_content_bytes` must be positive".into());
    }
    let id = &s.pipeline.citizen_key_id;
    if id.is_empty() || id.len() > 16 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        p.push(format!(
            "`pipeline.citizen_key_id`: `{id}` must be 1 to 16 letters or digits, e.g. k2"
        ));
    }
    let mut ids = vec![id.as_str()];
    for (i, k) in s.pipeline.previous_citizen_keys.iter().enumerate() {
        let bad = k.id.is_empty() || k.id.len() > 16 || !k.id.chars().all(|c| c.is_ascii_alphanumeric());
        if bad || ids.contains(&k.id.as_str()) {
            p.push(format!(
                "`pipeline.previous_citizen_keys[{i}].id`: `{}` must be 1 to 16 letters or digits, and differ from \
                 `pipeline.citizen_key_id` and the other retired keys' ids",
                k.id
            ));
        }
        if k.secret == s.pipeline.citizen_key_secret {
            p.push(format!(
                "`pipeline.previous_citizen_keys[{i}].secret` is the current `pipeline.citizen_key_secret`; a rotation needs a new secret"
            ));
        }
        ids.push(&k.id);
    }
}

/// The bus, the workflow store and the warehouse, retries, the gazetteer.
fn check_backends(s: &Settings, p: &mut Vec<String>) {
    if s.bus.max_batch == 0 || s.bus.max_in_flight == 0 || s.bus.pages_in_flight == 0 {
        p.push("`bus.max_batch`, `bus.max_in_flight` and `bus.pages_in_flight`: must be at least 1".into());
    }
    if s.bus.backend == BusBackend::Rabbitmq {
        let r = &s.bus.rabbitmq;
        if !(r.url.starts_with("amqp://") || r.url.starts_with("amqps://")) {
            p.push("`bus.rabbitmq.url`: must start with amqp:// or amqps://".into());
        }
        if r.prefetch == 0 || r.intake_prefetch == 0 || r.delivery_limit == 0 || r.max_message_items == 0 {
            p.push("`bus.rabbitmq.prefetch`, `intake_prefetch`, `delivery_limit` and `max_message_items`: must be at least 1".into());
        }
    }
    if s.store.backend == StoreBackend::Postgres
        && !(s.store.postgres.url.starts_with("postgres://") || s.store.postgres.url.starts_with("postgresql://"))
    {
        p.push("`store.postgres.url`: must start with postgres:// or postgresql://".into());
    }
    if s.warehouse.backend == WarehouseBackend::Clickhouse {
        let c = &s.warehouse.clickhouse;
        if !(c.url.starts_with("http://") || c.url.starts_with("https://")) {
            p.push("`warehouse.clickhouse.url`: the HTTP interface, e.g. http://127.0.0.1:8123".into());
        }
        if c.database.is_empty() || !c.database.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
            p.push("`warehouse.clickhouse.database`: letters, digits and _ only".into());
        }
    }
    if s.warehouse.batch_rows == 0 {
        p.push("`warehouse.batch_rows`: must be at least 1".into());
    }
    if s.http.max_attempts == 0 {
        p.push("`http.max_attempts`: must be at least 1".into());
    }
    if let Some(g) = &s.gazetteer
        && let Err(e) = std::fs::read_to_string(g)
            .map_err(|e| e.to_string())
            .and_then(|t| normalize::Gazetteer::from_toml(&t).map_err(|e| e.to_string()))
    {
        p.push(format!("`gazetteer`: {}: {e}", g.display()));
    }
}

/// The Huangshi forwarder, when enabled.
fn check_forwarder(s: &Settings, p: &mut Vec<String>) {
    let f = &s.forwarder;
    if f.enabled {
        if !(f.huangshi.base_url.starts_with("http://") || f.huangshi.base_url.starts_with("https://")) {
            p.push("`forwarder.huangshi.base_url`: must start with http:// or https://".into());
        }
        if f.huangshi.secret.len() < 8 {
            p.push("`forwarder.huangshi.secret`: use at least 8 characters (the HMAC key Huangshi gave you)".into());
        }
        if f.concurrency == 0 || f.max_attempts == 0 || f.poll_ms == 0 {
            p.push("`forwarder.concurrency`, `max_attempts` and `poll_ms`: must be at least 1".into());
        }
        if f.base_delay_ms == 0 || f.max_delay_ms < f.base_delay_ms {
            p.push("`forwarder.base_delay_ms` must be positive and at most `forwarder.max_delay_ms`".into());
        }
    }
}

/// The rule files, API tokens, near-duplicates, workflow, limits, calendar.
fn check_rules(s: &Settings, p: &mut Vec<String>) {
    match s.gazetteer().and_then(|g| crate::rules::triage(&s.triage, &g)) {
        Err(e) => p.push(format!("`triage`: {e:#}")),
        Ok(t) => {
            for (i, tok) in s.api.tokens.iter().enumerate() {
                if let Some(u) = tok.unit.as_deref().filter(|u| !u.trim().is_empty() && !t.router().knows(u)) {
                    p.push(format!(
                        "`api.tokens[{i}].unit`: `{u}` is not a unit code in the units file (triage.units)"
                    ));
                }
            }
        }
    }
    p.extend(s.neardup.check("neardup"));
    p.extend(s.workflow.check("workflow"));
    if let Err(e) = cron::Schedule::from_str(&s.workflow.sweep_schedule) {
        p.push(format!(
            "workflow.sweep_schedule: `{}` is not a cron schedule (sec min hour day month weekday): {e}",
            s.workflow.sweep_schedule
        ));
    }
    p.extend(s.api.check("api"));
    p.extend(s.server.limits.check("server.limits"));
    if s.calendar.dir.is_some()
        && let Err(e) = crate::rules::calendar(&s.calendar)
    {
        p.push(format!("`calendar.dir`: {e:#}"));
    }
}

impl Settings {
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join(&self.store.sqlite_file)
    }

    pub fn warehouse_path(&self) -> PathBuf {
        self.data_dir.join(&self.warehouse.sqlite_file)
    }

    pub fn gazetteer(&self) -> Result<normalize::Gazetteer> {
        let text = match &self.gazetteer {
            Some(p) => std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("reading gazetteer {}: {e}", p.display()))?,
            None => GAZETTEER_TOML.to_owned(),
        };
        normalize::Gazetteer::from_toml(&text).map_err(|e| anyhow::anyhow!(e))
    }
}

#[cfg(test)]
// figment's Jail hands back figment::Error, which is large; fine in tests.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_default_is_valid() {
        figment::Jail::expect_with(|_| {
            let s = load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.store.backend, StoreBackend::Sqlite);
            assert!(s.simulators.enabled);
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_reported_with_their_path() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "[connectors.hotline_12345]\napp_sekret = \"x\"\n")?;
            let err = load(Some(Path::new("bad.toml"))).unwrap_err().to_string();
            assert!(err.contains("`connectors.hotline_12345.app_sekret`: unknown key"), "{err}");
            assert!(err.contains("bad.toml"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn env_overrides_and_bad_values_name_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MINQING__CONNECTORS__HOTLINE_12345__PAGE_SIZE", "250");
            assert_eq!(load(None).map_err(|e| e.to_string())?.connectors.hotline_12345.page_size, 250);
            jail.set_env("MINQING__CONNECTORS__HOTLINE_12345__PAGE_SIZE", "many");
            let err = load(None).unwrap_err().to_string();
            assert!(err.contains("`connectors.hotline_12345.page_size`"), "{err}");
            jail.set_env("MINQING__CONNECTORS__HOTLINE_12345__PAGE_SIZE", "100");
            jail.set_env("MINQING__CONNECTORS__SUPERVISION__SCHEDULE", "every minute");
            let err = load(None).unwrap_err().to_string();
            assert!(err.contains("`connectors.supervision.schedule`"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn an_unknown_choice_lists_the_choices() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MINQING__STORE__BACKEND", "mysql");
            let err = load(None).unwrap_err().to_string();
            assert!(
                err.contains("`store.backend`: unknown value `mysql`; expected one of: sqlite, postgres"),
                "{err}"
            );
            assert!(err.contains("MINQING__STORE__BACKEND"), "{err}");
            Ok(())
        });
    }
}
