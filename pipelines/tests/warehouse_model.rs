//! The analysts' warehouse, on every engine: one fixture of events (a week
//! of tickets, work orders taken through the real state machine,
//! supervision, an escalation) goes through the SQLite warehouse and the
//! ClickHouse 18.16 server, and every saved query must give the same
//! answer on both and on ClickHouse 26.x (chdb's engine, fed the rows the
//! 18.16 server holds). Some answers are also checked against what the
//! fixture is known to hold, so agreeing on a wrong answer fails too.
//!
//! With `MINQING_REQUIRE_SERVICES=1` a missing ClickHouse server or chdb
//! fails the test; otherwise that part is skipped with a note.

use chrono::{DateTime, FixedOffset, NaiveDate};
use minqing_connectors::Channel;
use minqing_pipelines::calendar::Calendar;
use minqing_pipelines::ticket::decision::{Decision, ScopeKind};
use minqing_pipelines::ticket::{EventPayload, EventType, Ticket, TicketEvent};
use minqing_pipelines::warehouse::Warehouse;
use minqing_pipelines::warehouse::clickhouse::{ClickhouseSettings, ClickhouseWarehouse};
use minqing_pipelines::warehouse::saved::{self, Params, SAVED, Table, Weights};
use minqing_pipelines::warehouse::sqlite::SqliteWarehouse;
use minqing_pipelines::workflow::{Action, Actor, Deadlines, Order, Role, Rules, Satisfaction, action_events, overdue_events};
use std::collections::BTreeMap;
use std::sync::Arc;

