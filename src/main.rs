//! The `minqing` command; everything it does lives in the library (`lib.rs`).

/// mimalloc: the pipeline allocates many small strings across threads, where
/// glibc malloc spent a tenth of all CPU time in a profile of the demo.
/// With the crate's `override` feature (Cargo.toml) it also serves C's
/// malloc, so the bundled SQLite, which copies every bound string, uses it too.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Result;
use clap::Parser;
use minqing::cli::{BenchCommand, Cli, Command, DedupAction, PrivacyAction};
use minqing::commands::{analysts, bench, classifier, dedup, quarantine};
use minqing::secrets::{self, Gate};
use minqing::sim::{demo, fleet as sims};
use minqing::{config, runtime, telemetry};
use std::process::ExitCode;
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
    let cli = match without_settings(cli)? {
        Ok(code) => return Ok(code),
        Err(cli) => cli,
    };
    let settings = config::load(cli.config.as_deref())?;
    gate_and_log(&settings, &cli.command)?;
    let out = match cli.command {
        Command::Run => {
            run(settings).await?;
            String::new()
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
            return demo_command(settings, args, json).await;
        }
        Command::Bench { what } => bench::with_settings(&settings, what).await?,
        Command::Calendar { action } => {
            let (out, warning) = minqing::commands::calendar::run(&settings, action)?;
            if let Some(w) = warning {
                tracing::warn!("{w}");
                eprintln!("{w}");
            }
            out
        }
        Command::Privacy { action } => privacy_command(&settings, action)?,
        Command::Dedup { action } => dedup_command(&settings, action)?,
        Command::Tickets { action } => minqing::commands::tickets::command(&settings, action).await?,
        Command::Forward { action } => minqing::commands::forward::command(&settings, action).await?,
        Command::Relay { action } => minqing::commands::relay::command(&settings, action).await?,
        Command::Triage { action } => minqing::commands::triage::command(&settings, action)?,
        Command::Migrate => runtime::migrate(&settings).await?,
        Command::Quarantine { action } => quarantine::command(&settings, action).await?,
        Command::Query { name, from, to, out } => analysts::query(&settings, name, from, to, out).await?,
        Command::Trends { by, period, from, to, out } => analysts::trends(&settings, by, period, from, to, out).await?,
        Command::Hotspots { args } => analysts::hotspots(&settings, args).await?,
        Command::CheckConfig | Command::Classifier { .. } => unreachable!("handled above"),
    };
    // A reader that stops early (`| head`) is not an error of ours.
    match std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// Runs the commands that must work without (or despite) the gateway's
/// settings; hands any other command back.
fn without_settings(cli: Cli) -> Result<Result<ExitCode, Cli>> {
    match cli.command {
        Command::CheckConfig => Ok(Ok(match config::load(cli.config.as_deref()) {
            Ok(s) => check_secrets(&s),
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        })),
        // Model work reads files only: a broken gateway config must not stop it.
        Command::Classifier { action } => {
            print!("{}", classifier::run(action)?);
            Ok(Ok(ExitCode::SUCCESS))
        }
        Command::Bench {
            what: what @ BenchCommand::Classifier { .. },
        } => {
            print!("{}", bench::classifier(what)?);
            Ok(Ok(ExitCode::SUCCESS))
        }
        _ => Ok(Err(cli)),
    }
}

/// Refuses shipped secrets where they would matter, and starts the logs a
/// command wants: the gateway its configured filter, the demo and the
/// operators' commands warnings only (their output is the answer), the
/// file-only commands none.
fn gate_and_log(settings: &config::Settings, command: &Command) -> Result<()> {
    match command {
        Command::Demo { .. } => secrets::gate(settings, Gate::Demo)?,
        Command::Run | Command::Quarantine { .. } | Command::Forward { .. } | Command::Relay { .. } | Command::Tickets { .. } => {
            secrets::gate(settings, Gate::Serve)?
        }
        _ => {}
    }
    match command {
        Command::Run => telemetry::init(&settings.log.filter),
        Command::Calendar { .. } | Command::Privacy { .. } | Command::Dedup { .. } => {}
        Command::Bench {
            what: BenchCommand::Neardup { .. },
        } => {}
        _ => telemetry::init("warn"),
    }
    Ok(())
}

/// `minqing demo`: the run, its table or JSON, and a failing exit when the
/// run does not account for every appeal.
async fn demo_command(settings: config::Settings, args: demo::DemoArgs, json: bool) -> Result<ExitCode> {
    let report = demo::run(settings, args).await?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.table());
    }
    match report.failure() {
        Some(why) => {
            eprintln!("error: {why}");
            Ok(ExitCode::FAILURE)
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

fn privacy_command(settings: &config::Settings, action: PrivacyAction) -> Result<String> {
    let PrivacyAction::Scan {
        input,
        columns,
        show,
        json,
    } = action;
    let masker = minqing_pipelines::privacy::Masker::new(&settings.privacy);
    let r = minqing::commands::privacy::scan(&masker, &input, &columns, show)?;
    Ok(if json {
        serde_json::to_string_pretty(&r)? + "\n"
    } else {
        minqing::commands::privacy::table(&r, &input, &columns)
    })
}

fn dedup_command(settings: &config::Settings, action: DedupAction) -> Result<String> {
    Ok(match action {
        DedupAction::Cluster { input, output, threshold } => dedup::cluster(&settings.neardup, &input, &output, threshold)?,
        DedupAction::Eval { input, threshold, json } => {
            let e = dedup::eval(&settings.neardup, &input, threshold)?;
            if json {
                serde_json::to_string_pretty(&e)? + "\n"
            } else {
                e.table()
            }
        }
    })
}

/// `minqing run`: until SIGINT or SIGTERM.
async fn run(mut settings: config::Settings) -> Result<()> {
    let stop = shutdown_signal();
    let mut fleet = if settings.simulators.enabled {
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
    if let Some(f) = &mut fleet {
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
