//! Light wrap: a little of the room behind a keyed person bleeds into their edges, so the
//! edges pick up the room's light instead of looking pasted on.
//!
//! Whenever the compositor redraws its cached room (a camera move, a change of occupancy), it
//! also has [`LightWrap`] make a blurred copy an eighth of the size: a box-average downsample
//! and a small Gaussian (`shaders/light_wrap.wgsl`). That costs nothing per tick. Each tick the
//! seat shader (`shaders/participant.wgsl`) loads one texel of it at the fragment's screen
//! position and mixes it in by `strength × (1 − alpha)`: nothing in a person's solid interior,
//! most where the key left them partly transparent (outline, hair).

use crate::gpu::pipeline::{pipeline_with_entry, COLOR_FORMAT};
use crate::gpu::shader;
use crate::gpu::texture::texture_desc;

/// How much of the blurred room an edge fragment takes at alpha 0, falling linearly to none
/// at alpha 1. Alpha blending weights the fragment by alpha again, so the largest change to
/// the composite, at alpha one half, is a quarter of this.
pub const STRENGTH: f32 = 0.6;
/// The blurred room's size relative to the output, per axis.
const SCALE: u32 = 8;

/// The blurred room and what draws it; bound to the seat pipeline as group 1.
pub struct LightWrap {
    down: wgpu::RenderPipeline,
    blur: wgpu::RenderPipeline,
    /// The room averaged down to an eighth of its size (the blur's input).
    small: wgpu::Texture,
    /// The blurred room the seats read.
    blurred: wgpu::Texture,
    /// Reads the cached room (for `down`).
    down_bind_group: wgpu::BindGroup,
    /// Reads `small` (for `blur`).
    blur_bind_group: wgpu::BindGroup,
    seat_layout: wgpu::BindGroupLayout,
    seat_bind_group: wgpu::BindGroup,
    /// Texels of `blurred` per output pixel, per axis.
    texels_per_pixel: [f32; 2],
    strength: f32,
}

