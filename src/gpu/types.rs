//! CPU-side mirrors of the WGSL uniform structs, in one place.
//!
//! Each struct matches its shader's declaration field for field, with WGSL's alignment
//! (16 bytes for `vec4` and `mat4x4`). The size tests below catch drift. Each mirror names its
//! WGSL file, and that file names this one back.

use bytemuck::{Pod, Zeroable};

/// Mirror of `RoomUniform` in `shaders/room.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct RoomUniform {
    /// World → clip transform of the virtual camera (column-major).
    pub view_proj: [[f32; 4]; 4],
    /// Direction towards the key light, normalised; `w` unused.
    pub light_dir: [f32; 4],
    /// `x` ambient level, `y` key light strength; `zw` unused.
    pub light: [f32; 4],
}

/// Mirror of `SeatUniform` in `shaders/participant.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct SeatUniform {
    /// World → clip transform of the virtual camera (column-major).
    pub view_proj: [[f32; 4]; 4],
    /// Billboard corners: bottom-left, bottom-right, top-left, top-right (`w` unused).
    pub corners: [[f32; 4]; 4],
    /// Source crop in UV: offset `xy`, scale `zw`.
    pub uv_crop: [f32; 4],
    /// The keyer's parameters.
    pub key: KeyUniform,
    /// `x` unused, `y` away flag, `z` inset flag (`render::inset`); `w` unused.
    pub look: [f32; 4],
    /// Per-channel gain matching the person to the room (brightness times white balance,
    /// `keying::look`): `rgb`; `w` unused.
    pub gain: [f32; 4],
    /// Light wrap (`render::wrap`): `xy` texels of the blurred room per output pixel, `z`
    /// strength; `w` unused.
    pub wrap: [f32; 4],
}

/// Mirror of the instance input of `vs_main` in `shaders/participant.wgsl`: one piece of a
/// seat's billboard to draw (`render::seat`), in the camera frame's uv.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct BillboardPiece {
    /// The top edge: left u, right u, v; `w` unused.
    pub top: [f32; 4],
    /// The bottom edge: left u, right u, v; `w` unused.
    pub bottom: [f32; 4],
}

/// Mirror of `QuadUniform` in `shaders/room_quad.wgsl`: a nameplate's or a contact shadow's quad.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct QuadUniform {
    /// World → clip transform of the virtual camera (column-major).
    pub view_proj: [[f32; 4]; 4],
    /// Corners: bottom-left, bottom-right, top-left, top-right (`w` unused).
    pub corners: [[f32; 4]; 4],
    /// `x` strength (a plaque's brightness, a shadow's darkness); `yzw` unused.
    pub look: [f32; 4],
}

/// Mirror of `KeyUniform` in `shaders/keyer.wgsl`, embedded in [`SeatUniform`] and bound alone
/// by `shaders/key_pass.wgsl`. Built by [`crate::keying::KeyParams::uniform`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct KeyUniform {
    /// Cubic model of the bare screen's Y over uv in [-1, 1]: terms 1, x, y, x², xy, y², x³,
    /// x²y, xy², y³, then two unused.
    pub plate_y: [[f32; 4]; 3],
    /// The same for Cb.
    pub plate_cb: [[f32; 4]; 3],
    /// The same for Cr.
    pub plate_cr: [[f32; 4]; 3],
    /// `x` inner distance, `y` shade tolerance, `z` hue noise tolerance, `w` over-saturation
    /// tolerance.
    pub matte: [f32; 4],
    /// `x` ring radius (luma px), `y`/`z` clamp of the local foreground distance, `w` guide sigma.
    pub edge: [f32; 4],
    /// `x` spill strength, `y` chroma along the key a subject keeps per unit of its chroma
    /// across the key; `zw` unused.
    pub spill: [f32; 4],
    /// Garbage matte in frame uv: `x0, y0, x1, y1`; outside it alpha is 0.
    pub garbage: [f32; 4],
    /// `x` luma residual tolerated as screen, `y`/`z` clamp of the local foreground's luma
    /// residual; `w` unused.
    pub luma: [f32; 4],
}

/// Mirror of `OutputUniform` in `shaders/output_i420.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct OutputUniform {
    /// `x` width, `y` height, `z` width / 2; `w` unused.
    pub size: [u32; 4],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_the_wgsl_layouts() {
        // mat4x4 (64) + 2 × vec4 (32)
        assert_eq!(std::mem::size_of::<RoomUniform>(), 96);
        // 14 × vec4
        assert_eq!(std::mem::size_of::<KeyUniform>(), 224);
        // mat4x4 (64) + 4 × vec4 (64) + vec4 (16) + KeyUniform (224) + 3 × vec4 (48)
        assert_eq!(std::mem::size_of::<SeatUniform>(), 416);
        assert_eq!(std::mem::size_of::<OutputUniform>(), 16);
        // 2 × vec4, a vertex buffer's stride
        assert_eq!(std::mem::size_of::<BillboardPiece>(), 32);
        // mat4x4 (64) + 4 × vec4 (64) + vec4 (16)
        assert_eq!(std::mem::size_of::<QuadUniform>(), 144);
    }
}
