// The public watch page of a hearing's broadcast (web/watch/watch.html at /watch/<hearing>) in
// headless Chromium, driven by playwright-core against a real `courtroom demo` server, whose
// demo hearing is public, open and on air: the page plays the HLS broadcast (hls.js) under the
// page's own CSP, the playlist and segments are cached as they should be, an unknown hearing
// says it is not broadcast and the public routes refuse what is not theirs, both languages,
// and the slate for each state the status API can report (those answers faked with
// page.route; the judge's real cut is tested from Rust, tests/api/broadcast.rs).
// Screenshots (watch.png, watch-zh.png) go to $SCREENSHOT_DIR (relative to the repository
// root), by default to `screenshots/` in the test's temporary folder (KEEP_TMP=1 keeps it).
// Run: node --test tests/browser/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// (Not COURTROOM_*: the server reads that namespace as configuration.)
const BIN = process.env.BROWSER_TEST_BIN
  || path.join(process.env.CARGO_TARGET_DIR || '/var/cache/courtroom/target', 'release/courtroom');
// As tests/support/chromium.rs CHROMIUM_FLAGS (playwright adds the headless flag itself).
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required'];
// The composite is made small to keep the test light; the broadcast carries it as it is.
const SIZE = { width: 640, height: 360 };
const CLERK_PASSWORD = 'watch test password 1';

const EN = {
  notBroadcast: 'This hearing is not broadcast',
  inSession: 'In session',
  paused: 'The broadcast is paused',
  scheduled: 'The hearing has not started yet',
  off: 'The broadcast has not started',
  over: 'The broadcast is over',
  replay: 'Watch the replay',
  reconnecting: 'Reconnecting…',
};
const ZH = {
  notBroadcast: '本庭审不公开直播',
  inSession: '正在开庭',
  live: '直播',
  paused: '直播已暂停',
  watching: /^\d+ 人正在观看$/,
};

let tmp, data, addr, server, browser, serverLog, images, watchUrl, hearingId;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

function startServer(mode) {
  const out = fs.openSync(serverLog, 'a');
  const child = spawn(BIN, [mode, '--data', data, '--listen', addr, '--set', 'video.fps=15',
    '--set', 'broadcast.replays=true',
    '--set', `video.width=${SIZE.width}`, '--set', `video.height=${SIZE.height}`], {
    stdio: ['ignore', out, out], detached: true,
  });
  return child;
}

async function waitHealthy(ms) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    try { if ((await fetch(`http://${addr}/healthz`)).ok) return; } catch { /* not yet */ }
    await sleep(100);
  }
  throw new Error(`server not healthy:\n${fs.readFileSync(serverLog, 'utf8').slice(-3000)}`);
}

async function stopServer(child) {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid, 'SIGTERM');
  await Promise.race([exited, sleep(15000)]);
  if (child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
}

// A GET with the path sent exactly as written (fetch would resolve `..` and `%2e%2e`).
function rawGet(p) {
  const [host, port] = addr.split(':');
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port: Number(port), path: p, method: 'GET' }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

// `max-age` of a Cache-Control header, or null.
function maxAge(cc) {
  const m = /(?:^|[,\s])max-age=(\d+)/.exec(cc || '');
  return m ? Number(m[1]) : null;
}

// The type of the first ISO BMFF box.
const firstBox = (buf) => buf.subarray(4, 8).toString('latin1');

// The watch page runs under its own CSP here (no bypassCSP, unlike join.test.mjs): that is
// what a viewer gets, hls.js included. Playwright's waitForFunction would need 'unsafe-eval'
// for its predicate, so `waitFor` polls with page.evaluate (which the CSP does not govern).
// Any CSP violation is collected in window.__csp.
async function page(opts = {}) {
  const ctx = await browser.newContext({ viewport: opts.viewport || { width: 1280, height: 800 }, locale: opts.locale || 'en-US' });
  const p = await ctx.newPage();
  p.on('pageerror', (e) => console.error('page error:', e.message));
  p.on('console', (m) => { if (m.type() === 'error') console.error('page console:', m.text()); });
  await p.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return p;
}

async function watchState(p) {
  return p.evaluate(() => (window.courtroomWatch ? { ...window.courtroomWatch.state, slate: window.courtroomWatch.slateShown(), player: window.courtroomWatch.player(), note: document.querySelector('#note').textContent } : null));
}

