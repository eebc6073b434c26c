//! Beseda over HTTP: the manager API and the transport API with their OpenAPI document, the
//! workspace's pages, fragments, templates and assets, and the realtime event stream. Handlers
//! are thin: they extract, call one core service and map its answer.

pub mod app;
pub mod assets;
pub mod files;
pub mod http;
pub mod i18n;
pub mod outbound;
pub mod realtime;
pub mod widget;
