//! Soft contact shadows: a dark, feathered patch on the desk top in front of each occupied
//! seat, where the person meets the furniture. Static per occupant and camera, so they are
//! drawn into the compositor's cached room, never per tick.

use glam::Mat4;

use super::layout::Layout;
use crate::gpu::pipeline::{pipeline, uniform_buffer, uniform_entry, COLOR_FORMAT};
use crate::gpu::shader;
use crate::gpu::types::QuadUniform;

/// How dark the shadow is where it touches the person.
const DARKNESS: f32 = 0.45;

struct SeatShadow {
    corners: [[f32; 4]; 4],
    uniform: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

/// The pipeline and one quad per seat that has a desk in front of it.
pub struct ContactShadows {
    pipeline: wgpu::RenderPipeline,
    seats: Vec<Option<SeatShadow>>,
}

impl ContactShadows {
    /// Builds the pipeline and the quads of `layout`'s seats.
    pub fn new(device: &wgpu::Device, layout: &Layout) -> Self {
        let shader = shader::module(device, "contact_shadow.wgsl");
        let bind_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("contact shadow"),
            entries: &[uniform_entry(0, wgpu::ShaderStages::VERTEX_FRAGMENT)],
        });
        let pipeline = pipeline(
            device,
            "contact shadow",
            &shader,
            &[&bind_layout],
            &[],
            COLOR_FORMAT,
            Some(wgpu::BlendState::ALPHA_BLENDING),
            Some((false, wgpu::CompareFunction::LessEqual)),
            None,
        );
        let seats = (0..layout.seats.len())
            .map(|i| {
                let corners = layout.contact_shadow(i)?.map(|c| [c.x, c.y, c.z, 1.0]);
                let uniform = uniform_buffer::<QuadUniform>(device, "contact shadow uniform");
                let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("contact shadow"),
                    layout: &bind_layout,
                    entries: &[wgpu::BindGroupEntry {
                        binding: 0,
                        resource: uniform.as_entire_binding(),
                    }],
                });
                Some(SeatShadow {
                    corners,
                    uniform,
                    bind_group,
                })
            })
            .collect();
        Self { pipeline, seats }
    }

    /// Draws the shadows of the seats `occupied` names into `pass` (the room pass).
    pub fn draw(
        &self,
        queue: &wgpu::Queue,
        pass: &mut wgpu::RenderPass<'_>,
        view_proj: Mat4,
        occupied: &[bool],
    ) {
        pass.set_pipeline(&self.pipeline);
        for (shadow, _) in self
            .seats
            .iter()
            .zip(occupied)
            .filter(|(_, on)| **on)
            .filter_map(|(s, on)| Some((s.as_ref()?, on)))
        {
            let uniform = QuadUniform {
                view_proj: view_proj.to_cols_array_2d(),
                corners: shadow.corners,
                look: [DARKNESS, 0.0, 0.0, 0.0],
            };
            queue.write_buffer(&shadow.uniform, 0, bytemuck::bytes_of(&uniform));
            pass.set_bind_group(0, &shadow.bind_group, &[]);
            pass.draw(0..6, 0..1);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use glam::Vec4;

    use crate::render::still::synthetic_person;
    use crate::render::{AdapterChoice, Compositor, Gpu, KeyParams, Layout, SeatView};

    #[test]
    fn a_seated_person_darkens_the_desk_in_front_and_an_empty_seat_does_not() {
        let layout = Layout::load(&crate::config::default_assets_dir(), "courtroom").unwrap();
        let seat = layout.seat_index("plaintiff").unwrap();
        let quad = layout
            .contact_shadow(seat)
            .expect("the plaintiff has a table");
        // On the table top, in front of the seat.
        let top = quad[0].y;
        assert!(quad.iter().all(|c| (c.y - top).abs() < 1e-4), "{quad:?}");
        assert!(
            top > layout.seats[seat].position[1],
            "above the seat's base"
        );
        // A point a quarter of the way from the person towards the room, mid-width.
        let near = (quad[2] + quad[3]) / 2.0;
        let far = (quad[0] + quad[1]) / 2.0;
        let probe = near + (far - near) * 0.25;
        let (w, h) = (1280u32, 720u32);
        let clip = layout.view_proj(w as f32 / h as f32) * Vec4::from((probe, 1.0));
        let (x, y) = (
            ((clip.x / clip.w * 0.5 + 0.5) * w as f32) as usize,
            ((0.5 - clip.y / clip.w * 0.5) * h as f32) as usize,
        );
        let gpu = Gpu::open(AdapterChoice::Auto).unwrap();
        let mut c = Compositor::new(gpu, layout, w, h).unwrap();
        let n = c.layout().seats.len();
        let luma = |rgba: &[u8]| {
            let i = (y * w as usize + x) * 4;
            rgba[i] as f32 + rgba[i + 1] as f32 + rgba[i + 2] as f32
        };
        let empty = luma(&c.render_rgba(&vec![SeatView::default(); n]).unwrap());
        let mut views = vec![SeatView::default(); n];
        views[seat] = SeatView {
            frame: Some((1, Arc::new(synthetic_person(320, 240, [220, 160, 40], 0)))),
            key: KeyParams::default(),
            ..Default::default()
        };
        let seated = luma(&c.render_rgba(&views).unwrap());
        assert!(
            seated < empty * 0.9,
            "desk at ({x}, {y}): {seated} seated vs {empty} empty"
        );
        // The person leaves: the cached room is redrawn without the shadow.
        let again = luma(&c.render_rgba(&vec![SeatView::default(); n]).unwrap());
        assert_eq!(again, empty);
    }
}
