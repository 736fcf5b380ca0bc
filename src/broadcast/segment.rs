//! One segment: the one being filled ([`Open`]: samples and their bytes, until it is closed
//! and written as `styp` + `moof` + `mdat`), what is told of closed ones ([`SegmentInfo`]),
//! and the conversions between [`Duration`]s and track time units.

use std::time::Duration;

use super::config::AAC_FRAME_SAMPLES;
use super::fmp4::{
    self, SampleInfo, TrackFragment, AUDIO_TRACK, NON_SYNC_SAMPLE, SYNC_SAMPLE, VIDEO_TIMESCALE,
    VIDEO_TRACK,
};

/// What a segment shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SegmentKind {
    /// The hearing: live video from a keyframe to the keyframe that closed it.
    Live,
    /// The slate put up by a cut: one slate picture.
    Slate,
}

/// A kept segment, as [`Segmenter::segments`](super::Segmenter::segments) describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    /// Media sequence number (its URI is [`segment_uri`](super::segment_uri)).
    pub sequence: u64,
    /// Live or slate.
    pub kind: SegmentKind,
    /// Video decode time of its first sample, on the media clock of the pts fed in.
    pub start: Duration,
    /// Its video duration (what `#EXTINF` says, before rounding to milliseconds).
    pub duration: Duration,
    /// Its size in bytes.
    pub bytes: usize,
}

/// `d` in units of `1 / rate` s, rounded to the nearest.
pub(super) fn to_ticks(d: Duration, rate: u32) -> u64 {
    ((d.as_nanos() * u128::from(rate) + 500_000_000) / 1_000_000_000) as u64
}

/// 90 kHz ticks as a duration.
pub(super) fn from_ticks(ticks: u64) -> Duration {
    Duration::from_nanos((u128::from(ticks) * 1_000_000_000 / u128::from(VIDEO_TIMESCALE)) as u64)
}

/// A sample duration for `trun` (saturating: a single sample over 13 hours is not a concern).
pub(super) fn ticks_u32(ticks: u64) -> u32 {
    u32::try_from(ticks).unwrap_or(u32::MAX)
}

/// The segment being filled.
#[derive(Debug)]
pub(super) struct Open {
    /// Live or slate.
    pub(super) kind: SegmentKind,
    /// Video decode time of its start, 90 kHz.
    pub(super) start: u64,
    /// Live video samples; the last one's duration is set by the next frame or the close.
    pub(super) video: Vec<SampleInfo>,
    /// The live video samples' bytes.
    pub(super) video_data: Vec<u8>,
    /// Pts of the last live video sample, 90 kHz.
    pub(super) last_pts: u64,
    /// Audio samples.
    pub(super) audio: Vec<SampleInfo>,
    /// The audio samples' bytes.
    pub(super) audio_data: Vec<u8>,
    /// Audio decode time of the first audio sample, in audio samples.
    pub(super) audio_start: Option<u64>,
}

impl Open {
    pub(super) fn new(kind: SegmentKind, start: u64) -> Self {
        Self {
            kind,
            start,
            video: Vec::new(),
            video_data: Vec::new(),
            last_pts: start,
            audio: Vec::new(),
            audio_data: Vec::new(),
            audio_start: None,
        }
    }

    /// Appends a live video sample at `pts`, which ends the previous sample.
    pub(super) fn push_video(&mut self, pts: u64, sample: &[u8], keyframe: bool) {
        if let Some(last) = self.video.last_mut() {
            last.duration = ticks_u32(pts - self.last_pts);
        }
        self.video.push(SampleInfo {
            duration: 0,
            size: sample.len() as u32,
            flags: if keyframe {
                SYNC_SAMPLE
            } else {
                NON_SYNC_SAMPLE
            },
        });
        self.video_data.extend_from_slice(sample);
        self.last_pts = pts;
    }

    /// Appends an AAC frame whose decode time is `decode_time` (in audio samples).
    pub(super) fn push_audio(&mut self, decode_time: u64, aac: &[u8]) {
        self.audio_start.get_or_insert(decode_time);
        self.audio.push(SampleInfo {
            duration: AAC_FRAME_SAMPLES,
            size: aac.len() as u32,
            flags: SYNC_SAMPLE,
        });
        self.audio_data.extend_from_slice(aac);
    }

    /// Ends the segment at `end` (90 kHz, after its start) and writes it as media segment
    /// `sequence_number` (`mfhd`): the live samples, the last one lasting until `end`; or, for
    /// a slate segment, the one `slate` sample lasting the whole segment; and the audio.
    pub(super) fn finish(mut self, end: u64, slate: &[u8], sequence_number: u32) -> Vec<u8> {
        let slate_sample = [SampleInfo {
            duration: ticks_u32(end.saturating_sub(self.start)),
            size: slate.len() as u32,
            flags: SYNC_SAMPLE,
        }];
        let (video, video_data): (&[SampleInfo], &[u8]) = match self.kind {
            SegmentKind::Live => {
                if let Some(last) = self.video.last_mut() {
                    last.duration = ticks_u32(end.saturating_sub(self.last_pts));
                }
                (&self.video, &self.video_data)
            }
            SegmentKind::Slate => (&slate_sample, slate),
        };
        fmp4::media_segment(
            sequence_number,
            &[
                TrackFragment {
                    track_id: VIDEO_TRACK,
                    base_decode_time: self.start,
                    samples: video,
                    data: video_data,
                },
                TrackFragment {
                    track_id: AUDIO_TRACK,
                    base_decode_time: self.audio_start.unwrap_or(0),
                    samples: &self.audio,
                    data: &self.audio_data,
                },
            ],
        )
    }
}
