//! `minqing bench …`: each benchmark run, and what it prints, with the
//! command that reproduces it.

use crate::cli::BenchCommand;
use crate::config::Settings;
use anyhow::Result;

/// `bench classifier`: reads files only, so it needs no configuration.
pub fn classifier(what: BenchCommand) -> Result<String> {
    let BenchCommand::Classifier {
        data,
        model,
        seconds,
        json,
    } = what
    else {
        anyhow::bail!("not the classifier benchmark");
    };
    let r = super::classifier::bench(&data, model.as_deref(), seconds)?;
    if json {
        return Ok(serde_json::to_string(&r)? + "\n");
    }
    Ok(format!(
        "classifier on one thread: {} predictions of {} texts (mean {:.0} chars, {} features) in {:.2} s: {:.0} messages/s\n  \
         reproduce: minqing bench classifier --data {}{} --seconds {seconds}\n",
        r.predictions,
        r.texts,
        r.mean_chars,
        r.features,
        r.seconds,
        r.messages_per_sec,
        data.display(),
        model.as_ref().map(|m| format!(" --model {}", m.display())).unwrap_or_default()
    ))
}

/// The benchmarks that run on the configuration's settings or backends.
pub async fn with_settings(settings: &Settings, what: BenchCommand) -> Result<String> {
    match what {
        BenchCommand::Classifier { .. } => classifier(what),
        BenchCommand::Neardup {
            data,
            index,
            measure,
            seed,
            write_load,
            json,
        } => {
            let r = super::dedup::bench(&settings.neardup, &data, index, measure, seed, write_load.as_deref())?;
            Ok(if json {
                serde_json::to_string(&r)? + "\n"
            } else {
                super::dedup::bench_table(&r, &data, index, measure, seed)
            })
        }
        BenchCommand::Broker {
            messages,
            items,
            item_bytes,
            publishers,
            json,
        } => broker(settings, messages, items, item_bytes, publishers, json).await,
        BenchCommand::Warehouse { rows, sqlite_rows, json } => {
            let r = super::bench_warehouse::run(settings, rows, sqlite_rows).await?;
            Ok(if json {
                serde_json::to_string(&r)? + "\n"
            } else {
                super::bench_warehouse::table(&r)
            })
        }
        BenchCommand::Sweep { orders, late, json } => {
            let r = crate::sim::seed::bench(settings, orders, late).await?;
            if json {
                return Ok(serde_json::to_string(&r)? + "\n");
            }
            Ok(format!(
                "SLA sweep on {} ({} open orders, {} late), filled in {:.1} s:\n  \
                 sweep that reported them: {} ms ({} sign_overdue events plus phone supervision)\n  \
                 sweep with nothing to report: {} ms\n  \
                 reproduce: minqing bench sweep --orders {orders} --late {late}\n",
                r.backend, r.orders, r.late, r.seed_secs, r.sweep_ms, r.reported, r.idle_sweep_ms
            ))
        }
        BenchCommand::Api { orders, concurrency, json } => {
            let r = crate::sim::apibench::run(settings, orders, concurrency).await?;
            if json {
                return Ok(serde_json::to_string(&r)? + "\n");
            }
            Ok(format!(
                "/api/v1 actions on {} over HTTP, {} orders, {} at a time ({} failed):\n  \
                 sign: {:.0} actions/s\n  reply: {:.0} actions/s\n  \
                 reproduce: minqing bench api --orders {orders} --concurrency {concurrency}\n",
                r.backend, r.orders, r.concurrency, r.failed, r.sign_per_sec, r.reply_per_sec
            ))
        }
    }
}

async fn broker(settings: &Settings, messages: usize, items: usize, item_bytes: usize, publishers: usize, json: bool) -> Result<String> {
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
        return Ok(serde_json::to_string(&r)? + "\n");
    }
    Ok(format!(
        "broker ceiling (no-op stages, publish→raw.intake→republish→tickets.workflow+tickets.warehouse, confirms and acks):\n  \
         {} messages of {} items ({} bytes) in {:.2} s: {:.0} messages/s, {:.0} items/s\n  \
         reproduce: minqing bench broker --messages {messages} --items {items} --item-bytes {item_bytes} --publishers {publishers}\n",
        r.messages,
        items,
        r.message_bytes,
        r.elapsed_ms as f64 / 1000.0,
        r.messages_per_sec,
        r.items_per_sec
    ))
}
