//! Originals: each participant's camera and microphone exactly as received. The RTP payloads
//! are depacketised and put in Matroska/WebM without decoding or re-encoding:
//! `appsrc (RTP) ! rtpjitterbuffer ! rtpvp8depay|rtph264depay ! h264parse|… ! webmmux|matroskamux ! filesink`.
//!
//! One file per participant and track (a WebM for VP8 or Opus, a Matroska for H.264), since
//! a muxer cannot take a track that arrives after it started writing. Each file is hashed into
//! the manifest (`originals`) as soon as it closes: when its participant leaves (or is replaced
//! by a newer connection), when the recording stops or fails, or, after a crash, when the
//! recording is sealed at the next start ([`super::seal`], from the file's name: [`parse_file_name`]).

use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::RecordError;
use crate::media::bus::{self, BusEvent};
use crate::media::element::{add_chain, make, play};

/// What a received track carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginalCodec {
    /// VP8 camera.
    Vp8,
    /// H.264 camera.
    H264,
    /// Opus microphone.
    Opus,
}

impl OriginalCodec {
    /// From a negotiated MIME type such as `video/VP8`.
    pub fn from_mime(mime: &str) -> Option<Self> {
        match mime.to_ascii_lowercase().as_str() {
            "video/vp8" => Some(Self::Vp8),
            "video/h264" => Some(Self::H264),
            "audio/opus" => Some(Self::Opus),
            _ => None,
        }
    }

    /// `video` or `audio`.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Opus => "audio",
            _ => "video",
        }
    }

    /// File extension: `webm` where WebM allows the codec, else `mkv`.
    pub fn extension(self) -> &'static str {
        match self {
            Self::H264 => "mkv",
            _ => "webm",
        }
    }
}

/// The file name of a participant's original track.
pub fn file_name(seat: &str, participant: u64, codec: OriginalCodec) -> String {
    let seat: String = seat
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!(
        "original-{seat}-p{participant}-{}.{}",
        codec.kind(),
        codec.extension()
    )
}

/// What an original's file name says: `original-SEAT-pID-KIND.EXT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalName {
    /// The seat, as written in the name (characters other than letters, digits and `_` are `-`).
    pub seat: String,
    /// The participant's number.
    pub participant: u64,
    /// The codec the kind and extension stand for (`video` + `webm`: VP8, `video` + `mkv`:
    /// H.264, `audio` + `webm`: Opus).
    pub codec: OriginalCodec,
}

/// Reads an original's file name ([`file_name`]); `None` for anything else.
pub fn parse_file_name(name: &str) -> Option<OriginalName> {
    let rest = name.strip_prefix("original-")?;
    let (stem, ext) = rest.rsplit_once('.')?;
    let (stem, kind) = stem.rsplit_once('-')?;
    let (seat, participant) = stem.rsplit_once("-p")?;
    let codec = match (kind, ext) {
        ("video", "webm") => OriginalCodec::Vp8,
        ("video", "mkv") => OriginalCodec::H264,
        ("audio", "webm") => OriginalCodec::Opus,
        _ => return None,
    };
    Some(OriginalName {
        seat: seat.to_owned(),
        participant: participant.parse().ok()?,
        codec,
    })
}

impl OriginalCodec {
    /// The MIME type as negotiated: `video/VP8`, `video/H264`, `audio/opus`.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Vp8 => "video/VP8",
            Self::H264 => "video/H264",
            Self::Opus => "audio/opus",
        }
    }
}

/// Writes one received track into a Matroska/WebM file.
pub struct OriginalWriter {
    pipeline: gst::Pipeline,
    appsrc: gst_app::AppSrc,
    path: PathBuf,
    codec: OriginalCodec,
    bus: Receiver<BusEvent>,
}

