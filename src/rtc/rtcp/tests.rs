//! The interceptors' steps and the composite's link, on made-up packets and time.

use super::*;
use rtc::sansio::Protocol;

fn reception(ssrc: u32, fraction_lost: u8) -> ReceptionReport {
    ReceptionReport {
        ssrc,
        fraction_lost,
        ..Default::default()
    }
}

#[test]
fn the_share_asked_again_counts_each_lost_packet_once_over_two_seconds() {
    use rtc::rtcp::transport_feedbacks::transport_layer_nack::NackPair;
    let link = CompositeLink::default();
    link.set_ssrc(7);
    let t0 = Instant::now();
    for seq in 0..19u16 {
        link.sent(7, seq);
        link.sent(8, seq); // another stream's packets do not count
    }
    assert_eq!(link.asked_again(t0), None, "too few sent to tell");
    link.sent(7, 19);
    assert_eq!(link.asked_again(Instant::now()), Some(0.0));
    let nack = |ssrc, packet_id, lost_packets| TransportLayerNack {
        sender_ssrc: 1,
        media_ssrc: ssrc,
        nacks: vec![NackPair {
            packet_id,
            lost_packets,
        }],
    };
    // Packets 3 and 4, asked for twice (a browser asks again after a round trip); 5 of
    // another stream.
    let now = Instant::now();
    link.repairs_answered(&nack(7, 3, 0b1), now);
    link.repairs_answered(&nack(7, 3, 0b1), now);
    link.repairs_answered(&nack(8, 5, 0), now);
    assert_eq!(link.asked_again(now), Some(0.1));
    // Two seconds on, all of it is forgotten.
    assert_eq!(link.asked_again(now + Duration::from_millis(2100)), None);
}

#[test]
fn after_a_switch_the_old_renditions_nacks_stop_at_the_gate_and_all_else_passes() {
    use rtc::rtcp::transport_feedbacks::transport_layer_nack::NackPair;
    let link = Arc::new(CompositeLink::default());
    link.set_ssrc(7);
    let mut gate = RepairGate::new(link.clone());
    let nack = |ssrc, packet_id| -> Box<dyn rtc::rtcp::Packet> {
        Box::new(TransportLayerNack {
            sender_ssrc: 1,
            media_ssrc: ssrc,
            nacks: vec![NackPair {
                packet_id,
                lost_packets: 0,
            }],
        })
    };
    let tagged = |packet| TaggedPacket {
        now: Instant::now(),
        transport: Default::default(),
        message: AttributedPacket::new(packet),
    };
    let compound = |packets: Vec<Box<dyn rtc::rtcp::Packet>>| tagged(Packet::Rtcp(packets));
    let send = |gate: &mut StepInterceptor<RepairGate>, ssrc, seq| {
        let mut rtp = rtc::rtp::Packet::default();
        rtp.header.ssrc = ssrc;
        rtp.header.sequence_number = seq;
        gate.handle_write(tagged(Packet::Rtp(rtp))).unwrap();
        assert!(
            gate.poll_write().is_some(),
            "outbound packets pass untouched"
        );
    };
    // (ssrc, first sequence number asked for) of every NACK that passed.
    let passed = |gate: &mut StepInterceptor<RepairGate>| -> Vec<(u32, u16)> {
        let mut got = Vec::new();
        while let Some(msg) = gate.poll_read() {
            if let Packet::Rtcp(packets) = &msg.message.packet {
                for p in packets {
                    got.push(
                        p.as_any()
                            .downcast_ref::<TransportLayerNack>()
                            .map_or((0, 0), |n| (n.media_ssrc, n.nacks[0].packet_id)),
                    );
                }
            }
        }
        got
    };
    // The old rendition went out up to 65_535 (the numbers wrap after it); a camera's
    // stream with higher numbers does not count.
    for seq in 65_530..=65_535 {
        send(&mut gate, 7, seq);
    }
    send(&mut gate, 9, 3);
    // No switch: every NACK reaches the responder.
    gate.handle_read(compound(vec![nack(7, 65_533), nack(9, 65_533)]))
        .unwrap();
    assert_eq!(passed(&mut gate), [(7, 65_533), (9, 65_533)]);
    // Switched: the old rendition's NACKs stop here; a camera's NACK and a report go on;
    // a compound of only held NACKs goes nowhere.
    link.hold_repairs(Instant::now() + Duration::from_secs(60));
    gate.handle_read(compound(vec![
        nack(7, 65_533),
        nack(9, 65_533),
        Box::new(ReceiverReport::default()),
    ]))
    .unwrap();
    assert_eq!(passed(&mut gate), [(9, 65_533), (0, 0)]);
    gate.handle_read(compound(vec![nack(7, 65_535)])).unwrap();
    assert!(gate.poll_read().is_none());
    // The new rendition starts at 0: its packets are repaired, its keyframe first. A
    // resend of an old packet going out does not move the cut back.
    send(&mut gate, 7, 0);
    send(&mut gate, 7, 65_534);
    gate.handle_read(compound(vec![nack(7, 0)])).unwrap();
    assert_eq!(passed(&mut gate), [(7, 0)]);
    // A pair that names old and new packets is kept whole.
    gate.handle_read(compound(vec![Box::new(TransportLayerNack {
        sender_ssrc: 1,
        media_ssrc: 7,
        nacks: vec![
            NackPair {
                packet_id: 65_520,
                lost_packets: 0b1,
            },
            NackPair {
                packet_id: 65_534,
                lost_packets: 0b10,
            },
        ],
    })]))
    .unwrap();
    assert_eq!(passed(&mut gate), [(7, 65_534)]);
    // Once the hold has passed, the old ones are answered again.
    link.hold_repairs(Instant::now() - Duration::from_millis(1));
    gate.handle_read(compound(vec![nack(7, 65_533)])).unwrap();
    assert_eq!(passed(&mut gate), [(7, 65_533)]);
}

