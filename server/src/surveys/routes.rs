//! The buyer-facing JSON API the widget talks to. Authenticated by the token in the path
//! alone; browsers reach it from Debrief's own pages and from the origins the program
//! allows to embed the widget (`embedding`).

use super::answers::SurveyedDeal;
use super::answers::{mark_opened, mark_started, record_answer, Recorded};
use super::definitions::Definitions;
use super::embedding;
use super::ingest::{already_answered, opened, opted_out};
use super::progress::{self, Progress, Saved};
use super::services::Surveying;
use crate::app::clock::Clock;
use crate::app::config::Settings;
use crate::invitations::tokens::{resolve, Invitation};
use crate::invitations::InvitationStatus;
use crate::jobs::runner::Waker;
use crate::outreach::follow_up;
use crate::outreach::store::Planner;
use crate::platform::db::Db;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{read_body, Json};
use crate::web::pages::pages;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use debrief_common::survey::{
    validate_answers, Answer, AnswerItem, Answers, AnswersRequest, Completeness, Definition,
    Hidden, SurveyContext, SurveyDocument, SENTENCES,
};
use debrief_common::ErrorBody;
use debrief_common::Locale;
use debrief_common::{AnswerRequest, SurveyStatus, SurveyView};

/// The buyer API. Its resources are tried in this order: the answers first, as the
/// widget saves after every question.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/surveys/{token}/answers")
            .wrap(from_fn(embedding::buyer_cors))
            .route(web::put().to(put_answers)),
    )
    .service(
        web::resource("/api/v1/surveys/{token}")
            .wrap(from_fn(embedding::buyer_cors))
            .route(web::get().to(get_survey)),
    )
    .service(
        web::resource("/api/v1/surveys/{token}/start")
            .wrap(from_fn(embedding::buyer_cors))
            .route(web::post().to(start_survey)),
    )
    .service(
        web::resource("/api/v1/surveys/{token}/definition")
            .wrap(from_fn(embedding::buyer_cors))
            .route(web::get().to(get_definition)),
    )
    .service(
        web::resource("/api/v1/surveys/{token}/complete")
            .wrap(from_fn(embedding::buyer_cors))
            .route(web::post().to(complete_survey)),
    )
    .service(
        web::resource("/api/v1/responses/{token}")
            .wrap(from_fn(embedding::buyer_cors))
            .route(web::post().to(post_response)),
    );
}

async fn open(db: &Db, token: &str, now: DateTime<Utc>) -> ApiResult<Invitation> {
    opened(resolve(db, token, now).await?)
}

#[utoipa::path(get, path = "/api/v1/surveys/{token}", tag = "widget", params(("token" = String, Path, description = "The buyer's token from the email link")), responses((status = 200, body = debrief_common::SurveyView), (status = 404, body = ErrorBody), (status = 410, description = "Expired, or the buyer opted out", body = ErrorBody)))]
async fn get_survey(
    token: web::Path<String>,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    settings: web::Data<Settings>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    let now = clock.now();
    let invitation = open(&db, &token, now).await?;
    let status = if invitation.status == InvitationStatus::Completed {
        SurveyStatus::Completed
    } else {
        mark_opened(&db, &invitation.id, now).await?;
        SurveyStatus::Open
    };
    let offers_interview = status == SurveyStatus::Open
        && follow_up::offered(&db, &planner, &invitation)
            .await?
            .is_some();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(SurveyView {
            status,
            locale: invitation.locale,
            company: settings.company_name.clone(),
            offers_interview,
        }))
}

