// The clerk portal: log in, list and create hearings, invite, open/pause/close, record,
// broadcast public hearings, monitor, download and verify recordings, read the audit trail.
// Hash routes: #/login, #/hearings, #/hearing/ID, #/audit. Every element is built with h(),
// never from HTML strings, so names and titles cannot inject markup.

import { api, ApiError } from './api.js';
import { t, lang, setLang, translate } from './i18n.js';

const ROLES = ['presiding_judge', 'assessor', 'clerk', 'plaintiff', 'defendant', 'witness', 'observer'];
const main = document.getElementById('main');
let me = null;
let timer = null;

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function toast(message, bad = false) {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.className = bad ? 'bad' : '';
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 4000);
}

function explain(e) {
  if (e instanceof ApiError) {
    const key = `err.${e.code}`;
    const text = t(key);
    return text === key ? e.message : text;
  }
  return String(e);
}

// Runs an action; on failure shows why (and sends to login when the session ended).
async function attempt(fn) {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401 && location.hash !== '#/login') {
      me = null;
      location.hash = '#/login';
    }
    toast(explain(e), true);
    throw e;
  }
}

function field(labelKey, input) {
  return h('label', {}, h('span', { text: t(labelKey) }), input);
}

function time(s) {
  if (!s) return '';
  const d = typeof s === 'number' ? new Date(s * 1000) : new Date(s);
  return isNaN(d) ? String(s) : d.toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB');
}

function stateBadge(state) {
  return h('span', { class: `badge state-${state}`, 'data-state': state, text: t(`state.${state}`) });
}

// Public (may be broadcast) or closed to the public (minors, privacy, trade secrets: never).
function publicBadge(isPublic) {
  const yes = !!isPublic;
  return h('span', { class: `badge ${yes ? 'public' : 'not-public'}`, 'data-public': String(yes), text: t(yes ? 'public.yes' : 'public.no') });
}

// ---- views ----

function loginView() {
  const user = h('input', { id: 'login-username', name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', { id: 'login-form', class: 'card narrow' },
    h('h2', { text: t('login.title') }),
    field('login.username', user),
    field('login.password', pass),
    h('button', { type: 'submit', id: 'login-submit', text: t('login.submit') }));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await attempt(() => api.login(user.value, pass.value)).catch(() => null);
    if (r) {
      me = r.user;
      location.hash = '#/hearings';
    }
  });
  return form;
}

async function hearingsView() {
  const { hearings } = await attempt(() => api.hearings());
  const rows = hearings.map((x) => h('tr', { 'data-hearing': x.id },
    h('td', {}, h('a', { href: `#/hearing/${encodeURIComponent(x.id)}`, text: x.case_number })),
    h('td', { text: x.title }),
    h('td', { text: time(x.scheduled_at) }),
    h('td', {}, stateBadge(x.state)),
    h('td', {}, publicBadge(x.public))));
  const table = hearings.length
    ? h('table', { id: 'hearings' },
      h('thead', {}, h('tr', {}, ['hearing.case_number', 'hearing.title', 'hearing.scheduled_at', 'hearing.state', 'hearing.publicity'].map((k) => h('th', { text: t(k) })))),
      h('tbody', {}, rows))
    : h('p', { text: t('hearings.none') });

  const cn = h('input', { id: 'new-case-number', required: true, maxlength: 200 });
  const title = h('input', { id: 'new-title', required: true, maxlength: 200 });
  const when = h('input', { id: 'new-scheduled', type: 'datetime-local' });
  const locale = h('select', { id: 'new-locale' }, h('option', { value: 'zh', text: '中文' }), h('option', { value: 'en', text: 'English' }));
  locale.value = lang();
  // Closed to the public unless the clerk says otherwise.
  const isPublic = h('input', { id: 'new-public', type: 'checkbox' });
  const form = h('form', { id: 'create-hearing', class: 'card' },
    h('h3', { text: t('hearings.create') }),
    h('div', { class: 'row' }, field('hearing.case_number', cn), field('hearing.title', title)),
    h('div', { class: 'row' }, field('hearing.scheduled_at', when), field('hearing.locale', locale)),
    h('label', { class: 'check' }, isPublic, h('span', { text: t('hearing.public') })),
    h('p', { class: 'hint', text: t('hearing.public_hint') }),
    h('button', { type: 'submit', id: 'create-submit', text: t('hearing.create') }));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { case_number: cn.value, title: title.value, locale: locale.value, public: isPublic.checked };
    if (when.value) body.scheduled_at = new Date(when.value).toISOString();
    const r = await attempt(() => api.createHearing(body)).catch(() => null);
    if (r) {
      toast(t('hearing.created'));
      location.hash = `#/hearing/${encodeURIComponent(r.hearing.id)}`;
    }
  });
  return h('section', {}, h('h2', { text: t('hearings.title') }), form, table);
}

