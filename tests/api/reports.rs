//! Reports, as their readers get them: on the first of the month, each department's
//! reader is emailed last month's digest in their language (participation, the NPS and
//! its trend, the drivers of their field for wins and losses, three of the buyers' words,
//! the alerts still open), once; and the program owner prints the quarterly report.

use crate::analytics::{a_season, decide_and_answer, expected_nps, quarter_program, Answer};
use debrief_server::auth::Role;
use debrief_tests::{both_backends, lost_deal, TestApp};
use mail_parser::MessageParser;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// What a buyer typed, with markup and quotes in it.
const HOSTILE: &str = "Le <b>prix</b> & les délais \"ont\" compté. Rien d'autre.";
const HOSTILE_EXCERPT: &str = "Le <b>prix</b> & les délais \"ont\" compté";

/// An NPS as the digests write it: `+12.5`, `-8.0`; with a comma in French.
fn nps(v: f64, fr: bool) -> String {
    let s = if v > 0.0 {
        format!("+{v:.1}")
    } else {
        format!("{v:.1}")
    };
    if fr {
        s.replace('.', ",")
    } else {
        s
    }
}

fn month_names(month: chrono::NaiveDate) -> (String, String) {
    use chrono::Datelike;
    use debrief_common::Locale;
    let name = |locale| debrief_server::web::dates::month(month.year(), month.month(), locale);
    (name(Locale::En), name(Locale::Fr))
}

/// A buyer who lost to no one in particular answers on `day` with words only.
pub async fn a_buyer_types(app: &mut TestApp, day: chrono::NaiveDate, words: &str) {
    app.set_clock(&format!("{day}T09:00:00Z"));
    let mut deal = lost_deal("H-1");
    deal["decided_at"] = json!(format!("{day}T08:00:00Z"));
    deal["strategic"] = json!(false);
    deal["amount"]["minor_units"] = json!(1_500_000);
    deal["competitors"] = json!([]);
    deal["account"]["name"] = json!("Hostile Inc");
    deal["contacts"][0]["email"] = json!("hostile@elsewhere.example");
    let posted = app.post_decision(&deal).await;
    assert_eq!(posted.status, 201, "{}", posted.text);
    app.set_clock(&format!("{}T10:00:00Z", day + chrono::Duration::days(1)));
    app.deliver().await;
    let token = app.next_invitation().await.token();
    let done = app
        .complete_survey(
            &token,
            json!([
                { "question": "nps", "value": 2 },
                { "question": "reasons", "value": ["price"] },
                { "question": "anything_else", "value": words },
                { "question": "consent", "value": true },
            ]),
        )
        .await;
    assert_eq!(done.status, 201, "{}", done.text);
}

