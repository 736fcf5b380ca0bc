//! One participant's peer connection: receives their camera and microphone, sends the composite
//! and one audio slot per seat. The server always answers; the browser offers.
//!
//! A later offer from the same browser connection (same DTLS fingerprint), such as an ICE
//! restart after a network drop, is answered on the same connection by [`PeerLink::reanswer`]:
//! webrtc-rs restarts ICE with fresh credentials when the offer's ufrag/pwd changed, and keeps
//! the DTLS session, the tracks and their SSRCs.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::{Registry, Slot};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{
    MediaEngine, MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RTCRtpRtxParameters,
    RtpCodecKind,
};
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceGatheringState,
    RTCPeerConnectionState,
};
use webrtc::rtp_transceiver::RtpSender;

use super::fec::{CompositeFec, RepairStream};
use super::offer::{
    check_ingest_offer, composite_line, fingerprint, flexfec_payload_type, parse_offer,
    CompositeLine,
};
use super::rtcp::{ApplicationRtcp, CompositeLink, RepairGate};
use super::screen::ScreenTracks;
use super::RtcError;
use crate::media::encoder::VideoCodec;

/// The composite's codec as negotiated: H.264 constrained baseline where the browser decodes
/// H.264, VP8 where it does not (Firefox ESR without OpenH264).
fn composite_codec(codec: VideoCodec) -> RTCRtpCodec {
    match codec {
        VideoCodec::H264 => RTCRtpCodec {
            mime_type: MIME_TYPE_H264.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
                .to_owned(),
            rtcp_feedback: vec![],
        },
        VideoCodec::Vp8 => RTCRtpCodec {
            mime_type: MIME_TYPE_VP8.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![],
        },
    }
}

fn mime_of(codec: VideoCodec) -> &'static str {
    match codec {
        VideoCodec::H264 => MIME_TYPE_H264,
        VideoCodec::Vp8 => MIME_TYPE_VP8,
    }
}

fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

/// What the peer connection reports.
#[derive(Clone)]
pub enum PeerEvent {
    /// A remote track (camera or microphone) arrived.
    Track(Arc<dyn TrackRemote>),
    /// The connection is up (again, after an ICE restart).
    Connected,
    /// The connection lost its path (disconnected or failed); an ICE restart may bring it back.
    Interrupted,
    /// The connection closed for good.
    Closed,
}

struct Handler {
    events: mpsc::UnboundedSender<PeerEvent>,
    /// Counts completed ICE gatherings (the first one, then one per restart).
    gathered: watch::Sender<u64>,
    /// Set once the connection has closed.
    closed: Arc<AtomicBool>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered.send_modify(|n| *n += 1);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        tracing::debug!(%state, "peer connection state");
        let event = match state {
            RTCPeerConnectionState::Connected => PeerEvent::Connected,
            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Disconnected => {
                PeerEvent::Interrupted
            }
            RTCPeerConnectionState::Closed => {
                self.closed.store(true, Ordering::Release);
                PeerEvent::Closed
            }
            _ => return,
        };
        let _ = self.events.send(event);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.events.send(PeerEvent::Track(track));
    }
}

/// An outbound audio slot: carries the voice of whoever sits in one seat.
pub struct AudioSlot {
    /// The track.
    pub track: Arc<TrackLocalStaticRTP>,
    /// Its SSRC, stamped on forwarded packets.
    pub ssrc: u32,
    /// Negotiated payload type.
    pub payload_type: u8,
}

/// The outbound composite of one connection.
pub struct CompositeTrack {
    /// The video track.
    pub track: Arc<TrackLocalStaticSample>,
    /// Its SSRC.
    pub ssrc: u32,
    /// Negotiated payload type.
    pub payload_type: u8,
    /// Negotiated codec.
    pub codec: VideoCodec,
    /// What the browser reports of how the composite reaches it.
    pub link: Arc<CompositeLink>,
}

/// A negotiated participant connection.
pub struct ParticipantPeer {
    /// The connection.
    pub pc: Arc<dyn PeerConnection>,
    /// The composite, unless the offer receives no video (a WHIP encoder).
    pub composite: Option<CompositeTrack>,
    /// One audio slot per seat.
    pub audio_slots: Vec<AudioSlot>,
    /// Events from the connection.
    pub events: mpsc::UnboundedReceiver<PeerEvent>,
    /// What signalling keeps to answer later offers on this connection.
    pub link: PeerLink,
}

