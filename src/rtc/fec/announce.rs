//! The repair stream in the answer: [`RepairStream::announce`] writes what webrtc-rs leaves
//! out of it.

/// The composite's repair stream, as the answer names it to the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepairStream {
    /// The composite's own SSRC.
    pub media_ssrc: u32,
    /// The repair packets' SSRC.
    pub ssrc: u32,
    /// Their payload type: the one the browser's offer gave `flexfec-03`.
    pub payload_type: u8,
}

impl RepairStream {
    /// `answer_sdp` with this repair stream in the composite's section (the one naming
    /// `media_ssrc`): the payload type on its `m=` line with its `rtpmap` and `fmtp`, and the
    /// stream itself, grouped with the composite (`a=ssrc-group:FEC-FR`, RFC 5956) under the
    /// composite's `cname` and `msid`. An answer without that section, or one that already
    /// answers FlexFEC there, comes back unchanged.
    pub fn announce(&self, answer_sdp: &str) -> String {
        let eol = if answer_sdp.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let lines: Vec<&str> = answer_sdp.lines().collect();
        let media_tag = format!("a=ssrc:{} ", self.media_ssrc);
        let starts: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].starts_with("m="))
            .collect();
        let Some((start, end)) = starts
            .iter()
            .enumerate()
            .map(|(k, &a)| (a, starts.get(k + 1).copied().unwrap_or(lines.len())))
            .find(|&(a, b)| lines[a..b].iter().any(|l| l.starts_with(&media_tag)))
        else {
            return answer_sdp.to_owned();
        };
        if lines[start..end]
            .iter()
            .any(|l| l.to_ascii_lowercase().contains("flexfec"))
        {
            return answer_sdp.to_owned();
        }
        let pt = self.payload_type;
        let section = &lines[start..end];
        let first_ssrc = start
            + section
                .iter()
                .position(|l| l.starts_with("a=ssrc"))
                .unwrap_or(0);
        let last_ssrc = start
            + section
                .iter()
                .rposition(|l| l.starts_with("a=ssrc:"))
                .unwrap_or(0);
        let owned = |ls: &[&str]| ls.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
        let mut out = owned(&lines[..start]);
        out.push(format!("{} {pt}", lines[start]));
        out.extend(owned(&lines[start + 1..first_ssrc]));
        out.push(format!("a=rtpmap:{pt} flexfec-03/90000"));
        out.push(format!("a=fmtp:{pt} repair-window=10000000"));
        out.push(format!(
            "a=ssrc-group:FEC-FR {} {}",
            self.media_ssrc, self.ssrc
        ));
        out.extend(owned(&lines[first_ssrc..=last_ssrc]));
        // The repair stream belongs to the composite's cname and msid.
        out.extend(
            section
                .iter()
                .filter_map(|l| l.strip_prefix(&media_tag))
                .map(|attr| format!("a=ssrc:{} {attr}", self.ssrc)),
        );
        out.extend(owned(&lines[last_ssrc + 1..]));
        let mut sdp = out.join(eol);
        if answer_sdp.ends_with('\n') {
            sdp.push_str(eol);
        }
        sdp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_names_the_repair_stream_in_the_composites_section_only() {
        let answer = "v=0\r\ns=-\r\n\
                      m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=rtpmap:96 VP8/90000\r\na=recvonly\r\n\
                      m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=mid:2\r\na=rtpmap:96 VP8/90000\r\n\
                      a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\na=ssrc-group:FID 11 12\r\n\
                      a=ssrc:11 cname:courtroom\r\na=ssrc:11 msid:courtroom composite\r\n\
                      a=ssrc:12 cname:courtroom\r\na=sendonly\r\n\
                      m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:3\r\na=ssrc:21 cname:seat-0\r\n";
        let repair = RepairStream {
            media_ssrc: 11,
            ssrc: 13,
            payload_type: 49,
        };
        let announced = repair.announce(answer);
        let lines: Vec<&str> = announced.split("\r\n").collect();
        let video2 = lines
            .iter()
            .position(|l| *l == "m=video 9 UDP/TLS/RTP/SAVPF 96 97 49");
        assert!(video2.is_some(), "{announced}");
        assert!(
            lines.contains(&"m=video 9 UDP/TLS/RTP/SAVPF 96"),
            "the camera's line is left alone"
        );
        for line in [
            "a=rtpmap:49 flexfec-03/90000",
            "a=fmtp:49 repair-window=10000000",
            "a=ssrc-group:FEC-FR 11 13",
            "a=ssrc:13 cname:courtroom",
            "a=ssrc:13 msid:courtroom composite",
        ] {
            let at = lines.iter().position(|l| *l == line).expect(line);
            let audio = lines.iter().position(|l| l.starts_with("m=audio")).unwrap();
            assert!(
                at > video2.unwrap() && at < audio,
                "{line} in the composite's section"
            );
        }
        assert!(announced.ends_with("a=ssrc:21 cname:seat-0\r\n"));
        assert_eq!(lines.len(), answer.split("\r\n").count() + 5);
        // Once is enough; and an answer without the composite is left as it is.
        assert_eq!(repair.announce(&announced), announced);
        let other = RepairStream {
            media_ssrc: 99,
            ..repair
        };
        assert_eq!(other.announce(answer), answer);
    }
}
