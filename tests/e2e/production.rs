//! The production backends against real servers: RabbitMQ, PostgreSQL and
//! ClickHouse on loopback (`scripts/services start`). Each test gets its own
//! PostgreSQL database, ClickHouse database and RabbitMQ name prefix.
//!
//! With `MINQING_REQUIRE_SERVICES=1` an unreachable server fails the test;
//! otherwise the test is skipped with a note.
//!
//! The faults, each while a demo runs: a RabbitMQ restart
//! (`rabbitmqctl stop_app` / `start_app`), ClickHouse unreachable for a
//! while (behind a proxy the test cuts), PostgreSQL connections killed with
//! `pg_terminate_backend`, and a poison message. Every generated appeal must
//! end as exactly one ticket in PostgreSQL and one in ClickHouse (`FINAL`),
//! or in quarantine.

use crate::helpers::{OutboxRow, received, settle_in_one_set, ticket, triage_array};
use minqing::config::{self, Settings};
use minqing::sim::demo::{self, DemoArgs, Report};
use minqing_pipelines::bus::rabbit::{Names, RabbitBus, peek_parked};
use minqing_pipelines::bus::{Bus, EventQueue};
use minqing_pipelines::db::pool::connect;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// Fault tests restart shared servers, so service tests take turns.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn required() -> bool {
    std::env::var("MINQING_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

async fn reachable(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).await.is_ok()
}

/// Whether all three servers answer; panics under MINQING_REQUIRE_SERVICES=1.
async fn services_up(test: &str) -> bool {
    let mut missing = Vec::new();
    for (name, port) in [("PostgreSQL", 5432), ("RabbitMQ", 5672), ("ClickHouse", 8123)] {
        if !reachable(port).await {
            missing.push(format!("{name} (127.0.0.1:{port})"));
        }
    }
    if missing.is_empty() {
        return true;
    }
    let msg = format!("{test}: {} unreachable; run scripts/services start", missing.join(", "));
    assert!(!required(), "{msg}");
    eprintln!("skipped: {msg}");
    false
}

fn unique(tag: &str) -> String {
    format!("mq_{tag}_{}", uuid::Uuid::new_v4().simple().to_string().get(..10).unwrap_or("x"))
}

/// The production example, isolated: own database names and queue prefix.
fn production(dir: &Path, tag: &str) -> Settings {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/production.example.toml");
    let mut s = config::load(Some(&path)).expect("config/production.example.toml loads");
    let name = unique(tag);
    s.data_dir = dir.to_path_buf();
    s.server.listen = "127.0.0.1:0".into();
    s.simulators.enabled = false;
    s.store.postgres.url = format!("postgres://postgres@127.0.0.1:5432/{name}");
    s.warehouse.clickhouse.database = name.clone();
    s.bus.rabbitmq.prefix = format!("{name}.");
    s.warehouse.flush_ms = 300;
    s
}

fn args(dir: &Path, appeals: usize) -> DemoArgs {
    DemoArgs {
        appeals,
        seed: 11,
        data_dir: Some(dir.to_path_buf()),
        faults: true,
        units: true,
        timeout: Duration::from_secs(240),
        progress: false,
        rate: None,
    }
}

/// Exactly one row per ticket in each store, and nothing missing.
/// Under faults intake may see a record more than once (a page pulled again
/// after a lost checkpoint write, a batch redelivered), so its counters may
/// exceed what was generated; the stores may not.
fn assert_landed(r: &Report) {
    let meant = r.totals.generated - r.expected.replays - r.expected.quarantined;
    assert!(r.totals.missing <= 0, "{}", r.table());
    assert_eq!(r.totals.quarantined, r.expected.quarantined, "{}", r.table());
    assert_eq!(r.stores.workflow_tickets, meant, "{}", r.table());
    assert_eq!(r.stores.warehouse_tickets, meant, "{}", r.table());
    assert_eq!(r.stores.warehouse_daily_total, meant, "{}", r.table());
    assert_eq!(r.backends.bus, "rabbitmq");
    assert_eq!(r.backends.workflow_store, "postgres");
    assert_eq!(r.backends.warehouse, "clickhouse");
}

/// Row counts straight from the servers, independent of the demo's report.
async fn server_counts(s: &Settings) -> (i64, i64, u64) {
    let pool = connect::<sqlx::Postgres>(&s.store.postgres.url).await.unwrap();
    let pg: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets").fetch_one(&pool).await.unwrap();
    let pg_distinct: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT (channel, source_id)) FROM tickets")
        .fetch_one(&pool)
        .await
        .unwrap();
    let ch = clickhouse::Client::default()
        .with_url(&s.warehouse.clickhouse.url)
        .with_database(&s.warehouse.clickhouse.database)
        .with_validation(false);
    let ch_rows: u64 = ch.query("SELECT count() FROM tickets FINAL").fetch_one().await.unwrap();
    (pg, pg_distinct, ch_rows)
}

