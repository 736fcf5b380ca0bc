// keyer.wgsl — the one green-screen keyer. Included by participant.wgsl (the compositor's seat
// billboards) and by key_pass.wgsl (`courtroom key`, tests, benches), so both run this code.
// Mirror of `KeyUniform` in src/gpu/types.rs; keep the two in sync.
//
// Method, per output pixel:
// 1. Luma at the pixel; chroma upsampled from the four nearest 4:2:0 chroma sites, each weighted
//    by how close its block's mean luma is to this pixel's luma (joint bilateral upsampling), so
//    chroma edges follow luma edges instead of 2×2 blocks.
// 2. The screen is a smooth model, not one colour: Y, Cb and Cr of the bare screen are cubic
//    polynomials over the frame (fitted by src/keying/calibrate.rs), plus a coarse residual map
//    for what they miss, so gradients, vignetting, hue patches and sags are part of the key.
// 3. The pixel's chroma is expressed relative to the local screen chroma: `par` (along it, 1 on
//    the screen, 0 for a neutral subject) and `perp` (across it, hue change). Uniform darkening
//    of the screen (folds, shadows) shrinks `par` but not luma relative to it, so a shrink up to
//    the measured shade tolerance counts as screen unless luma disagrees.
// 4. Alpha ramps from `inner` to the local foreground's own distance (the largest distance on a
//    ring around the pixel, clamped), which makes a mix of screen and subject come out at
//    about its true coverage. A second estimate does the same with the luma that chroma does
//    not explain (`key_luma_residual`): spill gives a white shirt's edge the screen's chroma,
//    but not its luma. Alpha is the larger of the two.
// 5. Colour: un-mixed against the local screen colour, then spill along the key axis is removed
//    in chroma only (luma kept), down to what the most solid subject pixel on the ring keeps:
//    nothing for a neutral colour (spill is the only green it has), its own green for teal or
//    yellow-green cloth, whose hue lies off the key axis.
// 6. Garbage matte: alpha is multiplied by the pixel's coverage of a rectangle in frame uv,
//    softened over about one source pixel; a side on the frame's own edge is no cut at all.

struct KeyUniform {
    // Cubic screen model over uv in [-1, 1]: terms 1, x, y, x², xy, y², x³, x²y, xy², y³.
    plate_y: array<vec4<f32>, 3>,
    plate_cb: array<vec4<f32>, 3>,
    plate_cr: array<vec4<f32>, 3>,
    // x: inner distance; y: shade tolerance; z: hue noise tolerance; w: over-saturation tolerance.
    matte: vec4<f32>,
    // x: ring radius (luma px); y, z: clamp of the local foreground distance; w: guide sigma.
    edge: vec4<f32>,
    // x: spill strength; y: chroma along the key a subject keeps, per unit of its chroma across
    // the key; zw: unused.
    spill: vec4<f32>,
    // Garbage matte in frame uv: xy the top-left corner, zw the bottom-right; alpha 0 outside.
    garbage: vec4<f32>,
    // x: luma residual tolerated as screen (noise, hotspots); y, z: clamp of the local
    // foreground's luma residual; w: unused.
    luma: vec4<f32>,
};

// Decoded video is BT.601 limited range; returns (Y, Cb, Cr), Y in 0..1, chroma centred on 0.
fn key_norm_y(v: f32) -> f32 {
    return (v - 16.0 / 255.0) * (255.0 / 219.0);
}

fn key_norm_c(v: f32) -> f32 {
    return (v - 128.0 / 255.0) * (255.0 / 224.0);
}

fn key_ycc_to_rgb(c: vec3<f32>) -> vec3<f32> {
    return vec3<f32>(
        c.x + 1.402 * c.z,
        c.x - 0.344136 * c.y - 0.714136 * c.z,
        c.x + 1.772 * c.y);
}

fn key_rgb_to_ycc(c: vec3<f32>) -> vec3<f32> {
    return vec3<f32>(
        dot(c, vec3<f32>(0.299, 0.587, 0.114)),
        dot(c, vec3<f32>(-0.168736, -0.331264, 0.5)),
        dot(c, vec3<f32>(0.5, -0.418688, -0.081312)));
}

fn key_poly(c: array<vec4<f32>, 3>, uv: vec2<f32>) -> f32 {
    let x = uv.x * 2.0 - 1.0;
    let y = uv.y * 2.0 - 1.0;
    let a = dot(c[0], vec4<f32>(1.0, x, y, x * x));
    let b = dot(c[1], vec4<f32>(x * y, y * y, x * x * x, x * x * y));
    let d = dot(c[2].xy, vec2<f32>(x * y * y, y * y * y));
    return a + b + d;
}

