//! The OpenAPI 3.1 document, generated from the handlers' annotations and the wire types,
//! served at `GET /api/v1/openapi.json`. A test reads every route the code registers and
//! fails when one is missing here.

use actix_web::HttpResponse;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Debrief",
        description = "Win-loss programs: decided deals in, buyers asked, answers out. Staff \
                       endpoints take `Authorization: Bearer <API key>`; the widget's take the \
                       buyer's link token in the path."
    ),
    paths(
        crate::outreach::routes::post_decision,
        crate::outreach::routes::import_decisions,
        crate::analytics::participation::get_participation,
        crate::analytics::interviews::get_interview_funnel,
        crate::programs::routes::get_program,
        crate::programs::routes::put_program,
        crate::programs::routes::list_versions,
        crate::programs::routes::get_version,
        crate::programs::routes::preview,
        crate::invitations::routes::release,
        crate::people::routes::list,
        crate::people::routes::add,
        crate::people::routes::lift,
        crate::incentives::routes::list,
        crate::incentives::routes::payouts,
        crate::incentives::routes::export_payouts,
        crate::incentives::routes::fulfil,
        crate::interviews::routes::list_interviewers,
        crate::interviews::routes::get_availability,
        crate::interviews::routes::put_availability,
        crate::interviews::routes::list_slots,
        crate::interviews::routes::list_candidates,
        crate::interviews::routes::preview_invitation,
        crate::interviews::routes::send_invitation,
        crate::interviews::staff::get_guide,
        crate::interviews::staff::put_guide,
        crate::interviews::staff::get_guide_version,
        crate::interviews::staff::get_notes,
        crate::interviews::staff::put_notes,
        crate::interviews::staff::no_show,
        crate::interviews::staff::cancel,
        crate::interviews::staff::reschedule,
        crate::interviews::page::show,
        crate::interviews::page::zone_script,
        crate::interviews::page::book,
        crate::interviews::page::act,
        crate::interviews::page::ics,
        crate::analytics::nps::get_nps,
        crate::analytics::funnel::get_funnel,
        crate::analytics::drivers::get_drivers,
        crate::analytics::drivers::get_competitors,
        crate::analytics::drivers::get_verbatims,
        crate::analytics::drivers::get_declined,
        crate::alerts::routes::list_rules,
        crate::alerts::routes::create_rule,
        crate::alerts::routes::get_rule,
        crate::alerts::routes::put_rule,
        crate::alerts::routes::delete_rule,
        crate::alerts::routes::list_firings,
        crate::alerts::routes::acknowledge,
        crate::alerts::routes::snooze,
        crate::alerts::routes::evaluate,
        crate::reports::routes::list_subscribers,
        crate::reports::routes::add_subscriber,
        crate::reports::routes::remove_subscriber,
        crate::reports::routes::preview,
        crate::reports::routes::send,
        crate::reports::routes::quarterly_report,
        crate::exports::routes::export_responses,
        crate::exports::routes::export_insights,
        crate::exports::routes::export_participation,
        crate::insights::routes::get_taxonomy,
        crate::insights::routes::get_taxonomy_version,
        crate::insights::routes::change_taxonomy,
        crate::insights::routes::get_queue,
        crate::insights::routes::post_review,
        crate::insights::routes::get_agreement,
        crate::insights::routes::get_lexicon,
        crate::insights::routes::put_lexicon,
        crate::insights::routes::list_insights,
        crate::insights::routes::post_insight,
        crate::insights::routes::delete_insight,
        crate::jobs::routes::list_jobs,
        crate::jobs::routes::replay_job,
        crate::surveys::routes::get_survey,
        crate::surveys::routes::start_survey,
        crate::surveys::routes::post_response,
        crate::surveys::page::survey_page,
        crate::web::assets::widget_file,
        crate::opt_out::routes::confirm_page,
        crate::opt_out::routes::opt_out,
        crate::surveys::routes::get_definition,
        crate::surveys::routes::put_answers,
        crate::surveys::routes::complete_survey,
        crate::surveys::admin::get_survey,
        crate::surveys::admin::get_version,
        crate::surveys::admin::put_survey,
        crate::surveys::form::show,
        crate::surveys::form::post,
        crate::app::health,
        crate::app::metrics::scrape,
        document,
    ),
    modifiers(&ApiKey)
)]
pub struct ApiDoc;

