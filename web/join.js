// courtroom — participant page. Plain ES module, no build step, no external resources.
// Wire contract: docs/PROTOCOL.md (WebSocket signalling at /ws, protocol version 1).

const PROTOCOL_VERSION = 1;
const ICE_GATHER_TIMEOUT_MS = 2000;
const STATS_INTERVAL_MS = 1000;

// All user-visible text lives here, keyed by language, so other languages (e.g. "zh") can be added.
const STRINGS = {
  en: {
    pageTitle: 'Courtroom',
    missingToken: 'This link has no invitation token. Please open the full link you were sent, or ask the clerk for a new one.',
    noMediaApi: 'This browser cannot access a camera here; please open the link over a secure (https) connection in an up-to-date browser.',
    cameraDenied: 'Access to your camera and microphone was denied; please allow it in your browser settings and reload the page.',
    cameraMissing: 'No camera or microphone was found; please connect one and reload the page.',
    cameraBusy: 'Your camera or microphone is being used by another application; please close it and reload the page.',
    cameraFailed: 'Your camera or microphone could not be started; please check your devices and reload the page.',
    requestingMedia: 'Starting your camera and microphone…',
    connecting: 'Connecting to the courtroom…',
    negotiating: 'Joining the hearing…',
    connected: 'Connected.',
    disconnected: 'The connection to the courtroom was lost; reload the page to rejoin.',
    connectFailed: 'Could not reach the courtroom server; check your network and reload the page.',
    mediaFailed: 'The audio/video connection could not be established; reload the page to try again.',
    invalidInvitation: 'This invitation is invalid or has expired; please ask the clerk for a new link.',
    replaced: 'This invitation was opened in another window or device, so this session has been closed.',
    genericError: 'Something went wrong: ',
    caseNumber: 'Case',
    youAre: 'You are',
    recording: '● Recording',
    recordingStopped: 'Not recording',
    participants: 'Participants',
    you: '(you)',
    away: 'away',
    muteMic: 'Mute microphone',
    unmuteMic: 'Unmute microphone',
    cameraOff: 'Turn camera off',
    cameraOn: 'Turn camera on',
    roles: {
      presiding_judge: 'Presiding judge',
      assessor: 'Assessor',
      clerk: 'Clerk',
      plaintiff: 'Plaintiff',
      defendant: 'Defendant',
      witness: 'Witness',
    },
  },
};

function pickLanguage() {
  for (const lang of navigator.languages || [navigator.language || 'en']) {
    const base = String(lang).toLowerCase().split('-')[0];
    if (STRINGS[base]) return base;
  }
  return 'en';
}
const LANG = pickLanguage();
const T = STRINGS[LANG];
document.documentElement.lang = LANG;

const $ = (id) => document.getElementById(id);
const ui = {
  video: $('courtroom'),
  selfView: $('self-view'),
  audioSinks: $('audio-sinks'),
  title: $('hearing-title'),
  meta: $('hearing-meta'),
  badge: $('recording-badge'),
  banner: $('banner'),
  rosterHeading: $('roster-heading'),
  roster: $('roster'),
  status: $('status'),
  micBtn: $('toggle-mic'),
  camBtn: $('toggle-cam'),
};

const state = {
  token: null,
  ws: null,
  pc: null,
  stream: null,
  me: null,            // welcome message
  statsTimer: null,
  closedForGood: false, // replaced or token error: do not report a plain disconnect
};

// Latest numbers, for people debugging and for automated tests.
window.courtroomStats = { video_width: 0, video_height: 0 };

function roleLabel(role) {
  return T.roles[role] || String(role || '').replace(/_/g, ' ');
}

function setStatus(text) {
  ui.status.textContent = text || '';
}

function showBanner(text, kind = 'error') {
  ui.banner.textContent = text;
  ui.banner.dataset.kind = kind;
  ui.banner.hidden = false;
}

function setRecording(on) {
  ui.badge.hidden = !on;
  ui.badge.textContent = on ? T.recording : '';
  ui.badge.setAttribute('aria-label', on ? T.recording : T.recordingStopped);
}

function send(msg) {
  const ws = state.ws;
  if (ws && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify({ v: PROTOCOL_VERSION, ...msg }));
  }
}

// ---------------------------------------------------------------- media

function mediaErrorText(err) {
  switch (err && err.name) {
    case 'NotAllowedError':
    case 'SecurityError':
    case 'PermissionDeniedError':
      return T.cameraDenied;
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return T.cameraMissing;
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return T.cameraBusy;
    default:
      return T.cameraFailed;
  }
}

async function openLocalMedia() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw Object.assign(new Error('no mediaDevices'), { userText: T.noMediaApi });
  }
  try {
    return await navigator.mediaDevices.getUserMedia({
      video: { width: 640, height: 480, frameRate: 25 },
      audio: true,
    });
  } catch (err) {
    throw Object.assign(err instanceof Error ? err : new Error(String(err)), {
      userText: mediaErrorText(err),
    });
  }
}

