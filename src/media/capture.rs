//! When each decoded camera frame and microphone sample was captured, on one clock per
//! participant: the sender's RTCP sender reports map each track's RTP timestamps to the
//! sender's wall clock (NTP), which is the same for its camera and its microphone. The
//! compositor then shows, for each seat, the frame captured when the audio it mixes was
//! captured (`hearing::ticker`), so the recording is in sync however late either track arrives.
//!
//! Sans-I/O: times come in as arguments, so the rules are tested on made-up times. Until both
//! of a participant's tracks have had a sender report, capture is estimated as the moment the
//! media was decoded, which keeps the two tracks on one clock (the local one) meanwhile.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::events::TrackKind;

/// RTP clock rate of video (RFC 3551, every video payload WebRTC uses).
pub const VIDEO_CLOCK_RATE: u32 = 90_000;
/// RTP clock rate of Opus (RFC 7587).
pub const AUDIO_CLOCK_RATE: u32 = 48_000;

/// A capture time this far from the moment of decoding means the sender's clock jumped (or a
/// report was for another stream): the mapping starts again from the next sample.
const MAX_SKEW: Duration = Duration::from_secs(2);

/// One RTCP sender report: the sender's wall clock and the RTP timestamp of the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderReport {
    /// NTP time, 32.32 fixed point seconds.
    pub ntp: u64,
    /// The RTP timestamp of that instant.
    pub rtp: u32,
}

impl SenderReport {
    /// Seconds on the sender's wall clock of RTP timestamp `rtp`, at `clock_rate` Hz. RTP
    /// timestamps wrap; a timestamp within half the range either side of the report's is
    /// taken as the nearest one.
    pub fn wall_clock_of(&self, rtp: u32, clock_rate: u32) -> f64 {
        let ntp_seconds =
            (self.ntp >> 32) as f64 + (self.ntp & 0xffff_ffff) as f64 / 4_294_967_296.0;
        let ticks = rtp.wrapping_sub(self.rtp) as i32;
        ntp_seconds + ticks as f64 / clock_rate as f64
    }
}

/// One participant's capture clock, shared by the decoders of their camera and microphone.
#[derive(Debug, Default)]
pub struct CaptureClock {
    state: Mutex<ClockState>,
}

#[derive(Debug, Default)]
struct ClockState {
    camera: Option<SenderReport>,
    microphone: Option<SenderReport>,
    /// A local instant and the sender's wall clock (seconds) at that instant: where the
    /// sender's clock is placed on ours. Set from the first mapped sample.
    anchor: Option<(Instant, f64)>,
}

impl ClockState {
    fn report(&mut self, track: TrackKind) -> &mut Option<SenderReport> {
        match track {
            // A screen's clock is one of its own: it stands where a camera's would.
            TrackKind::Camera | TrackKind::Screen => &mut self.camera,
            TrackKind::Microphone => &mut self.microphone,
        }
    }
}

impl CaptureClock {
    /// Forgets `track`'s reports: a new stream starts (another connection, a new sender).
    pub fn restart(&self, track: TrackKind) {
        let mut s = self.state.lock().expect("capture clock poisoned");
        *s.report(track) = None;
        s.anchor = None;
    }

    /// Notes a sender report for `track`. Returns whether it was the one that put both
    /// tracks on the sender's clock.
    pub fn sender_report(&self, track: TrackKind, report: SenderReport) -> bool {
        let mut s = self.state.lock().expect("capture clock poisoned");
        let was_mapped = s.camera.is_some() && s.microphone.is_some();
        *s.report(track) = Some(report);
        !was_mapped && s.camera.is_some() && s.microphone.is_some()
    }

    /// Whether both tracks have had a sender report (capture times are the sender's).
    pub fn is_mapped(&self) -> bool {
        let s = self.state.lock().expect("capture clock poisoned");
        s.camera.is_some() && s.microphone.is_some()
    }

