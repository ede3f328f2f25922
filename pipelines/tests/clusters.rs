//! Same-issue clusters through intake, on SQLite and on PostgreSQL: a
//! 3-citizen issue and a citizen reporting one issue 3 times in a month each
//! escalate exactly once, also across a restart (the engine rebuilt from
//! the store), and a ticket that bridges two clusters merges them in the
//! store.
//!
//! PostgreSQL is the one on 127.0.0.1:5432 (`scripts/services start`); each
//! run gets its own database. With `MINQING_REQUIRE_SERVICES=1` an
//! unreachable server fails the test, otherwise it is skipped with a note.

mod common;

use minqing_connectors::{Channel, Inbound, RawAppeal};
use minqing_pipelines::bus::memory::MemoryBus;
use minqing_pipelines::bus::{Bus, EventQueue};
use minqing_pipelines::db::pool::connect;
use minqing_pipelines::dedup::DedupIndex;
use minqing_pipelines::intake::Intake;
use minqing_pipelines::neardup::Params;
use minqing_pipelines::neardup::stage::Stage;
use minqing_pipelines::normalize::{Gazetteer, Normalizer, Settings};
use minqing_pipelines::store::postgres::{PgSettings, PgStore};
use minqing_pipelines::store::sqlite::SqliteStore;
use minqing_pipelines::store::{NearDupRow, WorkflowStore};
use std::collections::HashMap;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
enum Backend {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Backend {
    async fn open(&self) -> Arc<dyn WorkflowStore> {
        match self {
            Backend::Sqlite(p) => Arc::new(SqliteStore::open(p).await.unwrap()),
            Backend::Postgres(url) => Arc::new(
                PgStore::open(&PgSettings {
                    url: url.clone(),
                    max_connections: 4,
                })
                .await
                .unwrap(),
            ),
        }
    }

