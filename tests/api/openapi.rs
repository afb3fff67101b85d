//! An integrator reads the API from its OpenAPI 3.1 document, parsed by a real parser.

use debrief_tests::{both_backends, TestApp};

async fn the_openapi_document_parses_and_describes_the_staff_and_widget_endpoints(app: TestApp) {
    let reply = app.survey_page("/api/v1/openapi.json").await;
    assert_eq!(reply.status, 200);
    let spec = oas3::from_json(&reply.text).expect("a valid OpenAPI 3.1 document");
    assert!(spec.openapi.starts_with("3.1"), "{}", spec.openapi);
    let paths = spec.paths.expect("paths");
    for path in [
        "/api/v1/decisions",
        "/api/v1/program",
        "/api/v1/program/preview",
        "/api/v1/suppressions/{id}/lift",
        "/api/v1/incentives/payouts",
        "/api/v1/responses/{token}",
        "/api/v1/jobs/{id}/replay",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    let schemas = spec.components.expect("components").schemas;
    for schema in [
        "DecisionRequest",
        "ProgramRequest",
        "Preview",
        "ErrorBody",
        "AnswerRequest",
    ] {
        assert!(schemas.contains_key(schema), "{schema} has no schema");
    }
}

both_backends!(the_openapi_document_parses_and_describes_the_staff_and_widget_endpoints);