/// Scope decisions of new, non-duplicate tickets in PostgreSQL and in
/// ClickHouse, in `triage_array` order.
async fn server_scopes(s: &Settings) -> ([u64; 5], [u64; 5]) {
    let pool = connect::<sqlx::Postgres>(&s.store.postgres.url).await.unwrap();
    let r = sqlx::query(
        "SELECT COUNT(*) FILTER (WHERE scope = 'forward_huangshi'), COUNT(*) FILTER (WHERE scope = 'rejected'), \
         COUNT(*) FILTER (WHERE scope = 'answered_online'), COUNT(*) FILTER (WHERE scope = 'dispatch'), \
         COUNT(*) FILTER (WHERE status = 'awaiting_dispatch') FROM tickets WHERE duplicate_of IS NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let pg: [u64; 5] = std::array::from_fn(|i| sqlx::Row::get::<i64, _>(&r, i) as u64);
    let ch = clickhouse::Client::default()
        .with_url(&s.warehouse.clickhouse.url)
        .with_database(&s.warehouse.clickhouse.database)
        .with_validation(false);
    let c: (u64, u64, u64, u64, u64) = ch
        .query(
            "SELECT countIf(scope = 'forward_huangshi'), countIf(scope = 'rejected'), countIf(scope = 'answered_online'), \
             countIf(scope = 'dispatch'), countIf(status = 'awaiting_dispatch') FROM tickets FINAL WHERE duplicate_of = ''",
        )
        .fetch_one()
        .await
        .unwrap();
    (pg, [c.0, c.1, c.2, c.3, c.4])
}

async fn drop_databases(s: &Settings) {
    let name = s.warehouse.clickhouse.database.clone();
    if let Ok(pool) = connect::<sqlx::Postgres>("postgres://postgres@127.0.0.1:5432/postgres").await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
            .execute(&pool)
            .await;
    }
    let ch = clickhouse::Client::default().with_url(&s.warehouse.clickhouse.url);
    let _ = ch.query(&format!("DROP DATABASE IF EXISTS `{name}`")).execute().await;
}

async fn delete_queues(s: &Settings) {
    let Ok(conn) = lapin::Connection::connect(&s.bus.rabbitmq.url, lapin::ConnectionProperties::default()).await else {
        return;
    };
    let Ok(ch) = conn.create_channel().await else { return };
    let names = Names::new(&s.bus.rabbitmq.prefix);
    for q in names.all_queues() {
        for n in [Names::parked(&q), q] {
            let _ = ch.queue_delete(n.as_str().into(), Default::default()).await;
        }
    }
    for e in [names.raw, names.tickets, names.dlx] {
        let _ = ch.exchange_delete(e.as_str().into(), Default::default()).await;
    }
}

async fn clean(s: &Settings) {
    drop_databases(s).await;
    delete_queues(s).await;
}

/// The servers answer (else skip or fail), it is this test's turn, and it
/// has a directory and isolated settings.
async fn setup(test: &str, tag: &str) -> Option<(tokio::sync::MutexGuard<'static, ()>, tempfile::TempDir, Settings)> {
    // The turn first: a test that restarts RabbitMQ holds it while the
    // broker is down.
    let turn = TURN.lock().await;
    if !services_up(test).await {
        return None;
    }
    minqing::telemetry::init("warn");
    let dir = tempfile::tempdir().unwrap();
    let s = production(dir.path(), tag);
    Some((turn, dir, s))
}

