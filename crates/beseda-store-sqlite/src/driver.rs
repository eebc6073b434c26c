//! The shared store's driver port over SQLite: reads on sqlx's pool, writes on one connection
//! that commits concurrent transactions together (group commit).
//!
//! SQLite has one writer, and with `synchronous=FULL` each commit costs an fsync. Writers
//! therefore queue for the write connection's turn; each store transaction is a savepoint inside
//! one open database transaction (the batch), so a refusal undoes only its own statements, and
//! the batch commits once when nobody is waiting behind it, when it holds `MAX_ITEMS`
//! transactions, or when it is `MAX_AGE` old. A caller's `commit` returns only after the batch's
//! commit: an acknowledged write is on disk.
//!
//! Statements run on the write connection in the calling task, without a hand-over to another
//! thread: a write transaction is a few microseconds of SQLite's work per statement, and a
//! round trip per statement to a connection thread cost more than the work itself. Only the
//! commit (the fsync) runs on the blocking pool.

use async_trait::async_trait;
use beseda_store_sql::{
    SqlDb, SqlError, SqlErrorKind, SqlRow, SqlTx, SqlValue, rows_from, sql_error as map_err,
    unsupported,
};
use rusqlite::types::ValueRef;
use sqlx::sqlite::{Sqlite, SqliteArguments, SqliteRow};
use sqlx::{AssertSqlSafe, Row, TypeInfo, ValueRef as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

/// The most transactions one commit carries.
const MAX_ITEMS: usize = 512;
/// The longest a finished transaction waits for its batch's commit while others keep joining.
const MAX_AGE: Duration = Duration::from_millis(10);

pub struct SqliteDb {
    pool: sqlx::SqlitePool,
    writer: Arc<Writer>,
}

impl SqliteDb {
    pub fn new(pool: sqlx::SqlitePool, write: rusqlite::Connection) -> Self {
        SqliteDb {
            pool,
            writer: Arc::new(Writer {
                turn: Arc::new(Mutex::new(WriteConn {
                    conn: write,
                    batch: None,
                    generation: 0,
                })),
                waiting: AtomicUsize::new(0),
            }),
        }
    }
}

/// The write connection and whose turn it is. Writers queue in order, without sleeping, instead
/// of in SQLite's busy handler.
struct Writer {
    turn: Arc<Mutex<WriteConn>>,
    /// Tasks queued for the turn: while one is, a finished transaction leaves the batch open
    /// for it rather than commit alone.
    waiting: AtomicUsize,
}

type Turn = OwnedMutexGuard<WriteConn>;

struct WriteConn {
    conn: rusqlite::Connection,
    batch: Option<Batch>,
    /// Counts batches, so that a batch's age-bound flush never commits a later batch early.
    generation: u64,
}

/// The open database transaction and the callers waiting for its commit.
struct Batch {
    generation: u64,
    opened: Instant,
    acks: Vec<oneshot::Sender<Result<(), SqlError>>>,
}

/// Counts a task as waiting for the turn while it waits, even if it is cancelled meanwhile.
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Writer {
    /// The turn, with a batch open. A batch past its age is committed first, so that a steady
    /// stream of writers cannot keep its finished transactions waiting.
    async fn turn(self: &Arc<Self>) -> Result<Turn, SqlError> {
        let mut turn = {
            self.waiting.fetch_add(1, Ordering::SeqCst);
            let _queued = Queued(&self.waiting);
            self.turn.clone().lock_owned().await
        };
        if turn
            .batch
            .as_ref()
            .is_some_and(|b| b.opened.elapsed() >= MAX_AGE || b.acks.len() >= MAX_ITEMS)
        {
            turn = commit_off_thread(turn).await?;
        }
        if turn.batch.is_none() {
            turn.open()?;
            self.flush_later(turn.generation);
        }
        Ok(turn)
    }

    /// Commits the batch `generation` once it is `MAX_AGE` old, if it is still open: the writer
    /// that would have committed it may have left the queue.
    fn flush_later(self: &Arc<Self>, generation: u64) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let turn = self.turn.clone();
        runtime.spawn(async move {
            tokio::time::sleep(MAX_AGE).await;
            let turn = turn.lock_owned().await;
            if turn
                .batch
                .as_ref()
                .is_some_and(|b| b.generation == generation)
            {
                commit_in_background(turn);
            }
        });
    }

    /// After a transaction left the batch: commit now if nobody is queued to join it.
    fn finished(&self, turn: Turn) {
        let full = turn
            .batch
            .as_ref()
            .is_some_and(|b| b.acks.len() >= MAX_ITEMS);
        if turn.batch.is_some() && (full || self.waiting.load(Ordering::SeqCst) == 0) {
            commit_in_background(turn);
        }
    }

    /// Waits for the commit of the batch a transaction (or a single statement) joined.
    async fn committed(&self, mut turn: Turn) -> Result<(), SqlError> {
        let (ack, done) = oneshot::channel();
        match turn.batch.as_mut() {
            Some(batch) => batch.acks.push(ack),
            None => return Err(SqlError::other("the transaction was rolled back")),
        }
        self.finished(turn);
        done.await
            .unwrap_or_else(|_| Err(SqlError::other("the commit was abandoned")))
    }
}

