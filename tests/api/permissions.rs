//! Invitees are held to their role, an invitation is not a portal login, and every refusal
//! lands in the audit trail.

use axum::http::StatusCode;

use crate::support::{TestApp, Who};

#[tokio::test]
async fn invitees_are_held_to_their_role_and_refusals_are_audited() {
    let app = TestApp::start().await;
    let cookie = app.login_clerk().await;
    let id = app.create_hearing(&cookie).await;
    let mut tokens = Vec::new();
    for role in ["plaintiff", "clerk"] {
        tokens.push(app.invite(&cookie, &id, role, role).await.token);
    }
    let party = app.invitee_monitor(Who::Invitation(&tokens[0])).await;
    assert_eq!(
        (party.status, party.code()),
        (StatusCode::FORBIDDEN, "forbidden".to_owned())
    );
    let clerk = app.invitee_monitor(Who::Invitation(&tokens[1])).await;
    assert_eq!(clerk.status, StatusCode::OK);
    assert_eq!(clerk.json()["hearing"]["id"], id.as_str());
    // An invitation is not a portal login.
    assert_eq!(
        app.hearings(Who::Invitation(&tokens[1])).await.status,
        StatusCode::UNAUTHORIZED
    );
    let refusals = app.audit_details("permission_denied").await;
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0]["action"], "monitor");
}
