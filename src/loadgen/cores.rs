//! Where a benchmark's server and its synthetic clients run: on a machine with four cores or
//! more, the server gets all but the last quarter of them and the clients (this process) the
//! rest, so clients do not take the server's cores and understate what a node holds; on fewer
//! cores they share. And how much CPU a process used, from `/proc`.

use std::os::unix::process::CommandExt;
use std::process::Command;

/// Which cores the server and the clients run on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CorePlan {
    /// The server's cores.
    pub server: Vec<usize>,
    /// The clients' cores (this process).
    pub clients: Vec<usize>,
}

impl CorePlan {
    /// The split for a machine of `cores` cores: `None` under four (nothing to spare).
    pub fn for_machine(cores: usize) -> Option<Self> {
        if cores < 4 {
            return None;
        }
        let clients = (cores / 4).max(1);
        Some(Self {
            server: (0..cores - clients).collect(),
            clients: (cores - clients..cores).collect(),
        })
    }

    /// The split for this machine.
    pub fn for_this_machine() -> Option<Self> {
        Self::for_machine(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// Makes `command`'s process run on the server's cores.
    pub fn pin_server(&self, command: &mut Command) {
        let cores = self.server.clone();
        // SAFETY: between fork and exec only `sched_setaffinity` runs, which is
        // async-signal-safe and allocates nothing (the mask is built before the fork).
        let set = cpu_set(&cores);
        unsafe {
            command.pre_exec(move || {
                if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }

    /// Makes every thread of this process, and those it starts later, run on the clients'
    /// cores.
    pub fn pin_clients(&self) -> std::io::Result<()> {
        let set = cpu_set(&self.clients);
        for task in std::fs::read_dir("/proc/self/task")? {
            let Some(tid) = task?
                .file_name()
                .to_str()
                .and_then(|t| t.parse::<i32>().ok())
            else {
                continue;
            };
            // SAFETY: sets one of this process's threads' affinity from a valid mask.
            if unsafe { libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set) }
                != 0
            {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

fn cpu_set(cores: &[usize]) -> libc::cpu_set_t {
    // SAFETY: an all-zero cpu_set_t is the empty set; CPU_SET writes within it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &c in cores {
        unsafe { libc::CPU_SET(c, &mut set) };
    }
    set
}

/// User plus system CPU seconds of process `pid` so far, from `/proc/PID/stat`.
pub fn cpu_seconds(pid: u32) -> std::io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; Linux
    // counts them in USER_HZ, which is 100 on every mainstream architecture.
    Ok((ticks(11) + ticks(12)) / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_machines_share_and_larger_ones_give_the_clients_a_quarter() {
        assert_eq!(CorePlan::for_machine(2), None);
        assert_eq!(
            CorePlan::for_machine(4),
            Some(CorePlan {
                server: vec![0, 1, 2],
                clients: vec![3]
            })
        );
        let sixteen = CorePlan::for_machine(16).unwrap();
        assert_eq!(sixteen.server, (0..12).collect::<Vec<_>>());
        assert_eq!(sixteen.clients, vec![12, 13, 14, 15]);
    }

    #[test]
    fn a_pinned_server_runs_only_on_its_cores() {
        let plan = CorePlan {
            server: vec![0],
            clients: vec![],
        };
        let mut command = Command::new("sh");
        command.args(["-c", "grep Cpus_allowed_list /proc/self/status"]);
        plan.pin_server(&mut command);
        let out = command.output().expect("sh runs");
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text.split_whitespace().last(), Some("0"), "{text}");
    }

    #[test]
    fn this_process_uses_cpu_time_that_grows() {
        let me = std::process::id();
        let before = cpu_seconds(me).unwrap();
        let spin = std::time::Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < std::time::Duration::from_millis(300) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(cpu_seconds(me).unwrap() > before, "{x}");
    }
}
