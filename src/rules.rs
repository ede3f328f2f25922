//! The rule files the pipeline decides by, each loaded from its own
//! settings section: the triage rules, units, knowledge base and model of
//! `[triage]` (or the files built in from `config/`), with the SIGHUP
//! reload that swaps re-read rules into the running pipeline; and the
//! working-day calendar of `[calendar]`.

use anyhow::{Context, Result};
use minqing_pipelines::calendar::Calendar;
use minqing_pipelines::classify::Model;
use minqing_pipelines::normalize::Gazetteer;
use minqing_pipelines::triage::{Live, Sources, Triage};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the working-day calendar comes from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSettings {
    /// A folder of `<year>.toml` files; unset uses the built-in
    /// `config/calendar/`.
    pub dir: Option<PathBuf>,
}

/// Where the triage rules come from; each unset key uses the file built in
/// from `config/`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageSettings {
    /// Categories and scope rules (`config/triage.toml`).
    pub rules: Option<PathBuf>,
    /// A folder of knowledge-base `*.toml` files (`config/knowledge/`).
    pub knowledge_dir: Option<PathBuf>,
    /// Units and routes (`config/units.toml`).
    pub units: Option<PathBuf>,
    /// A model from `minqing classifier train`; unset uses the keyword rules.
    pub classifier_model: Option<PathBuf>,
}

pub const TRIAGE_TOML: &str = include_str!("../config/triage.toml");
pub const UNITS_TOML: &str = include_str!("../config/units.toml");
pub const KNOWLEDGE: &[(&str, &str)] = &[
    (
        "config/knowledge/civil_affairs.toml",
        include_str!("../config/knowledge/civil_affairs.toml"),
    ),
    (
        "config/knowledge/social_security.toml",
        include_str!("../config/knowledge/social_security.toml"),
    ),
    (
        "config/knowledge/transport.toml",
        include_str!("../config/knowledge/transport.toml"),
    ),
];

fn read(path: &Path) -> Result<(String, String)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok((path.display().to_string(), text))
}

/// The rule texts and model `[triage]` names.
pub fn sources(t: &TriageSettings) -> Result<Sources> {
    let triage = match &t.rules {
        Some(p) => read(p)?,
        None => ("config/triage.toml (built in)".into(), TRIAGE_TOML.into()),
    };
    let units = match &t.units {
        Some(p) => read(p)?,
        None => ("config/units.toml (built in)".into(), UNITS_TOML.into()),
    };
    let knowledge = match &t.knowledge_dir {
        Some(dir) => {
            let mut files: Vec<_> = std::fs::read_dir(dir)
                .with_context(|| format!("`triage.knowledge_dir`: listing {}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            files.iter().map(|p| read(p)).collect::<Result<Vec<_>>>()?
        }
        None => KNOWLEDGE
            .iter()
            .map(|(n, t)| (format!("{n} (built in)"), (*t).to_owned()))
            .collect(),
    };
    let model = match &t.classifier_model {
        Some(p) => Some(Arc::new(Model::load(p).with_context(|| "`triage.classifier_model`".to_string())?)),
        None => None,
    };
    Ok(Sources {
        triage,
        knowledge,
        units,
        model,
    })
}

/// Builds the triage stage from `[triage]`'s files, routing over the
/// gazetteer's towns.
pub fn triage(t: &TriageSettings, gazetteer: &Gazetteer) -> Result<Triage> {
    Ok(Triage::load(&sources(t)?, &towns(gazetteer))?)
}

/// The names of the gazetteer's towns, which routes may name.
pub fn towns(gazetteer: &Gazetteer) -> Vec<String> {
    gazetteer.towns().iter().map(|t| t.name.clone()).collect()
}

/// Reloads the rules on every SIGHUP until the process ends; `reloaded`
/// runs after each reload that took (the warehouse's dimensions follow
/// the rules).
#[cfg(unix)]
pub fn reload_on_sighup(
    live: Live,
    t: TriageSettings,
    towns: impl Fn() -> Result<Vec<String>> + Send + 'static,
    reloaded: impl Fn() + Send + 'static,
) {
    // Registered here, not in the task: until it is, SIGHUP's default action
    // ends the process, and the task may first run after "Listening.".
    let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        tracing::warn!("Cannot listen for SIGHUP; triage rules reload only on restart.");
        return;
    };
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            // The gazetteer is read again too, so a route may name a town
            // just added to it.
            match towns().and_then(|towns| Ok(Triage::load(&sources(&t)?, &towns)?)) {
                Ok(rules) => {
                    live.replace(rules);
                    tracing::info!("Triage rules reloaded.");
                    reloaded();
                }
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}").replace('\n', " "), "Triage rules NOT reloaded; the previous rules stay in force. Fix the files and send SIGHUP again.")
                }
            }
        }
    });
}

/// The configured calendar: every `*.toml` of `calendar.dir`, or the
/// built-in years.
pub fn calendar(c: &CalendarSettings) -> Result<Calendar> {
    let Some(dir) = &c.dir else {
        return Ok(Calendar::builtin());
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading calendar.dir {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            files.push((path.display().to_string(), text));
        }
    }
    files.sort();
    anyhow::ensure!(!files.is_empty(), "calendar.dir {} holds no <year>.toml files", dir.display());
    Ok(Calendar::load(&files)?)
}
