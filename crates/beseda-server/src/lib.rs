//! The Beseda server, the composition root: configuration, start-up (the store, the web
//! application, the background jobs), the jobs themselves and the demo company.

pub mod config;
pub mod demo;
pub mod jobs;
pub mod startup;
