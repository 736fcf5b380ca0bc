//! The clerk portal in a real browser: headless Chromium (a plain process, driven over the
//! DevTools protocol on a loopback WebSocket; no npm) logs in, creates a hearing, opens it,
//! invites a plaintiff and copies the link, joins with that link in a second page (fake
//! camera and microphone), starts and stops the recording, verifies it, downloads the zip
//! bundle, and checks the audit trail's chain.
//!
//! With `PORTAL_SCREENSHOT_DIR` set, it also saves screenshots of the portal there.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::cdp::Cdp;
use crate::support::*;

/// Sets an input's value the way typing would, so the page sees it.
fn fill(selector: &str, value: &str) -> String {
    format!(
        "(() => {{ const el = document.querySelector({sel}); el.value = {val}; el.dispatchEvent(new Event('input', {{bubbles: true}})); el.dispatchEvent(new Event('change', {{bubbles: true}})); return true; }})()",
        sel = json!(selector),
        val = json!(value)
    )
}

fn click(selector: &str) -> String {
    format!(
        "(() => {{ document.querySelector({}).click(); return true; }})()",
        json!(selector)
    )
}

#[test]
fn clerk_logs_in_creates_invites_records_and_downloads_in_chromium() {
    let _turn = one_at_a_time();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(portal_from_login_to_download());
}

