//! An operator scrapes `/metrics`: latency by route, emails sent, bounces and the outbox's
//! depth, and never a buyer's address or link.

use debrief_tests::{both_backends, lost_deal, TestApp};

async fn an_operator_sees_sends_bounces_and_the_outbox_without_personal_data(mut app: TestApp) {
    app.post_decision(&lost_deal("M-1")).await;
    app.deliver().await;
    let mail = app.next_invitation().await;
    app.get_survey(&mail.token()).await;
    app.smtp.reject_recipients(Some("550 5.1.1 no such user"));
    let mut other = lost_deal("M-2");
    other["contacts"][0]["email"] = serde_json::json!("gone@globex.example");
    app.post_decision(&other).await;
    app.deliver().await;

    let metrics = app.survey_page("/metrics").await;
    assert_eq!(metrics.status, 200);
    let text = metrics.text;
    for line in [
        "debrief_emails_sent_total{kind=\"survey_invitation\"} 1",
        "debrief_email_bounces_total{kind=\"survey_invitation\"} 1",
        "debrief_email_failures_total{kind=\"survey_invitation\",permanent=\"true\"} 1",
        "debrief_jobs{kind=\"survey_invitation\",status=\"dead\"} 1",
        // The delivered invitation's job went on to its first reminder; the bounced one's
        // stopped.
        "debrief_jobs{kind=\"invitation_reminder\",status=\"pending\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
    assert!(text.contains(
        "debrief_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/decisions\",status=\"201\"} 2"
    ), "{text}");
    assert!(text.contains("route=\"/api/v1/surveys/{token}\""), "{text}");
    for secret in [
        mail.token().as_str(),
        "camille@globex.example",
        "gone@globex.example",
        "Camille",
    ] {
        assert!(!text.contains(secret), "{secret} leaked into /metrics");
    }
}

both_backends!(an_operator_sees_sends_bounces_and_the_outbox_without_personal_data);
