//! The presiding judge's gavel: only the presiding judge strikes it; the recording's audio
//! carries it at the moment the manifest marks (`court_opened`, `court_closed`), found by the
//! gavel's own ring (740 Hz) in the decoded audio; and nothing rings before it.

use std::time::Duration;

use axum::http::StatusCode;
use courtroom::media::gavel::GAVEL_RING_HZ;
use serde_json::{json, Value};

use crate::support::{avsync, TestApp, Who};

#[tokio::test]
async fn the_gavel_opens_and_closes_the_court_in_the_recording() {
    let app = TestApp::builder()
        .set("video.width=640")
        .set("video.height=360")
        .start()
        .await;
    let cookie = app.login_clerk().await;
    let clerk = Who::Session(&cookie);
    let id = app.create_hearing(&cookie).await;
    app.set_state(&cookie, &id, "open").await;
    let judge = app
        .invite(&cookie, &id, "presiding_judge", "Judge Chen")
        .await
        .token;
    let plaintiff = app.invite(&cookie, &id, "plaintiff", "Li Hua").await.token;
    assert_eq!(app.start_recording(clerk, &id).await.status, StatusCode::OK);
    let live = app.state.hearing(&id).await.unwrap();
    let dir = live.recording_dir().unwrap();
    let gavel = |act: &str| format!("/api/hearings/{id}/gavel/{act}");
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let r = app
        .post(&gavel("open"), Who::Invitation(&plaintiff), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = app.post(&gavel("open"), clerk, json!({})).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "only the presiding judge: {}",
        r.text()
    );
    let r = app
        .post(&gavel("bang"), Who::Invitation(&judge), json!({}))
        .await;
    assert_eq!(r.code(), "bad_act");
    let r = app
        .post(&gavel("open"), Who::Invitation(&judge), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let r = app
        .post(&gavel("close"), Who::Invitation(&judge), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(app.stop_recording(clerk, &id).await.status, StatusCode::OK);

    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let marks: Vec<(String, f64)> = manifest["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"].as_str().unwrap().starts_with("court_"))
        .map(|e| {
            assert!(
                e["actor"].as_str().unwrap().contains("presiding_judge"),
                "{e}"
            );
            (
                e["event"].as_str().unwrap().to_owned(),
                e["media_ms"].as_u64().unwrap() as f64 / 1000.0,
            )
        })
        .collect();
    assert_eq!(
        marks.iter().map(|m| m.0.as_str()).collect::<Vec<_>>(),
        ["court_opened", "court_closed"],
        "{manifest}"
    );
    // Each strike of the ring found in the audio, on the recording's time line.
    let mut rings = Vec::new();
    for seg in manifest["segments"].as_array().unwrap() {
        let start = seg["media_start_ms"].as_u64().unwrap() as f64 / 1000.0;
        let mp4 = dir.join(seg["file"].as_str().unwrap());
        rings.extend(
            avsync::beep_onsets(&mp4, GAVEL_RING_HZ)
                .into_iter()
                .map(|t| start + t),
        );
    }
    assert_eq!(
        rings.len(),
        2,
        "one ring per gavel, none else: {rings:?}, marks {marks:?}"
    );
    for ((event, at), ring) in marks.iter().zip(&rings) {
        assert!(
            (ring - at).abs() < 0.25,
            "{event} marked at {at:.3} s, its ring at {ring:.3} s"
        );
    }
    let report = courtroom::record::verify::verify_dir(
        &dir,
        Some(
            &courtroom::record::RecordingKey::load_or_create(app.data_dir())
                .unwrap()
                .public(),
        ),
    );
    assert!(report.ok(), "{report:?}");
}
