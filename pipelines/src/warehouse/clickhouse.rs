//! The ClickHouse warehouse of production deployments (`migrations/clickhouse/`).
//!
//! Rows go in as RowBinary through the crate's inserter, split by size
//! (`max_rows`, `max_bytes`); the sink in front batches deliveries by time.
//! Validation is off because ClickHouse 18.16 lacks
//! `RowBinaryWithNamesAndTypes`.
//!
//! `ReplacingMergeTree` would collapse doubles only at merge time, and a
//! materialized view would count them at once, so each write first asks
//! which tickets and events are there already and leaves them out.

use super::{FactRow, Warehouse, WarehouseCounts, WarehouseError, event_payload, facts};
use crate::ticket::{Edit, TicketEvent, referenced_elsewhere, split_deferred};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use clickhouse::{Client, Row};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClickhouseSettings {
    /// HTTP interface, e.g. `http://127.0.0.1:8123`.
    pub url: String,
    pub database: String,
    pub user: String,
    pub password: minqing_connectors::Secret,
    /// Rows per INSERT statement at most.
    pub max_rows: u64,
    /// Uncompressed bytes per INSERT statement at most.
    pub max_bytes: u64,
    /// Seconds any call may take before it fails (and is retried).
    #[serde(default = "timeout_default")]
    pub timeout_secs: u64,
}

fn timeout_default() -> u64 {
    120
}

impl Default for ClickhouseSettings {
    fn default() -> Self {
        ClickhouseSettings {
            url: "http://127.0.0.1:8123".into(),
            database: "minqing".into(),
            user: "default".into(),
            password: Default::default(),
            max_rows: 100_000,
            max_bytes: 64 << 20,
            timeout_secs: timeout_default(),
        }
    }
}

/// `migrations/clickhouse/*.sql`, in order, embedded in the binary.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("001_init", include_str!("../../../migrations/clickhouse/001_init.sql")),
    ("002_triage", include_str!("../../../migrations/clickhouse/002_triage.sql")),
    (
        "003_cluster_merges",
        include_str!("../../../migrations/clickhouse/003_cluster_merges.sql"),
    ),
    (
        "004_no_phone_key_id",
        include_str!("../../../migrations/clickhouse/004_no_phone_key_id.sql"),
    ),
    (
        "005_citizen_key_links",
        include_str!("../../../migrations/clickhouse/005_citizen_key_links.sql"),
    ),
    ("006_analysts", include_str!("../../../migrations/clickhouse/006_analysts.sql")),
];

/// An id ClickHouse gave back that is not a UUID.
fn unreadable(id: &str, e: uuid::Error) -> WarehouseError {
    WarehouseError::Unreadable {
        what: format!("`{id}` is not a ticket id: {e}"),
    }
}

#[derive(Row, Serialize, Deserialize)]
struct TicketRow {
    #[serde(with = "clickhouse::serde::uuid")]
    ticket_id: Uuid,
    short_no: String,
    channel: String,
    source_id: String,
    version: u32,
    is_update: u8,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    received_at: DateTime<Utc>,
    #[serde(with = "clickhouse::serde::chrono::date")]
    received_date: NaiveDate,
    title: String,
    content: String,
    content_truncated: u8,
    appeal_type: String,
    category: String,
    town: String,
    location: String,
    lat: f64,
    lon: f64,
    has_coordinates: u8,
    citizen_key: String,
    anonymous: u8,
    attachments: Vec<String>,
    text_hash: String,
    duplicate_of: String,
    cluster_id: String,
    status: String,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    loaded_at: DateTime<Utc>,
    scope: String,
    scope_rule: String,
    unit: String,
    citizen_key_id: String,
}

