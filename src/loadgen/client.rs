//! One synthetic participant: joins over the signalling socket, offers like the browser page
//! does (camera and microphone sendonly, one recvonly composite, one recvonly audio per seat),
//! publishes the clip in real time, and counts the composite frames it receives.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::Registry;
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{
    MediaEngine, MIME_TYPE_OPUS, MIME_TYPE_VP8,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceGatheringState,
    RTCPeerConnectionState,
};

use super::clip::Clip;
use super::composite_clock::CompositeClock;
use super::LoadgenError;

/// What one synthetic participant saw.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ClientReport {
    /// Role from the welcome.
    pub role: String,
    /// From sending `join` to the first composite packet.
    pub first_frame_ms: Option<f64>,
    /// Composite frames received (RTP marker bits).
    pub composite_frames: u64,
    /// Seconds of the composite's RTP timestamps per second received ([`CompositeClock`]).
    pub composite_clock_ratio: Option<f64>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

struct Handler {
    gathered: mpsc::UnboundedSender<()>,
    connected: mpsc::UnboundedSender<bool>,
    tracks: mpsc::UnboundedSender<Arc<dyn TrackRemote>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(());
        }
    }
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        match state {
            RTCPeerConnectionState::Connected => {
                let _ = self.connected.send(true);
            }
            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                let _ = self.connected.send(false);
            }
            _ => {}
        }
    }
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.tracks.send(track);
    }
}

fn codec(mime: &str, clock_rate: u32, channels: u16, fmtp: &str) -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: mime.into(),
        clock_rate,
        channels,
        sdp_fmtp_line: fmtp.into(),
        rtcp_feedback: vec![],
    }
}

fn sample_track(
    kind: RtpCodecKind,
    c: RTCRtpCodec,
) -> Result<(Arc<TrackLocalStaticSample>, u32), LoadgenError> {
    let ssrc = rand::random::<u32>();
    let track = TrackLocalStaticSample::new(
        Instant::now(),
        MediaStreamTrack::new(
            "loadgen".into(),
            format!("loadgen-{kind}"),
            format!("loadgen {kind}"),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec: c,
                ..Default::default()
            }],
        ),
    )
    .map_err(|e| LoadgenError::Rtc(e.to_string()))?;
    Ok((Arc::new(track), ssrc))
}

/// Joins with `token` at `ws_url`, publishes `clip` for `duration`, and reports.
pub async fn run(
    ws_url: &str,
    token: &str,
    clip: Arc<Clip>,
    duration: Duration,
    udp_ip: IpAddr,
) -> ClientReport {
    let mut report = ClientReport::default();
    if let Err(e) = run_inner(ws_url, token, clip, duration, udp_ip, &mut report).await {
        report.error = Some(e.to_string());
    }
    report
}

async fn run_inner(
    ws_url: &str,
    token: &str,
    clip: Arc<Clip>,
    duration: Duration,
    udp_ip: IpAddr,
    report: &mut ClientReport,
) -> Result<(), LoadgenError> {
    let joined_at = Instant::now();
    let mut session = match Session::open(ws_url, token, udp_ip, joined_at).await? {
        Opened::Seated(s) => s,
        Opened::Moved { .. } => {
            return Err(LoadgenError::Signalling(
                "the hearing runs on another node (moved)".into(),
            ))
        }
    };
    report.role = session.role.clone();
    let start = Instant::now();
    session.publish(&clip, start + duration, None).await?;
    report.composite_frames = session.frames.load(Ordering::Relaxed);
    report.first_frame_ms = *session.first_frame.lock().expect("first frame");
    report.composite_clock_ratio = session.clock.lock().expect("composite clock").ratio();
    session.close().await;
    Ok(())
}

/// How joining went.
pub(crate) enum Opened {
    /// Seated, media flowing.
    Seated(Box<Session>),
    /// Sent to another node (`url`), or told to come back after `retry_after_ms`.
    Moved {
        /// The owner's public URL, when given.
        url: Option<String>,
        /// How long to wait.
        retry_after_ms: u64,
        /// The cluster's nodes.
        nodes: Vec<String>,
    },
}

/// Why publishing stopped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SessionEnd {
    /// The time was up.
    Done,
    /// The server sent `moved` (the hearing left this node).
    Moved {
        /// Where to, when known.
        url: Option<String>,
        /// How long to wait.
        retry_after_ms: u64,
    },
    /// The socket or the media path went away, or the composite stopped coming.
    Lost(String),
}

