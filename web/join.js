// courtroom — participant page. Plain ES module, no build step, no external resources.
// Wire contract: docs/PROTOCOL.md (WebSocket signalling at /ws, protocol version 1).

import { startPreviewKeyer } from './preview-keyer.js';

// All user-visible text, by language. Each error is one sentence saying what happened and what to do.
const STRINGS = {
  en: {
    pageTitle: 'Courtroom',
    skipToAction: 'Skip to the main action',
    language: 'Language',
    courtroomVideo: 'The courtroom',
    yourCamera: 'Your camera',
    keyedPreview: 'Your picture with the green screen removed',
    previewNoWebGL: 'This browser has no WebGL, so this preview only roughly removes the green; the court sees the full key.',
    loadingTitle: 'Checking your invitation…',
    loadingText: 'This takes a moment.',
    prejoinTitle: 'Ready to join?',
    prejoinText: 'Check your picture and sound, then press Join.',
    prejoinAs: (name, role) => `You are joining as ${name}, ${role}.`,
    observerText: 'You will see and hear the hearing; nobody sees or hears you, and you need no camera or microphone.',
    joinNow: 'Join the hearing',
    tryAgain: 'Try again',
    reload: 'Reload the page',
    camera: 'Camera',
    microphone: 'Microphone',
    speaker: 'Speaker',
    defaultDevice: 'Default',
    micLevel: 'Microphone level',
    tooDark: 'Your picture is too dark: turn on a light facing you.',
    screenTooDark: 'The courtroom cannot cut you out well: your green screen is too dark. Light it more brightly.',
    screenUneven: 'The courtroom cannot cut you out well: your green screen is unevenly lit or creased. Smooth it and light it from both sides.',
    unevenGreen: 'The green screen behind you is unevenly lit: light it more evenly or move it closer.',
    noGreen: 'No green screen is visible behind you; the court may see your room.',
    lightOk: 'Your picture looks good.',
    waitingTitle: 'Waiting for the hearing to open',
    waitingText: 'The clerk has not opened the hearing yet; keep this page open and you will join automatically.',
    joiningTitle: 'Joining…',
    joiningText: 'Connecting you to the courtroom.',
    errTitle: 'You cannot join right now',
    missingToken: 'This link is incomplete; open the full link from your invitation, or ask the clerk for a new one.',
    noMediaApi: 'This browser cannot use a camera here; open the link in an up-to-date Chrome, Edge, Firefox or Safari.',
    cameraDenied: 'Your browser blocked the camera and microphone; allow them for this site (the camera icon in the address bar), then press Try again.',
    cameraMissing: 'No camera or microphone was found; connect one, then press Try again.',
    cameraBusy: 'Another program is using your camera or microphone; close it, then press Try again.',
    cameraFailed: 'Your camera or microphone could not be started; check them, then press Try again.',
    invalidInvitation: 'This invitation link is not valid; check that you opened the whole link, or ask the clerk for a new one.',
    expiredInvitation: 'This invitation has expired; ask the clerk for a new link.',
    closedTitle: 'The hearing has ended',
    hearingClosed: 'The clerk has closed this hearing; you can close this page.',
    removedTitle: 'You have left the hearing',
    removed: 'The clerk removed you from the hearing; contact the clerk if you think this is a mistake.',
    replacedTitle: 'Opened somewhere else',
    replaced: 'This invitation was opened in another window or device, so this page stopped; use the other one, or reload here to take over.',
    seatTaken: 'Someone else is in your seat; ask the clerk to check your invitation.',
    serverUnreachable: 'The courtroom server cannot be reached; check your internet connection, then press Try again.',
    genericError: 'Something went wrong; reload the page, and ask the clerk if it keeps happening.',
    noCommonCodec: 'This browser cannot play the courtroom video; open the link in an up-to-date Chrome, Edge, Firefox or Safari.',
    offerRefused: 'The courtroom could not set up the video with this browser; reload the page, and if it happens again, use another browser.',
    paused: 'The hearing is paused; stay on this page.',
    reconnecting: 'Your connection dropped; reconnecting…',
    serverFull: 'The court’s server is full right now. This page keeps trying by itself; tell the clerk if it goes on.',
    serverStopping: 'The courtroom server is stopping and the recording is being saved; this page reconnects by itself when the server is back.',
    recordingGapVideo: 'Part of the recording has no picture: the server could not record video for a while. The record says so.',
    recordingGapAudio: 'Part of the recording has no sound: the server could not record audio for a while. The record says so.',
    reconnected: 'Reconnected.',
    connecting: 'Connecting…',
    connected: 'Connected',
    caseNumber: 'Case',
    youAre: 'You are',
    recording: '● Recording',
    recordingStopped: 'Not recording',
    recordingPaused: '❚❚ Recording paused',
    participants: 'Participants',
    you: '(you)',
    away: 'away',
    muteMic: 'Mute',
    unmuteMic: 'Unmute',
    micMuted: 'Microphone off',
    cameraOff: 'Stop camera',
    cameraOn: 'Start camera',
    askToSpeak: 'Ask to speak',
    askToSpeakLabel: (name) => `Ask ${name} to speak`,
    cueSent: 'Asked to speak.',
    cueText: (from) => `${from} asks you to speak now.`,
    cueOk: 'OK',
    qualityGood: 'Good connection',
    qualityFair: 'Weak connection',
    qualityPoor: 'Poor connection',
    reducedPicture: 'smaller picture, to keep up with your connection',
    broadcastGroup: 'Public broadcast',
    onAir: (n) => `On air · ${n} watching`,
    broadcastCut: 'Broadcast cut',
    broadcastPausedSlate: 'Broadcast paused with the hearing',
    broadcastOff: 'Not broadcasting',
    broadcastEnded: 'Broadcast ended',
    cutBroadcast: 'Cut broadcast',
    resumeBroadcast: 'Resume broadcast',
    startBroadcast: 'Start broadcast',
    stopBroadcast: 'Stop broadcast',
    broadcastNotOnAir: 'The broadcast is not on air any more.',
    broadcastClosedToPublic: 'This hearing is closed to the public, so it cannot be broadcast.',
    broadcastForbidden: 'Your role cannot change the broadcast.',
    broadcastFailed: 'The broadcast could not be changed; try again, and tell the clerk if it keeps happening.',
    openCourt: 'Open court (gavel)',
    closeCourt: 'Close court (gavel)',
    courtOpened: 'The court is now in session.',
    courtClosed: 'The court is adjourned.',
    gavelFailed: 'The gavel could not be struck; try again.',
    exhibitsGroup: 'Exhibits',
    exhibitFile: 'Exhibit file',
    exhibitTitle: 'Title',
    presentExhibit: 'Present',
    exhibitPrev: 'Previous page',
    exhibitNext: 'Next page',
    exhibitHide: 'Take down',
    shareScreen: 'Share screen',
    screenDenied: 'The screen was not shared (the browser asked, and it was refused).',
    exhibitRegion: 'Show',
    regionPage: 'Whole page',
    regionTop: 'Top, full width',
    regionMiddle: 'Middle, full width',
    regionBottom: 'Bottom, full width',
    exhibitShown: (title, page, pages, by) => `On the display: ${title}, page ${page} of ${pages} (${by})`,
    exhibitNone: 'Nothing on the display',
    exhibitNeedFile: 'Choose a PDF, PNG or JPEG file and give it a title.',
    exhibitRefused: (msg) => `The exhibit was refused: ${msg}`,
    exhibitForbidden: 'You may present an exhibit only when the presiding judge allows it.',
    roles: {
      presiding_judge: 'Presiding judge', assessor: 'Assessor', clerk: 'Clerk',
      plaintiff: 'Plaintiff', defendant: 'Defendant', witness: 'Witness', observer: 'Observer',
    },
  },
  zh: {
    pageTitle: '在线法庭',
    skipToAction: '跳到主要操作',
    language: '语言',
    courtroomVideo: '法庭画面',
    yourCamera: '您的摄像头',
    keyedPreview: '去除绿幕后的您的画面',
    previewNoWebGL: '此浏览器不支持 WebGL，预览只能粗略去除绿幕；法庭看到的是完整抠像效果。',
    loadingTitle: '正在核对您的邀请…',
    loadingText: '请稍候。',
    prejoinTitle: '准备好入庭了吗？',
    prejoinText: '请检查画面和声音，然后点击“入庭”。',
    prejoinAs: (name, role) => `您将以${role}${name}的身份入庭。`,
    observerText: '您可以看到并听到庭审；其他人看不到也听不到您，无需摄像头和麦克风。',
    joinNow: '入庭',
    tryAgain: '重试',
    reload: '重新加载页面',
    camera: '摄像头',
    microphone: '麦克风',
    speaker: '扬声器',
    defaultDevice: '默认',
    micLevel: '麦克风音量',
    tooDark: '您的画面太暗：请打开一盏面向您的灯。',
    screenTooDark: '法庭画面无法很好地抠出您的人像：绿幕太暗，请把它照亮一些。',
    screenUneven: '法庭画面无法很好地抠出您的人像：绿幕光线不均或有褶皱，请抚平并从两侧照亮。',
    unevenGreen: '您身后的绿幕光线不均匀：请让灯光更均匀，或把绿幕移近一些。',
    noGreen: '您身后没有绿幕，法庭可能会看到您的房间。',
    lightOk: '您的画面良好。',
    waitingTitle: '等待开庭',
    waitingText: '书记员尚未开庭；请保持此页面打开，开庭后您将自动入庭。',
    joiningTitle: '正在入庭…',
    joiningText: '正在连接法庭。',
    errTitle: '暂时无法入庭',
    missingToken: '此链接不完整；请打开邀请中的完整链接，或请书记员重新发送。',
    noMediaApi: '此浏览器无法使用摄像头；请用最新版 Chrome、Edge、Firefox 或 Safari 打开链接。',
    cameraDenied: '浏览器禁止了摄像头和麦克风；请在地址栏的摄像头图标中允许本网站使用，然后点击“重试”。',
    cameraMissing: '未找到摄像头或麦克风；请连接设备，然后点击“重试”。',
    cameraBusy: '其他程序正在使用您的摄像头或麦克风；请关闭该程序，然后点击“重试”。',
    cameraFailed: '无法启动摄像头或麦克风；请检查设备，然后点击“重试”。',
    invalidInvitation: '此邀请链接无效；请确认打开的是完整链接，或请书记员重新发送。',
    expiredInvitation: '此邀请已过期；请向书记员索取新链接。',
    closedTitle: '庭审已结束',
    hearingClosed: '书记员已闭庭；您可以关闭此页面。',
    removedTitle: '您已离开庭审',
    removed: '书记员已将您移出庭审；如有疑问，请联系书记员。',
    replacedTitle: '已在别处打开',
    replaced: '此邀请已在另一个窗口或设备上打开，本页面已停止；请使用另一处，或在此重新加载以接管。',
    seatTaken: '您的席位已有他人；请书记员核对您的邀请。',
    serverUnreachable: '无法连接法庭服务器；请检查网络，然后点击“重试”。',
    genericError: '出现问题；请重新加载页面，如果仍然出现，请联系书记员。',
    noCommonCodec: '此浏览器无法播放法庭画面；请用最新版 Chrome、Edge、Firefox 或 Safari 打开链接。',
    offerRefused: '法庭无法与此浏览器建立视频连接；请重新加载页面，如果仍然如此，请换用其他浏览器。',
    paused: '庭审暂停中；请留在此页面。',
    reconnecting: '网络连接中断，正在重新连接…',
    serverFull: '法院服务器当前已满。本页面会自动重试；如持续出现，请告知书记员。',
    serverStopping: '法庭服务器正在停止，录像正在保存；服务器恢复后，本页面会自动重新连接。',
    recordingGapVideo: '部分录像没有画面：服务器有一段时间未能录制视频。录像记录中已注明。',
    recordingGapAudio: '部分录像没有声音：服务器有一段时间未能录制音频。录像记录中已注明。',
    reconnected: '已重新连接。',
    connecting: '正在连接…',
    connected: '已连接',
    caseNumber: '案号',
    youAre: '您是',
    recording: '● 录制中',
    recordingStopped: '未录制',
    recordingPaused: '❚❚ 录制已暂停',
    participants: '参与人',
    you: '（您）',
    away: '离开',
    muteMic: '静音',
    unmuteMic: '取消静音',
    micMuted: '麦克风已关',
    cameraOff: '关闭摄像头',
    cameraOn: '开启摄像头',
    askToSpeak: '请其发言',
    askToSpeakLabel: (name) => `请${name}发言`,
    cueSent: '已请其发言。',
    cueText: (from) => `${from}请您现在发言。`,
    cueOk: '好的',
    qualityGood: '连接良好',
    qualityFair: '连接较弱',
    qualityPoor: '连接很差',
    reducedPicture: '网络较慢，已改用较小的画面',
    broadcastGroup: '庭审直播',
    onAir: (n) => `直播中 · ${n} 人观看`,
    broadcastCut: '直播已切断',
    broadcastPausedSlate: '直播随庭审暂停',
    broadcastOff: '未直播',
    broadcastEnded: '直播已结束',
    cutBroadcast: '切断直播',
    resumeBroadcast: '恢复直播',
    startBroadcast: '开始直播',
    stopBroadcast: '停止直播',
    broadcastNotOnAir: '直播已不在播出中。',
    broadcastClosedToPublic: '本案不公开审理，不能直播。',
    broadcastForbidden: '您的角色无权更改直播。',
    broadcastFailed: '无法更改直播；请重试，如果仍然如此，请联系书记员。',
    openCourt: '开庭（法槌）',
    closeCourt: '闭庭（法槌）',
    courtOpened: '现在开庭。',
    courtClosed: '现在闭庭。',
    gavelFailed: '法槌未能敲响，请重试。',
    exhibitsGroup: '举证',
    exhibitFile: '证据文件',
    exhibitTitle: '标题',
    presentExhibit: '出示',
    exhibitPrev: '上一页',
    exhibitNext: '下一页',
    exhibitHide: '撤下',
    shareScreen: '共享屏幕',
    screenDenied: '未能共享屏幕（浏览器的请求被拒绝）。',
    exhibitRegion: '显示',
    regionPage: '整页',
    regionTop: '上部（放大）',
    regionMiddle: '中部（放大）',
    regionBottom: '下部（放大）',
    exhibitShown: (title, page, pages, by) => `正在展示：${title}，第 ${page}/${pages} 页（${by}）`,
    exhibitNone: '显示屏上没有证据',
    exhibitNeedFile: '请选择 PDF、PNG 或 JPEG 文件并填写标题。',
    exhibitRefused: (msg) => `证据未被接受：${msg}`,
    exhibitForbidden: '经审判长准许后，您才能出示证据。',
    roles: {
      presiding_judge: '审判长', assessor: '陪审员', clerk: '书记员',
      plaintiff: '原告', defendant: '被告', witness: '证人', observer: '旁听人员',
    },
  },
};

