//! The command line.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "minqing",
    version,
    about = "Gateway and ETL pipeline of Daye City's 民情通 citizen-appeal platform"
)]
pub struct Cli {
    /// A TOML file layered over the embedded default (config/default.toml).
    #[arg(long, global = true, env = "MINQING_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway: schedules, webhooks, /healthz, /readyz, /status, /metrics.
    Run,
    /// Ingest simulated appeals from all seven channels and report what happened.
    Demo {
        /// Appeals to generate across all channels (faults included).
        #[arg(long, default_value_t = 5000)]
        appeals: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where the SQLite files go (default: data_dir from config).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Print one JSON object instead of the table.
        #[arg(long)]
        json: bool,
        /// Turn off injected HTTP 500s, 429s and slow answers.
        #[arg(long)]
        no_faults: bool,
        /// Stop after ingest: skip the simulated units' work on the orders
        /// (what the ingest benchmark measures).
        #[arg(long)]
        no_units: bool,
        /// Give up waiting after this many seconds (counted from the last
        /// paced delivery with --rate).
        #[arg(long, default_value_t = 600)]
        timeout_secs: u64,
        /// Play the simulators' week of appeals at this many appeals per
        /// second instead of all at once, to read ingest latency at a steady
        /// load (default: all at once, the throughput benchmark).
        #[arg(long, value_name = "APPEALS_PER_SEC")]
        rate: Option<f64>,
    },
    /// Load the configuration and explain every error with its key's path.
    CheckConfig,
    /// Apply the migrations of the configured workflow store and warehouse,
    /// and declare the RabbitMQ topology if the bus is RabbitMQ.
    Migrate,
    /// Inspect or replay quarantined records.
    Quarantine {
        #[command(subcommand)]
        action: QuarantineAction,
    },
    /// Near-duplicates and same-issue clusters on a CSV, through the
    /// production engine.
    Dedup {
        #[command(subcommand)]
        action: DedupAction,
    },
    /// What the personal-data masker does to a CSV of texts.
    Privacy {
        #[command(subcommand)]
        action: PrivacyAction,
    },
    /// The official working-day calendar (holidays and make-up workdays).
    Calendar {
        #[command(subcommand)]
        action: CalendarAction,
    },
    /// Work orders: open per unit, overdue, due today or tomorrow; one SLA sweep.
    Tickets {
        #[command(subcommand)]
        action: TicketsAction,
    },
    /// The Huangshi 12345 outbox: parked transfers and requeueing them.
    Forward {
        #[command(subcommand)]
        action: ForwardAction,
    },
    /// The warehouse outbox: what the workflow store committed and the
    /// warehouse has yet to take, parked rows and requeueing them.
    Relay {
        #[command(subcommand)]
        action: RelayAction,
    },
    /// Train, evaluate and cross-validate the category classifier.
    Classifier {
        #[command(subcommand)]
        action: ClassifierAction,
    },
    /// Inspect the triage rules: what they decide for a text, and whether
    /// every unit is reachable.
    Triage {
        #[command(subcommand)]
        action: TriageAction,
    },
    /// The analysts' saved queries (queries/*.sql) on the configured
    /// warehouse; without a name, the list of them.
    Query {
        /// A saved query's name (`minqing query` lists them).
        name: Option<String>,
        /// First day of the period, YYYY-MM-DD (default: six days before --to).
        #[arg(long, value_parser = day)]
        from: Option<chrono::NaiveDate>,
        /// Last day of the period (default: today).
        #[arg(long, value_parser = day)]
        to: Option<chrono::NaiveDate>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Counts per day, week or month by category, town, channel or unit:
    /// share, change against the previous period and a year before, and
    /// whether it rises against its trailing periods.
    Trends {
        /// category, town, category_town (each category in each town),
        /// channel or unit (orders dispatched to it).
        #[arg(long)]
        by: minqing_pipelines::analysis::trends::By,
        /// day, week or month.
        #[arg(long, default_value = "week")]
        period: minqing_pipelines::analysis::trends::Period,
        /// First day, YYYY-MM-DD (default: eight weeks before --to).
        #[arg(long, value_parser = day)]
        from: Option<chrono::NaiveDate>,
        /// Last day (default: today).
        #[arg(long, value_parser = day)]
        to: Option<chrono::NaiveDate>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Hotspots: one issue at one place raised by many people, ranked by
    /// heat, with every appeal of each (the Teddy Cup's two tables).
    Hotspots {
        #[command(flatten)]
        args: HotspotArgs,
    },
    /// Measure parts of the system on this machine.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
}

/// What `minqing hotspots` is asked.
#[derive(Debug, Clone, clap::Args)]
pub struct HotspotArgs {
    /// First day, YYYY-MM-DD (default: six days before --to; a CSV: all).
    #[arg(long, value_parser = day)]
    pub from: Option<chrono::NaiveDate>,
    /// Last day (default: today; a CSV: its last message's day).
    #[arg(long, value_parser = day)]
    pub to: Option<chrono::NaiveDate>,
    /// How many hotspots (default: analysis.hotspots.top).
    #[arg(long)]
    pub top: Option<usize>,
    /// Only appeals placed in this town (the gazetteer's name).
    #[arg(long)]
    pub town: Option<String>,
    /// Only appeals of this category.
    #[arg(long)]
    pub category: Option<String>,
    /// Read messages from a CSV (id,user,title,time,text,down_votes,
    /// up_votes) instead of the warehouse.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Compare the ranking with hand-labelled issues
    /// (rank,issue,place,message_ids) and print how they match.
    #[arg(long, value_name = "LABELS", requires = "input")]
    pub evaluate: Option<PathBuf>,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Where an analysts' command's tables go (`commands::tables` writes them).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OutputArgs {
    /// One JSON object: each table's columns and rows.
    #[arg(long, conflicts_with_all = ["csv", "xlsx"])]
    pub json: bool,
    /// CSV (tables one after another, each after a `# name` line).
    #[arg(long, conflicts_with = "xlsx")]
    pub csv: bool,
    /// An XLSX workbook at this path, one sheet per table.
    #[arg(long, value_name = "FILE")]
    pub xlsx: Option<PathBuf>,
}

/// A day on the command line, with an error that says the form.
fn day(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("`{s}` is not a day; write it as YYYY-MM-DD, e.g. 2026-06-01"))
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Near-duplicate engine: insert plus query per ticket on one thread,
    /// at an index of `--index` tickets, on a load built from real messages.
    Neardup {
        /// Real messages (`title`, `text` columns), e.g.
        /// ../shared/data/teddycup2020c/hotspot_messages.csv.
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value_t = 500_000)]
        index: usize,
        /// Tickets timed after the index is filled.
        #[arg(long, default_value_t = 50_000)]
        measure: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also write the load as CSV (for benches/neardup/datasketch_compare.py).
        #[arg(long)]
        write_load: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// The SLA sweep over `--orders` open work orders, `--late` of them past
    /// their deadline, in the configured workflow store (which must be
    /// empty: the benchmark fills it).
    Sweep {
        #[arg(long, default_value_t = 1_000_000)]
        orders: usize,
        #[arg(long, default_value_t = 10_000)]
        late: usize,
        #[arg(long)]
        json: bool,
    },
    /// Actions through `/api/v1` over HTTP: every order signed, then replied
    /// to, by its unit's token, against the configured (empty) workflow store.
    Api {
        #[arg(long, default_value_t = 20_000)]
        orders: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long)]
        json: bool,
    },
    /// Classification throughput on one core: every text of a CSV, predicted
    /// over and over on one thread for `--seconds`.
    Classifier {
        /// Texts to classify (a `text` column; `label` is not needed).
        #[arg(long)]
        data: PathBuf,
        /// A model file; without one, a model is trained on `--data` first.
        #[arg(long)]
        model: Option<PathBuf>,
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        #[arg(long)]
        json: bool,
    },
    /// The analysts' queries at scale: synthetic facts generated inside
    /// ClickHouse (`<warehouse.clickhouse.database>_bench`, dropped first)
    /// and a temporary SQLite warehouse, then the hotspot read, a trend and
    /// the three rates timed over a week and a month, with the rows
    /// ClickHouse read.
    Warehouse {
        /// Tickets (and as many order versions) in ClickHouse.
        #[arg(long, default_value_t = 50_000_000)]
        rows: u64,
        /// Tickets (and as many order versions) in SQLite.
        #[arg(long, default_value_t = 1_000_000)]
        sqlite_rows: u64,
        #[arg(long)]
        json: bool,
    },
    /// The broker's own ceiling for minqing's topology: no-op stages on the
    /// same exchanges, quorum queues, confirms and framing, against
    /// `bus.rabbitmq.url` (whatever `bus.backend` says).
    ///
    /// The defaults mirror `minqing demo`'s raw traffic: about 7 appeals per
    /// message on average (pages of 500, grid batches of 50, WeChat pushes
    /// one by one) from many concurrent senders.
    Broker {
        #[arg(long, default_value_t = 14_000)]
        messages: usize,
        /// Items framed into each message.
        #[arg(long, default_value_t = 7)]
        items: usize,
        /// Bytes of JSON per item.
        #[arg(long, default_value_t = 1500)]
        item_bytes: usize,
        /// Concurrent publishers, each waiting for its confirm.
        #[arg(long, default_value_t = 64)]
        publishers: usize,
        #[arg(long)]
        json: bool,
    },
}

