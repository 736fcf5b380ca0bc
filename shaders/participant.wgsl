// participant.wgsl — one seated person: a billboard textured with their decoded camera frame
// (I420 planes), green screen keyed out by `key_pixel` from keyer.wgsl, included below (one
// copy of the keyer for the compositor and the CLI; src/gpu/shader.rs resolves the include);
// matched to the room's brightness and white balance, with the room's light wrapped round its
// edges.
// Mirror of `SeatUniform` in src/gpu/types.rs; keep the two in sync.

// #include "keyer.wgsl"

struct SeatUniform {
    // World → clip transform of the virtual camera.
    view_proj: mat4x4<f32>,
    // The billboard's corners in world space: bottom-left, bottom-right, top-left, top-right.
    corners: array<vec4<f32>, 4>,
    // Source crop in texture UV: xy = offset, zw = scale (fits the frame to the seat's aspect).
    uv_crop: vec4<f32>,
    // The keyer's parameters (keyer.wgsl).
    key: KeyUniform,
    // x: unused (spill lives in `key`); y: 1 when the person is away (shown dimmed); z: 1 for
    // the presenter's picture-in-picture (src/render/inset.rs: opaque, over a plain backdrop);
    // w: unused.
    look: vec4<f32>,
    // rgb: per-channel gain matching the person to the room, brightness times white balance
    // (src/keying/look.rs); w: unused.
    gain: vec4<f32>,
    // Light wrap (src/render/wrap.rs): xy = texels of `room_blurred` per output pixel, z = how
    // much of the blurred room an edge takes at alpha 0 (0: off); w: unused.
    wrap: vec4<f32>,
};

@group(0) @binding(0) var<uniform> seat: SeatUniform;
@group(0) @binding(1) var plane_y: texture_2d<f32>;
// Chroma sites: (block-mean luma, Cb, Cr) per 4:2:0 site (src/keying/planes.rs).
@group(0) @binding(2) var chroma_sites: texture_2d<f32>;
@group(0) @binding(3) var linear_sampler: sampler;
// The screen model's residual map, a texel per cell (src/keying/residual.rs).
@group(0) @binding(4) var screen_residual: texture_2d<f32>;
// The cached room, blurred at an eighth of the output's size (light_wrap.wgsl): the light
// around each fragment's screen position.
@group(1) @binding(0) var room_blurred: texture_2d<f32>;

struct VertexOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

// One instance per piece of the billboard to draw (src/render/seat.rs: the rows of the camera
// frame the person is in, src/keying/coverage/): its top and bottom edges in frame uv, each
// (left u, right u, v, unused), mirrored by `BillboardPiece` in src/gpu/types.rs. The whole frame is one piece, (0, 1, 0) over (0, 1, 1). Pieces
// that meet share an edge exactly, so no pixel along it is drawn twice or missed.
@vertex
fn vs_main(@builtin(vertex_index) index: u32, @location(0) top: vec4<f32>,
           @location(1) bottom: vec4<f32>) -> VertexOut {
    // Two triangles over the four corners.
    var corner_of = array<u32, 6>(0u, 1u, 2u, 2u, 1u, 3u);
    // Each corner's point of the frame: bottom-left, bottom-right, top-left, top-right.
    var frame_uv = array<vec2<f32>, 4>(
        vec2<f32>(bottom.x, bottom.z), vec2<f32>(bottom.y, bottom.z),
        vec2<f32>(top.x, top.z), vec2<f32>(top.y, top.z));
    let c = corner_of[index];
    // The point in the billboard's own 0..1 (left to right, top to bottom), inside the crop;
    // within 1e-5 of an edge of the billboard it is that edge, so that the whole frame gives
    // exactly the billboard's corners (the division may round to just short of 1).
    var st = clamp((frame_uv[c] - seat.uv_crop.xy) / seat.uv_crop.zw, vec2<f32>(0.0), vec2<f32>(1.0));
    st = select(st, vec2<f32>(0.0), st < vec2<f32>(1e-5));
    st = select(st, vec2<f32>(1.0), st > vec2<f32>(1.0 - 1e-5));
    let lower = between(seat.corners[0].xyz, seat.corners[1].xyz, st.x);
    let upper = between(seat.corners[2].xyz, seat.corners[3].xyz, st.x);
    var out: VertexOut;
    out.clip = seat.view_proj * vec4<f32>(between(upper, lower, st.y), 1.0);
    out.uv = seat.uv_crop.xy + st * seat.uv_crop.zw;
    return out;
}

// `mix(a, b, t)`, but exactly `a` at 0 and `b` at 1 (mix may be computed as a + t(b - a)).
fn between(a: vec3<f32>, b: vec3<f32>, t: f32) -> vec3<f32> {
    return select(select(mix(a, b, t), b, t >= 1.0), a, t <= 0.0);
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let keyed = key_pixel(seat.key, plane_y, chroma_sites, screen_residual, linear_sampler, in.uv);
    if (seat.look.z > 0.5) {
        // The presenter's inset: the keyed person over a slate backdrop, opaque.
        let backdrop = vec3<f32>(0.16, 0.19, 0.24);
        return vec4<f32>(mix(backdrop, keyed.rgb * seat.gain.rgb, keyed.a), 1.0);
    }
    var alpha = keyed.a;
    if (alpha < 0.02) {
        discard;
    }
    var rgb = keyed.rgb * seat.gain.rgb;
    // Light wrap: where the key left the person partly transparent (outline, hair), some of the
    // room's light behind them bleeds in; the solid interior (alpha 1) is untouched. One
    // unfiltered load per fragment: on lavapipe it measured cheaper than a bilinear sample, and
    // a loop of zero or one trips to skip the interior saved nothing measurable. The room is
    // blurred so smoothly that its texels' steps do not show.
    let room = textureLoad(room_blurred, vec2<i32>(in.clip.xy * seat.wrap.xy), 0).rgb;
    rgb = mix(rgb, room, seat.wrap.z * (1.0 - alpha));
    if (seat.look.y > 0.5) {
        // Away: greyed and dimmed, so the room can see the seat is not live.
        let grey = dot(rgb, vec3<f32>(0.299, 0.587, 0.114));
        rgb = vec3<f32>(grey * 0.45);
        alpha = alpha * 0.7;
    }
    return vec4<f32>(rgb, alpha);
}
