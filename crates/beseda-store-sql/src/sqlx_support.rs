//! What both drivers do the same way with sqlx: read rows and classify errors.

use crate::driver::{SqlError, SqlErrorKind, SqlRow, SqlValue};
use sqlx::{Column, Row};
use std::sync::Arc;

/// Reads sqlx rows into [`SqlRow`]s; `cell` decodes one value by the driver's typing rules.
pub fn rows_from<R: Row>(
    rows: &[R],
    cell: impl Fn(&R, usize) -> Result<SqlValue, sqlx::Error>,
) -> Result<Vec<SqlRow>, SqlError> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let columns: Arc<[String]> = first
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    rows.iter()
        .map(|row| {
            let values = (0..columns.len())
                .map(|i| cell(row, i))
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql_error)?;
            Ok(SqlRow::new(columns.clone(), values))
        })
        .collect()
}

/// Classifies a driver error; constraint violations become domain errors upstream.
pub fn sql_error(e: sqlx::Error) -> SqlError {
    let kind = match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => SqlErrorKind::UniqueViolation,
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
            SqlErrorKind::ForeignKeyViolation
        }
        _ => SqlErrorKind::Other,
    };
    SqlError {
        kind,
        message: e.to_string(),
    }
}

/// An unsupported column type, as a decode error naming it.
pub fn unsupported(type_name: &str, column: usize) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: format!("unsupported column type {type_name}").into(),
    }
}

/// A migration embedded in a backend: version, name, SQL.
pub type EmbeddedMigration = (i64, &'static str, &'static str);

/// The migrator for a backend's embedded migrations (no files are read at run time).
pub fn migrator(migrations: &'static [EmbeddedMigration]) -> sqlx::migrate::Migrator {
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|(version, name, sql)| {
                Migration::new(
                    *version,
                    (*name).into(),
                    MigrationType::Simple,
                    sqlx::SqlStr::from_static(sql),
                    false,
                )
            })
            .collect(),
    )
}
