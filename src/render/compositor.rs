//! The per-hearing compositor pass: room, keyed participants, I420 conversion, readback.
//!
//! Pipelines and targets are built once when the compositor is created; a tick only uploads the
//! frames that changed, writes uniforms and records three passes. Nameplates are drawn into the
//! cached room, so they cost nothing per tick: a seat's plaque is rasterised, and the room
//! redrawn, only when its occupant or the locale changes. Each redraw of the room also blurs a
//! small copy of it for the seats' light wrap ([`super::wrap`]).

use std::sync::Arc;

use glam::{Mat4, Vec3};

use super::geometry::{boxes_mesh, RoomVertex};
use super::gpu::Gpu;
use super::gpu_types::{QuadUniform, RoomUniform, SeatUniform};
use super::i420::I420Output;
use super::layout::{CameraSpec, Layout, ScreenBox};
use super::material::MaterialTextures;
use super::nameplate::{self, NameplateText, PLAQUE_TEXTURE_HEIGHT};
use super::shadow::ContactShadows;
use super::wrap::LightWrap;
use super::RenderError;
use crate::keying::planes::{self, KeyedFrame};
use crate::media::frame::VideoFrame;

pub(crate) const COLOR_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;
const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;
/// The room behind everything, a warm dark tone rather than black.
const CLEAR: wgpu::Color = wgpu::Color {
    r: 0.12,
    g: 0.10,
    b: 0.09,
    a: 1.0,
};

pub use crate::keying::KeyParams;

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
    /// framing, src/framing); `None` cuts the frame's excess evenly ([`fit_crop`]).
    pub crop: Option<[f32; 4]>,
    /// Per-channel gain, red, green, blue (brightness times white balance), that matches the
    /// person to the room ([`super::look`]); `None` is 1.
    pub gain: Option<[f32; 3]>,
}

struct SeatGpu {
    uniform: wgpu::Buffer,
    textures: Option<KeyedFrame>,
    uploaded_seq: u64,
    /// The text the current plaque shows (also when it could not be drawn, so a failure is not
    /// retried every tick).
    plate_text: Option<NameplateText>,
    plate: Option<PlateGpu>,
}

/// One seat's nameplate on the GPU.
struct PlateGpu {
    uniform: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    corners: [[f32; 4]; 4],
    _texture: wgpu::Texture,
}

/// Draws one hearing's courtroom. Owns its targets; shares the device.
pub struct Compositor {
    gpu: Arc<Gpu>,
    layout: Layout,
    width: u32,
    height: u32,
    view_proj: Mat4,
    room_pipeline: wgpu::RenderPipeline,
    room_bind_group: wgpu::BindGroup,
    /// The room's material textures, bound in `room_bind_group`.
    _materials: MaterialTextures,
    room_ubo: wgpu::Buffer,
    room_vertices: wgpu::Buffer,
    room_vertex_count: u32,
    seat_pipeline: wgpu::RenderPipeline,
    seat_layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    plate_pipeline: wgpu::RenderPipeline,
    plate_layout: wgpu::BindGroupLayout,
    /// Contact shadows on the desks, drawn into the cached room for occupied seats.
    shadows: ContactShadows,
    /// Which seats were occupied when the cached room was last drawn.
    occupied: Vec<bool>,
    /// The blurred room the seats' edges take light from, redrawn with the room.
    wrap: LightWrap,
    plate_sampler: wgpu::Sampler,
    output: I420Output,
    color: wgpu::Texture,
    depth: wgpu::Texture,
    depth_view: wgpu::TextureView,
    /// The empty room from the current camera, colour and depth: drawn once per camera move and
    /// copied into the targets each tick, because on lavapipe rasterising the room costs more
    /// than keying a seated person.
    room_color: wgpu::Texture,
    room_depth: wgpu::Texture,
    room_stale: bool,
    seats: Vec<SeatGpu>,
    /// Seat indices sorted far to near, so blended people overlap correctly.
    draw_order: Vec<usize>,
}

