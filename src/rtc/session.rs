//! Moves media between one participant's peer connection and their hearing: inbound camera and
//! microphone into decoders, forwarded voices out on the audio slots, and the encoded
//! composite out on the video track.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtc::media::Sample;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::sender_report::SenderReport;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::shared::marshal::Marshal;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use super::peer::{AudioSlot, ParticipantPeer, PeerEvent};
use super::rtcp::CompositeLink;
use super::sample_clock::SampleClock;
use crate::hearing::{ForwardedAudio, Hearing, ParticipantId, TrackFeed, VideoCodec, NO_SEAT};
use crate::media::decoder::JITTER_MS;
use crate::media::events::TrackKind;
use crate::media::rendition::{Rendition, RenditionChoice};

/// Runs a participant's media until the connection closes or the task set is dropped.
/// Returns when the peer connection has closed. A connection that is only interrupted
/// (disconnected or failed) is kept: the page restarts ICE on it, and signalling answers that
/// re-offer on the same connection (see [`super::peer::PeerLink::reanswer`]).
pub async fn run(hearing: Arc<Hearing>, id: ParticipantId, seat: usize, mut peer: ParticipantPeer) {
    let mut tasks = JoinSet::new();
    let slots = std::mem::take(&mut peer.audio_slots);
    if !slots.is_empty() {
        // A send-only client (a WHIP encoder) has no slots and hears nobody.
        let (fwd_tx, fwd_rx) = mpsc::channel::<ForwardedAudio>(256);
        hearing.add_listener(id, fwd_tx);
        tasks.spawn(send_voices(slots, fwd_rx));
    }
    let mut composite: Option<tokio::task::AbortHandle> = None;
    // The hearing keeps it per person: a sending task that ends with its path, or a page that
    // reconnects, starts again on the rendition its link could take.
    let rendition = hearing.rendition_choice(id);
    let mut tracks_seen: HashSet<String> = HashSet::new();
    let mut interrupted = false;
    while let Some(event) = peer.events.recv().await {
        match event {
            PeerEvent::Track(track) => {
                // An observer has no seat: whatever it sends is not taken in.
                if seat == NO_SEAT {
                    tracing::debug!(hearing = %hearing.record.id, participant = id, "an observer's track ignored");
                    continue;
                }
                // A renegotiation may announce the same track again: one reader per track.
                let track_id = track.track_id().await;
                let screen = peer.link.screens().is_screen(&track_id);
                if tracks_seen.insert(track_id) {
                    tasks.spawn(receive_track(hearing.clone(), id, seat, track, screen));
                }
            }
            PeerEvent::Connected => {
                if interrupted {
                    tracing::info!(hearing = %hearing.record.id, participant = id, "peer connection back (ICE restart)");
                    // The browser's decoder missed frames: give it a keyframe now.
                    if let Some(out) = &peer.composite {
                        hearing.request_keyframe_for(out.codec);
                    }
                    interrupted = false;
                }
                if let Some(out) = &peer.composite {
                    if composite.as_ref().is_none_or(|h| h.is_finished()) {
                        composite = Some(tasks.spawn(send_composite(
                            hearing.clone(),
                            id,
                            out.track.clone(),
                            out.ssrc,
                            out.payload_type,
                            out.codec,
                            out.link.clone(),
                            rendition.clone(),
                        )));
                    }
                }
            }
            PeerEvent::Interrupted => {
                tracing::info!(hearing = %hearing.record.id, participant = id, "peer connection interrupted");
                interrupted = true;
            }
            PeerEvent::Closed => break,
        }
    }
    tasks.shutdown().await;
    let _ = peer.pc.close().await;
}

