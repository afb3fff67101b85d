//! The demo: a program with three segments (strategic interviews, declined requests, a
//! sampled volume survey), an incentive catalogue with a budget, and a quarter of decided
//! deals whose buyers have partly answered. Everything goes through the same code paths as
//! real data; only the passing of time is simulated, by recording each past deal at its
//! own hour. One invitation email goes out at once, whatever the day and hour, so a
//! newcomer sees what a buyer receives.

use crate::auth::{self, Role};
use crate::interviews::availability::Availability;
use crate::interviews::interviewers;
use crate::invitations::tokens::{resolve, Lookup};
use crate::invitations::{self, Event, InvitationKind, Target};
use crate::jobs::{self, JobKind, JobStatus};
use crate::outreach::decision::DecisionRequest;
use crate::outreach::invitation_email::SendInvitation;
use crate::outreach::store::{record_decision, Planner};
use crate::platform::db::Db;
use crate::programs::definition::ProgramRequest;
use crate::programs::store::Programs;
use crate::surveys::definitions::Definitions;
use crate::surveys::routes::complete;
use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use debrief_common::survey::AnswerItem;
use debrief_common::Locale;
use rand::{Rng, SeedableRng};
use serde_json::json;

/// Deals in the demo quarter.
const DEALS: usize = 120;
/// Deals decided in the last days stay unanswered: they are what goes out next.
const RECENT_DAYS: i64 = 3;

pub fn demo_program() -> serde_json::Value {
    json!({
        "name": "Demo win-loss program",
        "period": "quarter",
        "contact_policy": { "person_cooldown_days": 90, "account_max_per_decision": 3, "account_cooldown_days": 14 },
        "incentives": [
            { "key": "gift_100", "kind": "money", "amount": { "minor_units": 10000, "currency": "EUR" } },
            { "key": "gift_25", "kind": "money", "amount": { "minor_units": 2500, "currency": "EUR" } },
            { "key": "beta", "kind": "early_access", "name": "the forecasting beta" }
        ],
        "budget": { "currency": "EUR", "per_period_minor": 300000, "per_account_minor": 20000, "when_spent": "send_without" },
        "segments": [
            { "key": "strategic", "name": "Strategic deals", "method": "interview", "incentive": "gift_100",
              "contacts": "deciders", "max_contacts_per_deal": 2, "target_per_period": 10,
              "rules": [ { "attribute": "strategic", "is": true },
                         { "attribute": "amount", "currency": "EUR", "min": 5000000 } ] },
            { "key": "declined", "name": "Declined requests", "method": "survey", "survey": "declined_request",
              "incentive": "beta", "rules": [ { "attribute": "outcome", "any_of": ["declined"] } ] },
            { "key": "volume", "name": "Volume deals", "method": "survey", "sample_rate": 0.6,
              "incentive": "gift_25", "max_outcome_share": 0.7,
              "rules": [ { "attribute": "amount", "currency": "EUR", "max": 5000000 } ] }
        ]
    })
}

const COMPANIES: [&str; 24] = [
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark Industries",
    "Wayne Enterprises",
    "Tyrell",
    "Soylent",
    "Cyberdyne",
    "Wonka",
    "Gringotts",
    "Oscorp",
    "Aperture",
    "Massive Dynamic",
    "Pied Piper",
    "Dunder Mifflin",
    "Prestige Worldwide",
    "Acme Freight",
    "Blue Sun",
    "Virtucon",
    "Nakatomi",
    "Monarch",
    "Sirius Cybernetics",
];
const BUYERS: [(&str, &str, &str, &str); 8] = [
    ("Camille Martin", "Economic buyer", "fr-FR", "Europe/Paris"),
    ("Sam Lee", "Evaluator", "en-GB", "Europe/London"),
    (
        "Dana Whitaker",
        "Decision maker",
        "en-US",
        "America/New_York",
    ),
    ("Luc Girard", "Champion", "fr", "Europe/Paris"),
    ("Priya Nair", "Decision maker", "en", "Asia/Kolkata"),
    ("Jonas Berg", "Evaluator", "en", "Europe/Stockholm"),
    ("Aiko Tanaka", "Economic buyer", "en", "Asia/Tokyo"),
    ("Marta Silva", "User", "en", "America/Sao_Paulo"),
];
const COMPETITORS: [&str; 3] = ["Northwind Analytics", "Contoso Forecast", "Fabrikam BI"];
const MANAGERS: [(&str, &str); 3] = [
    ("Ana Duarte", "ana.duarte@debrief.localhost"),
    ("Ben Okafor", "ben.okafor@debrief.localhost"),
    ("Chloé Petit", "chloe.petit@debrief.localhost"),
];
const REASONS: [&str; 6] = [
    "Setup took a day, not a quarter.",
    "Pricing per seat did not fit our team.",
    "Your competitor already integrated with our CRM.",
    "The forecasting was noticeably more accurate in the trial.",
    "We could not get a security review done in time.",
    "Support answered within the hour during the trial.",
];

