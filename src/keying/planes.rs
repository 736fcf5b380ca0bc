//! A camera frame as the keyer reads it: the full-resolution luma plane, and one RGBA texture at
//! chroma resolution holding each 4:2:0 site's block-mean luma, Cb and Cr.
//!
//! Packing the three values of a chroma site into one texel is a speed decision for lavapipe,
//! where every texture fetch is dozens of instructions: the keyer's luma-guided chroma
//! upsampling reads four sites (four fetches instead of twelve plus four luma taps), and each
//! tap of its edge ring reads one texel instead of three. The seat shader and the headless key
//! pass both bind a frame through this type, so they cannot drift apart.

use super::coverage::{self, UvRect};
use super::params::KeyParams;
use super::residual::{ResidualMap, GRID_H, GRID_W};
use super::temporal::PlaneHistory;
use crate::gpu::pipeline::uniform_entry;
use crate::gpu::texture::{texture_desc, write_plane};
use crate::media::frame::VideoFrame;

/// Bind group slots shared by every shader that keys (see `shaders/keyer.wgsl`).
pub mod binding {
    /// The uniform holding the keyer's parameters (and, for seats, their placement).
    pub const UNIFORM: u32 = 0;
    /// The luma plane, `R8Unorm` at the frame's size.
    pub const LUMA: u32 = 1;
    /// The packed chroma sites, `Rgba8Unorm` at the chroma plane's size.
    pub const SITES: u32 = 2;
    /// A linear, clamp-to-edge sampler.
    pub const SAMPLER: u32 = 3;
    /// The screen model's residual map, `Rgba16Float`, a texel per cell
    /// ([`crate::keying::residual`]).
    pub const RESIDUAL: u32 = 4;
}

/// The bind group layout entries for a keyed frame: uniform, luma, sites, sampler, residual.
/// `uniform_visibility` says which stages read the uniform.
pub fn layout_entries(uniform_visibility: wgpu::ShaderStages) -> [wgpu::BindGroupLayoutEntry; 5] {
    let texture = |binding| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Texture {
            sample_type: wgpu::TextureSampleType::Float { filterable: true },
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    };
    [
        uniform_entry(binding::UNIFORM, uniform_visibility),
        texture(binding::LUMA),
        texture(binding::SITES),
        wgpu::BindGroupLayoutEntry {
            binding: binding::SAMPLER,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
            count: None,
        },
        texture(binding::RESIDUAL),
    ]
}

/// The linear, clamp-to-edge sampler the keyer expects.
pub fn sampler(device: &wgpu::Device) -> wgpu::Sampler {
    device.create_sampler(&wgpu::SamplerDescriptor {
        label: Some("keyed frame"),
        mag_filter: wgpu::FilterMode::Linear,
        min_filter: wgpu::FilterMode::Linear,
        address_mode_u: wgpu::AddressMode::ClampToEdge,
        address_mode_v: wgpu::AddressMode::ClampToEdge,
        ..Default::default()
    })
}

/// Binds `uniform`, the luma, sites and residual textures and `sampler` at [`binding`]'s slots.
fn bind_planes(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    uniform: &wgpu::Buffer,
    sampler: &wgpu::Sampler,
    [luma, sites, residual]: [&wgpu::Texture; 3],
) -> wgpu::BindGroup {
    let luma_view = luma.create_view(&Default::default());
    let sites_view = sites.create_view(&Default::default());
    let residual_view = residual.create_view(&Default::default());
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("keyed frame"),
        layout,
        entries: &[
            wgpu::BindGroupEntry {
                binding: binding::UNIFORM,
                resource: uniform.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: binding::LUMA,
                resource: wgpu::BindingResource::TextureView(&luma_view),
            },
            wgpu::BindGroupEntry {
                binding: binding::SITES,
                resource: wgpu::BindingResource::TextureView(&sites_view),
            },
            wgpu::BindGroupEntry {
                binding: binding::SAMPLER,
                resource: wgpu::BindingResource::Sampler(sampler),
            },
            wgpu::BindGroupEntry {
                binding: binding::RESIDUAL,
                resource: wgpu::BindingResource::TextureView(&residual_view),
            },
        ],
    })
}

/// One frame size's textures, and the bind group that hands them to a keying shader.
pub struct KeyedFrame {
    /// Frame size in pixels.
    pub size: (u32, u32),
    luma: wgpu::Texture,
    sites: wgpu::Texture,
    residual: wgpu::Texture,
    /// The residual map last uploaded, so an unchanged one is not sent again.
    residual_sent: Option<ResidualMap>,
    /// Uniform, luma, sites, sampler and residual, bound at [`binding`]'s slots.
    pub bind_group: wgpu::BindGroup,
    packed: Vec<u8>,
    /// Smoothing over time of the luma and the packed sites (a live seat), or none (a still).
    history: Option<[PlaneHistory; 2]>,
    luma_smoothed: Vec<u8>,
}

