//! Flat pictures standing in the room: an RGBA image with its mip chain on a quad with world
//! corners (`shaders/nameplate.wgsl`), drawn into the compositor's cached room, depth-tested
//! and written. The seats' nameplates ([`super::plates`]) and the evidence display
//! ([`super::display`]) are panels: they cost nothing per tick, and change only when their
//! picture does.

use glam::{Mat4, Vec3};

use crate::gpu::pipeline::{pipeline, uniform_buffer, uniform_entry, COLOR_FORMAT};
use crate::gpu::shader;
use crate::gpu::texture::{halve, texture_desc, write_mips};
use crate::gpu::types::QuadUniform;
use crate::gpu::Gpu;

/// One panel on the device: its texture, its uniform and where it stands.
pub struct Panel {
    uniform: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    corners: [[f32; 4]; 4],
    _texture: wgpu::Texture,
}

/// The pipeline every panel is drawn with, and its sampler.
pub struct PanelPipeline {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    label: &'static str,
}

impl PanelPipeline {
    /// Builds the pipeline; `label` names its device objects.
    pub fn new(device: &wgpu::Device, label: &'static str) -> Self {
        let shader = shader::module(device, "nameplate.wgsl");
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(label),
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
            label,
            &shader,
            &[&layout],
            &[],
            COLOR_FORMAT,
            None,
            Some((true, wgpu::CompareFunction::Less)),
            None,
        );
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some(label),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            mipmap_filter: wgpu::MipmapFilterMode::Linear,
            address_mode_u: wgpu::AddressMode::ClampToEdge,
            address_mode_v: wgpu::AddressMode::ClampToEdge,
            ..Default::default()
        });
        Self {
            pipeline,
            layout,
            sampler,
            label,
        }
    }

    /// Uploads a picture (`mips`: RGBA levels, largest first, as [`mip_chain`] makes them) to
    /// stand at `corners` (bottom-left, bottom-right, top-left, top-right).
    pub fn panel(&self, gpu: &Gpu, mips: &[(u32, u32, Vec<u8>)], corners: [Vec3; 4]) -> Panel {
        let device = &gpu.device;
        let (width, height, _) = &mips[0];
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            mip_level_count: mips.len() as u32,
            ..texture_desc(
                self.label,
                *width,
                *height,
                COLOR_FORMAT,
                wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            )
        });
        write_mips(&gpu.queue, &texture, 0, mips);
        let uniform = uniform_buffer::<QuadUniform>(device, self.label);
        let view = texture.create_view(&Default::default());
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(self.label),
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
        Panel {
            uniform,
            bind_group,
            corners: corners.map(|c| [c.x, c.y, c.z, 1.0]),
            _texture: texture,
        }
    }

    /// Draws `panels` into `pass` (the room pass) from the camera `view_proj`.
    pub fn draw<'a>(
        &self,
        queue: &wgpu::Queue,
        pass: &mut wgpu::RenderPass<'_>,
        panels: impl IntoIterator<Item = &'a Panel>,
        view_proj: Mat4,
    ) {
        pass.set_pipeline(&self.pipeline);
        for panel in panels {
            let uniform = QuadUniform {
                view_proj: view_proj.to_cols_array_2d(),
                corners: panel.corners,
                look: [1.0, 0.0, 0.0, 0.0],
            };
            queue.write_buffer(&panel.uniform, 0, bytemuck::bytes_of(&uniform));
            pass.set_bind_group(0, &panel.bind_group, &[]);
            pass.draw(0..6, 0..1);
        }
    }
}

/// An RGBA picture (`width × height`, rows top first) and its mip chain (2×2 box filter) down
/// to the first level with a side under 16 or odd, largest first.
pub fn mip_chain(width: u32, height: u32, rgba: Vec<u8>) -> Vec<(u32, u32, Vec<u8>)> {
    let mut levels = vec![(width, height, rgba)];
    loop {
        let (w, h, data) = levels.last().expect("level 0");
        if w % 2 != 0 || h % 2 != 0 || *w < 16 || *h < 16 {
            break;
        }
        let next = halve(*w, *h, data);
        levels.push((w / 2, h / 2, next));
    }
    levels
}