// The bare screen's (Y, Cb, Cr) at `uv`: the cubic surfaces plus the residual map, a texel
// per cell (src/keying/residual.rs) read bilinearly with clamp-to-edge, as `ResidualMap::at`.
// A texture rather than a uniform array: WGSL passes the uniform by value to every function.
fn key_plate(k: KeyUniform, residual: texture_2d<f32>, s: sampler, uv: vec2<f32>) -> vec3<f32> {
    let surface = vec3<f32>(key_poly(k.plate_y, uv), key_poly(k.plate_cb, uv), key_poly(k.plate_cr, uv));
    return surface + textureSampleLevel(residual, s, uv, 0.0).xyz;
}

// Luma-guided chroma at `uv` (texture space of the luma plane). `sites` holds each 4:2:0 chroma
// site's (mean luma of its 2×2 block, Cb, Cr), packed by src/keying/planes.rs.
fn key_guided_ycc(py: texture_2d<f32>, sites: texture_2d<f32>, s: sampler,
                  uv: vec2<f32>, sigma: f32) -> vec3<f32> {
    let lsize = vec2<f32>(textureDimensions(py));
    let csize = vec2<i32>(textureDimensions(sites));
    let y = key_norm_y(textureSampleLevel(py, s, uv, 0.0).r);
    let fc = uv * lsize * 0.5 - 0.5;
    let c0 = floor(fc);
    let f = fc - c0;
    var acc = 0.0;
    var cb = 0.0;
    var cr = 0.0;
    for (var j = 0; j < 2; j++) {
        for (var i = 0; i < 2; i++) {
            let site = vec2<i32>(c0) + vec2<i32>(i, j);
            let cl = clamp(site, vec2<i32>(0), csize - vec2<i32>(1));
            let t = textureLoad(sites, cl, 0);
            let ybar = key_norm_y(t.r);
            let wx = select(1.0 - f.x, f.x, i == 1);
            let wy = select(1.0 - f.y, f.y, j == 1);
            let g = (y - ybar) / sigma;
            let w = wx * wy * exp(-g * g) + 1e-5;
            acc += w;
            cb += w * key_norm_c(t.g);
            cr += w * key_norm_c(t.b);
        }
    }
    return vec3<f32>(y, cb / acc, cr / acc);
}

// Plain bilinear (Y, Cb, Cr) at `uv`, for the ring around a pixel.
fn key_bilinear_ycc(py: texture_2d<f32>, sites: texture_2d<f32>, s: sampler,
                    uv: vec2<f32>) -> vec3<f32> {
    let c = textureSampleLevel(sites, s, uv, 0.0);
    return vec3<f32>(
        key_norm_y(textureSampleLevel(py, s, uv, 0.0).r), key_norm_c(c.g), key_norm_c(c.b));
}

// Distance of a pixel from the local screen: 0 on the screen, about 1 for a neutral subject.
fn key_distance(k: KeyUniform, ycc: vec3<f32>, plate: vec3<f32>) -> f32 {
    let pc = plate.yz;
    let n2 = max(dot(pc, pc), 1e-6);
    let par = dot(ycc.yz, pc) / n2;
    let perp = (ycc.y * pc.y - ycc.z * pc.x) / n2;
    let ly = ycc.x / max(plate.x, 1e-3);
    let tol = k.matte.y;
    // Shade (screen darker here than the model) only when luma darkens as much as chroma.
    let tol_eff = tol * clamp(1.0 - abs(ly - par) / max(tol, 1e-3), 0.0, 1.0);
    let shrink = max(0.0, 1.0 - par - tol_eff) / (1.0 - tol_eff);
    let grow = max(0.0, par - 1.0 - k.matte.w);
    let hue = max(0.0, abs(perp) - k.matte.z);
    return sqrt(shrink * shrink + hue * hue + grow * grow);
}

// Luma the chroma does not explain, beyond the tolerance: 0 on the screen and in its shade
// (luma and chroma fall together), large for a subject much brighter or darker than the screen
// even where spill has given it the screen's chroma.
fn key_luma_residual(k: KeyUniform, ycc: vec3<f32>, plate: vec3<f32>) -> f32 {
    let pc = plate.yz;
    let par = dot(ycc.yz, pc) / max(dot(pc, pc), 1e-6);
    let ly = ycc.x / max(plate.x, 1e-3);
    return max(0.0, abs(ly - par) - k.luma.x);
}

// Coverage 0..1 of the pixel at `uv` by the garbage matte, ramped over one source pixel
// (`lsize` the luma plane's size) centred on the border. A few ALU ops, no branch.
fn key_garbage(k: KeyUniform, uv: vec2<f32>, lsize: vec2<f32>) -> f32 {
    // Source pixels inside each side, plus half a pixel; a side at the frame's edge never cuts,
    // so the default (the whole frame) leaves every alpha exactly as it was.
    let lo = select((uv - k.garbage.xy) * lsize + 0.5, vec2<f32>(1.0), k.garbage.xy <= vec2<f32>(0.0));
    let hi = select((k.garbage.zw - uv) * lsize + 0.5, vec2<f32>(1.0), k.garbage.zw >= vec2<f32>(1.0));
    let m = clamp(min(lo, hi), vec2<f32>(0.0), vec2<f32>(1.0));
    return m.x * m.y;
}

