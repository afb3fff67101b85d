//! Telling a firing: to a Slack or Teams incoming webhook, to a generic receiver signed
//! per Standard Webhooks, and by email to the rule's owners. Each is a job of its own
//! (`alert_delivery`): a receiver that fails is retried by the runner with backoff and
//! never holds up the program or the other receivers.

use super::evaluation::Delivery;
use super::message::{describe, Figures};
use super::rules::{self, Receiver, StoredRule};
use crate::channels::email::staff;
use crate::channels::webhooks::{self, SendError};
use crate::jobs::runner::{Failure, Handler, JobResult, Outcome};
use crate::jobs::{Job, JobKind};
use crate::outreach::invitation_email::EmailContext;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde::Serialize;
use std::sync::Arc;

/// A firing as told.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Firing {
    pub id: String,
    pub rule_id: String,
    /// The group that moved ('' for the whole slice).
    pub group_key: String,
    pub window_key: String,
    pub value: f64,
    pub baseline: Option<f64>,
    pub sample: i64,
    pub message: String,
    /// open, acknowledged, snoozed or resolved.
    pub status: String,
    pub snoozed_until: Option<String>,
    pub acknowledged_by: Option<String>,
    pub fired_at: String,
}

pub const FIRING_COLUMNS: &str = "id, rule_id, group_key, window_key, value, baseline, sample,
    message, status, snoozed_until, acknowledged_by, fired_at";

/// The firings still to act on (open or acknowledged), newest first, at most `limit`:
/// what the digests, the quarterly report and the dashboard show.
pub async fn open_firings(db: &crate::platform::db::Db, limit: i64) -> anyhow::Result<Vec<Firing>> {
    Ok(sqlx::query_as(&format!(
        "select {FIRING_COLUMNS} from alert_firings
         where status in ('open', 'acknowledged') order by fired_at desc, id limit $1"
    ))
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// The generic receiver's body: a Standard Webhooks envelope.
fn envelope(rule: &StoredRule, firing: &Firing, console: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "alert.fired",
        "timestamp": firing.fired_at,
        "data": {
            "firing_id": firing.id,
            "rule_id": rule.id,
            "rule": rule.rule.name,
            "metric": rule.rule.metric,
            "driver": rule.rule.driver,
            "slice": {
                "segment": rule.rule.segment,
                "outcome": rule.rule.outcome,
                "competitor": rule.rule.competitor,
            },
            "per": rule.rule.per,
            "group": firing.group_key,
            "window": firing.window_key,
            "value": firing.value,
            "baseline": firing.baseline,
            "sample": firing.sample,
            "message": firing.message,
            "action": rule.rule.action,
            "url": format!("{console}/api/v1/alerts/firings/{}", firing.id),
        }
    })
}

/// Slack's mrkdwn treats `&`, `<` and `>` as markup.
fn slack_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn slack(rule: &StoredRule, firing: &Firing) -> serde_json::Value {
    serde_json::json!({
        "text": format!(
            "*{}*\n{}\n_What to do:_ {}",
            slack_text(&rule.rule.name),
            slack_text(&firing.message),
            slack_text(&rule.rule.action)
        )
    })
}

/// An Adaptive Card, which Teams' incoming webhooks and workflows both take.
fn teams(rule: &StoredRule, firing: &Firing) -> serde_json::Value {
    let block = |text: &str, bold: bool| {
        let mut b = serde_json::json!({ "type": "TextBlock", "text": text, "wrap": true });
        if bold {
            b["weight"] = "Bolder".into();
        }
        b
    };
    serde_json::json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    block(&rule.rule.name, true),
                    block(&firing.message, false),
                    block(&format!("What to do: {}", rule.rule.action), false),
                ]
            }
        }]
    })
}

/// The handler of [`JobKind::AlertDelivery`].
pub struct Deliveries {
    pub email: Arc<EmailContext>,
    pub allow_private: bool,
}

