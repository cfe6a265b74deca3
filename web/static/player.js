// The Touchstone exam player.
//
// The page arrives with the first question and the attempt's id, deadline
// and server time in data-* attributes; this module loads the attempt from
// GET /api/v1/attempts/{id} (items, options and saved answers, never keys)
// and shows one question at a time. Every change is saved at once with
// PUT …/responses/{itemId}; unsaved changes wait in a queue (kept in
// localStorage, so a reload loses nothing) and are retried with backoff.
// The countdown runs on the server's clock: the offset between the
// server's time and this browser's is measured when the attempt loads.
// Focus, visibility, full-screen, copy and paste signals and a heartbeat
// are batched to POST …/events for the proctors.

const root = document.getElementById('player');
if (root) start(root);

const SAVE_STATUS = {
  idle: 'All answers saved',
  saving: 'Saving…',
  saved: 'Saved',
  retrying: 'Not saved — retrying',
  offline: 'Not saved — offline, retrying when you reconnect',
  signedOut: 'Not saved — your session has ended; sign in again in another tab, we keep retrying',
  rejected: 'One change could not be saved',
  closed: 'The exam is closed',
};

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : '';
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function backoff(failures) {
  return Math.min(30000, 1000 * 2 ** Math.min(failures, 5));
}

function formatClock(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function letter(i) {
  return String.fromCharCode(65 + i);
}

function start(root) {
  const $ = (id) => document.getElementById(id);
  const els = {
    timer: $('timer'),
    timerBox: root.querySelector('.timer-box'),
    warning: $('timer-warning'),
    announce: $('announce'),
    status: $('save-status'),
    fullscreen: $('fullscreen'),
    heading: $('question-heading'),
    number: $('question-number'),
    body: $('question-body'),
    stem: $('stem'),
    exhibit: $('exhibit'),
    options: $('options'),
    flag: $('flag'),
    prev: $('prev'),
    next: $('next'),
    submit: $('submit'),
    map: root.querySelector('.qmap ol'),
    answered: $('answered-count'),
    dialog: $('submit-dialog'),
    summary: $('submit-summary'),
    lists: $('submit-lists'),
    submitError: $('submit-error'),
    cancel: $('cancel-submit'),
    confirm: $('confirm-submit'),
    timeUp: $('time-up'),
    shortcuts: $('shortcuts'),
  };
  const api = root.dataset.api;
  const resultURL = root.dataset.resultUrl;
  const storageKey = `touchstone:pending:${root.dataset.attemptId}`;

  const state = {
    items: [],
    index: 0,
    deadline: Date.parse(root.dataset.deadline),
    offset: Date.parse(root.dataset.serverTime) - Date.now(),
    closed: false,
    loaded: false,
  };
  const serverNow = () => Date.now() + state.offset;

  // Saving. pending maps an item id to the change not yet acknowledged;
  // a change replaces the object, so an acknowledgement only clears the
  // entry when nothing newer was queued meanwhile.
  const pending = new Map(readPending());
  let saving = false;
  let failures = 0;
  let retryTimer = 0;

  function readPending() {
    try {
      const saved = JSON.parse(localStorage.getItem(storageKey) || '{}');
      return Object.entries(saved);
    } catch {
      return [];
    }
  }

  function persist() {
    try {
      if (pending.size === 0) localStorage.removeItem(storageKey);
      else localStorage.setItem(storageKey, JSON.stringify(Object.fromEntries(pending)));
    } catch {
      // Private mode or a full quota: the queue still lives in memory.
    }
  }

  function setStatus(name, extra) {
    els.status.dataset.state = name;
    els.status.textContent = extra ? `${SAVE_STATUS[name]} ${extra}` : SAVE_STATUS[name];
  }

  function enqueue(itemId, change) {
    if (state.closed) return;
    pending.set(itemId, { ...(pending.get(itemId) || {}), ...change });
    persist();
    if (!retryTimer) setStatus('saving');
    pump();
  }

  function retryNow() {
    if (retryTimer) {
      clearTimeout(retryTimer);
      retryTimer = 0;
      pump();
    }
  }

  async function pump() {
    if (saving || retryTimer || pending.size === 0) return;
    const [itemId, change] = pending.entries().next().value;
    saving = true;
    let res = null;
    try {
      res = await fetch(`${api}/responses/${encodeURIComponent(itemId)}`, {
        method: 'PUT',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrfToken() },
        body: JSON.stringify(change),
      });
    } catch {
      res = null;
    }
    saving = false;
    if (res && res.ok) {
      if (pending.get(itemId) === change) pending.delete(itemId);
      persist();
      failures = 0;
      if (pending.size === 0) setStatus('saved');
      pump();
      return;
    }
    if (res && res.status === 409) {
      const body = await res.json().catch(() => ({}));
      if (body.error && body.error.code === 'attempt_closed') {
        closeAndShowResult();
        return;
      }
    }
    if (res && (res.status === 404 || res.status === 422 || res.status === 400)) {
      // The server will never take this change: keep the others going.
      pending.delete(itemId);
      persist();
      setStatus('rejected');
      pump();
      return;
    }
    failures++;
    if (res && res.status === 401) setStatus('signedOut');
    else if (!navigator.onLine) setStatus('offline');
    else setStatus('retrying');
    retryTimer = setTimeout(() => {
      retryTimer = 0;
      pump();
    }, backoff(failures - 1));
  }

  async function waitForSaves(timeoutMs) {
    const until = Date.now() + timeoutMs;
    retryNow();
    while (pending.size > 0 && Date.now() < until) {
      await sleep(150);
      retryNow();
    }
    return pending.size === 0;
  }

  window.addEventListener('online', retryNow);
  window.addEventListener('beforeunload', (e) => {
    if (pending.size > 0 && !state.closed) e.preventDefault();
  });

  // Questions.

  function currentItem() {
    return state.items[state.index];
  }

  function itemById(id) {
    return state.items.find((it) => it.id === id);
  }

  function renderQuestion() {
    const item = currentItem();
    if (!item) return;
    els.number.textContent = String(state.index + 1);
    els.body.dataset.itemId = item.id;
    els.stem.textContent = item.stem;
    els.exhibit.textContent = item.exhibit || '';
    els.exhibit.hidden = !item.exhibit;
    const legend = els.options.querySelector('legend');
    const rows = item.options.map((o, i) => {
      const row = document.createElement('div');
      row.className = 'option';
      const input = document.createElement('input');
      input.type = 'radio';
      input.name = 'answer';
      input.id = `option-${o.id}`;
      input.value = o.id;
      input.checked = item.answer === o.id;
      input.disabled = state.closed;
      const label = document.createElement('label');
      label.htmlFor = input.id;
      const l = document.createElement('span');
      l.className = 'option-letter';
      l.setAttribute('aria-hidden', 'true');
      l.textContent = letter(i);
      const t = document.createElement('span');
      t.className = 'option-text';
      t.textContent = o.text;
      label.append(l, t);
      row.append(input, label);
      return row;
    });
    els.options.replaceChildren(legend, ...rows);
    els.flag.checked = !!item.flagged;
    els.prev.disabled = state.index === 0;
    els.next.disabled = state.index === state.items.length - 1;
    renderMap();
  }

  function renderMap() {
    const buttons = els.map.querySelectorAll('button');
    let answered = 0;
    state.items.forEach((item, i) => {
      const b = buttons[i];
      if (item.answer) answered++;
      if (!b) return;
      b.classList.toggle('is-answered', !!item.answer);
      b.classList.toggle('is-flagged', !!item.flagged);
      b.classList.toggle('is-current', i === state.index);
      if (i === state.index) b.setAttribute('aria-current', 'step');
      else b.removeAttribute('aria-current');
      const parts = [`Question ${i + 1}`, item.answer ? 'answered' : 'not answered'];
      if (item.flagged) parts.push('flagged');
      b.setAttribute('aria-label', parts.join(', '));
    });
    els.answered.textContent = String(answered);
  }

  function go(index, focusHeading) {
    if (index < 0 || index >= state.items.length) return;
    state.index = index;
    renderQuestion();
    history.replaceState(null, '', `#q${index + 1}`);
    els.announce.textContent = `Question ${index + 1} of ${state.items.length}`;
    if (focusHeading) els.heading.focus();
  }

  function choose(optionId) {
    const itemId = els.body.dataset.itemId;
    const item = itemById(itemId);
    if (item) item.answer = optionId;
    enqueue(itemId, { answer: optionId });
    renderMap();
  }

  els.options.addEventListener('change', (e) => {
    if (e.target.name === 'answer') choose(e.target.value);
  });
  els.flag.addEventListener('change', () => {
    const itemId = els.body.dataset.itemId;
    const item = itemById(itemId);
    if (item) item.flagged = els.flag.checked;
    enqueue(itemId, { flagged: els.flag.checked });
    renderMap();
  });
  els.prev.addEventListener('click', () => go(state.index - 1, false));
  els.next.addEventListener('click', () => go(state.index + 1, false));
  els.map.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-index]');
    if (b && state.loaded) go(Number(b.dataset.index), true);
  });

  document.addEventListener('keydown', (e) => {
    if (!state.loaded || state.closed || !els.shortcuts.checked) return;
    if (e.ctrlKey || e.metaKey || e.altKey || els.dialog.open) return;
    const t = e.target;
    if (t instanceof HTMLElement && (t.isContentEditable || /^(TEXTAREA|SELECT)$/.test(t.tagName) ||
        (t.tagName === 'INPUT' && !/^(radio|checkbox)$/.test(t.type)))) return;
    const key = e.key.toLowerCase();
    const item = currentItem();
    let pick = -1;
    if (/^[1-9]$/.test(key)) pick = Number(key) - 1;
    else if (/^[a-h]$/.test(key) && key !== 'f') pick = key.charCodeAt(0) - 97;
    if (pick >= 0 && item && pick < item.options.length) {
      e.preventDefault();
      const input = document.getElementById(`option-${item.options[pick].id}`);
      input.checked = true;
      input.focus();
      choose(item.options[pick].id);
    } else if (key === 'n') {
      e.preventDefault();
      go(state.index + 1, false);
    } else if (key === 'p') {
      e.preventDefault();
      go(state.index - 1, false);
    } else if (key === 'f') {
      e.preventDefault();
      els.flag.click();
    }
  });

  // Submitting.

  function openSubmitDialog() {
    if (!state.loaded) return;
    const unanswered = [];
    const flagged = [];
    state.items.forEach((item, i) => {
      if (!item.answer) unanswered.push(i + 1);
      if (item.flagged) flagged.push(i + 1);
    });
    const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
    els.summary.textContent = unanswered.length === 0
      ? `You have answered all ${state.items.length} questions${flagged.length ? `, and ${plural(flagged.length, 'question')} ${flagged.length === 1 ? 'is' : 'are'} flagged for review` : ''}.`
      : `${plural(unanswered.length, 'question')} ${unanswered.length === 1 ? 'is' : 'are'} unanswered and ${plural(flagged.length, 'question')} ${flagged.length === 1 ? 'is' : 'are'} flagged for review.`;
    const lines = [];
    if (unanswered.length) lines.push(`Unanswered: ${unanswered.join(', ')}.`);
    if (flagged.length) lines.push(`Flagged: ${flagged.join(', ')}.`);
    els.lists.textContent = lines.join(' ');
    els.lists.hidden = lines.length === 0;
    els.submitError.hidden = true;
    els.confirm.disabled = false;
    els.confirm.textContent = 'Submit now';
    els.dialog.showModal();
    els.cancel.focus();
  }

  async function submit(by) {
    const saved = await waitForSaves(by === 'deadline' ? 4000 : 15000);
    if (!saved && by !== 'deadline') {
      throw new Error('Some answers are not saved yet. Check your connection; they will be sent as soon as it returns.');
    }
    for (let attempt = 0; attempt < 6; attempt++) {
      let res = null;
      try {
        res = await fetch(`${api}/submit`, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { Accept: 'application/json', 'X-CSRF-Token': csrfToken() },
        });
      } catch {
        res = null;
      }
      if (res && (res.ok || res.status === 409)) return;
      if (res && res.status < 500 && res.status !== 429) {
        const body = await res.json().catch(() => ({}));
        throw new Error((body.error && body.error.message) || 'The exam could not be submitted.');
      }
      await sleep(backoff(attempt));
    }
    throw new Error('The exam could not be submitted: the server does not answer. Please try again.');
  }

  // closeAndShowResult leaves for the result once the server has closed
  // the attempt: changes still queued can no longer be saved.
  function closeAndShowResult() {
    state.closed = true;
    setStatus('closed');
    pending.clear();
    persist();
    location.assign(resultURL);
  }

  els.submit.addEventListener('click', openSubmitDialog);
  els.cancel.addEventListener('click', () => els.dialog.close());
  els.confirm.addEventListener('click', async () => {
    els.confirm.disabled = true;
    els.cancel.disabled = true;
    els.confirm.textContent = 'Submitting…';
    try {
      await submit('candidate');
      state.closed = true;
      flushEvents();
      location.assign(resultURL);
    } catch (err) {
      els.submitError.textContent = err.message;
      els.submitError.hidden = false;
      els.confirm.disabled = false;
      els.cancel.disabled = false;
      els.confirm.textContent = 'Try again';
    }
  });

  // The timer.

  let warned5 = false;
  let warned1 = false;

  function warn(text, level) {
    els.warning.textContent = text;
    els.timerBox.dataset.level = level;
  }

  async function timeUp() {
    if (els.dialog.open) els.dialog.close();
    els.timeUp.hidden = false;
    els.options.querySelectorAll('input').forEach((i) => { i.disabled = true; });
    try {
      await submit('deadline');
    } catch {
      // The result page closes an attempt whose time is up.
    }
    state.closed = true;
    flushEvents();
    location.assign(resultURL);
  }

  function tick() {
    const left = state.deadline - serverNow();
    els.timer.textContent = formatClock(left);
    if (left <= 60000 && !warned1) {
      warned1 = warned5 = true;
      warn('Less than one minute left. Your answers are saved; the exam will be submitted automatically when time runs out.', 'urgent');
    } else if (left <= 300000 && !warned5) {
      warned5 = true;
      warn('Less than five minutes left.', 'warn');
    }
    if (left <= 0 && !state.closed && state.loaded) {
      state.closed = true;
      clearInterval(timer);
      timeUp();
    }
  }
  const timer = setInterval(tick, 500);
  tick();

  // Proctoring signals.

  const events = [];
  let flushing = false;

  function report(kind, detail) {
    if (state.closed && kind !== 'heartbeat') return;
    events.push({ kind, detail: detail || '', at: new Date().toISOString() });
    if (events.length > 500) events.splice(0, events.length - 500);
  }

  async function flushEvents() {
    if (flushing || events.length === 0) return;
    flushing = true;
    const batch = events.splice(0, 100);
    try {
      const res = await fetch(`${api}/events`, {
        method: 'POST',
        credentials: 'same-origin',
        keepalive: true,
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken() },
        body: JSON.stringify({ events: batch }),
      });
      if (!res.ok && res.status >= 500) events.unshift(...batch);
    } catch {
      events.unshift(...batch);
    }
    flushing = false;
  }

  window.addEventListener('blur', () => report('focus_lost'));
  window.addEventListener('focus', () => report('focus_gained'));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') {
      report('visibility_hidden');
      flushEvents();
    } else {
      report('visibility_visible');
    }
  });
  document.addEventListener('copy', () => report('copy'));
  document.addEventListener('paste', () => report('paste'));

  if (document.fullscreenEnabled) {
    let wasFullscreen = false;
    els.fullscreen.hidden = false;
    els.fullscreen.addEventListener('click', () => {
      document.documentElement.requestFullscreen().catch(() => {});
    });
    document.addEventListener('fullscreenchange', () => {
      const on = !!document.fullscreenElement;
      if (wasFullscreen && !on) report('fullscreen_exit');
      wasFullscreen = on;
      els.fullscreen.hidden = on;
    });
  }

  setInterval(() => {
    report('heartbeat');
    flushEvents();
  }, 30000);
  setInterval(flushEvents, 10000);

  // Loading.

  async function load() {
    for (let failures = 0; ; failures++) {
      let res = null;
      const sent = Date.now();
      try {
        res = await fetch(api, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      } catch {
        res = null;
      }
      const received = Date.now();
      if (res && res.ok) {
        const data = await res.json();
        state.offset = Date.parse(data.server_time) - (sent + received) / 2;
        return data;
      }
      if (res && (res.status === 401 || res.status === 404)) {
        location.reload();
        return null;
      }
      setStatus(navigator.onLine ? 'retrying' : 'offline');
      await sleep(backoff(failures));
    }
  }

  load().then((data) => {
    if (!data) return;
    if (data.status !== 'in_progress') {
      closeAndShowResult();
      return;
    }
    state.deadline = Date.parse(data.deadline);
    state.items = data.items;
    for (const [itemId, change] of pending) {
      const item = itemById(itemId);
      if (!item) continue;
      if ('answer' in change) item.answer = change.answer;
      if ('flagged' in change) item.flagged = change.flagged;
    }
    const m = /^#q(\d+)$/.exec(location.hash);
    const wanted = m ? Number(m[1]) - 1 : 0;
    state.index = wanted >= 0 && wanted < state.items.length ? wanted : 0;
    state.loaded = true;
    renderQuestion();
    tick();
    if (pending.size > 0) {
      setStatus('saving');
      pump();
    } else {
      setStatus('idle');
    }
  });
}