function updateToggleButtons() {
  const audio = state.stream && state.stream.getAudioTracks()[0];
  const video = state.stream && state.stream.getVideoTracks()[0];
  ui.micBtn.disabled = !audio;
  ui.camBtn.disabled = !video;
  const micOn = !audio || audio.enabled;
  const camOn = !video || video.enabled;
  ui.micBtn.textContent = micOn ? T.muteMic : T.unmuteMic;
  ui.micBtn.setAttribute('aria-pressed', String(!micOn));
  ui.camBtn.textContent = camOn ? T.cameraOff : T.cameraOn;
  ui.camBtn.setAttribute('aria-pressed', String(!camOn));
}

function toggleTrack(kind) {
  if (!state.stream) return;
  const tracks = kind === 'audio' ? state.stream.getAudioTracks() : state.stream.getVideoTracks();
  for (const t of tracks) t.enabled = !t.enabled;
  updateToggleButtons();
}

// ---------------------------------------------------------------- WebRTC

function waitForIceGathering(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', onChange);
      resolve();
    };
    const onChange = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', onChange);
  });
}

function onRemoteTrack(event) {
  const track = event.track;
  if (track.kind === 'video') {
    ui.video.srcObject = new MediaStream([track]);
    ui.video.play().catch(() => {});
  } else if (track.kind === 'audio') {
    const el = document.createElement('audio');
    el.autoplay = true;
    el.dataset.mid = (event.transceiver && event.transceiver.mid) || '';
    el.srcObject = new MediaStream([track]);
    ui.audioSinks.appendChild(el);
    el.play().catch(() => {});
    track.addEventListener('ended', () => el.remove());
  }
}

async function startPeerConnection(welcome) {
  const pc = new RTCPeerConnection();
  state.pc = pc;
  pc.addEventListener('track', onRemoteTrack);
  pc.addEventListener('connectionstatechange', () => {
    if (pc.connectionState === 'connected') setStatus(T.connected);
    if (pc.connectionState === 'failed' && !state.closedForGood) showBanner(T.mediaFailed);
  });

  // Transceiver order is part of the contract (PROTOCOL.md, "Media negotiation").
  const stream = state.stream;
  const cam = stream.getVideoTracks()[0];
  const mic = stream.getAudioTracks()[0];
  if (cam) pc.addTransceiver(cam, { direction: 'sendonly', streams: [stream] });
  else pc.addTransceiver('video', { direction: 'sendonly' });
  if (mic) pc.addTransceiver(mic, { direction: 'sendonly', streams: [stream] });
  else pc.addTransceiver('audio', { direction: 'sendonly' });
  pc.addTransceiver('video', { direction: 'recvonly' });
  const slots = Math.max(0, Math.floor(Number(welcome.audio_slots) || 0));
  for (let i = 0; i < slots; i++) pc.addTransceiver('audio', { direction: 'recvonly' });

  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await waitForIceGathering(pc, ICE_GATHER_TIMEOUT_MS);
  send({ type: 'offer', sdp: pc.localDescription.sdp });

  startStatsLoop();
}

async function onAnswer(msg) {
  if (!state.pc) return;
  try {
    await state.pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
  } catch (err) {
    console.error('setRemoteDescription failed', err);
    showBanner(T.mediaFailed);
  }
}

// ---------------------------------------------------------------- stats

async function collectStats() {
  const pc = state.pc;
  if (!pc) return null;
  const report = await pc.getStats();
  const out = {};
  let selectedPairId = null;
  const pairs = [];
  report.forEach((r) => {
    if (r.type === 'inbound-rtp' && (r.kind || r.mediaType) === 'video') {
      if (typeof r.framesDecoded === 'number') out.frames_decoded = r.framesDecoded;
      if (typeof r.frameWidth === 'number') out.frame_width = r.frameWidth;
      if (typeof r.frameHeight === 'number') out.frame_height = r.frameHeight;
      if (typeof r.packetsLost === 'number') out.packets_lost = r.packetsLost;
      if (typeof r.jitter === 'number') out.jitter_ms = r.jitter * 1000;
    } else if (r.type === 'transport' && r.selectedCandidatePairId) {
      selectedPairId = r.selectedCandidatePairId;
    } else if (r.type === 'candidate-pair') {
      pairs.push(r);
    }
  });
  const pair = (selectedPairId && report.get(selectedPairId))
    || pairs.find((p) => p.selected)
    || pairs.find((p) => p.nominated && p.state === 'succeeded');
  if (pair && typeof pair.currentRoundTripTime === 'number') {
    out.rtt_ms = pair.currentRoundTripTime * 1000;
  }
  return out;
}

