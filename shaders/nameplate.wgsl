// nameplate.wgsl — one seat's nameplate: a quad on the desk in front of the seat, textured
// with the plaque rasterised on the CPU (src/render/nameplate.rs). Depth-tested and written,
// so furniture in front hides it and the person behind it is hidden by it. room_quad.wgsl
// (the uniform, `quad.look.x` = brightness, and the vertex stage) is included below.

// #include "room_quad.wgsl"

// The plaque, RGBA with mipmaps; alpha is 0 outside its rounded corners.
@group(0) @binding(1) var plaque: texture_2d<f32>;
@group(0) @binding(2) var plaque_sampler: sampler;

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let texel = textureSample(plaque, plaque_sampler, in.uv);
    if (texel.a < 0.5) {
        discard;
    }
    return vec4<f32>(texel.rgb * quad.look.x, 1.0);
}
