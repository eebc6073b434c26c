//! The shared store's driver port over sqlx's PostgreSQL driver.

use async_trait::async_trait;
use beseda_store_sql::{
    SqlDb, SqlError, SqlRow, SqlTx, SqlValue, rows_from, sql_error as map_err, unsupported,
};
use sqlx::postgres::{PgArguments, PgRow, Postgres};
use sqlx::{AssertSqlSafe, Column, Row, TypeInfo, ValueRef};

pub struct PgDb {
    pool: sqlx::PgPool,
}

impl PgDb {
    pub fn new(pool: sqlx::PgPool) -> Self {
        PgDb { pool }
    }
}

type Query<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

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

/// PostgreSQL types each column; narrower integers widen to `i64`.
fn cell(row: &PgRow, i: usize) -> Result<SqlValue, sqlx::Error> {
    let null = row.try_get_raw(i)?.is_null();
    let type_name = row.column(i).type_info().name();
    Ok(match type_name {
        "INT8" => SqlValue::I64(row.try_get::<Option<i64>, _>(i)?),
        "INT4" => SqlValue::I64(row.try_get::<Option<i32>, _>(i)?.map(i64::from)),
        "INT2" => SqlValue::I64(row.try_get::<Option<i16>, _>(i)?.map(i64::from)),
        "BOOL" => SqlValue::Bool(row.try_get(i)?),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => SqlValue::Text(row.try_get(i)?),
        _ if null => SqlValue::Text(None),
        other => return Err(unsupported(other, i)),
    })
}

#[async_trait]
impl SqlDb for PgDb {
    fn backend(&self) -> &'static str {
        "postgres"
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
        Ok(Box::new(PgTx(self.pool.begin().await.map_err(map_err)?)))
    }
}

struct PgTx(sqlx::Transaction<'static, Postgres>);

#[async_trait]
impl SqlTx for PgTx {
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
