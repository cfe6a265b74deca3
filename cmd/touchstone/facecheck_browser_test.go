package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
)

// humanPackage returns the face-detection package installed by `npm ci` in
// web/proctoring; it skips without it unless services are required.
func humanPackage(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../web/proctoring/node_modules/@vladmandic/human")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "dist", "human.esm.js"))
	}
	if err != nil {
		if dbtest.RequireServices() {
			t.Fatalf("TOUCHSTONE_REQUIRE_SERVICES=1 but @vladmandic/human is missing (%v): run `npm ci` in web/proctoring", err)
		}
		t.Skipf("@vladmandic/human missing (%v): run `npm ci` in web/proctoring", err)
	}
	return dir
}

// fakeCameraBrowser starts a headless Chromium whose camera is Chromium's
// fake device (a synthetic test pattern, no face), granted without a prompt,
// as the proctoring acceptance tests run it.
func fakeCameraBrowser(t *testing.T) context.Context {
	t.Helper()
	return browserWith(t, 4*time.Minute,
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true))
}

// faceCheck is what facecheck.js's check() answers.
type faceCheck struct {
	Faces       int      `json:"faces"`
	LookingAway bool     `json:"lookingAway"`
	Confidence  float64  `json:"confidence"`
	Yaw         *float64 `json:"yaw"`
	Pitch       *float64 `json:"pitch"`
	Flags       []string `json:"flags"`
	Ms          float64  `json:"ms"` // how long the check took, where the test measured it
}

