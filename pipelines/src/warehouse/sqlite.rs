//! The SQLite warehouse of the embedded default: the ClickHouse tables in
//! SQLite's dialect (`migrations/sqlite_warehouse/`), in a file of its own.
//! `INSERT OR IGNORE` on the primary keys makes writes idempotent, and a
//! trigger keeps the daily aggregate as ClickHouse's materialized view does.

use super::{FactRow, Warehouse, WarehouseCounts, WarehouseError, event_payload, facts};
use crate::ticket::{TicketEvent, referenced_elsewhere, split_deferred};
use async_trait::async_trait;
use chrono::Utc;
use minqing_connectors::timefmt::shanghai;
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use std::collections::HashSet;
use std::path::Path;
use uuid::Uuid;

fn err(e: impl std::fmt::Display) -> WarehouseError {
    WarehouseError(e.to_string())
}

/// Rows per multi-row INSERT (28 columns; SQLite allows 32 766 values).
const CHUNK: usize = 512;

pub struct SqliteWarehouse {
    pool: SqlitePool,
}

impl SqliteWarehouse {
    pub async fn open(path: &Path) -> Result<Self, WarehouseError> {
        let opts = crate::store::sqlite::file_options(path)
            .map_err(err)?
            .pragma("cache_size", "-32768");
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await
            .map_err(|e| err(format!("opening {}: {e}", path.display())))?;
        sqlx::migrate!("../migrations/sqlite_warehouse")
            .run(&pool)
            .await
            .map_err(|e| err(format!("migrating {}: {e}", path.display())))?;
        Ok(SqliteWarehouse { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

async fn insert_facts(tx: &mut sqlx::Transaction<'_, Sqlite>, rows: &[FactRow]) -> Result<(), WarehouseError> {
    let stamp = Utc::now().with_timezone(&shanghai()).to_rfc3339();
    for chunk in rows.chunks(CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT OR IGNORE INTO tickets (ticket_id, short_no, channel, source_id, version, received_at, received_date, title, \
             content, content_truncated, appeal_type, category, town, location, lat, lon, citizen_key, phone_masked, \
             anonymous, attachments, text_hash, duplicate_of, cluster_id, status, loaded_at, scope, scope_rule, unit) ",
        );
        q.push_values(chunk, |mut b, r| {
            b.push_bind(r.ticket_id.to_string())
                .push_bind(r.short_no.clone())
                .push_bind(r.channel)
                .push_bind(r.source_id.clone())
                .push_bind(i64::from(r.version))
                .push_bind(r.received_at.to_rfc3339())
                .push_bind(r.received_date.to_string())
                .push_bind(r.title.clone())
                .push_bind(r.content.clone())
                .push_bind(r.content_truncated)
                .push_bind(r.appeal_type)
                .push_bind(r.category.clone())
                .push_bind(r.town.clone())
                .push_bind(r.location.clone())
                .push_bind(r.coordinates.map(|c| c.0))
                .push_bind(r.coordinates.map(|c| c.1))
                .push_bind(r.citizen_key.clone())
                .push_bind(r.phone_masked.clone())
                .push_bind(r.anonymous)
                .push_bind(serde_json::to_string(&r.attachments).unwrap_or_else(|_| "[]".into()))
                .push_bind(r.text_hash.clone())
                .push_bind(r.duplicate_of.clone())
                .push_bind(r.cluster_id.clone())
                .push_bind(r.status)
                .push_bind(stamp.clone())
                .push_bind(r.scope)
                .push_bind(r.scope_rule.clone())
                .push_bind(r.unit.clone());
        });
        q.build().execute(&mut **tx).await.map_err(err)?;
    }
    Ok(())
}

#[async_trait]
impl Warehouse for SqliteWarehouse {
    async fn write(&self, events: &[TicketEvent]) -> Result<Vec<Uuid>, WarehouseError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        let elsewhere = referenced_elsewhere(events);
        let mut missing: HashSet<Uuid> = elsewhere.iter().copied().collect();
        for chunk in elsewhere.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new("SELECT ticket_id FROM tickets WHERE ticket_id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id.to_string());
            }
            q.push(")");
            for row in q.build().fetch_all(&mut *tx).await.map_err(err)? {
                let id: String = row.try_get(0).map_err(err)?;
                missing.remove(&Uuid::parse_str(&id).map_err(err)?);
            }
        }
        let (events, deferred) = split_deferred(events, &missing);
        let (mut rows, edits) = facts(&events);
        // A ticket whose cluster was merged before it came joins the survivor.
        let clusters: Vec<&str> = rows.iter().map(|r| r.cluster_id.as_str()).filter(|c| !c.is_empty()).collect();
        let merged = crate::store::sqlite::merged_into(&mut tx, &clusters).await.map_err(err)?;
        for r in &mut rows {
            if let Some(into) = merged.get(&r.cluster_id) {
                r.cluster_id = into.clone();
            }
        }
        insert_facts(&mut tx, &rows).await?;
        for (ticket_id, edit) in edits {
            // An edit rewrites the fact without touching the aggregate: the
            // trigger fires on INSERT only, and this is an UPDATE.
            sqlx::query(
                "UPDATE tickets SET version = ?, title = ?, content = ?, content_truncated = ?, text_hash = ? \
                 WHERE ticket_id = ? AND version < ?",
            )
            .bind(i64::from(edit.version))
            .bind(edit.title.unwrap_or_default())
            .bind(edit.content)
            .bind(edit.content_truncated)
            .bind(edit.text_hash)
            .bind(ticket_id.to_string())
            .bind(i64::from(edit.version))
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        }
        // Tickets of merged clusters move to the surviving one (an UPDATE:
        // the aggregate's trigger counts inserts only).
        crate::store::sqlite::apply_merges(&mut tx, events.iter().filter_map(|e| e.merge()))
            .await
            .map_err(err)?;
        let stamp = Utc::now().with_timezone(&shanghai()).to_rfc3339();
        for chunk in events.chunks(CHUNK * 2) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT OR IGNORE INTO ticket_events (event_id, ticket_id, event_type, channel, occurred_at, schema_version, payload, loaded_at) ",
            );
            q.push_values(chunk, |mut b, e| {
                b.push_bind(e.event_id.to_string())
                    .push_bind(e.ticket_id.to_string())
                    .push_bind(e.event_type.id())
                    .push_bind(e.channel.id())
                    .push_bind(e.occurred_at.to_rfc3339())
                    .push_bind(i64::from(e.schema_version))
                    .push_bind(event_payload(e))
                    .push_bind(stamp.clone());
            });
            q.build().execute(&mut *tx).await.map_err(err)?;
        }
        tx.commit().await.map_err(err)?;
        Ok(deferred)
    }

    async fn ping(&self) -> Result<(), WarehouseError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(err)?;
        Ok(())
    }

    async fn counts(&self) -> Result<WarehouseCounts, WarehouseError> {
        let r = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM tickets), (SELECT COUNT(*) FROM ticket_events), \
             (SELECT COALESCE(SUM(tickets), 0) FROM daily_tickets)",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(err)?;
        let r = r.first().ok_or_else(|| err("no row from a count"))?;
        let n = |i: usize| r.try_get::<i64, _>(i).map(|v| v as u64).map_err(err);
        Ok(WarehouseCounts {
            tickets: n(0)?,
            events: n(1)?,
            daily_total: n(2)?,
        })
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }
}
