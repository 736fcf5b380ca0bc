//! The broadcast's state machine: encoded frames with timestamps in, CMAF segments and an HLS
//! playlist out. No I/O, no clock of its own: time is what the frames' timestamps say.
//!
//! Owns the segmenting rules, which [`Segmenter`] documents. LL-HLS: with a part target the
//! open segment is also written as partial segments as it fills; reading them, and the
//! playlist that lists them, are in `parts`.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;

use super::annexb::{self, ParameterSets};
use super::config::{
    BroadcastConfig, BroadcastError, AAC_AUDIO_SPECIFIC_CONFIG, AAC_FRAME_SAMPLES, AUDIO_CHANNELS,
    AUDIO_SAMPLE_RATE,
};
use super::fmp4::{self, VIDEO_TIMESCALE};
use super::segment::{from_ticks, to_ticks, Open, Part, SegmentInfo, SegmentKind};

/// The frame gap assumed when no two consecutive frames have been seen yet: one frame at the
/// nominal 25 fps, in 90 kHz ticks.
const DEFAULT_FRAME_GAP: u64 = 3_600;
/// How long past the target an open live segment may wait for a keyframe before the keyframe
/// is overdue ([`Segmenter::keyframe_overdue`]), in 90 kHz ticks.
const OVERDUE_AFTER: u64 = 90_000;

/// Counters for metrics and the hearing's status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct BroadcastStats {
    /// Media segments made (all of them, not only those still kept).
    pub segments: u64,
    /// Of those, slate segments.
    pub slate_segments: u64,
    /// Bytes of media segments made.
    pub bytes: u64,
    /// A cut is in force (the slate is up).
    pub cut: bool,
    /// The cut is being lifted: waiting for a live keyframe.
    pub resuming: bool,
    /// [`Segmenter::end`] was called.
    pub ended: bool,
    /// Video frames dropped: before the first keyframe, with a pts not after the previous one,
    /// or holding no NAL unit.
    pub dropped_video: u64,
    /// Live video frames discarded during a cut.
    pub discarded_video: u64,
    /// Audio frames dropped: before the first segment, or before its start.
    pub dropped_audio: u64,
}

/// Where the state machine is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No keyframe yet: nothing to segment.
    Waiting,
    /// Live segments.
    Live,
    /// Slate segments; `resuming` once [`Segmenter::resume`] was called.
    Cut { resuming: bool },
    /// Ended: inputs are ignored.
    Ended,
}

/// A closed, kept segment.
#[derive(Debug, Clone)]
struct Stored {
    /// What it is.
    info: SegmentInfo,
    /// Its duration in 90 kHz ticks.
    ticks: u64,
    /// `styp` + `moof` + `mdat` (+ `moof` + `mdat` per further part).
    data: Bytes,
    /// Its parts (slices of `data`); one when parts are off.
    parts: Vec<Part>,
}

