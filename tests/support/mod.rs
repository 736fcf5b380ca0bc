//! The one harness of the integration tests (zero2prod style): every test binary includes it
//! with `#[path = "../support/mod.rs"] mod support;` (or `mod support;` from `tests/`).
//!
//! - [`app`]: [`TestApp`], the server in this process on a free port with a fresh data folder
//!   and SQLite (or PostgreSQL), a clerk account, and one method per endpoint the tests use;
//!   [`Who`] says who asks (a stranger, a portal session, an invitation).
//! - [`endpoints`]: one [`TestApp`] method per endpoint the tests call.
//! - [`signalling`]: a participant's WebSocket to the signalling endpoint.
//! - [`process`]: the `courtroom` binary as a child process ([`ServerProcess`]), free ports.
//! - [`chromium`]: headless Chromium participants with fake cameras and microphones.
//! - [`cdp`]: a minimal DevTools protocol client, for tests that drive Chromium's pages.
//! - [`relay`]: a lossy, delaying UDP relay between a browser and the server.
//! - [`http`]: a tiny blocking HTTP GET for talking to a [`ServerProcess`].
//! - [`fixtures`]: synthetic camera (Y4M) and microphone (WAV) files, PPM pictures.
//! - [`probe`]: ffprobe and ffmpeg, to read recordings back.
//! - [`avsync`]: flash and beep onsets in a recording, their offsets against BT.1359.
//!
//! Not every binary uses every helper, hence `dead_code` is allowed here.

#![allow(dead_code)]

pub mod app;
pub mod avsync;
pub mod cdp;
pub mod chromium;
pub mod endpoints;
pub mod fixtures;
pub mod http;
pub mod load;
pub mod probe;
pub mod process;
pub mod relay;
pub mod signalling;

// Re-exports for the tests' convenience; not every binary uses each.
#[allow(unused_imports)]
pub use app::{Invitation, Reply, TestApp, Who, PASSWORD};
#[allow(unused_imports)]
pub use chromium::Chromium;
#[allow(unused_imports)]
pub use fixtures::*;
#[allow(unused_imports)]
pub use http::{http_get, try_http_get};
#[allow(unused_imports)]
pub use probe::*;
#[allow(unused_imports)]
pub use process::{free_port, log_tail, ServerProcess};
#[allow(unused_imports)]
pub use signalling::Signalling;

/// Held by the tests that run browsers, media pipelines against the wall clock, or a server
/// process: they take turns even when the test threads of one binary run in parallel
/// (`make test` runs one at a time anyway; a plain `cargo test` does not).
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