/// How a model is trained; the defaults are the ones measured in
/// docs/benchmarks.md.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainOpts {
    /// Inverse regularization strength of the SVMs.
    #[arg(long, default_value_t = 1.0)]
    pub c: f64,
    /// Character n-gram lengths, comma-separated.
    #[arg(long, default_value = "1,2", value_delimiter = ',')]
    pub ngrams: Vec<usize>,
    /// Characters at the start of a text that get features of their own (0: off).
    #[arg(long, default_value_t = 60)]
    pub head_chars: usize,
    /// Keep n-grams found in at least this many training texts.
    #[arg(long, default_value_t = 2)]
    pub min_df: u32,
    /// Weight of the head features against the whole-text features.
    #[arg(long, default_value_t = 0.7)]
    pub head_weight: f32,
    /// Do not weigh classes inversely to their frequency.
    #[arg(long)]
    pub unbalanced: bool,
}

#[derive(Debug, Subcommand)]
pub enum ClassifierAction {
    /// Train on a CSV (columns `text`, `label`, optional `title`) and write a model file.
    Train {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        opts: TrainOpts,
    },
    /// Accuracy, macro-F1 and per-class precision, recall and F1 of a model on a CSV.
    Eval {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Stratified k-fold cross-validation on a CSV, with the same figures as eval.
    Cv {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// Seeds the fold assignment.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        opts: TrainOpts,
    },
}

#[derive(Debug, Subcommand)]
pub enum TriageAction {
    /// The decision for one appeal, with its reason, category and unit.
    Explain {
        #[arg(long)]
        text: String,
        #[arg(long)]
        title: Option<String>,
        /// Appeal type code or name (ZX/咨询, TS/投诉 …); default: from cue words.
        #[arg(long = "type")]
        appeal_type: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Validate the rule files and list units that no route reaches.
    Check,
    /// Precision and recall of "forward to Huangshi" against hand labels:
    /// `--labels` holds `id,label` (forward|stay), `--data` the messages
    /// (`id`, `title`, `text` columns).
    EvalScope {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        labels: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CalendarAction {
    /// `true` or `false` for a date (YYYY-MM-DD).
    IsWorkday { date: String },
    /// The date N working days after DATE.
    AddWorkdays { date: String, n: u32 },
    /// Working days from FROM to TO, both included.
    Workdays { from: String, to: String },
    /// Check the data for consistency (every year, or one) and summarise it.
    Check {
        #[arg(long)]
        year: Option<i32>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PrivacyAction {
    /// Mask the given columns of a CSV as the warehouse would; count what
    /// changed by label and show examples, masked.
    Scan {
        #[arg(long)]
        input: PathBuf,
        /// Comma-separated column names.
        #[arg(long, value_delimiter = ',', default_value = "text")]
        columns: Vec<String>,
        /// Examples to show.
        #[arg(long, default_value_t = 20)]
        show: usize,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DedupAction {
    /// Read `id,text` (and optional `title,user,time,town`), write
    /// `id,cluster_id,duplicate_of`.
    Cluster {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        output: PathBuf,
        /// The Jaccard similarity that links two tickets to one issue
        /// (default: `neardup.cluster_threshold`).
        #[arg(long)]
        threshold: Option<f64>,
    },
    /// Pairwise precision, recall and F1 against a ground-truth `group`
    /// column, and throughput.
    Eval {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        threshold: Option<f64>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ForwardAction {
    /// Outbox totals and every parked transfer with why it was given up.
    List {
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Put parked transfers back in line with a fresh retry budget, once
    /// their cause is fixed: one ticket (id or acceptance number) or all.
    Requeue {
        #[arg(long, conflicts_with = "all", required_unless_present = "all")]
        ticket: Option<String>,
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RelayAction {
    /// Rows waiting and parked, and every parked row with why the
    /// warehouse refused it.
    Status {
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Put parked rows back in line once the cause is fixed: one row (its
    /// id from `relay status`) or all.
    Requeue {
        #[arg(long, conflicts_with = "all", required_unless_present = "all")]
        id: Option<i64>,
        #[arg(long)]
        all: bool,
    },
}

/// Which orders and how to print them.
#[derive(Debug, Clone, clap::Args)]
pub struct OrderFilter {
    /// One unit's code.
    #[arg(long)]
    pub unit: Option<String>,
    /// As of this day (YYYY-MM-DD); default today.
    #[arg(long)]
    pub date: Option<String>,
    #[arg(long, default_value_t = 500)]
    pub limit: i64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TicketsAction {
    /// Open orders with their deadlines, earliest first.
    Open {
        #[command(flatten)]
        filter: OrderFilter,
    },
    /// Orders past the deadline they owe now (to sign or to reply).
    Overdue {
        #[command(flatten)]
        filter: OrderFilter,
    },
    /// Orders due `today` or `tomorrow` (the next working day).
    Due {
        when: String,
        #[command(flatten)]
        filter: OrderFilter,
    },
    /// Run one SLA sweep now, recorded in the workflow store; a running
    /// gateway relays its events to the warehouse from the store's outbox
    /// (the gateway also sweeps on `workflow.sweep_schedule`).
    Sweep {
        #[arg(long)]
        date: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum QuarantineAction {
    /// List quarantined records.
    List {
        #[arg(long)]
        channel: Option<String>,
        /// Include records already replayed.
        #[arg(long)]
        all: bool,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Run held records through the mappings and the pipeline again.
    Replay {
        #[arg(long)]
        id: Option<i64>,
        #[arg(long)]
        channel: Option<String>,
    },
}