fn required() -> bool {
    std::env::var("MINQING_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

fn skip(msg: &str) {
    assert!(!required(), "{msg}");
    eprintln!("skipped: {msg}");
}

fn at(day: u32, hour: u32) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(&format!("2026-06-{day:02}T{hour:02}:15:00+08:00")).unwrap()
}

fn deadlines() -> Deadlines {
    Deadlines {
        calendar: Arc::new(Calendar::builtin()),
        rules: Rules::default(),
    }
}

/// One fixture ticket: (source, day of June 2026, hour, channel, category,
/// town, citizen, cluster, scope, unit).
type Spec = (
    &'static str,
    u32,
    u32,
    Channel,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    ScopeKind,
    &'static str,
);

const SPECS: [Spec; 13] = [
    (
        "T01",
        1,
        9,
        Channel::Hotline12345,
        "城乡建设",
        "金湖街道",
        "c1",
        "K1",
        ScopeKind::Dispatch,
        "DY-A",
    ),
    (
        "T02",
        1,
        10,
        Channel::Hotline12345,
        "城乡建设",
        "金湖街道",
        "c2",
        "K1",
        ScopeKind::Dispatch,
        "DY-A",
    ),
    (
        "T03",
        2,
        9,
        Channel::Wechat,
        "城乡建设",
        "金湖街道",
        "c3",
        "K1",
        ScopeKind::Dispatch,
        "DY-B",
    ),
    (
        "T04",
        3,
        14,
        Channel::Hotline12345,
        "城乡建设",
        "金湖街道",
        "c1",
        "K1",
        ScopeKind::Dispatch,
        "DY-B",
    ),
    (
        "T05",
        2,
        14,
        Channel::Grid,
        "环境保护",
        "陈贵镇",
        "c4",
        "K5",
        ScopeKind::Dispatch,
        "DY-B",
    ),
    (
        "T06",
        3,
        9,
        Channel::Wechat,
        "环境保护",
        "陈贵镇",
        "c5",
        "K6",
        ScopeKind::Dispatch,
        "",
    ),
    (
        "T07",
        4,
        20,
        Channel::Hotline12345,
        "环境保护",
        "陈贵镇",
        "c6",
        "K7",
        ScopeKind::ForwardHuangshi,
        "",
    ),
    (
        "T08",
        5,
        9,
        Channel::Supervision,
        "交通运输",
        "还地桥镇",
        "c7",
        "K8",
        ScopeKind::Rejected,
        "",
    ),
    (
        "T09",
        5,
        10,
        Channel::Grid,
        "交通运输",
        "还地桥镇",
        "c8",
        "K9",
        ScopeKind::AnsweredOnline,
        "",
    ),
    (
        "T10",
        6,
        11,
        Channel::Hotline12345,
        "交通运输",
        "还地桥镇",
        "c9",
        "K10",
        ScopeKind::ForwardHuangshi,
        "",
    ),
    (
        "T11",
        7,
        23,
        Channel::Wechat,
        "环境保护",
        "陈贵镇",
        "c4",
        "K5",
        ScopeKind::Dispatch,
        "",
    ),
    (
        "T12",
        7,
        8,
        Channel::Hotline12345,
        "城乡建设",
        "金湖街道",
        "",
        "K12",
        ScopeKind::Dispatch,
        "",
    ),
    // Outside the week: every query must leave it out.
    (
        "T00",
        20,
        9,
        Channel::Hotline12345,
        "城乡建设",
        "金湖街道",
        "c1",
        "K1",
        ScopeKind::Dispatch,
        "DY-A",
    ),
];

fn ticket(s: &Spec) -> Ticket {
    let (source, day, hour, channel, category, town, citizen, cluster, scope, unit) = *s;
    let when = if source == "T00" {
        DateTime::parse_from_rfc3339("2026-05-20T09:15:00+08:00").unwrap()
    } else {
        at(day, hour)
    };
    let mut t = Ticket::bare(channel, source, "路灯不亮，晚上很黑", when);
    t.category = Some(category.into());
    t.town = Some(town.into());
    t.citizen_key = (!citizen.is_empty()).then(|| citizen.to_owned());
    t.cluster_id = Some(cluster.to_owned());
    t.text_hash = format!("h-{source}");
    let rule = matches!(scope, ScopeKind::ForwardHuangshi).then(|| if source == "T07" { "express" } else { "bank" });
    t.triage = Some(Decision {
        scope,
        reason: "fixture".into(),
        rule: rule.map(str::to_owned),
        category: Some(category.into()),
        category_by: Some("rules".into()),
        unit: (!unit.is_empty()).then(|| unit.to_owned()),
        unit_name: None,
        manual: unit.is_empty(),
        reply: None,
        answer_source: None,
        appeal_type: None,
        appeal_type_by: None,
    });
    t
}

fn person(role: Role, unit: Option<&str>) -> Actor {
    Actor {
        role,
        unit: unit.map(str::to_owned),
        name: "fixture".into(),
    }
}

/// Applies `steps` to the order of `first`, collecting every event.
fn run(mut o: Order, steps: &[(Action, Actor, DateTime<FixedOffset>)], out: &mut Vec<TicketEvent>) -> Order {
    let d = deadlines();
    for (action, actor, when) in steps {
        let tr = o
            .apply(action, actor, *when, &d.calendar, &d.rules)
            .unwrap_or_else(|e| panic!("{action:?}: {e:?}"));
        out.extend(action_events(&tr, action, actor, *when));
        o = tr.order;
    }
    o
}

fn visit(s: Satisfaction, contacted: bool) -> Action {
    Action::Visit {
        contacted,
        resolved: s != Satisfaction::Unsatisfied,
        satisfaction: s,
        trust: 4,
    }
}

/// The whole fixture: arrivals, scope events with their first orders, the
/// units' and the centre's actions, a sweep finding and an escalation.
fn fixture() -> Vec<TicketEvent> {
    let d = deadlines();
    let mut events = Vec::new();
    let mut orders = BTreeMap::new();
    for s in &SPECS {
        let t = ticket(s);
        let order = minqing_pipelines::workflow::first_order(&t, &d);
        let decision = t.triage.clone().unwrap();
        events.push(TicketEvent::received(t.clone()));
        events.push(TicketEvent::new(
            t.ticket_id,
            t.channel,
            decision.event_type(),
            "",
            t.received_at,
            EventPayload::Triaged {
                decision: Box::new(decision),
                order: order.clone().map(Box::new),
            },
        ));
        if let Some(o) = order {
            orders.insert(s.0, o);
        }
    }
    let (a, b) = (person(Role::Unit, Some("DY-A")), person(Role::Unit, Some("DY-B")));
    let centre = person(Role::Centre, None);
    let reply = |t: &str| Action::Reply { text: t.into() };
    // T01: signed at once, replied, satisfied, closed.
    run(
        orders["T01"].clone(),
        &[
            (Action::Sign, a.clone(), at(1, 11)),
            (reply("已修复"), a.clone(), at(2, 10)),
            (visit(Satisfaction::Satisfied, true), centre.clone(), at(3, 10)),
            (Action::Close, centre.clone(), at(3, 11)),
        ],
        &mut events,
    );
    // T02: signed days late, replied, basically satisfied.
    run(
        orders["T02"].clone(),
        &[
            (Action::Sign, a.clone(), at(5, 9)),
            (reply("已处理"), a.clone(), at(5, 16)),
            (visit(Satisfaction::BasicallySatisfied, true), centre.clone(), at(6, 10)),
        ],
        &mut events,
    );
    // T03: unsatisfied, the unit asks a deduction, the centre grants it.
    run(
        orders["T03"].clone(),
        &[
            (Action::Sign, b.clone(), at(2, 11)),
            (reply("正在协调"), b.clone(), at(3, 9)),
            (visit(Satisfaction::Unsatisfied, false), centre.clone(), at(4, 9)),
            (
                Action::RequestDeduction {
                    reason: "超出职权".into(),
                    approved_by: "主任".into(),
                },
                b.clone(),
                at(4, 15),
            ),
            (
                Action::DecideDeduction {
                    approve: true,
                    reason: "属实".into(),
                },
                centre.clone(),
                at(5, 9),
            ),
        ],
        &mut events,
    );
    // T04: returned by DY-B, dispatched again to DY-A, signed.
    run(
        orders["T04"].clone(),
        &[
            (
                Action::Return {
                    reason: "不属本单位".into(),
                },
                b.clone(),
                at(3, 16),
            ),
            (Action::Dispatch { unit: "DY-A".into() }, centre.clone(), at(4, 9)),
            (Action::Sign, a.clone(), at(4, 10)),
        ],
        &mut events,
    );
    // T05: never signed; the sweep reports it and supervises by phone.
    let o5 = &orders["T05"];
    let overdue = o5
        .sweep(NaiveDate::from_ymd_opt(2026, 6, 5).unwrap())
        .expect("T05 is overdue by the 5th");
    events.extend(overdue_events(&overdue, at(5, 1)));
    // K1 crossed the many-citizens rule with T03.
    let t03 = ticket(&SPECS[2]);
    events.push(TicketEvent::new(
        t03.ticket_id,
        t03.channel,
        EventType::Escalated,
        "citizens:",
        t03.received_at,
        EventPayload::Escalated {
            cluster_id: "K1".into(),
            trigger: "citizens".into(),
            citizen_key: None,
            count: 3,
            members: 3,
            citizens: 3,
            proposal: "现场督办".into(),
        },
    ));
    events
}

fn week() -> Params {
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    Params::new(d("2026-06-01"), d("2026-06-07"), Weights::default()).unwrap()
}

/// Every saved query's answer, normalized, by name.
async fn answers(w: &dyn Warehouse) -> BTreeMap<&'static str, Table> {
    let mut out = BTreeMap::new();
    for q in SAVED {
        let sql = saved::render(q.sql, w.dialect(), &week()).unwrap();
        let t = w.select(&sql).await.unwrap_or_else(|e| panic!("{} on {}: {e}", q.name, w.kind()));
        out.insert(q.name, t);
    }
    out
}

