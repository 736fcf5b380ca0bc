// courtroom — the keyed self-preview: a WebGL port of the server's keyer (shaders/keyer.wgsl)
// with a CPU port of its auto key (src/keying/calibrate.rs). Plain ES module, no build step,
// nothing touched at import time (tests/browser/preview-keyer.test.mjs imports it under Node).
//
// Method, as on the server:
// 1. The bare screen is a smooth model, not one colour: Y, Cb and Cr are cubic polynomials over
//    the frame, fitted once a second from a downscaled frame (`estimateScreen`): the key hue from
//    the frame's border, candidates near that hue, least squares refitted without outliers, and
//    what the fit cannot explain measured as hue noise and shade.
// 2. Per pixel (fragment shader): chroma relative to the local screen chroma, `par` along it and
//    `perp` across it; darkening up to the measured shade counts as screen unless luma disagrees.
// 3. Alpha ramps from `inner` to the subject's own distance found on a ring around the pixel.
//    A second estimate does the same with the luma that chroma does not explain
//    (`key_luma_residual`): spill gives a white shirt's edge the screen's chroma, but not its
//    luma. Alpha is the larger of the two. A pixel already as far from the screen as the
//    foreground clamp skips the ring (opaque whatever it would find).
// 4. Colour un-mixed against the local screen, then spill along the key axis removed in chroma
//    (luma kept), down to what the most solid subject pixel on the ring keeps: nothing for a
//    neutral colour, its own green for teal or yellow-green cloth, whose hue lies off the key
//    axis (chroma across the key under 0.02 counts as neutral).
// Differences from the server:
// - the browser hands us RGB (already upsampled), so there is no luma-guided 4:2:0 chroma step;
// - the model is refitted on the CPU from an 80×60 frame and is the cubic surfaces only: the
//   server's coarse residual map of the screen (src/keying/residual.rs, hue patches and sags
//   the surfaces miss) is not ported;
// - no garbage matte.

/** Number of polynomial terms: 1, x, y, x², xy, y², x³, x²y, xy², y³ (as src/keying/params.rs). */
export const PLATE_TERMS = 10;

/** Defaults of `KeyParams` in src/keying/params.rs. */
export const KEY_PARAMS = Object.freeze({
  keyRgb: [0, 177, 64],
  inner: 0.04,
  noiseScale: 1.0,
  shadeScale: 1.0,
  shadeMax: 0.35,
  oversaturation: 0.3,
  edgeRadius: 5.0,
  edgeSpanMin: 0.45,
  edgeSpanMax: 1.0,
  spill: 1.0,
  spillHueKeep: 1.5,
  lumaTolerance: 0.2,
  lumaSpanMin: 0.6,
  lumaSpanMax: 1.2,
});

// As src/keying/calibrate.rs.
const HUE_WINDOW = 0.45;
const UNEVEN_SHADE = 0.35;
const DARK_LUMA = 0.2;
const DULL_CHROMA = 0.07;
/** Size of the frame the screen model is fitted on (one sample per pixel). */
export const CALIBRATION_SIZE = [80, 60];
// KeyTracker: first fit whole, a few fast ones, then slow tracking.
const TRACK_WARMUP = 5;
const TRACK_RATE = 0.1;

/** Full-range BT.601 RGB (0..1) → [Y, Cb, Cr], chroma centred on 0 (the shader's convention). */
export function rgbToYcc(r, g, b) {
  return [
    0.299 * r + 0.587 * g + 0.114 * b,
    -0.168736 * r - 0.331264 * g + 0.5 * b,
    0.5 * r - 0.418688 * g - 0.081312 * b,
  ];
}

function terms(x, y) {
  return [1, x, y, x * x, x * y, y * y, x * x * x, x * x * y, x * y * y, y * y * y];
}

/** A flat screen model of one colour, with typical noise and shade (`ScreenModel::flat`). */
export function flatModel(rgb = KEY_PARAMS.keyRgb) {
  const [y, cb, cr] = rgbToYcc(rgb[0] / 255, rgb[1] / 255, rgb[2] / 255);
  const z = () => new Array(PLATE_TERMS).fill(0);
  const m = { y: z(), cb: z(), cr: z(), noise: 0.08, shade: 0.15 };
  m.y[0] = y; m.cb[0] = cb; m.cr[0] = cr;
  return m;
}

