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
// GLASS_TARGET=broadcast measures the public broadcast instead (HLS, CMAF segments, hls.js on
// the watch page /watch/<hearing>): the same numbered camera in the judge's page, and a second
// page (its own browser context, same browser) on the watch page, whose <video> is read the
// same way (the magenta frame is searched for in the picture at its intrinsic size, the
// composite's video.width x video.height). Both pages stamp readings with
// performance.timeOrigin + performance.now(), one clock for the whole browser (the report's
// clock_skew_ms checks it against Date.now() in each page); the pairing is done here, after
// the run, from every reading of both pages. How: see pairBroadcast.
//
// Run: `node bench-glass.mjs` from tests/browser (after `npm ci`); `make bench` does, and
// `GLASS_TARGET=broadcast node bench-glass.mjs` for the broadcast.
// Environment: BROWSER_TEST_BIN (server binary), GLASS_SECONDS (measurement, default 20),
// GLASS_OTHERS (loadgen participants seated beside the browser, default 4), GLASS_TARGET
// (`composite`, the default, or `broadcast`), GLASS_SAMPLES_CSV (broadcast: a file to write
// every pair to, for plotting the delay over the run).
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
const TARGET = process.env.GLASS_TARGET || 'composite';
if (!['composite', 'broadcast'].includes(TARGET)) {
  console.error(`bench-glass: GLASS_TARGET=${TARGET}: expected composite or broadcast`);
  process.exit(2);
}
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required'];
const [W, H, FPS, FRAMES] = [640, 480, 25, 250];
// The code patch: a magenta frame around ten cells (white reference, black reference, then
// eight bits of the frame number, most significant first), over the chest.
const PATCH = { x: 152, y: 244, cell: 32, cellH: 48, border: 8, cells: 10 };
// The broadcast's segment target (src/broadcast/config.rs, BroadcastConfig::new; the encoder's
// keyframe interval, video.keyframe_interval_s, is 2 s too). The playlist's own
// #EXT-X-TARGETDURATION is reported beside it.
const SEGMENT_TARGET_S = 2;

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

// Runs in the watch page before its scripts: hls.js's instance is private to watch.js, but
// every event it raises passes through Hls.prototype.trigger; wrapping it (as the library's
// bundle sets window.Hls) keeps the instance (window.__glassHls) and each error event, fatal or
// not (window.__glassHlsErrors), from the start.
function hlsHook() {
  const errors = [];
  window.__glassHlsErrors = errors;
  let Hls;
  Object.defineProperty(window, 'Hls', {
    configurable: true,
    enumerable: true,
    get: () => Hls,
    set: (v) => {
      Hls = v;
      const proto = v && v.prototype;
      if (!proto || typeof proto.trigger !== 'function' || proto.__glass) return;
      const trigger = proto.trigger;
      proto.__glass = true;
      proto.trigger = function (event, data) {
        window.__glassHls = this;
        if (event === 'hlsError' && data) {
          errors.push({ t: performance.timeOrigin + performance.now(),
            details: `${data.fatal ? 'fatal ' : ''}${data.type}/${data.details}` });
        }
        return trigger.call(this, event, data);
      };
    },
  });
}

