//! `minqing bench warehouse`: the analysts' queries at scale. Synthetic
//! facts (two years of tickets over seven channels, seven categories and
//! eighteen towns, citizens who come back, four order versions per
//! dispatched ticket) are generated inside each engine (ClickHouse's
//! `numbers()`, SQLite's recursive CTE), through the tables' own
//! materialized views and triggers, then the hotspot read, a trend and the
//! three rates are timed over the last week and month. ClickHouse's
//! `system.query_log` gives the rows each query read, printed beside its
//! share of the table; the target is at most 5% for a week.
//!
//! ClickHouse goes to the database `<warehouse.clickhouse.database>_bench`,
//! dropped first and dropped again at the end; SQLite to a file in the
//! temporary folder, removed at the end.

use anyhow::{Context, Result};
use chrono::{Duration, NaiveDate};
use minqing_pipelines::warehouse::Warehouse;
use minqing_pipelines::warehouse::clickhouse::ClickhouseWarehouse;
use minqing_pipelines::warehouse::saved::{self, Dialect, Params};
use minqing_pipelines::warehouse::sqlite::SqliteWarehouse;
use serde::Serialize;
use std::time::Instant;

/// The synthetic data's first day; it spans `DAYS` days.
const START: &str = "2025-01-01";
const DAYS: u64 = 730;
const CHANNELS: &str =
    "['hotline_12345','hotline_12345','hotline_12345','wechat','wechat','yunshang_app','supervision','grid','police_110','tax_12366']";
const CATEGORIES: &str = "['城乡建设','环境保护','交通运输','劳动和社会保障','教育文体','商贸旅游','卫生计生']";
const TOWNS: &str = "['东岳路街道','东风路街道','金湖街道','罗家桥街道','金山店镇','还地桥镇','殷祖镇','刘仁八镇','陈贵镇','灵乡镇','金牛镇','保安镇','茗山乡','大箕铺镇','汪仁镇','金湖生态旅游区','大冶经济开发区','陈贵工业园']";
const ISSUES: &str =
    "['路灯不亮','噪音扰民','道路破损','垃圾清运不及时','停车难','拖欠工资','油烟扰民','违章建筑','供水停水','学校周边交通拥堵']";
const EVENTS: &str = "['dispatched','signed','replied','visited']";
const SATISFACTION: &str = "['satisfied','satisfied','satisfied','basically_satisfied','unsatisfied']";

/// One timed query.
#[derive(Debug, Serialize)]
pub struct Timing {
    pub engine: &'static str,
    pub query: &'static str,
    pub period: &'static str,
    pub ms: f64,
    pub rows_out: usize,
    /// Rows ClickHouse read (`system.query_log`), and their share of the
    /// table read and of the ticket facts (what the query would read
    /// without its aggregate).
    pub read_rows: Option<u64>,
    pub read_share: Option<f64>,
    pub ticket_share: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub clickhouse_rows: u64,
    pub clickhouse_load_s: f64,
    pub sqlite_rows: u64,
    pub sqlite_load_s: f64,
    pub timings: Vec<Timing>,
}

/// The queries, each rendered for a period: the hotspot engine's read of
/// the ticket facts, a weekly category trend's read of the daily aggregate
/// (the period and its eight-week baseline), and the three rates per unit.
fn queries(dialect: Dialect, from: NaiveDate, to: NaiveDate) -> Result<Vec<(&'static str, &'static str, String)>> {
    let p = Params::new(from, to, Default::default())?;
    let base = from - Duration::weeks(8);
    Ok(vec![
        (
            "hotspots",
            "ticket_facts",
            saved::render(
                "SELECT short_no, citizen_key, title, content, received_at, cluster_id, town, category FROM ticket_facts {final} \
                 WHERE received_date >= {from} AND received_date <= {to}",
                dialect,
                &p,
            )?,
        ),
        (
            "trend",
            "daily_tickets",
            format!(
                "SELECT day, category AS k, sum(tickets) AS n FROM daily_tickets WHERE day >= '{base}' AND day <= '{to}' GROUP BY day, category"
            ),
        ),
        (
            "three_rates",
            "unit_daily",
            saved::render(saved::find("three_rates_by_unit")?.sql, dialect, &p)?,
        ),
    ])
}

