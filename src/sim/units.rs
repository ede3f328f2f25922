//! The handling units and the hotline centre, simulated for `minqing demo`:
//! after the appeals have landed, each unit works its orders through
//! `/api/v1` over real HTTP, day by day on a simulated clock (evenings, after
//! the day's appeals were dispatched). Most sign on
//! time, some late; some return an order; most reply in time, some late;
//! the centre visits every reply, and an unsatisfied citizen's order is
//! reworked. The SLA sweep runs at the start of each simulated day. The
//! plan is fixed by the seed, so the report checks itself against it.

use crate::v1::{ApiSettings, ApiToken, Clock, V1};
use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};
use minqing_pipelines::relay::Relay;
use minqing_pipelines::store::{OrderQuery, WorkflowStore};
use minqing_pipelines::workflow::{Deadlines, Role, State};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// What happened to the work orders, or what the plan says should.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WorkflowCounts {
    pub orders: u64,
    pub signed_on_time: u64,
    pub sign_overdue: u64,
    pub reply_overdue: u64,
    /// Phone and written supervision.
    pub supervised: u64,
    pub returned: u64,
    pub unsatisfied: u64,
    pub closed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkflowReport {
    #[serde(flatten)]
    pub counts: WorkflowCounts,
    pub expected: WorkflowCounts,
    /// Actions taken through `/api/v1`, and how fast.
    pub actions: u64,
    pub actions_per_sec: f64,
}

/// Orders worked at once. SQLite commits actions that arrive together in one
/// transaction, so more clerks at once means fewer, fuller commits.
const CLERKS: usize = 64;

/// Further tries of an action that met a server error or no answer.
const RETRIES: u64 = 5;

/// One planned action on one order.
#[derive(Debug, Clone)]
struct Step {
    ticket: Uuid,
    unit: String,
    centre: bool,
    body: Value,
}

