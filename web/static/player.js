// The Touchstone exam player.
//
// The page arrives with the attempt's id, deadline and server time in
// data-* attributes; this module loads the attempt from GET
// /api/v1/attempts/{id} (items as items.CandidateContent, saved answers,
// never keys) and shows one question at a time, rendered by question.js,
// the same module the author's preview uses.
//
// Saving. Every change is sent with PUT …/responses/{itemId} carrying the
// item's whole state (answer and flag) and a sequence number. Numbers come
// from one counter per attempt, kept in localStorage with the queue of
// unacknowledged changes, so they only grow: the server keeps a change only
// when its number beats the stored one, which makes a replay after a
// reconnect, a reload or a second tab harmless. The queue is sent in the
// order the items were first changed, one request at a time, retried with
// backoff (or after the Retry-After of a 503, which the server answers
// while its database restarts) and at once when the browser comes back
// online. After a browser
// is closed and opened again, the server's answers are merged with any
// queued change that is newer than them.
//
// Time. The countdown runs on the server's clock (the offset is measured
// when the attempt loads); the visible clock is not a live region, and
// screen readers hear the time left only at 30, 15, 10, 5 and 1 minutes.
// An accommodation's break time pauses the clock (POST …/breaks).
//
// Adaptive (CAT) attempts move forward only: Next saves the answer, asks
// the server for the next item (POST …/next) and ends when it says done.
//
// Time on item. The player measures how long each item is on screen —
// while the page is visible and the clock runs, accumulated across visits,
// from the time the server already holds — and sends it as `seconds` with
// the item's saves; leaving an item with a second or more not yet sent
// queues a save of the time alone.
//
// Focus, visibility, full-screen, copy, paste, print, context-menu, resize,
// second-screen and connection signals and a heartbeat every 15 seconds are
// batched to POST …/events for the proctors. When the exam takes webcam
// snapshots, capture.js runs the camera (see there).

import { renderQuestion, isEmptyAnswer } from './question.js';

// HEARTBEAT_MS: the server records a gap after a minute without one.
// (Above start(), which reads it at once.)
const HEARTBEAT_MS = 15000;

// TIME_SAVE_MIN is the unsent time on an item, in seconds, worth a save of
// its own when the candidate leaves it.
const TIME_SAVE_MIN = 1;

const root = document.getElementById('player');
if (root) start(root);

// ANNOUNCE_AT are the minutes left at which screen readers hear the time.
const ANNOUNCE_AT = [30, 15, 10, 5, 1];

// CHOICE_KINDS are the kinds the letter and number shortcuts answer.
const CHOICE_KINDS = new Set(['single_choice', 'true_false', 'multiple_response']);

// TEXT_KINDS save a moment after typing stops, not at every key.
const TEXT_KINDS = new Set(['numeric', 'short_text']);
const TEXT_SAVE_DELAY = 600;

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

// retryAfter is the wait, in milliseconds (at most 30 s), that an answer
// asks for in its Retry-After header (seconds), as a 503 does while the
// server's database restarts; null when it asks for none.
function retryAfter(res) {
  const v = res && res.headers.get('Retry-After');
  const s = Number(v);
  if (!v || !Number.isFinite(s) || s < 0) return null;
  return Math.min(30000, s * 1000);
}

