//! Alerts: rules over the dashboards' metrics, evaluated every hour; each firing recorded
//! once, acknowledged or snoozed by staff, and told through the outbox to Slack, Teams, a
//! signed webhook, or the rule's owners by email.

pub mod delivery;
pub mod evaluation;
pub mod message;
pub mod routes;
pub mod rules;
