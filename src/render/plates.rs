//! The seats' nameplates on the GPU: each plaque ([`super::nameplate`], rasterised on the CPU)
//! as a mipmapped texture on a quad in front of its seat (`shaders/nameplate.wgsl`). They are
//! drawn into the compositor's cached room, depth-tested and written, so they cost nothing per
//! tick: a seat's plaque is rasterised again, and the room redrawn, only when its text (the
//! occupant or the locale) changes.

use glam::Mat4;

use super::layout::Layout;
use super::nameplate::{self, NameplateText, PLAQUE_TEXTURE_HEIGHT};
use crate::gpu::pipeline::{pipeline, uniform_entry, COLOR_FORMAT};
use crate::gpu::shader;
use crate::gpu::texture::{texture_desc, write_mips};
use crate::gpu::types::QuadUniform;
use crate::gpu::Gpu;

/// One seat's nameplate on the GPU.
struct PlateGpu {
    uniform: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    corners: [[f32; 4]; 4],
    _texture: wgpu::Texture,
}

/// What one seat's plaque shows, and the plaque.
#[derive(Default)]
struct SeatPlate {
    /// The text the current plaque shows (also when it could not be drawn, so a failure is not
    /// retried every tick).
    text: Option<NameplateText>,
    plate: Option<PlateGpu>,
}

/// The nameplate pipeline and one plaque per seat that shows one.
pub struct Nameplates {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    seats: Vec<SeatPlate>,
}

impl Nameplates {
    /// Builds the pipeline for `seats` seats, none showing a plaque yet, and parses the font
    /// now, at hearing start, not on the first tick that needs it.
    pub fn new(device: &wgpu::Device, seats: usize) -> Self {
        let shader = shader::module(device, "nameplate.wgsl");
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("nameplate"),
            entries: &[
                uniform_entry(0, wgpu::ShaderStages::VERTEX_FRAGMENT),
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: true },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 2,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                    count: None,
                },
            ],
        });
        let pipeline = pipeline(
            device,
            "nameplate",
            &shader,
            &[&layout],
            &[],
            COLOR_FORMAT,
            None,
            Some((true, wgpu::CompareFunction::Less)),
            None,
        );
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("nameplate"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            mipmap_filter: wgpu::MipmapFilterMode::Linear,
            address_mode_u: wgpu::AddressMode::ClampToEdge,
            address_mode_v: wgpu::AddressMode::ClampToEdge,
            ..Default::default()
        });
        if let Err(e) = nameplate::font() {
            tracing::warn!("nameplates disabled: {e}");
        }
        Self {
            pipeline,
            layout,
            sampler,
            seats: (0..seats).map(|_| SeatPlate::default()).collect(),
        }
    }

    /// Rebuilds seat `index`'s plaque when its text changed (occupant or locale) and returns
    /// true: the cached room must be redrawn. Otherwise does nothing and returns false.
    pub fn prepare(
        &mut self,
        gpu: &Gpu,
        layout: &Layout,
        index: usize,
        text: Option<&NameplateText>,
    ) -> bool {
        let seat = &mut self.seats[index];
        if seat.text.as_ref() == text {
            return false;
        }
        seat.text = text.cloned();
        seat.plate = None;
        let (Some(text), Some(spec)) = (text, layout.nameplate(index)) else {
            return true;
        };
        let width = nameplate::texture_width(spec.width / spec.height);
        let plaque = match nameplate::rasterise(text, width, PLAQUE_TEXTURE_HEIGHT) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(seat = index, "nameplate not drawn: {e}");
                return true;
            }
        };
        let device = &gpu.device;
        let mips = plaque.mip_chain();
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            mip_level_count: mips.len() as u32,
            ..texture_desc(
                "nameplate",
                plaque.width,
                plaque.height,
                COLOR_FORMAT,
                wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            )
        });
        write_mips(&gpu.queue, &texture, 0, &mips);
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("nameplate uniform"),
            size: std::mem::size_of::<QuadUniform>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let view = texture.create_view(&Default::default());
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("nameplate"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: uniform.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(&view),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::Sampler(&self.sampler),
                },
            ],
        });
        self.seats[index].plate = Some(PlateGpu {
            uniform,
            bind_group,
            corners: spec.corners().map(|c| [c.x, c.y, c.z, 1.0]),
            _texture: texture,
        });
        true
    }

    /// Draws every seat's plaque into `pass` (the room pass) from the camera `view_proj`.
    pub fn draw(&self, queue: &wgpu::Queue, pass: &mut wgpu::RenderPass<'_>, view_proj: Mat4) {
        pass.set_pipeline(&self.pipeline);
        for plate in self.seats.iter().filter_map(|s| s.plate.as_ref()) {
            let uniform = QuadUniform {
                view_proj: view_proj.to_cols_array_2d(),
                corners: plate.corners,
                look: [1.0, 0.0, 0.0, 0.0],
            };
            queue.write_buffer(&plate.uniform, 0, bytemuck::bytes_of(&uniform));
            pass.set_bind_group(0, &plate.bind_group, &[]);
            pass.draw(0..6, 0..1);
        }
    }
}
