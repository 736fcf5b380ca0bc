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
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{
    MediaEngine, MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::sdp::RTCSessionDescription;
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

/// What an offer asks of the courtroom video, read from its SDP before anything is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompositeLine {
    /// No video line receives (a WHIP encoder only sends): no composite is sent.
    Absent,
    /// The first receiving video line takes this codec: H.264 where offered, else VP8.
    Codec(VideoCodec),
    /// The receiving video line offers neither; the names it offers instead.
    NoCommonCodec(String),
}

/// Reads which codec the composite can go out in to the browser that made `offer_sdp`: the
/// first `m=video` section that receives (`recvonly` or `sendrecv`, not rejected with port 0);
/// H.264 if its `rtpmap`s list it, else VP8.
pub fn composite_line(offer_sdp: &str) -> CompositeLine {
    let Some(section) = receiving_video_section(offer_sdp) else {
        return CompositeLine::Absent;
    };
    let names: Vec<String> = section
        .iter()
        .filter_map(|l| l.strip_prefix("a=rtpmap:"))
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter_map(|enc| enc.split('/').next())
        .map(str::to_ascii_uppercase)
        .collect();
    if names.iter().any(|n| n == "H264") {
        CompositeLine::Codec(VideoCodec::H264)
    } else if names.iter().any(|n| n == "VP8") {
        CompositeLine::Codec(VideoCodec::Vp8)
    } else {
        let mut offered: Vec<String> = names
            .into_iter()
            .filter(|n| !matches!(n.as_str(), "RTX" | "RED" | "ULPFEC" | "FLEXFEC-03"))
            .collect();
        offered.dedup();
        CompositeLine::NoCommonCodec(if offered.is_empty() {
            "no video codec".into()
        } else {
            offered.join(", ")
        })
    }
}

/// The lines of the offer's first `m=video` section that receives (`recvonly` or
/// `sendrecv`, not rejected with port 0): where the composite goes.
fn receiving_video_section(offer_sdp: &str) -> Option<Vec<&str>> {
    let mut sections: Vec<Vec<&str>> = Vec::new();
    for line in offer_sdp.lines().map(str::trim) {
        if line.starts_with("m=") {
            sections.push(vec![line]);
        } else if let Some(s) = sections.last_mut() {
            s.push(line);
        }
    }
    sections.into_iter().find(|s| {
        let m = s[0];
        // Port 0 rejects a line, unless it is bundle-only (Firefox's bundled lines, RFC 8843).
        let rejected =
            m.split_whitespace().nth(1) == Some("0") && !s.iter().any(|l| *l == "a=bundle-only");
        m.starts_with("m=video")
            && !rejected
            && s.iter().any(|l| *l == "a=recvonly" || *l == "a=sendrecv")
    })
}

/// The payload type the offer gives FlexFEC draft 03 on the composite's line, if it offers it
/// there (Chromium does, on its receiving lines; Firefox does not).
fn flexfec_payload_type(offer_sdp: &str) -> Option<u8> {
    receiving_video_section(offer_sdp)?
        .iter()
        .filter_map(|l| l.strip_prefix("a=rtpmap:"))
        .find_map(|l| {
            let (pt, encoding) = l.split_once(' ')?;
            encoding
                .trim()
                .eq_ignore_ascii_case("flexfec-03/90000")
                .then(|| pt.parse().ok())
                .flatten()
        })
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
        Ok(announce_repairs(sdp, self.repair.as_ref()))
    }
}

/// The answer with the composite's repair stream in its section, where there is one. webrtc-rs
/// takes a sender's codecs from the first video section of the offer, which in a page's offer
/// is its camera's (sending, without FlexFEC), so it neither answers FlexFEC on the composite's
/// line nor names the repair stream: [`RepairStream::announce`] does both.
/// The link's interceptor sends repairs only while the answer names their stream.
fn announce_repairs(
    answer_sdp: String,
    repair: Option<&(RepairStream, Arc<CompositeLink>)>,
) -> String {
    match repair {
        Some((r, link)) => {
            let sdp = r.announce(&answer_sdp);
            let group = format!("a=ssrc-group:FEC-FR {} {}", r.media_ssrc, r.ssrc);
            link.set_repairs_announced(sdp.lines().any(|l| l.trim() == group));
            sdp
        }
        None => answer_sdp,
    }
}

/// The first `a=fingerprint:` value of an SDP (session or media level).
fn fingerprint(sdp: &str) -> Option<String> {
    sdp.lines()
        .find_map(|l| l.trim().strip_prefix("a=fingerprint:"))
        .map(|f| f.trim().to_ascii_lowercase())
}