function formatClock(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function minutesWords(min) {
  return min === 1 ? 'one minute' : `${min} minutes`;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function start(root) {
  const $ = (id) => document.getElementById(id);
  const els = {
    timer: $('timer'),
    timerBox: root.querySelector('.timer-box'),
    warning: $('timer-warning'),
    timeAnnounce: $('time-announce'),
    announce: $('announce'),
    status: $('save-status'),
    offline: $('offline-banner'),
    fullscreen: $('fullscreen'),
    takeBreak: $('take-break'),
    heading: $('question-heading'),
    number: $('question-number'),
    of: $('question-of'),
    section: $('section-intro'),
    sectionName: $('section-name'),
    sectionText: $('section-instructions'),
    body: $('question-body'),
    flag: $('flag'),
    flagToggle: root.querySelector('.flag-toggle'),
    prev: $('prev'),
    next: $('next'),
    navError: $('nav-error'),
    catDone: $('cat-done'),
    submit: $('submit'),
    qmapNav: root.querySelector('.qmap'),
    qmapLegend: root.querySelector('.qmap-legend'),
    map: root.querySelector('.qmap ol'),
    progress: root.querySelector('.qmap-progress'),
    dialog: $('submit-dialog'),
    summary: $('submit-summary'),
    lists: $('submit-lists'),
    submitError: $('submit-error'),
    cancel: $('cancel-submit'),
    confirm: $('confirm-submit'),
    breakDialog: $('break-dialog'),
    heldDialog: $('held-dialog'),
    heldText: $('held-text'),
    heldMessage: $('held-message'),
    messages: $('proctor-messages'),
    messageList: $('proctor-message-list'),
    proctorAlert: $('proctor-alert'),
    breakLeft: $('break-left'),
    breakError: $('break-error'),
    endBreak: $('end-break'),
    timeUp: $('time-up'),
    shortcuts: $('shortcuts'),
    shortcutsBox: root.querySelector('.shortcuts'),
  };
  const api = root.dataset.api;
  const resultURL = root.dataset.resultUrl;
  const attemptID = root.dataset.attemptId;
  const storageKey = `touchstone:queue:${attemptID}`;
  try {
    localStorage.removeItem(`touchstone:pending:${attemptID}`); // the queue of an older player: other answer shapes
  } catch {
    // no storage
  }

  const state = {
    items: [],
    index: 0,
    deadline: Date.parse(root.dataset.deadline),
    offset: Date.parse(root.dataset.serverTime) - Date.now(),
    closed: false,
    loaded: false,
    cat: false,
    catInfo: null,
    catDone: false,
    sections: null,
    paused: false,
    pausedLeft: 0,
    held: false, // paused by the proctor
    heldLeft: 0,
    breakEndsAt: 0,
    breaksLeft: 0,
  };
  const serverNow = () => Date.now() + state.offset;
  let view = null; // what renderQuestion returned for the item shown

  // Saving. pending maps an item id to its state not yet acknowledged, in
  // the order items were first changed; a change replaces the object, so
  // an acknowledgement clears the entry only when nothing newer came.
  const stored = readStored();
  const pending = new Map(stored.pending);
  let counter = stored.seq;
  let saving = false;
  let failures = 0;
  let retryTimer = 0;
  let lastTry = 0;
  const textTimers = new Map();

  function readStored() {
    try {
      const s = JSON.parse(localStorage.getItem(storageKey) || '{}');
      return { seq: Number(s.seq) || 0, pending: Array.isArray(s.pending) ? s.pending : [] };
    } catch {
      return { seq: 0, pending: [] };
    }
  }

  function persist() {
    try {
      localStorage.setItem(storageKey, JSON.stringify({ seq: counter, pending: [...pending] }));
    } catch {
      // Private mode or a full quota: the queue still lives in memory.
    }
  }

  // nextSeq returns a number above every one this attempt has used, in
  // this tab, another tab (through localStorage) or on the server.
  function nextSeq() {
    counter = Math.max(counter, readStored().seq) + 1;
    return counter;
  }

  function setStatus(name) {
    const n = pending.size;
    const queued = `${plural(n, 'answer')} kept on this device`;
    const text = {
      idle: 'All answers saved',
      saving: 'Saving…',
      saved: 'Saved',
      queued: `Queued: ${queued}, sending…`,
      retrying: `Not saved yet: ${queued}, retrying`,
      offline: `Offline: ${queued}, sent when you reconnect`,
      signedOut: 'Not saved: your session has ended. Sign in again in another tab; we keep retrying',
      rejected: 'One change could not be saved',
      closed: 'The exam is closed',
    }[name];
    els.status.dataset.state = name;
    // A phone shows a brief form (the whole sentence would fill its timer
    // bar); screen readers hear the whole one.
    const brief = {
      queued: `Sending ${n}…`,
      retrying: `Retrying: ${n} kept here`,
      offline: `Offline: ${n} kept here`,
      signedOut: 'Signed out: not saved',
    }[name];
    if (brief) {
      const whole = document.createElement('span');
      whole.className = 'status-whole';
      whole.textContent = text;
      const short = document.createElement('span');
      short.className = 'status-brief';
      short.textContent = brief;
      short.setAttribute('aria-hidden', 'true');
      els.status.replaceChildren(whole, short);
    } else {
      els.status.textContent = text;
    }
    // The banner follows the connection, not each save: it stays while a
    // retry is in flight and goes once the server has answered.
    if (name === 'offline' || name === 'retrying') els.offline.hidden = false;
    else if (name !== 'saving' && name !== 'queued') els.offline.hidden = true;
  }

  function itemState(item) {
    return { answer: isEmptyAnswer(item.answer) ? null : item.answer, flagged: !!item.flagged };
  }

  // enqueue queues the current state of item for the server.
  function enqueue(item) {
    if (state.closed) return;
    clearTimeout(textTimers.get(item.item_id));
    textTimers.delete(item.item_id);
    const change = { ...itemState(item), seconds: secondsOn(item), seq: nextSeq() };
    item.seq = change.seq;
    item.sentSeconds = change.seconds;
    pending.set(item.item_id, change);
    persist();
    if (!retryTimer) setStatus(saving ? 'queued' : 'saving');
    else if (Date.now() - lastTry > 2000) retryNow();
    else setStatus(navigator.onLine ? 'retrying' : 'offline');
    pump();
  }

  function enqueueLater(item) {
    clearTimeout(textTimers.get(item.item_id));
    textTimers.set(item.item_id, setTimeout(() => enqueue(item), TEXT_SAVE_DELAY));
  }

  function flushText() {
    for (const id of [...textTimers.keys()]) {
      const item = itemById(id);
      if (item) enqueue(item);
    }
  }

  function retryNow() {
    if (retryTimer) {
      clearTimeout(retryTimer);
      retryTimer = 0;
      pump();
    }
  }

  async function pump() {
    if (saving || retryTimer || pending.size === 0 || state.closed) return;
    const [itemId, change] = pending.entries().next().value;
    saving = true;
    lastTry = Date.now();
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
      // applied or not, the server holds this change or a newer one.
      if (pending.get(itemId) === change) pending.delete(itemId);
      persist();
      failures = 0;
      if (pending.size === 0) setStatus('saved');
      else setStatus('saving');
      pump();
      return;
    }
    let code = '';
    if (res && res.status === 409) {
      const body = await res.json().catch(() => ({}));
      code = (body.error && body.error.code) || '';
      if (code === 'closed' || code === 'attempt_closed') {
        closeAndShowResult();
        return;
      }
    }
    // Paused by the proctor: the change waits and is sent once resumed.
    const waits = code === 'held';
    if (!waits && res && res.status >= 400 && res.status < 500 && res.status !== 401 && res.status !== 408 && res.status !== 429) {
      // The server will never take this change: keep the others going.
      if (pending.get(itemId) === change) pending.delete(itemId);
      persist();
      setStatus('rejected');
      pump();
      return;
    }
    failures++;
    if (res && res.status === 401) setStatus('signedOut');
    else if (!navigator.onLine || !res) setStatus(navigator.onLine ? 'retrying' : 'offline');
    else setStatus('retrying');
    // A 503 says when to come back (the database is restarting): the
    // queue waits that long rather than backing off further.
    retryTimer = setTimeout(() => {
      retryTimer = 0;
      pump();
    }, retryAfter(res) ?? backoff(failures - 1));
  }

  async function waitForSaves(timeoutMs, itemId) {
    flushText();
    const until = Date.now() + timeoutMs;
    const busy = () => (itemId ? pending.has(itemId) : pending.size > 0);
    retryNow();
    while (busy() && Date.now() < until) {
      await sleep(150);
      retryNow();
    }
    return !busy();
  }

  window.addEventListener('online', () => {
    failures = 0;
    if (pending.size === 0) els.offline.hidden = true;
    report('online');
    flushEvents();
    retryNow();
  });
  window.addEventListener('offline', () => {
    report('offline');
    if (pending.size > 0) setStatus('offline');
    else els.offline.hidden = false;
  });
  window.addEventListener('beforeunload', (e) => {
    flushText();
    if (pending.size > 0 && !state.closed) e.preventDefault();
  });

  // Time on item: shown is the item on screen while its clock runs.

  let shown = null; // {item, since}

  function clockRuns() {
    return state.loaded && !state.closed && !state.held && !state.paused && document.visibilityState === 'visible';
  }

  function stopItemClock() {
    if (!shown) return;
    shown.item.seconds = (Number(shown.item.seconds) || 0) + (performance.now() - shown.since) / 1000;
    shown = null;
  }

  function startItemClock() {
    stopItemClock();
    const item = currentItem();
    if (item && clockRuns()) shown = { item, since: performance.now() };
  }

  // secondsOn is the item's time on screen so far, to a tenth of a second.
  function secondsOn(item) {
    if (shown && shown.item === item) startItemClock(); // bank the running time
    return Math.round((Number(item.seconds) || 0) * 10) / 10;
  }

  // saveTime queues the item's time alone when enough of it is unsent (any
  // of it when forced), keeping a queued answer of the item in the change.
  function saveTime(item, force) {
    if (!item || state.closed) return;
    const seconds = secondsOn(item);
    if (seconds - (Number(item.sentSeconds) || 0) < (force ? 0.1 : TIME_SAVE_MIN)) return;
    const queued = pending.get(item.item_id);
    const change = { ...(queued || {}), seconds, seq: nextSeq() };
    item.seq = change.seq;
    item.sentSeconds = seconds;
    pending.set(item.item_id, change);
    persist();
    pump();
  }

  // Questions.

  function currentItem() {
    return state.items[state.index];
  }

  function itemById(id) {
    return state.items.find((it) => it.item_id === id);
  }

  function kindOf(item) {
    return (item && item.content && item.content.kind) || 'single_choice';
  }

  function sectionInfo(name) {
    const s = state.sections;
    if (!s || !name) return null;
    if (Array.isArray(s)) return s.find((x) => x && (x.id === name || x.name === name || x.title === name)) || null;
    return typeof s[name] === 'string' ? { instructions: s[name] } : s[name] || null;
  }

  function renderSection(item) {
    const prev = state.items[state.index - 1];
    const entering = item.section && (!prev || prev.section !== item.section);
    els.section.hidden = !item.section;
    if (!item.section) return false;
    const info = sectionInfo(item.section);
    els.sectionName.textContent = (info && info.title) || item.section;
    els.sectionText.textContent = (info && info.instructions) || '';
    els.sectionText.hidden = !entering || !(info && info.instructions);
    els.section.classList.toggle('is-entering', !!entering);
    return !!entering;
  }

  function showQuestion() {
    const item = currentItem();
    if (!item) return false;
    els.number.textContent = String(state.index + 1);
    els.of.textContent = state.cat
      ? (state.catInfo && state.catInfo.max ? ` (at most ${state.catInfo.max})` : '')
      : ` of ${state.items.length}`;
    els.body.dataset.itemId = item.item_id;
    els.body.dataset.kind = kindOf(item);
    const entering = renderSection(item);
    view = renderQuestion(els.body, item.content || {}, {
      answer: item.answer,
      readOnly: state.closed,
      idPrefix: 'option',
      onAnswer: (a) => onAnswer(item, a),
    });
    els.flag.checked = !!item.flagged;
    els.navError.hidden = true;
    els.shortcutsBox.hidden = !CHOICE_KINDS.has(kindOf(item));
    if (state.cat) {
      els.next.disabled = state.catDone || state.closed;
    } else {
      els.prev.disabled = state.index === 0;
      els.next.disabled = state.index === state.items.length - 1;
    }
    renderMap();
    return entering;
  }

  function onAnswer(item, answer) {
    item.answer = answer;
    if (TEXT_KINDS.has(kindOf(item))) enqueueLater(item);
    else enqueue(item);
    els.navError.hidden = true;
    renderMap();
  }

  function answeredCount() {
    return state.items.filter((it) => !isEmptyAnswer(it.answer)).length;
  }

  function renderMap() {
    const answered = answeredCount();
    if (state.cat) {
      const max = state.catInfo && state.catInfo.max;
      els.progress.textContent = `${plural(answered, 'question')} answered${max ? ` (the exam asks at most ${max})` : ''}`;
      return;
    }
    let buttons = els.map.querySelectorAll('button');
    if (buttons.length !== state.items.length) {
      els.map.replaceChildren(...state.items.map((_, i) => {
        const li = document.createElement('li');
        const b = document.createElement('button');
        b.type = 'button';
        b.dataset.index = String(i);
        b.textContent = String(i + 1);
        li.append(b);
        return li;
      }));
      buttons = els.map.querySelectorAll('button');
    }
    state.items.forEach((item, i) => {
      const b = buttons[i];
      const isAnswered = !isEmptyAnswer(item.answer);
      b.classList.toggle('is-answered', isAnswered);
      b.classList.toggle('is-flagged', !!item.flagged);
      b.classList.toggle('is-current', i === state.index);
      if (i === state.index) b.setAttribute('aria-current', 'step');
      else b.removeAttribute('aria-current');
      const parts = [`Question ${i + 1}`, isAnswered ? 'answered' : 'not answered'];
      if (item.flagged) parts.push('flagged');
      b.setAttribute('aria-label', parts.join(', '));
    });
    els.progress.textContent = `${answered} of ${state.items.length} answered`;
  }

  function go(index, focusHeading) {
    if (index < 0 || index >= state.items.length) return;
    if (state.cat && index !== state.items.length - 1) return; // no way back
    flushText();
    const leaving = currentItem();
    stopItemClock();
    // An adaptive item's time went with its last save (catNext): it cannot
    // change once the next is given.
    if (!state.cat && leaving && index !== state.index) saveTime(leaving, false);
    state.index = index;
    const entering = showQuestion();
    startItemClock();
    history.replaceState(null, '', `#q${index + 1}`);
    const item = currentItem();
    const where = state.cat ? `Question ${index + 1}` : `Question ${index + 1} of ${state.items.length}`;
    els.announce.textContent = entering ? `${where}. New section: ${els.sectionName.textContent}.` : where;
    if (focusHeading) els.heading.focus();
    return item;
  }

  els.flag.addEventListener('change', () => {
    const item = currentItem();
    if (!item) return;
    item.flagged = els.flag.checked;
    enqueue(item);
    renderMap();
  });
  els.prev.addEventListener('click', () => go(state.index - 1, false));
  els.next.addEventListener('click', () => (state.cat ? catNext() : go(state.index + 1, false)));
  els.map.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-index]');
    if (b && state.loaded) go(Number(b.dataset.index), true);
  });

  function navError(text) {
    els.navError.textContent = text;
    els.navError.hidden = false;
  }

  // Adaptive attempts.

  async function catNext() {
    const item = currentItem();
    if (!item || state.catDone || state.closed) return;
    flushText();
    if (isEmptyAnswer(item.answer)) {
      navError('Answer this question to go on: an adaptive exam does not come back to a question.');
      return;
    }
    els.next.disabled = true;
    const label = els.next.textContent;
    els.next.textContent = 'Saving…';
    stopItemClock();
    saveTime(item, true);
    try {
      if (!(await waitForSaves(15000, item.item_id))) {
        navError('Your answer is not saved yet. Check your connection; we keep trying.');
        return;
      }
      let res = null;
      try {
        res = await fetch(`${api}/next`, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { Accept: 'application/json', 'X-CSRF-Token': csrfToken() },
        });
      } catch {
        res = null;
      }
      if (!res) {
        navError('The server cannot be reached. Your answer is saved; try Next again in a moment.');
        return;
      }
      const body = await res.json().catch(() => ({}));
      if (!res.ok) {
        const code = body.error && body.error.code;
        if (code === 'closed' || code === 'attempt_closed') {
          closeAndShowResult();
          return;
        }
        navError(code === 'unanswered'
          ? 'Answer this question to go on: the server has no saved answer for it yet.'
          : (body.error && body.error.message) || 'The next question could not be loaded. Try again.');
        return;
      }
      if (body.done) {
        finishCAT(true);
        return;
      }
      state.items.push(body.item);
      if (state.catInfo) state.catInfo.administered = state.items.length;
      go(state.items.length - 1, true);
    } finally {
      els.next.textContent = label;
      els.next.disabled = state.catDone || state.closed;
      if (!shown) startItemClock();
    }
  }

  function finishCAT(announce) {
    state.catDone = true;
    els.next.disabled = true;
    els.catDone.hidden = false;
    view = renderQuestion(els.body, currentItem().content || {}, { answer: currentItem().answer, readOnly: true, idPrefix: 'option' });
    if (announce) {
      els.announce.textContent = 'You have answered every question this exam needs. Submit the exam to see your result.';
      openSubmitDialog();
    }
  }

  document.addEventListener('keydown', (e) => {
    if (!state.loaded || state.closed || state.paused || !els.shortcuts.checked) return;
    if (e.ctrlKey || e.metaKey || e.altKey || els.dialog.open) return;
    const t = e.target;
    if (t instanceof HTMLElement && (t.isContentEditable || /^(TEXTAREA|SELECT)$/.test(t.tagName) ||
        (t.tagName === 'INPUT' && !/^(radio|checkbox)$/.test(t.type)))) return;
    const key = e.key.toLowerCase();
    const item = currentItem();
    let pick = -1;
    if (/^[1-9]$/.test(key)) pick = Number(key) - 1;
    else if (/^[a-h]$/.test(key) && key !== 'f') pick = key.charCodeAt(0) - 97;
    const inputs = CHOICE_KINDS.has(kindOf(item)) && !state.catDone ? els.body.querySelectorAll('input[name="option-choice"]') : [];
    if (pick >= 0 && pick < inputs.length) {
      e.preventDefault();
      inputs[pick].click();
      inputs[pick].focus();
    } else if (key === 'n') {
      e.preventDefault();
      els.next.click();
    } else if (key === 'p' && !state.cat) {
      e.preventDefault();
      go(state.index - 1, false);
    } else if (key === 'f' && !state.cat) {
      e.preventDefault();
      els.flag.click();
    }
  });

  // Submitting.

  function openSubmitDialog() {
    if (!state.loaded) return;
    flushText();
    const unanswered = [];
    const flagged = [];
    state.items.forEach((item, i) => {
      if (isEmptyAnswer(item.answer)) unanswered.push(i + 1);
      if (item.flagged) flagged.push(i + 1);
    });
    const n = state.items.length;
    if (state.cat) {
      els.summary.textContent = state.catDone
        ? `You have answered ${plural(n - unanswered.length, 'question')}, all this exam needs.`
        : `You have answered ${plural(n - unanswered.length, 'question')}. If you submit now, the questions you have not reached count as not answered.`;
    } else {
      els.summary.textContent = unanswered.length === 0
        ? `You have answered all ${n} questions${flagged.length ? `, and ${plural(flagged.length, 'question')} ${flagged.length === 1 ? 'is' : 'are'} flagged for review` : ''}.`
        : `${plural(unanswered.length, 'question')} ${unanswered.length === 1 ? 'is' : 'are'} unanswered and ${plural(flagged.length, 'question')} ${flagged.length === 1 ? 'is' : 'are'} flagged for review.`;
    }
    const lines = [];
    if (!state.cat && unanswered.length) lines.push(`Unanswered: ${unanswered.join(', ')}.`);
    if (!state.cat && flagged.length) lines.push(`Flagged: ${flagged.join(', ')}.`);
    els.lists.textContent = lines.join(' ');
    els.lists.hidden = lines.length === 0;
    els.submitError.hidden = true;
    els.confirm.disabled = false;
    els.cancel.disabled = false;
    els.confirm.textContent = 'Submit now';
    if (!els.dialog.open) els.dialog.showModal();
    els.cancel.focus();
  }

  async function submit(by) {
    stopItemClock();
    saveTime(currentItem(), true);
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
      if (res && res.status === 409) {
        const body = await res.json().catch(() => ({}));
        if (body.error && body.error.code === 'held') throw new Error(body.error.message);
        return; // submitted already
      }
      if (res && res.ok) return;
      if (res && res.status < 500 && res.status !== 429) {
        const body = await res.json().catch(() => ({}));
        throw new Error((body.error && body.error.message) || 'The exam could not be submitted.');
      }
      await sleep(Math.max(retryAfter(res) ?? 0, backoff(attempt)));
    }
    throw new Error('The exam could not be submitted: the server does not answer. Please try again.');
  }

  // closeAndShowResult leaves for the result once the server has closed
  // the attempt: changes still queued can no longer be saved.
  function closeAndShowResult() {
    state.closed = true;
    stopItemClock();
    stopCapture();
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
      stopCapture();
      pending.clear();
      persist();
      flushEvents();
      location.assign(resultURL);
    } catch (err) {
      startItemClock();
      els.submitError.textContent = err.message;
      els.submitError.hidden = false;
      els.confirm.disabled = false;
      els.cancel.disabled = false;
      els.confirm.textContent = 'Try again';
    }
  });

  // Breaks: an accommodation's break time stops the exam clock.

  async function postBreak(action) {
    const res = await fetch(`${api}/breaks`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrfToken() },
      body: JSON.stringify({ action }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error((body.error && body.error.message) || 'The break could not be changed. Try again.');
    return body;
  }

  function applyBreak(b) {
    state.paused = !!b.paused;
    if (b.deadline) state.deadline = Date.parse(b.deadline);
    if (typeof b.breaks_left_seconds === 'number') state.breaksLeft = b.breaks_left_seconds;
    if (state.paused) {
      state.pausedLeft = typeof b.remaining_seconds === 'number' ? b.remaining_seconds * 1000 : state.deadline - serverNow();
      state.breakEndsAt = serverNow() + state.breaksLeft * 1000;
    }
    renderBreak();
    if (state.paused) stopItemClock();
    else if (!shown) startItemClock();
    tick();
  }

  function renderBreak() {
    const left = Math.floor(state.breaksLeft / 60);
    els.takeBreak.hidden = state.closed || state.paused || state.breaksLeft <= 0;
    els.takeBreak.textContent = `Take a break (${left < 1 ? 'under a minute' : `${left} min`} left)`;
    els.timerBox.dataset.paused = String(state.paused);
    if (state.paused && !els.breakDialog.open) {
      if (els.dialog.open) els.dialog.close();
      els.breakError.hidden = true;
      els.breakDialog.showModal();
      els.endBreak.focus();
    } else if (!state.paused && els.breakDialog.open) {
      els.breakDialog.close();
      els.heading.focus();
    }
  }

  els.takeBreak.addEventListener('click', async () => {
    els.takeBreak.disabled = true;
    flushText();
    try {
      applyBreak(await postBreak('start'));
      els.announce.textContent = 'Break started. The exam clock is stopped.';
    } catch (err) {
      navError(err.message);
    } finally {
      els.takeBreak.disabled = false;
    }
  });

  let ending = false;
  async function endBreak() {
    if (ending) return;
    ending = true;
    els.endBreak.disabled = true;
    try {
      applyBreak(await postBreak('end'));
      els.announce.textContent = 'Break over. The exam clock is running again.';
    } catch (err) {
      els.breakError.textContent = err.message;
      els.breakError.hidden = false;
    } finally {
      ending = false;
      els.endBreak.disabled = false;
    }
  }
  els.endBreak.addEventListener('click', endBreak);
  els.breakDialog.addEventListener('cancel', (e) => e.preventDefault()); // Escape does not end a break by accident
  els.heldDialog.addEventListener('cancel', (e) => e.preventDefault()); // only the proctor ends a pause

  // The timer.

  let lastLeft = null;

  function announceTime(left) {
    if (lastLeft !== null) {
      for (const min of ANNOUNCE_AT) {
        const at = min * 60000;
        if (lastLeft > at && left <= at) {
          const text = min === 1
            ? 'One minute left. Your answers are saved; the exam is submitted automatically when time runs out.'
            : `${minutesWords(min)} left.`;
          (min <= 5 ? els.warning : els.timeAnnounce).textContent = text;
        }
      }
    }
    lastLeft = left;
  }

  async function timeUp() {
    if (els.dialog.open) els.dialog.close();
    els.timeUp.hidden = false;
    els.body.querySelectorAll('input, select, button').forEach((i) => { i.disabled = true; });
    try {
      await submit('deadline');
    } catch {
      // The result page closes an attempt whose time is up.
    }
    state.closed = true;
    stopCapture();
    flushEvents();
    location.assign(resultURL);
  }

  function tick() {
    if (state.held) {
      els.timer.textContent = formatClock(state.heldLeft);
      return;
    }
    if (state.paused) {
      els.timer.textContent = formatClock(state.pausedLeft);
      const breakLeft = state.breakEndsAt - serverNow();
      els.breakLeft.textContent = formatClock(breakLeft);
      if (breakLeft <= 0 && state.loaded) endBreak();
      return;
    }
    const left = state.deadline - serverNow();
    els.timer.textContent = formatClock(left);
    if (state.loaded) announceTime(left);
    els.timerBox.dataset.level = left <= 60000 ? 'urgent' : left <= 300000 ? 'warn' : '';
    if (left <= 0 && !state.closed && state.loaded) {
      state.closed = true;
      clearInterval(timer);
      timeUp();
    }
  }
  const timer = setInterval(tick, 500);
  tick();

  // The proctor, live: a pause, added time, a message or the end of the
  // attempt reach the page through a server-sent event stream. Each time
  // the stream (re)opens the page re-reads the attempt and the messages,
  // so that nothing sent while it was away is missed.

  function applyHeld(held, remainingSeconds) {
    const wasHeld = !!state.held;
    state.held = held;
    if (typeof remainingSeconds === 'number') {
      if (held) state.heldLeft = remainingSeconds * 1000;
      else state.deadline = serverNow() + remainingSeconds * 1000;
    }
    els.timerBox.dataset.paused = String(held || state.paused);
    if (held && !els.heldDialog.open) {
      if (els.dialog.open) els.dialog.close();
      if (els.breakDialog.open) els.breakDialog.close();
      els.heldDialog.showModal();
      els.heldText.focus();
    } else if (!held && els.heldDialog.open) {
      els.heldDialog.close();
      els.heading.focus();
    }
    if (wasHeld && !held) {
      els.announce.textContent = 'Your proctor resumed the exam. The clock is running again.';
      retryNow();
    }
    if (held) stopItemClock();
    else if (!shown) startItemClock();
    tick();
  }

  const seenMessages = new Set(JSON.parse(sessionStorage.getItem(`ts-messages-${root.dataset.attemptId}`) || '[]'));
  function showMessage(m) {
    if (m.id && seenMessages.has(m.id)) return;
    if (m.id) {
      seenMessages.add(m.id);
      sessionStorage.setItem(`ts-messages-${root.dataset.attemptId}`, JSON.stringify([...seenMessages]));
    }
    const item = document.createElement('li');
    item.textContent = m.body;
    els.messageList.append(item);
    els.messages.hidden = false;
    els.proctorAlert.textContent = `Message from your proctor: ${m.body}`;
    if (els.heldDialog.open) els.heldMessage.textContent = m.body;
  }

  async function syncWithProctor() {
    try {
      const [att, msgs] = await Promise.all([
        fetch(api, { credentials: 'same-origin', headers: { Accept: 'application/json' } }),
        fetch(`${api}/messages`, { credentials: 'same-origin', headers: { Accept: 'application/json' } }),
      ]);
      if (att.ok) {
        const a = await att.json();
        if (a.status !== 'in_progress') {
          closeAndShowResult();
          return;
        }
        applyHeld(!!a.held, a.remaining_seconds);
        if (!a.held && !a.paused) state.deadline = Date.parse(a.deadline);
      }
      if (msgs.ok) (await msgs.json()).forEach(showMessage);
    } catch {
      // Offline: the stream's next reconnect syncs again.
    }
  }

  function listenToProctor() {
    if (!window.EventSource) return;
    const stream = new EventSource(`${api}/live`);
    stream.addEventListener('open', syncWithProctor);
    // The browser reconnects a stream that broke by itself, but gives up
    // on one answered with an error (a 503 while the database or the
    // shared state restarts): open a new one a little later.
    stream.addEventListener('error', () => {
      if (stream.readyState !== EventSource.CLOSED || state.closed) return;
      setTimeout(() => {
        if (!state.closed) listenToProctor();
      }, 5000);
    });
    stream.onmessage = (ev) => {
      let e;
      try {
        e = JSON.parse(ev.data);
      } catch {
        return;
      }
      switch (e.type) {
        case 'hold':
          applyHeld(true, e.remaining_seconds);
          break;
        case 'resume':
          applyHeld(false, e.remaining_seconds);
          break;
        case 'time':
          applyHeld(!!state.held, e.remaining_seconds);
          els.proctorAlert.textContent = e.message || 'Your proctor added time.';
          break;
        case 'message':
          syncWithProctor();
          break;
        case 'terminate':
          stream.close();
          closeAndShowResult();
          break;
        default:
      }
    };
  }

  // Proctoring signals.

  const events = [];
  let flushing = false;

  // A signal reaches the proctor within about a second: a burst (a
  // focus lost and regained, a paste) goes in one post; heartbeats and
  // the ten-second flush carry the rest.
  let flushSoon = 0;
  function report(kind, detail) {
    if (state.closed && kind !== 'heartbeat') return;
    events.push({ kind, detail: detail || '', at: new Date().toISOString() });
    if (events.length > 500) events.splice(0, events.length - 500);
    if (kind !== 'heartbeat' && !flushSoon) {
      flushSoon = setTimeout(() => {
        flushSoon = 0;
        flushEvents();
      }, 1000);
    }
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
  window.addEventListener('focus', () => {
    report('focus_gained');
    retryNow();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') {
      report('visibility_hidden');
      flushText();
      stopItemClock();
      if (state.loaded) saveTime(currentItem(), false); // the tab may not come back
      flushEvents();
    } else {
      report('visibility_visible');
      startItemClock();
      retryNow();
    }
  });
  document.addEventListener('copy', () => report('copy'));
  document.addEventListener('paste', () => report('paste'));
  window.addEventListener('beforeprint', () => report('print'));
  document.addEventListener('contextmenu', () => report('context_menu'));

  // A resize is reported once the window has kept its new size a second.
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => report('resize', `${window.innerWidth}x${window.innerHeight}`), 1000);
  });

  // A second screen, where the browser can tell (the Window Management
  // API's screen.isExtended): at the start, and when one is connected.
  if (window.screen && 'isExtended' in window.screen) {
    let extended = !!window.screen.isExtended;
    if (extended) report('second_screen', 'extended display at the start');
    if (typeof window.screen.addEventListener === 'function') {
      window.screen.addEventListener('change', () => {
        const now = !!window.screen.isExtended;
        if (now && !extended) report('second_screen', 'extended display connected');
        extended = now;
      });
    }
  }

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
  }, HEARTBEAT_MS);
  setInterval(flushEvents, 10000);

  // Webcam snapshots, when the exam takes them (capture.js).

  let capture = null;
  let captureStopped = false;

  function stopCapture() {
    captureStopped = true;
    if (capture) capture.stop();
  }

  function startCapture(proctoring) {
    const every = Number(proctoring && proctoring.snapshot_seconds) || 0;
    if (every <= 0 || capture || captureStopped || !document.getElementById('camera')) return;
    import('./capture.js').then((m) => {
      if (captureStopped) return;
      capture = m.startCapture({
        api,
        seconds: every,
        faceCheck: !!proctoring.face_check,
        report: (kind, detail) => {
          report(kind, detail);
          flushEvents();
        },
      });
    }).catch(() => report('camera_unavailable', 'the capture module did not load'));
  }

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
    state.items = data.items || [];
    state.cat = data.mode === 'cat' || data.can_go_back === false;
    state.catInfo = data.cat || null;
    state.sections = data.sections || null;
    state.breaksLeft = Number(data.breaks_left_seconds) || 0;

    // Resume: the server's answers, unless this device queued a newer change.
    for (const item of state.items) counter = Math.max(counter, Number(item.seq) || 0);
    for (const [itemId, change] of [...pending]) {
      const item = itemById(itemId);
      if (!item || !(change.seq > (Number(item.seq) || 0))) {
        pending.delete(itemId);
        continue;
      }
      // A change may carry the time alone.
      if ('answer' in change) item.answer = change.answer;
      if ('flagged' in change) item.flagged = change.flagged;
      if (typeof change.seconds === 'number') item.seconds = Math.max(Number(item.seconds) || 0, change.seconds);
      item.seq = change.seq;
    }
    for (const item of state.items) item.sentSeconds = Number(item.seconds) || 0;
    persist();

    if (state.cat) {
      els.prev.hidden = true;
      els.qmapNav.hidden = true;
      els.qmapLegend.hidden = true;
      els.flagToggle.hidden = true;
      document.getElementById('shortcuts-back').hidden = true;
      els.next.textContent = 'Save and continue →';
      state.index = Math.max(0, state.items.length - 1);
    } else {
      const m = /^#q(\d+)$/.exec(location.hash);
      const wanted = m ? Number(m[1]) - 1 : 0;
      state.index = wanted >= 0 && wanted < state.items.length ? wanted : 0;
    }
    state.loaded = true;
    if (state.items.length === 0) {
      els.body.textContent = 'This attempt has no questions. Please tell your proctor.';
      return;
    }
    showQuestion();
    if (state.cat && state.catInfo && state.catInfo.done) finishCAT(false);
    applyBreak({ paused: !!data.paused, remaining_seconds: data.remaining_seconds, breaks_left_seconds: state.breaksLeft });
    applyHeld(!!data.held, data.remaining_seconds);
    startItemClock();
    lastLeft = null;
    tick();
    listenToProctor();
    startCapture(data.proctoring);
    if (pending.size > 0) {
      setStatus('saving');
      pump();
    } else {
      setStatus('idle');
    }
  });
}
