use std::time::Instant;

use rtc::interceptor::{AttributedPacket, Interceptor, RTCPFeedback as StreamFeedback};
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
use rtc::sansio::Protocol;
use rtc::shared::TransportContext;

use super::*;

const MEDIA: u32 = 7;
const RTX: u32 = 8;
const MEDIA_TYPE: u8 = 96;
const RTX_TYPE: u8 = 97;

/// A received VP8 stream that takes NACKs, with its resent packets on [`RTX`].
fn camera() -> StreamInfo {
    StreamInfo {
        ssrc: MEDIA,
        ssrc_rtx: Some(RTX),
        clock_rate: 90_000,
        mime_type: "video/VP8".to_owned(),
        payload_type: MEDIA_TYPE,
        payload_type_rtx: Some(RTX_TYPE),
        rtcp_feedback: vec![StreamFeedback {
            typ: "nack".to_owned(),
            parameter: String::new(),
        }],
        ..Default::default()
    }
}

fn rtp(now: Instant, ssrc: u32, payload_type: u8, seq: u16, payload: Vec<u8>) -> TaggedPacket {
    TaggedPacket {
        now,
        transport: TransportContext::default(),
        message: AttributedPacket::new(Packet::Rtp(rtc::rtp::Packet {
            header: rtc::rtp::header::Header {
                ssrc,
                sequence_number: seq,
                payload_type,
                timestamp: 3_000,
                ..Default::default()
            },
            payload: payload.into(),
        })),
    }
}

/// The RTX stream as webrtc-rs also binds it in its own right (`bind_declared_ssrc`).
fn camera_resends() -> StreamInfo {
    StreamInfo {
        ssrc: RTX,
        payload_type: RTX_TYPE,
        ssrc_rtx: None,
        payload_type_rtx: None,
        ..camera()
    }
}

/// The camera's packet `seq`.
fn media(now: Instant, seq: u16) -> TaggedPacket {
    rtp(now, MEDIA, MEDIA_TYPE, seq, vec![0xAB; 100])
}

/// The camera's packet `original` resent as the RTX stream's packet `seq`.
fn resent(now: Instant, seq: u16, original: u16) -> TaggedPacket {
    let mut payload = original.to_be_bytes().to_vec();
    payload.extend([0xAB; 100]);
    rtp(now, RTX, RTX_TYPE, seq, payload)
}

/// Runs `chain` from `*now` for `span` in steps of 10 ms; returns when `seq` of the camera
/// was asked for (as offsets from `from`).
fn asked_for<I: Interceptor>(
    chain: &mut I,
    seq: u16,
    now: &mut Instant,
    span: Duration,
    from: Instant,
) -> Vec<Duration> {
    let mut asked = Vec::new();
    let end = *now + span;
    while *now < end {
        *now += Duration::from_millis(10);
        chain.handle_timeout(*now).unwrap();
        while let Some(out) = chain.poll_write() {
            let Packet::Rtcp(packets) = out.message.packet else {
                continue;
            };
            let nacked = packets
                .iter()
                .filter_map(|p| p.as_any().downcast_ref::<TransportLayerNack>())
                .filter(|n| n.media_ssrc == MEDIA)
                .flat_map(|n| n.nacks.iter().flat_map(|pair| pair.packet_list()))
                .any(|s| s == seq);
            if nacked {
                asked.push(*now - from);
            }
        }
    }
    while chain.poll_read().is_some() {}
    asked
}

#[test]
fn a_lost_packet_is_asked_for_only_while_a_jitter_buffer_waits_for_it() {
    let mut generator = nack_generator().build();
    generator.bind_remote_stream(&camera());
    let start = Instant::now();
    for seq in [998, 999, 1001] {
        generator.handle_read(media(start, seq)).unwrap();
    }
    let mut now = start;
    let asked = asked_for(
        &mut generator,
        1000,
        &mut now,
        Duration::from_secs(10),
        start,
    );
    assert_eq!(asked.len(), NACKS_PER_PACKET as usize, "{asked:?}");
    let last = *asked.last().unwrap();
    assert!(
        last <= Duration::from_millis(u64::from(MAX_JITTER_MS)),
        "asked for the last time {last:?} after it was missed: {asked:?}"
    );
}

