//! Signing in and out. A member asks for a one-time link by email (through the outbox)
//! or gives their password; either starts a session. The link's page asks for one more
//! click before it signs in: mail scanners that open every link in a message would
//! otherwise use it up.

use super::page::{
    self, bare, cookie, request_locale, see_other, Form, PageError, Posted, PreSessionForm,
    Section, Signed, BASE, PRE_SESSION_COOKIE,
};
use crate::app::clock::Clock;
use crate::auth::links::{self, LinkJob};
use crate::auth::{hash_secret, passwords, random_secret, sessions};
use crate::channels::email::staff;
use crate::jobs::runner::{one_by_one, Failure, Handler, JobResult, Outcome};
use crate::jobs::{Job, JobKind};
use crate::outreach::invitation_email::{message_id, EmailContext};
use crate::platform::db::{time::to_db, Db};
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use debrief_common::Locale;
use futures_util::future::BoxFuture;
use serde_json::{json, Value};
use std::sync::Arc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(home)
        .service(sign_in_page)
        .service(ask_for_link)
        .service(link_page)
        .service(use_link)
        .service(with_password)
        .service(sign_out);
}

/// Where to go after signing in: a console page, never another site.
fn safe_next(next: Option<String>) -> String {
    next.filter(|n| {
        (n == BASE || n.starts_with("/console/") || n.starts_with("/console?"))
            // It goes into a Location header: printable ASCII only.
            && n.bytes().all(|b| (0x21..0x7f).contains(&b))
            && !n.contains('\\')
            && !n.starts_with("/console/sign-in")
            && n.len() <= 2_000
    })
    .unwrap_or_else(|| BASE.to_owned())
}

/// The sign-in page's data; its CSRF secret is the pre-session cookie's.
struct SignInView {
    locale: Locale,
    next: String,
    email: String,
    notice: Option<String>,
    error: Option<String>,
    confirm: Option<String>,
    password_open: bool,
}

impl SignInView {
    fn new(locale: Locale, next: String) -> SignInView {
        SignInView {
            locale,
            next,
            email: String::new(),
            notice: None,
            error: None,
            confirm: None,
            password_open: false,
        }
    }

    async fn show(
        self,
        req: &HttpRequest,
        db: &Db,
        status: StatusCode,
    ) -> Result<HttpResponse, PageError> {
        let (admins,): (i64,) = sqlx::query_as(
            "select count(*) from staff where role = 'admin' and disabled_at is null",
        )
        .fetch_one(db.pool())
        .await?;
        // The secret the page's forms send back; kept while the visitor has one.
        let secret = req
            .cookie(PRE_SESSION_COOKIE)
            .map(|c| c.value().to_owned())
            .filter(|v| v.len() == 43)
            .unwrap_or_else(random_secret);
        let langs: Vec<Value> = Locale::ALL
            .iter()
            .map(|l| {
                json!({
                    "code": l.code(),
                    "name": language_name(*l),
                    "current": *l == self.locale,
                    "href": format!(
                        "{BASE}/sign-in?lang={}&next={}",
                        l.code(),
                        form_urlencoded::byte_serialize(self.next.as_bytes()).collect::<String>()
                    ),
                })
            })
            .collect();
        let data = crate::web::pages::object(json!({
            "csrf": secret,
            "next": self.next,
            "lang": self.locale.code(),
            "email": self.email,
            "notice": self.notice,
            "error": self.error,
            "confirm": self.confirm,
            "password_open": self.password_open,
            "no_admin": admins == 0,
            "langs": langs,
        }));
        let mut response = bare(status, self.locale, "sign_in", data);
        response
            .add_cookie(&cookie(req, PRE_SESSION_COOKIE, secret))
            .map_err(|e| anyhow::anyhow!("setting the cookie: {e}"))?;
        Ok(response)
    }
}

/// A language, in itself.
fn language_name(locale: Locale) -> &'static str {
    match locale {
        Locale::En => "English",
        Locale::Fr => "Français",
    }
}

fn t(locale: Locale, key: &str) -> String {
    page::pages().sentences(locale)(key)
}

/// `/console`: the member's first page, by role.
#[get("/console")]
async fn home(signed: Signed) -> HttpResponse {
    see_other(Section::home(signed.0.staff.role).path())
}

#[derive(serde::Deserialize)]
struct SignInQuery {
    next: Option<String>,
    #[allow(dead_code)]
    lang: Option<String>,
}

#[get("/console/sign-in")]
async fn sign_in_page(req: HttpRequest, db: web::Data<Db>) -> Result<HttpResponse, PageError> {
    let locale = request_locale(&req);
    // Unknown parameters are ignored here: this page is reached from links and bookmarks.
    let query: SignInQuery =
        serde_urlencoded::from_str(req.query_string()).unwrap_or(SignInQuery {
            next: None,
            lang: None,
        });
    SignInView::new(locale, safe_next(query.next))
        .show(&req, &db, StatusCode::OK)
        .await
}

