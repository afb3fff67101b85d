//! A store filled by SQL in seconds, for the benchmarks and the tests that need volume:
//! `n` decided deals over 24 months, 5 segments, 4 outcomes, 6 competitors and none, 4
//! regions, 3 product lines and 40 account managers, every combination in every month; each with a buyer,
//! an invitation and a complete response (an NPS and 8 driver ratings); one in a hundred
//! with words an analyst coded. The responses are not coded yet: the real coder does it.

use debrief_server::insights::taxonomy;
use debrief_server::platform::db::Db;

/// The built-in taxonomy's drivers, as the ratings name them.
fn driver_ids() -> Vec<String> {
    taxonomy::builtin()
        .drivers
        .into_iter()
        .map(|d| d.id)
        .collect()
}

/// `case ({expr}) when 0 then 'a' when 1 then 'b' … end`.
fn pick(expr: &str, values: &[&str]) -> String {
    let arms: String = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!(" when {i} then {v}"))
        .collect();
    format!("case ({expr}){arms} end")
}

/// The statements that fill a database with `n` answered deals.
pub fn statements(n: usize) -> Vec<String> {
    let t = "'2026-11-01T00:00:00.000000Z'";
    let series = format!(
        "with recursive s(i) as (select 0 union all select i + 1 from s where i < {})",
        n - 1
    );
    let id = |prefix: &str| format!("'{prefix}' || cast(i as text)");
    let months: Vec<String> = (0..24)
        .map(|m| format!("'{}-{:02}'", 2025 + m / 12, m % 12 + 1))
        .collect();
    let months: Vec<&str> = months.iter().map(String::as_str).collect();
    // Every combination of the other attributes (lcm 420) falls in every month.
    let month = pick("(i / 420) % 24", &months);
    let outcome = pick(
        "i % 6",
        &[
            "'won'",
            "'lost'",
            "'lost'",
            "'no_decision'",
            "'won'",
            "'declined'",
        ],
    );
    let competitor = pick(
        "i % 7",
        &[
            "null",
            "'Northwind'",
            "'Initech'",
            "'Globex'",
            "'Umbrella'",
            "'Hooli'",
            "'Stark'",
        ],
    );
    let competitors = pick(
        "i % 7",
        &[
            "'[]'",
            "'[\"Northwind\"]'",
            "'[\"Initech\"]'",
            "'[\"Globex\"]'",
            "'[\"Umbrella\"]'",
            "'[\"Hooli\"]'",
            "'[\"Stark\"]'",
        ],
    );
    let region = pick("i % 4", &["'EMEA'", "'NA'", "'APAC'", "'LATAM'"]);
    let segment = "'segment_' || cast(i % 5 as text)";
    // Independent of the region (i % 4): (i % 4, (i / 4) % 3) runs through i % 12.
    let line = pick(
        "(i / 4) % 3",
        &["'Forecasting'", "'Planning'", "'Analytics'"],
    );
    let decided = format!("{month} || '-15T10:00:00.000000Z'");
    let accounts = n.div_ceil(20);
    let mut statements = vec![
        format!(
            "with recursive s(i) as (select 0 union all select i + 1 from s where i < {})
             insert into accounts (id, key, name, created_at, updated_at, manager_email)
             select {}, {}, {}, {t}, {t}, 'manager' || cast(i % 40 as text) || '@acme.example'
             from s",
            accounts - 1,
            id("a"),
            id("crm:A"),
            id("Account ")
        ),
        format!(
            "{series} insert into deals (id, crm_id, account_id, outcome, decided_at,
                 amount_minor, currency, sales_cycle_days, competitors, region, persona,
                 product_line, account_name, account_manager_name, account_manager_email,
                 segment_key, program_version, created_at, updated_at)
             select {}, {}, 'a' || cast(i % {accounts} as text), {outcome}, {decided},
                 100000 * (i % 300), 'EUR', 30 + i % 200, {competitors}, {region},
                 {persona}, {line}, 'Account', 'Ana', 'ana@acme.example', {segment}, 1,
                 {t}, {t}
             from s",
            id("d"),
            id("CRM-"),
            persona = pick("i % 3", &["'CIO'", "'VP Sales'", "'CFO'"]),
        ),
        format!(
            "{series} insert into persons (id, email, name, created_at, updated_at)
             select {}, 'buyer' || cast(i as text) || '@example.com', 'Buyer', {t}, {t} from s",
            id("p")
        ),
        format!(
            "{series} insert into contacts (id, deal_id, person_id, name, locale, time_zone,
                 created_at, updated_at)
             select {}, {}, {}, 'Buyer', 'en', 'Europe/Paris', {t}, {t} from s",
            id("c"),
            id("d"),
            id("p")
        ),
        format!(
            "{series} insert into invitations (id, deal_id, contact_id, person_id, account_id,
                 kind, status, segment_key, program_version, scheduled_for, sent_at, opened_at,
                 started_at, completed_at, created_at)
             select {}, {}, {}, {}, 'a' || cast(i % {accounts} as text),
                 case when i % 20 = 0 then 'interview' else 'survey' end, 'completed',
                 {segment}, 1, {t}, {t}, {t}, {t}, {t}, {t}
             from s",
            id("i"),
            id("d"),
            id("c"),
            id("p")
        ),
        format!(
            "{series} insert into responses (id, invitation_id, locale, submitted_at, outcome,
                 segment_key, competitor, region, persona, product_line, amount_band, period,
                 month, survey_key, survey_version, status, updated_at)
             select {}, {}, 'en', {t}, {outcome}, {segment}, {competitor}, {region}, 'CIO',
                 {line}, '10k_to_50k', 'Q', {month},
                 case when i % 20 = 0 then 'interview' else 'win_loss' end,
                 case when i % 20 = 0 then 0 else 1 end, 'complete', {t}
             from s",
            id("r"),
            id("i")
        ),
        format!(
            "{series} insert into response_items (response_id, question_id, item, number, text)
             select {}, 'nps', '', (i * 7 + i / 3) % 11, null from s",
            id("r")
        ),
    ];
    let drivers = driver_ids();
    let quoted: Vec<String> = drivers.iter().map(|d| format!("'{d}'")).collect();
    let quoted: Vec<&str> = quoted.iter().map(String::as_str).collect();
    for k in 0..8 {
        statements.push(format!(
            "{series} insert into response_items (response_id, question_id, item, number, text)
             select {}, 'drivers', {}, ((i / 5 + {k}) % 5) - 2, null from s
             where i % 20 <> 0",
            id("r"),
            pick(&format!("(i + {}) % 22", k * 3), &quoted),
        ));
    }
    // One in a hundred said something an analyst coded.
    statements.push(format!(
        "{series} insert into response_items (response_id, question_id, item, number, text)
         select {}, 'anything_else', '', null, 'Verbatim ' || cast(i as text) || ' on pricing.'
         from s where i % 100 = 1",
        id("r")
    ));
    statements.push(format!(
        "{series} insert into insights (id, response_id, question_id, item, driver,
             taxonomy_version, influence, excerpt, competitor, source, suggested, coded_by,
             coded_at, outcome, segment_key, deal_competitor, region, persona, product_line,
             amount_band, period, month, method)
         select {}, {}, 'anything_else', '', {}, 0, (i % 5) - 2,
             'Verbatim ' || cast(i as text), null, 'analyst', 0, 'bench', {t}, {outcome},
             {segment}, {competitor}, {region}, 'CIO', {line}, '10k_to_50k', 'Q',
             {month}, 'survey'
         from s where i % 100 = 1",
        id("n"),
        id("r"),
        pick("i % 22", &quoted),
    ));
    statements
}

/// Fills `db` with `n` answered deals.
pub async fn fill(db: &Db, n: usize) {
    let mut conn = db.pool().acquire().await.expect("connection");
    for sql in statements(n) {
        sqlx::query(&sql)
            .execute(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
    }
}
