//! The C allocator's settings for a long-running server.
//!
//! glibc's `malloc` gives threads their own arenas, up to eight per core, and keeps what they
//! freed for reuse. A hearing starts and stops short-lived GStreamer threads with every
//! participant who comes and goes, so over a day of rejoins each arena fills with memory it
//! keeps: the process's resident memory climbs for the first few dozen sessions and only then
//! levels off, higher the more cores the machine has (docs/RELIABILITY.md has the curves).
//! [`limit_arenas`] caps the arenas at [`ARENAS`], which keeps that plateau low and reached
//! early, at no measurable cost to the media threads (they allocate little per packet).
//! [`give_back_soon`] returns what was freed to the system after a participant leaves.

/// Arenas the server allows when `MALLOC_ARENA_MAX` is not set.
pub const ARENAS: i32 = 4;

/// Caps glibc's malloc arenas at [`ARENAS`], unless the operator set `MALLOC_ARENA_MAX`
/// (which glibc then honours by itself). Call it first thing in `main`, before threads start;
/// a no-op on other C libraries.
pub fn limit_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes allocator parameters; M_ARENA_MAX with a positive value
    // is valid at any time (arenas already made are kept).
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
    }
}

/// How long the allocator must have been asked nothing more before it gives memory back: a
/// leaving participant's pipelines and connection close over a few hundred milliseconds.
const QUIET: std::time::Duration = std::time::Duration::from_millis(500);

/// Gives memory that was freed back to the system once things have been quiet for a moment
/// (half a second after the last call; calls in between are folded into one). Call it when
/// something big was torn down, such as a participant who left: glibc keeps freed memory in
/// its arenas, and with people coming and going all day the process's resident memory would
/// climb by a few megabytes a visit (docs/RELIABILITY.md, churn). The work is done on a thread
/// of its own and takes a few milliseconds; a no-op on other C libraries.
pub fn give_back_soon() {
    use std::sync::mpsc::{channel, Sender};
    use std::sync::OnceLock;
    static TRIMMER: OnceLock<Option<Sender<()>>> = OnceLock::new();
    let trimmer = TRIMMER.get_or_init(|| {
        let (tx, rx) = channel::<()>();
        std::thread::Builder::new()
            .name("malloc-trim".into())
            .spawn(move || {
                // Each wake-up waits for a quiet spell, then trims once.
                while rx.recv().is_ok() {
                    while rx.recv_timeout(QUIET).is_ok() {}
                    give_back();
                }
            })
            .map_err(|e| tracing::warn!("no thread to give freed memory back: {e}"))
            .ok()
            .map(|_| tx)
    });
    if let Some(tx) = trimmer {
        let _ = tx.send(());
    }
}

/// Gives memory that was freed back to the system now (glibc's `malloc_trim`).
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let started = std::time::Instant::now();
        // SAFETY: `malloc_trim` only returns free pages to the kernel; it is thread-safe.
        let released = unsafe { libc::malloc_trim(0) } != 0;
        tracing::debug!(
            released,
            took_us = started.elapsed().as_micros() as u64,
            "freed memory given back"
        );
    }
}