impl TicketRow {
    fn new(r: FactRow, loaded_at: DateTime<Utc>) -> Self {
        TicketRow {
            ticket_id: r.ticket_id,
            short_no: r.short_no,
            channel: r.channel.to_owned(),
            source_id: r.source_id,
            version: r.version,
            is_update: r.is_update.into(),
            received_at: r.received_at.with_timezone(&Utc),
            received_date: r.received_date,
            title: r.title,
            content: r.content,
            content_truncated: r.content_truncated.into(),
            appeal_type: r.appeal_type.to_owned(),
            category: r.category,
            town: r.town,
            location: r.location,
            lat: r.coordinates.map_or(0.0, |c| c.0),
            lon: r.coordinates.map_or(0.0, |c| c.1),
            has_coordinates: r.coordinates.is_some().into(),
            citizen_key: r.citizen_key,
            anonymous: r.anonymous.into(),
            attachments: r.attachments,
            text_hash: r.text_hash,
            duplicate_of: r.duplicate_of,
            cluster_id: r.cluster_id,
            status: r.status.to_owned(),
            loaded_at,
            scope: r.scope.to_owned(),
            scope_rule: r.scope_rule,
            unit: r.unit,
            citizen_key_id: r.citizen_key_id,
        }
    }
}

#[derive(Row, Serialize)]
struct LinkRow {
    previous_key_id: String,
    previous_key: String,
    key_id: String,
    citizen_key: String,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    loaded_at: DateTime<Utc>,
}

#[derive(Row, Serialize)]
struct EventRow {
    #[serde(with = "clickhouse::serde::uuid")]
    event_id: Uuid,
    #[serde(with = "clickhouse::serde::uuid")]
    ticket_id: Uuid,
    event_type: String,
    channel: String,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    occurred_at: DateTime<Utc>,
    schema_version: u16,
    payload: String,
    #[serde(with = "clickhouse::serde::chrono::datetime")]
    loaded_at: DateTime<Utc>,
}

pub struct ClickhouseWarehouse {
    client: Client,
    cfg: ClickhouseSettings,
}

/// Ids per lookup query; keeps the query well under `max_query_size`.
const LOOKUP: usize = 2_000;

/// A set of UUIDs for `… IN (…)`. A list of `toUUID('…')` calls took
/// 18.16 about 0.1 ms per id to parse and fold; one array of strings
/// turned into a set by a subquery is much cheaper and still uses the
/// primary key.
fn uuid_list(ids: &[Uuid]) -> String {
    // Uuid's text form is hex and dashes only, so it is safe to inline.
    let quoted: Vec<String> = ids.iter().map(|u| format!("'{u}'")).collect();
    format!("SELECT toUUID(x) FROM system.one ARRAY JOIN [{}] AS x", quoted.join(","))
}

impl ClickhouseWarehouse {
    /// Connects, creating the database if needed, and applies migrations.
    pub async fn open(cfg: &ClickhouseSettings) -> Result<Self, WarehouseError> {
        let limit = std::time::Duration::from_secs(cfg.timeout_secs.max(1));
        tokio::time::timeout(limit, Self::open_unbounded(cfg)).await.unwrap_or_else(|_| {
            Err(WarehouseError::TimedOut {
                what: "connecting".into(),
                url: cfg.url.clone(),
                secs: cfg.timeout_secs,
            })
        })
    }

