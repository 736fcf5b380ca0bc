//! The signalling socket against the hearing's life (issue 7): `check` before joining, the
//! waiting room that joins by itself when the hearing opens, pause, the judge's `cue`, the seat
//! kept after a dropped socket (and freed at once by `leave`), removal, and closing.

use std::time::Duration;

use courtroom::store::HearingState;
use serde_json::json;

use crate::support::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_waiting_room_pause_cue_grace_and_closing() {
    let app = TestApp::demo().await;
    let id = app.demo_hearing_id();

    // `check` describes the invitation without taking the seat.
    let mut ws = app.signalling().await;
    ws.send_check(&app.token("plaintiff")).await;
    let inv = ws.until("invitation").await.unwrap();
    assert_eq!(inv["type"], "invitation", "{inv}");
    assert_eq!(inv["role"], "plaintiff");
    assert!(inv["hearing"]["locale"].is_string(), "{inv}");
    assert_eq!(inv["state"], "open");
    assert!(
        app.state.running_hearing(&id).await.is_none(),
        "check seats nobody"
    );
    let mut bad = app.signalling().await;
    bad.send_check("nonsense").await;
    assert_eq!(
        bad.until("invitation").await.unwrap()["code"],
        "invalid_token"
    );

    // Not open yet: the same socket waits, then joins by itself when the hearing opens.
    app.force_demo_state(HearingState::Open, HearingState::Scheduled)
        .await;
    ws.send_join(&app.token("plaintiff")).await;
    let waiting = ws.until("waiting").await.unwrap();
    assert_eq!(waiting["type"], "waiting", "{waiting}");
    assert!(
        app.state.running_hearing(&id).await.is_none(),
        "a waiting invitee is not seated"
    );
    app.force_demo_state(HearingState::Scheduled, HearingState::Open)
        .await;
    let welcome = ws.until("welcome").await.unwrap();
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["paused"], false);
    let party = welcome["participant_id"].as_u64().unwrap();

    // A party may not cue; the judge may, and the party is told.
    ws.send(json!({"v": 1, "type": "cue", "to": party})).await;
    assert_eq!(ws.until("cue").await.unwrap()["code"], "not_allowed");
    let mut judge = app.signalling().await;
    judge.send_join(&app.token("presiding_judge")).await;
    let judge_id = judge.until("welcome").await.unwrap()["participant_id"]
        .as_u64()
        .unwrap();
    judge
        .send(json!({"v": 1, "type": "cue", "to": 999_999}))
        .await;
    assert_eq!(
        judge.until("cue_sent").await.unwrap()["code"],
        "unknown_participant"
    );
    judge
        .send(json!({"v": 1, "type": "cue", "to": party}))
        .await;
    assert_eq!(judge.until("cue_sent").await.unwrap()["to"], party);
    let cue = ws.until("cue").await.unwrap();
    assert_eq!(
        (cue["type"].as_str(), cue["from_role"].as_str()),
        (Some("cue"), Some("presiding_judge"))
    );

    // Pause and resume reach the joined pages.
    app.force_demo_state(HearingState::Open, HearingState::Paused)
        .await;
    assert_eq!(ws.until("hearing_state").await.unwrap()["state"], "paused");
    app.force_demo_state(HearingState::Paused, HearingState::Open)
        .await;
    assert_eq!(ws.until("hearing_state").await.unwrap()["state"], "open");

    // A dropped socket (no `leave`) keeps its seat; `leave` frees it at once.
    let live = app.state.running_hearing(&id).await.unwrap();
    drop(judge);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        live.is_seated(judge_id),
        "the judge's seat is kept for the grace period"
    );
    let mut clerk = app.signalling().await;
    clerk.send_join(&app.token("clerk")).await;
    let clerk_id = clerk.until("welcome").await.unwrap()["participant_id"]
        .as_u64()
        .unwrap();
    clerk.send(json!({"v": 1, "type": "leave"})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!live.is_seated(clerk_id), "leave frees the seat at once");

    // The judge comes back with the same invitation: same seat, the old connection replaced.
    let mut judge = app.signalling().await;
    judge.send_join(&app.token("presiding_judge")).await;
    let again = judge.until("welcome").await.unwrap();
    assert_eq!(again["seat"], "presiding_judge");
    assert!(!live.is_seated(judge_id) && live.is_seated(again["participant_id"].as_u64().unwrap()));

    // Removal is told as `removed` (not `replaced`).
    assert!(live.remove(again["participant_id"].as_u64().unwrap()));
    assert_eq!(judge.until("removed").await.unwrap()["type"], "removed");

    // Closing: the joined page is told, and the link then explains it.
    app.force_demo_state(HearingState::Open, HearingState::Closed)
        .await;
    assert_eq!(ws.until("closed").await.unwrap()["type"], "closed");
    let mut late = app.signalling().await;
    late.send_check(&app.token("plaintiff")).await;
    assert_eq!(
        late.until("invitation").await.unwrap()["code"],
        "hearing_closed"
    );
}
