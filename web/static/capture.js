// Webcam snapshots during a proctored attempt.
//
// player.js imports this module when the attempt's exam takes snapshots
// (proctoring.snapshot_seconds > 0) and calls startCapture. It turns the
// camera on (640×480), shows a small self-view in the player's header with
// "Camera on — snapshots every N s", and every N seconds draws the frame to
// a canvas, encodes it as JPEG, counts the faces in it with facecheck.js
// (loaded once, from this server; without it the frame is sent unchecked)
// and POSTs it to …/snapshots with what the check found. A failed upload is
// retried once, later; nothing here ever waits in the way of answering.
//
// A refused or missing camera, or one that stops during the exam, is
// reported as a camera_unavailable event and explained on the page, with a
// button to try again. stop() turns the camera off at the end.

const JPEG_QUALITY = 0.7;
const FIRST_SNAPSHOT_MS = 1000; // once the video shows a frame

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : '';
}

// reasonOf explains a getUserMedia failure in words a candidate can act on.
function reasonOf(err) {
  switch (err && err.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'This browser was not allowed to use the camera. Allow this site to use your camera (the camera icon in the address bar, or the browser’s site settings), then select “Turn the camera on”.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found. Connect a camera, then select “Turn the camera on”.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera is in use by another program or could not start. Close other programs that use it, then select “Turn the camera on”.';
    default:
      return 'The camera could not be started in this browser.';
  }
}

// startCapture starts the camera and the snapshots. Options:
//   api        the attempt's API URL (/api/v1/attempts/{id})
//   seconds    the interval between snapshots
//   faceCheck  whether to load facecheck.js and send its findings
//   report     report(kind, detail): records a proctoring event
// It returns {stop()}.
export function startCapture({ api, seconds, faceCheck, report }) {
  const $ = (id) => document.getElementById(id);
  const els = {
    box: $('camera'),
    video: $('camera-preview'),
    status: $('camera-status'),
    notice: $('camera-notice'),
    noticeText: $('camera-notice-text'),
    retry: $('camera-retry'),
  };
  const interval = seconds * 1000;
  let stream = null;
  let timer = 0;
  let stopped = false;
  let starting = false;
  let checker = null; // a promise of facecheck.js's checker, or of null

  function show(state, text) {
    els.box.hidden = false;
    els.box.dataset.state = state;
    els.status.textContent = text;
  }

  function unavailable(reason, detail) {
    if (stopped) return;
    clearTimeout(timer);
    timer = 0;
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    els.video.srcObject = null;
    show('off', 'Camera off');
    els.noticeText.textContent = reason;
    els.notice.hidden = false;
    report('camera_unavailable', detail);
  }

  function loadChecker() {
    if (!faceCheck) return Promise.resolve(null);
    if (!checker) {
      checker = import('./facecheck.js')
        .then((m) => m.loadFaceCheck())
        .then((fc) => (fc.available ? fc : null))
        .catch(() => null);
    }
    return checker;
  }

  // findings runs the face check on the frame, without waiting longer than
  // half an interval for the library to load: a frame goes unchecked
  // rather than late.
  async function findings(canvas) {
    const fc = await Promise.race([loadChecker(), new Promise((r) => setTimeout(() => r(null), interval / 2))]);
    if (!fc) return null;
    try {
      return await fc.check(canvas);
    } catch {
      return null;
    }
  }

  async function frame() {
    const v = els.video;
    const canvas = document.createElement('canvas');
    canvas.width = v.videoWidth || 640;
    canvas.height = v.videoHeight || 480;
    canvas.getContext('2d').drawImage(v, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((r) => canvas.toBlob(r, 'image/jpeg', JPEG_QUALITY));
    return { canvas, blob };
  }

  // post sends one snapshot; it answers whether to retry it, and when.
  async function post(blob, check, takenAt) {
    const q = new URLSearchParams({ taken_at: takenAt });
    if (check) {
      q.set('faces', String(check.faces));
      q.set('looking_away', String(!!check.lookingAway));
    }
    let res = null;
    try {
      res = await fetch(`${api}/snapshots?${q}`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': blob.type || 'image/jpeg', Accept: 'application/json', 'X-CSRF-Token': csrfToken() },
        body: blob,
      });
    } catch {
      return { retryIn: interval / 2 };
    }
    if (res.ok) {
      els.box.dataset.last = String(blob.size);
      return null;
    }
    if (res.status === 409) {
      stop(); // the attempt is closed, or the exam takes no snapshots
      return null;
    }
    if (res.status === 429) {
      const after = Number(res.headers.get('Retry-After')) || interval / 2000;
      return { retryIn: after * 1000 };
    }
    if (res.status >= 500 || res.status === 401 || res.status === 408) return { retryIn: interval / 2 };
    return null; // refused for good (413, 422): the next frame may do
  }

  async function snapshot() {
    timer = 0;
    if (stopped || !stream) return;
    schedule(interval);
    let shot;
    try {
      shot = await frame();
    } catch {
      return;
    }
    if (!shot.blob) return;
    const takenAt = new Date().toISOString();
    const check = await findings(shot.canvas);
    if (stopped) return;
    const retry = await post(shot.blob, check, takenAt);
    if (retry && !stopped) {
      // Once, and before the next frame is due; never a pile of retries.
      setTimeout(() => {
        if (!stopped && stream) post(shot.blob, check, takenAt);
      }, Math.min(retry.retryIn, interval * 0.9));
    }
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(snapshot, ms);
  }

  async function start() {
    if (stopped || starting) return;
    starting = true;
    els.notice.hidden = true;
    show('starting', 'Starting the camera…');
    try {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        throw Object.assign(new Error('no getUserMedia'), { name: 'NotSupportedError' });
      }
      const s = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
      if (stopped) {
        s.getTracks().forEach((t) => t.stop());
        return;
      }
      stream = s;
      const [track] = s.getVideoTracks();
      if (track) track.addEventListener('ended', () => unavailable('The camera stopped.', 'the camera stopped during the exam'));
      els.video.srcObject = s;
      await els.video.play().catch(() => {});
      show('on', `Camera on — snapshots every ${seconds}\u00a0s`);
      // The first frame waits for the face check to load (at most an
      // interval), so that frames then follow at the interval, each checked
      // at once and sent on time.
      const ready = await Promise.race([loadChecker(), new Promise((r) => setTimeout(r, interval))]);
      if (!stopped && stream) schedule(ready ? FIRST_SNAPSHOT_MS / 4 : FIRST_SNAPSHOT_MS);
    } catch (err) {
      unavailable(reasonOf(err), `${(err && err.name) || 'Error'}: ${(err && err.message) || 'the camera could not start'}`.slice(0, 500));
    } finally {
      starting = false;
    }
  }

  function stop() {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    els.video.srcObject = null;
    show('done', 'Camera off');
  }

  els.retry.addEventListener('click', start);
  start();
  return { stop };
}
