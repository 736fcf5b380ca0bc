//! Segmented evidence recording without a network: composite frames through the encoder into
//! the recorder with 2 s segments. Checks that segments cut at the boundaries (the encoder is
//! asked for a keyframe there), that each closed segment plays with both streams, that the
//! last second before the stop is kept, and that the signed manifest verifies.

mod record_common;

use std::time::Duration;

use courtroom::record::verify::verify_dir;
use courtroom::record::RecordingState;
use record_common::{ffprobe, record_for, segment_duration};

#[test]
fn segments_cut_at_boundaries_keep_the_end_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec");
    let seconds = 7.0;
    let (finished, key) = record_for(&rec, Duration::from_secs(2), seconds);
    assert!(finished.failure.is_none(), "{:?}", finished.failure);
    let m = &finished.manifest;
    assert_eq!(m.state, RecordingState::Finalised);
    assert_eq!(m.segments.len(), 4, "0-2, 2-4, 4-6, 6-7: {:#?}", m.segments);
    for (i, seg) in m.segments.iter().enumerate() {
        assert_eq!(seg.file, format!("composite-{i:05}.mp4"));
        assert!(seg.complete);
        // The keyframe asked for at the boundary lands exactly on it.
        assert_eq!(seg.media_start_ms, i as u64 * 2000, "segment {i} start");
        let path = rec.join(&seg.file);
        let codecs = ffprobe(&path, "stream=codec_name");
        assert!(
            codecs.contains("h264") && codecs.contains("aac"),
            "segment {i}: {codecs}"
        );
        let d = segment_duration(&path);
        let want = (seg.media_end_ms - seg.media_start_ms) as f64 / 1000.0;
        assert!(
            (d - want).abs() < 0.15,
            "segment {i}: ffprobe says {d} s, manifest {want} s"
        );
    }
    // The last second before the stop is there: the media ends at the stop instant.
    let last = m.segments.last().unwrap();
    assert_eq!(last.media_end_ms, (seconds * 1000.0) as u64);
    let total: f64 = m
        .segments
        .iter()
        .map(|s| segment_duration(&rec.join(&s.file)))
        .sum();
    assert!(
        (total - seconds).abs() < 0.2,
        "total {total} s of {seconds}"
    );
    let report = verify_dir(&rec, Some(&key.public()));
    assert!(report.ok(), "{}", report.render());
    assert_eq!(report.segments, 4);
}
