//! No working defaults (DESIGN.md §7): a secret that shipped with minqing,
//! is empty or is trivially short runs only the built-in simulators.
//!
//! Every secret the configuration holds is checked against the embedded
//! default (`config/default.toml`, public in the repository) and against a
//! length floor. Against real upstreams such a secret lets anyone sign a
//! grid batch, forge a WeChat message, or enumerate citizen keys, so `run`
//! and the commands that write to the stores refuse to start and name the
//! key. With the simulators on and the server on loopback nothing outside
//! the machine can reach the gateway, so the same findings are loud
//! warnings instead; `demo` always runs against its own simulators.

use crate::config::Settings;
use minqing_connectors::spec::SecretKind;

/// Our own HMAC key for citizen hashes: 256 bits, written as 32 characters or more.
const CITIZEN_KEY_MIN: usize = 32;
/// Keys we choose and hand to a sender (grid app, WeChat console).
const OWN_MIN: usize = 16;
/// Credentials an upstream gave us: we cannot choose their length.
const GIVEN_MIN: usize = 8;

/// One secret and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The key's path, e.g. `connectors.grid.secret`.
    pub path: String,
    pub why: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}`: {}; set your own in environment variable MINQING__{} or a config file outside the repository",
            self.path,
            self.why,
            self.path.to_uppercase().replace('.', "__")
        )
    }
}

/// Every secret in use that shipped with minqing, is empty or is too short.
pub fn findings(s: &Settings) -> Vec<Finding> {
    let shipped = crate::config::embedded_default();
    let c = &s.connectors;
    let d = &shipped.connectors;
    let mut checks: Vec<(&str, &str, &str, usize)> = vec![(
        "pipeline.citizen_key_secret",
        &s.pipeline.citizen_key_secret,
        &shipped.pipeline.citizen_key_secret,
        CITIZEN_KEY_MIN,
    )];
    // Every enabled channel's secrets, each against what shipped.
    let mut paths = Vec::new();
    for spec in c.all().into_iter().filter(|spec| spec.enabled()) {
        let shipped_spec = d.spec(spec.channel());
        for f in spec.secrets() {
            let default = shipped_spec
                .secrets()
                .into_iter()
                .find(|g| g.key == f.key)
                .map_or("", |g| g.value.expose());
            let min = match f.kind {
                SecretKind::Given => GIVEN_MIN,
                SecretKind::Own => OWN_MIN,
                SecretKind::Exact(n) => n,
            };
            paths.push((
                format!("connectors.{}.{}", spec.channel().id(), f.key),
                f.value.expose(),
                default,
                min,
            ));
        }
    }
    for (path, value, default, min) in &paths {
        checks.push((path, value, default, *min));
    }
    if s.forwarder.enabled {
        checks.push((
            "forwarder.huangshi.secret",
            &s.forwarder.huangshi.secret,
            &shipped.forwarder.huangshi.secret,
            GIVEN_MIN,
        ));
    }
    // A retired key stays secret while it is computed: with it, anyone
    // could key every phone number and find each citizen's new key.
    let retired: Vec<(String, &str)> = s
        .pipeline
        .previous_citizen_keys
        .iter()
        .enumerate()
        .map(|(i, k)| (format!("pipeline.previous_citizen_keys[{i}].secret"), k.secret.expose()))
        .collect();
    for (path, value) in &retired {
        checks.push((path, value, &shipped.pipeline.citizen_key_secret, CITIZEN_KEY_MIN));
    }
    let mut out: Vec<Finding> = checks
        .into_iter()
        .filter_map(|(path, value, default, min)| {
            weakness(value, default, min).map(|why| Finding {
                path: path.to_owned(),
                why,
            })
        })
        .collect();
    for (i, t) in s.api.tokens.iter().enumerate() {
        if t.token.starts_with("change-me") {
            out.push(Finding {
                path: format!("api.tokens[{i}].token"),
                why: "a placeholder from the examples".into(),
            });
        }
    }
    out
}

fn weakness(value: &str, shipped: &str, min: usize) -> Option<String> {
    let v = value.trim();
    if v.is_empty() {
        Some("empty".into())
    } else if v == shipped.trim() || v.starts_with("change-me") {
        Some("the value shipped with minqing, which anyone can read".into())
    } else if v.chars().count() < min {
        Some(format!("{} characters; use at least {min}, random", v.chars().count()))
    } else {
        None
    }
}

/// Whether nothing but the built-in simulators can reach or be reached by
/// this gateway: simulators on, and the server listening on loopback.
pub fn simulators_only(s: &Settings) -> bool {
    s.simulators.enabled && s.server.listen.parse::<std::net::SocketAddr>().is_ok_and(|a| a.ip().is_loopback())
}

/// What to do with findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// `demo`: always its own simulators.
    Demo,
    /// `run` and commands that write to the stores.
    Serve,
}

/// Refuses to go on with shipped or weak secrets, unless only simulators
/// are involved; then prints each finding as a warning.
pub fn gate(s: &Settings, gate: Gate) -> anyhow::Result<()> {
    let found = findings(s);
    if found.is_empty() {
        return Ok(());
    }
    if gate == Gate::Demo || simulators_only(s) {
        for f in &found {
            eprintln!("warning: {f}");
            tracing::warn!(key = %f.path, "Shipped or weak secret in use; acceptable only against the built-in simulators.");
        }
        return Ok(());
    }
    anyhow::bail!(
        "refusing to start against real upstreams with shipped or weak secrets:\n  {}\n\
         (the built-in simulators on loopback accept them: simulators.enabled = true and a loopback server.listen)",
        found.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  ")
    )
}

#[cfg(test)]
mod tests;
