use super::*;
use crate::hearing::events::EventChannel;

fn output() -> Arc<Output> {
    small_for_tests(
        &EventChannel::default(),
        Arc::new(Monitor::new("h", 64, 48)),
    )
}

/// Pushes frames until `rx` yields one, or panics after 5 s.
fn next_frame(
    out: &Output,
    rx: &mut broadcast::Receiver<Arc<EncodedFrame>>,
    n: &mut u64,
) -> Arc<EncodedFrame> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        out.push(vec![100; 64 * 48 * 3 / 2], Duration::from_millis(40 * *n))
            .unwrap();
        *n += 1;
        std::thread::sleep(Duration::from_millis(20));
        if let Ok(f) = rx.try_recv() {
            return f;
        }
        assert!(Instant::now() < deadline, "no frame");
    }
}

#[test]
fn one_vp8_encoder_for_all_vp8_receivers_started_and_stopped_with_them() {
    let out = output();
    let mut n = 0;
    assert_eq!(out.vp8_state(), (0, false), "H.264 only: one encoder");
    let mut h264 = out.subscribe_codec(VideoCodec::H264).unwrap();
    assert_eq!(out.vp8_state(), (0, false));
    assert!(next_frame(&out, &mut h264.frames, &mut n)
        .data
        .starts_with(&[0, 0, 0, 1]));

    let mut a = out.subscribe_codec(VideoCodec::Vp8).unwrap();
    let mut b = out.subscribe_codec(VideoCodec::Vp8).unwrap();
    assert_eq!(out.vp8_state(), (2, true), "one encoder for both");
    let fa = next_frame(&out, &mut a.frames, &mut n);
    assert!(fa.keyframe, "a VP8 stream starts with a keyframe");
    // A VP8 keyframe: the start code 9d 01 2a after the 3-byte frame tag.
    assert_eq!(&fa.data[3..6], &[0x9d, 0x01, 0x2a]);
    let fb = b.frames.try_recv().expect("the same frame reaches both");
    assert!(Arc::ptr_eq(&fa, &fb), "encoded once");
    // H.264 keeps flowing beside it.
    assert!(
        h264.frames.try_recv().is_ok()
            || next_frame(&out, &mut h264.frames, &mut n).pts > Duration::ZERO
    );

    drop(a);
    assert_eq!(out.vp8_state(), (1, true), "still one VP8 receiver");
    // A keyframe on request reaches the VP8 receiver.
    while b.frames.try_recv().is_ok() {}
    out.force_keyframe_for(VideoCodec::Vp8);
    let forced = (0..10).any(|_| next_frame(&out, &mut b.frames, &mut n).keyframe);
    assert!(
        forced,
        "a forced VP8 keyframe within 10 frames (the interval is 50)"
    );
    drop(b);
    assert_eq!(
        out.vp8_state(),
        (0, false),
        "stopped with the last receiver"
    );
    // And it starts again for the next one.
    let mut c = out.subscribe_codec(VideoCodec::Vp8).unwrap();
    assert_eq!(out.vp8_state(), (1, true));
    assert!(next_frame(&out, &mut c.frames, &mut n).keyframe);
}

#[test]
fn a_reduced_rendition_in_each_codec_at_half_the_size_encoded_once_for_its_receivers() {
    let out = output();
    let mut n = 0;
    let mut h264 = out.subscribe_reduced(VideoCodec::H264).unwrap();
    let mut a = out.subscribe_reduced(VideoCodec::Vp8).unwrap();
    let mut b = out.subscribe_reduced(VideoCodec::Vp8).unwrap();
    assert!(h264.is_reduced() && a.is_reduced());
    assert_eq!((h264.codec, a.codec), (VideoCodec::H264, VideoCodec::Vp8));
    let fa = next_frame(&out, &mut a.frames, &mut n);
    assert!(fa.keyframe, "a VP8 stream starts with a keyframe");
    assert_eq!(&fa.data[3..6], &[0x9d, 0x01, 0x2a], "a VP8 keyframe");
    // The keyframe header's 14-bit width and height: half of 64×48.
    let size = |lo: usize| u16::from_le_bytes([fa.data[lo], fa.data[lo + 1]]) & 0x3fff;
    assert_eq!((size(6), size(8)), (32, 24));
    let fb = b.frames.try_recv().expect("the same frame reaches both");
    assert!(Arc::ptr_eq(&fa, &fb), "encoded once for both");
    assert!(next_frame(&out, &mut h264.frames, &mut n)
        .data
        .starts_with(&[0, 0, 0, 1]));
    // A keyframe on request reaches the VP8 receivers.
    while a.frames.try_recv().is_ok() {}
    out.force_keyframe_reduced(VideoCodec::Vp8);
    let forced = (0..10).any(|_| next_frame(&out, &mut a.frames, &mut n).keyframe);
    assert!(
        forced,
        "a forced keyframe within 10 frames (the interval is 50)"
    );
    drop((a, b));
    assert!(
        out.running(Branch::ReducedVp8).is_none(),
        "stopped with its last receiver"
    );
    assert!(
        out.running(Branch::Reduced).is_some(),
        "the H.264 one runs on"
    );
}