/** The model's [Y, Cb, Cr] at uv (0..1 over the frame). */
export function modelAt(m, u, v) {
  const t = terms(u * 2 - 1, v * 2 - 1);
  const dot = (c) => c.reduce((s, a, i) => s + a * t[i], 0);
  return [dot(m.y), dot(m.cb), dot(m.cr)];
}

const wrapAngle = (a) => { const p = Math.PI; return ((((a + p) % (2 * p)) + 2 * p) % (2 * p)) - p; };
function percentile(v, q) {
  if (!v.length) return 0;
  const s = Float64Array.from(v).sort();
  return s[Math.round((s.length - 1) * q)];
}
const median = (v) => percentile(v, 0.5);

// Least squares over the rows marked in `use`: normal equations, Gauss-Jordan with pivoting.
function leastSquares(rows, target, use) {
  const N = PLATE_TERMS;
  const a = Array.from({ length: N }, () => new Float64Array(N + 1));
  for (let k = 0; k < rows.length; k++) {
    if (!use[k]) continue;
    const r = rows[k];
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) a[i][j] += r[i] * r[j];
      a[i][N] += r[i] * target[k];
    }
  }
  for (let i = 0; i < N; i++) a[i][i] += 1e-6;
  for (let c = 0; c < N; c++) {
    let p = c;
    for (let i = c + 1; i < N; i++) if (Math.abs(a[i][c]) > Math.abs(a[p][c])) p = i;
    if (Math.abs(a[p][c]) < 1e-12) return null;
    [a[c], a[p]] = [a[p], a[c]];
    for (let r = 0; r < N; r++) {
      if (r === c) continue;
      const f = a[r][c] / a[c][c];
      for (let k = c; k <= N; k++) a[r][k] -= f * a[c][k];
    }
  }
  return Array.from({ length: N }, (_, i) => a[i][N] / a[i][i]);
}

/**
 * Fits the screen model to one RGBA frame (`ImageData`-like: data, width, height), one sample
 * per pixel; a port of `estimate` in src/keying/calibrate.rs. Returns null when no screen is
 * found, else { model, screenShare, screenLuma, screenChroma, meanLuma, warning } where warning
 * is null, 'too_dark' or 'too_uneven' (the server's `ScreenWarning`).
 */
export function estimateScreen({ data, width: w, height: h }) {
  const samples = [];
  const border = [];
  let lumaSum = 0;
  for (let py = 0; py < h; py++) {
    for (let px = 0; px < w; px++) {
      const i = (py * w + px) * 4;
      const [luma, cb, cr] = rgbToYcc(data[i] / 255, data[i + 1] / 255, data[i + 2] / 255);
      const s = { x: ((px + 0.5) / w) * 2 - 1, y: ((py + 0.5) / h) * 2 - 1, luma, cb, cr };
      lumaSum += luma;
      const greenish = cr < -0.02 && cr < cb + 0.02;
      if (greenish && (Math.abs(s.x) > 0.84 || s.y < -0.84)) border.push(s);
      samples.push(s);
    }
  }
  const meanLuma = samples.length ? lumaSum / samples.length : 0;
  let keySamples = border;
  if (keySamples.length < 20) keySamples = samples.filter((s) => s.cr < -0.02 && s.cr < s.cb + 0.02);
  if (keySamples.length < 20) return null;
  const kcb = median(keySamples.map((s) => s.cb));
  const kcr = median(keySamples.map((s) => s.cr));
  const keyAngle = Math.atan2(kcr, kcb);
  const keySat = Math.hypot(kcb, kcr);
  const cand = samples.filter((s) => Math.abs(wrapAngle(Math.atan2(s.cr, s.cb) - keyAngle)) < HUE_WINDOW
    && Math.hypot(s.cb, s.cr) > 0.25 * keySat);
  if (cand.length < 4 * PLATE_TERMS) return null;
  const rows = cand.map((s) => terms(s.x, s.y));
  let inlier = cand.map(() => true);
  const model = flatModel([0, 0, 0]);
  const par = new Float64Array(cand.length);
  const perp = new Float64Array(cand.length);
  const chans = [cand.map((s) => s.luma), cand.map((s) => s.cb), cand.map((s) => s.cr)];
  for (let iter = 0; iter < 4; iter++) {
    const fits = chans.map((c) => leastSquares(rows, c, inlier));
    if (fits.some((f) => !f)) return null;
    [model.y, model.cb, model.cr] = fits;
    const dist = cand.map((s, i) => {
      const t = rows[i];
      let pcb = 0, pcr = 0;
      for (let k = 0; k < PLATE_TERMS; k++) { pcb += model.cb[k] * t[k]; pcr += model.cr[k] * t[k]; }
      const n2 = Math.max(pcb * pcb + pcr * pcr, 1e-6);
      par[i] = (s.cb * pcb + s.cr * pcr) / n2;
      perp[i] = (s.cb * pcr - s.cr * pcb) / n2;
      return Math.hypot(par[i] - 1, perp[i]);
    });
    const limit = Math.max(3 * 1.4826 * median(dist.filter((_, i) => inlier[i])), 0.1);
    inlier = dist.map((d) => d < limit);
  }
  const kept = inlier.filter(Boolean).length;
  if (kept < 4 * PLATE_TERMS) return null;
  model.noise = percentile(Array.from(perp).filter((_, i) => inlier[i]).map(Math.abs), 0.97);
  // Shade over every candidate, outliers included: folds are what the fit rejects.
  model.shade = percentile(Array.from(par).map((p) => Math.max(0, 1 - p)), 0.97);
  const screenLuma = median(cand.filter((_, i) => inlier[i]).map((s) => s.luma));
  const screenChroma = median(cand.filter((_, i) => inlier[i]).map((s) => Math.hypot(s.cb, s.cr)));
  let warning = null;
  if (screenLuma < DARK_LUMA || screenChroma < DULL_CHROMA) warning = 'too_dark';
  else if (model.shade > UNEVEN_SHADE) warning = 'too_uneven';
  return { model, screenShare: kept / samples.length, screenLuma, screenChroma, meanLuma, warning };
}

