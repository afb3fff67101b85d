//! The survey editor: the wording of every question, choice and driver in each language,
//! and the survey's structure as JSON (or imported from SurveyJS), each saved as the
//! survey's next version through the same check as `PUT /api/v1/program/surveys/{key}`.
//! Beside it, the real widget shows the draft in each language at a phone's width, as
//! the owner types: the page's script posts the form to [`preview`] and hands the
//! documents to the frames ([`frame`]), where the widget draws them without saving.

use super::page::{
    field_errors, render_with_status, see_other, Form, PageError, Posted, Section, Signed,
};
use super::texts;
use crate::app::clock::Clock;
use crate::app::config::Settings;
use crate::auth::Permission;
use crate::outreach::Outcome;
use crate::platform::db::Db;
use crate::programs::SurveyKey;
use crate::reports::facts::Words;
use crate::surveys::definitions::{Definitions, StoreError};
use crate::surveys::surveyjs;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use debrief_common::survey::logic::{DealAttribute, SurveyContext};
use debrief_common::survey::{validate_definition, Definition};
use debrief_common::{FieldError, Locale};
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(editor_page)
        .service(save_wording)
        .service(save_structure)
        .service(preview)
        .service(frame);
}

/// Where a text field's name starts: `text:pages[0].title.fr`.
const TEXT: &str = "text:";

fn path(key: SurveyKey) -> String {
    format!("/console/program/surveys/{}", key.as_str())
}

fn known(key: &str, locale: Locale) -> Result<SurveyKey, PageError> {
    key.parse::<SurveyKey>()
        .map_err(|_| PageError::NotFound(locale))
}

/// The newest version of survey `key`: its number and definition.
async fn newest(
    db: &Db,
    definitions: &Definitions,
    key: SurveyKey,
) -> Result<(i64, Value, i64), PageError> {
    let stored = definitions
        .stored(db, key.as_str(), None)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no definition is stored for survey {}", key.as_str()))?;
    Ok((stored.version, stored.definition, stored.responses))
}

/// Version `version` of survey `key` as JSON, from the parsed cache; a version that was
/// never stored is a fault of the form's `version`.
async fn definition_at(
    db: &Db,
    definitions: &Definitions,
    key: SurveyKey,
    version: i64,
    locale: Locale,
) -> Result<Value, PageError> {
    let mut conn = db.pool().acquire().await.map_err(anyhow::Error::from)?;
    let Some(definition) = definitions
        .version(&mut *conn, key.as_str(), version)
        .await?
    else {
        return Err(PageError::field(
            locale,
            "version",
            "names no version of this survey",
        ));
    };
    Ok(serde_json::to_value(&*definition).map_err(anyhow::Error::from)?)
}

/// Which of the two forms was posted, read to a definition; the faults to show with it.
enum Part {
    Wording,
    Structure,
}

/// What a posted form reads to: the definition and its JSON, or the faults (named by field,
/// `structure` or `text:pages[0].title.fr`, or by the definition's own paths) with the
/// structure as typed, to show again.
type Read = Result<(Definition, Value), (Vec<FieldError>, Option<String>)>;

/// The definition a posted form describes: the stored `base` with the typed words, or the
/// typed structure (the debrief format, or SurveyJS JSON imported).
fn posted_definition(part: &Part, form: &mut Form, base: &Value) -> Result<Read, PageError> {
    let fault = |field: &str, message: String| vec![FieldError::new(field, message)];
    match part {
        Part::Wording => {
            let typed = form.take_prefixed(TEXT)?;
            let mut document = base.clone();
            if let Err(faults) = texts::apply(&mut document, &typed, TEXT) {
                return Ok(Err((faults, None)));
            }
            Ok(serde_json::from_value::<Definition>(document.clone())
                .map(|definition| (definition, document))
                .map_err(|e| (fault("structure", e.to_string()), None)))
        }
        Part::Structure => {
            let typed = form.take("structure")?.unwrap_or_default();
            let format = form.take("format")?.unwrap_or_default();
            let accept_unmapped = form.take("accept_unmapped")?.as_deref() == Some("on");
            let keep = Some(typed.clone());
            let json: Value = match serde_json::from_str(&typed) {
                Ok(json) => json,
                Err(e) => return Ok(Err((fault("structure", format!("is not JSON: {e}")), keep))),
            };
            let definition: Definition = match format.as_str() {
                "" | "debrief" => match serde_json::from_value(json) {
                    Ok(definition) => definition,
                    Err(e) => return Ok(Err((fault("structure", e.to_string()), keep))),
                },
                "surveyjs" => {
                    let imported = surveyjs::import(&json);
                    if !imported.unmapped.is_empty() && !accept_unmapped {
                        // Nothing is dropped without the owner saying so.
                        let faults = imported
                            .unmapped
                            .into_iter()
                            .map(|r| FieldError::new(r.path, format!("not mapped: {}", r.message)))
                            .collect();
                        return Ok(Err((faults, keep)));
                    }
                    imported.definition
                }
                _ => {
                    return Ok(Err((
                        fault("format", "must be debrief or surveyjs".into()),
                        keep,
                    )))
                }
            };
            let document = serde_json::to_value(&definition).map_err(anyhow::Error::from)?;
            Ok(Ok((definition, document)))
        }
    }
}

