//! The server binary (`courtroom demo` / `serve` as a child process) with real headless
//! Chromium participants. One test binary with a module per scenario; the tests take turns
//! ([`support::one_at_a_time`]) even under a plain `cargo test`:
//!
//! - `e2e_hearing`: three participants see the composite, SIGTERM finalises the recording,
//!   each one is keyed into their seat;
//! - `av_sync`: each participant's audio stays in sync with their video in the recording;
//! - `lossy_link`: a participant behind a lossy, delaying link (the tests' UDP relay) keeps the
//!   hearing, and the others do not notice;
//! - `slow_vp8`: a participant decoding only VP8 on a slow link gets the reduced rendition
//!   in VP8;
//! - `portal`: the clerk portal driven over the DevTools protocol, from login to download.
//!
//! Needs /usr/bin/chromium, ffmpeg/ffprobe and the GStreamer plugins (`scripts/install-deps.sh`).

#[path = "../support/mod.rs"]
mod support;

mod av_sync;
mod e2e_hearing;
mod lossy_link;
mod portal;
mod slow_vp8;
