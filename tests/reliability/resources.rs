//! What a process holds, from `/proc`: threads, open file descriptors, resident memory.

use std::path::PathBuf;

/// One reading of a process's resources.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// Threads (`/proc/PID/task`).
    pub threads: usize,
    /// Open file descriptors (`/proc/PID/fd`).
    pub fds: usize,
    /// Resident set size, MiB (`VmRSS`).
    pub rss_mb: f64,
    /// Memory the C allocator has handed out and not had back, MiB (glibc's `mallinfo2`; this
    /// process only, 0 for another): what RSS would be without the pages it keeps free.
    pub heap_mb: f64,
}

/// A curve of readings as CSV (`KEY,threads,fds,rss_mb,heap_mb`, one row per reading, then `end`),
/// also written to the file named by the environment variable `env` if set.
pub fn curve_csv(
    key: &str,
    rows: impl IntoIterator<Item = (String, Usage)>,
    end: &Usage,
    env: &str,
) -> String {
    let csv: String = std::iter::once(format!("{key},threads,fds,rss_mb,heap_mb\n"))
        .chain(
            rows.into_iter()
                .chain(std::iter::once(("end".to_owned(), *end)))
                .map(|(k, u)| {
                    format!(
                        "{k},{},{},{:.1},{:.1}\n",
                        u.threads, u.fds, u.rss_mb, u.heap_mb
                    )
                }),
        )
        .collect();
    if let Ok(path) = std::env::var(env) {
        std::fs::write(path, &csv).unwrap();
    }
    csv
}

/// Reads `pid`'s resources (`None`: this process).
pub fn usage(pid: Option<u32>) -> Usage {
    let base = match pid {
        Some(p) => PathBuf::from(format!("/proc/{p}")),
        None => PathBuf::from("/proc/self"),
    };
    let count = |dir: &str| {
        std::fs::read_dir(base.join(dir))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let rss_kb = std::fs::read_to_string(base.join("status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        })
        .unwrap_or(0.0);
    Usage {
        threads: count("task"),
        fds: count("fd"),
        rss_mb: rss_kb / 1024.0,
        heap_mb: if pid.is_none() { heap_in_use_mb() } else { 0.0 },
    }
}

/// The C allocator's memory in use by this process, MiB (0 off glibc).
fn heap_in_use_mb() -> f64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallinfo2` only reads the allocator's counters.
        let info = unsafe { libc::mallinfo2() };
        (info.uordblks + info.hblkhd) as f64 / (1024.0 * 1024.0)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        0.0
    }
}
