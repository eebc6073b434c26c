//! The server through its public HTTP and WebSocket API, its pages in a real browser, and its
//! binary: one test binary with a module per area (one link instead of one per file). Each test
//! starts the real application on port 0 with a fresh database, on SQLite and on PostgreSQL.

#[macro_use]
mod common;

mod attachments;
mod auth_api;
mod bots_api;
mod bots_browser;
mod browser;
mod cli;
mod concurrency;
mod crash;
mod delivery;
mod demo_live;
mod dialogs_api;
mod distribution_api;
mod fuzz;
mod inbox_api;
mod inbox_model;
mod library_api;
mod managers_api;
mod messenger;
mod orders_api;
mod outbound;
mod pages;
mod permissions;
mod realtime;
mod request_refusals;
mod restart;
mod telegram;
mod transport_api;
mod vk;
mod whatsapp;
mod widget_api;
mod widget_browser;
mod workspace;
mod xss;
