//! Work orders in both workflow stores: an order arrives with its dispatch
//! event, actions commit only on the version they were decided on, a
//! retried action with the same idempotency key gets the first answer, a
//! redelivered old event never winds an order back, the SLA sweep finds
//! what is late by index and reports it once, and a supervisor's queries.
//!
//! PostgreSQL is the one on 127.0.0.1:5432 (`scripts/services start`); each
//! run gets its own database. With `MINQING_REQUIRE_SERVICES=1` an
//! unreachable server fails the test, otherwise it is skipped with a note.

mod common;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};
use minqing_connectors::{Channel, RawAppeal};
use minqing_pipelines::calendar::Calendar;
use minqing_pipelines::db::pool::connect;
use minqing_pipelines::normalize::{Gazetteer, Normalizer, Settings};
use minqing_pipelines::store::postgres::{PgSettings, PgStore};
use minqing_pipelines::store::sqlite::SqliteStore;
use minqing_pipelines::store::{ActionCommit, Committed, OrderQuery, WorkflowStore};
use minqing_pipelines::ticket::{EventType, TicketEvent};
use minqing_pipelines::workflow::{self, Action, Actor, Order, Role, Rules, State};
use std::sync::Arc;

fn at(day: &str, hour: u32) -> DateTime<FixedOffset> {
    let d = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
    minqing_connectors::timefmt::shanghai()
        .from_local_datetime(&d.and_hms_opt(hour, 0, 0).unwrap())
        .unwrap()
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn unit() -> Actor {
    Actor {
        role: Role::Unit,
        unit: Some("U-JH".into()),
        name: "经办人".into(),
    }
}

/// A stored ticket and its order, dispatched to U-JH on Monday 1 June 2026.
async fn seed(store: &dyn WorkflowStore) -> Order {
    seed_one(store, "GD1").await
}

async fn seed_one(store: &dyn WorkflowStore, source_id: &str) -> Order {
    let g = Gazetteer::from_toml(include_str!("../../config/gazetteer.toml")).unwrap();
    let n = Normalizer::new(Settings::default(), g);
    let t = n
        .normalize(&RawAppeal::plain(
            Channel::Hotline12345,
            source_id,
            at("2026-06-01", 9),
            Some("13800000000"),
            "金湖街道港湖村路灯坏了两个月",
        ))
        .unwrap();
    let order = Order::new(t.ticket_id, t.channel, Some("城乡建设".into()));
    let dispatch = Action::Dispatch { unit: "U-JH".into() };
    let tr = order
        .apply(
            &dispatch,
            &workflow::system(),
            t.received_at,
            &Calendar::builtin(),
            &Rules::default(),
        )
        .unwrap();
    let mut events = vec![TicketEvent::received(t.clone())];
    events.extend(workflow::action_events(&tr, &dispatch, &workflow::system(), t.received_at));
    store.apply_events(&events).await.unwrap();
    tr.order
}

/// Decides `action` on the stored order and commits it.
async fn act(store: &dyn WorkflowStore, action: Action, who: &Actor, when: DateTime<FixedOffset>, key: Option<&str>) -> Committed {
    let id = seed_id(store).await;
    let o = store.work_order(id).await.unwrap().expect("stored");
    let tr = o.apply(&action, who, when, &Calendar::builtin(), &Rules::default()).unwrap();
    store
        .commit_action(&ActionCommit {
            expected_version: o.version,
            events: workflow::action_events(&tr, &action, who, when),
            order: tr.order,
            key: key.map(|k| (k.to_owned(), 200, format!("{{\"key\":\"{k}\"}}"))),
        })
        .await
        .unwrap()
}

async fn seed_id(store: &dyn WorkflowStore) -> uuid::Uuid {
    store
        .orders(&OrderQuery {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()[0]
        .ticket_id
}

async fn exercise(store: Arc<dyn WorkflowStore>) {
    let s = store.as_ref();
    let first = seed(s).await;
    let stored = s.work_order(first.ticket_id).await.unwrap().unwrap();
    assert_eq!(stored, first);
    assert_eq!((stored.state, stored.sign_due), (State::Dispatched, Some(date("2026-06-02"))));

    // Signed on time, with a key; the retry gets the first answer.
    assert_eq!(
        act(s, Action::Sign, &unit(), at("2026-06-02", 10), Some("k-sign")).await,
        Committed::Done
    );
    let again = act(
        s,
        Action::Reply { text: "已修复".into() },
        &unit(),
        at("2026-06-02", 11),
        Some("k-sign"),
    )
    .await;
    assert_eq!(
        again,
        Committed::Replayed {
            status: 200,
            response: "{\"key\":\"k-sign\"}".into()
        }
    );
    assert_eq!(s.idempotent("k-sign").await.unwrap().map(|x| x.0), Some(200));
    let signed = s.work_order(first.ticket_id).await.unwrap().unwrap();
    assert_eq!(
        (signed.state, signed.version, signed.reply_due),
        (State::Signed, 2, Some(date("2026-06-09")))
    );

    // Decided on an old version: refused as stale, nothing written.
    let tr = first
        .apply(
            &Action::Sign,
            &unit(),
            at("2026-06-02", 12),
            &Calendar::builtin(),
            &Rules::default(),
        )
        .unwrap();
    let stale = s
        .commit_action(&ActionCommit {
            expected_version: first.version,
            events: workflow::action_events(&tr, &Action::Sign, &unit(), at("2026-06-02", 12)),
            order: tr.order,
            key: None,
        })
        .await
        .unwrap();
    assert_eq!(stale, Committed::Stale { version: 2 });
    // A redelivered dispatch event does not wind the order back.
    let dispatch = Action::Dispatch { unit: "U-JH".into() };
    let old = Order::new(first.ticket_id, Channel::Hotline12345, None)
        .apply(
            &dispatch,
            &workflow::system(),
            at("2026-06-01", 9),
            &Calendar::builtin(),
            &Rules::default(),
        )
        .unwrap();
    s.apply_events(&workflow::action_events(&old, &dispatch, &workflow::system(), at("2026-06-01", 9)))
        .await
        .unwrap();
    assert_eq!(s.work_order(first.ticket_id).await.unwrap().unwrap().state, State::Signed);

    // The sweep: nothing before the reply deadline, the order after it, once.
    assert!(s.sweepable_orders(date("2026-06-09"), 100).await.unwrap().is_empty());
    let late = s.sweepable_orders(date("2026-06-10"), 100).await.unwrap();
    assert_eq!(late.len(), 1);
    let found = late[0].sweep(date("2026-06-10")).expect("overdue");
    assert_eq!(found.event, EventType::ReplyOverdue);
    let c = s
        .commit_action(&ActionCommit {
            expected_version: late[0].version,
            events: workflow::overdue_events(&found, at("2026-06-10", 0)),
            order: found.order,
            key: None,
        })
        .await
        .unwrap();
    assert_eq!(c, Committed::Done);
    assert!(
        s.sweepable_orders(date("2026-06-11"), 100).await.unwrap().is_empty(),
        "reported once"
    );

    // Queries: open orders of the unit, what is due by a day.
    let mine = OrderQuery {
        unit: Some("U-JH".into()),
        open: true,
        limit: 100,
        ..Default::default()
    };
    assert_eq!(s.orders(&mine).await.unwrap().len(), 1);
    let overdue = OrderQuery {
        due_by: Some(date("2026-06-09")),
        ..mine.clone()
    };
    assert_eq!(s.orders(&overdue).await.unwrap()[0].reply_due, Some(date("2026-06-09")));
    let not_yet = OrderQuery {
        due_by: Some(date("2026-06-08")),
        ..mine.clone()
    };
    assert!(s.orders(&not_yet).await.unwrap().is_empty());
    let others = OrderQuery {
        unit: Some("U-OTHER".into()),
        ..mine
    };
    assert!(s.orders(&others).await.unwrap().is_empty());
}

/// Five orders swept in pages of two, on an injected date: late signing
/// is reported once with phone supervision; late again for the reply,
/// written supervision is proposed.
async fn sweep_pages(store: Arc<dyn WorkflowStore>) {
    use minqing_pipelines::workflow::sweep::{SweepReport, sweep};
    let s = store.as_ref();
    for i in 0..5 {
        seed_one(s, &format!("GD{i}")).await;
    }
    let (r, events) = sweep(s, date("2026-06-02"), at("2026-06-02", 23), 2).await.unwrap();
    assert_eq!((r, events.len()), (SweepReport::default(), 0), "due today is on time");
    let (r, events) = sweep(s, date("2026-06-03"), at("2026-06-03", 0), 2).await.unwrap();
    assert_eq!(
        (r.sign_overdue, r.phone_supervision, r.written_supervision, events.len()),
        (5, 5, 0, 10)
    );
    let (again, _) = sweep(s, date("2026-06-04"), at("2026-06-04", 0), 2).await.unwrap();
    assert_eq!(again, SweepReport::default(), "once per deadline");
    let all = s
        .orders(&OrderQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    for o in all {
        let tr = o
            .apply(&Action::Sign, &unit(), at("2026-06-04", 9), &Calendar::builtin(), &Rules::default())
            .unwrap();
        let c = ActionCommit {
            expected_version: o.version,
            events: workflow::action_events(&tr, &Action::Sign, &unit(), at("2026-06-04", 9)),
            order: tr.order,
            key: None,
        };
        assert_eq!(s.commit_action(&c).await.unwrap(), Committed::Done);
    }
    // Signed 4 June: reply due 11 June.
    let (r, _) = sweep(s, date("2026-06-12"), at("2026-06-12", 0), 2).await.unwrap();
    assert_eq!((r.reply_overdue, r.written_supervision, r.phone_supervision), (5, 5, 0));
}

/// A sign of `o` decided now, for a commit.
fn sign(o: &Order, key: Option<&str>) -> ActionCommit {
    let when = at("2026-06-01", 15);
    let tr = o
        .apply(&Action::Sign, &unit(), when, &Calendar::builtin(), &Rules::default())
        .unwrap();
    ActionCommit {
        expected_version: o.version,
        events: workflow::action_events(&tr, &Action::Sign, &unit(), when),
        order: tr.order,
        key: key.map(|k| (k.to_owned(), 200, format!("{{\"key\":\"{k}\"}}"))),
    }
}

/// Actions committed together (SQLite groups concurrent ones into one
/// transaction) are decided one by one: of eight clerks signing one order
/// at once, one is done and seven are stale; a page of commits with two
/// for the same order answers as a sequence would.
async fn concurrent_actions(store: Arc<dyn WorkflowStore>) {
    let o = seed_one(store.as_ref(), "GD-A").await;
    let mut clerks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (s, c) = (store.clone(), sign(&o, None));
        clerks.spawn(async move { s.commit_action(&c).await.unwrap() });
    }
    let answers = clerks.join_all().await;
    assert_eq!(answers.iter().filter(|a| **a == Committed::Done).count(), 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|a| matches!(a, Committed::Done | Committed::Stale { version: 2 }))
    );
    let signed = store.work_order(o.ticket_id).await.unwrap().unwrap();
    assert_eq!((signed.state, signed.version), (State::Signed, 2));

    let b = seed_one(store.as_ref(), "GD-B").await;
    let c = seed_one(store.as_ref(), "GD-C").await;
    let page = [sign(&b, None), sign(&b, None), sign(&c, None)];
    let answers = store.commit_many(&page).await.unwrap();
    // (The version a stale answer names is informational; PostgreSQL's page
    // reads versions before it writes.)
    assert!(
        matches!(answers[..], [Committed::Done, Committed::Stale { .. }, Committed::Done]),
        "{answers:?}"
    );
    let signed = store.work_order(b.ticket_id).await.unwrap().unwrap();
    assert_eq!((signed.state, signed.version), (State::Signed, 2), "signed once");
}

#[tokio::test]
async fn sqlite_group_commit_keeps_a_failing_action_apart() {
    // An order whose ticket row is gone cannot take an event: its action
    // fails, and the actions committed with it still succeed.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("minqing.db");
    let store: Arc<dyn WorkflowStore> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let good: Vec<Order> = seed_many(store.as_ref(), 6).await;
    let broken = seed_one(store.as_ref(), "GD-X").await;
    let pool = connect::<sqlx::Sqlite>(&format!("sqlite://{}", path.display())).await.unwrap();
    sqlx::query("DELETE FROM ticket_events WHERE ticket_id = ?")
        .bind(broken.ticket_id.to_string())
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM tickets WHERE ticket_id = ?")
        .bind(broken.ticket_id.to_string())
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let mut clerks = tokio::task::JoinSet::new();
    for o in good.iter().chain([&broken]) {
        let (s, c) = (store.clone(), sign(o, None));
        clerks.spawn(async move { (c.order.ticket_id, s.commit_action(&c).await) });
    }
    for (id, answer) in clerks.join_all().await {
        if id == broken.ticket_id {
            let e = answer.expect_err("no ticket for this order");
            assert!(e.to_string().contains("has no ticket"), "{e}");
        } else {
            assert_eq!(answer.unwrap(), Committed::Done);
        }
    }
    for o in &good {
        assert_eq!(store.work_order(o.ticket_id).await.unwrap().unwrap().state, State::Signed);
    }
    // One key sent with two actions at once: the second gets the first's answer.
    let (b, c) = (seed_one(store.as_ref(), "GD-K1").await, seed_one(store.as_ref(), "GD-K2").await);
    let (s1, s2) = (store.clone(), store.clone());
    let (cb, cc) = (sign(&b, Some("k-twice")), sign(&c, Some("k-twice")));
    let (x, y) = tokio::join!(s1.commit_action(&cb), s2.commit_action(&cc));
    let mut answers = [x.unwrap(), y.unwrap()];
    answers.sort_by_key(|a| matches!(a, Committed::Replayed { .. }));
    assert_eq!(
        answers,
        [
            Committed::Done,
            Committed::Replayed {
                status: 200,
                response: "{\"key\":\"k-twice\"}".into()
            }
        ]
    );
}

async fn seed_many(store: &dyn WorkflowStore, n: usize) -> Vec<Order> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(seed_one(store, &format!("GD-G{i}")).await);
    }
    out
}

