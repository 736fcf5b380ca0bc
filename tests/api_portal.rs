//! The portal's REST API, black-box through the router: logins and their rate limit, the
//! session cookie, hearings and invitations, permission refusals in the audit trail,
//! recording, downloads with ranges and zip bundles, and path traversal.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use courtroom::api::{router, AppState};
use courtroom::config::{Settings, Sources};
use courtroom::store::testing::TestDatabase;
use courtroom::store::{AccountRole, Backend};
use serde_json::{json, Value};
use tower::ServiceExt;

struct App {
    state: AppState,
    router: Router,
    dir: tempfile::TempDir,
    _db: Option<TestDatabase>,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
    fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
}

const PASSWORD: &str = "correct horse battery";

impl App {
    async fn start(extra: &[&str], backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(TestDatabase::postgres().await),
        };
        let mut sets = vec![
            format!("data_dir=\"{}\"", dir.path().display()),
            "video.fps=10".into(),
        ];
        if let Some(db) = &db {
            sets.push(format!("database_url=\"{}\"", db.url));
        }
        sets.extend(extra.iter().map(|s| s.to_string()));
        let settings =
            Arc::new(Settings::load_with_env(&Sources { file: None, sets }, Vec::new()).unwrap());
        let state = courtroom::server::prepare(settings).await.unwrap();
        courtroom::api::session::create_user(
            state.store(),
            "li",
            "Clerk Li",
            AccountRole::Clerk,
            PASSWORD,
        )
        .await
        .unwrap();
        Self {
            router: router(state.clone()),
            state,
            dir,
            _db: db,
        }
    }

    async fn call(
        &self,
        method: Method,
        uri: &str,
        cookie: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, uri: &str, cookie: Option<&str>) -> Reply {
        self.call(Method::GET, uri, cookie, None, &[]).await
    }

    async fn post(&self, uri: &str, cookie: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, uri, cookie, Some(body), &[]).await
    }

    async fn login(&self, user: &str, password: &str) -> Reply {
        self.post(
            "/api/login",
            None,
            json!({ "username": user, "password": password }),
        )
        .await
    }

    /// Logs in as the clerk; returns the `Cookie` header value.
    async fn clerk(&self) -> String {
        let r = self.login("li", PASSWORD).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        let set = r.headers[header::SET_COOKIE].to_str().unwrap();
        set.split(';').next().unwrap().to_owned()
    }

    async fn create_hearing(&self, cookie: &str) -> String {
        let r = self
            .post(
                "/api/hearings",
                Some(cookie),
                json!({ "case_number": "(2026) Test 1", "title": "Test hearing", "locale": "zh",
                        "scheduled_at": "2026-03-01T09:30:00+08:00" }),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        r.json()["hearing"]["id"].as_str().unwrap().to_owned()
    }

    async fn set_state(&self, cookie: &str, id: &str, to: &str) -> Reply {
        self.post(
            &format!("/api/hearings/{id}/state"),
            Some(cookie),
            json!({ "state": to }),
        )
        .await
    }

    async fn audit_actions(&self) -> Vec<(String, Value)> {
        self.state
            .store()
            .audit_entries(None, None, 1000)
            .await
            .unwrap()
            .into_iter()
            .rev()
            .map(|e| (e.action, serde_json::from_str(&e.detail).unwrap()))
            .collect()
    }
}

