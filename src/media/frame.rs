//! Decoded video frames, and the slot that holds each participant's newest ones.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One decoded camera frame, I420 with tightly packed planes.
#[derive(Debug, Clone)]
pub struct VideoFrame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Y plane, `width × height` bytes.
    pub y: Vec<u8>,
    /// U plane, `ceil(width/2) × ceil(height/2)` bytes.
    pub u: Vec<u8>,
    /// V plane, same size as U.
    pub v: Vec<u8>,
    /// When the frame was decoded.
    pub arrived: Instant,
    /// When it was captured, on its sender's capture clock (`media::capture`): the instant
    /// its sound was captured carries the same time.
    pub captured: Instant,
}

impl VideoFrame {
    /// Width and height of the chroma planes.
    pub fn chroma_size(&self) -> (u32, u32) {
        (self.width.div_ceil(2), self.height.div_ceil(2))
    }

    /// A frame of one flat colour, for tests and benches. `rgb` is converted with BT.601.
    pub fn solid(width: u32, height: u32, rgb: [u8; 3]) -> Self {
        let (y, u, v) = rgb_to_yuv(rgb);
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        Self {
            width,
            height,
            y: vec![y; (width * height) as usize],
            u: vec![u; (cw * ch) as usize],
            v: vec![v; (cw * ch) as usize],
            arrived: Instant::now(),
            captured: Instant::now(),
        }
    }
}

impl VideoFrame {
    /// The frame as packed RGB ([`i420_planes_to_rgb`]).
    pub fn to_rgb(&self) -> Vec<u8> {
        i420_planes_to_rgb(&self.y, &self.u, &self.v, self.width, self.height)
    }
}

/// Converts tightly packed I420 (BT.601 limited range, as the compositor writes it) to packed
/// RGB, the inverse of [`rgb_to_yuv`]. Chroma is shared by each 2×2 block.
pub fn i420_to_rgb(i420: &[u8], width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let (y_plane, chroma) = i420.split_at(w * h);
    let (u_plane, v_plane) = chroma.split_at(cw * ch);
    i420_planes_to_rgb(y_plane, u_plane, v_plane, width, height)
}

/// [`i420_to_rgb`] from the three planes apart.
pub fn i420_planes_to_rgb(
    y_plane: &[u8],
    u_plane: &[u8],
    v_plane: &[u8],
    width: u32,
    height: u32,
) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let cw = w.div_ceil(2);
    let mut rgb = vec![0u8; w * h * 3];
    for (row, out) in rgb.chunks_exact_mut(w * 3).enumerate() {
        let ys = &y_plane[row * w..(row + 1) * w];
        let us = &u_plane[(row / 2) * cw..(row / 2 + 1) * cw];
        let vs = &v_plane[(row / 2) * cw..(row / 2 + 1) * cw];
        for (x, px) in out.chunks_exact_mut(3).enumerate() {
            let c = 298 * (ys[x] as i32 - 16);
            let d = us[x / 2] as i32 - 128;
            let e = vs[x / 2] as i32 - 128;
            px[0] = ((c + 409 * e + 128) >> 8).clamp(0, 255) as u8;
            px[1] = ((c - 100 * d - 208 * e + 128) >> 8).clamp(0, 255) as u8;
            px[2] = ((c + 516 * d + 128) >> 8).clamp(0, 255) as u8;
        }
    }
    rgb
}

/// BT.601 limited-range RGB → YUV, as cameras and decoders produce it.
pub fn rgb_to_yuv([r, g, b]: [u8; 3]) -> (u8, u8, u8) {
    let (r, g, b) = (r as f32 / 255.0, g as f32 / 255.0, b as f32 / 255.0);
    let y = 16.0 + 219.0 * (0.299 * r + 0.587 * g + 0.114 * b);
    let u = 128.0 + 224.0 * (-0.168736 * r - 0.331264 * g + 0.5 * b);
    let v = 128.0 + 224.0 * (0.5 * r - 0.418688 * g - 0.081312 * b);
    (y.round() as u8, u.round() as u8, v.round() as u8)
}