fn pick<'a>(rng: &mut impl Rng, from: &[&'a str]) -> &'a str {
    from[rng.random_range(0..from.len())]
}

/// One demo deal, drawn from a seeded generator so every demo is the same.
fn deal(n: usize, rng: &mut impl Rng, decided_at: DateTime<Utc>) -> serde_json::Value {
    let outcome = pick(
        rng,
        &["won", "lost", "lost", "no_decision", "won", "declined"],
    );
    let strategic = rng.random_bool(0.2);
    let amount: i64 = if strategic {
        rng.random_range(50_000..300_000) * 100
    } else {
        rng.random_range(3_000..60_000) * 100
    };
    let company = COMPANIES[n % COMPANIES.len()];
    let domain = company.to_lowercase().replace(' ', "");
    let (manager, manager_email) = MANAGERS[n % MANAGERS.len()];
    let buyers = rng.random_range(1..=3);
    let first = rng.random_range(0..BUYERS.len());
    let contacts: Vec<_> = (0..buyers)
        .map(|k| {
            let (name, role, locale, tz) = BUYERS[(first + k) % BUYERS.len()];
            let local = name.to_lowercase().replace(' ', ".");
            json!({ "name": name, "email": format!("{local}.{n}@{domain}.example"), "role": role,
                    "locale": locale, "time_zone": tz })
        })
        .collect();
    let mut deal = json!({
        "crm_id": format!("DEMO-{:04}", 1000 + n), "outcome": outcome, "decided_at": decided_at.to_rfc3339(),
        "amount": { "minor_units": amount, "currency": "EUR" },
        "sales_cycle_days": rng.random_range(14..200),
        "competitors": if rng.random_bool(0.6) { vec![pick(rng, &COMPETITORS)] } else { vec![] },
        "region": pick(rng, &["EMEA", "NA", "APAC"]),
        "persona": pick(rng, &["VP Sales", "RevOps", "CFO"]),
        "product_line": pick(rng, &["Forecasting", "Pipeline"]),
        "company_type": pick(rng, &["smb", "mid_market", "enterprise"]),
        "icp_fit": pick(rng, &["high", "medium", "low"]),
        "strategic": strategic,
        "account": { "crm_id": format!("ACC-{}", n % COMPANIES.len()), "name": company,
                     "manager": { "name": manager, "email": manager_email } },
        "contacts": contacts
    });
    if outcome == "declined" {
        deal["declined"] = json!({
            "reason": pick(rng, &["capacity", "technical", "out_of_scope", "price"]),
            "detail": "We could not staff it this quarter."
        });
        deal["request_kind"] = json!(pick(
            rng,
            &["on-site training", "custom integration", "data residency"]
        ));
    }
    deal
}

/// Seeds the demo if it is missing, and returns a survey link for a demo buyer who has not
/// answered yet (or `None` if there is none).
pub async fn seed(
    db: &Db,
    planner: &Planner,
    public_url: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    let already_seeded: Option<(String,)> =
        sqlx::query_as("select id from deals where crm_id like 'DEMO-%' limit 1")
            .fetch_optional(db.pool())
            .await?;
    if already_seeded.is_none() {
        if Programs::current(db).await?.is_none() {
            let program: ProgramRequest = serde_json::from_value(demo_program())?;
            // Effective from the start of the demo quarter, so every demo deal falls under it.
            planner
                .programs
                .save(db, &program, None, "demo", now - Duration::days(92))
                .await
                .map_err(|e| anyhow::anyhow!("the demo program is invalid: {e}"))?;
        }
        seed_quarter(db, planner, now).await?;
        seed_interviewer(db, now).await?;
    }
    let invitation = send_one_now(db, now).await?;
    let Some(invitation_id) = invitation else {
        return Ok(None);
    };
    let token = planner.tokens.for_invitation(&invitation_id);
    // Proves the link works before printing it.
    match resolve(db, &token, now)
        .await
        .context("checking the demo link")?
    {
        Lookup::Valid(_) => Ok(Some(format!("{public_url}/s/{token}?score=8"))),
        other => anyhow::bail!("demo link does not resolve: {other:?}"),
    }
}

