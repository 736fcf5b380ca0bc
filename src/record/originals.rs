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

/// The least time between two of an original's index entries (Matroska cue points).
pub const INDEX_INTERVAL: Duration = Duration::from_secs(1);

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
        // One index entry (cue point) a second at most: by default the muxer keeps one for
        // every audio block and every keyframe in memory until the file closes, which over a
        // long hearing grew the server by about 20 MB an hour with five people seated.
        chain
            .last()
            .expect("the muxer was just added")
            .set_property("min-index-interval", INDEX_INTERVAL.as_nanos() as i64);
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

    /// The number of cue points in a Matroska file's `Cues` element (EBML IDs: Cues
    /// 0x1C53BB6B, CuePoint 0xBB), if it has one.
    fn cue_points(file: &[u8]) -> Option<usize> {
        // An EBML variable-length size at `at`: its value and its length in bytes.
        let vint = |at: usize| -> Option<(u64, usize)> {
            let first = *file.get(at)?;
            let len = first.leading_zeros() as usize + 1;
            let mut value = (first as u64) & (0xff >> len);
            for k in 1..len {
                value = (value << 8) | *file.get(at + k)? as u64;
            }
            Some((value, len))
        };
        // The last match: the seek head names the Cues element's ID near the start too.
        let start = file
            .windows(4)
            .rposition(|w| w == [0x1C, 0x53, 0xBB, 0x6B])?
            + 4;
        let (size, n) = vint(start)?;
        let (mut at, end) = (start + n, start + n + size as usize);
        let mut points = 0;
        while at < end.min(file.len()) {
            let id = file[at];
            let (child, n) = vint(at + 1)?;
            points += usize::from(id == 0xBB);
            at += 1 + n + child as usize;
        }
        Some(points)
    }

    /// 20 s of Opus (1000 packets) pushed over 2 s: the writer stamps packets as they arrive,
    /// so the file spans about 2 s, and its index has an entry a second or so (4 here), not
    /// one per packet (1001 without `min-index-interval`).
    #[test]
    fn an_original_keeps_one_index_entry_a_second() {
        let packets = crate::media::testing::pull_buffers(
            "audiotestsrc num-buffers=1000 samplesperbuffer=960 ! audio/x-raw,rate=48000,channels=1 \
             ! opusenc frame-size=20 ! rtpopuspay pt=111 ! appsink name=sink sync=false",
        );
        assert!(packets.len() >= 1000, "{}", packets.len());
        let dir = tempfile::tempdir().unwrap();
        let path = dir
            .path()
            .join(file_name("witness", 1, OriginalCodec::Opus));
        let writer = OriginalWriter::start(&path, OriginalCodec::Opus, 111).unwrap();
        // Ten times their pace: 2 ms apart.
        let started = std::time::Instant::now();
        for (i, p) in packets.into_iter().enumerate() {
            let due = Duration::from_millis(20) * i as u32 / 10;
            std::thread::sleep(due.saturating_sub(started.elapsed()));
            writer.push_rtp(p);
        }
        writer.finish(Duration::from_secs(10)).unwrap();
        let points = cue_points(&std::fs::read(&path).unwrap()).expect("an index");
        assert!((2..=25).contains(&points), "{points} cue points");
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