/// Commits on the blocking pool (the fsync) and gives the turn back.
async fn commit_off_thread(mut turn: Turn) -> Result<Turn, SqlError> {
    tokio::task::spawn_blocking(move || {
        turn.commit();
        turn
    })
    .await
    .map_err(|e| SqlError::other(format!("the commit did not finish: {e}")))
}

/// Commits on the blocking pool and releases the turn when done; the callers learn the outcome
/// from their acknowledgements.
fn commit_in_background(mut turn: Turn) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn_blocking(move || turn.commit())),
        Err(_) => turn.commit(),
    }
}

impl WriteConn {
    fn open(&mut self) -> Result<(), SqlError> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(sqlite_error)?;
        self.generation += 1;
        self.batch = Some(Batch {
            generation: self.generation,
            opened: Instant::now(),
            acks: Vec::new(),
        });
        Ok(())
    }

    fn commit(&mut self) {
        let Some(batch) = self.batch.take() else {
            return;
        };
        let outcome = self.conn.execute_batch("COMMIT").map_err(sqlite_error);
        if outcome.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        for ack in batch.acks {
            let _ = ack.send(outcome.clone());
        }
    }

    /// SQLite ends the whole transaction on some errors (a full disk, an I/O error): then the
    /// batch is lost, and everyone waiting for it is told.
    fn drop_batch_if_lost(&mut self) {
        if self.batch.is_none() || !self.conn.is_autocommit() {
            return;
        }
        let _ = self.conn.execute_batch("ROLLBACK");
        let lost = SqlError::other("the database rolled the transaction back");
        for ack in self.batch.take().into_iter().flat_map(|b| b.acks) {
            let _ = ack.send(Err(lost.clone()));
        }
    }

    /// Runs one statement; `rows` collects what it returns.
    fn run(
        &mut self,
        sql: &str,
        params: &[SqlValue],
        rows: Option<&mut Vec<SqlRow>>,
    ) -> Result<u64, SqlError> {
        if self.batch.is_none() {
            return Err(SqlError::other("the transaction was rolled back"));
        }
        let outcome = run(&self.conn, sql, params, rows);
        if outcome.is_err() {
            self.drop_batch_if_lost();
        }
        outcome
    }

    /// Undoes a transaction that ended without commit; the rest of the batch stands.
    fn undo_item(&mut self) {
        if self.batch.is_none() || self.conn.is_autocommit() {
            self.drop_batch_if_lost();
            return;
        }
        if self
            .conn
            .execute_batch("ROLLBACK TO item; RELEASE item")
            .is_err()
        {
            // The savepoint could not be undone alone: nothing of the batch may commit.
            let _ = self.conn.execute_batch("ROLLBACK");
            let lost = SqlError::other("the database rolled the transaction back");
            for ack in self.batch.take().into_iter().flat_map(|b| b.acks) {
                let _ = ack.send(Err(lost.clone()));
            }
        }
    }
}

/// Runs a statement from the statement cache. The store writes parameters as `$n`, which
/// SQLite treats as names: each is bound by the number in its name.
fn run(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[SqlValue],
    rows: Option<&mut Vec<SqlRow>>,
) -> Result<u64, SqlError> {
    let mut stmt = conn.prepare_cached(sql).map_err(sqlite_error)?;
    for index in 1..=stmt.parameter_count() {
        let position = match stmt.parameter_name(index) {
            Some(name) => name[1..]
                .parse::<usize>()
                .map_err(|_| SqlError::other(format!("parameter {name} is not numbered")))?,
            None => index,
        };
        let value = params
            .get(position - 1)
            .ok_or_else(|| SqlError::other(format!("no value for parameter {position}")))?;
        match value {
            SqlValue::I64(v) => stmt.raw_bind_parameter(index, v),
            SqlValue::Bool(v) => stmt.raw_bind_parameter(index, v),
            SqlValue::Text(v) => stmt.raw_bind_parameter(index, v),
        }
        .map_err(sqlite_error)?;
    }
    let read_only = stmt.readonly();
    let columns: Arc<[String]> = stmt.column_names().into_iter().map(String::from).collect();
    let mut stepped = stmt.raw_query();
    let mut out = rows;
    while let Some(row) = stepped.next().map_err(sqlite_error)? {
        if let Some(out) = out.as_deref_mut() {
            let values = (0..columns.len())
                .map(|i| match row.get_ref(i).map_err(sqlite_error)? {
                    ValueRef::Null => Ok(SqlValue::I64(None)),
                    ValueRef::Integer(v) => Ok(SqlValue::I64(Some(v))),
                    ValueRef::Text(t) => Ok(SqlValue::Text(Some(
                        String::from_utf8_lossy(t).into_owned(),
                    ))),
                    ValueRef::Real(_) => Err(map_err(unsupported("REAL", i))),
                    ValueRef::Blob(_) => Err(map_err(unsupported("BLOB", i))),
                })
                .collect::<Result<Vec<_>, SqlError>>()?;
            out.push(SqlRow::new(columns.clone(), values));
        }
    }
    // `changes` keeps the last write's count through statements that write nothing.
    Ok(if read_only { 0 } else { conn.changes() })
}

