//! Forward error correction for the composite: FlexFEC (draft 03, `video/flexfec-03`, which
//! Chromium offers and decodes) repair packets on their own SSRC, sent right after each
//! composite picture, for a browser whose reports say its link loses packets.
//!
//! A resent packet costs a round trip, and on a long one (200 ms each way) every lost packet
//! of a picture held the picture that long; a browser counts each such wait as a freeze. A
//! repair packet that arrives with the picture rebuilds a lost packet at once.
//!
//! The rule is [`FecPolicy`] (sans-I/O: what the browser's reports and NACKs say the link
//! loses in, the number of repair packets per picture out); [`CompositeFec`] is the
//! interceptor around it, at webrtc-rs's FEC slot (above the NACK responder, so both repair
//! the same packets, and below nothing that changes a packet after it).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::interceptor::{
    AttributedPacket, FlexFec03Encoder, Interceptor, Packet, StreamInfo, TaggedPacket,
};
use rtc::sansio::Protocol;
use rtc::shared::marshal::MarshalSize;
use rtc::shared::TransportContext;

use super::rtcp::CompositeLink;

/// How long a report of loss keeps the composite protected. A browser's reports count a packet
/// resent or rebuilt in time as received, so once the repairs work the reports say little is
/// lost: the protection must not switch itself off by working, and a link that loses now and
/// then must not be left bare between its bad reports.
pub const PROTECTED_AFTER_LOSS: Duration = Duration::from_secs(20);

/// Under this share lost, resending alone keeps up: no repair packets.
pub const LOSS_WORTH_REPAIRING: f32 = 0.01;

/// The most media packets one repair block covers (a keyframe is split into blocks this long).
pub const LONGEST_BLOCK: usize = 48;

/// From this share lost, said by both the browser's reports and its NACKs at once, the link is
/// full, not lossy.
pub const FULL_LINK_LOSS: f32 = 0.40;

/// A link whose browser estimates less than this share of the composite's media bitrate is
/// full.
pub const FULL_LINK_ESTIMATE: f32 = 0.40;

/// How long a full link goes without repairs after it last looked full.
pub const FULL_LINK_HOLD: Duration = Duration::from_secs(2);

/// How much repair the composite gets, from what the browser's reports say of its link.
///
/// A link that is full, not lossy (a slow line whose queue overflows), loses most packets,
/// and repairs there would add to what it cannot carry. It looks full when the reception
/// reports and the share asked for again both say [`FULL_LINK_LOSS`] or more (on the
/// lossy-link test's 500 kbit/s link they said 0.83-0.96 and 0.65-0.95 together, while on a
/// link that loses 5 % with jitter the NACKs said 0.25-0.50 and the reports much less), or
/// when the browser's estimate (REMB) is under [`FULL_LINK_ESTIMATE`] of the media's bitrate
/// (the 500 kbit/s link: 0.25-0.3; the jittery 5 % link: 0.5 and more), or while the receiver
/// has just been moved to the reduced rendition (its link's queue is still draining). Such
/// readings are not loss to repair, and they stop the repairs for [`FULL_LINK_HOLD`].
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
        if both_lose || estimate_short {
            self.full_at = Some(now);
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

/// The composite's media bytes sent over the last two seconds (its repairs not counted).
#[derive(Debug, Default)]
struct SendRate {
    sent: VecDeque<(Instant, usize)>,
}

impl SendRate {
    const WINDOW: Duration = Duration::from_secs(2);

    fn add(&mut self, now: Instant, bytes: usize) {
        self.sent.push_back((now, bytes));
        while self
            .sent
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) > Self::WINDOW)
        {
            self.sent.pop_front();
        }
    }

    fn kbps(&self) -> u32 {
        let bytes: usize = self.sent.iter().map(|(_, b)| b).sum();
        (bytes as f64 * 8.0 / Self::WINDOW.as_secs_f64() / 1000.0) as u32
    }
}

/// The composite's repair stream, as the answer names it to the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepairStream {
    /// The composite's own SSRC.
    pub media_ssrc: u32,
    /// The repair packets' SSRC.
    pub ssrc: u32,
    /// Their payload type: the one the browser's offer gave `flexfec-03`.
    pub payload_type: u8,
}

