//! The seats' nameplates on the GPU: each plaque ([`super::nameplate`], rasterised on the CPU)
//! as a mipmapped texture on a quad in front of its seat (`shaders/nameplate.wgsl`). They are
//! drawn into the compositor's cached room, depth-tested and written, so they cost nothing per
//! tick: a seat's plaque is rasterised again, and the room redrawn, only when its text (the
//! occupant or the locale) changes.

use glam::Mat4;

use super::layout::Layout;
use super::nameplate::{self, NameplateText, PLAQUE_TEXTURE_HEIGHT};
use super::panel::{Panel, PanelPipeline};
use crate::gpu::Gpu;

/// What one seat's plaque shows, and the plaque.
#[derive(Default)]
struct SeatPlate {
    /// The text the current plaque shows (also when it could not be drawn, so a failure is not
    /// retried every tick).
    text: Option<NameplateText>,
    plate: Option<Panel>,
}

/// The nameplate pipeline and one plaque per seat that shows one.
pub struct Nameplates {
    panels: PanelPipeline,
    seats: Vec<SeatPlate>,
}

impl Nameplates {
    /// Builds the pipeline for `seats` seats, none showing a plaque yet, and parses the font
    /// now, at hearing start, not on the first tick that needs it.
    pub fn new(device: &wgpu::Device, seats: usize) -> Self {
        if let Err(e) = nameplate::font() {
            tracing::warn!("nameplates disabled: {e}");
        }
        Self {
            panels: PanelPipeline::new(device, "nameplate"),
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
        let panel = self.panels.panel(gpu, &plaque.mip_chain(), spec.corners());
        self.seats[index].plate = Some(panel);
        true
    }

    /// Draws every seat's plaque into `pass` (the room pass) from the camera `view_proj`.
    pub fn draw(&self, queue: &wgpu::Queue, pass: &mut wgpu::RenderPass<'_>, view_proj: Mat4) {
        let plates = self.seats.iter().filter_map(|s| s.plate.as_ref());
        self.panels.draw(queue, pass, plates, view_proj);
    }
}
