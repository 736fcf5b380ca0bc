//! The key pass alone: keys one I420 frame into an RGBA image of its size (straight alpha,
//! despilled colour) with the same WGSL keyer the compositor runs. Used by `courtroom key`,
//! the keyer tests and the key-pass bench.

use std::sync::Arc;

use crate::gpu::pipeline::{pipeline, uniform_buffer, COLOR_FORMAT};
use crate::gpu::readback::read_texture;
use crate::gpu::texture::texture_desc;
use crate::gpu::types::KeyUniform;
use crate::gpu::{shader, Gpu, GpuError};
use crate::media::frame::VideoFrame;

use super::planes::{self, KeyedFrame};
use super::KeyParams;

/// The keyed image's format: RGBA, straight alpha.
const TARGET: wgpu::TextureFormat = COLOR_FORMAT;

struct Frame {
    planes: KeyedFrame,
    target: wgpu::Texture,
}

/// A headless key pass with its pipeline; textures are made for the first frame size seen.
pub struct KeyPass {
    gpu: Arc<Gpu>,
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    uniform: wgpu::Buffer,
    sampler: wgpu::Sampler,
    frame: Option<Frame>,
    smooth_over_time: bool,
}

impl KeyPass {
    /// Builds the pipeline on `gpu`.
    pub fn new(gpu: Arc<Gpu>) -> Self {
        let device = &gpu.device;
        let shader = shader::module(device, "key_pass.wgsl");
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("key pass"),
            entries: &planes::layout_entries(wgpu::ShaderStages::FRAGMENT),
        });
        let pipeline = pipeline(
            device,
            "key pass",
            &shader,
            &[&layout],
            &[],
            TARGET,
            None,
            None,
            None,
        );
        let uniform = uniform_buffer::<KeyUniform>(device, "key uniform");
        let sampler = planes::sampler(device);
        Self {
            gpu,
            pipeline,
            layout,
            uniform,
            sampler,
            frame: None,
            smooth_over_time: false,
        }
    }

    /// Smooths the frames it keys over time, as the compositor does for a live seat
    /// ([`super::temporal`]); without this each frame is keyed alone (stills).
    pub fn smoothed_over_time(mut self) -> Self {
        self.smooth_over_time = true;
        self.frame = None;
        self
    }

    /// The device this pass runs on.
    pub fn gpu(&self) -> &Arc<Gpu> {
        &self.gpu
    }

    /// Uploads `frame` and `params` (textures are remade when the size changes).
    pub fn upload(&mut self, frame: &VideoFrame, params: &KeyParams) {
        let device = &self.gpu.device;
        let size = (frame.width, frame.height);
        if self.frame.as_ref().is_none_or(|f| f.planes.size != size) {
            let mut planes =
                KeyedFrame::new(device, &self.layout, &self.uniform, &self.sampler, size);
            if self.smooth_over_time {
                planes = planes.smoothed_over_time();
            }
            let target = device.create_texture(&texture_desc(
                "keyed",
                size.0,
                size.1,
                TARGET,
                wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            ));
            self.frame = Some(Frame { planes, target });
        }
        let f = self.frame.as_mut().expect("just made");
        let queue = &self.gpu.queue;
        f.planes.upload(queue, frame);
        f.planes.upload_residual(queue, &params.model().residual);
        queue.write_buffer(&self.uniform, 0, bytemuck::bytes_of(&params.uniform()));
    }

    /// Records the key pass over the uploaded frame. `None` before the first upload.
    pub fn encode(&self) -> Option<wgpu::CommandEncoder> {
        let f = self.frame.as_ref()?;
        let mut encoder = self
            .gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("key pass"),
            });
        let view = f.target.create_view(&Default::default());
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("key"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                ..Default::default()
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &f.planes.bind_group, &[]);
            pass.draw(0..3, 0..1);
        }
        Some(encoder)
    }

    /// Runs the key pass and waits for the device to finish it (no readback): the bench's unit.
    pub fn run(&self) -> Result<(), GpuError> {
        let encoder = self
            .encode()
            .ok_or_else(|| GpuError::Readback("no frame uploaded".into()))?;
        self.gpu.queue.submit(Some(encoder.finish()));
        self.gpu
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        Ok(())
    }

    /// Keys `frame` and reads back tightly packed RGBA (straight alpha).
    pub fn key(&mut self, frame: &VideoFrame, params: &KeyParams) -> Result<Vec<u8>, GpuError> {
        self.upload(frame, params);
        let encoder = self.encode().expect("uploaded");
        let f = self.frame.as_ref().expect("uploaded");
        read_texture(
            &self.gpu,
            encoder,
            &f.target,
            f.planes.size.0,
            f.planes.size.1,
            4,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::AdapterChoice;
    use crate::keying::calibrate::{estimate, tests::scene};
    use crate::keying::picture::frame_from_rgb;

    fn pass() -> KeyPass {
        KeyPass::new(Gpu::open(AdapterChoice::Cpu).expect("lavapipe (mesa-vulkan-drivers)"))
    }

    fn auto(frame: &VideoFrame) -> KeyParams {
        KeyParams {
            screen: Some(estimate(frame).expect("screen").model),
            ..Default::default()
        }
    }

    #[test]
    fn screen_is_clear_and_subject_core_is_opaque() {
        let (w, h) = (320, 240);
        for (screen, gradient) in [
            ([30, 190, 70], 0.4),
            ([20, 160, 130], 0.2),
            ([15, 70, 28], 0.3),
        ] {
            let (rgb, subject) = scene(w, h, screen, gradient);
            let frame = frame_from_rgb(w, h, &rgb);
            let out = pass().key(&frame, &auto(&frame)).unwrap();
            let alpha = |x: u32, y: u32| out[((y * w + x) * 4 + 3) as usize];
            // Screen far from the subject, and the subject's core (well inside its edge).
            let (cx, cy, r) = (w as f32 * 0.5, h as f32 * 0.55, h as f32 * 0.3);
            let mut worst_screen = 0u8;
            let mut worst_core = 255u8;
            for y in (0..h).step_by(3) {
                for x in (0..w).step_by(3) {
                    let d = (x as f32 - cx).hypot(y as f32 - cy);
                    if d > r + 8.0 {
                        worst_screen = worst_screen.max(alpha(x, y));
                    } else if d < r - 8.0 {
                        assert!(subject[(y * w + x) as usize]);
                        worst_core = worst_core.min(alpha(x, y));
                    }
                }
            }
            assert_eq!(worst_screen, 0, "screen {screen:?}");
            assert_eq!(worst_core, 255, "screen {screen:?}");
        }
    }

    #[test]
    fn alpha_rises_monotonically_across_a_soft_edge() {
        let (w, h) = (256, 64);
        let screen = [25.0f32, 180.0, 60.0];
        let subject = [140.0f32, 110.0, 95.0];
        let ramp = (120.0, 132.0);
        let coverage = |x: u32| ((x as f32 + 0.5 - ramp.0) / (ramp.1 - ramp.0)).clamp(0.0, 1.0);
        let mut rgb = Vec::with_capacity((w * h * 3) as usize);
        for _y in 0..h {
            for x in 0..w {
                let a = coverage(x);
                for k in 0..3 {
                    rgb.push((subject[k] * a + screen[k] * (1.0 - a)).round() as u8);
                }
            }
        }
        let frame = frame_from_rgb(w, h, &rgb);
        let params = KeyParams {
            key_rgb: [25, 180, 60],
            ..Default::default()
        };
        let out = pass().key(&frame, &params).unwrap();
        let y = h / 2;
        let alpha: Vec<f32> = (0..w)
            .map(|x| out[((y * w + x) * 4 + 3) as usize] as f32 / 255.0)
            .collect();
        assert_eq!(alpha[10], 0.0);
        assert_eq!(alpha[w as usize - 10], 1.0);
        for x in 1..w as usize {
            assert!(
                alpha[x] + 1.5 / 255.0 >= alpha[x - 1],
                "alpha falls at x={x}: {} -> {}",
                alpha[x - 1],
                alpha[x]
            );
        }
        // Partial coverage comes out partial, near its true value.
        for x in (ramp.0 as u32 + 2)..(ramp.1 as u32 - 2) {
            let (got, truth) = (alpha[x as usize], coverage(x));
            assert!(
                (got - truth).abs() < 0.2,
                "x={x}: alpha {got} for coverage {truth}"
            );
        }
    }

    /// Pulls `fg` towards the screen's hue at its own luminance by `w`, as light bounced off a
    /// green screen does (the keyeval generator's spill model).
    fn spilled(fg: [f32; 3], screen: [f32; 3], w: f32) -> [u8; 3] {
        let lum = |c: [f32; 3]| 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
        let (lf, ls) = (lum(fg), lum(screen));
        [0, 1, 2].map(|k| (fg[k] * (1.0 - w) + w * lf * screen[k] / ls).clamp(0.0, 255.0) as u8)
    }

    #[test]
    fn a_spilled_white_edge_stays_opaque_and_loses_its_green() {
        // A white shirt whose edge has taken the screen's chroma (but not its luma) over
        // ten pixels: chroma alone would call that edge half screen.
        let (w, h) = (256u32, 64u32);
        let screen = [30.0f32, 150.0, 55.0];
        let shirt = [232.0f32, 230.0, 226.0];
        let edge = 120u32;
        let mut rgb = Vec::with_capacity((w * h * 3) as usize);
        for _y in 0..h {
            for x in 0..w {
                let px = if x < edge {
                    screen.map(|c| c as u8)
                } else {
                    spilled(shirt, screen, 0.5 * (-((x - edge) as f32) / 8.0).exp())
                };
                rgb.extend_from_slice(&px);
            }
        }
        let frame = frame_from_rgb(w, h, &rgb);
        let out = pass().key(&frame, &auto(&frame)).unwrap();
        let y = h / 2;
        for x in edge + 2..edge + 40 {
            let i = ((y * w + x) * 4) as usize;
            let [r, g, b, a] = [out[i], out[i + 1], out[i + 2], out[i + 3]];
            assert!(a >= 235, "x={x}: alpha {a}");
            // At least four fifths of the spill's green excess is gone.
            let j = ((y * w + x) * 3) as usize;
            let before = rgb[j + 1] as i32 - rgb[j].max(rgb[j + 2]) as i32;
            let green = g as i32 - r.max(b) as i32;
            assert!(
                green <= (before / 5).max(3),
                "x={x}: green excess {green} in {r},{g},{b}, was {before}"
            );
        }
        assert_eq!(out[((y * w + 20) * 4 + 3) as usize], 0);
    }

    #[test]
    fn green_cloth_keeps_its_green_while_spill_on_grey_goes() {
        // Left: yellow-green cloth, right: grey cloth, both with the same light spill, on a
        // screen. Spill lies along the key's hue, the cloth's own green does not.
        let (w, h) = (320u32, 160u32);
        let screen = [30.0f32, 160.0, 60.0];
        let cloth = [150.0f32, 185.0, 45.0];
        let grey = [128.0f32, 128.0, 128.0];
        let inside =
            |x: u32, y: u32, x0: u32| (x0..x0 + 100).contains(&x) && (30..130).contains(&y);
        let mut rgb = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                let px = if inside(x, y, 40) {
                    spilled(cloth, screen, 0.2)
                } else if inside(x, y, 180) {
                    spilled(grey, screen, 0.2)
                } else {
                    screen.map(|c| c as u8)
                };
                rgb.extend_from_slice(&px);
            }
        }
        let frame = frame_from_rgb(w, h, &rgb);
        let out = pass().key(&frame, &auto(&frame)).unwrap();
        let excess = |x: u32, y: u32| {
            let i = ((y * w + x) * 4) as usize;
            assert_eq!(out[i + 3], 255, "alpha at {x},{y}");
            out[i + 1] as i32 - out[i].max(out[i + 2]) as i32
        };
        let truth = cloth[1] as i32 - cloth[0].max(cloth[2]) as i32;
        for (x, y) in [(60, 50), (90, 80), (120, 110), (45, 35)] {
            let e = excess(x, y);
            assert!(
                e >= truth / 2,
                "cloth at {x},{y}: green excess {e} (its own {truth})"
            );
        }
        for (x, y) in [(200, 50), (230, 80), (260, 110), (185, 35)] {
            let e = excess(x, y);
            assert!(e <= 4, "grey at {x},{y}: green excess {e}");
        }
    }

    #[test]
    fn smoothing_over_time_steadies_the_edge_of_a_still_person() {
        // A still scene with a soft edge, fresh sensor noise in every frame: alpha along the
        // edge moves from frame to frame; smoothed over time it moves less.
        let (w, h) = (320u32, 240u32);
        let (clean, _) = scene(w, h, [30, 190, 70], 0.2);
        let soft: Vec<u8> = {
            // Blur horizontally so the disc's edge is a few pixels wide.
            let at = |x: u32, y: u32, k: usize| clean[((y * w + x.min(w - 1)) * 3) as usize + k];
            (0..h)
                .flat_map(|y| (0..w).map(move |x| (x, y)))
                .flat_map(|(x, y)| {
                    (0..3).map(move |k| {
                        let sum: u32 = (0..4).map(|d| at(x + d, y, k) as u32).sum();
                        (sum / 4) as u8
                    })
                })
                .collect()
        };
        let noisy = |frame: u32| -> Vec<u8> {
            soft.iter()
                .enumerate()
                .map(|(i, v)| {
                    let hash = (i as u32)
                        .wrapping_mul(2_654_435_761)
                        .wrapping_add(frame.wrapping_mul(97_531));
                    (*v as i32 + ((hash >> 13) % 7) as i32 - 3).clamp(0, 255) as u8
                })
                .collect()
        };
        let params = auto(&frame_from_rgb(w, h, &soft));
        let flicker = |mut pass: KeyPass| -> f64 {
            let mut prev: Option<Vec<u8>> = None;
            let (mut sum, mut n) = (0u64, 0u64);
            for frame in 0..8 {
                let out = pass
                    .key(&frame_from_rgb(w, h, &noisy(frame)), &params)
                    .unwrap();
                if let (Some(p), true) = (&prev, frame >= 4) {
                    for i in 0..(w * h) as usize {
                        let (a, b) = (out[i * 4 + 3], p[i * 4 + 3]);
                        // Only the edge: partly transparent in either frame.
                        if (5..250).contains(&a) || (5..250).contains(&b) {
                            sum += a.abs_diff(b) as u64;
                            n += 1;
                        }
                    }
                }
                prev = Some(out);
            }
            assert!(n > 500, "edge pixels {n}");
            sum as f64 / n as f64
        };
        let alone = flicker(pass());
        let smoothed = flicker(pass().smoothed_over_time());
        assert!(
            smoothed < 0.7 * alone,
            "mean alpha change per frame on the edge: {smoothed:.2} smoothed, {alone:.2} alone"
        );
    }

    #[test]
    fn garbage_matte_cuts_a_subject_without_any_green() {
        let (w, h) = (160u32, 120u32);
        let rgb: Vec<u8> = (0..w * h).flat_map(|_| [140u8, 110, 95]).collect();
        let frame = frame_from_rgb(w, h, &rgb);
        let mut pass = pass();
        let alpha = |out: &[u8], x: u32, y: u32| out[((y * w + x) * 4 + 3) as usize];
        // No matte: the whole frame is subject, its outermost pixels too.
        let full = pass.key(&frame, &KeyParams::default()).unwrap();
        assert!((0..w * h).all(|i| full[(i * 4 + 3) as usize] == 255));
        let garbage = [0.25, 0.25, 0.75, 0.75];
        let params = KeyParams {
            garbage,
            ..Default::default()
        };
        let out = pass.key(&frame, &params).unwrap();
        let (mut inside, mut outside) = (0, 0);
        for y in 0..h {
            for x in 0..w {
                let (u, v) = ((x as f32 + 0.5) / w as f32, (y as f32 + 0.5) / h as f32);
                let margin = 2.0 / w.min(h) as f32;
                let within = |lo: f32, hi: f32, t: f32, m: f32| t > lo + m && t < hi - m;
                if within(garbage[0], garbage[2], u, margin)
                    && within(garbage[1], garbage[3], v, margin)
                {
                    assert_eq!(alpha(&out, x, y), 255, "inside at {x},{y}");
                    // Inside the matte the colour is what it was without one.
                    let i = ((y * w + x) * 4) as usize;
                    assert_eq!(out[i..i + 3], full[i..i + 3], "colour at {x},{y}");
                    inside += 1;
                } else if !within(garbage[0], garbage[2], u, -margin)
                    || !within(garbage[1], garbage[3], v, -margin)
                {
                    assert_eq!(alpha(&out, x, y), 0, "outside at {x},{y}");
                    outside += 1;
                }
            }
        }
        assert!(inside > 1000 && outside > 10000, "{inside} {outside}");
        // A border half way across a source pixel leaves that pixel half covered.
        let half = KeyParams {
            garbage: [40.5 / w as f32, 0.0, 1.0, 1.0],
            ..Default::default()
        };
        let out = pass.key(&frame, &half).unwrap();
        let row: Vec<u8> = (38..43).map(|x| alpha(&out, x, h / 2)).collect();
        assert_eq!(
            (row[0], row[1], row[3], row[4]),
            (0, 0, 255, 255),
            "{row:?}"
        );
        assert!(row[2].abs_diff(128) <= 3, "{row:?}");
    }

    #[test]
    fn garbage_matte_leaves_the_key_inside_it_unchanged() {
        // A real key (screen, subject, edges): a matte that cuts only a left strip changes
        // nothing to its right, despill and edges included.
        let (w, h) = (320, 240);
        let (rgb, _) = scene(w, h, [30, 190, 70], 0.3);
        let frame = frame_from_rgb(w, h, &rgb);
        let base = auto(&frame);
        let mut pass = pass();
        let full = pass.key(&frame, &base).unwrap();
        let cut = pass
            .key(
                &frame,
                &KeyParams {
                    garbage: [0.4, 0.0, 1.0, 1.0],
                    ..base
                },
            )
            .unwrap();
        let x0 = (0.4 * w as f32).ceil() as u32 + 1;
        for y in 0..h {
            for x in x0..w {
                let i = ((y * w + x) * 4) as usize;
                assert_eq!(cut[i..i + 4], full[i..i + 4], "at {x},{y}");
            }
            for x in 0..x0 - 2 {
                assert_eq!(cut[((y * w + x) * 4 + 3) as usize], 0, "at {x},{y}");
            }
        }
        // The subject's disc reaches into the cut strip, so the matte did remove something.
        let removed = (0..h)
            .flat_map(|y| (0..x0 - 2).map(move |x| (y * w + x) as usize))
            .filter(|&i| full[i * 4 + 3] > 0)
            .count();
        assert!(removed > 100, "{removed}");
    }
}