impl Compositor {
    /// Builds pipelines and targets for an output of `width × height` (even; height a
    /// multiple of 4 for the I420 packing).
    pub fn new(
        gpu: Arc<Gpu>,
        layout: Layout,
        width: u32,
        height: u32,
    ) -> Result<Self, RenderError> {
        if width % 8 != 0 || height % 2 != 0 {
            return Err(RenderError::Layout(format!(
                "output {width}x{height}: width must be a multiple of 8 and height even"
            )));
        }
        let device = &gpu.device;
        let view_proj = layout.view_proj(width as f32 / height as f32);

        // Room.
        let room_shader =
            device.create_shader_module(wgpu::include_wgsl!("../../shaders/room.wgsl"));
        let [tex_entry, sampler_entry] = MaterialTextures::layout_entries(1);
        let room_bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("room"),
            entries: &[
                uniform_entry(0, wgpu::ShaderStages::VERTEX_FRAGMENT),
                tex_entry,
                sampler_entry,
            ],
        });
        let materials = MaterialTextures::new(device, &gpu.queue);
        let light = Vec3::from(layout.light.direction).normalize();
        let room_uniform = RoomUniform {
            view_proj: view_proj.to_cols_array_2d(),
            light_dir: [light.x, light.y, light.z, 0.0],
            light: [layout.light.ambient, layout.light.strength, 0.0, 0.0],
        };
        let room_ubo = buffer_init(
            device,
            "room uniform",
            bytemuck::bytes_of(&room_uniform),
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        let [tex, sampler] = materials.entries(1);
        let room_bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("room"),
            layout: &room_bgl,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: room_ubo.as_entire_binding(),
                },
                tex,
                sampler,
            ],
        });
        let mesh = boxes_mesh(&layout.boxes);
        let room_vertices = buffer_init(
            device,
            "room mesh",
            bytemuck::cast_slice(&mesh),
            wgpu::BufferUsages::VERTEX,
        );
        let room_pipeline = pipeline(
            device,
            "room",
            &room_shader,
            &[&room_bgl],
            &[Some(RoomVertex::LAYOUT)],
            COLOR_FORMAT,
            None,
            Some((true, wgpu::CompareFunction::Less)),
            Some(wgpu::Face::Back),
        );

        // Seats.
        let seat_shader = crate::keying::pass::keyed_shader_module(
            device,
            "participant.wgsl",
            include_str!("../../shaders/participant.wgsl"),
        );
        let seat_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("seat"),
            entries: &planes::layout_entries(wgpu::ShaderStages::VERTEX_FRAGMENT),
        });
        let room_usage = wgpu::TextureUsages::RENDER_ATTACHMENT
            | wgpu::TextureUsages::COPY_SRC
            | wgpu::TextureUsages::TEXTURE_BINDING;
        let room_color = device.create_texture(&texture_desc(
            "room",
            width,
            height,
            COLOR_FORMAT,
            room_usage,
        ));
        let wrap = LightWrap::new(device, &room_color, width, height);
        let seat_pipeline = pipeline(
            device,
            "seat",
            &seat_shader,
            &[&seat_layout, wrap.layout()],
            &[],
            COLOR_FORMAT,
            Some(wgpu::BlendState::ALPHA_BLENDING),
            Some((false, wgpu::CompareFunction::Less)),
            None,
        );
        let sampler = planes::sampler(device);
        let seats = layout
            .seats
            .iter()
            .map(|_| SeatGpu {
                uniform: device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("seat uniform"),
                    size: std::mem::size_of::<SeatUniform>() as u64,
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                }),
                textures: None,
                uploaded_seq: 0,
                plate_text: None,
                plate: None,
            })
            .collect();
        let draw_order = far_to_near(&layout);

        // Nameplates: drawn into the cached room, depth-tested and written.
        let plate_shader = room_quad_shader(
            device,
            "nameplate.wgsl",
            include_str!("../../shaders/nameplate.wgsl"),
        );
        let plate_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
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
        let plate_pipeline = pipeline(
            device,
            "nameplate",
            &plate_shader,
            &[&plate_layout],
            &[],
            COLOR_FORMAT,
            None,
            Some((true, wgpu::CompareFunction::Less)),
            None,
        );
        let plate_sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("nameplate"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            mipmap_filter: wgpu::MipmapFilterMode::Linear,
            address_mode_u: wgpu::AddressMode::ClampToEdge,
            address_mode_v: wgpu::AddressMode::ClampToEdge,
            ..Default::default()
        });
        // Parse the font now, at hearing start, not on the first tick that needs it.
        if let Err(e) = nameplate::font() {
            tracing::warn!("nameplates disabled: {e}");
        }

        // Targets.
        let color = device.create_texture(&texture_desc(
            "composite",
            width,
            height,
            COLOR_FORMAT,
            wgpu::TextureUsages::RENDER_ATTACHMENT
                | wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::COPY_SRC
                | wgpu::TextureUsages::COPY_DST,
        ));
        let depth = device.create_texture(&texture_desc(
            "depth",
            width,
            height,
            DEPTH_FORMAT,
            wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_DST,
        ));
        let room_depth = device.create_texture(&texture_desc(
            "room depth",
            width,
            height,
            DEPTH_FORMAT,
            room_usage,
        ));
        // Output conversion.
        let color_view = color.create_view(&Default::default());
        let output = I420Output::new(device, &color_view, width, height);

        let shadows = ContactShadows::new(device, &layout);
        let occupied = vec![false; layout.seats.len()];
        Ok(Self {
            depth_view: depth.create_view(&Default::default()),
            depth,
            room_color,
            room_depth,
            room_stale: true,
            gpu,
            layout,
            width,
            height,
            view_proj,
            room_pipeline,
            room_bind_group,
            _materials: materials,
            room_ubo,
            room_vertices,
            room_vertex_count: mesh.len() as u32,
            seat_pipeline,
            seat_layout,
            sampler,
            plate_pipeline,
            plate_layout,
            shadows,
            occupied,
            wrap,
            plate_sampler,
            output,
            color,
            seats,
            draw_order,
        })
    }

    /// The layout this compositor draws.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Output size.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Name of the adapter in use.
    pub fn adapter_name(&self) -> &str {
        &self.gpu.adapter_name
    }

    /// Moves the virtual camera (a view from [`Layout::camera_for`]); takes effect on the next
    /// tick. Cheap: one small uniform write, no pipeline or texture changes.
    pub fn set_camera(&mut self, camera: CameraSpec) {
        if self.layout.camera == camera {
            return;
        }
        self.layout.camera = camera;
        self.view_proj = self
            .layout
            .view_proj(self.width as f32 / self.height as f32);
        let light = Vec3::from(self.layout.light.direction).normalize();
        let room_uniform = RoomUniform {
            view_proj: self.view_proj.to_cols_array_2d(),
            light_dir: [light.x, light.y, light.z, 0.0],
            light: [
                self.layout.light.ambient,
                self.layout.light.strength,
                0.0,
                0.0,
            ],
        };
        self.gpu
            .queue
            .write_buffer(&self.room_ubo, 0, bytemuck::bytes_of(&room_uniform));
        self.draw_order = far_to_near(&self.layout);
        self.room_stale = true;
    }

    /// Sets how much of the room behind a person bleeds into their edges
    /// ([`super::wrap::STRENGTH`] by default; 0 turns light wrap off).
    pub fn set_light_wrap(&mut self, strength: f32) {
        self.wrap.set_strength(strength);
    }

    /// Each seat's region of the output, in layout order.
    pub fn seat_boxes(&self) -> Vec<ScreenBox> {
        self.layout.screen_boxes(self.width, self.height)
    }

    /// Renders one tick and returns the frame as tightly packed I420.
    pub fn render_i420(&mut self, views: &[SeatView]) -> Result<Vec<u8>, RenderError> {
        let mut encoder = self.draw(views);
        self.output.encode(&mut encoder);
        self.output.submit_and_read(&self.gpu, encoder)
    }

    /// Renders one tick and returns the frame as tightly packed RGBA (for stills and tests).
    pub fn render_rgba(&mut self, views: &[SeatView]) -> Result<Vec<u8>, RenderError> {
        let encoder = self.draw(views);
        read_texture(&self.gpu, encoder, &self.color, self.width, self.height, 4)
    }

    fn draw(&mut self, views: &[SeatView]) -> wgpu::CommandEncoder {
        for (i, view) in views.iter().enumerate().take(self.seats.len()) {
            self.prepare_seat(i, view);
        }
        for i in 0..self.seats.len() {
            self.prepare_plate(i, views.get(i).and_then(|v| v.nameplate.as_ref()));
            let occupied = views.get(i).is_some_and(|v| v.frame.is_some());
            if std::mem::replace(&mut self.occupied[i], occupied) != occupied {
                self.room_stale = true;
            }
        }
        let device = &self.gpu.device;
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("tick"),
        });
        if std::mem::take(&mut self.room_stale) {
            self.draw_room(&mut encoder);
            self.wrap.encode(&mut encoder);
        }
        let whole = wgpu::Extent3d {
            width: self.width,
            height: self.height,
            depth_or_array_layers: 1,
        };
        encoder.copy_texture_to_texture(
            self.room_color.as_image_copy(),
            self.color.as_image_copy(),
            whole,
        );
        encoder.copy_texture_to_texture(
            self.room_depth.as_image_copy(),
            self.depth.as_image_copy(),
            whole,
        );
        let color_view = self.color.create_view(&Default::default());
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("seats"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &color_view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Load,
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                    view: &self.depth_view,
                    depth_ops: Some(wgpu::Operations {
                        load: wgpu::LoadOp::Load,
                        store: wgpu::StoreOp::Discard,
                    }),
                    stencil_ops: None,
                }),
                ..Default::default()
            });
            pass.set_pipeline(&self.seat_pipeline);
            pass.set_bind_group(1, self.wrap.bind_group(), &[]);
            for &i in &self.draw_order {
                let shown = views.get(i).is_some_and(|v| v.frame.is_some());
                if let (true, Some(tex)) = (shown, &self.seats[i].textures) {
                    pass.set_bind_group(0, &tex.bind_group, &[]);
                    pass.draw(0..6, 0..1);
                }
            }
        }
        encoder
    }

    /// Draws the empty room from the current camera into the cached room targets.
    fn draw_room(&self, encoder: &mut wgpu::CommandEncoder) {
        let color_view = self.room_color.create_view(&Default::default());
        let depth_view = self.room_depth.create_view(&Default::default());
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("courtroom"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: &color_view,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(CLEAR),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                view: &depth_view,
                depth_ops: Some(wgpu::Operations {
                    load: wgpu::LoadOp::Clear(1.0),
                    store: wgpu::StoreOp::Store,
                }),
                stencil_ops: None,
            }),
            ..Default::default()
        });
        pass.set_pipeline(&self.room_pipeline);
        pass.set_bind_group(0, &self.room_bind_group, &[]);
        pass.set_vertex_buffer(0, self.room_vertices.slice(..));
        pass.draw(0..self.room_vertex_count, 0..1);
        self.shadows
            .draw(&self.gpu.queue, &mut pass, self.view_proj, &self.occupied);
        pass.set_pipeline(&self.plate_pipeline);
        for plate in self.seats.iter().filter_map(|s| s.plate.as_ref()) {
            let uniform = QuadUniform {
                view_proj: self.view_proj.to_cols_array_2d(),
                corners: plate.corners,
                look: [1.0, 0.0, 0.0, 0.0],
            };
            self.gpu
                .queue
                .write_buffer(&plate.uniform, 0, bytemuck::bytes_of(&uniform));
            pass.set_bind_group(0, &plate.bind_group, &[]);
            pass.draw(0..6, 0..1);
        }
    }

    /// Rebuilds a seat's plaque when its text changed (occupant or locale), and marks the
    /// cached room for redrawing; otherwise does nothing.
    fn prepare_plate(&mut self, index: usize, text: Option<&NameplateText>) {
        let seat = &mut self.seats[index];
        if seat.plate_text.as_ref() == text {
            return;
        }
        seat.plate_text = text.cloned();
        seat.plate = None;
        self.room_stale = true;
        let (Some(text), Some(spec)) = (text, self.layout.nameplate(index)) else {
            return;
        };
        let width = nameplate::texture_width(spec.width / spec.height);
        let plaque = match nameplate::rasterise(text, width, PLAQUE_TEXTURE_HEIGHT) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(seat = index, "nameplate not drawn: {e}");
                return;
            }
        };
        let device = &self.gpu.device;
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
        write_mips(&self.gpu.queue, &texture, 0, &mips);
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("nameplate uniform"),
            size: std::mem::size_of::<QuadUniform>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let view = texture.create_view(&Default::default());
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("nameplate"),
            layout: &self.plate_layout,
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
                    resource: wgpu::BindingResource::Sampler(&self.plate_sampler),
                },
            ],
        });
        self.seats[index].plate = Some(PlateGpu {
            uniform,
            bind_group,
            corners: spec.corners().map(|c| [c.x, c.y, c.z, 1.0]),
            _texture: texture,
        });
    }

    /// Uploads a seat's frame if it changed, and writes its uniform.
    fn prepare_seat(&mut self, index: usize, view: &SeatView) {
        let Some((seq, frame)) = &view.frame else {
            return;
        };
        let device = &self.gpu.device;
        let queue = &self.gpu.queue;
        let seat = &mut self.seats[index];
        let size = (frame.width, frame.height);
        if seat.textures.as_ref().is_none_or(|t| t.size != size) {
            seat.textures = Some(
                KeyedFrame::new(
                    device,
                    &self.seat_layout,
                    &seat.uniform,
                    &self.sampler,
                    size,
                )
                .smoothed_over_time(),
            );
            seat.uploaded_seq = 0;
        }
        if seat.uploaded_seq != *seq {
            let tex = seat.textures.as_mut().expect("just created");
            tex.upload(queue, frame);
            seat.uploaded_seq = *seq;
        }
        if let Some(tex) = seat.textures.as_mut() {
            tex.upload_residual(queue, &view.key.model().residual);
        }
        let spec = &self.layout.seats[index];
        let corners = spec.corners().map(|c| [c.x, c.y, c.z, 1.0]);
        let uniform = SeatUniform {
            view_proj: self.view_proj.to_cols_array_2d(),
            corners,
            uv_crop: view.crop.unwrap_or_else(|| {
                fit_crop(
                    frame.width as f32 / frame.height as f32,
                    spec.width / spec.height,
                )
            }),
            key: view.key.uniform(),
            look: [0.0, if view.away { 1.0 } else { 0.0 }, 0.0, 0.0],
            gain: view.gain.map_or([1.0; 4], |[r, g, b]| [r, g, b, 0.0]),
            wrap: self.wrap.uniform(),
        };
        queue.write_buffer(&seat.uniform, 0, bytemuck::bytes_of(&uniform));
    }
}

