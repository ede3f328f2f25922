//! Intake over a real SQLite store and the memory bus: tickets, replays,
//! duplicates, edits and quarantine, before and after a restart.

use minqing_connectors::{Channel, Contact, Inbound, RawAppeal, Rejected};
use minqing_pipelines::bus::memory::MemoryBus;
use minqing_pipelines::bus::{Bus, EventQueue};
use minqing_pipelines::dedup::DedupIndex;
use minqing_pipelines::intake::Intake;
use minqing_pipelines::neardup::Params;
use minqing_pipelines::neardup::stage::Stage;
use minqing_pipelines::normalize::{Gazetteer, Normalizer, Settings};
use minqing_pipelines::sink::{Batching, StoreTarget, run_sink};
use minqing_pipelines::store::sqlite::SqliteStore;
use minqing_pipelines::store::{QuarantineQuery, WorkflowStore};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

fn appeal(ch: Channel, id: &str, phone: &str, text: &str, at: &str, version: u32) -> Inbound {
    Inbound::Appeal(Box::new(RawAppeal {
        channel: ch,
        source_id: id.into(),
        version,
        received_at: chrono::DateTime::parse_from_rfc3339(at).unwrap(),
        title: None,
        content: text.into(),
        contact: Contact {
            name: Some("王伟".into()),
            phone: Some(phone.into()),
            openid: None,
            anonymous: false,
        },
        location: Some("金湖街道".into()),
        coordinates: None,
        appeal_type_code: None,
        category_code: None,
        attachments: vec![],
        raw: format!("{{\"id\":\"{id}\"}}"),
        accepted_at: None,
    }))
}

struct Pipe {
    bus: Arc<MemoryBus>,
    store: Arc<SqliteStore>,
    cancel: CancellationToken,
    stats: Arc<minqing_pipelines::intake::IntakeStats>,
}

async fn start(dir: &std::path::Path) -> Pipe {
    start_with_cache(dir, 100_000).await
}

/// `cache`: how many tickets intake may hold in memory; below the store's
/// size it looks tickets up in the store for every batch.
async fn start_with_neardup(dir: &std::path::Path) -> Pipe {
    start_full(dir, 100_000, true).await
}

async fn start_with_cache(dir: &std::path::Path, cache: usize) -> Pipe {
    start_full(dir, cache, false).await
}

async fn start_full(dir: &std::path::Path, cache: usize, neardup: bool) -> Pipe {
    let store = Arc::new(SqliteStore::open(&dir.join("minqing.db")).await.unwrap());
    let bus = Arc::new(MemoryBus::new(&[EventQueue::Workflow], 1000));
    let cancel = CancellationToken::new();
    let g = Gazetteer::from_toml(include_str!("../../config/gazetteer.toml")).unwrap();
    let stats = Arc::new(Default::default());
    let intake = Intake {
        normalizer: Arc::new(Normalizer::new(
            Settings {
                // Small enough for batch()'s oversize record; the
                // near-duplicate texts are longer.
                max_content_bytes: if neardup { 4000 } else { 200 },
                ..Settings::default()
            },
            g,
        )),
        store: store.clone(),
        bus: bus.clone(),
        index: DedupIndex::new(72, cache),
        stats: Arc::clone(&stats),
        triage: None,
        neardup: neardup.then(|| Stage::new(&Params::default())),
        max_in_flight: 4,
    };
    tokio::spawn(intake.run(bus.consume_raw().await.unwrap(), cancel.clone()));
    tokio::spawn(run_sink(
        Arc::new(StoreTarget::new(store.clone(), Default::default())),
        bus.consume_events(EventQueue::Workflow).await.unwrap(),
        Batching::default(),
        cancel.clone(),
    ));
    Pipe { bus, store, cancel, stats }
}

