// The live proctor console. The sessions come from
// GET /api/v1/proctor/attempts, read again each time the event stream
// GET /api/v1/proctor/live (re)connects so that nothing from before is
// missed; what the stream sends — recorded events with the new risk, a
// snapshot and its face check, a proctor's action, an attempt started or
// submitted — is applied to the cards as it comes, riskiest first. The
// number of check-ins waiting for admission is read from
// GET /api/v1/proctor/checkins likewise, and again on each "checkin" event.

const root = document.getElementById('console');
if (root && root.hasAttribute('data-watching')) start(root);

const RECENT = 5;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  e.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return e;
}

// utcTime writes a time as the server does on the cards: "09:31:02" (UTC).
function utcTime(iso) {
  return new Date(iso).toISOString().slice(11, 19);
}

function num(v) {
  const s = Number(v).toFixed(1);
  return s === '-0.0' ? '0.0' : s;
}

// clock writes seconds as m:ss, or h:mm:ss from an hour up.
function clock(sec) {
  const s = Math.max(0, Math.round(sec));
  const pad = (n) => String(n).padStart(2, '0');
  if (s >= 3600) return `${Math.floor(s / 3600)}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
  return `${Math.floor(s / 60)}:${pad(s % 60)}`;
}

function level(s) {
  if (s.scored && s.review_at > 0 && s.risk >= s.review_at) return 'high';
  if ((s.scored && s.risk > 0) || (!s.scored && s.incidents > 0)) return 'raised';
  return 'none';
}

function badges(shot) {
  const out = [];
  if (shot.faces === null || shot.faces === undefined) out.push(['Face not checked', 'muted']);
  else if (shot.faces === 0) out.push(['No face', 'bad']);
  else if (shot.faces > 1) out.push([`${shot.faces} faces`, 'bad']);
  if (shot.looking_away) out.push(['Looking away', 'warn']);
  if (out.length === 0) out.push(['Face in view', 'ok']);
  return out;
}

function start(root) {
  const kinds = JSON.parse(root.dataset.kinds || '{}');
  const grid = document.getElementById('sessions');
  const empty = document.getElementById('no-sessions');
  const count = document.getElementById('live-count');
  const countLabel = document.getElementById('live-count-label');
  const status = document.getElementById('live-status');
  const statusText = document.getElementById('live-status-text');
  const filter = document.getElementById('exam-filter');
  const waiting = document.getElementById('waiting-admission');
  const waitingCount = document.getElementById('waiting-count');
  document.getElementById('apply-filter').hidden = true; // the filter applies as it changes

  const sessions = new Map(); // attempt id → session, as the API lists it, with `until`
  let order = [];

  function topReasons(s) {
    let reasons = s.reasons || [];
    if (!s.scored) {
      reasons = Object.entries(s.counts || {})
        .filter(([k, n]) => n > 0 && kinds[k] && kinds[k].incident)
        .map(([k, n]) => ({ kind: k, label: kinds[k].label, count: n }))
        .sort((a, b) => b.count - a.count || (a.kind < b.kind ? -1 : 1));
    }
    return reasons.slice(0, 3);
  }

  function remaining(s) {
    if (s.held || s.on_break) return s.remaining_seconds;
    return Math.max(0, (s.until - Date.now()) / 1000);
  }

  function timeLeft(s) {
    const r = remaining(s);
    return r <= 0 ? 'Time up' : `${clock(r)} left`;
  }

  function card(s) {
    const shot = s.snapshot
      ? [el('img', { src: `/api/v1/snapshots/${encodeURIComponent(s.snapshot.id)}`, alt: `Latest webcam snapshot of ${s.candidate}`, width: '320', height: '240' }),
        el('ul', { class: 'shot-badges' }, ...badges(s.snapshot).map(([text, cls]) => el('li', { class: `pill pill-${cls}` }, text))),
        el('time', { class: 'shot-time', datetime: s.snapshot.received_at }, utcTime(s.snapshot.received_at))]
      : [el('p', { class: 'shot-empty' }, s.snapshot_seconds ? 'No snapshot yet' : 'No webcam snapshots on this exam')];
    const risk = s.scored
      ? el('p', { class: 'risk-badge', title: s.review_at > 0 ? `Sent to review at ${num(s.review_at)}` : 'No review threshold' },
        el('span', { class: 'risk-label' }, 'Risk'), ' ', el('span', { class: 'risk-value' }, num(s.risk)))
      : el('p', { class: 'risk-badge', title: 'This exam weighs no events' },
        el('span', { class: 'risk-value' }, String(s.incidents)), ' ', el('span', { class: 'risk-label' }, s.incidents === 1 ? 'incident' : 'incidents'));
    let state = el('span', { class: 'pill pill-info' }, 'In progress');
    if (s.held) state = el('span', { class: 'pill pill-warn' }, 'Paused by proctor');
    else if (s.on_break) state = el('span', { class: 'pill pill-info' }, 'On a break');
    const reasons = topReasons(s);
    const events = (s.events || []).map((e) => el('li', { class: e.incident ? 'is-incident' : null },
      el('time', { datetime: e.received_at }, utcTime(e.received_at)), ' ',
      el('span', { class: 'event-text' }, e.label, e.detail ? ' ' : null, e.detail ? el('span', { class: 'muted' }, `— ${e.detail}`) : null)));
    return el('li', { class: `session-card risk-${level(s)}${s.held ? ' is-held' : ''}`, 'data-attempt': s.attempt_id, 'data-exam': s.exam_id },
      el('div', { class: `session-shot${!s.snapshot && !s.snapshot_seconds ? ' is-off' : ''}` }, ...shot),
      el('div', { class: 'session-body' },
        el('div', { class: 'session-head' },
          el('div', { class: 'session-who' }, el('h2', { class: 'session-name' }, s.candidate), el('p', { class: 'session-exam' }, s.exam)),
          risk),
        el('p', { class: 'session-state' }, state, ' ', el('span', { class: 'time-left' }, timeLeft(s))),
        reasons.length ? el('ul', { class: 'reason-list', 'aria-label': 'Reasons' },
          ...reasons.map((r) => el('li', { class: 'pill pill-warn' }, `${r.label} ×${r.count}`))) : null,
        el('ol', { class: 'event-list', 'aria-label': 'Latest events' },
          ...(events.length ? events : [el('li', { class: 'event-none muted' }, 'No events yet')])),
        el('a', { class: 'session-link', href: `/proctor/attempts/${encodeURIComponent(s.attempt_id)}` }, 'Open session',
          el('span', { class: 'visually-hidden' }, ` of ${s.candidate}, ${s.exam}`), ' →')));
  }

  // The riskiest first: by risk, then incidents, then the longest running.
  function compare(a, b) {
    return b.risk - a.risk || b.incidents - a.incidents ||
      Date.parse(a.started_at) - Date.parse(b.started_at) || (a.attempt_id < b.attempt_id ? -1 : 1);
  }

  function layout() {
    const want = [...sessions.values()].sort(compare).map((s) => s.attempt_id);
    if (want.join() !== order.join()) {
      for (const id of want) grid.append(sessions.get(id).el);
      order = want;
    }
    const shown = filter.value;
    let n = 0;
    const perExam = new Map();
    for (const s of sessions.values()) {
      const visible = !shown || s.exam_id === shown;
      s.el.hidden = !visible;
      if (visible) n++;
      perExam.set(s.exam_id, (perExam.get(s.exam_id) || 0) + 1);
    }
    count.textContent = String(n);
    countLabel.textContent = n === 1 ? 'live session' : 'live sessions';
    empty.hidden = n > 0;
    for (const opt of filter.options) {
      if (opt.value) opt.textContent = `${opt.textContent.replace(/ \(\d+\)$/, '')} (${perExam.get(opt.value) || 0})`;
    }
  }

  // The server's cards, until the first read replaces them.
  const served = new Map([...grid.querySelectorAll('.session-card')].map((li) => [li.dataset.attempt, li]));

  function put(s, flash) {
    const old = s.el || served.get(s.attempt_id);
    served.delete(s.attempt_id);
    s.el = card(s);
    if (old) old.replaceWith(s.el);
    else grid.append(s.el);
    if (flash) s.el.classList.add('is-updated');
  }

  function remove(id) {
    const s = sessions.get(id);
    if (!s) return;
    s.el.remove();
    sessions.delete(id);
    order = order.filter((x) => x !== id);
    layout();
  }

  async function reload() {
    try {
      const res = await fetch(root.dataset.source, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error(String(res.status));
      const list = await res.json();
      const now = Date.now();
      const seen = new Set();
      for (const s of list) {
        s.until = now + s.remaining_seconds * 1000;
        s.el = sessions.has(s.attempt_id) ? sessions.get(s.attempt_id).el : null;
        sessions.set(s.attempt_id, s);
        seen.add(s.attempt_id);
        put(s, false);
      }
      for (const id of [...sessions.keys()]) if (!seen.has(id)) remove(id);
      for (const li of served.values()) li.remove();
      served.clear();
      for (const s of list) {
        if (filter.querySelector(`option[value="${CSS.escape(s.exam_id)}"]`) === null) {
          filter.append(el('option', { value: s.exam_id }, s.exam));
        }
      }
      layout();
      root.dataset.readAt = String(Date.now());
    } catch {
      setStatus('reconnecting', 'Could not load the sessions; retrying');
    }
  }

  let pending = null;
  function scheduleReload() {
    if (pending) return;
    pending = setTimeout(() => { pending = null; reload(); }, 150);
  }

  async function reloadWaiting() {
    try {
      const res = await fetch(root.dataset.checkins, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error(String(res.status));
      const n = (await res.json()).length;
      waitingCount.textContent = String(n);
      waiting.classList.toggle('has-waiting', n > 0);
      root.dataset.waitingReadAt = String(Date.now());
    } catch {
      // the next check-in event or reconnection reads it again
    }
  }

  let pendingWaiting = null;
  function scheduleWaiting() {
    if (pendingWaiting) return;
    pendingWaiting = setTimeout(() => { pendingWaiting = null; reloadWaiting(); }, 150);
  }

  function apply(e) {
    if (!e || !e.type) return;
    if (e.type === 'checkin') {
      scheduleWaiting();
      return;
    }
    if (e.type === 'started') {
      scheduleReload();
      return;
    }
    if (e.type === 'terminate' || e.type === 'submitted') {
      remove(e.attempt_id);
      return;
    }
    const s = sessions.get(e.attempt_id);
    if (!s) {
      if (e.type !== 'message') scheduleReload(); // a session this page does not know yet
      return;
    }
    switch (e.type) {
      case 'events':
      case 'snapshot':
        if (typeof e.risk === 'number') {
          s.risk = e.risk;
          s.reasons = e.reasons || [];
          s.incidents = e.incidents || 0;
          s.counts = e.counts || {};
        }
        if (e.events && e.events.length) s.events = e.events.slice().reverse().concat(s.events || []).slice(0, RECENT);
        if (e.snapshot) s.snapshot = e.snapshot;
        break;
      case 'hold':
      case 'resume':
      case 'time':
        s.held = !!e.held;
        if (typeof e.remaining_seconds === 'number') {
          s.remaining_seconds = e.remaining_seconds;
          s.until = Date.now() + e.remaining_seconds * 1000;
        }
        break;
      default:
        return;
    }
    put(s, true);
    layout();
  }

  function setStatus(state, text) {
    status.dataset.state = state;
    statusText.textContent = text;
  }

  let stream = null;
  function connect() {
    if (!window.EventSource) {
      setStatus('reconnecting', 'Live updates need a newer browser');
      return;
    }
    stream = new EventSource(root.dataset.stream);
    // "open" comes twice per connection (the browser's, and the server's
    // first event); the reload is coalesced.
    stream.addEventListener('open', () => {
      setStatus('open', 'Live');
      scheduleReload();
      scheduleWaiting();
    });
    stream.onerror = () => {
      setStatus('reconnecting', 'Reconnecting…');
      if (stream.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    };
    stream.onmessage = (ev) => {
      try {
        apply(JSON.parse(ev.data));
      } catch {
        // a malformed event changes nothing; the next reload catches up
      }
    };
  }

  filter.addEventListener('change', () => {
    const url = new URL(location.href);
    if (filter.value) url.searchParams.set('exam', filter.value);
    else url.searchParams.delete('exam');
    history.replaceState(null, '', url);
    layout();
  });
  setInterval(() => {
    for (const s of sessions.values()) {
      const t = s.el.querySelector('.time-left');
      if (t) t.textContent = timeLeft(s);
    }
  }, 1000);

  reload();
  connect();
}