/// Seat indices sorted far to near from the layout's camera.
fn far_to_near(layout: &Layout) -> Vec<usize> {
    let eye = Vec3::from(layout.camera.eye);
    let mut order: Vec<usize> = (0..layout.seats.len()).collect();
    let distance = |i: usize| Vec3::from(layout.seats[i].position).distance(eye);
    order.sort_by(|&a, &b| distance(b).total_cmp(&distance(a)));
    order
}

/// UV crop (offset, scale) that fills a billboard of aspect `seat` from a frame of aspect
/// `frame` without stretching: the frame's excess width or height is cut off evenly.
pub fn fit_crop(frame: f32, seat: f32) -> [f32; 4] {
    if frame > seat {
        let s = seat / frame;
        [(1.0 - s) / 2.0, 0.0, s, 1.0]
    } else {
        let s = frame / seat;
        [0.0, (1.0 - s) / 2.0, 1.0, s]
    }
}

pub(crate) fn write_plane(
    queue: &wgpu::Queue,
    texture: &wgpu::Texture,
    data: &[u8],
    width: u32,
    height: u32,
) {
    queue.write_texture(
        texture.as_image_copy(),
        data,
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(width),
            rows_per_image: Some(height),
        },
        wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
    );
}

/// Uploads an RGBA8 mip chain (largest first, as `(width, height, texels)`) into array layer
/// `layer` of `texture`.
pub(crate) fn write_mips(
    queue: &wgpu::Queue,
    texture: &wgpu::Texture,
    layer: u32,
    levels: &[(u32, u32, Vec<u8>)],
) {
    for (level, (w, h, data)) in levels.iter().enumerate() {
        queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture,
                mip_level: level as u32,
                origin: wgpu::Origin3d {
                    x: 0,
                    y: 0,
                    z: layer,
                },
                aspect: wgpu::TextureAspect::All,
            },
            data,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(w * 4),
                rows_per_image: Some(*h),
            },
            wgpu::Extent3d {
                width: *w,
                height: *h,
                depth_or_array_layers: 1,
            },
        );
    }
}

