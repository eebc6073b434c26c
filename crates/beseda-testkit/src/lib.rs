//! What the tests of every crate share: fresh databases on both backends, the storage
//! conformance suite that each backend must pass, and fakes of what Beseda talks to (an
//! integration module, the Telegram Bot API, the VK API).

pub mod conformance;
pub mod databases;
pub mod fake_module;
pub mod fake_telegram;
pub mod fake_vk;

pub use databases::{TestBackend, TestDb};
