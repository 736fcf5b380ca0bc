//! The public gallery: public or closed per hearing (audited, settled once the hearing opens),
//! the live broadcast (HLS with CMAF segments) that the clerk starts and the presiding judge
//! cuts, and the public routes' answers to bad input.

use std::time::{Duration, Instant};

use axum::http::{header, StatusCode};
use courtroom::record::mp4;
use serde_json::json;

use crate::support::{Reply, TestApp, Who};

/// A server whose hearings compose at 640×360.
async fn small_app() -> TestApp {
    TestApp::builder()
        .set("video.width=640")
        .set("video.height=360")
        .start()
        .await
}

async fn act(app: &TestApp, who: Who<'_>, id: &str, act: &str) -> Reply {
    app.post(
        &format!("/api/hearings/{id}/broadcast/{act}"),
        who,
        json!({}),
    )
    .await
}

/// A public hearing, open, its broadcast started by the clerk: the clerk's cookie and its id.
async fn broadcasting(app: &TestApp) -> (String, String) {
    let cookie = app.login_clerk().await;
    let clerk = Who::Session(&cookie);
    let id = app.create_hearing(&cookie).await;
    app.post(
        &format!("/api/hearings/{id}/public"),
        clerk,
        json!({ "public": true }),
    )
    .await;
    app.set_state(&cookie, &id, "open").await;
    assert_eq!(act(app, clerk, &id, "start").await.status, StatusCode::OK);
    (cookie, id)
}

