//! How many repair packets the composite gets: [`FecPolicy`], sans-I/O (what the browser's
//! reports and NACKs say of its link, and when, in; repairs per picture out), tested on
//! made-up time.

use std::time::{Duration, Instant};

/// How long a report of loss keeps the composite protected. A browser's reports count a packet
/// resent or rebuilt in time as received, so once the repairs work the reports say little is
/// lost: the protection must not switch itself off by working, and a link that loses now and
/// then must not be left bare between its bad reports.
pub const PROTECTED_AFTER_LOSS: Duration = Duration::from_secs(20);

/// Under this share lost, resending alone keeps up: no repair packets.
pub const LOSS_WORTH_REPAIRING: f32 = 0.01;

/// From this share lost, said by both the browser's reports and its NACKs at once, the link is
/// full, not lossy.
pub const FULL_LINK_LOSS: f32 = 0.40;

/// A link whose browser estimates less than this share of the composite's media bitrate is
/// full.
pub const FULL_LINK_ESTIMATE: f32 = 0.40;

/// How long a full link goes without repairs after it last looked full.
pub const FULL_LINK_HOLD: Duration = Duration::from_secs(2);

/// How long after a reading that by itself says the link is full (both shares, the estimate,
/// or a move to the reduced rendition) one share alone can still keep it full. The shares are
/// means over 2 s, so the full spell shows in one of them for that long; past it, one share
/// that high is a lossy link (on the jittery 5 % link the NACKs alone said 0.25-0.50), and
/// its loss is repaired. (Without this bound, such a link moved down once was never repaired
/// again: the composite froze for 19.8 s of 30 on the lossy-link test's 450 ms round trip.)
pub const LONGEST_DRAIN: Duration = Duration::from_secs(2);

/// How much repair the composite gets, from what the browser's reports say of its link.
///
/// A link that is full, not lossy (a slow line whose queue overflows), loses most packets,
/// and repairs there would add to what it cannot carry. It looks full when the reception
/// reports and the share asked for again both say [`FULL_LINK_LOSS`] or more (on the
/// lossy-link test's 500 kbit/s link they said 0.83-0.97 and 0.65-0.95 together in three
/// readings of four, while on a link that loses 5 % with jitter the NACKs said 0.25-0.50 and
/// the reports much less), or when the browser's estimate (REMB) is under
/// [`FULL_LINK_ESTIMATE`] of the media's bitrate (the 500 kbit/s link: 0.24-0.26 once its
/// queue overflowed; the jittery 5 % link: 0.52-0.59), or while the receiver has just been
/// moved to the reduced rendition (its link's queue is still draining). Such
/// readings are not loss to repair, and they stop the repairs for [`FULL_LINK_HOLD`]; for
/// [`LONGEST_DRAIN`] after one, a reading where one share alone says that much does too.
///
/// The estimate is no finer guide: on the jittery 5 % link it fell to half the media's
/// bitrate, and keeping media and repairs within it left no repairs there (measured: 18.1 s
/// frozen of 30, as without repairs).
#[derive(Debug, Default, Clone)]
pub struct FecPolicy {
    /// The worst loss reported lately, and when it was last reported at least that bad.
    worst: Option<(f32, Instant)>,
    /// When the link last looked full.
    full_at: Option<Instant>,
    /// When a reading last said by itself that the link is full (not only one share of it,
    /// [`LONGEST_DRAIN`]).
    full_said_at: Option<Instant>,
}

/// What the browser says of the link, as [`FecPolicy::note`] reads it.
#[derive(Debug, Default, Clone, Copy)]
pub struct LinkReading {
    /// The share lost its reception reports give.
    pub reported: Option<f32>,
    /// The share of what was sent lately that it asked for again.
    pub asked_again: Option<f32>,
    /// Its bitrate estimate, kbit/s.
    pub estimate_kbps: Option<u32>,
    /// The composite's media bitrate lately, kbit/s.
    pub media_kbps: u32,
}

