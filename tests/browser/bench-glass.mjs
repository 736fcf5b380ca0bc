// Glass-to-glass latency in a real browser (issue 8), printed as JSON on stdout.
//
// Method: Chromium's fake camera plays a clip whose every frame carries its own number as a
// visible binary code (black and white cells inside a magenta frame, over the person's chest,
// so the keyer keeps it). A probe injected into the participant's page reads the code from the
// page's own camera stream and from the composite it receives, each on a canvas at the video
// frame's expected display time (requestVideoFrameCallback), and pairs them: latency is the
// time from a number being shown locally to it being shown inside the composite. The local side
// is what the page shows of its own camera, so capture-to-local-display time is not counted;
// everything after (encode, network, decode, key, composite, encode, network, decode, display)
// is.
//
// Run: `node bench-glass.mjs` from tests/browser (after `npm ci`); `make bench` does.
// Environment: BROWSER_TEST_BIN (server binary), GLASS_SECONDS (measurement, default 20),
// GLASS_OTHERS (loadgen participants seated beside the browser, default 4).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BIN = process.env.BROWSER_TEST_BIN
  || path.join(process.env.CARGO_TARGET_DIR || '/var/cache/courtroom/target', 'release/courtroom');
const SECONDS = Number(process.env.GLASS_SECONDS || 20);
// Others seated beside the measured browser, published by `courtroom loadgen` (a hearing of
// five by default, as the other figures).
const OTHERS = Number(process.env.GLASS_OTHERS ?? 4);
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required'];
const [W, H, FPS, FRAMES] = [640, 480, 25, 250];
// The code patch: a magenta frame around ten cells (white reference, black reference, then
// eight bits of the frame number, most significant first), over the chest.
const PATCH = { x: 152, y: 244, cell: 32, cellH: 48, border: 8, cells: 10 };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error('bench-glass:', ...a);

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

function yuv([r, g, b]) {
  const q = (v) => Math.max(0, Math.min(255, Math.round(v)));
  return [q(0.299 * r + 0.587 * g + 0.114 * b), q(-0.168736 * r - 0.331264 * g + 0.5 * b + 128),
    q(0.5 * r - 0.418688 * g - 0.081312 * b + 128)];
}

function inPerson(x, y) {
  const hx = (x - 320) / 42, hy = (y - 150) / 55;
  if (hx * hx + hy * hy <= 1) return true;
  if (y >= 195 && y <= 240 && Math.abs(x - 320) <= 22) return true;
  const dx = Math.abs(x - 320);
  if (y < 230 || dx > 190) return false;
  if (y < 290 && dx > 130) { const ex = dx - 130, ey = y - 290; return ex * ex + ey * ey <= 3600; }
  return true;
}

// The colour at (x, y) of frame `n`, as RGB.
function pixel(n, x, y) {
  const p = PATCH;
  const [x0, y0] = [p.x, p.y];
  const [x1, y1] = [x0 + 2 * p.border + p.cells * p.cell, y0 + 2 * p.border + p.cellH];
  if (x >= x0 && x < x1 && y >= y0 && y < y1) {
    const [ix, iy] = [x - x0 - p.border, y - y0 - p.border];
    if (ix < 0 || iy < 0 || ix >= p.cells * p.cell || iy >= p.cellH) return [230, 0, 230];
    const c = Math.floor(ix / p.cell);
    const on = c === 0 ? true : c === 1 ? false : ((n >> (9 - c)) & 1) === 1;
    return on ? [250, 250, 250] : [10, 10, 10];
  }
  return inPerson(x + 0.5, y + 0.5) ? [70, 90, 160] : [0, 177, 64];
}

function writeClip(file) {
  const cw = W / 2;
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, `YUV4MPEG2 W${W} H${H} F${FPS}:1 Ip A1:1 C420jpeg\n`);
  const frame = Buffer.alloc(W * H * 3 / 2);
  for (let n = 0; n < FRAMES; n++) {
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) frame[y * W + x] = yuv(pixel(n, x, y))[0];
    for (let cy = 0; cy < H / 2; cy++) for (let cx = 0; cx < cw; cx++) {
      const c = yuv(pixel(n, 2 * cx, 2 * cy));
      frame[W * H + cy * cw + cx] = c[1];
      frame[W * H + cw * (H / 2) + cy * cw + cx] = c[2];
    }
    fs.writeSync(fd, 'FRAME\n');
    fs.writeSync(fd, frame);
  }
  fs.closeSync(fd);
}

