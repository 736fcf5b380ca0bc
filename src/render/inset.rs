//! The presenter's picture-in-picture in the exhibit view: the seat of whoever presents the
//! exhibit, drawn a second time in the frame's lower right corner over a plain backdrop, so
//! the room sees the page and the person speaking to it at once.
//!
//! It binds the seat's keyed textures (already uploaded for the room) a second time with its
//! own uniform: a corner box given straight in clip space, and the shader's inset flag
//! (`look.z`, `shaders/participant.wgsl`), which lays the keyed person over the backdrop
//! opaquely. Nothing is uploaded twice.

use super::layout::fit_crop;
use super::seat::SubjectRows;
use crate::gpu::pipeline::uniform_buffer;
use crate::gpu::types::SeatUniform;
use crate::keying::planes::KeyedFrame;
use crate::keying::KeyParams;

/// The inset's height as a share of the frame's.
pub const INSET_HEIGHT: f32 = 0.30;
/// Its margin from the frame's right and bottom edges, as a share of the frame's height.
pub const INSET_MARGIN: f32 = 0.025;

/// The inset's box in output pixels, `[x, y, w, h]` from the top left, for a seat of
/// `seat_aspect` (width / height) in an output of `width × height`.
pub fn inset_box(width: u32, height: u32, seat_aspect: f32) -> [f32; 4] {
    let (w, h) = (width as f32, height as f32);
    let ih = h * INSET_HEIGHT;
    let iw = (ih * seat_aspect).min(w / 2.0);
    let margin = h * INSET_MARGIN;
    [w - margin - iw, h - margin - ih, iw, ih]
}

/// The uniform that draws a seat's frame (`frame_aspect`, with the seat's `key`, `crop` and
/// `gain`) into [`inset_box`]: corners in clip space under an identity transform, at the
/// near plane so that nothing of the room covers it.
pub fn inset_uniform(
    width: u32,
    height: u32,
    seat_aspect: f32,
    frame_aspect: f32,
    key: &KeyParams,
    crop: Option<[f32; 4]>,
    gain: Option<[f32; 3]>,
) -> SeatUniform {
    let [x, y, w, h] = inset_box(width, height, seat_aspect);
    let (ow, oh) = (width as f32, height as f32);
    let clip_x = |px: f32| px / ow * 2.0 - 1.0;
    let clip_y = |py: f32| 1.0 - py / oh * 2.0;
    let (left, right) = (clip_x(x), clip_x(x + w));
    let (top, bottom) = (clip_y(y), clip_y(y + h));
    SeatUniform {
        view_proj: glam::Mat4::IDENTITY.to_cols_array_2d(),
        // Bottom-left, bottom-right, top-left, top-right, as the shader takes them.
        corners: [
            [left, bottom, 0.0, 1.0],
            [right, bottom, 0.0, 1.0],
            [left, top, 0.0, 1.0],
            [right, top, 0.0, 1.0],
        ],
        uv_crop: crop.unwrap_or_else(|| fit_crop(frame_aspect, seat_aspect)),
        key: key.uniform(),
        look: [0.0, 0.0, 1.0, 0.0],
        gain: gain.map_or([1.0; 4], |[r, g, b]| [r, g, b, 0.0]),
        // No light of the room wraps the inset's edges: it stands on its own backdrop.
        wrap: [0.0; 4],
    }
}

/// The inset's device state: which seat it shows, its uniform, and its bind group on that
/// seat's textures.
pub struct PresenterInset {
    seat: Option<usize>,
    uniform: wgpu::Buffer,
    /// The seat and its textures' generation the bind group was made for.
    bound: Option<(usize, u64, wgpu::BindGroup)>,
    /// Whether the inset is drawn this tick (its seat has a picture).
    ready: bool,
    /// The whole frame, once: the inset is opaque over its backdrop, so it draws all of it.
    rows: SubjectRows,
}

impl PresenterInset {
    /// An inset showing nobody.
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue) -> Self {
        Self {
            seat: None,
            uniform: uniform_buffer::<SeatUniform>(device, "presenter inset"),
            bound: None,
            ready: false,
            rows: SubjectRows::whole_frame(device, queue),
        }
    }

    /// Shows `seat` (or nobody); returns whether that changed.
    pub fn set_seat(&mut self, seat: Option<usize>) -> bool {
        std::mem::replace(&mut self.seat, seat) != seat
    }

    /// The seat shown, if any.
    pub fn seat(&self) -> Option<usize> {
        self.seat
    }

    /// Readies this tick's draw from the seat's `textures` (made in `generation`, rebound
    /// when that changes) and its `uniform`; `None` textures (no picture) draw nothing.
    pub fn prepare(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        layout: &wgpu::BindGroupLayout,
        sampler: &wgpu::Sampler,
        textures: Option<(&KeyedFrame, u64)>,
        uniform: &SeatUniform,
    ) {
        self.ready = false;
        let (Some(seat), Some((frame, generation))) = (self.seat, textures) else {
            return;
        };
        if !self
            .bound
            .as_ref()
            .is_some_and(|(s, g, _)| *s == seat && *g == generation)
        {
            let group = frame.bind(device, layout, &self.uniform, sampler);
            self.bound = Some((seat, generation, group));
        }
        queue.write_buffer(&self.uniform, 0, bytemuck::bytes_of(uniform));
        self.ready = true;
    }

    /// Draws the inset, if it has a picture this tick, with the seats' pipeline already set.
    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>) {
        if let Some((_, _, group)) = self.bound.as_ref().filter(|_| self.ready) {
            pass.set_bind_group(0, group, &[]);
            self.rows.draw(pass);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inset_sits_in_the_lower_right_corner_inside_the_frame() {
        let [x, y, w, h] = inset_box(1280, 720, 0.75);
        assert!((h - 216.0).abs() < 0.01 && (w - 162.0).abs() < 0.01);
        assert!((x + w - (1280.0 - 18.0)).abs() < 0.01);
        assert!((y + h - (720.0 - 18.0)).abs() < 0.01);
        // A very wide seat is held to half the frame.
        assert!(inset_box(1280, 720, 9.0)[2] <= 640.0);
        let u = inset_uniform(
            1280,
            720,
            0.75,
            16.0 / 9.0,
            &KeyParams::default(),
            None,
            None,
        );
        let [bl, br, tl, tr] = u.corners;
        assert!(bl[0] < br[0] && tl[1] > bl[1] && tr[0] == br[0]);
        assert!(
            br[0] < 1.0 && bl[1] > -1.0 && tl[1] < 0.0,
            "{:?}",
            u.corners
        );
        assert_eq!(u.look[2], 1.0, "drawn as an inset");
        // The frame's excess cut evenly when no face framing is given.
        assert_eq!(u.uv_crop, fit_crop(16.0 / 9.0, 0.75));
    }
}