impl FecPolicy {
    /// Notes what the browser says `now`.
    pub fn note(&mut self, r: LinkReading, now: Instant) {
        let both_lose = r.reported.is_some_and(|l| l >= FULL_LINK_LOSS)
            && r.asked_again.is_some_and(|l| l >= FULL_LINK_LOSS);
        let estimate_short = r
            .estimate_kbps
            .is_some_and(|e| (e as f32) < FULL_LINK_ESTIMATE * r.media_kbps as f32);
        // Right after a full spell the readings still average it in (both shares are taken
        // over the last 2 s): one share still that high means the link is still full, and
        // the others are not loss to repair. Were they counted, a reading of the draining
        // queue would hold one repair per packet for [`PROTECTED_AFTER_LOSS`]. But only within
        // [`LONGEST_DRAIN`] of a reading that said so by itself: else a lossy link whose NACKs
        // say that much (reordering) would never be repaired after one full spell.
        let full_said_lately = self
            .full_said_at
            .is_some_and(|at| now.saturating_duration_since(at) < LONGEST_DRAIN);
        let one_loses = r.reported.is_some_and(|l| l >= FULL_LINK_LOSS)
            || r.asked_again.is_some_and(|l| l >= FULL_LINK_LOSS);
        if both_lose || estimate_short {
            self.full_said_at = Some(now);
        }
        if both_lose || estimate_short || (full_said_lately && one_loses) {
            self.full_at = Some(now);
            // What it lost before it filled up is not counted after it either.
            self.worst = None;
            return;
        }
        let full_lately = self
            .full_at
            .is_some_and(|at| now.saturating_duration_since(at) < FULL_LINK_HOLD);
        if full_lately {
            return;
        }
        // Whichever says more: a report counts a packet resent in time as received, and the
        // NACKs overstate a link that reorders.
        let loss = match (r.reported, r.asked_again) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let current = self
            .worst
            .filter(|(_, at)| now.saturating_duration_since(*at) < PROTECTED_AFTER_LOSS);
        self.worst = match (loss, current) {
            (Some(loss), Some((worst, _))) if loss >= worst => Some((loss, now)),
            (Some(loss), None) => Some((loss, now)),
            (_, current) => current,
        };
    }

    /// Notes that the link is full `now` (its receiver was just moved to the reduced
    /// rendition).
    pub fn note_full(&mut self, now: Instant) {
        self.full_at = Some(now);
        self.full_said_at = Some(now);
        // As after a full reading: what it lost on the full rendition is not counted.
        self.worst = None;
    }

    /// The share of repair packets to media packets `now`: none while the link looks full;
    /// else one per four media packets from 1 % lately lost, one per two from 3 %, one per
    /// packet from 8 % (each packet then has its own repair).
    pub fn ratio(&self, now: Instant) -> f32 {
        if self
            .full_at
            .is_some_and(|at| now.saturating_duration_since(at) < FULL_LINK_HOLD)
        {
            return 0.0;
        }
        let Some((loss, _)) = self
            .worst
            .filter(|(_, at)| now.saturating_duration_since(*at) < PROTECTED_AFTER_LOSS)
        else {
            return 0.0;
        };
        match loss {
            l if l < LOSS_WORTH_REPAIRING => 0.0,
            l if l < 0.03 => 0.25,
            l if l < 0.08 => 0.5,
            _ => 1.0,
        }
    }

