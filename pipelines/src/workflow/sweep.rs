//! The SLA sweep over a workflow store: every order whose owed deadline
//! passed and was not reported yet gets its overdue event and the
//! supervision it sets off, committed on the version it was read at. The
//! store finds those orders by index (`open_due`), so a sweep costs what is
//! late, not what is open.

use super::{Deadlines, overdue_events};
use crate::relay::Relay;
use crate::store::{ActionCommit, Committed, OrderQuery, OrderStore, StoreError};
use crate::ticket::{EventPayload, EventType, TicketEvent};
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::Serialize;

/// What one sweep found and recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub sign_overdue: u64,
    pub reply_overdue: u64,
    /// 电话督办 recorded.
    pub phone_supervision: u64,
    /// 公函督办 proposed.
    pub written_supervision: u64,
    /// 线索移交 proposed.
    pub clue_transfers: u64,
    /// Orders someone changed while the sweep looked at them; the next
    /// sweep sees them again.
    pub raced: u64,
}

/// Sweeps as of `today` (local date), stamping events with `at`, reading
/// `batch` orders at a time. Returns the report and the events recorded,
/// for the bus.
pub async fn sweep(
    store: &dyn OrderStore,
    today: NaiveDate,
    at: DateTime<FixedOffset>,
    batch: i64,
) -> Result<(SweepReport, Vec<TicketEvent>), StoreError> {
    let mut report = SweepReport::default();
    let mut recorded = Vec::new();
    loop {
        let orders = store.sweepable_orders(today, batch.max(1)).await?;
        let commits: Vec<ActionCommit> = orders
            .iter()
            .filter_map(|o| {
                let found = o.sweep(today)?;
                Some(ActionCommit {
                    expected_version: o.version,
                    events: overdue_events(&found, at),
                    order: found.order,
                    key: None,
                })
            })
            .collect();
        let answers = store.commit_many(&commits).await?;
        let mut progress = false;
        for (c, a) in commits.into_iter().zip(answers) {
            match a {
                Committed::Done => {
                    progress = true;
                    count(&mut report, &c.events);
                    recorded.extend(c.events);
                }
                Committed::Stale { .. } | Committed::Replayed { .. } => report.raced += 1,
            }
        }
        // A short page is the last; a page that changed nothing would
        // come back the same.
        if !progress || (orders.len() as i64) < batch.max(1) {
            break;
        }
    }
    Ok((report, recorded))
}

fn count(r: &mut SweepReport, events: &[TicketEvent]) {
    for e in events {
        match (&e.event_type, &*e.payload) {
            (EventType::SignOverdue, _) => r.sign_overdue += 1,
            (EventType::ReplyOverdue, _) => r.reply_overdue += 1,
            (_, EventPayload::Supervision { level, .. }) => match level.as_str() {
                "phone" => r.phone_supervision += 1,
                "written" => r.written_supervision += 1,
                _ => r.clue_transfers += 1,
            },
            _ => {}
        }
    }
}

/// One sweep as of `at`. Its events are committed with the orders, in the
/// warehouse outbox too; `relay` is told to take them.
pub async fn run_once(store: &dyn OrderStore, relay: &Relay, at: DateTime<FixedOffset>) -> Result<SweepReport, StoreError> {
    let (report, _events) = sweep(store, at.date_naive(), at, 1000).await?;
    relay.wake();
    Ok(report)
}

/// Recounts the deadlines of provisional orders on the calendar as loaded
/// now; returns (recounted, still provisional).
pub async fn recount_provisional(store: &dyn OrderStore, d: &Deadlines) -> Result<(u64, u64), StoreError> {
    let q = OrderQuery {
        open: true,
        provisional: true,
        limit: 100_000,
        ..OrderQuery::default()
    };
    let (mut fixed, mut still) = (0, 0);
    for o in store.orders(&q).await? {
        let mut r = o.recompute(&d.calendar, &d.rules);
        if r.provisional {
            still += 1;
            continue;
        }
        r.version = o.version + 1;
        let c = ActionCommit {
            expected_version: o.version,
            order: r,
            events: Vec::new(),
            key: None,
        };
        if store.commit_action(&c).await? == Committed::Done {
            fixed += 1;
        }
    }
    Ok((fixed, still))
}
