//! What every console page shares: the signed-in [`Session`] (or a redirect to sign in),
//! forms read by hand with their CSRF secret checked, the layout with the navigation of
//! the member's role, one message catalogue per locale, and the headers: a strict
//! Content-Security-Policy (scripts and styles from Debrief's own files only, nothing
//! inline), no caching, no framing.

use crate::app::clock::Clock;
use crate::auth::sessions::{self, Session};
use crate::auth::{Permission, Role};
use crate::platform::db::Db;
use crate::web::error::ApiError;
use crate::web::extract::read_body;
use crate::web::pages::{object, Pages};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use debrief_common::{FieldError, Locale};
use futures_util::future::LocalBoxFuture;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// Scripts and styles from Debrief's own files, nothing inline; charts are inline SVG
/// (markup, not script). Forms post to Debrief only, and no site may frame a page; a page
/// may frame Debrief's own (the survey editor's widget preview).
pub const CONTENT_SECURITY_POLICY: &str = concat!(
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; ",
    "connect-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; ",
    "base-uri 'none'"
);

/// Where the console lives; its cookies are sent nowhere else.
pub const BASE: &str = "/console";

/// The cookie of the double-submitted CSRF secret on the forms shown before a session
/// exists (signing in): the form's copy must equal the cookie's, which another site can
/// neither read nor set.
pub const PRE_SESSION_COOKIE: &str = "debrief_csrf";

/// Largest form the console accepts.
const FORM_LIMIT: usize = 256 * 1024;

/// `(name, source)` of every console template.
const TEMPLATES: [(&str, &str); 19] = [
    ("guide", include_str!("../../templates/console/guide.hbs")),
    ("survey", include_str!("../../templates/console/survey.hbs")),
    ("layout", include_str!("../../templates/console/layout.hbs")),
    (
        "sign_in",
        include_str!("../../templates/console/sign_in.hbs"),
    ),
    ("error", include_str!("../../templates/console/error.hbs")),
    ("team", include_str!("../../templates/console/team.hbs")),
    (
        "account",
        include_str!("../../templates/console/account.hbs"),
    ),
    (
        "dashboard",
        include_str!("../../templates/console/dashboard.hbs"),
    ),
    ("deals", include_str!("../../templates/console/deals.hbs")),
    ("deal", include_str!("../../templates/console/deal.hbs")),
    (
        "invitations",
        include_str!("../../templates/console/invitations.hbs"),
    ),
    ("coding", include_str!("../../templates/console/coding.hbs")),
    ("search", include_str!("../../templates/console/search.hbs")),
    ("alerts", include_str!("../../templates/console/alerts.hbs")),
    (
        "settings",
        include_str!("../../templates/console/settings.hbs"),
    ),
    (
        "alert_rule",
        include_str!("../../templates/console/alert_rule.hbs"),
    ),
    (
        "program",
        include_str!("../../templates/console/program.hbs"),
    ),
    (
        "segment",
        include_str!("../../templates/console/segment.hbs"),
    ),
    (
        "operations",
        include_str!("../../templates/console/operations.hbs"),
    ),
];

const CATALOGUES: [(Locale, &str); 2] = [
    (Locale::En, include_str!("../../locales/console/en.json")),
    (Locale::Fr, include_str!("../../locales/console/fr.json")),
];

static PAGES: LazyLock<Pages> = LazyLock::new(|| {
    // Compiled in and checked by the tests below: a failure here is a build that never
    // passed them.
    Pages::from_sources(&TEMPLATES, &CATALOGUES)
        .expect("the console templates and catalogues compiled into this build load")
});

pub fn pages() -> &'static Pages {
    &PAGES
}

/// A place in the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Dashboard,
    Program,
    Deals,
    Invitations,
    Coding,
    Search,
    Operations,
    Team,
    Account,
}