fn batch() -> Vec<Inbound> {
    vec![
        appeal(
            Channel::Hotline12345,
            "GD1",
            "13812345678",
            "港湖村路灯坏了",
            "2026-06-01T09:00:00+08:00",
            0,
        ),
        appeal(
            Channel::Hotline12345,
            "GD1",
            "13812345678",
            "港湖村路灯坏了",
            "2026-06-01T09:00:00+08:00",
            0,
        ),
        appeal(
            Channel::Supervision,
            "JD1",
            "+86 138 1234 5678",
            "港湖村路灯坏了！",
            "2026-06-02T09:00:00+08:00",
            0,
        ),
        appeal(
            Channel::YunshangApp,
            "ys1",
            "13900000000",
            "垃圾没人清运",
            "2026-06-01T09:00:00+08:00",
            1,
        ),
        appeal(
            Channel::YunshangApp,
            "ys1",
            "13900000000",
            "垃圾没人清运（补充）",
            "2026-06-01T09:00:00+08:00",
            2,
        ),
        appeal(
            Channel::Grid,
            "WG1",
            "13700000000",
            &"长".repeat(100),
            "2026-06-01T09:00:00+08:00",
            0,
        ),
        Inbound::Rejected(Rejected {
            channel: Channel::Police110,
            source_id: Some("J1".into()),
            raw: vec![0xFF, 0x3C],
            reason: "bad GBK".into(),
        }),
    ]
}

#[tokio::test]
async fn a_batch_becomes_tickets_and_a_restart_sees_only_replays() {
    let dir = tempfile::tempdir().unwrap();
    let p = start(dir.path()).await;
    p.bus.publish_raw(batch()).await.unwrap();
    let counts = p.store.channel_counts().await.unwrap();
    assert_eq!(counts[&Channel::Hotline12345].tickets, 1);
    assert_eq!(counts[&Channel::Supervision].duplicates, 1);
    assert_eq!(counts[&Channel::YunshangApp].tickets, 1);
    assert_eq!(counts[&Channel::Grid].quarantined, 1, "oversize text is quarantined");
    assert_eq!(counts[&Channel::Police110].quarantined, 1);
    let s = p.stats.snapshot();
    assert_eq!((s[&Channel::Hotline12345].tickets, s[&Channel::Hotline12345].replays), (1, 1));
    assert_eq!(s[&Channel::YunshangApp].updates, 1);
    let content: String = sqlx::query_scalar("SELECT content FROM tickets WHERE source_id = 'ys1'")
        .fetch_one(p.store.pool())
        .await
        .unwrap();
    assert_eq!(content, "垃圾没人清运(补充)", "the newer version replaced the text");
    let q = p.store.list_quarantine(&QuarantineQuery::default()).await.unwrap();
    assert!(q.iter().any(|r| r.reason.contains("oversize")));
    p.cancel.cancel();

    // A new process on the same data: a cold cache, the same answers.
    let p2 = start(dir.path()).await;
    p2.bus.publish_raw(batch()).await.unwrap();
    let again = p2.store.channel_counts().await.unwrap();
    for c in Channel::ALL {
        let (a, b) = (
            counts.get(&c).copied().unwrap_or_default(),
            again.get(&c).copied().unwrap_or_default(),
        );
        assert_eq!(
            (a.tickets, a.duplicates, a.quarantined),
            (b.tickets, b.duplicates, b.quarantined),
            "{c}"
        );
    }
    let s = p2.stats.snapshot();
    let total: u64 = s.values().map(|c| c.tickets + c.quarantined).sum();
    assert_eq!(total, 0, "a second delivery creates nothing");
    assert_eq!(s.values().map(|c| c.replays).sum::<u64>(), 7);
}

