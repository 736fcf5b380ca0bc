//! The inbound RTCP the application acts on ([`ApplicationRtcp`], an interceptor at the end
//! of webrtc-rs's chain), the gate that holds back the composite's repairs after a rendition
//! switch ([`RepairGate`]), and what the browser's reports say of how the composite reaches it
//! ([`CompositeLink`]): the share of its packets lost, and the bitrate the browser estimates
//! it can take (REMB). Both interceptors are a [`PacketStep`] ([`super::step`]).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};

use super::step::{PacketStep, StepInterceptor};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtc::interceptor::{Attribute, AttributedPacket, Packet, TaggedPacket};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::reception_report::ReceptionReport;
use rtc::rtcp::sender_report::SenderReport;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;

/// Reports older than this say nothing of the link now.
const STALE: Duration = Duration::from_secs(5);

/// The reception reports of the last this long are weighed together. Chromium sends one in
/// each compound RTCP packet (with its NACKs and REMB, several a second), each over a fraction
/// of a second, and one alone says little: on a link that loses 5 % with jitter, single
/// reports said 20-80 % lost now and then, and moved the receiver down.
const LOSS_WINDOW: Duration = Duration::from_secs(2);

pub use crate::media::rendition::LinkReport;

/// The composite's reception reports and bitrate estimates from one browser, noted by
/// [`ApplicationRtcp`] as they arrive and read by the task that sends the composite.
#[derive(Debug, Default)]
pub struct CompositeLink {
    state: Mutex<LinkState>,
    /// Whether the answer names the composite's repair stream (`super::fec`).
    repairs_announced: AtomicBool,
}

#[derive(Debug, Default)]
struct LinkState {
    /// The composite's SSRC (0 until the track is made).
    ssrc: u32,
    /// The share lost in each reception report of the composite of the last [`STALE`], oldest
    /// first.
    losses: VecDeque<(Instant, f32)>,
    estimate: Option<(u32, Instant)>,
    /// The newest sequence number of the composite sent so far.
    last_sent: Option<u16>,
    /// Until when the browser's NACKs for the composite's packets before which sequence number
    /// go unanswered (see [`CompositeLink::hold_repairs`]).
    repairs_held: Option<RepairHold>,
    /// Until when the link's queue drains after a move to the reduced rendition.
    draining_until: Option<Instant>,
    /// The composite's packets sent and asked for again, lately.
    asked_again: AskedAgain,
}

/// How much of what was sent lately the browser asked for again: the path's own loss. The
/// reception reports' share lost cannot say it, since a browser counts a packet resent in
/// time as received, and a lossy link whose losses are resent reports next to nothing lost.
#[derive(Debug, Default)]
struct AskedAgain {
    sent: VecDeque<Instant>,
    /// Each sequence number once, however often it was asked for.
    asked: VecDeque<(Instant, u16)>,
}

impl AskedAgain {
    /// How far back it looks.
    const WINDOW: Duration = Duration::from_secs(2);
    /// Fewer packets sent than this in the window say nothing.
    const FEWEST_SENT: usize = 20;

    fn forget(&mut self, now: Instant) {
        let old = |at: &Instant| now.saturating_duration_since(*at) > Self::WINDOW;
        while self.sent.front().is_some_and(old) {
            self.sent.pop_front();
        }
        while self.asked.front().is_some_and(|(at, _)| old(at)) {
            self.asked.pop_front();
        }
    }

    fn sent(&mut self, now: Instant) {
        self.forget(now);
        self.sent.push_back(now);
    }

    fn asked(&mut self, seqs: impl IntoIterator<Item = u16>, now: Instant) {
        self.forget(now);
        for seq in seqs {
            if !self.asked.iter().any(|(_, s)| *s == seq) {
                self.asked.push_back((now, seq));
            }
        }
    }

