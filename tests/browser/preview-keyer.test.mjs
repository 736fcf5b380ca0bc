// The preview keyer's CPU half (web/preview-keyer.js) under Node: the auto key fits a lit,
// graded green screen behind a grey subject, warns on a dim or uneven screen, finds nothing in
// a frame without a screen, and its distance keys screen and subject apart. The same scene as
// `scene()` in src/keying/calibrate.rs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  estimateScreen, modelAt, rgbToYcc, keyUniform, keyDistance, keyLumaResidual, KeyTracker,
  CALIBRATION_SIZE, KEY_PARAMS,
} from '../../web/preview-keyer.js';

const [W, H] = CALIBRATION_SIZE;

// A screen of `screen` RGB lit with a horizontal gradient, a grey disc as the subject, and
// optionally a dark vertical fold.
function scene(screen, gradient, { fold = 0 } = {}) {
  const data = new Uint8ClampedArray(W * H * 4);
  const subject = [];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const u = x / W - 0.5;
      let light = 1 + gradient * u;
      if (fold && Math.abs(x - W * 0.2) < W * 0.08) light *= 1 - fold;
      const inside = Math.hypot(x - W * 0.5, y - H * 0.55) < H * 0.3;
      const c = inside ? [128, 120, 115] : screen.map((v) => Math.min(255, v * light));
      data.set([...c, 255], (y * W + x) * 4);
      subject.push(inside);
    }
  }
  return { img: { data, width: W, height: H }, subject };
}

test('fits a graded green screen: the model matches the lit screen at both edges', () => {
  const screen = [30, 190, 70];
  const gradient = 0.4;
  const cal = estimateScreen(scene(screen, gradient).img);
  assert.ok(cal, 'a screen is found');
  assert.equal(cal.warning, null);
  assert.ok(cal.screenShare > 0.5 && cal.screenShare < 0.9, `share ${cal.screenShare}`);
  for (const [u, light] of [[0.05, 1 - gradient * 0.45], [0.95, 1 + gradient * 0.45]]) {
    const truth = rgbToYcc(...screen.map((c) => (c * light) / 255));
    const got = modelAt(cal.model, u, 0.1);
    for (let k = 0; k < 3; k++) assert.ok(Math.abs(got[k] - truth[k]) < 0.03, `u=${u} ch ${k}: ${got} vs ${truth}`);
  }
});

test('the distance keys screen out and the subject in', () => {
  const { img, subject } = scene([30, 190, 70], 0.3);
  const u = keyUniform(estimateScreen(img).model);
  const model = estimateScreen(img).model;
  let screenKeyed = 0, screenN = 0, subjectKept = 0, subjectN = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 4;
      const d = keyDistance(u, rgbToYcc(img.data[i] / 255, img.data[i + 1] / 255, img.data[i + 2] / 255),
        modelAt(model, (x + 0.5) / W, (y + 0.5) / H));
      if (subject[y * W + x]) { subjectN++; if (d > 0.6) subjectKept++; } else { screenN++; if (d <= u.matte[0]) screenKeyed++; }
    }
  }
  assert.ok(screenKeyed / screenN > 0.98, `screen keyed ${screenKeyed}/${screenN}`);
  assert.ok(subjectKept / subjectN > 0.98, `subject kept ${subjectKept}/${subjectN}`);
});

test('warns about a dim screen and an uneven one', () => {
  assert.equal(estimateScreen(scene([12, 50, 20], 0.3).img).warning, 'too_dark');
  assert.equal(estimateScreen(scene([30, 190, 70], 0, { fold: 0.6 }).img).warning, 'too_uneven');
});

test('no screen in a grey frame', () => {
  const data = new Uint8ClampedArray(W * H * 4);
  for (let i = 0; i < data.length; i += 4) data.set([120, 110, 100, 255], i);
  assert.equal(estimateScreen({ data, width: W, height: H }), null);
});

test('the tracker takes the first fit whole, then moves slowly', () => {
  const a = estimateScreen(scene([30, 190, 70], 0).img);
  const b = estimateScreen(scene([30, 120, 70], 0).img);
  const t = new KeyTracker();
  for (let i = 0; i < 6; i++) t.update(a);
  const before = t.model.y[0];
  const after = t.update(b).y[0];
  const moved = (after - before) / (b.model.y[0] - before);
  assert.ok(Math.abs(moved - 0.1) < 1e-6, `moved ${moved}`);
});

test('defaults mirror KeyParams::default(): luma estimate and hue-keeping despill, no interior share', () => {
  assert.equal(KEY_PARAMS.edgeSpanMin, 0.45);
  assert.equal(KEY_PARAMS.spillHueKeep, 1.5);
  assert.equal(KEY_PARAMS.lumaTolerance, 0.2);
  assert.equal(KEY_PARAMS.lumaSpanMin, 0.6);
  assert.equal(KEY_PARAMS.lumaSpanMax, 1.2);
  assert.ok(!('spillInterior' in KEY_PARAMS), 'spill_interior is gone from the server');
  const u = keyUniform(null);
  assert.deepEqual(u.spill, [1.0, 1.5, 0, 0]);
  assert.deepEqual(u.luma, [0.2, 0.6, 1.2, 0]);
  assert.deepEqual(u.edge.slice(1, 3), [0.45, 1.0]);
});

test('every default matches the Default impl in src/keying/params.rs', () => {
  const src = readFileSync(new URL('../../src/keying/params.rs', import.meta.url), 'utf8');
  const body = src.match(/impl Default for KeyParams \{[\s\S]*?Self \{([\s\S]*?)\n\s*\}\n\s*\}/);
  assert.ok(body, 'KeyParams::default() found in params.rs');
  const server = {};
  for (const [, name, value] of body[1].matchAll(/^\s*(\w+):\s*(\[[^\]]*\]|[^,\n]+),/gm)) {
    server[name.replace(/_(\w)/g, (_, c) => c.toUpperCase())] = value.trim();
  }
  // Server-only fields: calibration switch, fitted model, chroma guide, garbage matte.
  for (const k of ['auto', 'screen', 'guideSigma', 'garbage']) delete server[k];
  assert.deepEqual(Object.keys(server).sort(), Object.keys(KEY_PARAMS).sort());
  for (const [k, v] of Object.entries(server)) {
    const want = v.startsWith('[') ? JSON.parse(v) : Number(v);
    assert.deepEqual(KEY_PARAMS[k], want, `${k}: ${JSON.stringify(KEY_PARAMS[k])} vs params.rs ${v}`);
  }
});

test('the luma residual is nil on the screen and its shade, large for a white edge with spill', () => {
  const u = keyUniform(null);
  const plate = rgbToYcc(0, 177 / 255, 64 / 255);
  const at = (rgb) => keyLumaResidual(u, rgbToYcc(...rgb.map((c) => c / 255)), plate);
  assert.equal(at([0, 177, 64]), 0);
  assert.equal(at([0, 124, 45]), 0, 'a fold at 70 % light is screen');
  // A white shirt's edge lit by the screen: the screen's chroma, far more luma.
  const [, cb, cr] = plate;
  const spilled = [0.9, cb, cr];
  assert.ok(keyDistance(u, spilled, plate) < 0.2, 'chroma alone calls it screen');
  assert.ok(keyLumaResidual(u, spilled, plate) > u.luma[1], 'luma calls it subject');
});