#[tokio::test]
async fn login_sets_a_strict_httponly_cookie_and_logout_ends_it() {
    let app = App::start(&[], Backend::Sqlite).await;
    let wrong = app.login("li", "wrong password!").await;
    assert_eq!(
        (wrong.status, wrong.code().as_str()),
        (StatusCode::UNAUTHORIZED, "bad_credentials")
    );
    let unknown = app.login("nobody", PASSWORD).await;
    assert_eq!(
        unknown.code(),
        "bad_credentials",
        "same answer for an unknown name"
    );

    let ok = app.login("li", PASSWORD).await;
    assert_eq!(ok.status, StatusCode::OK);
    let set = ok.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "plain HTTP: no Secure flag: {set}");
    let cookie = set.split(';').next().unwrap().to_owned();

    assert_eq!(app.get("/api/me", None).await.code(), "unauthenticated");
    assert_eq!(
        app.get("/api/me", Some("courtroom_session=forged"))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let me = app.get("/api/me", Some(&cookie)).await;
    assert_eq!(me.json()["user"]["username"], "li");

    let out = app.post("/api/logout", Some(&cookie), json!({})).await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(out.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(
        app.get("/api/me", Some(&cookie)).await.status,
        StatusCode::UNAUTHORIZED
    );

    let actions: Vec<String> = app
        .audit_actions()
        .await
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert_eq!(actions, ["login_failed", "login_failed", "login", "logout"]);
}

#[tokio::test]
async fn cookie_is_secure_behind_tls() {
    let app = App::start(&["public_url=\"https://court.example\""], Backend::Sqlite).await;
    let ok = app.login("li", PASSWORD).await;
    assert!(ok.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .ends_with("; Secure"));
}

#[tokio::test]
async fn repeated_failed_logins_are_rate_limited_even_with_the_right_password() {
    let app = App::start(&[], Backend::Sqlite).await;
    for _ in 0..courtroom::api::session::LoginLimiter::PER_NAME {
        assert_eq!(
            app.login("li", "guess guess guess").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let limited = app.login("li", PASSWORD).await;
    assert_eq!(
        (limited.status, limited.code().as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    let wait: i64 = limited.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0 && wait <= courtroom::api::session::LoginLimiter::WINDOW_S);
    let (last, detail) = app.audit_actions().await.pop().unwrap();
    assert_eq!(
        (last.as_str(), detail["reason"].as_str()),
        ("login_failed", Some("rate_limited"))
    );
}

#[tokio::test]
async fn hearings_are_created_validated_invited_opened_and_closed() {
    let app = App::start(&[], Backend::Sqlite).await;
    let cookie = app.clerk().await;
    assert_eq!(
        app.get("/api/hearings", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    for (body, code) in [
        (
            json!({ "case_number": "", "title": "t" }),
            "bad_case_number",
        ),
        (
            json!({ "case_number": "c", "title": "t", "locale": "fr" }),
            "bad_locale",
        ),
        (
            json!({ "case_number": "c", "title": "t", "layout": "../../etc" }),
            "bad_layout",
        ),
        (
            json!({ "case_number": "c", "title": "t", "scheduled_at": "tomorrow" }),
            "bad_time",
        ),
        (json!({ "title": "t" }), "bad_json"),
    ] {
        let r = app.post("/api/hearings", Some(&cookie), body.clone()).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, code.to_owned()),
            "{body}"
        );
    }
    let id = app.create_hearing(&cookie).await;
    let list = app.get("/api/hearings", Some(&cookie)).await.json();
    assert_eq!(list["hearings"][0]["id"], id.as_str());
    assert_eq!(list["hearings"][0]["state"], "scheduled");
    assert_eq!(list["hearings"][0]["locale"], "zh");

    let inv = app
        .post(
            &format!("/api/hearings/{id}/invitations"),
            Some(&cookie),
            json!({ "role": "plaintiff", "name": "Plaintiff Sun" }),
        )
        .await;
    assert_eq!(inv.status, StatusCode::CREATED);
    let inv = inv.json();
    let token = inv["token"].as_str().unwrap().to_owned();
    assert_eq!(
        inv["url"],
        format!("{}/join?t={token}", app.state.settings().public_url())
    );
    assert_eq!(inv["invitation"]["seat"], "plaintiff");
    let claims = app.state.check_token(&token).await.unwrap();
    assert_eq!(
        (claims.hearing.as_str(), claims.role.as_str()),
        (id.as_str(), "plaintiff")
    );

    let bad_seat = app
        .post(
            &format!("/api/hearings/{id}/invitations"),
            Some(&cookie),
            json!({ "role": "witness", "name": "W", "seat": "presiding_judge" }),
        )
        .await;
    assert_eq!(bad_seat.code(), "bad_seat");
    let bad_role = app
        .post(
            &format!("/api/hearings/{id}/invitations"),
            Some(&cookie),
            json!({ "role": "judge", "name": "W" }),
        )
        .await;
    assert_eq!(bad_role.code(), "bad_json");

    let r = app.set_state(&cookie, &id, "paused").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "bad_transition".to_owned())
    );
    assert_eq!(
        app.set_state(&cookie, &id, "open").await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.set_state(&cookie, &id, "paused").await.status,
        StatusCode::OK
    );
    let closed = app.set_state(&cookie, &id, "closed").await;
    assert_eq!(closed.json()["state"], "closed");
    assert_eq!(
        app.set_state(&cookie, &id, "open").await.code(),
        "bad_transition"
    );
    // A closed hearing's links no longer admit anyone.
    assert!(app.state.check_token(&token).await.is_err());
    let late = app
        .post(
            &format!("/api/hearings/{id}/invitations"),
            Some(&cookie),
            json!({ "role": "witness", "name": "W" }),
        )
        .await;
    assert_eq!(late.code(), "hearing_closed");

    let changes: Vec<Value> = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|(a, _)| a == "hearing_state")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(
        changes,
        vec![
            json!({"from": "scheduled", "to": "open"}),
            json!({"from": "open", "to": "paused"}),
            json!({"from": "paused", "to": "closed"})
        ]
    );
    assert_eq!(
        app.state.store().verify_audit_chain().await.unwrap() as usize,
        app.audit_actions().await.len()
    );
}

#[tokio::test]
async fn invitees_are_held_to_their_role_and_refusals_are_audited() {
    let app = App::start(&[], Backend::Sqlite).await;
    let cookie = app.clerk().await;
    let id = app.create_hearing(&cookie).await;
    let mut tokens = Vec::new();
    for role in ["plaintiff", "clerk"] {
        let r = app
            .post(
                &format!("/api/hearings/{id}/invitations"),
                Some(&cookie),
                json!({ "role": role, "name": role }),
            )
            .await
            .json();
        tokens.push(r["token"].as_str().unwrap().to_owned());
    }
    let monitor = |t: &str| format!("Bearer {t}");
    let party = app
        .call(
            Method::GET,
            "/api/hearing/monitor",
            None,
            None,
            &[("authorization", &monitor(&tokens[0]))],
        )
        .await;
    assert_eq!(
        (party.status, party.code()),
        (StatusCode::FORBIDDEN, "forbidden".to_owned())
    );
    let clerk = app
        .call(
            Method::GET,
            "/api/hearing/monitor",
            None,
            None,
            &[("authorization", &monitor(&tokens[1]))],
        )
        .await;
    assert_eq!(clerk.status, StatusCode::OK);
    assert_eq!(clerk.json()["hearing"]["id"], id.as_str());
    // An invitation is not a portal login.
    assert_eq!(
        app.call(
            Method::GET,
            "/api/hearings",
            None,
            None,
            &[("authorization", &format!("Bearer {}", tokens[1]))]
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    let refusals: Vec<Value> = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|(a, _)| a == "permission_denied")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0]["action"], "monitor");
}

