// room.wgsl — the courtroom's fixed geometry: lit, flat-coloured boxes.
// Mirror of `RoomUniform` in src/render/gpu_types.rs; keep the two in sync.

struct RoomUniform {
    // World → clip transform of the virtual camera.
    view_proj: mat4x4<f32>,
    // Direction *towards* the key light, world space, normalised (w unused).
    light_dir: vec4<f32>,
    // x: ambient light level (0..1); y: key light strength; zw unused.
    light: vec4<f32>,
};

@group(0) @binding(0) var<uniform> room: RoomUniform;

struct VertexIn {
    @location(0) position: vec3<f32>,
    @location(1) normal: vec3<f32>,
    @location(2) color: vec3<f32>,
};

struct VertexOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) normal: vec3<f32>,
    @location(1) color: vec3<f32>,
    @location(2) height: f32,
};

@vertex
fn vs_main(v: VertexIn) -> VertexOut {
    var out: VertexOut;
    out.clip = room.view_proj * vec4<f32>(v.position, 1.0);
    out.normal = v.normal;
    out.color = v.color;
    out.height = v.position.y;
    return out;
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let n = normalize(in.normal);
    let diffuse = max(dot(n, room.light_dir.xyz), 0.0) * room.light.y;
    // A little sky light from above keeps vertical faces from going flat.
    let sky = 0.15 * max(n.y, 0.0);
    let lit = in.color * (room.light.x + diffuse + sky);
    return vec4<f32>(lit, 1.0);
}
