//! The staff console as a browser without script meets it: pages fetched with the
//! cookies the server set, forms posted with the CSRF secret the page carried, redirects
//! followed by hand so a test can read each step.

use crate::{camille_and_lee, lost_deal, TestApp};
use debrief_common::Locale;
use debrief_server::auth::{self, links, members, Role};
use serde_json::json;
use std::collections::BTreeMap;

/// A page or a redirect.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    /// Every `Set-Cookie` line, as sent.
    pub set_cookies: Vec<String>,
    pub headers: reqwest::header::HeaderMap,
}

impl Page {
    /// The value of the first `name="_csrf"` field of the page.
    pub fn csrf(&self) -> String {
        field_value(&self.body, "_csrf").unwrap_or_else(|| panic!("no CSRF field in {}", self.body))
    }

    /// The `Set-Cookie` line that sets `name`.
    pub fn cookie_line(&self, name: &str) -> Option<&str> {
        self.set_cookies
            .iter()
            .map(String::as_str)
            .find(|l| l.starts_with(&format!("{name}=")))
    }
}

/// The value of the first input named `name` in `html`.
pub fn field_value(html: &str, name: &str) -> Option<String> {
    let pattern = format!(r#"name="{name}" value=""#);
    let at = html.find(&pattern)?;
    let rest = &html[at + pattern.len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// One visitor: a cookie jar and the app's address.
pub struct Visitor {
    pub address: String,
    pub cookies: BTreeMap<String, String>,
    http: reqwest::Client,
}

impl Visitor {
    pub fn new(app: &TestApp) -> Visitor {
        Visitor {
            address: app.address.clone(),
            cookies: BTreeMap::new(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(&mut self, response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let set_cookies: Vec<String> = headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect();
        for line in &set_cookies {
            let pair = line.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                let removed = line.to_ascii_lowercase().contains("max-age=0");
                if v.is_empty() || removed {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        let body = response.text().await.unwrap_or_default();
        Page {
            status,
            location,
            body,
            set_cookies,
            headers,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.address)
        };
        let response = self
            .http
            .get(url)
            .header("Cookie", self.cookie_header())
            .send()
            .await
            .expect("request");
        self.read(response).await
    }

    /// Posts `fields` as a form, exactly as given (no CSRF added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let response = self
            .http
            .post(format!("{}{path}", self.address))
            .header("Cookie", self.cookie_header())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("request");
        self.read(response).await
    }

    /// Posts `fields` with the CSRF secret of `page`, as the page's form would.
    pub async fn post(&mut self, page: &Page, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = page.csrf();
        let mut all = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Follows redirects from `page` until a page.
    pub async fn follow(&mut self, mut page: Page) -> Page {
        for _ in 0..5 {
            match (page.status, page.location.clone()) {
                (301..=308, Some(to)) => page = self.get(&to).await,
                _ => return page,
            }
        }
        page
    }
}

/// A console member with `role`, signed in through a one-time link as the command line
/// prints it (stories about signing in by email do it by email).
pub async fn signed_in(app: &TestApp, role: Role, name: &str, email: &str) -> Visitor {
    signed_in_with(app, role, name, email, Locale::En).await
}

/// A member of the team with `role`, as an admin adds them: their id.
pub async fn member(app: &TestApp, role: Role, name: &str, email: &str, locale: Locale) -> String {
    let member = auth::Member::new(name, email, None).expect("member");
    let id = auth::upsert_member(&app.db, &member).await.expect("stored");
    members::set_access(&app.db, &id, Some(role), locale, app.clock.now())
        .await
        .expect("access");
    id
}

pub async fn signed_in_with(
    app: &TestApp,
    role: Role,
    name: &str,
    email: &str,
    locale: Locale,
) -> Visitor {
    let id = member(app, role, name, email, locale).await;
    let token = links::mint(&app.db, &id, app.clock.now())
        .await
        .expect("link");
    let mut visitor = Visitor::new(app);
    let page = visitor.get(&format!("/console/sign-in/link/{token}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let signed = visitor
        .post(
            &page,
            &format!("/console/sign-in/link/{token}"),
            &[("next", "/console")],
        )
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert!(visitor.cookies.contains_key("debrief_session"));
    visitor
}

/// Two lost deals of 29 November 2026 under a program with a catalogue: Ana's (Globex,
/// S-1, Camille and Lee) and Bob's (Initech, O-1); their survey emails already out.
pub async fn ana_and_bobs_deals(app: &mut TestApp) {
    app.set_clock("2026-11-29T17:00:00Z");
    app.put_program(&json!({
        "name": "Win-loss",
        "contact_policy": { "person_cooldown_days": 90, "account_max_per_decision": 3 },
        "incentives": [
            { "key": "eur_100", "kind": "money", "amount": { "minor_units": 10000, "currency": "EUR" } }
        ],
        "segments": [{ "key": "all", "name": "All", "method": "survey" }]
    }))
    .await;
    let mut ours = lost_deal("S-1");
    ours["decided_at"] = json!("2026-11-29T15:00:00Z");
    ours["contacts"] = camille_and_lee();
    assert_eq!(app.post_decision(&ours).await.status, 201);
    let mut theirs = lost_deal("O-1");
    theirs["decided_at"] = json!("2026-11-29T14:00:00Z");
    theirs["account"] = json!({ "name": "Initech", "manager": { "name": "Bob Stone", "email": "bob@acme.example" } });
    theirs["contacts"][0]["email"] = json!("peter@initech.example");
    assert_eq!(app.post_decision(&theirs).await.status, 201);
    app.deliver().await;
    while app.smtp.try_next_mail().is_some() {}
}
