//! Surveys: the buyer's personal link, the page that hosts the widget, where the widget may
//! be embedded, and the answers.

pub mod admin;
pub mod answers;
pub mod clicks;
pub mod definitions;
pub mod embedding;
pub mod form;
pub mod ingest;
pub mod page;
pub mod progress;
pub mod routes;
pub mod services;
pub mod surveyjs;

#[cfg(test)]
mod properties;
