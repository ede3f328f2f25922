//! Runs each pull connector on its cron schedule, each in its own task, so a
//! channel that is down or slow never holds up the others. Polls of one
//! channel never overlap; ticks missed during a long poll are skipped.

use chrono::Utc;
use minqing_connectors::pull::PullRunner;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Spawns the poll loop of one connector.
pub fn spawn(
    tracker: &TaskTracker,
    runner: Arc<PullRunner>,
    schedule: &str,
    poll_at_start: bool,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let schedule = cron::Schedule::from_str(schedule).map_err(|e| anyhow::anyhow!("schedule `{schedule}`: {e}"))?;
    let channel = runner.connector.channel();
    tracker.spawn(async move {
        let mut first = poll_at_start;
        loop {
            if !first {
                let Some(next) = schedule.upcoming(Utc).next() else {
                    tracing::warn!(connector = %channel, "The schedule has no future tick; the connector stops.");
                    return;
                };
                let wait = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = cancel.cancelled() => return,
                }
            }
            first = false;
            let poll = runner.poll(&cancel);
            let span = tracing::info_span!("poll", connector = %channel);
            let _ = tracing::Instrument::instrument(poll, span).await;
            if cancel.is_cancelled() {
                return;
            }
        }
    });
    Ok(())
}