/// Classifies an error as the sqlx driver does: the store turns constraint kinds into domain
/// errors.
fn sqlite_error(e: rusqlite::Error) -> SqlError {
    use rusqlite::ffi;
    let kind = match e.sqlite_error() {
        Some(f)
            if f.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            SqlErrorKind::UniqueViolation
        }
        Some(f) if f.extended_code == ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
            SqlErrorKind::ForeignKeyViolation
        }
        _ => SqlErrorKind::Other,
    };
    SqlError {
        kind,
        message: e.to_string(),
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
        self.write_alone(sql, params, None).await
    }

    /// Reads run on the pool, beside the writer; a statement that writes and returns rows
    /// (`UPDATE … RETURNING`) goes to the writer like any other write.
    async fn fetch_all(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<SqlRow>, SqlError> {
        if !reads_only(sql) {
            let mut rows = Vec::new();
            self.write_alone(sql, params, Some(&mut rows)).await?;
            return Ok(rows);
        }
        rows_from(
            &query(sql, params)
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?,
            cell,
        )
    }

    async fn begin(&self) -> Result<Box<dyn SqlTx>, SqlError> {
        let mut turn = self.writer.turn().await?;
        if let Err(e) = turn.run("SAVEPOINT item", &[], None) {
            self.writer.finished(turn);
            return Err(e);
        }
        Ok(Box::new(SqliteTx {
            turn: Some(turn),
            writer: self.writer.clone(),
        }))
    }
}

impl SqliteDb {
    /// A single statement joins the batch like a transaction; SQLite undoes a failed statement
    /// by itself, so it needs no savepoint.
    async fn write_alone(
        &self,
        sql: &str,
        params: &[SqlValue],
        rows: Option<&mut Vec<SqlRow>>,
    ) -> Result<u64, SqlError> {
        let mut turn = self.writer.turn().await?;
        match turn.run(sql, params, rows) {
            Ok(changed) => {
                self.writer.committed(turn).await?;
                Ok(changed)
            }
            Err(e) => {
                self.writer.finished(turn);
                Err(e)
            }
        }
    }
}

/// Whether a statement only reads: only those may run on the pool's connections, which never
/// take SQLite's write lock.
fn reads_only(sql: &str) -> bool {
    sql.trim_start()
        .get(..6)
        .is_some_and(|w| w.eq_ignore_ascii_case("SELECT"))
}

/// One store transaction: a savepoint in the batch, holding the writer's turn until it ends.
struct SqliteTx {
    turn: Option<Turn>,
    writer: Arc<Writer>,
}

impl SqliteTx {
    fn turn(&mut self) -> Result<&mut Turn, SqlError> {
        self.turn
            .as_mut()
            .ok_or_else(|| SqlError::other("the transaction has ended"))
    }
}

#[async_trait]
impl SqlTx for SqliteTx {
    async fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, SqlError> {
        self.turn()?.run(sql, params, None)
    }

    async fn fetch_all(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<SqlRow>, SqlError> {
        let mut rows = Vec::new();
        self.turn()?.run(sql, params, Some(&mut rows))?;
        Ok(rows)
    }

    async fn commit(mut self: Box<Self>) -> Result<(), SqlError> {
        let mut turn = self.turn.take().expect("a transaction commits once");
        if let Err(e) = turn.run("RELEASE item", &[], None) {
            turn.undo_item();
            self.writer.finished(turn);
            return Err(e);
        }
        self.writer.committed(turn).await
    }
}

impl Drop for SqliteTx {
    /// Dropped without commit (an error, a refusal, a cancelled request): its own statements
    /// are undone at once, on the connection it holds.
    fn drop(&mut self) {
        if let Some(mut turn) = self.turn.take() {
            turn.undo_item();
            self.writer.finished(turn);
        }
    }
}
