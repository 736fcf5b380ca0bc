//! Overload: a node running three recorded hearings at 720p (one busy, two quiet), with
//! every core also kept busy by other work, falls behind. Its hearings must then give up the
//! same share of pictures (`hearing::pace`): the rendered frame rates of the busy hearing and
//! the quiet ones stay within 15 % of each other, and the pictures shed are counted. Without
//! the pace the busy hearing alone loses frames (about 13 fps against 18 in
//! `docs/RELIABILITY.md`). Runs the real server (`courtroom bench hearing`'s harness).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use courtroom::loadgen::bench::{self, BenchConfig};

use crate::support;

/// Keeps every core busy until dropped.
struct CpuHog {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl CpuHog {
    fn start(threads: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..threads)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(
                            x.wrapping_mul(6364136223846793005).wrapping_add(1),
                        );
                    }
                })
            })
            .collect();
        Self { stop, threads }
    }
}

impl Drop for CpuHog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overloaded_node_sheds_pictures_evenly_across_its_hearings() {
    let _turn = support::one_at_a_time();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let _hog = CpuHog::start(cores);
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
    assert!(
        report.rendered_fps_spread <= 1.15,
        "the hearings' frame rates differ by more than 15 %: {:?}",
        report.rendered_fps
    );
    assert!(
        report.rendered_fps.iter().all(|f| *f >= 5.0),
        "a hearing nearly stopped: {:?}",
        report.rendered_fps
    );
}