function writeSilence(file, seconds) {
  const n = 48000 * seconds;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0); b.writeUInt32LE(36 + n * 2, 4); b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(48000, 24); b.writeUInt32LE(96000, 28); b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34); b.write('data', 36); b.writeUInt32LE(n * 2, 40);
  fs.writeFileSync(file, b);
}

// Runs in the page: reads codes from the local camera and from the composite.
function probe(patch) {
  const out = { local: {}, pairs: [], localReads: 0, remoteReads: 0, misses: 0 };
  window.__glass = out;
  const innerW = patch.cells * patch.cell;
  const bw = patch.border / (innerW + 2 * patch.border);
  const bh = patch.border / (patch.cellH + 2 * patch.border);
  // One side's decoder: draws a picture, finds the magenta frame once, reads the cells.
  const decoder = (side) => {
    const canvas = new OffscreenCanvas(16, 16);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    let rect = null;
    const find = (w, h) => {
      const d = ctx.getImageData(0, 0, w, h).data;
      let [x0, y0, x1, y1, n] = [w, h, -1, -1, 0];
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 4;
        if (d[i] > 150 && d[i + 1] < 100 && d[i + 2] > 150) {
          n++; x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
        }
      }
      if (n < 40 || x1 - x0 < 40) return null;
      const [fw, fh] = [x1 - x0 + 1, y1 - y0 + 1];
      return { x: x0 + fw * bw, y: y0 + fh * bh, w: fw * (1 - 2 * bw), h: fh * (1 - 2 * bh) };
    };
    const read = () => {
      const r = rect;
      const cw = r.w / patch.cells;
      const mean = (c) => {
        const [sx, sy] = [Math.round(r.x + cw * (c + 0.3)), Math.round(r.y + r.h * 0.3)];
        const [sw, sh] = [Math.max(1, Math.round(cw * 0.4)), Math.max(1, Math.round(r.h * 0.4))];
        const d = ctx.getImageData(sx, sy, sw, sh).data;
        let s = 0;
        for (let i = 0; i < d.length; i += 4) s += d[i] + d[i + 1] + d[i + 2];
        return s / (d.length / 4) / 3;
      };
      const [white, black] = [mean(0), mean(1)];
      if (white - black < 60) return null;
      let n = 0;
      for (let c = 2; c < patch.cells; c++) n = (n << 1) | (mean(c) > (white + black) / 2 ? 1 : 0);
      return n;
    };
    return (source, w, h, t) => {
      if (!w || !h) return;
      if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; rect = null; }
      ctx.drawImage(source, 0, 0, w, h);
      if (!rect) rect = find(w, h);
      const n = rect ? read() : null;
      if (n == null) { rect = null; out.misses++; return; }
      if (side === 'local') {
        out.localReads++;
        const seen = out.local[n];
        if (seen == null || t - seen > 5000) out.local[n] = t;
        return;
      }
      out.remoteReads++;
      const shown = out.local[n];
      const last = out.pairs.length ? out.pairs[out.pairs.length - 1] : null;
      if (shown != null && t - shown < 5000 && (!last || last.n !== n)) out.pairs.push({ n, ms: t - shown });
    };
  };
  // The composite, when each frame is about to be shown (the callback's time).
  const remote = document.getElementById('courtroom');
  const onRemote = decoder('remote');
  const onFrame = (now) => {
    onRemote(remote, remote.videoWidth, remote.videoHeight, now);
    remote.requestVideoFrameCallback(onFrame);
  };
  remote.requestVideoFrameCallback(onFrame);
  // The camera, frame by frame as it delivers them (MediaStreamTrackProcessor on a clone of the
  // track the page sends), rather than a <video> of it, whose display lags and would hide part
  // of the latency.
  const track = document.getElementById('self-view').srcObject.getVideoTracks()[0].clone();
  const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
  const onLocal = decoder('local');
  (async () => {
    for (;;) {
      const { value: frame, done } = await reader.read();
      if (done) return;
      onLocal(frame, frame.displayWidth, frame.displayHeight, performance.now());
      frame.close();
    }
  })();
}