fn roll(id: &Uuid, seed: u64, salt: u64) -> f64 {
    let mut z = u64::from_le_bytes(id.as_bytes()[..8].try_into().expect("16 bytes")) ^ seed.rotate_left(17) ^ salt;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// The plan, by day: each order's actions on the days they fall.
type Plan = BTreeMap<NaiveDate, Vec<Step>>;

/// Works every dispatched order through `/api/v1`, day by day, and counts
/// what happened beside what the plan says should.
pub async fn run(store: Arc<dyn WorkflowStore>, relay: Arc<Relay>, deadlines: Deadlines, seed: u64) -> Result<WorkflowReport> {
    let all = store
        .orders(&OrderQuery {
            open: true,
            limit: 10_000_000,
            ..OrderQuery::default()
        })
        .await?;
    let orders: Vec<_> = all
        .into_iter()
        .filter(|o| o.state == State::Dispatched && o.unit.is_some())
        .collect();
    let (mut plan, expected) = plan(&orders, &deadlines, seed);
    let api = Api::serve(&store, &relay, &deadlines, &orders, seed).await?;
    let mut done = Done::default();
    done.counts.orders = orders.len() as u64;
    let last = plan.keys().next_back().copied();
    let mut day = plan.keys().next().copied();
    while let (Some(d), Some(end)) = (day, last) {
        if d > end + chrono::Duration::days(1) {
            break;
        }
        // The sweep at the start of the day, then the day's work late in
        // the day, after the day's appeals were dispatched.
        let r = minqing_pipelines::workflow::sweep::run_once(store.as_ref(), &relay, api.at(d, 0, 5)).await?;
        done.counts.sign_overdue += r.sign_overdue;
        done.counts.reply_overdue += r.reply_overdue;
        done.counts.supervised += r.phone_supervision + r.written_supervision;
        *api.now.lock().expect("clock") = api.at(d, 23, 0);
        let started = std::time::Instant::now();
        api.work_day(d, plan.remove(&d).unwrap_or_default(), &mut done).await?;
        done.busy += started.elapsed();
        day = Some(d + chrono::Duration::days(1));
    }
    api.server.abort();
    // What the units did reaches the warehouse before the demo counts it.
    relay.drain().await?;
    // Signed on time: signed, and never found late by the sweep.
    done.counts.signed_on_time = done.signed.saturating_sub(done.counts.sign_overdue);
    Ok(WorkflowReport {
        counts: done.counts,
        expected,
        actions: done.actions,
        actions_per_sec: (done.actions as f64 / done.busy.as_secs_f64().max(0.001) * 10.0).round() / 10.0,
    })
}

/// What the units did so far.
#[derive(Default)]
struct Done {
    counts: WorkflowCounts,
    actions: u64,
    signed: u64,
    /// Time spent working, the sweeps left out.
    busy: std::time::Duration,
}

impl Done {
    /// Counts one action that went through.
    fn count(&mut self, action: &str, body: &Value) {
        self.actions += 1;
        match action {
            "sign" => self.signed += 1,
            "return" => self.counts.returned += 1,
            "close" => self.counts.closed += 1,
            "visit" if body["satisfaction"] == "unsatisfied" => self.counts.unsatisfied += 1,
            _ => {}
        }
    }
}

/// The plan for every order, fixed by `seed`, and what it should produce.
fn plan(orders: &[minqing_pipelines::workflow::Order], deadlines: &Deadlines, seed: u64) -> (Plan, WorkflowCounts) {
    let mut plan = Plan::new();
    let mut expected = WorkflowCounts {
        orders: orders.len() as u64,
        ..WorkflowCounts::default()
    };
    for o in orders {
        let (Some(dispatched), Some(sign_due)) = (o.dispatched_at, o.sign_due) else {
            continue;
        };
        let unit = o.unit.clone().unwrap_or_default();
        let mut push = |day: NaiveDate, centre: bool, body: Value| {
            plan.entry(day).or_default().push(Step {
                ticket: o.ticket_id,
                unit: unit.clone(),
                centre,
                body,
            })
        };
        plan_order(
            &o.ticket_id,
            dispatched.date_naive(),
            sign_due,
            deadlines,
            seed,
            &mut push,
            &mut expected,
        );
    }
    (plan, expected)
}

/// One order's plan: returned (5%), or signed (late 15%), replied (late
/// 15%), visited (unsatisfied 10%, then reworked and visited again) and
/// closed.
fn plan_order(
    id: &Uuid,
    d0: NaiveDate,
    sign_due: NaiveDate,
    deadlines: &Deadlines,
    seed: u64,
    push: &mut impl FnMut(NaiveDate, bool, Value),
    expected: &mut WorkflowCounts,
) {
    let add = |d: NaiveDate, n: u32| deadlines.calendar.add_workdays(d, n).0;
    let r = roll(id, seed, 1);
    if r < 0.05 {
        push(
            sign_due,
            false,
            json!({"action": "return", "reason": "经核实不属本单位职责，请重新派单"}),
        );
        expected.returned += 1;
        return;
    }
    let late_sign = r < 0.20;
    let signed = if late_sign { add(sign_due, 2) } else { sign_due.max(d0) };
    push(signed, false, json!({"action": "sign"}));
    if late_sign {
        expected.sign_overdue += 1;
    } else {
        expected.signed_on_time += 1;
    }
    let reply_due = add(signed, deadlines.rules.reply_workdays);
    let late_reply = roll(id, seed, 2) < 0.15;
    let replied = if late_reply { add(reply_due, 2) } else { add(signed, 2) };
    push(
        replied,
        false,
        json!({"action": "reply", "text": "已到现场核实并处理，情况已向群众说明。"}),
    );
    if late_reply {
        expected.reply_overdue += 1;
    }
    // Phone supervision at the first lateness, written at the second.
    expected.supervised += u64::from(late_sign) + u64::from(late_reply);
    let visit = add(replied, 1);
    let satisfied = json!({"action": "visit", "contacted": true, "resolved": true, "satisfaction": "satisfied", "trust": 5});
    if roll(id, seed, 3) < 0.10 {
        expected.unsatisfied += 1;
        push(
            visit,
            true,
            json!({"action": "visit", "contacted": true, "resolved": false, "satisfaction": "unsatisfied", "trust": 2}),
        );
        // Reworked within its deadline, then visited again.
        let again = add(visit, 2);
        push(again, false, json!({"action": "reply", "text": "已重新办理并回复群众。"}));
        push(add(again, 1), true, satisfied);
        push(add(again, 1), true, json!({"action": "close"}));
    } else {
        push(visit, true, satisfied);
        push(visit, true, json!({"action": "close"}));
    }
    expected.closed += 1;
}

/// `/api/v1` served on loopback for the simulation, on a clock the
/// simulation sets, with a token per unit and one for the centre.
struct Api {
    base: String,
    /// Unit name → its token.
    tokens: HashMap<String, String>,
    centre: String,
    now: Arc<Mutex<DateTime<FixedOffset>>>,
    tz: FixedOffset,
    http: reqwest::Client,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Api {
    async fn serve(
        store: &Arc<dyn WorkflowStore>,
        relay: &Arc<Relay>,
        deadlines: &Deadlines,
        orders: &[minqing_pipelines::workflow::Order],
        seed: u64,
    ) -> Result<Api> {
        let mut tokens: HashMap<String, String> = HashMap::new();
        let mut api = ApiSettings::default();
        for unit in orders.iter().map(|o| o.unit.clone().unwrap_or_default()) {
            tokens.entry(unit.clone()).or_insert_with(|| {
                let token = format!("demo-{seed}-{}", Uuid::new_v4().simple());
                api.tokens.push(ApiToken {
                    token: token.clone().into(),
                    role: Role::Unit,
                    unit: Some(unit.clone()),
                    name: format!("{unit} 经办人"),
                });
                token
            });
        }
        let centre = format!("demo-centre-{}", Uuid::new_v4().simple());
        api.tokens.push(ApiToken {
            token: centre.clone().into(),
            role: Role::Centre,
            unit: None,
            name: "12345中心回访员".into(),
        });
        let tz = minqing_connectors::timefmt::shanghai();
        let now: Arc<Mutex<DateTime<FixedOffset>>> = Arc::new(Mutex::new(chrono::Utc::now().with_timezone(&tz)));
        let clock: Clock = {
            let now = now.clone();
            Arc::new(move || *now.lock().expect("the clock lock is never poisoned"))
        };
        let v1 = V1::new(store.clone(), relay.clone(), deadlines.clone(), &api, clock);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let server = tokio::spawn(async move { axum::serve(listener, crate::v1::router(Arc::new(v1))).await });
        Ok(Api {
            base,
            tokens,
            centre,
            now,
            tz,
            http: reqwest::Client::new(),
            server,
        })
    }

    /// Day `d` at `h:m`, local time.
    fn at(&self, d: NaiveDate, h: u32, m: u32) -> DateTime<FixedOffset> {
        self.tz
            .from_local_datetime(&d.and_hms_opt(h, m, 0).expect("valid"))
            .single()
            .expect("no DST")
    }

    /// Works one day's steps: orders in parallel (up to [`CLERKS`]), each
    /// order's steps of the day in order.
    async fn work_day(&self, d: NaiveDate, steps: Vec<Step>, done: &mut Done) -> Result<()> {
        let mut by_order: BTreeMap<Uuid, Vec<Step>> = BTreeMap::new();
        for s in steps {
            by_order.entry(s.ticket).or_default().push(s);
        }
        let sem = Arc::new(tokio::sync::Semaphore::new(CLERKS));
        let mut set = tokio::task::JoinSet::new();
        for (ticket, steps) in by_order {
            let (http, base, sem) = (self.http.clone(), self.base.clone(), sem.clone());
            let tokens: Vec<String> = steps
                .iter()
                .map(|s| {
                    if s.centre {
                        self.centre.clone()
                    } else {
                        self.tokens[&s.unit].clone()
                    }
                })
                .collect();
            set.spawn(async move {
                let _permit = sem.acquire().await;
                let mut out = Vec::new();
                for (i, (s, token)) in steps.iter().zip(tokens).enumerate() {
                    let url = format!("{base}/api/v1/orders/{ticket}/actions");
                    let ok = act(&http, &url, &token, &format!("demo-{ticket}-{d}-{i}"), &s.body, ticket).await;
                    out.push((s.body["action"].as_str().unwrap_or("").to_owned(), s.body.clone(), ok));
                }
                out
            });
        }
        while let Some(results) = set.join_next().await {
            for (action, body, ok) in results.context("a simulated unit panicked")? {
                if ok {
                    done.count(&action, &body);
                }
            }
        }
        Ok(())
    }
}

/// One clerk's click: the action posted, and posted again after a 503 or a
/// broken connection (the same Idempotency-Key makes that safe). Whether
/// it went through.
async fn act(http: &reqwest::Client, url: &str, token: &str, key: &str, body: &Value, ticket: Uuid) -> bool {
    let send = || http.post(url).bearer_auth(token).header("Idempotency-Key", key).json(body).send();
    let mut resp = send().await;
    for attempt in 1..=RETRIES {
        match &resp {
            Ok(r) if !r.status().is_server_error() => break,
            _ => {
                tokio::time::sleep(std::time::Duration::from_millis(200 * attempt)).await;
                resp = send().await;
            }
        }
    }
    match resp {
        Ok(r) if r.status().is_success() => true,
        Ok(r) => {
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            tracing::warn!(%ticket, %status, body = %text, "A simulated unit's action was refused.");
            false
        }
        Err(e) => {
            tracing::warn!(%ticket, error = %e, "A simulated unit's action failed.");
            false
        }
    }
}
