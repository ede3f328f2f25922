//! The composition root: store → bus → intake and sinks → connectors and
//! their schedules → HTTP API. [`Runtime::start`] brings it all up;
//! [`Runtime::shutdown`] stops intake and connectors between batches, so
//! nothing half-done is left behind.

use crate::api::{self, ChannelInfo};
use crate::config::{BusBackend, Settings, StoreBackend, WarehouseBackend};
use crate::scheduler::{CatchUp, Job, Scheduler};
use anyhow::{Context, Result};
use async_trait::async_trait;
use minqing_connectors::http::HttpClient;
use minqing_connectors::pull::{ChannelStats, PullRunner};
use minqing_connectors::sink::{AppealSink, Pushed, SinkError};
use minqing_connectors::spec::Built;
use minqing_connectors::{Channel, Inbound};
use minqing_pipelines::bus::memory::MemoryBus;
use minqing_pipelines::bus::rabbit::RabbitBus;
use minqing_pipelines::bus::{Bus, EventQueue};
use minqing_pipelines::dedup::DedupIndex;
use minqing_pipelines::intake::{Intake, IntakeStats};
use minqing_pipelines::latency::Latencies;
use minqing_pipelines::normalize::Normalizer;
use minqing_pipelines::relay::Relay;
use minqing_pipelines::sink::{Batching, StoreTarget, WarehouseTarget, run_sink};
use minqing_pipelines::store::postgres::PgStore;
use minqing_pipelines::store::sqlite::SqliteStore;
use minqing_pipelines::store::{Checkpoints, WorkflowStore};
use minqing_pipelines::warehouse::Warehouse;
use minqing_pipelines::warehouse::clickhouse::ClickhouseWarehouse;
use minqing_pipelines::warehouse::sqlite::SqliteWarehouse;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Hands connector output to the bus; resolves once it is durable.
pub struct BusSink(pub Arc<dyn Bus>);

#[async_trait]
impl AppealSink for BusSink {
    async fn accept(&self, mut items: Vec<Inbound>) -> Result<(), SinkError> {
        let now = chrono::Utc::now();
        for i in &mut items {
            i.stamp_accepted(now);
        }
        self.0.publish_raw(items).await.map_err(|e| SinkError::Pipeline(Box::new(e)))
    }
}

pub struct StartOptions {
    /// Poll every connector once at start instead of waiting for its first tick.
    pub poll_at_start: bool,
    /// Run the SLA sweep on `workflow.sweep_schedule`. The demo sweeps on
    /// its own simulated clock instead: real time would find its June
    /// orders all late.
    pub sweep: bool,
}

pub struct Runtime {
    pub store: Arc<dyn WorkflowStore>,
    /// Whether the sinks can write, for `/readyz`: (workflow store, warehouse).
    pub write_health: [Arc<minqing_pipelines::sink::WriteHealth>; 2],
    /// Takes what the workflow store committed for the warehouse out of its outbox.
    pub relay: Arc<Relay>,
    pub warehouse: Arc<dyn Warehouse>,
    pub bus: Arc<dyn Bus>,
    pub intake_stats: Arc<IntakeStats>,
    pub latency: Arc<Latencies>,
    pub channels: Arc<BTreeMap<Channel, ChannelInfo>>,
    pub api_addr: SocketAddr,
    pub cancel: CancellationToken,
    tracker: TaskTracker,
    grace: Duration,
}

/// Opens the configured workflow store (and migrates it).
pub async fn open_store(settings: &Settings) -> Result<Arc<dyn WorkflowStore>> {
    Ok(match settings.store.backend {
        StoreBackend::Sqlite => {
            let path = settings.sqlite_path();
            let store = SqliteStore::open(&path).await.with_context(|| {
                format!(
                    "opening the SQLite workflow store at {}; check data_dir and its permissions",
                    path.display()
                )
            })?;
            Arc::new(store)
        }
        StoreBackend::Postgres => Arc::new(
            PgStore::open(&settings.store.postgres)
                .await
                .context("opening the PostgreSQL workflow store (store.postgres.url)")?,
        ),
    })
}

/// Opens the configured warehouse, migrates it and loads its dimension
/// tables from the config in force.
pub async fn open_warehouse(settings: &Settings) -> Result<Arc<dyn Warehouse>> {
    let warehouse = open_warehouse_only(settings).await?;
    warehouse
        .load_dimensions(&dimensions(settings)?)
        .await
        .context("loading the warehouse's dimension tables (units, categories, towns, channels, calendar)")?;
    Ok(warehouse)
}

