//! `minqing relay status|requeue`: the workflow store's warehouse outbox
//! (`minqing_pipelines::relay`). Rows wait there until the warehouse has
//! their events; a row the warehouse kept refusing is parked with the
//! reason, and goes back in line here once the cause is fixed. The running
//! gateway's relay takes requeued rows on its next round.

use crate::cli::RelayAction;
use crate::config::Settings;
use anyhow::{Result, bail};

pub async fn command(settings: &Settings, action: RelayAction) -> Result<String> {
    let store = crate::runtime::open_store(settings).await?;
    match action {
        RelayAction::Status { limit, json } => {
            let counts = store.outbox_counts().await?;
            let mut parked = store.parked_outbox(limit).await?;
            for p in &mut parked {
                p.reason = minqing_pipelines::normalize::text::redact(&p.reason);
            }
            if json {
                return Ok(serde_json::to_string_pretty(&serde_json::json!({ "counts": counts, "parked": parked }))? + "\n");
            }
            let mut out = format!("warehouse outbox: {} waiting, {} parked\n", counts.waiting, counts.parked);
            for p in &parked {
                out += &format!("row {:<8} {:>5} events  written {}  {}\n", p.id, p.events, p.created_at, p.reason);
            }
            if !parked.is_empty() {
                out += "requeue with `minqing relay requeue --id N` or `--all` once the cause is fixed\n";
            }
            Ok(out)
        }
        RelayAction::Requeue { id, all } => {
            if id.is_none() && !all {
                bail!("name a row with --id, or requeue every parked row with --all");
            }
            let n = store.requeue_outbox(id).await?;
            if n == 0
                && let Some(id) = id
            {
                bail!("row {id} is not parked; `minqing relay status` lists the parked ones");
            }
            Ok(format!("{n} row(s) requeued; the gateway's relay takes them on its next round\n"))
        }
    }
}