/// How far back a slot keeps frames: the most by which a participant's video may run ahead of
/// their audio and still be shown in step with it.
pub const FRAME_HISTORY: Duration = Duration::from_millis(600);
/// The most frames a slot keeps, whatever their capture times say.
const MAX_FRAMES: usize = 24;
/// How far before the frame last shown with a sound a slot still keeps frames
/// ([`FrameSlot::shown_with`]). The sound only moves on once its capture clock is mapped (the
/// compositor uses `shown_with` only then; before, the first reports can move it back by up to
/// seconds, `media::capture`), but a margin keeps the frames just before for small corrections:
/// three at 25 fps.
const KEEP_BEFORE_SHOWN: Duration = Duration::from_millis(120);

/// Holds a participant's newest frames. The decoder adds to it; the compositor reads it at
/// its own pace, so a slow tick never blocks decoding and a stalled camera keeps its last frame.
/// The compositor shows the newest frame ([`FrameSlot::latest`]), or, to keep the picture in
/// step with the person's voice, the frame captured when the voice it mixes was
/// ([`FrameSlot::captured_by`]; [`FrameSlot::shown_with`] once the capture clock is mapped,
/// which also lets go of the frames already played).
#[derive(Debug, Default)]
pub struct FrameSlot {
    inner: Mutex<SlotState>,
}

#[derive(Debug, Default)]
struct SlotState {
    /// Rises with every frame and never goes back, even across `clear`, so a reader that
    /// remembers the last sequence it used never mistakes a new person's frame for an old one.
    seq: u64,
    /// Oldest first, each with its sequence number.
    frames: VecDeque<(u64, Arc<VideoFrame>)>,
}

impl FrameSlot {
    /// Adds the newest frame, forgetting those more than [`FRAME_HISTORY`] older.
    pub fn put(&self, frame: VideoFrame) {
        let mut inner = self.inner.lock().expect("frame slot poisoned");
        inner.seq += 1;
        let (seq, newest) = (inner.seq, frame.captured);
        inner.frames.push_back((seq, Arc::new(frame)));
        while inner.frames.len() > MAX_FRAMES
            || inner
                .frames
                .front()
                .is_some_and(|(_, f)| newest.saturating_duration_since(f.captured) > FRAME_HISTORY)
        {
            inner.frames.pop_front();
        }
    }

    /// Empties the slot: the seat's person has left.
    pub fn clear(&self) {
        self.inner
            .lock()
            .expect("frame slot poisoned")
            .frames
            .clear();
    }

    /// The newest frame and its sequence number.
    pub fn latest(&self) -> Option<(u64, Arc<VideoFrame>)> {
        let inner = self.inner.lock().expect("frame slot poisoned");
        inner.frames.back().cloned()
    }

    /// The newest frame captured no later than `instant`, or the oldest one kept if all are
    /// later; with its sequence number.
    pub fn captured_by(&self, instant: Instant) -> Option<(u64, Arc<VideoFrame>)> {
        let inner = self.inner.lock().expect("frame slot poisoned");
        Self::by(&inner, instant)
    }

    /// [`FrameSlot::captured_by`], for the tick that shows the frame with a sound captured by
    /// `instant`: frames captured more than [`KEEP_BEFORE_SHOWN`] before it are forgotten, as
    /// the sound they went with has been played. The slot then holds the few frames between
    /// the sound and the camera, not [`FRAME_HISTORY`] of them (each is a whole picture).
    pub fn shown_with(&self, instant: Instant) -> Option<(u64, Arc<VideoFrame>)> {
        let mut inner = self.inner.lock().expect("frame slot poisoned");
        let shown = Self::by(&inner, instant)?;
        if let Some(floor) = shown.1.captured.checked_sub(KEEP_BEFORE_SHOWN) {
            while inner
                .frames
                .front()
                .is_some_and(|(_, f)| f.captured < floor)
            {
                inner.frames.pop_front();
            }
        }
        Some(shown)
    }