const PROTOCOL_VERSION = 1;
const ICE_GATHER_TIMEOUT_MS = 2000;
const STATS_INTERVAL_MS = 1000;
const RENEGOTIATE_AFTER_MS = 2500; // media silent this long: fresh media session on the same socket
const ICE_RESTART_WAIT_MS = 5000;  // an ICE restart has this long to bring frames back before a fresh session
const RECONNECT_DELAYS_MS = [500, 1000, 1000, 2000, 2000, 3000];
// Fresh media sessions after network trouble back off (reset once frames decode again).
const FRESH_SESSION_DELAYS_MS = [0, 1000, 2000, 4000, 8000, 15000, 30000];
// How long after the server says it switches this page's picture (a slow or recovered link) the
// page waits for the new picture before it restarts its connection.
const RENDITION_SWITCH_GRACE_MS = 10000;
const PARTY_ROLES = ['plaintiff', 'defendant', 'witness'];
const JUDGE_ROLES = ['presiding_judge', 'assessor'];
// Who may cut and resume the public broadcast from the bench (the clerk also starts and stops it),
// and how often the page asks how the broadcast stands.
const BROADCAST_ROLES = ['presiding_judge', 'clerk'];
const BROADCAST_POLL_MS = 3000;
// Who may present exhibits (the witness only when the presiding judge allows it: the server
// decides), and how often the page asks what is on the display.
const EXHIBIT_ROLES = ['presiding_judge', 'clerk', 'plaintiff', 'defendant', 'witness'];
const EXHIBIT_POLL_MS = 4000;

const $ = (id) => document.getElementById(id);
const ui = {
  video: $('courtroom'), selfView: $('self-view'), audioSinks: $('audio-sinks'),
  title: $('hearing-title'), meta: $('hearing-meta'), badge: $('recording-badge'),
  quality: $('quality'), qualityText: $('quality-text'), langSelect: $('lang-select'),
  banner: $('banner'), cue: $('cue'), cueText: $('cue-text'), cueOk: $('cue-ok'),
  screenHint: $('screen-hint'),
  rosterPanel: $('roster-panel'), roster: $('roster'), rosterBtn: $('toggle-roster'),
  status: $('status'), micBtn: $('toggle-mic'), camBtn: $('toggle-cam'),
  card: $('card'), cardTitle: $('card-title'), cardText: $('card-text'), prejoin: $('prejoin'),
  preview: $('preview'), previewKey: $('preview-key'), lightHint: $('light-hint'),
  pickCamera: $('pick-camera'), pickMic: $('pick-mic'), pickSpeaker: $('pick-speaker'),
  micMeter: $('mic-meter'), action: $('main-action'),
  broadcast: $('broadcast'), broadcastState: $('broadcast-state'), broadcastCut: $('broadcast-cut'),
  broadcastStart: $('broadcast-start'), broadcastStop: $('broadcast-stop'),
  exhibits: $('exhibits'), exhibitFile: $('exhibit-file'), exhibitTitle: $('exhibit-title'),
  exhibitPresent: $('exhibit-present'), exhibitState: $('exhibit-state'),
  exhibitPrev: $('exhibit-prev'), exhibitNext: $('exhibit-next'), exhibitHide: $('exhibit-hide'),
  exhibitShare: $('exhibit-share'),
  gavelOpen: $('gavel-open'), gavelClose: $('gavel-close'),
  exhibitRegion: $('exhibit-region'), exhibitRegionLabel: $('exhibit-region-label'),
};

const state = {
  lang: 'en',
  langChosen: false,
  token: null,
  ws: null,
  wsGen: 0,
  pc: null,
  stream: null,
  invitation: null,   // `invitation` message
  me: null,           // `welcome` message
  screen: 'loading',  // loading | prejoin | waiting | joining | in | ended | error
  wantJoin: false,    // the person pressed Join: (re)connections send `join`
  ended: false,       // closed, removed, replaced, bad invitation: never reconnect
  roster: [],
  recording: false,
  recordingPaused: false,
  paused: false,
  statsTimer: null,
  lastFrames: -1,
  lastFramesAt: 0,
  // Until when a picture switch the server announced (`rendition`) may keep the picture away.
  switchGraceUntil: 0,
  reducedPicture: false, // the server sends the smaller picture (`rendition`: reduced)
  lastLost: 0,
  lastRecv: 0,
  reconnectTry: 0,
  serverStopping: false, // the server said it is stopping (shown once until the next welcome)
  node: null,         // the node the signalling socket goes to: null for this page's own,
                      // or the hearing's node after a `moved`
  nodes: [],          // the cluster's other nodes, to fall back on when one stops answering
  movedDelay: null,   // after a `moved`: how long to wait before joining again
  renegotiating: false,
  freshTry: 0,        // fresh media sessions since frames last decoded (backoff)
  iceRestart: null,   // the ICE restart under way: {pc, frames, timer}
  answerQueue: [],    // peers whose offers await an answer on this socket, in order
  meter: null,
  keyer: null,        // the keyed preview (web/preview-keyer.js)
  cueTimer: null,
  card: null,         // {title, text, action} keys, re-rendered on language change
  broadcast: null,        // the public broadcast {state, viewers, segments, cut_by_judge}; null: hidden
  broadcastPublic: null,  // the hearing is public (settled once it opens); null: not known yet
  broadcastPoll: null,    // the status poll under way: {timer}
  broadcastBusy: false,   // a start, stop, cut or resume is on its way
  broadcastSeq: 0,        // bumped by each act, so an older poll answer does not undo it
  onDisplay: null,        // what the evidence display shows: {exhibit, title, page, pages, presenter}
  youPresent: false,      // this person shows what is on the display (turns its pages)
  exhibitPoll: null,      // the display poll's timer
  exhibitBusy: false,     // an upload, show or hide is on its way
  screenShare: null,      // the screen this page shares: {track, pc}
  screenLine: null,       // the connection's screen line, kept for later shares: {pc, transceiver}
  screenReoffer: null,    // the peer whose screen re-offer awaits its answer
};