/// Feeds one inbound track into the hearing (which decodes it); forwards microphone packets to
/// the other participants. Sends the sender a picture loss indication until the first frame
/// decodes, whenever the hearing asks (it rebuilt a failed decoder, or the decoder lost part
/// of a picture), and when packets come but the seat has had no new picture for a second.
async fn receive_track(
    hearing: Arc<Hearing>,
    id: ParticipantId,
    seat: usize,
    track: Arc<dyn TrackRemote>,
    screen: bool,
) {
    let kind = track.kind().await;
    let ssrc = track.ssrcs().await.first().copied().unwrap_or(0);
    let mime = track
        .codec(ssrc)
        .await
        .map(|c| c.mime_type)
        .unwrap_or_default();
    let track_kind = match kind {
        RtpCodecKind::Video if screen => TrackKind::Screen,
        RtpCodecKind::Video => TrackKind::Camera,
        _ => TrackKind::Microphone,
    };
    // Where this track's pictures go: the seat's, or the person's shared screen (for as long
    // as this task receives it).
    let (frames, screen_open) = if track_kind == TrackKind::Screen {
        let Some((slot, token, invitation)) = hearing.screen_opened(id) else {
            return;
        };
        let open = ScreenOpen {
            hearing: hearing.clone(),
            invitation,
            token,
        };
        (slot, Some(open))
    } else {
        (hearing.seat(seat).frames().clone(), None)
    };
    tracing::info!(hearing = %hearing.record.id, participant = id, ?kind, %mime, "track arrived");
    let mut feed: Option<TrackFeed> = None;
    let mut last_pli = Instant::now() - Duration::from_secs(60);
    // A keyframe request that came too soon after the last one is sent when its time comes,
    // never dropped: a decoder waiting for a keyframe shows nothing new until one arrives.
    let mut pli_due: Option<tokio::time::Instant> = None;
    let mut decoded_once = false;
    let mut last_stale_check = Instant::now();
    let mut media_ssrc = ssrc;
    let mut jitter_ms = JITTER_MS;
    let mut fit = tokio::time::interval(JITTER_FIT_EVERY);
    loop {
        let keyframe_wanted = async {
            match &feed {
                Some(f) => f.keyframe_wanted().await,
                None => std::future::pending().await,
            }
        };
        let event = tokio::select! {
            event = track.poll() => event,
            () = keyframe_wanted => {
                let next = last_pli + PLI_SEND_INTERVAL;
                if Instant::now() >= next {
                    tracing::debug!(hearing = %hearing.record.id, participant = id, "asking for a keyframe (the decoder lost a picture or was rebuilt)");
                    last_pli = Instant::now();
                    send_pli(&track, media_ssrc).await;
                } else {
                    pli_due.get_or_insert(tokio::time::Instant::from_std(next));
                }
                continue;
            }
            () = async { tokio::time::sleep_until(pli_due.expect("checked")).await }, if pli_due.is_some() => {
                pli_due = None;
                last_pli = Instant::now();
                send_pli(&track, media_ssrc).await;
                continue;
            }
            _ = fit.tick(), if feed.is_some() => {
                // Long enough for a NACK's answer on this person's link, no longer.
                let rtt = hearing.client_rtt_ms(id);
                let now = feed.as_ref().expect("checked").fit_jitter_buffer(rtt);
                if now != jitter_ms {
                    tracing::info!(hearing = %hearing.record.id, participant = id, ?kind, rtt_ms = rtt, jitter_ms = now, "jitter buffer fitted to the link");
                    jitter_ms = now;
                }
                continue;
            }
        };
        let Some(event) = event else { break };
        let packet = match event {
            TrackRemoteEvent::OnRtpPacket(packet) => packet,
            TrackRemoteEvent::OnRtcpPacket(packets) => {
                if let Some(f) = &feed {
                    for report in sender_reports(&packets, media_ssrc) {
                        f.sender_report(report);
                    }
                }
                continue;
            }
            _ => continue,
        };
        media_ssrc = packet.header.ssrc;
        if feed.is_none() {
            // Opened on the first packet, which tells the negotiated payload type.
            let pt = packet.header.payload_type;
            let screen = screen_open.is_some().then_some(&frames);
            match hearing.open_track(id, seat, track_kind, screen, &mime, pt) {
                Ok(f) => feed = Some(f),
                Err(e) => {
                    tracing::error!(hearing = %hearing.record.id, participant = id, "cannot decode {mime}: {e}");
                    return;
                }
            }
        }
        if kind == RtpCodecKind::Video && !decoded_once {
            // Ask for a keyframe until the first frame decodes, so the seat fills at once.
            decoded_once = frames.latest().is_some_and(|(_, f)| f.arrived > last_pli);
            if !decoded_once && last_pli.elapsed() > Duration::from_millis(500) {
                last_pli = Instant::now();
                send_pli(&track, packet.header.ssrc).await;
            }
        }
        if kind == RtpCodecKind::Video
            && decoded_once
            && last_pli.elapsed() >= STALE_SEAT
            && last_stale_check.elapsed() >= STALE_CHECK_EVERY
        {
            // Packets come but no picture: the decoder waits for a keyframe whose request (or
            // answer) was lost, or a sender that sends none unasked. Ask again.
            last_stale_check = Instant::now();
            let stale = frames
                .latest()
                .is_none_or(|(_, f)| f.arrived.elapsed() >= STALE_SEAT);
            if stale {
                tracing::debug!(hearing = %hearing.record.id, participant = id, "no picture for a second while packets come: asking for a keyframe again");
                last_pli = Instant::now();
                send_pli(&track, packet.header.ssrc).await;
            }
        }
        if kind == RtpCodecKind::Audio {
            hearing.forward_audio(id, seat, packet.clone());
        }
        match packet.marshal() {
            Ok(bytes) => {
                // The unaltered record of what this person sent (while recording); a screen is
                // recorded in the composite only.
                if track_kind != TrackKind::Screen {
                    hearing.keep_original(id, &mime, &bytes);
                }
                if let Some(f) = &feed {
                    f.push_rtp(bytes.to_vec());
                }
            }
            Err(e) => tracing::debug!("cannot marshal rtp: {e}"),
        }
    }
}

