// courtroom — the public watch page of a hearing's live broadcast (web/watch/watch.html, served
// at /watch/<hearing>). It polls GET /api/watch/<hearing> every 2 s and plays the broadcast's
// HLS playlist (/live/<hearing>/index.m3u8, the same URL for everyone, so a CDN serves one
// copy; the page says it is watching with POST /api/watch/<hearing>/watching every 5 s while
// it plays, which is how viewers are counted) with hls.js (light build,
// /web/vendor/hls.light.min.js; Safari's own HLS where there is no Media Source Extensions)
// while the hearing is open and the broadcast live. Otherwise a slate covers the picture and
// the player is torn down, so that a cut never leaves the last frame on screen.
// The page runs under a strict CSP (script-src 'self', no inline styles, no workers needed).
'use strict';

(() => {
  const POLL_MS = 2000;
  const WATCHING_MS = 5000; // the server counts a viewer for 12 s after each
  const POLL_NOT_FOUND_MS = 10000; // a hearing may become public later; ask now and then
  const POLL_TIMEOUT_MS = 8000;
  const RETRY_MS = 1000;

  // ---- Strings: one object per language (as web/portal/i18n.js). ----
  const en = {
    courtBroadcast: 'Court broadcast',
    loading: 'Loading…',
    connecting: 'Connecting to the broadcast…',
    live: 'LIVE',
    liveLabel: 'Live now',
    'state.scheduled': 'Not started yet',
    'state.open': 'In session',
    'state.paused': 'Paused',
    'state.closed': 'Ended',
    'slate.scheduled': 'The hearing has not started yet',
    'slate.off': 'The broadcast has not started',
    'slate.paused': 'The broadcast is paused',
    'slate.ended': 'The broadcast is over',
    'slate.gesture': 'Press Play to watch the broadcast',
    'slate.unsupported': 'This browser cannot play the broadcast; open the link in an up-to-date Chrome, Edge, Firefox or Safari.',
    watchReplay: 'Watch the replay',
    replay: 'Replay',
    play: 'Play',
    unmute: 'Unmute',
    mute: 'Mute',
    volume: 'Volume',
    fullscreen: 'Full screen',
    exitFullscreen: 'Exit full screen',
    viewers: '{n} watching',
    reconnecting: 'Reconnecting…',
    notBroadcast: 'This hearing is not broadcast',
    notBroadcastHint: 'The link may be wrong, or the court does not broadcast this hearing to the public.',
    footer: "Public broadcast of a court hearing. Do not record or rebroadcast it without the court's permission.",
    videoLabel: 'Broadcast of the hearing',
    langToggle: '中文',
    langToggleLang: 'zh-CN',
    langToggleTitle: '切换到中文',
  };

  const zh = {
    courtBroadcast: '庭审直播',
    loading: '加载中…',
    connecting: '正在连接直播…',
    live: '直播',
    liveLabel: '正在直播',
    'state.scheduled': '尚未开庭',
    'state.open': '正在开庭',
    'state.paused': '休庭中',
    'state.closed': '已闭庭',
    'slate.scheduled': '庭审尚未开始',
    'slate.off': '直播尚未开始',
    'slate.paused': '直播已暂停',
    'slate.ended': '直播已结束',
    'slate.gesture': '请点击“播放”观看直播',
    'slate.unsupported': '此浏览器无法播放直播；请用最新版 Chrome、Edge、Firefox 或 Safari 打开链接。',
    watchReplay: '观看回放',
    replay: '回放',
    play: '播放',
    unmute: '取消静音',
    mute: '静音',
    volume: '音量',
    fullscreen: '全屏',
    exitFullscreen: '退出全屏',
    viewers: '{n} 人正在观看',
    reconnecting: '正在重新连接…',
    notBroadcast: '本庭审不公开直播',
    notBroadcastHint: '链接可能有误，或法院未向公众直播本庭审。',
    footer: '庭审公开直播。未经法院许可，请勿录制或转播。',
    videoLabel: '庭审直播画面',
    langToggle: 'EN',
    langToggleLang: 'en',
    langToggleTitle: 'Switch to English',
  };

  const STRINGS = { en, zh };

  const $ = (id) => document.getElementById(id);
  const ui = {
    court: $('court'), title: $('title'), caseNumber: $('case-number'),
    liveBadge: $('live-badge'), stateText: $('state-text'), viewers: $('viewers'),
    langToggle: $('lang-toggle'), player: $('player'), video: $('video'), slate: $('slate'),
    slateText: $('slate-text'), replay: $('replay'), play: $('play'), controls: $('controls'),
    unmute: $('unmute'), volume: $('volume'), fullscreen: $('fullscreen'), note: $('note'),
    unavailable: $('unavailable'),
  };
  const video = ui.video;

  const S = {
    hearing: hearingFromPath(),
    lang: 'en',
    info: null,        // the last good answer of /api/watch
    notFound: false,   // /api/watch said 404
    apiDown: false,    // the last poll failed
    failures: 0,       // polls failed in a row
    replayChosen: false,
    playing: null,     // { url, mode: 'live' | 'replay' } while a player runs
    firstFrame: false, // the running player has shown a picture
    needsGesture: false,
    unsupported: false,
    playerTrouble: false,
    view: 'loading',
  };
  // Per page, never stored: the server counts viewers by it.
  const viewerId = randomHex(8);
  let hls = null;
  let retryTimer = null;
  let pollTimer = null;
  let lastMediaRecovery = 0;

  function hearingFromPath() {
    const m = location.pathname.match(/^\/watch\/([^/]+)\/?$/);
    if (!m) return null;
    try { return decodeURIComponent(m[1]); } catch { return null; }
  }

  function randomHex(bytes) {
    const a = new Uint8Array(bytes);
    crypto.getRandomValues(a);
    return Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function t(key, vars = {}) {
    let s = STRINGS[S.lang][key] ?? en[key] ?? key;
    for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
    return s;
  }

  // ---- Language ----
  function initialLanguage() {
    const q = new URLSearchParams(location.search).get('lang');
    if (q && STRINGS[q]) return q;
    try {
      const saved = localStorage.getItem('courtroom.lang');
      if (saved && STRINGS[saved]) return saved;
    } catch { /* storage blocked */ }
    return String(navigator.language || '').toLowerCase().startsWith('zh') ? 'zh' : 'en';
  }

  function setLanguage(lang, persist) {
    S.lang = STRINGS[lang] ? lang : 'en';
    if (persist) {
      try { localStorage.setItem('courtroom.lang', S.lang); } catch { /* storage blocked */ }
    }
    document.documentElement.lang = S.lang === 'zh' ? 'zh-CN' : 'en';
    for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    ui.langToggle.textContent = t('langToggle');
    ui.langToggle.lang = t('langToggleLang');
    ui.langToggle.title = t('langToggleTitle');
    render();
  }

  // ---- What to show ----
  function sameOrigin(u) {
    if (typeof u !== 'string' || !u) return null;
    try {
      const url = new URL(u, location.origin);
      return url.origin === location.origin ? url : null;
    } catch { return null; }
  }

  function localPath(u) {
    const url = sameOrigin(u);
    return url ? url.pathname + url.search : null;
  }

  function liveUrl() {
    const fallback = `/live/${encodeURIComponent(S.hearing)}/index.m3u8`;
    return localPath(S.info && S.info.playlist) || localPath(fallback);
  }

  function replayUrl() {
    return S.info && typeof S.info.replay === 'string' ? localPath(S.info.replay) : null;
  }

  // While the live picture plays, the page says so every WATCHING_MS: the viewer count.
  let watchingTimer = null;
  function sayWatching() {
    clearTimeout(watchingTimer);
    watchingTimer = null;
    if (!(S.playing && S.playing.mode === 'live')) return;
    fetch(`/api/watch/${encodeURIComponent(S.hearing)}/watching`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ viewer: viewerId }), cache: 'no-store', keepalive: true,
    }).catch(() => { /* counted again at the next beat */ });
    watchingTimer = setTimeout(sayWatching, WATCHING_MS);
  }

  function viewOf() {
    if (S.notFound || !S.hearing) return 'missing';
    const i = S.info;
    if (!i) return 'loading';
    if (i.state === 'closed' || i.broadcast === 'ended') return S.replayChosen && replayUrl() ? 'replay' : 'ended';
    if (i.state === 'scheduled') return 'scheduled';
    if (i.state === 'paused' || i.broadcast === 'cut') return 'paused';
    if (i.state === 'open' && i.broadcast === 'live') return 'live';
    return 'off';
  }

  function render() {
    const view = viewOf();
    S.view = view;
    document.body.dataset.view = view;
    const i = S.info;
    const missing = view === 'missing';

    // Header.
    ui.court.textContent = (!missing && i && i.court) || '';
    ui.court.hidden = !ui.court.textContent;
    ui.title.textContent = missing ? t('courtBroadcast') : (i && i.title) || (i && i.case_number) || t('loading');
    ui.caseNumber.textContent = (!missing && i && i.title && i.case_number) || '';
    ui.caseNumber.hidden = !ui.caseNumber.textContent;
    document.title = missing ? t('notBroadcast')
      : i ? [i.title || i.case_number, i.court].filter(Boolean).join(' · ') || t('courtBroadcast')
        : t('courtBroadcast');
    const live = view === 'live';
    ui.liveBadge.hidden = !live;
    ui.liveBadge.textContent = t('live');
    ui.liveBadge.title = t('liveLabel');
    const stateKey = !missing && i ? `state.${i.state}` : null;
    ui.stateText.textContent = stateKey && (STRINGS[S.lang][stateKey] || en[stateKey]) ? t(stateKey)
      : view === 'replay' ? t('replay') : '';
    const n = i && Number.isInteger(i.viewers) && i.viewers >= 0 ? i.viewers : null;
    ui.viewers.hidden = missing || n === null;
    ui.viewers.textContent = n === null ? '' : t('viewers', { n });

    // Not broadcast: no player at all.
    ui.unavailable.hidden = !missing;
    ui.player.hidden = missing || view === 'loading';

    // The player runs only while live (or playing the replay the viewer asked for).
    const want = view === 'live' ? liveUrl() : view === 'replay' ? replayUrl() : null;
    if (!want) stopPlayer();
    else if (!S.playing || S.playing.url !== want || S.playing.mode !== view) {
      stopPlayer();
      startPlayer(want, view);
      if (view === 'live') sayWatching();
    }
    if (!(S.playing && S.playing.mode === 'live') && watchingTimer) {
      clearTimeout(watchingTimer);
      watchingTimer = null;
    }

    // The slate: whenever there is no live picture to show.
    let slate = null;
    if (view === 'loading') slate = t('loading');
    else if (view === 'scheduled' || view === 'off' || view === 'paused' || view === 'ended') slate = t(`slate.${view}`);
    else if (S.unsupported) slate = t('slate.unsupported');
    else if (S.needsGesture) slate = t('slate.gesture');
    else if (!S.firstFrame) slate = t('connecting');
    ui.slate.hidden = slate === null;
    if (ui.slateText.textContent !== (slate || '')) ui.slateText.textContent = slate || '';
    ui.replay.hidden = !(view === 'ended' && replayUrl());
    ui.play.hidden = !(S.playing && S.needsGesture && !S.unsupported);
    // Never the last frame behind a slate: the element itself goes.
    video.hidden = !S.playing;

    // Controls under the picture while live; the replay has the browser's own (seeking).
    const liveControls = view === 'live' && !!S.playing && !S.unsupported;
    ui.unmute.hidden = !liveControls;
    ui.volume.parentElement.hidden = !liveControls;
    // In full screen the bar stays (to leave it), whatever the slate says.
    ui.controls.hidden = !liveControls && !document.fullscreenElement;
    video.controls = view === 'replay' && !!S.playing;
    video.setAttribute('aria-label', t('videoLabel'));
    renderControls();

    const trouble = S.apiDown || (S.playerTrouble && !!S.playing);
    ui.note.hidden = !trouble;
    ui.note.textContent = trouble ? t('reconnecting') : '';
  }

  function renderControls() {
    ui.unmute.textContent = video.muted || video.volume === 0 ? t('unmute') : t('mute');
    ui.volume.value = String(video.muted ? 0 : video.volume);
    ui.volume.setAttribute('aria-valuetext', `${Math.round((video.muted ? 0 : video.volume) * 100)}%`);
    const canFull = !!(document.fullscreenEnabled || video.webkitEnterFullscreen);
    ui.fullscreen.hidden = !canFull;
    ui.fullscreen.textContent = document.fullscreenElement ? t('exitFullscreen') : t('fullscreen');
  }

  // ---- The player ----
  function startPlayer(url, mode) {
    S.playing = { url, mode };
    S.firstFrame = false;
    S.needsGesture = false;
    S.playerTrouble = false;
    video.hidden = false;
    const Hls = window.Hls;
    if (Hls && Hls.isSupported()) {
      createHls(url, mode);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = url; // Safari on iPhone: its own HLS
      tryPlay();
    } else {
      S.unsupported = true;
    }
  }

  function createHls(url, mode) {
    const Hls = window.Hls;
    const h = new Hls({
      enableWorker: false,        // CSP: no blob workers needed
      lowLatencyMode: true,       // LL-HLS: 0.5 s parts, blocking playlist reloads
      // No liveSync*/liveMaxLatency* here: any of them would override the playlist's
      // PART-HOLD-BACK (1.5 s behind the live edge); beyond that plus a segment (≈ 3.5 s)
      // hls.js jumps back to the edge.
      maxLiveSyncPlaybackRate: 1.1,   // or catch up gently
      backBufferLength: 30,
      maxBufferLength: 20,
      startFragPrefetch: true,
      startPosition: mode === 'replay' ? 0 : -1,
    });
    hls = h;
    h.on(Hls.Events.ERROR, (_event, data) => onHlsError(h, data));
    h.on(Hls.Events.MANIFEST_PARSED, () => { if (h === hls) tryPlay(); });
    h.on(Hls.Events.FRAG_BUFFERED, () => {
      if (h === hls && S.playerTrouble) { S.playerTrouble = false; render(); }
    });
    h.attachMedia(video);
    h.loadSource(url);
  }

  function onHlsError(h, data) {
    if (h !== hls || !data || !data.fatal) return;
    const Hls = window.Hls;
    clearTimeout(retryTimer);
    console.warn('broadcast player:', data.type, data.details);
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR && Date.now() - lastMediaRecovery > 5000) {
      lastMediaRecovery = Date.now();
      h.recoverMediaError();
      return;
    }
    S.playerTrouble = true;
    render();
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR && h.levels && h.levels.length) {
      // A playlist refresh or a segment failed: load again from where it was.
      retryTimer = setTimeout(() => { if (h === hls) h.startLoad(); }, RETRY_MS);
      return;
    }
    // The playlist never loaded (the broadcast is just starting), or media that would not
    // recover: a fresh player.
    retryTimer = setTimeout(() => {
      if (h !== hls || !S.playing) return;
      const { url, mode } = S.playing;
      h.destroy();
      hls = null;
      createHls(url, mode);
    }, RETRY_MS);
  }

  function stopPlayer() {
    clearTimeout(retryTimer);
    retryTimer = null;
    // The element goes first, so no stale frame shows for a moment.
    video.hidden = true;
    if (!S.playing && !hls) return;
    if (hls) {
      hls.destroy();
      hls = null;
    }
    video.pause();
    video.removeAttribute('src');
    video.load();
    video.controls = false;
    S.playing = null;
    S.firstFrame = false;
    S.needsGesture = false;
    S.playerTrouble = false;
  }

  function tryPlay() {
    const p = video.play();
    if (!p || !p.catch) return;
    p.then(() => {
      if (S.needsGesture) { S.needsGesture = false; render(); }
    }).catch((e) => {
      if (!e || e.name !== 'NotAllowedError' || !S.playing) return;
      if (!video.muted) {
        // Sound needs a gesture here: play muted, the viewer can unmute.
        video.muted = true;
        tryPlay();
        renderControls();
        return;
      }
      S.needsGesture = true;
      render();
    });
  }

  video.addEventListener('playing', () => {
    if (!S.playing) return;
    S.needsGesture = false;
    if (!S.firstFrame || S.playerTrouble) {
      S.firstFrame = true;
      S.playerTrouble = false;
      render();
    }
  });
  // The browser's own HLS (no hls.js): a failed load is tried again after a second.
  video.addEventListener('error', () => {
    if (!S.playing || hls || S.unsupported) return;
    const { url } = S.playing;
    S.playerTrouble = true;
    render();
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      if (!S.playing || S.playing.url !== url || hls) return;
      video.src = url;
      tryPlay();
    }, RETRY_MS);
  });
  video.addEventListener('volumechange', renderControls);

  // ---- Controls ----
  ui.unmute.addEventListener('click', () => {
    if (video.muted || video.volume === 0) {
      video.muted = false;
      if (video.volume === 0) video.volume = 1;
      if (video.paused && S.playing) tryPlay();
    } else {
      video.muted = true;
    }
    renderControls();
  });
  ui.volume.addEventListener('input', () => {
    const v = Number(ui.volume.value);
    video.volume = v;
    video.muted = v === 0;
    renderControls();
  });
  ui.fullscreen.addEventListener('click', () => {
    if (document.fullscreenElement) {
      document.exitFullscreen().catch(() => {});
    } else if (ui.player.requestFullscreen && document.fullscreenEnabled) {
      ui.player.requestFullscreen().catch(() => {});
    } else if (video.webkitEnterFullscreen) {
      video.webkitEnterFullscreen(); // iPhone: the video element only
    }
  });
  document.addEventListener('fullscreenchange', render);
  ui.play.addEventListener('click', () => { S.needsGesture = false; tryPlay(); render(); });
  ui.replay.addEventListener('click', () => {
    S.replayChosen = true;
    video.muted = false; // a gesture: sound is allowed
    render();
  });
  ui.langToggle.addEventListener('click', () => setLanguage(S.lang === 'zh' ? 'en' : 'zh', true));

  // ---- Polling /api/watch ----
  async function poll() {
    clearTimeout(pollTimer);
    let next = POLL_MS;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), POLL_TIMEOUT_MS);
    try {
      const r = await fetch(`/api/watch/${encodeURIComponent(S.hearing)}`, {
        cache: 'no-store', credentials: 'same-origin', signal: ctl.signal,
        headers: { accept: 'application/json' },
      });
      if (r.status === 404) {
        S.notFound = true;
        S.info = null;
        next = POLL_NOT_FOUND_MS;
      } else if (!r.ok) {
        throw new Error(`HTTP ${r.status}`);
      } else {
        const info = await r.json();
        if (!info || typeof info !== 'object' || typeof info.state !== 'string') throw new Error('unexpected answer');
        S.notFound = false;
        S.info = info;
        if (!(info.state === 'closed' || info.broadcast === 'ended')) S.replayChosen = false;
      }
      S.apiDown = false;
      S.failures = 0;
    } catch (e) {
      S.failures += 1;
      S.apiDown = true;
      if (S.failures === 1) console.warn('watch: status poll failed:', e && e.message);
      // Keep what was shown: a live picture goes on while the status is unreachable.
      next = S.failures > 10 ? 5000 : POLL_MS;
    } finally {
      clearTimeout(timer);
    }
    render();
    pollTimer = setTimeout(poll, next);
  }

  // ---- A read-only hook for the browser tests ----
  Object.defineProperty(window, 'courtroomWatch', {
    value: Object.freeze({
      get state() {
        const i = S.info || {};
        return {
          view: S.view, hearing: S.hearing, state: i.state ?? null, broadcast: i.broadcast ?? null,
          viewers: i.viewers ?? null, reconnecting: !ui.note.hidden, lang: S.lang,
          playing: S.playing ? S.playing.mode : null,
        };
      },
      player: () => {
        const q = typeof video.getVideoPlaybackQuality === 'function' ? video.getVideoPlaybackQuality() : null;
        return {
          currentTime: video.currentTime, videoWidth: video.videoWidth, videoHeight: video.videoHeight,
          decodedFrames: q ? q.totalVideoFrames : (video.webkitDecodedFrameCount || 0),
        };
      },
      slateShown: () => !ui.slate.hidden,
    }),
    enumerable: true,
  });

  setLanguage(initialLanguage(), false);
  if (S.hearing) poll();
  else render();
})();
