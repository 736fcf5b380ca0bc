//! Which frames of a still picture go to the encoders.
//!
//! A hearing in which nothing changes (nobody seated, every camera stalled, a paused hearing)
//! composes the same frame every tick without drawing it (`Compositor::compose_i420`), but
//! encoding it 25 times a second still cost a tenth of a core (x264 on the same picture). A
//! still picture is encoded only every `video.still_frame_ms` (500 by default, twice a
//! second): often enough that a browser's no-picture watchdog never fires and a recording's
//! segment never ends far from its last frame (`courtroom verify` allows a second), and a
//! changed picture or a keyframe asked for (a new receiver, a PLI, a segment to start) is sent
//! at once. The RTP timestamps follow
//! the frames' presentation times across the gaps (`rtc::sample_clock`), and the recording's
//! samples last until the next one. Sans-I/O: it sees only presentation times.

use std::time::Duration;

/// Decides, tick by tick, whether the composed frame goes to the encoders.
#[derive(Debug)]
pub struct StillCadence {
    /// How often a still picture is sent; zero: every tick.
    every: Duration,
    /// Presentation time of the last frame sent.
    last_sent: Option<Duration>,
}

impl StillCadence {
    /// A cadence that sends a still picture every `every` (zero: every tick).
    pub fn new(every: Duration) -> Self {
        Self {
            every,
            last_sent: None,
        }
    }

    /// Whether the frame of the tick presented at `pts` goes to the encoders: always when it
    /// was `drawn` anew or a keyframe was asked for since the last frame sent
    /// (`keyframe_asked`), and otherwise once `every` has passed since then.
    pub fn sends(&mut self, pts: Duration, drawn: bool, keyframe_asked: bool) -> bool {
        let due = self
            .last_sent
            .is_none_or(|last| pts.saturating_sub(last) >= self.every);
        let send = drawn || keyframe_asked || due;
        if send {
            self.last_sent = Some(pts);
        }
        send
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: Duration = Duration::from_millis(40);

    /// The ticks (of `ticks`, 40 ms apart) whose frame is sent, given which were drawn and
    /// at which a keyframe was asked for.
    fn sent(ticks: u32, drawn: impl Fn(u32) -> bool, asked: impl Fn(u32) -> bool) -> Vec<u32> {
        sent_every(Duration::from_millis(500), ticks, drawn, asked)
    }

    fn sent_every(
        every: Duration,
        ticks: u32,
        drawn: impl Fn(u32) -> bool,
        asked: impl Fn(u32) -> bool,
    ) -> Vec<u32> {
        let mut cadence = StillCadence::new(every);
        (0..ticks)
            .filter(|&t| cadence.sends(TICK * t, drawn(t), asked(t)))
            .collect()
    }

    #[test]
    fn a_moving_picture_is_sent_every_tick() {
        assert_eq!(sent(5, |_| true, |_| false), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_still_picture_is_sent_twice_a_second_from_its_last_change() {
        // Drawn at ticks 0-2, then still: the first frame, the changes, then every 500 ms
        // (13 ticks of 40 ms: 520 ms) after the last one sent.
        assert_eq!(sent(60, |t| t < 3, |_| false), [0, 1, 2, 15, 28, 41, 54]);
    }

    #[test]
    fn a_keyframe_asked_for_is_sent_at_once_and_restarts_the_wait() {
        assert_eq!(sent(30, |t| t == 0, |t| t == 7), [0, 7, 20]);
    }

    #[test]
    fn zero_sends_a_still_picture_every_tick() {
        assert_eq!(
            sent_every(Duration::ZERO, 4, |_| false, |_| false),
            [0, 1, 2, 3]
        );
    }

    #[test]
    fn the_first_tick_is_always_sent() {
        assert_eq!(sent(1, |_| false, |_| false), [0]);
    }
}