/// A finished recording on disk, as the recorder leaves it, registered in the store.
async fn fake_recording(app: &App, hearing: &str) -> (String, PathBuf, Vec<u8>) {
    let rid = "20260101T000000Z-abcdef".to_owned();
    let dir = app
        .state
        .settings()
        .recordings_dir()
        .join(hearing)
        .join(&rid);
    std::fs::create_dir_all(&dir).unwrap();
    let video: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(dir.join("composite-00000.mp4"), &video).unwrap();
    std::fs::write(dir.join("manifest.json"), br#"{"version":1}"#).unwrap();
    std::fs::write(dir.join(".space-reserve"), b"hidden").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("passwd")).unwrap();
    std::fs::write(app.dir.path().join("secret.txt"), b"secret").unwrap();
    let store = app.state.store();
    store
        .recording_started(&rid, hearing, &dir.to_string_lossy())
        .await
        .unwrap();
    store.recording_ended(&rid, "finalised").await.unwrap();
    (rid, dir, video)
}

#[tokio::test]
async fn downloads_resume_with_ranges_bundle_as_zip_and_never_leave_the_folder() {
    let app = App::start(&[], Backend::Sqlite).await;
    let cookie = app.clerk().await;
    let id = app.create_hearing(&cookie).await;
    let (rid, _dir, video) = fake_recording(&app, &id).await;
    let base = format!("/api/recordings/{rid}/files");

    let files = app.get(&base, Some(&cookie)).await.json();
    let names: Vec<&str> = files["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["composite-00000.mp4", "manifest.json"],
        "no links, no hidden files"
    );
    assert_eq!(app.get(&base, None).await.status, StatusCode::UNAUTHORIZED);

    let full = app
        .get(&format!("{base}/composite-00000.mp4"), Some(&cookie))
        .await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.body, video);
    assert!(full.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(full.headers[header::ACCEPT_RANGES], "bytes");

    let part = app
        .call(
            Method::GET,
            &format!("{base}/composite-00000.mp4"),
            Some(&cookie),
            None,
            &[("range", "bytes=1000-1999")],
        )
        .await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.body, &video[1000..2000]);
    assert_eq!(
        part.headers[header::CONTENT_RANGE],
        format!("bytes 1000-1999/{}", video.len())
    );
    let tail = app
        .call(
            Method::GET,
            &format!("{base}/composite-00000.mp4"),
            Some(&cookie),
            None,
            &[("range", "bytes=299990-")],
        )
        .await;
    assert_eq!(tail.body, &video[299_990..]);
    let past = app
        .call(
            Method::GET,
            &format!("{base}/composite-00000.mp4"),
            Some(&cookie),
            None,
            &[("range", "bytes=400000-")],
        )
        .await;
    assert_eq!(past.status, StatusCode::RANGE_NOT_SATISFIABLE);

    for evil in [
        "..",
        "..%2F..%2Fsecret.txt",
        "%2e%2e%2f%2e%2e%2fsecret.txt",
        "..%5C..%5Csecret.txt",
        "%2Fetc%2Fpasswd",
        ".space-reserve",
        "passwd",
        "manifest.json%00.mp4",
    ] {
        let r = app.get(&format!("{base}/{evil}"), Some(&cookie)).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, "bad_path".to_owned()),
            "{evil}"
        );
    }
    // Encoded and plain slashes that the router sees as more segments match no route.
    for evil in ["../../secret.txt", "a/../../secret.txt"] {
        let r = app.get(&format!("{base}/{evil}"), Some(&cookie)).await;
        assert_ne!(r.status, StatusCode::OK, "{evil}");
        assert!(!String::from_utf8_lossy(&r.body).contains("secret"));
    }
    assert_eq!(
        app.get(&format!("{base}/missing.mp4"), Some(&cookie))
            .await
            .code(),
        "not_found"
    );

    // A recording row pointing outside the recordings folder is refused too.
    app.state
        .store()
        .recording_started("outside", &id, &app.dir.path().to_string_lossy())
        .await
        .unwrap();
    app.state
        .store()
        .recording_ended("outside", "finalised")
        .await
        .unwrap();
    let r = app
        .get("/api/recordings/outside/files/secret.txt", Some(&cookie))
        .await;
    assert_eq!(r.code(), "bad_path");

    let zip = app
        .get(&format!("/api/recordings/{rid}/bundle.zip"), Some(&cookie))
        .await;
    assert_eq!(zip.status, StatusCode::OK);
    assert_eq!(zip.headers[header::CONTENT_TYPE], "application/zip");
    let path = app.dir.path().join("bundle.zip");
    std::fs::write(&path, &zip.body).unwrap();
    let check = std::process::Command::new("python3")
        .args(["-c", "import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(' '.join(f'{i.filename}:{i.file_size}' for i in z.infolist()))"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(
        String::from_utf8(check.stdout).unwrap().trim(),
        format!(
            "{rid}/composite-00000.mp4:{} {rid}/manifest.json:13",
            video.len()
        )
    );

    let downloads: Vec<Value> = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|(a, _)| a == "download")
        .map(|(_, d)| d)
        .collect();
    // The full file, the two satisfiable ranges, the bundle; refusals are not downloads.
    assert_eq!(downloads.len(), 4, "{downloads:?}");
    assert_eq!(downloads[1]["range"], "bytes=1000-1999");
    assert_eq!(downloads[3]["bundle"], true);
}