/// Records a quarter of deals, each at its own decision time. Past invitations are played
/// forward: sent, and about half answered; their reminders count as done.
async fn seed_quarter(db: &Db, planner: &Planner, now: DateTime<Utc>) -> anyhow::Result<()> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(27);
    let mut answered = 0;
    for n in 0..DEALS {
        let age = Duration::minutes(rng.random_range(0..90 * 24 * 60));
        let decided_at = now - age;
        let request: DecisionRequest = serde_json::from_value(deal(n, &mut rng, decided_at))?;
        let at = decided_at + Duration::hours(1);
        let decision = request
            .parse(at.min(now))
            .map_err(|e| anyhow::anyhow!("demo deal is invalid: {e:?}"))?;
        let recorded = record_decision(db, planner, &decision, at.min(now)).await?;
        if age < Duration::days(RECENT_DAYS) {
            continue;
        }
        for invitation in recorded.invitations.iter().filter(|i| i.created) {
            let id = &invitation.invitation_id;
            invitations::apply(db.pool(), Target::Invitation(id), Event::Send, at).await?;
            // Its email and reminders went out in the simulated past: what is left of its
            // job is the expiry, at its planned time.
            sqlx::query(
                "update jobs set kind = $1,
                     run_at = coalesce((select expires_at from invitations where id = $2), run_at)
                 where status = $3 and (dedupe_key = $4 or dedupe_key = $5)",
            )
            .bind(JobKind::InvitationExpiry.as_str())
            .bind(id)
            .bind(JobStatus::Pending.as_str())
            .bind(format!("{}:{id}", JobKind::SurveyInvitation))
            .bind(format!("{}:{id}", JobKind::InterviewInvitation))
            .execute(db.pool())
            .await?;
            if invitation.kind == InvitationKind::Survey && rng.random_bool(0.5) {
                // The buyer answers the whole survey in the widget, a few hours on.
                let answered_at = at + Duration::hours(5);
                let (segment,): (Option<String>,) =
                    sqlx::query_as("select segment_key from invitations where id = $1")
                        .bind(id)
                        .fetch_one(db.pool())
                        .await?;
                let items = if segment.as_deref() == Some("declined") {
                    declined_answers(&mut rng)
                } else {
                    win_loss_answers(decision.outcome, &mut rng)
                };
                let items: Vec<AnswerItem> = serde_json::from_value(items)?;
                let token = planner.tokens.for_invitation(id);
                let definitions = Definitions::default();
                complete(
                    db,
                    planner,
                    &definitions,
                    COMPANY,
                    &token,
                    &items,
                    answered_at,
                )
                .await
                .map_err(|e| anyhow::anyhow!("the demo answer is refused: {e:?}"))?;
                answered += 1;
            }
        }
    }
    tracing::debug!(answered, "demo buyers answered");
    code_some_words(db, now).await
}

/// The company the demo's surveys name.
const COMPANY: &str = "Debrief Demo Co";

