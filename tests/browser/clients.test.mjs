// Every client takes its seat in one demo hearing: stock Firefox ESR (no H.264: it gets the
// composite in VP8) driven by puppeteer-core over WebDriver BiDi, beside Chromium (H.264,
// playwright-core). Firefox presses join, decodes the composite, is heard by Chromium on its
// seat's audio slot, and is seen in its seat in the recording. Figures (Firefox's decode rate)
// are printed as `FIREFOX_*` lines for docs/BENCHMARKS.md.
// Run: node --test tests/browser/  (the server is started by the test, as in join.test.mjs)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';
import * as esbuild from 'esbuild';

const BIN = process.env.BROWSER_TEST_BIN
  || path.join(process.env.CARGO_TARGET_DIR || '/var/cache/courtroom/target', 'release/courtroom');
const FIREFOX = process.env.FIREFOX_BIN || '/usr/bin/firefox-esr';
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required'];
// Stock Firefox with a fake camera (a moving colour pattern) and microphone (a tone), loopback
// ICE candidates, autoplay, and OpenH264 kept off: as an offline court PC.
export const FIREFOX_PREFS = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.peerconnection.ice.loopback': true,
  'media.autoplay.default': 0,
  'media.gmp-gmpopenh264.enabled': false,
  'media.gmp-manager.url': 'http://127.0.0.1:9/',
  // Real host addresses rather than mDNS names (the server resolves no .local names).
  'media.peerconnection.ice.obfuscate_host_addresses': false,
};
const PASSWORD = 'browser test password 1';