impl KeyedFrame {
    /// Textures for frames of `size`, bound with `uniform` and `sampler` through `layout`
    /// (made from [`layout_entries`]).
    pub fn new(
        device: &wgpu::Device,
        layout: &wgpu::BindGroupLayout,
        uniform: &wgpu::Buffer,
        sampler: &wgpu::Sampler,
        size: (u32, u32),
    ) -> Self {
        let usage = wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST;
        let (cw, ch) = (size.0.div_ceil(2), size.1.div_ceil(2));
        let luma = device.create_texture(&texture_desc(
            "luma",
            size.0,
            size.1,
            wgpu::TextureFormat::R8Unorm,
            usage,
        ));
        let sites = device.create_texture(&texture_desc(
            "chroma sites",
            cw,
            ch,
            wgpu::TextureFormat::Rgba8Unorm,
            usage,
        ));
        let residual = device.create_texture(&texture_desc(
            "screen residual",
            GRID_W as u32,
            GRID_H as u32,
            wgpu::TextureFormat::Rgba16Float,
            usage,
        ));
        let bind_group = bind_planes(device, layout, uniform, sampler, [&luma, &sites, &residual]);
        Self {
            size,
            luma,
            sites,
            residual,
            residual_sent: None,
            bind_group,
            packed: Vec::new(),
            history: None,
            luma_smoothed: Vec::new(),
        }
    }

    /// Another bind group on the same textures with a different `uniform`: the same frame
    /// drawn a second time elsewhere (the presenter's picture-in-picture).
    pub fn bind(
        &self,
        device: &wgpu::Device,
        layout: &wgpu::BindGroupLayout,
        uniform: &wgpu::Buffer,
        sampler: &wgpu::Sampler,
    ) -> wgpu::BindGroup {
        bind_planes(
            device,
            layout,
            uniform,
            sampler,
            [&self.luma, &self.sites, &self.residual],
        )
    }

    /// Smooths each uploaded frame over time against the ones before
    /// ([`super::temporal`]): for a live seat's video, so the key does not flicker.
    pub fn smoothed_over_time(mut self) -> Self {
        self.history = Some(Default::default());
        self
    }

    /// Uploads the seat's screen residual map, when it differs from the one last sent (it
    /// changes about once a second, with the key calibration).
    pub fn upload_residual(&mut self, queue: &wgpu::Queue, map: &ResidualMap) {
        if self.residual_sent.as_ref() == Some(map) {
            return;
        }
        let texels: Vec<half::f16> = map
            .0
            .iter()
            .flat_map(|c| c.map(half::f16::from_f32))
            .collect();
        queue.write_texture(
            self.residual.as_image_copy(),
            bytemuck::cast_slice(&texels),
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(GRID_W as u32 * 8),
                rows_per_image: Some(GRID_H as u32),
            },
            wgpu::Extent3d {
                width: GRID_W as u32,
                height: GRID_H as u32,
                depth_or_array_layers: 1,
            },
        );
        self.residual_sent = Some(*map);
    }

    /// Uploads `frame`, which must have this size.
    pub fn upload(&mut self, queue: &wgpu::Queue, frame: &VideoFrame) {
        debug_assert_eq!((frame.width, frame.height), self.size);
        let (cw, ch) = frame.chroma_size();
        pack_sites(frame, &mut self.packed);
        let luma = match &mut self.history {
            Some([luma, sites]) => {
                self.luma_smoothed.clear();
                self.luma_smoothed.extend_from_slice(&frame.y);
                luma.smooth(&mut self.luma_smoothed);
                sites.smooth(&mut self.packed);
                &self.luma_smoothed
            }
            None => &frame.y,
        };
        write_plane(queue, &self.luma, luma, frame.width, frame.height);
        queue.write_texture(
            self.sites.as_image_copy(),
            &self.packed,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(cw * 4),
                rows_per_image: Some(ch),
            },
            wgpu::Extent3d {
                width: cw,
                height: ch,
                depth_or_array_layers: 1,
            },
        );
    }
}

impl KeyedFrame {
    /// The parts of the last uploaded frame (`frame`) the keyer could keep anything in
    /// ([`super::coverage`]), found in the planes as the keyer reads them (smoothed over time
    /// for a live seat).
    pub fn subject_rows(&self, frame: &VideoFrame, key: &KeyParams) -> Vec<UvRect> {
        let luma = match self.history {
            Some(_) => &self.luma_smoothed,
            None => &frame.y,
        };
        coverage::subject_rows(luma, &self.packed, self.size, key)
    }
}

