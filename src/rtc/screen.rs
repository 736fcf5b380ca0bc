//! Which of a participant's video tracks is a shared screen. By the media contract
//! (PROTOCOL.md, "Media negotiation") the page's first sendonly video line is its camera; a
//! sendonly video line after it is a screen the page shares (`getDisplayMedia`, added to the
//! same connection and re-offered). The offer says so before any of its media arrives, so the
//! track is known for what it is when it comes.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The track ids (`a=msid`'s second part) of the screens an offer sends: its sendonly video
/// lines after the first.
pub fn screen_tracks(offer_sdp: &str) -> Vec<String> {
    let mut screens = Vec::new();
    let mut cameras_seen = 0;
    for section in offer_sdp.split("\nm=").skip(1) {
        if !section.starts_with("video") {
            continue;
        }
        let attribute = |name: &str| {
            section
                .lines()
                .find_map(|l| l.trim().strip_prefix(name).map(str::to_owned))
        };
        let sends = section
            .lines()
            .any(|l| matches!(l.trim(), "a=sendonly" | "a=sendrecv"));
        if !sends {
            continue;
        }
        cameras_seen += 1;
        if cameras_seen == 1 {
            continue;
        }
        // `a=msid:STREAM TRACK`, or (older offers) `a=ssrc:N msid:STREAM TRACK`.
        let msid = attribute("a=msid:").or_else(|| {
            section.lines().find_map(|l| {
                let l = l.trim();
                l.starts_with("a=ssrc:")
                    .then(|| l.split_once(" msid:").map(|(_, m)| m.to_owned()))
                    .flatten()
            })
        });
        if let Some(track) = msid
            .and_then(|m| m.split_whitespace().nth(1).map(str::to_owned))
            .filter(|t| !t.is_empty())
        {
            screens.push(track);
        }
    }
    screens
}

/// The screen tracks a connection's offers announced, shared by signalling (which reads each
/// offer) and the media session (which asks of each track that arrives).
#[derive(Debug, Clone, Default)]
pub struct ScreenTracks(Arc<Mutex<HashSet<String>>>);

impl ScreenTracks {
    /// Notes the screens `offer_sdp` sends (before the offer is applied).
    pub fn note_offer(&self, offer_sdp: &str) {
        let mut known = self.0.lock().expect("screen tracks");
        known.extend(screen_tracks(offer_sdp));
    }

    /// Whether the track `track_id` is a screen.
    pub fn is_screen(&self, track_id: &str) -> bool {
        self.0.lock().expect("screen tracks").contains(track_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(lines: &[(&str, &str, &str)]) -> String {
        let mut sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n".to_owned();
        for (kind, direction, msid) in lines {
            sdp += &format!(
                "m={kind} 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na={direction}\r\n"
            );
            if !msid.is_empty() {
                sdp += &format!("a=msid:{msid}\r\n");
            }
        }
        sdp
    }

    #[test]
    fn a_sendonly_video_line_after_the_camera_is_a_screen() {
        let page = offer(&[
            ("video", "sendonly", "cam-stream cam-track"),
            ("audio", "sendonly", "cam-stream mic-track"),
            ("video", "recvonly", ""),
            ("audio", "recvonly", ""),
        ]);
        assert!(screen_tracks(&page).is_empty(), "the camera is no screen");
        let sharing = offer(&[
            ("video", "sendonly", "cam-stream cam-track"),
            ("audio", "sendonly", "cam-stream mic-track"),
            ("video", "recvonly", ""),
            ("audio", "recvonly", ""),
            ("video", "sendonly", "screen-stream {screen-track}"),
        ]);
        assert_eq!(screen_tracks(&sharing), ["{screen-track}"]);
        // A stopped share's line (inactive) is no screen; a line without msid is skipped.
        let stopped = offer(&[
            ("video", "sendonly", "a b"),
            ("video", "inactive", "c d"),
            ("video", "sendonly", ""),
        ]);
        assert!(screen_tracks(&stopped).is_empty());
        // An offer that names its tracks on its ssrc lines only.
        let ssrc_only = sharing.replace(
            "a=msid:screen-stream {screen-track}\r\n",
            "a=ssrc:1234 msid:screen-stream {screen-track}\r\n",
        );
        assert_eq!(screen_tracks(&ssrc_only), ["{screen-track}"]);
        let tracks = ScreenTracks::default();
        tracks.note_offer(&sharing);
        assert!(tracks.is_screen("{screen-track}") && !tracks.is_screen("cam-track"));
    }
}