    /// How many repair packets a block of `media_packets` gets `now`: the share
    /// [`FecPolicy::ratio`] gives, what it leaves over a whole packet carried in `owed` to the
    /// next block, so that pictures of one or two packets (the reduced rendition's) share
    /// their repairs at that share, rather than each getting one.
    pub fn repairs(&self, media_packets: usize, owed: &mut f32, now: Instant) -> usize {
        let ratio = self.ratio(now);
        if ratio <= 0.0 {
            *owed = 0.0;
            return 0;
        }
        let due = *owed + media_packets as f32 * ratio;
        let repairs = (due.floor() as usize).min(media_packets);
        *owed = (due - repairs as f32).min(1.0);
        repairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reading of `reported` and `asked_again`, with no estimate.
    fn read(reported: Option<f32>, asked_again: Option<f32>) -> LinkReading {
        LinkReading {
            reported,
            asked_again,
            estimate_kbps: None,
            media_kbps: 1000,
        }
    }
    #[test]
    fn a_clean_link_gets_no_repairs_and_a_lossy_one_gets_more_the_more_it_loses() {
        let t0 = Instant::now();
        let mut policy = FecPolicy::default();
        assert_eq!(policy.repairs(10, &mut 0.0, t0), 0, "nothing reported yet");
        policy.note(read(Some(0.004), None), t0);
        assert_eq!(policy.repairs(10, &mut 0.0, t0), 0);
        policy.note(read(Some(0.02), None), t0);
        assert_eq!(
            policy.repairs(10, &mut 0.0, t0),
            2,
            "a quarter, rounded down"
        );
        // The NACKs say more than the report: they count.
        policy.note(read(Some(0.0), Some(0.05)), t0);
        assert_eq!(policy.repairs(10, &mut 0.0, t0), 5);
        policy.note(read(Some(0.15), Some(0.3)), t0);
        assert_eq!(policy.repairs(10, &mut 0.0, t0), 10);
        assert_eq!(
            policy.repairs(1, &mut 0.0, t0),
            1,
            "a one-packet picture gets one"
        );
    }

    #[test]
    fn protection_holds_after_the_loss_reports_improve_then_lets_go() {
        let t0 = Instant::now();
        let mut policy = FecPolicy::default();
        policy.note(read(Some(0.05), None), t0);
        // Reports of less loss (or none) do not lower it at once.
        policy.note(read(Some(0.0), Some(0.0)), t0 + Duration::from_secs(5));
        policy.note(read(None, None), t0 + Duration::from_secs(6));
        assert_eq!(policy.repairs(8, &mut 0.0, t0 + Duration::from_secs(19)), 4);
        // A clean spell as long as the hold ends it.
        let later = t0 + PROTECTED_AFTER_LOSS + Duration::from_millis(1);
        policy.note(read(Some(0.0), None), later);
        assert_eq!(policy.repairs(8, &mut 0.0, later), 0);
        // A new bad report starts it again.
        policy.note(read(Some(0.02), None), later);
        assert_eq!(policy.repairs(8, &mut 0.0, later), 2);
    }

    #[test]
    fn small_pictures_share_their_repairs_at_the_share_asked() {
        let t0 = Instant::now();
        let mut policy = FecPolicy::default();
        policy.note(read(Some(0.02), None), t0);
        // One packet a picture, a quarter: one repair every fourth picture.
        let mut owed = 0.0;
        let got: Vec<usize> = (0..8).map(|_| policy.repairs(1, &mut owed, t0)).collect();
        assert_eq!(got, vec![0, 0, 0, 1, 0, 0, 0, 1]);
        // Two a picture, a half: one each.
        policy.note(read(Some(0.05), None), t0);
        let got: Vec<usize> = (0..3).map(|_| policy.repairs(2, &mut owed, t0)).collect();
        assert_eq!(got, vec![1, 1, 1]);
        // Once no repairs are called for, nothing stays owed.
        let clean = t0 + PROTECTED_AFTER_LOSS;
        policy.note(read(Some(0.0), None), clean);
        assert_eq!(policy.repairs(3, &mut owed, clean), 0);
        assert_eq!(owed, 0.0);
    }

    #[test]
    fn a_full_link_gets_no_repairs_and_a_reordering_one_does() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut policy = FecPolicy::default();
        // A jittery lossy link: an odd report of much loss, or many NACKs, alone.
        policy.note(read(Some(0.8), Some(0.1)), at(0));
        assert_eq!(policy.repairs(10, &mut 0.0, at(0)), 10);
        policy.note(read(Some(0.0), Some(0.5)), at(500));
        assert_eq!(policy.repairs(10, &mut 0.0, at(500)), 10);
        // Both at once: a queue overflowing. No repairs until it has looked well for a while,
        // and what it lost then is not counted as loss to repair.
        let mut policy = FecPolicy::default();
        policy.note(read(Some(0.9), Some(0.8)), at(0));
        assert_eq!(policy.repairs(10, &mut 0.0, at(0)), 0);
        policy.note(read(Some(0.0), Some(0.02)), at(1000));
        assert_eq!(policy.repairs(10, &mut 0.0, at(1000)), 0, "held");
        assert_eq!(
            policy.repairs(10, &mut 0.0, at(0) + FULL_LINK_HOLD),
            0,
            "a reading taken in the hold still averages the full spell in: not counted"
        );
        policy.note(read(Some(0.0), Some(0.02)), at(0) + FULL_LINK_HOLD);
        assert_eq!(
            policy.repairs(10, &mut 0.0, at(0) + FULL_LINK_HOLD),
            2,
            "then what the lossy readings call for"
        );
        // An estimate far under the media: full. Half of it: a lossy link whose estimate the
        // jitter keeps low.
        let mut policy = FecPolicy::default();
        let with_estimate = |estimate| LinkReading {
            reported: Some(0.05),
            asked_again: Some(0.3),
            estimate_kbps: Some(estimate),
            media_kbps: 1500,
        };
        policy.note(with_estimate(375), at(0));
        assert_eq!(policy.repairs(10, &mut 0.0, at(0)), 0);
        let later = at(0) + FULL_LINK_HOLD;
        policy.note(with_estimate(760), later);
        assert_eq!(policy.repairs(10, &mut 0.0, later), 10);
        // Just moved to the reduced rendition: none for a while.
        policy.note_full(later);
        assert_eq!(policy.repairs(10, &mut 0.0, later), 0);
    }