// Runs in a page: reads the code from the page's own camera (`camera`: the participant page's
// self-view track) and/or from a <video> (`video`: its element id). Every time is
// performance.timeOrigin + a page-relative time, so that two pages of one browser compare.
// Without `log` (the composite) the page pairs as it reads: each number's local showing, then
// its first reading in the composite. With `log` (the broadcast) every reading is kept, the
// video's with the frame's media time and the misses too (n = -1), and node pairs them; the
// <video>'s playback events are kept as well (stalls, seeks, catch-up rate changes).
function probe({ patch, camera, video, log }) {
  const out = { local: {}, pairs: [], localReads: 0, remoteReads: 0, misses: 0,
    localLog: [], videoLog: [], events: [] };
  window.__glass = out;
  const at = (hr) => performance.timeOrigin + hr;
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
    return (source, w, h, t, m) => {
      if (!w || !h) return;
      if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; rect = null; }
      ctx.drawImage(source, 0, 0, w, h);
      if (!rect) rect = find(w, h);
      const n = rect ? read() : null;
      if (n == null) {
        rect = null; out.misses++;
        if (log && side === 'remote') out.videoLog.push({ t, m, n: -1 });
        return;
      }
      if (side === 'local') {
        out.localReads++;
        if (log) { out.localLog.push({ n, t }); return; }
        const seen = out.local[n];
        if (seen == null || t - seen > 5000) out.local[n] = t;
        return;
      }
      out.remoteReads++;
      if (log) { out.videoLog.push({ t, m, n }); return; }
      const shown = out.local[n];
      const last = out.pairs.length ? out.pairs[out.pairs.length - 1] : null;
      if (shown != null && t - shown < 5000 && (!last || last.n !== n)) out.pairs.push({ n, ms: t - shown });
    };
  };
  // The composite (or the broadcast), when each frame is about to be shown (the callback's time).
  if (video) {
    const remote = document.getElementById(video);
    const onRemote = decoder('remote');
    const onFrame = (now, meta) => {
      onRemote(remote, remote.videoWidth, remote.videoHeight, at(now), meta.mediaTime);
      remote.requestVideoFrameCallback(onFrame);
    };
    remote.requestVideoFrameCallback(onFrame);
    if (log) {
      for (const e of ['waiting', 'playing', 'seeking', 'seeked', 'ratechange', 'stalled', 'emptied', 'error']) {
        remote.addEventListener(e, () => out.events.push({ e, t: at(performance.now()),
          ct: remote.currentTime, rate: remote.playbackRate }));
      }
      // hls.js's own view, where the page plays with it (hlsHook, installed before the page's
      // scripts): every error event it raised (the page reports only fatal ones), and once a
      // second its latency, its target latency (which it raises by a second per stall) and
      // the buffer ahead.
      out.hlsErrors = window.__glassHlsErrors || [];
      out.hlsSamples = [];
      setInterval(() => {
        const h = window.__glassHls;
        if (!h || h.media !== remote) return;
        const b = remote.buffered;
        out.hlsSamples.push({ t: at(performance.now()), latency: h.latency, target: h.targetLatency,
          ahead: b.length ? b.end(b.length - 1) - remote.currentTime : 0, rate: remote.playbackRate });
      }, 1000);
    }
  }
  // The camera, frame by frame as it delivers them (MediaStreamTrackProcessor on a clone of the
  // track the page sends), rather than a <video> of it, whose display lags and would hide part
  // of the latency.
  if (camera) {
    const track = document.getElementById('self-view').srcObject.getVideoTracks()[0].clone();
    const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
    const onLocal = decoder('local');
    (async () => {
      for (;;) {
        const { value: frame, done } = await reader.read();
        if (done) return;
        onLocal(frame, frame.displayWidth, frame.displayHeight, at(performance.now()));
        frame.close();
      }
    })();
  }
}

function quantile(sorted, q) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

// Least-squares slope of y over x.
function slope(x, y) {
  const n = x.length;
  const [mx, my] = [x.reduce((a, b) => a + b, 0) / n, y.reduce((a, b) => a + b, 0) / n];
  let [sxy, sxx] = [0, 0];
  for (let i = 0; i < n; i++) { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) ** 2; }
  return sxx ? sxy / sxx : null;
}

