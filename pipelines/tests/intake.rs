//! Intake over a real SQLite store and the memory bus: tickets, replays,
//! duplicates, edits and quarantine, before and after a restart.

mod common;

use minqing_connectors::{Channel, Inbound, RawAppeal, Rejected};
use minqing_pipelines::bus::memory::MemoryBus;
use minqing_pipelines::bus::{Bus, EventQueue};
use minqing_pipelines::dedup::DedupIndex;
use minqing_pipelines::intake::Intake;
use minqing_pipelines::normalize::{Gazetteer, Normalizer, Settings};
use minqing_pipelines::store::sqlite::SqliteStore;
use minqing_pipelines::store::{EventStore, QuarantineQuery, QuarantineStore};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

fn appeal(ch: Channel, id: &str, phone: &str, text: &str, at: &str, version: u32) -> Inbound {
    let at = chrono::DateTime::parse_from_rfc3339(at).unwrap();
    let mut a = RawAppeal {
        version,
        location: Some("金湖街道".into()),
        raw: format!("{{\"id\":\"{id}\"}}"),
        ..RawAppeal::plain(ch, id, at, Some(phone), text)
    };
    a.contact.name = Some("王伟".into());
    Inbound::Appeal(Box::new(a))
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
async fn start_with_cache(dir: &std::path::Path, cache: usize) -> Pipe {
    let store = Arc::new(SqliteStore::open(&dir.join("minqing.db")).await.unwrap());
    let bus = Arc::new(MemoryBus::new(&[EventQueue::Workflow], 1000));
    let cancel = CancellationToken::new();
    let g = Gazetteer::from_toml(include_str!("../../config/gazetteer.toml")).unwrap();
    let stats = Arc::new(Default::default());
    let intake = Intake {
        normalizer: Arc::new(Normalizer::new(
            Settings {
                max_content_bytes: 200,
                ..Settings::default()
            },
            g,
        )),
        store: store.clone(),
        bus: bus.clone(),
        index: DedupIndex::new(72, cache),
        stats: Arc::clone(&stats),
        triage: None,
        neardup: None,
        max_in_flight: 4,
        workflow: None,
    };
    common::run_intake(intake, &bus, store.clone(), &cancel).await;
    Pipe { bus, store, cancel, stats }
}

fn batch() -> Vec<Inbound> {
    let original = appeal(
        Channel::Hotline12345,
        "GD1",
        "13812345678",
        "港湖村路灯坏了",
        "2026-06-01T09:00:00+08:00",
        0,
    );
    vec![
        original.clone(),
        // The same record again: a replay.
        original,
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
            occurrence: None,
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
    let tickets: u64 = counts.values().map(|c| c.tickets).sum();
    assert!(tickets > 0);
    assert_eq!(p.store.ticket_count().await.unwrap(), tickets, "the cheap count agrees");
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

/// The batch as a pull would hand it on: each record found at its own
/// place in the channel's feed.
fn pulled() -> Vec<Inbound> {
    let mut items = batch();
    for (i, item) in items.iter_mut().enumerate() {
        item.set_occurrence(minqing_connectors::appeal::occurrence(item.channel(), Some("page-7"), i));
    }
    items
}

/// Issue 31, item 14: a page read again after our own fault (its publish
/// failed, or the broker delivered it again) is counted apart, as
/// `redelivered`, not as the channel's replays; what the channel itself
/// sent twice stays a replay, each record once either way.
#[tokio::test]
async fn our_own_redeliveries_are_not_counted_as_the_channels_replays() {
    let dir = tempfile::tempdir().unwrap();
    let p = start(dir.path()).await;
    p.bus.publish_raw(pulled()).await.unwrap();
    let first = p.stats.snapshot();
    // The page again, as after a publish whose confirm was lost.
    p.bus.publish_raw(pulled()).await.unwrap();
    let s = p.stats.snapshot();
    let sum = |f: fn(&minqing_pipelines::intake::CountersSnapshot) -> u64, s: &std::collections::BTreeMap<Channel, _>| {
        s.values().map(f).sum::<u64>()
    };
    assert_eq!(sum(|c| c.replays, &s), sum(|c| c.replays, &first), "the channel's replays only");
    assert_eq!(sum(|c| c.tickets + c.quarantined, &s), sum(|c| c.tickets + c.quarantined, &first));
    assert_eq!(sum(|c| c.updates, &s), 1);
    assert_eq!(sum(|c| c.redelivered, &s), batch().len() as u64, "every record of the page again");
    // The same records at other places in the feed are the channel's resends.
    let mut elsewhere = batch();
    for (i, item) in elsewhere.iter_mut().enumerate() {
        item.set_occurrence(minqing_connectors::appeal::occurrence(item.channel(), Some("page-9"), i));
    }
    p.bus.publish_raw(elsewhere).await.unwrap();
    let s = p.stats.snapshot();
    assert_eq!(sum(|c| c.replays, &s), sum(|c| c.replays, &first) + batch().len() as u64);
    assert_eq!(sum(|c| c.redelivered, &s), batch().len() as u64);
    p.cancel.cancel();
}

/// A batch that fails after its quarantine committed (its events were
/// refused) and is sent again: its malformed record is still counted as
/// quarantined, not as the channel's replay (the PostgreSQL-kill test once
/// found 4 of 121 so).
#[tokio::test]
async fn a_batch_sent_again_after_it_failed_counts_its_quarantine_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("minqing.db")).await.unwrap());
    let bus = Arc::new(MemoryBus::new(&[EventQueue::Workflow], 1000));
    let cancel = CancellationToken::new();
    let g = Gazetteer::from_toml(include_str!("../../config/gazetteer.toml")).unwrap();
    let stats: Arc<minqing_pipelines::intake::IntakeStats> = Arc::new(Default::default());
    let intake = Intake {
        normalizer: Arc::new(Normalizer::new(Settings::default(), g)),
        store: store.clone(),
        bus: bus.clone(),
        index: DedupIndex::new(72, 100_000),
        stats: stats.clone(),
        triage: None,
        neardup: None,
        max_in_flight: 1,
        workflow: None,
    };
    tokio::spawn(intake.run(bus.consume_raw().await.unwrap(), cancel.clone()));
    // The workflow queue refuses the first delivery, then takes all.
    let mut workflow = bus.consume_events(EventQueue::Workflow).await.unwrap();
    tokio::spawn(async move {
        let mut first = true;
        while let Some(d) = workflow.next().await {
            if std::mem::take(&mut first) {
                d.nack("disk full".into()).await.unwrap();
            } else {
                d.ack().await.unwrap();
            }
        }
    });
    let page = || {
        let mut items = vec![
            appeal(Channel::Police110, "J2", "13800000001", "路灯不亮", "2026-06-01T09:00:00+08:00", 0),
            batch().pop().unwrap(),
        ];
        for (i, item) in items.iter_mut().enumerate() {
            item.set_occurrence(minqing_connectors::appeal::occurrence(item.channel(), Some("p1"), i));
        }
        items
    };
    assert!(bus.publish_raw(page()).await.is_err(), "the first try fails");
    bus.publish_raw(page()).await.unwrap();
    let s = stats.snapshot()[&Channel::Police110];
    assert_eq!((s.tickets, s.quarantined, s.replays, s.redelivered), (1, 1, 0, 0), "{s:?}");
    cancel.cancel();
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
    // Its citizen is told the first ticket's number.
    let (payload, no): (String, String) = sqlx::query_as(
        "SELECT e.payload, o.short_no FROM ticket_events e JOIN tickets o ON o.ticket_id = ? \
         WHERE e.event_type = 'duplicate_linked'",
    )
    .bind(&original)
    .fetch_one(p.store.pool())
    .await
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(v["original_no"], no.as_str());
    assert!(v["reply"].as_str().unwrap().contains(&no), "{v}");
}