/** Follows the screen over time like the server's `KeyTracker`. */
export class KeyTracker {
  constructor() { this.model = null; this.fits = 0; this.last = null; }
  update(cal) {
    this.last = cal;
    if (!cal) return this.model;
    this.fits++;
    if (!this.model) {
      this.model = structuredClone(cal.model);
    } else {
      const rate = this.fits <= TRACK_WARMUP ? 0.5 : TRACK_RATE;
      const mix = (a, b) => a + (b - a) * rate;
      for (const k of ['y', 'cb', 'cr']) this.model[k] = this.model[k].map((v, i) => mix(v, cal.model[k][i]));
      this.model.noise = mix(this.model.noise, cal.model.noise);
      this.model.shade = mix(this.model.shade, cal.model.shade);
    }
    return this.model;
  }
}

/** The shader's uniform values for a model (`KeyParams::uniform`). */
export function keyUniform(model, p = KEY_PARAMS) {
  const m = model || flatModel(p.keyRgb);
  const pack = (c) => [c.slice(0, 4), c.slice(4, 8), [c[8], c[9], 0, 0]].flat();
  return {
    plateY: pack(m.y), plateCb: pack(m.cb), plateCr: pack(m.cr),
    matte: [p.inner, Math.max(0, Math.min(m.shade * p.shadeScale, p.shadeMax)), m.noise * p.noiseScale, p.oversaturation],
    edge: [p.edgeRadius, p.edgeSpanMin, p.edgeSpanMax, 0],
    spill: [p.spill, p.spillHueKeep, 0, 0],
    luma: [p.lumaTolerance, p.lumaSpanMin, p.lumaSpanMax, 0],
  };
}

/** `key_distance` of keyer.wgsl on the CPU (the 2D fallback and tests). */
export function keyDistance(u, ycc, plate) {
  const [pcb, pcr] = [plate[1], plate[2]];
  const n2 = Math.max(pcb * pcb + pcr * pcr, 1e-6);
  const par = (ycc[1] * pcb + ycc[2] * pcr) / n2;
  const perp = (ycc[1] * pcr - ycc[2] * pcb) / n2;
  const ly = ycc[0] / Math.max(plate[0], 1e-3);
  const tol = u.matte[1];
  const tolEff = tol * Math.min(1, Math.max(0, 1 - Math.abs(ly - par) / Math.max(tol, 1e-3)));
  const shrink = Math.max(0, 1 - par - tolEff) / (1 - tolEff);
  const grow = Math.max(0, par - 1 - u.matte[3]);
  const hue = Math.max(0, Math.abs(perp) - u.matte[2]);
  return Math.sqrt(shrink * shrink + hue * hue + grow * grow);
}

/** `key_luma_residual` of keyer.wgsl on the CPU: luma the chroma does not explain, beyond the tolerance. */
export function keyLumaResidual(u, ycc, plate) {
  const [pcb, pcr] = [plate[1], plate[2]];
  const par = (ycc[1] * pcb + ycc[2] * pcr) / Math.max(pcb * pcb + pcr * pcr, 1e-6);
  const ly = ycc[0] / Math.max(plate[0], 1e-3);
  return Math.max(0, Math.abs(ly - par) - u.luma[0]);
}

