use super::*;
use crate::broadcast::BroadcastConfig;

#[test]
fn names_outside_the_archive_are_refused() {
    assert_eq!(run_number("r12"), Some(12));
    for bad in ["r", "12", "r1x", "r-1", "..", "r1/../x"] {
        assert_eq!(run_number(bad), None, "{bad}");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("r1")).unwrap();
    std::fs::write(dir.path().join("r1").join("secret"), b"x").unwrap();
    assert_eq!(replay_file(dir.path(), "r1", "secret"), None);
    assert_eq!(replay_file(dir.path(), "../r1", "init.mp4"), None);
    assert_eq!(replay_file(dir.path(), "r1", "../r1/init.mp4"), None);
}

#[test]
fn nothing_kept_is_no_replay() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(replay_playlist(&dir.path().join("none")).unwrap(), None);
    assert_eq!(replay_playlist(dir.path()).unwrap(), None);
}

/// A made-up H.264 access unit (the segmenter's own tests' NAL units): SPS, PPS and an
/// IDR slice, or a non-IDR slice.
fn access_unit(keyframe: bool) -> Vec<u8> {
    let nals: &[&[u8]] = if keyframe {
        &[
            &[0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8],
            &[0x68, 0xce, 0x0f, 0x2c, 0x80],
            &[0x65, 0x88, 0x84, 0x21, 0xa0],
        ]
    } else {
        &[&[0x41, 0x9a, 0x02, 0x11]]
    };
    nals.iter()
        .flat_map(|n| [&[0, 0, 0, 1][..], n].concat())
        .collect()
}

/// Airs `frames` frames at 25 fps, a keyframe every 2 s, through a segmenter keeping a
/// window of 2, asking `archive` after every frame as the broadcast does; then the end.
fn air(archive: &ReplayArchive, frames: u64) -> Segmenter {
    let mut segmenter = Segmenter::new(BroadcastConfig {
        width: 640,
        height: 360,
        target: Duration::from_secs(2),
        window: 2,
        part_target: None,
    });
    for n in 0..frames {
        let key = n % 50 == 0;
        segmenter.push_video(Duration::from_millis(n * 40), &access_unit(key), key);
        archive.take(&segmenter);
    }
    segmenter.end();
    archive.take(&segmenter);
    segmenter
}

#[test]
fn the_archive_keeps_every_segment_once_and_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let hearing = dir.path().join("h1");
    let archive = ReplayArchive::start(hearing.join("r7"), None);
    // 10 s: more segments than the window of 2 keeps.
    let segmenter = air(&archive, 250);
    let made: Vec<u64> = segmenter.segments().map(|s| s.sequence).collect();
    let last = *made.last().expect("segments made");
    drop(archive); // the writer finishes what it was given
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = replay_playlist(&hearing).unwrap();
        if text
            .as_deref()
            .is_some_and(|t| t.contains(&format!("replay/r7/seg-{last}.m4s")))
            || std::time::Instant::now() > deadline
        {
            break text.expect("a replay");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(last >= 4, "{made:?}");
    for seq in 0..=last {
        assert_eq!(
            text.matches(&format!("replay/r7/seg-{seq}.m4s\n")).count(),
            1,
            "{text}"
        );
        let path = replay_file(&hearing, "r7", &segment_uri(seq)).expect("listed");
        assert!(std::fs::metadata(path).unwrap().len() > 0);
    }
    assert!(
        text.contains("#EXT-X-MAP:URI=\"replay/r7/init.mp4\""),
        "{text}"
    );
    assert!(text.ends_with("#EXT-X-ENDLIST\n"), "{text}");
    assert!(!text.contains("DISCONTINUITY"), "{text}");
    assert!(replay_file(&hearing, "r7", INIT_URI).is_some());
    assert_eq!(replay_file(&hearing, "r7", &segment_uri(last + 1)), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_copied_to_the_bucket_is_served_from_there_as_from_disk() {
    // Two nodes sharing a bucket: the first aired run 5 and died, the second took the
    // hearing over and aired run 9.
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("a/h1"), dir.path().join("b/h1"));
    let bucket = Bucket::memory();
    for (node, run) in [(&first, 5u64), (&second, 9)] {
        let place = ReplayPlace {
            dir: node.clone(),
            bucket: Some(ReplayBucket {
                bucket: bucket.clone(),
                runtime: tokio::runtime::Handle::current(),
            }),
        };
        air(&place.archive(run), 150);
    }
    // The writer threads write, then upload; wait for the bucket to hold both runs whole
    // (their last segments listed).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let remote = loop {
        let remote = bucket_playlist(&bucket, "h1")
            .await
            .unwrap()
            .unwrap_or_default();
        let whole = ["r5", "r9"]
            .iter()
            .all(|r| remote.contains(&format!("replay/{r}/seg-2.m4s")));
        if whole || std::time::Instant::now() > deadline {
            break remote;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(remote.contains("replay/r5/seg-2.m4s\n"), "{remote}");
    assert!(remote.contains("#EXT-X-DISCONTINUITY\n"), "{remote}");
    // The second node's disk has only its own run; merged with the bucket, both, the
    // same list as the bucket's.
    let second_runs = {
        let second = second.clone();
        tokio::task::spawn_blocking(move || local_runs(&second).unwrap())
            .await
            .unwrap()
    };
    assert_eq!(second_runs.iter().map(|r| r.run).collect::<Vec<_>>(), [9]);
    let merged =
        crate::broadcast::merge_runs(second_runs, bucket_runs(&bucket, "h1").await.unwrap());
    assert_eq!(
        vod_playlist(&merged, REPLAY_PREFIX).as_deref(),
        Some(remote.as_str())
    );
    let hearing = |run: &str| {
        if run == "r5" {
            first.clone()
        } else {
            second.clone()
        }
    };
    // The same bytes as the node's disk; nothing the index does not list.
    for (run, file) in [("r5", "init.mp4"), ("r9", "seg-0.m4s"), ("r9", "seg-2.m4s")] {
        let got = bucket_file(&bucket, "h1", run, file).await.unwrap();
        let disk = std::fs::read(hearing(run).join(run).join(file)).unwrap();
        assert_eq!(got.as_deref(), Some(disk.as_slice()), "{run}/{file}");
    }
    for (run, file) in [
        ("r9", "seg-3.m4s"),
        ("r9", "index.txt"),
        ("r1", "init.mp4"),
        ("..", "init.mp4"),
        ("r9", "../r5/init.mp4"),
    ] {
        assert_eq!(
            bucket_file(&bucket, "h1", run, file).await.unwrap(),
            None,
            "{run}/{file}"
        );
    }
    assert_eq!(bucket_playlist(&bucket, "h2").await.unwrap(), None);
}