#[tokio::test]
async fn recording_starts_and_stops_then_the_bundle_downloads_and_closing_seals_it() {
    let app = App::start(&[], Backend::Sqlite).await;
    let cookie = app.clerk().await;
    let id = app.create_hearing(&cookie).await;
    let start = format!("/api/hearings/{id}/recording/start");
    let stop = format!("/api/hearings/{id}/recording/stop");
    assert_eq!(
        app.post(&start, Some(&cookie), json!({})).await.code(),
        "hearing_not_open"
    );
    app.set_state(&cookie, &id, "open").await;
    let started = app.post(&start, Some(&cookie), json!({})).await;
    assert_eq!(
        started.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&started.body)
    );
    let rid = started.json()["recording"].as_str().unwrap().to_owned();
    assert_eq!(
        app.post(&start, Some(&cookie), json!({})).await.code(),
        "already_recording"
    );
    let early = app
        .get(&format!("/api/recordings/{rid}/bundle.zip"), Some(&cookie))
        .await;
    assert_eq!(early.code(), "recording_in_progress");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let stopped = app.post(&stop, Some(&cookie), json!({})).await;
    assert_eq!(
        stopped.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&stopped.body)
    );
    assert_eq!(stopped.json()["recording"], rid.as_str());
    assert_eq!(
        app.post(&stop, Some(&cookie), json!({})).await.code(),
        "not_recording"
    );

    let list = app
        .get(&format!("/api/hearings/{id}/recordings"), Some(&cookie))
        .await
        .json();
    let rec = &list["recordings"][0];
    assert_eq!(rec["recording"]["id"], rid.as_str());
    let names: Vec<&str> = rec["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"manifest.json"), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with(".mp4")), "{names:?}");
    let zip = app
        .get(&format!("/api/recordings/{rid}/bundle.zip"), Some(&cookie))
        .await;
    assert_eq!(zip.status, StatusCode::OK);
    assert!(zip.body.len() > 1000);

    let verified = app
        .get(&format!("/api/recordings/{rid}/verify"), Some(&cookie))
        .await
        .json();
    assert_eq!(verified["ok"], true, "{verified}");
    assert!(verified["segments"].as_u64().unwrap() >= 1);
    app.set_state(&cookie, &id, "closed").await;
    let sealed = app.state.store().recording(&rid).await.unwrap().unwrap();
    assert!(sealed.sealed_at.is_some());
    let actions: Vec<String> = app
        .audit_actions()
        .await
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    for a in ["recording_started", "recording_stopped", "download"] {
        assert!(
            actions.contains(&a.to_owned()),
            "{a} missing from {actions:?}"
        );
    }
    app.state.shutdown_hearings().await;
}

