// light_wrap.wgsl — the blurred room behind the people, for light wrap (src/render/wrap.rs).
// Drawn only when the cached room is redrawn, never per tick: `fs_down` averages the room into
// a texture an eighth of its size, `fs_blur` blurs that; the seat shader (participant.wgsl)
// samples the result at each edge fragment's screen position. No uniforms: sizes come from
// the textures.

@group(0) @binding(0) var source: texture_2d<f32>;
@group(0) @binding(1) var linear_sampler: sampler;

struct VertexOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

// One triangle that covers the target.
@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VertexOut {
    let xy = vec2<f32>(f32((index << 1u) & 2u), f32(index & 2u));
    var out: VertexOut;
    out.clip = vec4<f32>(xy * 2.0 - 1.0, 0.0, 1.0);
    out.uv = vec2<f32>(xy.x, 1.0 - xy.y);
    return out;
}

// Box average of the source texels under this target texel: 4 × 4 bilinear taps, each the
// mean of a 2 × 2 quad, cover 8 × 8 source texels.
@fragment
fn fs_down(in: VertexOut) -> @location(0) vec4<f32> {
    let texel = 1.0 / vec2<f32>(textureDimensions(source));
    let target_texel = 8.0 * texel;
    // The top-left corner of this target texel's footprint, in source uv.
    let corner = in.uv - 0.5 * target_texel;
    var sum = vec3<f32>(0.0);
    for (var j = 0; j < 4; j++) {
        for (var i = 0; i < 4; i++) {
            let at = corner + (vec2<f32>(f32(i), f32(j)) * 2.0 + 1.0) * texel;
            sum += textureSampleLevel(source, linear_sampler, at, 0.0).rgb;
        }
    }
    return vec4<f32>(sum / 16.0, 1.0);
}

// A 7 × 7 Gaussian (sigma 1.5 texels) over the downsampled room: about 12 output pixels of
// softness at 1/8 scale, so an edge picks up the light of the room around it, not one pixel.
@fragment
fn fs_blur(in: VertexOut) -> @location(0) vec4<f32> {
    let size = vec2<i32>(textureDimensions(source));
    let at = vec2<i32>(in.clip.xy);
    var sum = vec3<f32>(0.0);
    var total = 0.0;
    for (var j = -3; j <= 3; j++) {
        for (var i = -3; i <= 3; i++) {
            let q = clamp(at + vec2<i32>(i, j), vec2<i32>(0), size - 1);
            let w = exp(-f32(i * i + j * j) / (2.0 * 1.5 * 1.5));
            sum += w * textureLoad(source, q, 0).rgb;
            total += w;
        }
    }
    return vec4<f32>(sum / total, 1.0);
}
