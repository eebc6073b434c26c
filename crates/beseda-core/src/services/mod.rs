//! The core services: each applies the rules of one area and calls the store.

pub mod attachments;
pub mod auth;
pub mod bots;
pub mod connectors;
pub mod dialogs;
pub mod distribution;
pub mod inbox;
pub mod library;
pub mod managers;
pub mod orders;
pub mod throttle;
pub mod timers;
pub mod transport;
pub mod widget;
