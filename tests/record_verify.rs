//! `courtroom verify` and tamper evidence: a real recording verifies; 100 single-byte flips at
//! random positions across its segments and manifest files are each caught and pinned to the
//! right file; the CLI exits non-zero naming the segment; and the checks documented in
//! docs/VERIFY.md (only `sha256sum` and `openssl`) pass on an untouched recording.

mod record_common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use courtroom::media::encoder::{Encoder, EncoderConfig};
use courtroom::record::manifest::{MANIFEST_FILE, SIGNATURE_FILE, SUMS_FILE};
use courtroom::record::mp4;
use courtroom::record::recorder::SegmentGap;
use courtroom::record::seal::seal_one;
use courtroom::record::segment::VideoFormat;
use courtroom::record::sign::KEY_FILE;
use courtroom::record::verify::{verify_dir, Severity};
use courtroom::record::{
    Manifest, Recorder, RecorderOptions, RecordingInfo, RecordingKey, RecordingState,
    SeatedParticipant,
};
use rand::{Rng, SeedableRng};
use record_common::record_for;

fn verify_cli(dir: &Path, key: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_courtroom"))
        .arg("verify")
        .arg(dir)
        .arg("--public-key")
        .arg(key)
        .output()
        .expect("courtroom verify runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn every_byte_flip_is_caught_and_the_cli_names_the_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    let (finished, key) = record_for(&rec, Duration::from_secs(1), 3.5);
    assert_eq!(finished.manifest.segments.len(), 4);
    let pem = tmp.path().join("court.pem");
    std::fs::write(&pem, key.public().to_pem()).unwrap();

    let report = verify_dir(&rec, Some(&key.public()));
    assert!(report.ok(), "{}", report.render());
    let (code, out) = verify_cli(&rec, &pem);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK "), "{out}");

    // Another key does not verify it.
    let other = RecordingKey::generate();
    assert!(!verify_dir(&rec, Some(&other.public())).ok());
    assert!(!verify_dir(&rec, None).ok(), "no key, no pass");

    let mut files: Vec<PathBuf> = finished.segments.clone();
    for f in [MANIFEST_FILE, SIGNATURE_FILE, SUMS_FILE] {
        files.push(rec.join(f));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed_f11b);
    let mut caught = 0;
    for flip in 0..100 {
        let file = &files[rng.gen_range(0..files.len())];
        let original = std::fs::read(file).unwrap();
        let pos = rng.gen_range(0..original.len());
        let mut tampered = original.clone();
        tampered[pos] ^= rng.gen_range(1..=255u8);
        std::fs::write(file, &tampered).unwrap();
        let report = verify_dir(&rec, Some(&key.public()));
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        assert!(!report.ok(), "flip {flip} at {name}:{pos} was not caught");
        // The finding names the tampered file (manifest flips show as its signature failing).
        let names_it = report.findings.iter().any(|f| {
            f.message.contains(&name)
                || (name == MANIFEST_FILE && f.message.contains(SIGNATURE_FILE))
        });
        assert!(names_it, "flip {flip} in {name}: {}", report.render());
        caught += 1;
        std::fs::write(file, &original).unwrap();
    }
    assert_eq!(caught, 100);
    assert!(verify_dir(&rec, Some(&key.public())).ok(), "restored");

    // The CLI: non-zero, and it says which segment and what.
    let seg2 = rec.join("composite-00002.mp4");
    let original = std::fs::read(&seg2).unwrap();
    let mut tampered = original.clone();
    tampered[original.len() / 2] ^= 0x01;
    std::fs::write(&seg2, &tampered).unwrap();
    let (code, out) = verify_cli(&rec, &pem);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL")
            && out.contains("segment 2 (composite-00002.mp4)")
            && out.contains("SHA-256"),
        "{out}"
    );
    std::fs::write(&seg2, &original).unwrap();

    // Dropping a segment from the folder is caught too.
    std::fs::rename(&seg2, tmp.path().join("moved.mp4")).unwrap();
    let (code, out) = verify_cli(&rec, &pem);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("segment 2"), "{out}");
    std::fs::rename(tmp.path().join("moved.mp4"), &seg2).unwrap();

    // The checks of docs/VERIFY.md, with only sha256sum and openssl.
    let script = r#"