// For tests and people debugging.
window.courtroomStats = { video_width: 0, video_height: 0 };
window.courtroom = {
  get screen() { return state.screen; },
  get lang() { return state.lang; },
  get participantId() { return state.me && state.me.participant_id; },
  get seat() { return state.me && state.me.seat; },
  get pc() { return state.pc; },
  // The public broadcast as the bench sees it: {state, viewers, segments, cutByJudge, shown}, or
  // null (not the judge or the clerk, not joined, not running, or refused).
  broadcast: null,
  // reconnects: fresh media sessions or sockets; iceRestarts: ICE restarts on the same peer.
  timings: { firstFrameMs: null, reconnects: 0, iceRestarts: 0, lastRecoveredMs: null, lastRecoveryPath: null },
  // Pressing Join from a test or assistive tool.
  join: () => join(),
  // Tests: lose the media path ('media') or the signalling socket ('socket') as a network drop
  // would, without `leave`; the page must recover by itself.
  simulateDrop: (what) => {
    if (what === 'media' && state.pc) state.pc.close();
    if (what === 'socket' && state.ws) state.ws.close();
  },
};

// ---------------------------------------------------------------- language

function T() { return STRINGS[state.lang]; }
function t(key, ...args) {
  const v = T()[key];
  return typeof v === 'function' ? v(...args) : (v ?? key);
}
function roleLabel(role) { return T().roles[role] || String(role || '').replace(/_/g, ' '); }

function pickInitialLanguage() {
  const q = new URLSearchParams(location.search).get('lang');
  if (q && STRINGS[q]) { state.langChosen = true; return q; }
  try {
    const saved = localStorage.getItem('courtroom.lang');
    if (saved && STRINGS[saved]) { state.langChosen = true; return saved; }
  } catch { /* storage blocked */ }
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const base = String(l).toLowerCase().split('-')[0];
    if (STRINGS[base]) return base;
  }
  return 'en';
}

function setLanguage(lang, chosen) {
  if (!STRINGS[lang]) lang = String(lang || '').toLowerCase().startsWith('zh') ? 'zh' : 'en';
  state.lang = lang;
  if (chosen) {
    state.langChosen = true;
    try { localStorage.setItem('courtroom.lang', lang); } catch { /* ignore */ }
  }
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  ui.langSelect.value = lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  renderHearing();
  renderRoster();
  renderRecording();
  renderBroadcast();
  renderExhibits();
  updateToggleButtons();
  if (state.card) renderCard();
  if (ui.lightHint.dataset.key) ui.lightHint.textContent = t(ui.lightHint.dataset.key);
  if (ui.banner.dataset.key && !ui.banner.hidden) ui.banner.textContent = t(ui.banner.dataset.key);
  renderQualityText();
  fillDeviceLabels();
}

// ---------------------------------------------------------------- screens

function setScreen(screen) {
  state.screen = screen;
  document.body.dataset.screen = screen;
}

// A card: title key, text key (or text function), action {key, run}. Keys, so it re-renders in the other language.
function showCard(screen, title, text, action, opts = {}) {
  state.card = { title, text, action, args: opts.args || [] };
  setScreen(screen);
  ui.prejoin.hidden = !opts.prejoin;
  renderCard();
  ui.cardTitle.focus({ preventScroll: true });
}

function renderCard() {
  const c = state.card;
  ui.cardTitle.textContent = t(c.title);
  ui.cardText.textContent = Array.isArray(c.text) ? c.text.map((k) => t(k, ...c.args)).join(' ') : t(c.text, ...c.args);
  ui.cardText.dataset.key = Array.isArray(c.text) ? c.text.join(' ') : c.text;
  if (c.action) {
    ui.action.hidden = false;
    ui.action.textContent = t(c.action.key);
    ui.action.onclick = c.action.run;
  } else {
    ui.action.hidden = true;
    ui.action.onclick = null;
  }
}

function hideCard() {
  state.card = null;
  ui.prejoin.hidden = true;
}

function fail(textKey, action, titleKey = 'errTitle') {
  showCard('error', titleKey, textKey, action);
}

function end(titleKey, textKey, action) {
  state.ended = true;
  state.wantJoin = false;
  stopMedia();
  stopLocal();
  stopBroadcastPoll();
  stopExhibitPoll();
  if (state.ws) { state.wsGen++; try { state.ws.close(); } catch { /* ignore */ } }
  state.ws = null;
  showCard('ended', titleKey, textKey, action);
}

function showBanner(key, kind = 'error') {
  ui.banner.dataset.key = key;
  ui.banner.dataset.kind = kind;
  ui.banner.textContent = t(key);
  ui.banner.hidden = false;
}
function hideBanner(key) {
  if (!key || ui.banner.dataset.key === key) { ui.banner.hidden = true; ui.banner.dataset.key = ''; }
}

function setStatus(key) {
  ui.status.textContent = key ? t(key) : '';
}

// ---------------------------------------------------------------- hearing header, roster, recording

function renderHearing() {
  const inv = state.me || state.invitation;
  if (!inv) { ui.title.textContent = t('pageTitle'); document.title = t('pageTitle'); return; }
  const h = inv.hearing || {};
  ui.title.textContent = h.title || t('pageTitle');
  document.title = h.title ? `${h.title} — ${t('pageTitle')}` : t('pageTitle');
  const parts = [];
  if (h.case_number) parts.push(`${t('caseNumber')} ${h.case_number}`);
  parts.push(`${t('youAre')}: ${inv.name ? `${inv.name}, ` : ''}${roleLabel(inv.role)}`);
  ui.meta.textContent = parts.join(' · ');
}

function renderRecording() {
  const key = !state.recording ? 'recordingStopped' : state.recordingPaused ? 'recordingPaused' : 'recording';
  ui.badge.hidden = !state.recording;
  ui.badge.textContent = state.recording ? t(key) : '';
  ui.badge.setAttribute('aria-label', t(key));
  ui.badge.classList.toggle('paused', state.recording && state.recordingPaused);
}

function renderRoster() {
  ui.roster.replaceChildren();
  const me = state.me;
  const judge = me && JUDGE_ROLES.includes(me.role);
  for (const p of state.roster) {
    const li = document.createElement('li');
    if (p.away) li.classList.add('away');
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = p.name || roleLabel(p.role);
    if (me && p.participant_id === me.participant_id) name.textContent += ` ${t('you')}`;
    const role = document.createElement('span');
    role.className = 'role';
    role.textContent = roleLabel(p.role);
    li.append(name, role);
    if (p.away) {
      const away = document.createElement('span');
      away.className = 'away-label';
      away.textContent = t('away');
      li.append(away);
    }
    if (judge && PARTY_ROLES.includes(p.role) && p.participant_id !== me.participant_id) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'cue-btn';
      b.dataset.participant = String(p.participant_id);
      b.textContent = t('askToSpeak');
      b.setAttribute('aria-label', t('askToSpeakLabel', p.name || roleLabel(p.role)));
      b.addEventListener('click', () => send({ type: 'cue', to: p.participant_id }));
      li.append(b);
    }
    ui.roster.append(li);
  }
}

function showCue(msg) {
  const from = `${roleLabel(msg.from_role)} ${msg.from_name || ''}`.trim();
  ui.cue.dataset.from = from;
  ui.cueText.textContent = t('cueText', from);
  ui.cue.hidden = false;
  ui.cueOk.focus({ preventScroll: true });
  try {
    const ac = new AudioContext();
    const o = ac.createOscillator();
    const g = ac.createGain();
    g.gain.value = 0.08;
    o.frequency.value = 880;
    o.connect(g).connect(ac.destination);
    o.start();
    o.stop(ac.currentTime + 0.25);
    o.onended = () => ac.close();
  } catch { /* no audio: the visual cue is enough */ }
  clearTimeout(state.cueTimer);
  state.cueTimer = setTimeout(() => { ui.cue.hidden = true; }, 20000);
}

// The gavel, as the server mixes it into the recording (src/media/gavel.rs): three strikes, each
// a click, a thump and the block's ring at 740 Hz.
function playGavel() {
  try {
    const ac = new AudioContext();
    const rate = ac.sampleRate;
    const spacing = 0.32, ring = 0.25;
    const buf = ac.createBuffer(1, Math.ceil((spacing * 2 + ring) * rate), rate);
    const data = buf.getChannelData(0);
    for (let strike = 0; strike < 3; strike++) {
      const start = Math.floor(strike * spacing * rate);
      for (let i = 0; i < ring * rate && start + i < data.length; i++) {
        const tt = i / rate;
        data[start + i] += 0.55 * Math.exp(-tt / 0.06) * Math.sin(2 * Math.PI * 740 * tt)
          + 0.2 * Math.exp(-tt / 0.02) * Math.sin(2 * Math.PI * 1910 * tt)
          + 0.35 * Math.exp(-tt / 0.03) * Math.sin(2 * Math.PI * 170 * tt)
          + (tt < 0.004 ? 0.4 * (Math.random() * 2 - 1) * (1 - tt / 0.004) : 0);
      }
    }
    const src = ac.createBufferSource();
    const g = ac.createGain();
    g.gain.value = 0.4;
    src.buffer = buf;
    src.connect(g).connect(ac.destination);
    src.onended = () => ac.close();
    src.start();
  } catch { /* no audio: the status line says it */ }
}