/// The playlist's segment URIs (relative to `/live/{id}/`).
fn segments(playlist: &str) -> Vec<String> {
    playlist
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The segment's number in its URI (`r1/seg-7.m4s` → 7).
fn number(uri: &str) -> u64 {
    uri.rsplit("seg-")
        .next()
        .and_then(|n| n.strip_suffix(".m4s"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a segment URI: {uri}"))
}

/// Waits until the playlist lists a segment numbered `after` or later; returns its URI.
async fn segment_from(app: &TestApp, id: &str, after: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = app
            .get(
                &format!("/live/{id}/index.m3u8?viewer=abc123"),
                Who::Stranger,
            )
            .await;
        if r.status == StatusCode::OK {
            if let Some(uri) = segments(&r.text()).into_iter().find(|u| number(u) >= after) {
                return uri;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no segment {after} within 20 s: {} {}",
            r.status,
            r.text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The number of the newest complete segment the live playlist lists now.
async fn newest_segment(app: &TestApp, id: &str) -> u64 {
    let text = app
        .get(&format!("/live/{id}/index.m3u8"), Who::Stranger)
        .await
        .text();
    number(
        segments(&text)
            .last()
            .unwrap_or_else(|| panic!("no segment listed: {text}")),
    )
}

/// The init segment and one media segment, read as one fragmented MP4.
async fn media_of(app: &TestApp, id: &str, uri: &str) -> mp4::Mp4Info {
    let run = uri.split('/').next().unwrap();
    let init = app
        .get(&format!("/live/{id}/{run}/init.mp4"), Who::Stranger)
        .await;
    assert_eq!(init.status, StatusCode::OK);
    let seg = app.get(&format!("/live/{id}/{uri}"), Who::Stranger).await;
    assert_eq!(seg.status, StatusCode::OK, "{uri}");
    assert_eq!(seg.headers[header::CONTENT_TYPE], "video/mp4");
    assert!(seg.headers[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("immutable"));
    mp4::parse(&[init.body, seg.body].concat()).expect("an MP4")
}

#[tokio::test]
async fn a_closed_hearing_is_never_broadcast_and_its_urls_say_not_found() {
    let app = small_app().await;
    let cookie = app.login_clerk().await;
    let clerk = Who::Session(&cookie);
    let id = app.create_hearing(&cookie).await; // closed unless the clerk says otherwise
    let show = app.get(&format!("/api/hearings/{id}"), clerk).await;
    assert_eq!(show.json()["hearing"]["public"], false);
    app.set_state(&cookie, &id, "open").await;
    let r = act(&app, clerk, &id, "start").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "closed_to_public".to_owned())
    );
    for uri in [
        format!("/api/watch/{id}"),
        format!("/live/{id}/index.m3u8"),
        format!("/live/{id}/r1/init.mp4"),
        format!("/live/{id}/r1/seg-0.m4s"),
    ] {
        let r = app.get(&uri, Who::Stranger).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
    }
    // Once open, whether it is public is settled.
    let r = app
        .post(
            &format!("/api/hearings/{id}/public"),
            clerk,
            json!({ "public": true }),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "not_scheduled".to_owned())
    );
    // The page itself is the same for every id (it asks the API), with its own CSP.
    let page = app.get(&format!("/watch/{id}"), Who::Stranger).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("media-src 'self' blob:"));
}

#[tokio::test]
async fn a_public_hearing_is_broadcast_and_the_judge_cuts_to_the_slate_within_a_segment() {
    let app = small_app().await;
    let cookie = app.login_clerk().await;
    let clerk = Who::Session(&cookie);
    let id = app.create_hearing(&cookie).await;
    for public in [true, false, true] {
        let r = app
            .post(
                &format!("/api/hearings/{id}/public"),
                clerk,
                json!({ "public": public }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    let judge = app
        .invite(&cookie, &id, "presiding_judge", "Judge Chen")
        .await
        .token;
    let witness = app
        .invite(&cookie, &id, "witness", "Witness Ma")
        .await
        .token;
    app.set_state(&cookie, &id, "open").await;
    // Only the clerk starts it; nobody cuts what is not on air.
    let r = act(&app, Who::Invitation(&judge), &id, "start").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = act(&app, Who::Invitation(&judge), &id, "cut").await;
    assert_eq!(r.code(), "not_broadcasting");
    let r = act(&app, clerk, &id, "start").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["broadcast"]["state"], "live");

    let watch = app.get(&format!("/api/watch/{id}"), Who::Stranger).await;
    assert_eq!(watch.status, StatusCode::OK);
    let w = watch.json();
    assert_eq!(
        (w["state"].as_str(), w["broadcast"].as_str()),
        (Some("open"), Some("live"))
    );
    assert_eq!(w["case_number"], "(2026) Test 1");

    // The court on air: a video track (avc3, parameter sets in band) and an audio track.
    let first = segment_from(&app, &id, 0).await;
    let playlist = app
        .get(
            &format!("/live/{id}/index.m3u8?viewer=abc123"),
            Who::Stranger,
        )
        .await;
    assert_eq!(
        playlist.headers[header::CONTENT_TYPE],
        "application/vnd.apple.mpegurl"
    );
    assert_eq!(playlist.headers[header::CACHE_CONTROL], "public, max-age=1");
    let text = playlist.text();
    assert!(text.starts_with("#EXTM3U"), "{text}");
    // Each run has its own folder, named for the second it started: a restarted server never
    // reuses a name a CDN keeps for a day.
    let run = first.split('/').next().unwrap();
    let started: u64 = run.strip_prefix('r').unwrap().parse().unwrap();
    assert!(started > 1_700_000_000, "{run}");
    assert!(
        text.contains(&format!("#EXT-X-MAP:URI=\"{run}/init.mp4\"")),
        "{text}"
    );
    let live = media_of(&app, &id, &first).await;
    let video = live.track("video").expect("a video track");
    assert_eq!(video.codec.as_deref(), Some("avc3"));
    assert!(video.samples >= 2, "{video:?}");
    assert_eq!(
        live.track("audio").and_then(|a| a.codec.clone()).as_deref(),
        Some("mp4a")
    );
    // One viewer counted (the playlist fetches above).
    let monitor = app.get(&format!("/api/hearings/{id}/monitor"), clerk).await;
    assert_eq!(monitor.json()["broadcast"]["viewers"], 1);

    // A witness may not cut; the judge may, from the bench.
    let r = act(&app, Who::Invitation(&witness), &id, "cut").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = act(&app, Who::Invitation(&judge), &id, "cut").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["broadcast"]["state"], "cut");
    // The cut closed the segment under way before it answered: the newest complete segment
    // now is that one, whatever closed on its own before.
    let cut_at = newest_segment(&app, &id).await;
    // The segment open at the cut closes at once with what came before it; the next one is
    // the slate: one still picture for each of its LL-HLS parts (0.5 s), nothing of the court.
    let slate_uri = segment_from(&app, &id, cut_at + 1).await;
    assert_eq!(number(&slate_uri), cut_at + 1, "the very next segment");
    let slate = media_of(&app, &id, &slate_uri).await;
    assert_eq!(
        slate.track("video").unwrap().samples,
        slate.fragments as u64,
        "{slate:?}"
    );
    assert!(slate.fragments <= 4, "{slate:?}");
    assert!(slate.track("video").unwrap().duration_ms() >= 1500);
    let w = app
        .get(&format!("/api/watch/{id}"), Who::Stranger)
        .await
        .json();
    assert_eq!(w["broadcast"], "cut");

    // Lifted: the court comes back at a keyframe.
    let r = act(&app, Who::Invitation(&judge), &id, "resume").await;
    assert_eq!(r.json()["broadcast"]["state"], "live");
    let after = number(&slate_uri) + 3;
    let back_uri = segment_from(&app, &id, after).await;
    let back = media_of(&app, &id, &back_uri).await;
    assert!(back.track("video").unwrap().samples >= 2, "{back:?}");

    // Every act and change is in the audit trail.
    let acts: Vec<String> = app
        .audit_details("broadcast")
        .await
        .iter()
        .map(|d| d["act"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(acts, ["start", "cut", "resume"]);
    let publicity = app.audit_details("hearing_publicity").await;
    assert_eq!(publicity.len(), 3, "{publicity:?}");
    assert_eq!(publicity[2]["public"], true);
    let created = app.audit_details("hearing_created").await;
    assert_eq!(created[0]["public"], false, "closed when created");

    // The clerk stops it: the playlist ends.
    let r = act(&app, clerk, &id, "stop").await;
    assert_eq!(r.json()["broadcast"]["state"], "ended");
    let end = app
        .get(&format!("/live/{id}/index.m3u8"), Who::Stranger)
        .await;
    assert!(end.text().contains("#EXT-X-ENDLIST"), "{}", end.text());
}

#[tokio::test]
async fn bad_public_requests_get_a_clear_answer_and_the_broadcast_goes_on() {
    let app = small_app().await;
    let (cookie, id) = broadcasting(&app).await;
    let clerk = Who::Session(&cookie);
    assert_eq!(act(&app, clerk, &id, "dance").await.code(), "bad_act");
    let first = segment_from(&app, &id, 0).await;
    let run = first.split('/').next().unwrap();
    for uri in [
        "/api/watch/h-nobody".to_owned(),
        "/live/h-nobody/index.m3u8".to_owned(),
        "/api/watch/..%2F..%2Fetc".to_owned(),
        format!("/live/{id}/{run}/seg-x.m4s"),
        format!("/live/{id}/{run}/seg-999999.m4s"),
        format!("/live/{id}/r99/init.mp4"),
        format!("/live/{id}/{run}/passwd"),
        format!("/live/{id}/replay.m3u8"),
        format!("/live/{id}/replay/{run}/init.mp4"),
        format!("/live/{id}/index.m3u8?viewer={}", "z".repeat(5000)),
    ] {
        let r = app.get(&uri, Who::Stranger).await;
        assert!(
            r.status == StatusCode::NOT_FOUND || r.status == StatusCode::OK,
            "{uri}: {}",
            r.status
        );
        if !uri.contains("viewer=") {
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
        }
    }
    // The hearing and its broadcast went on.
    let later = segment_from(&app, &id, number(&first) + 1).await;
    assert!(number(&later) > number(&first));
}

/// The `URI` of the playlist's `#EXT-X-PRELOAD-HINT` (`r1/seg-N.P.m4s`) and its numbers.
fn preload_hint(playlist: &str) -> (String, u64, u64) {
    let uri = playlist
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\""))
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("no preload hint: {playlist}"))
        .to_owned();
    let name = uri.rsplit('/').next().unwrap();
    let (n, p) = courtroom::broadcast::parse_part_uri(name)
        .unwrap_or_else(|| panic!("not a part URI: {uri}"));
    (uri, n, p)
}

#[tokio::test]
async fn low_latency_parts_are_served_and_blocking_reloads_wait_for_them() {
    let app = small_app().await;
    let (_cookie, id) = broadcasting(&app).await;
    segment_from(&app, &id, 0).await;
    let text = app
        .get(&format!("/live/{id}/index.m3u8"), Who::Stranger)
        .await
        .text();
    assert!(text.contains("#EXT-X-VERSION:9\n"), "{text}");
    // PART-TARGET is 0.5 s, or the longest part made if one frame was longer; the player
    // holds back three of them.
    let attr = |tag: &str, name: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(tag))
            .unwrap_or_else(|| panic!("{tag}: {text}"));
        let value = line.split(&format!("{name}=")).nth(1).unwrap();
        value.split(',').next().unwrap().parse().unwrap()
    };
    let part_target = attr("#EXT-X-PART-INF:", "PART-TARGET");
    assert!((0.5..1.0).contains(&part_target), "{text}");
    assert!(
        text.contains("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,"),
        "{text}"
    );
    let hold_back = attr("#EXT-X-SERVER-CONTROL:", "PART-HOLD-BACK");
    assert!((hold_back - 3.0 * part_target).abs() < 0.002, "{text}");
    assert!(text.contains("#EXT-X-PART:DURATION="), "{text}");
    // Wait for the hinted part, then ask for the one after it: just begun, so the answer
    // comes once about half a second of video more is in.
    let (_, n, p) = preload_hint(&text);
    let blocking = |n: u64, p: u64| format!("/live/{id}/index.m3u8?_HLS_msn={n}&_HLS_part={p}");
    let r = app.get(&blocking(n, p), Who::Stranger).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let (hint, n, p) = preload_hint(&r.text());
    let started = Instant::now();
    let r = app.get(&blocking(n, p), Who::Stranger).await;
    let took = started.elapsed();
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.headers[header::CONTENT_TYPE],
        "application/vnd.apple.mpegurl"
    );
    println!("LL_HLS_BLOCKING_RELOAD_MS={}", took.as_millis());
    assert!(
        took > Duration::from_millis(100) && took < Duration::from_secs(2),
        "answered after {took:?}"
    );
    let text = r.text();
    assert!(
        text.contains(&format!("#EXT-X-PART:DURATION="))
            && text.contains(&format!("URI=\"{hint}\"")),
        "{hint} listed as a part: {text}"
    );
    assert!(
        !text.contains(&format!("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{hint}\"")),
        "{text}"
    );
    // The part itself: served like a segment, a fragment of the init segment's tracks.
    let part = media_of(&app, &id, &hint).await;
    assert_eq!(part.fragments, 1, "{part:?}");
    assert!(part.track("video").unwrap().samples >= 1, "{part:?}");
    // Already there: at once.
    let started = Instant::now();
    let r = app.get(&blocking(n, p), Who::Stranger).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_millis(100));
    // Too far ahead: 400 at once; garbage: 400; the hint not yet made: 404.
    let started = Instant::now();
    let r = app.get(&blocking(n + 10, 0), Who::Stranger).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "hls_msn_too_far".to_owned())
    );
    assert!(started.elapsed() < Duration::from_millis(500));
    for (query, code) in [
        ("_HLS_msn=abc", "bad_hls_msn"),
        ("_HLS_msn=-1", "bad_hls_msn"),
        ("_HLS_msn=1&_HLS_part=x", "bad_hls_part"),
        ("_HLS_part=1", "bad_hls_part"),
    ] {
        let r = app
            .get(&format!("/live/{id}/index.m3u8?{query}"), Who::Stranger)
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, code.to_owned()),
            "{query}"
        );
    }
    let r = app
        .get(
            &format!("/live/{id}/index.m3u8?_HLS_skip=YES&viewer=abc123"),
            Who::Stranger,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "_HLS_skip is ignored");
    let (next, _, _) = preload_hint(&r.text());
    let r = app.get(&format!("/live/{id}/{next}"), Who::Stranger).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{next} not made yet");
    // A complete segment is its parts one after the other.
    let later = segment_from(&app, &id, n).await;
    let whole = app.get(&format!("/live/{id}/{later}"), Who::Stranger).await;
    let k = number(&later);
    let run = later.split('/').next().unwrap();
    let mut parts = Vec::new();
    for i in 0.. {
        let r = app
            .get(&format!("/live/{id}/{run}/seg-{k}.{i}.m4s"), Who::Stranger)
            .await;
        if r.status != StatusCode::OK {
            break;
        }
        parts.extend_from_slice(&r.body);
    }
    assert!(!parts.is_empty());
    assert_eq!(whole.body, parts, "segment {k} is its parts");
}