#[utoipa::path(post, path = "/api/v1/surveys/{token}/start", tag = "widget", params(("token" = String, Path, description = "The buyer's token from the email link")), responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 410, body = ErrorBody)))]
async fn start_survey(
    token: web::Path<String>,
    mut payload: web::Payload,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    // The body carries nothing, but reading it keeps the connection alive.
    read_body(&mut payload, 1024).await?;
    let now = clock.now();
    let invitation = open(&db, &token, now).await?;
    if invitation.status == InvitationStatus::Completed {
        return Err(already_answered());
    }
    mark_started(&db, &invitation.id, now).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/responses/{token}", tag = "widget", params(("token" = String, Path, description = "The buyer's token from the email link")), request_body = debrief_common::AnswerRequest, responses((status = 201), (status = 422, description = "Invalid fields, each named", body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "Already answered", body = ErrorBody), (status = 410, body = ErrorBody)))]
async fn post_response(
    token: web::Path<String>,
    body: Json<AnswerRequest>,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    waker: web::Data<Waker>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    let now = clock.now();
    let invitation = open(&db, &token, now).await?;
    if invitation.status == InvitationStatus::Completed {
        return Err(already_answered());
    }
    let answer = body.0.validate().map_err(ApiError::Validation)?;
    // Only a "yes" needs the program: a plain answer costs no extra read.
    let follow_up = if answer.interview {
        let Some(follow_up) = follow_up::offered(&db, &planner, &invitation).await? else {
            return Err(ApiError::field(
                "interview",
                "this survey does not offer a follow-up conversation",
            ));
        };
        Some(follow_up)
    } else {
        None
    };
    let recorded = record_answer(
        &db,
        &planner.programs,
        &invitation.id,
        invitation.locale,
        &answer,
        follow_up.as_ref(),
        now,
    )
    .await?;
    match recorded {
        Recorded::Saved { interview } => {
            if interview.is_some() {
                waker.wake();
            }
            Ok(HttpResponse::Created().json(serde_json::json!({
                "status": "completed",
                "interview_requested": interview.is_some(),
            })))
        }
        Recorded::AlreadyAnswered => Err(already_answered()),
        Recorded::Closed => Err(opted_out()),
    }
}

/// An open invitation's survey: its progress and the deal behind it.
async fn progress_of(
    db: &Db,
    definitions: &Definitions,
    invitation: &Invitation,
) -> ApiResult<(Progress, SurveyedDeal)> {
    Ok(progress::open(db, definitions, invitation)
        .await?
        .ok_or_else(|| {
            anyhow::anyhow!("no definition is stored for survey {}", invitation.survey())
        })?)
}

fn document(
    invitation: &Invitation,
    progress: &Progress,
    context: SurveyContext,
    answers: &Answers,
) -> SurveyDocument {
    let locale = progress.definition.locale_for(invitation.locale);
    SurveyDocument {
        survey_key: progress.survey_key.clone(),
        version: progress.version,
        locale,
        definition: (*progress.definition).clone(),
        context,
        answers: answers.iter().map(|(q, a)| a.to_item(q)).collect(),
        complete: progress.complete,
        sentences: sentences(locale),
    }
}

/// The words around the questions, in `locale`, as the widget and the no-JS form say them.
fn sentences(locale: Locale) -> debrief_common::map::Map<String, String> {
    let sentence = pages().sentences(locale);
    SENTENCES
        .iter()
        .map(|key| ((*key).to_owned(), sentence(key)))
        .collect()
}

/// A draft survey as a buyer reading it in `locale` would get it, with nothing answered:
/// what the console's survey editor shows in the widget.
pub fn preview_document(
    survey_key: &str,
    version: i64,
    definition: &Definition,
    locale: Locale,
    context: SurveyContext,
) -> SurveyDocument {
    let locale = definition.locale_for(locale);
    SurveyDocument {
        survey_key: survey_key.to_owned(),
        version,
        locale,
        definition: definition.clone(),
        context,
        answers: Vec::new(),
        complete: false,
        sentences: sentences(locale),
    }
}

#[utoipa::path(get, path = "/api/v1/surveys/{token}/definition", tag = "widget", params(("token" = String, Path, description = "The buyer's token from the email link")), responses((status = 200, description = "`SurveyDocument`: the survey version this buyer answers (the one they started, else the newest), the deal as its conditions read it, and the answers saved so far", content_type = "application/json"), (status = 404, body = ErrorBody), (status = 410, description = "Expired, or the buyer opted out", body = ErrorBody)))]
async fn get_definition(
    token: web::Path<String>,
    db: web::Data<Db>,
    definitions: web::Data<Definitions>,
    settings: web::Data<Settings>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    let now = clock.now();
    let invitation = open(&db, &token, now).await?;
    // Read by the widget once it runs: the buyer (or a gateway running scripts) opened
    // the survey. A plain GET of the page, which scanners do, does not count.
    if invitation.status != InvitationStatus::Completed {
        mark_opened(&db, &invitation.id, now).await?;
    }
    let (progress, deal) = progress_of(&db, &definitions, &invitation).await?;
    let context = deal.context(&settings.company_name);
    let answers = progress.answers.clone();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(document(&invitation, &progress, context, &answers)))
}