    fn share(&self) -> Option<f32> {
        (self.sent.len() >= Self::FEWEST_SENT)
            .then(|| (self.asked.len() as f32 / self.sent.len() as f32).min(1.0))
    }
}

/// The composite's repairs held back after a rendition switch.
#[derive(Debug, Clone, Copy)]
struct RepairHold {
    until: Instant,
    /// The first sequence number of the new rendition: NACKs from here on are answered.
    from_seq: Option<u16>,
}

/// Whether sequence number `a` comes before `b` (RTP's 16-bit numbers wrap).
fn seq_before(a: u16, b: u16) -> bool {
    (b.wrapping_sub(a) as i16) > 0
}

impl CompositeLink {
    /// Names the composite's stream.
    pub fn set_ssrc(&self, ssrc: u32) {
        self.state.lock().expect("link lock").ssrc = ssrc;
    }

    /// What the browser says of the link now: the mean share lost of its reception reports of
    /// the last [`LOSS_WINDOW`] (or the newest, if none came in it), and its newest estimate,
    /// leaving out what is older than a few seconds.
    pub fn report(&self, now: Instant) -> LinkReport {
        let state = self.state.lock().expect("link lock");
        let fresh = |at: Instant| now.saturating_duration_since(at) < STALE;
        let (sum, n) = state
            .losses
            .iter()
            .filter(|(at, _)| now.saturating_duration_since(*at) < LOSS_WINDOW)
            .fold((0.0, 0), |(sum, n), (_, l)| (sum + l, n + 1));
        let loss = if n == 0 {
            state
                .losses
                .back()
                .filter(|(at, _)| fresh(*at))
                .map(|(_, l)| *l)
        } else {
            Some(sum / n as f32)
        };
        LinkReport {
            loss,
            estimate_kbps: state.estimate.filter(|(_, at)| fresh(*at)).map(|(e, _)| e),
        }
    }

    /// Whether the receiver was moved to the reduced rendition lately: until the `until` given
    /// to [`CompositeLink::moved_down`], its link's queue is still draining.
    pub fn draining(&self, now: Instant) -> bool {
        let state = self.state.lock().expect("link lock");
        state.draining_until.is_some_and(|until| now < until)
    }

    /// Notes that the receiver was just moved to the reduced rendition, its link full, and
    /// that its queue drains until `until`.
    pub fn moved_down(&self, until: Instant) {
        self.state.lock().expect("link lock").draining_until = Some(until);
    }

    /// Notes whether the answer names the composite's repair stream.
    pub fn set_repairs_announced(&self, announced: bool) {
        self.repairs_announced.store(announced, Ordering::Relaxed);
    }

    /// Whether the answer names the composite's repair stream: repairs go out only then.
    pub fn repairs_announced(&self) -> bool {
        self.repairs_announced.load(Ordering::Relaxed)
    }

    /// Leaves the browser's NACKs for the composite's packets sent so far unanswered until
    /// `until`: the composite just switched rendition, so what it lost of the old one is of no
    /// use (a keyframe of the new one is on its way), and resending it would take the link the
    /// new picture needs. On a slow link, answering them kept the new picture out for 6 to
    /// 12 s. The new rendition's own packets, its keyframe first, are repaired as always.
    pub fn hold_repairs(&self, until: Instant) {
        let mut state = self.state.lock().expect("link lock");
        let from_seq = state.last_sent.map(|s| s.wrapping_add(1));
        state.repairs_held = Some(RepairHold { until, from_seq });
    }

    /// The share of the composite's packets sent in the last two seconds that the browser
    /// asked for again (NACK): how much the path loses before any repair. `None` while too
    /// few were sent to tell.
    pub fn asked_again(&self, now: Instant) -> Option<f32> {
        let mut state = self.state.lock().expect("link lock");
        state.asked_again.forget(now);
        state.asked_again.share()
    }