    fn by(inner: &SlotState, instant: Instant) -> Option<(u64, Arc<VideoFrame>)> {
        inner
            .frames
            .iter()
            .rev()
            .find(|(_, f)| f.captured <= instant)
            .or(inner.frames.front())
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_keeps_the_newest_frame_and_counts() {
        let slot = FrameSlot::default();
        assert!(slot.latest().is_none());
        slot.put(VideoFrame::solid(4, 4, [255, 0, 0]));
        slot.put(VideoFrame::solid(6, 4, [0, 0, 255]));
        let (seq, f) = slot.latest().unwrap();
        assert_eq!(seq, 2);
        assert_eq!(f.width, 6);
        slot.clear();
        assert!(slot.latest().is_none());
        slot.put(VideoFrame::solid(4, 4, [0, 0, 0]));
        assert_eq!(
            slot.latest().unwrap().0,
            3,
            "sequence keeps rising across a clear"
        );
    }

    /// A slot given frames 1 to 30, frame i captured at 40·(i − 1) ms after the returned instant.
    fn thirty_frames_40_ms_apart() -> (FrameSlot, Instant) {
        let slot = FrameSlot::default();
        let t0 = Instant::now();
        for i in 0..30u64 {
            let mut f = VideoFrame::solid(2, 2, [i as u8, 0, 0]);
            f.captured = t0 + Duration::from_millis(40 * i);
            slot.put(f);
        }
        (slot, t0)
    }

    #[test]
    fn slot_finds_the_frame_captured_by_an_instant_and_forgets_old_ones() {
        let (slot, t0) = thirty_frames_40_ms_apart();
        let ms = Duration::from_millis;
        // Frame i was captured at 40·i ms: at 1010 ms the newest one is frame 25.
        let (seq, f) = slot.captured_by(t0 + ms(1010)).unwrap();
        assert_eq!((seq, f.captured), (26, t0 + ms(1000)));
        assert_eq!(slot.captured_by(t0 + ms(5000)).unwrap().0, 30);
        // 600 ms before the newest (1160 ms) is kept, older is gone: the oldest is frame 14.
        let (oldest, f) = slot.captured_by(t0).unwrap();
        assert_eq!((oldest, f.captured), (15, t0 + ms(560)));
        assert_eq!(slot.latest().unwrap().0, 30);
    }

    #[test]
    fn a_frame_shown_with_its_sound_lets_go_of_those_well_before_it() {
        let (slot, t0) = thirty_frames_40_ms_apart();
        let ms = Duration::from_millis;
        // Reading does not forget: the 600 ms history is still there (frame 15 at 560 ms).
        assert_eq!(slot.captured_by(t0).unwrap().0, 15);
        // Shown with a sound of 1010 ms: frame 26 (1000 ms). Frames from 880 ms on are kept.
        let (seq, f) = slot.shown_with(t0 + ms(1010)).unwrap();
        assert_eq!((seq, f.captured), (26, t0 + ms(1000)));
        let (oldest, f) = slot.captured_by(t0).unwrap();
        assert_eq!((oldest, f.captured), (23, t0 + ms(880)));
        // A sound corrected back by less than the margin still finds its frame.
        assert_eq!(slot.shown_with(t0 + ms(900)).unwrap().0, 23);
        assert_eq!(slot.latest().unwrap().0, 30);
        // The sound moving on past the newest frame keeps the newest.
        assert_eq!(slot.shown_with(t0 + ms(5000)).unwrap().0, 30);
        assert_eq!(
            slot.captured_by(t0).unwrap().0,
            27,
            "1160 - 120 = 1040 ms: frame 27"
        );
    }

    #[test]
    fn bt601_matches_reference_values() {
        assert_eq!(rgb_to_yuv([0, 0, 0]), (16, 128, 128));
        assert_eq!(rgb_to_yuv([255, 255, 255]), (235, 128, 128));
        let (_, u, v) = rgb_to_yuv([0, 177, 64]);
        assert!(u < 128 && v < 128, "green has negative chroma");
    }
}
