//! Recording lifecycle: start, pause, resume and stop, each noted with who and when.
//!
//! - Through the record module: pause → resume → stop gives closed segments that end at the
//!   pause and start again at the resume (the gap shows in the manifest), the events with
//!   their actors, nothing written while paused, and a manifest that verifies; changing an
//!   event's actor breaks the signature.
//! - Through the API: a party's invitation may not pause (403, audited); the clerk's
//!   invitation and the clerk's account may; both pauses and resumes are in the audit trail
//!   and in the manifest.

mod record_common;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use courtroom::config::{Settings, Sources};
use courtroom::record::manifest::MANIFEST_FILE;
use courtroom::record::verify::{verify_dir, Severity};
use courtroom::record::Manifest;
use courtroom::record::RecordingState;
use courtroom::store::AccountRole;
use record_common::{record_scripted, segment_duration, Step};
use serde_json::{json, Value};
use tower::ServiceExt;

#[test]
fn pause_resume_stop_leaves_a_gap_the_actors_and_a_verifying_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    let (pause, resume, stop) = (2.6, 4.0, 6.5);
    let (finished, key) = record_scripted(
        &rec,
        Duration::from_secs(2),
        stop,
        |o| o.started_by = "user:li".into(),
        &[
            (pause, Step::Pause("invitee:inv1 (presiding_judge)")),
            (resume, Step::Resume("user:wang")),
        ],
    );
    assert!(finished.failure.is_none(), "{:?}", finished.failure);
    let m = &finished.manifest;
    assert_eq!(m.state, RecordingState::Finalised);

    let kinds: Vec<(&str, &str, u64)> = m
        .events
        .iter()
        .map(|e| (e.event.as_str(), e.actor.as_str(), e.media_ms))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("start", "user:li", 0),
            ("pause", "invitee:inv1 (presiding_judge)", 2600),
            ("resume", "user:wang", 4000),
            ("stop", "user:li", 6500),
        ]
    );
    for e in &m.events {
        assert!(
            chrono::DateTime::parse_from_rfc3339(&e.at).is_ok(),
            "{} at {:?}",
            e.event,
            e.at
        );
    }

    // The segment under way at the pause ends at the pause; the next starts at the resume.
    let before = m
        .segments
        .iter()
        .position(|s| s.media_end_ms == 2600)
        .unwrap_or_else(|| panic!("no segment ends at the pause: {:#?}", m.segments));
    let after = &m.segments[before + 1];
    assert!(
        (3960..=4200).contains(&after.media_start_ms),
        "resumed segment starts at {} ms",
        after.media_start_ms
    );
    assert_eq!(m.segments.last().unwrap().media_end_ms, 6500);
    for s in &m.segments {
        assert!(s.complete, "{}", s.file);
        assert!(
            s.media_end_ms <= 2600 || s.media_start_ms >= 3960,
            "segment {} covers the pause: {}..{}",
            s.index,
            s.media_start_ms,
            s.media_end_ms
        );
    }
    // Nothing from the paused stretch is in the files: they hold what was recorded, no more.
    let total: f64 = m
        .segments
        .iter()
        .map(|s| segment_duration(&rec.join(&s.file)))
        .sum();
    let recorded = (m.segments.iter())
        .map(|s| (s.media_end_ms - s.media_start_ms) as f64 / 1000.0)
        .sum::<f64>();
    assert!(
        (recorded - (stop - (resume - pause))).abs() < 0.25,
        "{recorded} s in the manifest"
    );
    assert!((total - recorded).abs() < 0.3, "files hold {total} s");

    let report = verify_dir(&rec, Some(&key.public()));
    assert!(report.ok(), "{}", report.render());
    assert!(
        !report.findings.iter().any(|f| f.message.contains("gap")),
        "the gap is explained by the pause: {}",
        report.render()
    );

    // The events are covered by the signature.
    let path = rec.join(MANIFEST_FILE);
    let original = std::fs::read(&path).unwrap();
    let text = String::from_utf8(original.clone()).unwrap();
    let forged = text.replacen("user:wang", "user:zhu!", 1);
    assert_ne!(forged, text);
    std::fs::write(&path, forged).unwrap();
    let report = verify_dir(&rec, Some(&key.public()));
    assert!(!report.ok());
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.severity == Severity::Error && f.message.contains("manifest.json.sig")),
        "{}",
        report.render()
    );
    std::fs::write(&path, &original).unwrap();
    assert_eq!(Manifest::read(&rec).unwrap().events, m.events);
}

struct Api {
    router: axum::Router,
    state: courtroom::api::AppState,
    _dir: tempfile::TempDir,
}

