//! `/api/v1` over real HTTP on the embedded store: token auth and roles, a
//! unit acting on another unit's order, rule refusals with their ids,
//! idempotent retries, two clerks acting at once, supervisor queries, and
//! the actions relayed to the warehouse.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};
use minqing::v1::{ApiSettings, ApiToken, Clock, V1};
use minqing_connectors::RawAppeal;
use minqing_pipelines::bus::EventQueue;
use minqing_pipelines::bus::memory::MemoryBus;
use minqing_pipelines::calendar::Calendar;
use minqing_pipelines::normalize::{Gazetteer, Normalizer, Settings};
use minqing_pipelines::sink::{Batching, WarehouseTarget, run_sink};
use minqing_pipelines::store::WorkflowStore;
use minqing_pipelines::store::sqlite::SqliteStore;
use minqing_pipelines::ticket::{EventPayload, EventType, TicketEvent};
use minqing_pipelines::warehouse::sqlite::SqliteWarehouse;
use minqing_pipelines::workflow::{self, Action, Deadlines, Order, Role, Rules};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

fn at(day: &str, hour: u32) -> DateTime<FixedOffset> {
    let d = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
    minqing_connectors::timefmt::shanghai()
        .from_local_datetime(&d.and_hms_opt(hour, 0, 0).unwrap())
        .unwrap()
}

const UNIT: &str = "unit-jinhu-0123456789";
const OTHER: &str = "unit-other-0123456789";
const CENTRE: &str = "centre-0123456789abc";
const ANALYST: &str = "analyst-0123456789ab";

fn tokens() -> ApiSettings {
    let t = |token: &str, role, unit: Option<&str>, name: &str| ApiToken {
        token: token.into(),
        role,
        unit: unit.map(str::to_owned),
        name: name.into(),
    };
    ApiSettings {
        tokens: vec![
            t(UNIT, Role::Unit, Some("U-JH"), "金湖街道办"),
            t(OTHER, Role::Unit, Some("U-OTHER"), "保安镇政府"),
            t(CENTRE, Role::Centre, None, "话务员A"),
            t(ANALYST, Role::Analyst, None, "分析员"),
        ],
    }
}

/// A hotline appeal about a street light in 金湖街道.
fn appeal(source_id: &str, received_at: DateTime<FixedOffset>) -> RawAppeal {
    crate::helpers::raw_call(
        source_id,
        "13800000000",
        received_at,
        &format!("金湖街道港湖村路灯坏了（{source_id}）"),
    )
}

/// A ticket received and dispatched to U-JH on Monday 1 June 2026.
fn dispatched(source_id: &str) -> Vec<TicketEvent> {
    let g = Gazetteer::from_toml(include_str!("../../config/gazetteer.toml")).unwrap();
    let t = Normalizer::new(Settings::default(), g)
        .normalize(&appeal(source_id, at("2026-06-01", 9)))
        .unwrap();
    let dispatch = Action::Dispatch { unit: "U-JH".into() };
    let tr = Order::new(t.ticket_id, t.channel, None)
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
    events
}

/// Stores a ticket and its order, dispatched to U-JH on Monday 1 June 2026,
/// and sends them to the warehouse.
async fn seed(api: &Api, source_id: &str) -> Uuid {
    let events = dispatched(source_id);
    let id = events[0].ticket_id;
    api.store.apply_events(&events).await.unwrap();
    minqing_pipelines::bus::Bus::publish_analysis(api.bus.as_ref(), events)
        .await
        .unwrap();
    id
}

/// `minqing tickets sweep` records in the workflow store, and its findings
/// reach the warehouse through the store's outbox once a gateway runs on
/// it (issue 31, item 15: they never did).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_from_the_command_line_reaches_the_warehouse() {
    let dir = tempfile::tempdir().unwrap();
    let s = crate::helpers::settings(dir.path());
    let store = minqing::runtime::open_store(&s).await.unwrap();
    // As the embedded gateway stores intake's events: for the warehouse too.
    store.keep_intake_for_warehouse(true);
    store.apply_events(&dispatched("GD-CLI")).await.unwrap();
    drop(store);
    let out = minqing::commands::tickets::command(
        &s,
        minqing::cli::TicketsAction::Sweep {
            date: Some("2026-06-10".into()),
        },
    )
    .await
    .unwrap();
    assert!(out.contains("\"sign_overdue\": 1"), "{out}");
    let gw = crate::helpers::quiet(&s).await;
    let pool = minqing_pipelines::db::pool::connect::<sqlx::Sqlite>(&format!("sqlite://{}", s.warehouse_path().display()))
        .await
        .unwrap();
    // The relay writes the warehouse before it marks the rows relayed, so
    // wait for both: the row in the warehouse and an empty outbox.
    let (mut late, mut waiting) = (0i64, u64::MAX);
    for _ in 0..100 {
        late = sqlx::query_scalar("SELECT COUNT(*) FROM ticket_events WHERE event_type = 'sign_overdue'")
            .fetch_one(&pool)
            .await
            .unwrap();
        waiting = gw.store.outbox_counts().await.unwrap().waiting;
        if late > 0 && waiting == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!((late, waiting), (1, 0));
    gw.shutdown().await;
}