async function waitFor(p, fn, arg, ms, what) {
  const t0 = Date.now();
  for (;;) {
    const got = await p.evaluate(fn, arg);
    if (got) return got;
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms; the page: ${JSON.stringify(await watchState(p))}`);
    await sleep(200);
  }
}

const player = (p) => p.evaluate(() => window.courtroomWatch.player());

// Waits for the picture to play: the view is live, no slate, and currentTime advances by more
// than `advance` seconds between two readings, all within `ms` of the call.
async function waitPlaying(p, ms = 40000, advance = 2) {
  const t0 = Date.now();
  await waitFor(p, () => window.courtroomWatch && window.courtroomWatch.state.view === 'live'
    && !window.courtroomWatch.slateShown() && window.courtroomWatch.player().decodedFrames > 0,
  null, ms, 'the first frame');
  const first = await player(p);
  let now = first;
  while (now.currentTime - first.currentTime <= advance) {
    assert.ok(Date.now() - t0 < ms, `playback advances: ${first.currentTime} → ${now.currentTime} in ${ms} ms; ${JSON.stringify(await watchState(p))}`);
    await sleep(500);
    now = await player(p);
  }
  return { first, now, ms: Date.now() - t0 };
}

async function noCspViolations(p, label) {
  assert.deepEqual(await p.evaluate(() => window.__csp), [], `${label}: CSP violations`);
}

// WCAG 2.x AA on what is on screen: every visible text element against its effective background
// (the first ancestor with a non-transparent background-color, translucent layers blended on
// the way down), 4.5:1, or 3:1 for large text (>= 24px, or >= 18.66px bold); disabled controls
// are exempt. And every button, select and input has an accessible name (Chromium's own
// accessibility tree for what is rendered, the label rules for what is hidden).
// (As join.test.mjs.)
async function auditA11y(p, label, minControls = 2) {
  const problems = await p.evaluate(() => {
    const parse = (c) => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return [0, 0, 0, 0];
      const v = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1];
    };
    const over = (top, bottom) => {
      const a = top[3];
      return [0, 1, 2].map((k) => top[k] * a + bottom[k] * (1 - a)).concat(1);
    };
    const lum = ([r, g, b]) => {
      const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((m, n) => n - m); return (x + 0.05) / (y + 0.05); };
    const background = (el) => {
      const layers = [];
      for (let e = el; e; e = e.parentElement) {
        const bg = parse(getComputedStyle(e).backgroundColor);
        if (bg[3] > 0) layers.push(bg);
        if (bg[3] >= 1) break;
      }
      let out = [255, 255, 255, 1];
      if (!layers.length || layers[layers.length - 1][3] < 1) out = parse(getComputedStyle(document.documentElement).backgroundColor);
      if (out[3] < 1) out = [255, 255, 255, 1];
      for (const l of layers.reverse()) out = over(l, out);
      return out;
    };
    const opacity = (el) => { let o = 1; for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity); return o; };
    const out = [];
    const vw = innerWidth, vh = innerHeight;
    for (const el of document.body.querySelectorAll('*')) {
      if (['SCRIPT', 'STYLE', 'OPTION', 'VIDEO', 'CANVAS', 'METER'].includes(el.tagName)) continue;
      const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('').trim();
      if (!text) continue;
      const cs = getComputedStyle(el);
      const r = el.getBoundingClientRect();
      if (cs.visibility !== 'visible' || r.width < 1 || r.height < 1 || r.right <= 0 || r.bottom <= 0 || r.left >= vw || r.top >= vh) continue;
      if (el.closest(':disabled')) continue;
      const bg = background(el);
      const fg = parse(cs.color);
      fg[3] *= opacity(el);
      const c = ratio(over(fg, bg), bg);
      const size = parseFloat(cs.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(cs.fontWeight) >= 700);
      const need = large ? 3 : 4.5;
      if (c < need) out.push(`contrast ${c.toFixed(2)} < ${need}: <${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className ? `.${String(el.className).replace(/ /g, '.')}` : ''}> "${text.slice(0, 40)}" ${cs.color} on rgb(${bg.slice(0, 3).map(Math.round)})`);
    }
    // Names of controls that are not rendered (the accessibility tree skips them).
    for (const el of document.querySelectorAll('button, select, input')) {
      const byLabel = el.labels && [...el.labels].map((l) => l.textContent.trim()).join(' ');
      const byRef = (el.getAttribute('aria-labelledby') || '').split(' ').filter(Boolean)
        .map((id) => (document.getElementById(id) || {}).textContent || '').join(' ').trim();
      const name = (el.getAttribute('aria-label') || '').trim() || byRef || byLabel
        || (el.tagName === 'BUTTON' ? el.textContent.trim() : '') || (el.getAttribute('title') || '').trim();
      // A button whose text is filled in when it is shown (mute, camera) is checked when shown.
      const shown = el.getClientRects().length > 0;
      if (!name && (el.tagName !== 'BUTTON' || shown)) out.push(`no accessible name: <${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}>`);
    }
    return out;
  });
  const cdp = await p.context().newCDPSession(p);
  const { nodes } = await cdp.send('Accessibility.getFullAXTree');
  const controls = nodes.filter((n) => !n.ignored && ['button', 'combobox', 'textbox', 'listbox', 'checkbox', 'slider', 'spinbutton', 'searchbox', 'PopUpButton'].includes(n.role && n.role.value));
  for (const n of controls) if (!(n.name && String(n.name.value || '').trim())) problems.push(`no accessible name in the accessibility tree: ${n.role.value} (backend node ${n.backendDOMNodeId})`);
  await cdp.detach();
  assert.ok(controls.length >= minControls, `${label}: controls found in the accessibility tree (${controls.length})`);
  assert.deepEqual(problems, [], `${label}: WCAG AA`);
  return controls.length;
}

async function apiWatch(id) {
  const r = await fetch(`http://${addr}/api/watch/${id}`);
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null, text };
}