/// A handle on a negotiated connection for later offers from the same browser connection.
#[derive(Clone)]
pub struct PeerLink {
    pc: Arc<dyn PeerConnection>,
    gathered: watch::Receiver<u64>,
    closed: Arc<AtomicBool>,
    /// The DTLS fingerprint of the browser connection that made the first offer.
    fingerprint: Option<String>,
    /// The screens its offers announced.
    screens: ScreenTracks,
    /// The composite's repair stream, added to each answer (see [`announce_repairs`]), and
    /// the link whose interceptor sends it.
    repair: Option<(RepairStream, Arc<CompositeLink>)>,
}

impl PeerLink {
    /// The screens this connection's offers announced ([`super::screen`]).
    pub fn screens(&self) -> &ScreenTracks {
        &self.screens
    }

    /// Whether `offer_sdp` comes from the same browser connection as the first offer (same
    /// DTLS certificate fingerprint), so it can be answered on this connection. A new browser
    /// connection has a new certificate.
    pub fn same_browser_connection(&self, offer_sdp: &str) -> bool {
        self.fingerprint.is_some() && fingerprint(offer_sdp) == self.fingerprint
    }

    /// Whether the connection has been closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Closes the connection: its sockets, its tasks and its transports. Signalling calls it
    /// when the session ends or a new browser connection takes over, so nothing waits for a
    /// media task that was aborted to do it.
    pub async fn close(&self) {
        if let Err(e) = self.pc.close().await {
            tracing::debug!("closing a peer connection: {e}");
        }
    }

    /// Answers a later offer on the same connection: with new ICE credentials in the offer this
    /// is an ICE restart (webrtc-rs restarts its agent and answers with new credentials of its
    /// own); the tracks, SSRCs and the DTLS session stay. Returns the complete answer SDP.
    pub async fn reanswer(&self, offer_sdp: String) -> Result<String, RtcError> {
        // A screen added to the connection is known before its media comes.
        self.screens.note_offer(&offer_sdp);
        let repair_payload_type = flexfec_payload_type(&offer_sdp);
        let offer = parse_offer(offer_sdp)?;
        let mut gathered = self.gathered.clone();
        let before = *gathered.borrow_and_update();
        self.pc
            .set_remote_description(offer)
            .await
            .map_err(|e| RtcError::BadSdp(e.to_string()))?;
        let answer = self
            .pc
            .create_answer(None)
            .await
            .map_err(|e| RtcError::BadSdp(e.to_string()))?;
        self.pc
            .set_local_description(answer)
            .await
            .map_err(|e| RtcError::Setup(e.to_string()))?;
        // Candidates survive the restart (same sockets); wait briefly for a restarted gathering
        // to finish so the answer is complete.
        let _ = tokio::time::timeout(
            Duration::from_millis(1500),
            gathered.wait_for(|n| *n > before),
        )
        .await;
        let sdp = self
            .pc
            .local_description()
            .await
            .ok_or_else(|| RtcError::Setup("no local description".into()))?
            .sdp;
        Ok(announce_repairs(
            sdp,
            self.repair.as_ref(),
            repair_payload_type,
        ))
    }
}

/// A peer connection as every one here is built, from its media engine and interceptors, on
/// a UDP port of `udp_ip`, and what its handler reports.
struct Connection {
    pc: Arc<dyn PeerConnection>,
    events: mpsc::UnboundedReceiver<PeerEvent>,
    /// Counts completed ICE gatherings.
    gathered: watch::Receiver<u64>,
    /// Set once the connection has closed.
    closed: Arc<AtomicBool>,
}

impl Connection {
    async fn open(
        media: MediaEngine,
        registry: Registry,
        udp_ip: IpAddr,
    ) -> Result<Self, webrtc::error::Error> {
        // No mDNS: it needs a multicast socket, which a loopback-only namespace lacks.
        let setting = SettingEngineBuilder::new()
            .with_multicast_dns_mode(MulticastDnsMode::Disabled)
            .build();
        let (events_tx, events) = mpsc::unbounded_channel();
        let (gathered_tx, gathered) = watch::channel(0u64);
        let closed = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(Handler {
            events: events_tx,
            gathered: gathered_tx,
            closed: closed.clone(),
        });
        let pc: Arc<dyn PeerConnection> = Arc::new(
            PeerConnectionBuilder::new()
                .with_configuration(RTCConfigurationBuilder::new().build())
                .with_media_engine(media)
                .with_setting_engine(setting)
                .with_interceptor_registry(registry)
                .with_handler(handler as Arc<dyn PeerConnectionEventHandler>)
                .with_udp_addrs(vec![format!("{udp_ip}:0")])
                .build()
                .await?,
        );
        Ok(Self {
            pc,
            events,
            gathered,
            closed,
        })
    }
}

