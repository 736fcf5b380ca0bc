//! Asking a browser to resend what its camera lost: the interceptors every peer connection
//! starts from, which are webrtc-rs's defaults (NACKs both ways, sender and receiver reports,
//! transport-wide congestion feedback for the browser's sender) with two changes for the video
//! we receive:
//! - the NACK generator is shown each resent packet ([RFC 4588] RTX, on its own SSRC) as the
//!   packet it repairs ([`ResentPackets`], then [`ResentRestored`] gives it back as it came), so
//!   it knows the loss was repaired. webrtc-rs's generator notes only its own stream's sequence
//!   numbers, and asked for a repaired packet again every 100 ms until the packet left its log
//!   of 512: on a link losing 5 % with a short round trip, Chromium resent 1,448-1,928 packets
//!   in 20 s (63-111 in four runs with this change);
//! - a lost packet is asked for only while a jitter buffer could still use it
//!   ([`NACKS_PER_PACKET`]).
//!
//! [`super::peer`] adds the composite's own steps on top.
//!
//! [RFC 4588]: https://www.rfc-editor.org/rfc/rfc4588

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rtc::interceptor::{
    NackGeneratorBuilder, NackResponderBuilder, Packet, Registry, Slot, StreamInfo, TaggedPacket,
};
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_rtcp_reports, configure_simulcast_extension_headers, configure_twcc_receiver_only,
};
use rtc::peer_connection::configuration::media_engine::MediaEngine;
use rtc::rtp_transceiver::rtp_sender::{RTCPFeedback, RtpCodecKind, TYPE_RTCP_FB_NACK};

use super::step::{PacketStep, StepInterceptor};
use super::RtcError;
use crate::media::decoder::MAX_JITTER_MS;

/// How often the packets a received video lost are asked for again (webrtc-rs's default).
pub const NACK_INTERVAL: Duration = Duration::from_millis(100);

/// How many times one lost packet of a received video is asked for: over [`MAX_JITTER_MS`],
/// the longest a jitter buffer waits for it, and never after.
///
/// With no limit, webrtc-rs asks for a packet for as long as it stays in its log of 512. After
/// a camera's link dropped for 2 s that was 10 s and more: the browser resent whatever it
/// still had at each request (612-1,123 packets in the 5 s after the link came back, in three
/// runs), too late to be decoded, ahead of its new pictures and at the bandwidth estimate the
/// drop had just cut. The seat showed 21-60 pictures in those 5 s, and once froze for 4.1 s.
pub const NACKS_PER_PACKET: u16 = (MAX_JITTER_MS as u128 / NACK_INTERVAL.as_millis()) as u16;

// Zero would mean no limit at all, and one no second try for a resent packet that is lost too.
const _: () = assert!(NACKS_PER_PACKET >= 2);

/// [`ResentPackets`]: between webrtc-rs's FlexFEC decoder (6,000) and its NACK generator
/// (7,000), on the way in.
const RESENT_SLOT: usize = 6_500;
/// [`ResentRestored`]: after the NACK generator, before the transport-wide feedback (8,000).
const RESTORED_SLOT: usize = 7_500;

/// The interceptors of webrtc-rs's `register_default_interceptors`, in the same slots, with
/// the generator of [`nack_generator`] between [`ResentPackets`] and [`ResentRestored`];
/// registers in `media` what they need (NACK and PLI feedback for video, and what the
/// transport-wide congestion feedback needs).
pub(crate) fn default_chain(media: &mut MediaEngine) -> Result<Registry, RtcError> {
    let setup = |e: rtc::shared::error::Error| RtcError::Setup(e.to_string());
    for parameter in ["", "pli"] {
        media.register_feedback(
            RTCPFeedback {
                typ: TYPE_RTCP_FB_NACK.to_owned(),
                parameter: parameter.to_owned(),
            },
            RtpCodecKind::Video,
        );
    }
    configure_simulcast_extension_headers(media).map_err(setup)?;
    let resent = ResentPackets::default();
    let restored = resent.restored();
    let registry = Registry::new()
        .with(Slot::NackResponder, NackResponderBuilder::new().build())
        .with(Slot::from(RESENT_SLOT), StepInterceptor::new(resent))
        .with(Slot::NackGenerator, nack_generator().build())
        .with(Slot::from(RESTORED_SLOT), StepInterceptor::new(restored));
    let registry = configure_twcc_receiver_only(registry, media).map_err(setup)?;
    Ok(configure_rtcp_reports(registry))
}

/// Asks for a received video's lost packets every [`NACK_INTERVAL`], each at most
/// [`NACKS_PER_PACKET`] times.
fn nack_generator() -> NackGeneratorBuilder {
    NackGeneratorBuilder::new()
        .with_size(NACK_LOG)
        .with_interval(NACK_INTERVAL)
        .with_max_nacks_per_packet(NACKS_PER_PACKET)
}

/// The packets a received video's NACK generator remembers (webrtc-rs's default, set here so
/// [`ResentPackets`] knows it): a resent packet further behind than this is not shown to it.
const NACK_LOG: u16 = 512;