struct ApiKey;

impl Modify for ApiKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json"))
)]
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;

    /// Every `(method, path)` the code registers, read from the sources: `.route("…",
    /// web::get()…)`, `web::resource("…")` with its `.route(web::post()…)`s, and
    /// `#[get("…")]`-style attributes.
    /// The text of every source file of the server.
    fn sources() -> Vec<String> {
        let mut sources = Vec::new();
        let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read src") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    sources.push(std::fs::read_to_string(&path).expect("read"));
                }
            }
        }
        sources
    }

    fn registered_routes() -> BTreeSet<(String, String)> {
        let mut routes = BTreeSet::new();
        for source in sources() {
            scan(&source, &mut routes);
        }
        routes
    }

    #[test]
    fn no_two_wire_types_share_a_schema_name() {
        // The document names each schema by its type's name alone: a second type of the
        // same name would silently replace the first in it.
        let mut names = std::collections::BTreeMap::<String, usize>::new();
        for source in sources() {
            for part in source.split("utoipa::ToSchema").skip(1) {
                let declared = part
                    .split_whitespace()
                    .skip_while(|w| !matches!(*w, "struct" | "enum"))
                    .nth(1)
                    .map(|n| {
                        n.trim_end_matches(|c: char| !c.is_alphanumeric())
                            .to_owned()
                    });
                if let Some(name) = declared.filter(|n| !n.is_empty()) {
                    *names.entry(name).or_default() += 1;
                }
            }
        }
        assert!(names.len() > 40, "the scan found too few: {names:?}");
        let twice: Vec<_> = names.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "schema names given twice: {twice:?}");
    }

    fn scan(source: &str, routes: &mut BTreeSet<(String, String)>) {
        // Comments may quote routes without registering them.
        let code: String = source
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let flat: String = code.split_whitespace().collect::<Vec<_>>().join("");
        const METHODS: [&str; 4] = ["get", "post", "put", "delete"];
        // `.route("PATH",web::METHOD()`
        for part in flat.split(".route(\"").skip(1) {
            let Some((path, rest)) = part.split_once('"') else {
                continue;
            };
            for m in METHODS {
                if rest.starts_with(&format!(",web::{m}()")) {
                    routes.insert((m.to_owned(), path.to_owned()));
                }
            }
        }
        // `web::resource("PATH")` … `.route(web::METHOD()` up to the next resource.
        for part in flat.split("web::resource(\"").skip(1) {
            let Some((path, rest)) = part.split_once('"') else {
                continue;
            };
            for m in METHODS {
                if rest.contains(&format!(".route(web::{m}()")) {
                    routes.insert((m.to_owned(), path.to_owned()));
                }
            }
        }
        // `#[get("PATH")]`
        for m in METHODS {
            for part in flat.split(&format!("#[{m}(\"")).skip(1) {
                if let Some((path, _)) = part.split_once('"') {
                    routes.insert((m.to_owned(), path.to_owned()));
                }
            }
        }
    }

    #[test]
    fn every_registered_route_is_in_the_document() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("serialises");
        assert_eq!(doc["openapi"], "3.1.0");
        let routes = registered_routes();
        assert!(
            routes.len() >= 25,
            "the scan found too few routes: {routes:?}"
        );
        // The console's pages are for people in a browser (a session cookie and a CSRF
        // secret per form), not an API: machines use the `/api/v1` endpoints they call.
        let missing: Vec<_> = routes
            .iter()
            .filter(|(_, path)| !path.starts_with("/console"))
            .filter(|(method, path)| doc["paths"][path.as_str()][method.as_str()].is_null())
            .collect();
        assert!(
            missing.is_empty(),
            "routes missing from the OpenAPI document: {missing:?}"
        );
    }

    #[test]
    fn staff_endpoints_declare_the_api_key_and_request_bodies_have_schemas() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("serialises");
        let decisions = &doc["paths"]["/api/v1/decisions"]["post"];
        assert_eq!(decisions["security"][0]["api_key"], serde_json::json!([]));
        let body = &decisions["requestBody"]["content"]["application/json"]["schema"]["$ref"];
        assert_eq!(body, "#/components/schemas/DecisionRequest");
        assert!(doc["components"]["schemas"]["RuleRequest"].is_object());
        assert!(doc["components"]["schemas"]["Exclusion"].is_object());
    }
}
