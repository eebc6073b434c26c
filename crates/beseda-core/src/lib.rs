//! The domain of Beseda: typed ids and values, the rules, the services that apply them, and the
//! ports (traits) through which they reach storage and the outside world. Nothing here knows
//! about HTTP or SQL.

pub mod attachment;
pub mod bot;
pub mod channel;
pub mod company;
pub mod connector;
pub mod dialog;
pub mod distribution;
pub mod error;
pub mod event;
pub mod files;

pub mod ids;
pub mod inbox;
pub mod library;
pub mod manager;
pub mod order;
pub mod rules;
pub mod secret;
pub mod services;
pub mod store;
pub mod time;
pub mod transport;
pub mod values;
pub mod widget;

pub use error::{CoreError, CoreResult};