/// The answer with the composite's repair stream in its section, where there is one. webrtc-rs
/// takes a sender's codecs from the first video section of the offer, which in a page's offer
/// is its camera's (sending, without FlexFEC), so it neither answers FlexFEC on the composite's
/// line nor names the repair stream: [`RepairStream::announce`] does both.
/// The link's interceptor sends repairs only while the answer names their stream, and only
/// while the offer being answered (`offered`: its FlexFEC payload type) still offers FlexFEC
/// under the payload type the repair stream was built with: a later offer that drops it, or
/// moves it, is answered without repairs, and none go out.
fn announce_repairs(
    answer_sdp: String,
    repair: Option<&(RepairStream, Arc<CompositeLink>)>,
    offered: Option<u8>,
) -> String {
    match repair {
        Some((r, link)) if offered == Some(r.payload_type) => {
            let sdp = r.announce(&answer_sdp);
            let group = format!("a=ssrc-group:FEC-FR {} {}", r.media_ssrc, r.ssrc);
            link.set_repairs_announced(sdp.lines().any(|l| l.trim() == group));
            sdp
        }
        Some((_, link)) => {
            link.set_repairs_announced(false);
            answer_sdp
        }
        None => answer_sdp,
    }
}

/// Answers a browser's offer. Returns the connection and the complete answer SDP.
pub async fn answer(
    offer_sdp: String,
    udp_ip: IpAddr,
    audio_slots: usize,
) -> Result<(ParticipantPeer, String), RtcError> {
    let composite = match composite_line(&offer_sdp) {
        CompositeLine::Absent => None,
        CompositeLine::Codec(c) => Some(c),
        CompositeLine::NoCommonCodec(offered) => return Err(RtcError::NoCommonCodec(offered)),
    };
    answer_with(offer_sdp, udp_ip, audio_slots, composite).await
}

/// Answers a send-only client's offer (a WHIP encoder, RFC 9725): its camera and microphone
/// are received; nothing is sent back, whatever directions its lines say (a WHIP client that
/// used `addTrack` offers `sendrecv`, and is answered `recvonly`).
pub async fn answer_ingest(
    offer_sdp: String,
    udp_ip: IpAddr,
) -> Result<(ParticipantPeer, String), RtcError> {
    check_ingest_offer(&offer_sdp)?;
    answer_with(offer_sdp, udp_ip, 0, None).await
}