/// A client's offer as webrtc-rs takes it, parsed (and so checked) before anything is built:
/// every offer that reaches a peer connection, first or later, passes here first. Anything
/// that does not parse is [`RtcError::BadSdp`].
pub fn parse_offer(offer_sdp: String) -> Result<RTCSessionDescription, RtcError> {
    let offer =
        RTCSessionDescription::offer(offer_sdp).map_err(|e| RtcError::BadSdp(e.to_string()))?;
    offer
        .unmarshal()
        .map_err(|e| RtcError::BadSdp(e.to_string()))?;
    Ok(offer)
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

/// What [`answer_ingest`] asks of an offer before parsing it: at least one audio or video line.
pub fn check_ingest_offer(offer_sdp: &str) -> Result<(), RtcError> {
    if !offer_sdp
        .lines()
        .any(|l| l.starts_with("m=video") || l.starts_with("m=audio"))
    {
        return Err(RtcError::BadSdp(
            "the offer has no audio or video line".into(),
        ));
    }
    Ok(())
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
    let registry = register_default_interceptors(Registry::new(), &mut media)
        .map_err(|e| RtcError::Setup(e.to_string()))?
        // The composite's repair packets, where the link loses some.
        .with(Slot::FecEncoder, CompositeFec::new(link.clone(), repair))
        // Between the pacer and the NACK responder: drops the composite's NACKs while a
        // rendition switch holds them.
        .with(Slot::from(3_500), RepairGate::new(link.clone()))
        // Last, so the default interceptors see all inbound RTCP first.
        .with(Slot::from(14_000), ApplicationRtcp::new(link.clone()));
    // No mDNS: it needs a multicast socket, which a loopback-only namespace lacks.
    let setting = SettingEngineBuilder::new()
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .build();
    let (events_tx, events) = mpsc::unbounded_channel();
    let (gathered_tx, mut gathered) = watch::channel(0u64);
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
            .await
            .map_err(setup)?,
    );

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
    let repair = repair.map(|r| (r, link.clone()));
    let sdp = announce_repairs(sdp, repair.as_ref());

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
mod tests {
    use super::*;
    use rtc::peer_connection::configuration::RTCOfferOptions;
    use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};

    /// A browser-like offerer on loopback: the composite and one audio slot to receive.
    struct Offerer {
        pc: Arc<dyn PeerConnection>,
        gathered: watch::Receiver<u64>,
        _events: mpsc::UnboundedReceiver<PeerEvent>,
    }

    impl Offerer {
        async fn new() -> Self {
            Self::with_video(None).await
        }

        /// An offerer whose video codecs are only `video` (as a browser without H.264), or
        /// the defaults.
        async fn with_video(video: Option<Vec<RTCRtpCodec>>) -> Self {
            let mut media = MediaEngine::default();
            match video {
                None => media.register_default_codecs().unwrap(),
                Some(codecs) => {
                    media
                        .register_codec(
                            rtc::rtp_transceiver::rtp_sender::RTCRtpCodecParameters {
                                rtp_codec: opus_codec(),
                                payload_type: 111,
                            },
                            RtpCodecKind::Audio,
                        )
                        .unwrap();
                    for (i, codec) in codecs.into_iter().enumerate() {
                        media
                            .register_codec(
                                rtc::rtp_transceiver::rtp_sender::RTCRtpCodecParameters {
                                    rtp_codec: codec,
                                    payload_type: 96 + i as u8,
                                },
                                RtpCodecKind::Video,
                            )
                            .unwrap();
                    }
                }
            }
            let registry = register_default_interceptors(Registry::new(), &mut media).unwrap();
            let setting = SettingEngineBuilder::new()
                .with_multicast_dns_mode(MulticastDnsMode::Disabled)
                .build();
            let (events_tx, events) = mpsc::unbounded_channel();
            let (gathered_tx, gathered) = watch::channel(0u64);
            let handler = Arc::new(Handler {
                events: events_tx,
                gathered: gathered_tx,
                closed: Arc::new(AtomicBool::new(false)),
            });
            let pc: Arc<dyn PeerConnection> = Arc::new(
                PeerConnectionBuilder::new()
                    .with_configuration(RTCConfigurationBuilder::new().build())
                    .with_media_engine(media)
                    .with_setting_engine(setting)
                    .with_interceptor_registry(registry)
                    .with_handler(handler as Arc<dyn PeerConnectionEventHandler>)
                    .with_udp_addrs(vec!["127.0.0.1:0".to_owned()])
                    .build()
                    .await
                    .unwrap(),
            );
            for kind in [RtpCodecKind::Video, RtpCodecKind::Audio] {
                let init = RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Recvonly,
                    streams: vec![],
                    send_encodings: vec![],
                };
                pc.add_transceiver_from_kind(kind, Some(init))
                    .await
                    .unwrap();
            }
            Self {
                pc,
                gathered,
                _events: events,
            }
        }

        /// A complete offer; with `restart`, with new ICE credentials.
        async fn offer(&mut self, restart: bool) -> String {
            let before = *self.gathered.borrow_and_update();
            let options = restart.then(|| RTCOfferOptions {
                ice_restart: true,
                ..Default::default()
            });
            let offer = self.pc.create_offer(options).await.unwrap();
            self.pc.set_local_description(offer).await.unwrap();
            let _ = tokio::time::timeout(
                Duration::from_secs(3),
                self.gathered.wait_for(|n| *n > before),
            )
            .await;
            self.pc.local_description().await.unwrap().sdp
        }

        async fn accept(&self, answer: &str) {
            self.pc
                .set_remote_description(RTCSessionDescription::answer(answer.to_owned()).unwrap())
                .await
                .unwrap();
        }
    }

    fn ufrag(sdp: &str) -> String {
        sdp.lines()
            .find_map(|l| l.trim().strip_prefix("a=ice-ufrag:"))
            .expect("an ice-ufrag")
            .to_owned()
    }

    #[test]
    fn the_composite_line_takes_h264_else_vp8_else_says_what_was_offered() {
        let offer = |video_maps: &str, dir: &str| {
            format!(
                "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
                 m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n\
                 m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n\
                 m=video 9 UDP/TLS/RTP/SAVPF 96 97 98\r\na={dir}\r\n{video_maps}"
            )
        };
        let chrome = "a=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=rtpmap:98 H264/90000\r\n";
        let firefox = "a=rtpmap:120 VP8/90000\r\na=rtpmap:124 rtx/90000\r\na=rtpmap:121 VP9/90000\r\na=rtpmap:99 AV1/90000\r\n";
        let av1 = "a=rtpmap:45 AV1/90000\r\na=rtpmap:46 rtx/90000\r\na=rtpmap:98 VP9/90000\r\n";
        assert_eq!(
            composite_line(&offer(chrome, "recvonly")),
            CompositeLine::Codec(VideoCodec::H264)
        );
        assert_eq!(
            composite_line(&offer(firefox, "recvonly")),
            CompositeLine::Codec(VideoCodec::Vp8)
        );
        assert_eq!(
            composite_line(&offer(av1, "recvonly")),
            CompositeLine::NoCommonCodec("AV1, VP9".into())
        );
        // Firefox's bundled lines have port 0 and `a=bundle-only`; a rejected line has no more.
        let bundled = offer(firefox, "recvonly").replacen(
            "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98",
            "m=video 0 UDP/TLS/RTP/SAVPF 96 97 98\r\na=bundle-only",
            1,
        );
        assert_eq!(
            composite_line(&bundled),
            CompositeLine::Codec(VideoCodec::Vp8)
        );
        let rejected = offer(firefox, "recvonly").replacen(
            "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98",
            "m=video 0 UDP/TLS/RTP/SAVPF 96 97 98",
            1,
        );
        assert_eq!(composite_line(&rejected), CompositeLine::Absent);
        // A WHIP encoder only sends: the sendonly VP8 camera line is no receive line.
        assert_eq!(
            composite_line(&offer(chrome, "sendonly")),
            CompositeLine::Absent
        );
    }

    /// VP8 as a browser's offer lists it.
    fn offered_vp8() -> RTCRtpCodec {
        RTCRtpCodec {
            mime_type: MIME_TYPE_VP8.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![],
        }
    }

    #[tokio::test]
    async fn a_browser_without_h264_gets_vp8_and_one_without_either_is_refused() {
        let vp8 = offered_vp8();
        let mut firefox = Offerer::with_video(Some(vec![vp8])).await;
        let (peer, answer_sdp) =
            answer(firefox.offer(false).await, "127.0.0.1".parse().unwrap(), 1)
                .await
                .expect("a VP8 answer");
        let composite = peer.composite.as_ref().expect("a composite track");
        assert_eq!(composite.codec, VideoCodec::Vp8);
        assert_eq!(composite.payload_type, 96);
        assert!(answer_sdp.contains("VP8/90000") && !answer_sdp.contains("H264"));
        firefox.accept(&answer_sdp).await;

        let av1 = RTCRtpCodec {
            mime_type: "video/AV1".to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![],
        };
        let mut odd = Offerer::with_video(Some(vec![av1])).await;
        match answer(odd.offer(false).await, "127.0.0.1".parse().unwrap(), 1).await {
            Err(RtcError::NoCommonCodec(offered)) => assert_eq!(offered, "AV1"),
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("an AV1-only offer was answered"),
        }

        let mut chrome = Offerer::new().await;
        let (peer, _) = answer(chrome.offer(false).await, "127.0.0.1".parse().unwrap(), 1)
            .await
            .unwrap();
        assert_eq!(peer.composite.unwrap().codec, VideoCodec::H264);
    }

    #[tokio::test]
    async fn a_browser_offering_flexfec_is_answered_with_a_repair_stream_and_firefox_is_not() {
        let vp8 = offered_vp8();
        let flexfec = RTCRtpCodec {
            mime_type: "video/flexfec-03".to_owned(),
            sdp_fmtp_line: "repair-window=10000000".to_owned(),
            ..vp8.clone()
        };
        let mut chrome = Offerer::with_video(Some(vec![vp8.clone(), flexfec])).await;
        let offer = chrome.offer(false).await;
        assert_eq!(flexfec_payload_type(&offer), Some(97));
        let (peer, answer_sdp) = answer(offer, "127.0.0.1".parse().unwrap(), 1)
            .await
            .expect("an answer");
        let composite = peer.composite.as_ref().expect("a composite track");
        assert_eq!(
            answer_sdp.matches("a=rtpmap:97 flexfec-03/90000").count(),
            1,
            "{answer_sdp}"
        );
        let group = answer_sdp
            .lines()
            .find_map(|l| l.strip_prefix("a=ssrc-group:FEC-FR "))
            .expect("the repair stream grouped with the composite");
        assert_eq!(
            group.split_whitespace().next(),
            Some(composite.ssrc.to_string().as_str())
        );
        assert!(composite.link.repairs_announced(), "so the repairs go out");
        // The offerer's own stack takes the answer.
        chrome.accept(&answer_sdp).await;

        let mut firefox = Offerer::with_video(Some(vec![vp8])).await;
        let (peer, answer_sdp) =
            answer(firefox.offer(false).await, "127.0.0.1".parse().unwrap(), 1)
                .await
                .expect("an answer");
        assert!(
            !answer_sdp.contains("flexfec") && !answer_sdp.contains("FEC-FR"),
            "{answer_sdp}"
        );
        assert!(!peer.composite.unwrap().link.repairs_announced());
    }

    #[test]
    fn flexfec_is_read_from_the_composites_line_not_the_cameras() {
        // A page's offer: its camera's line (sending, no FlexFEC), then the composite's.
        let offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
                     m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n\
                     m=video 9 UDP/TLS/RTP/SAVPF 96 49\r\na=recvonly\r\na=rtpmap:96 VP8/90000\r\n\
                     a=rtpmap:49 flexfec-03/90000\r\na=fmtp:49 repair-window=10000000\r\n";
        assert_eq!(flexfec_payload_type(offer), Some(49));
        let camera_only = offer.replace("a=rtpmap:49 flexfec-03/90000", "");
        assert_eq!(flexfec_payload_type(&camera_only), None);
    }

    #[tokio::test]
    async fn a_restart_offer_is_answered_on_the_same_connection_with_new_credentials() {
        let mut browser = Offerer::new().await;
        let first = browser.offer(false).await;
        let (peer, answer1) = answer(first.clone(), "127.0.0.1".parse().unwrap(), 1)
            .await
            .expect("first answer");
        browser.accept(&answer1).await;

        let restart = browser.offer(true).await;
        assert_ne!(ufrag(&restart), ufrag(&first), "the offerer restarted ICE");
        assert!(peer.link.same_browser_connection(&restart));
        let answer2 = peer.link.reanswer(restart).await.expect("re-answer");
        assert_ne!(
            ufrag(&answer2),
            ufrag(&answer1),
            "the server restarts ICE with credentials of its own"
        );
        assert_eq!(
            fingerprint(&answer2),
            fingerprint(&answer1),
            "the same DTLS session"
        );
        assert!(answer2.contains("a=candidate:"), "a complete answer");
        browser.accept(&answer2).await;

        // A new browser connection has a new certificate: not a re-offer.
        let mut other = Offerer::new().await;
        assert!(!peer.link.same_browser_connection(&other.offer(false).await));
    }
}
