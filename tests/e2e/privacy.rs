use crate::helpers::{personal, settings, shows_personal};
use minqing::runtime::start_pipeline;
use minqing_pipelines::store::pool::connect;
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