before(async () => {
  assert.ok(fs.existsSync(BIN), `build the server first: ${BIN}`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'courtroom-watch-'));
  // Screenshots never land in the work tree unless asked for (make screenshots).
  images = process.env.SCREENSHOT_DIR
    ? path.resolve(ROOT, process.env.SCREENSHOT_DIR)
    : path.join(tmp, 'screenshots');
  fs.mkdirSync(images, { recursive: true });
  data = path.join(tmp, 'data');
  serverLog = path.join(tmp, 'server.log');
  addr = `127.0.0.1:${await freePort()}`;
  // A clerk's account, to end the demo hearing for its replay (the last test).
  execFileSync(BIN, ['admin', 'create-user', 'li', '--name', 'Clerk Li', '--data', data], { input: `${CLERK_PASSWORD}\n` });
  server = startServer('demo');
  await waitHealthy(60000);
  const invPath = path.join(data, 'demo-invitations.json');
  for (let i = 0; i < 100 && !fs.existsSync(invPath); i++) await sleep(100);
  const invitations = JSON.parse(fs.readFileSync(invPath, 'utf8'));
  const pub = invitations.find((i) => i.role === 'public');
  assert.ok(pub, `a public invitation in ${JSON.stringify(invitations)}`);
  hearingId = pub.hearing;
  // The demo's public URL may name another host: the page is asked of this server.
  watchUrl = pub.url.replace(/^https?:\/\/[^/]+/, `http://${addr}`);
  assert.equal(new URL(watchUrl).pathname, `/watch/${hearingId}`);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: FLAGS, headless: true });
});