function startStatsLoop() {
  if (state.statsTimer) return;
  state.statsTimer = setInterval(async () => {
    let stats;
    try {
      stats = await collectStats();
    } catch (err) {
      console.warn('getStats failed', err);
      return;
    }
    if (!stats) return;
    window.courtroomStats = {
      ...stats,
      video_width: ui.video.videoWidth || 0,
      video_height: ui.video.videoHeight || 0,
    };
    send({ type: 'stats', ...stats });
  }, STATS_INTERVAL_MS);
}

function stopMedia() {
  if (state.statsTimer) clearInterval(state.statsTimer);
  state.statsTimer = null;
  if (state.pc) state.pc.close();
  state.pc = null;
}

// ---------------------------------------------------------------- UI renderers

function renderWelcome(msg) {
  const hearing = msg.hearing || {};
  ui.title.textContent = hearing.title || T.pageTitle;
  document.title = hearing.title ? `${hearing.title} — ${T.pageTitle}` : T.pageTitle;
  const parts = [];
  if (hearing.case_number) parts.push(`${T.caseNumber} ${hearing.case_number}`);
  const who = msg.name ? `${msg.name}, ${roleLabel(msg.role)}` : roleLabel(msg.role);
  parts.push(`${T.youAre}: ${who}`);
  ui.meta.textContent = parts.join(' · ');
  setRecording(!!msg.recording);
}

function renderRoster(participants) {
  ui.roster.replaceChildren();
  for (const p of participants || []) {
    const li = document.createElement('li');
    if (p.away) li.classList.add('away');
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = p.name || roleLabel(p.role);
    if (state.me && p.participant_id === state.me.participant_id) name.textContent += ` ${T.you}`;
    const role = document.createElement('span');
    role.className = `role role-${String(p.role || '').replace(/[^a-z_]/g, '')}`;
    role.textContent = roleLabel(p.role);
    li.append(name, role);
    if (p.away) {
      const away = document.createElement('span');
      away.className = 'away-label';
      away.textContent = T.away;
      li.append(away);
    }
    ui.roster.append(li);
  }
}

// ---------------------------------------------------------------- signalling

async function onMessage(event) {
  let msg;
  try {
    msg = JSON.parse(event.data);
  } catch {
    return;
  }
  switch (msg.type) {
    case 'welcome':
      state.me = msg;
      renderWelcome(msg);
      setStatus(T.negotiating);
      try {
        await startPeerConnection(msg);
      } catch (err) {
        console.error('could not start WebRTC', err);
        showBanner(T.mediaFailed);
      }
      break;
    case 'answer':
      await onAnswer(msg);
      break;
    case 'roster':
      renderRoster(msg.participants);
      break;
    case 'recording':
      setRecording(msg.state === 'recording');
      break;
    case 'replaced':
      state.closedForGood = true;
      stopMedia();
      showBanner(msg.message || T.replaced, 'info');
      setStatus('');
      break;
    case 'error':
      if (msg.code === 'invalid_token' || msg.code === 'expired_token') {
        state.closedForGood = true;
        stopMedia();
        showBanner(T.invalidInvitation);
        setStatus('');
      } else {
        showBanner(msg.message || `${T.genericError}${msg.code || ''}`);
      }
      break;
    default:
      break; // unknown types are ignored
  }
}

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${scheme}//${location.host}/ws`);
  state.ws = ws;
  let opened = false;
  setStatus(T.connecting);
  ws.addEventListener('open', () => {
    opened = true;
    send({ type: 'join', token: state.token });
  });
  ws.addEventListener('message', onMessage);
  ws.addEventListener('close', () => {
    stopMedia();
    if (!state.closedForGood) {
      showBanner(opened ? T.disconnected : T.connectFailed);
      setStatus('');
    }
  });
}

// ---------------------------------------------------------------- start

async function main() {
  ui.rosterHeading.textContent = T.participants;
  setRecording(false);
  updateToggleButtons();
  ui.micBtn.addEventListener('click', () => toggleTrack('audio'));
  ui.camBtn.addEventListener('click', () => toggleTrack('video'));
  ui.video.addEventListener('resize', () => {
    window.courtroomStats.video_width = ui.video.videoWidth || 0;
    window.courtroomStats.video_height = ui.video.videoHeight || 0;
  });

  state.token = new URLSearchParams(location.search).get('t');
  if (!state.token) {
    showBanner(T.missingToken);
    return;
  }

  setStatus(T.requestingMedia);
  try {
    state.stream = await openLocalMedia();
  } catch (err) {
    console.error('getUserMedia failed', err);
    showBanner(err.userText || T.cameraFailed);
    setStatus('');
    return;
  }
  ui.selfView.srcObject = state.stream;
  updateToggleButtons();

  window.addEventListener('pagehide', () => send({ type: 'leave' }));
  connect();
}

main();
