//! Work orders made up for the benchmarks (`minqing bench sweep`,
//! `minqing bench api`): an empty workflow store filled through the normal
//! event path, and the SLA sweep timed over it.

use crate::config::Settings;
use minqing_pipelines::store::EventStore;
use minqing_pipelines::workflow::sweep::{SweepReport, sweep};

/// What `minqing bench sweep` measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SweepBench {
    pub backend: String,
    pub orders: u64,
    pub late: u64,
    pub seed_secs: f64,
    /// The sweep that found and recorded the late orders.
    pub sweep_ms: u64,
    pub reported: u64,
    /// A second sweep right after: nothing left to report.
    pub idle_sweep_ms: u64,
}

/// Fills an empty workflow store with `orders` dispatched orders through
/// the normal event path (a ticket and its dispatch event each), to units
/// `U000`..`U199`; `late` of them dispatched a week before Monday 15 June
/// 2026, the day the benchmarks work on, so they are late to sign.
pub async fn seed_orders(
    settings: &Settings,
    store: &dyn EventStore,
    orders: usize,
    late: usize,
) -> anyhow::Result<chrono::DateTime<chrono::FixedOffset>> {
    use chrono::TimeZone;
    use minqing_connectors::RawAppeal;
    use minqing_pipelines::ticket::{EventPayload, EventType, TicketEvent};
    use minqing_pipelines::workflow::{self, Action, Order};
    let counts = store.channel_counts().await?;
    if counts.values().any(|c| c.tickets > 0) {
        anyhow::bail!(
            "the configured workflow store holds tickets already; the benchmark fills a store of its own: \
             give it an empty one (--data-dir for SQLite, MINQING__STORE__POSTGRES__URL for a fresh database)"
        );
    }
    let d = crate::runtime::deadlines(settings)?;
    let tz = minqing_connectors::timefmt::shanghai();
    let at = |day: u32, hour: u32| tz.with_ymd_and_hms(2026, 6, day, hour, 0, 0).single().expect("a valid time");
    let normalizer = minqing_pipelines::normalize::Normalizer::new(settings.pipeline.clone(), settings.gazetteer()?);
    let stride = orders.checked_div(late).map_or(usize::MAX, |s| s.max(1));
    let mut i = 0usize;
    while i < orders {
        let n = (orders - i).min(5000);
        let mut events = Vec::with_capacity(2 * n);
        for k in i..i + n {
            // Every stride-th order is late: dispatched a week before.
            let is_late = k % stride == 0 && k / stride < late;
            let received = if is_late { at(8, 9) } else { at(15, 9) };
            let t = normalizer
                .normalize(&RawAppeal::plain(
                    minqing_connectors::Channel::Hotline12345,
                    format!("BENCH{k:08}"),
                    received,
                    Some(&format!("138{:08}", k % 100_000_000)),
                    format!("金湖街道港湖村第{k}号路灯不亮"),
                ))
                .map_err(|e| anyhow::anyhow!("bench ticket {k}: {e}"))?;
            let dispatch = Action::Dispatch {
                unit: format!("U{:03}", k % 200),
            };
            let tr = Order::new(t.ticket_id, t.channel, None)
                .apply(&dispatch, &workflow::system(), received, &d.calendar, &d.rules)
                .map_err(|r| anyhow::anyhow!("{r}"))?;
            events.push(TicketEvent::new(
                t.ticket_id,
                t.channel,
                EventType::Received,
                "",
                received,
                EventPayload::Received { ticket: Box::new(t) },
            ));
            events.extend(workflow::action_events(&tr, &dispatch, &workflow::system(), received));
        }
        store.apply_events(&events).await?;
        i += n;
    }
    Ok(at(15, 23))
}

/// Fills an empty workflow store (see [`seed_orders`]), then times the
/// sweep over it.
pub async fn bench(settings: &Settings, orders: usize, late: usize) -> anyhow::Result<SweepBench> {
    let store = crate::runtime::open_store(settings).await?;
    let seeding = std::time::Instant::now();
    let today = seed_orders(settings, store.as_ref(), orders, late).await?;
    let seed_secs = seeding.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    let (r, _) = sweep(store.as_ref(), today.date_naive(), today, 1000).await?;
    let sweep_ms = started.elapsed().as_millis() as u64;
    let started = std::time::Instant::now();
    let (again, _) = sweep(store.as_ref(), today.date_naive(), today, 1000).await?;
    anyhow::ensure!(again == SweepReport::default(), "a second sweep found more: {again:?}");
    Ok(SweepBench {
        backend: format!("{:?}", settings.store.backend).to_lowercase(),
        orders: orders as u64,
        late: late as u64,
        seed_secs,
        sweep_ms,
        reported: r.sign_overdue,
        idle_sweep_ms: started.elapsed().as_millis() as u64,
    })
}
