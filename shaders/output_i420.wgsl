// output_i420.wgsl — converts the RGBA composite to I420 on the GPU (BT.601 limited range), so
// readback and the encoder get 2.7× fewer bytes than RGBA and the CPU converts nothing.
// A compute pass: one invocation per 8×2 pixel block writes 4 words of luma, 1 word of Cb and
// 1 word of Cr straight into a buffer laid out exactly as I420 in memory (Y, then U, then V),
// so no invocation shares a word with another and nothing needs unpacking afterwards.
// Mirror of `OutputUniform` in src/gpu/types.rs; keep the two in sync.

struct OutputUniform {
    // x: output width W (a multiple of 8); y: output height H (even); z: W / 2; w: unused.
    size: vec4<u32>,
};

@group(0) @binding(0) var<uniform> output: OutputUniform;
@group(0) @binding(1) var composite: texture_2d<f32>;
// The I420 frame as little-endian words: byte i of the frame is byte (i % 4) of word i / 4.
@group(0) @binding(2) var<storage, read_write> planes: array<u32>;

fn luma(c: vec3<f32>) -> u32 {
    return u32(clamp(16.0 + 219.0 * dot(c, vec3<f32>(0.299, 0.587, 0.114)) + 0.5, 0.0, 255.0));
}

fn chroma(c: vec3<f32>, weights: vec3<f32>) -> u32 {
    return u32(clamp(128.0 + 224.0 * dot(c, weights) + 0.5, 0.0, 255.0));
}

@compute @workgroup_size(8, 8)
fn cs_main(@builtin(global_invocation_id) id: vec3<u32>) {
    let w = output.size.x;
    let h = output.size.y;
    let bx = id.x * 8u;
    let by = id.y * 2u;
    if (bx >= w || by >= h) {
        return;
    }
    var px: array<vec3<f32>, 16>;
    for (var r = 0u; r < 2u; r++) {
        for (var i = 0u; i < 8u; i++) {
            px[r * 8u + i] = textureLoad(composite, vec2<u32>(bx + i, by + r), 0).rgb;
        }
    }
    for (var r = 0u; r < 2u; r++) {
        for (var word = 0u; word < 2u; word++) {
            var packed = 0u;
            for (var k = 0u; k < 4u; k++) {
                packed = packed | (luma(px[r * 8u + word * 4u + k]) << (8u * k));
            }
            planes[((by + r) * w + bx) / 4u + word] = packed;
        }
    }
    var cb = 0u;
    var cr = 0u;
    for (var k = 0u; k < 4u; k++) {
        let c = (px[2u * k] + px[2u * k + 1u] + px[8u + 2u * k] + px[8u + 2u * k + 1u]) * 0.25;
        cb = cb | (chroma(c, vec3<f32>(-0.168736, -0.331264, 0.5)) << (8u * k));
        cr = cr | (chroma(c, vec3<f32>(0.5, -0.418688, -0.081312)) << (8u * k));
    }
    let half_w = output.size.z;
    let chroma_index = (by / 2u) * half_w + bx / 2u;
    planes[(w * h + chroma_index) / 4u] = cb;
    planes[(w * h + w * h / 4u + chroma_index) / 4u] = cr;
}