impl RepairStream {
    /// `answer_sdp` with this repair stream in the composite's section (the one naming
    /// `media_ssrc`): the payload type on its `m=` line with its `rtpmap` and `fmtp`, and the
    /// stream itself, grouped with the composite (`a=ssrc-group:FEC-FR`, RFC 5956) under the
    /// composite's `cname` and `msid`. An answer without that section, or one that already
    /// answers FlexFEC there, comes back unchanged.
    pub fn announce(&self, answer_sdp: &str) -> String {
        let eol = if answer_sdp.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let lines: Vec<&str> = answer_sdp.lines().collect();
        let media_tag = format!("a=ssrc:{} ", self.media_ssrc);
        let starts: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].starts_with("m="))
            .collect();
        let Some((start, end)) = starts
            .iter()
            .enumerate()
            .map(|(k, &a)| (a, starts.get(k + 1).copied().unwrap_or(lines.len())))
            .find(|&(a, b)| lines[a..b].iter().any(|l| l.starts_with(&media_tag)))
        else {
            return answer_sdp.to_owned();
        };
        if lines[start..end]
            .iter()
            .any(|l| l.to_ascii_lowercase().contains("flexfec"))
        {
            return answer_sdp.to_owned();
        }
        let pt = self.payload_type;
        let section = &lines[start..end];
        let first_ssrc = start
            + section
                .iter()
                .position(|l| l.starts_with("a=ssrc"))
                .unwrap_or(0);
        let last_ssrc = start
            + section
                .iter()
                .rposition(|l| l.starts_with("a=ssrc:"))
                .unwrap_or(0);
        let owned = |ls: &[&str]| ls.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
        let mut out = owned(&lines[..start]);
        out.push(format!("{} {pt}", lines[start]));
        out.extend(owned(&lines[start + 1..first_ssrc]));
        out.push(format!("a=rtpmap:{pt} flexfec-03/90000"));
        out.push(format!("a=fmtp:{pt} repair-window=10000000"));
        out.push(format!(
            "a=ssrc-group:FEC-FR {} {}",
            self.media_ssrc, self.ssrc
        ));
        out.extend(owned(&lines[first_ssrc..=last_ssrc]));
        // The repair stream belongs to the composite's cname and msid.
        out.extend(
            section
                .iter()
                .filter_map(|l| l.strip_prefix(&media_tag))
                .map(|attr| format!("a=ssrc:{} {attr}", self.ssrc)),
        );
        out.extend(owned(&lines[last_ssrc + 1..]));
        let mut sdp = out.join(eol);
        if answer_sdp.ends_with('\n') {
            sdp.push_str(eol);
        }
        sdp
    }
}

/// The composite's stream being protected.
struct Protected {
    ssrc: u32,
    encoder: FlexFec03Encoder,
    /// The current picture's packets (a block ends with the picture, or at [`LONGEST_BLOCK`]).
    block: Vec<rtc::rtp::Packet>,
}

impl Protected {
    fn new(r: &RepairStream) -> Self {
        Self {
            ssrc: r.media_ssrc,
            encoder: FlexFec03Encoder::new(r.payload_type, r.ssrc)
                .with_base_sequence_number(rand::random()),
            block: Vec::new(),
        }
    }
}