impl LightWrap {
    /// Builds the passes that blur `room` (the compositor's cached room, `width × height`,
    /// with `TEXTURE_BINDING` usage), and the bind group the seats read the result through.
    pub fn new(device: &wgpu::Device, room: &wgpu::Texture, width: u32, height: u32) -> Self {
        let shader = shader::module(device, "light_wrap.wgsl");
        let texture_entry = wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Texture {
                sample_type: wgpu::TextureSampleType::Float { filterable: true },
                view_dimension: wgpu::TextureViewDimension::D2,
                multisampled: false,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("light wrap pass"),
            entries: &[
                texture_entry,
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                    count: None,
                },
            ],
        });
        let seat_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("light wrap (seats)"),
            entries: &[texture_entry],
        });
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("light wrap"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            address_mode_u: wgpu::AddressMode::ClampToEdge,
            address_mode_v: wgpu::AddressMode::ClampToEdge,
            ..Default::default()
        });
        let (sw, sh) = (width.div_ceil(SCALE), height.div_ceil(SCALE));
        let usage = wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::TEXTURE_BINDING;
        let small =
            device.create_texture(&texture_desc("room, small", sw, sh, COLOR_FORMAT, usage));
        let blurred =
            device.create_texture(&texture_desc("room, blurred", sw, sh, COLOR_FORMAT, usage));
        let view = |texture: &wgpu::Texture| texture.create_view(&Default::default());
        let pass_bind_group = |texture: &wgpu::Texture| {
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("light wrap pass"),
                layout: &layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: wgpu::BindingResource::TextureView(&view(texture)),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::Sampler(&sampler),
                    },
                ],
            })
        };
        let seat_bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("light wrap (seats)"),
            layout: &seat_layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::TextureView(&view(&blurred)),
            }],
        });
        let pass_pipeline = |entry: &str| {
            pipeline_with_entry(
                device,
                entry,
                &shader,
                entry,
                &[&layout],
                &[],
                COLOR_FORMAT,
                None,
                None,
                None,
            )
        };
        Self {
            down: pass_pipeline("fs_down"),
            blur: pass_pipeline("fs_blur"),
            down_bind_group: pass_bind_group(room),
            blur_bind_group: pass_bind_group(&small),
            seat_bind_group,
            seat_layout,
            small,
            blurred,
            texels_per_pixel: [sw as f32 / width as f32, sh as f32 / height as f32],
            strength: STRENGTH,
        }
    }

    /// The bind group layout of [`LightWrap::bind_group`]: the blurred room at binding 0.
    pub fn layout(&self) -> &wgpu::BindGroupLayout {
        &self.seat_layout
    }

    /// The blurred room, for the seat pipeline's group 1.
    pub fn bind_group(&self) -> &wgpu::BindGroup {
        &self.seat_bind_group
    }

    /// Sets how much of the room an edge takes ([`STRENGTH`] by default; 0 turns light wrap
    /// off). Takes effect on the seats' next uniform write, that is the next tick.
    pub fn set_strength(&mut self, strength: f32) {
        self.strength = strength.max(0.0);
    }

    /// The seat uniform's `wrap` field: `xy` texels of the blurred room per output pixel, `z`
    /// strength, `w` unused.
    pub fn uniform(&self) -> [f32; 4] {
        [
            self.texels_per_pixel[0],
            self.texels_per_pixel[1],
            self.strength,
            0.0,
        ]
    }

    /// Records the two passes that blur the cached room; call after the room was redrawn.
    pub fn encode(&self, encoder: &mut wgpu::CommandEncoder) {
        for (pipeline, bind_group, target) in [
            (&self.down, &self.down_bind_group, &self.small),
            (&self.blur, &self.blur_bind_group, &self.blurred),
        ] {
            let view = target.create_view(&Default::default());
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("light wrap"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                ..Default::default()
            });
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, bind_group, &[]);
            pass.draw(0..3, 0..1);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::render::still::{frame_from_rgb, SCREEN_GREEN};
    use crate::render::{AdapterChoice, Compositor, Gpu, KeyParams, Layout, SeatView};

    /// A blue person filling the frame but for soft sides: over 40 px at either side they fade
    /// into the green screen, so the key leaves them partly transparent there.
    fn soft_edged_person(width: u32, height: u32) -> crate::media::frame::VideoFrame {
        const PERSON: [f32; 3] = [40.0, 70.0, 220.0];
        let mut rgb = Vec::with_capacity((width * height * 3) as usize);
        for _ in 0..height {
            for x in 0..width {
                let inset = (x as f32 - 30.0).min(width as f32 - 30.0 - x as f32);
                let a = (inset / 40.0).clamp(0.0, 1.0);
                for c in 0..3 {
                    let screen = SCREEN_GREEN[c] as f32;
                    rgb.push((screen + (PERSON[c] - screen) * a).round() as u8);
                }
            }
        }
        frame_from_rgb(width, height, &rgb)
    }

    fn distance(a: &[u8], b: &[u8]) -> u32 {
        (0..3).map(|c| a[c].abs_diff(b[c]) as u32).sum()
    }

    #[test]
    fn edges_take_the_rooms_light_and_the_interior_keeps_its_colour() {
        let gpu = Gpu::open(AdapterChoice::Auto).unwrap();
        let layout = Layout::load(&crate::config::default_assets_dir(), "courtroom").unwrap();
        let seat = layout.seat_index("witness").unwrap();
        let speaker = layout.camera_for("speaker:witness").unwrap();
        let (w, h) = (480u32, 270u32);
        let mut c = Compositor::new(gpu, layout, w, h).unwrap();
        // Close on the seat, so its edges span many pixels.
        c.set_camera(speaker);
        let mut views = vec![SeatView::default(); c.layout().seats.len()];
        let show = |views: &mut Vec<SeatView>, frame| {
            views[seat] = SeatView {
                frame: Some((
                    1 + views[seat].frame.as_ref().map_or(0, |f| f.0),
                    Arc::new(frame),
                )),
                key: KeyParams::default(),
                ..Default::default()
            };
        };
        // The room with the seat occupied (its contact shadow drawn) but nothing keyed in.
        show(
            &mut views,
            crate::media::frame::VideoFrame::solid(320, 240, SCREEN_GREEN),
        );
        let room = c.render_rgba(&views).unwrap();
        show(&mut views, soft_edged_person(320, 240));
        c.set_light_wrap(0.0);
        let plain = c.render_rgba(&views).unwrap();
        c.set_light_wrap(super::STRENGTH);
        let wrapped = c.render_rgba(&views).unwrap();

        // The person's solid colour: the middle of the seat's box.
        let b = c.seat_boxes()[seat];
        let at = |img: &[u8], x: u32, y: u32| {
            let i = ((y * w + x) * 4) as usize;
            img[i..i + 3].to_vec()
        };
        let solid = at(&plain, b.x + b.w / 2, b.y + b.h / 3);
        assert!(
            distance(&solid, &[40, 70, 220]) < 60,
            "the person is drawn: {solid:?}"
        );
        let (mut edges, mut interior) = (Vec::new(), 0usize);
        for i in 0..(w * h) as usize {
            let p = &plain[i * 4..i * 4 + 3];
            let (r, q) = (&room[i * 4..i * 4 + 3], &wrapped[i * 4..i * 4 + 3]);
            if distance(p, &solid) <= 3 {
                interior += 1;
                assert!(
                    distance(q, p) <= 3,
                    "interior pixel {i} changed: {p:?} → {q:?}"
                );
            } else if distance(p, r) > 12 && distance(p, &solid) > 12 {
                // Partly transparent: neither room nor solid person.
                edges.push((distance(p, r), distance(q, r)));
            }
        }
        assert!(interior > 1000, "{interior} interior pixels");
        assert!(edges.len() > 50, "{} edge pixels", edges.len());
        let before: u32 = edges.iter().map(|e| e.0).sum();
        let after: u32 = edges.iter().map(|e| e.1).sum();
        assert!(
            (after as f32) < 0.93 * before as f32,
            "edges should move towards the room: distance {before} → {after}"
        );
        let away = edges.iter().filter(|e| e.1 > e.0 + 3).count();
        assert_eq!(away, 0, "edge pixels moving away from the room");
    }
}