const VERTEX = `
attribute vec2 a_pos;
varying vec2 v_uv;
void main() {
  // Texture row 0 is the top of the picture; canvas row 0 (gl) is the bottom.
  v_uv = vec2(a_pos.x * 0.5 + 0.5, 0.5 - a_pos.y * 0.5);
  gl_Position = vec4(a_pos, 0.0, 1.0);
}`;

// keyer.wgsl in GLSL ES 1.00 (runs on WebGL1 and WebGL2). Keep the two in step.
const FRAGMENT = `
precision highp float;
varying vec2 v_uv;
uniform sampler2D u_video;
uniform vec2 u_size;          // video size in pixels
uniform vec4 u_plate_y[3];
uniform vec4 u_plate_cb[3];
uniform vec4 u_plate_cr[3];
uniform vec4 u_matte;         // inner, shade tolerance, hue noise tolerance, over-saturation
uniform vec4 u_edge;          // ring radius (px), span min, span max, -
uniform vec4 u_spill;         // strength, chroma along the key kept per unit across it, -, -
uniform vec4 u_luma;          // luma residual tolerated as screen, span min, span max, -

vec3 rgb_to_ycc(vec3 c) {
  return vec3(dot(c, vec3(0.299, 0.587, 0.114)),
              dot(c, vec3(-0.168736, -0.331264, 0.5)),
              dot(c, vec3(0.5, -0.418688, -0.081312)));
}
vec3 ycc_to_rgb(vec3 c) {
  return vec3(c.x + 1.402 * c.z, c.x - 0.344136 * c.y - 0.714136 * c.z, c.x + 1.772 * c.y);
}
float poly(vec4 c0, vec4 c1, vec4 c2, vec2 uv) {
  float x = uv.x * 2.0 - 1.0;
  float y = uv.y * 2.0 - 1.0;
  return dot(c0, vec4(1.0, x, y, x * x)) + dot(c1, vec4(x * y, y * y, x * x * x, x * x * y))
    + dot(c2.xy, vec2(x * y * y, y * y * y));
}
vec3 plate_at(vec2 uv) {
  return vec3(poly(u_plate_y[0], u_plate_y[1], u_plate_y[2], uv),
              poly(u_plate_cb[0], u_plate_cb[1], u_plate_cb[2], uv),
              poly(u_plate_cr[0], u_plate_cr[1], u_plate_cr[2], uv));
}
vec3 ycc_at(vec2 uv) { return rgb_to_ycc(texture2D(u_video, uv).rgb); }

float key_distance(vec3 ycc, vec3 plate) {
  vec2 pc = plate.yz;
  float n2 = max(dot(pc, pc), 1e-6);
  float par = dot(ycc.yz, pc) / n2;
  float perp = (ycc.y * pc.y - ycc.z * pc.x) / n2;
  float ly = ycc.x / max(plate.x, 1e-3);
  float tol = u_matte.y;
  float tol_eff = tol * clamp(1.0 - abs(ly - par) / max(tol, 1e-3), 0.0, 1.0);
  float shrink = max(0.0, 1.0 - par - tol_eff) / (1.0 - tol_eff);
  float grow = max(0.0, par - 1.0 - u_matte.w);
  float hue = max(0.0, abs(perp) - u_matte.z);
  return sqrt(shrink * shrink + hue * hue + grow * grow);
}

// Luma the chroma does not explain, beyond the tolerance: 0 on the screen and in its shade,
// large for a subject much brighter or darker than the screen even with the screen's chroma.
float key_luma_residual(vec3 ycc, vec3 plate) {
  vec2 pc = plate.yz;
  float par = dot(ycc.yz, pc) / max(dot(pc, pc), 1e-6);
  float ly = ycc.x / max(plate.x, 1e-3);
  return max(0.0, abs(ly - par) - u_luma.x);
}

void main() {
  vec2 uv = v_uv;
  vec3 ycc = ycc_at(uv);
  vec3 plate = plate_at(uv);
  float dc = key_distance(ycc, plate);
  float dl = key_luma_residual(ycc, plate);
  float d = max(dc, dl);
  float inner = u_matte.x;
  if (d <= inner) { gl_FragColor = vec4(0.0); return; }
  // The ring: the subject's own distances nearby (for the ramps), whether screen is near, and
  // the chroma of the most subject-like neighbour (for the despill).
  float dmax = dc;
  float lmax = dl;
  float dmin = d;
  vec2 solid_c = ycc.yz;
  float r = u_edge.x;
  // Already as far from the screen as the foreground clamp: opaque whatever the ring finds.
  if (r > 0.0 && dc < u_edge.z) {
    for (int i = 0; i < 8; i++) {
      float a = float(i) * 0.78539816;
      vec2 off = floor(vec2(cos(a), sin(a)) * r + 0.5) / u_size;
      vec3 yq = ycc_at(uv + off);
      float dq = key_distance(yq, plate);
      float lq = key_luma_residual(yq, plate);
      if (dq > dmax) solid_c = yq.yz;
      dmax = max(dmax, dq);
      lmax = max(lmax, lq);
      dmin = min(dmin, max(dq, lq));
    }
  }
  float own = clamp(dmax, u_edge.y, u_edge.z);
  float alpha_c = (dc - inner) / max(own - inner, 1e-3);
  float alpha_l = dl / max(clamp(lmax, u_luma.y, u_luma.z), 1e-3);
  float alpha = clamp(max(alpha_c, alpha_l), 0.0, 1.0);
  vec3 screen = ycc_to_rgb(plate);
  vec3 seen = ycc_to_rgb(ycc);
  vec3 fg = clamp((seen - (1.0 - alpha) * screen) / max(alpha, 0.05), 0.0, 1.0);
  vec3 f = rgb_to_ycc(fg);
  float kn = max(length(plate.yz), 1e-4);
  vec2 axis = plate.yz / kn;
  float proj = dot(f.yz, axis);
  // Despill down to what the most solid neighbour keeps: one (nearly) opaque, or any when no
  // screen is near at all. Chroma across the key under 0.02 is a neutral's cast, not a hue.
  bool solid = dmax >= 0.9 * own || dmin > inner + 0.1;
  float across = max(abs(solid_c.x * axis.y - solid_c.y * axis.x) - 0.02, 0.0);
  float keep = solid ? clamp(dot(solid_c, axis), 0.0, u_spill.y * across) : 0.0;
  vec2 c = f.yz - max(proj - keep, 0.0) * u_spill.x * axis;
  vec3 rgb = clamp(ycc_to_rgb(vec3(f.x, c)), 0.0, 1.0);
  gl_FragColor = vec4(rgb * alpha, alpha);  // premultiplied: the canvas composites over the page
}`;