pub async fn run(settings: &crate::config::Settings, rows: u64, sqlite_rows: u64) -> Result<Report> {
    let start = NaiveDate::parse_from_str(START, "%Y-%m-%d")?;
    let last = start + Duration::days(DAYS as i64 - 1);
    let periods = [("week", last - Duration::days(6), last), ("month", last - Duration::days(29), last)];
    let mut timings = Vec::new();
    let (ch_load, ch) = clickhouse(settings, rows).await?;
    let tickets: u64 = ch.client().query("SELECT count() FROM ticket_facts").fetch_one().await?;
    for (period, from, to) in periods {
        for (name, table, sql) in queries(Dialect::Clickhouse, from, to)? {
            timings.push(timed_clickhouse(&ch, tickets, name, table, period, &sql).await?);
        }
    }
    ch.client()
        .query(&format!("DROP DATABASE IF EXISTS `{}`", bench_database(settings)))
        .execute()
        .await?;
    let path = std::env::temp_dir().join(format!("minqing-bench-warehouse-{}.db", std::process::id()));
    let (lite_load, lite) = sqlite(&path, sqlite_rows).await?;
    for (period, from, to) in periods {
        for (name, _, sql) in queries(Dialect::Sqlite, from, to)? {
            let t = Instant::now();
            let out = lite.select(&sql).await?;
            timings.push(Timing {
                engine: "sqlite",
                query: name,
                period,
                ms: t.elapsed().as_secs_f64() * 1000.0,
                rows_out: out.rows.len(),
                read_rows: None,
                read_share: None,
                ticket_share: None,
            });
        }
    }
    drop(lite);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(Report {
        clickhouse_rows: rows,
        clickhouse_load_s: ch_load,
        sqlite_rows,
        sqlite_load_s: lite_load,
        timings,
    })
}

fn bench_database(settings: &crate::config::Settings) -> String {
    format!("{}_bench", settings.warehouse.clickhouse.database.replace('`', ""))
}

/// A fresh bench database filled with `rows` tickets and as many order
/// versions; the seconds it took.
async fn clickhouse(settings: &crate::config::Settings, rows: u64) -> Result<(f64, ClickhouseWarehouse)> {
    let mut cfg = settings.warehouse.clickhouse.clone();
    cfg.database = bench_database(settings);
    cfg.timeout_secs = cfg.timeout_secs.max(3600);
    let w = ClickhouseWarehouse::open(&cfg)
        .await
        .context("opening ClickHouse (warehouse.clickhouse.url)")?;
    w.client().query(&format!("DROP DATABASE `{}`", cfg.database)).execute().await?;
    let w = ClickhouseWarehouse::open(&cfg).await?;
    let t = Instant::now();
    const CHUNK: u64 = 5_000_000;
    let mut done = 0;
    while done < rows {
        let n = CHUNK.min(rows - done);
        w.client().query(&clickhouse_tickets(done, n, rows)).execute().await?;
        w.client().query(&clickhouse_orders(done, n, rows)).execute().await?;
        done += n;
    }
    Ok((t.elapsed().as_secs_f64(), w))
}

/// Tickets `first..first + n` of `total`, in arrival order over `DAYS`.
fn clickhouse_tickets(first: u64, n: u64, total: u64) -> String {
    format!(
        "INSERT INTO tickets (ticket_id, short_no, channel, source_id, version, is_update, received_at, received_date, title, content, \
         content_truncated, appeal_type, category, town, location, lat, lon, has_coordinates, citizen_key, anonymous, attachments, \
         text_hash, duplicate_of, cluster_id, status, loaded_at, scope, scope_rule, unit, citizen_key_id) \
         SELECT id, concat('DY-', toString(number)), arrayElement({CHANNELS}, 1 + number % 10), toString(number), 0, 0, at, toDate(at), \
         concat(arrayElement({TOWNS}, 1 + (number * 7) % 18), arrayElement({ISSUES}, 1 + (number * 13) % 10)), \
         concat('我家附近', arrayElement({ISSUES}, 1 + (number * 13) % 10), '，请有关部门尽快处理。'), 0, 'complaint', \
         arrayElement({CATEGORIES}, 1 + (number * 13) % 7), arrayElement({TOWNS}, 1 + (number * 7) % 18), '', 0, 0, 0, \
         hex(cityHash64(number % {citizens})), 0, [], hex(cityHash64(number)), '', toString(id), 'dispatched', now(), 'dispatch', '', \
         concat('DY-U-', toString((number * 7) % 30)), 'k1' \
         FROM (SELECT number, toUUID(concat(substring(x, 1, 8), '-', substring(x, 9, 4), '-', substring(x, 13, 4), '-', substring(x, 17, 4), '-', substring(x, 21, 12))) AS id, hex(MD5(concat('t', toString(number)))) AS x, \
         toDateTime('{START} 00:00:00', 'Asia/Shanghai') + toUInt32(intDiv(number * {secs}, {total})) AS at \
         FROM numbers({first}, {n}))",
        citizens = (total / 3).max(1),
        secs = DAYS * 86_400,
    )
}