/// On SIGHUP: the triage rules again (with the gazetteer's towns), then
/// the warehouse's dimension tables.
#[cfg(unix)]
fn reload_on_sighup(settings: &Settings, triage: &minqing_pipelines::triage::Live, warehouse: &Arc<dyn Warehouse>) {
    let s = settings.clone();
    let towns = move || Ok(crate::rules::towns(&s.gazetteer()?));
    let (s, w) = (settings.clone(), warehouse.clone());
    let reloaded = move || {
        let (s, w) = (s.clone(), w.clone());
        tokio::spawn(async move { reload_dimensions(&s, w.as_ref()).await });
    };
    crate::rules::reload_on_sighup(triage.clone(), settings.triage.clone(), towns, reloaded);
}

/// Loads the dimension tables again after the rules changed (SIGHUP).
async fn reload_dimensions(settings: &Settings, warehouse: &dyn Warehouse) {
    let loaded = match dimensions(settings) {
        Ok(d) => warehouse.load_dimensions(&d).await.map_err(anyhow::Error::from),
        Err(e) => Err(e),
    };
    match loaded {
        Ok(()) => tracing::info!("Warehouse dimensions reloaded."),
        Err(e) => tracing::error!(error = %format!("{e:#}"), "Warehouse dimensions NOT reloaded; the previous ones stay."),
    }
}

/// The dimension tables' rows: units and categories from the triage
/// rules, towns from the gazetteer, the channels, and the calendar.
pub fn dimensions(settings: &Settings) -> Result<minqing_pipelines::warehouse::dims::Dimensions> {
    let gazetteer = settings.gazetteer()?;
    let triage = crate::rules::triage(&settings.triage, &gazetteer)?;
    let calendar = crate::rules::calendar(&settings.calendar)?;
    let today = chrono::Utc::now()
        .with_timezone(&minqing_connectors::timefmt::shanghai())
        .date_naive();
    Ok(minqing_pipelines::warehouse::dims::Dimensions::new(
        &triage,
        gazetteer.towns(),
        &calendar,
        today,
    ))
}

/// Names too wide to be one hotspot's place: the gazetteer's towns and
/// their aliases (东岳路 is a street government, not a road).
pub fn wide_places(settings: &Settings) -> Result<std::collections::HashSet<String>> {
    let g = settings.gazetteer()?;
    Ok(g.towns()
        .iter()
        .flat_map(|t| std::iter::once(t.name.clone()).chain(t.aliases.iter().cloned()))
        .collect())
}

/// Opens the configured warehouse for the analysts' commands: migrated,
/// but its dimension tables left as the gateway loaded them (an analyst's
/// own config must not replace them, and ClickHouse replaces a table by
/// emptying it first).
pub async fn open_warehouse_for_reading(settings: &Settings) -> Result<Arc<dyn Warehouse>> {
    let warehouse = open_warehouse_only(settings).await?;
    // A warehouse no gateway has opened yet has empty dimensions: load them
    // once, so names can be checked.
    let towns = warehouse.select("SELECT count(*) FROM dim_towns").await?;
    if towns.rows.first().and_then(|r| r.first()).is_some_and(|c| c.to_string() == "0") {
        warehouse.load_dimensions(&dimensions(settings)?).await?;
    }
    Ok(warehouse)
}

async fn open_warehouse_only(settings: &Settings) -> Result<Arc<dyn Warehouse>> {
    Ok(match settings.warehouse.backend {
        WarehouseBackend::Sqlite => {
            let path = settings.warehouse_path();
            Arc::new(SqliteWarehouse::open(&path).await.with_context(|| {
                format!(
                    "opening the SQLite warehouse at {}; check data_dir and its permissions",
                    path.display()
                )
            })?)
        }
        WarehouseBackend::Clickhouse => Arc::new(
            ClickhouseWarehouse::open(&settings.warehouse.clickhouse)
                .await
                .context("opening the ClickHouse warehouse (warehouse.clickhouse.url)")?,
        ),
    })
}

/// Connects the configured bus; on RabbitMQ this declares the topology.
pub async fn open_bus(settings: &Settings) -> Result<Arc<dyn Bus>> {
    let masker = minqing_pipelines::privacy::Masker::new(&settings.privacy);
    Ok(match settings.bus.backend {
        BusBackend::Memory => {
            // An in-process queue nobody consumes would hold every publish.
            let mut queues = vec![EventQueue::Workflow, EventQueue::Warehouse];
            if settings.forwarder.enabled {
                queues.push(EventQueue::Forward);
            }
            Arc::new(MemoryBus::new(&queues, settings.bus.max_batch).with_masker(masker))
        }
        BusBackend::Rabbitmq => Arc::new(
            RabbitBus::connect(&settings.bus.rabbitmq, settings.bus.max_batch)
                .await
                .context("connecting to RabbitMQ (bus.rabbitmq.url)")?
                .with_masker(masker),
        ),
    })
}

