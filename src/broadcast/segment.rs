//! One segment: the one being filled ([`Open`]: samples and their bytes, until it is closed
//! and written as `styp` + `moof` + `mdat`), what is told of closed ones ([`SegmentInfo`]),
//! and the conversions between [`Duration`]s and track time units.
//!
//! LL-HLS: the open segment is written as one or more [`Part`]s (CMAF fragments: the first
//! after a `styp`, each `moof` + `mdat`), flushed while it fills ([`Open::flush`]); the
//! closed segment is its parts one after the other. Without parts it is one fragment, as
//! before.

use std::time::Duration;

use bytes::Bytes;

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
    /// The parts written so far, in order.
    pub(super) parts: Vec<Part>,
    /// Video decode time where the pending (not yet written) part starts, 90 kHz.
    pub(super) part_start: u64,
    /// The first video sample not yet in a part, and its first byte.
    part_video: (usize, usize),
    /// The first audio sample not yet in a part, and its first byte.
    part_audio: (usize, usize),
}

/// A partial segment (LL-HLS): one CMAF fragment of a segment.
#[derive(Debug, Clone)]
pub(super) struct Part {
    /// Its bytes (`styp` first for the segment's first part), `moof` + `mdat`.
    pub(super) data: Bytes,
    /// Its video duration, 90 kHz.
    pub(super) ticks: u64,
    /// It starts with a keyframe (`INDEPENDENT=YES`).
    pub(super) independent: bool,
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
            parts: Vec::new(),
            part_start: start,
            part_video: (0, 0),
            part_audio: (0, 0),
        }
    }

    /// Video not yet in a part if the segment ended at `t` (90 kHz).
    pub(super) fn pending(&self, t: u64) -> u64 {
        t.saturating_sub(self.part_start)
    }

    /// Writes what is not yet in a part as the next part, ending at `end` (90 kHz): the live
    /// samples pending (the last one lasting until `end`) or, for a slate segment, one slate
    /// sample from the part's start to `end`; with the audio pending. Its `mfhd` sequence
    /// number is `*fragment`, which then goes up by one. Writes nothing (and returns `false`)
    /// when no video is pending or `end` is not after the part's start.
    pub(super) fn flush(&mut self, end: u64, slate: &[u8], fragment: &mut u32) -> bool {
        if end <= self.part_start {
            return false;
        }
        let slate_sample = [SampleInfo {
            duration: ticks_u32(end - self.part_start),
            size: slate.len() as u32,
            flags: SYNC_SAMPLE,
        }];
        let (v, vb) = self.part_video;
        let (video, video_data): (&[SampleInfo], &[u8]) = match self.kind {
            SegmentKind::Live => {
                if v >= self.video.len() {
                    return false;
                }
                if let Some(last) = self.video.last_mut() {
                    last.duration = ticks_u32(end.saturating_sub(self.last_pts));
                }
                (&self.video[v..], &self.video_data[vb..])
            }
            SegmentKind::Slate => (&slate_sample, slate),
        };
        let independent = video[0].flags == SYNC_SAMPLE;
        let (a, ab) = self.part_audio;
        let audio_base = self.audio_start.unwrap_or(0) + a as u64 * u64::from(AAC_FRAME_SAMPLES);
        let data = fmp4::media_fragment(
            *fragment,
            &[
                TrackFragment {
                    track_id: VIDEO_TRACK,
                    base_decode_time: self.part_start,
                    samples: video,
                    data: video_data,
                },
                TrackFragment {
                    track_id: AUDIO_TRACK,
                    base_decode_time: audio_base,
                    samples: &self.audio[a.min(self.audio.len())..],
                    data: &self.audio_data[ab.min(self.audio_data.len())..],
                },
            ],
            self.parts.is_empty(),
        );
        *fragment = fragment.wrapping_add(1);
        self.parts.push(Part {
            data: Bytes::from(data),
            ticks: end - self.part_start,
            independent,
        });
        self.part_start = end;
        self.part_video = (self.video.len(), self.video_data.len());
        self.part_audio = (self.audio.len(), self.audio_data.len());
        true
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

    /// Ends the segment at `end` (90 kHz, after its start): writes what is pending as its
    /// last part ([`flush`](Self::flush)) and returns the segment's bytes (its parts one after
    /// the other) and its parts, whose bytes are now slices of the segment's.
    pub(super) fn finish(
        mut self,
        end: u64,
        slate: &[u8],
        fragment: &mut u32,
    ) -> (Bytes, Vec<Part>) {
        self.flush(end, slate, fragment);
        if self.parts.len() == 1 {
            let data = self.parts[0].data.clone();
            return (data, self.parts);
        }
        let mut all = Vec::with_capacity(self.parts.iter().map(|p| p.data.len()).sum());
        let mut ranges = Vec::with_capacity(self.parts.len());
        for p in &self.parts {
            ranges.push(all.len()..all.len() + p.data.len());
            all.extend_from_slice(&p.data);
        }
        let all = Bytes::from(all);
        let parts = self
            .parts
            .into_iter()
            .zip(ranges)
            .map(|(p, r)| Part {
                data: all.slice(r),
                ..p
            })
            .collect();
        (all, parts)
    }
}
