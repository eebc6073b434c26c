//! The Beseda server: configuration, start-up, HTTP, pages, background jobs and the demo.

pub mod app;
pub mod assets;
pub mod bench;
pub mod config;
pub mod demo;
pub mod files;
pub mod http;
pub mod i18n;
pub mod jobs;
pub mod realtime;
pub mod startup;