    /// The `clusters` view: (cluster_id, town, members, citizens), largest first.
    async fn clusters(&self) -> Vec<(String, Option<String>, i64, i64)> {
        const Q: &str = "SELECT cluster_id, town, members, citizens FROM clusters ORDER BY members DESC, citizens DESC";
        match self {
            Backend::Sqlite(p) => {
                let pool = connect::<sqlx::Sqlite>(&format!("sqlite://{}", p.display())).await.unwrap();
                sqlx::query_as(Q).fetch_all(&pool).await.unwrap()
            }
            Backend::Postgres(url) => {
                let pool = connect::<sqlx::Postgres>(url).await.unwrap();
                sqlx::query_as(Q).fetch_all(&pool).await.unwrap()
            }
        }
    }
}

/// The store's cluster counts (an indexed query from two members up)
/// agree with the `clusters` view for every minimum size.
async fn counts_agree_with_the_view(b: &Backend, store: &Arc<dyn WorkflowStore>) {
    let view = b.clusters().await;
    for min in 1..=5 {
        let want = view.iter().filter(|c| c.2 >= min).count() as u64;
        assert_eq!(store.cluster_count(min).await.unwrap(), want, "clusters of {min} or more: {view:?}");
    }
}

async fn postgres(test: &str) -> Option<Backend> {
    if tokio::net::TcpStream::connect(("127.0.0.1", 5432)).await.is_err() {
        let msg = format!("{test}: PostgreSQL (127.0.0.1:5432) unreachable; run scripts/services start");
        assert!(std::env::var("MINQING_REQUIRE_SERVICES").as_deref() != Ok("1"), "{msg}");
        eprintln!("skipped: {msg}");
        return None;
    }
    let name = format!("mq_clusters_{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    Some(Backend::Postgres(format!("postgres://postgres@127.0.0.1:5432/{name}")))
}

async fn drop_postgres(b: &Backend) {
    if let Backend::Postgres(url) = b {
        common::drop_database(url.rsplit('/').next().unwrap()).await;
    }
}

struct Pipe {
    bus: Arc<MemoryBus>,
    store: Arc<dyn WorkflowStore>,
    cancel: CancellationToken,
}

async fn start(b: &Backend) -> Pipe {
    let store = b.open().await;
    let bus = Arc::new(MemoryBus::new(&[EventQueue::Workflow], 1000));
    let cancel = CancellationToken::new();
    let g = Gazetteer::from_toml(include_str!("../../config/gazetteer.toml")).unwrap();
    let intake = Intake {
        normalizer: Arc::new(Normalizer::new(Settings::default(), g)),
        store: store.clone(),
        bus: bus.clone(),
        index: DedupIndex::new(72, 100_000),
        stats: Default::default(),
        triage: None,
        neardup: Some(Stage::new(&Params::default())),
        max_in_flight: 4,
        workflow: None,
    };
    common::run_intake(intake, &bus, store.clone(), &cancel).await;
    Pipe { bus, store, cancel }
}

fn appeal(ch: Channel, id: &str, phone: &str, text: &str, at: chrono::DateTime<chrono::Utc>, place: Option<&str>) -> Inbound {
    Inbound::Appeal(Box::new(RawAppeal {
        location: place.map(str::to_owned),
        raw: format!("{{\"id\":\"{id}\"}}"),
        ..RawAppeal::plain(ch, id, at.fixed_offset(), Some(phone), text)
    }))
}

fn ago(days: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() - chrono::Duration::days(days)
}

/// Each ticket's cluster, by its channel's source id (ids are UUIDv5 of
/// channel and source id).
async fn clusters_by_source(store: &Arc<dyn WorkflowStore>) -> HashMap<String, String> {
    let rows: Vec<NearDupRow> = store.neardup_history(i64::MAX / 2).await.unwrap();
    let mut out = HashMap::new();
    for (ch, ids) in [(Channel::Hotline12345, "A"), (Channel::Grid, "B"), (Channel::Supervision, "M")] {
        for i in 0..4 {
            let id = minqing_pipelines::ticket::ticket_id(ch, &format!("{ids}{i}"));
            if let Some(r) = rows.iter().find(|r| r.ticket_id == id) {
                out.insert(format!("{ids}{i}"), r.cluster_id.clone().unwrap());
            }
        }
    }
    out
}

const A: [&str; 4] = [
    "金湖街道金色家园小区门口烧烤摊每晚营业到凌晨两点，油烟直排三楼住户家里，噪音吵得老人孩子睡不着觉。",
    "您好，金湖街道金色家园小区门口的烧烤摊每天晚上营业到凌晨两点，油烟直接排进三楼住户家里，噪音吵得老人孩子睡不着！",
    "金湖街道金色家园小区门口烧烤摊营业到凌晨两点，油烟排进三楼住户家，噪音吵得老人孩子睡不着觉，请处理。",
    "再次反映：金湖街道金色家园小区门口烧烤摊每晚营业到凌晨两点，油烟直排三楼住户家里，噪音吵得老人孩子睡不着觉。",
];
const B: [&str; 4] = [
    "金湖街道汪仁社区到金湖中学的路上有三盏路灯坏了一个多月，晚上学生放学一片漆黑，很不安全。",
    "金湖街道汪仁社区到金湖中学路上三盏路灯坏了一个多月了，晚上学生放学一片漆黑，很不安全，希望尽快修好。",
    "上次反映的金湖街道汪仁社区到金湖中学路上的三盏路灯还是坏的，已经一个多月，学生晚上放学一片漆黑。",
    "第四次反映：金湖街道汪仁社区到金湖中学的路上三盏路灯坏了一个多月，晚上学生放学一片漆黑，很不安全。",
];

async fn escalate_once(b: Backend) {
    let a = |i: usize, phone: &str, days: i64| appeal(Channel::Hotline12345, &format!("A{i}"), phone, A[i], ago(days), None);
    let bb = |i: usize, days: i64| appeal(Channel::Grid, &format!("B{i}"), "13955550000", B[i], ago(days), None);
    let p = start(&b).await;
    // A: three citizens; B: one citizen three times, days apart.
    p.bus.publish_raw(vec![a(0, "13811110001", 20), bb(0, 20)]).await.unwrap();
    p.bus.publish_raw(vec![a(1, "13811110002", 15), bb(1, 12)]).await.unwrap();
    p.bus.publish_raw(vec![a(2, "13811110003", 10), bb(2, 5)]).await.unwrap();
    let before = clusters_by_source(&p.store).await;
    assert_eq!(before.len(), 6);
    assert!(["A1", "A2"].iter().all(|id| before[*id] == before["A0"]), "{before:?}");
    assert!(["B1", "B2"].iter().all(|id| before[*id] == before["B0"]), "{before:?}");
    assert_ne!(before["A0"], before["B0"]);
    let mut esc = p.store.escalations().await.unwrap();
    esc.sort_by_key(|e| e.citizen_key.is_some());
    assert_eq!(esc.len(), 2, "{esc:?}");
    assert_eq!(
        (esc[0].cluster_id.as_str(), esc[0].citizen_key.is_none()),
        (before["A0"].as_str(), true)
    );
    assert_eq!(
        (esc[1].cluster_id.as_str(), esc[1].citizen_key.is_some()),
        (before["B0"].as_str(), true)
    );
    p.cancel.cancel();

    // A new process rebuilds the engine from the store: the fourth report
    // of each joins its cluster and escalates nothing again.
    let p = start(&b).await;
    p.bus.publish_raw(vec![a(3, "13811110004", 1), bb(3, 1)]).await.unwrap();
    assert_eq!(p.store.escalations().await.unwrap().len(), 2, "no second escalation");
    let after = clusters_by_source(&p.store).await;
    assert_eq!(
        (after["A3"].as_str(), after["B3"].as_str()),
        (before["A0"].as_str(), before["B0"].as_str())
    );
    let view = b.clusters().await;
    assert_eq!(view.len(), 2, "{view:?}");
    assert_eq!(view[0].0, before["A0"]);
    assert_eq!((view[0].1.as_deref(), view[0].2, view[0].3), (Some("金湖街道"), 4, 4));
    assert_eq!((view[1].2, view[1].3), (4, 1));
    counts_agree_with_the_view(&b, &p.store).await;
    p.cancel.cancel();
}

async fn bridge_and_merge(b: Backend) {
    const X: &str = "灵乡镇新街菜市场门口的下水道堵塞了半个月，污水漫到路面上，臭味很大。";
    const Y: &str = "附近商户和居民出行很不方便，买菜的老人摔倒过好几次，存在很大安全隐患。";
    const Z: &str = "旁边的路灯也坏了十几盏，晚上一片漆黑，多次打电话反映一直没有人来处理。";
    let p = start(&b).await;
    // Blocked by town: the address places all three in 灵乡镇.
    let one = |i: usize, phone: &str, text: String, days: i64| {
        appeal(Channel::Supervision, &format!("M{i}"), phone, &text, ago(days), Some("灵乡镇新街"))
    };
    p.bus.publish_raw(vec![one(0, "13800000001", [X, Y].concat(), 3)]).await.unwrap();
    p.bus.publish_raw(vec![one(1, "13800000002", [Y, Z].concat(), 2)]).await.unwrap();
    let apart = clusters_by_source(&p.store).await;
    assert_ne!(apart["M0"], apart["M1"], "a third in common is not one issue");
    counts_agree_with_the_view(&b, &p.store).await;
    p.bus.publish_raw(vec![one(2, "13800000003", [X, Y, Z].concat(), 1)]).await.unwrap();
    let merged = clusters_by_source(&p.store).await;
    assert!(merged.values().all(|c| *c == apart["M0"]), "{merged:?}");
    assert_eq!(p.store.cluster_count(3).await.unwrap(), 1);
    counts_agree_with_the_view(&b, &p.store).await;
    p.cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_each_trigger_escalates_once_and_bridges_merge() {
    let dir = tempfile::tempdir().unwrap();
    escalate_once(Backend::Sqlite(dir.path().join("a.db"))).await;
    bridge_and_merge(Backend::Sqlite(dir.path().join("b.db"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_each_trigger_escalates_once_and_bridges_merge() {
    let Some(b) = postgres("clusters on PostgreSQL").await else {
        return;
    };
    escalate_once(b.clone()).await;
    drop_postgres(&b).await;
    let Some(b) = postgres("clusters on PostgreSQL").await else {
        return;
    };
    bridge_and_merge(b.clone()).await;
    drop_postgres(&b).await;
}

/// Intake commits batches concurrently, so a ticket can reach a store after
/// the merge of its cluster, and merges can arrive out of order: the store
/// still ends with every ticket in the surviving cluster.
async fn late_tickets_and_reordered_merges(b: Backend) {
    use minqing_pipelines::ticket::{EventPayload, EventType, TicketEvent};
    let store = b.open().await;
    let g = Gazetteer::from_toml(include_str!("../../config/gazetteer.toml")).unwrap();
    let n = Normalizer::new(Settings::default(), g);
    let ticket = |id: &str, cluster: &str| {
        let Inbound::Appeal(a) = appeal(Channel::Grid, id, "13800000009", &format!("金湖街道{id}号路灯不亮"), ago(1), None) else {
            unreachable!()
        };
        let mut t = n.normalize(&a).unwrap();
        t.cluster_id = Some(cluster.to_owned());
        t
    };
    let received = |t: &minqing_pipelines::ticket::Ticket| TicketEvent::received(t.clone());
    let merge = |on: &minqing_pipelines::ticket::Ticket, into: &str, from: &str| {
        TicketEvent::new(
            on.ticket_id,
            on.channel,
            EventType::ClustersMerged,
            "",
            on.received_at,
            EventPayload::ClustersMerged {
                into: into.to_owned(),
                from: vec![from.to_owned()],
            },
        )
    };
    let c: Vec<String> = (0..3).map(|i| uuid::Uuid::from_u128(i + 1).to_string()).collect();
    let (t0, t1, t2, t3) = (ticket("L0", &c[0]), ticket("L1", &c[1]), ticket("L2", &c[2]), ticket("L3", &c[1]));
    // C2 merges into C1 first, then C1 into C0 (out of order), and a
    // ticket of C1 arrives after both.
    store.apply_events(&[received(&t0), received(&t2)]).await.unwrap();
    store.apply_events(&[received(&t3), merge(&t3, &c[1], &c[2])]).await.unwrap();
    store.apply_events(&[merge(&t0, &c[0], &c[1])]).await.unwrap();
    store.apply_events(&[received(&t1)]).await.unwrap();
    let rows = store.neardup_history(i64::MAX / 2).await.unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r.cluster_id.as_deref() == Some(c[0].as_str())), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_tickets_join_the_surviving_cluster_on_both_stores() {
    let dir = tempfile::tempdir().unwrap();
    late_tickets_and_reordered_merges(Backend::Sqlite(dir.path().join("l.db"))).await;
    let Some(b) = postgres("late tickets on PostgreSQL").await else {
        return;
    };
    late_tickets_and_reordered_merges(b.clone()).await;
    drop_postgres(&b).await;
}
