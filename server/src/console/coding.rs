//! The analyst's coding queue: the buyers' words no one has coded yet, newest first, one
//! text at a time with the lexicon's suggestions. Select an excerpt, pick a driver and an
//! influence, save, and go on: every step has a key (shown on the page), and the page
//! works without the script too (the excerpt is then typed or pasted). A text may hold
//! several mentions: it stays open after each until the analyst says it is done.

use super::page::{
    field_errors, render_with_status, see_other, PageError, Posted, Section, Signed,
};
use crate::app::clock::Clock;
use crate::auth::Permission;
use crate::insights::coding::{self, Coding};
use crate::insights::queue::{self, Review, Uncoded};
use crate::insights::taxonomy::{self, Taxonomy};
use crate::platform::db::Db;
use crate::reports::facts::Words;
use crate::surveys::definitions::Definitions;
use crate::web::error::ApiError;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use debrief_common::Locale;
use serde_json::{json, Map, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(queue_page).service(save);
}

/// The keys that pick a driver, in the order drivers are listed: letters, except `n`
/// (next text); influences take the digits 1 to 5.
const DRIVER_KEYS: &str = "abcdefghijklmopqrstuvwxyz";

/// Which text: one by its place (`response`, `question`, `item`), or the queue's
/// `skip`-th.
#[derive(Debug, Default)]
struct Which {
    place: Option<(String, String, String)>,
    skip: i64,
    saved: bool,
}

fn which(req: &HttpRequest, locale: Locale) -> Result<Which, PageError> {
    use super::page::OrPage;
    let mut params = crate::analytics::filter::Params::of(req).page(locale)?;
    let response = params.take("response");
    let question = params.take("question");
    let item = params.take("item");
    let skip = params.take("skip");
    let saved = params.take("saved").is_some();
    params.finish().page(locale)?;
    let skip = match skip {
        None => 0,
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|s| (0..=10_000).contains(s))
            .ok_or_else(|| PageError::field(locale, "skip", "must be 0 to 10000"))?,
    };
    let place = match (response, question) {
        (Some(r), Some(q)) => Some((r, q, item.unwrap_or_default())),
        (None, None) => None,
        (None, Some(_)) => {
            return Err(PageError::field(
                locale,
                "response",
                "is required with question",
            ))
        }
        (Some(_), None) => {
            return Err(PageError::field(
                locale,
                "question",
                "is required with response",
            ))
        }
    };
    Ok(Which { place, skip, saved })
}

fn place_query(text: &Uncoded) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("response", &text.response_id)
        .append_pair("question", &text.question_id)
        .append_pair("item", &text.item);
    q.finish()
}

/// What the analyst typed, kept when the form comes back with an error.
#[derive(Debug, Default, Clone)]
struct Draft {
    driver: String,
    influence: String,
    excerpt: String,
    tags: String,
    competitor: String,
}