// The address the server gathers its media candidates on. Firefox ESR 153 gathers no loopback
// candidates whatever its prefs say (measured: none with `media.peerconnection.ice.loopback`,
// none in a loopback-only network namespace), and its ICE agent never pairs a non-loopback
// candidate with a loopback one. So the server offers the first non-internal IPv4 address,
// where Firefox's host candidate is. `make test-browser` runs this inside a network namespace
// made for the run (scripts/in-netns.sh), whose only such address is 10.203.0.1 on a veth
// pair that stays inside it, with a default route into the veth (Firefox gathers nothing on a
// machine with no route out): no packet can leave the namespace.
function mediaIp() {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list || []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

let tmp, data, addr, server, serverLog, chrome, firefox, cookie, invites, demoId;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function api(method, p, body, headers = {}) {
  const r = await fetch(`http://${addr}${p}`, {
    method,
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${p}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// The folder of the recording a monitor report names (the report gives its id only, never
// the server's paths): <data>/recordings/<hearing>/<recording>.
function recordingDir(report) {
  return report.recording.id ? path.join(data, 'recordings', demoId, report.recording.id) : null;
}

async function stopServer(child) {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid, 'SIGTERM');
  await Promise.race([exited, sleep(15000)]);
  if (child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
}

before(async () => {
  assert.ok(fs.existsSync(BIN), `build the server first: ${BIN}`);
  assert.ok(fs.existsSync(FIREFOX), `install firefox-esr (scripts/install-deps.sh): ${FIREFOX}`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'courtroom-clients-'));
  data = path.join(tmp, 'data');
  serverLog = path.join(tmp, 'server.log');
  const made = spawnSync(BIN, ['admin', 'create-user', 'li', '--name', 'Clerk Li', '--data', data], { input: `${PASSWORD}\n` });
  assert.equal(made.status, 0, String(made.stderr));
  addr = `127.0.0.1:${await freePort()}`;
  const out = fs.openSync(serverLog, 'a');
  server = spawn(BIN, ['demo', '--data', data, '--listen', addr, '--set', `rtc.udp_ip=${mediaIp()}`],
    { stdio: ['ignore', out, out], detached: true });
  const t0 = Date.now();
  for (;;) {
    try { if ((await fetch(`http://${addr}/healthz`)).ok) break; } catch { /* not yet */ }
    if (Date.now() - t0 > 60000) throw new Error(`server not healthy:\n${fs.readFileSync(serverLog, 'utf8').slice(-3000)}`);
    await sleep(100);
  }
  const list = JSON.parse(fs.readFileSync(path.join(data, 'demo-invitations.json'), 'utf8'));
  invites = Object.fromEntries(list.map((i) => [i.role, i]));
  demoId = list[0].hearing;
  const login = await fetch(`http://${addr}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'li', password: PASSWORD }) });
  cookie = login.headers.get('set-cookie').split(';')[0];
  // The wide view throughout, so seat regions stay where the monitor says they are.
  await api('PUT', `/api/hearings/${demoId}/view`, { view: 'wide' });
  chrome = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS, headless: true });
  firefox = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true, extraPrefsFirefox: FIREFOX_PREFS });
});

after(async () => {
  if (firefox) await firefox.close().catch(() => {});
  if (chrome) await chrome.close().catch(() => {});
  await stopServer(server);
  if (tmp && !process.env.KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
});

// What one receiver of a page's peer connection got, from getStats (works in both browsers).
async function receiverStats(evaluate, index) {
  return evaluate(async (i) => {
    const tr = window.courtroom.pc.getTransceivers()[i];
    const report = await tr.receiver.getStats();
    let out = { packets: 0, energy: 0, frames: 0 };
    report.forEach((r) => {
      if (r.type === 'inbound-rtp') {
        out = { packets: r.packetsReceived || 0, energy: r.totalAudioEnergy || 0, frames: r.framesDecoded || 0,
          codec: r.codecId && report.get(r.codecId) ? report.get(r.codecId).mimeType : null };
      }
    });
    return out;
  }, index);
}

// The recording's segments, in order, once it has stopped.
function segmentsOf(dir) {
  return fs.readdirSync(dir).filter((f) => /^composite-\d+\.mp4$/.test(f)).sort().map((f) => path.join(dir, f));
}

// One frame of a recording segment as RGB: at `at` seconds, or with `fromEnd` that far before its end.
function recordingFrame(file, { at, fromEnd }) {
  const seek = fromEnd != null ? ['-sseof', `-${fromEnd}`] : ['-ss', String(at)];
  const r = spawnSync('ffmpeg', ['-v', 'error', ...seek, '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, `ffmpeg ${file}: ${r.stderr}`);
  assert.equal(r.stdout.length, 1280 * 720 * 3, 'one 1280×720 frame');
  return r.stdout;
}

// Mean absolute difference of two RGB frames inside a box, and the box's mean colour in `b`.
function regionDiff(a, b, box) {
  let diff = 0, n = 0;
  const mean = [0, 0, 0];
  for (let y = Math.round(box.y + box.h * 0.1); y < box.y + box.h * 0.9; y++) {
    for (let x = Math.round(box.x + box.w * 0.2); x < box.x + box.w * 0.8; x++) {
      const i = (y * 1280 + x) * 3;
      for (let k = 0; k < 3; k++) { diff += Math.abs(a[i + k] - b[i + k]); mean[k] += b[i + k]; }
      n++;
    }
  }
  return { diff: diff / (3 * n), mean: mean.map((v) => Math.round(v / n)) };
}

test('Firefox ESR (no H.264) beside Chromium: joins, decodes, is heard, and is recorded in its seat', async () => {
  const monitor = () => api('GET', `/api/hearings/${demoId}/monitor`);
  const seats = (await monitor()).seats;
  const ffSeat = invites.presiding_judge.seat;
  const ffSlot = seats.findIndex((s) => s.seat === ffSeat);
  const emptySlot = seats.findIndex((s) => s.seat === 'witness');
  assert.ok(ffSlot >= 0 && emptySlot >= 0, JSON.stringify(seats));

  // Chromium, as the plaintiff.
  const cctx = await chrome.newContext({ bypassCSP: true, viewport: { width: 1280, height: 800 } });
  const cp = await cctx.newPage();
  await cp.goto(invites.plaintiff.url);
  await cp.waitForSelector('#main-action:not([disabled]):not([hidden])', { timeout: 20000 });
  await cp.click('#main-action');
  await cp.waitForFunction(() => (window.courtroomStats.frames_decoded || 0) > 0, null, { timeout: 20000 });

  // Firefox, as the presiding judge: presses join.
  const fp = await firefox.newPage();
  const ffErrors = [];
  fp.on('pageerror', (e) => ffErrors.push(e.message));
  await fp.goto(invites.presiding_judge.url);
  await fp.waitForSelector('#main-action:not([disabled]):not([hidden])', { timeout: 30000 });
  assert.equal(await fp.evaluate(() => RTCRtpReceiver.getCapabilities('video').codecs.some((c) => /h264/i.test(c.mimeType))),
    false, 'this Firefox has no H.264 (OpenH264 off)');
  await fp.click('#main-action');
  await fp.waitForFunction(() => window.courtroom.screen === 'in', { timeout: 20000 });
  await fp.waitForFunction(() => (window.courtroomStats.frames_decoded || 0) >= 10, { timeout: 30000 })
    .catch(async (e) => {
      const sdp = await fp.evaluate(() => {
        const pc = window.courtroom.pc;
        const pick = (d) => (d ? d.sdp.split('\r\n').filter((l) => /candidate|^m=|^c=|ice-/.test(l)).join('\n') : 'none');
        return `local:\n${pick(pc.localDescription)}\nremote:\n${pick(pc.remoteDescription)}\nice=${pc.iceConnectionState}`;
      });
      throw new Error(`Firefox decodes no composite: ${JSON.stringify(await fp.evaluate(() => window.courtroomStats))} ${ffErrors.join(' | ')}\n${sdp}\n(${e.message})`);
    });
  const composite = await receiverStats(fp.evaluate.bind(fp), 2);
  assert.equal(composite.codec && composite.codec.toLowerCase(), 'video/vp8', JSON.stringify(composite));
  const size = await fp.evaluate(() => [window.courtroomStats.video_width, window.courtroomStats.video_height]);
  assert.deepEqual(size, [1280, 720], 'the composite is 1280×720');
  await fp.waitForFunction(() => window.courtroom.quality, { timeout: 5000 });

  // Firefox's decode rate over 10 s: frames decoded (getStats) and frames presented
  // (requestVideoFrameCallback) against the server's 25 fps.
  const rate = await fp.evaluate(async () => {
    const v = document.getElementById('courtroom');
    let presented = 0;
    let on = true;
    const count = () => { presented++; if (on) v.requestVideoFrameCallback(count); };
    v.requestVideoFrameCallback(count);
    const framesNow = async () => {
      let n = 0;
      (await window.courtroom.pc.getTransceivers()[2].receiver.getStats()).forEach((r) => { if (r.type === 'inbound-rtp') n = r.framesDecoded; });
      return n;
    };
    const f0 = await framesNow();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 10000));
    const f1 = await framesNow();
    const secs = (performance.now() - t0) / 1000;
    on = false;
    return { decoded: (f1 - f0) / secs, presented: presented / secs };
  });
  console.log(`FIREFOX_DECODE_FPS decoded=${rate.decoded.toFixed(1)} presented=${rate.presented.toFixed(1)} (server 25 fps, 1280x720 VP8)`);
  // Three quarters of the node's pace floor (2 of every 5 pictures: 10 fps) at least. On the
  // shared 2-core machine runs on 2026-12-04 gave 14.0, 15.3, 19.8 and 25.0 fps, and 10.9 and
  // 9.8 on a slower one whose node kept 2 in 5 throughout and was late past it (the browsers,
  // the server and builds contend); a Firefox that cannot decode VP8 gets 0.
  assert.ok(rate.decoded >= 7.5, `Firefox decodes the composite at ${rate.decoded.toFixed(1)} fps`);

  // Heard by the others: Chromium's audio slot for Firefox's seat carries energy; an empty
  // seat's slot does not.
  await cp.waitForFunction(async (i) => {
    const report = await window.courtroom.pc.getTransceivers()[i].receiver.getStats();
    let e = 0;
    report.forEach((r) => { if (r.type === 'inbound-rtp') e = r.totalAudioEnergy || 0; });
    return e > 0;
  }, 3 + ffSlot, { timeout: 15000, polling: 500 }).catch(async (e) => {
    throw new Error(`no energy on Firefox's slot: ${JSON.stringify(await receiverStats(cp.evaluate.bind(cp), 3 + ffSlot))} (${e.message})`);
  });
  const heard = await receiverStats(cp.evaluate.bind(cp), 3 + ffSlot);
  const silent = await receiverStats(cp.evaluate.bind(cp), 3 + emptySlot);
  console.log(`FIREFOX_HEARD slot=${ffSlot} ${JSON.stringify(heard)} empty slot=${emptySlot} ${JSON.stringify(silent)}`);
  assert.ok(heard.packets > 50 && heard.energy > 0, JSON.stringify(heard));
  assert.equal(silent.energy, 0, `the empty seat is silent: ${JSON.stringify(silent)}`);

  // Seen in its seat in the recording: stop it, then compare Firefox's seat region in the last
  // frame with the same region when the hearing started (empty), and an empty seat's region.
  const m = await monitor();
  assert.ok(m.participants.some((p) => p.seat === ffSeat), 'Firefox is in the roster');
  const dir = recordingDir(m);
  await sleep(3000);
  await api('POST', `/api/hearings/${demoId}/recording/stop`);
  const segments = fs.readdirSync(dir).filter((f) => /^composite-\d+\.mp4$/.test(f)).sort();
  assert.ok(segments.length >= 2, segments.join(','));
  const empty = recordingFrame(path.join(dir, segments[0]), { at: 0.2 });
  const late = recordingFrame(path.join(dir, segments[segments.length - 1]), { fromEnd: 1 });
  const ffBox = seats[ffSlot];
  const seen = regionDiff(empty, late, ffBox);
  const still = regionDiff(empty, late, seats[emptySlot]);
  console.log(`FIREFOX_RECORDED seat=${ffSeat} diff=${seen.diff.toFixed(1)} mean=${seen.mean} empty seat diff=${still.diff.toFixed(1)}`);
  assert.ok(seen.diff > 25, `Firefox's seat changed in the recording (${seen.diff.toFixed(1)})`);
  // The change is Firefox's, not the whole picture's (an empty seat moves by light and
  // compression only).
  assert.ok(seen.diff > 3 * still.diff, `Firefox's seat changed (${seen.diff.toFixed(1)}), not the whole room (${still.diff.toFixed(1)})`);
  await fp.close();
  await cctx.close();
});

// A WHIP client this project did not write: @eyevinn/whip-web-client from npm, bundled by
// esbuild and run in Chromium (whose fake camera it publishes), against POST /whip/{hearing}.
test('a third-party WHIP client takes a seat, is in the roster and the recording, and leaves with DELETE', async () => {
  const inv = await api('POST', `/api/hearings/${demoId}/invitations`, { role: 'witness', name: 'Studio encoder', seat: 'witness' });
  const seats = (await api('GET', `/api/hearings/${demoId}/monitor`)).seats;
  const box = seats.find((s) => s.seat === 'witness');
  const emptyBox = seats.find((s) => s.seat === 'assessor_left' || s.seat === 'clerk');
  const rec = await api('POST', `/api/hearings/${demoId}/recording/start`);
  const dir = recordingDir(await api('GET', `/api/hearings/${demoId}/monitor`));
  assert.ok(dir, JSON.stringify(rec));
  const bundle = await esbuild.build({
    stdin: { contents: 'export { WHIPClient } from "@eyevinn/whip-web-client";', resolveDir: path.dirname(new URL(import.meta.url).pathname) },
    bundle: true, format: 'esm', platform: 'browser', write: false,
  });
  const html = `<!doctype html><title>WHIP test</title><script type="module">
    import { WHIPClient } from '/whip-test/whip.js';
    window.publish = async (endpoint, token) => {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
      const client = new WHIPClient({ endpoint, opts: { authkey: token, noTrickleIce: true, iceServers: [], timeout: 2000 } });
      window.client = client;
      await client.ingest(stream);
      return client.getResourceUrl();
    };
    window.unpublish = () => window.client.destroy();
    window.ready = true;
  </script>`;
  const ctx = await chrome.newContext({ bypassCSP: true });
  await ctx.route(`http://${addr}/whip-test/**`, (route) => {
    const url = route.request().url();
    if (url.endsWith('/whip.js')) return route.fulfill({ contentType: 'text/javascript', body: bundle.outputFiles[0].text });
    return route.fulfill({ contentType: 'text/html', body: html });
  });
  const p = await ctx.newPage();
  p.on('console', (m) => { if (m.type() === 'error') console.log('whip page:', m.text()); });
  await p.goto(`http://${addr}/whip-test/`);
  await p.waitForFunction(() => window.ready, null, { timeout: 10000 });
  const resource = await p.evaluate(([e, t]) => window.publish(e, t), [`http://${addr}/whip/${demoId}`, inv.token]);
  assert.match(resource, new RegExp(`^http://${addr.replace(/\./g, '\\.')}/whip/${demoId}/\\w+$`), resource);
  await p.waitForFunction(() => window.client.peer && window.client.peer.connectionState === 'connected', null, { timeout: 15000 });
  // In the roster as the witness, and its camera arrives (not away).
  let entry;
  for (let i = 0; i < 50; i++) {
    entry = (await api('GET', `/api/hearings/${demoId}/monitor`)).participants.find((q) => q.seat === 'witness');
    if (entry && !entry.away) break;
    await sleep(200);
  }
  assert.ok(entry && entry.name === 'Studio encoder' && entry.role === 'witness', JSON.stringify(entry));
  await sleep(5000);
  await api('POST', `/api/hearings/${demoId}/recording/stop`);
  const segs = segmentsOf(dir);
  const first = recordingFrame(segs[0], { at: 0.2 });
  const last = recordingFrame(segs[segs.length - 1], { fromEnd: 1 });
  const seen = regionDiff(first, last, box);
  const still = regionDiff(first, last, emptyBox);
  console.log(`WHIP_RECORDED diff=${seen.diff.toFixed(1)} mean=${seen.mean} other seat diff=${still.diff.toFixed(1)}`);
  assert.ok(seen.diff > 25, `the encoder's seat changed in the recording (${seen.diff.toFixed(1)})`);
  assert.ok(seen.diff > 3 * still.diff, `the encoder's seat changed (${seen.diff.toFixed(1)}), not the whole room (${still.diff.toFixed(1)})`);
  // DELETE on its Location leaves: out of the roster.
  await p.evaluate(() => window.unpublish());
  let gone = false;
  for (let i = 0; i < 50 && !gone; i++) {
    gone = !(await api('GET', `/api/hearings/${demoId}/monitor`)).participants.some((q) => q.seat === 'witness');
    if (!gone) await sleep(100);
  }
  assert.ok(gone, 'the encoder left the roster after DELETE');
  await ctx.close();
});

// Watch-only participants: an observer invitation (a people's supervisor, a trainee judge) in
// Chromium and in Firefox sees the composite and hears the voices, sends nothing, takes no
// seat, is listed as an observer, and the clerk can remove them.
test('observers in Chromium and Firefox watch and listen without a seat; the clerk removes one', async () => {
  const seats = (await api('GET', `/api/hearings/${demoId}/monitor`)).seats;
  const speakerSlot = seats.findIndex((s) => s.seat === invites.defendant.seat);
  const invite = (name) => api('POST', `/api/hearings/${demoId}/invitations`, { role: 'observer', name });
  const [supervisor, trainee] = [await invite('Supervisor Hu'), await invite('Trainee Judge Lin')];
  assert.equal(supervisor.invitation.seat, '', 'an observer has no seat');
  // An observer may not publish, not even over WHIP.
  const whip = await fetch(`http://${addr}/whip/${demoId}`, { method: 'POST',
    headers: { authorization: `Bearer ${supervisor.token}`, 'content-type': 'application/sdp' }, body: 'v=0\r\n' });
  assert.equal(whip.status, 403);

  // Someone speaks: a Chromium defendant (its fake microphone beeps).
  const sctx = await chrome.newContext({ bypassCSP: true });
  const speaker = await sctx.newPage();
  await speaker.goto(invites.defendant.url);
  await speaker.waitForSelector('#main-action:not([disabled]):not([hidden])', { timeout: 20000 });
  await speaker.click('#main-action');
  await speaker.waitForFunction(() => (window.courtroomStats.frames_decoded || 0) > 0, null, { timeout: 20000 });

  const octx = await chrome.newContext({ bypassCSP: true });
  const cobs = await octx.newPage();
  const fobs = await firefox.newPage();
  const watch = async (p, url, label) => {
    await p.goto(url);
    await p.waitForSelector('#main-action:not([disabled]):not([hidden])', { timeout: 20000 });
    const text = await p.evaluate(() => document.querySelector('#card-text').textContent);
    assert.match(text, /nobody sees or hears you/, `${label}: ${text}`);
    await p.click('#main-action');
    await p.waitForFunction(() => (window.courtroomStats.frames_decoded || 0) >= 10, { timeout: 30000 });
    const got = await p.evaluate(async (slot) => {
      const pc = window.courtroom.pc;
      const senders = pc.getSenders().filter((s) => s.track).length;
      const trs = pc.getTransceivers();
      const energy = async () => {
        let e = 0;
        (await trs[1 + slot].receiver.getStats()).forEach((r) => { if (r.type === 'inbound-rtp') e = r.totalAudioEnergy || 0; });
        return e;
      };
      for (let i = 0; i < 30 && !(await energy() > 0); i++) await new Promise((r) => setTimeout(r, 500));
      return { senders, energy: await energy(), size: [window.courtroomStats.video_width, window.courtroomStats.video_height],
        mic: document.getElementById('toggle-mic').hidden };
    }, speakerSlot);
    console.log(`OBSERVER_${label} ${JSON.stringify(got)}`);
    assert.equal(got.senders, 0, `${label}: sends nothing`);
    assert.deepEqual(got.size, [1280, 720], `${label}: sees the composite`);
    assert.ok(got.energy > 0, `${label}: hears the defendant`);
    assert.equal(got.mic, true, `${label}: no microphone button`);
  };
  await watch(cobs, supervisor.url.replace(/^https?:\/\/[^/]+/, `http://${addr}`), 'CHROMIUM');
  await watch(fobs, trainee.url.replace(/^https?:\/\/[^/]+/, `http://${addr}`), 'FIREFOX');

  // The roster lists both as observers, without a seat; the clerk removes the trainee.
  const roster = (await api('GET', `/api/hearings/${demoId}/monitor`)).participants;
  const observers = roster.filter((q) => q.role === 'observer');
  assert.deepEqual(observers.map((q) => q.name).sort(), ['Supervisor Hu', 'Trainee Judge Lin'], JSON.stringify(roster));
  assert.ok(observers.every((q) => q.seat === '' && !q.away), JSON.stringify(observers));
  const names = await speaker.$$eval('#roster .name', (n) => n.map((e) => e.textContent));
  assert.ok(names.includes('Supervisor Hu'), `the others' roster lists the observer: ${names}`);
  const trainee2 = observers.find((q) => q.name === 'Trainee Judge Lin');
  await api('POST', `/api/hearings/${demoId}/participants/${trainee2.participant_id}/remove`);
  await fobs.waitForFunction(() => window.courtroom.screen === 'ended', { timeout: 10000 });
  assert.match(await fobs.evaluate(() => document.querySelector('#card-text').textContent), /removed you/);
  const after = (await api('GET', `/api/hearings/${demoId}/monitor`)).participants;
  assert.ok(!after.some((q) => q.name === 'Trainee Judge Lin') && after.some((q) => q.name === 'Supervisor Hu'));
  await fobs.close();
  await octx.close();
  await sctx.close();
});