// Gives each reading `a`, a running count of camera frames, from its number `n` (which repeats
// every FRAMES): the value ≡ n (mod FRAMES) nearest to the previous reading's count advanced by
// FPS × the time between the two (`pos(r)`, seconds). One step can so never slip by a loop
// unless the picture is more than half a loop (5 s) off where the time says it should be.
// A reading more than `tol` frames off that prediction (a misread code) gets no count and is
// not predicted from; `tol` of them in a row, or `cut(prev, r)`, start a new chain (`chain`),
// whose counts do not continue the previous chain's.
function unwrap(reads, pos, { tol = Infinity, cut = () => false } = {}) {
  let prev = null;
  let outliers = 0;
  let chain = 0;
  for (const r of reads) {
    if (prev && !cut(prev, r)) {
      const pred = prev.a + (pos(r) - pos(prev)) * FPS;
      const a = r.n + FRAMES * Math.round((pred - r.n) / FRAMES);
      if (Math.abs(a - pred) <= tol) {
        Object.assign(r, { a, chain });
        prev = r;
        outliers = 0;
        continue;
      }
      if (++outliers < 5) continue;
    }
    if (prev) chain++;
    Object.assign(r, { a: r.n, chain });
    prev = r;
    outliers = 0;
  }
}

// Counts the readings (`unwrap`) and keeps the first of each count per chain: a camera frame's
// number is on screen from its first reading on (the composite repeats a camera frame until the
// next arrives); a miss (n = -1) is not a reading.
function firsts(reads, pos, opts) {
  const rs = reads.filter((r) => r.n >= 0).map((r) => ({ ...r }));
  unwrap(rs, pos, opts);
  const seen = new Set();
  const out = rs.filter((r) => {
    const key = `${r.chain}:${r.a}`;
    if (r.a == null || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  out.rejected = rs.filter((r) => r.a == null);
  return out;
}

function mode(values) {
  const counts = new Map();
  for (const v of values) counts.set(v, (counts.get(v) || 0) + 1);
  let best = null;
  for (const [v, c] of counts) if (best === null || c > counts.get(best)) best = v;
  return best;
}

// Pairs the watch page's readings with the judge page's camera readings (both times in ms of
// one clock, the video's readings with their media time `m` in seconds).
//
// The naive pair of a watch reading is the most recent local showing of the same number older
// than the reading. The clip loops every 10 s, so that is the right showing only while the
// delay is under 10 s; a pair outside 0.5–9.5 s is discarded as off by a loop. A delay of more
// than 10 s would pass unnoticed (it would pair one loop late, 10 s too short), so the pairing
// goes further and counts loops on both sides (`unwrap`): the camera's readings by the clock
// (the fake camera plays in real time), the watch page's by the frame's media time (the
// broadcast's timeline advances as the content does, across stalls and hls.js's jumps to the
// live edge; a media time going back or jumping by more than 20 s starts a new chain). Within a
// chain, watch count + 250 × k is the camera count of the same frame for one whole number k
// of loops, fixed at the chain's start by its first naive pairs (the most frequent k among its
// first 50 that pass 0.5–9.5 s: playback starts about two target durations behind the live
// edge, so the first pairs are well inside). Each reading is then paired with the camera's
// showing of exactly that count, however long the delay has grown since, and `loop_corrected`
// counts the readings whose naive pair was wrong or discarded. A reading counts only if the
// reading before or after it agrees with it (their counts differ by what their media times
// say, within half a second): a misread code fails both.
function pairBroadcast(localLog, videoLog) {
  const shows = firsts(localLog, (r) => r.t / 1000);
  const localAt = new Map();
  const byNumber = new Map();
  for (const s of shows) {
    if (!localAt.has(s.a)) localAt.set(s.a, s);
    if (!byNumber.has(s.n)) byNumber.set(s.n, []);
    byNumber.get(s.n).push(s);
  }
  const counted = firsts(videoLog, (r) => r.m, {
    tol: 100,
    cut: (p, r) => r.m < p.m - 1e-3 || r.m - p.m > 20 || r.t - p.t > 20000,
  });
  // Agrees with a neighbour in the same chain: counts and media times within 0.5 s.
  const agrees = (r, o) => o && o.chain === r.chain && Math.abs((r.a - o.a) - (r.m - o.m) * FPS) <= FPS / 2;
  counted.forEach((r, i) => { r.plausible = agrees(r, counted[i - 1]) || agrees(r, counted[i + 1]); });
  for (const r of counted) {
    let naive = null;
    for (const s of byNumber.get(r.n) || []) if (s.t < r.t) naive = s;
    r.naive = naive && { ms: r.t - naive.t, a: naive.a };
    r.naiveOk = !!naive && r.naive.ms >= 500 && r.naive.ms <= 9500;
  }
  const k = new Map();
  for (const c of new Set(counted.map((r) => r.chain))) {
    const first = counted.filter((r) => r.chain === c && r.naiveOk && r.plausible).slice(0, 50);
    if (first.length) k.set(c, mode(first.map((r) => (r.naive.a - r.a) / FRAMES)));
  }
  for (const r of counted) {
    if (!r.plausible || !k.has(r.chain)) continue;
    const shown = localAt.get(r.a + FRAMES * k.get(r.chain));
    if (shown && shown.t < r.t) r.ms = r.t - shown.t;
  }
  return { counted, rejected: counted.rejected, chains: k.size, shows: shows.length };
}

// Polls `fn` in the page until it is truthy (page.evaluate: the watch page's CSP forbids the
// eval that waitForFunction needs).
async function until(page, fn, ms, what) {
  const t0 = Date.now();
  for (;;) {
    const got = await page.evaluate(fn).catch(() => null);
    if (got) return got;
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(200);
  }
}

// Date.now() − (performance.timeOrigin + performance.now()) in a page, median of 21.
const clockOffset = (page) => page.evaluate(() => {
  const d = [];
  for (let i = 0; i < 21; i++) d.push(Date.now() - (performance.timeOrigin + performance.now()));
  return d.sort((a, b) => a - b)[10];
});

// The broadcast: a second page on the watch page, its <video> read as the composite is; the
// judge's page (already joined, its camera on) reads its camera. Returns the report.
async function measureBroadcast(browser, judgePage, addr, invites) {
  const pub = invites.find((i) => i.role === 'public');
  if (!pub) throw new Error('demo-invitations.json has no public entry (is the demo hearing broadcast?)');
  const watchPath = new URL(pub.url).pathname;
  const hearing = decodeURIComponent(watchPath.split('/').pop());
  await judgePage.evaluate(probe, { patch: PATCH, camera: true, video: null, log: true });
  const localStart = await judgePage.evaluate(() => performance.timeOrigin + performance.now());
  // Its own context: as another viewer, under the page's own CSP.
  const watch = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  const notes = [];
  watch.on('console', (m) => { if (m.type() === 'warning' || m.type() === 'error') notes.push(`${m.type()}: ${m.text()}`); });
  watch.on('pageerror', (e) => notes.push(`page error: ${e.message}`));
  await watch.addInitScript(hlsHook);
  const opened = Date.now();
  await watch.goto(`http://${addr}${watchPath}`);
  await until(watch, () => !!window.courtroomWatch && !!document.getElementById('video'), 10000, 'the watch page');
  await watch.evaluate(probe, { patch: PATCH, camera: false, video: 'video', log: true });
  await until(watch, () => window.courtroomWatch.player().decodedFrames > 0, 60000, 'the broadcast\'s first frame')
    .catch(async (e) => { throw new Error(`${e.message}; the page: ${JSON.stringify(await watch.evaluate(() => window.courtroomWatch.state))}; ${notes.join(' | ')}`); });
  const firstFrameMs = Date.now() - opened;
  await until(watch, () => window.__glass.remoteReads > 0, 30000, 'the code in the broadcast');
  const firstCodeMs = Date.now() - opened;
  // Settle: 3 s of reading, and the camera's readings at least 12 s deep, so that the showing
  // of what the watch page shows first is among them.
  await sleep(3000);
  const now = () => watch.evaluate(() => performance.timeOrigin + performance.now());
  while (await now() < localStart + 12000) await sleep(200);
  const quality = () => watch.evaluate(() => {
    const q = document.getElementById('video').getVideoPlaybackQuality();
    return { total: q.totalVideoFrames, dropped: q.droppedVideoFrames };
  });
  const [from, q0] = [await now(), await quality()];
  await sleep(SECONDS * 1000);
  const [to, q1] = [await now(), await quality()];
  const skew = (await clockOffset(watch)) - (await clockOffset(judgePage));
  const L = await judgePage.evaluate(() => window.__glass);
  const V = await watch.evaluate(() => ({ ...window.__glass, state: window.courtroomWatch.state,
    player: window.courtroomWatch.player(), rate: document.getElementById('video').playbackRate }));
  let playlist = null;
  try { playlist = await (await fetch(`http://${addr}/live/${encodeURIComponent(hearing)}/index.m3u8`)).text(); } catch { /* none */ }

  const { counted, rejected, chains, shows } = pairBroadcast(L.localLog, V.videoLog);
  const inWindow = (r) => r.t >= from && r.t <= to;
  const win = counted.filter(inWindow);
  const paired = win.filter((r) => r.ms != null);
  const ms = paired.map((r) => r.ms).sort((a, b) => a - b);
  const median = (rs) => { const v = rs.map((r) => r.ms).sort((a, b) => a - b); return quantile(v, 0.5); };
  const frames = V.videoLog.filter(inWindow);
  let [gaps250, gaps1000, longest, stalledMs] = [0, 0, 0, 0];
  for (let i = 1; i < frames.length; i++) {
    const g = frames[i].t - frames[i - 1].t;
    if (g > 250) { gaps250++; stalledMs += g; }
    if (g > 1000) gaps1000++;
    longest = Math.max(longest, g);
  }
  const events = V.events.filter(inWindow);
  const hlsIn = (V.hlsSamples || []).filter(inWindow);
  const hlsErrors = {};
  for (const e of (V.hlsErrors || []).filter(inWindow)) hlsErrors[e.details] = (hlsErrors[e.details] || 0) + 1;
  const count = (e) => events.filter((x) => x.e === e).length;
  const extinf = playlist ? [...playlist.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1])) : [];
  const targetDuration = playlist && /#EXT-X-TARGETDURATION:(\d+)/.exec(playlist);
  if (process.env.GLASS_SAMPLES_CSV) {
    fs.writeFileSync(process.env.GLASS_SAMPLES_CSV, 'since_start_s,n,media_time_s,chain,plausible,delay_ms,naive_ms\n'
      + counted.map((r) => [((r.t - from) / 1000).toFixed(3), r.n, r.m.toFixed(3), r.chain, r.plausible ? 1 : 0,
        r.ms == null ? '' : r.ms.toFixed(1), r.naive ? r.naive.ms.toFixed(1) : ''].join(',')).join('\n') + '\n');
  }
  for (const n of notes.slice(0, 20)) log('watch page', n);
  for (const e of (V.hlsErrors || []).slice(0, 20)) log(`hls.js error at ${((e.t - from) / 1000).toFixed(1)} s from the window's start: ${e.details}`);
  const rnd = (v) => (v == null ? null : Math.round(v * 10) / 10);
  return {
    bench: 'glass_to_glass',
    target: 'broadcast',
    browser: 'chromium (headless, fake camera; watch page: hls.js), loopback',
    participants: 1 + OTHERS,
    seconds: SECONDS,
    samples: ms.length,
    p50_ms: rnd(quantile(ms, 0.5)),
    median_ms: rnd(quantile(ms, 0.5)),
    p95_ms: rnd(quantile(ms, 0.95)),
    min_ms: rnd(ms[0]),
    max_ms: rnd(ms[ms.length - 1]),
    // The delay's drift over the run: medians of the first and last fifth of the window.
    first_fifth_median_ms: rnd(median(paired.slice(0, Math.ceil(paired.length / 5)))),
    last_fifth_median_ms: rnd(median(paired.slice(-Math.ceil(paired.length / 5)))),
    segment_target_s: SEGMENT_TARGET_S,
    playlist_target_duration_s: targetDuration ? Number(targetDuration[1]) : null,
    segments_listed_s: extinf,
    // What was read and why some readings are not samples.
    local_reads: L.localReads,
    local_showings: shows,
    watch_reads: V.remoteReads,
    watch_misses: V.misses,
    watch_numbers: win.length,
    implausible: win.filter((r) => !r.plausible).length + rejected.filter(inWindow).length,
    unpaired: win.filter((r) => r.plausible && r.ms == null).length,
    naive_discarded: win.filter((r) => !r.naiveOk).length,
    loop_corrected: paired.filter((r) => !r.naiveOk || Math.abs(r.naive.ms - r.ms) > 1).length,
    over_9500_ms: ms.filter((v) => v > 9500).length,
    chains,
    // Playback on the watch page during the window.
    watch_fps: rnd(frames.length / ((to - from) / 1000)),
    frame_gaps_over_250ms: gaps250,
    frame_gaps_over_1s: gaps1000,
    frame_gap_longest_ms: rnd(longest),
    frame_gaps_total_ms: rnd(stalledMs),
    dropped_frames: q1.dropped - q0.dropped,
    waiting_events: count('waiting'),
    seeking_events: count('seeking'),
    rate_changes: count('ratechange'),
    max_playback_rate: Math.max(V.rate, ...events.map((e) => e.rate)),
    // The watch page's media clock against the wall clock (media seconds per second, fitted
    // over the window): under 1, playback falls behind and the delay grows until hls.js's
    // catch-up (playback rate up to 1.1 above its target latency) holds it.
    media_clock_rate: frames.length > 1 ? Math.round(slope(frames.map((f) => f.t / 1000), frames.map((f) => f.m)) * 10000) / 10000 : null,
    hls_latency_s: rnd(quantile(hlsIn.map((s) => s.latency).filter((v) => v != null).sort((a, b) => a - b), 0.5)),
    hls_target_latency_s_start: hlsIn.length ? rnd(hlsIn[0].target) : null,
    hls_target_latency_s_end: hlsIn.length ? rnd(hlsIn[hlsIn.length - 1].target) : null,
    hls_buffer_ahead_s: rnd(quantile(hlsIn.map((s) => s.ahead).sort((a, b) => a - b), 0.5)),
    hls_errors: hlsErrors,
    page_warnings: notes.length,
    reconnecting_at_end: V.state.reconnecting,
    first_frame_ms: firstFrameMs,
    first_code_ms: firstCodeMs,
    clock_skew_ms: rnd(skew),
  };
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
        '--participants', String(OTHERS), '--seconds', String(SECONDS + (TARGET === 'broadcast' ? 90 : 40))], { stdio: ['ignore', lg, lg], detached: true });
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
    if (TARGET === 'broadcast') {
      const report = await measureBroadcast(browser, page, addr, invites);
      console.log(JSON.stringify(report));
      if (report.samples < SECONDS * 5) {
        log(`too few paired frames (${report.samples}); server log tail:\n${fs.readFileSync(serverLog, 'utf8').slice(-1500)}`);
        process.exitCode = 1;
      }
      return;
    }
    await page.evaluate(probe, { patch: PATCH, camera: true, video: 'courtroom', log: false });
    // Settle (jitter buffers, the key calibration) before measuring.
    await sleep(3000);
    await page.evaluate(() => { window.__glass.pairs = []; });
    await sleep(SECONDS * 1000);
    const r = await page.evaluate(() => window.__glass);
    const ms = r.pairs.map((p) => p.ms).sort((a, b) => a - b);
    const frameMs = 1000 / FPS;
    const report = {
      bench: 'glass_to_glass',
      target: 'composite',
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