async function strikeGavel(act) {
  const id = state.me && state.me.hearing && state.me.hearing.id;
  if (!id) return;
  try {
    await apiCall('POST', `/api/hearings/${encodeURIComponent(id)}/gavel/${act}`, JSON.stringify({}));
  } catch (err) {
    console.warn('gavel refused', err);
    setStatus('gavelFailed');
  }
}

function renderGavel() {
  const judge = !!state.me && state.me.role === 'presiding_judge' && state.screen === 'in';
  ui.gavelOpen.hidden = !judge;
  ui.gavelClose.hidden = !judge;
}

ui.gavelOpen.addEventListener('click', () => strikeGavel('open'));
ui.gavelClose.addEventListener('click', () => strikeGavel('close'));

// ---------------------------------------------------------------- public broadcast (bench)

// The REST API with this page's invitation as the bearer (never a portal cookie this browser may
// also hold, so the audit trail names the invitation). Resolves to the JSON body; throws an Error
// with `status` and the server's `code`.
async function apiCall(method, path, body, contentType) {
  let res;
  const headers = { Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers['Content-Type'] = contentType || 'application/json';
  try {
    res = await fetch(path, { method, credentials: 'omit', cache: 'no-store', headers, body });
  } catch (err) {
    throw Object.assign(new Error(String(err)), { status: 0, code: 'network' });
  }
  let data = null;
  try { data = await res.json(); } catch { /* no JSON body */ }
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw Object.assign(new Error(e.message || res.statusText), { status: res.status, code: e.code || 'internal' });
  }
  return data;
}

function mayBroadcast() { return !!state.me && BROADCAST_ROLES.includes(state.me.role); }
function broadcastPath(act) {
  const id = state.me && state.me.hearing && state.me.hearing.id;
  return id ? `/api/hearings/${encodeURIComponent(id)}/broadcast${act ? `/${act}` : ''}` : null;
}
function onAir(b) { return !!b && (b.state === 'live' || b.state === 'cut'); }

// The broadcast's status, or null (not running, refused, unreachable: the controls hide).
async function fetchBroadcast() {
  const path = broadcastPath();
  if (!path) return null;
  // The clerk starts a broadcast only of a public hearing; whether it is public is settled once
  // the hearing opens, so it is asked once (the monitor report says; the status does not).
  if (state.me.role === 'clerk' && state.broadcastPublic === null) {
    try {
      const m = await apiCall('GET', '/api/hearing/monitor');
      state.broadcastPublic = !!(m && m.hearing && m.hearing.public);
    } catch { /* asked again on the next poll */ }
  }
  if (state.broadcastPublic === false) return null;
  try {
    return (await apiCall('GET', path)).broadcast || null;
  } catch {
    return null; // 403, 404, 409, or the server out of reach
  }
}

// Asks every BROADCAST_POLL_MS while in the hearing (the judge and the clerk only).
function startBroadcastPoll() {
  if (state.broadcastPoll || !mayBroadcast()) return;
  const poll = { timer: null };
  state.broadcastPoll = poll;
  const tick = async () => {
    const seq = state.broadcastSeq;
    const b = await fetchBroadcast();
    if (state.broadcastPoll !== poll) return;
    if (seq === state.broadcastSeq) setBroadcast(b);
    poll.timer = setTimeout(tick, BROADCAST_POLL_MS);
  };
  tick();
}

function stopBroadcastPoll() {
  if (state.broadcastPoll) clearTimeout(state.broadcastPoll.timer);
  state.broadcastPoll = null;
  setBroadcast(null);
}

function setBroadcast(b) {
  state.broadcast = b;
  renderBroadcast();
}

// Shown only while the broadcast is on air (live or cut); to the clerk of a public hearing also
// while it is off, to start it.
function broadcastShown(b) {
  if (!b || !mayBroadcast() || state.screen !== 'in') return false;
  return onAir(b) || (state.me.role === 'clerk' && state.broadcastPublic === true);
}

function renderBroadcast() {
  const b = state.broadcast;
  const shown = broadcastShown(b);
  window.courtroom.broadcast = b
    ? { state: b.state, viewers: b.viewers, segments: b.segments, cutByJudge: !!b.cut_by_judge, shown }
    : null;
  const buttons = [ui.broadcastCut, ui.broadcastStart, ui.broadcastStop];
  const focused = buttons.includes(document.activeElement) ? document.activeElement : null;
  ui.broadcast.hidden = !shown;
  if (!shown) return;
  const live = onAir(b);
  const clerk = state.me.role === 'clerk';
  ui.broadcast.dataset.state = b.state;
  ui.broadcastState.textContent = b.state === 'live' ? t('onAir', b.viewers)
    : b.state === 'cut' ? t(b.cut_by_judge ? 'broadcastCut' : 'broadcastPausedSlate')
    : t(b.state === 'ended' ? 'broadcastEnded' : 'broadcastOff');
  // One button: cut while on air, resume once the bench has cut it (a cut for the hearing's
  // pause alone can still be made a cut that outlasts the pause).
  ui.broadcastCut.hidden = !live;
  ui.broadcastCut.textContent = t(b.cut_by_judge ? 'resumeBroadcast' : 'cutBroadcast');
  ui.broadcastCut.dataset.cut = String(!!b.cut_by_judge);
  ui.broadcastStart.hidden = !clerk || live;
  ui.broadcastStart.textContent = t('startBroadcast');
  ui.broadcastStop.hidden = !clerk || !live;
  ui.broadcastStop.textContent = t('stopBroadcast');
  // Not `disabled` while an act is on its way: that would drop a keyboard user's focus.
  for (const btn of buttons) btn.setAttribute('aria-disabled', String(state.broadcastBusy));
  // A keyboard user whose button just hid (Start once live) stays in the group.
  if (focused && focused.hidden) {
    const next = buttons.find((btn) => !btn.hidden);
    if (next) next.focus({ preventScroll: true });
  }
}

async function broadcastAct(act) {
  const path = broadcastPath(act);
  if (!path || state.broadcastBusy) return;
  state.broadcastBusy = true;
  renderBroadcast();
  try {
    const r = await apiCall('POST', path);
    state.broadcastSeq++;
    state.broadcastBusy = false;
    setBroadcast((r && r.broadcast) || null);
  } catch (err) {
    console.warn('broadcast refused', act, err);
    state.broadcastBusy = false;
    renderBroadcast();
    setStatus({ not_broadcasting: 'broadcastNotOnAir', closed_to_public: 'broadcastClosedToPublic', forbidden: 'broadcastForbidden' }[err.code] || 'broadcastFailed');
  }
}

// ---------------------------------------------------------------- exhibits

function mayPresent() { return !!state.me && EXHIBIT_ROLES.includes(state.me.role); }
function exhibitsPath(rest = '') {
  const id = state.me && state.me.hearing && state.me.hearing.id;
  return id ? `/api/hearings/${encodeURIComponent(id)}/exhibits${rest}` : null;
}

function startExhibitPoll() {
  stopExhibitPoll();
  if (!mayPresent()) { renderExhibits(); return; }
  const poll = async () => {
    const path = exhibitsPath();
    if (path && !state.exhibitBusy) {
      try {
        const r = await apiCall('GET', path);
        state.onDisplay = r.on_display || null;
        state.youPresent = !!r.you_present;
      } catch { /* keep the last */ }
      renderExhibits();
    }
  };
  poll();
  state.exhibitPoll = setInterval(poll, EXHIBIT_POLL_MS);
}

function stopExhibitPoll() {
  if (state.exhibitPoll) clearInterval(state.exhibitPoll);
  state.exhibitPoll = null;
}

// The group shows to those who may present, once in the hearing; page turns and take-down only
// for what this person shows (the bench can take anything down).
function renderExhibits() {
  const shown = mayPresent() && state.screen === 'in';
  ui.exhibits.hidden = !shown;
  if (!shown) return;
  const d = state.onDisplay;
  const mine = !!d && state.youPresent;
  const bench = ['presiding_judge', 'clerk'].includes(state.me.role);
  if (!ui.exhibitState.dataset.error) {
    ui.exhibitState.textContent = d ? t('exhibitShown', d.title, d.page, d.pages, d.presenter.caption) : t('exhibitNone');
  }
  ui.exhibitPrev.hidden = !d || !(mine || bench) || d.page <= 1;
  ui.exhibitNext.hidden = !d || !(mine || bench) || d.page >= d.pages;
  ui.exhibitHide.hidden = !d || !(mine || bench);
  ui.exhibitRegionLabel.hidden = !d || !(mine || bench);
  if (d && document.activeElement !== ui.exhibitRegion) ui.exhibitRegion.value = d.region || 'page';
  for (const b of [ui.exhibitPresent, ui.exhibitPrev, ui.exhibitNext, ui.exhibitHide, ui.exhibitShare]) {
    b.setAttribute('aria-disabled', String(state.exhibitBusy));
  }
  const sharing = !!d && d.exhibit === 'screen' && mine;
  // Taken down by the bench (or the share ended elsewhere): stop capturing.
  if (state.screenShare && !sharing && !state.exhibitBusy) stopScreen(false);
  ui.exhibitShare.hidden = !!state.screenShare || !navigator.mediaDevices
    || typeof navigator.mediaDevices.getDisplayMedia !== 'function';
  // A screen has no pages and no parts.
  if (d && d.exhibit === 'screen') {
    ui.exhibitPrev.hidden = true;
    ui.exhibitNext.hidden = true;
    ui.exhibitRegionLabel.hidden = true;
  }
}