impl Api {
    async fn call(
        &self,
        uri: &str,
        cookie: Option<&str>,
        bearer: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value, Option<String>) {
        let mut req = Request::builder().method(Method::POST).uri(uri);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        if let Some(t) = bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let cookie = resp
            .headers()
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            cookie,
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_may_not_pause_the_clerk_may_and_the_manifest_says_who() {
    let dir = tempfile::tempdir().unwrap();
    let sets = vec![
        format!("data_dir=\"{}\"", dir.path().display()),
        "video.fps=10".into(),
        "record.segment_seconds=1".into(),
    ];
    let settings =
        Arc::new(Settings::load_with_env(&Sources { file: None, sets }, Vec::new()).unwrap());
    let state = courtroom::server::prepare(settings).await.unwrap();
    courtroom::api::session::create_user(
        state.store(),
        "li",
        "Clerk Li",
        AccountRole::Clerk,
        "correct horse battery",
    )
    .await
    .unwrap();
    let api = Api {
        router: courtroom::api::router(state.clone()),
        state,
        _dir: dir,
    };
    let (status, _, cookie) = api
        .call(
            "/api/login",
            None,
            None,
            json!({"username": "li", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let cookie = cookie.unwrap();
    let c = Some(cookie.as_str());
    let (_, h, _) = api
        .call(
            "/api/hearings",
            c,
            None,
            json!({ "case_number": "(2026) Pause 1", "title": "Pause", "locale": "en",
                    "scheduled_at": "2026-03-01T09:30:00+08:00" }),
        )
        .await;
    let id = h["hearing"]["id"].as_str().unwrap().to_owned();
    let mut tokens = Vec::new();
    for role in ["plaintiff", "clerk"] {
        let (_, r, _) = api
            .call(
                &format!("/api/hearings/{id}/invitations"),
                c,
                None,
                json!({ "role": role, "name": role }),
            )
            .await;
        tokens.push(r["token"].as_str().unwrap().to_owned());
    }
    let (party, clerk_inv) = (tokens[0].as_str(), tokens[1].as_str());
    api.call(
        &format!("/api/hearings/{id}/state"),
        c,
        None,
        json!({"state": "open"}),
    )
    .await;
    let url = |what: &str| format!("/api/hearings/{id}/recording/{what}");
    let (status, _, _) = api.call(&url("pause"), c, None, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing to pause yet");
    let (status, started, _) = api.call(&url("start"), c, None, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let rid = started["recording"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // A party may not pause; the refusal is audited.
    let (status, body, _) = api.call(&url("pause"), None, Some(party), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    let (status, _, _) = api.call(&url("pause"), None, None, json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The clerk's invitation may.
    let (status, body, _) = api
        .call(&url("pause"), None, Some(clerk_inv), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "paused");
    let hearing = api.state.running_hearing(&id).await.unwrap();
    assert!(hearing.recording_paused() && hearing.is_recording());
    let (status, body, _) = api.call(&url("pause"), c, None, json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_paused"))
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, body, _) = api.call(&url("resume"), c, None, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body, _) = api.call(&url("resume"), c, None, json!({})).await;
    assert_eq!(body["error"]["code"], "not_paused", "{status}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, body, _) = api.call(&url("stop"), c, None, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let rec = api.state.store().recording(&rid).await.unwrap().unwrap();
    let dir = std::path::PathBuf::from(&rec.dir);
    let m = Manifest::read(&dir).unwrap();
    let who: Vec<(&str, &str)> = m
        .events
        .iter()
        .map(|e| (e.event.as_str(), e.actor.as_str()))
        .collect();
    let inv_actor = who.get(1).map(|w| w.1).unwrap_or("");
    assert!(
        inv_actor.starts_with("invitee:") && inv_actor.ends_with("(clerk)"),
        "{who:?}"
    );
    assert_eq!(
        who,
        vec![
            ("start", "user:li"),
            ("pause", inv_actor),
            ("resume", "user:li"),
            ("stop", "user:li"),
        ]
    );
    let (pause_ms, resume_ms) = (m.events[1].media_ms, m.events[2].media_ms);
    assert!(resume_ms >= pause_ms + 1000, "{pause_ms}..{resume_ms}");
    assert!(
        m.segments
            .iter()
            .all(|s| s.media_end_ms <= pause_ms + 150 || s.media_start_ms + 150 >= resume_ms),
        "no segment spans the pause: {:#?}",
        m.segments
    );
    let key =
        courtroom::record::RecordingKey::load_or_create(&api.state.settings().data_dir).unwrap();
    let report = verify_dir(&dir, Some(&key.public()));
    assert!(report.ok(), "{}", report.render());

    let audit: Vec<(String, Value)> = api
        .state
        .store()
        .audit_entries(None, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, serde_json::from_str(&e.detail).unwrap()))
        .collect();
    let has = |a: &str| audit.iter().any(|(x, _)| x == a);
    for a in [
        "recording_started",
        "recording_paused",
        "recording_resumed",
        "recording_stopped",
    ] {
        assert!(has(a), "{a} missing from the audit trail");
    }
    assert!(
        audit
            .iter()
            .any(|(a, d)| a == "permission_denied" && d["action"] == "start_stop_recording"),
        "the party's refusal is audited"
    );
    api.state.shutdown_hearings().await;
}
