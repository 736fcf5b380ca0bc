//! A full disk: the recordings folder is a 2 MiB tmpfs, nearly filled while a hearing records.
//! The recording stops cleanly (sealed as `failed`, saying why), everyone is told
//! (`HearingEvent::Recording(false)`), the hearing keeps ticking, and what was written still
//! verifies. Needs root for `mount`; without it the test says so and checks nothing.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use courtroom::config::Settings;
use courtroom::hearing::{Hearing, HearingEvent};
use courtroom::record::verify::verify_dir;
use courtroom::record::RecordingState;
use courtroom::record::{Manifest, RecordingKey};
use courtroom::render::{AdapterChoice, Gpu};
use courtroom::store::HearingRecord;

struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn available_bytes(dir: &Path) -> u64 {
    let out = Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn full_disk_stops_the_recording_cleanly_and_the_hearing_goes_on() {
    let uid = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        eprintln!("record_disk_full: needs root to mount a tmpfs; not run");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let recordings = tmp.path().join("recordings");
    std::fs::create_dir_all(&recordings).unwrap();
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&recordings)
        .status()
        .unwrap();
    assert!(status.success(), "mount tmpfs");
    let _mount = Mount(recordings.clone());

    courtroom::media::init().unwrap();
    let mut settings = Settings {
        data_dir: tmp.path().to_owned(),
        ..Settings::default()
    };
    settings.video.width = 640;
    settings.video.height = 360;
    settings.record.segment_seconds = 2;
    let settings = Arc::new(settings);
    let gpu = Gpu::open(AdapterChoice::Auto).expect("a render device (GPU or lavapipe)");
    let hearing = Hearing::start(
        HearingRecord {
            id: "full".into(),
            case_number: "(2026) Disk No. 1".into(),
            title: "Disk full".into(),
            locale: "en".into(),
            layout: settings.hearing.layout.clone(),
        },
        settings.clone(),
        gpu,
    )
    .unwrap();
    let mut events = hearing.subscribe_events();
    hearing.start_recording().unwrap();
    let rec = hearing.recording_dir().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(hearing.is_recording());
    // Leave about 40 KB free: a few seconds of the (quiet) composite.
    let free = available_bytes(&recordings);
    std::fs::write(
        recordings.join("filler"),
        vec![0u8; free.saturating_sub(40 * 1024) as usize],
    )
    .unwrap();

    let deadline = Instant::now() + Duration::from_secs(60);
    let mut told = false;
    while Instant::now() < deadline && !told {
        match events.try_recv() {
            Ok(HearingEvent::Recording(false)) => told = true,
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    assert!(told, "participants were told the recording stopped");
    // The seal runs on its own thread; wait for the final manifest.
    let deadline = Instant::now() + Duration::from_secs(20);
    let m = loop {
        let m = Manifest::read(&rec).unwrap();
        if m.ended_at.is_some() || Instant::now() > deadline {
            break m;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!hearing.is_recording());
    assert_eq!(m.state, RecordingState::Failed, "{m:#?}");
    let why = m.failure.clone().unwrap_or_default();
    assert!(
        why.to_lowercase().contains("space") || why.contains("write"),
        "reason: {why}"
    );
    assert!(m.ended_at.is_some());
    assert!(!m.segments.is_empty());

    // The hearing goes on.
    let ticks = hearing.tick_stats().ticks();
    std::thread::sleep(Duration::from_secs(1));
    assert!(hearing.tick_stats().ticks() > ticks + 10);

    // What was written verifies.
    let key = RecordingKey::load_or_create(tmp.path()).unwrap();
    let report = verify_dir(&rec, Some(&key.public()));
    assert!(report.ok(), "{}", report.render());
    eprintln!("failure: {why}\n{}", report.render());
    let _ = hearing.shutdown();
}