/// `minqing migrate`: opens (and so migrates) the workflow store, the
/// warehouse and, on RabbitMQ, the bus's exchanges and queues.
pub async fn migrate(settings: &Settings) -> Result<String> {
    open_store(settings).await?;
    let mut out = format!("workflow store ({:?}): migrated\n", settings.store.backend);
    open_warehouse(settings).await?;
    out += &format!("warehouse ({:?}): migrated\n", settings.warehouse.backend);
    if settings.bus.backend == BusBackend::Rabbitmq {
        open_bus(settings).await?;
        out += "bus (rabbitmq): exchanges and queues declared\n";
    }
    Ok(out)
}

/// Store, bus, intake and the sinks: everything downstream of connectors.
pub struct Pipeline {
    pub store: Arc<dyn WorkflowStore>,
    pub warehouse: Arc<dyn Warehouse>,
    pub bus: Arc<dyn Bus>,
    pub intake_stats: Arc<IntakeStats>,
    /// Ingest-to-commit latency per store.
    pub latency: Arc<Latencies>,
    /// The triage rules in force; SIGHUP replaces them.
    pub triage: minqing_pipelines::triage::Live,
    pub forward_stats: Arc<minqing_pipelines::forward::ForwardStats>,
    /// The calendar and rules, loaded once for intake, the sweep and the API.
    pub deadlines: minqing_pipelines::workflow::Deadlines,
    /// Whether the sinks can write, for `/readyz`: (workflow store, warehouse).
    pub write_health: [Arc<minqing_pipelines::sink::WriteHealth>; 2],
    /// Takes what the workflow store committed for the warehouse out of its outbox.
    pub relay: Arc<Relay>,
}

/// The calendar and rules every work-order deadline is counted on.
pub fn deadlines(settings: &Settings) -> Result<minqing_pipelines::workflow::Deadlines> {
    Ok(minqing_pipelines::workflow::Deadlines {
        calendar: Arc::new(crate::rules::calendar(&settings.calendar)?),
        rules: settings.workflow.clone(),
    })
}

pub async fn start_pipeline(settings: &Settings, tracker: &TaskTracker, cancel: &CancellationToken) -> Result<Pipeline> {
    // Each step says what start-up waits on, so a server that never answers
    // is named in the log.
    tracing::info!(backend = ?settings.store.backend, "Opening the workflow store.");
    let store = open_store(settings).await?;
    tracing::info!(backend = ?settings.warehouse.backend, "Opening the warehouse.");
    let warehouse = open_warehouse(settings).await?;
    tracing::info!(backend = ?settings.bus.backend, "Connecting the bus.");
    let bus = open_bus(settings).await?;
    let intake_stats = Arc::new(IntakeStats::default());
    let latency = Arc::new(Latencies::default());
    let triage = minqing_pipelines::triage::Live::new(crate::rules::triage(&settings.triage, &settings.gazetteer()?)?);
    let deadlines = deadlines(settings)?;
    let intake = Intake {
        normalizer: Arc::new(Normalizer::new(settings.pipeline.clone(), settings.gazetteer()?)),
        store: store.clone(),
        bus: bus.clone(),
        index: DedupIndex::new(settings.pipeline.dedup_window_hours, 2_000_000),
        stats: intake_stats.clone(),
        max_in_flight: settings.bus.max_in_flight,
        triage: Some(triage.clone()),
        neardup: settings
            .neardup
            .enabled
            .then(|| minqing_pipelines::neardup::stage::Stage::new(&settings.neardup)),
        workflow: Some(deadlines.clone()),
    };
    // On the memory bus the warehouse gets intake's events only from the
    // store's outbox, so it never holds a decision the store did not commit.
    store.keep_intake_for_warehouse(bus.warehouse_from_outbox());
    let relay = Relay::new(store.clone(), bus.clone());
    tracker.spawn(relay.clone().run(cancel.clone()));
    tracker.spawn(intake.run(bus.consume_raw().await?, cancel.clone()));
    let sinks = Sinks {
        store: &store,
        warehouse: &warehouse,
        bus: &bus,
        latency: &latency,
        relay: &relay,
    };
    let write_health = spawn_sinks(settings, sinks, tracker, cancel).await?;
    let forward_stats = Arc::new(minqing_pipelines::forward::ForwardStats::default());
    if settings.forwarder.enabled {
        spawn_forwarder(settings, &store, &bus, &forward_stats, tracker, cancel).await?;
    }
    Ok(Pipeline {
        relay,
        forward_stats,
        write_health,
        deadlines,
        store,
        warehouse,
        bus,
        intake_stats,
        latency,
        triage,
    })
}