/// The editor, showing `document` (the stored version, or what was typed).
#[allow(clippy::too_many_arguments)]
fn editor(
    signed: &Signed,
    key: SurveyKey,
    version: i64,
    responses: Option<i64>,
    document: &Value,
    structure: Option<String>,
    status: StatusCode,
    extra: Value,
) -> HttpResponse {
    let t = super::page::pages().sentences(signed.locale());
    let locales: Vec<Locale> = document
        .get("locales")
        .and_then(|l| serde_json::from_value(l.clone()).ok())
        .unwrap_or_else(|| Locale::ALL.to_vec());
    let fields = texts::form_fields(document, &locales, TEXT);
    let pretty =
        structure.unwrap_or_else(|| serde_json::to_string_pretty(document).unwrap_or_default());
    let frames: Vec<Value> = locales
        .iter()
        .map(|l| {
            json!({
                "lang": l.code(),
                "label": t(&format!("survey_locale_{}", l.code())),
                "src": format!("{}/frame?locale={}", path(key), l.code()),
            })
        })
        .collect();
    let mut data = crate::web::pages::object(json!({
        "key": key.as_str(),
        "survey_name": t(&format!("survey_{}", key.as_str())),
        "others": SurveyKey::ALL.iter().filter(|k| **k != key).map(|k| json!({
            "href": path(*k), "name": t(&format!("survey_{}", k.as_str())),
        })).collect::<Vec<_>>(),
        "version": version,
        "responses": responses,
        "counted": responses.is_some(),
        "action_wording": format!("{}/wording", path(key)),
        "action_structure": format!("{}/structure", path(key)),
        "preview_url": format!("{}/preview", path(key)),
        "fields": fields,
        "structure": pretty,
        "frames": frames,
        "outcomes": Outcome::ALL.iter().map(|o| json!({
            "value": o.as_str(),
            "label": Words(signed.locale()).outcome(o.as_str()),
            "selected": *o == Outcome::Lost,
        })).collect::<Vec<_>>(),
        "errors": [],
    }));
    super::page::merge(&mut data, extra);
    render_with_status(signed, Section::Program, status, "survey", data)
}

#[get("/console/program/surveys/{key}")]
async fn editor_page(
    req: HttpRequest,
    signed: Signed,
    key: web::Path<String>,
    db: web::Data<Db>,
    definitions: web::Data<Definitions>,
) -> Result<HttpResponse, PageError> {
    signed.may(Permission::ManageProgram)?;
    let key = known(&key, signed.locale())?;
    let (version, document, responses) = newest(&db, &definitions, key).await?;
    Ok(editor(
        &signed,
        key,
        version,
        Some(responses),
        &document,
        None,
        StatusCode::OK,
        json!({ "saved": req.query_string() == "saved=1" }),
    ))
}

