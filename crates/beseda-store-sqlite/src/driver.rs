//! The shared store's driver port over sqlx's SQLite driver.

use async_trait::async_trait;
use beseda_store_sql::{
    SqlDb, SqlError, SqlRow, SqlTx, SqlValue, rows_from, sql_error as map_err, unsupported,
};
use sqlx::sqlite::{Sqlite, SqliteArguments, SqliteRow};
use sqlx::{AssertSqlSafe, Row, TypeInfo, ValueRef};

pub struct SqliteDb {
    pool: sqlx::SqlitePool,
}

impl SqliteDb {
    pub fn new(pool: sqlx::SqlitePool) -> Self {
        SqliteDb { pool }
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
        // Every transaction of the store writes. Taking the write lock at BEGIN makes a second
        // writer wait (busy timeout) instead of failing when it upgrades from a read.
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_err)?;
        Ok(Box::new(SqliteTx(tx)))
    }
}

struct SqliteTx(sqlx::Transaction<'static, Sqlite>);

#[async_trait]
impl SqlTx for SqliteTx {
    async fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, SqlError> {
        Ok(query(sql, params)
            .execute(&mut *self.0)
            .await
            .map_err(map_err)?
            .rows_affected())
    }

    async fn fetch_all(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<SqlRow>, SqlError> {
        rows_from(
            &query(sql, params)
                .fetch_all(&mut *self.0)
                .await
                .map_err(map_err)?,
            cell,
        )
    }

    async fn commit(self: Box<Self>) -> Result<(), SqlError> {
        self.0.commit().await.map_err(map_err)
    }
}