impl Section {
    const ALL: [Section; 9] = [
        Section::Dashboard,
        Section::Program,
        Section::Deals,
        Section::Invitations,
        Section::Coding,
        Section::Search,
        Section::Operations,
        Section::Team,
        Section::Account,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Section::Dashboard => "/console/dashboard",
            Section::Program => "/console/program",
            Section::Deals => "/console/deals",
            Section::Invitations => "/console/invitations",
            Section::Coding => "/console/coding",
            Section::Search => "/console/insights",
            Section::Operations => "/console/operations",
            Section::Team => "/console/team",
            Section::Account => "/console/account",
        }
    }

    fn label_key(self) -> &'static str {
        match self {
            Section::Dashboard => "nav_dashboard",
            Section::Program => "nav_program",
            Section::Deals => "nav_deals",
            Section::Invitations => "nav_invitations",
            Section::Coding => "nav_coding",
            Section::Search => "nav_search",
            Section::Operations => "nav_operations",
            Section::Team => "nav_team",
            Section::Account => "nav_account",
        }
    }

    /// Whether `role` may open it: by the permission its pages need, as the API checks.
    pub fn open_to(self, role: Role) -> bool {
        match self {
            Section::Dashboard => role.can(Permission::ReadParticipation),
            Section::Program => role.can(Permission::ManageProgram),
            // An account manager's own deals and invitations; others see every account's.
            Section::Deals | Section::Invitations => role.can(Permission::InviteToInterview),
            Section::Coding => role.can(Permission::CodeInsights),
            Section::Search => role.can(Permission::ReadInsights),
            Section::Operations => role.can(Permission::ManageDelivery),
            Section::Team => role == Role::Admin,
            Section::Account => true,
        }
    }

    /// Where a member lands after signing in: the first page of their work.
    pub fn home(role: Role) -> Section {
        match role {
            Role::AccountManager => Section::Deals,
            Role::Analyst => Section::Coding,
            _ => Section::Dashboard,
        }
    }
}

/// A console page that went wrong, shown in the member's language when known.
#[derive(Debug)]
pub enum PageError {
    /// No session: to the sign-in page, then back to `next`.
    SignIn {
        next: String,
    },
    /// Signed in, but their role may not open this.
    Forbidden(Locale),
    NotFound(Locale),
    /// A form or a parameter at fault, named.
    Invalid(Locale, Vec<FieldError>),
    /// The form's CSRF secret is missing or not the session's.
    Csrf(Locale),
    TooLarge(Locale),
    Unexpected(anyhow::Error),
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PageError::SignIn { .. } => "sign in",
            PageError::Forbidden(_) => "forbidden",
            PageError::NotFound(_) => "not found",
            PageError::Invalid(..) => "invalid",
            PageError::Csrf(_) => "csrf",
            PageError::TooLarge(_) => "too large",
            PageError::Unexpected(_) => "unexpected",
        })
    }
}

impl From<anyhow::Error> for PageError {
    fn from(e: anyhow::Error) -> Self {
        PageError::Unexpected(e)
    }
}

impl From<sqlx::Error> for PageError {
    fn from(e: sqlx::Error) -> Self {
        PageError::Unexpected(e.into())
    }
}

impl PageError {
    /// The API's answer to the same request, as a page.
    pub fn from_api(locale: Locale, e: ApiError) -> PageError {
        match e {
            ApiError::Validation(fields) => PageError::Invalid(locale, fields),
            ApiError::Forbidden { .. } | ApiError::Unauthorized => PageError::Forbidden(locale),
            ApiError::NotFound(_) | ApiError::Gone(_) => PageError::NotFound(locale),
            ApiError::PayloadTooLarge { .. } => PageError::TooLarge(locale),
            ApiError::Unexpected(e) => PageError::Unexpected(e),
            other => PageError::Invalid(locale, vec![FieldError::new("body", other.to_string())]),
        }
    }

    pub fn field(locale: Locale, field: &str, message: impl Into<String>) -> PageError {
        PageError::Invalid(locale, vec![FieldError::new(field, message)])
    }
}

/// Adds `extra`'s keys to a page's `data`, replacing those it has: a page shown again
/// with what went wrong, or what was just done.
pub fn merge(data: &mut Map<String, Value>, extra: Value) {
    for (k, v) in object(extra) {
        data.insert(k, v);
    }
}

/// Fields at fault as the templates list them: `[{ field, message }]`.
pub fn field_errors(fields: &[FieldError]) -> Value {
    fields
        .iter()
        .map(|f| json!({ "field": f.field, "message": f.message }))
        .collect()
}

/// Turns the API's errors into pages in `locale`: `result.page(locale)?`.
pub trait OrPage<T> {
    fn page(self, locale: Locale) -> Result<T, PageError>;
}

