// The candidate's check-in before a proctored exam (templates/checkin.html):
// one step at a time — what is recorded, a system check (camera, browser
// features, connection), a photo of the candidate and of their ID, the
// exam's rules — then the wait for admission, and the start of the exam.
// The wait follows GET /api/v1/checkins/:id/live, which tells of the
// proctor's decision at once, and reads the check-in again each time the
// stream (re)connects; without EventSource it polls every 3 seconds. Every
// step goes through the JSON API under /api/v1/exams/:id/checkins and
// /api/v1/checkins/:id.

const root = document.getElementById('checkin');
if (root) main(root);

const STEPS = ['privacy', 'system', 'photos', 'rules', 'admission'];
const LABELS = { privacy: 'What is recorded', system: 'System check', photos: 'Photos', rules: 'Rules', admission: 'Admission' };
const POLL_MS = 3000;
const PROBE_BYTES = 64 * 1024;

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : '';
}

// api calls the JSON API and returns the answer's body; a refusal throws
// an Error carrying the status, code, field and the server's message.
async function api(method, path, body, type) {
  const headers = { Accept: 'application/json', 'X-CSRF-Token': csrfToken() };
  if (type) headers['Content-Type'] = type;
  const r = await fetch(path, { method, headers, body, credentials: 'same-origin', cache: 'no-store' });
  let data = null;
  try {
    data = await r.json();
  } catch {
    // 204 and friends have no body.
  }
  if (!r.ok) {
    const e = (data && data.error) || {};
    const err = new Error(e.message || `The server answered ${r.status}.`);
    Object.assign(err, { status: r.status, code: e.code, field: e.field });
    throw err;
  }
  return data;
}