function exhibitError(err) {
  ui.exhibitState.dataset.error = '1';
  ui.exhibitState.textContent = err.code === 'forbidden' ? t('exhibitForbidden')
    : err.code === 'screen_denied' ? err.message : t('exhibitRefused', err.message);
  setTimeout(() => { delete ui.exhibitState.dataset.error; renderExhibits(); }, 8000);
}

async function exhibitAct(work) {
  if (state.exhibitBusy) return;
  state.exhibitBusy = true;
  delete ui.exhibitState.dataset.error;
  renderExhibits();
  try {
    await work();
  } catch (err) {
    console.warn('exhibit refused', err);
    exhibitError(err);
  } finally {
    state.exhibitBusy = false;
    renderExhibits();
  }
}

async function presentExhibit() {
  const file = ui.exhibitFile.files && ui.exhibitFile.files[0];
  const title = ui.exhibitTitle.value.trim() || (file && file.name) || '';
  if (!file || !title) { exhibitError({ code: 'bad', message: t('exhibitNeedFile') }); return; }
  await exhibitAct(async () => {
    const type = file.type || (file.name.toLowerCase().endsWith('.pdf') ? 'application/pdf' : '');
    const up = await apiCall('POST', exhibitsPath(`?title=${encodeURIComponent(title)}`), file, type);
    const r = await apiCall('POST', exhibitsPath(`/${up.id}/show`), JSON.stringify({ page: 1 }));
    state.onDisplay = r.on_display;
    state.youPresent = true;
  });
}

// Another page, or another part of this one (the page's width across the display, so that
// small print can be read).
async function turnExhibit(delta) {
  const d = state.onDisplay;
  if (!d) return;
  await exhibitAct(async () => {
    const body = { page: d.page + delta, region: ui.exhibitRegion.value || 'page' };
    const r = await apiCall('POST', exhibitsPath(`/${d.exhibit}/show`), JSON.stringify(body));
    state.onDisplay = r.on_display;
  });
}

async function hideExhibit() {
  const d = state.onDisplay;
  if (!d) return;
  await exhibitAct(async () => {
    await apiCall('POST', exhibitsPath(`/${d.exhibit}/hide`), JSON.stringify({}));
    state.onDisplay = null;
    state.youPresent = false;
  });
}

// ---------------------------------------------------------------- screen sharing

// The shared screen goes to the server as one more sendonly video line after the others
// (PROTOCOL.md, "Media negotiation"): a re-offer on the same connection, answered there; then
// the display is asked to show it (the exhibit id `screen`). The line is kept for later shares
// on the same connection (a new screen replaces the track on it, no new offer).
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

async function shareScreen() {
  if (state.screenShare || !state.pc) return;
  await exhibitAct(async () => {
    let display;
    try {
      display = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 5 }, audio: false });
    } catch (err) {
      throw Object.assign(new Error(t('screenDenied')), { code: 'screen_denied' });
    }
    const track = display.getVideoTracks()[0];
    const pc = state.pc;
    const share = { track, pc };
    state.screenShare = share;
    window.courtroom.screenShares = (window.courtroom.screenShares || 0) + 1;
    // The person stops sharing from the browser's own control.
    track.addEventListener('ended', () => stopScreen(true));
    try {
      if (state.screenLine && state.screenLine.pc === pc) {
        await state.screenLine.transceiver.sender.replaceTrack(track);
      } else {
        const transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [display] });
        state.screenLine = { pc, transceiver };
        await renegotiate(pc);
      }
      // The server knows the screen from its first packet: ask again for a moment.
      let r = null;
      for (let i = 0; !r; i++) {
        if (state.screenShare !== share) throw new Error('the screen is no longer shared');
        try {
          r = await apiCall('POST', exhibitsPath('/screen/show'), JSON.stringify({}));
        } catch (err) {
          if (err.code !== 'no_screen' || i >= 40) throw err;
          await pause(250);
        }
      }
      state.onDisplay = r.on_display;
      state.youPresent = true;
    } catch (err) {
      stopScreen(false);
      throw err;
    }
  });
}

// A re-offer on `pc` (same tracks plus what was added), resolved once its answer is applied.
// Waits for any offer already under way (an ICE restart) to be answered first.
async function renegotiate(pc) {
  const until = performance.now() + 10000;
  const stable = async () => {
    while (pc.signalingState !== 'stable') {
      if (performance.now() > until || state.pc !== pc) throw new Error('no answer to the re-offer');
      await pause(50);
    }
  };
  await stable();
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await waitForIceGathering(pc, ICE_GATHER_TIMEOUT_MS);
  state.answerQueue.push(pc);
  state.screenReoffer = pc;
  send({ type: 'offer', sdp: pc.localDescription.sdp });
  try { await stable(); } finally { if (state.screenReoffer === pc) state.screenReoffer = null; }
}

// Stops sending the screen; `takeDown` also takes it off the display (it is still there),
// once any act under way has finished.
function stopScreen(takeDown) {
  const share = state.screenShare;
  if (!share) return;
  state.screenShare = null;
  const line = state.screenLine;
  if (line && line.pc === share.pc) line.transceiver.sender.replaceTrack(null).catch(() => {});
  share.track.stop();
  if (takeDown) takeDownScreen(Date.now() + 10000);
  renderExhibits();
}

async function takeDownScreen(until) {
  if (state.exhibitBusy) {
    if (Date.now() < until) setTimeout(() => takeDownScreen(until), 200);
    return;
  }
  const d = state.onDisplay;
  if (!(d && d.exhibit === 'screen' && state.youPresent) || state.screenShare) return;
  await exhibitAct(async () => {
    await apiCall('POST', exhibitsPath('/screen/hide'), JSON.stringify({}));
    state.onDisplay = null;
    state.youPresent = false;
  });
}

ui.exhibitShare.addEventListener('click', () => shareScreen());
ui.exhibitPresent.addEventListener('click', () => presentExhibit());
ui.exhibitPrev.addEventListener('click', () => turnExhibit(-1));
ui.exhibitNext.addEventListener('click', () => turnExhibit(1));
ui.exhibitHide.addEventListener('click', () => hideExhibit());
ui.exhibitRegion.addEventListener('change', () => turnExhibit(0));

// ---------------------------------------------------------------- local media (before joining)

function mediaErrorKey(err) {
  switch (err && err.name) {
    case 'NotAllowedError': case 'SecurityError': case 'PermissionDeniedError': return 'cameraDenied';
    case 'NotFoundError': case 'DevicesNotFoundError': case 'OverconstrainedError': return 'cameraMissing';
    case 'NotReadableError': case 'TrackStartError': case 'AbortError': return 'cameraBusy';
    default: return 'cameraFailed';
  }
}

function stopLocal() {
  if (state.stream) for (const tr of state.stream.getTracks()) tr.stop();
  state.stream = null;
  if (state.meter) { state.meter.close(); state.meter = null; }
  stopKeyPreview();
}

async function openLocalMedia() {
  const cam = ui.pickCamera.value;
  const mic = ui.pickMic.value;
  const video = { width: 640, height: 480, frameRate: 25 };
  if (cam) video.deviceId = { exact: cam };
  const stream = await navigator.mediaDevices.getUserMedia({
    video,
    audio: mic ? { deviceId: { exact: mic } } : true,
  });
  const old = state.stream;
  state.stream = stream;
  if (old) for (const tr of old.getTracks()) tr.stop();
  ui.preview.srcObject = stream;
  ui.selfView.srcObject = stream;
  startMeter(stream);
  startKeyPreview();
  updateToggleButtons();
  // Swap tracks into a live call (device change while in the hearing).
  if (state.pc) {
    const [camTx, micTx] = state.pc.getTransceivers();
    if (camTx) camTx.sender.replaceTrack(stream.getVideoTracks()[0] || null).catch(() => {});
    if (micTx) micTx.sender.replaceTrack(stream.getAudioTracks()[0] || null).catch(() => {});
  }
  return stream;
}

async function listDevices() {
  let devices = [];
  try { devices = await navigator.mediaDevices.enumerateDevices(); } catch { return; }
  const fill = (select, kind) => {
    const keep = select.value;
    select.replaceChildren();
    const def = document.createElement('option');
    def.value = '';
    def.dataset.i18nDefault = '1';
    select.append(def);
    devices.filter((d) => d.kind === kind && d.deviceId && d.deviceId !== 'default').forEach((d, i) => {
      const o = document.createElement('option');
      o.value = d.deviceId;
      o.textContent = d.label || `${kind} ${i + 1}`;
      select.append(o);
    });
    select.value = [...select.options].some((o) => o.value === keep) ? keep : '';
  };
  fill(ui.pickCamera, 'videoinput');
  fill(ui.pickMic, 'audioinput');
  fill(ui.pickSpeaker, 'audiooutput');
  ui.pickSpeaker.disabled = !('setSinkId' in HTMLMediaElement.prototype);
  fillDeviceLabels();
}

function fillDeviceLabels() {
  for (const o of document.querySelectorAll('option[data-i18n-default]')) o.textContent = t('defaultDevice');
}

function startMeter(stream) {
  if (state.meter) state.meter.close();
  state.meter = null;
  const track = stream.getAudioTracks()[0];
  if (!track || typeof AudioContext === 'undefined') return;
  const ac = new AudioContext();
  state.meter = ac;
  const an = ac.createAnalyser();
  an.fftSize = 512;
  ac.createMediaStreamSource(new MediaStream([track])).connect(an);
  const buf = new Float32Array(an.fftSize);
  const tick = () => {
    if (state.meter !== ac) return;
    an.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const x of buf) sum += x * x;
    const rms = Math.sqrt(sum / buf.length);
    ui.micMeter.value = Math.min(1, rms * 4);
    window.courtroom.micLevel = rms;
    setTimeout(tick, 100);
  };
  ac.resume().catch(() => {});
  tick();
}