/// Turns an encoded live stream into CMAF segments and an HLS media playlist.
///
/// Feed it [`push_video`](Self::push_video) and [`push_audio`](Self::push_audio) in arrival
/// order; read [`init`](Self::init), [`segment`](Self::segment) and
/// [`playlist`](Self::playlist) whenever; ask the encoder for a keyframe while
/// [`wants_keyframe`](Self::wants_keyframe) holds.
///
/// The rules:
///
/// - Video before the first keyframe is dropped; the first keyframe's SPS/PPS make the init
///   segment. A segment always starts with a keyframe, and is cut at the first keyframe whose
///   pts is at least `target` past the open segment's start. A video sample lasts until the
///   next sample's pts, so the last sample of a segment lasts until the keyframe that closes it.
/// - Audio decode time counts samples (1024 per AAC frame) from the first audio frame accepted;
///   audio frames join whichever segment is open when they arrive.
/// - A cut ([`cut`](Self::cut)) closes the live segment at once and puts up slate segments: one
///   slate IDR sample each, `target` long on the clock of the incoming (discarded) live video,
///   with whatever audio is fed meanwhile. After [`resume`](Self::resume) the slate stays up until
///   a live keyframe arrives; the live segment starts at that keyframe.
/// - Only the last `window` segments are kept; sequence numbers start at 0 and never repeat.
/// - With a part target (LL-HLS), when a live frame arrives and the video pending since the
///   last part would, with one more frame gap, pass the part target, the pending samples
///   (video and audio) are written as a part; a keyframe that closes the segment writes the
///   rest as its last part. Slate segments are written as one slate sample per part target.
///   A part is `INDEPENDENT` when it starts with a keyframe. `mfhd` numbers go up by one per
///   part (per segment without parts).
pub struct Segmenter {
    /// The configuration.
    cfg: BroadcastConfig,
    /// `cfg.target` in 90 kHz ticks (at least 1).
    target: u64,
    /// Where the state machine is.
    phase: Phase,
    /// The newest live SPS/PPS, put in front of keyframes that lack them.
    params: Option<ParameterSets>,
    /// The init segment, once known.
    init: Option<Bytes>,
    /// RFC 6381 codecs of the init segment.
    codecs: Option<String>,
    /// The slate's sample (length-prefixed, parameter sets in-band) while cut.
    slate: Option<Vec<u8>>,
    /// The segment being filled.
    open: Option<Open>,
    /// Pts of the newest video frame, 90 kHz: the clock.
    clock: Option<u64>,
    /// The gap between the two newest video frames, 90 kHz.
    last_gap: Option<u64>,
    /// Audio decode time of the next audio sample, in audio samples.
    audio_next: Option<u64>,
    /// The kept segments, oldest first, consecutive sequence numbers.
    segments: VecDeque<Stored>,
    /// The next segment's sequence number.
    next_sequence: u64,
    /// The longest segment made so far, 90 kHz ticks.
    longest: u64,
    /// Counters.
    stats: BroadcastStats,
    /// `cfg.part_target` in 90 kHz ticks (at least 1).
    part_target: Option<u64>,
    /// The next fragment's `mfhd` sequence number.
    next_fragment: u32,
    /// The longest part of a closed segment so far, 90 kHz ticks.
    longest_part: u64,
}

