//! Soak: one hearing with five synthetic participants (the load generator's WebRTC client, in
//! this process), recording all along, for `SOAK_SECONDS` (300 in `make test`; `make soak`:
//! 3600). Two of them flash and beep together every two seconds. At the end:
//!
//! - A/V sync is within ITU-R BT.1359 in the last minute, as in the first (median offset of
//!   each cue participant, from the recording itself);
//! - memory has not grown: RSS at the end within 10 % of RSS after the first minute;
//! - every segment verifies, and the recording is sealed complete;
//! - the clocks have not drifted: the recording's media time matches the wall time it ran for
//!   within 0.1 %.
//!
//! `SOAK_SIZE` (default `640x360`) sets the composite's size; `SOAK_CSV` names a file for the
//! RSS curve (seconds, threads, fds, RSS).

use std::sync::Arc;
use std::time::{Duration, Instant};

use courtroom::loadgen::{client, clip::Clip};
use courtroom::record::RecordingState;

use crate::resources::{curve_csv, usage};
use crate::support::{self, avsync, composite_segments, TestApp};

/// The participants: seat, and the frequency of their beep (`None`: a plain synthetic person).
const PEOPLE: [(&str, Option<f32>); 5] = [
    ("presiding_judge", Some(1300.0)),
    ("plaintiff", Some(2900.0)),
    ("defendant", None),
    ("assessor_left", None),
    ("assessor_right", None),
];

/// The part of the run at its start and at its end whose sync is compared.
const WINDOW: Duration = Duration::from_secs(60);
/// Start-up left out of the first window: each participant's first seconds.
const SETTLE: Duration = Duration::from_secs(10);

fn soak_seconds() -> u64 {
    std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
        .max(150)
}