// The keyed preview: a WebGL port of the server's keyer (web/preview-keyer.js), with the
// server's auto key refitted once a second, and the light hints from that fit: too dark,
// uneven green screen, no green screen.
function startKeyPreview() {
  stopKeyPreview();
  const keyer = startPreviewKeyer(ui.preview, ui.previewKey, {
    forceFallback: new URLSearchParams(location.search).get('preview') === '2d',
    onCalibration: (cal, img) => {
      if (state.keyer !== keyer || ui.prejoin.hidden) return;
      let meanLuma = cal ? cal.meanLuma : 0;
      if (!cal) {
        let sum = 0;
        for (let i = 0; i < img.data.length; i += 4) sum += 0.299 * img.data[i] + 0.587 * img.data[i + 1] + 0.114 * img.data[i + 2];
        meanLuma = sum / (img.data.length / 4) / 255;
      }
      let key = 'lightOk';
      if (meanLuma < 45 / 255) key = 'tooDark';
      else if (!cal || cal.screenShare < 0.05) key = 'noGreen';
      else if (cal.warning === 'too_dark') key = 'tooDark';
      else if (cal.warning === 'too_uneven') key = 'unevenGreen';
      window.courtroom.light = {
        meanLuma: meanLuma * 255,
        greenShare: cal ? cal.screenShare : 0,
        screen: cal && { luma: cal.screenLuma, chroma: cal.screenChroma, shade: cal.model.shade, noise: cal.model.noise },
        hint: key,
      };
      if (ui.lightHint.dataset.key !== key) {
        ui.lightHint.dataset.key = key;
        ui.lightHint.textContent = t(key);
        ui.lightHint.dataset.kind = key === 'lightOk' ? 'ok' : 'warn';
      }
    },
  });
  state.keyer = keyer;
  window.courtroom.preview = { get kind() { return keyer.kind; }, get frames() { return keyer.frames; } };
  ui.previewKey.dataset.kind = keyer.kind;
  const note = document.getElementById('preview-note');
  if (note) note.hidden = keyer.kind === 'webgl' || keyer.kind === 'webgl2';
}

function stopKeyPreview() {
  if (state.keyer) state.keyer.stop();
  state.keyer = null;
}

// An observer (a people's supervisor, a trainee judge) watches and listens: no seat, no camera,
// no microphone, so no device check before joining.
function isObserver() {
  const who = state.me || state.invitation;
  return !!who && who.role === 'observer';
}

function startObserverPrejoin() {
  const inv = state.invitation;
  showCard('prejoin', 'prejoinTitle', ['prejoinAs', 'observerText'], { key: 'joinNow', run: join });
  Object.defineProperty(state.card, 'args', { get: () => [inv.name, roleLabel(inv.role)] });
  renderCard();
  ui.action.disabled = false;
  ui.action.focus({ preventScroll: true });
  if (new URLSearchParams(location.search).get('autojoin') === '1') join();
}

async function startPrejoin() {
  if (isObserver()) { startObserverPrejoin(); return; }
  showCard('prejoin', 'prejoinTitle', ['prejoinText'], { key: 'joinNow', run: join }, { prejoin: true });
  ui.action.disabled = true;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    fail('noMediaApi', null);
    return;
  }
  try {
    await openLocalMedia();
  } catch (err) {
    console.warn('getUserMedia failed', err);
    fail(mediaErrorKey(err), { key: 'tryAgain', run: startPrejoin });
    return;
  }
  await listDevices();
  const inv = state.invitation;
  state.card.text = ['prejoinAs', 'prejoinText'];
  // The role label follows the language: read it on each render.
  Object.defineProperty(state.card, 'args', { get: () => [inv.name, roleLabel(inv.role)] });
  renderCard();
  ui.action.disabled = false;
  ui.action.focus({ preventScroll: true });
  // `autojoin=1` (kiosk rooms, tests): join as soon as camera and microphone are ready.
  if (new URLSearchParams(location.search).get('autojoin') === '1') join();
}

function updateToggleButtons() {
  const audio = state.stream && state.stream.getAudioTracks()[0];
  const video = state.stream && state.stream.getVideoTracks()[0];
  ui.micBtn.disabled = !audio;
  ui.camBtn.disabled = !video;
  const micOn = !audio || audio.enabled;
  const camOn = !video || video.enabled;
  ui.micBtn.textContent = micOn ? t('muteMic') : t('unmuteMic');
  ui.micBtn.setAttribute('aria-pressed', String(!micOn));
  ui.camBtn.textContent = camOn ? t('cameraOff') : t('cameraOn');
  ui.camBtn.setAttribute('aria-pressed', String(!camOn));
}

function toggleTrack(kind) {
  if (!state.stream) return;
  const tracks = kind === 'audio' ? state.stream.getAudioTracks() : state.stream.getVideoTracks();
  for (const tr of tracks) tr.enabled = !tr.enabled;
  updateToggleButtons();
}

// ---------------------------------------------------------------- WebRTC

function waitForIceGathering(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); pc.removeEventListener('icegatheringstatechange', onChange); resolve(); };
    const onChange = () => { if (pc.iceGatheringState === 'complete') done(); };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', onChange);
  });
}

function onRemoteTrack(event) {
  const track = event.track;
  if (track.kind === 'video') {
    ui.video.srcObject = new MediaStream([track]);
    ui.video.play().catch(() => {});
    watchFirstFrame();
  } else if (track.kind === 'audio') {
    const el = document.createElement('audio');
    el.autoplay = true;
    el.srcObject = new MediaStream([track]);
    if (ui.pickSpeaker.value && el.setSinkId) el.setSinkId(ui.pickSpeaker.value).catch(() => {});
    ui.audioSinks.appendChild(el);
    el.play().catch(() => {});
    track.addEventListener('ended', () => el.remove());
  }
}

// Frames are back after a drop: say so, and note how long it took and which way it came back.
function recovered(path) {
  if (state.recoverStart == null) return;
  window.courtroom.timings.lastRecoveredMs = performance.now() - state.recoverStart;
  window.courtroom.timings.lastRecoveryPath = path;
  state.recoverStart = null;
  hideBanner('reconnecting');
  setStatus('reconnected');
}

function watchFirstFrame() {
  const v = ui.video;
  const note = () => {
    const ms = performance.now();
    if (window.courtroom.timings.firstFrameMs == null) window.courtroom.timings.firstFrameMs = ms;
    recovered('fresh session');
  };
  if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(note);
  else v.addEventListener('loadeddata', note, { once: true });
}

async function startPeerConnection() {
  if (state.iceRestart) { clearTimeout(state.iceRestart.timer); state.iceRestart = null; }
  // A shared screen went out on the old connection: it ends with it.
  stopScreen(true);
  if (state.pc) { try { state.pc.close(); } catch { /* ignore */ } }
  ui.audioSinks.replaceChildren();
  const pc = new RTCPeerConnection();
  state.pc = pc;
  state.lastFrames = -1;
  state.lastFramesAt = performance.now();
  pc.addEventListener('track', onRemoteTrack);
  pc.addEventListener('connectionstatechange', () => {
    if (state.pc !== pc) return;
    if (pc.connectionState === 'connected') {
      setStatus('connected');
    } else if (pc.connectionState === 'disconnected' || pc.connectionState === 'failed') {
      mediaTrouble();
    }
  });
  pc.addEventListener('iceconnectionstatechange', () => {
    if (state.pc === pc && ['disconnected', 'failed'].includes(pc.iceConnectionState)) mediaTrouble();
  });

  // Transceiver order is part of the contract (PROTOCOL.md, "Media negotiation"). An observer
  // sends nothing: only the composite and the voices.
  const stream = state.stream;
  const cam = stream && stream.getVideoTracks()[0];
  const mic = stream && stream.getAudioTracks()[0];
  if (!isObserver()) {
    if (cam) pc.addTransceiver(cam, { direction: 'sendonly', streams: [stream] });
    else pc.addTransceiver('video', { direction: 'sendonly' });
    if (mic) pc.addTransceiver(mic, { direction: 'sendonly', streams: [stream] });
    else pc.addTransceiver('audio', { direction: 'sendonly' });
  }
  pc.addTransceiver('video', { direction: 'recvonly' });
  const slots = Math.max(0, Math.floor(Number(state.me.audio_slots) || 0));
  for (let i = 0; i < slots; i++) pc.addTransceiver('audio', { direction: 'recvonly' });

  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await waitForIceGathering(pc, ICE_GATHER_TIMEOUT_MS);
  if (state.pc !== pc) return;
  state.answerQueue.push(pc);
  send({ type: 'offer', sdp: pc.localDescription.sdp });
  startStatsLoop();
}

// ICE restart on the same peer (new ICE credentials, same tracks, same DTLS): a new offer on
// the same socket, which the server answers on its existing connection (PROTOCOL.md). If frames
// do not come back within ICE_RESTART_WAIT_MS, a fresh media session follows.
async function restartIce(pc) {
  if (state.ended || state.pc !== pc || state.iceRestart) return;
  const r = { pc, frames: Infinity, answered: false, timer: null };
  state.iceRestart = r;
  window.courtroom.timings.iceRestarts++;
  console.info('network trouble: restarting ICE on the same peer');
  const giveUp = () => {
    if (state.iceRestart !== r) return;
    clearTimeout(r.timer);
    state.iceRestart = null;
    pc.iceRestartFailed = true;
    if (state.pc === pc) mediaTrouble();
  };
  r.timer = setTimeout(giveUp, ICE_RESTART_WAIT_MS);
  r.giveUp = giveUp;
  try {
    if (pc.signalingState !== 'stable') throw new Error(`signalling state ${pc.signalingState}`);
    if (typeof pc.restartIce === 'function') pc.restartIce();
    const offer = await pc.createOffer({ iceRestart: true });
    await pc.setLocalDescription(offer);
    await waitForIceGathering(pc, ICE_GATHER_TIMEOUT_MS);
    if (state.pc !== pc || state.iceRestart !== r) return;
    state.answerQueue.push(pc);
    send({ type: 'offer', sdp: pc.localDescription.sdp });
  } catch (err) {
    console.warn('ICE restart failed', err);
    giveUp();
  }
}

// Frames arrive while an ICE restart is under way: it worked.
function iceRestartWorked() {
  const r = state.iceRestart;
  if (!r) return;
  clearTimeout(r.timer);
  state.iceRestart = null;
  recovered('ice restart');
}

