//! Exhibits: a party uploads a PDF and shows it on the courtroom's evidence display, turns its
//! page, and the clerk takes it down; the composite shows the page on the display (and fills
//! the frame in the exhibit view), the recording keeps the file and the events in its signed
//! manifest, and `verify` fails when the kept file changes. Who may present, and hostile files
//! refused cleanly.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use courtroom::exhibit::testing::{checkerboard_png, coloured_pdf, png_claiming};
use courtroom::hearing::{CompositeFrame, Hearing};
use courtroom::render::{Layout, ScreenBox};
use serde_json::{json, Value};

use crate::support::{Reply, TestApp, Who};

const W: u32 = 640;
const H: u32 = 360;

async fn small_app() -> TestApp {
    TestApp::builder()
        .set("video.width=640")
        .set("video.height=360")
        .start()
        .await
}

async fn upload(
    app: &TestApp,
    who: Who<'_>,
    id: &str,
    content_type: &str,
    title: &str,
    body: Vec<u8>,
) -> Reply {
    app.call_bytes(
        Method::POST,
        &format!("/api/hearings/{id}/exhibits?title={title}"),
        who,
        content_type,
        body,
    )
    .await
}

async fn show(app: &TestApp, who: Who<'_>, id: &str, exhibit: &str, page: u32) -> Reply {
    app.post(
        &format!("/api/hearings/{id}/exhibits/{exhibit}/show"),
        who,
        json!({ "page": page }),
    )
    .await
}

/// The mean RGB of the composite's pixels in `b` (BT.601 limited range back to RGB).
fn mean_rgb(frame: &CompositeFrame, b: ScreenBox) -> [f32; 3] {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let (y_plane, rest) = frame.i420.split_at(w * h);
    let (u_plane, v_plane) = rest.split_at(w * h / 4);
    let mut sum = [0f32; 3];
    let mut n = 0f32;
    // The middle half of the box, away from its edges.
    for y in (b.y + b.h / 4)..(b.y + 3 * b.h / 4) {
        for x in (b.x + b.w / 4)..(b.x + 3 * b.w / 4) {
            let (x, y) = (x as usize, y as usize);
            let yy = (y_plane[y * w + x] as f32 - 16.0) * 1.164;
            let u = u_plane[(y / 2) * (w / 2) + x / 2] as f32 - 128.0;
            let v = v_plane[(y / 2) * (w / 2) + x / 2] as f32 - 128.0;
            let rgb = [yy + 1.596 * v, yy - 0.392 * u - 0.813 * v, yy + 2.017 * u];
            for k in 0..3 {
                sum[k] += rgb[k].clamp(0.0, 255.0);
            }
            n += 1.0;
        }
    }
    sum.map(|s| s / n)
}