/// Both servers hold exactly the tickets the run landed; then clean up.
async fn assert_servers_agree(r: &Report, s: &Settings) {
    let (pg, distinct, ch) = server_counts(s).await;
    let meant = r.stores.workflow_tickets;
    assert_eq!((pg, distinct, ch), (meant as i64, meant as i64, meant));
    // Edited posts carry their latest text in both stores.
    let pool = connect::<sqlx::Postgres>(&s.store.postgres.url).await.unwrap();
    let pg_edited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE version > 0")
        .fetch_one(&pool)
        .await
        .unwrap();
    let ch_edited: u64 = clickhouse::Client::default()
        .with_url(&s.warehouse.clickhouse.url)
        .with_database(&s.warehouse.clickhouse.database)
        .with_validation(false)
        .query("SELECT count() FROM tickets FINAL WHERE version > 0")
        .fetch_one()
        .await
        .unwrap();
    assert!(pg_edited > 0, "the demo makes edited posts");
    assert_eq!(pg_edited as u64, ch_edited, "edits in PostgreSQL and ClickHouse");
    clean(s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_lands_every_ticket_once_in_postgres_and_clickhouse() {
    let Some((_turn, dir, s)) = setup("production demo", "demo").await else {
        return;
    };
    let r = demo::run(s.clone(), args(dir.path(), 3000)).await.unwrap();
    assert_landed(&r);
    assert!(r.checks_out(), "{}", r.table());
    assert!(r.expected.clusters > 0 && r.expected.escalations > 0);
    let w = r.workflow.as_ref().expect("a fresh store's orders are worked");
    assert_eq!(w.counts, w.expected, "{}", r.table());
    assert!(w.counts.sign_overdue > 0 && w.counts.closed > 0);
    assert_eq!(
        (r.clusters, r.escalations),
        (r.expected.clusters, r.expected.escalations),
        "{}",
        r.table()
    );
    assert_eq!(
        server_scopes(&s).await,
        (triage_array(&r.expected.triage), triage_array(&r.expected.triage))
    );
    let (pg, distinct, ch) = server_counts(&s).await;
    let meant = r.stores.workflow_tickets;
    assert_eq!((pg, distinct, ch), (meant as i64, meant as i64, meant));
    // A second run replays everything and adds nothing anywhere.
    let again = demo::run(s.clone(), args(dir.path(), 3000)).await.unwrap();
    assert_eq!(again.totals.tickets, 0, "{}", again.table());
    assert_eq!((again.clusters, again.escalations), (0, 0), "nothing escalated twice");
    assert_eq!(server_counts(&s).await, (pg, distinct, ch));
    parked_transfers_are_listed_and_requeued_in_postgres(&s, r.triage.forwarded).await;
    clusters_agree(&s).await;
    clean(&s).await;
}

/// Every ticket's cluster is the same in PostgreSQL and ClickHouse, after
/// the run's cluster merges (ClickHouse rewrites rows, so give it a moment).
async fn clusters_agree(s: &Settings) {
    let pool = connect::<sqlx::Postgres>(&s.store.postgres.url).await.unwrap();
    let pg: std::collections::BTreeMap<String, String> =
        sqlx::query_as::<_, (String, String)>("SELECT ticket_id::text, cluster_id FROM tickets")
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    let merges: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ticket_events WHERE event_type = 'clusters_merged'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(merges > 0, "the simulators' bridging letters merge clusters");
    let ch = clickhouse::Client::default()
        .with_url(&s.warehouse.clickhouse.url)
        .with_database(&s.warehouse.clickhouse.database)
        .with_validation(false);
    let mut got = std::collections::BTreeMap::new();
    for _ in 0..50 {
        got = ch
            .query("SELECT toString(ticket_id), cluster_id FROM tickets FINAL")
            .fetch_all::<(String, String)>()
            .await
            .unwrap()
            .into_iter()
            .collect();
        if got == pg {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(got.len(), pg.len());
    assert!(
        got == pg,
        "cluster ids differ for {} tickets",
        got.iter().filter(|(k, v)| pg.get(*k) != Some(v)).count()
    );
}

/// `minqing forward list|requeue` on PostgreSQL: two delivered transfers
/// are marked parked by hand, then listed and put back in line.
async fn parked_transfers_are_listed_and_requeued_in_postgres(s: &Settings, forwarded: u64) {
    use minqing::cli::ForwardAction;
    assert!(forwarded >= 2);
    let pool = connect::<sqlx::Postgres>(&s.store.postgres.url).await.unwrap();
    let parked: Vec<(uuid::Uuid, String)> = sqlx::query_as(
        "UPDATE forward_outbox o SET status = 'parked', last_error = 'HTTP 401 test' FROM tickets t \
         WHERE t.ticket_id = o.ticket_id AND o.ticket_id IN (SELECT ticket_id FROM forward_outbox ORDER BY ticket_id LIMIT 2) \
         RETURNING o.ticket_id, t.short_no",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let list = minqing::commands::forward::command(s, ForwardAction::List { limit: 10, json: true })
        .await
        .unwrap();
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list["counts"]["parked"], 2);
    assert_eq!(list["counts"]["sent"], forwarded - 2);
    let requeue = |ticket: Option<String>| ForwardAction::Requeue {
        all: ticket.is_none(),
        ticket,
    };
    let out = minqing::commands::forward::command(s, requeue(Some(parked[0].1.clone())))
        .await
        .unwrap();
    assert!(out.starts_with("1 transfer(s)"), "{out}");
    let out = minqing::commands::forward::command(s, requeue(None)).await.unwrap();
    assert!(out.starts_with("1 transfer(s)"), "{out}");
    let pending: Vec<(String, i32, String)> = sqlx::query_as(
        "SELECT o.status, o.attempts, t.status FROM forward_outbox o JOIN tickets t USING (ticket_id) WHERE o.ticket_id = ANY($1)",
    )
    .bind(parked.iter().map(|p| p.0).collect::<Vec<_>>())
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(pending, vec![("pending".into(), 0, "forward_pending".into()); 2]);
}

/// `rabbitmqctl` for whichever broker listens: the one scripts/services
/// started (its private node) or the machine's own.
fn rabbitmqctl(args: &[&str]) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".services");
    let mut cmd = std::process::Command::new("rabbitmqctl");
    if dir.join("rabbitmq.pid").exists() {
        cmd.env("HOME", dir.join("rabbitmq"))
            .env("RABBITMQ_NODENAME", "minqing@localhost")
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .args(["-n", "minqing@localhost"]);
    }
    let out = cmd.args(args).output().expect("rabbitmqctl runs");
    assert!(
        out.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rabbitmq_restart_mid_run_loses_and_doubles_nothing() {
    let Some((_turn, dir, s)) = setup("RabbitMQ restart", "rmq").await else {
        return;
    };
    let fault = async {
        // Restart once tickets are flowing.
        wait_for_tickets(&s, 300).await;
        tokio::task::spawn_blocking(|| {
            let _ = rabbitmqctl(&["stop_app"]);
            let stopped = std::time::Instant::now();
            std::thread::sleep(Duration::from_secs(3));
            let _ = rabbitmqctl(&["start_app"]);
            stopped
        })
        .await
        .unwrap()
    };
    let run = async {
        let r = demo::run(s.clone(), args(dir.path(), 6000)).await;
        (r, std::time::Instant::now())
    };
    let ((r, finished), stopped) = tokio::join!(run, fault);
    assert!(finished > stopped, "the demo finished before the broker stopped; the fault missed");
    let r = r.unwrap();
    assert_landed(&r);
    // Pages read again after the failed publishes are ours, not the
    // channels' replays (issue 31, item 14: the demo said `missing -6287`).
    assert_eq!(r.totals.missing, 0, "{}", r.table());
    assert_eq!(r.totals.replays, r.expected.replays, "{}", r.table());
    assert_servers_agree(&r, &s).await;
}

/// Waits until the workflow store holds at least `n` tickets.
async fn wait_for_tickets(s: &Settings, n: i64) {
    for _ in 0..600 {
        if let Ok(pool) = connect::<sqlx::Postgres>(&s.store.postgres.url).await
            && let Ok(got) = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM tickets").fetch_one(&pool).await
            && got >= n
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no tickets arrived in PostgreSQL within a minute");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_postgres_connections_are_replaced_without_loss() {
    let Some((_turn, dir, s)) = setup("PostgreSQL kill", "pgkill").await else {
        return;
    };
    let db = s.warehouse.clickhouse.database.clone();
    let fault = async {
        wait_for_tickets(&s, 300).await;
        let admin = connect::<sqlx::Postgres>("postgres://postgres@127.0.0.1:5432/postgres")
            .await
            .unwrap();
        let mut killed = 0usize;
        for _ in 0..5 {
            let n: Vec<bool> =
                sqlx::query_scalar("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()")
                    .bind(&db)
                    .fetch_all(&admin)
                    .await
                    .unwrap();
            killed += n.len();
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        killed
    };
    let (r, killed) = tokio::join!(demo::run(s.clone(), args(dir.path(), 6000)), fault);
    assert!(killed > 0, "there were connections to kill");
    let r = r.unwrap();
    assert_landed(&r);
    assert_servers_agree(&r, &s).await;
}

/// A TCP proxy that can refuse service: connections are cut and new ones
/// closed at once while `down` is set.
async fn proxy(target: SocketAddr, down: Arc<AtomicBool>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else { return };
            if down.load(Ordering::SeqCst) {
                drop(inbound);
                continue;
            }
            let down = down.clone();
            tokio::spawn(async move {
                let Ok(mut outbound) = TcpStream::connect(target).await else {
                    return;
                };
                let copy = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                let cut = async {
                    while !down.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                };
                tokio::select! {
                    _ = copy => {}
                    _ = cut => {}
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_warehouse_catches_up_after_clickhouse_was_unreachable() {
    let Some((_turn, dir, mut s)) = setup("ClickHouse outage", "chdown").await else {
        return;
    };
    // Create the database and tables directly, then route the pipeline
    // through a proxy that the test can cut.
    minqing::runtime::open_warehouse(&s).await.unwrap();
    let down = Arc::new(AtomicBool::new(false));
    let addr = proxy("127.0.0.1:8123".parse().unwrap(), down.clone()).await;
    let direct = s.clone();
    s.warehouse.clickhouse.url = format!("http://{addr}");
    // A small prefetch, so what waits shows as ready in the queue rather
    // than unacked in the sink (which holds it just as safely).
    s.bus.rabbitmq.prefetch = 4;
    let fault = async {
        wait_for_tickets(&direct, 200).await;
        down.store(true, Ordering::SeqCst);
        // Messages wait in tickets.warehouse while ClickHouse is away.
        let bus = RabbitBus::connect(&s.bus.rabbitmq, 100).await.unwrap();
        let queue = bus.names().queue(EventQueue::Warehouse);
        let mut backlog = 0;
        for _ in 0..100 {
            backlog = bus.ready(&queue).await.unwrap();
            if backlog > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        down.store(false, Ordering::SeqCst);
        backlog
    };
    let (r, backlog) = tokio::join!(demo::run(s.clone(), args(dir.path(), 6000)), fault);
    assert!(
        backlog > 0,
        "events queued up in tickets.warehouse while ClickHouse was unreachable"
    );
    let r = r.unwrap();
    assert_landed(&r);
    assert_servers_agree(&r, &direct).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_parked_with_its_reason_and_the_pipeline_goes_on() {
    let Some((_turn, _dir, s)) = setup("poison message", "poison").await else {
        return;
    };
    let tracker = tokio_util::task::TaskTracker::new();
    let cancel = tokio_util::sync::CancellationToken::new();
    let pipe = minqing::runtime::start_pipeline(&s, &tracker, &cancel).await.unwrap();
    let bus = RabbitBus::connect(&s.bus.rabbitmq, 100).await.unwrap();
    // Not JSON at all, on the ticket-event exchange: both sinks get it.
    bus.publish_bodies(&bus.names().tickets, &[("ticket.received.grid".into(), b"{not json".to_vec())])
        .await
        .unwrap();
    // Well-formed, but PostgreSQL refuses it whatever the retries: text
    // may not hold a NUL byte there (the normalizer strips them; a foreign
    // publisher may not).
    let orphan = received(ticket("poison-nul", "路灯\u{0}不亮"));
    bus.publish_events(vec![orphan.clone()]).await.unwrap();
    let workflow = bus.names().queue(EventQueue::Workflow);
    let mut parked = Vec::new();
    for _ in 0..300 {
        parked = peek_parked(&bus, &workflow, 10).await.unwrap();
        if parked.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reasons: Vec<String> = parked.iter().map(|p| p.reason.clone().unwrap_or_default()).collect();
    assert_eq!(parked.len(), 2, "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("undecodable message")), "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains(&orphan.event_id.to_string()) && r.contains("0x00")),
        "{reasons:?}"
    );
    let body = parked
        .iter()
        .find(|p| p.body.starts_with(b"["))
        .expect("the refused event is parked");
    assert!(String::from_utf8_lossy(&body.body).contains(&orphan.event_id.to_string()));
    // The pipeline goes on: appeals published now still become tickets.
    let sink = minqing::runtime::BusSink(pipe.bus.clone());
    let appeal = minqing_connectors::RawAppeal {
        occurrence: None,
        channel: minqing_connectors::Channel::Grid,
        source_id: "poison-after".into(),
        received_at: chrono::DateTime::parse_from_rfc3339("2026-06-01T10:00:00+08:00").unwrap(),
        title: None,
        content: "东风路小区门口路灯不亮".into(),
        contact: Default::default(),
        location: None,
        coordinates: None,
        appeal_type_code: None,
        category_code: None,
        attachments: vec![],
        version: 0,
        raw: "{}".into(),
        accepted_at: None,
    };
    use minqing_connectors::sink::AppealSink;
    sink.accept(vec![minqing_connectors::Inbound::Appeal(Box::new(appeal))])
        .await
        .unwrap();
    let mut landed = 0;
    for _ in 0..100 {
        landed = pipe.warehouse.counts().await.unwrap().tickets;
        let stored: u64 = pipe.store.channel_counts().await.unwrap().values().map(|c| c.tickets).sum();
        if landed == 1 && stored == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(landed, 1);
    cancel.cancel();
    tracker.close();
    tracker.wait().await;
    clean(&s).await;
}

/// A ticket as intake would make it, for tests that publish events directly.
/// Batches are published concurrently and a redelivered message goes to the
/// back of its queue, so an edit can reach a sink before its ticket. Both
/// sinks hand it back for later instead of parking or dropping it, and the
/// edit lands once the ticket has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_that_overtakes_its_ticket_waits_for_it_in_both_stores() {
    let Some((_turn, _dir, s)) = setup("overtaking edit", "overtake").await else {
        return;
    };
    let tracker = tokio_util::task::TaskTracker::new();
    let cancel = tokio_util::sync::CancellationToken::new();
    let _pipe = minqing::runtime::start_pipeline(&s, &tracker, &cancel).await.unwrap();
    let bus = RabbitBus::connect(&s.bus.rabbitmq, 100).await.unwrap();
    let t = ticket("overtake-1", "东岳路路灯不亮");
    let edit = edited(&t, "东岳路路灯不亮，已经一周了");
    bus.publish_events(vec![edit]).await.unwrap();
    // Let both sinks meet the edit alone at least once.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    bus.publish_events(vec![received(t.clone())]).await.unwrap();
    let pg = connect::<sqlx::Postgres>(&s.store.postgres.url).await.unwrap();
    let ch = clickhouse::Client::default()
        .with_url(&s.warehouse.clickhouse.url)
        .with_database(&s.warehouse.clickhouse.database)
        .with_validation(false);
    let (mut pg_version, mut ch_version) = (-1, 0u32);
    for _ in 0..300 {
        pg_version = sqlx::query_scalar::<_, i32>("SELECT version FROM tickets WHERE ticket_id = $1")
            .bind(t.ticket_id)
            .fetch_optional(&pg)
            .await
            .unwrap()
            .unwrap_or(-1);
        ch_version = ch
            .query("SELECT max(version) FROM tickets FINAL WHERE ticket_id = toUUID(?)")
            .bind(t.ticket_id.to_string())
            .fetch_one::<u32>()
            .await
            .unwrap_or(0);
        if pg_version == 1 && ch_version == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!((pg_version, ch_version), (1, 1), "the edit did not land in both stores");
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ticket_events WHERE ticket_id = $1")
        .bind(t.ticket_id)
        .fetch_one(&pg)
        .await
        .unwrap();
    assert_eq!(events, 2);
    for q in [EventQueue::Workflow, EventQueue::Warehouse] {
        let parked = peek_parked(&bus, &bus.names().queue(q), 10).await.unwrap();
        assert!(parked.is_empty(), "{q:?} parked {} messages", parked.len());
    }
    cancel.cancel();
    tracker.close();
    tracker.wait().await;
    clean(&s).await;
}

/// The test's ClickHouse warehouse, migrated, written to directly.
async fn warehouse(s: &Settings) -> minqing_pipelines::warehouse::clickhouse::ClickhouseWarehouse {
    minqing_pipelines::warehouse::clickhouse::ClickhouseWarehouse::open(&s.warehouse.clickhouse)
        .await
        .unwrap()
}

/// The first edit of `t`: version 1 with `content`.
fn edited(t: &minqing_pipelines::ticket::Ticket, content: &str) -> minqing_pipelines::ticket::TicketEvent {
    let mut newer = t.clone();
    newer.version = 1;
    newer.content = content.into();
    newer.text_hash = format!("edited-{content}");
    minqing_pipelines::ticket::TicketEvent::updated(&newer)
}

/// Two-column rows of a ClickHouse query, sorted.
async fn sorted_pairs(ch: &clickhouse::Client, sql: &str) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = ch.query(sql).fetch_all().await.unwrap();
    rows.sort();
    rows
}

/// A ticket that starts a cluster of its own, as intake makes a new issue.
fn clustered(source_id: &str, content: &str) -> minqing_pipelines::ticket::Ticket {
    let mut t = ticket(source_id, content);
    t.cluster_id = Some(t.ticket_id.to_string());
    t
}

/// A sink batch can hold tens of thousands of events (`warehouse.batch_rows`
/// is 20,000 in the production example). Every lookup the ClickHouse
/// warehouse makes for a batch must stay under the server's
/// `max_query_size`; the cluster lookup once inlined all of a batch's ids
/// and failed past about 6,700 tickets, which sent the batch into slow
/// isolation retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_batch_is_written_to_clickhouse_in_one_call() {
    use minqing_pipelines::warehouse::Warehouse;
    let Some((_turn, _dir, s)) = setup("large ClickHouse batch", "bigbatch").await else {
        return;
    };
    let wh = warehouse(&s).await;
    const N: usize = 9_000;
    let events: Vec<_> = (0..N)
        .map(|i| received(clustered(&format!("big-{i}"), &format!("第{i}号路灯不亮"))))
        .collect();
    let deferred = wh.write(&events).await.expect("one write of a large batch");
    assert!(deferred.is_empty());
    // Written again (a redelivery), nothing doubles.
    wh.write(&events).await.expect("the same batch again");
    let c = wh.counts().await.unwrap();
    assert_eq!((c.tickets, c.daily_total), (N as u64, N as u64));
    clean(&s).await;
}

/// The ClickHouse warehouse resolves a batch's cluster merges together, in
/// order: a chain inside one batch (A into B, then B into C) and a cluster
/// merged in an earlier batch (D into A) all end in C, and the ticket rows
/// move without being counted again in the daily aggregate. A ticket both
/// edited and moved in one batch keeps both changes (one read, one rewrite).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chained_cluster_merges_in_one_batch_land_in_the_last_survivor() {
    use minqing_pipelines::ticket::{EventPayload, EventType, TicketEvent};
    use minqing_pipelines::warehouse::Warehouse;
    let Some((_turn, _dir, s)) = setup("chained cluster merges", "chain").await else {
        return;
    };
    let wh = warehouse(&s).await;
    let tickets: Vec<_> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| clustered(&format!("chain-{n}"), &format!("{n}处井盖缺失")))
        .collect();
    let cluster = |i: usize| tickets[i].ticket_id.to_string();
    let merge = |i: usize, into: String, from: String| {
        let t = &tickets[i];
        TicketEvent::new(
            t.ticket_id,
            t.channel,
            EventType::ClustersMerged,
            &format!("{into}<{from}"),
            t.received_at,
            EventPayload::ClustersMerged { into, from: vec![from] },
        )
    };
    let first: Vec<_> = tickets
        .iter()
        .cloned()
        .map(received)
        .chain([merge(0, cluster(0), cluster(3))])
        .collect();
    wh.write(&first).await.unwrap();
    let a = &tickets[0];
    let edit = edited(a, "a处井盖缺失，已经三天了");
    wh.write(&[merge(1, cluster(1), cluster(0)), edit, merge(2, cluster(2), cluster(1))])
        .await
        .unwrap();
    let ch = wh.client();
    let (content, version, cluster_of_a): (String, u32, String) = ch
        .query("SELECT content, version, cluster_id FROM tickets FINAL WHERE ticket_id = toUUID(?)")
        .bind(a.ticket_id.to_string())
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(
        (content.as_str(), version, cluster_of_a),
        ("a处井盖缺失，已经三天了", 1, cluster(2)),
        "the edit and the move both land"
    );
    let rows = sorted_pairs(ch, "SELECT toString(ticket_id), cluster_id FROM tickets FINAL").await;
    let mut want: Vec<(String, String)> = tickets.iter().map(|t| (t.ticket_id.to_string(), cluster(2))).collect();
    want.sort();
    assert_eq!(rows, want, "every ticket lives in the last survivor");
    let merges = sorted_pairs(
        ch,
        "SELECT from_cluster, argMax(into_cluster, version) FROM cluster_merges GROUP BY from_cluster",
    )
    .await;
    let mut want: Vec<(String, String)> = [0, 1, 3].iter().map(|i| (cluster(*i), cluster(2))).collect();
    want.sort();
    assert_eq!(merges, want, "merges are flattened");
    assert_eq!(wh.counts().await.unwrap().daily_total, 4, "moved rows are not counted again");
    clean(&s).await;
}

/// `minqing bench broker` runs its no-op pipeline to the end on the real
/// broker and leaves nothing behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_bench_moves_every_message_and_cleans_up() {
    use minqing_pipelines::bus::rabbit::bench::{BrokerBenchArgs, run};
    let Some((_turn, _dir, s)) = setup("broker bench", "bench").await else {
        return;
    };
    let args = BrokerBenchArgs {
        messages: 300,
        items_per_message: 3,
        item_bytes: 400,
        publishers: 4,
    };
    let r = run(&s.bus.rabbitmq, &args).await.unwrap();
    assert_eq!((r.messages, r.items), (300, 900));
    assert!(r.items_per_sec > 0.0 && r.elapsed_ms > 0);
    // Its queues are gone.
    let leftover = format!("{}bench-", s.bus.rabbitmq.prefix);
    let out = tokio::task::spawn_blocking(|| rabbitmqctl(&["list_queues", "name"])).await.unwrap();
    assert!(!out.contains(&leftover), "bench queues left behind: {out}");
    clean(&s).await;
}

/// Transfers are settled in PostgreSQL as one set (`settle_in_one_set`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_settlements_land_in_postgres_as_one_set() {
    use minqing_pipelines::store::postgres::PgStore;
    let Some((_turn, _dir, s)) = setup("forward settlements", "settle").await else {
        return;
    };
    let store = PgStore::open(&s.store.postgres).await.unwrap();
    let pg = connect::<sqlx::Postgres>(&s.store.postgres.url).await.unwrap();
    settle_in_one_set(&store, |id| {
        let pg = pg.clone();
        async move {
            let (status, attempts, error, no, ticket, later) =
                sqlx::query_as::<_, (String, i32, Option<String>, Option<String>, String, bool)>(
                    "SELECT o.status, o.attempts, o.last_error, o.huangshi_no, t.status, o.next_attempt_at > now() \
                     FROM forward_outbox o JOIN tickets t USING (ticket_id) WHERE ticket_id = $1",
                )
                .bind(id)
                .fetch_one(&pg)
                .await
                .unwrap();
            OutboxRow {
                status,
                attempts: i64::from(attempts),
                error,
                no,
                ticket,
                later,
            }
        }
    })
    .await;
    pg.close().await;
    clean(&s).await;
}

/// On the servers: the `tickets.warehouse` queue carries masked copies with
/// no contact, ClickHouse holds no phone, name, ID number or plate in its
/// columns or inside the text and the reply, and PostgreSQL keeps the
/// contact for the return visit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_stays_out_of_clickhouse_and_its_queue() {
    let Some((_turn, _dir, s)) = setup("personal data", "privacy").await else {
        return;
    };
    let bus = RabbitBus::connect(&s.bus.rabbitmq, 100).await.unwrap();
    let mut events = crate::helpers::personal("privacy-2");
    // Keyed during a rotation: the retired key's link lands in ClickHouse too.
    if let minqing_pipelines::ticket::EventPayload::Received { ticket } = std::sync::Arc::make_mut(&mut events[0].payload) {
        ticket.citizen_key_id = Some("k2".into());
        ticket.previous_citizen_keys = vec![minqing_pipelines::ticket::KeyLink {
            id: "k1".into(),
            key: "0ld-key".into(),
        }];
    }
    let id = events[0].ticket_id;
    bus.publish_events(events).await.unwrap();
    let queued = minqing_pipelines::bus::rabbit::peek(&bus, &bus.names().queue(EventQueue::Warehouse), 10)
        .await
        .unwrap();
    assert!(!queued.is_empty(), "the warehouse's queue got the events");
    for m in &queued {
        let text = String::from_utf8_lossy(&m.body);
        assert!(
            !crate::helpers::shows_personal(&text) && !text.contains("contact_phone\":\""),
            "{text}"
        );
    }
    let workflow = minqing_pipelines::bus::rabbit::peek(&bus, &bus.names().queue(EventQueue::Workflow), 10)
        .await
        .unwrap();
    assert!(
        workflow.iter().any(|m| String::from_utf8_lossy(&m.body).contains("13912345678")),
        "the workflow store's queue keeps the contact"
    );

    let tracker = tokio_util::task::TaskTracker::new();
    let cancel = tokio_util::sync::CancellationToken::new();
    let _pipe = minqing::runtime::start_pipeline(&s, &tracker, &cancel).await.unwrap();
    let ch = clickhouse::Client::default()
        .with_url(&s.warehouse.clickhouse.url)
        .with_database(&s.warehouse.clickhouse.database)
        .with_validation(false);
    let mut content = String::new();
    for _ in 0..300 {
        content = ch
            .query("SELECT any(content) FROM tickets FINAL WHERE ticket_id = toUUID(?)")
            .bind(id.to_string())
            .fetch_one::<String>()
            .await
            .unwrap_or_default();
        let events: u64 = ch
            .query("SELECT count() FROM ticket_events WHERE ticket_id = toUUID(?)")
            .bind(id.to_string())
            .fetch_one()
            .await
            .unwrap_or(0);
        if !content.is_empty() && events == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        content.contains("[手机号]") && !crate::helpers::shows_personal(&content),
        "{content:?}"
    );
    let payloads = ch
        .query("SELECT payload FROM ticket_events WHERE ticket_id = toUUID(?)")
        .bind(id.to_string())
        .fetch_all::<String>()
        .await
        .unwrap();
    assert_eq!(payloads.len(), 2);
    assert!(payloads.iter().all(|p| !crate::helpers::shows_personal(p)), "{payloads:?}");
    let columns = ch
        .query("SELECT name FROM system.columns WHERE database = ? AND table = 'tickets'")
        .bind(&s.warehouse.clickhouse.database)
        .fetch_all::<String>()
        .await
        .unwrap();
    assert!(columns.iter().any(|c| c == "citizen_key_id") && !columns.iter().any(|c| c == "phone_masked"));
    let links: Vec<(String, String, String, String)> = ch
        .query("SELECT previous_key_id, previous_key, key_id, citizen_key FROM citizen_key_links FINAL")
        .fetch_all()
        .await
        .unwrap();
    let want = ("k1", "0ld-key", "k2", "c0ffee");
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!((&*links[0].0, &*links[0].1, &*links[0].2, &*links[0].3), want);
    // The analysts' "same citizen" query of docs/security.md runs on 18.16.
    let person: Vec<(String, String)> = ch
        .query(
            "SELECT source_id, if(empty(new_key), old, new_key) AS person \
             FROM (SELECT source_id, concat(citizen_key_id, ':', citizen_key) AS old FROM tickets FINAL) \
             ANY LEFT JOIN (SELECT concat(previous_key_id, ':', previous_key) AS old, \
                 concat(any(key_id), ':', any(citizen_key)) AS new_key \
                 FROM citizen_key_links FINAL GROUP BY previous_key_id, previous_key) USING (old)",
        )
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(person, [("privacy-2".to_owned(), "k2:c0ffee".to_owned())]);
    let pg = connect::<sqlx::Postgres>(&s.store.postgres.url).await.unwrap();
    let phone: Option<String> = sqlx::query_scalar("SELECT contact_phone FROM tickets WHERE ticket_id = $1")
        .bind(id)
        .fetch_one(&pg)
        .await
        .unwrap();
    assert_eq!(phone.as_deref(), Some("13912345678"));
    cancel.cancel();
    tracker.close();
    tracker.wait().await;
    clean(&s).await;
}

/// TLS to servers on other hosts (issue 31): the workflow store opens and
/// migrates PostgreSQL over TLS with `sslmode=require`, and the server
/// confirms the session is encrypted; the warehouse migrates ClickHouse
/// over https, verifying its certificate; `amqps://` is spoken to RabbitMQ
/// (against its plain port here, so the TLS handshake is what fails).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_spoken_to_postgresql_clickhouse_and_rabbitmq() {
    if !services_up("TLS").await {
        return;
    }
    let name = format!("mq_tls_{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let url = format!("postgres://postgres@127.0.0.1:5432/{name}?sslmode=require");
    minqing_pipelines::store::postgres::PgStore::open(&minqing_pipelines::store::postgres::PgSettings {
        url: url.clone(),
        max_connections: 2,
    })
    .await
    .expect("the store opens over TLS (the Debian server has ssl = on)");
    let pool = connect::<sqlx::Postgres>(&url).await.unwrap();
    let encrypted: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(encrypted, "the session is not encrypted");
    pool.close().await;
    let admin = connect::<sqlx::Postgres>("postgres://postgres@127.0.0.1:5432/postgres")
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
        .execute(&admin)
        .await
        .unwrap();

    // ClickHouse's https port (scripts/services) has a certificate of its
    // own; `minqing migrate` trusts it through SSL_CERT_FILE and migrates a
    // database of its own over https. Without that trust it is refused.
    let dir = tempfile::tempdir().unwrap();
    let pem = std::process::Command::new("openssl")
        .args(["s_client", "-connect", "127.0.0.1:8443", "-servername", "localhost", "-showcerts"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl runs");
    let pem = String::from_utf8_lossy(&pem.stdout);
    let (from, to) = (pem.find("-----BEGIN CERTIFICATE-----"), pem.find("-----END CERTIFICATE-----"));
    let (Some(from), Some(to)) = (from, to) else {
        panic!("ClickHouse has no https on 8443: `scripts/services stop`, then start (an older script started it)");
    };
    let cert = dir.path().join("clickhouse.crt");
    std::fs::write(&cert, format!("{}-----END CERTIFICATE-----\n", &pem[from..to])).unwrap();
    let migrate = |trust: bool| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_minqing"));
        c.arg("migrate")
            .env("MINQING__DATA_DIR", dir.path())
            .env("MINQING__WAREHOUSE__BACKEND", "clickhouse")
            .env("MINQING__WAREHOUSE__CLICKHOUSE__URL", "https://localhost:8443")
            .env("MINQING__WAREHOUSE__CLICKHOUSE__DATABASE", &name)
            .env("MINQING__WAREHOUSE__CLICKHOUSE__TIMEOUT_SECS", "30");
        // Untrusted: the system's CA bundle, which does not hold it.
        c.env(
            "SSL_CERT_FILE",
            if trust {
                cert.clone()
            } else {
                "/etc/ssl/certs/ca-certificates.crt".into()
            },
        );
        c.output().unwrap()
    };
    let out = migrate(true);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("warehouse"), "{out:?}");
    let out = migrate(false);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an untrusted certificate was accepted");
    assert!(err.contains("certificate") || err.contains("UnknownIssuer"), "{err}");
    let ch = clickhouse::Client::default()
        .with_url("http://127.0.0.1:8123")
        .with_validation(false);
    let tables: u64 = ch
        .query("SELECT count() FROM system.tables WHERE database = ?")
        .bind(&name)
        .fetch_one()
        .await
        .unwrap();
    assert!(tables >= 5, "migrated over https: {tables} tables");
    ch.query(&format!("DROP DATABASE IF EXISTS {name}")).execute().await.unwrap();

    let amqps = minqing_pipelines::bus::rabbit::RabbitSettings {
        url: "amqps://guest:guest@127.0.0.1:5672/%2f".into(),
        ..config::load(None).unwrap().bus.rabbitmq
    };
    let err = tokio::time::timeout(Duration::from_secs(20), RabbitBus::connect(&amqps, 10))
        .await
        .expect("a TLS handshake with a plain port fails fast")
        .err()
        .expect("a plain AMQP port cannot answer a TLS handshake")
        .to_string();
    assert!(err.contains("InvalidContentType"), "amqps is not spoken: {err}");
}
