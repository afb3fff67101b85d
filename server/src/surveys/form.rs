//! `/s/{token}/form`: the survey as a plain HTML form, for browsers without JavaScript or
//! wasm (locked-down corporate ones). One page at a time, posted to the server, checked by
//! the same validator as the API (`debrief_common::survey`), saved as the buyer goes, so
//! that reopening the link resumes where they stopped.
//!
//! A question revealed by an answer on its own page (e.g. "price, and what else?") appears
//! when that page is posted: the page comes back with it instead of moving on.

use super::clicks;
use super::progress::{self, Progress, Saved};
use crate::app::config::Settings;
use crate::invitations::tokens::{resolve, Invitation, Lookup};
use crate::invitations::InvitationStatus;
use crate::outreach::follow_up;
use crate::platform::db::Db;
use crate::surveys::answers::SurveyedDeal;
use crate::surveys::definitions::Definitions;
use crate::surveys::services::Surveying;
use crate::web::extract::{clicked_score, query_value, read_body};
use crate::web::pages::{object, pages};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use debrief_common::survey::definition::OTHER;
use debrief_common::survey::flow;
use debrief_common::survey::logic::fill;
use debrief_common::survey::validate::answer_index;
use debrief_common::survey::{
    validate_answers, Answer, AnswerItem, Answers, Completeness, Definition, Hidden, Influence,
    QuestionKind, SurveyContext,
};
use debrief_common::Locale;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// A page of answers is small; anything larger is not a buyer's form.
const MAX_FORM_BYTES: usize = 64 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/s/{token}/form")
            .route(web::get().to(show))
            .route(web::post().to(post)),
    );
}

/// What a handler needs besides the request.
struct Open {
    invitation: Invitation,
    progress: Progress,
    deal: SurveyedDeal,
    context: SurveyContext,
    locale: Locale,
}