// Keys one pixel: straight-alpha colour with spill removed, and alpha.
fn key_pixel(k: KeyUniform, py: texture_2d<f32>, sites: texture_2d<f32>,
             residual: texture_2d<f32>, s: sampler, uv: vec2<f32>) -> vec4<f32> {
    let lsize = vec2<f32>(textureDimensions(py));
    let cover = key_garbage(k, uv, lsize);
    let ycc = key_guided_ycc(py, sites, s, uv, k.edge.w);
    let plate = key_plate(k, residual, s, uv);
    let dc = key_distance(k, ycc, plate);
    let dl = key_luma_residual(k, ycc, plate);
    let d = max(dc, dl);
    let inner = k.matte.x;
    if (d <= inner || cover <= 0.0) {
        // Screen, or outside the garbage matte: nothing to show, and no need for the ring.
        return vec4<f32>(0.0);
    }
    // The ring: the subject's own distances nearby (for the ramps), whether screen is near, and
    // the chroma of the most subject-like neighbour (for the despill).
    var dmax = dc;
    var lmax = dl;
    var dmin = d;
    var solid_c = ycc.yz;
    let r = k.edge.x;
    // Eight directions, 45° apart. The trip count is per pixel on purpose: lavapipe runs both
    // sides of an `if` under a mask, but leaves a loop as soon as no pixel of its SIMD group
    // is still in it, so groups of pure screen pay for one masked pass instead of eight.
    var ring = array<vec2<f32>, 8>(
        vec2<f32>(1.0, 0.0), vec2<f32>(0.70710678, 0.70710678),
        vec2<f32>(0.0, 1.0), vec2<f32>(-0.70710678, 0.70710678),
        vec2<f32>(-1.0, 0.0), vec2<f32>(-0.70710678, -0.70710678),
        vec2<f32>(0.0, -1.0), vec2<f32>(0.70710678, -0.70710678));
    // A pixel already as far from the screen as the foreground clamp is opaque whatever the
    // ring finds, and its own chroma serves the despill: it skips the ring (most of a
    // person's inside: skin, hair, dark or warm cloth).
    let taps = select(0, 8, r > 0.0 && d > inner && cover > 0.0 && dc < k.edge.z);
    for (var i = 0; i < taps; i++) {
        let off = round(ring[i] * r) / lsize;
        let q = uv + off;
        // The screen model is smooth: its value here serves for the whole ring.
        let yq = key_bilinear_ycc(py, sites, s, q);
        let dq = key_distance(k, yq, plate);
        let lq = key_luma_residual(k, yq, plate);
        solid_c = select(solid_c, yq.yz, dq > dmax);
        dmax = max(dmax, dq);
        lmax = max(lmax, lq);
        dmin = min(dmin, max(dq, lq));
    }
    let own = clamp(dmax, k.edge.y, k.edge.z);
    let alpha_c = (dc - inner) / max(own - inner, 1e-3);
    let alpha_l = dl / max(clamp(lmax, k.luma.y, k.luma.z), 1e-3);
    let alpha = clamp(max(alpha_c, alpha_l), 0.0, 1.0);
    // Un-mix: what colour, laid over the local screen at this alpha, gives what the camera saw.
    let screen = key_ycc_to_rgb(plate);
    let seen = key_ycc_to_rgb(ycc);
    let fg = clamp((seen - (1.0 - alpha) * screen) / max(alpha, 0.05), vec3<f32>(0.0), vec3<f32>(1.0));
    // Despill: remove the part of the colour's chroma that points at the key, keep its luma,
    // down to what the most solid neighbour keeps. A neighbour counts when it is (nearly)
    // opaque, or when no screen is near at all (inside the subject).
    let f = key_rgb_to_ycc(fg);
    let kn = max(length(plate.yz), 1e-4);
    let axis = plate.yz / kn;
    let proj = dot(f.yz, axis);
    let solid = dmax >= 0.9 * own || dmin > inner + 0.1;
    // Chroma across the key below 0.02 (about 5 levels of 8-bit RGB) is a neutral's cast or
    // coding noise, not a hue of its own.
    let across = max(abs(solid_c.x * axis.y - solid_c.y * axis.x) - 0.02, 0.0);
    let keep = select(0.0, clamp(dot(solid_c, axis), 0.0, k.spill.y * across), solid);
    let c = f.yz - max(proj - keep, 0.0) * k.spill.x * axis;
    let rgb = clamp(key_ycc_to_rgb(vec3<f32>(f.x, c)), vec3<f32>(0.0), vec3<f32>(1.0));
    // The ring above saw the real neighbours, so the matte changes nothing inside it but alpha.
    return vec4<f32>(rgb, alpha * cover);
}
