//! The GPU layer's error.

/// Why the device could not be opened, a shader not composed, or a result not read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GpuError {
    /// No adapter of the requested kind exists. On a machine without a GPU, install Mesa's
    /// Vulkan driver (`mesa-vulkan-drivers`) for lavapipe.
    #[error("no suitable graphics adapter found (install mesa-vulkan-drivers for a CPU renderer)")]
    NoAdapter,
    /// The device could not be opened.
    #[error("cannot open graphics device: {0}")]
    Device(String),
    /// A shader that does not compose: an unknown file, or an include of one.
    #[error("shader {0}")]
    Shader(String),
    /// Reading a result back from the device failed.
    #[error("frame readback failed: {0}")]
    Readback(String),
}
