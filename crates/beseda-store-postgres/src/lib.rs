//! The scale-out store: PostgreSQL, chosen by a `postgres://` database URL.

mod driver;

use beseda_core::{CoreError, CoreResult};
use beseda_store_sql::{EmbeddedMigration, SqlStore, migrator};
use driver::PgDb;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The migrations, embedded; the SQLite crate has the same version list.
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

/// How long one statement may run: a search or a filter a user can make slow ends here instead
/// of holding a connection (the request itself ends at 30 s).
const STATEMENT_TIMEOUT: &str = "60s";

/// Connects to and migrates the database at `url` (`postgres://user@host:port/db`).
pub async fn open(url: &str) -> CoreResult<SqlStore> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| CoreError::invalid("database_url", e.to_string()))?;
    let cannot = |e: sqlx::Error| {
        CoreError::invalid("database_url", format!("cannot connect to PostgreSQL: {e}"))
    };
    // Migrations run on their own connection, without the statement timeout: rewriting a big
    // table may take longer than any request should.
    let migrating = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options.clone())
        .await
        .map_err(cannot)?;
    migrator(MIGRATIONS)
        .run(&migrating)
        .await
        .map_err(|e| CoreError::Storage(format!("migrations failed: {e}")))?;
    migrating.close().await;
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options.options([("statement_timeout", STATEMENT_TIMEOUT)]))
        .await
        .map_err(cannot)?;
    Ok(SqlStore::new(Arc::new(PgDb::new(pool))))
}