function stateButtons(id, state, refresh) {
  const go = (to, confirmKey) => async () => {
    if (confirmKey && !confirm(t(confirmKey))) return;
    await attempt(() => api.setState(id, to)).catch(() => null);
    refresh();
  };
  const b = [];
  if (state === 'scheduled') b.push(h('button', { id: 'state-open', onclick: go('open'), text: t('action.open') }));
  if (state === 'open') b.push(h('button', { id: 'state-pause', onclick: go('paused'), text: t('action.pause') }));
  if (state === 'paused') b.push(h('button', { id: 'state-open', onclick: go('open'), text: t('action.resume') }));
  if (state !== 'closed') b.push(h('button', { id: 'state-close', class: 'danger', onclick: go('closed', 'confirm.close'), text: t('action.close') }));
  return h('div', { class: 'buttons' }, b);
}

function inviteCard(id, seats, refresh) {
  const role = h('select', { id: 'invite-role' }, ROLES.map((r) => h('option', { value: r, text: t(`role.${r}`) })));
  const seat = h('select', { id: 'invite-seat' });
  const fillSeats = () => {
    seat.replaceChildren(h('option', { value: '', text: t('invite.seat_auto') }),
      ...seats.filter((s) => s.role === role.value).map((s) => h('option', { value: s.seat, text: s.seat })));
  };
  role.addEventListener('change', fillSeats);
  fillSeats();
  const name = h('input', { id: 'invite-name', required: true, maxlength: 200 });
  const out = h('div', { id: 'invite-result' });
  const form = h('form', { id: 'invite-form', class: 'card' },
    h('h3', { text: t('invite.title') }),
    h('div', { class: 'row' }, field('invite.role', role), field('invite.seat', seat), field('invite.name', name)),
    h('button', { type: 'submit', id: 'invite-submit', text: t('invite.submit') }),
    out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { role: role.value, name: name.value };
    if (seat.value) body.seat = seat.value;
    const r = await attempt(() => api.invite(id, body)).catch(() => null);
    if (!r) return;
    const link = h('input', { id: 'invite-link', readonly: true, value: r.url });
    const copy = h('button', {
      type: 'button', id: 'invite-copy', text: t('invite.copy'),
      onclick: async () => {
        link.select();
        try { await navigator.clipboard.writeText(r.url); } catch { document.execCommand('copy'); }
        toast(t('invite.copied'));
      },
    });
    // The same link as a QR code, drawn by the server, for a phone to scan.
    const qr = h('figure', { class: 'qr' },
      h('img', { id: 'invite-qr', src: r.qr, alt: t('invite.qr_alt', { name: r.invitation.name }), width: 176, height: 176 }),
      h('figcaption', { class: 'hint', text: t('invite.qr_hint') }));
    out.replaceChildren(h('div', { class: 'invite-out' },
      h('div', { class: 'invite-text' },
        h('p', { class: 'hint', text: `${t('invite.link')} — ${r.invitation.name} · ${t(`role.${r.invitation.role}`)} · ${r.invitation.seat}` }),
        h('div', { class: 'row' }, link, copy)),
      qr));
    name.value = '';
    refresh(false);
  });
  return form;
}