    /// When media of `track` with RTP timestamp `rtp`, decoded at `decoded`, was captured, on
    /// this participant's clock. Without a report for each track (or an RTP timestamp), it is
    /// `decoded` itself.
    pub fn capture_time(&self, track: TrackKind, rtp: Option<u32>, decoded: Instant) -> Instant {
        let mut s = self.state.lock().expect("capture clock poisoned");
        let (Some(camera), Some(microphone), Some(rtp)) = (s.camera, s.microphone, rtp) else {
            return decoded;
        };
        let (report, rate) = match track {
            TrackKind::Camera | TrackKind::Screen => (camera, VIDEO_CLOCK_RATE),
            TrackKind::Microphone => (microphone, AUDIO_CLOCK_RATE),
        };
        let wall = report.wall_clock_of(rtp, rate);
        let (at, anchor_wall) = *s.anchor.get_or_insert((decoded, wall));
        let offset = wall - anchor_wall;
        let captured = if offset >= 0.0 {
            at.checked_add(Duration::from_secs_f64(offset))
        } else {
            at.checked_sub(Duration::from_secs_f64(-offset))
        };
        match captured {
            Some(c) if c.max(decoded) - c.min(decoded) <= MAX_SKEW => c,
            _ => {
                s.anchor = Some((decoded, wall));
                decoded
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ntp(seconds: f64) -> u64 {
        ((seconds.trunc() as u64) << 32) | ((seconds.fract() * 4_294_967_296.0) as u64)
    }

    /// A report saying RTP timestamp `rtp` was at `seconds` on the sender's clock.
    fn report(seconds: f64, rtp: u32) -> SenderReport {
        SenderReport {
            ntp: ntp(seconds),
            rtp,
        }
    }

    fn ms(d: i64) -> Duration {
        Duration::from_millis(d.unsigned_abs())
    }

    #[test]
    fn wall_clock_follows_rtp_either_side_of_the_report_and_across_the_wrap() {
        let r = SenderReport {
            ntp: ntp(1000.5),
            rtp: u32::MAX - 8_999,
        };
        assert!((r.wall_clock_of(u32::MAX - 8_999, 90_000) - 1000.5).abs() < 1e-6);
        // 0.2 s later, past the wrap.
        assert!((r.wall_clock_of(9_000, 90_000) - 1000.7).abs() < 1e-6);
        // 0.1 s earlier.
        assert!((r.wall_clock_of(u32::MAX - 17_999, 90_000) - 1000.4).abs() < 1e-6);
    }

    #[test]
    fn until_both_tracks_report_capture_is_the_moment_of_decoding() {
        let clock = CaptureClock::default();
        let t0 = Instant::now();
        assert_eq!(clock.capture_time(TrackKind::Camera, Some(1), t0), t0);
        clock.sender_report(TrackKind::Camera, report(50.0, 0));
        assert!(!clock.is_mapped());
        assert_eq!(clock.capture_time(TrackKind::Camera, Some(1), t0), t0);
    }

    /// The sender captures a frame and a sound at the same instant. The sound reaches the mix
    /// 120 ms after the frame; the clock still gives both the same capture time.
    #[test]
    fn the_same_instant_on_both_tracks_is_one_capture_time_however_late_each_arrives() {
        let clock = CaptureClock::default();
        // Different random RTP offsets per track, one wall clock.
        assert!(!clock.sender_report(TrackKind::Camera, report(700.0, 1_000_000)));
        assert!(
            clock.sender_report(TrackKind::Microphone, report(700.0, 5_000)),
            "the second track's first report maps both"
        );
        let t0 = Instant::now();
        // Both captured at 701.0 on the sender's clock.
        let video = clock.capture_time(TrackKind::Camera, Some(1_000_000 + 90_000), t0 + ms(60));
        let audio = clock.capture_time(TrackKind::Microphone, Some(5_000 + 48_000), t0 + ms(180));
        assert_eq!(video, audio);
        // A frame captured 40 ms later, decoded whenever, is 40 ms later.
        let next = clock.capture_time(TrackKind::Camera, Some(1_000_000 + 93_600), t0 + ms(300));
        assert_eq!(next - video, ms(40));
        // And audio captured 20 ms before the first frame is 20 ms before it.
        let earlier = clock.capture_time(TrackKind::Microphone, Some(5_000 + 47_040), t0);
        assert_eq!(video - earlier, ms(20));
    }

    #[test]
    fn a_jump_of_the_senders_clock_starts_the_mapping_again() {
        let clock = CaptureClock::default();
        for track in [TrackKind::Camera, TrackKind::Microphone] {
            clock.sender_report(track, report(10.0, 0));
        }
        let t0 = Instant::now();
        assert_eq!(clock.capture_time(TrackKind::Camera, Some(0), t0), t0);
        // The camera's next report says its clock moved an hour.
        clock.sender_report(TrackKind::Camera, report(3610.0, 0));
        let t1 = t0 + ms(40);
        assert_eq!(clock.capture_time(TrackKind::Camera, Some(3_600), t1), t1);
        // A new stream forgets its reports.
        clock.restart(TrackKind::Microphone);
        assert!(!clock.is_mapped());
    }
}