function $(id) {
  return document.getElementById(id);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function main(root) {
  const examID = root.dataset.exam;
  let checkin = root.dataset.checkin ? { id: root.dataset.checkin, status: root.dataset.status, photos: [] } : null;
  let stream = null;
  let pollTimer = 0;
  let live = null; // the check-in's event stream while waiting
  const kept = new Set();

  function show(step) {
    const at = STEPS.indexOf(step);
    STEPS.forEach((s, i) => {
      $(`step-${s}`).hidden = s !== step;
      const li = $(`stepper-${s}`);
      if (s === step) li.setAttribute('aria-current', 'step');
      else li.removeAttribute('aria-current');
      li.dataset.done = String(i < at);
    });
    $('step-announce').textContent = `Step ${at + 1} of ${STEPS.length}: ${LABELS[step]}`;
    const heading = [...$(`step-${step}`).querySelectorAll('h2')].find((h) => !h.closest('[hidden]'));
    if (heading) {
      heading.tabIndex = -1;
      heading.focus();
    }
  }

  // The camera, asked for once and shared by every preview.
  async function camera() {
    if (stream && stream.getVideoTracks().some((t) => t.readyState === 'live')) return stream;
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false });
    return stream;
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
  }

  async function attach(video) {
    video.srcObject = await camera();
    try {
      await video.play();
    } catch {
      // Autoplay of a muted stream is allowed; a refusal leaves the still frame.
    }
  }

  // Step 1: the candidate has read what is recorded; open the check-in.
  const begin = $('begin');
  begin.hidden = false;
  begin.addEventListener('click', async () => {
    begin.disabled = true;
    try {
      checkin = await api('POST', `/api/v1/exams/${examID}/checkins`);
    } catch (e) {
      begin.disabled = false;
      alertIn('step-privacy', e.message);
      return;
    }
    const notice = $('rejected-notice');
    if (notice) notice.hidden = true;
    if (checkin.status === 'pending' || checkin.status === 'admitted') {
      admission(checkin);
      return;
    }
    show('system');
    systemCheck();
  });

  function alertIn(stepID, message) {
    const step = $(stepID);
    let p = step.querySelector('.step-alert');
    if (!p) {
      p = document.createElement('p');
      p.className = 'field-error step-alert';
      p.setAttribute('role', 'alert');
      step.querySelector('.checkin-actions').before(p);
    }
    p.textContent = message;
  }

  // Step 2: the system check.
  function setCheck(name, state, detail) {
    const li = $(`check-${name}`);
    li.dataset.state = state;
    $(`check-${name}-detail`).textContent = detail;
  }

  async function systemCheck() {
    const next = $('system-next');
    const error = $('system-error');
    next.disabled = true;
    error.hidden = true;
    const result = { camera: false, browser: false, features: {}, connection: { round_trip_ms: 0, upload_kbps: 0 } };

    setCheck('camera', 'running', 'Asking for your camera…');
    try {
      const video = $('system-video');
      await attach(video);
      const track = stream.getVideoTracks()[0];
      const settings = track.getSettings ? track.getSettings() : {};
      result.camera = true;
      $('system-placeholder').hidden = true;
      setCheck('camera', 'ok', `${track.label || 'Camera'} is working${settings.width ? ` (${settings.width}×${settings.height})` : ''}.`);
    } catch (e) {
      const why = {
        NotAllowedError: 'Camera access was refused. Allow the camera for this site in your browser’s settings, then check again.',
        NotFoundError: 'No camera was found. Connect one, then check again.',
        NotReadableError: 'The camera is in use by another program. Close it, then check again.',
      }[e.name] || `The camera could not be started (${e.message || e.name}).`;
      setCheck('camera', 'bad', why);
    }

    const canvas = document.createElement('canvas');
    const features = {
      fetch: typeof window.fetch === 'function',
      eventsource: typeof window.EventSource === 'function',
      fullscreen: Boolean(document.fullscreenEnabled && Element.prototype.requestFullscreen),
      canvas: Boolean(canvas.getContext && canvas.getContext('2d') && canvas.toBlob),
    };
    const names = { fetch: 'fetch', eventsource: 'live updates (EventSource)', fullscreen: 'full screen', canvas: 'canvas' };
    const missing = Object.keys(features).filter((k) => !features[k]);
    result.features = features;
    result.browser = missing.length === 0;
    setCheck('browser', result.browser ? 'ok' : 'bad', result.browser
      ? 'Everything the exam page needs is there.'
      : `Missing: ${missing.map((k) => names[k]).join(', ')}. Use a current Chrome, Edge, Firefox or Safari.`);

    setCheck('connection', 'running', 'Measuring…');
    try {
      const times = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const r = await fetch('/healthz', { cache: 'no-store', credentials: 'same-origin' });
        await r.text();
        times.push(performance.now() - t0);
      }
      const payload = new Uint8Array(PROBE_BYTES);
      crypto.getRandomValues(payload);
      const t0 = performance.now();
      await api('POST', `/api/v1/checkins/${checkin.id}/probe`, payload, 'application/octet-stream');
      const ms = Math.max(performance.now() - t0, 1);
      const rtt = Math.round(median(times) * 10) / 10;
      const kbps = Math.round((PROBE_BYTES * 8) / ms);
      result.connection = { round_trip_ms: rtt, upload_kbps: kbps };
      const good = rtt < 800 && kbps >= 256;
      const rate = kbps >= 1000 ? `${(kbps / 1000).toFixed(1)} Mbit/s` : `${kbps} kbit/s`;
      setCheck('connection', good ? 'ok' : 'warn', `${Math.round(rtt)} ms round trip, ${rate} upload${good ? '.' : ': slow, snapshots may arrive late.'}`);
    } catch (e) {
      setCheck('connection', 'bad', `The server could not be reached (${e.message}). Check your connection, then check again.`);
    }

    try {
      checkin = await api('PUT', `/api/v1/checkins/${checkin.id}/system-check`, JSON.stringify(result), 'application/json');
      next.disabled = !result.camera;
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    }
  }

  $('system-retry').addEventListener('click', () => systemCheck());
  $('system-next').addEventListener('click', async () => {
    show('photos');
    await photos();
  });

  // Step 3: the photos.
  const cards = [...document.querySelectorAll('.photo-card')];

  function updatePhotosNext() {
    $('photos-next').disabled = !cards.every((c) => kept.has(c.dataset.kind));
  }

  function setCard(card, state) {
    card.dataset.state = state;
    const video = card.querySelector('video');
    const canvas = card.querySelector('canvas');
    const img = card.querySelector('img');
    video.hidden = state !== 'live';
    canvas.hidden = state !== 'taken';
    img.hidden = state !== 'kept';
    card.querySelector('[data-action="take"]').hidden = state !== 'live';
    card.querySelector('[data-action="retake"]').hidden = state === 'live';
    card.querySelector('[data-action="keep"]').hidden = state !== 'taken';
  }

  async function photos() {
    for (const p of (checkin && checkin.photos) || []) {
      const card = $(`photo-${p.kind}`);
      if (!card || kept.has(p.kind)) continue;
      card.querySelector('img').src = p.url;
      kept.add(p.kind);
      setCard(card, 'kept');
      card.querySelector('.photo-status').textContent = 'Kept.';
    }
    updatePhotosNext();
    try {
      for (const card of cards) await attach(card.querySelector('video'));
    } catch (e) {
      alertIn('step-photos', `The camera stopped (${e.message || e.name}). Go back to the system check.`);
    }
  }

  for (const card of cards) {
    const status = card.querySelector('.photo-status');
    const canvas = card.querySelector('canvas');
    card.querySelector('[data-action="take"]').addEventListener('click', () => {
      const video = card.querySelector('video');
      const w = video.videoWidth || 640;
      const h = video.videoHeight || 480;
      const scale = Math.min(1, 1280 / w);
      canvas.width = Math.round(w * scale);
      canvas.height = Math.round(h * scale);
      canvas.getContext('2d').drawImage(video, 0, 0, canvas.width, canvas.height);
      setCard(card, 'taken');
      status.textContent = 'Look at the photo: keep it, or retake it.';
      card.querySelector('[data-action="keep"]').focus();
    });
    card.querySelector('[data-action="retake"]').addEventListener('click', async () => {
      kept.delete(card.dataset.kind);
      updatePhotosNext();
      setCard(card, 'live');
      status.textContent = '';
      await attach(card.querySelector('video')).catch(() => {});
      card.querySelector('[data-action="take"]').focus();
    });
    card.querySelector('[data-action="keep"]').addEventListener('click', async (ev) => {
      const button = ev.currentTarget;
      button.disabled = true;
      status.textContent = 'Saving…';
      try {
        const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.9));
        const photo = await api('POST', `/api/v1/checkins/${checkin.id}/photos?kind=${card.dataset.kind}`, blob, 'image/jpeg');
        card.querySelector('img').src = photo.url;
        kept.add(card.dataset.kind);
        setCard(card, 'kept');
        status.textContent = 'Kept.';
        updatePhotosNext();
        const next = cards.find((c) => !kept.has(c.dataset.kind));
        (next ? next.querySelector('[data-action="take"]') : $('photos-next')).focus();
      } catch (e) {
        status.textContent = `Not saved: ${e.message}`;
      } finally {
        button.disabled = false;
      }
    });
  }

  $('photos-back').addEventListener('click', () => {
    show('system');
    systemCheck();
  });
  $('photos-next').addEventListener('click', () => show('rules'));

  // Step 4: the rules, and the submission.
  const accept = $('accept-rules');
  const rulesError = $('rules-error');
  function rulesProblem(message) {
    rulesError.textContent = message;
    rulesError.hidden = !message;
    if (message) accept.setAttribute('aria-invalid', 'true');
    else accept.removeAttribute('aria-invalid');
  }
  accept.addEventListener('change', () => {
    if (accept.checked) rulesProblem('');
  });
  $('rules-back').addEventListener('click', () => show('photos'));
  $('rules-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!accept.checked) {
      rulesProblem('Tick the box to accept the rules: the exam cannot start without it.');
      accept.focus();
      return;
    }
    const submit = $('submit-checkin');
    submit.disabled = true;
    try {
      await api('POST', `/api/v1/checkins/${checkin.id}/rules`);
      checkin = await api('POST', `/api/v1/checkins/${checkin.id}/submit`);
    } catch (e) {
      const what = { system_check: 'System check', candidate_photo: 'Photo of you', id_photo: 'Photo of your ID', rules: 'Rules' }[e.field];
      rulesProblem(what ? `${what}: ${e.message}` : e.message);
      submit.disabled = false;
      return;
    }
    stopCamera();
    admission(checkin);
  });

  // Step 5: admission.
  function admission(ci) {
    checkin = ci;
    clearTimeout(pollTimer);
    const pending = ci.status === 'pending';
    $('admission-waiting').hidden = !pending;
    $('admission-admitted').hidden = ci.status !== 'admitted';
    $('admission-rejected').hidden = ci.status !== 'rejected';
    if (ci.status === 'rejected') $('rejected-note').textContent = ci.note;
    show('admission');
    if (pending) wait();
    else if (live) {
      live.close();
      live = null;
    }
  }

  // wait follows the check-in's stream until a decision; on each
  // (re)connection, and on the decision, it reads the check-in again.
  function wait() {
    if (!window.EventSource) {
      pollTimer = setTimeout(poll, POLL_MS);
      return;
    }
    if (live) return;
    live = new EventSource(`/api/v1/checkins/${checkin.id}/live`);
    live.addEventListener('open', check);
    live.onmessage = check;
    live.onerror = () => {
      if (live && live.readyState === EventSource.CLOSED) {
        live = null;
        pollTimer = setTimeout(poll, POLL_MS); // the stream is refused: poll instead
      }
    };
  }

  // check reads the check-in; a call while a read is on its way makes
  // it read once more after, so that a decision is never read too early.
  let checking = false;
  let again = false;
  async function check() {
    if (checking) {
      again = true;
      return;
    }
    checking = true;
    do {
      again = false;
      try {
        const ci = await api('GET', `/api/v1/checkins/${checkin.id}`);
        if (ci.status !== 'pending') {
          admission(ci);
          break;
        }
      } catch {
        // Offline for a moment: the stream's next connection reads it again.
      }
    } while (again);
    checking = false;
  }

  async function poll() {
    try {
      const ci = await api('GET', `/api/v1/checkins/${checkin.id}`);
      if (ci.status !== 'pending') {
        admission(ci);
        return;
      }
    } catch {
      // Offline for a moment: try again at the next beat.
    }
    pollTimer = setTimeout(poll, POLL_MS);
  }

  $('checkin-again').addEventListener('click', () => window.location.reload());

  // The server rendered this step; wait for the decision on a pending one.
  if (checkin && checkin.status === 'pending') wait();
}