/// Order versions `first..first + n`: four per order, for every fourth ticket's span.
fn clickhouse_orders(first: u64, n: u64, total: u64) -> String {
    format!(
        "INSERT INTO order_facts SELECT id, toUInt32(number % 4 + 1), ev, if(ev = 'dispatched', 'system', 'unit'), unit, at, toDate(at), toDate(at), \
         'hotline_12345', arrayElement({CATEGORIES}, 1 + (number * 13) % 7), arrayElement({TOWNS}, 1 + (number * 7) % 18), unit, \
         if(ev = 'visited', 'visited', ev), 1, 0, at, toDate(at) + 1, at, toUInt8(number % 9 != 0), toDate(at) + 7, at, toUInt8(number % 11 != 0), \
         NULL, if(ev = 'visited', at, NULL), NULL, 0, 0, 0, 0, toUInt8(number % 13 != 0), toUInt8(number % 5 != 0), \
         if(ev = 'visited', arrayElement({SATISFACTION}, 1 + intDiv(number, 4) % 5), ''), 0, 0, 0, 0, '', 0, now() \
         FROM (SELECT number, toUUID(concat(substring(x, 1, 8), '-', substring(x, 9, 4), '-', substring(x, 13, 4), '-', substring(x, 17, 4), '-', substring(x, 21, 12))) AS id, hex(MD5(concat('o', toString(intDiv(number, 4))))) AS x, \
         arrayElement({EVENTS}, 1 + number % 4) AS ev, concat('DY-U-', toString(intDiv(number, 4) % 30)) AS unit, \
         toDateTime('{START} 00:00:00', 'Asia/Shanghai') + toUInt32(intDiv(number * {secs}, {total})) AS at FROM numbers({first}, {n}))",
        secs = DAYS * 86_400,
    )
}