/// A shader module of `shaders/room_quad.wgsl` (the quad's uniform and vertex stage) followed
/// by `body`, which adds the fragment stage.
pub(crate) fn room_quad_shader(
    device: &wgpu::Device,
    label: &str,
    body: &str,
) -> wgpu::ShaderModule {
    let source = format!("{}\n{body}", include_str!("../../shaders/room_quad.wgsl"));
    device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    })
}

/// Submits `encoder`, maps `buffer` for reading and waits until the device has finished and
/// the mapping is ready; the caller reads the returned slice's mapped range and unmaps.
pub(crate) fn submit_and_map<'a>(
    gpu: &Gpu,
    encoder: wgpu::CommandEncoder,
    buffer: &'a wgpu::Buffer,
) -> Result<wgpu::BufferSlice<'a>, RenderError> {
    let readback = |e: &dyn std::fmt::Display| RenderError::Readback(e.to_string());
    gpu.queue.submit(Some(encoder.finish()));
    let slice = buffer.slice(..);
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    gpu.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| readback(&e))?;
    rx.recv()
        .map_err(|e| readback(&e))?
        .map_err(|e| readback(&e))?;
    Ok(slice)
}

/// Copies a texture to the CPU, strips row padding, and returns tightly packed bytes.
pub(crate) fn read_texture(
    gpu: &Gpu,
    mut encoder: wgpu::CommandEncoder,
    texture: &wgpu::Texture,
    width: u32,
    height: u32,
    bytes_per_pixel: u32,
) -> Result<Vec<u8>, RenderError> {
    let row = width * bytes_per_pixel;
    let padded =
        row.div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
    let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: (padded * height) as u64,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    encoder.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &buffer,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(padded),
                rows_per_image: Some(height),
            },
        },
        wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
    );
    let slice = submit_and_map(gpu, encoder, &buffer)?;
    let mapped = slice
        .get_mapped_range()
        .map_err(|e| RenderError::Readback(e.to_string()))?;
    let mut out = Vec::with_capacity((row * height) as usize);
    for r in 0..height {
        let start = (r * padded) as usize;
        out.extend_from_slice(&mapped[start..start + row as usize]);
    }
    drop(mapped);
    buffer.unmap();
    Ok(out)
}