// TestFaceCheckInBrowser loads web/static/facecheck.js into a signed-in page
// under the page's own Content Security Policy, with Human and its models
// served by Touchstone, and checks the fake camera's frames (no face) and
// two photographs that Human's package ships (assets/screenshot-faceid.jpg:
// one face; assets/screenshot-facedetect.jpg: a row of portraits, two of
// them cropped): no request may leave the server.
func TestFaceCheckInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	pkg := humanPackage(t)
	ctx := fakeCameraBrowser(t)
	s := &server{env: map[string]string{
		"TOUCHSTONE_DATA_DIR":          t.TempDir(),
		"TOUCHSTONE_DEMO_PASSWORD":     demoPassword,
		"TOUCHSTONE_LOG_LEVEL":         "warn",
		"TOUCHSTONE_PROCTORING_ASSETS": pkg,
	}, addr: "127.0.0.1:0"}
	s.launch(t)

	var mu sync.Mutex
	var requests []string
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}

	signIn(t, ctx, s, "candidate@example.com")
	eval := func(step, script string, out any) {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](script, chromedp.EvalAwaitPromise))
		if err != nil {
			screenshot(t, ctx, "failed-facecheck-"+strings.ReplaceAll(step, " ", "-"))
			t.Fatalf("%s: %v", step, err)
		}
		if out != nil {
			if err := json.Unmarshal(v, out); err != nil {
				t.Fatalf("%s: %v in %s", step, err, v)
			}
		}
	}

	// The page's CSP governs modules imported from this context: a module
	// from a data: URL, which script-src 'self' forbids, must be refused.
	// Otherwise loading facecheck.js below would prove nothing about it.
	eval("watch CSP", `window.cspViolations = [];
		document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI + ' at ' + e.sourceFile + ':' + e.lineNumber + ':' + e.columnNumber));
		true`, nil)
	var refused bool
	eval("CSP control", `import('data:text/javascript,export default 1').then(() => false, () => true)`, &refused)
	if !refused {
		t.Fatal("a data: module loaded from the page: the page's CSP does not apply to these imports, so the test cannot show facecheck.js runs under it")
	}

	// A server without the files answers unavailable, with a reason a page
	// can show, instead of failing.
	var missing struct {
		Available bool   `json:"available"`
		Reason    string `json:"reason"`
	}
	eval("load from a server without the files", `import('/static/facecheck.js').then((m) => m.loadFaceCheck({manifest: '/static/proctoring/no-such-manifest.json'}))`, &missing)
	if missing.Available || !strings.HasPrefix(missing.Reason, "Face checks are unavailable") {
		t.Errorf("without the files: got %+v, want unavailable with a reason", missing)
	}

	// Photographs shipped in the package, passed as data: URLs (never
	// fetched) and cropped into a canvas as a snapshot would be.
	photo := func(name string) string {
		b, err := os.ReadFile(filepath.Join(pkg, "assets", name))
		if err != nil {
			t.Fatal(err)
		}
		return "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(b)
	}

	// The default backend (WebGL where the browser offers it), then the
	// CPU, the fallback without WebGL.
	for _, options := range []string{"", "{backend: 'cpu'}"} {
		var loaded struct {
			Available bool   `json:"available"`
			Reason    string `json:"reason"`
			Backend   string `json:"backend"`
			Version   string `json:"version"`
		}
		eval("load the face check", fmt.Sprintf(`(async () => {
			const m = await import('/static/facecheck.js');
			window.faceCheck = await m.loadFaceCheck(%s);
			window.judge = m.judge;
			const {available, reason, backend, version} = window.faceCheck;
			return {available, reason, backend, version};
		})()`, options), &loaded)
		if !loaded.Available {
			t.Fatalf("loadFaceCheck: unavailable: %s", loaded.Reason)
		}
		if (loaded.Backend != "webgl" && loaded.Backend != "cpu") || loaded.Version != "3.3.6" {
			t.Errorf("loadFaceCheck: backend %q, version %q; want webgl or cpu and the pinned 3.3.6", loaded.Backend, loaded.Version)
		}
		if options != "" && loaded.Backend != "cpu" {
			t.Errorf("loadFaceCheck(%s): backend %q, want cpu", options, loaded.Backend)
		}

		// The fake camera's test pattern has no face.
		var camera []faceCheck
		eval("check the fake camera", `(async () => {
			const stream = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 480}});
			const video = document.createElement('video');
			video.muted = true;
			video.playsInline = true;
			video.srcObject = stream;
			await video.play();
			await new Promise((r) => video.requestVideoFrameCallback(r));
			const out = [];
			for (let i = 0; i < 3; i++) {
				const start = performance.now();
				out.push(await window.faceCheck.check(video));
				out[i].ms = performance.now() - start;
				await new Promise((r) => setTimeout(r, 200));
			}
			stream.getTracks().forEach((t) => t.stop());
			return out;
		})()`, &camera)
		for i, c := range camera {
			if c.Faces != 0 || c.LookingAway || len(c.Flags) != 1 || c.Flags[0] != "no-face" {
				t.Errorf("fake camera frame %d: got %+v, want no face and the flag no-face", i, c)
			}
		}
		if len(camera) == 3 {
			t.Logf("backend %s: a check of a 640×480 frame took %.0f, %.0f and %.0f ms", loaded.Backend, camera[0].Ms, camera[1].Ms, camera[2].Ms)
		} else {
			t.Errorf("fake camera: %d checks, want 3", len(camera))
		}

		snapshot := func(step, src string, sx, sy, sw, sh int) faceCheck {
			t.Helper()
			var c faceCheck
			eval(step, fmt.Sprintf(`(async () => {
				const img = new Image();
				img.src = %q;
				await img.decode();
				const scale = 2, pad = 40;
				const canvas = document.createElement('canvas');
				canvas.width = %[4]d * scale + 2 * pad;
				canvas.height = %[5]d * scale + 2 * pad;
				canvas.className = 'facecheck-snapshot';
				const g = canvas.getContext('2d');
				g.fillStyle = '#808080';
				g.fillRect(0, 0, canvas.width, canvas.height);
				g.drawImage(img, %[2]d, %[3]d, %[4]d, %[5]d, pad, pad, %[4]d * scale, %[5]d * scale);
				document.body.append(canvas);
				return window.faceCheck.check(canvas);
			})()`, src, sx, sy, sw, sh), &c)
			return c
		}
		one := snapshot("check one face", photo("screenshot-faceid.jpg"), 14, 142, 140, 140)
		if one.Faces != 1 || one.Confidence < 0.5 || one.Yaw == nil || one.Pitch == nil {
			t.Errorf("one face: got %+v, want 1 face with confidence ≥ 0.5 and a head pose", one)
		}
		if one.LookingAway || len(one.Flags) != 0 {
			t.Errorf("one face, looking at the camera: got %+v, want not looking away and no flags", one)
		}
		two := snapshot("check two faces", photo("screenshot-facedetect.jpg"), 8, 345, 310, 152)
		if two.Faces != 2 || len(two.Flags) == 0 || two.Flags[0] != "multiple-faces" {
			t.Errorf("two faces: got %+v, want 2 faces and the flag multiple-faces", two)
		}
		t.Logf("backend %s: one face: %d, confidence %.2f, yaw %.1f°, pitch %.1f°, flags %v; two faces: %d, flags %v", loaded.Backend, one.Faces, one.Confidence, deref(one.Yaw), deref(one.Pitch), one.Flags, two.Faces, two.Flags)
		screenshot(t, ctx, "facecheck-snapshots-"+loaded.Backend)
	}

	// Looking away is the head's yaw or pitch beyond the documented limits.
	var judged []faceCheck
	eval("judge head poses", `(() => {
		const face = (yaw, pitch) => [{score: 0.9, rotation: {angle: {roll: 0, yaw: yaw * Math.PI / 180, pitch: pitch * Math.PI / 180}}}];
		return [face(10, -10), face(29, 0), face(-31, 0), face(0, 24), face(0, -26)].map(window.judge);
	})()`, &judged)
	for i, want := range []bool{false, false, true, false, true} {
		if i >= len(judged) || judged[i].LookingAway != want {
			t.Errorf("head pose %d: got %+v, want lookingAway %v", i, judged, want)
		}
	}

	// The one violation expected is long.js's probe inside Human's bundle:
	// it tries a WebAssembly 64-bit multiply and, refused by script-src
	// without 'wasm-unsafe-eval', falls back to plain JavaScript. Nothing
	// else may be refused, so the CSP needs no relaxing for face checks.
	var violations []string
	eval("CSP violations", `window.cspViolations`, &violations)
	for _, v := range violations {
		switch {
		case strings.HasPrefix(v, "script-src-elem data "): // the control above
		case strings.HasPrefix(v, "script-src wasm-eval ") && strings.Contains(v, "/static/proctoring/human-3.3.6/human.esm.js:"):
		default:
			t.Errorf("CSP violation while checking faces: %s", v)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	var served int
	for _, u := range requests {
		switch {
		case strings.HasPrefix(u, s.URL+"/"):
			if strings.HasPrefix(u, s.URL+"/static/proctoring/human-3.3.6/models/") {
				served++
			}
		case strings.HasPrefix(u, "data:"), strings.HasPrefix(u, "blob:"):
		default:
			t.Errorf("request left the server: %s", u)
		}
	}
	if served < 4 {
		t.Errorf("%d model requests to /static/proctoring/human-3.3.6/models/, want the 4 files of BlazeFace and FaceMesh; requests: %v", served, requests)
	}
}