#[allow(clippy::too_many_arguments)]
async fn show(
    signed: &Signed,
    db: &Db,
    taxonomy: &Taxonomy,
    text: Option<Uncoded>,
    skip: i64,
    draft: Draft,
    status: StatusCode,
    extra: Map<String, Value>,
) -> Result<HttpResponse, PageError> {
    let locale = signed.locale();
    let words = Words(locale);
    let t = super::page::pages().sentences(locale);
    let waiting = queue::waiting(db).await?;
    let Some(text) = text else {
        let data =
            crate::web::pages::object(json!({ "text": null, "waiting": waiting, "skip": skip }));
        return Ok(render_with_status(
            signed,
            Section::Coding,
            status,
            "coding",
            data,
        ));
    };
    let suggested: Vec<&str> = text.suggestions.iter().map(|s| s.driver.as_str()).collect();
    // Suggested drivers first, then the rest by family, each with its key.
    let mut drivers: Vec<&crate::insights::taxonomy::Driver> = taxonomy.active_drivers().collect();
    drivers.sort_by_key(|d| {
        (
            !suggested.contains(&d.id.as_str()),
            taxonomy.families.iter().position(|f| f.id == d.family),
        )
    });
    let keys: Vec<char> = DRIVER_KEYS.chars().collect();
    let driver_choices: Vec<Value> = drivers
        .iter()
        .enumerate()
        .map(|(i, d)| {
            json!({
                "id": d.id,
                "label": d.label.get(locale),
                "family": words.family(taxonomy, &d.family),
                "key": keys.get(i).map(char::to_string),
                "suggested": suggested.contains(&d.id.as_str()),
                "checked": d.id == draft.driver,
            })
        })
        .collect();
    let influences: Vec<Value> = (-2..=2)
        .map(|v: i64| {
            json!({
                "value": v,
                "label": t(&format!("influence_{}", v + 2)),
                "key": (v + 3).to_string(),
                "checked": draft.influence == v.to_string(),
            })
        })
        .collect();
    let done: Vec<(String, i64, Option<String>)> = sqlx::query_as(
        "select driver, influence, excerpt from insights
         where response_id = $1 and question_id = $2 and item = $3 and source = 'analyst'
         order by coded_at, id",
    )
    .bind(&text.response_id)
    .bind(&text.question_id)
    .bind(&text.item)
    .fetch_all(db.pool())
    .await?;
    let coded: Vec<Value> = done
        .into_iter()
        .map(|(driver, influence, excerpt)| {
            json!({
                "driver": words.driver(taxonomy, &driver),
                "influence": t(&format!("influence_{}", influence + 2)),
                "excerpt": excerpt,
            })
        })
        .collect();
    let hints: Vec<Value> = text
        .suggestions
        .iter()
        .map(|s| json!({ "driver": words.driver(taxonomy, &s.driver), "phrase": s.phrase, "excerpt": s.excerpt }))
        .collect();
    let deal = &text.deal;
    let mut data = crate::web::pages::object(json!({
        "text": {
            "body": text.text,
            "lang": text.locale.code(),
            "question": text.question_id,
            "outcome": deal.outcome.as_deref().map(|o| words.outcome(o)),
            "competitor": deal.deal_competitor,
            "segment": deal.segment_key,
            "month": deal.month,
            "response_id": text.response_id,
            "question_id": text.question_id,
            "item": text.item,
        },
        "drivers": driver_choices,
        "influences": influences,
        "hints": hints,
        "coded": coded,
        "excerpt": if draft.excerpt.is_empty() { text.suggestions.first().map(|s| s.excerpt.clone()).unwrap_or_default() } else { draft.excerpt },
        "tags": draft.tags,
        "competitor": draft.competitor,
        "waiting": waiting,
        "skip": skip,
        "next": format!("/console/coding?skip={}", skip + 1),
        "here": format!("/console/coding?{}", place_query(&text)),
        "errors": [],
        "notice": null,
    }));
    for (k, v) in extra {
        data.insert(k, v);
    }
    Ok(render_with_status(
        signed,
        Section::Coding,
        status,
        "coding",
        data,
    ))
}

#[get("/console/coding")]
async fn queue_page(
    req: HttpRequest,
    signed: Signed,
    db: web::Data<Db>,
    definitions: web::Data<Definitions>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    signed.may(Permission::CodeInsights)?;
    let locale = signed.locale();
    let which = which(&req, locale)?;
    coding::catch_up(&db, &definitions, clock.now()).await?;
    let (_, taxonomy) = taxonomy::VERSIONS.current(&db).await?;
    let text = match &which.place {
        Some((r, q, i)) => match queue::text(&db, &taxonomy, (r, q, i)).await? {
            Some(text) => Some(text),
            None => return Err(PageError::NotFound(locale)),
        },
        // The queue's `skip`-th text; none when it holds fewer.
        None => {
            let mut texts = queue::uncoded(&db, &taxonomy, which.skip + 1).await?;
            if texts.len() as i64 > which.skip {
                texts.pop()
            } else {
                None
            }
        }
    };
    let t = super::page::pages().sentences(locale);
    let extra = crate::web::pages::object(json!({
        "notice": which.saved.then(|| t("coding_saved")),
    }));
    show(
        &signed,
        &db,
        &taxonomy,
        text,
        which.skip,
        Draft::default(),
        StatusCode::OK,
        extra,
    )
    .await
}