fn rows(t: &Table) -> Vec<Vec<String>> {
    t.normalized()
}

/// What the fixture is known to hold, checked on one engine's answers.
fn check_known(a: &BTreeMap<&'static str, Table>) {
    let channel = rows(&a["volume_by_channel"]);
    assert_eq!(channel[0][..2], ["hotline_12345".to_string(), "6".into()], "{channel:?}");
    let total: i64 = channel.iter().map(|r| r[1].parse::<i64>().unwrap()).sum();
    assert_eq!(total, 12, "T00 is outside the week");
    let hour = rows(&a["volume_by_hour"]);
    assert!(hour.contains(&vec!["23".into(), "1".into(), "0".into()]), "{hour:?}");
    let signing = rows(&a["signing_on_time_by_unit"]);
    // DY-A: T01 on time, T02 late, T04 (re-dispatched) on time; DY-B: T03.
    let dy_a = signing.iter().find(|r| r[0] == "DY-A").unwrap();
    assert_eq!(dy_a[2..4], ["3".to_string(), "1".into()], "{signing:?}");
    let rates = rows(&a["three_rates_by_unit"]);
    let dy_a = rates.iter().find(|r| r[0] == "DY-A").unwrap();
    // Two visits, both contacted and solved; 满意 + 0.9 × 基本满意 = 1.9 / 2.
    assert_eq!(
        dy_a[1..5],
        ["2".to_string(), "1".into(), "1".into(), "9.500000000e-1".into()],
        "{rates:?}"
    );
    let repeat = rows(&a["repeat_complaints"]);
    // c1 twice on K1 (a third time in May, outside), c4 twice on K5.
    assert_eq!(repeat.len(), 2, "{repeat:?}");
    assert_eq!(repeat[0][..3], ["c1".to_string(), "K1".into(), "2".into()]);
    let forwarded = rows(&a["forwarded_to_huangshi"]);
    assert_eq!(forwarded.len(), 2, "{forwarded:?}");
    let deductions = rows(&a["deductions"]);
    assert_eq!(
        deductions,
        vec![vec!["DY-B".to_string(), "1".into(), "1".into(), "1".into(), "0".into()]]
    );
    let returns = rows(&a["returns_and_redispatches"]);
    assert_eq!(returns.len(), 1, "{returns:?}");
    assert_eq!(returns[0][3..5], ["1".to_string(), "2".into()]);
    let supervision = rows(&a["supervision_by_level"]);
    assert_eq!(supervision, vec![vec!["phone".to_string(), "0".into(), "1".into(), "1".into()]]);
    let overdue = rows(&a["overdue_orders"]);
    assert!(overdue.iter().any(|r| r[3] == "sign"), "T05 owes its signature: {overdue:?}");
    let escalations = rows(&a["escalations"]);
    assert_eq!(escalations.len(), 1);
    let clusters = rows(&a["week_clusters"]);
    assert_eq!(clusters[0][..3], ["K1".to_string(), "3".into(), "4".into()], "{clusters:?}");
    let unsatisfied = rows(&a["unsatisfied_orders"]);
    assert_eq!(unsatisfied.len(), 1, "{unsatisfied:?}");
    let days = rows(&a["workdays_in_period"]);
    assert_eq!(days, vec![vec!["2026-06".to_string(), "5".into(), "2".into(), "0".into()]]);
}

