//! What a tick is drawn from and what it gives: each seat's view, and the composite.

use std::sync::Arc;

use super::nameplate::NameplateText;
use crate::keying::KeyParams;
use crate::media::frame::VideoFrame;

/// What one seat shows this tick.
#[derive(Debug, Clone, Default)]
pub struct SeatView {
    /// The newest frame and its sequence number; `None` leaves the seat empty.
    pub frame: Option<(u64, Arc<VideoFrame>)>,
    /// Show the person as away (dimmed).
    pub away: bool,
    /// Keying parameters.
    pub key: KeyParams,
    /// What the seat's nameplate says; `None` shows no nameplate. The plaque is rasterised
    /// only when this changes.
    pub nameplate: Option<NameplateText>,
    /// Which part of the camera frame the billboard shows, `[x, y, w, h]` in frame uv (face
    /// framing, src/framing); `None` cuts the frame's excess evenly ([`super::layout::fit_crop`]).
    pub crop: Option<[f32; 4]>,
    /// Per-channel gain, red, green, blue (brightness times white balance), that matches the
    /// person to the room ([`crate::keying::look`]); `None` is 1.
    pub gain: Option<[f32; 3]>,
}

/// One tick's composite, from [`super::Compositor::compose_i420`].
#[derive(Debug, Clone, Copy)]
pub struct Composed<'a> {
    /// The frame, tightly packed I420.
    pub i420: &'a [u8],
    /// Whether it was drawn for this tick; `false`: nothing changed, it is the last tick's.
    pub drawn: bool,
}

/// What a seat's picture is drawn from, short of the frame's pixels (its sequence number
/// stands for them): equal inputs draw an equal picture.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ViewInputs {
    seq: Option<u64>,
    away: bool,
    key: KeyParams,
    nameplate: Option<NameplateText>,
    crop: Option<[f32; 4]>,
    gain: Option<[f32; 3]>,
}

impl ViewInputs {
    pub(super) fn of(view: &SeatView) -> Self {
        Self {
            seq: view.frame.as_ref().map(|(seq, _)| *seq),
            away: view.away,
            key: view.key,
            nameplate: view.nameplate.clone(),
            crop: view.crop,
            gain: view.gain,
        }
    }
}