set -e
cd "$1"
openssl pkeyutl -verify -pubin -inkey "$2" -rawin -in manifest.json -sigfile manifest.json.sig
test "$(sha256sum SHA256SUMS | cut -d' ' -f1)" = "$(grep '"sha256sums"' manifest.json | cut -d'"' -f4)"
sha256sum -c SHA256SUMS
"#;
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(&rec)
        .arg(&pem)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // ...and the same fails on a tampered segment.
    std::fs::write(&seg2, &tampered).unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(&rec)
        .arg(&pem)
        .output()
        .unwrap();
    assert!(!out.status.success(), "sha256sum -c catches the flip");
}

/// Every file in the folder is covered by a hash the signature covers: anything else in it is
/// an error, except the signature, the time-stamp files and the hidden bookkeeping files.
#[test]
fn a_file_no_hash_covers_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    let (_, key) = record_for(&rec, Duration::from_secs(2), 2.5);
    let public = key.public();
    for (name, body) in [
        (".bucket.json", &b"{}"[..]),
        (".fenced", b""),
        ("timestamps.json", b"[]"),
    ] {
        std::fs::write(rec.join(name), body).unwrap();
    }
    let report = verify_dir(&rec, Some(&public));
    assert!(
        report.ok(),
        "bookkeeping files are exempt: {}",
        report.render()
    );

    for (name, body) in [
        ("notes.txt", &b"added later"[..]),
        (
            "original-witness-p7-video.webm",
            b"\x1a\x45\xdf\xa3 not listed",
        ),
        ("composite-00009.mp4", b"a segment nobody listed"),
        (".hidden", b"x"),
    ] {
        let path = rec.join(name);
        std::fs::write(&path, body).unwrap();
        let report = verify_dir(&rec, Some(&public));
        assert!(!report.ok(), "{name} is not covered: {}", report.render());
        assert!(
            report.findings.iter().any(|f| f.severity == Severity::Error
                && f.message.starts_with(name)
                && f.message.contains("not covered")),
            "{}",
            report.render()
        );
        std::fs::remove_file(&path).unwrap();
    }
    std::fs::create_dir(rec.join("extra")).unwrap();
    let report = verify_dir(&rec, Some(&public));
    assert!(!report.ok(), "a folder inside: {}", report.render());
    std::fs::remove_dir(rec.join("extra")).unwrap();
    assert!(verify_dir(&rec, Some(&public)).ok());
}

/// A server that dies while a participant's original is being written: sealing at the next
/// start lists it as it lies (`complete: false`, whose it is from its name), so the sealed
/// recording has no file outside the hash chain.
#[test]
fn sealing_after_a_crash_lists_the_originals_being_written() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    let (finished, key) = record_for(&rec, Duration::from_secs(2), 2.5);
    // As the server left it when it died: still `recording`, an original being written.
    let mut manifest = finished.manifest.clone();
    manifest.state = RecordingState::Recording;
    manifest.ended_at = None;
    manifest.participants = vec![SeatedParticipant {
        role: "witness".into(),
        seat: "witness".into(),
        name: "Wang Fang".into(),
    }];
    manifest.write_signed(&rec, Some(&key)).unwrap();
    let original = "original-witness-p4-audio.webm";
    std::fs::write(rec.join(original), b"\x1a\x45\xdf\xa3 torn webm").unwrap();
    std::fs::write(rec.join(".manifest.json.tmp"), b"{").unwrap();
    let live = verify_dir(&rec, Some(&key.public()));
    assert!(
        live.ok(),
        "while recording, a file being written is a warning: {}",
        live.render()
    );

    let sealed = seal_one(&rec, &key).unwrap().expect("sealed");
    assert_eq!(sealed.appended, 0);
    let m = courtroom::record::Manifest::read(&rec).unwrap();
    assert_eq!(m.state, RecordingState::Interrupted);
    let o = m
        .originals
        .iter()
        .find(|o| o.file == original)
        .expect("the original is listed");
    assert!(!o.complete);
    assert_eq!(o.kind, "audio");
    assert_eq!(o.codec, "audio/opus");
    assert_eq!(o.participant.name, "Wang Fang");
    assert!(m.failure.unwrap().contains("original"));
    let report = verify_dir(&rec, Some(&key.public()));
    assert!(report.ok(), "{}", report.render());
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.message.contains("not covered")),
        "{}",
        report.render()
    );
}

