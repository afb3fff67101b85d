//! Personal invitations: an account manager invites a buyer of one of their decided deals
//! to an interview, with a note of their own and, if they choose, an incentive from the
//! catalogue. The email comes from the program's sender, signed by the manager, with
//! replies to them; they can read it first (the preview), and the contact policy applies
//! as to any invitation, saying which rule stopped it.

use super::candidates::{self, Candidate};
use super::interviewers::{self, Found};
use super::lifecycle::{self, Asked};
use crate::auth::Staff;
use crate::channels::email::templates::{Rendered, Templates};
use crate::incentives;
use crate::invitations::{InvitationKind, InvitationStatus};
use crate::outreach::invitation_email::InterviewEmail;
use crate::outreach::store::{schedule_job, NewInvitation, Planner, INVITATIONS};
use crate::platform::db::rows::insert_many;
use crate::platform::db::time::from_db;
use crate::platform::db::{self, Db};
use crate::programs::{Incentive, Program};
use crate::web::error::{ApiError, ApiResult};
use chrono::{DateTime, Duration, Utc};
use debrief_common::Locale;
use serde::{Deserialize, Serialize};
use sqlx::Acquire;
use std::sync::Arc;

/// The longest personal note: a few short paragraphs.
const NOTE_CHARS: usize = 1_000;

/// How long a personal invitation stays open.
const OPEN_DAYS: i64 = 30;

/// What an account manager sends.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonalInvitation {
    /// The deal, by its CRM id.
    pub crm_id: String,
    /// The buyer, by their address on the deal.
    pub email: String,
    /// A note of the manager's own, shown to the buyer as typed (at most 1,000
    /// characters).
    pub note: Option<String>,
    /// An incentive from the program's catalogue, by key.
    pub incentive: Option<String>,
    /// The interviewer to book with; any who publish hours when absent.
    pub interviewer_id: Option<String>,
}

/// The email as the buyer will read it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvitationPreview {
    pub to: String,
    pub reply_to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A personal invitation, queued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Queued {
    pub invitation_id: String,
    pub status: InvitationStatus,
    /// When the email goes: the buyer's next business hour.
    pub scheduled_for: DateTime<Utc>,
}

/// A request checked against the deal, the buyer, the catalogue and the policy.
pub struct Checked {
    deal_id: String,
    account_id: String,
    decided_at: DateTime<Utc>,
    contact_id: String,
    person_id: String,
    contact_name: String,
    contact_email: String,
    locale: Locale,
    time_zone: chrono_tz::Tz,
    program: Arc<Program>,
    incentive: Option<Incentive>,
    note: Option<String>,
    interviewer_id: Option<String>,
    /// Who signs, and gets the replies.
    signer: (String, String),
}

/// Checks `request` for `staff`: the deal is theirs to act on (else the same 403 as for a
/// deal that does not exist), each field is valid (a 422 naming it), and no rule of the
/// contact policy stops the invitation (a 409 naming the rule).
pub async fn check(
    db: &Db,
    planner: &Planner,
    staff: &Staff,
    request: PersonalInvitation,
    now: DateTime<Utc>,
) -> ApiResult<Checked> {
    let note = match request.note.as_deref().map(str::trim) {
        Some(n) if n.chars().count() > NOTE_CHARS => {
            return Err(ApiError::field("note", "must be at most 1,000 characters"));
        }
        Some(n) if n.chars().any(|c| c.is_control() && c != '\n' && c != '\r') => {
            return Err(ApiError::field(
                "note",
                "must not contain control characters",
            ));
        }
        Some("") | None => None,
        Some(n) => Some(n.replace("\r\n", "\n")),
    };
    let email = request.email.trim().to_lowercase();
    // The deal's candidates: the scope check, and the policy's flags for the buyer.
    let (candidates, program) = candidates::of_deal(
        db,
        &planner.programs,
        &staff.accounts(),
        &request.crm_id,
        now,
    )
    .await?;
    let Some(candidate) = candidates.candidates.into_iter().find(|c| c.email == email) else {
        return Err(ApiError::field("email", "is not a buyer on this deal"));
    };
    refuse_blocked(&candidate)?;
    #[derive(sqlx::FromRow)]
    struct Row {
        deal_id: String,
        account_id: String,
        decided_at: String,
        contact_id: String,
        person_id: String,
        locale: String,
        time_zone: String,
        manager_name: String,
        manager_email: String,
    }
    let row: Row = sqlx::query_as(
        "select d.id as deal_id, d.account_id, d.decided_at, c.id as contact_id, c.person_id,
                c.locale, c.time_zone, d.account_manager_name as manager_name,
                d.account_manager_email as manager_email
         from deals d join contacts c on c.deal_id = d.id join persons p on p.id = c.person_id
         where d.crm_id = $1 and p.email = $2",
    )
    .bind(&request.crm_id)
    .bind(&email)
    .fetch_one(db.pool())
    .await?;
    let decided_at = from_db(&row.decided_at)?;
    let incentive =
        match request.incentive.as_deref() {
            None => None,
            Some(key) => Some(program.incentive(key).cloned().ok_or_else(|| {
                ApiError::field("incentive", "is not in the program's catalogue")
            })?),
        };
    if let Some(id) = request.interviewer_id.as_deref() {
        match interviewers::find(db, id).await? {
            Found::Interviewer(i) if i.availability.is_some() => {}
            _ => {
                return Err(ApiError::field(
                    "interviewer_id",
                    "is not an interviewer who publishes hours",
                ))
            }
        }
    }
    // As the email will sign: the member's own name, not their key's label.
    let signer = match &staff.member {
        Some((id, email)) => {
            let (name,): (String,) = sqlx::query_as("select name from staff where id = $1")
                .bind(id)
                .fetch_one(db.pool())
                .await?;
            (name, email.clone())
        }
        None => (row.manager_name, row.manager_email),
    };
    Ok(Checked {
        deal_id: row.deal_id,
        account_id: row.account_id,
        decided_at,
        contact_id: row.contact_id,
        person_id: row.person_id,
        contact_name: candidate.name,
        contact_email: email,
        locale: Locale::parse(&row.locale).map_err(anyhow::Error::msg)?,
        time_zone: row.time_zone.parse().map_err(anyhow::Error::msg)?,
        program,
        incentive,
        note,
        interviewer_id: request.interviewer_id,
        signer,
    })
}

