//! Rendering the courtroom with wgpu: the device ([`gpu`]), the scene layout ([`layout`])
//! and its surface [`material`]s, the shader-mirroring types ([`gpu_types`]), and the
//! per-hearing [`Compositor`] that draws the room, the keyed participants (matched to the
//! room's [`look`], with its light wrapped round their edges by [`wrap`]) and their
//! [`nameplate`]s, and converts the result to I420 for the encoder; the [`Director`] picks the
//! live camera view.

pub mod compositor;
pub mod director;
pub mod geometry;
pub mod gpu;
pub mod gpu_types;
pub mod i420;
pub mod layout;
pub mod look;
pub mod material;
pub mod nameplate;
pub mod shadow;
pub mod still;
pub mod wrap;

pub use compositor::{Compositor, KeyParams, SeatView};
pub use director::Director;
pub use gpu::{AdapterChoice, Gpu};
pub use layout::{Layout, ScreenBox};
pub use nameplate::{Lang, NameplateText};

/// Errors from rendering.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// No adapter of the requested kind exists. On a machine without a GPU, install Mesa's
    /// Vulkan driver (`mesa-vulkan-drivers`) for lavapipe.
    #[error("no suitable graphics adapter found (install mesa-vulkan-drivers for a CPU renderer)")]
    NoAdapter,
    /// The device could not be opened.
    #[error("cannot open graphics device: {0}")]
    Device(String),
    /// A layout file is missing or invalid.
    #[error("layout error: {0}")]
    Layout(String),
    /// Reading the rendered frame back failed.
    #[error("frame readback failed: {0}")]
    Readback(String),
}
