//! Scores clicked in the email: provisional, as a link scanner can click them too.

use crate::platform::db::time::to_db;
use crate::platform::db::Db;
use chrono::{DateTime, Utc};
use debrief_common::NpsScore;

/// Clicks kept per invitation: enough to tell a person from a scanner that opens every
/// link, and a bound on what repeated requests can write.
pub const MAX_CLICKS: i64 = 20;

/// Records a score clicked in the email, up to [`MAX_CLICKS`] per invitation.
pub async fn record(
    db: &Db,
    invitation_id: &str,
    score: NpsScore,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "insert into score_clicks (invitation_id, score, clicked_at)
         select $1, $2, $3
         where (select count(*) from score_clicks where invitation_id = $1) < $4",
    )
    .bind(invitation_id)
    .bind(i64::from(score.value()))
    .bind(to_db(now))
    .bind(MAX_CLICKS)
    .execute(db.pool())
    .await?;
    Ok(())
}
