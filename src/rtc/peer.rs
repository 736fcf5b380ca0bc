//! One participant's peer connection: receives their camera and microphone, sends the composite
//! and one audio slot per seat. The server always answers; the browser offers.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::Registry;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{
    MediaEngine, MIME_TYPE_H264, MIME_TYPE_OPUS,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceGatheringState,
    RTCPeerConnectionState,
};
use webrtc::rtp_transceiver::RtpSender;

use super::RtcError;

/// The composite's codec: H.264 constrained baseline, which every browser decodes.
fn composite_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_H264.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
            .to_owned(),
        rtcp_feedback: vec![],
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
    /// The connection is up.
    Connected,
    /// The connection failed or closed.
    Closed,
}

struct Handler {
    events: mpsc::UnboundedSender<PeerEvent>,
    gathered: mpsc::UnboundedSender<()>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(());
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        tracing::debug!(%state, "peer connection state");
        let event = match state {
            RTCPeerConnectionState::Connected => PeerEvent::Connected,
            RTCPeerConnectionState::Failed
            | RTCPeerConnectionState::Closed
            | RTCPeerConnectionState::Disconnected => PeerEvent::Closed,
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

/// A negotiated participant connection.
pub struct ParticipantPeer {
    /// The connection.
    pub pc: Arc<dyn PeerConnection>,
    /// The composite video track.
    pub composite: Arc<TrackLocalStaticSample>,
    /// The composite's SSRC.
    pub composite_ssrc: u32,
    /// The composite's negotiated payload type.
    pub composite_pt: u8,
    /// One audio slot per seat.
    pub audio_slots: Vec<AudioSlot>,
    /// Events from the connection.
    pub events: mpsc::UnboundedReceiver<PeerEvent>,
}

/// Answers a browser's offer. Returns the connection and the complete answer SDP.
pub async fn answer(
    offer_sdp: String,
    udp_ip: IpAddr,
    audio_slots: usize,
) -> Result<(ParticipantPeer, String), RtcError> {
    let offer =
        RTCSessionDescription::offer(offer_sdp).map_err(|e| RtcError::BadSdp(e.to_string()))?;
    // Parse before building anything, so junk costs nothing.
    offer
        .unmarshal()
        .map_err(|e| RtcError::BadSdp(e.to_string()))?;

    let setup = |e: webrtc::error::Error| RtcError::Setup(e.to_string());
    let mut media = MediaEngine::default();
    media
        .register_default_codecs()
        .map_err(|e| RtcError::Setup(e.to_string()))?;
    let registry = register_default_interceptors(Registry::new(), &mut media)
        .map_err(|e| RtcError::Setup(e.to_string()))?;
    // No mDNS: it needs a multicast socket, which a loopback-only namespace lacks.
    let setting = SettingEngineBuilder::new()
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .build();
    let (events_tx, events) = mpsc::unbounded_channel();
    let (gathered_tx, mut gathered) = mpsc::unbounded_channel();
    let handler = Arc::new(Handler {
        events: events_tx,
        gathered: gathered_tx,
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
    let composite_ssrc = rand::random::<u32>();
    let composite = Arc::new(
        TrackLocalStaticSample::new(
            Instant::now(),
            MediaStreamTrack::new(
                "courtroom".into(),
                "composite".into(),
                "composite".into(),
                RtpCodecKind::Video,
                vec![encoding(composite_ssrc, composite_codec())],
            ),
        )
        .map_err(setup)?,
    );
    let composite_sender = pc
        .add_track(composite.clone() as Arc<dyn TrackLocal>)
        .await
        .map_err(setup)?;
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
    let _ = tokio::time::timeout(Duration::from_secs(3), gathered.recv()).await;
    let sdp = pc
        .local_description()
        .await
        .ok_or_else(|| RtcError::Setup("no local description".into()))?
        .sdp;

    let composite_pt = payload_type(&composite_sender, MIME_TYPE_H264)
        .await
        .ok_or_else(|| {
            RtcError::BadSdp("the offer has no H.264 receive line for the courtroom video".into())
        })?;
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
    Ok((
        ParticipantPeer {
            pc,
            composite,
            composite_ssrc,
            composite_pt,
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