function invitationsTable(id, invitations, refresh) {
  if (!invitations.length) return h('span');
  return h('table', { id: 'invitations' },
    h('thead', {}, h('tr', {}, ['invite.name', 'invite.role', 'invite.seat', 'invite.expires', ''].map((k) => h('th', { text: k ? t(k) : '' })))),
    h('tbody', {}, invitations.map((i) => h('tr', { 'data-invitation': i.id, class: i.revoked ? 'revoked' : '' },
      h('td', { text: i.name }), h('td', { text: t(`role.${i.role}`) }), h('td', { text: i.seat }),
      h('td', { text: time(i.expires_at) }),
      h('td', {}, i.revoked ? t('invite.revoked') : h('button', {
        class: 'small', text: t('invite.revoke'),
        onclick: async () => { await attempt(() => api.revoke(id, i.id)).catch(() => null); refresh(); },
      }))))));
}

function recordingsCard(recordings) {
  if (!recordings.length) return h('p', { text: t('rec.none') });
  return h('ul', { id: 'recordings', class: 'recordings' }, recordings.map(({ recording: r, files }) => {
    const status = h('span', { class: 'verify-status' });
    const verify = h('button', {
      class: 'small verify', type: 'button', text: t('rec.verify'),
      onclick: async () => {
        const v = await attempt(() => api.verifyRecording(r.id)).catch(() => null);
        if (!v) return;
        const why = v.findings.filter((f) => f.error).map((f) => f.message).join('; ');
        status.textContent = v.ok ? t('rec.verified', { n: v.segments }) : t('rec.failed', { why });
        status.className = `verify-status ${v.ok ? 'good' : 'bad'}`;
        status.dataset.ok = String(v.ok);
      },
    });
    const done = r.state !== 'recording';
    return h('li', { 'data-recording': r.id },
      h('div', {}, h('strong', { text: r.id }), ' ', h('span', { class: 'badge', text: r.state }),
        r.sealed_at ? h('span', { class: 'badge sealed', text: t('rec.sealed') }) : null),
      done ? h('div', { class: 'files' },
        files.map((f) => h('a', { href: api.fileUrl(r.id, f.name), download: f.name, text: `${f.name} (${(f.size / 1e6).toFixed(2)} MB)` })),
        h('a', { class: 'bundle', href: api.bundleUrl(r.id), download: `${r.id}.zip`, text: t('rec.bundle') }),
        h('a', { class: 'bundle evidence', href: api.evidenceUrl(r.id), download: `evidence-${r.id}.zip`, text: t('rec.evidence') }),
        verify, status) : null);
  }));
}

// The hearing's exhibits: each with its title, pages, SHA-256 and a download of the file as
// presented.
function exhibitsCard(id, ex) {
  if (!ex.exhibits.length) return h('p', { text: t('ex.none') });
  const shown = ex.on_display && ex.on_display.exhibit;
  return h('ul', { id: 'exhibits', class: 'recordings' }, ex.exhibits.map((e) => h('li', { 'data-exhibit': e.id },
    h('div', {}, h('a', { href: api.exhibitUrl(id, e.id), download: `exhibit-${e.id}.${e.kind === 'jpeg' ? 'jpg' : e.kind}`, text: e.title }),
      ' ', h('span', { class: 'badge', text: `${e.kind.toUpperCase()} · ${t('ex.pages', { n: e.pages })}` }),
      shown === e.id ? h('span', { class: 'badge sealed', text: t('ex.on_display') }) : null),
    h('div', { class: 'hint' }, h('code', { text: `SHA-256 ${e.sha256}` })))));
}

function quality(stats) {
  if (!stats || stats.rtt_ms === undefined) return '–';
  const parts = [];
  if (stats.rtt_ms !== undefined) parts.push(`RTT ${Math.round(stats.rtt_ms)} ms`);
  if (stats.packets_lost !== undefined) parts.push(`lost ${stats.packets_lost}`);
  if (stats.jitter_ms !== undefined) parts.push(`jitter ${Math.round(stats.jitter_ms)} ms`);
  if (stats.frame_width) parts.push(`${stats.frame_width}×${stats.frame_height}`);
  return parts.join(' · ');
}

