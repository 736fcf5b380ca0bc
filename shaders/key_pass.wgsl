// key_pass.wgsl — keys one whole frame into an RGBA target of the frame's size (straight alpha,
// despilled colour): `courtroom key`, the keyer tests and the key-pass bench, with the keyer
// (keyer.wgsl) included below. `KeyUniform` is mirrored in src/gpu/types.rs.

// #include "keyer.wgsl"

@group(0) @binding(0) var<uniform> key: KeyUniform;
@group(0) @binding(1) var plane_y: texture_2d<f32>;
// Chroma sites: (block-mean luma, Cb, Cr) per 4:2:0 site (src/keying/planes.rs).
@group(0) @binding(2) var chroma_sites: texture_2d<f32>;
@group(0) @binding(3) var linear_sampler: sampler;
// The screen model's residual map, a texel per cell (src/keying/residual.rs).
@group(0) @binding(4) var screen_residual: texture_2d<f32>;

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> @builtin(position) vec4<f32> {
    // One triangle that covers the target.
    let x = f32(i32(index & 1u) * 4 - 1);
    let y = f32(i32(index >> 1u) * 4 - 1);
    return vec4<f32>(x, y, 0.0, 1.0);
}

@fragment
fn fs_main(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let uv = pos.xy / vec2<f32>(textureDimensions(plane_y));
    return key_pixel(key, plane_y, chroma_sites, screen_residual, linear_sampler, uv);
}
