// The portal's REST client: JSON in and out, the session travels in its HttpOnly cookie.
// A failed call throws an ApiError carrying the server's stable error code.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function call(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'network', String(e));
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(res.status, err.code || 'internal', err.message || res.statusText);
  }
  return data;
}

const enc = encodeURIComponent;

export const api = {
  login: (username, password) => call('POST', '/api/login', { username, password }),
  logout: () => call('POST', '/api/logout', {}),
  me: () => call('GET', '/api/me'),
  hearings: () => call('GET', '/api/hearings'),
  createHearing: (h) => call('POST', '/api/hearings', h),
  hearing: (id) => call('GET', `/api/hearings/${enc(id)}`),
  setState: (id, state) => call('POST', `/api/hearings/${enc(id)}/state`, { state }),
  invite: (id, inv) => call('POST', `/api/hearings/${enc(id)}/invitations`, inv),
  revoke: (id, inv) => call('DELETE', `/api/hearings/${enc(id)}/invitations/${enc(inv)}`),
  startRecording: (id) => call('POST', `/api/hearings/${enc(id)}/recording/start`, {}),
  stopRecording: (id) => call('POST', `/api/hearings/${enc(id)}/recording/stop`, {}),
  recordings: (id) => call('GET', `/api/hearings/${enc(id)}/recordings`),
  // The hearing's exhibits: {exhibits: [{id, sha256, title, kind, size, pages}], on_display}.
  exhibits: (id) => call('GET', `/api/hearings/${enc(id)}/exhibits`),
  exhibitUrl: (id, ex) => `/api/hearings/${enc(id)}/exhibits/${enc(ex)}/file`,
  // Public or closed to the public: settled once the hearing opens (409 not_scheduled after).
  setPublic: (id, isPublic) => call('POST', `/api/hearings/${enc(id)}/public`, { public: isPublic }),
  // The public broadcast: {id, broadcast: {state, viewers, segments, cut_by_judge} | null}.
  broadcast: (id) => call('GET', `/api/hearings/${enc(id)}/broadcast`),
  // act: start, stop, cut or resume.
  broadcastAct: (id, act) => call('POST', `/api/hearings/${enc(id)}/broadcast/${enc(act)}`, {}),
  verifyRecording: (rid) => call('GET', `/api/recordings/${enc(rid)}/verify`),
  monitor: (id) => call('GET', `/api/hearings/${enc(id)}/monitor`),
  mute: (id, pid, muted) => call('POST', `/api/hearings/${enc(id)}/participants/${pid}/mute`, { muted }),
  remove: (id, pid) => call('POST', `/api/hearings/${enc(id)}/participants/${pid}/remove`, {}),
  audit: (hearing) => call('GET', '/api/audit' + (hearing ? `?hearing=${enc(hearing)}` : '')),
  verifyAudit: () => call('GET', '/api/audit/verify'),
  fileUrl: (rid, name) => `/api/recordings/${enc(rid)}/files/${enc(name)}`,
  bundleUrl: (rid) => `/api/recordings/${enc(rid)}/bundle.zip`,
  // The evidence package: the recording, the court's key, the audit trail, VERIFY.txt.
  evidenceUrl: (rid) => `/api/recordings/${enc(rid)}/evidence.zip`,
  // The public watch page of a hearing (anyone may open it; only public hearings show anything).
  watchUrl: (id) => `/watch/${enc(id)}`,
  // The newest composite picture as a JPEG Blob, or null while there is none (409 no_picture).
  composite: async (id) => {
    const res = await fetch(`/api/hearings/${enc(id)}/monitor/composite.jpg`, { credentials: 'same-origin', cache: 'no-store' });
    return res.ok ? res.blob() : null;
  },
};
