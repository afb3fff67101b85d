//! The team (admins only): who may sign in and as what, and the API keys machines use.
//! And each member's own account: their language and password.

use super::page::{render, render_with_status, see_other, PageError, Posted, Section, Signed};
use crate::app::clock::Clock;
use crate::auth::members::set_access;
use crate::auth::{self, links, passwords, sessions, Member, Role};
use crate::platform::db::{time::to_db, Db};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use debrief_common::Locale;
use serde_json::{json, Map, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(team)
        .service(add_member)
        .service(change_member)
        .service(add_key)
        .service(revoke_key)
        .service(account)
        .service(account_language)
        .service(account_password);
}

fn admin(signed: &Signed) -> Result<(), PageError> {
    if signed.0.staff.role == Role::Admin {
        Ok(())
    } else {
        Err(PageError::Forbidden(signed.locale()))
    }
}

/// The roles a person may hold (integration is a machine's).
fn person_roles() -> impl Iterator<Item = Role> {
    Role::ALL
        .iter()
        .copied()
        .filter(|r| *r != Role::Integration)
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    id: String,
    name: String,
    email: String,
    role: Option<String>,
    locale: String,
    disabled_at: Option<String>,
    has_password: i64,
    accounts: i64,
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: String,
    name: String,
    role: String,
    created_at: String,
    revoked_at: Option<String>,
    holder: Option<String>,
}

async fn team_data(db: &Db, signed: &Signed) -> Result<Map<String, Value>, PageError> {
    let t = super::page::pages().sentences(signed.locale());
    let members: Vec<MemberRow> = sqlx::query_as(
        "select s.id, s.name, s.email, s.role, s.locale, s.disabled_at,
                case when s.password_hash is null then 0 else 1 end as has_password,
                (select count(*) from accounts a where a.manager_email = s.email) as accounts
         from staff s order by s.disabled_at is not null, s.name, s.email",
    )
    .fetch_all(db.pool())
    .await?;
    let keys: Vec<KeyRow> = sqlx::query_as(
        "select k.id, k.name, k.role, k.created_at, k.revoked_at, s.email as holder
         from api_keys k left join staff s on s.id = k.staff_id
         order by k.revoked_at is not null, k.created_at desc",
    )
    .fetch_all(db.pool())
    .await?;
    // A member's choices start with "no access": a member without a role (an
    // interviewer, a key's holder) must not show, and so be saved as, the first role.
    let role_options = |current: Option<&str>, none: bool| -> Vec<Value> {
        let no_access =
            json!({ "value": "", "label": t("team_no_role"), "selected": current.is_none() });
        none.then_some(no_access)
            .into_iter()
            .chain(person_roles().map(|r| {
                json!({
                    "value": r.as_str(),
                    "label": t(&format!("role_{}", r.as_str())),
                    "selected": current == Some(r.as_str()),
                })
            }))
            .collect()
    };
    let locale_options = |current: &str| -> Vec<Value> {
        Locale::ALL
            .iter()
            .map(|l| json!({ "value": l.code(), "label": l.code().to_uppercase(), "selected": l.code() == current }))
            .collect()
    };
    let members: Vec<Value> = members
        .into_iter()
        .map(|m| {
            json!({
                "id": m.id,
                "name": m.name,
                "email": m.email,
                "role": m.role.as_deref().map(|r| t(&format!("role_{r}"))),
                "roles": role_options(m.role.as_deref(), true),
                "locales": locale_options(&m.locale),
                "disabled": m.disabled_at.is_some(),
                "password": m.has_password == 1,
                "accounts": (m.role.as_deref() == Some("account_manager")).then_some(m.accounts),
                "me": signed.0.staff.member.as_ref().is_some_and(|(id, _)| *id == m.id),
            })
        })
        .collect();
    let keys: Vec<Value> = keys
        .into_iter()
        .map(|k| {
            json!({
                "id": k.id,
                "name": k.name,
                "role": k.role,
                "holder": k.holder,
                "created": k.created_at.get(..10),
                "revoked": k.revoked_at.as_deref().and_then(|r| r.get(..10)),
            })
        })
        .collect();
    let key_roles: Vec<Value> = Role::ALL
        .iter()
        .map(|r| json!({ "value": r.as_str(), "label": r.as_str() }))
        .collect();
    Ok(crate::web::pages::object(json!({
        "members": members,
        "keys": keys,
        "roles": role_options(Some("analyst"), false),
        "key_roles": key_roles,
        "locales": locale_options(signed.locale().code()),
        "new_key": null,
        "errors": [],
        "notice": null,
    })))
}