/// A buyer's answers to the win-loss survey, as their deal's outcome makes likely: an
/// NPS, the reasons, the drivers that weighed (for a win, mostly for us; for a loss,
/// price and a rival's integration against us), and a sentence of their own.
fn win_loss_answers(outcome: crate::outreach::Outcome, rng: &mut impl Rng) -> serde_json::Value {
    use crate::outreach::Outcome;
    let won = outcome == Outcome::Won;
    let nps = match outcome {
        Outcome::Won => rng.random_range(6..=10),
        Outcome::Lost => rng.random_range(2..=9),
        _ => rng.random_range(4..=9),
    };
    let weigh = |rng: &mut dyn rand::RngCore, good: f64| {
        let r: f64 = rand::Rng::random(rng);
        if r < good * 0.5 {
            "very_positive"
        } else if r < good {
            "positive"
        } else if r < good + 0.15 {
            "neutral"
        } else if r < good + 0.5 {
            "negative"
        } else {
            "very_negative"
        }
    };
    let mut drivers = serde_json::Map::new();
    let picks: &[(&str, f64, f64)] = &[
        // (driver, likelihood of a good word when won, when not)
        ("product_fit", 0.85, 0.45),
        ("price", 0.5, 0.15),
        ("integration", 0.6, 0.3),
        ("demo", 0.8, 0.5),
        ("responsiveness", 0.75, 0.55),
        ("security", 0.6, 0.35),
        ("implementation", 0.55, 0.3),
    ];
    for (driver, if_won, if_not) in picks {
        if rng.random_bool(0.7) {
            let good = if won { *if_won } else { *if_not };
            drivers.insert((*driver).to_owned(), json!(weigh(rng, good)));
        }
    }
    let reasons = if won {
        ["product_fit", "implementation"]
    } else {
        ["price", "vendor"]
    };
    json!([
        { "question": "nps", "value": nps },
        { "question": "reasons", "value": [reasons[rng.random_range(0..2)]] },
        { "question": "drivers", "value": drivers },
        { "question": "anything_else", "value": REASONS[rng.random_range(0..REASONS.len())] },
        { "question": "consent", "value": true },
    ])
}

/// A buyer whose request we declined: what they needed and what they did instead.
fn declined_answers(rng: &mut impl Rng) -> serde_json::Value {
    const NEEDED: [&str; 3] = [
        "We needed an on-premise version for our bank.",
        "A Salesforce integration that syncs both ways.",
        "Monthly billing instead of an annual contract.",
    ];
    const INSTEAD: [&str; 4] = ["other_vendor", "in_house", "postponed", "dropped"];
    json!([
        { "question": "needed", "value": NEEDED[rng.random_range(0..NEEDED.len())] },
        { "question": "instead", "value": INSTEAD[rng.random_range(0..INSTEAD.len())] },
    ])
}

/// An analyst coded the first texts of the quarter: the coded store has the buyers' own
/// words to search and the dashboards their strongest verbatims, and the rest waits in
/// the queue.
async fn code_some_words(db: &Db, now: DateTime<Utc>) -> anyhow::Result<()> {
    use crate::insights::coding::{self, Coding};
    // What each of the demo's sentences says, as an analyst would code it.
    const CODES: [(&str, &str, i64, &str); 6] = [
        (
            "Setup took a day",
            "implementation",
            2,
            "Setup took a day, not a quarter",
        ),
        (
            "Pricing per seat",
            "pricing_model",
            -2,
            "Pricing per seat did not fit our team",
        ),
        (
            "Your competitor",
            "integration",
            -2,
            "Your competitor already integrated with our CRM",
        ),
        (
            "The forecasting",
            "functionality",
            2,
            "The forecasting was noticeably more accurate",
        ),
        (
            "We could not get",
            "security",
            -1,
            "We could not get a security review done in time",
        ),
        (
            "Support answered",
            "responsiveness",
            2,
            "Support answered within the hour",
        ),
    ];
    let texts: Vec<(String, String)> = sqlx::query_as(
        "select t.response_id, t.text from response_items t
         join responses r on r.id = t.response_id
         where t.question_id = 'anything_else' and t.item = '' and t.text is not null
         order by r.submitted_at, t.response_id
         limit 24",
    )
    .fetch_all(db.pool())
    .await?;
    let (version, taxonomy) = crate::insights::taxonomy::VERSIONS.current(db).await?;
    for (response_id, text) in texts {
        let Some((_, driver, influence, excerpt)) =
            CODES.iter().find(|(start, ..)| text.starts_with(start))
        else {
            continue;
        };
        let coding = Coding {
            response_id,
            question_id: "anything_else".into(),
            item: String::new(),
            driver: (*driver).into(),
            influence: *influence,
            excerpt: (*excerpt).into(),
            tags: Vec::new(),
            competitor: None,
            suggested: false,
        };
        coding::code(db, (version, &taxonomy), &coding, "Alex Roy", now)
            .await
            .map_err(|e| anyhow::anyhow!("the demo coding is refused: {e:?}"))?;
    }
    Ok(())
}

