// participant.wgsl — one seated person: a billboard textured with their decoded camera frame
// (I420 planes), green screen keyed out with soft alpha and spill suppression.
// Mirror of `SeatUniform` in src/render/gpu_types.rs; keep the two in sync.

struct SeatUniform {
    // World → clip transform of the virtual camera.
    view_proj: mat4x4<f32>,
    // The billboard's corners in world space: bottom-left, bottom-right, top-left, top-right.
    corners: array<vec4<f32>, 4>,
    // Source crop in texture UV: xy = offset, zw = scale (fits the frame to the seat's aspect).
    uv_crop: vec4<f32>,
    // x, y: key colour chroma (Cb, Cr), centred on 0, full-range units (-0.5..0.5).
    // z: inner distance — chroma this close to the key is fully transparent.
    // w: outer distance — chroma this far from the key is fully opaque.
    key: vec4<f32>,
    // x: spill suppression strength 0..1; y: 1 when the person is away (shown dimmed);
    // z: brightness gain to match the room; w: unused.
    look: vec4<f32>,
};

@group(0) @binding(0) var<uniform> seat: SeatUniform;
@group(0) @binding(1) var plane_y: texture_2d<f32>;
@group(0) @binding(2) var plane_u: texture_2d<f32>;
@group(0) @binding(3) var plane_v: texture_2d<f32>;
@group(0) @binding(4) var linear_sampler: sampler;

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
    out.clip = seat.view_proj * vec4<f32>(seat.corners[c].xyz, 1.0);
    out.uv = seat.uv_crop.xy + uv_of[c] * seat.uv_crop.zw;
    return out;
}

// Decoded video is BT.601 limited range; returns (Y, Cb, Cr) with Y in 0..1, chroma centred on 0.
fn sample_ycbcr(uv: vec2<f32>) -> vec3<f32> {
    let y = (textureSample(plane_y, linear_sampler, uv).r - 16.0 / 255.0) * (255.0 / 219.0);
    let cb = (textureSample(plane_u, linear_sampler, uv).r - 128.0 / 255.0) * (255.0 / 224.0);
    let cr = (textureSample(plane_v, linear_sampler, uv).r - 128.0 / 255.0) * (255.0 / 224.0);
    return vec3<f32>(y, cb, cr);
}

fn ycbcr_to_rgb(c: vec3<f32>) -> vec3<f32> {
    return vec3<f32>(
        c.x + 1.402 * c.z,
        c.x - 0.344136 * c.y - 0.714136 * c.z,
        c.x + 1.772 * c.y);
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let ycc = sample_ycbcr(in.uv);
    // Matte: distance from the key colour in the CbCr plane. Luma is left out on purpose, so
    // an unevenly lit screen keys as well as an evenly lit one.
    let d = distance(ycc.yz, seat.key.xy);
    var alpha = smoothstep(seat.key.z, seat.key.w, d);
    if (alpha < 0.02) {
        discard;
    }
    var rgb = clamp(ycbcr_to_rgb(ycc), vec3<f32>(0.0), vec3<f32>(1.0));
    // Spill suppression: green may not exceed the brighter of red and blue. The luma lost to it
    // is partly given back, so despilled edges do not go dark.
    let limit = max(rgb.r, rgb.b);
    let spill = max(rgb.g - limit, 0.0) * seat.look.x;
    rgb = vec3<f32>(rgb.r + spill * 0.3, rgb.g - spill, rgb.b + spill * 0.3);
    rgb = rgb * seat.look.z;
    if (seat.look.y > 0.5) {
        // Away: greyed and dimmed, so the room can see the seat is not live.
        let grey = dot(rgb, vec3<f32>(0.299, 0.587, 0.114));
        rgb = vec3<f32>(grey * 0.45);
        alpha = alpha * 0.7;
    }
    return vec4<f32>(rgb, alpha);
}