impl<T> OrPage<T> for Result<T, ApiError> {
    fn page(self, locale: Locale) -> Result<T, PageError> {
        self.map_err(|e| PageError::from_api(locale, e))
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::SignIn { .. } => StatusCode::SEE_OTHER,
            PageError::Forbidden(_) | PageError::Csrf(_) => StatusCode::FORBIDDEN,
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::Invalid(..) => StatusCode::UNPROCESSABLE_ENTITY,
            PageError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            PageError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (locale, key, fields) = match self {
            PageError::SignIn { next } => {
                let to = format!(
                    "{BASE}/sign-in?next={}",
                    form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, to))
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .finish();
            }
            PageError::Forbidden(l) => (*l, "error_forbidden", &[][..]),
            PageError::NotFound(l) => (*l, "error_not_found", &[][..]),
            PageError::Invalid(l, fields) => (*l, "error_invalid", fields.as_slice()),
            PageError::Csrf(l) => (*l, "error_csrf", &[][..]),
            PageError::TooLarge(l) => (*l, "error_too_large", &[][..]),
            PageError::Unexpected(e) => {
                tracing::error!(error = ?e, "a console page failed");
                (Locale::default(), "error_unexpected", &[][..])
            }
        };
        let data = object(json!({ "key": key, "fields": field_errors(fields) }));
        bare(self.status_code(), locale, "error", data)
    }
}

/// Who signed in, from the session cookie; else a redirect to sign in and back.
pub struct Signed(pub Session);

impl FromRequest for Signed {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = req.cookie(sessions::COOKIE).map(|c| c.value().to_owned());
        let db = req.app_data::<web::Data<Db>>().cloned();
        let clock = req.app_data::<web::Data<Clock>>().cloned();
        // Back here after signing in, for a page; a form's target is not a page.
        let next = if req.method() == actix_web::http::Method::GET {
            match req.query_string() {
                "" => req.path().to_owned(),
                q => format!("{}?{q}", req.path()),
            }
        } else {
            BASE.to_owned()
        };
        Box::pin(async move {
            let (Some(token), Some(db), Some(clock)) = (token, db, clock) else {
                return Err(PageError::SignIn { next });
            };
            match sessions::find(&db, &token, clock.now()).await? {
                Some(session) => Ok(Signed(session)),
                None => Err(PageError::SignIn { next }),
            }
        })
    }
}

impl Signed {
    /// The page is open to their role, or a 403 page.
    pub fn may(&self, permission: Permission) -> Result<(), PageError> {
        self.0
            .staff
            .require(permission)
            .map_err(|_| PageError::Forbidden(self.0.locale))
    }

    pub fn locale(&self) -> Locale {
        self.0.locale
    }
}

/// A posted form: its fields read one by one (each known, each once unless it is a list),
/// any other field a 422 naming it.
#[derive(Debug, Default)]
pub struct Form {
    fields: BTreeMap<String, Vec<String>>,
    locale: Locale,
}

impl Form {
    fn parse(body: &[u8], locale: Locale) -> Form {
        let mut fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in form_urlencoded::parse(body) {
            fields
                .entry(k.into_owned())
                .or_default()
                .push(v.into_owned());
        }
        Form { fields, locale }
    }

    /// A field given at most once; `None` when absent.
    pub fn take(&mut self, name: &str) -> Result<Option<String>, PageError> {
        match self.fields.remove(name) {
            None => Ok(None),
            Some(mut values) if values.len() == 1 => Ok(values.pop()),
            Some(_) => Err(PageError::field(self.locale, name, "must be given once")),
        }
    }

    /// A field that must be given, trimmed and not empty.
    pub fn required(&mut self, name: &str) -> Result<String, PageError> {
        match self.take(name)? {
            Some(v) if !v.trim().is_empty() => Ok(v.trim().to_owned()),
            _ => Err(PageError::field(self.locale, name, "is required")),
        }
    }

    /// Every value of a field that may repeat (checkboxes, multiple selects).
    pub fn take_all(&mut self, name: &str) -> Vec<String> {
        self.fields.remove(name).unwrap_or_default()
    }

    /// Every field whose name starts with `prefix` (given once each), the prefix cut:
    /// forms whose fields are named after what they edit (`text:pages[0].title.fr`).
    pub fn take_prefixed(&mut self, prefix: &str) -> Result<Vec<(String, String)>, PageError> {
        let names: Vec<String> = self
            .fields
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        let mut taken = Vec::with_capacity(names.len());
        for name in names {
            let value = self.take(&name)?.unwrap_or_default();
            taken.push((name[prefix.len()..].to_owned(), value));
        }
        Ok(taken)
    }