/// Held while a shared screen's track is received: when it ends (the person stopped sharing,
/// or left), the display no longer shows it.
struct ScreenOpen {
    hearing: Arc<Hearing>,
    invitation: String,
    token: u64,
}

impl Drop for ScreenOpen {
    fn drop(&mut self) {
        self.hearing.screen_ended(&self.invitation, self.token);
    }
}

/// The sender reports about the stream `ssrc` among `packets`, as the hearing's capture clock
/// takes them.
fn sender_reports(
    packets: &[Box<dyn rtc::rtcp::Packet>],
    ssrc: u32,
) -> impl Iterator<Item = crate::media::capture::SenderReport> + '_ {
    packets
        .iter()
        .filter_map(|p| p.as_any().downcast_ref::<SenderReport>())
        .filter(move |r| r.ssrc == ssrc)
        .map(|r| crate::media::capture::SenderReport {
            ntp: r.ntp_time,
            rtp: r.rtp_time,
        })
}

/// Keyframe requests to one sender closer together than this wait their turn: a keyframe
/// takes a round trip to come, and a lossy link would otherwise ask for one per lost packet.
const PLI_SEND_INTERVAL: Duration = Duration::from_millis(300);

/// A seat whose newest picture is this old while its camera's packets keep coming asks the
/// sender for a keyframe again (at most this often).
const STALE_SEAT: Duration = Duration::from_secs(1);

/// How often a receiving task looks whether its seat went stale.
const STALE_CHECK_EVERY: Duration = Duration::from_millis(250);

/// After a rendition switch, the receiver's NACKs for the composite go unanswered this long:
/// what it lost of the old rendition is of no use once the new one's keyframe comes, and on a
/// slow link resending it kept the new picture out (`rtcp::CompositeLink::hold_repairs`).
const REPAIRS_HELD_AFTER_SWITCH: Duration = Duration::from_secs(3);

/// How often the sending task weighs the receiver's link reports.
const RENDITION_CHECK_EVERY: Duration = Duration::from_secs(1);

/// How often a receiving task fits its jitter buffer to the sender's round trip.
const JITTER_FIT_EVERY: Duration = Duration::from_secs(2);

/// Asks the sender of `media_ssrc` for a keyframe.
async fn send_pli(track: &Arc<dyn TrackRemote>, media_ssrc: u32) {
    let pli = PictureLossIndication {
        sender_ssrc: 0,
        media_ssrc,
    };
    let _ = track.write_rtcp(vec![Box::new(pli)]).await;
}

/// Writes the voices of the other seats onto this participant's audio slots.
async fn send_voices(slots: Vec<AudioSlot>, mut rx: mpsc::Receiver<ForwardedAudio>) {
    while let Some(ForwardedAudio { seat, mut packet }) = rx.recv().await {
        let Some(slot) = slots.get(seat) else {
            continue;
        };
        packet.header.ssrc = slot.ssrc;
        packet.header.payload_type = slot.payload_type;
        packet.header.extensions.clear();
        packet.header.extension = false;
        if let Err(e) = slot.track.write_rtp(packet).await {
            tracing::debug!("audio slot write failed: {e}");
            return;
        }
    }
}

/// Keyframe requests from one receiver closer together than this are answered once: a
/// browser repeats its PLI until a keyframe arrives.
const PLI_MIN_INTERVAL: Duration = Duration::from_millis(300);

