//! The per-hearing compositor pass: room, keyed participants, I420 conversion, readback.
//!
//! Pipelines and targets are built once when the compositor is created; a tick only uploads the
//! frames that changed, writes uniforms and records three passes. Nameplates
//! ([`super::plates`]) and contact shadows ([`super::shadow`]) are drawn into the cached room,
//! so they cost nothing per tick. Each redraw of the room also blurs a small copy of it for the
//! seats' light wrap ([`super::wrap`]).

use std::sync::Arc;

use bytemuck::Zeroable;
use glam::{Mat4, Vec3};

use super::display::{EvidenceDisplay, ExhibitPicture};
use super::geometry::{boxes_mesh, RoomVertex};
use super::i420::I420Output;
use super::inset::{inset_uniform, PresenterInset};
use super::layout::{fit_crop, CameraSpec, Layout};
use super::material::MaterialTextures;
use super::plates::Nameplates;
use super::screen::ScreenBox;
use super::seat::{SeatGpu, PIECES_LAYOUT};
use super::shadow::ContactShadows;
use super::wrap::LightWrap;
use super::RenderError;
use crate::gpu::pipeline::{buffer_init, pipeline, uniform_entry, COLOR_FORMAT, DEPTH_FORMAT};
use crate::gpu::readback::read_texture;
use crate::gpu::texture::texture_desc;
use crate::gpu::types::{RoomUniform, SeatUniform};
use crate::gpu::{shader, Gpu};
use crate::keying::planes;

/// The room behind everything, a warm dark tone rather than black.
const CLEAR: wgpu::Color = wgpu::Color {
    r: 0.12,
    g: 0.10,
    b: 0.09,
    a: 1.0,
};

