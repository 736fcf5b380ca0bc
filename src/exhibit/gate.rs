//! How many PDF renderers run at once on a node.
//!
//! Each poppler child may map 1 GiB and run 20 s ([`super::poppler`]'s limits), so twenty
//! uploads at once could ask for 20 GiB and every core while hearings are drawing. The gate
//! lets [`MOST_AT_ONCE`] run and makes the others wait their turn, up to [`LONGEST_WAIT`];
//! past that the upload or page turn is refused as busy (the clerk is told to try again),
//! rather than queued without bound.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// PDF renderers running at once, node-wide.
pub const MOST_AT_ONCE: usize = 2;
/// How long a render waits for its turn before it is refused as busy.
pub const LONGEST_WAIT: Duration = Duration::from_secs(30);

/// A counted gate: at most `most` holders of a [`Turn`] at once.
#[derive(Debug)]
pub struct RendererGate {
    running: Mutex<usize>,
    freed: Condvar,
    most: usize,
}

/// One renderer's turn; dropping it lets the next one in.
#[derive(Debug)]
pub struct Turn<'a> {
    gate: &'a RendererGate,
}

/// The node's gate for poppler's children.
pub static POPPLER: RendererGate = RendererGate::new(MOST_AT_ONCE);

impl RendererGate {
    /// A gate that lets `most` (at least one) in at once.
    pub const fn new(most: usize) -> Self {
        Self {
            running: Mutex::new(0),
            freed: Condvar::new(),
            most: if most == 0 { 1 } else { most },
        }
    }

    /// Waits up to `wait` for a turn; `None` when none came free in that time.
    pub fn enter(&self, wait: Duration) -> Option<Turn<'_>> {
        let deadline = Instant::now() + wait;
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        while *running >= self.most {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            running = self
                .freed
                .wait_timeout(running, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *running += 1;
        Some(Turn { gate: self })
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut running = self.gate.running.lock().unwrap_or_else(|e| e.into_inner());
        *running -= 1;
        drop(running);
        self.gate.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_so_many_run_at_once_and_a_late_one_is_refused() {
        let gate = RendererGate::new(2);
        let a = gate.enter(Duration::ZERO).expect("first");
        let _b = gate.enter(Duration::ZERO).expect("second");
        let started = Instant::now();
        assert!(gate.enter(Duration::from_millis(50)).is_none());
        assert!(
            started.elapsed() >= Duration::from_millis(50),
            "it waited its time"
        );
        drop(a);
        assert!(
            gate.enter(Duration::ZERO).is_some(),
            "a turn given back is free"
        );
    }

    #[test]
    fn a_waiting_render_gets_the_turn_given_back() {
        let gate = std::sync::Arc::new(RendererGate::new(1));
        let held = gate.enter(Duration::ZERO).expect("first");
        let waiter = {
            let gate = gate.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                let turn = gate.enter(Duration::from_secs(10));
                (turn.is_some(), started.elapsed())
            })
        };
        std::thread::sleep(Duration::from_millis(100));
        drop(held);
        let (got, waited) = waiter.join().unwrap();
        assert!(got, "the waiter got the turn");
        assert!(
            waited >= Duration::from_millis(90) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
    }
}
