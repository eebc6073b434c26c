//! The store logic both SQL backends share.
//!
//! Every portable query is written once, here, against a small driver port ([`SqlDb`]): run a
//! statement with parameters, read rows of integers, booleans and text, open a transaction.
//! Each backend crate implements that port for its own sqlx driver, runs its own migrations, and
//! adds what only its dialect can do. Timestamps are epoch milliseconds and JSON is text, so
//! these three value types are all the shared queries need.

mod driver;
mod sqlx_support;
mod store;

pub use driver::{SqlDb, SqlError, SqlErrorKind, SqlRow, SqlTx, SqlValue};
pub use sqlx_support::{EmbeddedMigration, migrator, rows_from, sql_error, unsupported};
pub use store::SqlStore;
pub use store::bulk::{BulkClient, BulkClientTag, BulkContact, BulkDialog, BulkLoad, BulkMessage};