function quantile(sorted, q) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-glass-'));
  const [clip, wav, data] = [path.join(tmp, 'code.y4m'), path.join(tmp, 'quiet.wav'), path.join(tmp, 'data')];
  writeClip(clip);
  writeSilence(wav, 12);
  const addr = `127.0.0.1:${await freePort()}`;
  const serverLog = path.join(tmp, 'server.log');
  const out = fs.openSync(serverLog, 'a');
  const server = spawn(BIN, ['demo', '--hearings', '1', '--data', data, '--listen', addr], {
    stdio: ['ignore', out, out], detached: true,
  });
  let browser, loadgen;
  try {
    const t0 = Date.now();
    for (;;) {
      try { if ((await fetch(`http://${addr}/healthz`)).ok) break; } catch { /* not yet */ }
      if (Date.now() - t0 > 60000) throw new Error(`server not healthy: ${fs.readFileSync(serverLog, 'utf8').slice(-2000)}`);
      await sleep(100);
    }
    const invites = JSON.parse(fs.readFileSync(path.join(data, 'demo-invitations.json'), 'utf8'));
    const judge = invites.find((i) => i.role === 'presiding_judge');
    const url = `http://${addr}/join?${judge.url.split('?')[1]}&autojoin=1`;
    if (OTHERS > 0) {
      const othersFile = path.join(tmp, 'others.json');
      fs.writeFileSync(othersFile, JSON.stringify(invites.filter((i) => i.role !== 'presiding_judge')));
      const lg = fs.openSync(path.join(tmp, 'loadgen.log'), 'a');
      loadgen = spawn(BIN, ['loadgen', '--url', `http://${addr}`, '--invitations', othersFile,
        '--participants', String(OTHERS), '--seconds', String(SECONDS + 40)], { stdio: ['ignore', lg, lg], detached: true });
    }
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
      args: [...FLAGS, `--use-file-for-fake-video-capture=${clip}`, `--use-file-for-fake-audio-capture=${wav}`],
    });
    const page = await (await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 800 } })).newPage();
    page.on('pageerror', (e) => log('page error:', e.message));
    await page.goto(url);
    await page.waitForFunction(() => (window.courtroomStats?.frames_decoded || 0) > 5
      || (document.getElementById('courtroom')?.videoWidth || 0) > 0, null, { timeout: 30000 });
    await page.waitForFunction(() => document.getElementById('self-view')?.srcObject, null, { timeout: 10000 });
    await page.evaluate(probe, PATCH);
    // Settle (jitter buffers, the key calibration) before measuring.
    await sleep(3000);
    await page.evaluate(() => { window.__glass.pairs = []; });
    await sleep(SECONDS * 1000);
    const r = await page.evaluate(() => window.__glass);
    const ms = r.pairs.map((p) => p.ms).sort((a, b) => a - b);
    const frameMs = 1000 / FPS;
    const report = {
      bench: 'glass_to_glass',
      browser: 'chromium (headless, fake camera), loopback',
      participants: 1 + OTHERS,
      seconds: SECONDS,
      samples: ms.length,
      local_reads: r.localReads,
      remote_reads: r.remoteReads,
      misses: r.misses,
      median_ms: quantile(ms, 0.5),
      p95_ms: quantile(ms, 0.95),
      median_frames: ms.length ? quantile(ms, 0.5) / frameMs : null,
      min_ms: ms[0],
      max_ms: ms[ms.length - 1],
    };
    console.log(JSON.stringify(report));
    if (ms.length < SECONDS * 5) {
      log(`too few paired frames (${ms.length}); server log tail:\n${fs.readFileSync(serverLog, 'utf8').slice(-1500)}`);
      process.exitCode = 1;
    }
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (loadgen) try { process.kill(-loadgen.pid, 'SIGTERM'); } catch { /* gone */ }
    try { process.kill(-server.pid, 'SIGTERM'); } catch { /* gone */ }
    await sleep(500);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => { log(e.stack || e.message); process.exit(1); });
