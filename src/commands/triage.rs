//! `minqing triage explain|eval-scope|check`: the rules in force
//! (`crate::rules`) from the command line.

use crate::config::Settings;
use anyhow::{Context, Result};
use minqing_pipelines::triage::Triage;
use minqing_pipelines::triage::eval::{ScopeEval, ScopeScorer};
use std::path::Path;

/// `minqing triage explain|eval-scope|check`: what it prints.
pub fn command(s: &Settings, action: crate::cli::TriageAction) -> Result<String> {
    let gazetteer = s.gazetteer()?;
    let triage = crate::rules::triage(&s.triage, &gazetteer)?;
    match action {
        crate::cli::TriageAction::Explain {
            text,
            title,
            appeal_type,
            json,
        } => explain(&triage, &gazetteer, &text, title.as_deref(), appeal_type, json),
        crate::cli::TriageAction::EvalScope { data, labels, json } => {
            let r = eval_scope(&triage, &data, &labels)?;
            if json {
                return Ok(serde_json::to_string(&r)? + "\n");
            }
            let mut out = format!(
                "forward to Huangshi on {} labelled messages: precision {:.3}, recall {:.3}, F1 {:.3} (tp {}, fp {}, fn {})\n",
                r.labelled, r.precision, r.recall, r.f1, r.tp, r.fp, r.fn_
            );
            for m in &r.mistakes {
                out += &format!("  {} labelled {}, decided {}: {}\n", m.id, m.label, m.decided, m.reason);
            }
            Ok(out)
        }
        crate::cli::TriageAction::Check => {
            let towns = crate::rules::towns(&gazetteer);
            let dead = triage.router().unreachable(&towns);
            let mut out = format!(
                "triage rules ok: {} units, {} knowledge entries\n",
                triage.router().units().len(),
                triage.knowledge().len()
            );
            for u in &dead {
                out += &format!("warning: no route reaches {} {}\n", u.code, u.name);
            }
            Ok(out)
        }
    }
}

/// `minqing triage explain`: what triage decides for one text, and why.
fn explain(
    triage: &Triage,
    gazetteer: &minqing_pipelines::normalize::Gazetteer,
    text: &str,
    title: Option<&str>,
    appeal_type: Option<String>,
    json: bool,
) -> Result<String> {
    let appeal_type = appeal_type
        .map(|code| {
            minqing_pipelines::normalize::type_from_code(&code)
                .with_context(|| format!("--type {code}: use ZX/咨询, QZ/求助, TS/投诉, JB/举报, JY/建议 or BY/表扬"))
        })
        .transpose()?;
    let town = gazetteer.resolve([title.unwrap_or(""), text]).map(|t| t.name.clone());
    let d = triage.decide(&minqing_pipelines::triage::Input {
        title,
        content: text,
        appeal_type,
        town: town.as_deref(),
        channel_category: None,
    });
    if json {
        return Ok(serde_json::to_string(&d)? + "\n");
    }
    let mut out = format!("scope     {}\nreason    {}\n", d.scope.id(), d.reason);
    let line = |k: &str, v: Option<String>| v.map(|v| format!("{k:<9} {v}\n")).unwrap_or_default();
    let by = |how: &Option<String>| how.as_deref().unwrap_or("?").to_owned();
    out += &line(
        "type",
        d.appeal_type.map(|t| format!("{} (by {})", t.label(), by(&d.appeal_type_by))),
    );
    out += &line("town", town);
    out += &line("category", d.category.as_ref().map(|c| format!("{c} (by {})", by(&d.category_by))));
    out += &line(
        "unit",
        d.unit.as_ref().map(|u| format!("{u} {}", d.unit_name.as_deref().unwrap_or(""))),
    );
    out += &line("reply", d.reply.clone());
    out += &line("source", d.answer_source.clone());
    Ok(out)
}

fn csv_reader(path: &Path) -> Result<csv::Reader<std::fs::File>> {
    csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_path(path)
        .with_context(|| format!("opening {}", path.display()))
}

/// Scores the forward decision against hand labels. The messages' places
/// are anonymised stand-ins for the home city, so every one counts as
/// inside the jurisdiction.
pub fn eval_scope(triage: &Triage, data: &Path, labels: &Path) -> Result<ScopeEval> {
    let mut want: std::collections::BTreeMap<String, bool> = std::collections::BTreeMap::new();
    for (n, row) in csv_reader(labels)?.records().enumerate() {
        let row = row.with_context(|| format!("{}, record {}", labels.display(), n + 2))?;
        let (id, label) = (row.get(0).unwrap_or("").trim(), row.get(1).unwrap_or("").trim());
        let forward = match label {
            "forward" => true,
            "stay" => false,
            other => anyhow::bail!(
                "{}, record {}: label `{other}` is neither forward nor stay",
                labels.display(),
                n + 2
            ),
        };
        want.insert(id.to_owned(), forward);
    }
    let mut r = csv_reader(data)?;
    let headers = r.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().trim_start_matches('\u{feff}') == name)
            .with_context(|| format!("{} has no `{name}` column", data.display()))
    };
    let (id_col, title_col, text_col) = (col("id")?, col("title")?, col("text")?);
    let mut scorer = ScopeScorer::new(triage);
    for row in r.records() {
        let row = row?;
        let id = row.get(id_col).unwrap_or("").trim();
        let Some(&label) = want.get(id) else {
            continue;
        };
        let title = row.get(title_col).filter(|t| !t.trim().is_empty());
        scorer.add(id, label, title, row.get(text_col).unwrap_or(""));
    }
    let out = scorer.finish();
    anyhow::ensure!(
        out.labelled == want.len(),
        "{} of {} labelled ids are not in {}",
        want.len() - out.labelled,
        want.len(),
        data.display()
    );
    Ok(out)
}
