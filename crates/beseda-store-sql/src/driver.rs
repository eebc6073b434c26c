//! The driver port the shared queries run on, and the values that cross it.

use async_trait::async_trait;
use beseda_core::CoreError;
use beseda_core::ids::*;
use beseda_core::time::Timestamp;
use std::sync::Arc;

/// A statement parameter. Nulls carry their type, because PostgreSQL needs one.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    I64(Option<i64>),
    Bool(Option<bool>),
    Text(Option<String>),
}

impl From<i64> for SqlValue {
    fn from(v: i64) -> Self {
        SqlValue::I64(Some(v))
    }
}
impl From<Option<i64>> for SqlValue {
    fn from(v: Option<i64>) -> Self {
        SqlValue::I64(v)
    }
}
impl From<bool> for SqlValue {
    fn from(v: bool) -> Self {
        SqlValue::Bool(Some(v))
    }
}
impl From<Option<bool>> for SqlValue {
    fn from(v: Option<bool>) -> Self {
        SqlValue::Bool(v)
    }
}
impl From<&str> for SqlValue {
    fn from(v: &str) -> Self {
        SqlValue::Text(Some(v.to_owned()))
    }
}
impl From<String> for SqlValue {
    fn from(v: String) -> Self {
        SqlValue::Text(Some(v))
    }
}
impl From<Option<&str>> for SqlValue {
    fn from(v: Option<&str>) -> Self {
        SqlValue::Text(v.map(str::to_owned))
    }
}
impl From<Option<String>> for SqlValue {
    fn from(v: Option<String>) -> Self {
        SqlValue::Text(v)
    }
}
/// Closed sets of values are stored as their names.
macro_rules! named_values {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for SqlValue {
            fn from(v: $t) -> Self {
                SqlValue::Text(Some(v.as_str().to_owned()))
            }
        }
        impl From<Option<$t>> for SqlValue {
            fn from(v: Option<$t>) -> Self {
                SqlValue::Text(v.map(|v| v.as_str().to_owned()))
            }
        }
    )*};
}
named_values!(
    beseda_core::dialog::MessageKind,
    beseda_core::dialog::AuthorKind,
    beseda_core::dialog::DeliveryStatus,
);

impl From<Timestamp> for SqlValue {
    fn from(v: Timestamp) -> Self {
        SqlValue::I64(Some(v.0))
    }
}
impl From<Option<Timestamp>> for SqlValue {
    fn from(v: Option<Timestamp>) -> Self {
        SqlValue::I64(v.map(|t| t.0))
    }
}

macro_rules! id_values {
    ($($id:ident),*) => {$(
        impl From<$id> for SqlValue {
            fn from(v: $id) -> Self {
                SqlValue::I64(Some(v.0))
            }
        }
        impl From<Option<$id>> for SqlValue {
            fn from(v: Option<$id>) -> Self {
                SqlValue::I64(v.map(|i| i.0))
            }
        }
    )*};
}
id_values!(
    ManagerId,
    GroupId,
    ApiTokenId,
    ChannelId,
    ClientId,
    ContactId,
    DialogId,
    MessageId,
    TagId,
    BotId,
    OrderId,
    AttachmentId,
    ModuleId,
    QuickReplyId,
    DeliveryJobId,
    VisitorSessionId
);

/// A row read back: named columns of integers, booleans and text (`None` is SQL NULL).
#[derive(Clone, Debug)]
pub struct SqlRow {
    columns: Arc<[String]>,
    values: Vec<SqlValue>,
}

impl SqlRow {
    pub fn new(columns: Arc<[String]>, values: Vec<SqlValue>) -> Self {
        SqlRow { columns, values }
    }