async fn save(
    posted: Posted,
    key: &str,
    part: Part,
    db: &Db,
    definitions: &Definitions,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<HttpResponse, PageError> {
    let Posted { signed, mut form } = posted;
    signed.may(Permission::ManageProgram)?;
    let key = known(key, signed.locale())?;
    let shown = super::page::read_version(&mut form)?;
    // The words apply to the version the owner read, not one saved since.
    let read = definition_at(db, definitions, key, shown, signed.locale()).await?;
    let posted = posted_definition(&part, &mut form, &read)?;
    // The preview's own fields ride along with the wording; they are not the survey's.
    form.take("preview_outcome")?;
    form.take("preview_competitor")?;
    form.finish()?;
    let again = |document: &Value, structure, status, faults: &[FieldError]| {
        editor(
            &signed,
            key,
            shown,
            None,
            document,
            structure,
            status,
            json!({ "errors": field_errors(faults) }),
        )
    };
    let (definition, document) = match posted {
        Ok(read) => read,
        Err((faults, structure)) => {
            return Ok(again(
                &read,
                structure,
                StatusCode::UNPROCESSABLE_ENTITY,
                &faults,
            ));
        }
    };
    if let Err(faults) = validate_definition(&definition) {
        let structure = matches!(part, Part::Structure)
            .then(|| serde_json::to_string_pretty(&document).unwrap_or_default());
        return Ok(again(
            &document,
            structure,
            StatusCode::UNPROCESSABLE_ENTITY,
            &faults,
        ));
    }
    let by = &signed.0.staff.name;
    match definitions
        .store(db, key.as_str(), &definition, Some(shown), by, now)
        .await
    {
        Ok(_) => Ok(see_other(&format!("{}?saved=1", path(key)))),
        Err(e @ StoreError::Stale { .. }) => Ok(again(
            &document,
            None,
            StatusCode::CONFLICT,
            &[FieldError::new(
                "version",
                format!("{e}; your changes are below: read the new version and apply them again"),
            )],
        )),
        Err(StoreError::Database(e)) => Err(e.into()),
    }
}

#[post("/console/program/surveys/{key}/wording")]
async fn save_wording(
    posted: Posted,
    key: web::Path<String>,
    db: web::Data<Db>,
    definitions: web::Data<Definitions>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    save(posted, &key, Part::Wording, &db, &definitions, clock.now()).await
}

#[post("/console/program/surveys/{key}/structure")]
async fn save_structure(
    posted: Posted,
    key: web::Path<String>,
    db: web::Data<Db>,
    definitions: web::Data<Definitions>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    save(
        posted,
        &key,
        Part::Structure,
        &db,
        &definitions,
        clock.now(),
    )
    .await
}

/// The draft as the widget reads it, in each of its languages, for the frames beside
/// the editor; or the faults that keep it from being one (a 422, as JSON).
#[post("/console/program/surveys/{key}/preview")]
async fn preview(
    req: HttpRequest,
    posted: Posted,
    key: web::Path<String>,
    db: web::Data<Db>,
    definitions: web::Data<Definitions>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, PageError> {
    let Posted { signed, mut form } = posted;
    signed.may(Permission::ManageProgram)?;
    let key = known(&key, signed.locale())?;
    let part = match req.query_string() {
        "part=structure" => Part::Structure,
        _ => Part::Wording,
    };
    let shown = super::page::read_version(&mut form)?;
    // The definition alone, parsed once and cached: this runs as the owner types.
    let base = definition_at(&db, &definitions, key, shown, signed.locale()).await?;
    let posted = posted_definition(&part, &mut form, &base)?;
    let outcome = form.take("preview_outcome")?.unwrap_or_default();
    let competitor = form.take("preview_competitor")?.unwrap_or_default();
    form.finish()?;
    let checked = posted.and_then(|(definition, _)| match validate_definition(&definition) {
        Ok(()) => Ok(definition),
        Err(faults) => Err((faults, None)),
    });
    let definition = match checked {
        Ok(definition) => definition,
        Err((faults, _)) => {
            return Ok(json_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                &json!({ "errors": field_errors(&faults) }),
            ))
        }
    };
    // The deal the preview's conditions read: "lost to Northwind" shows what those
    // buyers would see.
    let mut deal = std::collections::BTreeMap::new();
    if let Ok(outcome) = outcome.parse::<Outcome>() {
        deal.insert(DealAttribute::Outcome, outcome.as_str().to_owned());
    }
    let competitor = competitor.trim();
    if !competitor.is_empty() && competitor.chars().count() <= 200 {
        deal.insert(DealAttribute::Competitor, competitor.to_owned());
    }
    let context = SurveyContext {
        company: settings.company_name.clone(),
        deal: deal.into_iter().collect(),
    };
    let documents: serde_json::Map<String, Value> = definition
        .locales
        .iter()
        .map(|l| {
            let document = crate::surveys::routes::preview_document(
                key.as_str(),
                shown,
                &definition,
                *l,
                context.clone(),
            );
            (l.code().to_owned(), json!(document))
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "documents": documents }),
    ))
}

fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .json(body)
}

#[derive(serde::Deserialize)]
struct FrameQuery {
    locale: Option<String>,
}

/// A frame the editor shows the widget in: the buyer's page shell (its style, its
/// policy, which lets Debrief's own pages frame it), with an element the widget draws
/// the documents the editor sends it in.
#[get("/console/program/surveys/{key}/frame")]
async fn frame(
    signed: Signed,
    key: web::Path<String>,
    query: web::Query<FrameQuery>,
) -> Result<HttpResponse, PageError> {
    signed.may(Permission::ManageProgram)?;
    known(&key, signed.locale())?;
    let locale = query
        .locale
        .as_deref()
        .and_then(|l| Locale::parse(l).ok())
        .unwrap_or(signed.locale());
    let t = super::page::pages().sentences(signed.locale());
    let body = format!(
        r#"<main class="debrief-page"><div data-debrief-preview data-debrief-locale="{lang}"><p class="debrief-loading" role="status">{waiting}</p></div></main>
<script type="module" src="/widget/embed.js"></script>"#,
        lang = locale.code(),
        waiting = crate::web::html::escape(&t("survey_preview_waiting")),
    );
    let title = crate::web::html::escape(&t("survey_preview_title"));
    Ok(crate::web::html::html_page(
        StatusCode::OK,
        locale,
        &title,
        &body,
    ))
}
