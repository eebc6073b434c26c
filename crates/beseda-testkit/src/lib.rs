//! What the tests of every crate share: fresh databases on both backends, the storage
//! conformance suite that each backend must pass, and fakes of what Beseda talks to (an
//! integration module, the Telegram Bot API, the VK API, Meta's Graph API for WhatsApp,
//! Messenger and Instagram).

pub mod conformance;
pub mod databases;
pub mod fake_bot;
pub mod fake_meta;
pub mod fake_module;
pub mod fake_telegram;
pub mod fake_vk;

pub use databases::{TestBackend, TestDb};