/// Reads the manifest in `rec`, changes it with `change`, links its chain again and signs it
/// with `key`: a manifest the court's key signed that says something else about the media.
fn resign(rec: &Path, key: &RecordingKey, change: impl FnOnce(&mut Manifest)) {
    let mut m = Manifest::read(rec).unwrap();
    change(&mut m);
    for e in std::mem::take(&mut m.segments) {
        m.append(e);
    }
    m.write_signed(rec, Some(key)).unwrap();
}

/// Records `seconds` of audio, with video only from `video_from` seconds on (a busy encoder
/// whose first frame comes late; never, if that is past the stop).
/// Records `seconds` of audio with video only from `video_from` s; returns the sealed manifest,
/// its key, and the segments the recorder said it sealed without a track.
fn record_late_video(
    dir: &Path,
    seconds: f64,
    video_from: f64,
) -> (Manifest, Arc<RecordingKey>, Vec<SegmentGap>) {
    courtroom::media::init().unwrap();
    let (w, h) = (320u32, 240u32);
    let slot: Arc<Mutex<Option<Arc<Recorder>>>> = Arc::default();
    let sink = slot.clone();
    let encoder = Encoder::new(
        EncoderConfig {
            width: w,
            height: h,
            fps: 25,
            bitrate_kbps: 800,
            keyframe_interval: 50,
        },
        move |f| {
            if let Some(r) = sink.lock().unwrap().as_ref() {
                r.push_video(&f);
            }
        },
    )
    .unwrap();
    let key = Arc::new(RecordingKey::generate());
    let mut opts = RecorderOptions::new(
        VideoFormat {
            width: 320,
            height: 240,
            fps: 25,
        },
        Duration::ZERO,
        RecordingInfo {
            recording_id: "audio-only".into(),
            hearing_id: "h".into(),
            case_number: "c".into(),
            started_at: chrono::Utc::now(),
            seated: vec![],
        },
    );
    opts.segment = Duration::from_secs(10);
    opts.key = Some(key.clone());
    let gaps: Arc<Mutex<Vec<SegmentGap>>> = Arc::default();
    let told = gaps.clone();
    opts.on_gap = Some(Arc::new(move |gap| told.lock().unwrap().push(gap)));
    let recorder = Arc::new(Recorder::with_options(dir, opts).unwrap());
    *slot.lock().unwrap() = Some(recorder.clone());
    let ticks = (seconds * 25.0) as u32;
    for tick in 0..=ticks + 5 {
        let pts = Duration::from_millis(40) * tick;
        if tick as f64 >= video_from * 25.0 {
            encoder
                .push(record_common::test_frame(w, h, tick), pts)
                .unwrap();
        }
        recorder.push_audio(&record_common::test_tone(tick), pts);
        if tick == ticks {
            recorder.stop_at(Duration::from_secs_f64(seconds));
        }
        std::thread::sleep(Duration::from_millis(8));
    }
    assert!(recorder.wait_until_written(Duration::from_secs(5)));
    slot.lock().unwrap().take();
    drop(encoder);
    let finished = recorder.finish(Duration::from_secs(10)).unwrap();
    let gaps = gaps.lock().unwrap().clone();
    (finished.manifest, key, gaps)
}

/// A first keyframe that comes late (3 s into a 5 s recording): video opens in the first
/// segment, which is complete, holds both tracks, and verifies. The keyframe's picture stands
/// from the segment's start (a fragmented MP4 plays each track from its first sample, so video
/// starting later would slide against the sound), and nothing is said to the hearing.
#[test]
fn a_late_first_keyframe_still_makes_a_complete_segment_that_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    let (manifest, key, gaps) = record_late_video(&rec, 5.0, 3.0);
    assert!(gaps.is_empty(), "{gaps:?}");
    assert_eq!(manifest.segments.len(), 1, "{manifest:?}");
    let seg = &manifest.segments[0];
    assert!(seg.complete, "{seg:?}");
    assert_eq!(seg.tracks, vec!["video".to_owned(), "audio".to_owned()]);
    let info = mp4::parse(&std::fs::read(rec.join(&seg.file)).unwrap()).unwrap();
    let (video, audio) = (
        info.track("video").unwrap().duration_ms(),
        info.track("audio").unwrap().duration_ms(),
    );
    assert!(
        video.abs_diff(audio) <= 100,
        "the first picture stands from the start: {video} ms of video, {audio} ms of audio"
    );
    let report = verify_dir(&rec, Some(&key.public()));
    assert!(report.ok(), "{}", report.render());
}