/// What the event sinks write to and report through.
struct Sinks<'a> {
    store: &'a Arc<dyn WorkflowStore>,
    warehouse: &'a Arc<dyn Warehouse>,
    bus: &'a Arc<dyn Bus>,
    latency: &'a Arc<Latencies>,
    relay: &'a Arc<Relay>,
}

/// The sinks of the workflow store and the warehouse, each on its queue;
/// returns their write health (store, warehouse).
async fn spawn_sinks(
    settings: &Settings,
    sinks: Sinks<'_>,
    tracker: &TaskTracker,
    cancel: &CancellationToken,
) -> Result<[Arc<minqing_pipelines::sink::WriteHealth>; 2]> {
    let Sinks {
        store,
        warehouse,
        bus,
        latency,
        relay,
    } = sinks;
    let mut store_target = StoreTarget::new(store.clone(), latency.clone());
    if bus.warehouse_from_outbox() {
        store_target = store_target.with_relay(relay.clone());
    }
    let store_target = Arc::new(store_target);
    let warehouse_target = Arc::new(
        WarehouseTarget::new(warehouse.clone(), latency.clone()).with_masker(minqing_pipelines::privacy::Masker::new(&settings.privacy)),
    );
    let write_health = [store_target.health.clone(), warehouse_target.health.clone()];
    tracker.spawn(run_sink(
        store_target,
        bus.consume_events(EventQueue::Workflow).await?,
        Batching::default(),
        cancel.clone(),
    ));
    tracker.spawn(run_sink(
        warehouse_target,
        bus.consume_events(EventQueue::Warehouse).await?,
        Batching {
            max_rows: settings.warehouse.batch_rows,
            flush: Duration::from_millis(settings.warehouse.flush_ms),
            ..Batching::default()
        },
        cancel.clone(),
    ));
    Ok(write_health)
}

/// The Huangshi outbox's sink and the forwarder that empties it.
async fn spawn_forwarder(
    settings: &Settings,
    store: &Arc<dyn WorkflowStore>,
    bus: &Arc<dyn Bus>,
    forward_stats: &Arc<minqing_pipelines::forward::ForwardStats>,
    tracker: &TaskTracker,
    cancel: &CancellationToken,
) -> Result<()> {
    tracker.spawn(run_sink(
        Arc::new(minqing_pipelines::forward::OutboxTarget { store: store.clone() }),
        bus.consume_events(EventQueue::Forward).await?,
        Batching::default(),
        cancel.clone(),
    ));
    let forwarder = minqing_pipelines::forward::Forwarder {
        outbox: Arc::new(minqing_pipelines::forward::StoreOutbox(store.clone())),
        settings: settings.forwarder.clone(),
        stats: forward_stats.clone(),
    };
    tracker.spawn(forwarder.run(cancel.clone()));
    Ok(())
}