use super::view::{Composed, SeatView, ViewInputs};
pub use crate::keying::KeyParams;

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
    /// The seats' nameplates, drawn into the cached room.
    plates: Nameplates,
    /// Contact shadows on the desks, drawn into the cached room for occupied seats.
    shadows: ContactShadows,
    /// The evidence display, drawn into the cached room while an exhibit is shown.
    display: EvidenceDisplay,
    /// The presenter's picture-in-picture, drawn over everything while set.
    inset: PresenterInset,
    /// Which seats were occupied when the cached room was last drawn.
    occupied: Vec<bool>,
    /// The blurred room the seats' edges take light from, redrawn with the room.
    wrap: LightWrap,
    output: I420Output,
    color: wgpu::Texture,
    /// The empty room from the current camera, colour and depth: drawn once per camera move,
    /// because on lavapipe rasterising the room costs more than keying a seated person. Each
    /// tick copies its colour into `color`; the seats test their depth against the room's
    /// read-only (they write none), so depth is not copied.
    room_color: wgpu::Texture,
    room_depth_view: wgpu::TextureView,
    room_stale: bool,
    seats: Vec<SeatGpu>,
    /// Seat indices sorted far to near, so blended people overlap correctly.
    draw_order: Vec<usize>,
    /// The last frame rendered and what it was rendered from: a tick whose inputs are the
    /// same (nobody seated, every camera stalled, a paused hearing) gets it again for nothing.
    last: Option<(Vec<ViewInputs>, Vec<u8>)>,
    /// Frames rendered on the device (not answered from `last`).
    rendered: u64,
    /// Draw each seat's whole billboard instead of the rows its person is in (a bench's
    /// baseline).
    whole_frames: bool,
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
        let room_shader = shader::module(device, "room.wgsl");
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
        let seat_shader = shader::module(device, "participant.wgsl");
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
            &[Some(PIECES_LAYOUT)],
            COLOR_FORMAT,
            Some(wgpu::BlendState::ALPHA_BLENDING),
            Some((false, wgpu::CompareFunction::Less)),
            None,
        );
        let sampler = planes::sampler(device);
        let seats = layout.seats.iter().map(|_| SeatGpu::new(device)).collect();
        let draw_order = far_to_near(&layout);

        // Nameplates: drawn into the cached room, depth-tested and written.
        let plates = Nameplates::new(device, layout.seats.len());

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
        let room_depth = device.create_texture(&texture_desc(
            "room depth",
            width,
            height,
            DEPTH_FORMAT,
            wgpu::TextureUsages::RENDER_ATTACHMENT,
        ));
        // Output conversion.
        let color_view = color.create_view(&Default::default());
        let output = I420Output::new(device, &color_view, width, height);

        let shadows = ContactShadows::new(device, &layout);
        let occupied = vec![false; layout.seats.len()];
        let display = EvidenceDisplay::new(device);
        let inset = PresenterInset::new(device, &gpu.queue);
        Ok(Self {
            room_color,
            room_depth_view: room_depth.create_view(&Default::default()),
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
            plates,
            display,
            inset,
            shadows,
            occupied,
            wrap,
            output,
            color,
            seats,
            draw_order,
            last: None,
            rendered: 0,
            whole_frames: false,
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
        self.last = None;
    }

    /// Sets how much of the room behind a person bleeds into their edges
    /// ([`super::wrap::STRENGTH`] by default; 0 turns light wrap off).
    pub fn set_light_wrap(&mut self, strength: f32) {
        self.wrap.set_strength(strength);
        self.last = None;
    }

    /// How many frames were drawn on the device; a tick whose inputs had not changed since the
    /// last one was answered with the same frame instead.
    pub fn rendered(&self) -> u64 {
        self.rendered
    }

    /// Draws each seat's whole billboard (`true`) instead of only the rows of the camera frame
    /// its person is in ([`crate::keying::coverage`], the default). The picture is the same;
    /// benches compare the cost.
    pub fn draw_whole_frames(&mut self, whole: bool) {
        if std::mem::replace(&mut self.whole_frames, whole) != whole {
            self.last = None;
        }
    }

    /// Each seat's region of the output, in layout order.
    pub fn seat_boxes(&self) -> Vec<ScreenBox> {
        self.layout.screen_boxes(self.width, self.height)
    }

    /// Shows `picture` on the room's evidence display, or takes it down with `None`. The same
    /// picture (the same `Arc`) again costs nothing; a new one redraws the cached room once.
    pub fn show_exhibit(&mut self, picture: Option<&Arc<ExhibitPicture>>) {
        if self.display.show(&self.gpu, &self.layout, picture) {
            self.room_stale = true;
        }
    }

    /// Shows `seat`'s person picture-in-picture in the frame's lower right corner (the
    /// presenter in the exhibit view, [`super::inset`]), or nobody with `None`.
    pub fn set_inset(&mut self, seat: Option<usize>) {
        let seat = seat.filter(|&s| s < self.seats.len());
        if self.inset.set_seat(seat) {
            self.last = None;
        }
    }

    /// Renders one tick and returns the frame as tightly packed I420 (a copy of
    /// [`Compositor::compose_i420`]'s).
    pub fn render_i420(&mut self, views: &[SeatView]) -> Result<Vec<u8>, RenderError> {
        Ok(self.compose_i420(views)?.i420.to_vec())
    }

    /// Composes one tick as tightly packed I420. When nothing it is drawn from changed since
    /// the last tick (the same frames, keys, nameplates, crops and camera), the last frame is
    /// given again without touching the device, and [`Composed::drawn`] says so.
    pub fn compose_i420(&mut self, views: &[SeatView]) -> Result<Composed<'_>, RenderError> {
        let inputs: Vec<ViewInputs> = views.iter().map(ViewInputs::of).collect();
        let unchanged =
            !self.room_stale && self.last.as_ref().is_some_and(|(last, _)| *last == inputs);
        if !unchanged {
            self.last = None;
            let mut encoder = self.draw(views);
            self.output.encode(&mut encoder);
            let frame = self.output.submit_and_read(&self.gpu, encoder)?;
            self.rendered += 1;
            self.last = Some((inputs, frame));
        }
        let (_, frame) = self.last.as_ref().expect("a frame was just composed");
        Ok(Composed {
            i420: frame,
            drawn: !unchanged,
        })
    }

    /// Renders one tick and returns the frame as tightly packed RGBA (for stills and tests).
    pub fn render_rgba(&mut self, views: &[SeatView]) -> Result<Vec<u8>, RenderError> {
        let encoder = self.draw(views);
        Ok(read_texture(
            &self.gpu,
            encoder,
            &self.color,
            self.width,
            self.height,
            4,
        )?)
    }

    fn draw(&mut self, views: &[SeatView]) -> wgpu::CommandEncoder {
        for (i, view) in views.iter().enumerate().take(self.seats.len()) {
            self.prepare_seat(i, view);
        }
        self.prepare_inset(views);
        for i in 0..self.seats.len() {
            let text = views.get(i).and_then(|v| v.nameplate.as_ref());
            if self.plates.prepare(&self.gpu, &self.layout, i, text) {
                self.room_stale = true;
            }
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
        encoder.copy_texture_to_texture(
            self.room_color.as_image_copy(),
            self.color.as_image_copy(),
            wgpu::Extent3d {
                width: self.width,
                height: self.height,
                depth_or_array_layers: 1,
            },
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
                // Read-only: the seats test against the room's depth and write none.
                depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                    view: &self.room_depth_view,
                    depth_ops: None,
                    stencil_ops: None,
                }),
                ..Default::default()
            });
            pass.set_pipeline(&self.seat_pipeline);
            pass.set_bind_group(1, self.wrap.bind_group(), &[]);
            for &i in &self.draw_order {
                if views.get(i).is_some_and(|v| v.frame.is_some()) {
                    self.seats[i].draw(&mut pass);
                }
            }
            self.inset.draw(&mut pass);
        }
        encoder
    }

    /// Draws the empty room from the current camera into the cached room targets.
    fn draw_room(&self, encoder: &mut wgpu::CommandEncoder) {
        let color_view = self.room_color.create_view(&Default::default());
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
                view: &self.room_depth_view,
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
        self.plates.draw(&self.gpu.queue, &mut pass, self.view_proj);
        self.display
            .draw(&self.gpu.queue, &mut pass, self.view_proj);
    }

    /// Uploads a seat's frame if it changed, and writes its uniform.
    fn prepare_seat(&mut self, index: usize, view: &SeatView) {
        let Some((seq, frame)) = &view.frame else {
            return;
        };
        let queue = &self.gpu.queue;
        let seat = &mut self.seats[index];
        seat.upload(
            &self.gpu,
            &self.seat_layout,
            &self.sampler,
            (*seq, frame),
            &view.key,
            self.whole_frames,
        );
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
        seat.write_uniform(queue, &uniform);
    }
}

impl Compositor {
    /// Readies the presenter's inset for this tick: its seat's textures (uploaded by
    /// [`Compositor::prepare_seat`]) and a uniform placing them in the corner.
    fn prepare_inset(&mut self, views: &[SeatView]) {
        let shown = self.inset.seat().and_then(|i| {
            let (_, frame) = views.get(i)?.frame.as_ref()?;
            let (textures, generation) = self.seats[i].textures()?;
            Some((i, frame, textures, generation))
        });
        let Some((i, frame, textures, generation)) = shown else {
            self.inset.prepare(
                &self.gpu.device,
                &self.gpu.queue,
                &self.seat_layout,
                &self.sampler,
                None,
                &SeatUniform::zeroed(),
            );
            return;
        };
        let spec = &self.layout.seats[i];
        let view = &views[i];
        let uniform = inset_uniform(
            self.width,
            self.height,
            spec.width / spec.height,
            frame.width as f32 / frame.height as f32,
            &view.key,
            view.crop,
            view.gain,
        );
        self.inset.prepare(
            &self.gpu.device,
            &self.gpu.queue,
            &self.seat_layout,
            &self.sampler,
            Some((textures, generation)),
            &uniform,
        );
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