/// A demo interviewer in Paris, free on weekdays from 9:00 to 17:00 for 45-minute
/// interviews: the demo's interview invitations have slots to book.
async fn seed_interviewer(db: &Db, now: DateTime<Utc>) -> anyhow::Result<()> {
    let member = auth::Member::new("Iris Moreau", "iris@acme.example", Some("Europe/Paris"))
        .map_err(|e| anyhow::anyhow!("the demo interviewer is invalid: {e:?}"))?;
    let id = auth::upsert_member(db, &member).await?;
    let weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday"];
    let availability: Availability = serde_json::from_value(serde_json::json!({
        "slot_minutes": 45,
        "buffer_minutes": 15,
        "weekly": weekdays.map(|day| serde_json::json!({
            "day": day, "hours": [{ "from": "09:00", "to": "17:00" }]
        })),
    }))?;
    interviewers::publish(db, &id, &availability, "demo", now).await
}

/// The booking page of a demo interview still to book, if any: what a buyer invited to an
/// interview opens from their email.
pub async fn booking_link(
    db: &Db,
    planner: &Planner,
    public_url: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    let invited: Vec<(String,)> = sqlx::query_as(
        "select v.invitation_id from interviews v
         join invitations i on i.id = v.invitation_id join deals d on d.id = i.deal_id
         where d.crm_id like 'DEMO-%' and v.status = 'invited'
         order by d.decided_at desc, v.invitation_id limit 20",
    )
    .fetch_all(db.pool())
    .await?;
    for (id,) in invited {
        let token = planner.tokens.for_invitation(&id);
        if matches!(resolve(db, &token, now).await?, Lookup::Valid(_)) {
            return Ok(Some(format!("{public_url}/i/{token}")));
        }
    }
    Ok(None)
}

/// Puts the first survey invitation still waiting in front of the queue, outside business
/// hours too: the newcomer sees at once what a buyer receives.
async fn send_one_now(db: &Db, now: DateTime<Utc>) -> anyhow::Result<Option<String>> {
    let waiting: Option<(String,)> = sqlx::query_as(
        "select i.id from invitations i join deals d on d.id = i.deal_id
         where d.crm_id like 'DEMO-%' and i.kind = $1 and i.status in ($2, $3)
         order by d.decided_at desc, i.id limit 1",
    )
    .bind(InvitationKind::Survey.as_str())
    .bind(invitations::InvitationStatus::Scheduled.as_str())
    .bind(invitations::InvitationStatus::Sent.as_str())
    .fetch_optional(db.pool())
    .await?;
    let Some((id,)) = waiting else {
        return Ok(None);
    };
    jobs::expedite(
        db,
        &format!("{}:{id}", JobKind::SurveyInvitation),
        &SendInvitation {
            any_hour: true,
            ..SendInvitation::step(&id, None)
        },
        now,
    )
    .await?;
    Ok(Some(id))
}

/// The demo's console members, one per kind of user: a program owner (with the admin's
/// pages too), an account manager who manages a third of the demo accounts, and an
/// analyst. Each gets a fresh one-time sign-in link: `(who, link)`.
pub async fn console_links(
    db: &Db,
    public_url: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<(String, String)>> {
    let members = [
        (
            "Olga Martin",
            "olga.martin@debrief.localhost",
            Role::Admin,
            "program owner and admin",
        ),
        (
            MANAGERS[0].0,
            MANAGERS[0].1,
            Role::AccountManager,
            "account manager",
        ),
        (
            "Alex Roy",
            "alex.roy@debrief.localhost",
            Role::Analyst,
            "analyst",
        ),
    ];
    let mut links = Vec::new();
    for (name, email, role, what) in members {
        let member = auth::Member::new(name, email, None)
            .map_err(|e| anyhow::anyhow!("the demo member is invalid: {e:?}"))?;
        let id = auth::upsert_member(db, &member).await?;
        auth::members::set_access(db, &id, Some(role), Locale::En, now).await?;
        let token = auth::links::mint(db, &id, now).await?;
        links.push((
            format!("{name}, {what}"),
            format!("{public_url}/console/sign-in/link/{token}"),
        ));
    }
    Ok(links)
}