    /// Notes a packet of stream `ssrc` numbered `seq` going out.
    fn sent(&self, ssrc: u32, seq: u16) {
        let mut state = self.state.lock().expect("link lock");
        if ssrc == 0 || ssrc != state.ssrc {
            return;
        }
        state.asked_again.sent(Instant::now());
        if state.last_sent.is_none_or(|l| seq_before(l, seq)) {
            state.last_sent = Some(seq);
        }
    }

    /// Notes what `nack` asks for again ([`CompositeLink::asked_again`]), and gives the part
    /// of it that is answered when it arrives `now`: all of it but the lost
    /// packets of the old rendition while repairs are held (a pair that also names a packet of
    /// the new one is kept whole). `None` when nothing is left.
    fn repairs_answered(
        &self,
        nack: &TransportLayerNack,
        now: Instant,
    ) -> Option<TransportLayerNack> {
        let mut state = self.state.lock().expect("link lock");
        if nack.media_ssrc != 0 && nack.media_ssrc == state.ssrc {
            let seqs = nack.nacks.iter().flat_map(|pair| pair.packet_list());
            state.asked_again.asked(seqs, now);
        }
        let hold = state.repairs_held.filter(|h| now < h.until);
        let (Some(hold), true) = (hold, nack.media_ssrc != 0 && nack.media_ssrc == state.ssrc)
        else {
            return Some(nack.clone());
        };
        let Some(from) = hold.from_seq else {
            // Nothing had been sent before the switch: nothing to hold back.
            return Some(nack.clone());
        };
        let nacks: Vec<_> = nack
            .nacks
            .iter()
            .filter(|pair| pair.packet_list().iter().any(|&seq| !seq_before(seq, from)))
            .cloned()
            .collect();
        (!nacks.is_empty()).then(|| TransportLayerNack {
            nacks,
            ..nack.clone()
        })
    }

    /// Notes a reception report of the composite saying `fraction_lost` (of 256), as if the
    /// browser had sent it now.
    #[cfg(test)]
    pub(crate) fn note_loss_for_test(&self, fraction_lost: u8) {
        let ssrc = self.state.lock().expect("link lock").ssrc;
        let rr: Box<dyn rtc::rtcp::Packet> = Box::new(ReceiverReport {
            ssrc: 1,
            reports: vec![ReceptionReport {
                ssrc,
                fraction_lost,
                ..Default::default()
            }],
            ..Default::default()
        });
        self.note(&[rr], Instant::now());
    }

    /// Notes what `packets` say of the composite.
    fn note(&self, packets: &[Box<dyn rtc::rtcp::Packet>], now: Instant) {
        let mut state = self.state.lock().expect("link lock");
        let ssrc = state.ssrc;
        if ssrc == 0 {
            return;
        }
        for packet in packets {
            let any = packet.as_any();
            let blocks: &[ReceptionReport] = if let Some(rr) = any.downcast_ref::<ReceiverReport>()
            {
                &rr.reports
            } else if let Some(sr) = any.downcast_ref::<SenderReport>() {
                &sr.reports
            } else {
                &[]
            };
            for block in blocks.iter().filter(|b| b.ssrc == ssrc) {
                state
                    .losses
                    .push_back((now, block.fraction_lost as f32 / 256.0));
            }
            while state
                .losses
                .front()
                .is_some_and(|(at, _)| now.saturating_duration_since(*at) >= STALE)
            {
                state.losses.pop_front();
            }
            if let Some(remb) = any.downcast_ref::<ReceiverEstimatedMaximumBitrate>() {
                if remb.ssrcs.contains(&ssrc) && remb.bitrate.is_finite() {
                    state.estimate = Some(((remb.bitrate / 1000.0) as u32, now));
                }
            }
        }
    }
}