    /// The language its errors are shown in.
    pub fn locale(&self) -> Locale {
        self.locale
    }

    /// Refuses any field not taken.
    pub fn finish(self) -> Result<(), PageError> {
        match self.fields.keys().next() {
            Some(name) => Err(PageError::field(
                self.locale,
                name,
                "is not a field of this form",
            )),
            None => Ok(()),
        }
    }
}

/// The `version` an editor's form was read at: required, so that a save never lands on a
/// version its author did not see.
pub fn read_version(form: &mut Form) -> Result<i64, PageError> {
    form.take("version")?
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|v| *v >= 0)
        .ok_or_else(|| {
            PageError::field(
                form.locale(),
                "version",
                "must be the version the page showed",
            )
        })
}

/// A form posted by a signed-in member, its CSRF secret checked.
pub struct Posted {
    pub signed: Signed,
    pub form: Form,
}

impl FromRequest for Posted {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let signed = Signed::from_request(req, payload);
        let mut payload = payload.take();
        Box::pin(async move {
            let signed = signed.await?;
            let locale = signed.locale();
            // Read before anything is refused: an unread body closes the connection.
            let body = read_body(&mut payload, FORM_LIMIT)
                .await
                .map_err(|_| PageError::TooLarge(locale))?;
            let mut form = Form::parse(&body, locale);
            let csrf = form.take("_csrf").unwrap_or_default().unwrap_or_default();
            if !signed.0.csrf_matches(&csrf) {
                return Err(PageError::Csrf(locale));
            }
            Ok(Posted { signed, form })
        })
    }
}

/// A form posted before any session (signing in), its double-submitted secret checked.
pub struct PreSessionForm(pub Form);

impl FromRequest for PreSessionForm {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let cookie = req.cookie(PRE_SESSION_COOKIE).map(|c| c.value().to_owned());
        let locale = request_locale(req);
        let mut payload = payload.take();
        Box::pin(async move {
            let body = read_body(&mut payload, FORM_LIMIT)
                .await
                .map_err(|_| PageError::TooLarge(locale))?;
            let mut form = Form::parse(&body, locale);
            let sent = form.take("_csrf").unwrap_or_default().unwrap_or_default();
            let matches = cookie.is_some_and(|c| {
                !c.is_empty() && crate::auth::hash_secret(&c) == crate::auth::hash_secret(&sent)
            });
            if !matches {
                return Err(PageError::Csrf(locale));
            }
            form.locale = locale;
            Ok(PreSessionForm(form))
        })
    }
}

/// The language of a visitor not signed in: `?lang=`, else the browser's first choice we
/// speak, else English.
pub fn request_locale(req: &HttpRequest) -> Locale {
    let asked = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| Locale::parse(&v).ok());
    asked.unwrap_or_else(|| {
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split(',')
                    .filter_map(|l| l.split(';').next())
                    .filter_map(|l| l.trim().get(..2))
                    .find_map(|l| Locale::parse(l).ok())
            })
            .unwrap_or_default()
    })
}

/// Whether cookies must be `Secure`: Debrief is served over HTTPS.
pub fn secure_cookies(req: &HttpRequest) -> bool {
    req.app_data::<web::Data<crate::app::PublicUrl>>()
        .is_some_and(|u| u.0.starts_with("https://"))
}

/// A console cookie: HttpOnly, SameSite=Lax (sent when a link from an email is followed,
/// never on another site's form posts), for the console's paths only.
pub fn cookie<'c>(req: &HttpRequest, name: &'c str, value: String) -> Cookie<'c> {
    let mut c = Cookie::new(name, value);
    c.set_path(BASE);
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_secure(secure_cookies(req));
    c
}

/// The headers every console response carries.
fn headers(response: &mut HttpResponse) {
    let h = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
}

/// A page outside the layout's navigation (signing in, errors): `template` with `data`.
pub fn bare(
    status: StatusCode,
    locale: Locale,
    template: &str,
    data: Map<String, Value>,
) -> HttpResponse {
    let page = pages().body(locale, template, data, &[]).and_then(|body| {
        let mut shell = object(json!({
            "body": body,
            "lang": locale.code(),
            "signed_in": false,
        }));
        shell.insert("title".into(), Value::String(title_of(locale, template)));
        pages().body(locale, "layout", shell, &[])
    });
    respond(status, page)
}

