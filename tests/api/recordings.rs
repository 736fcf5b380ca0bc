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
    evidence_package_verifies(&app, &cookie, &id, &rid).await;
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

/// The evidence package (issue 17): the clerk gets it, and `courtroom verify` passes on it with
/// nothing but the package (its key, its audit trail, which includes this download); whoever
/// may not download the bundle may not download it either, and an unknown recording is 404.
async fn evidence_package_verifies(app: &TestApp, cookie: &str, hearing: &str, rid: &str) {
    let party = app.invite(cookie, hearing, "plaintiff", "Li").await.token;
    for who in [Who::Stranger, Who::Invitation(&party)] {
        let (bundle, evidence) = (app.bundle(who, rid).await, app.evidence(who, rid).await);
        assert!(!evidence.status.is_success(), "{}", evidence.text());
        assert_eq!(evidence.status, bundle.status);
    }
    let clerk = Who::Session(cookie);
    assert_eq!(
        app.evidence(clerk, "no-such-recording").await.status,
        StatusCode::NOT_FOUND
    );
    let zip = app.evidence(clerk, rid).await;
    assert_eq!(zip.status, StatusCode::OK, "{}", zip.text());
    assert_eq!(zip.headers[header::CONTENT_TYPE], "application/zip");
    assert!(zip.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains(&format!("evidence-{rid}.zip")));
    let path = app.data_dir().join("evidence.zip");
    std::fs::write(&path, &zip.body).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_courtroom"))
        .arg("verify")
        .arg(&path)
        .args(["--data", "/nonexistent/courtroom-data"])
        .env_remove("COURTROOM_DATA_DIR")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("key ID from the package"), "{text}");
    assert!(text.contains("audit trail audit-trail.jsonl"), "{text}");
    let unpacked = tempfile::tempdir().unwrap();
    courtroom::archive::unpack(&path, unpacked.path(), &Default::default()).unwrap();
    let trail = std::fs::read_to_string(
        unpacked
            .path()
            .join(format!("evidence-{rid}"))
            .join("audit-trail.jsonl"),
    )
    .unwrap();
    assert!(trail.contains("recording_started") && trail.contains(r#"\"evidence\":true"#));
}

/// VP8 RTP packets of `frames` frames of a test picture.
fn vp8_rtp(frames: u32) -> Vec<Vec<u8>> {
    courtroom::media::testing::pull_buffers(&format!(
        "videotestsrc num-buffers={frames} pattern=ball ! video/x-raw,width=160,height=120,framerate=25/1 \
         ! vp8enc deadline=1 ! rtpvp8pay pt=96 mtu=1200 ! appsink name=sink sync=false"
    ))
}

/// A participant who leaves while the recording goes on: their original track is closed and
/// hashed into the signed manifest at once, not only when the recording stops; after the stop
/// every file of the folder is covered.
#[tokio::test]
async fn a_leavers_original_is_under_the_hash_chain_while_recording_goes_on() {
    let app = TestApp::start().await;
    let cookie = app.login_clerk().await;
    let clerk = Who::Session(&cookie);
    let id = app.create_hearing(&cookie).await;
    app.set_state(&cookie, &id, "open").await;
    let started = app.start_recording(clerk, &id).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    let rid = started.json()["recording"].as_str().unwrap().to_owned();
    let hearing = app.state.hearing(&id).await.unwrap();
    let joined = hearing
        .join(courtroom::hearing::Admission {
            invitation_id: "inv-witness".into(),
            role: courtroom::role::Role::Witness,
            seat: hearing.layout().seat_index("witness").unwrap(),
            seat_id: "witness".into(),
            name: "Wang Fang".into(),
        })
        .unwrap();
    let rtp = tokio::task::spawn_blocking(|| vp8_rtp(25)).await.unwrap();
    assert!(rtp.len() >= 25);
    for p in &rtp {
        hearing.keep_original(joined.id, "video/VP8", p);
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    hearing.leave(joined.id);
    let rec = app.state.store().recording(&rid).await.unwrap().unwrap();
    let dir = PathBuf::from(&rec.dir);
    let file = format!("original-witness-p{}-video.webm", joined.id);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let listed = loop {
        let m = courtroom::record::Manifest::read(&dir).unwrap();
        if let Some(o) = m.originals.iter().find(|o| o.file == file) {
            assert_eq!(m.state, courtroom::record::RecordingState::Recording);
            break o.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{file} not listed while recording: {m:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(listed.complete);
    assert_eq!(listed.participant.name, "Wang Fang");
    let (size, sha) = courtroom::digest::sha256_file(&dir.join(&file)).unwrap();
    assert_eq!((size, sha), (listed.size, listed.sha256.clone()));
    let key = courtroom::record::RecordingKey::load_or_create(app.data_dir()).unwrap();
    let bytes = std::fs::read(dir.join("manifest.json")).unwrap();
    let sig = std::fs::read(dir.join("manifest.json.sig")).unwrap();
    assert!(key.public().verify(&bytes, &sig), "the listing is signed");

    let stopped = app.stop_recording(clerk, &id).await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.text());
    let verified = app.verify_recording(clerk, &rid).await.json();
    assert_eq!(verified["ok"], true, "{verified}");
    let findings = verified["findings"].as_array().unwrap();
    assert!(
        !findings
            .iter()
            .any(|f| f["message"].as_str().unwrap().contains("not covered")),
        "{verified}"
    );
    app.state.shutdown_hearings().await;
}
