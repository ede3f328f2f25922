//! Shared set-up: settings isolated in a temporary directory, and counts read
//! straight from the SQLite file.

use minqing::config::Settings;
use minqing_connectors::Channel;
use sqlx::Row;
use sqlx::sqlite::SqliteConnectOptions;
use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

pub use minqing::testing::{own_secret_env, test_settings as settings};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub tickets: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    pub received_events: u64,
    pub distinct_sources: u64,
}

/// One read-only connection to a SQLite file, without migrations.
async fn read_only(db: &Path) -> Result<sqlx::SqlitePool, sqlx::Error> {
    let opts = SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .busy_timeout(std::time::Duration::from_secs(10));
    minqing_pipelines::db::pool::options().max_connections(1).connect_with(opts).await
}

/// Per-channel counts, read with a plain connection (no migrations), so it
/// is safe while another process writes.
pub async fn counts(db: &Path) -> BTreeMap<Channel, Counts> {
    let mut out: BTreeMap<Channel, Counts> = BTreeMap::new();
    if !db.exists() {
        return out;
    }
    let Ok(pool) = read_only(db).await else {
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
    let pool = read_only(db).await.unwrap();
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
    let pool = read_only(db).await.unwrap();
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
    let pool = read_only(db).await.unwrap();
    sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(instr(d.reply, o.short_no) > 0), 0) FROM tickets d \
         JOIN tickets o ON o.ticket_id = d.duplicate_of",
    )
    .fetch_one(&pool)
    .await
    .unwrap()
}

/// A bare ticket of the grid channel, for store-level tests.
pub fn ticket(source_id: &str, content: &str) -> minqing_pipelines::ticket::Ticket {
    let at = chrono::DateTime::parse_from_rfc3339("2026-06-01T09:00:00+08:00").unwrap();
    minqing_pipelines::ticket::Ticket::bare(minqing_connectors::Channel::Grid, source_id, content, at)
}

/// The `received` event that carries a ticket.
pub fn received(t: minqing_pipelines::ticket::Ticket) -> minqing_pipelines::ticket::TicketEvent {
    minqing_pipelines::ticket::TicketEvent::received(t)
}

/// One forward outbox row as a test reads it back, with its ticket's status
/// and whether a retry waits in the future.
pub struct OutboxRow {
    pub status: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub no: Option<String>,
    pub ticket: String,
    pub later: bool,
}

/// Transfers settled as one set, on any workflow store (`read` reads a
/// ticket's row back in the store's own SQL): each ticket takes its latest
/// outcome, a delivery marks the ticket forwarded, a parked transfer marks
/// it failed, and a retry keeps the last error for the operator.
pub async fn settle_in_one_set<F, Fut>(store: &dyn minqing_pipelines::store::WorkflowStore, read: F)
where
    F: Fn(uuid::Uuid) -> Fut,
    Fut: std::future::Future<Output = OutboxRow>,
{
    use minqing_pipelines::store::ForwardSettle;
    use minqing_pipelines::ticket::{EventPayload, EventType, TicketEvent};
    let tickets: Vec<_> = (1..=3).map(|i| ticket(&format!("settle-{i}"), "快递丢件")).collect();
    store
        .apply_events(&tickets.iter().cloned().map(received).collect::<Vec<_>>())
        .await
        .unwrap();
    let forwarded: Vec<TicketEvent> = tickets
        .iter()
        .map(|t| {
            let payload = EventPayload::ClustersMerged {
                into: String::new(),
                from: vec![],
            };
            TicketEvent::new(t.ticket_id, t.channel, EventType::Forwarded, "", t.received_at, payload)
        })
        .collect();
    store.enqueue_forwards(&forwarded).await.unwrap();
    // Enqueued again (a redelivery): still one row each.
    store.enqueue_forwards(&forwarded).await.unwrap();
    assert_eq!(store.forward_counts().await.unwrap().pending, 3);
    let later = chrono::Utc::now() + chrono::Duration::minutes(5);
    let retry = |e: &str| ForwardSettle::Retry {
        error: e.into(),
        next_at: later,
    };
    let (a, b, c) = (tickets[0].ticket_id, tickets[1].ticket_id, tickets[2].ticket_id);
    store
        .settle_forwards(&[
            (a, 1, retry("HTTP 503")),
            (b, 1, retry("timeout")),
            (c, 1, ForwardSettle::Parked { error: "HTTP 401".into() }),
            // The same ticket again in one set: the later outcome holds.
            (
                a,
                2,
                ForwardSettle::Delivered {
                    huangshi_no: "HS-1".into(),
                },
            ),
        ])
        .await
        .unwrap();
    let r = read(a).await;
    assert_eq!(
        (r.status.as_str(), r.attempts, r.no.as_deref(), r.ticket.as_str()),
        ("sent", 2, Some("HS-1"), "forwarded")
    );
    // The failed attempt before the delivery is still on record.
    assert_eq!(r.error.as_deref(), Some("HTTP 503"));
    assert!(!r.later);
    let r = read(b).await;
    assert_eq!((r.status.as_str(), r.attempts, r.error.as_deref()), ("pending", 1, Some("timeout")));
    assert!(r.later, "a retry waits until its next attempt");
    assert_ne!(r.ticket, "forwarded");
    let r = read(c).await;
    assert_eq!(
        (r.status.as_str(), r.error.as_deref(), r.ticket.as_str()),
        ("parked", Some("HTTP 401"), "forward_failed")
    );
    // The retried transfer is delivered in a later set.
    store
        .settle_forwards(&[(
            b,
            2,
            ForwardSettle::Delivered {
                huangshi_no: "HS-2".into(),
            },
        )])
        .await
        .unwrap();
    let r = read(b).await;
    assert_eq!(
        (r.status.as_str(), r.no.as_deref(), r.ticket.as_str()),
        ("sent", Some("HS-2"), "forwarded")
    );
    assert_eq!(r.error.as_deref(), Some("timeout"));
    let counts = store.forward_counts().await.unwrap();
    assert_eq!((counts.pending, counts.sent, counts.parked), (0, 2, 1));
    // An empty set changes nothing.
    store.settle_forwards(&[]).await.unwrap();
}