// The composite picture, fetched about twice a second while the hearing is live; a
// "no picture yet" line otherwise. Stops once the card leaves the page.
function compositePicture(id) {
  const img = h('img', { id: 'monitor-picture', class: 'composite', alt: t('mon.picture_alt'), hidden: true });
  const none = h('p', { id: 'monitor-no-picture', class: 'hint', text: t('mon.no_picture') });
  const el = h('div', { class: 'composite-box' }, img, none);
  let live = false;
  let shown = null;
  let attached = false;
  let pending = null;
  img.addEventListener('load', () => {
    if (shown && shown !== img.src) URL.revokeObjectURL(shown);
    shown = img.src;
  });
  async function refresh() {
    pending = null;
    if (el.isConnected) attached = true;
    else if (attached) {
      if (shown) URL.revokeObjectURL(shown);
      return;
    }
    const blob = live ? await api.composite(id).catch(() => null) : null;
    if (blob) {
      img.src = URL.createObjectURL(blob);
      img.hidden = false;
      none.hidden = true;
    } else {
      img.hidden = true;
      none.hidden = false;
    }
    pending = setTimeout(refresh, live ? 500 : 2000);
  }
  pending = setTimeout(refresh, 0);
  // The hearing just went live: fetch now rather than at the next slow poll.
  const setLive = (running) => {
    if (running && !live && pending !== null) {
      clearTimeout(pending);
      pending = setTimeout(refresh, 0);
    }
    live = !!running;
  };
  return { el, setLive };
}

// The public broadcast: whether the hearing is public (switchable while it is scheduled), and
// for a public hearing that is not closed: start, stop, cut and resume, the status (refreshed
// every 3 s while the card is on the page), and the watch page's link.
function broadcastCard(id, hr, refresh) {
  const scheduled = hr.state === 'scheduled';
  const publicity = h('div', { class: 'buttons' },
    h('span', { class: 'hint', text: t(hr.public ? 'broadcast.is_public' : 'broadcast.is_closed') }));
  if (scheduled) {
    publicity.append(h('button', {
      id: 'public-toggle', type: 'button', class: 'small',
      text: t(hr.public ? 'broadcast.make_closed' : 'broadcast.make_public'),
      onclick: async () => {
        const r = await attempt(() => api.setPublic(id, !hr.public)).catch(() => null);
        if (r) toast(t(r.public ? 'broadcast.now_public' : 'broadcast.now_closed'));
        refresh();
      },
    }));
  } else {
    publicity.append(h('span', { class: 'hint', text: t('broadcast.settled') }));
  }
  const card = h('section', { id: 'broadcast', class: 'card', 'data-public': String(!!hr.public) },
    h('h3', { text: t('broadcast.title') }), publicity);
  if (!hr.public || hr.state === 'closed') return card;

  const status = h('span', { id: 'broadcast-state', class: 'badge', 'data-state': 'unknown', text: t('loading') });
  const act = (name) => async (ev) => {
    const btn = ev.currentTarget;
    btn.disabled = true;
    const r = await attempt(() => api.broadcastAct(id, name)).catch(() => null);
    btn.disabled = false;
    if (r) show(r.broadcast);
    else update(false);
  };
  const start = h('button', { id: 'broadcast-start', type: 'button', text: t('broadcast.start'), onclick: act('start') });
  const stop = h('button', { id: 'broadcast-stop', type: 'button', class: 'danger', text: t('broadcast.stop'), onclick: act('stop') });
  const cut = h('button', { id: 'broadcast-cut', type: 'button', class: 'danger', text: t('broadcast.cut'), onclick: act('cut') });
  const resume = h('button', { id: 'broadcast-resume', type: 'button', text: t('broadcast.resume'), onclick: act('resume') });
  for (const b of [start, stop, cut, resume]) b.hidden = true;

  // b: {state, viewers, segments, cut_by_judge}, or null while the hearing is not running.
  function show(b) {
    const s = b ? b.state : 'none';
    const onAir = s === 'live' || s === 'cut';
    status.dataset.state = s;
    status.dataset.viewers = b ? String(b.viewers) : '0';
    status.className = `badge broadcast-${s}`;
    const key = s === 'cut' && !b.cut_by_judge ? 'broadcast.status.paused' : `broadcast.status.${s}`;
    status.textContent = t(key, { n: b ? b.viewers : 0 });
    status.title = b ? t('broadcast.segments', { n: b.segments }) : '';
    start.hidden = onAir;
    stop.hidden = !onAir;
    cut.hidden = !onAir || b.cut_by_judge;
    resume.hidden = !onAir || !b.cut_by_judge;
  }
  let placed = false;
  async function update(again = true) {
    // Stops once the card has left the page (the first call runs before it is placed on it).
    if (placed && !card.isConnected) return;
    placed = true;
    try {
      show((await api.broadcast(id)).broadcast);
    } catch (e) {
      status.dataset.state = 'error';
      status.className = 'badge';
      status.textContent = explain(e);
    }
    if (again) setTimeout(update, 3000);
  }
  update();

  const url = new URL(api.watchUrl(id), location.href).href;
  const link = h('a', { id: 'watch-link', href: url, target: '_blank', rel: 'noopener', text: url });
  const copy = h('button', {
    type: 'button', id: 'watch-copy', class: 'small', text: t('broadcast.copy'), 'aria-label': t('broadcast.copy_label'),
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(url);
      } catch {
        const range = document.createRange();
        range.selectNodeContents(link);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        document.execCommand('copy');
      }
      toast(t('broadcast.copied'));
    },
  });
  card.append(
    h('div', { class: 'buttons' }, status, start, stop, cut, resume),
    h('p', { class: 'hint', text: t('broadcast.cut_hint') }),
    h('div', { class: 'watch-link' }, h('span', { class: 'hint', text: `${t('broadcast.watch')}:` }), link, copy));
  return card;
}

