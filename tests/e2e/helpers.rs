//! Shared set-up: settings isolated in a temporary directory, and counts read
//! straight from the SQLite file.

use minqing::config::{self, Settings};
use minqing_connectors::Channel;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

/// The embedded default, with its data in `dir`, any free port, no simulators.
pub fn settings(dir: &Path) -> Settings {
    let mut s = config::load(None).expect("the embedded default loads");
    s.data_dir = dir.to_path_buf();
    s.server.listen = "127.0.0.1:0".into();
    s.simulators.enabled = false;
    s
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub tickets: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    pub received_events: u64,
    pub distinct_sources: u64,
}

/// Per-channel counts, read with a plain connection (no migrations), so it
/// is safe while another process writes.
pub async fn counts(db: &Path) -> BTreeMap<Channel, Counts> {
    let mut out: BTreeMap<Channel, Counts> = BTreeMap::new();
    if !db.exists() {
        return out;
    }
    let opts = SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .busy_timeout(std::time::Duration::from_secs(10));
    let Ok(pool) = SqlitePoolOptions::new().max_connections(1).connect_with(opts).await else {
        return out;
    };
    let q = "SELECT channel, COUNT(*), SUM(duplicate_of IS NOT NULL), COUNT(DISTINCT source_id) FROM tickets GROUP BY channel";
    if let Ok(rows) = sqlx::query(q).fetch_all(&pool).await {
        for r in rows {
            let c = Channel::from_str(&r.get::<String, _>(0)).unwrap();
            let e = out.entry(c).or_default();
            e.tickets = r.get::<i64, _>(1) as u64;
            e.duplicates = r.get::<i64, _>(2) as u64;
            e.distinct_sources = r.get::<i64, _>(3) as u64;
        }
    }
    if let Ok(rows) = sqlx::query("SELECT channel, COUNT(*) FROM quarantine GROUP BY channel")
        .fetch_all(&pool)
        .await
    {
        for r in rows {
            out.entry(Channel::from_str(&r.get::<String, _>(0)).unwrap())
                .or_default()
                .quarantined = r.get::<i64, _>(1) as u64;
        }
    }
    let q = "SELECT t.channel, COUNT(*) FROM ticket_events e JOIN tickets t USING (ticket_id) WHERE e.event_type = 'received' GROUP BY t.channel";
    if let Ok(rows) = sqlx::query(q).fetch_all(&pool).await {
        for r in rows {
            out.entry(Channel::from_str(&r.get::<String, _>(0)).unwrap())
                .or_default()
                .received_events = r.get::<i64, _>(1) as u64;
        }
    }
    pool.close().await;
    out
}

/// Scope decisions of the new, non-duplicate tickets in a SQLite file
/// (workflow store or warehouse): (forwarded, rejected, answered online,
/// dispatched, manual), as the demo reports them.
pub async fn sqlite_scopes(db: &Path, warehouse: bool) -> [u64; 5] {
    let opts = SqliteConnectOptions::new().filename(db).read_only(true);
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(opts).await.unwrap();
    let dup = if warehouse { "duplicate_of = ''" } else { "duplicate_of IS NULL" };
    let q = format!(
        "SELECT SUM(scope = 'forward_huangshi'), SUM(scope = 'rejected'), SUM(scope = 'answered_online'), \
         SUM(scope = 'dispatch'), SUM(status = 'awaiting_dispatch') FROM tickets WHERE {dup}"
    );
    let r = sqlx::query(sqlx::AssertSqlSafe(q)).fetch_one(&pool).await.unwrap();
    std::array::from_fn(|i| r.get::<i64, _>(i) as u64)
}

/// Each ticket's cluster in a SQLite file (workflow store or warehouse),
/// and how many clusters_merged events it holds.
pub async fn sqlite_clusters(db: &Path) -> (std::collections::BTreeMap<String, String>, i64) {
    let opts = SqliteConnectOptions::new().filename(db).read_only(true);
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(opts).await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT ticket_id, cluster_id FROM tickets")
        .fetch_all(&pool)
        .await
        .unwrap();
    let merges: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ticket_events WHERE event_type = 'clusters_merged'")
        .fetch_one(&pool)
        .await
        .unwrap();
    (rows.into_iter().collect(), merges)
}

pub fn triage_array(t: &minqing_connectors::sim::ExpectedTriage) -> [u64; 5] {
    [t.forwarded, t.rejected, t.answered_online, t.dispatched, t.manual]
}

/// Duplicates in a workflow store, and those whose reply names their
/// original's acceptance number.
pub async fn sqlite_duplicate_replies(db: &Path) -> (i64, i64) {
    let opts = SqliteConnectOptions::new().filename(db).read_only(true);
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(opts).await.unwrap();
    sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(instr(d.reply, o.short_no) > 0), 0) FROM tickets d \
         JOIN tickets o ON o.ticket_id = d.duplicate_of",
    )
    .fetch_one(&pool)
    .await
    .unwrap()
}