fn assert_same(name: &str, a: &BTreeMap<&'static str, Table>, b: &BTreeMap<&'static str, Table>) {
    for q in SAVED {
        assert_eq!(a[q.name].columns, b[q.name].columns, "{}: columns differ on {name}", q.name);
        assert_eq!(rows(&a[q.name]), rows(&b[q.name]), "{}: answers differ on {name}", q.name);
    }
}

/// Writes `events`, then again in two halves: a redelivery must add nothing.
async fn deliver_twice(w: &dyn Warehouse, events: &[TicketEvent]) {
    w.write(events).await.unwrap();
    let (x, y) = events.split_at(events.len() / 2);
    w.write(x).await.unwrap();
    w.write(y).await.unwrap();
}

async fn sqlite_warehouse(dir: &std::path::Path, events: &[TicketEvent]) -> SqliteWarehouse {
    let w = SqliteWarehouse::open(&dir.join("w.db")).await.unwrap();
    w.load_dimensions(&dims()).await.unwrap();
    deliver_twice(&w, events).await;
    w
}

/// Trends by every grouping and the week's hotspots, as tables by name:
/// they are computed from what each engine answers, so they must agree too.
async fn analyses(w: &dyn Warehouse) -> BTreeMap<String, Table> {
    use minqing_pipelines::analysis::{hotspots, rising::RisingSettings, trends};
    let mut out = BTreeMap::new();
    let (from, to) = (week().from, week().to);
    for by in ["category", "town", "category_town", "channel", "unit"] {
        let b: trends::By = by.parse().unwrap();
        let t = trends::trends(w, b, trends::Period::Day, from, to, &RisingSettings::default())
            .await
            .unwrap();
        out.insert(format!("trends by {by}"), t);
    }
    let messages = hotspots::stored::messages(w, from, to, None, None).await.unwrap();
    let s = hotspots::HotspotSettings::default();
    let hot = hotspots::hotspots(&messages, &s, &RisingSettings::default(), to, 10);
    let (table, detail) = hotspots::tables(&messages, &hot);
    out.insert("hotspots".into(), table);
    out.insert("hotspot details".into(), detail);
    out
}

fn dims() -> minqing_pipelines::warehouse::dims::Dimensions {
    let mut d = minqing_pipelines::warehouse::dims::Dimensions::default();
    let cal = Calendar::builtin();
    let mut day = NaiveDate::from_ymd_opt(2026, 5, 25).unwrap();
    while day <= NaiveDate::from_ymd_opt(2026, 6, 14).unwrap() {
        use chrono::Datelike;
        let wd = day.weekday().number_from_monday();
        d.calendar.push(minqing_pipelines::warehouse::dims::DayDim {
            day,
            workday: cal.day(day).workday,
            provisional: false,
            holiday: cal.holiday(day).unwrap_or_default().to_owned(),
            weekday: wd as u8,
            week_start: day - chrono::Duration::days(i64::from(wd) - 1),
            month: day.format("%Y-%m").to_string(),
        });
        day += chrono::Duration::days(1);
    }
    d
}

