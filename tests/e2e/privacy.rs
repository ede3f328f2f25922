use crate::helpers::{personal, settings, shows_personal};
use minqing::runtime::start_pipeline;
use minqing_pipelines::db::pool::connect;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// On the embedded default: the workflow store keeps the contact for the
/// return visit; the SQLite warehouse holds no phone, name, ID number or
/// plate, in its columns or inside the appeal's text and the reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_stays_out_of_the_sqlite_warehouse() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path());
    let (cancel, tracker) = (CancellationToken::new(), TaskTracker::new());
    let pipe = start_pipeline(&s, &tracker, &cancel).await.unwrap();
    let events = personal("privacy-1");
    let id = events[0].ticket_id;
    pipe.bus.publish_events(events).await.unwrap();
    // The warehouse's copies leave through the store's outbox.
    pipe.relay.drain().await.unwrap();
    cancel.cancel();
    tracker.close();
    tracker.wait().await;

    let store = connect::<sqlx::Sqlite>(&format!("sqlite://{}", dir.path().join("minqing.db").display()))
        .await
        .unwrap();
    let phone: String = sqlx::query_scalar("SELECT contact_phone FROM tickets WHERE ticket_id = ?")
        .bind(id.to_string())
        .fetch_one(&store)
        .await
        .unwrap();
    assert_eq!(phone, "13912345678", "the return visit needs the phone");

    let wh = connect::<sqlx::Sqlite>(&format!("sqlite://{}", dir.path().join("warehouse.db").display()))
        .await
        .unwrap();
    let (content, key_id): (String, String) = sqlx::query_as("SELECT content, citizen_key_id FROM tickets WHERE ticket_id = ?")
        .bind(id.to_string())
        .fetch_one(&wh)
        .await
        .unwrap();
    assert!(!shows_personal(&content), "{content}");
    assert!(
        content.contains("[手机号]") && content.contains("[身份证号]") && content.contains("[车牌]"),
        "{content}"
    );
    assert_eq!(key_id, "", "the fixture's ticket carries no key id");
    let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info('tickets')")
        .fetch_all(&wh)
        .await
        .unwrap();
    assert!(!columns.iter().any(|c| c == "phone_masked"), "{columns:?}");
    let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM ticket_events")
        .fetch_all(&wh)
        .await
        .unwrap();
    assert_eq!(payloads.len(), 2);
    for p in &payloads {
        assert!(!shows_personal(p), "{p}");
    }
}

/// Messages queued with clear text by an earlier version (or an old
/// instance during an upgrade) are masked by the warehouse sink itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_warehouse_sink_masks_what_came_unmasked() {
    use minqing_pipelines::sink::{Target, WarehouseTarget};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("warehouse.db");
    let wh = minqing_pipelines::warehouse::sqlite::SqliteWarehouse::open(&path).await.unwrap();
    let target = WarehouseTarget::new(std::sync::Arc::new(wh), Default::default());
    target.write(&personal("privacy-3")).await.unwrap();
    let pool = connect::<sqlx::Sqlite>(&format!("sqlite://{}", path.display())).await.unwrap();
    let content: String = sqlx::query_scalar("SELECT content FROM tickets").fetch_one(&pool).await.unwrap();
    assert!(content.contains("[手机号]") && !shows_personal(&content), "{content}");
    let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM ticket_events")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(payloads.iter().all(|p| !shows_personal(p)), "{payloads:?}");
}

/// A 12345 call from `phone` on 1 June 2026 plus `day` days.
fn call(source_id: &str, phone: &str, day: u32) -> minqing_connectors::Inbound {
    let at = chrono::DateTime::parse_from_rfc3339(&format!("2026-06-{:02}T09:00:00+08:00", 1 + day)).unwrap();
    let content = "金湖街道港湖村路灯坏了两个月，晚上出行很不方便";
    minqing_connectors::Inbound::Appeal(Box::new(crate::helpers::raw_call(source_id, phone, at, content)))
}

/// Ingests `items` on the embedded default and waits for the warehouse.
async fn ingest(s: &minqing::config::Settings, items: Vec<minqing_connectors::Inbound>) {
    let (cancel, tracker) = (CancellationToken::new(), TaskTracker::new());
    let pipe = start_pipeline(s, &tracker, &cancel).await.unwrap();
    pipe.bus.publish_raw(items).await.unwrap();
    pipe.relay.drain().await.unwrap();
    cancel.cancel();
    tracker.close();
    tracker.wait().await;
}

/// Issue 31, item 2: after the citizen key is rotated (k1 retired, k2 in
/// use), a citizen's tickets from before and after are still one citizen:
/// the warehouse links the two keys, and the same text a day later is
/// still the first call's duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_stays_one_citizen_across_a_key_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    ingest(&s, vec![call("ROT-1", "13912345678", 0), call("ROT-X", "13700000001", 0)]).await;
    let old = s.pipeline.citizen_key_secret.clone();
    s.pipeline.citizen_key_id = "k2".into();
    s.pipeline.citizen_key_secret = "a-new-key-for-the-citizen-hash-of-40-chars".into();
    s.pipeline.previous_citizen_keys = vec![minqing_pipelines::normalize::RetiredKey {
        id: "k1".into(),
        secret: old,
    }];
    assert!(minqing::secrets::findings(&s).is_empty(), "{:?}", minqing::secrets::findings(&s));
    ingest(&s, vec![call("ROT-2", "13912345678", 1)]).await;

    let wh = connect::<sqlx::Sqlite>(&format!("sqlite://{}", dir.path().join("warehouse.db").display()))
        .await
        .unwrap();
    let rows: Vec<(String, String, String, String)> =
        sqlx::query_as("SELECT source_id, citizen_key, citizen_key_id, duplicate_of FROM tickets ORDER BY source_id")
            .fetch_all(&wh)
            .await
            .unwrap();
    let (first, second) = (&rows[0], &rows[1]);
    assert_eq!((first.0.as_str(), second.0.as_str()), ("ROT-1", "ROT-2"));
    assert_ne!(first.1, second.1, "a new key gives a new citizen_key");
    assert_eq!((first.2.as_str(), second.2.as_str()), ("k1", "k2"));
    assert!(!second.3.is_empty(), "the same call a day later is still a duplicate");
    // "The same citizen", as an analyst asks it across the rotation.
    let same: Vec<(String, String)> = sqlx::query_as(
        "SELECT a.source_id, b.source_id FROM tickets a \
         JOIN citizen_key_links l ON l.previous_key_id = a.citizen_key_id AND l.previous_key = a.citizen_key \
         JOIN tickets b ON b.citizen_key_id = l.key_id AND b.citizen_key = l.citizen_key",
    )
    .fetch_all(&wh)
    .await
    .unwrap();
    assert_eq!(same, [("ROT-1".to_owned(), "ROT-2".to_owned())]);
}