#[tokio::test]
async fn the_api_runs_on_postgresql_too() {
    let app = App::start(&[], Backend::Postgres).await;
    let cookie = app.clerk().await;
    let id = app.create_hearing(&cookie).await;
    assert_eq!(
        app.set_state(&cookie, &id, "open").await.status,
        StatusCode::OK
    );
    let list = app.get("/api/hearings", Some(&cookie)).await.json();
    assert_eq!(list["hearings"][0]["state"], "open");
    let audit = app.get("/api/audit/verify", Some(&cookie)).await.json();
    assert_eq!(audit["ok"], true);
    assert_eq!(audit["entries"], 3, "login, hearing created, state");
}

#[tokio::test]
async fn portal_pages_are_served_and_nothing_else_is() {
    let app = App::start(&[], Backend::Sqlite).await;
    let index = app.get("/portal/", None).await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&index.body).contains("portal.js"));
    assert!(index.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("default-src 'self'"));
    assert_eq!(
        app.get("/portal/i18n.js", None).await.headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        app.get("/portal/..%2FCargo.toml", None).await.status,
        StatusCode::NOT_FOUND
    );
    let table = app.get("/api/permissions", None).await.json();
    assert_eq!(
        table["rows"].as_array().unwrap().len(),
        courtroom::permissions::TABLE.len()
    );
}

#[tokio::test]
async fn the_clerk_mutes_and_removes_a_participant() {
    use courtroom::hearing::{Admission, HearingEvent, Role};
    let app = App::start(&[], Backend::Sqlite).await;
    let cookie = app.clerk().await;
    let id = app.create_hearing(&cookie).await;
    app.set_state(&cookie, &id, "open").await;
    let inv = app
        .post(
            &format!("/api/hearings/{id}/invitations"),
            Some(&cookie),
            json!({ "role": "witness", "name": "Witness Wu" }),
        )
        .await
        .json();
    let token = inv["token"].as_str().unwrap().to_owned();
    // Seat the witness as the signalling session would.
    let live = app.state.hearing(&id).await.unwrap();
    let claims = app.state.check_token(&token).await.unwrap();
    let mut events = live.subscribe_events();
    let joined = live
        .join(Admission {
            invitation_id: claims.inv.clone(),
            role: Role::Witness,
            seat: live.layout().seat_index(&claims.seat).unwrap(),
            seat_id: claims.seat.clone(),
            name: "Witness Wu".into(),
        })
        .unwrap();
    let pid = joined.id;
    let base = format!("/api/hearings/{id}/participants/{pid}");
    let muted = app
        .post(
            &format!("{base}/mute"),
            Some(&cookie),
            json!({ "muted": true }),
        )
        .await;
    assert_eq!(muted.status, StatusCode::OK);
    let monitor = app
        .get(&format!("/api/hearings/{id}/monitor"), Some(&cookie))
        .await
        .json();
    assert_eq!(monitor["participants"][0]["muted"], true);
    assert_eq!(
        app.post(
            "/api/hearings/other/participants/1/mute",
            Some(&cookie),
            json!({ "muted": true })
        )
        .await
        .code(),
        "not_found"
    );

    let removed = app
        .post(&format!("{base}/remove"), Some(&cookie), json!({}))
        .await;
    assert_eq!(removed.status, StatusCode::OK);
    assert!(!live.is_seated(pid));
    // The session is told to close, and the link no longer works.
    let mut told = false;
    while let Ok(e) = events.try_recv() {
        told |= matches!(e, HearingEvent::Replaced(p) if p == pid);
    }
    assert!(told, "the participant's session must be told to close");
    assert!(app.state.check_token(&token).await.is_err());
    let actions: Vec<String> = app
        .audit_actions()
        .await
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert!(
        actions.contains(&"mute".to_owned()) && actions.contains(&"remove".to_owned()),
        "{actions:?}"
    );
    app.state.shutdown_hearings().await;
}

#[tokio::test]
async fn every_documented_endpoint_exists_and_refuses_strangers() {
    use courtroom::api::routes::openapi::{Auth, ENDPOINTS};
    let app = App::start(&[], Backend::Sqlite).await;
    let doc = app.get("/api/openapi.json", None).await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    for e in ENDPOINTS {
        assert!(
            doc["paths"][e.path][e.method].is_object(),
            "{} {} undocumented",
            e.method,
            e.path
        );
        let uri = e
            .path
            .replace("{pid}", "1")
            .replace('{', "x")
            .replace('}', "");
        let method = Method::from_bytes(e.method.to_uppercase().as_bytes()).unwrap();
        let body = e.body.map(|_| json!({}));
        let r = app.call(method, &uri, None, body, &[]).await;
        let expected = match e.auth {
            Auth::Session | Auth::Invitation => StatusCode::UNAUTHORIZED,
            Auth::None if e.body.is_some() => StatusCode::BAD_REQUEST,
            Auth::None => StatusCode::OK,
        };
        assert_eq!(
            r.status,
            expected,
            "{} {uri}: {}",
            e.method,
            String::from_utf8_lossy(&r.body)
        );
    }
}

