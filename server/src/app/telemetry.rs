//! Logging. Requests are logged by route pattern, never by path: survey paths carry buyer
//! tokens, and a token in a log file is a key anyone with log access could use.

use actix_web::dev::ServiceRequest;
use actix_web::middleware::Logger;
use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,actix_server=warn"));
    // Logs go to stderr, so stdout carries only what the operator must read (the first
    // admin key, the demo link, the address). Colours only on a terminal.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // A second init (tests start several apps in one process) is harmless: keep the first.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Access log line: method, route pattern (not the path), status, duration.
pub fn access_log() -> Logger {
    Logger::new("%{route}xi %s %Dms").custom_request_replace("route", route_of)
}

/// The pattern `metrics::middleware` found: matching it again would cost as much as the
/// routing did.
fn route_of(req: &ServiceRequest) -> String {
    let extensions = actix_web::HttpMessage::extensions(req);
    let route = extensions
        .get::<super::metrics::Route>()
        .map_or("(unmatched)", |r| &r.0);
    format!("{} {route}", req.method())
}
