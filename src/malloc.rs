//! The C allocator's settings for a long-running server.
//!
//! glibc's `malloc` gives threads their own arenas, up to eight per core, and keeps what they
//! freed for reuse. A hearing starts and stops short-lived GStreamer threads with every
//! participant who comes and goes, so over a day of rejoins each arena fills with memory it
//! keeps: the process's resident memory climbs for the first few dozen sessions and only then
//! levels off, higher the more cores the machine has (docs/RELIABILITY.md has the curves).
//! [`limit_arenas`] caps the arenas at [`ARENAS`], which keeps that plateau low and reached
//! early, at no measurable cost to the media threads (they allocate little per packet).

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