/// Polls the watch state until it offers a replay (or 20 s pass); returns the state.
async fn watch_until_replay(app: &TestApp, id: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let w = app
            .get(&format!("/api/watch/{id}"), Who::Stranger)
            .await
            .json();
        if w["replay"].is_string() || Instant::now() > deadline {
            return w;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn with_replays_on_the_broadcast_as_aired_is_served_after_the_end() {
    let app = TestApp::builder()
        .set("video.width=640")
        .set("video.height=360")
        .set("broadcast.replays=true")
        .start()
        .await;
    let (cookie, id) = broadcasting(&app).await;
    let clerk = Who::Session(&cookie);
    // Nothing to replay while the hearing runs.
    let first = segment_from(&app, &id, 1).await;
    let w = app
        .get(&format!("/api/watch/{id}"), Who::Stranger)
        .await
        .json();
    assert!(w["replay"].is_null(), "{w}");
    assert_eq!(
        app.get(&format!("/live/{id}/replay.m3u8"), Who::Stranger)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // A cut: the replay keeps the slate, as the public saw it.
    assert_eq!(act(&app, clerk, &id, "cut").await.status, StatusCode::OK);
    let cut_at = newest_segment(&app, &id).await;
    let slate_uri = segment_from(&app, &id, cut_at + 1).await;
    let aired = app
        .get(&format!("/live/{id}/{slate_uri}"), Who::Stranger)
        .await;
    assert_eq!(aired.status, StatusCode::OK);
    app.set_state(&cookie, &id, "closed").await;

    let w = watch_until_replay(&app, &id).await;
    assert_eq!(w["broadcast"], "ended", "{w}");
    assert_eq!(
        w["replay"].as_str(),
        Some(format!("/live/{id}/replay.m3u8").as_str()),
        "{w}"
    );
    // Offered from its first segment on; the last one (closed by the end) follows at once.
    // Read it once it no longer changes.
    let mut r = app
        .get(&format!("/live/{id}/replay.m3u8"), Who::Stranger)
        .await;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let again = app
            .get(&format!("/live/{id}/replay.m3u8"), Who::Stranger)
            .await;
        let settled = again.body == r.body;
        r = again;
        if settled {
            break;
        }
    }
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.headers[header::CONTENT_TYPE],
        "application/vnd.apple.mpegurl"
    );
    let text = r.text();
    assert!(text.contains("#EXT-X-PLAYLIST-TYPE:VOD\n"), "{text}");
    assert!(text.ends_with("#EXT-X-ENDLIST\n"), "{text}");
    let run = first.split('/').next().unwrap();
    assert!(
        text.contains(&format!("#EXT-X-MAP:URI=\"replay/{run}/init.mp4\"")),
        "{text}"
    );
    // Every segment from the first, in order, none missing: the slate included.
    let listed: Vec<u64> = segments(&text).iter().map(|u| number(u)).collect();
    let expected: Vec<u64> = (0..listed.len() as u64).collect();
    assert_eq!(listed, expected, "{text}");
    assert!(listed.contains(&number(&slate_uri)), "{text}");
    // The files: the slate's bytes are the ones the public got live.
    let kept = app
        .get(&format!("/live/{id}/replay/{slate_uri}"), Who::Stranger)
        .await;
    assert_eq!(kept.status, StatusCode::OK);
    assert!(kept.headers[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert_eq!(kept.body, aired.body, "the slate as aired");
    let init = app
        .get(&format!("/live/{id}/replay/{run}/init.mp4"), Who::Stranger)
        .await;
    let seg = app
        .get(&format!("/live/{id}/replay/{run}/seg-0.m4s"), Who::Stranger)
        .await;
    let media = mp4::parse(&[init.body.clone(), seg.body].concat()).expect("an MP4");
    assert_eq!(
        media
            .track("video")
            .and_then(|v| v.codec.clone())
            .as_deref(),
        Some("avc3")
    );
    assert!(media.track("audio").is_some(), "{media:?}");
    // A real player reads the whole replay through its playlist: ffprobe decodes every
    // picture every segment holds.
    let mut samples = 0;
    for uri in segments(&text) {
        let seg = app.get(&format!("/live/{id}/{uri}"), Who::Stranger).await;
        assert_eq!(seg.status, StatusCode::OK, "{uri}");
        let m = mp4::parse(&[init.body.clone(), seg.body].concat()).expect("an MP4");
        samples += m.track("video").unwrap().samples;
    }
    let url = format!("http://{}/live/{id}/replay.m3u8", app.addr);
    let (decoded, said) = tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v", "-count_frames"])
            .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
            .arg(&url)
            .output()
            .expect("ffprobe runs");
        (
            // One line per stream, and again per program (HLS).
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .and_then(|l| l.trim().parse::<u64>().ok())
                .unwrap_or(0),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    })
    .await
    .unwrap();
    assert!(samples > listed.len() as u64, "{samples} pictures");
    assert_eq!(
        decoded, samples,
        "ffprobe decoded the replay's every picture: {said}\n{text}"
    );
    // Nothing else is served from the folder.
    let last = listed.last().unwrap();
    for uri in [
        format!("/live/{id}/replay/{run}/seg-{}.m4s", last + 1),
        format!("/live/{id}/replay/{run}/index.txt"),
        format!("/live/{id}/replay/r1/init.mp4"),
        format!("/live/{id}/replay/..%2F..%2Fkeys/init.mp4"),
        format!("/live/{id}/replay/{run}/..%2F..%2F..%2Fcourtroom.db"),
    ] {
        let r = app.get(&uri, Who::Stranger).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
    }
}

#[tokio::test]
async fn replays_are_off_by_default() {
    let app = small_app().await;
    let (cookie, id) = broadcasting(&app).await;
    segment_from(&app, &id, 1).await;
    app.set_state(&cookie, &id, "closed").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let w = app
        .get(&format!("/api/watch/{id}"), Who::Stranger)
        .await
        .json();
    assert_eq!(w["broadcast"], "ended", "{w}");
    assert!(w["replay"].is_null(), "{w}");
    let r = app
        .get(&format!("/live/{id}/replay.m3u8"), Who::Stranger)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(
        !app.state.settings().data_dir.join("replays").exists(),
        "nothing kept on disk"
    );
}

#[tokio::test]
async fn a_player_says_it_is_watching_and_the_playlist_url_stays_the_same_for_all() {
    let app = small_app().await;
    let (cookie, id) = broadcasting(&app).await;
    let clerk = Who::Session(&cookie);
    let watching = format!("/api/watch/{id}/watching");
    let viewers = || async {
        app.get(&format!("/api/hearings/{id}/monitor"), clerk)
            .await
            .json()["broadcast"]["viewers"]
            .as_u64()
    };
    assert_eq!(viewers().await, Some(0));
    for viewer in ["a1b2c3d4e5f60718", "a1b2c3d4e5f60718", "ffee0011ffee0011"] {
        let r = app
            .post(&watching, Who::Stranger, json!({ "viewer": viewer }))
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
        assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    }
    assert_eq!(viewers().await, Some(2), "each player once");
    // Plain playlist requests count nobody.
    segment_from_plain(&app, &id).await;
    assert_eq!(viewers().await, Some(2));
    // Bad ids, unknown and closed hearings: clear answers, nothing counted.
    for bad in [json!(""), json!("a b"), json!("x".repeat(65)), json!(7)] {
        let r = app
            .post(&watching, Who::Stranger, json!({ "viewer": bad }))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text());
    }
    let r = app
        .post(
            "/api/watch/h-nobody/watching",
            Who::Stranger,
            json!({ "viewer": "abc" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let closed = app.create_hearing(&cookie).await;
    let r = app
        .post(
            &format!("/api/watch/{closed}/watching"),
            Who::Stranger,
            json!({ "viewer": "abc" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(viewers().await, Some(2));
}

/// Fetches the live playlist without a viewer id until it lists a segment.
async fn segment_from_plain(app: &TestApp, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = app
            .get(&format!("/live/{id}/index.m3u8"), Who::Stranger)
            .await;
        if r.status == StatusCode::OK && !segments(&r.text()).is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "no segment within 20 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
