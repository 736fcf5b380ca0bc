// contact_shadow.wgsl — a soft shadow on the desk top where a seated person meets it, so keyed
// people sit on the furniture instead of floating in front of it. Drawn into the cached room
// (src/render/shadow.rs) with alpha blending, depth-tested but not written.
// Mirror of `NameplateUniform` in src/render/gpu_types.rs (the same quad layout); keep in sync.

struct ShadowUniform {
    // World → clip transform of the virtual camera.
    view_proj: mat4x4<f32>,
    // The quad's corners in world space: bottom-left, bottom-right, top-left, top-right; the
    // top edge lies against the person.
    corners: array<vec4<f32>, 4>,
    // x: darkness at the person's edge (0..1); yzw: unused.
    look: vec4<f32>,
};

@group(0) @binding(0) var<uniform> shadow: ShadowUniform;

struct VertexOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VertexOut {
    var corner_of = array<u32, 6>(0u, 1u, 2u, 2u, 1u, 3u);
    var uv_of = array<vec2<f32>, 4>(
        vec2<f32>(0.0, 1.0), vec2<f32>(1.0, 1.0), vec2<f32>(0.0, 0.0), vec2<f32>(1.0, 0.0));
    let c = corner_of[index];
    var out: VertexOut;
    out.clip = shadow.view_proj * vec4<f32>(shadow.corners[c].xyz, 1.0);
    out.uv = uv_of[c];
    return out;
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    // Darkest against the person, fading towards the room; soft at both sides.
    let across = 2.0 * in.uv.x - 1.0;
    let sideways = clamp(1.0 - across * across, 0.0, 1.0);
    let away = 1.0 - in.uv.y;
    let alpha = shadow.look.x * sideways * sideways * away * away;
    return vec4<f32>(0.0, 0.0, 0.0, alpha);
}