#[test]
fn one_odd_report_is_weighed_with_the_others_of_two_seconds_and_a_full_link_shows() {
    let link = CompositeLink::default();
    link.set_ssrc(7);
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let rr = |lost| -> Vec<Box<dyn rtc::rtcp::Packet>> {
        vec![Box::new(ReceiverReport {
            ssrc: 1,
            reports: vec![reception(7, lost)],
            ..Default::default()
        })]
    };
    // Five reports a second, as Chromium sends them with its NACKs: all say nothing lost
    // but one that says 80 %.
    for k in 0..15u64 {
        link.note(&rr(if k == 10 { 205 } else { 0 }), at(200 * k));
    }
    let loss = link.report(at(2800)).loss.unwrap();
    assert!(loss > 0.05 && loss < 0.1, "{loss}");
    // A queue overflowing: every report says most is lost, and within a second so does
    // the link's.
    for k in 15..20u64 {
        link.note(&rr(230), at(200 * k));
    }
    let loss = link.report(at(3800)).loss.unwrap();
    assert!(loss > 0.5, "{loss}");
}

#[test]
fn the_composite_link_keeps_only_the_composites_fresh_reports() {
    let link = CompositeLink::default();
    let t0 = Instant::now();
    let rr = |ssrc, lost| -> Vec<Box<dyn rtc::rtcp::Packet>> {
        vec![Box::new(ReceiverReport {
            ssrc: 1,
            reports: vec![reception(ssrc, lost)],
            ..Default::default()
        })]
    };
    // Before the composite is named, nothing is taken.
    link.note(&rr(7, 64), t0);
    assert_eq!(link.report(t0), LinkReport::default());
    link.set_ssrc(7);
    // Another stream's block is not the composite's.
    link.note(&rr(8, 128), t0);
    assert_eq!(link.report(t0).loss, None);
    link.note(&rr(7, 64), t0);
    assert_eq!(link.report(t0).loss, Some(0.25));
    // A sender report's blocks count too (a browser that also sends).
    let sr: Vec<Box<dyn rtc::rtcp::Packet>> = vec![Box::new(SenderReport {
        ssrc: 2,
        reports: vec![reception(7, 0)],
        ..Default::default()
    })];
    link.note(&sr, t0 + Duration::from_secs(1));
    // Weighed with the report of a second before.
    assert_eq!(link.report(t0 + Duration::from_secs(1)).loss, Some(0.125));
    // Alone once that one is out of the window.
    assert_eq!(
        link.report(t0 + Duration::from_millis(2500)).loss,
        Some(0.0)
    );
    let remb: Vec<Box<dyn rtc::rtcp::Packet>> = vec![Box::new(ReceiverEstimatedMaximumBitrate {
        sender_ssrc: 1,
        bitrate: 480_000.0,
        ssrcs: vec![7],
    })];
    link.note(&remb, t0 + Duration::from_secs(1));
    assert_eq!(
        link.report(t0 + Duration::from_secs(1)).estimate_kbps,
        Some(480)
    );
    // Old news is no news.
    assert_eq!(
        link.report(t0 + Duration::from_secs(10)),
        LinkReport::default()
    );
}