impl OriginalWriter {
    /// Starts writing `path` for RTP of `codec` with payload type `payload_type`.
    pub fn start(path: &Path, codec: OriginalCodec, payload_type: u8) -> Result<Self, RecordError> {
        let (media, clock, encoding) = match codec {
            OriginalCodec::Vp8 => ("video", 90_000, "VP8"),
            OriginalCodec::H264 => ("video", 90_000, "H264"),
            OriginalCodec::Opus => ("audio", 48_000, "OPUS"),
        };
        let caps = gst::Caps::builder("application/x-rtp")
            .field("media", media)
            .field("clock-rate", clock)
            .field("encoding-name", encoding)
            .field("payload", payload_type as i32)
            .build();
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let pipeline = gst::Pipeline::with_name(&name);
        let appsrc = gst_app::AppSrc::builder()
            .caps(&caps)
            .format(gst::Format::Time)
            .is_live(true)
            .do_timestamp(true)
            .max_bytes(8 * 1024 * 1024)
            .block(false)
            .build();
        let jitter = make("rtpjitterbuffer", "jitter")?;
        jitter.set_property("latency", 200u32);
        let mut chain: Vec<gst::Element> = vec![appsrc.clone().upcast(), jitter];
        match codec {
            OriginalCodec::Vp8 => chain.push(make("rtpvp8depay", "depay")?),
            OriginalCodec::H264 => {
                chain.push(make("rtph264depay", "depay")?);
                chain.push(make("h264parse", "parse")?);
            }
            OriginalCodec::Opus => {
                chain.push(make("rtpopusdepay", "depay")?);
                chain.push(make("opusparse", "parse")?);
            }
        }
        chain.push(make("queue", "queue")?);
        chain.push(make(
            if codec == OriginalCodec::H264 {
                "matroskamux"
            } else {
                "webmmux"
            },
            "mux",
        )?);
        let sink = make("filesink", "file")?;
        sink.set_property("location", path.to_string_lossy().to_string());
        sink.set_property_from_str("buffer-mode", "unbuffered");
        chain.push(sink);
        let refs: Vec<&gst::Element> = chain.iter().collect();
        add_chain(&pipeline, &refs)?;
        let bus = bus::watch(&pipeline);
        play(&pipeline)?;
        Ok(Self {
            pipeline,
            appsrc,
            path: path.to_owned(),
            codec,
            bus,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The codec.
    pub fn codec(&self) -> OriginalCodec {
        self.codec
    }

    /// Writes one RTP packet as received (the payload is stored unchanged).
    pub fn push_rtp(&self, rtp: Vec<u8>) {
        let _ = self.appsrc.push_buffer(gst::Buffer::from_mut_slice(rtp));
    }

    /// Ends the stream and waits for the muxer to close the file.
    pub fn finish(self, timeout: Duration) -> Result<(), String> {
        let _ = self.appsrc.end_of_stream();
        bus::finish(&self.pipeline, &self.bus, timeout)
    }
}

impl Drop for OriginalWriter {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_seat_participant_and_track() {
        assert_eq!(
            file_name("presiding_judge", 3, OriginalCodec::Vp8),
            "original-presiding_judge-p3-video.webm"
        );
        assert_eq!(
            file_name("a/b", 1, OriginalCodec::H264),
            "original-a-b-p1-video.mkv"
        );
        assert_eq!(
            OriginalCodec::from_mime("audio/opus"),
            Some(OriginalCodec::Opus)
        );
        assert_eq!(OriginalCodec::from_mime("video/AV1"), None);
    }

    #[test]
    fn names_read_back() {
        for (seat, p, codec) in [
            ("presiding_judge", 3, OriginalCodec::Vp8),
            ("a-b", 12, OriginalCodec::H264),
            ("witness", 1, OriginalCodec::Opus),
        ] {
            let parsed = parse_file_name(&file_name(seat, p, codec)).unwrap();
            assert_eq!(parsed.seat, seat);
            assert_eq!(parsed.participant, p);
            assert_eq!(parsed.codec, codec);
            assert_eq!(OriginalCodec::from_mime(codec.mime()), Some(codec));
        }
        assert_eq!(parse_file_name("original-x-p1-video.mp4"), None);
        assert_eq!(parse_file_name("original-x-pz-audio.webm"), None);
        assert_eq!(parse_file_name("composite-00000.mp4"), None);
    }
}