#[get("/console/team")]
async fn team(signed: Signed, db: web::Data<Db>) -> Result<HttpResponse, PageError> {
    admin(&signed)?;
    let data = team_data(&db, &signed).await?;
    Ok(render(&signed, Section::Team, "team", data))
}

/// The team page again with what went wrong, named.
async fn team_with(
    signed: &Signed,
    db: &Db,
    status: StatusCode,
    extra: Value,
) -> Result<HttpResponse, PageError> {
    let mut data = team_data(db, signed).await?;
    super::page::merge(&mut data, extra);
    Ok(render_with_status(
        signed,
        Section::Team,
        status,
        "team",
        data,
    ))
}

fn field_error(field: &str, message: impl Into<String>) -> Value {
    json!([{ "field": field, "message": message.into() }])
}

#[post("/console/team/members")]
async fn add_member(
    posted: Posted,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    let Posted { signed, mut form } = posted;
    admin(&signed)?;
    let name = form.take("name")?.unwrap_or_default();
    let email = form.take("email")?.unwrap_or_default();
    let role = form.take("role")?.unwrap_or_default();
    let locale = form.take("locale")?.unwrap_or_default();
    form.finish()?;
    let member = match Member::new(&name, &email, None) {
        Ok(m) => m,
        Err(crate::web::error::ApiError::Validation(fields)) => {
            let errors = super::page::field_errors(&fields);
            return team_with(
                &signed,
                &db,
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({ "errors": errors }),
            )
            .await;
        }
        Err(e) => return Err(PageError::from_api(signed.locale(), e)),
    };
    let Some(role) = role
        .parse::<Role>()
        .ok()
        .filter(|r| *r != Role::Integration)
    else {
        return team_with(&signed, &db, StatusCode::UNPROCESSABLE_ENTITY, json!({ "errors": field_error("role", "must be admin, program_owner, account_manager or analyst") })).await;
    };
    let Ok(locale) = Locale::parse(&locale) else {
        return team_with(
            &signed,
            &db,
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "errors": field_error("locale", "must be en or fr") }),
        )
        .await;
    };
    let now = clock.now();
    let id = auth::upsert_member(&db, &member).await?;
    set_access(&db, &id, Some(role), locale, now).await?;
    // Their first sign-in link, by email: the invitation to the console.
    links::request(&db, &member.email, now).await?;
    Ok(see_other("/console/team"))
}

#[post("/console/team/members/{id}")]
async fn change_member(
    posted: Posted,
    id: web::Path<String>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    let Posted { signed, mut form } = posted;
    admin(&signed)?;
    let role = form.take("role")?;
    let locale = form.take("locale")?;
    let action = form.take("action")?.unwrap_or_else(|| "save".into());
    form.finish()?;
    let found: Option<(Option<String>, String, Option<String>)> =
        sqlx::query_as("select role, locale, disabled_at from staff where id = $1")
            .bind(id.as_str())
            .fetch_optional(db.pool())
            .await?;
    let Some((current_role, current_locale, _)) = found else {
        return Err(PageError::NotFound(signed.locale()));
    };
    let me = signed
        .0
        .staff
        .member
        .as_ref()
        .is_some_and(|(m, _)| *m == *id);
    let now = clock.now();
    match action.as_str() {
        "disable" | "enable" => {
            if me {
                return team_with(
                    &signed,
                    &db,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({ "errors": field_error("action", "you cannot disable yourself") }),
                )
                .await;
            }
            let disabled = (action == "disable").then(|| to_db(now));
            sqlx::query("update staff set disabled_at = $1, updated_at = $2 where id = $3")
                .bind(disabled)
                .bind(to_db(now))
                .bind(id.as_str())
                .execute(db.pool())
                .await?;
            sessions::end_all(&db, &id, now).await?;
        }
        "save" => {
            let role = match role.as_deref() {
                None => current_role.and_then(|r| r.parse::<Role>().ok()),
                // No access: they keep their record (interviews, keys) but cannot sign in.
                Some("") => None,
                Some(r) => match r.parse::<Role>().ok().filter(|r| *r != Role::Integration) {
                    Some(r) => Some(r),
                    None => return team_with(&signed, &db, StatusCode::UNPROCESSABLE_ENTITY, json!({ "errors": field_error("role", "must be admin, program_owner, account_manager or analyst") })).await,
                },
            };
            if me && role != Some(Role::Admin) {
                return team_with(&signed, &db, StatusCode::UNPROCESSABLE_ENTITY, json!({ "errors": field_error("role", "you cannot take your own admin role away") })).await;
            }
            let locale = match Locale::parse(locale.as_deref().unwrap_or(&current_locale)) {
                Ok(l) => l,
                Err(_) => {
                    return team_with(
                        &signed,
                        &db,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        json!({ "errors": field_error("locale", "must be en or fr") }),
                    )
                    .await
                }
            };
            set_access(&db, &id, role, locale, now).await?;
        }
        _ => {
            return Err(PageError::field(
                signed.locale(),
                "action",
                "must be save, disable or enable",
            ));
        }
    }
    Ok(see_other("/console/team"))
}

