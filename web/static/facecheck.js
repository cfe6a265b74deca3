// Face checks of proctoring snapshots, in the candidate's browser.
//
// loadFaceCheck() loads Human (@vladmandic/human, MIT) and its BlazeFace and
// FaceMesh models from this server only: /static/proctoring/manifest.json
// names the versioned library and model paths, and the models are loaded
// from that local modelBasePath, so no request leaves the server. check()
// then counts the faces in a video frame, canvas or image and tells whether
// the candidate looks away, from the head's yaw and pitch that Human
// estimates from the face's 468 mesh landmarks.
//
//   const fc = await loadFaceCheck();
//   if (fc.available) {
//     const r = await fc.check(videoElement); // {faces, lookingAway, confidence, flags, yaw, pitch}
//   }
//
// When the files are not installed on the server, or the library cannot run
// here, loadFaceCheck resolves to {available: false, reason} instead of
// failing, so a page can say that face checks are unavailable.

// A head turned further than these from facing the camera is looking away.
// A candidate reading the screen turns the head a little (up to about 20°
// sideways on a wide screen, 15° down to a laptop's keyboard); beyond 30°
// of yaw or 25° of pitch the eyes are off the screen. Angles in degrees.
export const MAX_YAW_DEGREES = 30;
export const MAX_PITCH_DEGREES = 25;

// Faces found with less confidence than this are not counted: BlazeFace
// scores patterns and shadows below it, real faces well above.
export const MIN_FACE_CONFIDENCE = 0.5;

const degrees = (radians) => (radians * 180) / Math.PI;

// humanConfig turns off everything but the face detector and mesh, and every
// cache between calls: each snapshot is judged on its own.
function humanConfig(manifest, backend) {
  return {
    backend,
    modelBasePath: manifest.modelBasePath,
    cacheModels: false, // the HTTP cache keeps the versioned model files
    wasmPath: '', // no WebAssembly backend is used; never fall back to a CDN
    debug: false,
    async: true,
    warmup: 'none',
    cacheSensitivity: 0,
    skipAllowed: false,
    filter: { enabled: false },
    gesture: { enabled: false },
    face: {
      enabled: true,
      detector: {
        modelPath: 'blazeface.json',
        rotation: true,
        maxDetected: 5,
        minConfidence: MIN_FACE_CONFIDENCE,
        skipFrames: 0,
        skipTime: 0,
        return: false,
      },
      mesh: { enabled: true, modelPath: 'facemesh.json' },
      attention: { enabled: false },
      iris: { enabled: false },
      emotion: { enabled: false },
      description: { enabled: false },
      antispoof: { enabled: false },
      liveness: { enabled: false },
    },
    body: { enabled: false },
    hand: { enabled: false },
    object: { enabled: false },
    segmentation: { enabled: false },
  };
}

// webglAvailable says whether this browser can run the WebGL backend; the
// CPU backend runs everywhere (headless browsers often lack WebGL), more
// slowly but well within a snapshot's interval.
function webglAvailable() {
  try {
    return !!document.createElement('canvas').getContext('webgl2');
  } catch {
    return false;
  }
}

// judge turns Human's faces into the check's answer.
export function judge(faces) {
  const counted = faces.filter((f) => (f.score ?? 0) >= MIN_FACE_CONFIDENCE);
  const result = { faces: counted.length, lookingAway: false, confidence: 0, yaw: null, pitch: null, flags: [] };
  if (counted.length === 0) {
    result.flags.push('no-face');
    return result;
  }
  if (counted.length > 1) result.flags.push('multiple-faces');
  const main = counted.reduce((a, b) => (b.score > a.score ? b : a));
  result.confidence = main.score;
  const angle = main.rotation?.angle;
  if (angle) {
    result.yaw = degrees(angle.yaw);
    result.pitch = degrees(angle.pitch);
    result.lookingAway = Math.abs(result.yaw) > MAX_YAW_DEGREES || Math.abs(result.pitch) > MAX_PITCH_DEGREES;
    if (result.lookingAway) result.flags.push('looking-away');
  }
  return result;
}

// loadFaceCheck loads the library and the models from this server. Options:
// backend ('webgl' or 'cpu'; default WebGL when available) and manifest (the
// URL of the manifest, for tests). Load it once per page: TensorFlow.js's
// backend belongs to the page, so a second load switches the first one's.
export async function loadFaceCheck(options = {}) {
  const manifestURL = options.manifest ?? '/static/proctoring/manifest.json';
  let manifest;
  try {
    const res = await fetch(manifestURL, { credentials: 'same-origin' });
    if (!res.ok) throw new Error(`${manifestURL}: HTTP ${res.status}`);
    manifest = await res.json();
  } catch (err) {
    return { available: false, reason: `Face checks are unavailable: ${err.message}` };
  }
  if (!manifest.available) {
    return { available: false, reason: `Face checks are unavailable. ${manifest.reason ?? ''}`.trim() };
  }
  // WebGL is much faster, but a browser may offer a context that then fails
  // (blocklisted drivers, headless without a GPU): each backend must pass a
  // detection on a blank frame, and the CPU is the fallback.
  const backends = options.backend ? [options.backend] : webglAvailable() ? ['webgl', 'cpu'] : ['cpu'];
  let human;
  let failure;
  for (const backend of backends) {
    try {
      const { Human } = await import(manifest.library);
      const candidate = new Human(humanConfig(manifest, backend));
      await candidate.init(); // selects the backend, also after another one failed
      await candidate.load();
      if (candidate.tf.getBackend() !== backend) throw new Error(`the ${backend} backend did not start`);
      const blank = document.createElement('canvas');
      blank.width = 64;
      blank.height = 64;
      const res = await candidate.detect(blank);
      if (res.error) throw new Error(res.error);
      human = candidate;
      break;
    } catch (err) {
      failure = err;
    }
  }
  if (!human) {
    return { available: false, reason: `Face checks are unavailable: ${failure?.message ?? failure}` };
  }
  return {
    available: true,
    version: manifest.version,
    backend: human.tf.getBackend(),
    // check counts the faces in a frame of a video, a canvas or an image and
    // judges where the main face looks.
    async check(input) {
      const res = await human.detect(input);
      if (res.error) throw new Error(res.error);
      return judge(res.face ?? []);
    },
  };
}