async fn clickhouse(events: &[TicketEvent]) -> Option<(ClickhouseWarehouse, String)> {
    if tokio::net::TcpStream::connect(("127.0.0.1", 8123)).await.is_err() {
        skip("ClickHouse (127.0.0.1:8123) unreachable; run scripts/services start");
        return None;
    }
    let database = format!("mq_model_{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let cfg = ClickhouseSettings {
        database: database.clone(),
        ..ClickhouseSettings::default()
    };
    let w = ClickhouseWarehouse::open(&cfg).await.unwrap();
    w.load_dimensions(&dims()).await.unwrap();
    deliver_twice(&w, events).await;
    Some((w, database))
}

#[tokio::test]
async fn every_saved_query_answers_the_same_on_every_engine() {
    let events = fixture();
    let dir = tempfile::tempdir().unwrap();
    let lite_w = sqlite_warehouse(dir.path(), &events).await;
    let lite = answers(&lite_w).await;
    check_known(&lite);
    let lite_analyses = analyses(&lite_w).await;
    assert!(!lite_analyses["hotspots"].rows.is_empty(), "K1 is raised by three citizens");
    assert!(!lite_analyses["trends by category_town"].rows.is_empty());
    let Some((ch, database)) = clickhouse(&events).await else {
        return;
    };
    let house = answers(&ch).await;
    check_known(&house);
    assert_same("ClickHouse 18.16 against SQLite", &lite, &house);
    let house_analyses = analyses(&ch).await;
    for (name, t) in &lite_analyses {
        assert_eq!(
            t.normalized(),
            house_analyses[name].normalized(),
            "{name}: SQLite and ClickHouse differ"
        );
    }
    match chdb_answers(&ch, dir.path()).await {
        Some(new) => assert_same("ClickHouse 26.x (chdb) against SQLite", &lite, &new),
        None => skip("python3 with chdb is not installed (scripts/test installs it)"),
    }
    ch.client()
        .query(&format!("DROP DATABASE IF EXISTS `{database}`"))
        .execute()
        .await
        .unwrap();
}

/// The base tables the 18.16 server holds, as INSERT statements (the
/// materialized views fill the rest on the other engine, as they did here).
async fn dump(ch: &ClickhouseWarehouse) -> String {
    let mut out = String::new();
    let tables = [
        ("tickets", "is_update = 0"),
        ("tickets", "is_update = 1"),
        ("ticket_events", "1"),
        ("cluster_merges", "1"),
        ("order_facts", "1"),
        ("supervision_facts", "1"),
        ("escalation_facts", "1"),
        ("dim_units", "1"),
        ("dim_categories", "1"),
        ("dim_towns", "1"),
        ("dim_channels", "1"),
        ("dim_calendar", "1"),
    ];
    for (table, filter) in tables {
        let sql = format!("SELECT * FROM {table} WHERE {filter} FORMAT Values");
        let mut cursor = ch.client().query(&sql).fetch_bytes("Values").unwrap();
        let mut body = Vec::new();
        while let Some(chunk) = cursor.next().await.unwrap() {
            body.extend_from_slice(&chunk);
        }
        let values = String::from_utf8(body).unwrap();
        if !values.trim().is_empty() {
            out += &format!("INSERT INTO {table} VALUES {values};\n");
        }
    }
    out
}

/// Every saved query on chdb's engine over the rows of the 18.16 server;
/// `None` when python3 or chdb is missing.
async fn chdb_answers(ch: &ClickhouseWarehouse, dir: &std::path::Path) -> Option<BTreeMap<&'static str, Table>> {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import chdb"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return None;
    }
    let setup = dir.join("setup.sql");
    std::fs::write(&setup, dump(ch).await).unwrap();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut cmd = std::process::Command::new(format!("{root}/scripts/chdb-run"));
    cmd.args(["--migrations", &format!("{root}/migrations/clickhouse"), "--setup"])
        .arg(&setup)
        .arg("--types");
    for q in SAVED {
        let sql = saved::render(q.sql, saved::Dialect::Clickhouse, &week()).unwrap();
        let file = dir.join(format!("{}.sql", q.name));
        std::fs::write(&file, sql).unwrap();
        cmd.arg("--query").arg(format!("{}={}", q.name, file.display()));
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "chdb-run: {}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut answers = BTreeMap::new();
    for q in SAVED {
        let text = json["results"][q.name].as_str().unwrap_or_else(|| panic!("{}: no result", q.name));
        answers.insert(q.name, Table::from_tsv(text).unwrap());
    }
    Some(answers)
}
