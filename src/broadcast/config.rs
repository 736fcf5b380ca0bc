//! What a broadcast is configured with: picture size, segment target, window, LL-HLS part
//! target; the fixed audio
//! format; and the errors a [`Segmenter`](super::Segmenter) call can give.

use std::time::Duration;

/// The broadcast's audio is what `media::aac` encodes: its AudioSpecificConfig (AAC-LC,
/// 48 kHz, one channel), sample rate (the audio track's timescale), channels and frame length.
pub use crate::media::aac::{
    AUDIO_SPECIFIC_CONFIG as AAC_AUDIO_SPECIFIC_CONFIG, CHANNELS as AUDIO_CHANNELS,
    FRAME_SAMPLES as AAC_FRAME_SAMPLES, SAMPLE_RATE as AUDIO_SAMPLE_RATE,
};

/// What the broadcast is made of and how it is cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastConfig {
    /// Picture width in pixels (the live video and the slate).
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
    /// Segment target duration: a keyframe this far past a segment's start closes it, and a
    /// slate segment lasts this long.
    pub target: Duration,
    /// How many of the newest segments are kept and listed (at least 1).
    pub window: usize,
    /// LL-HLS partial segments of about this length (`PART-TARGET`); `None` for plain HLS.
    /// A part is written once the next frame would take the pending video past it, so parts
    /// are at most this long unless one frame is longer.
    pub part_target: Option<Duration>,
}

impl BroadcastConfig {
    /// A broadcast of `width`×`height` with 2 s segments, a window of 6, and no parts.
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            target: Duration::from_secs(2),
            window: 6,
            part_target: None,
        }
    }
}

/// Why a [`Segmenter`](super::Segmenter) refused a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BroadcastError {
    /// The slate access unit holds no IDR slice (NAL unit type 5).
    #[error("the slate holds no IDR picture")]
    SlateNotIdr,
    /// The slate has no SPS/PPS of its own and no live ones are known to decode it with.
    #[error("the slate carries no SPS/PPS and none are known")]
    SlateWithoutParameterSets,
    /// [`Segmenter::end`](super::Segmenter::end) was called.
    #[error("the broadcast has ended")]
    Ended,
}