/// A resent packet as it came, kept by [`ResentPackets`] for [`ResentRestored`].
type AsItCame = (rtc::rtp::header::Header, bytes::Bytes);

/// Shows the NACK generator each resent packet of a received stream (RTX: the original
/// sequence number in the payload's first two bytes, on the stream's RTX SSRC and payload type)
/// as the packet it repairs, so the generator knows the loss was repaired. Only the generator:
/// [`ResentRestored`], just after it, gives the packet back as it came, and everything else
/// (the receiver reports of both streams, webrtc-rs's endpoint, which turns it back on its way
/// to the application) sees what it saw before.
///
/// Left as it came: a packet on the RTX SSRC with no original sequence number (the browser's
/// padding while it probes the link), one with another payload type, and one repairing a
/// packet the generator no longer remembers ([`NACK_LOG`] behind the stream's newest: its log
/// would take it for a newer one).
#[derive(Debug, Default)]
pub(crate) struct ResentPackets {
    /// For each bound RTX SSRC: the repaired stream's SSRC, the RTX payload type and the
    /// repaired stream's payload type.
    streams: HashMap<u32, (u32, u8, u8)>,
    /// Each repaired stream's newest sequence number (`None` before its first packet).
    newest: HashMap<u32, Option<u16>>,
    /// The packet turned and not yet given back. webrtc-rs's chain takes each packet through
    /// every step before the next one comes, and the generator keeps none back, so there is
    /// one at most.
    turned: Arc<Mutex<Option<AsItCame>>>,
}

impl ResentPackets {
    /// The step that gives the packets this one turned back as they came, for the slot after
    /// the NACK generator.
    pub(crate) fn restored(&self) -> ResentRestored {
        ResentRestored {
            turned: self.turned.clone(),
        }
    }
}

impl PacketStep for ResentPackets {
    fn read(&mut self, mut msg: TaggedPacket, out: &mut VecDeque<TaggedPacket>) {
        if let Packet::Rtp(rtp) = &mut msg.message.packet {
            let header = &mut rtp.header;
            if let Some(newest) = self.newest.get_mut(&header.ssrc) {
                let seq = header.sequence_number;
                if newest.is_none_or(|n| seq.wrapping_sub(n) < 0x8000) {
                    *newest = Some(seq);
                }
            } else if let Some(&(ssrc, rtx_type, payload_type)) = self.streams.get(&header.ssrc) {
                let newest = self.newest.get(&ssrc).copied().flatten();
                let original = (header.payload_type == rtx_type && rtp.payload.len() >= 2)
                    .then(|| u16::from_be_bytes([rtp.payload[0], rtp.payload[1]]))
                    .filter(|o| newest.is_some_and(|n| n.wrapping_sub(*o) < NACK_LOG));
                if let Some(original) = original {
                    *self.turned.lock().expect("resent packets") =
                        Some((header.clone(), rtp.payload.clone()));
                    header.ssrc = ssrc;
                    header.payload_type = payload_type;
                    header.sequence_number = original;
                    // The sender took out any padding before resending (RFC 4588, section 4).
                    header.padding = false;
                    rtp.payload = rtp.payload.slice(2..);
                }
            }
        }
        out.push_back(msg);
    }

    fn bind_remote(&mut self, info: &StreamInfo) {
        if let (Some(rtx), Some(rtx_type)) = (info.ssrc_rtx, info.payload_type_rtx) {
            self.streams
                .insert(rtx, (info.ssrc, rtx_type, info.payload_type));
            self.newest.insert(info.ssrc, None);
        }
    }

    fn unbind_remote(&mut self, info: &StreamInfo) {
        if let Some(rtx) = info.ssrc_rtx {
            self.streams.remove(&rtx);
            self.newest.remove(&info.ssrc);
        }
    }
}

/// Gives back, as it came, each resent packet [`ResentPackets`] turned for the NACK generator
/// (made by [`ResentPackets::restored`]). A packet is known by its payload, which the turn
/// shares with the one kept.
#[derive(Debug)]
pub(crate) struct ResentRestored {
    turned: Arc<Mutex<Option<AsItCame>>>,
}

impl PacketStep for ResentRestored {
    fn read(&mut self, mut msg: TaggedPacket, out: &mut VecDeque<TaggedPacket>) {
        if let Packet::Rtp(rtp) = &mut msg.message.packet {
            let mut turned = self.turned.lock().expect("resent packets");
            let this = turned.as_ref().is_some_and(|(_, payload)| {
                payload.len() == rtp.payload.len() + 2
                    && std::ptr::eq(payload[2..].as_ptr(), rtp.payload.as_ptr())
            });
            // The next packet here is the one turned; were it another, the kept one went no
            // further, and is let go.
            if let Some((header, payload)) = turned.take().filter(|_| this) {
                rtp.header = header;
                rtp.payload = payload;
            }
        }
        out.push_back(msg);
    }
}

#[cfg(test)]
mod tests;
