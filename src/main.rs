//! The `minqing` command; everything it does lives in the library (`lib.rs`).

/// mimalloc: the pipeline allocates many small strings across threads, where
/// glibc malloc spent a tenth of all CPU time in a profile of the demo.
/// With the crate's `override` feature (Cargo.toml) it also serves C's
/// malloc, so the bundled SQLite, which copies every bound string, uses it too.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Result;
use clap::Parser;
use minqing::cli::{BenchCommand, Cli, Command, DedupAction, PrivacyAction, QuarantineAction};
use minqing::commands::{classifier, dedup, quarantine};
use minqing::secrets::{self, Gate};
use minqing::sim::{demo, fleet as sims};
use minqing::{config, runtime, telemetry};
use minqing_connectors::Channel;
use minqing_pipelines::store::QuarantineQuery;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts");
    match rt.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    if let Command::CheckConfig = cli.command {
        return Ok(match config::load(cli.config.as_deref()) {
            Ok(s) => check_secrets(&s),
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        });
    }
    // Model work reads files only: a broken gateway config must not stop it.
    if let Command::Classifier { action } = cli.command {
        print!("{}", classifier::run(action)?);
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Bench {
        what: BenchCommand::Classifier {
            data,
            model,
            seconds,
            json,
        },
    } = &cli.command
    {
        let r = classifier::bench(data, model.as_deref(), *seconds)?;
        if *json {
            println!("{}", serde_json::to_string(&r)?);
        } else {
            println!(
                "classifier on one thread: {} predictions of {} texts (mean {:.0} chars, {} features) in {:.2} s: {:.0} messages/s\n  \
                 reproduce: minqing bench classifier --data {}{} --seconds {seconds}",
                r.predictions,
                r.texts,
                r.mean_chars,
                r.features,
                r.seconds,
                r.messages_per_sec,
                data.display(),
                model.as_ref().map(|m| format!(" --model {}", m.display())).unwrap_or_default()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let settings = config::load(cli.config.as_deref())?;
    match &cli.command {
        Command::Demo { .. } => secrets::gate(&settings, Gate::Demo)?,
        Command::Run | Command::Quarantine { .. } | Command::Forward { .. } | Command::Relay { .. } | Command::Tickets { .. } => {
            secrets::gate(&settings, Gate::Serve)?
        }
        _ => {}
    }
    match cli.command {
        Command::Run => {
            telemetry::init(&settings.log.filter);
            run(settings).await?;
        }
        Command::Demo {
            appeals,
            seed,
            data_dir,
            json,
            no_faults,
            no_units,
            timeout_secs,
            rate,
        } => {
            telemetry::init("warn");
            let args = demo::DemoArgs {
                appeals,
                seed,
                data_dir,
                faults: !no_faults,
                units: !no_units,
                timeout: Duration::from_secs(timeout_secs),
                progress: !json,
                rate,
            };
            let report = demo::run(settings, args).await?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", report.table());
            }
            if report.fresh_store && report.triage != report.expected.triage {
                eprintln!(
                    "error: triage decided {:?}, but the simulators wrote appeals for {:?}",
                    report.triage, report.expected.triage
                );
                return Ok(ExitCode::FAILURE);
            }
            if report.huangshi.received != report.triage.forwarded {
                eprintln!(
                    "error: {} tickets were forwarded, but Huangshi received {}",
                    report.triage.forwarded, report.huangshi.received
                );
                return Ok(ExitCode::FAILURE);
            }
            if report.totals.missing != 0 {
                eprintln!("error: {} appeal(s) not accounted for", report.totals.missing);
                return Ok(ExitCode::FAILURE);
            }
            let s = &report.stores;
            if s.workflow_tickets != report.totals.tickets || s.warehouse_tickets != report.totals.tickets {
                eprintln!(
                    "error: intake made {} tickets, but {} reached the workflow store and {} the warehouse",
                    report.totals.tickets, s.workflow_tickets, s.warehouse_tickets
                );
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Bench {
            what:
                BenchCommand::Neardup {
                    data,
                    index,
                    measure,
                    seed,
                    write_load,
                    json,
                },
        } => {
            let r = dedup::bench(&settings.neardup, &data, index, measure, seed, write_load.as_deref())?;
            if json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                print!("{}", dedup::bench_table(&r, &data, index, measure, seed));
            }
        }
        Command::Calendar { action } => {
            let (out, warning) = minqing::commands::calendar::run(&settings, action)?;
            if let Some(w) = warning {
                tracing::warn!("{w}");
                eprintln!("{w}");
            }
            print!("{out}");
        }
        Command::Privacy {
            action:
                PrivacyAction::Scan {
                    input,
                    columns,
                    show,
                    json,
                },
        } => {
            let masker = minqing_pipelines::privacy::Masker::new(&settings.privacy);
            let r = minqing::commands::privacy::scan(&masker, &input, &columns, show)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                print!("{}", minqing::commands::privacy::table(&r, &input, &columns));
            }
        }
        Command::Dedup { action } => match action {
            DedupAction::Cluster { input, output, threshold } => {
                print!("{}", dedup::cluster(&settings.neardup, &input, &output, threshold)?)
            }
            DedupAction::Eval { input, threshold, json } => {
                let e = dedup::eval(&settings.neardup, &input, threshold)?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&e)?);
                } else {
                    print!("{}", e.table());
                }
            }
        },
        Command::Tickets { action } => {
            telemetry::init("warn");
            print!("{}", minqing::commands::tickets::command(&settings, action).await?);
        }
        Command::Forward { action } => {
            telemetry::init("warn");
            print!("{}", minqing::commands::forward::command(&settings, action).await?);
        }
        Command::Relay { action } => {
            telemetry::init("warn");
            print!("{}", minqing::commands::relay::command(&settings, action).await?);
        }
        Command::Triage { action } => {
            telemetry::init("warn");
            print!("{}", minqing::commands::triage::command(&settings, action)?);
        }
        Command::Migrate => {
            telemetry::init("warn");
            runtime::open_store(&settings).await?;
            println!("workflow store ({:?}): migrated", settings.store.backend);
            runtime::open_warehouse(&settings).await?;
            println!("warehouse ({:?}): migrated", settings.warehouse.backend);
            if settings.bus.backend == config::BusBackend::Rabbitmq {
                runtime::open_bus(&settings).await?;
                println!("bus (rabbitmq): exchanges and queues declared");
            }
        }
        Command::Quarantine { action } => {
            telemetry::init("warn");
            let channel = |c: Option<String>| c.map(|c| Channel::from_str(&c)).transpose().map_err(|e| anyhow::anyhow!(e));
            let out = match action {
                QuarantineAction::List {
                    channel: c,
                    all,
                    limit,
                    json,
                } => {
                    let q = QuarantineQuery {
                        channel: channel(c)?,
                        include_resolved: all,
                        id: None,
                        limit,
                        with_raw: false,
                    };
                    quarantine::list(&settings, &q, json).await?
                }
                QuarantineAction::Replay { id, channel: c } => {
                    let q = QuarantineQuery {
                        channel: channel(c)?,
                        include_resolved: false,
                        id,
                        limit: 0,
                        with_raw: true,
                    };
                    quarantine::replay(&settings, &q).await?
                }
            };
            print!("{out}");
        }
        Command::Bench {
            what:
                BenchCommand::Broker {
                    messages,
                    items,
                    item_bytes,
                    publishers,
                    json,
                },
        } => {
            telemetry::init("warn");
            let args = minqing_pipelines::bus::rabbit::bench::BrokerBenchArgs {
                messages,
                items_per_message: items,
                item_bytes,
                publishers,
            };
            let r = minqing_pipelines::bus::rabbit::bench::run(&settings.bus.rabbitmq, &args)
                .await
                .map_err(|e| anyhow::anyhow!("{e}; is RabbitMQ up (scripts/services start) and bus.rabbitmq.url right?"))?;
            if json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                println!(
                    "broker ceiling (no-op stages, publish→raw.intake→republish→tickets.workflow+tickets.warehouse, confirms and acks):\n  \
                     {} messages of {} items ({} bytes) in {:.2} s: {:.0} messages/s, {:.0} items/s\n  \
                     reproduce: minqing bench broker --messages {messages} --items {items} --item-bytes {item_bytes} --publishers {publishers}",
                    r.messages,
                    items,
                    r.message_bytes,
                    r.elapsed_ms as f64 / 1000.0,
                    r.messages_per_sec,
                    r.items_per_sec
                );
            }
        }
        Command::Bench {
            what: BenchCommand::Sweep { orders, late, json },
        } => {
            telemetry::init("warn");
            let r = minqing::sim::seed::bench(&settings, orders, late).await?;
            if json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                println!(
                    "SLA sweep on {} ({} open orders, {} late), filled in {:.1} s:\n  \
                     sweep that reported them: {} ms ({} sign_overdue events plus phone supervision)\n  \
                     sweep with nothing to report: {} ms\n  \
                     reproduce: minqing bench sweep --orders {orders} --late {late}",
                    r.backend, r.orders, r.late, r.seed_secs, r.sweep_ms, r.reported, r.idle_sweep_ms
                );
            }
        }
        Command::Bench {
            what: BenchCommand::Api { orders, concurrency, json },
        } => {
            telemetry::init("warn");
            let r = minqing::sim::apibench::run(&settings, orders, concurrency).await?;
            if json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                println!(
                    "/api/v1 actions on {} over HTTP, {} orders, {} at a time ({} failed):\n  \
                     sign: {:.0} actions/s\n  reply: {:.0} actions/s\n  \
                     reproduce: minqing bench api --orders {orders} --concurrency {concurrency}",
                    r.backend, r.orders, r.concurrency, r.failed, r.sign_per_sec, r.reply_per_sec
                );
            }
        }
        Command::CheckConfig
        | Command::Classifier { .. }
        | Command::Bench {
            what: BenchCommand::Classifier { .. },
        } => {
            unreachable!("handled above")
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `minqing run`: until SIGINT or SIGTERM.
async fn run(mut settings: config::Settings) -> Result<()> {
    let stop = shutdown_signal();
    let fleet = if settings.simulators.enabled {
        let sim = &settings.simulators;
        let scenario = minqing_connectors::sim::Scenario::generate(minqing_connectors::sim::SimSettings {
            seed: sim.seed,
            appeals: (sim.appeals_per_hour * sim.hours) as usize,
            // Five minutes in the past, so a fresh `run` has traffic at once.
            start: chrono::Utc::now().with_timezone(&minqing_connectors::timefmt::shanghai()) - chrono::Duration::minutes(5),
            span_hours: sim.hours as i64,
            ..Default::default()
        });
        let faults = sim.faults;
        tracing::info!(
            appeals = scenario.expected.values().map(|e| e.generated).sum::<u64>(),
            "Built-in simulators on; set simulators.enabled = false to use real upstreams."
        );
        let mut fleet = sims::Fleet::start(scenario, &mut settings.connectors, faults).await?;
        fleet.serve_huangshi(&mut settings.forwarder, None).await?;
        Some(fleet)
    } else {
        None
    };
    // A stop while the stores open or migrate ends the process cleanly
    // instead of waiting for a server that may never answer.
    let mut stop = std::pin::pin!(stop);
    let start = runtime::Runtime::start(
        &settings,
        runtime::StartOptions {
            poll_at_start: true,
            sweep: true,
        },
    );
    let runtime = tokio::select! {
        r = start => r?,
        _ = &mut stop => {
            tracing::info!("Shutting down.");
            tracing::warn!("Stopped during start-up; nothing was running yet.");
            return Ok(());
        }
    };
    if let Some(f) = &fleet {
        f.push(&settings.connectors, &format!("http://{}", runtime.api_addr))?;
    }
    stop.await;
    tracing::info!("Shutting down.");
    if let Some(f) = fleet {
        f.stop().await;
    }
    runtime.shutdown().await;
    Ok(())
}

/// SIGINT or SIGTERM. The handlers are installed when this is called, not
/// when it is first awaited: until then either signal ends the process at
/// once, and start-up (migrations, the first polls) takes a while.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let handlers = signal(SignalKind::terminate()).and_then(|t| Ok((t, signal(SignalKind::interrupt())?)));
        async move {
            match handlers {
                Ok((mut term, mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `check-config` on a configuration that loaded: shipped or weak secrets
/// are errors unless only the built-in simulators are involved.
fn check_secrets(s: &config::Settings) -> ExitCode {
    let found = secrets::findings(s);
    let summary = format!(
        "store {:?}, bus {:?}, data in {}",
        s.store.backend,
        s.bus.backend,
        s.data_dir.display()
    );
    if found.is_empty() {
        println!("configuration ok: {summary}");
        return ExitCode::SUCCESS;
    }
    let lines: Vec<String> = found.iter().map(ToString::to_string).collect();
    if secrets::simulators_only(s) {
        for l in &lines {
            eprintln!("warning: {l}");
        }
        println!("configuration ok for the built-in simulators only: {summary}");
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "invalid configuration: shipped or weak secrets would run against real upstreams:\n  {}",
            lines.join("\n  ")
        );
        ExitCode::from(2)
    }
}