pub(crate) fn uniform_entry(
    binding: u32,
    visibility: wgpu::ShaderStages,
) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn buffer_init(
    device: &wgpu::Device,
    label: &str,
    contents: &[u8],
    usage: wgpu::BufferUsages,
) -> wgpu::Buffer {
    use wgpu::util::DeviceExt;
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents,
        usage,
    })
}

pub(crate) fn texture_desc(
    label: &'static str,
    width: u32,
    height: u32,
    format: wgpu::TextureFormat,
    usage: wgpu::TextureUsages,
) -> wgpu::TextureDescriptor<'static> {
    wgpu::TextureDescriptor {
        label: Some(label),
        size: wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage,
        view_formats: &[],
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn pipeline(
    device: &wgpu::Device,
    label: &str,
    shader: &wgpu::ShaderModule,
    bind_group_layouts: &[&wgpu::BindGroupLayout],
    buffers: &[Option<wgpu::VertexBufferLayout>],
    format: wgpu::TextureFormat,
    blend: Option<wgpu::BlendState>,
    depth: Option<(bool, wgpu::CompareFunction)>,
    cull_mode: Option<wgpu::Face>,
) -> wgpu::RenderPipeline {
    pipeline_with_entry(
        device,
        label,
        shader,
        "fs_main",
        bind_group_layouts,
        buffers,
        format,
        blend,
        depth,
        cull_mode,
    )
}

/// [`pipeline`] with the fragment stage at `fragment_entry` (a shader with several passes).
#[allow(clippy::too_many_arguments)]
pub(crate) fn pipeline_with_entry(
    device: &wgpu::Device,
    label: &str,
    shader: &wgpu::ShaderModule,
    fragment_entry: &str,
    bind_group_layouts: &[&wgpu::BindGroupLayout],
    buffers: &[Option<wgpu::VertexBufferLayout>],
    format: wgpu::TextureFormat,
    blend: Option<wgpu::BlendState>,
    depth: Option<(bool, wgpu::CompareFunction)>,
    cull_mode: Option<wgpu::Face>,
) -> wgpu::RenderPipeline {
    let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(label),
        bind_group_layouts: &bind_group_layouts
            .iter()
            .map(|l| Some(*l))
            .collect::<Vec<_>>(),
        ..Default::default()
    });
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(label),
        layout: Some(&layout),
        vertex: wgpu::VertexState {
            module: shader,
            entry_point: Some("vs_main"),
            buffers,
            compilation_options: Default::default(),
        },
        fragment: Some(wgpu::FragmentState {
            module: shader,
            entry_point: Some(fragment_entry),
            targets: &[Some(wgpu::ColorTargetState {
                format,
                blend,
                write_mask: wgpu::ColorWrites::ALL,
            })],
            compilation_options: Default::default(),
        }),
        primitive: wgpu::PrimitiveState {
            cull_mode,
            ..Default::default()
        },
        depth_stencil: depth.map(|(write, compare)| wgpu::DepthStencilState {
            format: DEPTH_FORMAT,
            depth_write_enabled: Some(write),
            depth_compare: Some(compare),
            stencil: Default::default(),
            bias: Default::default(),
        }),
        multisample: Default::default(),
        multiview_mask: None,
        cache: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_crop_cuts_the_excess_evenly() {
        let c = fit_crop(16.0 / 9.0, 4.0 / 3.0);
        assert!((c[2] - 0.75).abs() < 1e-5 && (c[0] - 0.125).abs() < 1e-5 && c[3] == 1.0);
        let c = fit_crop(4.0 / 3.0, 16.0 / 9.0);
        assert!((c[3] - 0.75).abs() < 1e-5 && c[2] == 1.0);
    }
}