    fn get(&self, name: &str) -> Result<&SqlValue, SqlError> {
        self.columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| self.values.get(i))
            .ok_or_else(|| SqlError::other(format!("no column {name}")))
    }

    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>, SqlError> {
        match self.get(name)? {
            SqlValue::I64(v) => Ok(*v),
            SqlValue::Bool(v) => Ok(v.map(i64::from)),
            SqlValue::Text(_) => Err(SqlError::other(format!(
                "column {name} is text, not an integer"
            ))),
        }
    }

    pub fn i64(&self, name: &str) -> Result<i64, SqlError> {
        self.opt_i64(name)?
            .ok_or_else(|| SqlError::other(format!("column {name} is null")))
    }

    /// SQLite keeps booleans as 0 and 1; PostgreSQL as booleans. Both read as `bool`.
    pub fn bool(&self, name: &str) -> Result<bool, SqlError> {
        match self.get(name)? {
            SqlValue::Bool(Some(b)) => Ok(*b),
            SqlValue::I64(Some(i)) => Ok(*i != 0),
            _ => Err(SqlError::other(format!("column {name} is not a boolean"))),
        }
    }

    pub fn opt_text(&self, name: &str) -> Result<Option<String>, SqlError> {
        match self.get(name)? {
            SqlValue::Text(v) => Ok(v.clone()),
            SqlValue::I64(None) | SqlValue::Bool(None) => Ok(None),
            _ => Err(SqlError::other(format!("column {name} is not text"))),
        }
    }

    pub fn text(&self, name: &str) -> Result<String, SqlError> {
        self.opt_text(name)?
            .ok_or_else(|| SqlError::other(format!("column {name} is null")))
    }

    /// A text column that holds one of a closed set of values (a kind, a status).
    pub fn opt_parsed<T>(
        &self,
        name: &str,
        parse: fn(&str) -> Option<T>,
    ) -> Result<Option<T>, SqlError> {
        self.opt_text(name)?
            .map(|raw| {
                parse(&raw)
                    .ok_or_else(|| SqlError::other(format!("column {name}: unknown {raw:?}")))
            })
            .transpose()
    }

    pub fn parsed<T>(&self, name: &str, parse: fn(&str) -> Option<T>) -> Result<T, SqlError> {
        self.opt_parsed(name, parse)?
            .ok_or_else(|| SqlError::other(format!("column {name} is null")))
    }

    pub fn ts(&self, name: &str) -> Result<Timestamp, SqlError> {
        self.i64(name).map(Timestamp)
    }

    pub fn opt_ts(&self, name: &str) -> Result<Option<Timestamp>, SqlError> {
        Ok(self.opt_i64(name)?.map(Timestamp))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlErrorKind {
    UniqueViolation,
    ForeignKeyViolation,
    Other,
}

/// A driver error, with the two constraint kinds the store turns into domain errors.
#[derive(Clone, Debug)]
pub struct SqlError {
    pub kind: SqlErrorKind,
    pub message: String,
}

impl SqlError {
    pub fn other(message: impl Into<String>) -> Self {
        SqlError {
            kind: SqlErrorKind::Other,
            message: message.into(),
        }
    }
}

impl From<SqlError> for CoreError {
    fn from(e: SqlError) -> Self {
        CoreError::Storage(e.message)
    }
}

/// A database: statements on the pool, and transactions.
#[async_trait]
pub trait SqlDb: Send + Sync + 'static {
    fn backend(&self) -> &'static str;
    async fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64, SqlError>;
    async fn fetch_all(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<SqlRow>, SqlError>;
    async fn begin(&self) -> Result<Box<dyn SqlTx>, SqlError>;

    async fn fetch_optional(
        &self,
        sql: &str,
        params: &[SqlValue],
    ) -> Result<Option<SqlRow>, SqlError> {
        Ok(self.fetch_all(sql, params).await?.into_iter().next())
    }

    async fn fetch_one(&self, sql: &str, params: &[SqlValue]) -> Result<SqlRow, SqlError> {
        self.fetch_optional(sql, params)
            .await?
            .ok_or_else(|| SqlError::other("no row returned"))
    }
}

/// An open transaction. Dropped without `commit`, it rolls back.
#[async_trait]
pub trait SqlTx: Send {
    async fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, SqlError>;
    async fn fetch_all(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<SqlRow>, SqlError>;
    async fn commit(self: Box<Self>) -> Result<(), SqlError>;

    async fn fetch_optional(
        &mut self,
        sql: &str,
        params: &[SqlValue],
    ) -> Result<Option<SqlRow>, SqlError> {
        Ok(self.fetch_all(sql, params).await?.into_iter().next())
    }

    async fn fetch_one(&mut self, sql: &str, params: &[SqlValue]) -> Result<SqlRow, SqlError> {
        self.fetch_optional(sql, params)
            .await?
            .ok_or_else(|| SqlError::other("no row returned"))
    }
}