/// Runs `sql` and reads its duration and rows read from the query log;
/// `tickets` rows are in the ticket facts.
async fn timed_clickhouse(
    w: &ClickhouseWarehouse,
    tickets: u64,
    name: &'static str,
    table: &str,
    period: &'static str,
    sql: &str,
) -> Result<Timing> {
    let id = uuid::Uuid::new_v4().to_string();
    let t = Instant::now();
    let mut cursor = w
        .client()
        .query(sql)
        .with_setting("query_id", id.clone())
        .with_setting("log_queries", "1")
        .fetch_bytes("TabSeparated")?;
    let mut rows_out = 0;
    while let Some(chunk) = cursor.next().await? {
        rows_out += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    w.client().query("SYSTEM FLUSH LOGS").execute().await?;
    let read: Vec<u64> = w
        .client()
        .query("SELECT read_rows FROM system.query_log WHERE query_id = ? AND type = 2")
        .bind(id.as_str())
        .fetch_all()
        .await?;
    let total: u64 = w.client().query(&format!("SELECT count() FROM {table}")).fetch_one().await?;
    let read_rows = read.first().copied();
    let share = |of: u64| read_rows.map(|r| (r as f64 / of.max(1) as f64 * 10_000.0).round() / 10_000.0);
    Ok(Timing {
        engine: "clickhouse",
        query: name,
        period,
        ms,
        rows_out,
        read_rows,
        read_share: share(total),
        ticket_share: share(tickets),
    })
}

/// A SQLite warehouse at `path` with `rows` tickets and as many order
/// versions, made by recursive CTEs (the trigger keeps `orders` and
/// `unit_daily`); the seconds it took.
async fn sqlite(path: &std::path::Path, rows: u64) -> Result<(f64, SqliteWarehouse)> {
    let w = SqliteWarehouse::open(path).await?;
    let t = Instant::now();
    let list = |a: &str| {
        a.trim_matches(['[', ']'])
            .split(',')
            .map(|s| s.trim_matches('\'').to_owned())
            .collect::<Vec<_>>()
    };
    let pick = |a: &str, expr: &str| {
        let items = list(a);
        let cases: String = items.iter().enumerate().map(|(i, v)| format!(" WHEN {i} THEN '{v}'")).collect();
        format!("(CASE ({expr}) % {}{cases} END)", items.len())
    };
    let secs = DAYS * 86_400;
    let at = format!("datetime('{START} 00:00:00', '+' || (n * {secs} / {rows}) || ' seconds')");
    let tickets = format!(
        "WITH RECURSIVE c(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM c WHERE n + 1 < {rows}) \
         INSERT INTO tickets (ticket_id, short_no, channel, source_id, version, received_at, received_date, title, content, \
         content_truncated, appeal_type, category, town, location, citizen_key, citizen_key_id, anonymous, attachments, text_hash, \
         duplicate_of, cluster_id, status, loaded_at, scope, scope_rule, unit) \
         SELECT 't' || n, 'DY-' || n, {ch}, n, 0, replace({at}, ' ', 'T') || '+08:00', date({at}), {town} || {issue}, '我家附近' || {issue}, 0, \
         'complaint', {cat}, {town}, '', printf('%x', (n % {citizens}) * 2654435761 % 4294967296), 'k1', 0, '[]', 'h' || n, '', 't' || n, \
         'dispatched', '', 'dispatch', '', 'DY-U-' || (n * 7 % 30) FROM c",
        ch = pick(CHANNELS, "n"),
        town = pick(TOWNS, "n * 7"),
        issue = pick(ISSUES, "n * 13"),
        cat = pick(CATEGORIES, "n * 13"),
        citizens = (rows / 3).max(1),
    );
    w.run_script(&tickets)?;
    let orders = format!(
        "WITH RECURSIVE c(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM c WHERE n + 1 < {rows}) \
         INSERT INTO order_facts (ticket_seq, ticket_id, version, event_type, actor_role, actor_unit, occurred_at, occurred_date, \
         received_date, channel, category, town, unit, state, dispatches, returns, signed_on_time, replied_on_time, sign_overdue, \
         reply_overdue, extended_workdays, on_account, visit_contacted, visit_resolved, satisfaction, unsatisfied_visits, \
         deduction_requests, deducted, confirmed_unsatisfied, supervision, clue_transferred, loaded_at) \
         SELECT n / 4 + 1, 'o' || (n / 4), n % 4 + 1, {ev}, 'unit', 'DY-U-' || (n / 4 % 30), {at}, date({at}), date({at}), \
         'hotline_12345', {cat}, {town}, 'DY-U-' || (n / 4 % 30), {ev}, 1, 0, n % 9 != 0, n % 11 != 0, 0, 0, 0, 0, n % 13 != 0, \
         n % 5 != 0, CASE WHEN n % 4 = 3 THEN {sat} ELSE '' END, 0, 0, 0, 0, '', 0, '' FROM c",
        ev = pick(EVENTS, "n"),
        cat = pick(CATEGORIES, "n * 13"),
        town = pick(TOWNS, "n * 7"),
        sat = pick(SATISFACTION, "n / 4"),
    );
    w.run_script(&orders)?;
    // The daily aggregate the writer keeps for arrivals.
    w.run_script(
        "INSERT INTO daily_tickets (day, channel, category, town, tickets, duplicates) \
         SELECT received_date, channel, category, town, count(*), 0 FROM tickets GROUP BY 1, 2, 3, 4",
    )?;
    Ok((t.elapsed().as_secs_f64(), w))
}

/// The report as a table, with the command that reproduces it.
pub fn table(r: &Report) -> String {
    let mut out = format!(
        "warehouse benchmark: ClickHouse {} tickets and order versions (loaded in {:.1} s), SQLite {} (loaded in {:.1} s)\n\
         engine      query        period  ms        rows out  rows read   of its table  of the tickets\n",
        r.clickhouse_rows, r.clickhouse_load_s, r.sqlite_rows, r.sqlite_load_s
    );
    for t in &r.timings {
        out += &format!(
            "{:<11} {:<12} {:<7} {:>9.1} {:>9} {:>11} {:>13} {:>15}\n",
            t.engine,
            t.query,
            t.period,
            t.ms,
            t.rows_out,
            t.read_rows.map_or("-".into(), |n| n.to_string()),
            t.read_share.map_or("-".into(), |s| format!("{:.2}%", s * 100.0)),
            t.ticket_share.map_or("-".into(), |s| format!("{:.3}%", s * 100.0))
        );
    }
    out += &format!(
        "reproduce: minqing bench warehouse --rows {} --sqlite-rows {}\n",
        r.clickhouse_rows, r.sqlite_rows
    );
    out
}
