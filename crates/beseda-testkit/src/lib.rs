//! What the tests of every crate share: fresh databases on both backends and the storage
//! conformance suite that each backend must pass.

pub mod conformance;
pub mod databases;
pub mod fake_module;

pub use databases::{TestBackend, TestDb};