    #[test]
    fn a_draining_queue_after_a_full_spell_is_not_counted_as_loss() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut policy = FecPolicy::default();
        // Lossy first (a quarter), then the queue overflows.
        policy.note(read(Some(0.02), None), at(0));
        policy.note(read(Some(0.9), Some(0.8)), at(1000));
        // The next readings still average the full spell in: only one share is high, then
        // both fall.
        policy.note(read(Some(0.6), Some(0.1)), at(2000));
        assert_eq!(policy.repairs(10, &mut 0.0, at(2000)), 0, "still full");
        policy.note(read(Some(0.3), Some(0.05)), at(3000));
        assert_eq!(policy.repairs(10, &mut 0.0, at(3000)), 0, "in the hold");
        // Past the hold, the link is what its readings say now, not what it lost while full
        // (one per packet) or before (a quarter).
        policy.note(read(Some(0.0), Some(0.0)), at(4000));
        assert_eq!(policy.repairs(10, &mut 0.0, at(4000)), 0);
        policy.note(read(Some(0.04), Some(0.0)), at(5000));
        assert_eq!(policy.repairs(10, &mut 0.0, at(5000)), 5);
    }

    #[test]
    fn one_share_alone_keeps_a_link_full_only_while_its_queue_drains() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // A jittery lossy link just moved to the reduced rendition, whose NACKs alone say
        // 0.45 (reordering) and its reports 0.1, read ten times a second.
        let mut policy = FecPolicy::default();
        policy.note(read(Some(0.15), Some(0.2)), at(0));
        policy.note_full(at(0));
        assert_eq!(policy.repairs(10, &mut 0.0, at(0)), 0, "moved down");
        let mut first_repair = None;
        for ms in (100..12_000).step_by(100) {
            policy.note(read(Some(0.1), Some(0.45)), at(ms));
            if first_repair.is_none() && policy.repairs(10, &mut 0.0, at(ms)) > 0 {
                first_repair = Some(ms);
            }
        }
        let first = first_repair.expect("the lossy link's losses were never repaired");
        let longest = (LONGEST_DRAIN + FULL_LINK_HOLD).as_millis() as u64;
        assert!(
            first <= longest,
            "repaired only {first} ms after the move, {longest} at most"
        );
        assert!(
            first >= 2000,
            "repaired {first} ms after the move, in its hold"
        );
        assert_eq!(
            policy.repairs(10, &mut 0.0, at(12_000)),
            10,
            "one per packet"
        );
    }
}