after(async () => {
  if (browser) await browser.close();
  await stopServer(server);
  if (tmp && !process.env.KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
});

test('the watch page of the demo hearing plays the broadcast; playlist and segments are cached as they should be', async () => {
  const p = await page();
  const t0 = Date.now();
  const resp = await p.goto(watchUrl);
  assert.equal(resp.status(), 200);
  const csp = resp.headers()['content-security-policy'] || '';
  for (const d of ["script-src 'self'", "media-src 'self' blob:", "object-src 'none'"]) assert.ok(csp.includes(d), `CSP has ${d}: ${csp}`);
  const { first, now } = await waitPlaying(p, 40000);
  console.log(`WATCH_FIRST_PLAY_MS ${Date.now() - t0} (currentTime ${first.currentTime.toFixed(2)} → ${now.currentTime.toFixed(2)})`);
  let v = await player(p);
  assert.deepEqual([v.videoWidth, v.videoHeight], [SIZE.width, SIZE.height], JSON.stringify(v));
  // Nobody is seated in the demo, so the still courtroom is encoded twice a second
  // (video.still_frame_ms): more than 10 frames take a few seconds of playing.
  for (let i = 0; i < 100 && v.decodedFrames <= 10; i++) { await sleep(200); v = await player(p); }
  assert.ok(v.decodedFrames > 10, `decoded frames: ${v.decodedFrames}`);
  // Header: the hearing, a LIVE badge, the viewer count (this page counts).
  const info = (await apiWatch(hearingId)).json;
  assert.equal(info.hearing, hearingId);
  assert.equal(await p.textContent('#title'), info.title);
  assert.equal(await p.textContent('#case-number'), info.case_number);
  assert.equal(await p.textContent('#court'), info.court);
  assert.equal(await p.textContent('#state-text'), EN.inSession);
  assert.equal(await p.isVisible('#live-badge'), true, 'LIVE badge');
  assert.equal((await p.textContent('#live-badge')).trim(), 'LIVE');
  assert.equal(await p.isVisible('#unmute'), true, 'the unmute button');
  assert.equal(await p.evaluate(() => document.querySelector('#video').muted), true, 'muted autoplay');
  await waitFor(p, () => /^\d+ watching$/.test(document.querySelector('#viewers').textContent) && !document.querySelector('#viewers').hidden, null, 5000, 'viewer count shown');
  // The server counts this page by its viewer id.
  let viewers = 0;
  for (let i = 0; i < 50 && viewers < 1; i++, await sleep(200)) viewers = (await apiWatch(hearingId)).json.viewers;
  assert.ok(viewers >= 1, `viewers counted: ${viewers}`);
  // The page asked for the playlist with the same URL as everyone (nothing per viewer: a CDN
  // serves one copy), and said it is watching, with a 16-hex-digit id, on its own route.
  const asked = await p.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.includes('.m3u8')));
  assert.ok(asked.length > 0 && asked.every((u) => /\/live\/[^/]+\/index\.m3u8(\?_HLS_msn=\d+(&_HLS_part=\d+)?)?$/.test(u)), asked.join(' '));
  const said = await p.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.includes('/watching')));
  assert.ok(said.length >= 1 && said.every((u) => u.endsWith(`/api/watch/${hearingId}/watching`)), said.join(' '));
  await noCspViolations(p, 'playing');
  await auditA11y(p, 'playing', 3);
  // Unmute: a click is a gesture, sound plays.
  await p.click('#unmute');
  assert.equal(await p.evaluate(() => document.querySelector('#video').muted), false);
  assert.equal(await p.textContent('#unmute'), 'Mute');
  await p.screenshot({ path: path.join(images, 'watch.png') });
  await p.context().close();

  // hls.js is served as vendored (scripts/vendor-hls.sh --check compares that with npm's).
  const lib = await fetch(`http://${addr}/web/vendor/hls.light.min.js`);
  assert.equal(lib.status, 200);
  assert.match(lib.headers.get('content-type') || '', /javascript/);
  assert.ok(Buffer.from(await lib.arrayBuffer()).equals(fs.readFileSync(path.join(ROOT, 'web/vendor/hls.light.min.js'))),
    'the server embeds web/vendor/hls.light.min.js as it is in the tree');

  // The playlist and a segment, as a player gets them.
  const base = `http://${addr}/live/${hearingId}/`;
  const pl = await fetch(`${base}index.m3u8?viewer=${randomBytes(8).toString('hex')}`);
  assert.equal(pl.status, 200);
  assert.match(pl.headers.get('content-type') || '', /mpegurl/i);
  const plAge = maxAge(pl.headers.get('cache-control'));
  assert.ok(plAge !== null && plAge <= 2, `the playlist is cached briefly: ${pl.headers.get('cache-control')}`);
  const text = await pl.text();
  assert.ok(text.startsWith('#EXTM3U'), text);
  const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(text);
  assert.ok(map, `#EXT-X-MAP in ${text}`);
  const uris = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  assert.ok(uris.length > 0, `segments in ${text}`);
  for (const u of [map[1], ...uris]) assert.ok(!/^[a-z]+:|^\//i.test(u) && !u.includes('?'), `relative URI: ${u}`);
  const init = await fetch(new URL(map[1], `${base}index.m3u8`));
  assert.equal(init.status, 200);
  assert.equal(firstBox(Buffer.from(await init.arrayBuffer())), 'ftyp');
  const seg = await fetch(new URL(uris[uris.length - 1], `${base}index.m3u8`));
  assert.equal(seg.status, 200);
  const segCc = seg.headers.get('cache-control') || '';
  assert.ok(maxAge(segCc) >= 60 && /immutable/.test(segCc), `a segment is cached for long: ${segCc}`);
  assert.ok(['styp', 'moof', 'sidx', 'prft', 'emsg'].includes(firstBox(Buffer.from(await seg.arrayBuffer()))), 'a CMAF segment');
});