/// What the store commits for the warehouse waits in its outbox, written
/// in the same transaction (issue 31, items 7 and 15): an action's events,
/// a sweep page's, and intake's only when asked. A replayed or stale action
/// leaves nothing; the relay empties the outbox in order, masked.
async fn warehouse_outbox(store: Arc<dyn WorkflowStore>) {
    use minqing_pipelines::bus::{Bus, EventQueue, memory::MemoryBus};
    let s = store.as_ref();
    let o = seed_one(s, "GD-O").await;
    assert_eq!(
        s.outbox_counts().await.unwrap().waiting,
        0,
        "intake's events go by the broker unless asked"
    );
    s.keep_intake_for_warehouse(true);
    seed_one(s, "GD-P").await;
    s.keep_intake_for_warehouse(false);
    assert_eq!(s.outbox_counts().await.unwrap().waiting, 1);
    let c = sign(&o, Some("k-o"));
    assert_eq!(s.commit_action(&c).await.unwrap(), Committed::Done);
    assert!(matches!(s.commit_action(&c).await.unwrap(), Committed::Replayed { .. }));
    assert!(matches!(s.commit_action(&sign(&o, None)).await.unwrap(), Committed::Stale { .. }));
    assert_eq!(s.outbox_counts().await.unwrap().waiting, 2, "one row per commit that happened");
    // GD-P is late to sign on 3 June: a sweep page commits its findings.
    let (r, _) = workflow::sweep::sweep(s, date("2026-06-03"), at("2026-06-03", 0), 10)
        .await
        .unwrap();
    assert_eq!(r.sign_overdue, 1);
    assert_eq!(s.outbox_counts().await.unwrap().waiting, 3);
    let rows = s.outbox_rows(10).await.unwrap();
    let kinds: Vec<Vec<EventType>> = rows
        .iter()
        .map(|r| r.events.as_ref().unwrap().iter().map(|e| e.event_type).collect())
        .collect();
    assert_eq!(kinds[0], [EventType::Received, EventType::Dispatched]);
    assert_eq!(kinds[1], [EventType::Signed]);
    assert!(kinds[2].contains(&EventType::SignOverdue), "{kinds:?}");

    let bus = Arc::new(MemoryBus::new(&[EventQueue::Warehouse], 1000));
    let mut warehouse = bus.consume_events(EventQueue::Warehouse).await.unwrap();
    let relay = minqing_pipelines::relay::Relay::new(store.clone(), bus.clone());
    let mut drain = tokio::spawn(async move { relay.drain().await });
    let mut got = Vec::new();
    let relayed = loop {
        tokio::select! {
            d = warehouse.next() => {
                let d = d.unwrap();
                got.extend(d.items.iter().cloned());
                d.ack().await.unwrap();
            }
            done = &mut drain => break done.unwrap().unwrap(),
        }
    };
    assert_eq!(relayed, got.len() as u64);
    assert_eq!(got.len(), kinds.iter().map(Vec::len).sum::<usize>());
    assert_eq!(got[0].event_type, EventType::Received);
    let t = got[0].ticket().unwrap();
    assert_eq!(
        (t.contact_phone.as_deref(), t.contact_name.as_deref()),
        (None, None),
        "masked on the way"
    );
    assert_eq!(s.outbox_counts().await.unwrap().waiting, 0);

    // A row set aside is listed with its reason, and requeued.
    let o = s.work_order(o.ticket_id).await.unwrap().unwrap();
    let reply = o
        .apply(
            &Action::Reply { text: "已修复".into() },
            &unit(),
            at("2026-06-02", 9),
            &Calendar::builtin(),
            &Rules::default(),
        )
        .unwrap();
    let c = ActionCommit {
        expected_version: o.version,
        events: workflow::action_events(&reply, &Action::Reply { text: "已修复".into() }, &unit(), at("2026-06-02", 9)),
        order: reply.order,
        key: None,
    };
    assert_eq!(s.commit_action(&c).await.unwrap(), Committed::Done);
    let id = s.outbox_rows(1).await.unwrap()[0].id;
    s.park_outbox(id, "events arrived before their ticket").await.unwrap();
    assert!(s.outbox_rows(10).await.unwrap().is_empty(), "a parked row is not taken");
    let c = s.outbox_counts().await.unwrap();
    assert_eq!((c.waiting, c.parked), (0, 1));
    let parked = s.parked_outbox(10).await.unwrap();
    assert_eq!(
        (parked[0].id, parked[0].events, parked[0].reason.as_str()),
        (id, 1, "events arrived before their ticket")
    );
    assert_eq!(s.requeue_outbox(Some(id + 1)).await.unwrap(), 0);
    assert_eq!(s.requeue_outbox(None).await.unwrap(), 1);
    let c = s.outbox_counts().await.unwrap();
    assert_eq!((c.waiting, c.parked), (1, 0));
}