/// The policy's refusal, naming the rule: the manager is told why.
fn refuse_blocked(candidate: &Candidate) -> ApiResult<()> {
    if let Some(source) = candidate.suppressed {
        return Err(ApiError::Conflict {
            code: "suppressed",
            message: format!(
                "this buyer may not be contacted (suppressed: {source}); lift the suppression \
                 only if they asked to hear from us again"
            ),
        });
    }
    if candidate
        .already_invited
        .iter()
        .any(|i| i.kind == InvitationKind::Interview.as_str())
    {
        return Err(ApiError::Conflict {
            code: "already_invited",
            message: "this buyer already has an interview invitation for this deal".into(),
        });
    }
    if let Some(rule) = candidate.capped {
        let why = match rule {
            "person_cooldown" => "this buyer was asked about another deal too recently",
            "account_cooldown" => "this account was asked about another decision too recently",
            _ => "enough people of this account were already asked about this decision",
        };
        return Err(ApiError::Conflict {
            code: rule,
            message: format!("the contact policy stops this invitation: {why}"),
        });
    }
    Ok(())
}

/// The email the buyer will get, with a stand-in for their personal link.
pub fn preview(
    checked: &Checked,
    company: &str,
    public_url: &str,
) -> anyhow::Result<InvitationPreview> {
    let incentive = checked
        .incentive
        .as_ref()
        .map(|i| describe(i, checked.locale));
    let rendered: Rendered = Templates::shared().render(
        "interview_invitation",
        checked.locale,
        serde_json::to_value(InterviewEmail {
            contact_name: &checked.contact_name,
            company,
            account_manager_name: &checked.signer.0,
            booking_url: format!("{public_url}/i/…"),
            opt_out_url: format!("{public_url}/u/…"),
            reminder: false,
            incentive: incentive.as_deref(),
            note: checked.note.as_deref(),
        })?,
    )?;
    Ok(InvitationPreview {
        to: checked.contact_email.clone(),
        reply_to: checked.signer.1.clone(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
    })
}

fn describe(incentive: &Incentive, locale: Locale) -> String {
    incentives::describe(
        incentive.kind,
        incentive.amount.as_ref(),
        incentive.quantity,
        incentive.name.as_deref(),
        locale,
    )
}

/// Writes the invitation, its link, its interview, its incentive offer and its email's
/// job, in one transaction.
pub async fn send(
    db: &Db,
    planner: &Planner,
    staff: &Staff,
    checked: Checked,
    now: DateTime<Utc>,
) -> ApiResult<Queued> {
    let id = db::new_id();
    // The program's quiet hours hold for a personal invitation too.
    let scheduled_for = planner
        .timing
        .for_program(&checked.program)
        .business_hours
        .next_slot(now, checked.time_zone);
    let expires_at = scheduled_for + Duration::days(OPEN_DAYS);
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    let row = NewInvitation {
        id: &id,
        deal_id: &checked.deal_id,
        contact_id: &checked.contact_id,
        person_id: &checked.person_id,
        account_id: &checked.account_id,
        kind: InvitationKind::Interview,
        status: InvitationStatus::Scheduled,
        status_reason: Some("personal"),
        scheduled_for,
        expires_at,
        program_version: checked.program.version,
        segment_key: None,
        survey_key: None,
        incentive_key: checked.incentive.as_ref().map(|i| i.key.as_str()),
    }
    .row(now);
    let inserted = insert_many::<(String,)>(
        &mut tx,
        INVITATIONS,
        "on conflict (contact_id, kind) do nothing returning id",
        vec![row],
    )
    .await?;
    if inserted.is_empty() {
        // Invited meanwhile, by the program or another manager.
        return Err(ApiError::Conflict {
            code: "already_invited",
            message: "this buyer already has an interview invitation for this deal".into(),
        });
    }
    planner
        .tokens
        .store_links(&mut tx, &[(id.clone(), expires_at)], now)
        .await?;
    let asked = Asked {
        by: staff.member.as_ref().map(|(staff_id, _)| staff_id.as_str()),
        note: checked.note.as_deref(),
        interviewer: checked.interviewer_id.as_deref(),
    };
    lifecycle::open(&mut *tx, std::slice::from_ref(&id), asked, now).await?;
    if let Some(incentive) = &checked.incentive {
        let period = checked.program.period.label(checked.decided_at);
        let offer = incentives::offer_row(&id, &checked.account_id, incentive, &period, now);
        incentives::offer_many(&mut tx, vec![offer]).await?;
    }
    schedule_job(&mut tx, &id, InvitationKind::Interview, scheduled_for, now).await?;
    tx.commit().await?;
    Ok(Queued {
        invitation_id: id,
        status: InvitationStatus::Scheduled,
        scheduled_for,
    })
}
