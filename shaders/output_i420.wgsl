// output_i420.wgsl — converts the RGBA composite to I420 on the GPU, so readback and the
// encoder get 2.7× fewer bytes than RGBA.
// The target is one R8 texture of width W and height H·3/2 holding the planes exactly as I420
// lays them out in memory: Y (W×H), then U (W/2×H/2) and V (W/2×H/2), each chroma row of
// W/2 bytes packed two to a target row.
// Mirror of `OutputUniform` in src/render/gpu_types.rs; keep the two in sync.

struct OutputUniform {
    // x: output width W; y: output height H (pixels, both even); zw unused.
    size: vec4<u32>,
};

@group(0) @binding(0) var<uniform> output: OutputUniform;
@group(0) @binding(1) var composite: texture_2d<f32>;

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> @builtin(position) vec4<f32> {
    // One triangle that covers the whole target.
    let x = f32((index << 1u) & 2u) * 2.0 - 1.0;
    let y = f32(index & 2u) * 2.0 - 1.0;
    return vec4<f32>(x, y, 0.0, 1.0);
}

fn rgb_at(x: u32, y: u32) -> vec3<f32> {
    return textureLoad(composite, vec2<u32>(x, y), 0).rgb;
}

@fragment
fn fs_main(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let w = output.size.x;
    let h = output.size.y;
    let px = u32(pos.x);
    let py = u32(pos.y);
    if (py < h) {
        let c = rgb_at(px, py);
        let y = 16.0 + 219.0 * dot(c, vec3<f32>(0.299, 0.587, 0.114));
        return vec4<f32>(y / 255.0, 0.0, 0.0, 1.0);
    }
    // Chroma: which plane, and which chroma sample this byte is.
    let quarter = h / 4u;
    var row = py - h;
    var is_v = false;
    if (row >= quarter) {
        row = row - quarter;
        is_v = true;
    }
    let half_w = w / 2u;
    let cy = row * 2u + px / half_w;
    let cx = px % half_w;
    // Average the 2×2 block the chroma sample covers.
    let c = (rgb_at(cx * 2u, cy * 2u) + rgb_at(cx * 2u + 1u, cy * 2u)
           + rgb_at(cx * 2u, cy * 2u + 1u) + rgb_at(cx * 2u + 1u, cy * 2u + 1u)) * 0.25;
    var v: f32;
    if (is_v) {
        v = 128.0 + 224.0 * dot(c, vec3<f32>(0.5, -0.418688, -0.081312));
    } else {
        v = 128.0 + 224.0 * dot(c, vec3<f32>(-0.168736, -0.331264, 0.5));
    }
    return vec4<f32>(v / 255.0, 0.0, 0.0, 1.0);
}