/// Draws the QR SVG the server made (`<rect>` background, one `<path>` of
/// `M{x} {y}h{w}v{h}H{x}V{y}` dark rectangles, as the `qrcode` crate writes it) into a
/// greyscale picture, one pixel per SVG unit.
fn rasterise_qr_svg(svg: &str) -> (usize, usize, Vec<u8>) {
    let attr = |name: &str| -> usize {
        let at = svg.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
        svg[at..at + svg[at..].find('"').unwrap()].parse().unwrap()
    };
    let (w, h) = (attr("width"), attr("height"));
    let mut luma = vec![255u8; w * h];
    let d_at = svg.find(" d=\"").expect("a path") + 4;
    let d = &svg[d_at..d_at + svg[d_at..].find('"').unwrap()];
    let mut rects = 0;
    for cmd in d.split('M').filter(|c| !c.is_empty()) {
        // "X Y" "hW" "vH" "HX" "VY"
        let (xy, rest) = cmd.split_once('h').unwrap();
        let (x, y) = xy.split_once(' ').unwrap();
        let (rw, rest) = rest.split_once('v').unwrap();
        let (rh, _) = rest.split_once('H').unwrap();
        let [x, y, rw, rh]: [usize; 4] = [x, y, rw, rh].map(|n| n.parse().unwrap());
        for row in y..y + rh {
            luma[row * w + x..row * w + x + rw].fill(0);
        }
        rects += 1;
    }
    assert!(
        rects > 100,
        "a QR code has many dark modules, found {rects}"
    );
    (w, h, luma)
}

