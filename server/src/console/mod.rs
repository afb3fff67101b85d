//! The staff console: the pages program owners, account managers and analysts open every
//! morning, server-rendered from handlebars templates with SVG charts, on top of the same
//! functions and role rules as the API. A little script (`assets/console.js`) adds
//! keyboard shortcuts and live previews; every page works without it.

pub mod alerts;
pub mod assets;
pub mod coding;
pub mod dashboard;
pub mod deals;
pub mod guide;
pub mod operations;
pub mod page;
pub mod program;
pub mod search;
pub mod settings;
pub mod sign_in;
pub mod surveys;
pub mod team;
pub mod texts;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(assets::configure)
        .configure(sign_in::configure)
        .configure(team::configure)
        .configure(dashboard::configure)
        .configure(deals::configure)
        .configure(coding::configure)
        .configure(program::configure)
        .configure(search::configure)
        .configure(settings::configure)
        .configure(surveys::configure)
        .configure(guide::configure)
        .configure(operations::configure)
        .configure(alerts::configure);
}
