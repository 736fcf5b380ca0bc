//! Output conversion: the RGBA composite to I420 in a compute pass, and its readback.
//! Buffers are made once; each tick dispatches, copies and maps the same ones.

use crate::gpu::readback::submit_and_map;
use crate::gpu::types::OutputUniform;
use crate::gpu::{shader, Gpu, GpuError};

/// Converts one composite texture to I420 and reads it back.
pub struct I420Output {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    planes: wgpu::Buffer,
    readback: wgpu::Buffer,
    size: u64,
    blocks: (u32, u32),
}

impl I420Output {
    /// Sets up conversion of `composite` (RGBA, `width × height`; width a multiple of 8,
    /// height even).
    pub fn new(
        device: &wgpu::Device,
        composite: &wgpu::TextureView,
        width: u32,
        height: u32,
    ) -> Self {
        use wgpu::util::DeviceExt;
        let size = (width * height * 3 / 2) as u64;
        let shader = shader::module(device, "output_i420.wgsl");
        let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("output uniform"),
            contents: bytemuck::bytes_of(&OutputUniform {
                size: [width, height, width / 2, 0],
            }),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let planes = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("i420 planes"),
            size,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("i420 readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("i420"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: false },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 2,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Storage { read_only: false },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
            ],
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("i420"),
            layout: &layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: uniform.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(composite),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: planes.as_entire_binding(),
                },
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("i420"),
            bind_group_layouts: &[Some(&layout)],
            ..Default::default()
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("i420"),
            layout: Some(&pipeline_layout),
            module: &shader,
            entry_point: Some("cs_main"),
            compilation_options: Default::default(),
            cache: None,
        });
        // Workgroups of 8×8 invocations, each invocation an 8×2 pixel block.
        let blocks = ((width / 8).div_ceil(8), (height / 2).div_ceil(8));
        Self {
            pipeline,
            bind_group,
            planes,
            readback,
            size,
            blocks,
        }
    }

    /// Records the conversion and the copy to the readback buffer.
    pub fn encode(&self, encoder: &mut wgpu::CommandEncoder) {
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("i420"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &self.bind_group, &[]);
            pass.dispatch_workgroups(self.blocks.0, self.blocks.1, 1);
        }
        encoder.copy_buffer_to_buffer(&self.planes, 0, &self.readback, 0, self.size);
    }

    /// Submits `encoder`, waits, and returns the frame as I420 bytes.
    pub fn submit_and_read(
        &self,
        gpu: &Gpu,
        encoder: wgpu::CommandEncoder,
    ) -> Result<Vec<u8>, GpuError> {
        let slice = submit_and_map(gpu, encoder, &self.readback)?;
        let out = slice
            .get_mapped_range()
            .map_err(|e| GpuError::Readback(e.to_string()))?
            .to_vec();
        self.readback.unmap();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::render::still::synthetic_person;
    use crate::render::{AdapterChoice, Compositor, Gpu, KeyParams, Layout, SeatView};
    use std::sync::Arc;

    /// An idle tick (nothing it is drawn from changed) gets the last frame without drawing;
    /// a new camera frame, a changed nameplate or a camera move draws again.
    #[test]
    fn a_tick_whose_inputs_did_not_change_is_not_drawn_again() {
        let gpu = Gpu::open(AdapterChoice::Auto).unwrap();
        let layout = Layout::load(&crate::config::default_assets_dir(), "courtroom").unwrap();
        let mut c = Compositor::new(gpu, layout.clone(), 320, 180).unwrap();
        let mut views = vec![SeatView::default(); c.layout().seats.len()];
        let empty = c.render_i420(&views).unwrap();
        let again = c.compose_i420(&views).unwrap();
        assert!(!again.drawn, "the same inputs say the frame was not drawn");
        assert_eq!(again.i420, empty);
        assert_eq!(c.rendered(), 1, "nobody seated: drawn once");

        let person = Arc::new(synthetic_person(320, 240, [210, 40, 40], 0));
        views[0].frame = Some((1, person.clone()));
        let seated = c.compose_i420(&views).unwrap();
        assert!(seated.drawn);
        assert_ne!(seated.i420, empty);
        c.render_i420(&views).unwrap();
        assert_eq!(c.rendered(), 2, "a stalled camera: drawn once more");

        views[0].frame = Some((2, person));
        c.render_i420(&views).unwrap();
        views[0].away = true;
        c.render_i420(&views).unwrap();
        assert_eq!(c.rendered(), 4, "a new frame and going away each draw");

        let other = layout
            .views
            .iter()
            .find_map(|v| {
                layout
                    .camera_for(&v.name)
                    .filter(|cam| *cam != layout.camera)
            })
            .expect("a second camera view");
        c.set_camera(other);
        c.render_i420(&views).unwrap();
        c.render_i420(&views).unwrap();
        assert_eq!(c.rendered(), 5, "a camera move draws once");
    }

    #[test]
    fn i420_output_matches_a_cpu_conversion_of_the_rgba_render() {
        let gpu = Gpu::open(AdapterChoice::Auto).unwrap();
        let layout = Layout::load(&crate::config::default_assets_dir(), "courtroom").unwrap();
        // 968 = 8 × 121: rows that are not 256-byte aligned, and an odd number of 8-pixel blocks.
        let (w, h) = (968usize, 546usize);
        let mut c = Compositor::new(gpu, layout, w as u32, h as u32).unwrap();
        let mut views = vec![SeatView::default(); c.layout().seats.len()];
        views[0] = SeatView {
            frame: Some((1, Arc::new(synthetic_person(320, 240, [210, 40, 40], 0)))),
            away: false,
            key: KeyParams::default(),
            nameplate: None,
            crop: None,
            gain: None,
        };
        let rgba = c.render_rgba(&views).unwrap();
        let i420 = c.render_i420(&views).unwrap();
        assert_eq!(i420.len(), w * h * 3 / 2);
        let px = |x: usize, y: usize| {
            let i = (y * w + x) * 4;
            [
                rgba[i] as f32 / 255.0,
                rgba[i + 1] as f32 / 255.0,
                rgba[i + 2] as f32 / 255.0,
            ]
        };
        let mut worst = 0i32;
        for y in 0..h {
            for x in 0..w {
                let [r, g, b] = px(x, y);
                let expect = (16.0 + 219.0 * (0.299 * r + 0.587 * g + 0.114 * b)).round() as i32;
                worst = worst.max((i420[y * w + x] as i32 - expect).abs());
            }
        }
        let (cw, ch) = (w / 2, h / 2);
        for cy in 0..ch {
            for cx in 0..cw {
                let mut s = [0f32; 3];
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let p = px(cx * 2 + dx, cy * 2 + dy);
                    for k in 0..3 {
                        s[k] += p[k] / 4.0;
                    }
                }
                let u = (128.0 + 224.0 * (-0.168736 * s[0] - 0.331264 * s[1] + 0.5 * s[2])).round()
                    as i32;
                let v = (128.0 + 224.0 * (0.5 * s[0] - 0.418688 * s[1] - 0.081312 * s[2])).round()
                    as i32;
                worst = worst.max((i420[w * h + cy * cw + cx] as i32 - u).abs());
                worst = worst.max((i420[w * h * 5 / 4 + cy * cw + cx] as i32 - v).abs());
            }
        }
        assert!(
            worst <= 1,
            "largest difference from the CPU conversion: {worst}"
        );
    }
}