test('an unknown hearing: the page says it is not broadcast; the public routes refuse what is not theirs', async () => {
  const other = randomBytes(16).toString('hex');
  const p = await page();
  const resp = await p.goto(`http://${addr}/watch/${other}`);
  assert.equal(resp.status(), 200, 'the page is the same for every id');
  await waitFor(p, () => window.courtroomWatch && window.courtroomWatch.state.view === 'missing', null, 10000, 'not broadcast');
  assert.equal(await p.isVisible('#unavailable'), true);
  assert.equal(await p.textContent('#unavailable-title'), EN.notBroadcast);
  assert.equal(await p.isHidden('#player'), true, 'no player');
  assert.equal(await p.isHidden('#live-badge'), true);
  assert.equal(await p.evaluate(() => document.querySelectorAll('video[src], video source').length), 0);
  assert.equal((await player(p)).decodedFrames, 0);
  const asked = await p.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.includes('/live/')));
  assert.deepEqual(asked, [], 'no playlist asked for');
  await noCspViolations(p, 'not broadcast');
  await auditA11y(p, 'not broadcast', 1);
  await p.context().close();

  const api = await apiWatch(other);
  assert.equal(api.status, 404, api.text);
  assert.equal(api.json.error.code, 'not_found');
  assert.equal((await rawGet(`/live/${other}/index.m3u8`)).status, 404);
  // Paths out of the broadcast's folder, and a segment that never was: not found, nothing leaks.
  for (const [uri, codes] of [
    [`/live/${hearingId}/../../etc/passwd`, [404]],
    [`/live/${hearingId}/seg-999999.m4s`, [404]],
    [`/live/${hearingId}/r1/seg-999999.m4s`, [404]],
    [`/live/${hearingId}/..%2f..%2f..%2fetc%2fpasswd`, [400, 404]],
    [`/live/${hearingId}/%2e%2e/%2e%2e/%2e%2e/etc/passwd`, [400, 404]],
    [`/live/..%2f..%2fetc/passwd`, [400, 404]],
    [`/live/${hearingId}/index.m3u8/..%2f..%2f..%2fCargo.toml`, [400, 404]],
  ]) {
    const r = await rawGet(uri);
    assert.ok(codes.includes(r.status), `${uri}: ${r.status}`);
    assert.ok(!/root:|\[package\]/.test(r.body.toString('latin1')), `${uri}: leaks a file`);
  }
  // The hearing goes on.
  const still = await fetch(`http://${addr}/live/${hearingId}/index.m3u8`);
  assert.equal(still.status, 200);
  assert.ok((await still.text()).startsWith('#EXTM3U'));
  assert.equal((await apiWatch(hearingId)).json.broadcast, 'live');
});

test('in Chinese: the page follows the browser language, the toggle switches and remembers', async () => {
  const p = await page({ locale: 'zh-CN' });
  await p.goto(watchUrl);
  await waitPlaying(p, 40000, 1);
  assert.equal(await p.getAttribute('html', 'lang'), 'zh-CN');
  assert.equal(await p.textContent('#state-text'), ZH.inSession);
  assert.equal((await p.textContent('#live-badge')).trim(), ZH.live);
  assert.equal(await p.textContent('#unmute'), '取消静音');
  await waitFor(p, () => !document.querySelector('#viewers').hidden, null, 5000, 'viewer count');
  assert.match(await p.textContent('#viewers'), ZH.watching);
  assert.equal((await p.textContent('#lang-toggle')).trim(), 'EN');
  await auditA11y(p, 'playing, zh', 3);
  await p.screenshot({ path: path.join(images, 'watch-zh.png') });
  // To English, and it stays English after a reload.
  await p.click('#lang-toggle');
  assert.equal(await p.textContent('#state-text'), EN.inSession);
  assert.equal(await p.getAttribute('html', 'lang'), 'en');
  await p.reload();
  await waitFor(p, () => window.courtroomWatch && window.courtroomWatch.state.view === 'live', null, 10000, 'live after reload');
  assert.equal(await p.textContent('#state-text'), EN.inSession);
  await p.click('#lang-toggle');
  assert.equal(await p.textContent('#state-text'), ZH.inSession);
  await p.context().close();

  // The not-broadcast message in Chinese.
  const q = await page({ locale: 'zh-CN' });
  await q.goto(`http://${addr}/watch/${randomBytes(16).toString('hex')}`);
  await waitFor(q, () => window.courtroomWatch && window.courtroomWatch.state.view === 'missing', null, 10000, 'not broadcast');
  assert.equal(await q.textContent('#unavailable-title'), ZH.notBroadcast);
  await q.context().close();
});