function compile(gl, type, src) {
  const s = gl.createShader(type);
  gl.shaderSource(s, src);
  gl.compileShader(s);
  if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s) || 'shader did not compile');
  return s;
}

// The WebGL renderer, or null when WebGL is not available (or the shader fails).
function webglRenderer(canvas) {
  const attrs = { alpha: true, premultipliedAlpha: true, preserveDrawingBuffer: true, antialias: false };
  let gl = null;
  let kind = 'webgl2';
  try { gl = canvas.getContext('webgl2', attrs); } catch { gl = null; }
  if (!gl) {
    kind = 'webgl';
    try { gl = canvas.getContext('webgl', attrs) || canvas.getContext('experimental-webgl', attrs); } catch { gl = null; }
  }
  if (!gl) return null;
  try {
    const prog = gl.createProgram();
    gl.attachShader(prog, compile(gl, gl.VERTEX_SHADER, VERTEX));
    gl.attachShader(prog, compile(gl, gl.FRAGMENT_SHADER, FRAGMENT));
    gl.bindAttribLocation(prog, 0, 'a_pos');
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(prog) || 'link failed');
    gl.useProgram(prog);
    const buf = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buf);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 3, -1, -1, 3]), gl.STATIC_DRAW);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
    const tex = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, tex);
    for (const [k, v] of [[gl.TEXTURE_MIN_FILTER, gl.LINEAR], [gl.TEXTURE_MAG_FILTER, gl.LINEAR],
      [gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE], [gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE]]) gl.texParameteri(gl.TEXTURE_2D, k, v);
    const loc = (n) => gl.getUniformLocation(prog, n);
    const u = {
      video: loc('u_video'), size: loc('u_size'), py: loc('u_plate_y'), pcb: loc('u_plate_cb'), pcr: loc('u_plate_cr'),
      matte: loc('u_matte'), edge: loc('u_edge'), spill: loc('u_spill'), luma: loc('u_luma'),
    };
    gl.uniform1i(u.video, 0);
    return {
      kind,
      draw(video, uniform) {
        const vw = video.videoWidth, vh = video.videoHeight;
        if (!vw || !vh) return false;
        if (canvas.width !== vw || canvas.height !== vh) { canvas.width = vw; canvas.height = vh; }
        gl.viewport(0, 0, canvas.width, canvas.height);
        gl.activeTexture(gl.TEXTURE0);
        gl.bindTexture(gl.TEXTURE_2D, tex);
        gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, video);
        gl.uniform2f(u.size, vw, vh);
        gl.uniform4fv(u.py, uniform.plateY);
        gl.uniform4fv(u.pcb, uniform.plateCb);
        gl.uniform4fv(u.pcr, uniform.plateCr);
        gl.uniform4fv(u.matte, uniform.matte);
        gl.uniform4fv(u.edge, uniform.edge);
        gl.uniform4fv(u.spill, uniform.spill);
        gl.uniform4fv(u.luma, uniform.luma);
        gl.clearColor(0, 0, 0, 0);
        gl.clear(gl.COLOR_BUFFER_BIT);
        gl.drawArrays(gl.TRIANGLES, 0, 3);
        return true;
      },
    };
  } catch (err) {
    console.warn('WebGL keyer unavailable', err);
    return null;
  }
}

