//! The GPU layer, below rendering and keying: the device ([`device`]: a GPU when present, else
//! Mesa lavapipe on the CPU), the CPU-side mirrors of the WGSL uniforms ([`types`]), the one
//! shader composer ([`shader`]: the WGSL files in `shaders/`, their `// #include` lines
//! resolved in one place), and the helpers every pass shares: pipelines ([`pipeline`]),
//! textures and their uploads ([`texture`]), and reading results back ([`readback`]).
//!
//! It imports nothing from the rest of the crate, so `render` and `keying` both build on it
//! without importing each other's internals.

pub mod device;
mod error;
pub mod pipeline;
pub mod readback;
pub mod shader;
pub mod texture;
pub mod types;

pub use device::{AdapterChoice, Gpu};
pub use error::GpuError;
