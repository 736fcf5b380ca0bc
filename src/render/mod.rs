//! Rendering the courtroom on the device of [`crate::gpu`]: the scene [`layout`] (the room's
//! boxes, the camera and the seats, with what stands in front of each seat in [`furniture`]
//! and where everything falls on screen in [`screen`]), the room's [`geometry`] and surface
//! [`material`]s, and the per-hearing [`Compositor`] that draws the room, the keyed
//! participants (keyed by `crate::keying`, with the room's light wrapped round their edges by
//! [`wrap`]), their [`nameplate`]s ([`plates`] on the GPU), the evidence [`display`] (both
//! drawn as [`panel`]s, with [`text`] drawn on the CPU) and contact [`shadow`]s, and
//! converts the result to I420 for the encoder ([`i420`]); in the exhibit view the presenter
//! is drawn again picture-in-picture ([`inset`]); the [`Director`] picks the live camera
//! view, and [`still`] draws single frames for `courtroom render`.
//!
//! Files import downwards only: `still` drives a `compositor`, which draws with the others;
//! `plates`, `display`, `inset`, `shadow`, `screen`, `furniture`, `geometry` and `director` build on
//! `layout` (`plates` and `display` on `panel`, `display` and `slate` on `text`),
//! which names `material`s. The GPU helpers they share (pipelines, textures, readback, the
//! shader composer) live in [`crate::gpu`], below both this module and `crate::keying`.

pub mod compositor;
pub mod director;
pub mod display;
pub mod furniture;
pub mod geometry;
pub mod i420;
pub mod inset;
pub mod layout;
pub mod material;
pub mod nameplate;
pub mod panel;
pub mod plates;
pub mod screen;
pub mod seat;
pub mod shadow;
pub mod slate;
pub mod still;
pub mod text;
pub mod view;
pub mod wrap;

pub use compositor::{Compositor, KeyParams};
pub use director::Director;
pub use display::{ExhibitPicture, PageRegion};
pub use layout::Layout;
pub use nameplate::{Lang, NameplateText};
pub use screen::ScreenBox;
pub use view::{Composed, SeatView};

pub use crate::gpu::{AdapterChoice, Gpu, GpuError};

/// Errors from rendering.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The device could not be opened, or a frame not read back.
    #[error(transparent)]
    Gpu(#[from] GpuError),
    /// A layout file is missing or invalid.
    #[error("layout error: {0}")]
    Layout(String),
}