// Fallback without WebGL: the same distances (chroma and luma) on the CPU at 160×120, hard
// matte, no despill.
function canvas2dRenderer(canvas) {
  const W = 160, H = 120;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) return null;
  return {
    kind: '2d',
    draw(video, uniform, model) {
      if (!video.videoWidth) return false;
      if (canvas.width !== W || canvas.height !== H) { canvas.width = W; canvas.height = H; }
      ctx.drawImage(video, 0, 0, W, H);
      const img = ctx.getImageData(0, 0, W, H);
      const d = img.data;
      for (let py = 0; py < H; py++) {
        for (let px = 0; px < W; px++) {
          const i = (py * W + px) * 4;
          const ycc = rgbToYcc(d[i] / 255, d[i + 1] / 255, d[i + 2] / 255);
          const plate = modelAt(model, (px + 0.5) / W, (py + 0.5) / H);
          const dist = Math.max(keyDistance(uniform, ycc, plate), keyLumaResidual(uniform, ycc, plate));
          if (dist <= uniform.matte[0] * 2) d[i + 3] = 0;
        }
      }
      ctx.putImageData(img, 0, 0);
      return true;
    },
  };
}

/**
 * Starts the keyed preview of `video` on `canvas`: WebGL when the browser has it, else the 2D
 * fallback (`kind` says which). Refits the screen once a second and calls
 * `onCalibration(calibration | null)` with the result (see `estimateScreen`).
 * Returns { kind, stop(), tracker }.
 */
export function startPreviewKeyer(video, canvas, { onCalibration = () => {}, forceFallback = false } = {}) {
  // One renderer per canvas (a canvas keeps its first context): reused on a device change.
  if (!canvas.previewRenderer) canvas.previewRenderer = (!forceFallback && webglRenderer(canvas)) || canvas2dRenderer(canvas);
  const renderer = canvas.previewRenderer;
  const kind = renderer ? renderer.kind : 'none';
  const tracker = new KeyTracker();
  const [CW, CH] = CALIBRATION_SIZE;
  const small = document.createElement('canvas');
  small.width = CW; small.height = CH;
  const sctx = small.getContext('2d', { willReadFrequently: true });
  let stopped = false;
  let uniform = keyUniform(null);
  let model = flatModel();
  let frames = 0;
  const calibrate = () => {
    if (stopped || !video.videoWidth) return;
    sctx.drawImage(video, 0, 0, CW, CH);
    const img = sctx.getImageData(0, 0, CW, CH);
    const cal = estimateScreen(img);
    if (cal) {
      model = tracker.update(cal);
      uniform = keyUniform(model);
    }
    onCalibration(cal, img);
  };
  const calTimer = setInterval(calibrate, 1000);
  setTimeout(calibrate, 150);
  const rvfc = typeof video.requestVideoFrameCallback === 'function';
  const frame = () => {
    if (stopped) return;
    if (renderer && renderer.draw(video, uniform, model)) frames++;
    if (rvfc) video.requestVideoFrameCallback(frame); else requestAnimationFrame(frame);
  };
  if (renderer) frame();
  return {
    kind,
    tracker,
    get frames() { return frames; },
    stop() { stopped = true; clearInterval(calTimer); },
  };
}