struct Api {
    base: String,
    http: reqwest::Client,
    now: Arc<Mutex<DateTime<FixedOffset>>>,
    store: Arc<dyn WorkflowStore>,
    bus: Arc<MemoryBus>,
    warehouse: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Api {
    async fn start() -> Api {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn WorkflowStore> = Arc::new(SqliteStore::open(&dir.path().join("minqing.db")).await.unwrap());
        let wh_path = dir.path().join("warehouse.db");
        let warehouse = Arc::new(SqliteWarehouse::open(&wh_path).await.unwrap());
        let bus = Arc::new(MemoryBus::new(&[EventQueue::Warehouse], 100));
        tokio::spawn(run_sink(
            Arc::new(WarehouseTarget::new(warehouse, Default::default())),
            minqing_pipelines::bus::Bus::consume_events(bus.as_ref(), EventQueue::Warehouse)
                .await
                .unwrap(),
            Batching::default(),
            CancellationToken::new(),
        ));
        let now = Arc::new(Mutex::new(at("2026-06-01", 10)));
        let clock: Clock = {
            let now = now.clone();
            Arc::new(move || *now.lock().unwrap())
        };
        let deadlines = Deadlines {
            calendar: Arc::new(Calendar::builtin()),
            rules: Rules::default(),
        };
        let relay = minqing_pipelines::relay::Relay::new(store.clone(), bus.clone());
        tokio::spawn(relay.clone().run(CancellationToken::new()));
        let v1 = V1::new(store.clone(), relay, deadlines, &tokens(), clock).with_units(minqing_pipelines::triage::Live::new({
            let s = crate::helpers::settings(dir.path());
            minqing::rules::triage(&s.triage, &s.gazetteer().unwrap()).unwrap()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, minqing::v1::router(Arc::new(v1))).await });
        Api {
            base,
            http: reqwest::Client::new(),
            now,
            store,
            bus,
            warehouse: wh_path,
            _dir: dir,
        }
    }

    fn set_now(&self, t: DateTime<FixedOffset>) {
        *self.now.lock().unwrap() = t;
    }

    async fn act(&self, token: &str, id: Uuid, body: Value, key: Option<&str>) -> (u16, Value) {
        let mut r = self
            .http
            .post(format!("{}/api/v1/orders/{id}/actions", self.base))
            .bearer_auth(token)
            .json(&body);
        if let Some(k) = key {
            r = r.header("Idempotency-Key", k);
        }
        let resp = r.send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, token: Option<&str>, path: &str) -> (u16, Value) {
        let mut r = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let resp = r.send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_roles_refusals_and_idempotent_retries() {
    let api = Api::start().await;
    let id = seed(&api, "GD1").await;
    let order = format!("/api/v1/orders/{id}");

    // Auth.
    assert_eq!(api.get(None, &order).await.0, 401);
    assert_eq!(api.get(Some("not-a-token-at-all"), &order).await.0, 401);
    assert_eq!(api.get(Some(UNIT), &order).await.0, 200);
    let (s, b) = api.get(Some(OTHER), &order).await;
    assert_eq!((s, b["rule"].as_str()), (403, Some("own_orders_only")));
    assert_eq!(api.get(Some(ANALYST), &order).await.0, 200);

    // Another unit's order, an analyst, a centre-only action, a bad body.
    let (s, b) = api.act(OTHER, id, json!({"action": "sign"}), None).await;
    assert_eq!((s, b["rule"].as_str()), (403, Some("own_orders_only")));
    assert_eq!(api.act(ANALYST, id, json!({"action": "sign"}), None).await.0, 403);
    let (s, b) = api.act(UNIT, id, json!({"action": "dispatch", "unit": "U-X"}), None).await;
    assert_eq!((s, b["rule"].as_str()), (403, Some("role")));
    let (s, b) = api.act(UNIT, id, json!({"action": "fly"}), None).await;
    assert_eq!(s, 422, "{b}");

    // Signed once; the retry with the same key answers the same and acts not.
    let (s, first) = api.act(UNIT, id, json!({"action": "sign"}), Some("sign-1")).await;
    assert_eq!((s, first["order"]["state"].as_str()), (200, Some("signed")), "{first}");
    let (s, again) = api.act(UNIT, id, json!({"action": "sign"}), Some("sign-1")).await;
    assert_eq!((s, &again), (200, &first));
    assert_eq!(api.store.work_order(id).await.unwrap().unwrap().version, 2);
    // Without the key it is a new request, refused by the state rule.
    let (s, b) = api.act(UNIT, id, json!({"action": "sign"}), None).await;
    assert_eq!((s, b["rule"].as_str()), (409, Some("state")));

    // A return two working days late names its rule.
    api.set_now(at("2026-06-04", 9));
    let (s, b) = api
        .act(UNIT, id, json!({"action": "return", "reason": "不属我单位职责"}), None)
        .await;
    assert_eq!((s, b["rule"].as_str()), (409, Some("return_within_2_workdays")), "{b}");

    // Supervisor queries: the reply is due 8 June (signed Monday 1 June).
    api.set_now(at("2026-06-08", 9));
    let (s, b) = api.get(Some(CENTRE), "/api/v1/orders?due=today").await;
    assert_eq!((s, b["orders"].as_array().map(Vec::len)), (200, Some(1)), "{b}");
    assert_eq!(api.get(Some(CENTRE), "/api/v1/orders?due=overdue").await.1["orders"], json!([]));
    api.set_now(at("2026-06-05", 9));
    let (_, b) = api.get(Some(CENTRE), "/api/v1/orders?due=tomorrow").await;
    assert_eq!(
        b["orders"].as_array().map(Vec::len),
        Some(1),
        "Friday's next working day is Monday: {b}"
    );
    api.set_now(at("2026-06-09", 9));
    let (_, b) = api.get(Some(UNIT), "/api/v1/orders?due=overdue").await;
    assert_eq!(b["orders"][0]["ticket_id"], json!(id));
    assert_eq!(api.get(Some(OTHER), "/api/v1/orders?unit=U-JH").await.0, 403);
    assert_eq!(api.get(Some(OTHER), "/api/v1/orders").await.1["orders"], json!([]));
    assert_eq!(api.get(Some(CENTRE), "/api/v1/orders?due=someday").await.0, 422);

    // The actions reached the warehouse.
    let pool = minqing_pipelines::db::pool::connect::<sqlx::Sqlite>(&format!("sqlite://{}", api.warehouse.display()))
        .await
        .unwrap();
    let mut signed = 0i64;
    for _ in 0..50 {
        signed = sqlx::query_scalar("SELECT COUNT(*) FROM ticket_events WHERE event_type = 'signed'")
            .fetch_one(&pool)
            .await
            .unwrap();
        if signed > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(signed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clerks_acting_at_once_one_wins() {
    let api = Arc::new(Api::start().await);
    let id = seed(&api, "GD2").await;
    let mut tasks = Vec::new();
    for k in 0..8 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            api.act(UNIT, id, json!({"action": "sign"}), Some(&format!("clerk-{k}"))).await.0
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    codes.sort_unstable();
    assert_eq!(codes, vec![200, 409, 409, 409, 409, 409, 409, 409]);
    assert_eq!(api.store.work_order(id).await.unwrap().unwrap().version, 2);
}

/// Orders counted on the weekday rule (a year the calendar lacked) are
/// recounted once that year's data is loaded, as at start-up.
#[tokio::test]
async fn provisional_deadlines_are_recounted_when_the_year_is_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn WorkflowStore> = Arc::new(SqliteStore::open(&dir.path().join("minqing.db")).await.unwrap());
    let g = Gazetteer::from_toml(include_str!("../../config/gazetteer.toml")).unwrap();
    let received = at("2027-09-30", 9);
    // A date ahead of today's: the normalizer is told to allow it.
    let future = Settings {
        future_tolerance_hours: 24 * 365 * 3,
        ..Settings::default()
    };
    let t = Normalizer::new(future, g).normalize(&appeal("GD2027", received)).unwrap();
    let dispatch = Action::Dispatch { unit: "U-JH".into() };
    let tr = Order::new(t.ticket_id, t.channel, None)
        .apply(&dispatch, &workflow::system(), received, &Calendar::builtin(), &Rules::default())
        .unwrap();
    assert!(tr.order.provisional);
    let mut events = vec![TicketEvent::new(
        t.ticket_id,
        t.channel,
        EventType::Received,
        "",
        received,
        EventPayload::Received {
            ticket: Box::new(t.clone()),
        },
    )];
    events.extend(workflow::action_events(&tr, &dispatch, &workflow::system(), received));
    store.apply_events(&events).await.unwrap();

    // Still without 2027: nothing to recount.
    let builtin = Deadlines {
        calendar: Arc::new(Calendar::builtin()),
        rules: Rules::default(),
    };
    assert_eq!(
        minqing_pipelines::workflow::sweep::recount_provisional(store.as_ref(), &builtin)
            .await
            .unwrap(),
        (0, 1)
    );
    // 2027's notice arrives (made-up dates of the right shape): 国庆 1-7 October.
    let text = include_str!("../../pipelines/tests/fixtures/calendar_2027_made_up.toml").to_owned();
    let loaded = Deadlines {
        calendar: Arc::new(Calendar::load(&[("2027.toml".into(), text)]).unwrap()),
        rules: Rules::default(),
    };
    assert_eq!(
        minqing_pipelines::workflow::sweep::recount_provisional(store.as_ref(), &loaded)
            .await
            .unwrap(),
        (1, 0)
    );
    let o = store.work_order(t.ticket_id).await.unwrap().unwrap();
    assert!(!o.provisional);
    assert_eq!(o.sign_due, NaiveDate::from_ymd_opt(2027, 10, 8), "after the National Day week");
}

/// The centre re-dispatches a returned order only to a unit the units file
/// lists; a made-up code is refused and nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatch_names_a_listed_unit() {
    let api = Api::start().await;
    let id = seed(&api, "GD-U1").await;
    let (s, b) = api
        .act(UNIT, id, json!({"action": "return", "reason": "不属我单位职责"}), None)
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = api
        .act(CENTRE, id, json!({"action": "dispatch", "unit": "NO-SUCH-UNIT"}), None)
        .await;
    assert_eq!((s, b["rule"].as_str()), (422, Some("unknown_unit")), "{b}");
    let version = api.store.work_order(id).await.unwrap().unwrap().version;
    let (s, b) = api
        .act(CENTRE, id, json!({"action": "dispatch", "unit": "DY-T-420281002"}), None)
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(api.store.work_order(id).await.unwrap().unwrap().version, version + 1);
}

/// An idempotency key is bound to its order, action and body: reused for
/// another action, or for the same action on another order, it is refused
/// (422) and nothing is done, where it once answered 200 and did nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_reused_for_another_request_is_refused() {
    let api = Api::start().await;
    let (id, other) = (seed(&api, "GD-K1").await, seed(&api, "GD-K2").await);
    let (s, first) = api.act(UNIT, id, json!({"action": "sign"}), Some("k-1")).await;
    assert_eq!(s, 200, "{first}");
    let (s, b) = api.act(UNIT, id, json!({"action": "reply", "text": "已处理"}), Some("k-1")).await;
    assert_eq!((s, b["rule"].as_str()), (422, Some("idempotency_key_reused")), "{b}");
    let (s, b) = api.act(UNIT, other, json!({"action": "sign"}), Some("k-1")).await;
    assert_eq!((s, b["rule"].as_str()), (422, Some("idempotency_key_reused")), "{b}");
    assert_eq!(api.store.work_order(other).await.unwrap().unwrap().version, 1, "nothing done");
    // The same request again still gets its first answer.
    let (s, again) = api.act(UNIT, id, json!({"action": "sign"}), Some("k-1")).await;
    assert_eq!((s, &again), (200, &first));
}

/// Caps on what a caller can make the store hold: a 2 MB body is refused
/// before it is read whole (413), a reason over 4,000 characters with its
/// field named (422).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_actions_are_refused() {
    let api = Api::start().await;
    let id = seed(&api, "GD-L1").await;
    // The server may answer before the client has sent the whole body and
    // close the connection; either way nothing is taken. A client of its
    // own, so the closed connection is not offered to the next request.
    let big = reqwest::Client::new()
        .post(format!("{}/api/v1/orders/{id}/actions", api.base))
        .bearer_auth(UNIT)
        .json(&json!({"action": "return", "reason": "长".repeat(700_000)}))
        .send()
        .await;
    match big {
        Ok(r) => assert_eq!(r.status().as_u16(), 413),
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }
    let (s, b) = api
        .act(UNIT, id, json!({"action": "return", "reason": "长".repeat(4001)}), None)
        .await;
    assert_eq!((s, b["rule"].as_str()), (422, Some("too_long")), "{b}");
    assert!(b["error"].as_str().unwrap().contains("`reason`"), "{b}");
    assert_eq!(api.store.work_order(id).await.unwrap().unwrap().version, 1);
}
