use super::*;
use crate::outreach::decision::DecisionRequest;
use crate::programs::definition::ProgramRequest;
use serde_json::json;

fn now() -> DateTime<Utc> {
    "2026-11-23T10:00:00Z".parse().expect("valid")
}

fn timing() -> Timing {
    Timing {
        business_hours: BusinessHours::parse("00:00-24:00", "mon-sun").expect("valid"),
        delay_after_decision: Duration::hours(1),
    }
}

fn program(extra: serde_json::Value) -> Program {
    let mut definition = json!({
        "name": "Win-loss",
        "incentives": [
            { "key": "eur_100", "kind": "money", "amount": { "minor_units": 10000, "currency": "EUR" } },
            { "key": "eur_25", "kind": "money", "amount": { "minor_units": 2500, "currency": "EUR" } }
        ],
        "segments": [
            { "key": "strategic", "name": "Strategic", "method": "interview", "incentive": "eur_100",
              "contacts": "deciders", "max_contacts_per_deal": 2,
              "rules": [ { "attribute": "strategic", "is": true },
                         { "attribute": "amount", "currency": "EUR", "min": 5000000 } ] },
            { "key": "declined", "name": "Declined requests", "method": "survey", "survey": "declined_request",
              "rules": [ { "attribute": "outcome", "any_of": ["declined"] } ] },
            { "key": "volume", "name": "Volume", "method": "survey", "sample_rate": 0.3, "incentive": "eur_25",
              "rules": [ { "attribute": "amount", "currency": "EUR", "max": 2000000 } ] }
        ]
    });
    if let (Some(target), Some(extra)) = (definition.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            target.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value::<ProgramRequest>(definition)
        .expect("well-formed")
        .parse(1)
        .expect("valid")
}

fn deal(
    crm_id: &str,
    outcome: &str,
    minor_units: i64,
    strategic: bool,
    contacts: usize,
) -> Decision {
    let contacts: Vec<_> = (0..contacts)
        .map(|i| {
            let role = [
                "Decision maker",
                "Champion",
                "Economic buyer",
                "Evaluator",
                "User",
            ][i % 5];
            json!({ "name": format!("Buyer {i}"), "email": format!("b{i}@{crm_id}.example"),
                    "role": role,
                    "locale": "en", "time_zone": "Europe/Paris" })
        })
        .collect();
    serde_json::from_value::<DecisionRequest>(json!({
        "crm_id": crm_id, "outcome": outcome, "decided_at": "2026-11-20T15:30:00Z",
        "amount": { "minor_units": minor_units, "currency": "EUR" }, "sales_cycle_days": 90,
        "competitors": ["Northwind"], "strategic": strategic,
        "account": { "name": format!("Account {crm_id}"), "manager": { "name": "Ana", "email": "ana@vendor.example" } },
        "contacts": contacts
    }))
    .expect("well-formed")
    .parse(now())
    .expect("valid")
}

#[test]
fn a_strategic_loss_gets_interviews_for_its_deciders_with_the_incentive() {
    let p = plan(
        &deal("OPP-1", "lost", 8_000_000, true, 3),
        &program(json!({})),
        &History::default(),
        &timing(),
        now(),
    );
    assert_eq!(p.segment.as_deref(), Some("strategic"));
    assert_eq!(p.method, Some(Method::Interview));
    // Decision maker first, then the economic buyer; the champion has no deciding role.
    let invited: Vec<_> = p.invitations.iter().map(|i| i.email.as_str()).collect();
    assert_eq!(invited, ["b0@opp-1.example", "b2@opp-1.example"]);
    assert!(p
        .invitations
        .iter()
        .all(|i| i.kind == InvitationKind::Interview
            && i.incentive.as_ref().is_some_and(|x| x.key == "eur_100")));
    assert_eq!(p.left_out[0].reason, Exclusion::NoEligibleContact);
}

#[test]
fn sampling_keeps_the_configured_share_and_the_same_deal_always_draws_the_same() {
    let program = program(json!({}));
    let drawn = (0..2_000)
        .filter(|n| {
            let p = plan(
                &deal(&format!("V-{n}"), "won", 500_000, false, 1),
                &program,
                &History::default(),
                &timing(),
                now(),
            );
            assert_eq!(p.segment.as_deref(), Some("volume"));
            !p.invitations.is_empty()
        })
        .count();
    // Binomial(2000, 0.3): standard deviation 20.5; four of them either side.
    assert!((518..=682).contains(&drawn), "{drawn} of 2000 drawn");
    let again = |n: usize| {
        !plan(
            &deal(&format!("V-{n}"), "won", 500_000, false, 1),
            &program,
            &History::default(),
            &timing(),
            now(),
        )
        .invitations
        .is_empty()
    };
    assert!((0..50).all(|n| again(n) == again(n)));
}

#[test]
fn a_buyer_invited_recently_elsewhere_is_skipped_and_the_account_cap_holds() {
    let mut program = program(json!({}));
    program.segments[0].max_contacts_per_deal = None;
    program.segments[0].contacts = ContactSelection::All;
    let d = deal("OPP-2", "lost", 8_000_000, true, 5);
    let mut history = History::default();
    history
        .person_last
        .entry("b1@opp-2.example".into())
        .or_default()
        .note("OPP-1", now() - Duration::days(10));
    let p = plan(&d, &program, &history, &timing(), now());
    let reasons: HashMap<&str, Exclusion> = p
        .left_out
        .iter()
        .map(|l| (l.email.as_str(), l.reason))
        .collect();
    assert_eq!(
        reasons.get("b1@opp-2.example"),
        Some(&Exclusion::PersonCooldown)
    );
    // Three per decision at one account: the fifth buyer (a plain user) is capped.
    assert_eq!(p.invitations.len(), 3);
    assert_eq!(
        reasons.get("b4@opp-2.example"),
        Some(&Exclusion::AccountCap)
    );
}

#[test]
fn suppressed_and_bounced_buyers_are_left_out_with_their_reason() {
    let d = deal("D-1", "declined", 100_000, false, 2);
    let mut history = History::default();
    history
        .suppressed
        .insert("b0@d-1.example".into(), SuppressionSource::BuyerLink);
    history
        .suppressed
        .insert("b1@d-1.example".into(), SuppressionSource::HardBounce);
    let p = plan(&d, &program(json!({})), &history, &timing(), now());
    assert_eq!(p.segment.as_deref(), Some("declined"));
    let reasons: Vec<_> = p.left_out.iter().map(|l| l.reason).collect();
    assert_eq!(reasons, [Exclusion::Suppressed, Exclusion::Bounced]);
}

#[test]
fn a_met_quota_and_an_unbalanced_outcome_stop_new_deals() {
    let program = program(json!({}));
    let d = deal("OPP-3", "lost", 8_000_000, true, 1);
    let mut history = History::default();
    history.tallies.insert(
        ("strategic".into(), "2026-Q4".into()),
        Tally {
            completed: 10,
            ..Tally::default()
        },
    );
    assert_eq!(
        plan(&d, &program, &history, &timing(), now()).deal_excluded,
        Some(Exclusion::QuotaMet)
    );

    let mut program = program;
    program.segments[0].max_outcome_share = Some(0.6);
    let mut tally = Tally::default();
    tally.invited_deals.insert(Outcome::Lost, 6);
    tally.invited_deals.insert(Outcome::Won, 2);
    history
        .tallies
        .insert(("strategic".into(), "2026-Q4".into()), tally);
    assert_eq!(
        plan(&d, &program, &history, &timing(), now()).deal_excluded,
        Some(Exclusion::OutcomeBalance)
    );
    let won = deal("OPP-4", "won", 8_000_000, true, 1);
    assert_eq!(
        plan(&won, &program, &history, &timing(), now()).deal_excluded,
        None
    );
}

#[test]
fn a_spent_budget_sends_without_the_incentive_or_holds_as_configured() {
    let budget = |when: &str| {
        program(
            json!({ "budget": { "currency": "EUR", "per_period_minor": 15000, "when_spent": when } }),
        )
    };
    let d = deal("OPP-5", "lost", 8_000_000, true, 3);
    let p = plan(
        &d,
        &budget("send_without"),
        &History::default(),
        &timing(),
        now(),
    );
    // 100 EUR fits in 150; the second 100 does not.
    assert!(p.invitations[0].incentive.is_some());
    assert!(p.invitations[1].incentive.is_none() && p.invitations[1].incentive_withheld);
    assert_eq!(p.invitations[1].status, InvitationStatus::Scheduled);

    let p = plan(&d, &budget("hold"), &History::default(), &timing(), now());
    assert_eq!(p.invitations[1].status, InvitationStatus::Held);
    assert_eq!(p.invitations[1].status_reason, Some("budget_spent"));
}

#[test]
fn reminders_and_expiry_follow_the_first_email_in_business_hours() {
    let program = program(json!({}));
    let office = Timing {
        business_hours: BusinessHours::parse("09:00-17:00", "mon-fri").expect("valid"),
        delay_after_decision: Duration::hours(1),
    };
    let p = plan(
        &deal("OPP-6", "declined", 100_000, false, 1),
        &program,
        &History::default(),
        &office,
        now(),
    );
    let i = &p.invitations[0];
    // Monday 10:00 UTC is 11:00 in Paris: at once. +3 days is Thursday, +7 the next Monday.
    assert_eq!(i.scheduled_for, now());
    assert_eq!(
        i.reminders,
        [now() + Duration::days(3), now() + Duration::days(7)]
    );
    assert_eq!(i.expires_at, now() + Duration::days(30));
}

#[test]
fn a_deal_matching_no_segment_is_outside_the_program() {
    let p = plan(
        &deal("OPP-7", "won", 3_000_000, false, 2),
        &program(json!({})),
        &History::default(),
        &timing(),
        now(),
    );
    assert_eq!(p.segment, None);
    assert_eq!(p.deal_excluded, Some(Exclusion::OutsideProgram));
    assert_eq!(p.left_out.len(), 2);
}