async fn portal_from_login_to_download() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bin = env!("CARGO_BIN_EXE_courtroom");
    let mut create = Command::new(bin)
        .args(["admin", "create-user", "li", "--name", "Clerk Li", "--data"])
        .arg(&data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        create
            .stdin
            .take()
            .unwrap()
            .write_all(b"portal password 1\n")
            .unwrap();
    }
    let out = create.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "admin create-user failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = ServerProcess::spawn(
        bin,
        [
            "serve".to_owned(),
            "--listen".into(),
            addr.clone(),
            "--data".into(),
            data.display().to_string(),
            "--set".into(),
            "video.fps=10".into(),
        ],
        &dir.path().join("server.log"),
    );
    server
        .wait_healthy(&addr, Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}\n{}", server.log_tail()));

    let y4m = dir.path().join("person.y4m");
    let wav = dir.path().join("tone.wav");
    write_person_y4m(&y4m, [200, 60, 60], 20);
    write_tone_wav(&wav, 440.0, 2.0);
    let browser = Chromium::launch_debuggable(&y4m, &wav, (1280, 1400));
    let mut cdp = Cdp::connect(&browser.devtools_url()).await;
    let secs = Duration::from_secs;

    // Log in; English whatever the machine's language.
    let portal = cdp.open(&format!("http://{addr}/portal/#/login")).await;
    cdp.wait(&portal, "!!document.querySelector('#login-form')", secs(20))
        .await;
    cdp.eval(
        &portal,
        "localStorage.setItem('courtroom.lang', 'en'); true",
    )
    .await;
    cdp.eval(&portal, &fill("#login-username", "li")).await;
    cdp.eval(&portal, &fill("#login-password", "wrong password"))
        .await;
    cdp.eval(
        &portal,
        "document.querySelector('#login-form').requestSubmit(), true",
    )
    .await;
    let refused = cdp
        .wait(
            &portal,
            "(document.querySelector('#toast:not([hidden])') || {}).textContent",
            secs(10),
        )
        .await;
    assert_eq!(refused, "Wrong user name or password.");
    cdp.eval(&portal, &fill("#login-password", "portal password 1"))
        .await;
    cdp.eval(
        &portal,
        "document.querySelector('#login-form').requestSubmit(), true",
    )
    .await;
    cdp.wait(
        &portal,
        "!!document.querySelector('#create-hearing')",
        secs(20),
    )
    .await;
    // The session cookie is HttpOnly: the page's script cannot read it.
    assert_eq!(cdp.eval(&portal, "document.cookie").await, "");

    // Create a hearing.
    cdp.eval(
        &portal,
        &fill("#new-case-number", "(2026) Portal Civil No. 7"),
    )
    .await;
    cdp.eval(&portal, &fill("#new-title", "Portal test: lease dispute"))
        .await;
    cdp.eval(
        &portal,
        "document.querySelector('#create-hearing').requestSubmit(), true",
    )
    .await;
    cdp.wait(
        &portal,
        "!!document.querySelector('#invite-form')",
        secs(20),
    )
    .await;
    cdp.eval(&portal, &click("#state-open")).await;
    cdp.wait(
        &portal,
        "!!document.querySelector('h2 [data-state=open]')",
        secs(20),
    )
    .await;

    // Invite a plaintiff and copy the link.
    cdp.eval(&portal, &fill("#invite-role", "plaintiff")).await;
    cdp.eval(&portal, &fill("#invite-name", "Plaintiff Sun"))
        .await;
    cdp.eval(
        &portal,
        "document.querySelector('#invite-form').requestSubmit(), true",
    )
    .await;
    let link = cdp
        .wait(
            &portal,
            "(document.querySelector('#invite-link') || {}).value",
            secs(20),
        )
        .await;
    let link = link.as_str().unwrap().to_owned();
    assert!(
        link.starts_with(&format!("http://{addr}/join?t=")),
        "{link}"
    );
    // Beside it, the same link as a QR code the server drew, with a text alternative.
    let qr_alt = cdp
        .wait(
            &portal,
            "(() => { const i = document.querySelector('#invite-qr'); return i && i.complete && i.naturalWidth > 0 && i.alt; })()",
            secs(10),
        )
        .await;
    assert!(
        qr_alt.as_str().unwrap().contains("Plaintiff Sun"),
        "{qr_alt}"
    );
    cdp.eval(&portal, &click("#invite-copy")).await;
    cdp.wait(
        &portal,
        "document.querySelector('#toast').textContent === 'Copied.'",
        secs(5),
    )
    .await;

    // Join with it in a second page; the monitor shows the plaintiff connected.
    let joiner = cdp.open(&link).await;
    let connected = "[...document.querySelectorAll('#monitor tr[data-participant]')].some(r => r.textContent.includes('Plaintiff Sun') && r.children[3].textContent.startsWith('yes'))";
    // The participant's page may first show a "ready to join?" card: press its button.
    let deadline = Instant::now() + secs(60);
    loop {
        cdp.eval(
            &joiner,
            "(() => { const b = document.querySelector('#main-action'); if (b && !b.hidden && !b.disabled) b.click(); return true; })()",
        )
        .await;
        if cdp.eval(&portal, connected).await == json!(true) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the plaintiff never showed as connected"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Record for a few seconds.
    cdp.eval(&portal, &click("#rec-start")).await;
    cdp.wait(
        &portal,
        "(document.querySelector('#recording-state') || {}).dataset?.state === 'recording'",
        secs(20),
    )
    .await;
    // The monitor shows the live composite picture (a JPEG the page refreshes), decoded.
    cdp.wait(
        &portal,
        "(() => { const i = document.querySelector('#monitor-picture:not([hidden])'); return !!i && i.complete && i.naturalWidth > 0; })()",
        secs(20),
    )
    .await;
    cdp.screenshot(&portal, "portal.png").await;
    tokio::time::sleep(secs(3)).await;
    cdp.eval(&portal, &click("#rec-stop")).await;
    cdp.wait(
        &portal,
        "document.querySelector('#recording-state').dataset.state === 'stopped'",
        secs(40),
    )
    .await;
    cdp.wait(
        &portal,
        "!!document.querySelector('#recordings a.bundle')",
        secs(20),
    )
    .await;

    // Verify, then download the bundle with the page's session.
    cdp.eval(&portal, &click("#recordings button.verify")).await;
    let ok = cdp
        .wait(
            &portal,
            "(document.querySelector('#recordings .verify-status') || {dataset: {}}).dataset.ok",
            secs(30),
        )
        .await;
    assert_eq!(ok, "true");
    let bundle = cdp
        .eval(
            &portal,
            "fetch(document.querySelector('#recordings a.bundle').href).then(async r => { const b = new Uint8Array(await r.arrayBuffer()); return { status: r.status, type: r.headers.get('content-type'), size: b.length, magic: Array.from(b.slice(0, 4)) }; })",
        )
        .await;
    assert_eq!(bundle["status"], 200);
    assert_eq!(bundle["type"], "application/zip");
    assert_eq!(bundle["magic"], json!([0x50, 0x4b, 0x03, 0x04]));
    assert!(bundle["size"].as_u64().unwrap() > 10_000, "{bundle}");
    cdp.screenshot(&portal, "portal-recordings.png").await;

    // The audit trail shows the download and its chain checks.
    cdp.eval(&portal, "location.hash = '#/audit', true").await;
    cdp.wait(
        &portal,
        "!!document.querySelector('#audit tr[data-action=download]')",
        secs(20),
    )
    .await;
    for action in [
        "login",
        "login_failed",
        "hearing_created",
        "invitation_created",
        "recording_started",
        "recording_stopped",
    ] {
        let found = cdp
            .eval(
                &portal,
                &format!("!!document.querySelector('#audit tr[data-action={action}]')"),
            )
            .await;
        assert_eq!(found, true, "audit trail lacks {action}");
    }
    cdp.eval(&portal, &click("#audit-verify")).await;
    let status = cdp
        .wait(
            &portal,
            "(document.querySelector('#audit-status.good') || {}).textContent",
            secs(10),
        )
        .await;
    assert!(
        status.as_str().unwrap().starts_with("Chain intact"),
        "{status}"
    );
    cdp.screenshot(&portal, "portal-audit.png").await;
    let _ = joiner;
    drop(cdp);
    drop(browser);
    let status = server.terminate();
    assert!(
        status.success(),
        "server exit {status:?}\n{}",
        server.log_tail()
    );
}
