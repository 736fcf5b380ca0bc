//! What a browser's offer says, read from its SDP before anything is built: which codec the
//! composite can go out in ([`composite_line`]), whether and where FlexFEC is offered, the
//! browser connection's DTLS fingerprint, and the checks every offer passes first
//! ([`parse_offer`], [`check_ingest_offer`]). Pure functions of the text; the fuzz targets
//! `sdp` and `whip` drive them.

use rtc::peer_connection::sdp::RTCSessionDescription;

use super::RtcError;
use crate::media::encoder::VideoCodec;

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
pub(super) fn flexfec_payload_type(offer_sdp: &str) -> Option<u8> {
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

/// The first `a=fingerprint:` value of an SDP (session or media level).
pub(super) fn fingerprint(sdp: &str) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
