//! Bulk loading for generated data (benchmarks at a million dialogs): many rows per statement
//! with ids chosen by the caller, then the databases' own bookkeeping brought up to date.

use super::SqlStore;
use crate::driver::SqlValue;
use beseda_core::CoreResult;

/// SQLite takes at most 32,766 parameters in one statement, PostgreSQL 65,535.
const MAX_PARAMS: usize = 600;

impl SqlStore {
    /// Inserts `rows` (each the values of `columns`, in order) into `table`, in one transaction,
    /// as few statements as the databases' parameter limits allow.
    pub async fn bulk_insert(
        &self,
        table: &str,
        columns: &[&str],
        rows: Vec<Vec<SqlValue>>,
    ) -> CoreResult<()> {
        let per_statement = (MAX_PARAMS / columns.len()).max(1);
        let mut tx = self.db.begin().await?;
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<Vec<SqlValue>> = rows.by_ref().take(per_statement).collect();
            let mut params = Vec::with_capacity(chunk.len() * columns.len());
            let mut tuples = Vec::with_capacity(chunk.len());
            for row in chunk {
                debug_assert_eq!(row.len(), columns.len());
                let start = params.len();
                let marks: Vec<String> =
                    (1..=row.len()).map(|i| format!("${}", start + i)).collect();
                tuples.push(format!("({})", marks.join(", ")));
                params.extend(row);
            }
            let sql = format!(
                "INSERT INTO {table} ({}) VALUES {}",
                columns.join(", "),
                tuples.join(", ")
            );
            tx.execute(&sql, &params).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// After a bulk load with chosen ids: PostgreSQL's id sequences move past them, the unread
    /// counter is recounted, and both databases gather the statistics their planners need.
    pub async fn finish_bulk_load(&self, tables: &[&str]) -> CoreResult<()> {
        for table in tables {
            if self.db.backend() == "postgres" {
                let sql = format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table})) AS v"
                );
                self.db.fetch_one(&sql, &[]).await?;
            }
        }
        // The administrators' unread counter (DESIGN.md §4a), counted afresh.
        self.db
            .execute(
                "UPDATE counters SET value = (SELECT COUNT(*) FROM dialogs \
                   WHERE client_count > read_baseline_client_count AND deleted_at IS NULL) \
                 WHERE name = 'dialogs_unread_by_default'",
                &[],
            )
            .await?;
        self.refresh_statistics().await
    }

    /// Gathers the statistics both databases' planners need, as a load goes on.
    pub async fn refresh_statistics(&self) -> CoreResult<()> {
        self.db.execute("ANALYZE", &[]).await?;
        Ok(())
    }

    /// The highest id in a table (0 when empty): where a bulk load starts numbering.
    pub async fn max_id(&self, table: &str) -> CoreResult<i64> {
        let sql = format!("SELECT COALESCE(MAX(id), 0) AS m FROM {table}");
        Ok(self.db.fetch_one(&sql, &[]).await?.i64("m")?)
    }
}