async fn answer_with(
    offer_sdp: String,
    udp_ip: IpAddr,
    audio_slots: usize,
    composite_codec_wanted: Option<VideoCodec>,
) -> Result<(ParticipantPeer, String), RtcError> {
    let browser_fingerprint = fingerprint(&offer_sdp);
    let screens = ScreenTracks::default();
    screens.note_offer(&offer_sdp);
    let composite_ssrc = rand::random::<u32>();
    // Repair packets for the composite where the browser decodes them (Chromium).
    let repair = composite_codec_wanted
        .and(flexfec_payload_type(&offer_sdp))
        .map(|payload_type| RepairStream {
            media_ssrc: composite_ssrc,
            ssrc: rand::random::<u32>(),
            payload_type,
        });
    // Parse before building anything, so junk costs nothing.
    let offer = parse_offer(offer_sdp)?;

    let setup = |e: webrtc::error::Error| RtcError::Setup(e.to_string());
    let mut media = MediaEngine::default();
    media
        .register_default_codecs()
        .map_err(|e| RtcError::Setup(e.to_string()))?;
    let link = Arc::new(CompositeLink::default());
    let registry = super::nack::default_chain(&mut media)?
        // The composite's repair packets, where the link loses some.
        .with(Slot::FecEncoder, CompositeFec::new(link.clone(), repair))
        // Between the pacer and the NACK responder: drops the composite's NACKs while a
        // rendition switch holds them.
        .with(Slot::from(3_500), RepairGate::new(link.clone()))
        // Last, so the default interceptors see all inbound RTCP first.
        .with(Slot::from(14_000), ApplicationRtcp::new(link.clone()));
    let Connection {
        pc,
        events,
        mut gathered,
        closed,
    } = Connection::open(media, registry, udp_ip)
        .await
        .map_err(setup)?;

    // Tracks go in before the offer is applied, so they pair with the browser's recvonly lines.
    let mut composite = None;
    if let Some(codec) = composite_codec_wanted {
        let ssrc = composite_ssrc;
        let track = Arc::new(
            TrackLocalStaticSample::new(
                Instant::now(),
                MediaStreamTrack::new(
                    "courtroom".into(),
                    "composite".into(),
                    "composite".into(),
                    RtpCodecKind::Video,
                    vec![RTCRtpEncodingParameters {
                        rtp_coding_parameters: RTCRtpCodingParameters {
                            ssrc: Some(ssrc),
                            // Retransmissions on their own stream (RFC 4588), as browsers
                            // expect: the NACK responder resends from its history there.
                            rtx: Some(RTCRtpRtxParameters {
                                ssrc: rand::random::<u32>(),
                            }),
                            ..Default::default()
                        },
                        codec: composite_codec(codec),
                        ..Default::default()
                    }],
                ),
            )
            .map_err(setup)?,
        );
        let sender = pc
            .add_track(track.clone() as Arc<dyn TrackLocal>)
            .await
            .map_err(setup)?;
        link.set_ssrc(ssrc);
        composite = Some((track, ssrc, codec, sender));
    }
    let mut slots = Vec::with_capacity(audio_slots);
    for seat in 0..audio_slots {
        let ssrc = rand::random::<u32>();
        let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            format!("seat-{seat}"),
            format!("seat-{seat}-audio"),
            format!("seat {seat}"),
            RtpCodecKind::Audio,
            vec![encoding(ssrc, opus_codec())],
        )));
        let sender = pc
            .add_track(track.clone() as Arc<dyn TrackLocal>)
            .await
            .map_err(setup)?;
        slots.push((track, ssrc, sender));
    }

    pc.set_remote_description(offer)
        .await
        .map_err(|e| RtcError::BadSdp(e.to_string()))?;
    let answer = pc
        .create_answer(None)
        .await
        .map_err(|e| RtcError::BadSdp(e.to_string()))?;
    pc.set_local_description(answer).await.map_err(setup)?;
    // Non-trickle: wait for host candidates (fast on loopback and LAN).
    let _ = tokio::time::timeout(Duration::from_secs(3), gathered.wait_for(|n| *n > 0)).await;
    let sdp = pc
        .local_description()
        .await
        .ok_or_else(|| RtcError::Setup("no local description".into()))?
        .sdp;
    let offered = repair.as_ref().map(|r| r.payload_type);
    let repair = repair.map(|r| (r, link.clone()));
    let sdp = announce_repairs(sdp, repair.as_ref(), offered);

    let composite = match composite {
        Some((track, ssrc, codec, sender)) => {
            let payload_type = payload_type(&sender, mime_of(codec)).await.ok_or_else(|| {
                RtcError::BadSdp(format!(
                    "the courtroom video's receive line could not be negotiated in {}",
                    codec.as_str()
                ))
            })?;
            Some(CompositeTrack {
                track,
                ssrc,
                payload_type,
                codec,
                link,
            })
        }
        None => None,
    };
    let mut audio = Vec::with_capacity(slots.len());
    for (track, ssrc, sender) in slots {
        // A browser that offered fewer audio slots just hears fewer seats.
        if let Some(pt) = payload_type(&sender, MIME_TYPE_OPUS).await {
            audio.push(AudioSlot {
                track,
                ssrc,
                payload_type: pt,
            });
        }
    }
    let link = PeerLink {
        pc: pc.clone(),
        gathered: gathered.clone(),
        closed,
        fingerprint: browser_fingerprint,
        screens,
        repair,
    };
    Ok((
        ParticipantPeer {
            link,
            pc,
            composite,
            audio_slots: audio,
            events,
        },
        sdp,
    ))
}

fn encoding(ssrc: u32, codec: RTCRtpCodec) -> RTCRtpEncodingParameters {
    RTCRtpEncodingParameters {
        rtp_coding_parameters: RTCRtpCodingParameters {
            ssrc: Some(ssrc),
            ..Default::default()
        },
        codec,
        ..Default::default()
    }
}

/// The negotiated payload type of the sender's codec with this MIME type. For H.264 it prefers
/// packetization-mode=1 with a constrained-baseline profile, which is what our encoder makes.
async fn payload_type(sender: &Arc<dyn RtpSender>, mime: &str) -> Option<u8> {
    let params = sender.get_parameters().await.ok()?;
    let codecs = params.rtp_parameters.codecs;
    let same_mime = |c: &&rtc::rtp_transceiver::rtp_sender::RTCRtpCodecParameters| {
        c.rtp_codec.mime_type.eq_ignore_ascii_case(mime)
    };
    codecs
        .iter()
        .filter(same_mime)
        .find(|c| {
            let f = &c.rtp_codec.sdp_fmtp_line;
            mime != MIME_TYPE_H264 || (f.contains("packetization-mode=1") && f.contains("42e01f"))
        })
        .or_else(|| codecs.iter().find(same_mime))
        .map(|c| c.payload_type)
}

#[cfg(test)]
mod tests;
