//! The analyst's search of the coded store: the buyers' words coded so far, newest first,
//! narrowed by driver, competitor, segment, outcome, region, product line, period and the
//! words themselves. The same query as `GET /api/v1/insights`, with the same account
//! scope (an account manager finds only their accounts' buyers).

use super::page::{render, OrPage, PageError, Section, Signed};
use crate::analytics::filter::{Filter, Month, Params};
use crate::app::clock::Clock;
use crate::auth::Permission;
use crate::insights::coding::{self, Insight, ListFilter};
use crate::insights::taxonomy;
use crate::outreach::store::Planner;
use crate::outreach::Outcome;
use crate::platform::db::Db;
use crate::reports::facts::Words;
use crate::surveys::definitions::Definitions;
use actix_web::{get, web, HttpRequest, HttpResponse};
use debrief_common::Locale;
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(search);
}

/// Insights per page.
const PAGE: i64 = 50;

/// What the search form asked, checked.
struct Asked {
    filter: Filter,
    driver: Option<String>,
    text: Option<String>,
    after: Option<String>,
}

fn asked(req: &HttpRequest, locale: Locale) -> Result<Asked, PageError> {
    let mut params = Params::of(req).page(locale)?.without_empty();
    let filter = Filter::take(&mut params).page(locale)?;
    let driver = params.take("driver");
    let text = params.take("text").map(|t| t.trim().to_owned());
    let after = params.take("after");
    params.finish().page(locale)?;
    if text.as_ref().is_some_and(|t| t.chars().count() > 200) {
        return Err(PageError::field(
            locale,
            "text",
            "must be at most 200 characters",
        ));
    }
    if after.as_ref().is_some_and(|a| a.len() > 100) {
        return Err(PageError::field(locale, "after", "is not an insight id"));
    }
    Ok(Asked {
        filter,
        driver,
        text: text.filter(|t| !t.is_empty()),
        after,
    })
}

/// The query string of this search, for the next page.
fn next_page(asked: &Asked, after: &str) -> String {
    let f = &asked.filter;
    let mut q = form_urlencoded::Serializer::new(String::new());
    let pairs = [
        ("text", asked.text.clone()),
        ("driver", asked.driver.clone()),
        ("from", f.from.map(Month::label)),
        ("to", f.to.map(Month::label)),
        ("segment", f.segment.clone()),
        ("outcome", f.outcome.map(|o| o.as_str().to_owned())),
        ("competitor", f.competitor.clone()),
        ("region", f.region.clone()),
        ("product_line", f.product_line.clone()),
    ];
    for (name, value) in pairs {
        if let Some(v) = value {
            q.append_pair(name, &v);
        }
    }
    q.append_pair("after", after);
    format!("/console/insights?{}", q.finish())
}

fn option(value: &str, label: String, chosen: Option<&str>) -> Value {
    json!({ "value": value, "label": label, "selected": chosen == Some(value) })
}

#[get("/console/insights")]
async fn search(
    req: HttpRequest,
    signed: Signed,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    definitions: web::Data<Definitions>,
    planner: web::Data<Planner>,
) -> Result<HttpResponse, PageError> {
    signed.may(Permission::ReadInsights)?;
    let locale = signed.locale();
    let words = Words(locale);
    let t = super::page::pages().sentences(locale);
    let asked = asked(&req, locale)?;
    let (_, taxonomy) = taxonomy::VERSIONS.current(&db).await?;
    let drivers = coding::counted_as(&taxonomy, asked.driver.as_deref()).page(locale)?;
    let now = clock.now();
    // What the buyers rated since the last read is in the store before it is searched.
    coding::catch_up(&db, &definitions, now).await?;
    let list = ListFilter {
        deal: asked.filter.clone(),
        drivers,
        source: None,
        tag: None,
        text: asked.text.clone(),
        worded: true,
        after: asked.after.clone(),
        accounts: signed.0.staff.accounts(),
    };
    let found: Vec<Insight> = coding::list(&db, &list, PAGE).await?;
    let next = (found.len() == PAGE as usize)
        .then(|| found.last().map(|i| next_page(&asked, &i.id)))
        .flatten();
    let results: Vec<Value> = found
        .iter()
        .map(|i| {
            let d = &i.deal;
            json!({
                "excerpt": i.excerpt,
                "driver": words.driver(&taxonomy, &i.driver),
                "influence": t(&format!("influence_{}", i.influence + 2)),
                // Not by colour alone: the sign is written out.
                "sign": match i.influence {
                    n if n > 0 => "+",
                    n if n < 0 => "−",
                    _ => "±",
                },
                "negative": i.influence < 0,
                "outcome": d.outcome.as_deref().map(|o| words.outcome(o)),
                "competitor": d.deal_competitor,
                "segment": d.segment_key,
                "region": d.region,
                "product_line": d.product_line,
                "month": d.month.as_deref().and_then(Month::parse).map(|m| words.month(m)),
                "method": t(&format!("search_method_{}", i.method.as_str())),
                "tags": i.tags,
            })
        })
        .collect();

    // The form's choices.
    let f = &asked.filter;
    let chosen_driver = asked.driver.as_deref();
    let driver_options: Vec<Value> = taxonomy
        .drivers
        .iter()
        .filter(|d| d.status == taxonomy::DriverStatus::Active)
        .map(|d| option(&d.id, words.driver(&taxonomy, &d.id), chosen_driver))
        .collect();
    let mut conn = db.pool().acquire().await?;
    let program = planner.programs.in_force_at(&mut conn, now).await?;
    drop(conn);
    let segment_options: Vec<Value> = program
        .segments
        .iter()
        .map(|s| option(&s.key, s.name.clone(), f.segment.as_deref()))
        .collect();
    let outcome_options: Vec<Value> = Outcome::ALL
        .iter()
        .map(|o| {
            option(
                o.as_str(),
                words.outcome(o.as_str()),
                f.outcome.map(|o| o.as_str()),
            )
        })
        .collect();
    let mut sliced = Vec::new();
    for (dimension, chosen) in [("region", &f.region), ("product_line", &f.product_line)] {
        let options: Vec<Value> = crate::analytics::rollups::values(&db, dimension)
            .await?
            .into_iter()
            .map(|v| option(&v, v.clone(), chosen.as_deref()))
            .collect();
        sliced.push(options);
    }
    let [region_options, product_line_options] =
        <[Vec<Value>; 2]>::try_from(sliced).unwrap_or_default();
    let data = crate::web::pages::object(json!({
        "form": {
            "text": asked.text,
            "competitor": f.competitor,
            "from": f.from.map(Month::label),
            "to": f.to.map(Month::label),
            "drivers": driver_options,
            "segments": segment_options,
            "outcomes": outcome_options,
            "regions": region_options,
            "product_lines": product_line_options,
        },
        "results": results,
        "next": next,
        "continued": asked.after.is_some(),
    }));
    Ok(render(&signed, Section::Search, "search", data))
}
