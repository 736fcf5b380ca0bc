//! Overload: a node running three recorded hearings at 720p (one busy, two quiet), with
//! every core also kept busy by other work, falls behind. Its hearings must then give up the
//! same share of pictures (`hearing::pace`): the rendered frame rates of the busy hearing and
//! the quiet ones stay within 20 % of each other, and the pictures shed are counted. Without
//! the pace the busy hearing alone loses frames (about 13 fps against 18 in
//! `docs/RELIABILITY.md`). Runs the real server (`courtroom bench hearing`'s harness).

use courtroom::loadgen::bench::{self, BenchConfig};

use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overloaded_node_sheds_pictures_evenly_across_its_hearings() {
    let _turn = support::one_at_a_time();
    let _hog = support::load::CpuHog::every_core();
    let report = bench::run(&BenchConfig {
        exe: env!("CARGO_BIN_EXE_courtroom").into(),
        hearings: 3,
        participants: 6,
        light: 2,
        seconds: 20,
        width: 1280,
        height: 720,
        fps: 25,
        shed_evenly: true,
        settings: Vec::new(),
        // The spinning threads must load every core, the server's too.
        pin: false,
    })
    .await
    .expect("bench ran");
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!(report.clients_failed, 0, "{report:?}");
    assert!(
        report.shed_ratio > 0.0,
        "the node was behind ({:.0} % late) but shed no picture: {report:?}",
        report.frames_late_ratio * 100.0
    );
    assert_eq!(report.rendered_fps.len(), 3, "{report:?}");
    // The pace keeps at least 2 of every 5 pictures (10 fps here). While some hearing still
    // draws about that many, the pace is what decides, and the hearings stay within 20 % of
    // each other: runs measured 1.01-1.15 (the busy hearing also skips the ticks it is too
    // late for); each hearing for itself measured 1.44. On a slower machine (2026-12-04:
    // every hearing at 5-9 fps, 99 % of ticks late) the pace has nothing left to shed, and
    // even and each-for-itself measured alike (1.26-1.42 and 1.25-1.33): there only the
    // floor below is asserted. Nor when the pace is at its floor itself (the fastest hearing
    // at about 10 fps, keeping 2 of 5): it sheds all it may, and what unevenness is left is the
    // busy hearing's own lateness (2026-12-05: 7.4, 9.5 and 9.9 fps, 52 % shed, spread 1.34).
    let pace_has_room = report
        .rendered_fps
        .iter()
        .any(|f| *f >= 1.1 * 25.0 * 2.0 / 5.0);
    if pace_has_room {
        assert!(
            report.rendered_fps_spread <= 1.20,
            "the hearings' frame rates differ by more than 20 %: {:?}",
            report.rendered_fps
        );
    } else {
        eprintln!(
            "no hearing above the pace's floor ({:?} fps): the node is past what shedding \
             can help; evenness not asserted",
            report.rendered_fps
        );
    }
    // The composite's RTP timestamps follow real time although pictures are shed
    // (`rtc::sample_clock`); stamped one frame time apart they ran at the rendered share.
    let [slowest, fastest] = report.composite_clock_ratio;
    assert!(
        (0.95..=1.05).contains(&slowest) && (0.95..=1.05).contains(&fastest),
        "the composite's timestamps do not follow real time ({slowest:.3}..{fastest:.3} s a second)"
    );
    assert!(
        report.rendered_fps.iter().all(|f| *f >= 5.0),
        "a hearing nearly stopped: {:?}",
        report.rendered_fps
    );
}