#[test]
fn a_packet_resent_on_the_rtx_stream_is_not_asked_for_again() {
    let start = Instant::now();
    // webrtc-rs's defaults, and ours.
    let mut results = Vec::new();
    for ours in [false, true] {
        let registry = if ours {
            default_chain(&mut MediaEngine::default()).unwrap()
        } else {
            register_default_interceptors(Registry::new(), &mut MediaEngine::default()).unwrap()
        };
        let mut chain = registry.build();
        chain.bind_remote_stream(&camera());
        chain.bind_remote_stream(&camera_resends());
        let mut now = start;
        for seq in [10, 11, 13, 14] {
            chain.handle_read(media(now, seq)).unwrap();
        }
        let before = asked_for(&mut chain, 12, &mut now, Duration::from_millis(150), start);
        assert!(!before.is_empty(), "the lost packet was never asked for");
        chain.handle_read(resent(now, 500, 12)).unwrap();
        // The application gets the resent packet as it came (webrtc-rs's endpoint turns it
        // back on its way there).
        let got = chain.poll_read().expect("the resent packet goes on");
        let Packet::Rtp(p) = got.message.packet else {
            panic!("not RTP");
        };
        assert_eq!(
            (
                p.header.ssrc,
                p.header.payload_type,
                p.header.sequence_number
            ),
            (RTX, RTX_TYPE, 500)
        );
        assert_eq!(&p.payload[..2], &12u16.to_be_bytes());
        assert_eq!(p.payload.len(), 102);
        let resent_at = now - start;
        let after = asked_for(&mut chain, 12, &mut now, Duration::from_millis(500), start);
        results.push((before, resent_at, after));
    }
    let (_, _, theirs_after) = &results[0];
    let (_, resent_at, ours_after) = &results[1];
    // webrtc-rs's own chain keeps asking (what this module fixes); ours stops once it came.
    assert!(
        theirs_after.len() >= 3,
        "webrtc-rs's defaults stopped asking by themselves: {theirs_after:?}"
    );
    assert!(
        ours_after.is_empty(),
        "asked again after it was resent at {resent_at:?}: {ours_after:?}"
    );
}

/// What `packet` is after `step`: (SSRC, payload type, sequence number, payload length).
fn through<S: PacketStep>(step: &mut S, packet: TaggedPacket) -> (u32, u8, u16, usize) {
    let mut out = VecDeque::new();
    step.read(packet, &mut out);
    assert_eq!(out.len(), 1);
    let Packet::Rtp(p) = out.pop_front().unwrap().message.packet else {
        panic!("not RTP");
    };
    (
        p.header.ssrc,
        p.header.payload_type,
        p.header.sequence_number,
        p.payload.len(),
    )
}

#[test]
fn only_a_bound_streams_resent_packets_are_turned_and_all_are_given_back_as_they_came() {
    let mut step = ResentPackets::default();
    let mut restored = step.restored();
    step.bind_remote(&camera());
    let now = Instant::now();
    // Before any packet of the camera, the generator remembers none.
    assert_eq!(
        through(&mut step, resent(now, 4, 39)),
        (RTX, RTX_TYPE, 4, 102)
    );
    assert_eq!(
        through(&mut step, media(now, 41)),
        (MEDIA, MEDIA_TYPE, 41, 100)
    );
    assert_eq!(
        through(&mut step, resent(now, 5, 40)),
        (MEDIA, MEDIA_TYPE, 40, 100)
    );
    // Padding while the browser probes the link, another payload type on the RTX SSRC, and a
    // packet the generator no longer remembers go on as they came.
    assert_eq!(
        through(&mut step, rtp(now, RTX, RTX_TYPE, 6, vec![0])),
        (RTX, RTX_TYPE, 6, 1)
    );
    assert_eq!(
        through(&mut step, rtp(now, RTX, 98, 7, vec![0, 40, 1])),
        (RTX, 98, 7, 3)
    );
    assert_eq!(through(&mut step, media(now, 41 + 600)).2, 641);
    assert_eq!(through(&mut step, resent(now, 8, 641 - 512)).0, RTX);
    assert_eq!(through(&mut step, resent(now, 9, 641 - 511)).0, MEDIA);
    // Across the wrap of the sequence numbers.
    for seq in [30_000, 60_000, 65_534] {
        assert_eq!(through(&mut step, media(now, seq)).2, seq);
    }
    assert_eq!(through(&mut step, media(now, 3)).2, 3);
    assert_eq!(through(&mut step, resent(now, 10, 65_530)).0, MEDIA);

    // Turned and given back: the same packet as it came, header and payload.
    let mut out = VecDeque::new();
    step.read(resent(now, 11, 2), &mut out);
    let Packet::Rtp(turned) = &out[0].message.packet else {
        panic!("not RTP");
    };
    assert_eq!(turned.header.sequence_number, 2);
    let mut back = VecDeque::new();
    restored.read(out.pop_front().unwrap(), &mut back);
    let Packet::Rtp(back) = &back[0].message.packet else {
        panic!("not RTP");
    };
    let Packet::Rtp(came) = resent(now, 11, 2).message.packet else {
        panic!("not RTP");
    };
    assert_eq!((&back.header, &back.payload), (&came.header, &came.payload));
    // The camera's own packets pass the second step untouched.
    assert_eq!(
        through(&mut restored, media(now, 4)),
        (MEDIA, MEDIA_TYPE, 4, 100)
    );

    step.unbind_remote(&camera());
    assert_eq!(through(&mut step, resent(now, 12, 3)).0, RTX);
}

#[test]
fn the_chain_holds_webrtc_rs_defaults_in_their_slots() {
    let ours = default_chain(&mut MediaEngine::default()).unwrap().slots();
    let theirs = register_default_interceptors(Registry::new(), &mut MediaEngine::default())
        .unwrap()
        .slots();
    let without_ours: Vec<_> = ours
        .iter()
        .filter(|(slot, _)| ![RESENT_SLOT, RESTORED_SLOT].map(Slot::from).contains(slot))
        .cloned()
        .collect();
    assert_eq!(without_ours, theirs);
    assert_eq!(ours.len(), theirs.len() + 2);
}