/// Waits (10 s at most) for a composite whose region `b` is mostly `want` (a predicate on its
/// mean RGB); returns the last mean seen when it never is.
async fn wait_for(
    live: &Hearing,
    b: ScreenBox,
    want: impl Fn([f32; 3]) -> bool,
) -> Result<[f32; 3], [f32; 3]> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = [0.0; 3];
    while Instant::now() < deadline {
        if let Some(frame) = live.latest_composite() {
            last = mean_rgb(&frame, b);
            if want(last) {
                return Ok(last);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last)
}

fn red(c: [f32; 3]) -> bool {
    c[0] > 170.0 && c[1] < 80.0 && c[2] < 80.0
}

fn blue(c: [f32; 3]) -> bool {
    c[2] > 170.0 && c[0] < 80.0 && c[1] < 90.0
}

#[tokio::test]
async fn a_party_shows_a_pdf_on_the_display_and_the_recording_keeps_it() {
    let app = small_app().await;
    let cookie = app.login_clerk().await;
    let clerk = Who::Session(&cookie);
    let id = app.create_hearing(&cookie).await;
    app.set_state(&cookie, &id, "open").await;
    let plaintiff = app.invite(&cookie, &id, "plaintiff", "Li Hua").await.token;
    let defendant = app
        .invite(&cookie, &id, "defendant", "Wang Wei")
        .await
        .token;
    let witness = app.invite(&cookie, &id, "witness", "Zhao Min").await.token;
    assert_eq!(app.start_recording(clerk, &id).await.status, StatusCode::OK);
    let live = app.state.hearing(&id).await.unwrap();
    let layout = Layout::load(&app.state.settings().assets_dir(), "courtroom").unwrap();
    let display = layout.display_box(W, H).unwrap();

    // The plaintiff uploads a two-page PDF: page 1 red, page 2 blue.
    let pdf = coloured_pdf(&[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]);
    let r = upload(
        &app,
        Who::Invitation(&plaintiff),
        &id,
        "application/pdf",
        "Contract",
        pdf.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let exhibit = r.json();
    let eid = exhibit["id"].as_str().unwrap().to_owned();
    assert_eq!(exhibit["sha256"], courtroom::digest::sha256_hex(&pdf));
    assert_eq!(exhibit["pages"], 2);
    let again = upload(
        &app,
        Who::Invitation(&plaintiff),
        &id,
        "application/pdf",
        "Contract",
        pdf.clone(),
    )
    .await;
    assert_eq!(
        (again.status, again.json()["id"].clone()),
        (StatusCode::OK, json!(eid))
    );

    // Nothing on the display yet: the wall there is not red.
    let wall = wait_for(&live, display, |_| true).await.unwrap();
    assert!(!red(wall), "{wall:?}");

    // The camera goes to the director (a hearing starts locked on the wide view).
    assert_eq!(app.lock_view(clerk, &id, None).await.status, StatusCode::OK);
    let r = show(&app, Who::Invitation(&plaintiff), &id, &eid, 1).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json()["on_display"]["presenter"]["caption"],
        "Li Hua, plaintiff"
    );
    // The director cuts to the exhibit view by itself, where the page fills the middle of the
    // frame.
    let mut on_air = String::new();
    for _ in 0..50 {
        on_air = app
            .get(&format!("/api/hearings/{id}/view"), clerk)
            .await
            .json()["on_air"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if on_air == "exhibit" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(on_air, "exhibit", "the director did not cut to the exhibit");
    let whole = ScreenBox {
        x: W * 3 / 8,
        y: H / 4,
        w: W / 4,
        h: H / 3,
    };
    let seen = wait_for(&live, whole, red).await;
    assert!(
        seen.is_ok(),
        "the exhibit view does not show the page: {seen:?}"
    );
    // Held a moment, so that the recording (which encodes an unchanged picture only now and
    // then) has it too.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // The rest is looked at on the room's display in the wide view, which the clerk locks.
    assert_eq!(
        app.lock_view(clerk, &id, Some("wide")).await.status,
        StatusCode::OK
    );
    let seen = wait_for(&live, display, red).await;
    assert!(seen.is_ok(), "page 1 (red) never on the display: {seen:?}");

    // The defendant may not turn the plaintiff's pages; the plaintiff turns to page 2.
    let r = show(&app, Who::Invitation(&defendant), &id, &eid, 2).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "presented_by_another".to_owned())
    );
    // Nor put another exhibit up over it.
    let own = checkerboard_png(32, 32, 8, [0, 200, 0], [0, 90, 0]);
    let r = upload(
        &app,
        Who::Invitation(&defendant),
        &id,
        "image/png",
        "Photo",
        own,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let theirs = r.json()["id"].as_str().unwrap().to_owned();
    let r = show(&app, Who::Invitation(&defendant), &id, &theirs, 1).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "presented_by_another".to_owned())
    );
    assert_eq!(
        show(&app, Who::Invitation(&plaintiff), &id, &eid, 3)
            .await
            .code(),
        "no_such_page"
    );
    assert_eq!(
        show(&app, Who::Invitation(&plaintiff), &id, &eid, 2)
            .await
            .status,
        StatusCode::OK
    );
    let seen = wait_for(&live, display, blue).await;
    assert!(seen.is_ok(), "page 2 (blue) never on the display: {seen:?}");
    // The top of page 2, its width across the display: still blue there; a bad region refused.
    let r = app
        .post(
            &format!("/api/hearings/{id}/exhibits/{eid}/show"),
            Who::Invitation(&plaintiff),
            json!({ "page": 2, "region": "top" }),
        )
        .await;
    assert_eq!(r.json()["on_display"]["region"], "top", "{}", r.text());
    let r = app
        .post(
            &format!("/api/hearings/{id}/exhibits/{eid}/show"),
            Who::Invitation(&plaintiff),
            json!({ "page": 2, "region": "sideways" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let seen = wait_for(&live, display, blue).await;
    assert!(
        seen.is_ok(),
        "the top of page 2 not on the display: {seen:?}"
    );

    // The witness presents only once allowed; the clerk takes the exhibit down.
    let png = checkerboard_png(64, 64, 16, [250, 250, 250], [10, 10, 10]);
    let r = upload(
        &app,
        Who::Invitation(&witness),
        &id,
        "image/png",
        "Sketch",
        png.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = app
        .put(
            &format!("/api/hearings/{id}/exhibits/witness"),
            Who::Invitation(&witness),
            json!({ "allowed": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .put(
            &format!("/api/hearings/{id}/exhibits/witness"),
            clerk,
            json!({ "allowed": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = upload(
        &app,
        Who::Invitation(&witness),
        &id,
        "image/png",
        "Sketch",
        png,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = app
        .post(
            &format!("/api/hearings/{id}/exhibits/{eid}/hide"),
            Who::Invitation(&defendant),
            json!({}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "only its presenter or the bench: {}",
        r.text()
    );
    let r = app
        .post(
            &format!("/api/hearings/{id}/exhibits/{eid}/hide"),
            clerk,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let seen = wait_for(&live, display, |c| !blue(c) && !red(c)).await;
    assert!(seen.is_ok(), "the display still shows the page: {seen:?}");
    let list = app
        .get(
            &format!("/api/hearings/{id}/exhibits"),
            Who::Invitation(&defendant),
        )
        .await
        .json();
    assert_eq!(list["exhibits"].as_array().unwrap().len(), 3);
    assert_eq!(list["on_display"], Value::Null);
    let file = app
        .get(&format!("/api/hearings/{id}/exhibits/{eid}/file"), clerk)
        .await;
    assert_eq!(file.body, pdf, "the file is kept byte for byte");

    // The recording keeps the file and the three events; verify checks them.
    let dir = live.recording_dir().unwrap();
    assert_eq!(app.stop_recording(clerk, &id).await.status, StatusCode::OK);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let kept = &manifest["exhibits"];
    assert_eq!(kept.as_array().unwrap().len(), 1, "{manifest}");
    assert_eq!(kept[0]["sha256"], exhibit["sha256"]);
    let events: Vec<(String, u64)> = manifest["exhibit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_owned(),
                e["page"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected =
        [("shown", 1), ("turned", 2), ("turned", 2), ("hidden", 2)].map(|(e, p)| (e.to_owned(), p));
    assert_eq!(events, expected);
    assert!(manifest["exhibit_events"][0]["presenter"]
        .as_str()
        .unwrap()
        .contains("plaintiff"));
    // The recording shows the page too, on the room's display (wide) and full frame (the
    // exhibit view): found in frames decoded from it.
    let mut on_display = false;
    let mut full_frame = false;
    for segment in manifest["segments"].as_array().unwrap() {
        let path = dir.join(segment["file"].as_str().unwrap());
        let times = std::process::Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v:0"])
            .args(["-show_entries", "frame=pts_time", "-of", "csv=p=0"])
            .arg(&path)
            .output()
            .expect("ffprobe");
        for t in String::from_utf8_lossy(&times.stdout).lines() {
            let Ok(t) = t.trim().trim_end_matches(',').parse::<f64>() else {
                continue;
            };
            let (fw, fh, rgb) = crate::support::probe::ffmpeg_frame_rgb(&path, t);
            // The middle half of `b`, as `mean_rgb` takes it.
            let mean = |b: ScreenBox| {
                let (sx, sy) = (fw as f32 / W as f32, fh as f32 / H as f32);
                let (mut sum, mut n) = ([0f32; 3], 0f32);
                let (y0, y1) = (b.y + b.h / 4, b.y + 3 * b.h / 4);
                let (x0, x1) = (b.x + b.w / 4, b.x + 3 * b.w / 4);
                for y in (y0 as f32 * sy) as usize..(y1 as f32 * sy) as usize {
                    for x in (x0 as f32 * sx) as usize..(x1 as f32 * sx) as usize {
                        let i = (y * fw + x) * 3;
                        for c in 0..3 {
                            sum[c] += rgb[i + c] as f32;
                        }
                        n += 1.0;
                    }
                }
                sum.map(|v| v / n)
            };
            on_display |= red(mean(display));
            full_frame |= red(mean(whole));
        }
    }
    assert!(
        on_display,
        "no recorded frame shows the page on the display"
    );
    assert!(full_frame, "no recorded frame shows the page full frame");

    let key = courtroom::record::RecordingKey::load_or_create(app.data_dir())
        .unwrap()
        .public();
    let report = courtroom::record::verify::verify_dir(&dir, Some(&key));
    assert!(report.ok(), "{report:?}");
    let kept_file = dir.join(kept[0]["file"].as_str().unwrap());
    assert_eq!(std::fs::read(&kept_file).unwrap(), pdf);
    let mut changed = pdf.clone();
    *changed.last_mut().unwrap() ^= 1;
    std::fs::write(&kept_file, changed).unwrap();
    let report = courtroom::record::verify::verify_dir(&dir, Some(&key));
    assert!(!report.ok(), "verify must fail once the exhibit changed");
    assert!(format!("{report:?}").contains("exhibit"), "{report:?}");
}

#[tokio::test]
async fn hostile_exhibits_are_refused_cleanly_and_the_server_goes_on() {
    let app = small_app().await;
    let cookie = app.login_clerk().await;
    let clerk = Who::Session(&cookie);
    let id = app.create_hearing(&cookie).await;
    app.set_state(&cookie, &id, "open").await;
    // Listing an open hearing's exhibits does not start it.
    let r = app
        .get(&format!("/api/hearings/{id}/exhibits"), clerk)
        .await;
    assert_eq!(
        (r.status, r.json()["exhibits"].clone()),
        (StatusCode::OK, json!([]))
    );
    assert!(app.state.running_hearing(&id).await.is_none());
    let r = app.get("/api/hearings/h-none/exhibits", clerk).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "application/pdf",
            b"%PDF-1.7\n1 0 obj << /Pages 9 0 R >> trailer".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_exhibit",
        ),
        (
            "application/pdf",
            b"<html>not a pdf</html>".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_exhibit",
        ),
        (
            "image/png",
            png_claiming(100_000, 100_000),
            StatusCode::BAD_REQUEST,
            "exhibit_too_large",
        ),
        (
            "application/pdf",
            coloured_pdf(&vec![[0.5; 3]; 501]),
            StatusCode::BAD_REQUEST,
            "too_many_pages",
        ),
        (
            "text/html",
            b"<script>".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "application/pdf",
            vec![b'%'; courtroom::exhibit::MAX_EXHIBIT_BYTES + 1],
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (content_type, body, status, code) in cases {
        let r = upload(&app, clerk, &id, content_type, "Hostile", body).await;
        assert_eq!(
            (r.status, r.code()),
            (status, code.to_owned()),
            "{content_type}: {}",
            r.text()
        );
    }
    let png = checkerboard_png(8, 8, 4, [0; 3], [255; 3]);
    let r = upload(&app, clerk, &id, "image/png", "", png.clone()).await;
    assert_eq!(r.code(), "bad_title");
    let r = app
        .post(
            &format!("/api/hearings/{id}/exhibits/nope/show"),
            clerk,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .post(
            &format!("/api/hearings/{id}/exhibits/nope/hide"),
            clerk,
            json!({}),
        )
        .await;
    assert_eq!(r.code(), "not_on_display");
    // Nothing was kept, and the server still takes a good file.
    let list = app
        .get(&format!("/api/hearings/{id}/exhibits"), clerk)
        .await
        .json();
    assert_eq!(list["exhibits"], json!([]));
    let r = upload(&app, clerk, &id, "image/png", "Good", png).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert!(app.healthy().await);
}