#[post("/console/coding")]
async fn save(
    posted: Posted,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    let Posted { signed, mut form } = posted;
    signed.may(Permission::CodeInsights)?;
    let locale = signed.locale();
    let response_id = form.required("response_id")?;
    let question_id = form.required("question_id")?;
    let item = form.take("item")?.unwrap_or_default();
    let action = form.take("action")?.unwrap_or_else(|| "code".into());
    let skip = form
        .take("skip")?
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0)
        .clamp(0, 10_000);
    let draft = Draft {
        driver: form.take("driver")?.unwrap_or_default(),
        influence: form.take("influence")?.unwrap_or_default(),
        excerpt: form.take("excerpt")?.unwrap_or_default(),
        tags: form.take("tags")?.unwrap_or_default(),
        competitor: form.take("competitor")?.unwrap_or_default(),
    };
    form.finish()?;
    let (version, taxonomy) = taxonomy::VERSIONS.current(&db).await?;
    let now = clock.now();
    let by = signed.0.staff.name.clone();
    let here = (response_id.as_str(), question_id.as_str(), item.as_str());
    let back = |text: &Uncoded| format!("/console/coding?{}&saved=1", place_query(text));
    match action.as_str() {
        "done" => {
            let review = Review {
                response_id: response_id.clone(),
                question_id: question_id.clone(),
                item: item.clone(),
            };
            // A text with a mention coded has left the queue already; one without is set
            // aside.
            match queue::review(&db, &review, &by, now).await {
                Ok(()) | Err(ApiError::Conflict { .. }) => {}
                Err(e) => return Err(PageError::from_api(locale, e)),
            }
            Ok(see_other(&format!("/console/coding?skip={skip}")))
        }
        "code" => {
            let Some(text) = queue::text(&db, &taxonomy, here).await? else {
                return Err(PageError::field(
                    locale,
                    "response_id",
                    "is not a text to code",
                ));
            };
            let influence = match draft.influence.parse::<i64>() {
                Ok(v) => v,
                Err(_) => {
                    let extra = crate::web::pages::object(
                        json!({ "errors": [{ "field": "influence", "message": "pick one, from -2 to +2" }] }),
                    );
                    return show(
                        &signed,
                        &db,
                        &taxonomy,
                        Some(text),
                        skip,
                        draft,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        extra,
                    )
                    .await;
                }
            };
            let tags: Vec<String> = draft
                .tags
                .split(',')
                .map(|t| t.trim().to_lowercase())
                .filter(|t| !t.is_empty())
                .collect();
            let request = Coding {
                response_id: response_id.clone(),
                question_id: question_id.clone(),
                item: item.clone(),
                driver: draft.driver.clone(),
                influence,
                excerpt: draft.excerpt.trim().to_owned(),
                tags,
                competitor: Some(draft.competitor.trim().to_owned()).filter(|c| !c.is_empty()),
                suggested: text
                    .suggestions
                    .iter()
                    .any(|s| s.driver == draft.driver && s.excerpt == draft.excerpt.trim()),
            };
            match coding::code(&db, (version, &taxonomy), &request, &by, now).await {
                Ok(_) => Ok(see_other(&back(&text))),
                Err(ApiError::Validation(fields)) => {
                    let extra =
                        crate::web::pages::object(json!({ "errors": field_errors(&fields) }));
                    show(
                        &signed,
                        &db,
                        &taxonomy,
                        Some(text),
                        skip,
                        draft,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        extra,
                    )
                    .await
                }
                Err(e) => Err(PageError::from_api(locale, e)),
            }
        }
        _ => Err(PageError::field(locale, "action", "must be code or done")),
    }
}