async function freshSession() {
  if (state.ended || !state.me) return;
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    window.courtroom.timings.reconnects++;
    try { await startPeerConnection(); } catch (err) { console.warn('renegotiation failed', err); }
  }
}

// The media path is in trouble: say so; first restart ICE on the same peer, and if that does
// not bring frames back, renegotiate a fresh media session on the same socket; if the socket is
// gone too, the socket's close handler rejoins.
function mediaTrouble() {
  if (state.ended || state.screen !== 'in') return;
  if (state.recoverStart == null) state.recoverStart = performance.now();
  showBanner('reconnecting', 'warn');
  if (state.iceRestart) return; // its own timer decides
  const pc = state.pc;
  const closed = !pc || pc.connectionState === 'closed' || pc.signalingState === 'closed';
  const socketUp = state.ws && state.ws.readyState === WebSocket.OPEN;
  if (!closed && socketUp && !pc.iceRestartFailed) { restartIce(pc); return; }
  if (state.renegotiating) return;
  state.renegotiating = true;
  // A closed or failed peer will not come back: renegotiate at once; otherwise give it a moment.
  // Repeated fresh sessions without frames in between back off.
  const gone = closed || pc.connectionState === 'failed' || pc.iceRestartFailed;
  const backoff = FRESH_SESSION_DELAYS_MS[Math.min(state.freshTry, FRESH_SESSION_DELAYS_MS.length - 1)];
  state.freshTry++;
  setTimeout(async () => {
    state.renegotiating = false;
    if (state.ended || !state.me) return;
    const now = state.pc;
    const healthy = now && now.connectionState === 'connected' && performance.now() - state.lastFramesAt < RENEGOTIATE_AFTER_MS;
    if (healthy) return;
    await freshSession();
  }, Math.max(gone ? 0 : RENEGOTIATE_AFTER_MS, backoff));
}

async function onAnswer(msg) {
  // Answers come in the order of our offers; one for a peer we have given up on is dropped.
  const pc = state.answerQueue.shift() || state.pc;
  if (!pc || pc !== state.pc || pc.signalingState !== 'have-local-offer') return;
  try {
    await pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
    const r = state.iceRestart;
    if (r && r.pc === pc) {
      // Frames decoded from here on came over the restarted path.
      const got = await collectStats().catch(() => null);
      r.frames = got && typeof got.out.frames_decoded === 'number' ? got.out.frames_decoded : state.lastFrames;
      r.answered = true;
    }
  } catch (err) {
    console.error('setRemoteDescription failed', err);
    if (state.iceRestart && state.iceRestart.pc === pc) state.iceRestart.giveUp();
    else mediaTrouble();
  }
}

async function collectStats() {
  const pc = state.pc;
  if (!pc) return null;
  const report = await pc.getStats();
  const out = {};
  let selectedPairId = null;
  const pairs = [];
  let fps = null;
  report.forEach((r) => {
    if (r.type === 'inbound-rtp' && (r.kind || r.mediaType) === 'video') {
      if (typeof r.framesDecoded === 'number') out.frames_decoded = r.framesDecoded;
      if (typeof r.frameWidth === 'number') out.frame_width = r.frameWidth;
      if (typeof r.frameHeight === 'number') out.frame_height = r.frameHeight;
      if (typeof r.packetsLost === 'number') out.packets_lost = r.packetsLost;
      if (typeof r.packetsReceived === 'number') out.packets_received = r.packetsReceived;
      if (typeof r.jitter === 'number') out.jitter_ms = r.jitter * 1000;
      if (typeof r.framesPerSecond === 'number') fps = r.framesPerSecond;
    } else if (r.type === 'transport' && r.selectedCandidatePairId) {
      selectedPairId = r.selectedCandidatePairId;
    } else if (r.type === 'candidate-pair') {
      pairs.push(r);
    }
  });
  const pair = (selectedPairId && report.get(selectedPairId)) || pairs.find((p) => p.selected)
    || pairs.find((p) => p.nominated && p.state === 'succeeded');
  if (pair && typeof pair.currentRoundTripTime === 'number') out.rtt_ms = pair.currentRoundTripTime * 1000;
  return { out, fps };
}

// Connection quality from getStats: loss over the last second, round trip, frames arriving.
function rateQuality(out, fps) {
  const lost = (out.packets_lost || 0) - state.lastLost;
  const recv = (out.packets_received || 0) - state.lastRecv;
  state.lastLost = out.packets_lost || 0;
  state.lastRecv = out.packets_received || 0;
  const loss = recv + lost > 0 ? Math.max(0, lost) / (recv + lost) : 0;
  const rtt = out.rtt_ms || 0;
  const stalled = performance.now() - state.lastFramesAt > 2000;
  if (stalled || loss > 0.08 || rtt > 600) return 'poor';
  if (loss > 0.02 || rtt > 250 || (fps != null && fps < 5)) return 'fair';
  return 'good';
}

function setQuality(level) {
  if (!level) {
    // No composite frame decoded on this peer yet: nothing good to say.
    ui.quality.hidden = true;
    ui.quality.dataset.level = 'none';
    ui.quality.dataset.key = '';
    window.courtroom.quality = null;
    return;
  }
  const key = { good: 'qualityGood', fair: 'qualityFair', poor: 'qualityPoor' }[level];
  ui.quality.hidden = false;
  ui.quality.dataset.level = level;
  ui.quality.dataset.key = key;
  renderQualityText();
  window.courtroom.quality = level;
}

// The rating, and whether the server sends this page the smaller picture (`rendition`).
function renderQualityText() {
  const key = ui.quality.dataset.key;
  if (!key) return;
  ui.qualityText.textContent = state.reducedPicture ? `${t(key)} · ${t('reducedPicture')}` : t(key);
}

function startStatsLoop() {
  if (state.statsTimer) return;
  state.statsTimer = setInterval(async () => {
    if (state.pc && state.pc.signalingState === 'closed') { mediaTrouble(); return; }
    let got;
    try { got = await collectStats(); } catch (err) { return; }
    if (!got) return;
    const { out, fps } = got;
    if (typeof out.frames_decoded === 'number' && out.frames_decoded !== state.lastFrames) {
      const restart = state.iceRestart;
      if (restart && restart.answered && restart.pc === state.pc && out.frames_decoded > restart.frames
        && ['connected', 'completed'].includes(restart.pc.iceConnectionState)) iceRestartWorked();
      state.lastFrames = out.frames_decoded;
      state.lastFramesAt = performance.now();
    }
    if ((out.frames_decoded || 0) > 0) state.freshTry = 0;
    setQuality((out.frames_decoded || 0) > 0 ? rateQuality(out, fps) : null);
    // No picture for 4 s: restart the connection, unless the server has just said it is
    // switching this page's picture (a slow link): that switch gets its own time first, as
    // long as the connection itself holds.
    const switching = performance.now() < state.switchGraceUntil && state.pc && state.pc.connectionState === 'connected';
    if (performance.now() - state.lastFramesAt > 4000 && !switching) mediaTrouble();
    window.courtroomStats = { ...out, video_width: ui.video.videoWidth || 0, video_height: ui.video.videoHeight || 0 };
    const { packets_received, ...wire } = out;
    send({ type: 'stats', ...wire });
  }, STATS_INTERVAL_MS);
}

function stopMedia() {
  if (state.statsTimer) clearInterval(state.statsTimer);
  state.statsTimer = null;
  if (state.pc) { try { state.pc.close(); } catch { /* ignore */ } }
  state.pc = null;
}

// ---------------------------------------------------------------- signalling

function send(msg) {
  const ws = state.ws;
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ v: PROTOCOL_VERSION, ...msg }));
}

function onWelcome(msg) {
  state.me = msg;
  state.serverStopping = false;
  state.reconnectTry = 0;
  if (!state.langChosen && msg.hearing && msg.hearing.locale) setLanguage(msg.hearing.locale, false);
  state.recording = !!msg.recording;
  state.recordingPaused = !!msg.recording_paused;
  state.paused = !!msg.paused;
  hideCard();
  setScreen('in');
  stopPreviewOnly();
  renderHearing();
  renderRecording();
  updateToggleButtons();
  ui.micBtn.hidden = isObserver();
  ui.camBtn.hidden = isObserver();
  renderBroadcast();
  renderGavel();
  startBroadcastPoll();
  startExhibitPoll();
  if (state.paused) showBanner('paused', 'info');
  else if (ui.banner.dataset.key !== 'reconnecting') hideBanner();
  setStatus('connecting');
  startPeerConnection().catch((err) => { console.error('could not start WebRTC', err); mediaTrouble(); });
}

function stopPreviewOnly() {
  // The meter and keyed preview are for the card; the camera keeps running for the call.
  if (state.meter) { state.meter.close(); state.meter = null; }
  stopKeyPreview();
}