#[tokio::test]
async fn with_a_cache_smaller_than_the_store_intake_asks_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let p = start(dir.path()).await;
    p.bus.publish_raw(batch()).await.unwrap();
    let before = p.store.channel_counts().await.unwrap();
    p.cancel.cancel();

    // Capacity 1 against 5 stored tickets: every batch is looked up.
    let p = start_with_cache(dir.path(), 1).await;
    p.bus.publish_raw(batch()).await.unwrap();
    assert_eq!(p.store.channel_counts().await.unwrap(), before, "replays change nothing");
    let s = p.stats.snapshot();
    assert_eq!(s.values().map(|c| c.tickets).sum::<u64>(), 0);

    // Same citizen, same text, a day later on another channel: found in the store.
    let dup = appeal(
        Channel::Grid,
        "WG2",
        "138-1234-5678",
        "港湖村路灯坏了",
        "2026-06-02T10:00:00+08:00",
        0,
    );
    // Five days later: outside the 72-hour window, a new original.
    let late = appeal(
        Channel::Tax12366,
        "NS9",
        "13812345678",
        "港湖村路灯坏了",
        "2026-06-06T10:00:00+08:00",
        0,
    );
    p.bus.publish_raw(vec![dup]).await.unwrap();
    p.bus.publish_raw(vec![late]).await.unwrap();
    let after = p.store.channel_counts().await.unwrap();
    assert_eq!(after[&Channel::Grid].duplicates, 1);
    assert_eq!(after[&Channel::Tax12366].tickets, 1);
    assert_eq!(after[&Channel::Tax12366].duplicates, 0);
    let root: String = sqlx::query_scalar("SELECT duplicate_of FROM tickets WHERE source_id = 'WG2'")
        .fetch_one(p.store.pool())
        .await
        .unwrap();
    let original: String = sqlx::query_scalar("SELECT ticket_id FROM tickets WHERE source_id = 'GD1'")
        .fetch_one(p.store.pool())
        .await
        .unwrap();
    assert_eq!(root, original, "the duplicate points at the first ticket");
}

/// Intake with the near-duplicate engine: a 3-citizen issue and a citizen
/// reporting one issue 3 times in a month each escalate exactly once, and
/// a restart (the engine rebuilt from the store) neither repeats them nor
/// splits the clusters.
#[tokio::test]
async fn same_issue_clusters_escalate_once_across_a_restart() {
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
    let at = |days_ago: i64| (chrono::Utc::now() - chrono::Duration::days(days_ago)).to_rfc3339();
    let a = |i: usize, phone: &str, days_ago: i64| appeal(Channel::Hotline12345, &format!("A{i}"), phone, A[i], &at(days_ago), 0);
    let b = |i: usize, days_ago: i64| appeal(Channel::Grid, &format!("B{i}"), "13955550000", B[i], &at(days_ago), 0);
    let dir = tempfile::tempdir().unwrap();
    let p = start_with_neardup(dir.path()).await;
    // A: three citizens; B: one citizen three times, days apart.
    p.bus.publish_raw(vec![a(0, "13811110001", 20), b(0, 20)]).await.unwrap();
    p.bus.publish_raw(vec![a(1, "13811110002", 15), b(1, 12)]).await.unwrap();
    p.bus.publish_raw(vec![a(2, "13811110003", 10), b(2, 5)]).await.unwrap();
    let escalations = |store: Arc<SqliteStore>| async move {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT t.source_id, e.payload FROM ticket_events e JOIN tickets t ON t.seq = e.ticket_seq \
             WHERE e.event_type = 'escalated' ORDER BY t.source_id",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        rows
    };
    let got = escalations(p.store.clone()).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, "A2");
    assert!(
        got[0].1.contains("\"trigger\":\"citizens\"") && got[0].1.contains("3名群众"),
        "{}",
        got[0].1
    );
    assert_eq!(got[1].0, "B2");
    assert!(got[1].1.contains("\"trigger\":\"same_citizen\""), "{}", got[1].1);
    let clusters = |store: Arc<SqliteStore>| async move {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT source_id, cluster_id FROM tickets ORDER BY source_id")
            .fetch_all(store.pool())
            .await
            .unwrap();
        rows
    };
    let before = clusters(p.store.clone()).await;
    let cluster_of = |rows: &[(String, String)], id: &str| rows.iter().find(|r| r.0 == id).unwrap().1.clone();
    assert!(["A1", "A2"].iter().all(|id| cluster_of(&before, id) == cluster_of(&before, "A0")));
    assert!(["B1", "B2"].iter().all(|id| cluster_of(&before, id) == cluster_of(&before, "B0")));
    assert_ne!(cluster_of(&before, "A0"), cluster_of(&before, "B0"));
    p.cancel.cancel();

    // A new process rebuilds the engine from the store: the fourth report
    // of each joins its cluster and escalates nothing again.
    let p = start_with_neardup(dir.path()).await;
    p.bus.publish_raw(vec![a(3, "13811110004", 1), b(3, 1)]).await.unwrap();
    assert_eq!(escalations(p.store.clone()).await.len(), 2, "no second escalation");
    let after = clusters(p.store.clone()).await;
    assert_eq!(cluster_of(&after, "A3"), cluster_of(&before, "A0"));
    assert_eq!(cluster_of(&after, "B3"), cluster_of(&before, "B0"));
    // The clusters view: title, town, members, distinct citizens.
    let view: Vec<(String, Option<String>, i64, i64)> =
        sqlx::query_as("SELECT cluster_id, town, members, citizens FROM clusters ORDER BY members DESC, citizens DESC")
            .fetch_all(p.store.pool())
            .await
            .unwrap();
    assert_eq!(view.len(), 2, "{view:?}");
    assert_eq!(view[0].0, cluster_of(&before, "A0"));
    assert_eq!((view[0].1.as_deref(), view[0].2, view[0].3), (Some("金湖街道"), 4, 4));
    assert_eq!((view[1].2, view[1].3), (4, 1));
    p.cancel.cancel();
}