/// Passes on to the application the inbound RTCP it acts on: the browser's keyframe requests
/// (PLI, FIR) for the composite, where [`super::session`] asks the right encoder for a
/// keyframe, and the sender reports of its camera and microphone, which place their RTP
/// timestamps on the sender's wall clock (`media::capture`). Every other inbound RTCP stops at
/// the end of the chain as before (webrtc-rs's `rtcp-processing` shape: it goes last, so the
/// default interceptors have seen all of it).
///
/// A sender report goes on alone and without its reception blocks: the stack routes RTCP to a
/// track by the first SSRC it names, and a report's blocks name the streams we send, which
/// would take it to the composite's track instead of the sender's own.
///
/// It also notes, for [`CompositeLink`], what the browser's reception reports and REMB say of
/// the composite it receives.
pub(crate) struct ApplicationRtcp {
    link: Arc<CompositeLink>,
}

impl ApplicationRtcp {
    /// Passes on what the application acts on; notes the composite's reports in `link`.
    pub(crate) fn new(link: Arc<CompositeLink>) -> StepInterceptor<Self> {
        StepInterceptor::new(Self { link })
    }
}

/// A sender report, stripped of its reception report blocks.
fn sender_report(packet: &Box<dyn rtc::rtcp::Packet>) -> Option<SenderReport> {
    let report = packet.as_any().downcast_ref::<SenderReport>()?;
    Some(SenderReport {
        reports: Vec::new(),
        ..report.clone()
    })
}

fn is_keyframe_request(packet: &Box<dyn rtc::rtcp::Packet>) -> bool {
    let any = packet.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

impl PacketStep for ApplicationRtcp {
    fn read(&mut self, mut msg: TaggedPacket, out: &mut VecDeque<TaggedPacket>) {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            self.link.note(packets, Instant::now());
            for report in packets.iter().filter_map(sender_report) {
                out.push_back(TaggedPacket {
                    now: msg.now,
                    transport: msg.transport,
                    message: AttributedPacket::new(Packet::Rtcp(vec![Box::new(report)]))
                        .with(Attribute::DeliverToApplication),
                });
            }
            let requests: Vec<Box<dyn rtc::rtcp::Packet>> = packets
                .iter()
                .filter(|p| is_keyframe_request(p))
                .cloned()
                .collect();
            if requests.is_empty() {
                return;
            }
            msg.message.packet = Packet::Rtcp(requests);
            msg.message.add(Attribute::DeliverToApplication);
        }
        out.push_back(msg);
    }
}

/// Drops the browser's NACKs for the composite while [`CompositeLink::hold_repairs`] says so.
/// It sits just before webrtc-rs's NACK responder on the way in (the responder would resend
/// them from its history), and passes everything else on.
pub(crate) struct RepairGate {
    link: Arc<CompositeLink>,
}

impl RepairGate {
    /// A gate that asks `link` whether to drop the composite's NACKs.
    pub(crate) fn new(link: Arc<CompositeLink>) -> StepInterceptor<Self> {
        StepInterceptor::new(Self { link })
    }
}

impl PacketStep for RepairGate {
    fn read(&mut self, mut msg: TaggedPacket, out: &mut VecDeque<TaggedPacket>) {
        if let Packet::Rtcp(packets) = &mut msg.message.packet {
            let now = Instant::now();
            let before = packets.len();
            *packets = std::mem::take(packets)
                .into_iter()
                .filter_map(|p| match p.as_any().downcast_ref::<TransportLayerNack>() {
                    Some(nack) => self
                        .link
                        .repairs_answered(nack, now)
                        .map(|n| Box::new(n) as Box<dyn rtc::rtcp::Packet>),
                    None => Some(p),
                })
                .collect();
            if packets.is_empty() && before > 0 {
                return;
            }
        }
        out.push_back(msg);
    }

    fn write(&mut self, msg: TaggedPacket, out: &mut VecDeque<TaggedPacket>) {
        if let Packet::Rtp(packet) = &msg.message.packet {
            self.link
                .sent(packet.header.ssrc, packet.header.sequence_number);
        }
        out.push_back(msg);
    }
}

#[cfg(test)]
mod tests;