fn soak_size() -> (u32, u32) {
    let size = std::env::var("SOAK_SIZE").unwrap_or_else(|_| "640x360".into());
    let (w, h) = size.split_once('x').expect("SOAK_SIZE is WxH");
    (w.parse().expect("width"), h.parse().expect("height"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_long_hearing_keeps_sync_memory_clock_and_record() {
    let _turn = support::one_at_a_time();
    courtroom::malloc::limit_arenas();
    let seconds = soak_seconds();
    let (w, h) = soak_size();
    let app = TestApp::builder()
        .demo()
        .set("video.fps=25")
        .set(&format!("video.width={w}"))
        .set(&format!("video.height={h}"))
        .start()
        .await;
    let live = app.state.hearing(&app.demo_hearing_id()).await.unwrap();
    // The wide shot all along: each seat stays where the sync is read from.
    live.lock_view(Some("wide".into())).unwrap();
    let clips: Vec<Arc<Clip>> = tokio::task::spawn_blocking(|| {
        PEOPLE
            .iter()
            .enumerate()
            .map(|(i, (_, beep))| {
                let rgb = [60 + 30 * i as u8, 60, 200 - 30 * i as u8];
                Arc::new(match beep {
                    Some(hz) => Clip::with_cues(4, rgb, *hz).unwrap(),
                    None => Clip::synthetic(4, rgb).unwrap(),
                })
            })
            .collect()
    })
    .await
    .unwrap();

    let l = live.clone();
    let wall_start = Instant::now();
    tokio::task::spawn_blocking(move || l.start_recording())
        .await
        .unwrap()
        .unwrap();
    let ws = format!("ws://{}/ws", app.addr);
    let run_for = Duration::from_secs(seconds);
    let clients: Vec<_> = PEOPLE
        .iter()
        .zip(&clips)
        .map(|((seat, _), clip)| {
            let (ws, token, clip) = (ws.clone(), app.token(seat), clip.clone());
            tokio::spawn(async move {
                client::run(&ws, &token, clip, run_for, [127, 0, 0, 1].into()).await
            })
        })
        .collect();

    // Resources every 10 s while they publish.
    let mut curve = Vec::new();
    while wall_start.elapsed() < run_for {
        curve.push((wall_start.elapsed().as_secs(), usage(None)));
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    for (c, (seat, _)) in clients.into_iter().zip(PEOPLE) {
        let report = c.await.unwrap();
        assert!(report.error.is_none(), "{seat}: {report:?}");
        assert!(report.composite_frames > 0, "{seat} got no composite");
    }
    let end = usage(None);
    let l = live.clone();
    let wall_stop = Instant::now();
    let manifest = tokio::task::spawn_blocking(move || l.stop_recording())
        .await
        .unwrap()
        .unwrap()
        .expect("a recording ran");
    let wall = wall_stop - wall_start;
    let late = live.tick_stats().late_ticks() as f64 / live.tick_stats().ticks().max(1) as f64;

    let rows = curve.iter().map(|(s, u)| (s.to_string(), *u));
    let csv = curve_csv("seconds", rows, &end, "SOAK_CSV");

    // The record: sealed complete, every segment verified.
    assert_eq!(manifest.state, RecordingState::Finalised);
    assert!(manifest.segments.iter().all(|s| s.complete), "{manifest:?}");
    let dir = crate::assert_recording_verifies(&app, &manifest);

    // The clock: media time against wall time.
    let first = manifest.segments.first().expect("segments");
    let last = manifest.segments.last().expect("segments");
    let media_ms = (last.media_end_ms - first.media_start_ms) as f64;
    let wall_ms = wall.as_secs_f64() * 1000.0;
    let drift = (media_ms - wall_ms) / wall_ms;

    // Sync, at the start and at the end, from the recording.
    let boxes = live.seat_boxes();
    let layout = live.layout();
    let segments = composite_segments(&dir);
    let seg_ms = app.state.settings().record.segment_seconds as u64 * 1000;
    let early: Vec<_> = segments
        .iter()
        .zip(&manifest.segments)
        .filter(|(_, s)| {
            s.media_start_ms >= SETTLE.as_millis() as u64
                && s.media_start_ms < (SETTLE + WINDOW).as_millis() as u64
        })
        .map(|(p, _)| p.clone())
        .collect();
    let late_segments: Vec<_> = segments
        .iter()
        .zip(&manifest.segments)
        .filter(|(_, s)| s.media_end_ms + WINDOW.as_millis() as u64 >= last.media_end_ms + seg_ms)
        .filter(|(_, s)| s.media_end_ms - s.media_start_ms >= seg_ms / 2)
        .map(|(p, _)| p.clone())
        .collect();
    let after_a_minute = curve
        .iter()
        .find(|(s, _)| *s >= 60)
        .map(|(_, u)| *u)
        .unwrap_or(end);
    let mut report = format!(
        "{seconds} s at {w}x{h}: media {media_ms:.0} ms, wall {wall_ms:.0} ms, drift {:.4} %, \
         late ticks {:.1} %, RSS {:.1} MB after 60 s, {:.1} MB at the end (in use: {:.1} → \
         {:.1} MB)\n",
        drift * 100.0,
        late * 100.0,
        after_a_minute.rss_mb,
        end.rss_mb,
        after_a_minute.heap_mb,
        end.heap_mb,
    );
    let mut medians = Vec::new();
    for (seat, beep) in PEOPLE {
        let Some(hz) = beep else { continue };
        let index = layout.seat_index(seat).expect("seat in layout");
        let b = &boxes[index];
        let region = avsync::flash_region(b.x as u64, b.y as u64, b.w as u64, b.h as u64);
        let read = |files: &[std::path::PathBuf]| -> Vec<f64> {
            files
                .iter()
                .flat_map(|f| avsync::offsets_ms(f, region, hz).0)
                .collect()
        };
        let (start, finish) = (read(&early), read(&late_segments));
        let (m0, m1) = (avsync::median(&start), avsync::median(&finish));
        report += &format!(
            "{seat}: start median {m0:.0} ms of {:?}; end median {m1:.0} ms of {:?}\n",
            start.iter().map(|o| o.round() as i64).collect::<Vec<_>>(),
            finish.iter().map(|o| o.round() as i64).collect::<Vec<_>>()
        );
        medians.push((seat, start.len(), m0, finish.len(), m1));
    }
    println!("{report}{csv}");

    for (seat, n0, m0, n1, m1) in medians {
        assert!(
            n0 >= 5 && n1 >= 5,
            "too few cue pairs for {seat}:\n{report}"
        );
        assert!(
            avsync::in_bt1359(m0),
            "{seat} out of sync at the start:\n{report}"
        );
        assert!(
            avsync::in_bt1359(m1),
            "{seat} out of sync at the end:\n{report}"
        );
    }
    let rss_base = curve
        .iter()
        .find(|(s, _)| *s >= 60)
        .map(|(_, u)| u.rss_mb)
        .expect("a reading after a minute");
    assert!(
        end.rss_mb <= rss_base * 1.10,
        "memory grew by more than 10 % after the first minute:\n{report}{csv}"
    );
    assert!(
        drift.abs() <= 0.001,
        "the recording's clock drifted from the wall clock:\n{report}"
    );
}
