// room.wgsl — the courtroom's fixed geometry: lit boxes, flat-coloured or textured with a
// material (src/render/material.rs) tinted by the box's colour.
// Mirror of `RoomUniform` in src/gpu/types.rs; keep the two in sync.

struct RoomUniform {
    // World → clip transform of the virtual camera.
    view_proj: mat4x4<f32>,
    // Direction *towards* the key light, world space, normalised (w unused).
    light_dir: vec4<f32>,
    // x: ambient light level (0..1); y: key light strength; zw unused.
    light: vec4<f32>,
};

@group(0) @binding(0) var<uniform> room: RoomUniform;
// One layer per material (wood, wall, floor), mipmapped; every channel's mean is 0.5.
@group(0) @binding(1) var materials: texture_2d_array<f32>;
// Repeating, trilinear.
@group(0) @binding(2) var material_sampler: sampler;

struct VertexIn {
    @location(0) position: vec3<f32>,
    @location(1) normal: vec3<f32>,
    @location(2) color: vec3<f32>,
    // Texture coordinates, in repeats of the material's tile.
    @location(3) uv: vec2<f32>,
    // 0: flat colour; n: material layer n - 1.
    @location(4) material: u32,
};

struct VertexOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) normal: vec3<f32>,
    @location(1) color: vec3<f32>,
    @location(2) height: f32,
    @location(3) uv: vec2<f32>,
    @location(4) @interpolate(flat) material: u32,
};

@vertex
fn vs_main(v: VertexIn) -> VertexOut {
    var out: VertexOut;
    out.clip = room.view_proj * vec4<f32>(v.position, 1.0);
    out.normal = v.normal;
    out.color = v.color;
    out.height = v.position.y;
    out.uv = v.uv;
    out.material = v.material;
    return out;
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let n = normalize(in.normal);
    let diffuse = max(dot(n, room.light_dir.xyz), 0.0) * room.light.y;
    // A little sky light from above keeps vertical faces from going flat.
    let sky = 0.15 * max(n.y, 0.0);
    // Sampled outside any branch (uniform control flow, for the derivatives that pick the
    // mip level); a flat box takes 0.5, the textures' mean, so × 2 leaves its colour as is.
    let layer = max(i32(in.material) - 1, 0);
    let texel = textureSample(materials, material_sampler, in.uv, layer).rgb;
    let detail = select(vec3<f32>(0.5), texel, in.material > 0u) * 2.0;
    let lit = in.color * detail * (room.light.x + diffuse + sky);
    return vec4<f32>(lit, 1.0);
}