impl Deliveries {
    async fn load(&self, firing_id: &str) -> Result<(Firing, StoredRule), Failure> {
        let firing: Option<Firing> = sqlx::query_as(&format!(
            "select {FIRING_COLUMNS} from alert_firings where id = $1"
        ))
        .bind(firing_id)
        .fetch_optional(self.email.db.pool())
        .await
        .map_err(|e| Failure::temporary(e.to_string()))?;
        let firing = firing.ok_or_else(|| Failure::permanent("the firing was deleted"))?;
        let rule = rules::get(&self.email.db, &firing.rule_id)
            .await?
            .ok_or_else(|| Failure::permanent("the rule was deleted"))?;
        Ok((firing, rule))
    }

    async fn deliver(&self, job: &Job, now: DateTime<Utc>) -> Result<Outcome, Failure> {
        let delivery: Delivery = job
            .payload()
            .map_err(|e| Failure::permanent(e.to_string()))?;
        let (firing, rule) = self.load(&delivery.firing_id).await?;
        let Some(i) = delivery.receiver else {
            return self.email_owners(job, &rule, &firing).await;
        };
        // A receiver removed since: nothing to tell.
        let Some(receiver) = rule.rule.receivers.get(i) else {
            return Ok(Outcome::Skipped(Vec::new()));
        };
        let url = webhooks::Url::parse(receiver.url())
            .map_err(|e| Failure::permanent(format!("the receiver URL {e}")))?;
        // Stable across retries: a receiver drops a message it has already seen.
        let id = format!("msg_{}_{i}", firing.id);
        let (body, signed) = match receiver {
            Receiver::Slack { .. } => (slack(&rule, &firing), None),
            Receiver::Teams { .. } => (teams(&rule, &firing), None),
            Receiver::Webhook { secret, .. } => {
                let secret = secret
                    .as_deref()
                    .ok_or_else(|| Failure::permanent("the receiver has no secret"))?;
                (
                    envelope(&rule, &firing, &self.email.public_url),
                    Some((id.as_str(), secret)),
                )
            }
        };
        let message = webhooks::Message {
            url: &url,
            body: body.to_string(),
            signed,
            timestamp: now.timestamp(),
        };
        match webhooks::send(message, self.allow_private).await {
            Ok(()) => Ok(Outcome::Performed(Vec::new())),
            Err(SendError::Temporary(e)) => Err(Failure::temporary(e)),
            Err(SendError::Permanent(e)) => Err(Failure::permanent(e)),
        }
    }

    async fn email_owners(
        &self,
        job: &Job,
        rule: &StoredRule,
        firing: &Firing,
    ) -> Result<Outcome, Failure> {
        let ctx = &self.email;
        let locale = rule.rule.locale;
        let data = serde_json::json!({
            "rule": rule.rule.name,
            "message": describe(&rule.rule, Figures::of(firing), locale),
            "action": rule.rule.action,
            "url": format!("{}/api/v1/alerts/firings/{}", ctx.public_url, firing.id),
        });
        let rendered = ctx
            .templates
            .render("alert", locale, data)
            .map_err(|e| Failure::permanent(format!("rendering the alert email: {e}")))?;
        if staff::send(ctx, job, &rule.rule.owners, rendered).await? {
            Ok(Outcome::Performed(Vec::new()))
        } else {
            Ok(Outcome::Skipped(Vec::new()))
        }
    }
}

impl Handler for Deliveries {
    fn kind(&self) -> JobKind {
        JobKind::AlertDelivery
    }

    fn perform<'a>(&'a self, jobs: Vec<Job>, now: DateTime<Utc>) -> BoxFuture<'a, Vec<JobResult>> {
        Box::pin(async move {
            let sends = jobs.into_iter().map(|job| async move {
                let result = self.deliver(&job, now).await;
                (job, result)
            });
            // Receivers are told at once: a slow one holds up no other.
            futures_util::future::join_all(sends).await
        })
    }
}