#[tokio::test]
async fn work_orders_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    exercise(Arc::new(SqliteStore::open(&dir.path().join("minqing.db")).await.unwrap())).await;
    let dir = tempfile::tempdir().unwrap();
    sweep_pages(Arc::new(SqliteStore::open(&dir.path().join("minqing.db")).await.unwrap())).await;
    let dir = tempfile::tempdir().unwrap();
    concurrent_actions(Arc::new(SqliteStore::open(&dir.path().join("minqing.db")).await.unwrap())).await;
    let dir = tempfile::tempdir().unwrap();
    warehouse_outbox(Arc::new(SqliteStore::open(&dir.path().join("minqing.db")).await.unwrap())).await;
}

#[tokio::test]
async fn work_orders_in_postgres() {
    if tokio::net::TcpStream::connect(("127.0.0.1", 5432)).await.is_err() {
        let msg = "work_orders_in_postgres: PostgreSQL (127.0.0.1:5432) unreachable; run scripts/services start";
        assert!(std::env::var("MINQING_REQUIRE_SERVICES").as_deref() != Ok("1"), "{msg}");
        eprintln!("skipped: {msg}");
        return;
    }
    let name = format!("mq_workflow_{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
    let store = PgStore::open(&PgSettings { url, max_connections: 4 }).await.unwrap();
    exercise(Arc::new(store)).await;
    sqlx::query("TRUNCATE work_orders, ticket_events, tickets CASCADE")
        .execute(
            &connect::<sqlx::Postgres>(&format!("postgres://postgres@127.0.0.1:5432/{name}"))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    let store = PgStore::open(&PgSettings {
        url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
        max_connections: 4,
    })
    .await
    .unwrap();
    let store: Arc<dyn WorkflowStore> = Arc::new(store);
    sweep_pages(store.clone()).await;
    concurrent_actions(store.clone()).await;
    sqlx::query("TRUNCATE work_orders, ticket_events, tickets, warehouse_outbox CASCADE")
        .execute(
            &connect::<sqlx::Postgres>(&format!("postgres://postgres@127.0.0.1:5432/{name}"))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    warehouse_outbox(store).await;
    common::drop_database(&name).await;
}
