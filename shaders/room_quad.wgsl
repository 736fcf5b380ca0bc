// room_quad.wgsl — a flat quad standing or lying in the room, for the things drawn into the
// cached room per seat: nameplates (nameplate.wgsl) and contact shadows (contact_shadow.wgsl).
// Included by both, which add their own bindings and `fs_main`.
// Mirror of `QuadUniform` in src/gpu/types.rs; keep the two in sync.

struct QuadUniform {
    // World → clip transform of the virtual camera.
    view_proj: mat4x4<f32>,
    // The quad's corners in world space: bottom-left, bottom-right, top-left, top-right
    // (uv (0,1), (1,1), (0,0), (1,0)).
    corners: array<vec4<f32>, 4>,
    // x: the fragment's strength: a nameplate's brightness (1 = as rasterised), a shadow's
    // darkness where it touches the person; yzw: unused.
    look: vec4<f32>,
};

@group(0) @binding(0) var<uniform> quad: QuadUniform;

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
    out.clip = quad.view_proj * vec4<f32>(quad.corners[c].xyz, 1.0);
    out.uv = uv_of[c];
    return out;
}