test('the slate: a cut hides the picture at once and the player stops; every other state says why; live again plays again', async () => {
  const p = await page();
  // The real answers, with fields overridden: what the page does for each state.
  let override = null;
  let down = false;
  await p.route(`**/api/watch/${hearingId}`, async (route) => {
    if (down) return route.abort('connectionrefused');
    const resp = await route.fetch();
    const json = await resp.json();
    if (override && override.status) return route.fulfill({ status: override.status, json: override.json });
    return route.fulfill({ response: resp, json: { ...json, ...(override || {}) } });
  });
  await p.goto(watchUrl);
  await waitPlaying(p, 40000, 1);
  const slate = async (label, fields, text) => {
    override = fields;
    await waitFor(p, (t) => window.courtroomWatch.slateShown() && document.querySelector('#slate-text').textContent === t, text, 5000, `${label}: the slate says "${text}"`);
    const got = await p.evaluate(() => ({
      text: document.querySelector('#slate-text').textContent,
      videoHidden: document.querySelector('#video').hidden,
      src: document.querySelector('#video').getAttribute('src'),
      width: document.querySelector('#video').videoWidth,
      playing: window.courtroomWatch.state.playing,
      badge: !document.querySelector('#live-badge').hidden,
      replay: !document.querySelector('#replay').hidden,
    }));
    assert.equal(got.text, text, label);
    assert.equal(got.videoHidden, true, `${label}: the video element is hidden`);
    assert.equal(got.src, null, `${label}: the player is gone`);
    assert.equal(got.playing, null, `${label}: the player is gone`);
    assert.equal(got.width, 0, `${label}: no picture held`);
    assert.equal(got.badge, false, `${label}: no LIVE badge`);
    return got;
  };
  const t0 = Date.now();
  await slate('cut', { broadcast: 'cut' }, EN.paused);
  console.log(`WATCH_SLATE_MS ${Date.now() - t0} (status answer says cut → slate)`);
  await noCspViolations(p, 'slate');
  await auditA11y(p, 'slate', 1);
  // Live again: a fresh player, the picture plays.
  override = null;
  await waitPlaying(p, 30000, 1);
  await slate('paused', { state: 'paused' }, EN.paused);
  await slate('scheduled', { state: 'scheduled', broadcast: 'off' }, EN.scheduled);
  await slate('not started', { broadcast: 'off' }, EN.off);
  const ended = await slate('over', { state: 'closed', broadcast: 'ended', replay: null }, EN.over);
  assert.equal(ended.replay, false, 'no replay offered');
  assert.equal(await p.textContent('#state-text'), 'Ended');
  // A replay offered: the button plays that playlist instead.
  const replay = `/live/${hearingId}/index.m3u8`;
  await slate('over, with a replay', { state: 'closed', broadcast: 'ended', replay }, EN.over);
  await waitFor(p, () => !document.querySelector('#replay').hidden, null, 5000, 'the replay button');
  assert.equal(await p.textContent('#replay'), EN.replay);
  await p.click('#replay');
  await waitFor(p, () => window.courtroomWatch.state.view === 'replay' && window.courtroomWatch.state.playing === 'replay', null, 5000, 'the replay');
  assert.equal(await p.isHidden('#live-badge'), true);
  // The status cannot be read: a note, the picture goes on; then it clears.
  override = null;
  await waitPlaying(p, 30000, 1);
  down = true;
  await waitFor(p, (t) => !document.querySelector('#note').hidden && document.querySelector('#note').textContent === t, EN.reconnecting, 8000, 'the reconnecting note');
  const { now } = await waitPlaying(p, 10000, 1);
  assert.ok(now.decodedFrames > 0);
  down = false;
  await waitFor(p, () => document.querySelector('#note').hidden, null, 8000, 'the note goes');
  // No longer broadcast (made closed to the public): the message, no player.
  override = { status: 404, json: { error: { code: 'not_found', message: 'not broadcast' } } };
  await waitFor(p, () => window.courtroomWatch.state.view === 'missing', null, 5000, 'not broadcast');
  assert.equal(await p.isHidden('#player'), true);
  assert.equal(await p.evaluate(() => document.querySelector('#video').getAttribute('src')), null);
  assert.equal(await p.textContent('#unavailable-title'), EN.notBroadcast);
  await noCspViolations(p, 'after the states');
  await p.context().close();
});

