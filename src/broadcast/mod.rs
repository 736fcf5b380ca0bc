//! The public broadcast of a hearing: HLS with CMAF (fragmented MP4) segments muxed from the
//! composite already encoded for the participants and the mix encoded to AAC.
//!
//! Pure Rust and sans-I/O (in the manner of str0m): a [`Segmenter`] takes encoded frames with
//! their presentation times and gives back bytes (an init segment, media segments) and an
//! HLS media playlist. It reads no clock, opens no file or socket and spawns nothing, so it is
//! tested on made-up timestamps; the shell that owns it feeds it, asks the encoder for a
//! keyframe when it says so, and serves what it made.
//!
//! - `annexb`: H.264 Annex B access units into length-prefixed MP4 samples (SPS/PPS kept
//!   in-band for `avc3`, AUDs dropped), and the `avcC` record.
//! - `config`: [`BroadcastConfig`], the audio format, [`BroadcastError`].
//! - `fmp4`: the ISO BMFF boxes: init segment (`avc3` video on track 1 at 90 kHz, `mp4a` AAC
//!   on track 2) and media segments (`styp` + `moof` + `mdat`).
//! - `playlist`: the m3u8 text and the segment and part names ([`INIT_URI`], [`segment_uri`],
//!   [`part_uri`]).
//! - `segment`: the segment being filled and written; [`SegmentInfo`] of closed ones.
//! - `segmenter`: [`Segmenter`], the state machine: segments cut on keyframes at the target
//!   duration, the window of kept segments, cutting to a slate and back, the end, the parts;
//!   [`BroadcastStats`]; its `parts` submodule reads parts and the playlist.
//! - `replay`: the replay (the broadcast as aired, kept run by run when the court allows
//!   replays): a run's index lines ([`index_line`], [`parse_index`]) and the VOD playlist of
//!   all runs ([`vod_playlist`]).
//!
//! Low-latency HLS (LL-HLS, RFC 8216bis): with [`BroadcastConfig::part_target`] set, each
//! segment is also written as partial segments (CMAF fragments, `seg-N.P.m4s`,
//! [`part_uri`]) while it fills, a complete segment being its parts one after the other; the
//! playlist lists the newest parts, a preload hint and the server control for blocking
//! reloads, and [`Segmenter::is_available`] says when a blocking reload can be answered.
//! Without a part target everything is as before (plain HLS, one fragment per segment).
//!
//! Video track parameter sets stay in the samples (`avc3`), so a picture from another encoder
//! (the slate) or from a restarted encoder decodes without a new init segment or a
//! discontinuity; timestamps stay continuous across a cut.

mod annexb;
mod config;
mod fmp4;
mod playlist;
mod replay;
mod segment;
mod segmenter;

#[cfg(test)]
mod ffmpeg_tests;
#[cfg(test)]
mod mp4check;

pub use config::{
    BroadcastConfig, BroadcastError, AAC_AUDIO_SPECIFIC_CONFIG, AAC_FRAME_SAMPLES, AUDIO_CHANNELS,
    AUDIO_SAMPLE_RATE,
};
pub use playlist::{parse_part_uri, parse_segment_uri, part_uri, segment_uri, INIT_URI};
pub use replay::{index_line, merge_runs, parse_index, vod_playlist, ReplayRun, INDEX_FILE};
pub use segment::{SegmentInfo, SegmentKind};
pub use segmenter::{BroadcastStats, Segmenter};