impl Runtime {
    pub async fn start(settings: &Settings, opts: StartOptions) -> Result<Runtime> {
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let Pipeline {
            store,
            warehouse,
            bus,
            intake_stats,
            latency,
            triage,
            forward_stats,
            deadlines,
            write_health,
            relay,
        } = start_pipeline(settings, &tracker, &cancel).await?;
        #[cfg(unix)]
        reload_on_sighup(settings, &triage, &warehouse);
        let sink: Arc<dyn AppealSink> = Arc::new(BusSink(bus.clone()));
        let scheduler = Scheduler::new(tracker.clone(), cancel.clone());
        let (channels, router) = wire_channels(settings, &opts, &store, &sink, &scheduler)?;
        let channels = Arc::new(channels);
        let sweep_stats = Arc::new(crate::sweeper::SweepStats::default());
        let state = api::ApiState {
            store: store.clone(),
            warehouse: warehouse.clone(),
            bus: bus.clone(),
            intake_stats: intake_stats.clone(),
            latency: latency.clone(),
            channels: channels.clone(),
            started: std::time::Instant::now(),
            forward_stats,
            sweep_stats: sweep_stats.clone(),
            scheduler: scheduler.clone(),
            relay: relay.clone(),
            write_health: write_health.clone(),
        };
        if opts.sweep {
            crate::sweeper::prepare(store.as_ref(), &deadlines, &sweep_stats).await;
            scheduler.add(crate::sweeper::job(
                &settings.workflow.sweep_schedule,
                store.clone(),
                relay.clone(),
                sweep_stats.clone(),
            ))?;
        }
        let v1 = crate::v1::V1::new(store.clone(), relay.clone(), deadlines, &settings.api, crate::v1::system_clock()).with_units(triage);
        let busy = crate::server::limited(router.merge(crate::v1::router(Arc::new(v1))), &settings.server.limits);
        let app = busy.merge(api::router(Arc::new(state)));
        let listener = tokio::net::TcpListener::bind(&settings.server.listen).await.with_context(|| {
            format!(
                "binding server.listen {}; is another minqing running there?",
                settings.server.listen
            )
        })?;
        let api_addr = listener.local_addr()?;
        let shutdown = cancel.clone();
        tracker.spawn(crate::server::serve(listener, app, settings.server.limits, shutdown));
        tracing::info!(addr = %api_addr, "Listening.");
        Ok(Runtime {
            write_health,
            store,
            relay,
            warehouse,
            bus,
            intake_stats,
            latency,
            channels,
            api_addr,
            cancel,
            tracker,
            grace: Duration::from_secs(settings.server.shutdown_grace_secs),
        })
    }

    /// Stops connectors, the server and the pipeline, waiting up to the grace period.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tracker.close();
        if tokio::time::timeout(self.grace, self.tracker.wait()).await.is_err() {
            tracing::warn!("Some tasks did not stop within the grace period; unacknowledged work will be redelivered on restart.");
        }
    }
}

/// Every registered channel: a pull as a scheduled job, or a webhook's
/// routes; and each channel's figures for `/status`.
fn wire_channels(
    settings: &Settings,
    opts: &StartOptions,
    store: &Arc<dyn WorkflowStore>,
    sink: &Arc<dyn AppealSink>,
    scheduler: &Scheduler,
) -> Result<(BTreeMap<Channel, ChannelInfo>, axum::Router)> {
    let http = HttpClient::new(settings.http.clone());
    let mut channels = BTreeMap::new();
    let mut router = axum::Router::new();
    // Every registered channel: a pull on its schedule, or a webhook.
    for spec in settings.connectors.all() {
        let stats = Arc::new(ChannelStats::default());
        let pull = spec.pull();
        channels.insert(
            spec.channel(),
            ChannelInfo {
                stats: stats.clone(),
                push: pull.is_none(),
                enabled: spec.enabled(),
            },
        );
        if !spec.enabled() {
            continue;
        }
        let built = spec
            .build(&http, Arc::new(Pushed::new(sink.clone())), stats.clone())
            .map_err(|e| anyhow::anyhow!("connectors.{}: {e}", spec.channel().id()))?;
        match (built, pull) {
            (Built::Pull(connector), Some(p)) => {
                let runner = Arc::new(PullRunner {
                    connector,
                    sink: sink.clone(),
                    checkpoints: Arc::new(Checkpoints(store.clone())),
                    stats,
                    pages_in_flight: settings.bus.pages_in_flight,
                });
                scheduler.add(pull_job(runner, p.schedule, opts.poll_at_start))?;
            }
            (Built::Push(routes), _) => router = router.merge(routes),
            (Built::Pull(_), None) => anyhow::bail!("connectors.{}: a pulled channel without a schedule", spec.channel().id()),
        }
    }
    Ok((channels, router))
}

/// A channel's pulls as a scheduled job: `connectors.<channel>.schedule`.
/// A pull catches up by itself (it resumes from the saved cursor), so it
/// runs at start only when asked to.
fn pull_job(runner: Arc<PullRunner>, schedule: &str, poll_at_start: bool) -> Job {
    let channel = runner.connector.channel();
    Job {
        name: format!("pull:{}", channel.id()),
        key: format!("connectors.{}.schedule", channel.id()),
        schedule: schedule.to_owned(),
        catch_up: if poll_at_start { CatchUp::AtStart } else { CatchUp::NextTick },
        work: Arc::new(move |cancel| {
            let runner = runner.clone();
            // A failed poll is counted and logged by the runner's own
            // figures (`/status`), and the next tick resumes from the cursor.
            Box::pin(async move { runner.poll(&cancel).await.map(|_| ()).map_err(anyhow::Error::from) })
        }),
    }
}