/// Packs each chroma site as (mean luma of its 2×2 block, Cb, Cr, 255) into `out`.
/// Blocks on an odd frame's last row or column repeat the edge pixel.
pub fn pack_sites(frame: &VideoFrame, out: &mut Vec<u8>) {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let (cw, ch) = frame.chroma_size();
    let (cw, ch) = (cw as usize, ch as usize);
    out.clear();
    if cw == 0 {
        return;
    }
    out.resize(cw * ch * 4, 255);
    let mean = |sum: u32| ((sum + 2) / 4) as u8;
    for (j, row) in out.chunks_exact_mut(cw * 4).enumerate() {
        let (y0, y1) = (2 * j, (2 * j + 1).min(h - 1));
        let (r0, r1) = (&frame.y[y0 * w..y0 * w + w], &frame.y[y1 * w..y1 * w + w]);
        let (u, v) = (&frame.u[j * cw..][..cw], &frame.v[j * cw..][..cw]);
        // Whole 2×2 blocks, in lock step (no index arithmetic, so the loop vectorises).
        for ((((site, a), b), &cb), &cr) in row
            .chunks_exact_mut(4)
            .zip(r0.chunks_exact(2))
            .zip(r1.chunks_exact(2))
            .zip(u)
            .zip(v)
        {
            site[0] = mean(a[0] as u32 + a[1] as u32 + b[0] as u32 + b[1] as u32);
            site[1] = cb;
            site[2] = cr;
        }
        // An odd frame's last column: the block repeats its edge pixel.
        if w % 2 == 1 {
            let (i, x) = (cw - 1, w - 1);
            row[4 * i] = mean(2 * (r0[x] as u32 + r1[x] as u32));
            row[4 * i + 1] = u[i];
            row[4 * i + 2] = v[i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_hold_block_mean_luma_and_the_site_chroma() {
        let mut frame = VideoFrame::solid(5, 3, [0, 0, 0]);
        frame.y = (0..15).map(|i| (i * 10) as u8).collect();
        frame.u = (0..6).map(|i| 100 + i as u8).collect();
        frame.v = (0..6).map(|i| 200 + i as u8).collect();
        let mut out = Vec::new();
        pack_sites(&frame, &mut out);
        assert_eq!(out.len(), 3 * 2 * 4);
        // Site (0,0): luma 0, 10, 50, 60 → 30.
        assert_eq!(&out[0..4], &[30, 100, 200, 255]);
        // Site (2,0) on the odd last column: luma 40, 40, 90, 90 → 65.
        assert_eq!(&out[8..12], &[65, 102, 202, 255]);
        // Site (1,1) on the odd last row: luma 120, 130, 120, 130 → 125.
        assert_eq!(&out[16..20], &[125, 104, 204, 255]);
    }

    #[test]
    fn sites_match_the_site_by_site_definition_at_every_size() {
        for (w, h) in [
            (0, 4),
            (1, 1),
            (1, 5),
            (5, 1),
            (2, 2),
            (3, 3),
            (5, 4),
            (6, 5),
            (640, 480),
            (641, 361),
        ] {
            let mut frame = VideoFrame::solid(w, h, [0, 0, 0]);
            let mut seed = 0x9e37_79b9u32 ^ (w * 131 + h);
            let mut next = || {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as u8
            };
            frame.y.iter_mut().for_each(|p| *p = next());
            frame.u.iter_mut().for_each(|p| *p = next());
            frame.v.iter_mut().for_each(|p| *p = next());
            let (w, h) = (w as usize, h as usize);
            let (cw, ch) = frame.chroma_size();
            let mut want = Vec::new();
            for j in 0..ch as usize {
                for i in 0..cw as usize {
                    let (x0, x1) = (2 * i, (2 * i + 1).min(w - 1));
                    let (y0, y1) = (2 * j, (2 * j + 1).min(h - 1));
                    let sum: u32 = [(x0, y0), (x1, y0), (x0, y1), (x1, y1)]
                        .iter()
                        .map(|&(x, y)| frame.y[y * w + x] as u32)
                        .sum();
                    let c = j * cw as usize + i;
                    want.extend_from_slice(&[((sum + 2) / 4) as u8, frame.u[c], frame.v[c], 255]);
                }
            }
            let mut out = vec![7; 3];
            pack_sites(&frame, &mut out);
            assert!(out == want, "{w}x{h}");
        }
    }
}