fn title_of(locale: Locale, template: &str) -> String {
    pages().sentences(locale)(&format!("title_{template}"))
}

fn respond(status: StatusCode, page: Result<String, handlebars::RenderError>) -> HttpResponse {
    let mut response = match page {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "a console page failed to render");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("The page could not be shown.")
        }
    };
    headers(&mut response);
    response
}

/// A page of the console for `signed`, in `section`: `template` with `data`, inside the
/// layout with the navigation of their role.
pub fn render(
    signed: &Signed,
    section: Section,
    template: &str,
    data: Map<String, Value>,
) -> HttpResponse {
    render_with_status(signed, section, StatusCode::OK, template, data)
}

pub fn render_with_status(
    signed: &Signed,
    section: Section,
    status: StatusCode,
    template: &str,
    mut data: Map<String, Value>,
) -> HttpResponse {
    let session = &signed.0;
    let locale = session.locale;
    let t = pages().sentences(locale);
    data.insert("csrf".into(), Value::String(session.csrf.clone()));
    let nav: Vec<Value> = Section::ALL
        .into_iter()
        .filter(|s| *s != Section::Account && s.open_to(session.staff.role))
        .map(|s| {
            json!({
                "href": s.path(),
                "label": t(s.label_key()),
                "current": s == section,
            })
        })
        .collect();
    let page = pages().body(locale, template, data, &[]).and_then(|body| {
        let shell = object(json!({
            "body": body,
            "lang": locale.code(),
            "title": t(&format!("title_{template}")),
            "signed_in": true,
            "nav": nav,
            "csrf": session.csrf,
            "me": {
                "name": session.staff.name,
                "role": t(&format!("role_{}", session.staff.role.as_str())),
                "account_current": section == Section::Account,
            },
        }));
        pages().body(locale, "layout", shell, &[])
    });
    respond(status, page)
}

/// After a form: to `to` (post, redirect, get), so that reloading does not post again.
pub fn see_other(to: &str) -> HttpResponse {
    let mut response = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .finish();
    headers(&mut response);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_locale_has_every_sentence_of_the_english_catalogue() {
        let english: Vec<&String> = pages()
            .catalogues()
            .next()
            .expect("English")
            .1
            .keys()
            .collect();
        for (locale, catalogue) in pages().catalogues() {
            let keys: Vec<&String> = catalogue.keys().collect();
            assert_eq!(keys, english, "{locale}");
        }
    }

    #[test]
    fn every_section_and_template_has_its_sentences() {
        for (locale, catalogue) in pages().catalogues() {
            for s in Section::ALL {
                assert!(catalogue.contains_key(s.label_key()), "{locale}: {s:?}");
            }
            for (name, _) in TEMPLATES.iter().filter(|(n, _)| *n != "layout") {
                assert!(
                    catalogue.contains_key(&format!("title_{name}")),
                    "{locale}: {name}"
                );
            }
            for role in Role::ALL {
                if *role != Role::Integration {
                    assert!(catalogue.contains_key(&format!("role_{}", role.as_str())));
                }
            }
        }
    }

    #[test]
    fn an_account_manager_sees_their_deals_and_nothing_of_the_program() {
        let open: Vec<Section> = Section::ALL
            .into_iter()
            .filter(|s| s.open_to(Role::AccountManager))
            .collect();
        assert_eq!(
            open,
            [
                Section::Deals,
                Section::Invitations,
                Section::Search,
                Section::Account
            ]
        );
        assert_eq!(Section::home(Role::AccountManager), Section::Deals);
        assert!(Section::Team.open_to(Role::Admin));
        assert!(!Section::Team.open_to(Role::ProgramOwner));
        assert!(!Section::Program.open_to(Role::Analyst));
    }

    #[test]
    fn a_form_reads_each_field_once_and_names_any_other() {
        let mut form = Form::parse(b"a=1&b=2&b=3&c=", Locale::En);
        assert_eq!(form.take("a").expect("once"), Some("1".into()));
        assert!(matches!(form.take("b"), Err(PageError::Invalid(_, f)) if f[0].field == "b"));
        assert!(matches!(form.required("c"), Err(PageError::Invalid(_, f)) if f[0].field == "c"));
        let mut form = Form::parse(b"d=x&d=y&e=1", Locale::En);
        assert_eq!(form.take_all("d"), ["x", "y"]);
        assert!(matches!(form.finish(), Err(PageError::Invalid(_, f)) if f[0].field == "e"));
    }
}
