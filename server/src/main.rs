//! `debrief`: runs the service, or manages API keys.
//!
//!     debrief [serve] [--demo]                          run the API, pages and worker
//!     debrief keys create --role ROLE [--name NAME] [--email EMAIL] [--time-zone TZ]
//!                                                       print a new staff API key; with
//!                                                       --email, for that staff member
//!     debrief staff add --role ROLE --email EMAIL --name NAME [--locale en|fr]
//!                                                       add a console member (the first
//!                                                       admin, say) and print a one-time
//!                                                       sign-in link for them
//!     debrief staff link --email EMAIL                  print a new one-time sign-in link
//!     debrief migrate                                   apply database migrations

use anyhow::{bail, Context};
use debrief_server::app::config::Settings;
use debrief_server::app::telemetry;
use debrief_server::app::Application;
use debrief_server::auth::{self, Role};
use debrief_server::demo;
use debrief_server::platform::db::Db;
use debrief_server::web::error::ApiError;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let settings = Settings::from_env()?;
    match args.as_slice() {
        [] | ["serve"] => serve(settings, false).await,
        ["--demo"] | ["serve", "--demo"] => serve(settings, true).await,
        ["migrate"] => {
            let db = Db::connect(&settings.database_url).await?;
            db.migrate().await?;
            println!("migrations applied");
            Ok(())
        }
        ["keys", "create", rest @ ..] => create_key(settings, rest).await,
        ["staff", "add", rest @ ..] => add_member(settings, rest).await,
        ["staff", "link", "--email", email] => print_link(settings, email).await,
        _ => bail!(
            "usage:\n  debrief [serve] [--demo]\n  debrief keys create --role ROLE [--name NAME] [--email EMAIL] [--time-zone TZ]\n  \
             debrief staff add --role ROLE --email EMAIL --name NAME [--locale en|fr]\n  debrief staff link --email EMAIL\n  debrief migrate\n\
             roles: {}",
            Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
        ),
    }
}

async fn serve(settings: Settings, demo: bool) -> anyhow::Result<()> {
    let app = Application::build(settings.clone()).await?;
    let url = app.public_url().to_owned();

    // The first start has no key: make one and show it once, on the console only.
    if auth::active_key_count(app.db()).await? == 0 {
        let key = auth::create_key(app.db(), "bootstrap admin", Role::Admin, None).await?;
        println!(
            "\nFirst start: created an admin API key. It is shown only this once:\n\n    {key}\n"
        );
        println!("Make more with: debrief keys create --role program_owner --name \"Jane\"\n");
    }
    if demo {
        match demo::seed(app.db(), app.planner(), &url, chrono::Utc::now()).await? {
            Some(link) => println!("Demo program ready. Answer a buyer survey at:\n\n    {link}\n"),
            None => println!("Demo program ready (every demo buyer has answered)."),
        }
        if let Some(link) =
            demo::booking_link(app.db(), app.planner(), &url, chrono::Utc::now()).await?
        {
            println!("Book a demo interview, as a buyer invited to one would, at:\n\n    {link}\n");
        }
        println!("Sign in to the staff console (each link works once, within 15 minutes):\n");
        for (who, link) in demo::console_links(app.db(), &url, chrono::Utc::now()).await? {
            println!("    {who}:\n    {link}\n");
        }
        println!("More links: debrief staff link --email olga.martin@debrief.localhost\n");
    }
    println!(
        "Debrief is listening on {url}  (database: {})",
        describe_db(&settings.database_url)
    );
    app.run_until_stopped().await
}

async fn create_key(settings: Settings, args: &[&str]) -> anyhow::Result<()> {
    let mut role = None;
    let mut name = None;
    let mut email = None;
    let mut time_zone = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--role" => role = rest.next().copied(),
            "--name" => name = rest.next().copied(),
            "--email" => email = rest.next().copied(),
            "--time-zone" => time_zone = rest.next().copied(),
            other => bail!("unexpected argument {other:?}"),
        }
    }
    let role: Role = role
        .context("--role is required")?
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--role {e}"))?;
    let name = name.unwrap_or(role.as_str());
    let holder = match email {
        Some(email) => Some(
            auth::Member::new(name, email, time_zone).map_err(|e| match e {
                ApiError::Validation(fields) => anyhow::anyhow!(
                    "{}",
                    fields
                        .iter()
                        .map(|f| format!("--{}: {}", f.field.replace('_', "-"), f.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                other => other.into(),
            })?,
        ),
        None if time_zone.is_some() => bail!("--time-zone is a staff member's: give --email"),
        None => None,
    };
    let db = Db::connect(&settings.database_url).await?;
    db.migrate().await?;
    let key = auth::create_key(&db, name, role, holder.as_ref()).await?;
    println!("{key}");
    Ok(())
}

/// `debrief staff add`: a console member, and a link to sign in with at once.
async fn add_member(settings: Settings, args: &[&str]) -> anyhow::Result<()> {
    let (mut role, mut name, mut email, mut locale) = (None, None, None, None);
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--role" => role = rest.next().copied(),
            "--name" => name = rest.next().copied(),
            "--email" => email = rest.next().copied(),
            "--locale" => locale = rest.next().copied(),
            other => bail!("unexpected argument {other:?}"),
        }
    }
    let role: Role = role
        .context("--role is required")?
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--role {e}"))?;
    let locale = debrief_common::Locale::parse(locale.unwrap_or("en"))
        .map_err(|e| anyhow::anyhow!("--locale: {e}"))?;
    let member = auth::Member::new(
        name.context("--name is required")?,
        email.context("--email is required")?,
        None,
    )
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let db = Db::connect(&settings.database_url).await?;
    db.migrate().await?;
    let now = chrono::Utc::now();
    let id = auth::upsert_member(&db, &member).await?;
    auth::members::set_access(&db, &id, Some(role), locale, now).await?;
    let token = auth::links::mint(&db, &id, now).await?;
    println!(
        "{} can sign in once, within 15 minutes, at:\n\n    {}/console/sign-in/link/{token}\n",
        member.email,
        settings.public_url()
    );
    Ok(())
}

/// `debrief staff link`: a new one-time sign-in link for a member who has a role.
async fn print_link(settings: Settings, email: &str) -> anyhow::Result<()> {
    let db = Db::connect(&settings.database_url).await?;
    db.migrate().await?;
    let found: Option<(String,)> = sqlx::query_as(
        "select id from staff where email = $1 and role is not null and disabled_at is null",
    )
    .bind(email.trim().to_lowercase())
    .fetch_optional(db.pool())
    .await?;
    let (id,) = found.with_context(|| format!("no console member with the address {email}"))?;
    let token = auth::links::mint(&db, &id, chrono::Utc::now()).await?;
    println!("{}/console/sign-in/link/{token}", settings.public_url());
    Ok(())
}

/// The database URL without credentials, for the console.
fn describe_db(url: &str) -> String {
    // Query parameters may carry a password too.
    let url = url.split('?').next().unwrap_or(url);
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://…@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}