/// A ticket that bridges two clusters merges them in the store too: the
/// younger cluster's tickets take the older cluster's id.
#[tokio::test]
async fn a_bridging_ticket_merges_clusters_in_the_store() {
    const X: &str = "灵乡镇新街菜市场门口的下水道堵塞了半个月，污水漫到路面上，臭味很大。";
    const Y: &str = "附近商户和居民出行很不方便，买菜的老人摔倒过好几次，存在很大安全隐患。";
    const Z: &str = "旁边的路灯也坏了十几盏，晚上一片漆黑，多次打电话反映一直没有人来处理。";
    let at = |hours_ago: i64| (chrono::Utc::now() - chrono::Duration::hours(hours_ago)).to_rfc3339();
    let dir = tempfile::tempdir().unwrap();
    let p = start_with_neardup(dir.path()).await;
    let one = |id: &str, phone: &str, text: String, h: i64| appeal(Channel::Grid, id, phone, &text, &at(h), 0);
    p.bus.publish_raw(vec![one("M1", "13800000001", [X, Y].concat(), 5)]).await.unwrap();
    p.bus.publish_raw(vec![one("M2", "13800000002", [Y, Z].concat(), 4)]).await.unwrap();
    p.bus
        .publish_raw(vec![one("M3", "13800000003", [X, Y, Z].concat(), 3)])
        .await
        .unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT source_id, cluster_id FROM tickets ORDER BY source_id")
        .fetch_all(p.store.pool())
        .await
        .unwrap();
    let first: String = sqlx::query_scalar("SELECT ticket_id FROM tickets WHERE source_id = 'M1'")
        .fetch_one(p.store.pool())
        .await
        .unwrap();
    assert!(rows.iter().all(|r| r.1 == first), "{rows:?}");
    let merges: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ticket_events WHERE event_type = 'clusters_merged'")
        .fetch_one(p.store.pool())
        .await
        .unwrap();
    assert_eq!(merges, 1);
    p.cancel.cancel();
}
