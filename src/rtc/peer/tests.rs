//! The peer connection against a browser-like offerer on loopback.

use super::*;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::RTCOfferOptions;
use rtc::peer_connection::sdp::RTCSessionDescription;
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
        let Connection {
            pc,
            events,
            gathered,
            ..
        } = Connection::open(media, registry, "127.0.0.1".parse().unwrap())
            .await
            .unwrap();
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
    let (peer, answer_sdp) = answer(firefox.offer(false).await, "127.0.0.1".parse().unwrap(), 1)
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

    // A later offer that still offers FlexFEC under the same payload type keeps the repairs;
    // one that no longer does (here: that payload type now names another codec) is answered
    // without them, and none go out.
    let restart = chrome.offer(true).await;
    let again = peer
        .link
        .reanswer(restart.clone())
        .await
        .expect("re-answer");
    assert!(again.contains("a=ssrc-group:FEC-FR"), "{again}");
    assert!(composite.link.repairs_announced());
    let moved = restart.replace("a=rtpmap:97 flexfec-03/90000", "a=rtpmap:97 ulpfec/90000");
    assert_eq!(flexfec_payload_type(&moved), None);
    let without = peer.link.reanswer(moved).await.expect("re-answer");
    assert!(
        !without.contains("FEC-FR") && !without.contains("flexfec"),
        "{without}"
    );
    assert!(!composite.link.repairs_announced(), "so no repairs go out");

    let mut firefox = Offerer::with_video(Some(vec![vp8])).await;
    let (peer, answer_sdp) = answer(firefox.offer(false).await, "127.0.0.1".parse().unwrap(), 1)
        .await
        .expect("an answer");
    assert!(
        !answer_sdp.contains("flexfec") && !answer_sdp.contains("FEC-FR"),
        "{answer_sdp}"
    );
    assert!(!peer.composite.unwrap().link.repairs_announced());
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
