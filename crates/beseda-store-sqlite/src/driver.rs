//! The shared store's driver port over sqlx's SQLite driver.

use async_trait::async_trait;
use beseda_store_sql::{
    SqlDb, SqlError, SqlRow, SqlTx, SqlValue, rows_from, sql_error as map_err, unsupported,
};
use sqlx::sqlite::{Sqlite, SqliteArguments, SqliteRow};
use sqlx::{AssertSqlSafe, Row, TypeInfo, ValueRef};
use std::sync::Arc;

pub struct SqliteDb {
    pool: sqlx::SqlitePool,
    /// SQLite has one writer. Writers queue here, in order and without sleeping, instead of in
    /// SQLite's busy handler, which backs off in coarse sleeps and wastes the lock's idle time.
    writer: Arc<tokio::sync::Mutex<()>>,
}

impl SqliteDb {
    pub fn new(pool: sqlx::SqlitePool) -> Self {
        SqliteDb {
            pool,
            writer: Arc::new(tokio::sync::Mutex::new(())),
        }
    }
}

type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments>;

/// Builds a statement. The text is always one of the store's own constants; values travel only
/// as parameters.
fn query<'q>(sql: &str, params: &[SqlValue]) -> Query<'q> {
    params
        .iter()
        .fold(sqlx::query(AssertSqlSafe(sql.to_owned())), |q, p| match p {
            SqlValue::I64(v) => q.bind(*v),
            SqlValue::Bool(v) => q.bind(*v),
            SqlValue::Text(v) => q.bind(v.clone()),
        })
}

/// SQLite types each value, not each column, so the storage class of the value decides.
fn cell(row: &SqliteRow, i: usize) -> Result<SqlValue, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(SqlValue::I64(None));
    }
    match raw.type_info().name() {
        "INTEGER" | "BOOLEAN" => Ok(SqlValue::I64(Some(row.try_get(i)?))),
        "TEXT" => Ok(SqlValue::Text(Some(row.try_get(i)?))),
        other => Err(unsupported(other, i)),
    }
}

#[async_trait]
impl SqlDb for SqliteDb {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64, SqlError> {
        let _writer = self.writer.lock().await;
        Ok(query(sql, params)
            .execute(&self.pool)
            .await
            .map_err(map_err)?
            .rows_affected())
    }

    async fn fetch_all(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<SqlRow>, SqlError> {
        rows_from(
            &query(sql, params)
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?,
            cell,
        )
    }

    async fn begin(&self) -> Result<Box<dyn SqlTx>, SqlError> {
        // Every transaction of the store writes: it takes the writer's turn, then SQLite's write
        // lock at BEGIN, so that it never fails upgrading from a read.
        let writer = self.writer.clone().lock_owned().await;
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_err)?;
        Ok(Box::new(SqliteTx { tx, _turn: writer }))
    }
}

/// A transaction and the writer's turn, given back when it ends.
struct SqliteTx {
    tx: sqlx::Transaction<'static, Sqlite>,
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

#[async_trait]
impl SqlTx for SqliteTx {
    async fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, SqlError> {
        Ok(query(sql, params)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?
            .rows_affected())
    }

    async fn fetch_all(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<SqlRow>, SqlError> {
        rows_from(
            &query(sql, params)
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?,
            cell,
        )
    }

    async fn commit(self: Box<Self>) -> Result<(), SqlError> {
        self.tx.commit().await.map_err(map_err)
    }
}