    async fn open_unbounded(cfg: &ClickhouseSettings) -> Result<Self, WarehouseError> {
        let base = Client::default()
            .with_url(&cfg.url)
            .with_user(&cfg.user)
            .with_password(cfg.password.expose())
            .with_validation(false);
        base.query(&format!("CREATE DATABASE IF NOT EXISTS `{}`", cfg.database.replace('`', "")))
            .execute()
            .await
            .map_err(|e| WarehouseError::clickhouse(format!("reaching {} (is it running? scripts/services start)", cfg.url), e))?;
        let wh = ClickhouseWarehouse {
            client: base.with_database(&cfg.database),
            cfg: cfg.clone(),
        };
        wh.migrate().await?;
        Ok(wh)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn migrate(&self) -> Result<(), WarehouseError> {
        self.client
            .query("CREATE TABLE IF NOT EXISTS schema_migrations (version String, applied_at DateTime) ENGINE = TinyLog")
            .execute()
            .await?;
        let done: HashSet<String> = self
            .client
            .query("SELECT version FROM schema_migrations")
            .fetch_all::<String>()
            .await?
            .into_iter()
            .collect();
        for (version, sql) in MIGRATIONS {
            if done.contains(*version) {
                continue;
            }
            for stmt in statements(sql) {
                self.client
                    .query(&stmt)
                    .execute()
                    .await
                    .map_err(|e| WarehouseError::clickhouse(format!("migration {version}"), e))?;
            }
            self.client
                .query("INSERT INTO schema_migrations VALUES (?, now())")
                .bind(*version)
                .execute()
                .await?;
        }
        Ok(())
    }

    async fn existing(&self, table: &str, column: &str, ids: &[Uuid]) -> Result<HashSet<Uuid>, WarehouseError> {
        let mut out = HashSet::new();
        for chunk in ids.chunks(LOOKUP) {
            // Both tables are ordered by ticket_id first, so this reads few granules.
            let sql = format!(
                "SELECT DISTINCT toString({column}) FROM {table} WHERE ticket_id IN ({})",
                uuid_list(chunk)
            );
            for s in self.client.query(&sql).fetch_all::<String>().await? {
                out.insert(Uuid::parse_str(&s).map_err(|e| unreadable(&s, e))?);
            }
        }
        Ok(out)
    }

    /// Rewrites the rows a batch changes, with one read and one insert:
    /// edited tickets get the new text and version, tickets of absorbed
    /// clusters their survivor. The current rows (after `FINAL`) are read,
    /// changed here and inserted as `is_update = 1` rows, which the
    /// aggregate's view skips. `version` guards against applying an edit
    /// twice or out of order. Ticket ids are random, so a read of a few
    /// dozen ids already touches every granule: reading edits and moves
    /// apart cost two scans of the fact table per batch. The ids go in
    /// `PREWHERE`: ClickHouse 18.16 reads every column of every row before
    /// `FINAL` merges them and only then applies `WHERE`, while `PREWHERE`
    /// filters first (0.5 s against 0.15 s for 100 ids in 190,000 rows).
    /// Filtering on the sorting key before the merge selects the same rows,
    /// since every version of a ticket has its id.
    async fn rewrite(&self, edits: &[(Uuid, Edit<'_>)], moves: &Moves, now: DateTime<Utc>) -> Result<(), WarehouseError> {
        let mut ids: Vec<Uuid> = edits.iter().map(|(id, _)| *id).chain(moves.tickets.iter().copied()).collect();
        if ids.is_empty() {
            return Ok(());
        }
        ids.sort_unstable();
        ids.dedup();
        let mut current: HashMap<Uuid, TicketRow> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(LOOKUP) {
            let sql = format!("SELECT ?fields FROM tickets FINAL PREWHERE ticket_id IN ({})", uuid_list(chunk));
            for r in self.client.query(&sql).fetch_all::<TicketRow>().await? {
                current.insert(r.ticket_id, r);
            }
        }
        let mut changed = Vec::new();
        for (id, edit) in edits {
            let Some(r) = current.get_mut(id) else { continue };
            if r.version >= edit.version {
                continue;
            }
            r.version = edit.version;
            r.is_update = 1;
            r.title = edit.title.unwrap_or_default().to_owned();
            r.content = edit.content.to_owned();
            r.content_truncated = u8::from(edit.content_truncated);
            r.text_hash = edit.text_hash.to_owned();
            r.loaded_at = now;
            changed.push(*id);
        }
        for id in &moves.tickets {
            let Some(r) = current.get_mut(id) else { continue };
            // An older version of the row held the cluster; the current one may not.
            let Some(into) = moves.target.get(&r.cluster_id).filter(|into| **into != r.cluster_id) else {
                continue;
            };
            r.cluster_id = into.clone();
            r.is_update = 1;
            r.loaded_at = now;
            changed.push(*id);
        }
        changed.sort_unstable();
        changed.dedup();
        let mut inserter = self.client.inserter::<TicketRow>("tickets");
        for id in changed {
            if let Some(r) = current.get(&id) {
                inserter.write(r).await?;
            }
        }
        inserter.end().await?;
        Ok(())
    }
}

/// What a batch's cluster merges change in the fact table: where each
/// involved cluster lives now, and the tickets of the absorbed clusters.
#[derive(Default)]
struct Moves {
    target: HashMap<String, String>,
    tickets: Vec<Uuid>,
}

/// Cluster ids are ticket UUIDs; parsing them before they are inlined keeps
/// the SQL safe.
fn cluster_list<'a>(ids: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let quoted: Vec<String> = ids
        .into_iter()
        .filter_map(|c| Uuid::parse_str(c).ok())
        .map(|u| format!("'{u}'"))
        .collect();
    (!quoted.is_empty()).then(|| quoted.join(","))
}

#[derive(Debug, clickhouse::Row, Serialize, Deserialize)]
struct MergeRow {
    from_cluster: String,
    into_cluster: String,
    version: u64,
}

impl ClickhouseWarehouse {
    /// Where each of `clusters` lives now, for those that were merged.
    async fn merged_into<'a>(&self, clusters: impl IntoIterator<Item = &'a str>) -> Result<HashMap<String, String>, WarehouseError> {
        let mut clusters: Vec<&str> = clusters.into_iter().collect();
        clusters.sort_unstable();
        clusters.dedup();
        self.merge_pairs(&clusters, |list| {
            format!("SELECT from_cluster, argMax(into_cluster, version) FROM cluster_merges WHERE from_cluster IN ({list}) GROUP BY from_cluster")
        })
        .await
    }

    /// Runs a `(from_cluster, into_cluster)` query over `clusters` in
    /// chunks, `sql` rendering one chunk's quoted list: a batch's ids
    /// inlined at once exceeded ClickHouse's `max_query_size` (256 KiB) past
    /// about 6,700 tickets.
    async fn merge_pairs(&self, clusters: &[&str], sql: impl Fn(&str) -> String) -> Result<HashMap<String, String>, WarehouseError> {
        let mut out = HashMap::new();
        for chunk in clusters.chunks(LOOKUP) {
            if let Some(list) = cluster_list(chunk.iter().copied()) {
                out.extend(self.client.query(&sql(&list)).fetch_all::<(String, String)>().await?);
            }
        }
        Ok(out)
    }

    /// Records a batch's merges, flattened (each absorbed cluster maps to
    /// where it lives now, whatever order they came in), and finds the
    /// tickets of the absorbed clusters, which [`Self::rewrite`] moves
    /// (written again with the new `cluster_id` and `is_update = 1`, so the
    /// daily aggregate does not count them twice).
    ///
    /// The whole batch is resolved in memory, in order, and then costs a
    /// fixed number of queries. One round of queries per merge, each
    /// reading the fact table with `FINAL`, took ~0.2 s a merge and was
    /// most of the warehouse writer's time on a 50,000-appeal run.
    async fn record_merges(&self, events: &[&TicketEvent], now: DateTime<Utc>) -> Result<Moves, WarehouseError> {
        let merges: Vec<(&str, &[String])> = events.iter().filter_map(|e| e.merge()).collect();
        if merges.is_empty() {
            return Ok(Moves::default());
        }
        let mut involved: Vec<&str> = merges
            .iter()
            .flat_map(|(into, from)| std::iter::once(*into).chain(from.iter().map(String::as_str)))
            .collect();
        involved.sort_unstable();
        involved.dedup();
        // Where the involved clusters live now, and the clusters merged
        // into them earlier (which move along with them).
        let mut target: HashMap<String, String> = self.merged_into(involved.iter().copied()).await?;
        let earlier = self
            .merge_pairs(&involved, |list| {
                format!(
                    "SELECT from_cluster, argMax(into_cluster, version) AS i FROM cluster_merges GROUP BY from_cluster HAVING i IN ({list})"
                )
            })
            .await?;
        target.extend(earlier);
        let mut changed: HashSet<String> = HashSet::new();
        let mut absorbed: Vec<String> = Vec::new();
        for (into, from) in merges {
            let into = target.get(into).cloned().unwrap_or_else(|| into.to_owned());
            for f in from.iter().filter(|f| **f != into) {
                for (k, v) in target.iter_mut() {
                    if v == f {
                        *v = into.clone();
                        changed.insert(k.clone());
                    }
                }
                target.insert(f.clone(), into.clone());
                changed.insert(f.clone());
                absorbed.push(f.clone());
            }
        }
        let version = now.timestamp_nanos_opt().unwrap_or_default() as u64;
        let mut inserter = self.client.inserter::<MergeRow>("cluster_merges");
        for from_cluster in &changed {
            let into_cluster = target[from_cluster].clone();
            // A cluster can end up merged into itself (A into B, then B into A).
            if *from_cluster == into_cluster {
                continue;
            }
            let row = MergeRow {
                from_cluster: from_cluster.clone(),
                into_cluster,
                version,
            };
            inserter.write(&row).await?;
        }
        inserter.end().await?;
        // The absorbed clusters' tickets: found by a light scan of two
        // columns; `rewrite` reads them whole through the sort key.
        absorbed.sort_unstable();
        absorbed.dedup();
        let mut tickets: Vec<Uuid> = Vec::new();
        for chunk in absorbed.chunks(LOOKUP) {
            let Some(list) = cluster_list(chunk.iter().map(String::as_str)) else {
                continue;
            };
            let sql = format!("SELECT DISTINCT toString(ticket_id) FROM tickets WHERE cluster_id IN ({list})");
            for id in self.client.query(&sql).fetch_all::<String>().await? {
                tickets.push(Uuid::parse_str(&id).map_err(|e| unreadable(&id, e))?);
            }
        }
        Ok(Moves { target, tickets })
    }
}

/// Splits a migration file into statements, dropping `--` comments.
fn statements(sql: &str) -> Vec<String> {
    let body: String = sql
        .lines()
        .map(|l| l.find("--").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n");
    body.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl ClickhouseWarehouse {
    /// `fut`, or an error once `timeout_secs` pass: a server that accepts
    /// and never answers must not hold the sink (or start-up) forever.
    async fn bounded<T>(&self, what: &str, fut: impl std::future::Future<Output = Result<T, WarehouseError>>) -> Result<T, WarehouseError> {
        let limit = std::time::Duration::from_secs(self.cfg.timeout_secs.max(1));
        tokio::time::timeout(limit, fut).await.unwrap_or_else(|_| {
            Err(WarehouseError::TimedOut {
                what: what.to_owned(),
                url: self.cfg.url.clone(),
                secs: self.cfg.timeout_secs,
            })
        })
    }

    /// A rotation's key links of the batch's new tickets.
    async fn write_links(&self, events: &[&TicketEvent], now: DateTime<Utc>) -> Result<(), WarehouseError> {
        let links = super::key_links(events);
        if links.is_empty() {
            return Ok(());
        }
        let mut inserter = self.client.inserter::<LinkRow>("citizen_key_links");
        for l in links {
            let row = LinkRow {
                previous_key_id: l.previous_key_id,
                previous_key: l.previous_key,
                key_id: l.key_id,
                citizen_key: l.citizen_key,
                loaded_at: now,
            };
            inserter.write(&row).await?;
        }
        inserter.end().await?;
        Ok(())
    }

    async fn write_batch(&self, events: &[TicketEvent]) -> Result<Vec<Uuid>, WarehouseError> {
        let mut ids: Vec<Uuid> = events.iter().map(|e| e.ticket_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let have_tickets = self.existing("tickets", "ticket_id", &ids).await?;
        // Events are written after their ticket, so only tickets already
        // here can have events here; new tickets (the bulk) need no lookup.
        let loaded: Vec<Uuid> = ids.iter().copied().filter(|id| have_tickets.contains(id)).collect();
        let have_events = self.existing("ticket_events", "event_id", &loaded).await?;
        let missing: HashSet<Uuid> = referenced_elsewhere(events)
            .into_iter()
            .filter(|id| !have_tickets.contains(id))
            .collect();
        let (events, deferred) = split_deferred(events, &missing);
        let now = Utc::now();
        let (mut rows, edits) = facts(&events);
        // A ticket whose cluster was merged before it came joins the survivor.
        let merged = self.merged_into(rows.iter().map(|r| r.cluster_id.as_str())).await?;
        for r in &mut rows {
            if let Some(into) = merged.get(&r.cluster_id) {
                r.cluster_id = into.clone();
            }
        }
        let mut seen = HashSet::new();
        let mut inserter = self
            .client
            .inserter::<TicketRow>("tickets")
            .with_max_rows(self.cfg.max_rows)
            .with_max_bytes(self.cfg.max_bytes);
        for r in rows {
            if have_tickets.contains(&r.ticket_id) || !seen.insert(r.ticket_id) {
                continue;
            }
            inserter.write(&TicketRow::new(r, now)).await?;
            inserter.commit().await?;
        }
        inserter.end().await?;
        self.write_links(&events, now).await?;
        let moves = self.record_merges(&events, now).await?;
        self.rewrite(&edits, &moves, now).await?;
        super::clickhouse_facts::write(&self.client, &events, now).await?;
        let mut inserter = self
            .client
            .inserter::<EventRow>("ticket_events")
            .with_max_rows(self.cfg.max_rows)
            .with_max_bytes(self.cfg.max_bytes);
        let mut seen = HashSet::new();
        for e in events {
            if have_events.contains(&e.event_id) || !seen.insert(e.event_id) {
                continue;
            }
            let row = EventRow {
                event_id: e.event_id,
                ticket_id: e.ticket_id,
                event_type: e.event_type.id().to_owned(),
                channel: e.channel.id().to_owned(),
                occurred_at: e.occurred_at.with_timezone(&Utc),
                schema_version: e.schema_version,
                payload: event_payload(e),
                loaded_at: now,
            };
            inserter.write(&row).await?;
            inserter.commit().await?;
        }
        inserter.end().await?;
        Ok(deferred)
    }
}

#[async_trait]
impl Warehouse for ClickhouseWarehouse {
    async fn write(&self, events: &[TicketEvent]) -> Result<Vec<Uuid>, WarehouseError> {
        self.bounded("writing a batch", self.write_batch(events)).await
    }

    async fn select(&self, sql: &str) -> Result<super::saved::Table, WarehouseError> {
        self.bounded("running a query", async {
            let mut cursor = self.client.query(sql).fetch_bytes("TabSeparatedWithNamesAndTypes")?;
            let mut body = Vec::new();
            while let Some(chunk) = cursor.next().await? {
                body.extend_from_slice(&chunk);
            }
            let text = String::from_utf8_lossy(&body);
            super::saved::Table::from_tsv(&text).map_err(|what| WarehouseError::Unreadable {
                what: format!("a query's answer: {what}"),
            })
        })
        .await
    }

    fn dialect(&self) -> super::saved::Dialect {
        super::saved::Dialect::Clickhouse
    }

    async fn load_dimensions(&self, dims: &super::dims::Dimensions) -> Result<(), WarehouseError> {
        self.bounded(
            "loading the dimension tables",
            super::clickhouse_facts::load_dimensions(&self.client, dims),
        )
        .await
    }

    async fn ping(&self) -> Result<(), WarehouseError> {
        self.bounded("ping", async { Ok(self.client.query("SELECT 1").execute().await?) })
            .await
    }

    async fn counts(&self) -> Result<WarehouseCounts, WarehouseError> {
        let q = |sql: &'static str| async move { self.client.query(sql).fetch_one::<u64>().await };
        Ok(WarehouseCounts {
            tickets: q("SELECT count() FROM tickets FINAL").await?,
            events: q("SELECT count() FROM ticket_events").await?,
            daily_total: q("SELECT toUInt64(sum(tickets)) FROM daily_tickets").await?,
        })
    }

    fn kind(&self) -> &'static str {
        "clickhouse"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file added to migrations/clickhouse and not listed here would never
    /// run (005 once nearly did not).
    #[test]
    fn every_migration_file_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/clickhouse");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".sql").to_owned())
            .collect();
        files.sort();
        let listed: Vec<&str> = MIGRATIONS.iter().map(|(v, _)| *v).collect();
        assert_eq!(files, listed);
    }

    #[test]
    fn migration_files_split_into_statements() {
        let s = statements(MIGRATIONS[0].1);
        assert_eq!(s.len(), 4, "{s:?}");
        assert!(s[0].starts_with("CREATE TABLE IF NOT EXISTS tickets"));
        assert!(s[3].starts_with("CREATE MATERIALIZED VIEW"));
        assert!(s.iter().all(|x| !x.contains("--")));
    }
}
