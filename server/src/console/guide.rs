//! The interview guide editor: each stage's title, questions and "five whys" prompts in
//! each language, and the stages themselves (order, keys, minutes) as JSON, saved as the
//! guide's next version through the same check as `PUT /api/v1/interview-guide`. Beside
//! it, the guide as interviewers read it, with its length against the 45 minutes.

use super::page::{
    field_errors, render_with_status, see_other, PageError, Posted, Section, Signed,
};
use super::texts;
use crate::app::clock::Clock;
use crate::auth::Permission;
use crate::interviews::guide::{self, Guide};
use crate::platform::db::Db;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use debrief_common::{FieldError, Locale};
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(guide_page)
        .service(save_wording)
        .service(save_structure);
}

const PATH: &str = "/console/program/guide";

/// Where a text field's name starts: `text:stages[0].title.fr`.
const TEXT: &str = "text:";

/// The editor, showing `guide` (as stored, or as typed) and `structure` as typed.
fn editor(
    signed: &Signed,
    version: i64,
    guide: &Value,
    structure: Option<String>,
    status: StatusCode,
    extra: Value,
) -> HttpResponse {
    let locale = signed.locale();
    let fields = texts::form_fields(guide, &Locale::ALL, TEXT);
    // As interviewers read it, in the member's language.
    let read: Option<Guide> = serde_json::from_value(guide.clone()).ok();
    let stages: Vec<Value> = read
        .iter()
        .flat_map(|g| &g.stages)
        .map(|s| {
            json!({
                "title": s.title.get(locale),
                "minutes": s.minutes,
                "questions": s.questions.iter().map(|q| q.get(locale)).collect::<Vec<_>>(),
                "five_whys": s.five_whys.iter().map(|q| q.get(locale)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let minutes: i64 = read.iter().flat_map(|g| &g.stages).map(|s| s.minutes).sum();
    let mut data = crate::web::pages::object(json!({
        "version": version,
        "built_in": version == 0,
        "action_wording": format!("{PATH}/wording"),
        "action_structure": format!("{PATH}/structure"),
        "fields": fields,
        "structure": structure.unwrap_or_else(|| serde_json::to_string_pretty(guide).unwrap_or_default()),
        "stages": stages,
        "minutes": minutes,
        "errors": [],
    }));
    super::page::merge(&mut data, extra);
    render_with_status(signed, Section::Program, status, "guide", data)
}

#[get("/console/program/guide")]
async fn guide_page(
    req: HttpRequest,
    signed: Signed,
    db: web::Data<Db>,
) -> Result<HttpResponse, PageError> {
    signed.may(Permission::ManageProgram)?;
    let current = guide::current(&db).await?;
    let document = serde_json::to_value(&current.guide).map_err(anyhow::Error::from)?;
    Ok(editor(
        &signed,
        current.version,
        &document,
        None,
        StatusCode::OK,
        json!({ "saved": req.query_string() == "saved=1" }),
    ))
}

/// Which form was posted.
enum Part {
    Wording,
    Structure,
}

async fn save(
    posted: Posted,
    part: Part,
    db: &Db,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<HttpResponse, PageError> {
    let Posted { signed, mut form } = posted;
    signed.may(Permission::ManageProgram)?;
    let shown = super::page::read_version(&mut form)?;
    // The words apply to the version the owner read.
    let Some(read) = guide::version(db, shown).await? else {
        return Err(PageError::field(
            signed.locale(),
            "version",
            "names no version of the guide",
        ));
    };
    let read = serde_json::to_value(&read).map_err(anyhow::Error::from)?;
    let refuse = |document: &Value, structure: Option<String>, status, faults: &[FieldError]| {
        editor(
            &signed,
            shown,
            document,
            structure,
            status,
            json!({ "errors": field_errors(faults) }),
        )
    };
    let (document, structure) = match part {
        Part::Wording => {
            let typed = form.take_prefixed(TEXT)?;
            form.finish()?;
            let mut document = read.clone();
            if let Err(faults) = texts::apply(&mut document, &typed, TEXT) {
                return Ok(refuse(
                    &read,
                    None,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &faults,
                ));
            }
            (document, None)
        }
        Part::Structure => {
            let typed = form.take("structure")?.unwrap_or_default();
            form.finish()?;
            match serde_json::from_str::<Value>(&typed) {
                Ok(document) => (document, Some(typed)),
                Err(e) => {
                    let fault = FieldError::new("structure", format!("is not JSON: {e}"));
                    return Ok(refuse(
                        &read,
                        Some(typed),
                        StatusCode::UNPROCESSABLE_ENTITY,
                        &[fault],
                    ));
                }
            }
        }
    };
    let checked = serde_json::from_value::<Guide>(document.clone())
        .map_err(|e| ("structure".to_owned(), e.to_string()))
        .and_then(|g| guide::check(&g).map(|()| g));
    let guide = match checked {
        Ok(guide) => guide,
        Err((field, message)) => {
            // The check names `stages[0].title.fr`; the form names it `text:…`.
            let words = field.ends_with(".en") || field.ends_with(".fr");
            let field = if structure.is_none() && words {
                format!("{TEXT}{field}")
            } else {
                field
            };
            return Ok(refuse(
                &document,
                structure,
                StatusCode::UNPROCESSABLE_ENTITY,
                &[FieldError::new(field, message)],
            ));
        }
    };
    if guide::store_after(db, &guide, shown, &signed.0.staff.name, now)
        .await?
        .is_none()
    {
        let fault = FieldError::new(
            "version",
            "the guide changed meanwhile: your changes are below, read the new version and \
             apply them again",
        );
        return Ok(refuse(&document, structure, StatusCode::CONFLICT, &[fault]));
    }
    Ok(see_other(&format!("{PATH}?saved=1")))
}

#[post("/console/program/guide/wording")]
async fn save_wording(
    posted: Posted,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    save(posted, Part::Wording, &db, clock.now()).await
}

#[post("/console/program/guide/structure")]
async fn save_structure(
    posted: Posted,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    save(posted, Part::Structure, &db, clock.now()).await
}