async fn open(
    db: &Db,
    definitions: &Definitions,
    settings: &Settings,
    token: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Open, HttpResponse> {
    let pages = pages();
    let failed = |e: anyhow::Error| {
        tracing::error!(error = ?e, "survey form failed");
        pages.message(StatusCode::INTERNAL_SERVER_ERROR, None, "server_error")
    };
    let invitation = match resolve(db, token, now).await.map_err(failed)?.survey_only() {
        Lookup::Valid(invitation) => invitation,
        Lookup::Expired(invitation) => {
            return Err(pages.message(StatusCode::GONE, Some(invitation.locale), "survey_expired"))
        }
        Lookup::Unknown => return Err(pages.message(StatusCode::NOT_FOUND, None, "invalid_link")),
    };
    if invitation.status == InvitationStatus::OptedOut {
        let locale = Some(invitation.locale);
        return Err(pages.message(StatusCode::GONE, locale, "survey_opted_out"));
    }
    let Some((progress, deal)) = progress::open(db, definitions, &invitation)
        .await
        .map_err(failed)?
    else {
        let locale = Some(invitation.locale);
        return Err(pages.message(
            StatusCode::SERVICE_UNAVAILABLE,
            locale,
            "survey_unavailable",
        ));
    };
    let context = deal.context(&settings.company_name);
    let locale = progress.definition.locale_for(invitation.locale);
    Ok(Open {
        invitation,
        progress,
        deal,
        context,
        locale,
    })
}

#[utoipa::path(get, path = "/s/{token}/form", tag = "pages", params(("token" = String, Path, description = "The buyer's token from the email link"), ("page" = Option<usize>, Query, description = "The page to show, from 1; by default where the buyer stopped")), responses((status = 200, description = "A page of the survey as an HTML form, or the thanks page once answered", content_type = "text/html"), (status = 404, content_type = "text/html"), (status = 410, content_type = "text/html")))]
async fn show(token: web::Path<String>, req: HttpRequest, s: Surveying) -> HttpResponse {
    landing(&token, &req, &s, false).await
}

/// A page of the survey as a form: the one asked for, else where the buyer stopped. With
/// `host`, the page that `/s/{token}` serves: the same form inside the element the widget
/// takes over, so the buyer can answer before (or without) the widget loading.
pub(super) async fn landing(
    token: &str,
    req: &HttpRequest,
    s: &Surveying,
    host: bool,
) -> HttpResponse {
    let settings = &s.settings;
    let open = match open(&s.db, &s.definitions, settings, token, s.clock.now()).await {
        Ok(open) => open,
        Err(page) => return page,
    };
    let clicked = clicked_score(req);
    // The email's landing page: the score clicked there is recorded as provisional only,
    // as a mail scanner's GET lands here too. The page is served whatever happens to the
    // record.
    if let (true, Some(score)) = (host, clicked) {
        if let Err(e) = clicks::record(&s.db, &open.invitation.id, score, s.clock.now()).await {
            tracing::error!(error = ?e, "recording a clicked score failed");
        }
    }
    if open.progress.complete {
        return pages().message(StatusCode::OK, Some(open.locale), "thanks");
    }
    let d = &open.progress.definition;
    // A page asked for by number, else where the buyer stopped.
    let asked = query_value(req, "page")
        .and_then(|p| p.parse::<usize>().ok())
        .filter(|p| (1..=d.pages.len()).contains(p))
        .map(|p| p - 1);
    let page = asked.unwrap_or_else(|| flow::resume_page(d, &open.progress.answers, &open.context));
    // The score clicked in the email is ticked for the buyer to confirm; it is not an
    // answer until the page is posted (or, in the widget, until the buyer acts).
    let mut answers = open.progress.answers.clone();
    let nps = d
        .questions()
        .map(|(_, q)| q)
        .find(|q| matches!(q.kind, QuestionKind::Nps));
    if let (Some(score), Some(q)) = (clicked, nps) {
        let score = i64::from(score.value());
        answers.get_or_insert_with(q.id.clone(), || Answer::Score(score));
    }
    let host = host.then(|| {
        json!({
            "token": token,
            "score": clicked.map(|s| s.to_string()).unwrap_or_default(),
            "locale": open.locale.code(),
        })
    });
    render(
        &open,
        token,
        page,
        &answers,
        &Faults::default(),
        StatusCode::OK,
        settings,
        host,
    )
}

#[utoipa::path(post, path = "/s/{token}/form", tag = "pages", params(("token" = String, Path, description = "The buyer's token from the email link")), request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`page` (from 0), `nav` (`next` or `back`), and `q.<question id>` fields"), responses((status = 303, description = "Saved: on to the next page, or to the thanks page"), (status = 200, description = "The same page again, with questions its answers revealed", content_type = "text/html"), (status = 422, description = "The page again, each fault next to its question", content_type = "text/html"), (status = 404, content_type = "text/html"), (status = 410, content_type = "text/html"), (status = 413, content_type = "text/html")))]
async fn post(token: web::Path<String>, mut payload: web::Payload, s: Surveying) -> HttpResponse {
    let (db, planner, settings) = (&s.db, &s.planner, &s.settings);
    let now = s.clock.now();
    let Ok(body) = read_body(&mut payload, MAX_FORM_BYTES).await else {
        return pages().message(StatusCode::PAYLOAD_TOO_LARGE, None, "request_too_large");
    };
    let open = match open(db, &s.definitions, settings, &token, now).await {
        Ok(open) => open,
        Err(page) => return page,
    };
    if open.progress.complete {
        return see_other(&token, None);
    }
    let d = open.progress.definition.clone();
    let fields: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(page) = field("page")
        .and_then(|p| p.parse::<usize>().ok())
        .filter(|p| *p < d.pages.len())
    else {
        let faults = Faults {
            page: true,
            ..Faults::default()
        };
        let page = flow::resume_page(&d, &open.progress.answers, &open.context);
        let stored = &open.progress.answers;
        return render(
            &open,
            &token,
            page,
            stored,
            &faults,
            StatusCode::UNPROCESSABLE_ENTITY,
            settings,
            None,
        );
    };
    let back = field("nav") == Some("back");

    // This page's answers replace what was saved for it: a field left empty clears it.
    let on_page: BTreeSet<&str> = d.pages[page]
        .questions
        .iter()
        .map(|q| q.id.as_str())
        .collect();
    let mut stored = open.progress.answers.clone();
    stored.retain(|id, _| !on_page.contains(id.as_str()));
    let items: Vec<AnswerItem> = d.pages[page]
        .questions
        .iter()
        .filter_map(|q| flow::item_from_fields(q, &fields))
        .collect();
    // The last page is the last one that shows a question, given this page's answers: a
    // lost deal's page is skipped for a buyer who won.
    let last = validate_answers(
        &d,
        &open.context,
        &stored,
        &items,
        Completeness::Partial,
        Hidden::Drop,
    )
    .is_ok_and(|tentative| flow::next_page(&d, page, &tentative, &open.context).is_none());
    let completeness = match (back, last) {
        (true, _) => Completeness::Partial,
        (false, false) => Completeness::Page(page),
        (false, true) => Completeness::Complete,
    };
    let checked = validate_answers(
        &d,
        &open.context,
        &stored,
        &items,
        completeness,
        Hidden::Drop,
    );
    let answers = match checked {
        Ok(answers) => answers,
        Err(errors) => {
            // Redrawn with what was posted, each fault next to its question, the answers
            // that were fine kept as given.
            let mut faults = Faults::default();
            for e in &errors {
                if let Some(item) = answer_index(&e.field).and_then(|i| items.get(i)) {
                    faults.invalid.insert(item.question.clone());
                }
            }
            let fine: Vec<AnswerItem> = items
                .iter()
                .filter(|item| !faults.invalid.contains(&item.question))
                .cloned()
                .collect();
            let shown = validate_answers(
                &d,
                &open.context,
                &stored,
                &fine,
                Completeness::Partial,
                Hidden::Drop,
            )
            .unwrap_or(stored);
            if completeness != Completeness::Partial {
                faults.missing = flow::missing_required(&d, page, &shown, &open.context)
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
            }
            return render(
                &open,
                &token,
                page,
                &shown,
                &faults,
                StatusCode::UNPROCESSABLE_ENTITY,
                settings,
                None,
            );
        }
    };
    let revealed = !back
        && flow::reveals_new_questions(&d, page, &open.progress.answers, &answers, &open.context);
    let complete = completeness == Completeness::Complete && !revealed;
    let follow_up = if complete && said_yes(&answers) {
        match follow_up::offered(db, planner, &open.invitation).await {
            Ok(follow_up) => follow_up,
            Err(e) => {
                tracing::error!(error = ?e, "survey form: reading the follow-up failed");
                return pages().message(StatusCode::INTERNAL_SERVER_ERROR, None, "server_error");
            }
        }
    } else {
        None
    };
    let frozen = match open.deal.frozen(db, &planner.programs).await {
        Ok(frozen) => frozen,
        Err(e) => {
            tracing::error!(error = ?e, "survey form: reading the program failed");
            return pages().message(StatusCode::INTERNAL_SERVER_ERROR, None, "server_error");
        }
    };
    let saved = progress::save(
        db,
        &frozen,
        &open.invitation.id,
        open.invitation.locale,
        &open.progress,
        &answers,
        complete,
        follow_up.as_ref(),
        now,
    )
    .await;
    match saved {
        Ok(Saved::Completed { interview }) => {
            if interview.is_some() {
                s.waker.wake();
            }
            see_other(&token, None)
        }
        Ok(Saved::Closed) => see_other(&token, None),
        Ok(Saved::Page) if revealed => render(
            &open,
            &token,
            page,
            &answers,
            &Faults::default(),
            StatusCode::OK,
            settings,
            None,
        ),
        Ok(Saved::Page) => {
            let next = if back {
                flow::previous_page(&d, page, &answers, &open.context).unwrap_or(0)
            } else {
                flow::next_page(&d, page, &answers, &open.context).unwrap_or(page)
            };
            see_other(&token, Some(next))
        }
        Err(e) => {
            tracing::error!(error = ?e, "survey form: saving failed");
            pages().message(StatusCode::INTERNAL_SERVER_ERROR, None, "server_error")
        }
    }
}

fn said_yes(answers: &Answers) -> bool {
    answers
        .values()
        .any(|a| matches!(a, Answer::InterviewOptIn { yes: true, .. }))
}

/// Post/redirect/get: a reload never posts twice.
fn see_other(token: &str, page: Option<usize>) -> HttpResponse {
    let location = match page {
        Some(p) => format!("/s/{token}/form?page={}", p + 1),
        None => format!("/s/{token}/form"),
    };
    HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

/// What to mark on a redrawn page.
#[derive(Default)]
pub(super) struct Faults {
    /// Questions whose answer was refused.
    invalid: BTreeSet<String>,
    /// Required questions left blank.
    missing: BTreeSet<String>,
    /// The form itself was tampered with (no page number).
    page: bool,
}

impl Faults {
    fn any(&self) -> bool {
        self.page || !self.invalid.is_empty() || !self.missing.is_empty()
    }
}

#[allow(clippy::too_many_arguments)]
fn render(
    open: &Open,
    token: &str,
    page: usize,
    answers: &Answers,
    faults: &Faults,
    status: StatusCode,
    settings: &Settings,
    host: Option<Value>,
) -> HttpResponse {
    let mut data = view(
        &open.progress.definition,
        page,
        answers,
        &open.context,
        open.locale,
        faults,
    );
    data["host"] = host.unwrap_or(Value::Bool(false));
    data["action"] = json!(format!("/s/{token}/form"));
    let pages_count = open.progress.definition.pages.len().to_string();
    let number = (page + 1).to_string();
    pages().render(
        status,
        open.locale,
        &settings.company_name,
        "survey_form",
        object(data),
        &[
            ("page", &number),
            ("pages", &pages_count),
            ("company", &settings.company_name),
        ],
    )
}

/// The template's data for one page: every value escaped by the template, every flag and
/// list present (the templates are strict).
pub(super) fn view(
    d: &Definition,
    page: usize,
    answers: &Answers,
    context: &SurveyContext,
    locale: Locale,
    faults: &Faults,
) -> Value {
    let t = pages().sentences(locale);
    let text = |t: &debrief_common::survey::Text| fill(t.get(locale, d.default_locale), context);
    let p = &d.pages[page];
    let questions: Vec<Value> = p
        .questions
        .iter()
        .filter(|q| flow::shown(q, answers, context))
        .map(|q| {
            let answer = answers.get(&q.id);
            // A refused answer is not "missing": say what is wrong with it.
            let error = if faults.invalid.contains(&q.id) {
                t("answer_invalid")
            } else if faults.missing.contains(&q.id) {
                t("answer_required")
            } else {
                String::new()
            };
            let mut v = json!({
                "id": q.id, "title": text(&q.title),
                "help": q.help.as_ref().map(&text).unwrap_or_default(),
                "required": q.required, "error": error,
                "is_scale": false, "is_choice": false, "is_text": false, "is_matrix": false,
                "is_opt_in": false, "is_consent": false,
                "scale": [], "low": "", "high": "", "choices": [], "input": "radio",
                "other": false, "other_text": "", "text": "", "max_chars": 0,
                "drivers": [], "yes": false, "no": false,
            });
            match &q.kind {
                QuestionKind::Nps | QuestionKind::Rating { .. } => {
                    let (min, max) = match q.kind {
                        QuestionKind::Rating { min, max } => (min, max),
                        _ => (0, 10),
                    };
                    let picked = answer.and_then(Answer::number);
                    v["is_scale"] = json!(true);
                    v["scale"] = (min..=max)
                        .map(|n| json!({ "value": n, "checked": picked == Some(n) }))
                        .collect();
                    if matches!(q.kind, QuestionKind::Nps) {
                        v["low"] = json!(t("nps_low"));
                        v["high"] = json!(t("nps_high"));
                    }
                }
                QuestionKind::SingleChoice { choices, other }
                | QuestionKind::MultipleChoice { choices, other } => {
                    let picked: Vec<&str> = answer.map(Answer::chosen).unwrap_or_default();
                    v["is_choice"] = json!(true);
                    if matches!(q.kind, QuestionKind::MultipleChoice { .. }) {
                        v["input"] = json!("checkbox");
                    }
                    let mut listed: Vec<Value> = choices
                        .iter()
                        .map(|c| {
                            json!({ "value": c.id, "label": text(&c.text),
                                    "checked": picked.contains(&c.id.as_str()) })
                        })
                        .collect();
                    if *other {
                        listed.push(json!({ "value": OTHER, "label": t("other_label"),
                                            "checked": picked.contains(&OTHER) }));
                        v["other"] = json!(true);
                        v["other_text"] = json!(match answer {
                            Some(Answer::Choice { other, .. } | Answer::Choices { other, .. }) =>
                                other.clone().unwrap_or_default(),
                            _ => String::new(),
                        });
                    }
                    v["choices"] = Value::Array(listed);
                }
                QuestionKind::FreeText { max_chars } => {
                    v["is_text"] = json!(true);
                    v["max_chars"] = json!(max_chars);
                    if let Some(Answer::Text(s)) = answer {
                        v["text"] = json!(s);
                    }
                }
                QuestionKind::DriverMatrix { drivers } => {
                    v["is_matrix"] = json!(true);
                    let rated = match answer {
                        Some(Answer::Drivers(rated)) => Some(rated),
                        _ => None,
                    };
                    v["drivers"] = drivers
                        .iter()
                        .map(|driver| {
                            let mine = rated.and_then(|r| r.get(&driver.id)).copied();
                            let options: Vec<Value> = Influence::ALL
                                .iter()
                                .map(|i| {
                                    json!({ "value": i.code(),
                                            "label": t(&format!("influence_{}", i.code())),
                                            "checked": mine == Some(*i) })
                                })
                                .collect();
                            json!({ "id": driver.id, "label": text(&driver.text), "options": options })
                        })
                        .collect();
                }
                QuestionKind::InterviewOptIn => {
                    v["is_opt_in"] = json!(true);
                    if let Some(Answer::InterviewOptIn { yes, times }) = answer {
                        v["yes"] = json!(yes);
                        v["no"] = json!(!yes);
                        v["text"] = json!(times.clone().unwrap_or_default());
                    }
                }
                QuestionKind::Consent => {
                    v["is_consent"] = json!(true);
                    v["yes"] = json!(matches!(answer, Some(Answer::Consent(true))));
                }
            }
            v
        })
        .collect();
    json!({
        "pages": d.pages.len(), "page_number": page + 1, "page_index": page,
        "page_title": p.title.as_ref().map(&text).unwrap_or_default(),
        "has_errors": faults.any(), "questions": questions,
        // Set by `render`: where the form posts, and the widget's element around it.
        "action": "", "host": false,
        "can_go_back": flow::previous_page(d, page, answers, context).is_some(),
        "last": flow::next_page(d, page, answers, context).is_none(),
    })
}

#[cfg(test)]
pub(crate) fn sample_view(locale: Locale, hostile: &str) -> Value {
    let d: Definition =
        serde_json::from_str(debrief_common::survey::DEFAULT_WIN_LOSS).expect("survey");
    let context = SurveyContext {
        company: hostile.to_owned(),
        deal: [(
            debrief_common::survey::DealAttribute::Competitor,
            hostile.to_owned(),
        )]
        .into_iter()
        .collect(),
    };
    let answers: Answers = [
        ("nps".to_owned(), Answer::Score(3)),
        ("improve".to_owned(), Answer::Text(hostile.to_owned())),
    ]
    .into_iter()
    .collect();
    let mut faults = Faults::default();
    faults.missing.insert("improve".into());
    view(&d, 1, &answers, &context, locale, &faults)
}