/// Sends the encoded composite to this participant in `codec`, from the hearing's one encoder
/// of that codec (a VP8 receiver keeps the VP8 encoder running while this task lives). The
/// receiver's keyframe requests (PLI, FIR) go to that encoder. A receiver whose link reports
/// show it cannot take the full composite gets the reduced rendition in its codec instead, and
/// the full one again once its link has recovered ([`RenditionChoice`]); each switch starts at
/// a keyframe.
async fn send_composite(
    hearing: Arc<Hearing>,
    id: ParticipantId,
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    pt: u8,
    codec: VideoCodec,
    link: Arc<CompositeLink>,
    choice: Arc<Mutex<RenditionChoice>>,
) {
    let feed = {
        let hearing = hearing.clone();
        tokio::task::spawn_blocking(move || hearing.subscribe_composite(codec)).await
    };
    let mut feed = match feed {
        Ok(Ok(feed)) => feed,
        Ok(Err(e)) => {
            tracing::error!(hearing = %hearing.record.id, participant = id, codec = codec.as_str(), "cannot encode the composite: {e}");
            return;
        }
        Err(e) => {
            tracing::error!(hearing = %hearing.record.id, participant = id, "composite subscription panicked: {e}");
            return;
        }
    };
    tracing::info!(hearing = %hearing.record.id, participant = id, codec = codec.as_str(), "sending the composite");
    let ask_keyframe = |reduced: bool| {
        if reduced {
            hearing.request_keyframe_reduced(codec);
        } else {
            hearing.request_keyframe_for(codec);
        }
    };
    ask_keyframe(false);
    // Until a keyframe arrives a fresh decoder could show nothing, so skip deltas.
    let mut need_keyframe = true;
    let mut last_request = Instant::now() - PLI_MIN_INTERVAL;
    // Whether `feed` is the reduced rendition. The full feed is let go meanwhile: for VP8 it
    // keeps an encoder running, which must stop once nobody receives it.
    let mut reduced = false;
    let mut check = tokio::time::interval(RENDITION_CHECK_EVERY);
    // The samples' durations keep the RTP timestamps on the frames' presentation times.
    let mut clock = SampleClock::default();
    // A new connection's estimate starts low and climbs: the choice gives it time.
    choice
        .lock()
        .expect("rendition lock")
        .connection_started(Instant::now());
    loop {
        let frame = tokio::select! {
            frame = feed.frames.recv() => frame,
            event = track.poll() => {
                match event {
                    Some(TrackLocalEvent::OnRtcpPacket(_)) => {
                        // Only keyframe requests reach us (rtcp::ApplicationRtcp).
                        if last_request.elapsed() >= PLI_MIN_INTERVAL {
                            last_request = Instant::now();
                            tracing::debug!(hearing = %hearing.record.id, participant = id, codec = codec.as_str(), "keyframe requested by the receiver");
                            ask_keyframe(reduced);
                        }
                        continue;
                    }
                    Some(_) => continue,
                    // Unbound: the connection closed.
                    None => return,
                }
            }
            _ = check.tick() => {
                let now = Instant::now();
                // The task follows the choice's state, not only its changes: a subscription
                // that failed is tried again at the next check.
                let wanted = {
                    let mut choice = choice.lock().expect("rendition lock");
                    choice.observe(now, link.report(now));
                    choice.rendition()
                };
                match wanted {
                    Rendition::Reduced if !reduced => {
                        let h = hearing.clone();
                        match tokio::task::spawn_blocking(move || h.subscribe_reduced(codec)).await {
                            Ok(Ok(r)) => {
                                tracing::info!(hearing = %hearing.record.id, participant = id, report = ?link.report(now), "the link cannot take the full composite: sending the reduced rendition");
                                feed = r;
                                reduced = true;
                                need_keyframe = true;
                                let until = Instant::now() + REPAIRS_HELD_AFTER_SWITCH;
                                link.hold_repairs(until);
                                link.moved_down(until);
                                ask_keyframe(true);
                                hearing.announce_rendition(id, true);
                            }
                            Ok(Err(e)) => tracing::warn!(hearing = %hearing.record.id, participant = id, "cannot encode the reduced rendition: {e}"),
                            Err(e) => tracing::warn!(hearing = %hearing.record.id, participant = id, "reduced rendition subscription panicked: {e}"),
                        }
                    }
                    Rendition::Full if reduced => {
                        let h = hearing.clone();
                        match tokio::task::spawn_blocking(move || h.subscribe_composite(codec)).await {
                            Ok(Ok(full)) => {
                                tracing::info!(hearing = %hearing.record.id, participant = id, "the link has recovered: sending the full composite again");
                                feed = full;
                                reduced = false;
                                need_keyframe = true;
                                link.hold_repairs(Instant::now() + REPAIRS_HELD_AFTER_SWITCH);
                                ask_keyframe(false);
                                hearing.announce_rendition(id, false);
                            }
                            Ok(Err(e)) => tracing::warn!(hearing = %hearing.record.id, participant = id, codec = codec.as_str(), "cannot encode the full composite again: {e}"),
                            Err(e) => tracing::warn!(hearing = %hearing.record.id, participant = id, "composite subscription panicked: {e}"),
                        }
                    }
                    _ => {}
                }
                continue;
            }
        };
        let frame = match frame {
            Ok(f) => f,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::debug!(hearing = %hearing.record.id, skipped = n, "viewer lagged");
                need_keyframe = true;
                ask_keyframe(reduced);
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if need_keyframe && !frame.keyframe {
            continue;
        }
        need_keyframe = false;
        let sample = Sample {
            data: frame.data.clone(),
            duration: clock.duration(frame.pts, frame.duration),
            ..Sample::new(Instant::now())
        };
        if let Err(e) = track.sample_writer(ssrc, pt).write_sample(&sample).await {
            tracing::debug!("composite write failed: {e}");
            return;
        }
    }
}