#[post("/console/team/keys")]
async fn add_key(posted: Posted, db: web::Data<Db>) -> Result<HttpResponse, PageError> {
    let Posted { signed, mut form } = posted;
    admin(&signed)?;
    let name = form.take("name")?.unwrap_or_default();
    let role = form.take("role")?.unwrap_or_default();
    let holder = form.take("holder")?.filter(|h| !h.trim().is_empty());
    form.finish()?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return team_with(
            &signed,
            &db,
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "errors": field_error("name", "must be 1 to 200 characters") }),
        )
        .await;
    }
    let Ok(role) = role.parse::<Role>() else {
        return team_with(
            &signed,
            &db,
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "errors": field_error("role", "must be one of the roles listed") }),
        )
        .await;
    };
    let holder = match holder {
        None if role == Role::AccountManager => {
            return team_with(&signed, &db, StatusCode::UNPROCESSABLE_ENTITY, json!({ "errors": field_error("holder", "an account manager's key needs their email address") })).await;
        }
        None => None,
        Some(email) => {
            let found: Option<(String, String)> =
                sqlx::query_as("select name, email from staff where email = $1")
                    .bind(email.trim().to_lowercase())
                    .fetch_optional(db.pool())
                    .await?;
            match found {
                Some((name, email)) => Some(Member {
                    name,
                    email,
                    time_zone: None,
                }),
                None => {
                    return team_with(&signed, &db, StatusCode::UNPROCESSABLE_ENTITY, json!({ "errors": field_error("holder", "must be the address of a member of the team") })).await;
                }
            }
        }
    };
    let key = auth::create_key(&db, name, role, holder.as_ref()).await?;
    // Shown once, on this page only: the page is not cached, and the key is not stored.
    team_with(
        &signed,
        &db,
        StatusCode::OK,
        json!({ "new_key": { "name": name, "key": key } }),
    )
    .await
}

#[post("/console/team/keys/{id}/revoke")]
async fn revoke_key(
    posted: Posted,
    id: web::Path<String>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    let Posted { signed, form } = posted;
    admin(&signed)?;
    form.finish()?;
    let revoked =
        sqlx::query("update api_keys set revoked_at = $1 where id = $2 and revoked_at is null")
            .bind(to_db(clock.now()))
            .bind(id.as_str())
            .execute(db.pool())
            .await?;
    if revoked.rows_affected() == 0 {
        return Err(PageError::NotFound(signed.locale()));
    }
    Ok(see_other("/console/team"))
}