/// The fields of the sign-in forms.
fn sign_in_fields(form: &mut Form) -> Result<(String, Option<String>), PageError> {
    let next = safe_next(form.take("next")?);
    // The language is the page's, already read from the query; the field keeps it.
    form.take("lang")?;
    let email = form.take("email")?;
    Ok((next, email))
}

#[post("/console/sign-in/link")]
async fn ask_for_link(
    req: HttpRequest,
    form: PreSessionForm,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    throttle: web::Data<links::Throttle>,
) -> Result<HttpResponse, PageError> {
    let PreSessionForm(mut form) = form;
    let locale = request_locale(&req);
    let (next, email) = sign_in_fields(&mut form)?;
    form.finish()?;
    let email = email.unwrap_or_default().trim().to_lowercase();
    let mut view = SignInView::new(locale, next);
    if email.parse::<lettre::Address>().is_err() || email.len() > 320 {
        view.error = Some(t(locale, "sign_in_bad_email"));
        return view.show(&req, &db, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    // The peer, or what a trusted proxy says it forwarded: not a header anyone can write.
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    let network = throttle.client_network(req.peer_addr().map(|a| a.ip()), &forwarded);
    if !throttle.allow(&network, &email, clock.now()) {
        view.error = Some(t(locale, "sign_in_too_many"));
        return view.show(&req, &db, StatusCode::TOO_MANY_REQUESTS).await;
    }
    links::request(&db, &email, clock.now()).await?;
    view.email = email;
    // The same answer whether or not the address has an account.
    view.notice = Some(t(locale, "sign_in_link_sent"));
    view.show(&req, &db, StatusCode::OK).await
}

/// The link's page: one button that signs in.
#[get("/console/sign-in/link/{token}")]
async fn link_page(
    req: HttpRequest,
    token: web::Path<String>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    let locale = request_locale(&req);
    let token = token.into_inner();
    let (live,): (i64,) = sqlx::query_as(
        "select count(*) from staff_sign_in_links
         where token_hash = $1 and used_at is null and expires_at > $2",
    )
    .bind(hash_secret(&token))
    .bind(to_db(clock.now()))
    .fetch_one(db.pool())
    .await?;
    let mut view = SignInView::new(locale, BASE.to_owned());
    if live == 0 || token.len() > 128 {
        view.error = Some(t(locale, "sign_in_link_invalid"));
        return view.show(&req, &db, StatusCode::GONE).await;
    }
    view.confirm = Some(token);
    view.show(&req, &db, StatusCode::OK).await
}

/// Starts a session for `staff_id` and goes to `next`.
async fn start(
    req: &HttpRequest,
    db: &Db,
    staff_id: &str,
    now: DateTime<Utc>,
    next: &str,
) -> Result<HttpResponse, PageError> {
    let (token, _) = sessions::start(db, staff_id, now).await?;
    let mut session = cookie(req, sessions::COOKIE, token);
    // The browser forgets it by itself when the session could no longer be used anyway.
    session.set_max_age(CookieDuration::seconds(sessions::LIFETIME.num_seconds()));
    let mut gone = cookie(req, PRE_SESSION_COOKIE, String::new());
    gone.make_removal();
    let mut response = see_other(next);
    response
        .add_cookie(&session)
        .and_then(|()| response.add_cookie(&gone))
        .map_err(|e| anyhow::anyhow!("setting the cookie: {e}"))?;
    Ok(response)
}

#[post("/console/sign-in/link/{token}")]
async fn use_link(
    req: HttpRequest,
    token: web::Path<String>,
    form: PreSessionForm,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    let PreSessionForm(mut form) = form;
    let locale = request_locale(&req);
    let next = safe_next(form.take("next")?);
    form.finish()?;
    let now = clock.now();
    match links::redeem(&db, &token, now).await? {
        Ok(staff_id) => start(&req, &db, &staff_id, now, &next).await,
        Err(links::Refused::NotValid) => {
            let mut view = SignInView::new(locale, next);
            view.error = Some(t(locale, "sign_in_link_invalid"));
            view.show(&req, &db, StatusCode::GONE).await
        }
    }
}

#[post("/console/sign-in/password")]
async fn with_password(
    req: HttpRequest,
    form: PreSessionForm,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    let PreSessionForm(mut form) = form;
    let locale = request_locale(&req);
    let (next, email) = sign_in_fields(&mut form)?;
    let password = form.take("password")?.unwrap_or_default();
    form.finish()?;
    let email = email.unwrap_or_default().trim().to_lowercase();
    let mut view = SignInView::new(locale, next.clone());
    view.password_open = true;
    if password.chars().count() > passwords::MAX_LEN || email.len() > 320 {
        view.error = Some(t(locale, "sign_in_wrong_password"));
        return view.show(&req, &db, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let now = clock.now();
    let member: Option<(String, Option<String>, i64, Option<String>)> = sqlx::query_as(
        "select id, password_hash, failed_passwords, failed_since from staff
         where email = $1 and role is not null and disabled_at is null",
    )
    .bind(&email)
    .fetch_optional(db.pool())
    .await?;
    let since = |s: &Option<String>| {
        s.as_deref()
            .and_then(|s| crate::platform::db::time::from_db(s).ok())
    };
    // Five wrong passwords in a row lock password sign-ins for fifteen minutes: guessing
    // takes years, not an afternoon. A link still signs the member in.
    if let Some((_, _, failed, first)) = &member {
        if *failed >= passwords::MAX_FAILURES
            && since(first).is_some_and(|f| now - f < passwords::LOCKOUT)
        {
            tracing::info!("a password sign-in refused: too many wrong passwords");
            view.email = email;
            view.error = Some(t(locale, "sign_in_locked"));
            return view.show(&req, &db, StatusCode::TOO_MANY_REQUESTS).await;
        }
    }
    let (id, stored, first) = member.map_or((None, None, None), |(id, h, _, f)| (Some(id), h, f));
    // Verified even for an unknown address: the time taken tells nobody who has an account.
    let matches = passwords::verify(stored, password).await?;
    match id {
        Some(id) if matches => {
            sqlx::query("update staff set failed_passwords = 0, failed_since = null where id = $1")
                .bind(&id)
                .execute(db.pool())
                .await?;
            start(&req, &db, &id, now, &next).await
        }
        _ => {
            if let Some(id) = &id {
                // A new run of failures once the last one is older than the lockout.
                let fresh = since(&first).is_none_or(|f| now - f >= passwords::LOCKOUT);
                let counted = if fresh {
                    sqlx::query(
                        "update staff set failed_passwords = 1, failed_since = $1 where id = $2",
                    )
                    .bind(crate::platform::db::time::to_db(now))
                    .bind(id)
                } else {
                    sqlx::query(
                        "update staff set failed_passwords = failed_passwords + 1 where id = $1",
                    )
                    .bind(id)
                };
                counted.execute(db.pool()).await?;
            }
            tracing::info!("a password sign-in failed");
            view.email = email;
            view.error = Some(t(locale, "sign_in_wrong_password"));
            view.show(&req, &db, StatusCode::UNAUTHORIZED).await
        }
    }
}

#[post("/console/sign-out")]
async fn sign_out(
    req: HttpRequest,
    posted: Posted,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    let Posted { signed, form } = posted;
    form.finish()?;
    sessions::end(&db, &signed.0.id, clock.now()).await?;
    let mut gone = cookie(&req, sessions::COOKIE, String::new());
    gone.make_removal();
    let mut response = see_other(&format!("{BASE}/sign-in"));
    response
        .add_cookie(&gone)
        .map_err(|e| anyhow::anyhow!("clearing the cookie: {e}"))?;
    Ok(response)
}

/// The handler of [`JobKind::SignInEmail`]: makes the link's token and emails it.
pub struct SignInEmails {
    pub email: Arc<EmailContext>,
}

impl SignInEmails {
    async fn send(&self, job: &Job, now: DateTime<Utc>) -> Result<Outcome, Failure> {
        let LinkJob { link_id } = job.payload().map_err(Failure::from)?;
        let Some((member, token)) = links::issue(&self.email.db, &link_id, now)
            .await
            .map_err(Failure::from)?
        else {
            // Expired or used while queued, or its member disabled: nothing to send.
            return Ok(Outcome::Skipped(Vec::new()));
        };
        let locale = Locale::parse(&member.locale).unwrap_or_default();
        let url = format!("{}/console/sign-in/link/{token}", self.email.public_url);
        let rendered = self
            .email
            .templates
            .render(
                "sign_in",
                locale,
                json!({ "name": member.name, "url": url }),
            )
            .map_err(Failure::from)?;
        let id = message_id(&job.id, Some(job.attempts), &self.email.from);
        if staff::send_with_id(&self.email, &[member.email], rendered, id).await? {
            Ok(Outcome::Performed(Vec::new()))
        } else {
            Ok(Outcome::Skipped(Vec::new()))
        }
    }
}

impl Handler for SignInEmails {
    fn kind(&self) -> JobKind {
        JobKind::SignInEmail
    }

    fn perform<'a>(&'a self, jobs: Vec<Job>, now: DateTime<Utc>) -> BoxFuture<'a, Vec<JobResult>> {
        Box::pin(one_by_one(jobs, move |job| async move {
            let result = self.send(&job, now).await;
            (job, result)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn after_signing_in_one_only_goes_to_a_console_page() {
        assert_eq!(
            safe_next(Some("/console/deals?x=1".into())),
            "/console/deals?x=1"
        );
        for hostile in [
            "/console/\n",
            "/console/\u{e9}",
            "https://evil.example/",
            "//evil.example",
            "/consolex/../../",
            "/console\\evil",
            "/console/sign-in/link/x",
        ] {
            let to = safe_next(Some(hostile.into()));
            assert!(
                to == "/console" || to.starts_with("/console/") && !to.contains("sign-in"),
                "{hostile} -> {to}"
            );
        }
        assert_eq!(safe_next(None), "/console");
    }
}
