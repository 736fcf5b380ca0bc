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

/// The table lets the presiding judge's and the clerk's invitations mute, remove and start and
/// stop the recording (issue 16: those routes took portal accounts only); the other roles are
/// refused with 403 and the refusal is audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bench_and_the_clerk_act_with_their_invitations_as_the_table_says() {
    let app = TestApp::demo().await;
    let id = app.demo_hearing_id();
    let live = app.state.hearing(&id).await.unwrap();
    let judge = app.token("presiding_judge");
    let clerk = app.token("clerk");
    let party = app.token("plaintiff");
    let assessor = app
        .seat_invitee(&live, &app.token("assessor_left"), "Zhou")
        .await
        .id;
    let defendant = app
        .seat_invitee(&live, &app.token("defendant"), "Wu")
        .await
        .id;
    let post = |uri: String, who: String, body: serde_json::Value| {
        let app = &app;
        async move { app.post(&uri, Who::Invitation(&who), body).await }
    };
    let none = serde_json::Value::Null;

    // A party may do none of it.
    for uri in [
        format!("/api/hearings/{id}/recording/start"),
        format!("/api/hearings/{id}/recording/stop"),
        format!("/api/hearings/{id}/participants/{assessor}/remove"),
    ] {
        let r = post(uri.clone(), party.clone(), none.clone()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}: {}", r.text());
    }
    let r = post(
        format!("/api/hearings/{id}/participants/{assessor}/mute"),
        party.clone(),
        serde_json::json!({ "muted": true }),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(app.audit_details("permission_denied").await.len(), 4);

    // The presiding judge starts the recording; the clerk stops it; both are audited.
    let start = post(
        format!("/api/hearings/{id}/recording/start"),
        judge.clone(),
        none.clone(),
    )
    .await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.text());
    assert!(live.is_recording());
    let stop = post(
        format!("/api/hearings/{id}/recording/stop"),
        clerk.clone(),
        none.clone(),
    )
    .await;
    assert_eq!(stop.status, StatusCode::OK, "{}", stop.text());
    assert!(!live.is_recording());
    let recorded = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|(a, _)| a.starts_with("recording_"))
        .count();
    assert_eq!(recorded, 2, "start and stop in the audit trail");

    // The judge mutes the assessor; the clerk removes the defendant.
    let mute = post(
        format!("/api/hearings/{id}/participants/{assessor}/mute"),
        judge.clone(),
        serde_json::json!({ "muted": true }),
    )
    .await;
    assert_eq!(mute.status, StatusCode::OK, "{}", mute.text());
    assert_eq!(mute.json()["muted"], true);
    let remove = post(
        format!("/api/hearings/{id}/participants/{defendant}/remove"),
        clerk.clone(),
        none.clone(),
    )
    .await;
    assert_eq!(remove.status, StatusCode::OK, "{}", remove.text());
    assert!(live.admission(defendant).is_none(), "the defendant is gone");
    let audit = app.audit_action_names().await;
    for action in ["mute", "remove"] {
        assert!(audit.iter().any(|a| a == action), "{action} in {audit:?}");
    }
}
