//! `beseda-bench`: measures Beseda under load against a real `beseda serve` child process,
//! with the figures BENCHMARKS.md records. The `beseda` binary must sit beside this one
//! (`cargo build --release -p beseda-server -p beseda-bench`).

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "beseda-bench",
    version,
    about = "Beseda's benchmarks: figures for BENCHMARKS.md"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// One event to many connected managers: latency to the last socket, memory per connection.
    Ws {
        #[arg(long, default_value_t = 1000)]
        connections: usize,
        #[arg(long, default_value_t = 30)]
        events: usize,
        /// A PostgreSQL URL of an empty database; SQLite in a temporary directory by default.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Client messages pushed through the transport API: messages per second, latency, and
    /// the database's own ceiling.
    Ingest {
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 20000)]
        messages: usize,
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Client messages pushed at a steady rate for minutes: the server's memory must stay flat.
    Soak {
        /// Messages per second (half the measured ingest maximum, by the measure).
        #[arg(long, default_value_t = 500)]
        rate: u32,
        #[arg(long, default_value_t = 10)]
        minutes: u64,
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Queued replies delivered by the worker to a module's webhook: messages per second.
    Deliver {
        #[arg(long, default_value_t = 200)]
        dialogs: usize,
        #[arg(long, default_value_t = 5000)]
        messages: usize,
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Fills an empty database with a large realistic company (for `beseda-bench inbox`).
    Generate {
        /// `sqlite://path` or `postgres://…` of an empty database.
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value_t = 1_000_000)]
        dialogs: usize,
        #[arg(long, default_value_t = 10_000_000)]
        messages: usize,
    },
    /// The dialog list, its filters, counters and search on a generated database, while client
    /// messages arrive: p50/p99 per query.
    Inbox {
        #[arg(long)]
        database_url: String,
        /// Client messages per second arriving meanwhile.
        #[arg(long, default_value_t = 1000)]
        arrivals: u32,
        /// Runs of each query.
        #[arg(long, default_value_t = 200)]
        runs: usize,
    },
    /// The workspace on a generated database: the page's and each fragment's time, the page's
    /// weight, and a client message's way to an open workspace: p50/p99.
    Ui {
        #[arg(long)]
        database_url: String,
        /// Runs of each request.
        #[arg(long, default_value_t = 200)]
        runs: usize,
        /// Client messages pushed to measure their way to the workspace.
        #[arg(long, default_value_t = 200)]
        arrivals: usize,
    },
    /// The distribution bot and the waiting timer on a generated database: a new dialog's
    /// decision with many managers present, the timer's backlog and idle cost, and a waiting
    /// mark's delay after its deadline.
    Distribution {
        #[arg(long)]
        database_url: String,
        /// Present managers in the channel's pool.
        #[arg(long, default_value_t = 500)]
        managers: usize,
        /// New dialogs to give out.
        #[arg(long, default_value_t = 300)]
        runs: usize,
    },
    /// Managers writing messages over HTTP: messages per second and latency.
    Writes {
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 5000)]
        messages: usize,
        #[arg(long)]
        database_url: Option<String>,
    },
    /// A Telegram bot against a fake Bot API: client updates through the webhook (updates/s,
    /// acknowledgement p50/p99) and replies out within Telegram's pace (replies/s).
    Telegram {
        #[arg(long, default_value_t = 20_000)]
        updates: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 500)]
        replies: usize,
        #[arg(long)]
        database_url: Option<String>,
    },
    /// The website widget: its first-load weight, a visitor's message to the manager's socket
    /// (p50/p99), and the server's memory per connected idle visitor.
    Widget {
        #[arg(long, default_value_t = 10_000)]
        visitors: usize,
        #[arg(long, default_value_t = 500)]
        messages: usize,
        #[arg(long)]
        database_url: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Benchmarks load in bulk on purpose: the database driver's slow-statement warnings would
    // drown their figures.
    let log = std::env::var("BESEDA_LOG").unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(format!(
            "{log},sqlx=error"
        )))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("beseda-bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("beseda-bench: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Ws {
            connections,
            events,
            database_url,
        } => beseda_bench::fan_out(connections, events, database_url.as_deref()).await,
        Command::Ingest {
            concurrency,
            messages,
            database_url,
        } => beseda_bench::ingest(concurrency, messages, database_url.as_deref()).await,
        Command::Soak {
            rate,
            minutes,
            database_url,
        } => beseda_bench::soak(rate, minutes, database_url.as_deref()).await,
        Command::Deliver {
            dialogs,
            messages,
            database_url,
        } => beseda_bench::deliver(dialogs, messages, database_url.as_deref()).await,
        Command::Generate {
            database_url,
            dialogs,
            messages,
        } => beseda_bench::generate(&database_url, dialogs, messages).await,
        Command::Inbox {
            database_url,
            arrivals,
            runs,
        } => beseda_bench::inbox(&database_url, arrivals, runs).await,
        Command::Distribution {
            database_url,
            managers,
            runs,
        } => beseda_bench::distribution(&database_url, managers, runs).await,
        Command::Ui {
            database_url,
            runs,
            arrivals,
        } => beseda_bench::ui(&database_url, runs, arrivals).await,
        Command::Writes {
            concurrency,
            messages,
            database_url,
        } => beseda_bench::writes(concurrency, messages, database_url.as_deref()).await,
        Command::Telegram {
            updates,
            concurrency,
            replies,
            database_url,
        } => beseda_bench::telegram(updates, concurrency, replies, database_url.as_deref()).await,
        Command::Widget {
            visitors,
            messages,
            database_url,
        } => beseda_bench::widget(visitors, messages, database_url.as_deref()).await,
    }
}