/// One joined media session of a synthetic participant.
pub(crate) struct Session {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    pc: Arc<dyn PeerConnection>,
    pub(crate) role: String,
    video: Arc<TrackLocalStaticSample>,
    video_ssrc: u32,
    video_pt: u8,
    audio: Arc<TrackLocalStaticSample>,
    audio_ssrc: u32,
    audio_pt: u8,
    connected: mpsc::UnboundedReceiver<bool>,
    receiver: tokio::task::JoinHandle<()>,
    /// Composite frames received (RTP marker bits).
    pub(crate) frames: Arc<AtomicU64>,
    /// The composite's timestamps against the wall clock.
    pub(crate) clock: Arc<Mutex<CompositeClock>>,
    /// When the newest composite packet arrived.
    pub(crate) last_packet: Arc<Mutex<Option<Instant>>>,
    /// Milliseconds from joining to the first composite packet.
    pub(crate) first_frame: Arc<Mutex<Option<f64>>>,
}

impl Session {
    /// Joins with `token` at `ws_url` and negotiates media like the page does.
    pub(crate) async fn open(
        ws_url: &str,
        token: &str,
        udp_ip: IpAddr,
        joined_at: Instant,
    ) -> Result<Opened, LoadgenError> {
        let sig = |e: &dyn std::fmt::Display| LoadgenError::Signalling(e.to_string());
        let rtc_err = |e: &dyn std::fmt::Display| LoadgenError::Rtc(e.to_string());
        let (mut ws, _) = tokio::time::timeout(
            Duration::from_secs(5),
            tokio_tungstenite::connect_async(ws_url),
        )
        .await
        .map_err(|_| LoadgenError::Signalling(format!("{ws_url}: no answer within 5 s")))?
        .map_err(|e| sig(&e))?;
        ws.send(Message::Text(
            json!({"v": 1, "type": "join", "token": token})
                .to_string()
                .into(),
        ))
        .await
        .map_err(|e| sig(&e))?;
        let welcome = next_message(&mut ws, "welcome").await?;
        if welcome["type"] == "moved" {
            return Ok(Opened::Moved {
                url: welcome["url"].as_str().map(str::to_owned),
                retry_after_ms: welcome["retry_after_ms"].as_u64().unwrap_or(0),
                nodes: welcome["nodes"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|n| n.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
        let role = welcome["role"].as_str().unwrap_or_default().to_owned();
        let audio_slots = welcome["audio_slots"].as_u64().unwrap_or(0) as usize;

        let mut media = MediaEngine::default();
        media.register_default_codecs().map_err(|e| rtc_err(&e))?;
        let registry =
            register_default_interceptors(Registry::new(), &mut media).map_err(|e| rtc_err(&e))?;
        let (gathered_tx, mut gathered) = mpsc::unbounded_channel();
        let (connected_tx, mut connected) = mpsc::unbounded_channel();
        let (tracks_tx, mut tracks) = mpsc::unbounded_channel();
        let pc: Arc<dyn PeerConnection> = Arc::new(
            PeerConnectionBuilder::new()
                .with_configuration(RTCConfigurationBuilder::new().build())
                .with_media_engine(media)
                .with_setting_engine(
                    SettingEngineBuilder::new()
                        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
                        .build(),
                )
                .with_interceptor_registry(registry)
                .with_handler(Arc::new(Handler {
                    gathered: gathered_tx,
                    connected: connected_tx,
                    tracks: tracks_tx,
                }))
                .with_udp_addrs(vec![format!("{udp_ip}:0")])
                .build()
                .await
                .map_err(|e| rtc_err(&e))?,
        );
        let sendonly = || {
            Some(RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Sendonly,
                ..Default::default()
            })
        };
        let recvonly = || {
            Some(RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Recvonly,
                ..Default::default()
            })
        };
        let (video, video_ssrc) =
            sample_track(RtpCodecKind::Video, codec(MIME_TYPE_VP8, 90_000, 0, ""))?;
        let (audio, audio_ssrc) = sample_track(
            RtpCodecKind::Audio,
            codec(MIME_TYPE_OPUS, 48_000, 2, "minptime=10;useinbandfec=1"),
        )?;
        // Receive lines first: webrtc-rs negotiates one codec list per media kind from the first
        // m-line of that kind, and the camera line lists only VP8, which would leave the server no
        // H.264 for the composite. (Browsers list every codec on every line.)
        pc.add_transceiver_from_kind(RtpCodecKind::Video, recvonly())
            .await
            .map_err(|e| rtc_err(&e))?;
        for _ in 0..audio_slots {
            pc.add_transceiver_from_kind(RtpCodecKind::Audio, recvonly())
                .await
                .map_err(|e| rtc_err(&e))?;
        }
        let video_tr = pc
            .add_transceiver_from_track(video.clone() as Arc<dyn TrackLocal>, sendonly())
            .await
            .map_err(|e| rtc_err(&e))?;
        let audio_tr = pc
            .add_transceiver_from_track(audio.clone() as Arc<dyn TrackLocal>, sendonly())
            .await
            .map_err(|e| rtc_err(&e))?;
        let offer = pc.create_offer(None).await.map_err(|e| rtc_err(&e))?;
        pc.set_local_description(offer)
            .await
            .map_err(|e| rtc_err(&e))?;
        let _ = tokio::time::timeout(Duration::from_secs(3), gathered.recv()).await;
        let sdp = pc
            .local_description()
            .await
            .ok_or_else(|| LoadgenError::Rtc("no offer".into()))?
            .sdp;
        tracing::debug!(%sdp, "offer");
        ws.send(Message::Text(
            json!({"v": 1, "type": "offer", "sdp": sdp})
                .to_string()
                .into(),
        ))
        .await
        .map_err(|e| sig(&e))?;
        let answer = next_message(&mut ws, "answer").await?;
        let answer =
            RTCSessionDescription::answer(answer["sdp"].as_str().unwrap_or_default().to_owned())
                .map_err(|e| rtc_err(&e))?;
        pc.set_remote_description(answer)
            .await
            .map_err(|e| rtc_err(&e))?;

        match tokio::time::timeout(Duration::from_secs(10), connected.recv()).await {
            Ok(Some(true)) => {}
            _ => return Err(LoadgenError::Rtc("did not connect within 10 s".into())),
        }
        let frames = Arc::new(AtomicU64::new(0));
        let first_frame: Arc<Mutex<Option<f64>>> = Arc::default();
        let last_packet: Arc<Mutex<Option<Instant>>> = Arc::default();
        let clock: Arc<Mutex<CompositeClock>> = Arc::default();
        let (f2, ff2, lp2, c2) = (
            frames.clone(),
            first_frame.clone(),
            last_packet.clone(),
            clock.clone(),
        );
        let receiver = tokio::spawn(async move {
            while let Some(track) = tracks.recv().await {
                if track.kind().await != RtpCodecKind::Video {
                    // Voices of the other seats: drained, so the connection's queues never fill.
                    tokio::spawn(async move { while track.poll().await.is_some() {} });
                    continue;
                }
                let (frames, first_frame, last_packet, clock) =
                    (f2.clone(), ff2.clone(), lp2.clone(), c2.clone());
                tokio::spawn(async move {
                    while let Some(ev) = track.poll().await {
                        if let TrackRemoteEvent::OnRtpPacket(p) = ev {
                            *last_packet.lock().expect("last packet") = Some(Instant::now());
                            first_frame
                                .lock()
                                .expect("first frame")
                                .get_or_insert_with(|| joined_at.elapsed().as_secs_f64() * 1000.0);
                            if p.header.marker {
                                frames.fetch_add(1, Ordering::Relaxed);
                                clock
                                    .lock()
                                    .expect("composite clock")
                                    .frame(p.header.timestamp, Instant::now());
                            }
                        }
                    }
                });
            }
        });

        let video_pt = negotiated_pt(&video_tr, MIME_TYPE_VP8).await?;
        let audio_pt = negotiated_pt(&audio_tr, MIME_TYPE_OPUS).await?;
        Ok(Opened::Seated(Box::new(Session {
            ws,
            pc,
            role,
            video,
            video_ssrc,
            video_pt,
            audio,
            audio_ssrc,
            audio_pt,
            connected,
            receiver,
            frames,
            clock,
            last_packet,
            first_frame,
        })))
    }

    /// Publishes `clip` in real time until `until`, or until the session ends: the socket
    /// closes, a `moved` arrives, the media path fails, or (with `stall`) no composite packet
    /// came for that long.
    pub(crate) async fn publish(
        &mut self,
        clip: &Clip,
        until: Instant,
        stall: Option<Duration>,
    ) -> Result<SessionEnd, LoadgenError> {
        let rtc_err = |e: &dyn std::fmt::Display| LoadgenError::Rtc(e.to_string());
        let frame_period = Duration::from_secs(1) / clip.fps;
        let mut video_tick = tokio::time::interval(frame_period);
        let mut audio_tick = tokio::time::interval(Duration::from_millis(20));
        let mut watch = tokio::time::interval(Duration::from_millis(200));
        let started = Instant::now();
        let (mut vi, mut ai) = (0usize, 0usize);
        while Instant::now() < until {
            tokio::select! {
                _ = video_tick.tick() => {
                    let sample = Sample { data: clip.video[vi % clip.video.len()].clone(), duration: frame_period, ..Sample::new(Instant::now()) };
                    vi += 1;
                    if let Err(e) = self.video.sample_writer(self.video_ssrc, self.video_pt).write_sample(&sample).await {
                        return Err(rtc_err(&e));
                    }
                }
                _ = audio_tick.tick() => {
                    let sample = Sample { data: clip.audio[ai % clip.audio.len()].clone(), duration: Duration::from_millis(20), ..Sample::new(Instant::now()) };
                    ai += 1;
                    let _ = self.audio.sample_writer(self.audio_ssrc, self.audio_pt).write_sample(&sample).await;
                }
                msg = self.ws.next() => {
                    match msg {
                        Some(Ok(Message::Text(t))) => {
                            let v: Value = serde_json::from_str(&t).unwrap_or_default();
                            if v["type"] == "moved" {
                                return Ok(SessionEnd::Moved {
                                    url: v["url"].as_str().map(str::to_owned),
                                    retry_after_ms: v["retry_after_ms"].as_u64().unwrap_or(0),
                                });
                            }
                            if v["type"] == "closed" || v["type"] == "removed" || v["type"] == "replaced" {
                                return Ok(SessionEnd::Lost(format!("told {}", v["type"])));
                            }
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => return Ok(SessionEnd::Lost(format!("socket: {e}"))),
                        None => return Ok(SessionEnd::Lost("socket closed".into())),
                    }
                }
                up = self.connected.recv() => {
                    if up == Some(false) || up.is_none() {
                        return Ok(SessionEnd::Lost("media path failed".into()));
                    }
                }
                _ = watch.tick(), if stall.is_some() => {
                    let stall = stall.expect("checked");
                    let last = (*self.last_packet.lock().expect("last packet")).unwrap_or(started);
                    if last.elapsed() > stall {
                        return Ok(SessionEnd::Lost(format!("no composite for {stall:?}")));
                    }
                }
            }
        }
        Ok(SessionEnd::Done)
    }

    /// Leaves and closes the media.
    pub(crate) async fn close(mut self) {
        let _ = self
            .ws
            .send(Message::Text(
                json!({"v": 1, "type": "leave"}).to_string().into(),
            ))
            .await;
        // Close the socket properly, reading what the server still sends: a socket dropped
        // with unread data is reset, and the reset can overtake the `leave` on the server's
        // side.
        let _ = self.ws.close(None).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
        let _ = self.pc.close().await;
        self.receiver.abort();
    }

    /// Drops the session without a word (the node is gone).
    pub(crate) async fn abandon(self) {
        let _ = self.pc.close().await;
        self.receiver.abort();
    }
}

async fn negotiated_pt(
    tr: &Arc<dyn webrtc::rtp_transceiver::RtpTransceiver>,
    mime: &str,
) -> Result<u8, LoadgenError> {
    let sender = tr
        .sender()
        .await
        .map_err(|e| LoadgenError::Rtc(e.to_string()))?
        .ok_or_else(|| LoadgenError::Rtc("transceiver has no sender".into()))?;
    let params = sender
        .get_parameters()
        .await
        .map_err(|e| LoadgenError::Rtc(e.to_string()))?;
    params
        .rtp_parameters
        .codecs
        .iter()
        .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(mime))
        .map(|c| c.payload_type)
        .ok_or_else(|| LoadgenError::Rtc(format!("{mime} not negotiated")))
}

/// Reads messages until one of `kind` arrives; an `error` message is a failure.
async fn next_message<S>(ws: &mut S, kind: &str) -> Result<Value, LoadgenError>
where
    S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| LoadgenError::Signalling(format!("no {kind} within 15 s")))?
            .ok_or_else(|| LoadgenError::Signalling("socket closed".into()))?
            .map_err(|e| LoadgenError::Signalling(e.to_string()))?;
        if let Message::Text(t) = msg {
            let v: Value =
                serde_json::from_str(&t).map_err(|e| LoadgenError::Signalling(e.to_string()))?;
            if v["type"] == kind || v["type"] == "moved" {
                return Ok(v);
            }
            if v["type"] == "error" {
                return Err(LoadgenError::Signalling(format!(
                    "{}: {}",
                    v["code"], v["message"]
                )));
            }
        }
    }
}