function monitorCard(id) {
  const body = h('div', { id: 'monitor' }, t('loading'));
  const recState = h('span', { id: 'recording-state', class: 'badge' });
  const start = h('button', {
    id: 'rec-start', text: t('rec.start'),
    onclick: async () => { await attempt(() => api.startRecording(id)).catch(() => null); update(); refreshRecordings(); },
  });
  const stop = h('button', {
    id: 'rec-stop', class: 'danger', text: t('rec.stop'),
    onclick: async () => {
      stop.disabled = true;
      await attempt(() => api.stopRecording(id)).catch(() => null);
      stop.disabled = false;
      update();
      refreshRecordings();
    },
  });
  const picture = compositePicture(id);
  async function update() {
    let m;
    try { m = await api.monitor(id); } catch (e) { body.textContent = explain(e); return; }
    picture.setLive(m.running);
    const recording = m.recording && m.recording.state === 'recording';
    recState.textContent = recording ? t('rec.recording') : t('rec.stopped');
    recState.dataset.state = recording ? 'recording' : 'stopped';
    recState.className = `badge ${recording ? 'live' : ''}`;
    start.hidden = recording;
    stop.hidden = !recording;
    if (!m.participants.length) {
      body.replaceChildren(h('p', { text: t('mon.not_running') }));
      return;
    }
    body.replaceChildren(h('table', {},
      h('thead', {}, h('tr', {}, ['mon.name', 'mon.role', 'mon.seat', 'mon.connected', 'mon.quality', ''].map((k) => h('th', { text: k ? t(k) : '' })))),
      h('tbody', {}, m.participants.map((p) => h('tr', { 'data-participant': p.participant_id },
        h('td', { text: p.name }), h('td', { text: t(`role.${p.role}`) }), h('td', { text: p.seat }),
        h('td', { text: (p.connected ? t('yes') : t('no')) + (p.away ? ` (${t('mon.away')})` : '') }),
        h('td', { text: quality(p.stats) }),
        h('td', {},
          h('button', { class: 'small', text: p.muted ? t('mon.unmute') : t('mon.mute'), onclick: async () => { await attempt(() => api.mute(id, p.participant_id, !p.muted)).catch(() => null); update(); } }),
          h('button', { class: 'small danger', text: t('mon.remove'), onclick: async () => { await attempt(() => api.remove(id, p.participant_id)).catch(() => null); update(); } })))))));
  }
  const recList = h('div', { id: 'recordings-box' });
  const exList = h('div', { id: 'exhibits-box' });
  async function refreshRecordings() {
    const r = await api.recordings(id).catch(() => null);
    if (r) recList.replaceChildren(recordingsCard(r.recordings));
    // Exhibits are kept by the running hearing: none to list before it opens.
    const ex = await api.exhibits(id).catch(() => null);
    exList.replaceChildren(ex ? exhibitsCard(id, ex) : h('p', { text: t('ex.none') }));
  }
  update();
  refreshRecordings();
  timer = setInterval(update, 2000);
  return h('div', {},
    h('section', { class: 'card' }, h('h3', { text: t('rec.title') }), h('div', { class: 'buttons' }, recState, start, stop)),
    h('section', { class: 'card' }, h('h3', { text: t('mon.title') }), h('p', { class: 'hint', text: t('mon.composite') }), picture.el, body),
    h('section', { class: 'card' }, h('h3', { text: t('ex.title') }), exList),
    h('section', { class: 'card' }, h('h3', { text: t('rec.list') }), recList));
}

