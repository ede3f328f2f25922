//! The near-duplicate engine inside intake: rebuilt from the workflow
//! store at start-up and after any failed batch (its state may then be
//! ahead of the store), then one decision per new ticket.
//!
//! Rebuilding replays the stored links (`restore`), so a ticket decided
//! before keeps its cluster, and escalations already made are not made
//! again. A batch that failed is decided afresh on redelivery against what
//! the store holds, which gives the same links and the same event ids.

use super::Params;
use super::engine::{NearDup, Outcome, Stored, Ticket as EngineTicket};
use crate::store::{ClusterStore, StoreError};
use crate::ticket::Ticket;
use uuid::Uuid;

pub struct Stage {
    params: Params,
    engine: NearDup<Uuid>,
    stale: bool,
}

impl Stage {
    pub fn new(params: &Params) -> Stage {
        Stage {
            params: params.clone(),
            engine: NearDup::new(params),
            stale: true,
        }
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Forget everything; the next batch rebuilds from the store.
    pub fn invalidate(&mut self) {
        self.stale = true;
    }

    /// Rebuilds from the store if needed.
    pub async fn ensure(&mut self, store: &dyn ClusterStore) -> Result<(), StoreError> {
        if !self.stale {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let rows = store.neardup_history(self.params.window_days * 86_400).await?;
        let escalations = store.escalations().await?;
        let mut engine = NearDup::new(&self.params);
        engine.reserve(rows.len());
        let ids: Vec<(Uuid, Option<Uuid>)> = rows
            .iter()
            .map(|r| (r.ticket_id, r.cluster_id.as_deref().and_then(|c| Uuid::parse_str(c).ok())))
            .collect();
        for (r, (id, cluster)) in rows.iter().zip(&ids) {
            engine.restore(&Stored {
                ticket: EngineTicket {
                    id,
                    title: r.title.as_deref(),
                    text: &r.content,
                    citizen: r.citizen_key.as_deref(),
                    town: r.town.as_deref(),
                    at: r.received_ts,
                },
                cluster: cluster.as_ref(),
                duplicate_of: r.duplicate_of.as_ref(),
            });
        }
        for e in &escalations {
            if let Ok(c) = Uuid::parse_str(&e.cluster_id) {
                engine.restore_escalation(&c, e.citizen_key.as_deref());
            }
        }
        tracing::info!(
            tickets = rows.len(),
            escalations = escalations.len(),
            ms = started.elapsed().as_millis() as u64,
            "Near-duplicate index rebuilt from the workflow store."
        );
        self.engine = engine;
        self.stale = false;
        Ok(())
    }

    /// Decides one new ticket.
    pub fn decide(&mut self, t: &Ticket) -> Outcome<Uuid> {
        self.engine.add(&EngineTicket {
            id: &t.ticket_id,
            title: t.title.as_deref(),
            text: &t.content,
            citizen: t.citizen_key.as_deref(),
            town: t.town.as_deref(),
            at: t.received_at.timestamp(),
        })
    }
}

/// The 现场督办 proposal an escalation carries.
pub fn proposal(trigger: &str, count: u32, days: i64) -> String {
    match trigger {
        "same_citizen" => format!("现场督办：同一群众{days}日内第{count}次反映同一问题"),
        _ => format!("现场督办：{count}名群众反映同一问题"),
    }
}