async fn each_department_gets_last_months_digest_in_its_language_once(mut app: TestApp) {
    app.put_program(&quarter_program()).await;
    let owner = app.key_with_role(Role::ProgramOwner).await;
    let analyst = app.key_with_role(Role::Analyst).await;

    // The digests go out on the first of the month after the app started, for the month
    // that has just ended: the answers are given in that month.
    let (run_at,): (String,) =
        sqlx::query_as("select run_at from jobs where kind = 'digest_schedule'")
            .fetch_one(app.db.pool())
            .await
            .expect("the digest schedule");
    let due: chrono::DateTime<chrono::Utc> = run_at.parse().expect("instant");
    use chrono::Datelike;
    assert_eq!(
        (due.day(), due.format("%H:%M").to_string()),
        (1, "07:00".into())
    );
    let first = (due.date_naive() - chrono::Duration::days(1))
        .with_day(1)
        .expect("day");
    let before = (first - chrono::Duration::days(1))
        .with_day(1)
        .expect("day");
    let monday = |d: chrono::NaiveDate| {
        d + chrono::Duration::days(i64::from(7 - d.weekday().num_days_from_monday()) % 7)
    };

    // The month before: five buyers, for the NPS's change.
    let earlier: Vec<Answer> = [9, 9, 7, 3, 10]
        .iter()
        .map(|score| Answer {
            outcome: "won",
            competitor: None,
            score: *score,
        })
        .collect();
    decide_and_answer(&mut app, monday(before), "before", &earlier).await;
    // The month itself: three weeks of decisions, every buyer answering, and one buyer
    // whose words carry markup.
    let answered = a_season(&mut app, monday(first), 3, 6, &|outcome, _, _, draws| {
        let base = if outcome == "won" { 8 } else { 3 };
        base + i64::try_from(draws.next(3)).unwrap_or(0)
    })
    .await;
    a_buyer_types(
        &mut app,
        monday(first) + chrono::Duration::days(15),
        HOSTILE,
    )
    .await;

    // The analyst codes the words: the markup as price, and two others.
    let queue = app.get_as(&analyst, "/api/v1/insights/queue").await;
    assert_eq!(queue.status, 200, "{}", queue.body);
    let texts = queue.body["texts"].as_array().expect("texts").clone();
    let mut coded = 0;
    for text in &texts {
        let words = text["text"].as_str().expect("text");
        let (driver, influence, excerpt) = if words == HOSTILE {
            ("price", -2, HOSTILE_EXCERPT)
        } else if coded < 2 && text["deal"]["outcome"] == "won" {
            ("demo", 1, "La démo aussi")
        } else {
            continue;
        };
        let reply = app
            .post_as(
                &analyst,
                "/api/v1/insights",
                &json!({ "response_id": text["response_id"], "question_id": text["question_id"],
                         "item": text["item"], "driver": driver, "influence": influence,
                         "excerpt": excerpt }),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        if words != HOSTILE {
            coded += 1;
        }
    }

    // An alert on the month's losses, still open.
    let rule = json!({
        "name": "Losses below 30", "metric": "nps", "outcome": "lost", "window_months": 1,
        "comparison": { "against": "threshold", "below": 30 }, "min_sample": 3,
        "action": "Read the losses' answers with sales.",
    });
    let created = app.post_as(&owner, "/api/v1/alerts/rules", &rule).await;
    assert_eq!(created.status, 201, "{}", created.body);
    app.set_clock(&format!(
        "{}T18:00:00Z",
        due.date_naive() - chrono::Duration::days(1)
    ));
    let evaluated = app
        .post_as(&owner, "/api/v1/alerts/evaluate", &Value::Null)
        .await;
    assert_eq!(evaluated.status, 200, "{}", evaluated.body);

    // The readers: sales in English, product in French.
    let subscribers = [
        ("head.of.sales@acme.example", "sales", "en"),
        ("produit@acme.example", "product", "fr"),
    ];
    for (email, department, locale) in subscribers {
        let added = app
            .post_as(
                &owner,
                "/api/v1/digests/subscribers",
                &json!({ "email": email, "department": department, "locale": locale }),
            )
            .await;
        assert_eq!(added.status, 201, "{}", added.body);
    }
    let twice = app
        .post_as(
            &owner,
            "/api/v1/digests/subscribers",
            &json!({ "email": "Head.Of.Sales@acme.example", "department": "sales", "locale": "fr" }),
        )
        .await;
    assert_eq!(twice.status, 409, "{}", twice.body);
    for (body, field) in [
        (
            json!({ "email": "x@acme.example", "department": "finance", "locale": "en" }),
            "department",
        ),
        (
            json!({ "email": "not an address", "department": "sales", "locale": "en" }),
            "email",
        ),
        (
            json!({ "email": "x@acme.example", "department": "sales", "locale": "de" }),
            "locale",
        ),
        (
            json!({ "email": "x@acme.example", "department": "sales", "locale": "en",
                 "name": "A\nB" }),
            "name",
        ),
    ] {
        let refused = app
            .post_as(&owner, "/api/v1/digests/subscribers", &body)
            .await;
        assert_eq!(refused.status, 422, "{body}: {}", refused.body);
        assert_eq!(refused.error_fields(), [field], "{body}");
    }
    assert_eq!(
        app.count("digest_subscribers").await,
        2,
        "nothing else stored"
    );
    let analyst_may_not = app.get_as(&analyst, "/api/v1/digests/subscribers").await;
    assert_eq!(analyst_may_not.status, 403);

    // The first of the month: the schedule queues a digest per reader, and they go out.
    app.set_clock(&due.to_rfc3339());
    for _ in 0..3 {
        app.deliver().await;
    }
    let mut mails = BTreeMap::new();
    for _ in 0..2 {
        let mail = app.smtp.next_mail().await;
        mails.insert(mail.to[0].clone(), mail);
    }
    let parse = |to: &str| {
        let mail = &mails[to];
        let parsed = MessageParser::default()
            .parse(&mail.data)
            .expect("a MIME message");
        assert!(
            parsed.message_id().is_some_and(|id| id.contains('@')),
            "a Message-ID"
        );
        (
            parsed.subject().unwrap_or_default().to_owned(),
            parsed.body_text(0).expect("a text part").into_owned(),
            parsed.body_html(0).expect("an HTML part").into_owned(),
        )
    };
    let (month_en, month_fr) = month_names(first);
    let in_month: Vec<i64> = answered.iter().map(|a| a.score).chain([2]).collect();
    let n = in_month.len();
    let score = expected_nps(&in_month).expect("an NPS");
    let change = score - expected_nps(&[9, 9, 7, 3, 10]).expect("an NPS");
    let won = answered.iter().filter(|a| a.outcome == "won").count();
    let lost = answered.iter().filter(|a| a.outcome == "lost").count();
    let alert_sample = lost + 1;
    let lost_scores: Vec<i64> = answered
        .iter()
        .filter(|a| a.outcome == "lost")
        .map(|a| a.score)
        .chain([2])
        .collect();
    let lost_nps = expected_nps(&lost_scores).expect("an NPS");

    // Sales, in English: the drivers of selling and pricing, and the competitors.
    let (subject, text, html) = parse("head.of.sales@acme.example");
    assert_eq!(
        subject,
        format!("Acme Analytics win-loss digest, {month_en} (Sales)")
    );
    assert!(
        text.contains(&format!(
            "Surveys: {n} answered of {n} invited, 100% (target 25%)."
        )),
        "{text}"
    );
    let sign = if change > 0.0 { "+" } else { "" };
    assert!(
        text.contains(&format!(
            "{} from {n} answers ({sign}{change:.1} pts on the month before).",
            nps(score, false)
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Demo and proof of concept: 100% positive of {won} mentions"
        )),
        "{text}"
    );
    // Every loss rated price very negative; the typed one gave price alone.
    assert!(
        text.contains(&format!(
            "Price: 100% negative of {} mentions; the only reason in 1 of them",
            lost + 1
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("\"{HOSTILE_EXCERPT}\" (Price, lost)")),
        "{text}"
    );
    assert!(
        text.contains("\"La démo aussi\" (Demo and proof of concept, "),
        "{text}"
    );
    let northwind = (
        answered
            .iter()
            .filter(|a| a.outcome == "won" && a.competitor.as_deref() == Some("Northwind"))
            .count(),
        answered
            .iter()
            .filter(|a| a.outcome == "lost" && a.competitor.as_deref() == Some("Northwind"))
            .count(),
    );
    assert!(
        text.contains(&format!(
            "Northwind: won {}, lost {}",
            northwind.0, northwind.1
        )),
        "{text}"
    );
    let window = first.format("%Y-%m").to_string();
    assert!(
        text.contains(&format!(
            "Losses below 30: NPS on lost deals: {:.1} in {window}..{window}, below 30.0 (sample {alert_sample}).",
            lost_nps
        )),
        "{text}"
    );
    assert!(
        text.contains("What to do: Read the losses' answers with sales."),
        "{text}"
    );
    // The buyer's markup is text in the HTML part, never markup.
    assert!(
        html.contains("Le &lt;b&gt;prix&lt;/b&gt; &amp; les délais &quot;ont&quot; compté"),
        "{html}"
    );
    assert!(!html.contains("<b>prix</b>"), "{html}");

    // Product, in French: its own drivers (none coded), no competitors, the same alert.
    let (subject, text, html) = parse("produit@acme.example");
    assert_eq!(
        subject,
        format!("Synthèse win-loss Acme Analytics, {month_fr} (Produit)")
    );
    assert!(
        text.contains(&format!(
            "Enquêtes : {n} réponses sur {n} invitations, 100\u{202f}% (objectif 25\u{202f}%)."
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("{} sur {n} réponses", nps(score, true))),
        "{text}"
    );
    assert!(
        text.contains("Aucun de vos facteurs codé dans les affaires perdues ce mois-ci."),
        "{text}"
    );
    assert!(!text.contains("CONCURRENTS"), "{text}");
    assert!(
        text.contains(&format!(
            "NPS des affaires perdues\u{a0}: {} sur {window}..{window}, sous 30,0 (échantillon {alert_sample}).",
            format!("{lost_nps:.1}").replace('.', ",")
        )),
        "{text}"
    );
    assert!(html.contains("lang=\"fr\""), "{html}");

    // The schedule comes back next month; this month's digests are not sent again.
    let (run_at,): (String,) =
        sqlx::query_as("select run_at from jobs where kind = 'digest_schedule'")
            .fetch_one(app.db.pool())
            .await
            .expect("the digest schedule");
    let next: chrono::DateTime<chrono::Utc> = run_at.parse().expect("instant");
    let month_after = (due.date_naive() + chrono::Duration::days(32))
        .with_day(1)
        .expect("day");
    assert_eq!(next.to_rfc3339(), format!("{month_after}T07:00:00+00:00"));
    let again = app
        .post_as(
            &owner,
            "/api/v1/digests/send",
            &json!({ "month": first.format("%Y-%m").to_string() }),
        )
        .await;
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(again.body["queued"], 0, "{}", again.body);
    // The month under way is not sent: it would take the place of its full digest.
    let early = app
        .post_as(
            &owner,
            "/api/v1/digests/send",
            &json!({ "month": due.format("%Y-%m").to_string() }),
        )
        .await;
    assert_eq!(early.status, 422, "{}", early.body);
    assert_eq!(early.error_fields(), ["month"]);
    for _ in 0..2 {
        app.deliver().await;
    }
    assert!(app.smtp.try_next_mail().is_none(), "sent once");

    // The owner previews leadership's digest in French before adding its reader.
    let month = first.format("%Y-%m").to_string();
    let preview = app
        .get_as(
            &owner,
            &format!("/api/v1/digests/preview?department=leadership&locale=fr&month={month}"),
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(
        preview.body["subject"],
        format!("Synthèse win-loss Acme Analytics, {month_fr} (Direction)")
    );
    assert!(
        preview.body["text"]
            .as_str()
            .is_some_and(|t| t.contains("CONCURRENTS") && t.contains("Northwind")),
        "{}",
        preview.body
    );
    for (query, field) in [
        ("department=finance", "department"),
        ("department=sales&month=2026-13", "month"),
        ("department=sales&locale=de", "locale"),
        ("department=sales&colour=red", "colour"),
        ("locale=fr", "department"),
    ] {
        let refused = app
            .get_as(&owner, &format!("/api/v1/digests/preview?{query}"))
            .await;
        assert_eq!(refused.status, 422, "{query}: {}", refused.body);
        assert_eq!(refused.error_fields(), [field], "{query}");
    }
}

async fn the_quarterly_report_is_a_printable_page_in_each_language(mut app: TestApp) {
    app.put_program(&quarter_program()).await;
    let owner = app.key_with_role(Role::ProgramOwner).await;
    let start = chrono::NaiveDate::from_ymd_opt(2026, 7, 6).expect("a Monday");
    let answered = a_season(&mut app, start, 13, 4, &|outcome, _, _, draws| {
        let base = if outcome == "won" { 8 } else { 3 };
        base + i64::try_from(draws.next(3)).unwrap_or(0)
    })
    .await;
    a_buyer_types(
        &mut app,
        chrono::NaiveDate::from_ymd_opt(2026, 8, 12).expect("day"),
        HOSTILE,
    )
    .await;
    let analyst = app.key_with_role(Role::Analyst).await;
    let queue = app.get_as(&analyst, "/api/v1/insights/queue").await;
    let hostile = queue.body["texts"]
        .as_array()
        .expect("texts")
        .iter()
        .find(|t| t["text"] == HOSTILE)
        .expect("the typed words")
        .clone();
    let reply = app
        .post_as(
            &analyst,
            "/api/v1/insights",
            &json!({ "response_id": hostile["response_id"], "question_id": hostile["question_id"],
                     "item": hostile["item"], "driver": "price", "influence": -2,
                     "excerpt": HOSTILE_EXCERPT }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);

    let report = app
        .get_as(&owner, "/api/v1/reports/quarterly?quarter=2026-Q3")
        .await;
    assert_eq!(report.status, 200, "{}", report.text);
    let page = &report.text;
    let scores: Vec<i64> = answered.iter().map(|a| a.score).chain([2]).collect();
    let score = expected_nps(&scores).expect("an NPS");
    assert!(
        page.contains("<h1>Win-loss report — Q3 2026</h1>"),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "<li data-figure=\"nps\"><strong>{}</strong>NPS ({} answers;",
            nps(score, false),
            scores.len()
        )),
        "{page}"
    );
    let lost = answered.iter().filter(|a| a.outcome == "lost").count() + 1;
    let won = answered.iter().filter(|a| a.outcome == "won").count();
    // Why we win: the demo, in every won deal; why we lose: price, in every lost one.
    let row = |table: &str| {
        let start = page
            .find(&format!("data-table=\"{table}\""))
            .unwrap_or_else(|| panic!("table {table} in {page}"));
        let rest = &page[start..];
        rest[..rest.find("</table>").expect("end of table")].to_owned()
    };
    let win = row("win");
    assert!(
        win.contains("Demo and proof of concept<br><small>"),
        "{win}"
    );
    assert!(win.contains(&format!("{won} of {won} answers")), "{win}");
    assert!(win.contains("style=\"width: 100%\""), "{win}");
    let lose = row("lose");
    assert!(
        lose.contains(&format!(
            "Price<br><small>{lost} of {lost} answers; the only reason in 1 of them</small>"
        )),
        "{lose}"
    );
    assert!(
        lose.contains("Le &lt;b&gt;prix&lt;/b&gt; &amp; les délais &quot;ont&quot; compté"),
        "{lose}"
    );
    assert!(
        !page.contains("<b>prix</b>"),
        "the buyer's markup stays text"
    );
    assert!(row("competitors").contains("<th scope=\"row\">Northwind</th>"));
    assert!(row("sectors").contains("<th scope=\"row\">mid_market</th>"));
    assert!(page.contains("@media print"), "printable");
    assert!(!page.contains("<script"), "no script under the strict CSP");

    let fr = app
        .get_as(
            &owner,
            "/api/v1/reports/quarterly?quarter=2026-Q3&locale=fr",
        )
        .await;
    assert_eq!(fr.status, 200, "{}", fr.text);
    assert!(
        fr.text.contains("<h1>Rapport win-loss — T3 2026</h1>"),
        "{}",
        fr.text
    );
    assert!(fr.text.contains("Pourquoi nous perdons"), "{}", fr.text);
    assert!(
        fr.text.contains("Démonstration et preuve de concept"),
        "{}",
        fr.text
    );

    for (query, field) in [
        ("quarter=2026-Q5", "quarter"),
        ("quarter=Q3", "quarter"),
        ("locale=xx", "locale"),
        ("period=2026", "period"),
    ] {
        let refused = app
            .get_as(&owner, &format!("/api/v1/reports/quarterly?{query}"))
            .await;
        assert_eq!(refused.status, 422, "{query}: {}", refused.body);
        assert_eq!(refused.error_fields(), [field], "{query}");
    }
    let manager = app.key_with_role(Role::AccountManager).await;
    let refused = app
        .get_as(&manager, "/api/v1/reports/quarterly?quarter=2026-Q3")
        .await;
    assert_eq!(refused.status, 403);
}

both_backends!(
    each_department_gets_last_months_digest_in_its_language_once,
    the_quarterly_report_is_a_printable_page_in_each_language,
);