async function hearingView(id) {
  const box = h('section', {});
  async function refresh(full = true) {
    const d = await attempt(() => api.hearing(id));
    const hr = d.hearing;
    const head = h('div', { class: 'hearing-head' },
      h('a', { href: '#/hearings', text: t('hearing.back') }),
      h('h2', {}, `${hr.case_number} · ${hr.title} `, stateBadge(hr.state), ' ', publicBadge(hr.public)),
      h('p', { class: 'hint', text: `${t('hearing.scheduled_at')}: ${time(hr.scheduled_at) || '–'} · ${t('hearing.layout')}: ${hr.layout} · ${hr.locale}` }),
      stateButtons(id, hr.state, refresh));
    const invites = h('section', { class: 'card' }, h('h3', { text: t('invite.list') }), invitationsTable(id, d.invitations, refresh));
    if (full || !box.firstChild) {
      if (timer) clearInterval(timer);
      box.replaceChildren(head,
        hr.state !== 'closed' ? inviteCard(id, d.seats, refresh) : null,
        invites,
        broadcastCard(id, hr, refresh),
        monitorCard(id));
    } else {
      box.replaceChild(invites, box.children[hr.state !== 'closed' ? 2 : 1]);
    }
  }
  await refresh();
  return box;
}

async function auditView() {
  const status = h('span', { id: 'audit-status' });
  const check = h('button', {
    id: 'audit-verify', text: t('audit.verify'),
    onclick: async () => {
      const v = await attempt(() => api.verifyAudit()).catch(() => null);
      if (!v) return;
      status.textContent = v.ok ? t('audit.ok', { n: v.entries }) : t('audit.broken', { why: v.error });
      status.className = v.ok ? 'good' : 'bad';
    },
  });
  const { entries } = await attempt(() => api.audit());
  return h('section', {},
    h('h2', { text: t('audit.title') }),
    h('div', { class: 'buttons' }, check, status),
    h('table', { id: 'audit' },
      h('thead', {}, h('tr', {}, ['audit.seq', 'audit.at', 'audit.actor', 'audit.action', 'audit.hearing', 'audit.detail'].map((k) => h('th', { text: t(k) })))),
      h('tbody', {}, entries.map((e) => h('tr', { 'data-action': e.action },
        h('td', { text: e.seq }), h('td', { text: time(e.at) }), h('td', { text: e.actor }),
        h('td', { text: e.action }), h('td', { text: e.hearing_id || '' }),
        h('td', { class: 'detail', text: e.detail, title: e.hash }))))));
}

// ---- routing ----

async function route() {
  if (timer) { clearInterval(timer); timer = null; }
  translate();
  document.getElementById('lang').textContent = lang() === 'zh' ? 'English' : '中文';
  const hash = location.hash || '#/hearings';
  if (!me && hash !== '#/login') {
    try { me = (await api.me()).user; } catch { location.hash = '#/login'; return; }
  }
  document.getElementById('nav').hidden = !me;
  document.getElementById('who').textContent = me ? `${me.display_name} (${me.role})` : '';
  let view;
  try {
    if (hash === '#/login') view = loginView();
    else if (hash === '#/audit') view = await auditView();
    else if (hash.startsWith('#/hearing/')) view = await hearingView(decodeURIComponent(hash.slice('#/hearing/'.length)));
    else view = await hearingsView();
  } catch (e) {
    view = h('p', { class: 'bad', text: explain(e) });
  }
  main.replaceChildren(view);
}

document.getElementById('lang').addEventListener('click', () => {
  setLang(lang() === 'zh' ? 'en' : 'zh');
  route();
});
document.getElementById('logout').addEventListener('click', async () => {
  await api.logout().catch(() => null);
  me = null;
  location.hash = '#/login';
});
window.addEventListener('hashchange', route);
setLang(lang());
route();
