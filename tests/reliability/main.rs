//! Reliability over time and under stress, at the level of the process: many join/leave
//! cycles during one recording must give back every thread, file descriptor and megabyte they
//! took (`churn`); SIGTERM must seal every recording within 5 s whatever clients are still
//! connected (`stop`); a five-minute hearing keeps its sync, memory, clock and record
//! (`soak`); an overloaded node sheds pictures evenly across its hearings (`overload`); the
//! public broadcast keeps up with 50 players (`broadcast_load`).
//!
//! `make churn` runs the churn test longer (`CHURN_CYCLES`, default 30 here) and writes its
//! curve (`CHURN_CSV`); `make soak` runs the soak for an hour (`SOAK_SECONDS`).

#[path = "../support/mod.rs"]
mod support;

mod broadcast_load;
mod churn;
mod overload;
mod resources;
mod soak;
mod stop;

/// Asserts that the demo hearing's recording `manifest` verifies with the data folder's key;
/// returns its folder.
fn assert_recording_verifies(
    app: &support::TestApp,
    manifest: &courtroom::record::Manifest,
) -> std::path::PathBuf {
    let dir = app
        .state
        .settings()
        .recordings_dir()
        .join(app.demo_hearing_id())
        .join(&manifest.recording_id);
    let key = courtroom::record::RecordingKey::load_or_create(app.data_dir()).unwrap();
    let report = courtroom::record::verify::verify_dir(&dir, Some(&key.public()));
    assert!(report.ok(), "{}", report.render());
    dir
}