#[tokio::test]
async fn invitation_links_come_as_qr_codes_that_scan_back_to_the_link() {
    let app = App::start(&[], Backend::Sqlite).await;
    let cookie = app.clerk().await;
    let id = app.create_hearing(&cookie).await;
    let inv = app
        .post(
            &format!("/api/hearings/{id}/invitations"),
            Some(&cookie),
            json!({ "role": "plaintiff", "name": "Plaintiff Sun" }),
        )
        .await
        .json();
    let (url, token) = (inv["url"].as_str().unwrap(), inv["token"].as_str().unwrap());
    let inv_id = inv["invitation"]["id"].as_str().unwrap();
    let qr_path = format!("/api/hearings/{id}/invitations/{inv_id}/qr.svg");
    assert_eq!(inv["qr"], qr_path.as_str());

    let qr = app.get(&qr_path, Some(&cookie)).await;
    assert_eq!(qr.status, StatusCode::OK, "{}", qr.json());
    assert_eq!(qr.headers[header::CONTENT_TYPE], "image/svg+xml");
    assert_eq!(qr.headers[header::CACHE_CONTROL], "no-store");
    let svg = String::from_utf8(qr.body.clone()).unwrap();
    assert!(
        !svg.contains(token),
        "the picture, not the text, carries the link"
    );
    let (w, h, luma) = rasterise_qr_svg(&svg);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| luma[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the picture");
    let (_, scanned) = grids[0].decode().unwrap();
    assert_eq!(
        scanned, url,
        "the QR code scans back to the invitation link"
    );

    // Only a portal session may ask: not a party's invitation, not a stranger.
    let party = app
        .call(
            Method::GET,
            &qr_path,
            None,
            None,
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
    assert_eq!(
        (party.status, party.code()),
        (StatusCode::UNAUTHORIZED, "unauthenticated".to_owned())
    );
    let stranger = app.get(&qr_path, None).await;
    assert_eq!(
        (stranger.status, stranger.code()),
        (StatusCode::UNAUTHORIZED, "unauthenticated".to_owned())
    );
    // Not through another hearing, and not once revoked.
    let other = app.create_hearing(&cookie).await;
    assert_eq!(
        app.get(
            &format!("/api/hearings/{other}/invitations/{inv_id}/qr.svg"),
            Some(&cookie)
        )
        .await
        .code(),
        "not_found"
    );
    app.call(
        Method::DELETE,
        &format!("/api/hearings/{id}/invitations/{inv_id}"),
        Some(&cookie),
        None,
        &[],
    )
    .await;
    let revoked = app.get(&qr_path, Some(&cookie)).await;
    assert_eq!(
        (revoked.status, revoked.code()),
        (StatusCode::CONFLICT, "invitation_inactive".to_owned())
    );
}

#[tokio::test]
async fn the_monitor_shows_the_composite_as_a_jpeg_to_those_who_may_monitor() {
    use courtroom::hearing::{Admission, Role};
    use courtroom::render::still::synthetic_person;
    let app = App::start(&["video.width=640", "video.height=360"], Backend::Sqlite).await;
    let cookie = app.clerk().await;
    let id = app.create_hearing(&cookie).await;
    let picture = format!("/api/hearings/{id}/monitor/composite.jpg");
    let not_live = app.get(&picture, Some(&cookie)).await;
    assert_eq!(
        (not_live.status, not_live.code()),
        (StatusCode::CONFLICT, "no_picture".to_owned())
    );
    assert_eq!(
        app.get("/api/hearings/h-none/monitor/composite.jpg", Some(&cookie))
            .await
            .code(),
        "not_found"
    );
    app.set_state(&cookie, &id, "open").await;
    let mut tokens = Vec::new();
    for role in ["plaintiff", "clerk"] {
        let r = app
            .post(
                &format!("/api/hearings/{id}/invitations"),
                Some(&cookie),
                json!({ "role": role, "name": role }),
            )
            .await
            .json();
        tokens.push(r["token"].as_str().unwrap().to_owned());
    }
    // Seat the plaintiff with a camera picture, as the signalling session and decoder would.
    let live = app.state.hearing(&id).await.unwrap();
    let claims = app.state.check_token(&tokens[0]).await.unwrap();
    let seat = live.layout().seat_index(&claims.seat).unwrap();
    live.join(Admission {
        invitation_id: claims.inv.clone(),
        role: Role::Plaintiff,
        seat,
        seat_id: claims.seat.clone(),
        name: "Plaintiff Sun".into(),
    })
    .unwrap();
    // The first pictures may predate the camera frame (a tick already under way): within
    // 10 s the plaintiff's seat must show the red person, not an empty chair.
    let b = live.seat_boxes()[seat];
    let (mut pictures, mut shown) = (0, None);
    for _ in 0..40 {
        // A camera keeps sending: the seat never counts as away.
        live.seat(seat)
            .frames()
            .put(synthetic_person(320, 240, [210, 40, 40], 0));
        let r = app.get(&picture, Some(&cookie)).await;
        if r.status != StatusCode::OK {
            assert_eq!(r.code(), "no_picture");
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            continue;
        }
        pictures += 1;
        assert_eq!(r.headers[header::CONTENT_TYPE], "image/jpeg");
        assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
        let mut decoder = jpeg_decoder::Decoder::new(r.body.as_slice());
        let rgb = decoder.decode().expect("a JPEG");
        let info = decoder.info().unwrap();
        assert_eq!((info.width, info.height), (640, 360), "the output size");
        let (mut red, mut n) = (0usize, 0usize);
        for y in (b.y as usize)..((b.y + b.h) as usize).min(360) {
            for x in (b.x as usize)..((b.x + b.w) as usize).min(640) {
                let p = &rgb[(y * 640 + x) * 3..(y * 640 + x) * 3 + 3];
                red += (p[0] > 150 && p[1] < 90 && p[2] < 90) as usize;
                n += 1;
            }
        }
        if n > 0 && red * 10 > n {
            shown = Some(r.headers["x-composite-seq"].to_str().unwrap().to_owned());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(pictures > 0, "no composite picture within 10 s");
    assert!(
        shown.is_some(),
        "none of {pictures} pictures shows the plaintiff in their seat"
    );

    // An invitee whose role may monitor sees it too; a party may not; a stranger must log in.
    let bearer = |t: &str| format!("Bearer {t}");
    let invitee_picture = "/api/hearing/monitor/composite.jpg";
    let party = app
        .call(
            Method::GET,
            invitee_picture,
            None,
            None,
            &[("authorization", &bearer(&tokens[0]))],
        )
        .await;
    assert_eq!(
        (party.status, party.code()),
        (StatusCode::FORBIDDEN, "forbidden".to_owned())
    );
    let clerk_invitee = app
        .call(
            Method::GET,
            invitee_picture,
            None,
            None,
            &[("authorization", &bearer(&tokens[1]))],
        )
        .await;
    assert_eq!(clerk_invitee.status, StatusCode::OK);
    assert_eq!(clerk_invitee.headers[header::CONTENT_TYPE], "image/jpeg");
    let party_on_portal_route = app
        .call(
            Method::GET,
            &picture,
            None,
            None,
            &[("authorization", &bearer(&tokens[0]))],
        )
        .await;
    assert_eq!(party_on_portal_route.status, StatusCode::UNAUTHORIZED);
    let stranger = app.get(&picture, None).await;
    assert_eq!(
        (stranger.status, stranger.code()),
        (StatusCode::UNAUTHORIZED, "unauthenticated".to_owned())
    );
    app.state.shutdown_hearings().await;
}

#[tokio::test]
async fn the_camera_view_is_locked_and_a_seats_key_adjusted_by_those_who_may() {
    let app = App::start(&[], Backend::Sqlite).await;
    let cookie = app.clerk().await;
    let id = app.create_hearing(&cookie).await;
    let view_uri = format!("/api/hearings/{id}/view");
    let key_uri = format!("/api/hearings/{id}/seats/plaintiff/key");
    let put = |uri: String, who: Option<String>, bearer: Option<String>, body: Value| {
        let app = &app;
        async move {
            let auth = bearer.map(|t| format!("Bearer {t}"));
            let headers: Vec<(&str, &str)> = auth
                .as_deref()
                .map(|a| vec![("authorization", a)])
                .unwrap_or_default();
            app.call(Method::PUT, &uri, who.as_deref(), Some(body), &headers)
                .await
        }
    };
    // A scheduled hearing has no live scene yet.
    assert_eq!(
        app.get(&view_uri, Some(&cookie)).await.code(),
        "hearing_not_open"
    );
    app.set_state(&cookie, &id, "open").await;
    let shown = app.get(&view_uri, Some(&cookie)).await.json();
    let views: Vec<String> = serde_json::from_value(shown["views"].clone()).unwrap();
    assert!(views.contains(&"wide".to_owned()) && views.contains(&"bench".to_owned()));

    let locked = put(
        view_uri.clone(),
        Some(cookie.clone()),
        None,
        json!({ "view": "bench" }),
    )
    .await;
    assert_eq!(
        locked.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&locked.body)
    );
    assert_eq!(locked.json()["locked"], "bench");
    let live = app.state.running_hearing(&id).await.unwrap();
    assert_eq!(live.view().1.as_deref(), Some("bench"));
    let bad = put(
        view_uri.clone(),
        Some(cookie.clone()),
        None,
        json!({ "view": "balcony" }),
    )
    .await;
    assert_eq!(
        (bad.status, bad.code()),
        (StatusCode::BAD_REQUEST, "bad_view".to_owned())
    );
    let auto = put(
        view_uri.clone(),
        Some(cookie.clone()),
        None,
        json!({ "view": null }),
    )
    .await;
    assert_eq!(auto.json()["locked"], Value::Null);
    assert_eq!(live.view().1, None);

    // The presiding judge may lock the view from the bench; a party may not.
    let invite = |role: &'static str| {
        let app = &app;
        let (cookie, id) = (cookie.clone(), id.clone());
        async move {
            app.post(
                &format!("/api/hearings/{id}/invitations"),
                Some(&cookie),
                json!({ "role": role, "name": role }),
            )
            .await
            .json()["token"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let judge = invite("presiding_judge").await;
    let party = invite("defendant").await;
    let by_judge = put(
        view_uri.clone(),
        None,
        Some(judge.clone()),
        json!({ "view": "wide" }),
    )
    .await;
    assert_eq!(by_judge.status, StatusCode::OK);
    let by_party = put(
        view_uri.clone(),
        None,
        Some(party.clone()),
        json!({ "view": "wide" }),
    )
    .await;
    assert_eq!(by_party.status, StatusCode::FORBIDDEN);
    // Key settings are the clerk's: the judge is refused, the clerk changes one field.
    let key_by_judge = put(key_uri.clone(), None, Some(judge), json!({ "spill": 0.5 })).await;
    assert_eq!(key_by_judge.status, StatusCode::FORBIDDEN);
    let adjusted = put(
        key_uri.clone(),
        Some(cookie.clone()),
        None,
        json!({ "spill": 0.5 }),
    )
    .await;
    assert_eq!(
        adjusted.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&adjusted.body)
    );
    assert_eq!(adjusted.json()["params"]["spill"], 0.5);
    let seat = live.layout().seat_index("plaintiff").unwrap();
    let now = live.seat(seat).key();
    assert_eq!(now.spill, 0.5);
    assert_eq!(now.inner, courtroom::keying::KeyParams::default().inner);
    assert_eq!(
        app.get(&key_uri, Some(&cookie)).await.json()["params"]["spill"],
        0.5
    );
    let refused = put(
        key_uri.clone(),
        Some(cookie.clone()),
        None,
        json!({ "spill": 7 }),
    )
    .await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::BAD_REQUEST, "bad_key".to_owned())
    );
    let nowhere = put(
        format!("/api/hearings/{id}/seats/balcony/key"),
        Some(cookie.clone()),
        None,
        json!({ "spill": 0.2 }),
    )
    .await;
    assert_eq!(nowhere.code(), "bad_seat");

    let actions: Vec<String> = app
        .audit_actions()
        .await
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert!(
        actions.iter().filter(|a| *a == "view_locked").count() == 3
            && actions.contains(&"key_adjusted".to_owned())
            && actions.contains(&"permission_denied".to_owned()),
        "{actions:?}"
    );
    app.state.shutdown_hearings().await;
}
