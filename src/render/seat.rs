//! One seat's state on the device: its uniform, its keyed textures, and the rows of its camera
//! frame the person is in ([`crate::keying::coverage`]), drawn as pieces of the billboard, one
//! instance each (`shaders/participant.wgsl`), so that bare screen is neither rasterised nor
//! keyed.

use crate::gpu::pipeline::uniform_buffer;
use crate::gpu::types::{BillboardPiece as Piece, SeatUniform};
use crate::gpu::Gpu;
use crate::keying::coverage::{self, UvRect, WHOLE_FRAME};
use crate::keying::planes::KeyedFrame;
use crate::keying::KeyParams;
use crate::media::frame::VideoFrame;

/// The instance buffer's layout: one [`Piece`] per instance, at locations 0 and 1.
pub const PIECES_LAYOUT: wgpu::VertexBufferLayout<'static> = wgpu::VertexBufferLayout {
    array_stride: std::mem::size_of::<Piece>() as u64,
    step_mode: wgpu::VertexStepMode::Instance,
    attributes: &wgpu::vertex_attr_array![0 => Float32x4, 1 => Float32x4],
};

/// The pieces that draw `rects` (top to bottom, as [`coverage::subject_rows`] gives them).
/// Two rectangles that meet share one edge, spanning both, so that the rasteriser's fill
/// rule draws every pixel along it exactly once: with edges of different lengths the two
/// lines would round differently, and a pixel between them could be drawn twice (blended
/// twice) or not at all. Each piece is then a trapezoid holding its rectangle.
pub fn pieces(rects: &[UvRect]) -> Vec<Piece> {
    let meets = |a: &UvRect, b: &UvRect| a[3] == b[1];
    let union = |a: &UvRect, b: &UvRect| [a[0].min(b[0]), a[2].max(b[2])];
    (0..rects.len())
        .map(|i| {
            let r = &rects[i];
            let above = i.checked_sub(1).map(|k| &rects[k]).filter(|a| meets(a, r));
            let below = rects.get(i + 1).filter(|b| meets(r, b));
            let [t0, t1] = above.map_or([r[0], r[2]], |a| union(a, r));
            let [b0, b1] = below.map_or([r[0], r[2]], |b| union(r, b));
            Piece {
                top: [t0, t1, r[1], 0.0],
                bottom: [b0, b1, r[3], 0.0],
            }
        })
        .collect()
}

/// The parts of a frame a billboard draws, as an instance buffer of [`Piece`]s.
pub struct SubjectRows {
    buffer: wgpu::Buffer,
    capacity: usize,
    count: u32,
}

impl SubjectRows {
    /// Room for `capacity` pieces, none drawn yet.
    pub fn new(device: &wgpu::Device, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            buffer: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("subject rows"),
                size: (capacity * std::mem::size_of::<Piece>()) as u64,
                usage: wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            capacity,
            count: 0,
        }
    }

    /// The whole frame, once (the presenter's inset, drawn opaque over its backdrop).
    pub fn whole_frame(device: &wgpu::Device, queue: &wgpu::Queue) -> Self {
        let mut rows = Self::new(device, 1);
        rows.write(queue, &[WHOLE_FRAME]);
        rows
    }

    /// Draws `rects` from now on; more than fit are drawn as the one rectangle around them all.
    pub fn write(&mut self, queue: &wgpu::Queue, rects: &[UvRect]) {
        let pieces = if rects.len() > self.capacity {
            pieces(&[rects.iter().fold(rects[0], |a, r| {
                [
                    a[0].min(r[0]),
                    a[1].min(r[1]),
                    a[2].max(r[2]),
                    a[3].max(r[3]),
                ]
            })])
        } else {
            pieces(rects)
        };
        if !pieces.is_empty() {
            queue.write_buffer(&self.buffer, 0, bytemuck::cast_slice(&pieces));
        }
        self.count = pieces.len() as u32;
    }

    /// Draws the billboard's pieces with the pipeline and bind groups already set.
    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>) {
        if self.count > 0 {
            pass.set_vertex_buffer(0, self.buffer.slice(..));
            pass.draw(0..6, 0..self.count);
        }
    }
}

/// A seat's uniform, textures and rows.
pub struct SeatGpu {
    uniform: wgpu::Buffer,
    textures: Option<KeyedFrame>,
    /// Counts the textures made for the seat (a new frame size makes new ones).
    generation: u64,
    uploaded_seq: u64,
    rows: Option<SubjectRows>,
    /// The frame (its sequence number), keying and choice (rows or the whole frame) the rows
    /// were found for.
    rows_of: Option<(u64, KeyParams, bool)>,
}

impl SeatGpu {
    /// A seat with no picture yet.
    pub fn new(device: &wgpu::Device) -> Self {
        Self {
            uniform: uniform_buffer::<SeatUniform>(device, "seat uniform"),
            textures: None,
            generation: 0,
            uploaded_seq: 0,
            rows: None,
            rows_of: None,
        }
    }