/// The last answers and the completion: checked against the version the buyer answers,
/// then stored with the response marked complete, the incentive earned and the interview
/// asked for, in one transaction. Rarer than saves as the buyer goes (one per buyer), it
/// is written on its own rather than in a group (see `ingest`).
async fn complete_answers(s: &Surveying, token: &str, items: &[AnswerItem]) -> ApiResult<Saved> {
    let company = &s.settings.company_name;
    complete(
        &s.db,
        &s.planner,
        &s.definitions,
        company,
        token,
        items,
        s.clock.now(),
    )
    .await
}

/// Completes the survey of `token` with the last `items`, as the widget's completion
/// does: checked against the version the buyer answers, the interview offered when asked
/// for. The demo's buyers answer through it too.
pub async fn complete(
    db: &Db,
    planner: &Planner,
    definitions: &Definitions,
    company: &str,
    token: &str,
    items: &[AnswerItem],
    now: DateTime<Utc>,
) -> ApiResult<Saved> {
    let invitation = open(db, token, now).await?;
    let (progress, deal) = progress_of(db, definitions, &invitation).await?;
    let context = deal.context(company);
    if progress.complete {
        return Err(already_answered());
    }
    let answers = validate_answers(
        &progress.definition,
        &context,
        &progress.answers,
        items,
        Completeness::Complete,
        Hidden::Refuse,
    )
    .map_err(ApiError::Validation)?;
    let wants_interview = answers
        .values()
        .any(|a| matches!(a, Answer::InterviewOptIn { yes: true, .. }));
    let follow_up = if wants_interview {
        follow_up::offered(db, planner, &invitation).await?
    } else {
        None
    };
    let frozen = deal.frozen(db, &planner.programs).await?;
    Ok(progress::save(
        db,
        &frozen,
        &invitation.id,
        invitation.locale,
        &progress,
        &answers,
        true,
        follow_up.as_ref(),
        now,
    )
    .await?)
}

#[utoipa::path(put, path = "/api/v1/surveys/{token}/answers", tag = "widget", params(("token" = String, Path, description = "The buyer's token from the email link")), request_body(content = String, content_type = "application/json", description = "`{\"answers\": [{\"question\": \"nps\", \"value\": 9}, …]}`; each replaces what was saved for its question"), responses((status = 200, description = "Saved: `{\"survey_key\", \"version\", \"answered\": [question ids]}`, the version answered and every question that now holds an answer", content_type = "application/json"), (status = 422, description = "Invalid answers, each named (`answers[2].value`)", body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "Already answered", body = ErrorBody), (status = 410, body = ErrorBody)))]
async fn put_answers(
    token: web::Path<String>,
    body: Json<AnswersRequest>,
    s: Surveying,
) -> ApiResult<HttpResponse> {
    let saved = s.ingest.save(token.into_inner(), body.0.answers).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(saved))
}

#[utoipa::path(post, path = "/api/v1/surveys/{token}/complete", tag = "widget", params(("token" = String, Path, description = "The buyer's token from the email link")), request_body(content = String, content_type = "application/json", description = "`{\"answers\": […]}`: last answers to save with the completion (may be empty)"), responses((status = 201, description = "Complete: the invitation is answered and its incentive earned"), (status = 422, description = "A required question is unanswered, or an answer is invalid", body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "Already answered", body = ErrorBody), (status = 410, body = ErrorBody)))]
async fn complete_survey(
    token: web::Path<String>,
    body: Json<AnswersRequest>,
    s: Surveying,
) -> ApiResult<HttpResponse> {
    match complete_answers(&s, &token, &body.0.answers).await? {
        Saved::Completed { interview } => {
            if interview.is_some() {
                s.waker.wake();
            }
            Ok(HttpResponse::Created().finish())
        }
        Saved::Closed => Err(already_answered()),
        Saved::Page => Err(anyhow::anyhow!("a completion was saved as a page").into()),
    }
}