/// The interceptor that sends the composite's repair packets: it gathers each picture's
/// packets as they leave and, once the picture is complete, sends the repair packets
/// [`FecPolicy`] asks for. Every other stream passes through.
pub(crate) struct CompositeFec {
    link: Arc<CompositeLink>,
    policy: FecPolicy,
    media: SendRate,
    /// The repair stream the answer names, if any.
    repair: Option<RepairStream>,
    /// The composite's stream while it is bound.
    stream: Option<Protected>,
    /// The share of a repair packet owed from the blocks so far ([`FecPolicy::repairs`]).
    owed: f32,
    /// The share of repairs sent for the last block (to log its changes).
    ratio: f32,
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl CompositeFec {
    /// Protects the composite as `link`'s reports call for, on `repair` (none: the browser
    /// decodes no FlexFEC, and everything passes through).
    pub(crate) fn new(link: Arc<CompositeLink>, repair: Option<RepairStream>) -> Self {
        Self {
            link,
            policy: FecPolicy::default(),
            media: SendRate::default(),
            stream: repair.as_ref().map(Protected::new),
            repair,
            owed: 0.0,
            ratio: 0.0,
            read: VecDeque::new(),
            write: VecDeque::new(),
        }
    }

    /// Sends the repairs for the block just ended, stamped like its last packet.
    fn end_block(&mut self, at: Instant, transport: TransportContext) {
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        let now = Instant::now();
        let report = self.link.report(now);
        let asked_again = self.link.asked_again(now);
        let media_kbps = self.media.kbps();
        if self.link.draining(now) {
            self.policy.note_full(now);
        } else {
            self.policy.note(
                LinkReading {
                    reported: report.loss,
                    asked_again,
                    estimate_kbps: report.estimate_kbps,
                    media_kbps,
                },
                now,
            );
        }
        let repairs = if self.link.repairs_announced() {
            self.policy.repairs(stream.block.len(), &mut self.owed, now)
        } else {
            // The answer does not name the repair stream: the browser would not know it.
            0
        };
        let packets = if repairs > 0 {
            stream.encoder.encode(&stream.block, repairs as u32)
        } else {
            Vec::new()
        };
        stream.block.clear();
        let ratio = self.policy.ratio(now);
        if ratio != self.ratio {
            tracing::info!(
                ssrc = stream.ssrc,
                loss = ?report.loss,
                ?asked_again,
                estimate_kbps = ?report.estimate_kbps,
                media_kbps,
                ratio,
                "composite repair packets {}",
                if ratio > 0.0 { "on" } else { "off" }
            );
        }
        self.ratio = ratio;
        self.link.repairs_sent(packets.len() as u64);
        for packet in packets {
            self.write.push_back(TaggedPacket {
                now: at,
                transport,
                message: AttributedPacket::new(Packet::Rtp(packet)),
            });
        }
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for CompositeFec {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        let mut block_ended = false;
        if let (Packet::Rtp(packet), Some(stream)) = (&msg.message.packet, self.stream.as_mut()) {
            if packet.header.ssrc == stream.ssrc {
                stream.block.push(packet.clone());
                block_ended = packet.header.marker || stream.block.len() >= LONGEST_BLOCK;
                self.media.add(Instant::now(), packet.marshal_size());
            }
        }
        let (at, transport) = (msg.now, msg.transport);
        // The media packet goes first; its repairs follow the picture's last packet.
        self.write.push_back(msg);
        if block_ended {
            self.end_block(at, transport);
        }
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write.pop_front()
    }
}

impl Interceptor for CompositeFec {
    fn bind_local_stream(&mut self, info: &StreamInfo) {
        // Bound again (a re-offer made the composite's line receive again): protected again.
        if let Some(r) = self.repair.as_ref().filter(|r| r.media_ssrc == info.ssrc) {
            if self.stream.is_none() {
                self.stream = Some(Protected::new(r));
            }
        }
    }

    fn unbind_local_stream(&mut self, info: &StreamInfo) {
        if self.stream.as_ref().is_some_and(|s| s.ssrc == info.ssrc) {
            self.stream = None;
        }
    }

    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}

    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
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
    fn the_answer_names_the_repair_stream_in_the_composites_section_only() {
        let answer = "v=0\r\ns=-\r\n\
                      m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=rtpmap:96 VP8/90000\r\na=recvonly\r\n\
                      m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=mid:2\r\na=rtpmap:96 VP8/90000\r\n\
                      a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\na=ssrc-group:FID 11 12\r\n\
                      a=ssrc:11 cname:courtroom\r\na=ssrc:11 msid:courtroom composite\r\n\
                      a=ssrc:12 cname:courtroom\r\na=sendonly\r\n\
                      m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:3\r\na=ssrc:21 cname:seat-0\r\n";
        let repair = RepairStream {
            media_ssrc: 11,
            ssrc: 13,
            payload_type: 49,
        };
        let announced = repair.announce(answer);
        let lines: Vec<&str> = announced.split("\r\n").collect();
        let video2 = lines
            .iter()
            .position(|l| *l == "m=video 9 UDP/TLS/RTP/SAVPF 96 97 49");
        assert!(video2.is_some(), "{announced}");
        assert!(
            lines.contains(&"m=video 9 UDP/TLS/RTP/SAVPF 96"),
            "the camera's line is left alone"
        );
        for line in [
            "a=rtpmap:49 flexfec-03/90000",
            "a=fmtp:49 repair-window=10000000",
            "a=ssrc-group:FEC-FR 11 13",
            "a=ssrc:13 cname:courtroom",
            "a=ssrc:13 msid:courtroom composite",
        ] {
            let at = lines.iter().position(|l| *l == line).expect(line);
            let audio = lines.iter().position(|l| l.starts_with("m=audio")).unwrap();
            assert!(
                at > video2.unwrap() && at < audio,
                "{line} in the composite's section"
            );
        }
        assert!(announced.ends_with("a=ssrc:21 cname:seat-0\r\n"));
        assert_eq!(lines.len(), answer.split("\r\n").count() + 5);
        // Once is enough; and an answer without the composite is left as it is.
        assert_eq!(repair.announce(&announced), announced);
        let other = RepairStream {
            media_ssrc: 99,
            ..repair
        };
        assert_eq!(other.announce(answer), answer);
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
            policy.repairs(10, &mut 0.0, at(1000) + FULL_LINK_HOLD),
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

    /// A composite packet of `ssrc` numbered `seq`, the last of its picture when `marker`.
    fn media(ssrc: u32, seq: u16, marker: bool, len: usize) -> rtc::rtp::Packet {
        let mut p = rtc::rtp::Packet::default();
        p.header.version = 2;
        p.header.ssrc = ssrc;
        p.header.sequence_number = seq;
        p.header.timestamp = 3000 * u32::from(seq / 5);
        p.header.payload_type = 96;
        p.header.marker = marker;
        p.payload = (0..len)
            .map(|i| (i as u16 ^ seq.wrapping_mul(31)) as u8)
            .collect();
        p
    }

    #[test]
    fn every_picture_gets_its_repairs_and_they_rebuild_a_lost_packet() {
        use rtc::interceptor::FlexFec03Decoder;
        let link = Arc::new(CompositeLink::default());
        link.set_ssrc(7);
        // 5 % lost (13 of 256).
        link.note_loss_for_test(13);
        let repair = RepairStream {
            media_ssrc: 7,
            ssrc: 9,
            payload_type: 49,
        };
        link.set_repairs_announced(true);
        let mut fec = CompositeFec::new(link.clone(), Some(repair));
        let write = |fec: &mut CompositeFec, p: rtc::rtp::Packet| {
            fec.handle_write(TaggedPacket {
                now: Instant::now(),
                transport: TransportContext::default(),
                message: AttributedPacket::new(Packet::Rtp(p)),
            })
            .unwrap();
        };
        // Three pictures of five packets, and another stream's packet between them.
        let mut sent = Vec::new();
        for seq in 100..115u16 {
            let p = media(7, seq, seq % 5 == 4, 900 + usize::from(seq) % 7);
            sent.push(p.clone());
            write(&mut fec, p);
            write(&mut fec, media(8, seq, false, 100));
        }
        let mut out = Vec::new();
        while let Some(m) = fec.poll_write() {
            if let Packet::Rtp(p) = m.message.packet {
                out.push(p);
            }
        }
        // Everything passes, each picture followed by its repairs (one per two packets: 2.5
        // for each picture of 5, so 2, 3 and 2), on the repair stream.
        let repairs: Vec<_> = out.iter().filter(|p| p.header.ssrc == 9).collect();
        assert_eq!(repairs.len(), 7, "seven repairs for three pictures of five");
        let picture_of_each_repair: Vec<usize> = out
            .iter()
            .scan(0, |pictures, p| {
                if p.header.ssrc == 7 && p.header.marker {
                    *pictures += 1;
                }
                Some((p.header.ssrc, *pictures))
            })
            .filter(|(ssrc, _)| *ssrc == 9)
            .map(|(_, k)| k)
            .collect();
        assert_eq!(picture_of_each_repair, vec![1, 1, 2, 2, 2, 3, 3]);
        assert!(repairs.iter().all(|p| p.header.payload_type == 49));
        assert_eq!(out.iter().filter(|p| p.header.ssrc == 7).count(), 15);
        assert_eq!(out.iter().filter(|p| p.header.ssrc == 8).count(), 15);
        let last_of_picture = |k: u16| {
            out.iter()
                .position(|p| p.header.ssrc == 7 && p.header.sequence_number == 104 + 5 * k)
                .unwrap()
        };
        let first_repair = out.iter().position(|p| p.header.ssrc == 9).unwrap();
        assert!(first_repair > last_of_picture(0));
        assert_eq!(link.repairs(), 7);
        // The third picture loses its second packet: a receiver rebuilds it from the rest.
        let mut decoder = FlexFec03Decoder::new(9, 7);
        let lost = 111u16;
        let mut rebuilt = Vec::new();
        let arrived = out.iter().filter(|p| match p.header.ssrc {
            7 => p.header.sequence_number != lost,
            9 => true,
            _ => false,
        });
        for p in arrived {
            rebuilt.extend(decoder.decode(p.clone()));
        }
        let original = sent
            .iter()
            .find(|p| p.header.sequence_number == lost)
            .unwrap();
        let got = rebuilt
            .iter()
            .find(|p| p.header.sequence_number == lost)
            .expect("the lost packet rebuilt");
        assert_eq!(got.payload, original.payload);
        assert_eq!(got.header.timestamp, original.header.timestamp);
    }

    /// Writes a picture of `n` packets of the composite (SSRC 7) from `seq`; returns how many
    /// packets came out and how many of them were repairs (SSRC 9).
    fn picture(fec: &mut CompositeFec, seq: u16, n: u16) -> (usize, usize) {
        for s in seq..seq + n {
            fec.handle_write(TaggedPacket {
                now: Instant::now(),
                transport: TransportContext::default(),
                message: AttributedPacket::new(Packet::Rtp(media(7, s, s == seq + n - 1, 500))),
            })
            .unwrap();
        }
        let (mut all, mut repairs) = (0, 0);
        while let Some(m) = fec.poll_write() {
            all += 1;
            if matches!(&m.message.packet, Packet::Rtp(p) if p.header.ssrc == 9) {
                repairs += 1;
            }
        }
        (all, repairs)
    }

    #[test]
    fn without_a_repair_stream_named_in_the_answer_everything_passes_untouched() {
        let repair = RepairStream {
            media_ssrc: 7,
            ssrc: 9,
            payload_type: 49,
        };
        for (stream, announced) in [(None, true), (Some(repair), false)] {
            let link = Arc::new(CompositeLink::default());
            link.set_ssrc(7);
            link.note_loss_for_test(64);
            link.set_repairs_announced(announced);
            let mut fec = CompositeFec::new(link.clone(), stream);
            assert_eq!(picture(&mut fec, 0, 10), (10, 0));
            assert_eq!(link.repairs(), 0);
        }
    }

    #[test]
    fn a_stream_bound_again_is_protected_again() {
        let repair = RepairStream {
            media_ssrc: 7,
            ssrc: 9,
            payload_type: 49,
        };
        let link = Arc::new(CompositeLink::default());
        link.set_ssrc(7);
        link.note_loss_for_test(64);
        link.set_repairs_announced(true);
        let mut fec = CompositeFec::new(link.clone(), Some(repair));
        assert_eq!(
            picture(&mut fec, 0, 4),
            (8, 4),
            "a quarter lost: one per packet"
        );
        let info = StreamInfo {
            ssrc: 7,
            ..Default::default()
        };
        fec.unbind_local_stream(&info);
        assert_eq!(picture(&mut fec, 4, 4), (4, 0));
        fec.bind_local_stream(&info);
        assert_eq!(picture(&mut fec, 8, 4), (8, 4));
    }
}
