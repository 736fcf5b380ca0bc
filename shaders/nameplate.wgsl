// nameplate.wgsl — one seat's nameplate: a quad on the desk in front of the seat, textured
// with the plaque rasterised on the CPU (src/render/nameplate.rs). Depth-tested and written,
// so furniture in front hides it and the person behind it is hidden by it.
// Mirror of `NameplateUniform` in src/render/gpu_types.rs; keep the two in sync.

struct NameplateUniform {
    // World → clip transform of the virtual camera.
    view_proj: mat4x4<f32>,
    // The plaque's corners in world space: bottom-left, bottom-right, top-left, top-right.
    corners: array<vec4<f32>, 4>,
    // x: brightness, the room's light falling on the plaque (1 = as rasterised); yzw: unused.
    look: vec4<f32>,
};

@group(0) @binding(0) var<uniform> plate: NameplateUniform;
// The plaque, RGBA with mipmaps; alpha is 0 outside its rounded corners.
@group(0) @binding(1) var plaque: texture_2d<f32>;
@group(0) @binding(2) var plaque_sampler: sampler;

struct VertexOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VertexOut {
    // Two triangles over the four corners.
    var corner_of = array<u32, 6>(0u, 1u, 2u, 2u, 1u, 3u);
    var uv_of = array<vec2<f32>, 4>(
        vec2<f32>(0.0, 1.0), vec2<f32>(1.0, 1.0), vec2<f32>(0.0, 0.0), vec2<f32>(1.0, 0.0));
    let c = corner_of[index];
    var out: VertexOut;
    out.clip = plate.view_proj * vec4<f32>(plate.corners[c].xyz, 1.0);
    out.uv = uv_of[c];
    return out;
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let texel = textureSample(plaque, plaque_sampler, in.uv);
    if (texel.a < 0.5) {
        discard;
    }
    return vec4<f32>(texel.rgb * plate.look.x, 1.0);
}
