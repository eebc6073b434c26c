//! `beseda`: the omnichannel chat inbox. `beseda serve` runs everything.

use anyhow::Context;
use beseda_core::services::auth::LoginLimits;
use beseda_core::services::managers::{CreateManager, ManagerService};
use beseda_core::time::SystemClock;
use beseda_core::values::{DisplayName, Email, Password};
use beseda_core::{CoreError, secret};
use beseda_server::config::{Config, ConfigError};
use beseda_server::demo::{self, DemoSize};
use beseda_server::startup::{self, Server};
use beseda_web::app::{AppState, Settings};
use beseda_web::files::Files;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "beseda",
    version,
    about = "Beseda: every client conversation in one inbox"
)]
struct Cli {
    /// A configuration file (default: ./beseda.toml when present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server (and migrates the database first).
    Serve {
        /// On a database without company data, loads the demo company first.
        #[arg(long)]
        demo: bool,
    },
    /// Applies the database migrations and exits.
    Migrate,
    /// Fills the database with a demo company.
    Demo {
        /// Adds the demo even to a database that already holds data.
        #[arg(long)]
        force: bool,
        /// How many clients (each with a dialog).
        #[arg(long, default_value_t = 300)]
        clients: usize,
    },
    /// Manages user accounts.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Creates a manager; prints a generated password unless one is given.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Makes a system administrator.
        #[arg(long)]
        admin: bool,
        /// The password (taken from BESEDA_NEW_PASSWORD when set); generated when absent.
        #[arg(long, env = "BESEDA_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Sets a new password for a manager and ends all their sessions.
    ResetPassword {
        #[arg(long)]
        email: String,
        #[arg(long, env = "BESEDA_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref(), |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("beseda: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&config.log))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("beseda: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, never a panic: the chain of causes joined.
            eprintln!("beseda: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { demo } => serve(config, demo).await,
        Command::Migrate => {
            let store = startup::open_store(&config.database_url)
                .await
                .map_err(setting_error)?;
            println!("The {} database is migrated.", store.backend());
            Ok(())
        }
        Command::Demo { force, clients } => {
            let store = startup::open_store(&config.database_url)
                .await
                .map_err(setting_error)?;
            load_demo(store, force, clients).await
        }
        Command::User(cmd) => user(cmd, config).await,
    }
}

async fn serve(config: Config, with_demo: bool) -> anyhow::Result<()> {
    // Bind first: a taken port stops start-up before anything is written.
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| ConfigError {
            setting: "BESEDA_LISTEN".into(),
            message: format!("cannot listen on {}: {e}", config.listen),
        })?;
    let secret = startup::session_secret(&config)?;
    let store = startup::open_store(&config.database_url)
        .await
        .map_err(setting_error)?;
    let managers = ManagerService::new(
        store.clone(),
        Arc::new(SystemClock),
        secret::Passwords::default(),
    );
    if let Some(admin) = managers
        .ensure_first_admin(
            config.admin_email.as_deref(),
            config.admin_password.as_deref(),
        )
        .await?
    {
        startup::announce_first_admin(&admin);
    }
    if with_demo && !store.data_counts().await?.has_company_data() {
        load_demo(store.clone(), false, DemoSize::default().clients).await?;
    }
    // With port 0 the system picks the port: show the address actually bound.
    let url = if config.listen.port() == 0 {
        format!("http://{}", listener.local_addr()?)
    } else {
        config.public_url.clone()
    };
    let mut files = Files::open(&config.storage_url)
        .map_err(|message| anyhow::anyhow!("BESEDA_STORAGE_URL: {message}"))?;
    files.min_free_bytes = config.min_free_disk_bytes;
    let settings = Settings {
        session_secret: &secret,
        secure_cookies: config.secure_cookies(),
        limits: LoginLimits::default(),
        files,
        public_url: url.clone(),
        clock: Arc::new(beseda_core::time::SystemClock),
        outbound: config.outbound_allow.clone(),
        unsent_quota: beseda_core::services::attachments::UNSENT_QUOTA_BYTES,
        messengers: Arc::new(beseda_channels::Platforms::new(beseda_channels::Apis {
            telegram: config.telegram_api.clone(),
            vk: config.vk_api.clone(),
            graph: config.graph_api.clone(),
        })),
    };
    let mut state = AppState::new(store.clone(), settings)?;
    state.delivery_lease = config.delivery_lease;
    state.event_retention = config.event_retention;
    state.poll_wait = config.poll_wait;
    state.trusted_proxies = config.trusted_proxies.clone();
    let shutdown = CancellationToken::new();
    if let (true, Some(every)) = (with_demo, config.demo_live) {
        // The simulated module reaches this server where it listens, whatever the public URL.
        let mut own = listener.local_addr()?;
        if own.ip().is_unspecified() {
            own.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let own = format!("http://{own}");
        if let Some(module_at) = demo::live::start(
            &state,
            &own,
            demo::live::Pace::every(every),
            shutdown.clone(),
        )
        .await?
        {
            // Loopback is refused to modules' webhooks; the demo's own module alone is let in.
            state.outbound.allow_service(module_at);
            println!(
                "The living demo is on: clients write about every {}s (BESEDA_DEMO_LIVE_SECS=0 switches it off).",
                every.as_secs()
            );
        }
    }
    if with_demo {
        // The shop sits beside the server: its port plus one, when free.
        let port = listener.local_addr()?.port().saturating_add(1);
        let shop = demo::shop::start(&state, &url, port, shutdown.clone()).await?;
        println!("The demo shop with the website widget is at {shop} (play the visitor there).");
        state.demo_shop = Some(shop);
    }
    let server = Server { state, listener };
    println!("Beseda is ready at {url}/ ({} database)", store.backend());
    startup::cancel_on_signal(shutdown.clone());
    server.run(shutdown).await.context("the server stopped")
}

async fn load_demo(
    store: Arc<dyn beseda_core::store::Store>,
    force: bool,
    clients: usize,
) -> anyhow::Result<()> {
    let size = DemoSize {
        clients,
        ..DemoSize::default()
    };
    let report = demo::load(store, size, force, true).await?;
    println!(
        "Loaded the demo company: {} channels, {} clients and dialogs, {} messages.",
        report.channels, report.clients, report.messages
    );
    if let Some(password) = report.manager_password {
        println!(
            "Demo managers {} … {} sign in with the password {password}",
            report.managers.first().map_or("", String::as_str),
            report.managers.last().map_or("", String::as_str)
        );
    }
    Ok(())
}

async fn user(cmd: UserCommand, config: Config) -> anyhow::Result<()> {
    let store = startup::open_store(&config.database_url)
        .await
        .map_err(setting_error)?;
    let service = ManagerService::new(store, Arc::new(SystemClock), secret::Passwords::default());
    let given = match &cmd {
        UserCommand::Create { password, .. } | UserCommand::ResetPassword { password, .. } => {
            password.clone()
        }
    };
    let generated = given.is_none();
    let password = given.unwrap_or_else(secret::random_password);
    let parsed = Password::parse(&password)?;
    match cmd {
        UserCommand::Create {
            email, name, admin, ..
        } => {
            let m = service
                .register(CreateManager {
                    email: Email::parse(&email)?,
                    name: DisplayName::parse("name", &name)?,
                    password: parsed,
                    locale: None,
                    is_system_admin: admin,
                })
                .await?;
            println!(
                "Created {} ({}).",
                m.email,
                if admin {
                    "system administrator"
                } else {
                    "manager"
                }
            );
        }
        UserCommand::ResetPassword { email, .. } => {
            let m = service.find_by_email(&Email::parse(&email)?).await?;
            service.set_password(m.id, parsed).await?;
            println!(
                "Set a new password for {}; their sessions have ended.",
                m.email
            );
        }
    }
    if generated {
        println!("Password: {password}");
    }
    Ok(())
}

/// A database that cannot be opened is a configuration problem: name the setting.
fn setting_error(e: CoreError) -> anyhow::Error {
    match e {
        CoreError::Invalid { field, reason } if field == "database_url" => ConfigError {
            setting: "BESEDA_DATABASE_URL".into(),
            message: reason,
        }
        .into(),
        other => other.into(),
    }
}