test('a phone, portrait: the picture is full width', async () => {
  const p = await page({ viewport: { width: 390, height: 844 } });
  await p.goto(watchUrl);
  await waitPlaying(p, 40000, 1);
  const box = await p.$eval('#video', (v) => { const r = v.getBoundingClientRect(); return { w: r.width, h: r.height }; });
  assert.ok(box.w >= 390 * 0.95, `full width (${box.w})`);
  assert.ok(Math.abs(box.h - box.w * 9 / 16) < 2, `16:9 (${box.w}×${box.h})`);
  await auditA11y(p, 'phone', 3);
  await p.context().close();
});

test('the replay: once the clerk ends the hearing, the page offers the broadcast as aired and plays it from the start', async () => {
  // The clerk logs in and ends the demo hearing (the server keeps replays: broadcast.replays).
  const origin = `http://${addr}`;
  const login = await fetch(`${origin}/api/login`, {
    method: 'POST', headers: { 'content-type': 'application/json', origin },
    body: JSON.stringify({ username: 'li', password: CLERK_PASSWORD }),
  });
  assert.equal(login.status, 200, await login.text());
  const cookie = login.headers.get('set-cookie').split(';')[0];
  const closed = await fetch(`${origin}/api/hearings/${hearingId}/state`, {
    method: 'POST', headers: { 'content-type': 'application/json', origin, cookie },
    body: JSON.stringify({ state: 'closed' }),
  });
  assert.equal(closed.status, 200, await closed.text());
  // The watch state names the replay once its files are kept; a VOD playlist of the run.
  let info = null;
  for (let i = 0; i < 100; i++) {
    info = await (await fetch(`${origin}/api/watch/${hearingId}`)).json();
    if (info.replay) break;
    await sleep(200);
  }
  assert.equal(info.replay, `/live/${hearingId}/replay.m3u8`, JSON.stringify(info));
  const vod = await (await fetch(`${origin}${info.replay}`)).text();
  assert.match(vod, /#EXT-X-PLAYLIST-TYPE:VOD\n/);
  assert.match(vod, /#EXT-X-ENDLIST\n$/);
  const listed = vod.split('\n').filter((l) => l && !l.startsWith('#'));
  assert.ok(listed.length >= 3, `segments kept: ${vod}`);
  // The page: over, with the button; the replay plays from its start, with the browser's
  // own controls (seeking), and no LIVE badge.
  const p = await page();
  await p.goto(watchUrl);
  await waitFor(p, () => window.courtroomWatch && window.courtroomWatch.state.view === 'ended' && !document.querySelector('#replay').hidden, null, 15000, 'the replay offered');
  assert.equal(await p.textContent('#replay'), EN.replay);
  await p.click('#replay');
  await waitFor(p, () => window.courtroomWatch.state.playing === 'replay' && window.courtroomWatch.player().decodedFrames > 0, null, 30000, 'the replay plays');
  const first = await player(p);
  assert.ok(first.currentTime < 4, `from the start: ${first.currentTime}`);
  let now = first;
  const t0 = Date.now();
  while (now.currentTime - first.currentTime < 1.5) {
    assert.ok(Date.now() - t0 < 20000, `the replay advances: ${first.currentTime} → ${now.currentTime}`);
    await sleep(300);
    now = await player(p);
  }
  assert.equal(now.videoWidth, SIZE.width, `the composite's size: ${JSON.stringify(now)}`);
  assert.equal(await p.isHidden('#live-badge'), true);
  assert.equal(await p.evaluate(() => document.querySelector('#video').controls), true);
  await noCspViolations(p, 'replay');
  await p.context().close();
});
