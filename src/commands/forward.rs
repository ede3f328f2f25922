//! `minqing forward list|requeue`: the Huangshi 12345 transfers the
//! forwarder gave up on (refused, or out of retries), and putting them back
//! in line once the cause is fixed. The running gateway's forwarder picks
//! requeued rows up on its next poll.

use crate::cli::ForwardAction;
use crate::config::Settings;
use anyhow::{Context, Result, bail};
use uuid::Uuid;

pub async fn command(settings: &Settings, action: ForwardAction) -> Result<String> {
    let store = crate::runtime::open_store(settings).await?;
    match action {
        ForwardAction::List { limit, json } => {
            let counts = store.forward_counts().await?;
            let parked = store.parked_forwards(limit).await?;
            if json {
                return Ok(serde_json::to_string_pretty(&serde_json::json!({ "counts": counts, "parked": parked }))? + "\n");
            }
            let mut out = format!(
                "outbox: {} pending, {} sent, {} parked\n",
                counts.pending, counts.sent, counts.parked
            );
            for p in &parked {
                out += &format!(
                    "{}  {:<16} attempts {:>3}  parked {}  {}\n",
                    p.ticket_id,
                    p.short_no.as_deref().unwrap_or("-"),
                    p.attempts,
                    p.parked_at,
                    minqing_pipelines::normalize::text::redact(p.last_error.as_deref().unwrap_or(""))
                );
            }
            if !parked.is_empty() {
                out += "requeue with `minqing forward requeue --ticket ID` or `--all` once the cause is fixed\n";
            }
            Ok(out)
        }
        ForwardAction::Requeue { ticket, all } => {
            let id = match (ticket, all) {
                (_, true) => None,
                (Some(t), false) => Some(resolve(&*store, &t).await?),
                (None, false) => bail!("name a ticket with --ticket, or requeue every parked transfer with --all"),
            };
            let n = store.requeue_forwards(id).await?;
            if n == 0
                && let Some(id) = id
            {
                bail!("ticket {id} has no parked transfer; `minqing forward list` shows the parked ones");
            }
            Ok(format!("{n} transfer(s) requeued; the forwarder sends them on its next poll\n"))
        }
    }
}

/// A ticket id, or the acceptance number (DY-XXXXX-XXXXX) of a parked one.
async fn resolve(store: &dyn minqing_pipelines::store::ForwardStore, t: &str) -> Result<Uuid> {
    if let Ok(id) = Uuid::parse_str(t) {
        return Ok(id);
    }
    let parked = store.parked_forwards(i64::MAX).await?;
    parked
        .iter()
        .find(|p| p.short_no.as_deref() == Some(t.trim()))
        .map(|p| p.ticket_id)
        .with_context(|| format!("`{t}` is neither a ticket id nor the acceptance number of a parked transfer"))
}
