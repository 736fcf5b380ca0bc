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

use rtc::interceptor::{AttributedPacket, FlexFec03Encoder, Packet, StreamInfo, TaggedPacket};
use rtc::shared::marshal::MarshalSize;
use rtc::shared::TransportContext;

use super::rtcp::CompositeLink;
use super::step::{PacketStep, StepInterceptor};

mod announce;
mod policy;

pub use announce::RepairStream;
pub use policy::{FecPolicy, LinkReading};

/// The most media packets one repair block covers (a keyframe is split into blocks this long).
pub const LONGEST_BLOCK: usize = 48;

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
}

impl CompositeFec {
    /// Protects the composite as `link`'s reports call for, on `repair` (none: the browser
    /// decodes no FlexFEC, and everything passes through).
    pub(crate) fn new(
        link: Arc<CompositeLink>,
        repair: Option<RepairStream>,
    ) -> StepInterceptor<Self> {
        StepInterceptor::new(Self {
            link,
            policy: FecPolicy::default(),
            media: SendRate::default(),
            stream: repair.as_ref().map(Protected::new),
            repair,
            owed: 0.0,
            ratio: 0.0,
        })
    }

    /// Sends the repairs for the block just ended, stamped like its last packet.
    fn end_block(
        &mut self,
        at: Instant,
        transport: TransportContext,
        out: &mut VecDeque<TaggedPacket>,
    ) {
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
        let repairs = self.policy.repairs(stream.block.len(), &mut self.owed, now);
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
        for packet in packets {
            out.push_back(TaggedPacket {
                now: at,
                transport,
                message: AttributedPacket::new(Packet::Rtp(packet)),
            });
        }
    }
}

impl PacketStep for CompositeFec {
    fn write(&mut self, msg: TaggedPacket, out: &mut VecDeque<TaggedPacket>) {
        let mut block_ended = false;
        // Nothing is gathered for a browser that was not told of the repair stream.
        let stream = self
            .stream
            .as_mut()
            .filter(|_| self.link.repairs_announced());
        if let (Packet::Rtp(packet), Some(stream)) = (&msg.message.packet, stream) {
            if packet.header.ssrc == stream.ssrc {
                stream.block.push(packet.clone());
                block_ended = packet.header.marker || stream.block.len() >= LONGEST_BLOCK;
                self.media.add(Instant::now(), packet.marshal_size());
            }
        }
        let (at, transport) = (msg.now, msg.transport);
        // The media packet goes first; its repairs follow the picture's last packet.
        out.push_back(msg);
        if block_ended {
            self.end_block(at, transport, out);
        }
    }

    fn bind_local(&mut self, info: &StreamInfo) {
        // Bound again (a re-offer made the composite's line receive again): protected again.
        if let Some(r) = self.repair.as_ref().filter(|r| r.media_ssrc == info.ssrc) {
            if self.stream.is_none() {
                self.stream = Some(Protected::new(r));
            }
        }
    }

    fn unbind_local(&mut self, info: &StreamInfo) {
        if self.stream.as_ref().is_some_and(|s| s.ssrc == info.ssrc) {
            self.stream = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::interceptor::Interceptor;
    use rtc::sansio::Protocol;

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
        let write = |fec: &mut StepInterceptor<CompositeFec>, p: rtc::rtp::Packet| {
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
    fn picture(fec: &mut StepInterceptor<CompositeFec>, seq: u16, n: u16) -> (usize, usize) {
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
