//! What every buyer-facing survey endpoint (the JSON API and the no-JS form) needs from
//! the application, taken from the request in one extractor.

use super::definitions::Definitions;
use super::ingest::Ingest;
use crate::app::clock::Clock;
use crate::app::config::Settings;
use crate::jobs::runner::Waker;
use crate::outreach::store::Planner;
use crate::platform::db::Db;
use actix_web::{web, FromRequest, HttpRequest};
use std::future::{ready, Ready};

#[derive(Clone)]
pub struct Surveying {
    pub db: web::Data<Db>,
    pub planner: web::Data<Planner>,
    pub definitions: web::Data<Definitions>,
    pub ingest: web::Data<Ingest>,
    pub settings: web::Data<Settings>,
    pub waker: web::Data<Waker>,
    pub clock: web::Data<Clock>,
}

impl FromRequest for Surveying {
    type Error = actix_web::Error;
    type Future = Ready<Result<Surveying, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        fn data<T: 'static>(req: &HttpRequest) -> Result<web::Data<T>, actix_web::Error> {
            req.app_data::<web::Data<T>>().cloned().ok_or_else(|| {
                // A start-up wiring mistake, caught by every test that calls the route.
                actix_web::error::ErrorInternalServerError("application data missing")
            })
        }
        ready((|| {
            Ok(Surveying {
                db: data(req)?,
                planner: data(req)?,
                definitions: data(req)?,
                ingest: data(req)?,
                settings: data(req)?,
                waker: data(req)?,
                clock: data(req)?,
            })
        })())
    }
}
