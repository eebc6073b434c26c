//! The embedded default store: SQLite in WAL mode, in one file under the data directory.

mod driver;

use beseda_core::{CoreError, CoreResult};
use beseda_store_sql::{EmbeddedMigration, SqlStore, migrator};
use driver::SqliteDb;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The migrations, embedded; the PostgreSQL crate has the same version list.
pub const MIGRATIONS: &[EmbeddedMigration] = &[
    (1, "schema", include_str!("../migrations/0001_schema.sql")),
    (
        2,
        "attachment channels",
        include_str!("../migrations/0002_attachment_channels.sql"),
    ),
    (3, "search", include_str!("../migrations/0003_search.sql")),
    (
        4,
        "list indexes",
        include_str!("../migrations/0004_list_indexes.sql"),
    ),
    (
        5,
        "dialog tags",
        include_str!("../migrations/0005_dialog_tags.sql"),
    ),
    (
        6,
        "typed feed events",
        include_str!("../migrations/0006_typed_feed_events.sql"),
    ),
    (
        7,
        "event retention",
        include_str!("../migrations/0007_event_retention.sql"),
    ),
    (
        8,
        "api token expiry",
        include_str!("../migrations/0008_api_token_expiry.sql"),
    ),
    (
        9,
        "deleted texts",
        include_str!("../migrations/0009_deleted_texts.sql"),
    ),
    (10, "widget", include_str!("../migrations/0010_widget.sql")),
    (
        11,
        "connected channels",
        include_str!("../migrations/0011_connected_channels.sql"),
    ),
    (
        12,
        "connector state",
        include_str!("../migrations/0012_connector_state.sql"),
    ),
    (
        13,
        "templates",
        include_str!("../migrations/0013_templates.sql"),
    ),
    (
        14,
        "waiting timer",
        include_str!("../migrations/0014_waiting_timer.sql"),
    ),
    (15, "orders", include_str!("../migrations/0015_orders.sql")),
    (16, "bots", include_str!("../migrations/0016_bots.sql")),
    (
        17,
        "distribution",
        include_str!("../migrations/0017_distribution.sql"),
    ),
    (
        18,
        "bot messages",
        include_str!("../migrations/0018_bot_messages.sql"),
    ),
];

/// Opens (creating the file when missing) and migrates the database at `url`
/// (`sqlite://path/to/file.db`).
pub async fn open(url: &str) -> CoreResult<SqlStore> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| CoreError::invalid("database_url", e.to_string()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    if let Some(dir) = options
        .get_filename()
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            CoreError::invalid(
                "database_url",
                format!("cannot create {}: {e}", dir.display()),
            )
        })?;
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options.clone())
        .await
        .map_err(|e| {
            CoreError::invalid(
                "database_url",
                format!("cannot open the SQLite database: {e}"),
            )
        })?;
    migrator(MIGRATIONS)
        .run(&pool)
        .await
        .map_err(|e| CoreError::Storage(format!("migrations failed: {e}")))?;
    let write = write_connection(options.get_filename())?;
    Ok(SqlStore::new(Arc::new(SqliteDb::new(pool, write))))
}

/// The one connection that writes. `synchronous=FULL`: a commit is on disk before anyone is
/// told it happened, which group commit makes affordable (one fsync per batch).
fn write_connection(path: &std::path::Path) -> CoreResult<rusqlite::Connection> {
    let opened = rusqlite::Connection::open(path).and_then(|conn| {
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.set_prepared_statement_cache_capacity(512);
        Ok(conn)
    });
    opened.map_err(|e| {
        CoreError::invalid(
            "database_url",
            format!("cannot open the SQLite database for writing: {e}"),
        )
    })
}
