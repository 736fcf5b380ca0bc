//! The public broadcast under viewers, short (`make bench` runs 100 and 1,000 players at
//! 720p): 50 simulated HLS players on loopback against the demo's broadcasting hearing must
//! all keep up, with no request refused, each counted once by the server, and every player
//! fetching about one playlist a second and one segment every two seconds.

use courtroom::loadgen::broadcast::{self, BroadcastBenchConfig};

use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_players_keep_up_with_the_broadcast_and_are_each_counted() {
    let _turn = support::one_at_a_time();
    let report = broadcast::run(&BroadcastBenchConfig {
        exe: env!("CARGO_BIN_EXE_courtroom").into(),
        viewers: vec![50],
        seconds: 6,
        width: 640,
        height: 360,
        fps: 25,
    })
    .await
    .expect("bench ran");
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!(report.loads.len(), 2, "the baseline, then 50: {report:?}");
    let load = &report.loads[1];
    assert_eq!(load.viewers, 50);
    assert_eq!(load.errors, 0, "{load:?}");
    assert_eq!(load.players_stalled, 0, "{load:?}");
    assert_eq!(load.server_counted, 50, "{load:?}");
    assert!(
        (35.0..=65.0).contains(&load.playlists_per_s),
        "about one playlist a second each: {load:?}"
    );
    assert!(
        (15.0..=35.0).contains(&load.segments_per_s),
        "about a segment every two seconds each: {load:?}"
    );
}