async fn account_page(
    signed: &Signed,
    db: &Db,
    status: StatusCode,
    extra: Value,
) -> Result<HttpResponse, PageError> {
    let (id, email) = signed
        .0
        .staff
        .member
        .clone()
        .ok_or(PageError::Forbidden(signed.locale()))?;
    let (has_password,): (i64,) = sqlx::query_as(
        "select case when password_hash is null then 0 else 1 end from staff where id = $1",
    )
    .bind(&id)
    .fetch_one(db.pool())
    .await?;
    let t = super::page::pages().sentences(signed.locale());
    let locales: Vec<Value> = Locale::ALL
        .iter()
        .map(|l| json!({ "value": l.code(), "label": l.code().to_uppercase(), "selected": *l == signed.locale() }))
        .collect();
    let mut data = crate::web::pages::object(json!({
        "name": signed.0.staff.name,
        "email": email,
        "role": t(&format!("role_{}", signed.0.staff.role.as_str())),
        "has_password": has_password == 1,
        "locales": locales,
        "errors": [],
        "notice": null,
        "min_len": passwords::MIN_LEN,
    }));
    super::page::merge(&mut data, extra);
    Ok(render_with_status(
        signed,
        Section::Account,
        status,
        "account",
        data,
    ))
}

#[get("/console/account")]
async fn account(signed: Signed, db: web::Data<Db>) -> Result<HttpResponse, PageError> {
    account_page(&signed, &db, StatusCode::OK, json!({})).await
}

#[post("/console/account/language")]
async fn account_language(
    posted: Posted,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    let Posted { signed, mut form } = posted;
    let locale = form.required("locale")?;
    form.finish()?;
    let Ok(locale) = Locale::parse(&locale) else {
        return Err(PageError::field(
            signed.locale(),
            "locale",
            "must be en or fr",
        ));
    };
    let Some((id, _)) = signed.0.staff.member.as_ref() else {
        return Err(PageError::Forbidden(signed.locale()));
    };
    sqlx::query("update staff set locale = $1, updated_at = $2 where id = $3")
        .bind(locale.code())
        .bind(to_db(clock.now()))
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(see_other("/console/account"))
}

#[post("/console/account/password")]
async fn account_password(
    posted: Posted,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    let Posted { signed, mut form } = posted;
    let current = form.take("current")?.unwrap_or_default();
    let new = form.take("password")?.unwrap_or_default();
    let confirm = form.take("confirm")?.unwrap_or_default();
    form.finish()?;
    let Some((id, _)) = signed.0.staff.member.clone() else {
        return Err(PageError::Forbidden(signed.locale()));
    };
    let invalid = |field: &str, message: &str| json!({ "errors": field_error(field, message) });
    let (stored,): (Option<String>,) =
        sqlx::query_as("select password_hash from staff where id = $1")
            .bind(&id)
            .fetch_one(db.pool())
            .await?;
    // A first password takes a fresh sign-in: a session left open (or stolen) must not
    // become a lasting way in.
    if stored.is_none() && clock.now() - signed.0.started > chrono::Duration::minutes(10) {
        return account_page(
            &signed,
            &db,
            StatusCode::UNPROCESSABLE_ENTITY,
            invalid("password", "sign in again with a link from your email first (a first password needs a sign-in from the last 10 minutes)"),
        )
        .await;
    }
    // Changing a password takes the old one: a session left open is not enough.
    if stored.is_some()
        && !passwords::verify(
            stored,
            current.chars().take(passwords::MAX_LEN + 1).collect(),
        )
        .await?
    {
        return account_page(
            &signed,
            &db,
            StatusCode::UNPROCESSABLE_ENTITY,
            invalid("current", "is not your current password"),
        )
        .await;
    }
    if let Err(message) = passwords::check(&new) {
        return account_page(
            &signed,
            &db,
            StatusCode::UNPROCESSABLE_ENTITY,
            invalid("password", &message),
        )
        .await;
    }
    if new != confirm {
        return account_page(
            &signed,
            &db,
            StatusCode::UNPROCESSABLE_ENTITY,
            invalid("confirm", "must repeat the new password"),
        )
        .await;
    }
    let hashed = passwords::hash(new).await?;
    sqlx::query("update staff set password_hash = $1, updated_at = $2 where id = $3")
        .bind(hashed)
        .bind(to_db(clock.now()))
        .bind(&id)
        .execute(db.pool())
        .await?;
    sessions::end_others(&db, &id, &signed.0.id, clock.now()).await?;
    let t = super::page::pages().sentences(signed.locale());
    account_page(
        &signed,
        &db,
        StatusCode::OK,
        json!({ "notice": t("account_password_saved"), "has_password": true }),
    )
    .await
}
