//! Events that overtake their ticket (batches published concurrently, a
//! redelivery at the back of its queue) are deferred by the embedded
//! backends, not applied out of order or refused, and apply once the
//! ticket is there.

use chrono::DateTime;
use minqing_connectors::Channel;
use minqing_pipelines::store::EventStore;
use minqing_pipelines::store::sqlite::SqliteStore;
use minqing_pipelines::ticket::{Ticket, TicketEvent};
use minqing_pipelines::warehouse::Warehouse;
use minqing_pipelines::warehouse::sqlite::SqliteWarehouse;

fn ticket() -> Ticket {
    let at = DateTime::parse_from_rfc3339("2026-06-01T09:00:00+08:00").unwrap();
    Ticket {
        town: Some("东岳路街道".into()),
        ..Ticket::bare(Channel::Grid, "g-1", "东岳路路灯不亮", at)
    }
}

fn events(t: &Ticket) -> (TicketEvent, TicketEvent) {
    let received = TicketEvent::received(t.clone());
    let mut newer = t.clone();
    newer.version = 1;
    newer.content = "东岳路路灯不亮，已经一周了".into();
    newer.text_hash = "h1".into();
    let edit = TicketEvent::updated(&newer);
    (received, edit)
}

#[tokio::test]
async fn the_workflow_store_defers_an_edit_until_its_ticket_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("m.db")).await.unwrap();
    let t = ticket();
    let (received, edit) = events(&t);
    let early = store.apply_events(std::slice::from_ref(&edit)).await.unwrap();
    assert_eq!((early.new, early.deferred), (0, vec![edit.event_id]));
    assert_eq!(store.known_tickets(&[t.ticket_id]).await.unwrap().len(), 0);
    // The ticket, then the edit again: both apply.
    assert_eq!(store.apply_events(&[received]).await.unwrap().new, 1);
    let late = store.apply_events(&[edit]).await.unwrap();
    assert_eq!((late.new, late.deferred.len()), (1, 0));
    assert_eq!(store.known_tickets(&[t.ticket_id]).await.unwrap()[&t.ticket_id], 1);
}

#[tokio::test]
async fn the_warehouse_defers_an_edit_until_its_ticket_is_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let wh = SqliteWarehouse::open(&dir.path().join("w.db")).await.unwrap();
    let t = ticket();
    let (received, edit) = events(&t);
    assert_eq!(wh.write(std::slice::from_ref(&edit)).await.unwrap(), vec![edit.event_id]);
    assert_eq!(wh.counts().await.unwrap().events, 0);
    assert!(wh.write(&[received]).await.unwrap().is_empty());
    assert!(wh.write(&[edit]).await.unwrap().is_empty());
    let c = wh.counts().await.unwrap();
    assert_eq!((c.tickets, c.events, c.daily_total), (1, 2, 1));
    let (version, content): (i64, String) = sqlx::query_as("SELECT version, content FROM tickets")
        .fetch_one(wh.pool())
        .await
        .unwrap();
    assert_eq!((version, content.as_str()), (1, "东岳路路灯不亮，已经一周了"));
}
