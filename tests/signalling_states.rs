//! The signalling socket against the hearing's life (issue 7): `check` before joining, the
//! waiting room that joins by itself when the hearing opens, pause, the judge's `cue`, the seat
//! kept after a dropped socket (and freed at once by `leave`), removal, and closing.

mod signalling_common;

use std::time::Duration;

use courtroom::store::HearingState;
use futures::StreamExt;
use serde_json::{json, Value};
use signalling_common::*;
use tokio_tungstenite::tungstenite::Message;

/// The next message of type `want` (others skipped), or `None` when the socket closes.
async fn until(ws: &mut Socket, want: &str) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap_or_else(|_| panic!("no {want} in time"))?;
        match msg {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == want || (v["type"] == "error" && want != "roster") {
                    return Some(v);
                }
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_waiting_room_pause_cue_grace_and_closing() {
    let server = Server::start().await;
    let id = server.hearing_id();

    // `check` describes the invitation without taking the seat.
    let mut ws = server.socket().await;
    send(
        &mut ws,
        json!({"v": 1, "type": "check", "token": server.token("plaintiff")}),
    )
    .await;
    let inv = until(&mut ws, "invitation").await.unwrap();
    assert_eq!(inv["type"], "invitation", "{inv}");
    assert_eq!(inv["role"], "plaintiff");
    assert!(inv["hearing"]["locale"].is_string(), "{inv}");
    assert_eq!(inv["state"], "open");
    assert!(
        server.state.running_hearing(&id).await.is_none(),
        "check seats nobody"
    );
    let mut bad = server.socket().await;
    send(
        &mut bad,
        json!({"v": 1, "type": "check", "token": "nonsense"}),
    )
    .await;
    assert_eq!(
        until(&mut bad, "invitation").await.unwrap()["code"],
        "invalid_token"
    );

    // Not open yet: the same socket waits, then joins by itself when the hearing opens.
    server
        .set_state(HearingState::Open, HearingState::Scheduled)
        .await;
    send(
        &mut ws,
        json!({"v": 1, "type": "join", "token": server.token("plaintiff")}),
    )
    .await;
    let waiting = until(&mut ws, "waiting").await.unwrap();
    assert_eq!(waiting["type"], "waiting", "{waiting}");
    assert!(
        server.state.running_hearing(&id).await.is_none(),
        "a waiting invitee is not seated"
    );
    server
        .set_state(HearingState::Scheduled, HearingState::Open)
        .await;
    let welcome = until(&mut ws, "welcome").await.unwrap();
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["paused"], false);
    let party = welcome["participant_id"].as_u64().unwrap();

    // A party may not cue; the judge may, and the party is told.
    send(&mut ws, json!({"v": 1, "type": "cue", "to": party})).await;
    assert_eq!(until(&mut ws, "cue").await.unwrap()["code"], "not_allowed");
    let mut judge = server.socket().await;
    send(
        &mut judge,
        json!({"v": 1, "type": "join", "token": server.token("presiding_judge")}),
    )
    .await;
    let judge_id = until(&mut judge, "welcome").await.unwrap()["participant_id"]
        .as_u64()
        .unwrap();
    send(&mut judge, json!({"v": 1, "type": "cue", "to": 999_999})).await;
    assert_eq!(
        until(&mut judge, "cue_sent").await.unwrap()["code"],
        "unknown_participant"
    );
    send(&mut judge, json!({"v": 1, "type": "cue", "to": party})).await;
    assert_eq!(until(&mut judge, "cue_sent").await.unwrap()["to"], party);
    let cue = until(&mut ws, "cue").await.unwrap();
    assert_eq!(
        (cue["type"].as_str(), cue["from_role"].as_str()),
        (Some("cue"), Some("presiding_judge"))
    );

    // Pause and resume reach the joined pages.
    server
        .set_state(HearingState::Open, HearingState::Paused)
        .await;
    assert_eq!(
        until(&mut ws, "hearing_state").await.unwrap()["state"],
        "paused"
    );
    server
        .set_state(HearingState::Paused, HearingState::Open)
        .await;
    assert_eq!(
        until(&mut ws, "hearing_state").await.unwrap()["state"],
        "open"
    );

    // A dropped socket (no `leave`) keeps its seat; `leave` frees it at once.
    let live = server.state.running_hearing(&id).await.unwrap();
    drop(judge);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        live.is_seated(judge_id),
        "the judge's seat is kept for the grace period"
    );
    let mut clerk = server.socket().await;
    send(
        &mut clerk,
        json!({"v": 1, "type": "join", "token": server.token("clerk")}),
    )
    .await;
    let clerk_id = until(&mut clerk, "welcome").await.unwrap()["participant_id"]
        .as_u64()
        .unwrap();
    send(&mut clerk, json!({"v": 1, "type": "leave"})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!live.is_seated(clerk_id), "leave frees the seat at once");

    // The judge comes back with the same invitation: same seat, the old connection replaced.
    let mut judge = server.socket().await;
    send(
        &mut judge,
        json!({"v": 1, "type": "join", "token": server.token("presiding_judge")}),
    )
    .await;
    let again = until(&mut judge, "welcome").await.unwrap();
    assert_eq!(again["seat"], "presiding_judge");
    assert!(!live.is_seated(judge_id) && live.is_seated(again["participant_id"].as_u64().unwrap()));

    // Removal is told as `removed` (not `replaced`).
    assert!(live.remove(again["participant_id"].as_u64().unwrap()));
    assert_eq!(
        until(&mut judge, "removed").await.unwrap()["type"],
        "removed"
    );

    // Closing: the joined page is told, and the link then explains it.
    server
        .set_state(HearingState::Open, HearingState::Closed)
        .await;
    assert_eq!(until(&mut ws, "closed").await.unwrap()["type"], "closed");
    let mut late = server.socket().await;
    send(
        &mut late,
        json!({"v": 1, "type": "check", "token": server.token("plaintiff")}),
    )
    .await;
    assert_eq!(
        until(&mut late, "invitation").await.unwrap()["code"],
        "hearing_closed"
    );
}
