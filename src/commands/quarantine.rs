//! `minqing quarantine list|replay`: what was held back, and running it again
//! through the mappings and the pipeline after a fix.

use crate::config::Settings;
use anyhow::{Context, Result};
use minqing_connectors::{Channel, Inbound, RawAppeal};
use minqing_pipelines::normalize::Normalizer;
use minqing_pipelines::store::{QuarantineQuery, QuarantineRow};
use minqing_pipelines::ticket::short_no;
use std::str::FromStr;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// `minqing quarantine list|replay`: what to print.
pub async fn command(settings: &Settings, action: crate::cli::QuarantineAction) -> Result<String> {
    use crate::cli::QuarantineAction;
    let channel = |c: Option<String>| c.map(|c| Channel::from_str(&c)).transpose().map_err(|e| anyhow::anyhow!(e));
    match action {
        QuarantineAction::List {
            channel: c,
            all,
            limit,
            json,
        } => {
            let q = QuarantineQuery {
                channel: channel(c)?,
                include_resolved: all,
                id: None,
                limit,
                with_raw: false,
            };
            list(settings, &q, json).await
        }
        QuarantineAction::Replay { id, channel: c } => {
            let q = QuarantineQuery {
                channel: channel(c)?,
                include_resolved: false,
                id,
                limit: 0,
                with_raw: true,
            };
            replay(settings, &q).await
        }
    }
}

pub async fn list(settings: &Settings, q: &QuarantineQuery, json: bool) -> Result<String> {
    let store = crate::runtime::open_store(settings).await?;
    // Sizes only: the bodies stay on disk.
    let rows = store
        .list_quarantine(&QuarantineQuery {
            with_raw: false,
            ..q.clone()
        })
        .await?;
    if json {
        let masked: Vec<_> = rows
            .into_iter()
            .map(|mut r| {
                r.reason = minqing_pipelines::normalize::text::redact(&r.reason);
                r
            })
            .collect();
        return Ok(serde_json::to_string_pretty(&masked)?);
    }
    let mut out = format!(
        "{:>6}  {:<14} {:<22} {:>7}  {:<6}  reason\n",
        "id", "channel", "source_id", "bytes", "status"
    );
    for r in &rows {
        out.push_str(&format!(
            "{:>6}  {:<14} {:<22} {:>7}  {:<6}  {}\n",
            r.id,
            r.channel,
            r.source_id.as_deref().unwrap_or("-"),
            r.raw_bytes,
            r.status,
            minqing_pipelines::normalize::text::redact(&r.reason)
        ));
    }
    out.push_str(&format!("{} record(s)\n", rows.len()));
    Ok(out)
}

/// Runs a quarantined record through its channel's mapping again.
pub fn remap(settings: &Settings, row: &QuarantineRow) -> Result<RawAppeal, String> {
    if row.raw.starts_with(minqing_connectors::guard::UNAUTHENTICATED) {
        return Err(
            "a refused unauthenticated request is kept as a digest only, never replayed: the sender must send it again, signed".into(),
        );
    }
    let channel = Channel::from_str(&row.channel).map_err(|e| e.to_string())?;
    settings.connectors.spec(channel).remap(&row.raw).map_err(|e| e.reason)
}

/// Replays held records; those that now map and normalize become tickets
/// and are marked replayed, the others stay held with the new reason shown.
pub async fn replay(settings: &Settings, q: &QuarantineQuery) -> Result<String> {
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    let pipe = crate::runtime::start_pipeline(settings, &tracker, &cancel).await?;
    let normalizer = Normalizer::new(settings.pipeline.clone(), settings.gazetteer()?);
    let rows = pipe
        .store
        .list_quarantine(&QuarantineQuery {
            with_raw: true,
            ..q.clone()
        })
        .await?;
    let mut out = String::new();
    let (mut ok, mut held) = (0, 0);
    for row in rows {
        let outcome = remap(settings, &row).and_then(|a| normalizer.normalize(&a).map(|t| (a, t)).map_err(|e| e.to_string()));
        match outcome {
            Ok((a, t)) => {
                pipe.bus
                    .publish_raw(vec![Inbound::Appeal(Box::new(a))])
                    .await
                    .context("publishing the replayed record")?;
                let no = short_no(&t.ticket_id);
                pipe.store.resolve_quarantine(row.id, &format!("replayed as ticket {no}")).await?;
                out.push_str(&format!("{:>6}  {:<14} replayed as ticket {no}\n", row.id, row.channel));
                ok += 1;
            }
            Err(reason) => {
                out.push_str(&format!(
                    "{:>6}  {:<14} still held: {}\n",
                    row.id,
                    row.channel,
                    minqing_pipelines::normalize::text::redact(&reason)
                ));
                held += 1;
            }
        }
    }
    cancel.cancel();
    tracker.close();
    tracker.wait().await;
    out.push_str(&format!("{ok} replayed, {held} still held\n"));
    Ok(out)
}