    /// Uploads frame `seq` if it is new (textures remade on `gpu` for a new size, bound
    /// through `layout` with `sampler`), the key's residual map if it changed, and finds the
    /// rows the person is in when the frame or the key changed (`whole`: draws the whole
    /// frame instead).
    pub fn upload(
        &mut self,
        gpu: &Gpu,
        layout: &wgpu::BindGroupLayout,
        sampler: &wgpu::Sampler,
        (seq, frame): (u64, &VideoFrame),
        key: &KeyParams,
        whole: bool,
    ) {
        let (device, queue) = (&gpu.device, &gpu.queue);
        let size = (frame.width, frame.height);
        if self.textures.as_ref().is_none_or(|t| t.size != size) {
            self.textures = Some(
                KeyedFrame::new(device, layout, &self.uniform, sampler, size).smoothed_over_time(),
            );
            self.rows = Some(SubjectRows::new(device, coverage::max_rects(frame.height)));
            self.rows_of = None;
            self.generation += 1;
            self.uploaded_seq = 0;
        }
        let tex = self.textures.as_mut().expect("just made");
        if self.uploaded_seq != seq {
            tex.upload(queue, frame);
            self.uploaded_seq = seq;
        }
        tex.upload_residual(queue, &key.model().residual);
        if self.rows_of.as_ref() != Some(&(seq, *key, whole)) {
            let rects = match whole {
                true => vec![WHOLE_FRAME],
                false => tex.subject_rows(frame, key),
            };
            if let Some(rows) = self.rows.as_mut() {
                rows.write(queue, &rects);
            }
            self.rows_of = Some((seq, *key, whole));
        }
    }

    /// Writes the seat's uniform.
    pub fn write_uniform(&self, queue: &wgpu::Queue, uniform: &SeatUniform) {
        queue.write_buffer(&self.uniform, 0, bytemuck::bytes_of(uniform));
    }

    /// The seat's textures and their generation, once a frame was uploaded.
    pub fn textures(&self) -> Option<(&KeyedFrame, u64)> {
        Some((self.textures.as_ref()?, self.generation))
    }

    /// Draws the seat's person with the seats' pipeline already set.
    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>) {
        if let (Some(tex), Some(rows)) = (&self.textures, &self.rows) {
            pass.set_bind_group(0, &tex.bind_group, &[]);
            rows.draw(pass);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::keying::picture::{synthetic_person, with_sensor_noise};
    use crate::render::{AdapterChoice, Compositor, Gpu, KeyParams, Layout, SeatView};

    /// Pixels whose colour differs by more than `tolerance` in some channel, and the largest
    /// difference.
    fn differ(a: &[u8], b: &[u8], tolerance: u8) -> (usize, u8) {
        let n = a
            .chunks(4)
            .zip(b.chunks(4))
            .filter(|(p, q)| (0..3).any(|c| p[c].abs_diff(q[c]) > tolerance))
            .count();
        let max = a
            .iter()
            .zip(b)
            .map(|(p, q)| p.abs_diff(*q))
            .max()
            .unwrap_or(0);
        (n, max)
    }

    #[test]
    fn pieces_that_meet_share_one_edge_spanning_both() {
        use super::{pieces, Piece};
        let rects = [
            [0.4, 0.1, 0.6, 0.3],
            [0.2, 0.3, 0.8, 0.9],
            // Apart from the one above: its own edges.
            [0.3, 0.95, 0.5, 1.0],
        ];
        let p = pieces(&rects);
        assert_eq!(
            p,
            vec![
                Piece {
                    top: [0.4, 0.6, 0.1, 0.0],
                    bottom: [0.2, 0.8, 0.3, 0.0]
                },
                Piece {
                    top: [0.2, 0.8, 0.3, 0.0],
                    bottom: [0.2, 0.8, 0.9, 0.0]
                },
                Piece {
                    top: [0.3, 0.5, 0.95, 0.0],
                    bottom: [0.3, 0.5, 1.0, 0.0]
                },
            ]
        );
    }

    #[test]
    fn drawing_only_the_persons_rows_leaves_the_picture_as_the_whole_frame_draws_it() {
        let gpu = Gpu::open(AdapterChoice::Auto).unwrap();
        let layout = Layout::load(&crate::config::default_assets_dir(), "courtroom").unwrap();
        let speaker = layout.camera_for("speaker:plaintiff").unwrap();
        let mut c = Compositor::new(gpu, layout, 640, 360).unwrap();
        let seats = c.layout().seats.len();
        let colours = [
            [210, 40, 40],
            [40, 70, 220],
            [205, 160, 130],
            [20, 22, 28],
            [128, 128, 128],
        ];
        let mut views = vec![SeatView::default(); seats];
        for (i, view) in views.iter_mut().enumerate() {
            let frame = synthetic_person(320, 240, colours[i % colours.len()], 12 * i as i32 - 30);
            // One seat's camera noisy, so that the keyer keeps specks of it all over: its rows
            // are the whole frame.
            let frame = match i {
                3 => with_sensor_noise(frame, 3, 11),
                _ => frame,
            };
            *view = SeatView {
                frame: Some((1, Arc::new(frame))),
                key: KeyParams::default(),
                // One seat framed on the face (src/framing), so rows and crop meet.
                crop: (i == 1).then_some([0.3, 0.1, 0.4, 0.55]),
                ..Default::default()
            };
        }
        let empty = c.render_rgba(&vec![SeatView::default(); seats]).unwrap();
        for camera in ["wide", "speaker"] {
            if camera == "speaker" {
                c.set_camera(speaker);
            }
            c.draw_whole_frames(false);
            let rows = c.render_rgba(&views).unwrap();
            c.draw_whole_frames(true);
            let whole = c.render_rgba(&views).unwrap();
            let (n, max) = differ(&rows, &whole, 2);
            assert_eq!(n, 0, "{camera}: {n} pixels differ, by up to {max}");
            // And there are people in it.
            let (people, _) = differ(&rows, &empty, 8);
            assert!(people > 2_000, "{camera}: only {people} pixels of people");
        }
    }
}