/// A segment the recorder could write no video into is never sealed as complete: its entry
/// says which tracks it holds, and `verify` fails a manifest that lists such a segment (or any
/// segment whose sample description is empty) as complete with video.
#[test]
fn a_segment_without_video_is_never_complete_and_verify_checks_the_tracks() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    let (manifest, key, gaps) = record_late_video(&rec, 2.0, 1000.0);
    assert_eq!(
        gaps,
        vec![SegmentGap {
            index: 0,
            missing: vec!["video"]
        }],
        "the hearing is told"
    );
    assert_eq!(manifest.segments.len(), 1);
    let seg = &manifest.segments[0];
    assert!(!seg.complete, "no video: not complete: {seg:?}");
    assert_eq!(seg.tracks, vec!["audio".to_owned()]);
    // What the muxer wrote: a video track that cannot be decoded, and audio.
    let info = mp4::parse(&std::fs::read(rec.join(&seg.file)).unwrap()).unwrap();
    assert!(
        !info.track("video").is_some_and(|t| t.holds_media()),
        "{info:?}"
    );
    assert!(info.track("audio").unwrap().holds_media(), "{info:?}");
    let report = verify_dir(&rec, Some(&key.public()));
    assert!(
        report.ok(),
        "said honestly, it verifies: {}",
        report.render()
    );
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.severity == Severity::Warning && f.message.contains("no video")),
        "{}",
        report.render()
    );

    // The same segment, signed as complete: video and audio (issue 16's silent bad segment).
    resign(&rec, &key, |m| {
        m.segments[0].complete = true;
        m.segments[0].tracks = vec!["video".into(), "audio".into()];
    });
    let report = verify_dir(&rec, Some(&key.public()));
    assert!(!report.ok(), "{}", report.render());
    assert!(
        report.findings.iter().any(|f| f.severity == Severity::Error
            && f.message.contains("segment 0 (composite-00000.mp4)")
            && f.message.contains("video")),
        "{}",
        report.render()
    );
    // ...or as complete with audio only: a complete segment holds both.
    resign(&rec, &key, |m| {
        m.segments[0].complete = true;
        m.segments[0].tracks = vec!["audio".into()];
    });
    let report = verify_dir(&rec, Some(&key.public()));
    assert!(!report.ok(), "{}", report.render());
    // ...or as an old manifest (no tracks), complete.
    resign(&rec, &key, |m| {
        m.segments[0].complete = true;
        m.segments[0].tracks = vec![];
    });
    assert!(!verify_dir(&rec, Some(&key.public())).ok());
}

/// Each segment must parse as MP4 and last as long as its entry says, within one fragment;
/// a manifest signed by the court that says otherwise fails.
#[test]
fn verify_reads_each_segment_as_mp4_and_checks_its_duration() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    let (finished, key) = record_for(&rec, Duration::from_secs(2), 5.0);
    let public = key.public();
    assert!(finished.manifest.segments.len() >= 2);
    for e in &finished.manifest.segments {
        assert!(e.complete);
        assert_eq!(e.tracks, vec!["video".to_owned(), "audio".to_owned()]);
    }
    let report = verify_dir(&rec, Some(&public));
    assert!(report.ok(), "{}", report.render());
    assert!(
        !report.findings.iter().any(|f| f.message.contains("lasts")),
        "{}",
        report.render()
    );
    let pristine = std::fs::read(rec.join(MANIFEST_FILE)).unwrap();

    // The last segment said to last 2.5 s longer than it does.
    let last = finished.manifest.segments.len() - 1;
    resign(&rec, &key, |m| m.segments[last].media_end_ms += 2500);
    let report = verify_dir(&rec, Some(&public));
    assert!(!report.ok(), "{}", report.render());
    assert!(
        report.findings.iter().any(|f| f.severity == Severity::Error
            && f.message.contains(&format!("segment {last}"))
            && f.message.contains("lasts")),
        "{}",
        report.render()
    );
    std::fs::write(rec.join(MANIFEST_FILE), &pristine).unwrap();
    Manifest::read(&rec)
        .unwrap()
        .write_signed(&rec, Some(&key))
        .unwrap();
    assert!(verify_dir(&rec, Some(&public)).ok());

    // A segment replaced by bytes that are not MP4, hashed and signed as if they were.
    let seg1 = rec.join("composite-00001.mp4");
    std::fs::write(&seg1, b"not an mp4, though its hash is in the chain").unwrap();
    let (size, sha) = courtroom::digest::sha256_file(&seg1).unwrap();
    resign(&rec, &key, |m| {
        m.segments[1].size = size;
        m.segments[1].sha256 = sha;
    });
    let report = verify_dir(&rec, Some(&public));
    assert!(!report.ok(), "{}", report.render());
    assert!(
        report.findings.iter().any(|f| f.severity == Severity::Error
            && f.message.contains("segment 1 (composite-00001.mp4)")
            && f.message.contains("not a readable MP4")),
        "{}",
        report.render()
    );
}