function onError(msg) {
  switch (msg.code) {
    case 'invalid_token': return end('errTitle', 'invalidInvitation', null);
    case 'expired_token': return end('errTitle', 'expiredInvitation', null);
    case 'hearing_closed': return end('closedTitle', 'hearingClosed', null);
    case 'seat_taken': return end('errTitle', 'seatTaken', { key: 'tryAgain', run: () => location.reload() });
    case 'no_common_codec':
      // This browser cannot decode the courtroom video: no retry can help. Say so once.
      console.warn('offer refused', msg);
      send({ type: 'leave' });
      return end('errTitle', 'noCommonCodec', null);
    case 'bad_sdp': {
      // The server could not use an offer of ours: that peer will get no answer. A refused
      // ICE restart falls back to a fresh session once; a refused fresh offer would be
      // refused again, so the page says so and stops rather than retrying in a loop.
      const pc = state.answerQueue.shift();
      console.warn('offer refused', msg);
      if (state.iceRestart && state.iceRestart.pc === pc) { state.iceRestart.giveUp(); return; }
      // A refused screen share: the connection goes on without it.
      if (pc && state.screenReoffer === pc) {
        state.screenReoffer = null;
        if (state.screenLine && state.screenLine.pc === pc) state.screenLine = null;
        pc.setLocalDescription({ type: 'rollback' }).catch(() => {});
        stopScreen(false);
        return;
      }
      if (pc && pc === state.pc) {
        send({ type: 'leave' });
        return end('errTitle', 'offerRefused', { key: 'reload', run: () => location.reload() });
      }
      return;
    }
    case 'not_allowed': case 'unknown_participant':
      console.warn('cue refused', msg);
      return;
    case 'unavailable':
      // The court's database is unreachable: the socket closes and the page tries again by
      // itself, with backoff.
      console.warn('server unavailable', msg);
      if (state.screen === 'in') showBanner('reconnecting', 'warn');
      return;
    case 'no_capacity':
      // The court's server is full (admission control): say so, in the page's language, and
      // try again by itself, with backoff, as for `unavailable`.
      console.warn('server full', msg);
      showBanner('serverFull', 'warn');
      return;
    default:
      console.warn('server error', msg);
      if (state.screen === 'in') return; // a malformed message of ours; the hearing goes on
      // Not network trouble: stop here (no reconnecting loop); the person may reload.
      return end('errTitle', 'genericError', { key: 'reload', run: () => location.reload() });
  }
}

function onMessage(gen, event) {
  if (gen !== state.wsGen) return; // a socket we already gave up on
  let msg;
  try { msg = JSON.parse(event.data); } catch { return; }
  switch (msg.type) {
    case 'invitation':
      state.invitation = msg;
      if (!state.langChosen && msg.hearing && msg.hearing.locale) setLanguage(msg.hearing.locale, false);
      renderHearing();
      if (state.screen === 'loading') startPrejoin();
      break;
    case 'waiting':
      state.invitation = { ...(state.invitation || {}), ...msg };
      if (!state.langChosen && msg.hearing && msg.hearing.locale) setLanguage(msg.hearing.locale, false);
      renderHearing();
      showCard('waiting', 'waitingTitle', 'waitingText', null);
      break;
    case 'welcome':
      hideBanner('serverFull');
      // A new session starts on the full picture; the server says if that changes.
      state.reducedPicture = false;
      window.courtroom.picture = 'full';
      renderQualityText();
      onWelcome(msg);
      break;
    case 'answer': onAnswer(msg); break;
    case 'roster': state.roster = msg.participants || []; renderRoster(); break;
    case 'recording':
      state.recording = msg.state === 'recording' || msg.state === 'paused';
      state.recordingPaused = msg.state === 'paused';
      renderRecording();
      break;
    case 'hearing_state':
      state.paused = msg.state === 'paused';
      if (state.paused) showBanner('paused', 'info'); else hideBanner('paused');
      break;
    case 'screen_hint': {
      // The server's own key of this camera: a standing hint beside the controls (not the
      // banner, which is for the connection and the hearing's state).
      const key = { too_dark: 'screenTooDark', too_uneven: 'screenUneven' }[msg.hint];
      window.courtroom.screenHint = msg.hint || null;
      if (key) { ui.screenHint.dataset.i18n = key; ui.screenHint.textContent = t(key); }
      ui.screenHint.hidden = !key;
      break;
    }
    case 'recording_gap':
      showBanner((msg.missing || []).includes('video') ? 'recordingGapVideo' : 'recordingGapAudio', 'warn');
      break;
    case 'cue': showCue(msg); break;
    case 'gavel':
      window.courtroom.gavels = (window.courtroom.gavels || 0) + 1;
      playGavel();
      setStatus(msg.act === 'close' ? 'courtClosed' : 'courtOpened');
      break;
    case 'cue_sent': setStatus('cueSent'); break;
    case 'rendition':
      state.switchGraceUntil = performance.now() + RENDITION_SWITCH_GRACE_MS;
      state.reducedPicture = msg.picture === 'reduced';
      window.courtroom.picture = msg.picture;
      renderQualityText();
      break;
    case 'closed': end('closedTitle', 'hearingClosed', null); break;
    case 'removed': end('removedTitle', 'removed', null); break;
    case 'replaced': end('replacedTitle', 'replaced', { key: 'reload', run: () => location.reload() }); break;
    case 'stopping':
      // Said once; the reconnection that follows keeps this banner rather than 'reconnecting'.
      if (!state.serverStopping) { state.serverStopping = true; showBanner('serverStopping', 'warn'); }
      break;
    case 'moved': onMoved(msg); break;
    case 'error': onError(msg); break;
    default: break; // unknown types are ignored
  }
}

// The hearing runs on another node of the court's cluster (or is moving to one): join again
// there, or after `retry_after_ms` wherever it is placed. The media goes straight to that node.
function onMoved(msg) {
  for (const n of msg.nodes || []) if (n && !state.nodes.includes(n)) state.nodes.push(n);
  if (msg.url) state.node = msg.url;
  state.movedDelay = Math.max(0, msg.retry_after_ms || 0);
  window.courtroom.timings.moves = (window.courtroom.timings.moves || 0) + 1;
  if (state.ws) { try { state.ws.close(); } catch { /* closing anyway */ } }
}

// The signalling socket's address: this page's node, or the node the cluster sent us to.
function signallingUrl() {
  const base = state.node ? new URL(state.node, location.href) : new URL(location.href);
  const scheme = base.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${base.host}/ws`;
}

// After a socket to the current node could not even open: the next node to try (this page's
// own first, then the others the cluster named).
function nextNode() {
  const all = [null, ...state.nodes.filter((n) => new URL(n, location.href).host !== location.host)];
  const at = all.findIndex((n) => n === state.node);
  state.node = all[(at + 1) % all.length];
}

// Opens the signalling socket. Before Join it sends `check`; after Join (and on every
// reconnection) it sends `join` with the same invitation, so the seat is kept.
function connect() {
  const gen = ++state.wsGen;
  state.answerQueue = []; // answers belong to the socket their offers went out on
  const ws = new WebSocket(signallingUrl());
  state.ws = ws;
  let opened = false;
  ws.addEventListener('open', () => {
    if (gen !== state.wsGen) return;
    opened = true;
    send({ type: state.wantJoin ? 'join' : 'check', token: state.token });
  });
  ws.addEventListener('message', (e) => onMessage(gen, e));
  ws.addEventListener('close', () => {
    if (gen !== state.wsGen || state.ended) return;
    state.ws = null;
    if (state.movedDelay != null) {
      // Sent to the hearing's node: go at once (or when told), as part of the same join.
      const delay = state.movedDelay;
      state.movedDelay = null;
      setTimeout(() => { if (!state.ended) connect(); }, delay);
    } else if (state.wantJoin) {
      // In the hearing or waiting: say so and come back by ourselves; a node that does not
      // answer at all is passed over for another of the court's nodes.
      if (state.recoverStart == null) state.recoverStart = performance.now();
      if (state.screen === 'in' && !state.serverStopping) showBanner('reconnecting', 'warn');
      if (!opened && (state.node || state.nodes.length)) nextNode();
      const delay = RECONNECT_DELAYS_MS[Math.min(state.reconnectTry, RECONNECT_DELAYS_MS.length - 1)];
      state.reconnectTry++;
      window.courtroom.timings.reconnects++;
      setTimeout(() => { if (!state.ended) connect(); }, delay);
    } else if (!opened || state.screen === 'loading') {
      fail('serverUnreachable', { key: 'tryAgain', run: () => { showCard('loading', 'loadingTitle', 'loadingText', null); connect(); } });
    }
  });
}

function join() {
  if (state.wantJoin) return;
  state.wantJoin = true;
  showCard('joining', 'joiningTitle', 'joiningText', null);
  if (state.ws && state.ws.readyState === WebSocket.OPEN) send({ type: 'join', token: state.token });
  else connect();
}

// ---------------------------------------------------------------- start

function main() {
  setLanguage(pickInitialLanguage(), false);
  ui.langSelect.addEventListener('change', () => setLanguage(ui.langSelect.value, true));
  ui.micBtn.addEventListener('click', () => toggleTrack('audio'));
  ui.camBtn.addEventListener('click', () => toggleTrack('video'));
  ui.cueOk.addEventListener('click', () => { ui.cue.hidden = true; });
  ui.broadcastCut.addEventListener('click', () => broadcastAct(state.broadcast && state.broadcast.cut_by_judge ? 'resume' : 'cut'));
  ui.broadcastStart.addEventListener('click', () => broadcastAct('start'));
  ui.broadcastStop.addEventListener('click', () => broadcastAct('stop'));
  ui.rosterBtn.addEventListener('click', () => {
    const open = ui.rosterBtn.getAttribute('aria-expanded') !== 'true';
    ui.rosterBtn.setAttribute('aria-expanded', String(open));
    ui.rosterPanel.classList.toggle('collapsed', !open);
  });
  for (const sel of [ui.pickCamera, ui.pickMic]) {
    sel.addEventListener('change', () => openLocalMedia().catch((err) => fail(mediaErrorKey(err), { key: 'tryAgain', run: startPrejoin })));
  }
  ui.pickSpeaker.addEventListener('change', () => {
    for (const el of ui.audioSinks.querySelectorAll('audio')) if (el.setSinkId) el.setSinkId(ui.pickSpeaker.value).catch(() => {});
  });
  ui.video.addEventListener('resize', () => {
    window.courtroomStats.video_width = ui.video.videoWidth || 0;
    window.courtroomStats.video_height = ui.video.videoHeight || 0;
  });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && !ui.cue.hidden) ui.cue.hidden = true; });
  window.addEventListener('pagehide', () => send({ type: 'leave' }));
  window.addEventListener('offline', () => { if (state.screen === 'in') showBanner('reconnecting', 'warn'); });

  state.token = new URLSearchParams(location.search).get('t');
  if (!state.token) {
    state.ended = true;
    fail('missingToken', null);
    return;
  }
  showCard('loading', 'loadingTitle', 'loadingText', null);
  connect();
}

main();