/// A citizen's appeal with personal data in its contact fields and its
/// text, and a unit's reply that repeats the phone: what must never reach
/// the warehouse or its queue in clear.
pub fn personal(source_id: &str) -> Vec<minqing_pipelines::ticket::TicketEvent> {
    use minqing_pipelines::ticket::{EventPayload, EventType, TicketEvent};
    use minqing_pipelines::workflow::{Action, Order, State, system};
    let mut t = ticket(source_id, "我叫王小明，电话13912345678，身份证42028119900101123X，车牌鄂B12345被刮");
    t.contact_name = Some("王小明".into());
    t.contact_phone = Some("13912345678".into());
    t.phone_masked = Some("139****5678".into());
    t.citizen_key = Some("c0ffee".into());
    let reply = TicketEvent::new(
        t.ticket_id,
        t.channel,
        EventType::Replied,
        "1",
        t.received_at,
        EventPayload::Workflow {
            action: Box::new(Action::Reply {
                text: "已电话联系13912345678，已处理".into(),
            }),
            actor: system(),
            from: State::Signed,
            order: Box::new(Order::new(t.ticket_id, t.channel, None)),
        },
    );
    vec![TicketEvent::received(t), reply]
}

/// Whether `text` shows any of [`personal`]'s data in clear.
pub fn shows_personal(text: &str) -> bool {
    ["13912345678", "1391234", "****5678", "42028119900101123X", "王小明", "鄂B12345"]
        .iter()
        .any(|p| text.contains(p))
}

/// The gateway on `s`, serving its webhooks and API, without polling the
/// pull channels at start or running the SLA sweep.
pub async fn quiet(s: &Settings) -> minqing::runtime::Runtime {
    minqing::runtime::Runtime::start(
        s,
        minqing::runtime::StartOptions {
            poll_at_start: false,
            sweep: false,
        },
    )
    .await
    .unwrap()
}

/// The gateway on `s`, polling the pull channels at once, without the
/// SLA sweep; with `fleet`'s push senders aimed at it when given.
pub async fn polling(s: &Settings, fleet: Option<&mut minqing::sim::fleet::Fleet>) -> minqing::runtime::Runtime {
    let rt = minqing::runtime::Runtime::start(
        s,
        minqing::runtime::StartOptions {
            poll_at_start: true,
            sweep: false,
        },
    )
    .await
    .unwrap();
    if let Some(f) = fleet {
        f.push(&s.connectors, &format!("http://{}", rt.api_addr)).unwrap();
    }
    rt
}

pub use minqing::testing::test_appeal as raw_call;