/// `courtroom verify` with its arguments, from folder `cwd`, without the data folder variable.
fn verify_in(cwd: &Path, args: &[&std::ffi::OsStr]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_courtroom"))
        .arg("verify")
        .args(args)
        .current_dir(cwd)
        .env_remove("COURTROOM_DATA_DIR")
        .output()
        .expect("courtroom verify runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Out of the box: beside the server's data folder, `courtroom verify DIR` finds the court's
/// key with no flag and says where from; `--data` and `--trusted-keys` name other places; a
/// recording whose key is none of those fails and says what to pass; an old manifest without
/// `key_id` still verifies with a key given on purpose.
#[test]
fn verify_finds_the_courts_key_and_says_which_and_where() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("data/recordings/h/rec");
    let (_, key) = record_for(&rec, Duration::from_secs(2), 2.5);
    let id = key.public().key_id();
    let data = tmp.path().join("data");
    std::fs::write(data.join(KEY_FILE), key.seed()).unwrap();
    let os = |p: &Path| p.as_os_str().to_owned();

    // No flags, beside the data folder (the server's working folder).
    let (code, out) = verify_in(tmp.path(), &[&os(&rec)]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("key {id} from the data folder's signing key")),
        "{out}"
    );
    assert!(out.contains("OK "), "{out}");
    // --data from anywhere.
    let elsewhere = tempfile::tempdir().unwrap();
    let (code, out) = verify_in(
        elsewhere.path(),
        &["--data".as_ref(), &os(&data), &os(&rec)],
    );
    assert_eq!(code, 0, "{out}");

    // Unknown key: FAIL, naming the key id and what to pass.
    let (code, out) = verify_in(elsewhere.path(), &[&os(&rec)]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL")
            && out.contains(&format!("signed by key {id}, which is unknown here"))
            && out.contains("--public-key FILE")
            && out.contains("--trusted-keys FILE"),
        "{out}"
    );

    // A trusted-keys file: comments, another court's key, and this court's.
    let trusted = elsewhere.path().join("trusted.pem");
    std::fs::write(
        &trusted,
        format!(
            "# Another court\n{}# This court, since 2026\n{}",
            RecordingKey::generate().public().to_pem(),
            key.public().to_pem()
        ),
    )
    .unwrap();
    let (code, out) = verify_in(
        elsewhere.path(),
        &["--trusted-keys".as_ref(), &os(&trusted), &os(&rec)],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("key {id} from the trusted-keys file")),
        "{out}"
    );

    // An old manifest, without key_id: needs a key given on purpose.
    let bytes = std::fs::read(rec.join(MANIFEST_FILE)).unwrap();
    let mut value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    value.as_object_mut().unwrap().remove("key_id");
    let old = serde_json::to_vec_pretty(&value).unwrap();
    std::fs::write(rec.join(MANIFEST_FILE), &old).unwrap();
    std::fs::write(rec.join(SIGNATURE_FILE), key.sign(&old)).unwrap();
    let (code, out) = verify_in(tmp.path(), &[&os(&rec)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("names no key"), "{out}");
    let pem = elsewhere.path().join("court.pem");
    std::fs::write(&pem, key.public().to_pem()).unwrap();
    let (code, out) = verify_in(
        elsewhere.path(),
        &["--public-key".as_ref(), &os(&pem), &os(&rec)],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("key {id} from --public-key")),
        "{out}"
    );
}
