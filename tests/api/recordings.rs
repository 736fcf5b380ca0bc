//! Recordings through the API: starting and stopping, the files, downloads with ranges, zip
//! bundles, verification, sealing on close, and path traversal.

use std::path::PathBuf;

use axum::http::{header, StatusCode};

use crate::support::{TestApp, Who};

/// A finished recording on disk, as the recorder leaves it, registered in the store.
async fn fake_recording(app: &TestApp, hearing: &str) -> (String, PathBuf, Vec<u8>) {
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
    std::fs::write(app.data_dir().join("secret.txt"), b"secret").unwrap();
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
    let app = TestApp::start().await;
    let cookie = app.login_clerk().await;
    let clerk = Who::Session(&cookie);
    let id = app.create_hearing(&cookie).await;
    let (rid, _dir, video) = fake_recording(&app, &id).await;

    let files = app.recording_files(clerk, &rid).await.json();
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
    assert_eq!(
        app.recording_files(Who::Stranger, &rid).await.status,
        StatusCode::UNAUTHORIZED
    );

    let full = app.download(clerk, &rid, "composite-00000.mp4", None).await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.body, video);
    assert!(full.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(full.headers[header::ACCEPT_RANGES], "bytes");

    let part = app
        .download(clerk, &rid, "composite-00000.mp4", Some("bytes=1000-1999"))
        .await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.body, &video[1000..2000]);
    assert_eq!(
        part.headers[header::CONTENT_RANGE],
        format!("bytes 1000-1999/{}", video.len())
    );
    let tail = app
        .download(clerk, &rid, "composite-00000.mp4", Some("bytes=299990-"))
        .await;
    assert_eq!(tail.body, &video[299_990..]);
    let past = app
        .download(clerk, &rid, "composite-00000.mp4", Some("bytes=400000-"))
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
        let r = app.download(clerk, &rid, evil, None).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, "bad_path".to_owned()),
            "{evil}"
        );
    }
    // Encoded and plain slashes that the router sees as more segments match no route.
    for evil in ["../../secret.txt", "a/../../secret.txt"] {
        let r = app.download(clerk, &rid, evil, None).await;
        assert_ne!(r.status, StatusCode::OK, "{evil}");
        assert!(!String::from_utf8_lossy(&r.body).contains("secret"));
    }
    assert_eq!(
        app.download(clerk, &rid, "missing.mp4", None).await.code(),
        "not_found"
    );

    // A recording row pointing outside the recordings folder is refused too.
    app.state
        .store()
        .recording_started("outside", &id, &app.data_dir().to_string_lossy())
        .await
        .unwrap();
    app.state
        .store()
        .recording_ended("outside", "finalised")
        .await
        .unwrap();
    let r = app.download(clerk, "outside", "secret.txt", None).await;
    assert_eq!(r.code(), "bad_path");

    let zip = app.bundle(clerk, &rid).await;
    assert_eq!(zip.status, StatusCode::OK);
    assert_eq!(zip.headers[header::CONTENT_TYPE], "application/zip");
    let path = app.data_dir().join("bundle.zip");
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

    let downloads = app.audit_details("download").await;
    // The full file, the two satisfiable ranges, the bundle; refusals are not downloads.
    assert_eq!(downloads.len(), 4, "{downloads:?}");
    assert_eq!(downloads[1]["range"], "bytes=1000-1999");
    assert_eq!(downloads[3]["bundle"], true);
}

#[tokio::test]
async fn recording_starts_and_stops_then_the_bundle_downloads_and_closing_seals_it() {
    let app = TestApp::start().await;
    let cookie = app.login_clerk().await;
    let clerk = Who::Session(&cookie);
    let id = app.create_hearing(&cookie).await;
    assert_eq!(
        app.start_recording(clerk, &id).await.code(),
        "hearing_not_open"
    );
    app.set_state(&cookie, &id, "open").await;
    let started = app.start_recording(clerk, &id).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    let rid = started.json()["recording"].as_str().unwrap().to_owned();
    assert_eq!(
        app.start_recording(clerk, &id).await.code(),
        "already_recording"
    );
    let early = app.bundle(clerk, &rid).await;
    assert_eq!(early.code(), "recording_in_progress");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let stopped = app.stop_recording(clerk, &id).await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.text());
    assert_eq!(stopped.json()["recording"], rid.as_str());
    assert_eq!(app.stop_recording(clerk, &id).await.code(), "not_recording");

    let list = app.recordings(clerk, &id).await.json();
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
    let zip = app.bundle(clerk, &rid).await;
    assert_eq!(zip.status, StatusCode::OK);
    assert!(zip.body.len() > 1000);

    let verified = app.verify_recording(clerk, &rid).await.json();
    assert_eq!(verified["ok"], true, "{verified}");
    assert!(verified["segments"].as_u64().unwrap() >= 1);
    app.set_state(&cookie, &id, "closed").await;
    let sealed = app.state.store().recording(&rid).await.unwrap().unwrap();
    assert!(sealed.sealed_at.is_some());
    let actions = app.audit_action_names().await;
    for a in ["recording_started", "recording_stopped", "download"] {
        assert!(
            actions.contains(&a.to_owned()),
            "{a} missing from {actions:?}"
        );
    }
    app.state.shutdown_hearings().await;
}