/// Where it stands, without the media bytes it holds.
impl std::fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segmenter")
            .field("cfg", &self.cfg)
            .field("phase", &self.phase)
            .field("clock", &self.clock.map(from_ticks))
            .field(
                "open",
                &self.open.as_ref().map(|o| (o.kind, from_ticks(o.start))),
            )
            .field("kept", &self.segments.len())
            .field("next_sequence", &self.next_sequence)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Segmenter {
    /// A segmenter waiting for its first keyframe.
    pub fn new(cfg: BroadcastConfig) -> Self {
        let target = to_ticks(cfg.target, VIDEO_TIMESCALE).max(1);
        let part_target = cfg.part_target.map(|p| to_ticks(p, VIDEO_TIMESCALE).max(1));
        Self {
            part_target,
            next_fragment: 1,
            longest_part: 0,
            cfg,
            target,
            phase: Phase::Waiting,
            params: None,
            init: None,
            codecs: None,
            slate: None,
            open: None,
            clock: None,
            last_gap: None,
            audio_next: None,
            segments: VecDeque::new(),
            next_sequence: 0,
            longest: 0,
            stats: BroadcastStats::default(),
        }
    }

    /// Feeds one H.264 access unit (Annex B) presented at `pts`; `keyframe` when it is an IDR
    /// (with SPS/PPS in front of it).
    ///
    /// Pts must increase; a frame whose pts is not after the previous frame's is dropped.
    /// During a cut the frame is discarded, but its pts still moves the slate's clock.
    pub fn push_video(&mut self, pts: Duration, data: &[u8], keyframe: bool) {
        if self.phase == Phase::Ended {
            return;
        }
        let t = to_ticks(pts, VIDEO_TIMESCALE);
        if let Some(clock) = self.clock {
            if t <= clock {
                tracing::debug!(
                    ?pts,
                    "broadcast: video pts not after the previous one, dropped"
                );
                self.stats.dropped_video += 1;
                return;
            }
            self.last_gap = Some(t - clock);
        }
        self.clock = Some(t);
        if keyframe {
            // The live encoder's newest parameter sets (never the slate's).
            if let Some(params) = ParameterSets::from_access_unit(data) {
                self.params = Some(params);
            }
        }
        match self.phase {
            Phase::Waiting => self.first_keyframe(t, data, keyframe),
            Phase::Live => self.live_frame(t, data, keyframe),
            Phase::Cut { resuming } => self.cut_frame(t, data, keyframe && resuming),
            Phase::Ended => {}
        }
    }

    /// Waiting: a keyframe with parameter sets starts the first live segment.
    fn first_keyframe(&mut self, t: u64, data: &[u8], keyframe: bool) {
        let Some(params) = self.params.clone().filter(|_| keyframe) else {
            self.stats.dropped_video += 1;
            return;
        };
        let sample = annexb::to_sample(data, Some(&params));
        if sample.is_empty() {
            self.stats.dropped_video += 1;
            return;
        }
        self.make_init(&params);
        self.phase = Phase::Live;
        let mut open = Open::new(SegmentKind::Live, t);
        open.push_video(t, &sample, true);
        self.open = Some(open);
    }

    /// Live: append, after closing the open segment if this keyframe is far enough past it.
    fn live_frame(&mut self, t: u64, data: &[u8], keyframe: bool) {
        let sample = annexb::to_sample(data, self.params.as_ref().filter(|_| keyframe));
        if sample.is_empty() {
            self.stats.dropped_video += 1;
            return;
        }
        let start = self.open.as_ref().map_or(t, |o| o.start);
        if keyframe && t - start >= self.target {
            self.close_open(t);
            self.open = Some(Open::new(SegmentKind::Live, t));
        } else if let (Some(part), Some(open)) = (self.part_target, self.open.as_mut()) {
            let gap = self.last_gap.unwrap_or(DEFAULT_FRAME_GAP);
            if open.pending(t) + gap > part {
                open.flush(t, &[], &mut self.next_fragment);
            }
        }
        if let Some(open) = self.open.as_mut() {
            open.push_video(t, &sample, keyframe);
        }
    }

    /// Cut: the frame only moves the clock, unless it is the keyframe that ends the cut.
    fn cut_frame(&mut self, t: u64, data: &[u8], resuming_keyframe: bool) {
        let start = self
            .open
            .get_or_insert_with(|| Open::new(SegmentKind::Slate, t))
            .start;
        // Close every slate segment the clock has gone past.
        let mut start = start;
        while t >= start + self.target {
            start += self.target;
            self.close_open(start);
            self.open = Some(Open::new(SegmentKind::Slate, start));
        }
        self.slate_parts_until(t);
        // The live keyframe that ends the cut must come after the open slate segment's start,
        // so that the slate segment it closes lasts a while.
        if resuming_keyframe && t > start {
            let sample = annexb::to_sample(data, self.params.as_ref());
            if !sample.is_empty() && self.params.is_some() {
                self.close_open(t);
                self.phase = Phase::Live;
                self.slate = None;
                let mut open = Open::new(SegmentKind::Live, t);
                open.push_video(t, &sample, true);
                self.open = Some(open);
                tracing::info!(pts = ?from_ticks(t), "broadcast: cut lifted, live again");
                return;
            }
        }
        self.stats.discarded_video += 1;
    }

    /// Feeds one raw AAC-LC frame (no ADTS header) presented at `pts`.
    ///
    /// Only the first accepted frame's pts counts: it starts the audio track's decode time,
    /// which then advances by [`AAC_FRAME_SAMPLES`] per frame. Frames before the first segment,
    /// or (for the first accepted one) with a pts before that segment's start, are dropped.
    /// During a cut audio keeps going into the slate segments: the shell should feed silence.
    pub fn push_audio(&mut self, pts: Duration, aac: &[u8]) {
        if self.phase == Phase::Ended || aac.is_empty() {
            return;
        }
        let Some(open) = self.open.as_mut() else {
            self.stats.dropped_audio += 1;
            return;
        };
        let next = match self.audio_next {
            Some(next) => next,
            None if to_ticks(pts, VIDEO_TIMESCALE) < open.start => {
                self.stats.dropped_audio += 1;
                return;
            }
            None => to_ticks(pts, AUDIO_SAMPLE_RATE),
        };
        open.push_audio(next, aac);
        self.audio_next = Some(next + u64::from(AAC_FRAME_SAMPLES));
    }

    /// Whether the encoder should be asked for a keyframe now.
    ///
    /// True while waiting for the first keyframe; while lifting a cut; and while live once the
    /// open segment is due: when the next frame (expected one frame gap after the newest) would
    /// be at least `target` past the segment's start, so a keyframe forced now lands where it
    /// can close the segment (asking earlier would make a keyframe that cannot cut, and push
    /// the cut to the keyframe after it). It stays true until a keyframe closes the segment,
    /// which covers "no keyframe `target` + 1 s after the start" too
    /// ([`keyframe_overdue`](Self::keyframe_overdue)). It is a level, not an event: a shell
    /// should ask on its rising edge, or at most once per frame.
    pub fn wants_keyframe(&self) -> bool {
        match self.phase {
            Phase::Waiting => true,
            Phase::Live => match (&self.open, self.clock) {
                (Some(open), Some(clock)) => clock + self.frame_gap() >= open.start + self.target,
                _ => false,
            },
            Phase::Cut { resuming } => resuming,
            Phase::Ended => false,
        }
    }

    /// Whether the open live segment has gone `target` + 1 s without a keyframe (worth a
    /// warning: the encoder is not honouring keyframe requests).
    pub fn keyframe_overdue(&self) -> bool {
        match (self.phase, &self.open, self.clock) {
            (Phase::Live, Some(open), Some(clock)) => {
                clock >= open.start + self.target + OVERDUE_AFTER
            }
            _ => false,
        }
    }

    /// Cuts the broadcast to `slate`, one H.264 IDR access unit (Annex B, with its own SPS/PPS;
    /// same picture size, any encoder).
    ///
    /// The open live segment is closed at once, its last frame lasting one frame gap (the gap
    /// between the two newest frames, 40 ms if unknown); the next segment is a slate segment.
    /// Cutting again while cut replaces the slate (from the open slate segment on) and cancels
    /// a [`resume`](Self::resume). A cut before the first keyframe makes the init segment from
    /// the slate's parameter sets.
    pub fn cut(&mut self, slate: &[u8]) -> Result<(), BroadcastError> {
        if self.phase == Phase::Ended {
            return Err(BroadcastError::Ended);
        }
        if !annexb::has_idr(slate) {
            return Err(BroadcastError::SlateNotIdr);
        }
        let own = ParameterSets::from_access_unit(slate);
        let params = own
            .or_else(|| self.params.clone())
            .ok_or(BroadcastError::SlateWithoutParameterSets)?;
        if self.init.is_none() {
            self.make_init(&params);
        }
        self.slate = Some(annexb::to_sample(slate, Some(&params)));
        match self.phase {
            Phase::Waiting => {
                self.open = self.clock.map(|clock| Open::new(SegmentKind::Slate, clock));
            }
            Phase::Live => {
                let end = self.clock.unwrap_or(0) + self.frame_gap();
                self.close_open(end);
                self.open = Some(Open::new(SegmentKind::Slate, end));
            }
            Phase::Cut { .. } | Phase::Ended => {}
        }
        if !self.is_cut() {
            tracing::info!(pts = ?self.clock.map(from_ticks), "broadcast: cut to the slate");
        }
        self.phase = Phase::Cut { resuming: false };
        Ok(())
    }

    /// Lifts the cut: from now on [`wants_keyframe`](Self::wants_keyframe) holds, and the first
    /// live keyframe after the open slate segment's start closes it and starts a live segment.
    /// Does nothing when not cut.
    pub fn resume(&mut self) {
        if let Phase::Cut { .. } = self.phase {
            self.phase = Phase::Cut { resuming: true };
        }
    }

    /// Whether a cut is in force (the slate is what the broadcast shows), lifting or not.
    pub fn is_cut(&self) -> bool {
        matches!(self.phase, Phase::Cut { .. })
    }

    /// Ends the broadcast: closes the open segment (its last live frame lasting one frame gap;
    /// a slate segment lasting until one frame gap past the newest frame, at most `target`),
    /// and marks the playlist ended. Later inputs are ignored.
    pub fn end(&mut self) {
        let gap = self.frame_gap();
        let clock = self.clock.unwrap_or(0);
        let end = match (self.phase, &self.open) {
            (Phase::Live, Some(_)) => Some(clock + gap),
            (Phase::Cut { .. }, Some(open)) => {
                Some((clock.max(open.start) + gap).min(open.start + self.target))
            }
            _ => None,
        };
        if let Some(end) = end {
            self.close_open(end);
        }
        self.open = None;
        self.slate = None;
        self.phase = Phase::Ended;
    }

    /// Whether [`end`](Self::end) was called.
    pub fn is_ended(&self) -> bool {
        self.phase == Phase::Ended
    }

    /// The init segment (`ftyp` + `moov`), once the first keyframe (or a slate) arrived.
    pub fn init(&self) -> Option<Bytes> {
        self.init.clone()
    }

    /// The RFC 6381 codecs of the tracks, for a master playlist's `CODECS`, e.g.
    /// `avc3.42c01f,mp4a.40.2`; known with the init segment.
    pub fn codecs(&self) -> Option<String> {
        self.codecs.clone()
    }

    /// Media segment `sequence`, if it is still kept.
    pub fn segment(&self, sequence: u64) -> Option<Bytes> {
        let first = self.segments.front()?.info.sequence;
        let index = usize::try_from(sequence.checked_sub(first)?).ok()?;
        self.segments.get(index).map(|s| s.data.clone())
    }

    /// The kept segments, oldest first.
    pub fn segments(&self) -> impl Iterator<Item = SegmentInfo> + '_ {
        self.segments.iter().map(|s| s.info)
    }

    /// The sequence number of the newest segment.
    pub fn latest_sequence(&self) -> Option<u64> {
        self.segments.back().map(|s| s.info.sequence)
    }

    /// Counters: segments and bytes made, drops, whether cut.
    pub fn stats(&self) -> BroadcastStats {
        BroadcastStats {
            cut: self.is_cut(),
            resuming: self.phase == Phase::Cut { resuming: true },
            ended: self.is_ended(),
            ..self.stats
        }
    }

    /// The gap assumed for the newest frame's duration: the gap between the two newest
    /// frames (40 ms before there are two), at least one tick and at most `target`.
    fn frame_gap(&self) -> u64 {
        self.last_gap
            .unwrap_or(DEFAULT_FRAME_GAP)
            .clamp(1, self.target)
    }

    /// Makes the init segment from `params` and the configuration.
    fn make_init(&mut self, params: &ParameterSets) {
        let avcc = params.avcc();
        let init = fmp4::init_segment(&fmp4::InitParams {
            width: self.cfg.width,
            height: self.cfg.height,
            avcc: &avcc,
            asc: &AAC_AUDIO_SPECIFIC_CONFIG,
            channels: AUDIO_CHANNELS,
            sample_rate: AUDIO_SAMPLE_RATE,
        });
        self.init = Some(Bytes::from(init));
        self.codecs = Some(format!("{},mp4a.40.2", params.codec_string()));
    }

    /// Closes the open segment at `end` (90 kHz, after its start): writes it, keeps it, drops
    /// the oldest beyond the window.
    fn close_open(&mut self, end: u64) {
        let Some(open) = self.open.take() else {
            return;
        };
        debug_assert!(
            end > open.start,
            "segment closed at {end}, opened at {}",
            open.start
        );
        let open = if open.kind == SegmentKind::Slate {
            // Its whole part targets first; the rest is its last part.
            self.open = Some(open);
            self.slate_parts_until(end.saturating_sub(1));
            match self.open.take() {
                Some(open) => open,
                None => return,
            }
        } else {
            open
        };
        self.write_closed(open, end);
    }

    /// Writes the parts of the open slate segment that end at or before `t` (and before the
    /// segment's end), one part target each; nothing without parts.
    fn slate_parts_until(&mut self, t: u64) {
        let (Some(part), Some(open)) = (self.part_target, self.open.as_mut()) else {
            return;
        };
        if open.kind != SegmentKind::Slate {
            return;
        }
        let slate = self.slate.as_deref().unwrap_or_default();
        loop {
            let next = open.part_start + part;
            if next > t || next >= open.start + self.target {
                break;
            }
            open.flush(next, slate, &mut self.next_fragment);
        }
    }

    /// Writes the closed segment `open` ending at `end` (its last part) and keeps it.
    fn write_closed(&mut self, open: Open, end: u64) {
        let ticks = end.saturating_sub(open.start);
        let sequence = self.next_sequence;
        let (kind, start, video, audio) =
            (open.kind, open.start, open.video.len(), open.audio.len());
        let slate = self.slate.as_deref().unwrap_or_default();
        let (data, parts) = open.finish(end, slate, &mut self.next_fragment);
        let info = SegmentInfo {
            sequence,
            kind,
            start: from_ticks(start),
            duration: from_ticks(ticks),
            bytes: data.len(),
        };
        tracing::debug!(
            sequence,
            ?kind,
            duration = ?info.duration,
            video,
            audio,
            bytes = data.len(),
            "broadcast: segment closed"
        );
        self.next_sequence += 1;
        self.longest = self.longest.max(ticks);
        let longest_part = parts.iter().map(|p| p.ticks).max().unwrap_or(0);
        self.longest_part = self.longest_part.max(longest_part);
        self.stats.segments += 1;
        self.stats.bytes += data.len() as u64;
        if kind == SegmentKind::Slate {
            self.stats.slate_segments += 1;
        }
        self.segments.push_back(Stored {
            info,
            ticks,
            data,
            parts,
        });
        while self.segments.len() > self.cfg.window.max(1) {
            self.segments.pop_front();
        }
    }
}

mod parts;
#[cfg(test)]
mod tests;
