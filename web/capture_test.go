package web_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/web"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// captureImage encodes a small test frame as JPEG or PNG.
func captureImage(t *testing.T, format string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		for y := range 48 {
			img.Set(x, y, color.RGBA{uint8(4 * x), uint8(5 * y), 128, 255})
		}
	}
	var b bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 70})
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// captureUpload is POST …/snapshots?query with body sent as contentType.
func captureUpload(attemptID, query, token, contentType string, body []byte) *http.Request {
	target := "/api/v1/attempts/" + attemptID + "/snapshots"
	if query != "" {
		target += "?" + query
	}
	r := apiReq("POST", target, token, body)
	r.Header.Set("Content-Type", contentType)
	return r
}

type captureReceipt struct {
	ID          string   `json:"id"`
	Faces       *int     `json:"faces"`
	LookingAway *bool    `json:"looking_away"`
	Flags       []string `json:"flags"`
}

// captureKinds lists the kinds of an attempt's events, in order.
func captureKinds(t *testing.T, f *webtest.Fixture, attemptID string) []string {
	t.Helper()
	events, err := f.Proctoring.Events(context.Background(), attemptID)
	if err != nil {
		t.Fatal(err)
	}
	kinds := make([]string, len(events))
	for i, e := range events {
		kinds[i] = e.Kind
	}
	return kinds
}

func TestAPISnapshots(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		ctx := context.Background()
		token := f.Token(t, f.Users.Candidate)
		a := apiStart(t, f, token)
		jpg, pngImg := captureImage(t, "jpeg"), captureImage(t, "png")

		// The exam takes no snapshots yet.
		wantAPIError(t, apiCall(t, f, captureUpload(a.ID, "faces=1", token, "image/jpeg", jpg)), http.StatusConflict, "snapshots_disabled", "")
		var plain struct {
			Proctoring struct {
				SnapshotSeconds int  `json:"snapshot_seconds"`
				FaceCheck       bool `json:"face_check"`
			} `json:"proctoring"`
		}
		resp := apiCall(t, f, apiReq("GET", "/api/v1/attempts/"+a.ID, token, nil))
		wantAPIStatus(t, resp, http.StatusOK)
		resp.JSON(t, &plain)
		if plain.Proctoring.SnapshotSeconds != 0 || plain.Proctoring.FaceCheck {
			t.Errorf("attempt without snapshots: got proctoring %+v, want none", plain.Proctoring)
		}

		if _, err := f.Assess.SetProctoring(ctx, f.Users.Manager.ID, f.Exam.ID, assess.ProctoringPolicy{
			SnapshotSeconds: 10, Weights: map[string]float64{"no_face": 3}, ReviewAt: 5}); err != nil {
			t.Fatal(err)
		}
		if err := f.Assess.AssignStaff(ctx, f.Users.Admin.ID, f.Exam.ID, f.Users.Proctor.ID, assess.StaffProctor); err != nil {
			t.Fatal(err)
		}
		var att map[string]any
		resp = apiCall(t, f, apiReq("GET", "/api/v1/attempts/"+a.ID, token, nil))
		wantAPIStatus(t, resp, http.StatusOK)
		resp.JSON(t, &att)
		if got, want := att["proctoring"], map[string]any{"snapshot_seconds": 10.0, "face_check": false}; !equalJSON(got, want) {
			// No face-detection files in the fixture: the frames go unchecked.
			t.Errorf("attempt proctoring: got %v, want %v (nothing else of the policy)", got, want)
		}

		// Bad input, each refused before anything is stored.
		for _, tc := range []struct {
			name, query, contentType string
			body                     []byte
			status                   int
			code, field              string
		}{
			{"HTML sent as JPEG", "", "image/jpeg", []byte("<!doctype html><html><body><script>alert(1)</script></body></html>"), 422, "invalid", "image"},
			{"PNG sent as JPEG", "", "image/jpeg", pngImg, 422, "invalid", "image"},
			{"not an image type", "", "text/plain", jpg, 422, "invalid", "image"},
			{"no content type", "", "", jpg, 422, "invalid", "image"},
			{"empty", "", "image/jpeg", nil, 422, "invalid", "image"},
			{"a JPEG cut short", "", "image/jpeg", jpg[:20], 422, "invalid", "image"},
			{"negative faces", "faces=-1", "image/jpeg", jpg, 422, "invalid", "faces"},
			{"faces not a number", "faces=two", "image/jpeg", jpg, 422, "invalid", "faces"},
			{"too many faces", "faces=101", "image/jpeg", jpg, 422, "invalid", "faces"},
			{"looking_away not a bool", "looking_away=maybe", "image/jpeg", jpg, 422, "invalid", "looking_away"},
			{"taken_at not RFC 3339", "taken_at=yesterday", "image/jpeg", jpg, 422, "invalid", "taken_at"},
			{"over the bound", "", "image/jpeg", append(bytes.Clone(jpg), make([]byte, proctor.MaxImageBytes)...), 413, "request_entity_too_large", "image"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantAPIError(t, apiCall(t, f, captureUpload(a.ID, tc.query, token, tc.contentType, tc.body)), tc.status, tc.code, tc.field)
			})
		}
		if kinds := captureKinds(t, f, a.ID); len(kinds) != 0 {
			t.Fatalf("after refused uploads: got events %v, want none", kinds)
		}

		// Someone else's attempt is not there; nor is an unknown one.
		other := f.Token(t, f.Users.Candidate2)
		wantAPIError(t, apiCall(t, f, captureUpload(a.ID, "faces=1", other, "image/jpeg", jpg)), http.StatusNotFound, "not_found", "")
		wantAPIError(t, apiCall(t, f, captureUpload("00000000-0000-4000-8000-00000000abcd", "", token, "image/jpeg", jpg)), http.StatusNotFound, "not_found", "")

		// A frame with no face: stored, chained, flagged.
		taken := webtest.Start.Add(-2 * time.Second)
		resp = apiCall(t, f, captureUpload(a.ID, "faces=0&looking_away=false&taken_at="+taken.Format(time.RFC3339), token, "image/jpeg; charset=binary", jpg))
		wantAPIStatus(t, resp, http.StatusCreated)
		var first captureReceipt
		resp.JSON(t, &first)
		if first.Faces == nil || *first.Faces != 0 || first.LookingAway == nil || *first.LookingAway || strings.Join(first.Flags, ",") != "no_face" {
			t.Errorf("receipt: got %s, want faces 0, not looking away, flags [no_face]", resp.Body)
		}
		if got := strings.Join(captureKinds(t, f, a.ID), ","); got != "snapshot,no_face" {
			t.Errorf("events: got %s, want snapshot,no_face", got)
		}
		snap, err := f.Snapshots.Snapshot(ctx, first.ID)
		if err != nil {
			t.Fatal(err)
		}
		if snap.AttemptID != a.ID || snap.Kind != proctor.Webcam || snap.ContentType != "image/jpeg" || snap.Bytes != len(jpg) ||
			snap.TakenAt == nil || !snap.TakenAt.Equal(taken) || !snap.DeleteAfter.Equal(webtest.Start.Add(90*24*time.Hour)) {
			t.Errorf("stored snapshot: got %+v, want the JPEG of this attempt, taken as sent, kept the program's 90 days", snap)
		}

		// Too soon after it: refused with the time to wait.
		f.Clock.Advance(2 * time.Second)
		resp = apiCall(t, f, captureUpload(a.ID, "faces=1", token, "image/jpeg", jpg))
		wantAPIError(t, resp, http.StatusTooManyRequests, "rate_limited", "")
		if got := resp.Header.Get("Retry-After"); got != "3" {
			t.Errorf("Retry-After: got %q, want 3 (half the 10 s interval, 2 s of it gone)", got)
		}

		// Half the interval later it is taken; a held attempt still takes
		// snapshots, so that the proctor sees the candidate.
		f.Clock.Advance(3 * time.Second)
		if _, err := f.Assess.Hold(ctx, f.Users.Proctor.ID, a.ID, "check the room"); err != nil {
			t.Fatal(err)
		}
		resp = apiCall(t, f, captureUpload(a.ID, "faces=2&looking_away=true", token, "image/png", pngImg))
		wantAPIStatus(t, resp, http.StatusCreated)
		var second captureReceipt
		resp.JSON(t, &second)
		if strings.Join(second.Flags, ",") != "multiple_faces,looking_away" {
			t.Errorf("receipt of a held attempt's frame: got %s, want flags [multiple_faces looking_away]", resp.Body)
		}
		// Without a face check the frame is stored unflagged.
		f.Clock.Advance(5 * time.Second)
		resp = apiCall(t, f, captureUpload(a.ID, "", token, "image/jpeg", jpg))
		wantAPIStatus(t, resp, http.StatusCreated)
		var third captureReceipt
		resp.JSON(t, &third)
		if third.Faces != nil || third.LookingAway != nil || len(third.Flags) != 0 {
			t.Errorf("unchecked frame: got %s, want faces and looking_away null, no flags", resp.Body)
		}
		if got, want := strings.Join(captureKinds(t, f, a.ID), ","), "snapshot,no_face,snapshot,multiple_faces,looking_away,snapshot"; got != want {
			t.Errorf("events: got %s, want %s", got, want)
		}
		if check, err := f.Proctoring.Verify(ctx, a.ID); err != nil || check.Events != 6 {
			t.Errorf("chain: got %+v, %v; want 6 events verified", check, err)
		}

		// The image, to the exam's assigned proctor only.
		get := func(token string) *webtest.Response {
			return apiCall(t, f, apiReq("GET", "/api/v1/snapshots/"+first.ID, token, nil))
		}
		resp = get(f.Token(t, f.Users.Proctor))
		wantAPIStatus(t, resp, http.StatusOK)
		if !bytes.Equal(resp.Body, jpg) || resp.Header.Get("Content-Type") != "image/jpeg" {
			t.Errorf("assigned proctor: got %d bytes of %s, want the JPEG sent", len(resp.Body), resp.Header.Get("Content-Type"))
		}
		unassigned := f.NewUser(t, "", "Una Assigned", f.Users.Proctor.Roles...)
		for name, tok := range map[string]string{
			"another candidate":   other,
			"the candidate":       token, // webcam frames are for the proctors
			"unassigned proctor":  f.NewSession(t, unassigned).Token,
			"a program's manager": f.Token(t, f.Users.Manager),
		} {
			t.Run("snapshot to "+name, func(t *testing.T) {
				if resp := get(tok); resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusForbidden {
					t.Errorf("got status %d, want 404 (or 403 by role)", resp.StatusCode)
				}
			})
		}

		// A submitted attempt takes no more.
		if _, err := f.Assess.Resume(ctx, f.Users.Proctor.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+a.ID+"/submit", token, nil)), http.StatusOK)
		f.Clock.Advance(10 * time.Second)
		wantAPIError(t, apiCall(t, f, captureUpload(a.ID, "faces=1", token, "image/jpeg", jpg)), http.StatusConflict, "closed", "")
	})
}

// equalJSON compares two decoded JSON values.
func equalJSON(a, b any) bool {
	am, ok1 := a.(map[string]any)
	bm, ok2 := b.(map[string]any)
	if !ok1 || !ok2 || len(am) != len(bm) {
		return false
	}
	for k, v := range bm {
		if am[k] != v {
			return false
		}
	}
	return true
}

func TestAPIPageEventsForConsole(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		token := f.Token(t, f.Users.Candidate)
		a := apiStart(t, f, token)
		events := "/api/v1/attempts/" + a.ID + "/events"
		kinds := []string{"print", "context_menu", "resize", "second_screen", "offline", "online", "camera_unavailable", "heartbeat"}
		batch := make([]map[string]any, len(kinds))
		for i, k := range kinds {
			batch[i] = map[string]any{"kind": k}
		}
		batch[2]["detail"] = "1024x700"
		wantAPIStatus(t, apiCall(t, f, apiReq("POST", events, token, map[string]any{"events": batch})), http.StatusNoContent)

		// Silence longer than a minute: the next heartbeat records a gap.
		f.Clock.Advance(90 * time.Second)
		wantAPIStatus(t, apiCall(t, f, apiReq("POST", events, token, map[string]any{"events": []map[string]any{{"kind": "heartbeat"}}})), http.StatusNoContent)
		got := strings.Join(captureKinds(t, f, a.ID), ",")
		if want := strings.Join(kinds, ",") + ",heartbeat_gap,heartbeat"; got != want {
			t.Errorf("events: got %s, want %s", got, want)
		}
		if _, err := f.Proctoring.Verify(context.Background(), a.ID); err != nil {
			t.Errorf("chain: %v", err)
		}
		// The server's own kinds are not the page's to report.
		for _, k := range []string{"snapshot", "no_face", "heartbeat_gap"} {
			wantAPIError(t, apiCall(t, f, apiReq("POST", events, token, map[string]any{"events": []map[string]any{{"kind": k}}})),
				http.StatusUnprocessableEntity, "invalid", "events[0].kind")
		}
	})
}

func TestAPIResponseSeconds(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		ctx := context.Background()
		token := f.Token(t, f.Users.Candidate)
		a := apiStart(t, f, token)
		item := a.Items[0].ID
		path := "/api/v1/attempts/" + a.ID + "/responses/" + item
		seconds := func() float64 {
			t.Helper()
			qs, err := f.Assess.Questions(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range qs {
				if q.ItemID == item {
					return q.Seconds
				}
			}
			t.Fatalf("item %s not in the attempt", item)
			return 0
		}
		for _, tc := range []struct {
			name string
			body map[string]any
			want float64
		}{
			{"with an answer", map[string]any{"answer": f.Keys[item], "seconds": 12.5, "seq": 1}, 12.5},
			{"alone", map[string]any{"seconds": 20.25, "seq": 2}, 20.25},
			{"never less (another tab's late save)", map[string]any{"flagged": true, "seconds": 4, "seq": 3}, 20.25},
			{"capped at the attempt's time", map[string]any{"seconds": 1e9, "seq": 4}, 30 * 60},
			{"a replay changes nothing", map[string]any{"seconds": 5, "seq": 4}, 30 * 60},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantAPIStatus(t, apiCall(t, f, apiReq("PUT", path, token, tc.body)), http.StatusOK)
				if got := seconds(); got != tc.want {
					t.Errorf("stored seconds: got %v, want %v", got, tc.want)
				}
			})
		}
		wantAPIError(t, apiCall(t, f, apiReq("PUT", path, token, map[string]any{"seconds": -1, "seq": 9})), http.StatusUnprocessableEntity, "invalid", "seconds")
		wantAPIError(t, apiCall(t, f, apiReq("PUT", path, token, map[string]any{"seconds": "ten"})), http.StatusBadRequest, "bad_request", "seconds")
		// JSON has no NaN; a Go caller of the service may.
		_, err := f.Assess.SaveResponse(ctx, a.ID, item, assess.ResponseUpdate{Seconds: ptr(math.NaN())})
		var v *valid.Error
		if !errors.As(err, &v) || v.Field != "seconds" {
			t.Errorf("NaN seconds: got %v, want a field error on seconds", err)
		}
		// The player resumes from what the server holds.
		resp := apiCall(t, f, apiReq("GET", "/api/v1/attempts/"+a.ID, token, nil))
		wantAPIStatus(t, resp, http.StatusOK)
		var got struct {
			Items []struct {
				ItemID  string  `json:"item_id"`
				Seconds float64 `json:"seconds"`
			} `json:"items"`
		}
		resp.JSON(t, &got)
		if got.Items[0].ItemID != item || got.Items[0].Seconds != 30*60 || got.Items[1].Seconds != 0 {
			t.Errorf("attempt items: got %+v, want the first item's stored seconds and 0 for the next", got.Items[:2])
		}
	})
}

func ptr[T any](v T) *T { return &v }

// captureHuman returns the face-detection package installed by `npm ci` in
// web/proctoring, skipping without it unless services are required.
func captureHuman(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("proctoring", "node_modules", "@vladmandic", "human"))
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

// captureFollowWallClock moves the fixture's clock with the wall clock
// until the test ends, for a browser whose timers run in real time.
func captureFollowWallClock(t *testing.T, f *webtest.Fixture) {
	t.Helper()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		last := time.Now()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				f.Clock.Advance(now.Sub(last))
				last = now
			}
		}
	}()
	t.Cleanup(func() { close(done); <-stopped })
}

// TestCaptureInBrowser runs the player of an exam that takes a snapshot
// every 10 s in headless Chromium with its fake camera (a test pattern, no
// face) granted without a prompt, and the face checks served by this
// server: the player shows the camera, takes at least two snapshots, each
// checked and flagged no_face, reports a print and a context menu, tells
// the candidate and the proctor when the camera stops, and sends the time
// spent on an answered item.
func TestCaptureInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	browser := startBrowser(t, fakeCamera...)
	human := captureHuman(t)
	ctx := context.Background()
	f := webtest.New(t, dbtest.SQLite(t))
	if _, err := f.Assess.SetProctoring(ctx, f.Users.Manager.ID, f.Exam.ID, assess.ProctoringPolicy{SnapshotSeconds: 10}); err != nil {
		t.Fatal(err)
	}
	attempt, err := f.Assess.Start(ctx, f.Exam.ID, f.Users.Candidate.ID)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{
		Auth: f.Auth, Items: f.Bank, Assess: f.Assess, Proctor: f.Proctoring, Snapshots: f.Snapshots, Blobs: f.Blobs,
		Credentials: f.Credentials, Audit: f.Audit, IssuerID: f.IssuerID, BaseURL: webtest.BaseURL, Now: f.Clock.Now, Live: f.KV,
		ProctoringAssets: human, Ready: func(context.Context) error { return nil },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	base := listen(t, srv)
	captureFollowWallClock(t, f)
	bctx, cancel := context.WithTimeout(browser, 40*time.Second)
	t.Cleanup(cancel)

	// Any uncaught error in the page fails the test.
	if err := chromedp.Listen(bctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			desc := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				desc += " " + e.ExceptionDetails.Exception.Description
			}
			t.Errorf("uncaught in the page: %s", desc)
		}
	}); err != nil {
		t.Fatal(err)
	}
	setSession(t, bctx, base, f.NewSession(t, f.Users.Candidate).Token)
	browserStep(t, bctx, "open the player", chromedp.Navigate(base+"/attempts/"+attempt.ID), chromedp.WaitVisible(chromedp.ID("player")))
	browserStep(t, bctx, "camera on", until(`document.getElementById('camera').dataset.state === 'on'`))
	status, err := chromedp.Run(bctx, chromedp.Text(chromedp.ID("camera-status")))
	if want := "Camera on — snapshots every 10\u00a0s"; err != nil || status != want {
		t.Errorf("camera status: got %q (%v), want %q", status, err, want)
	}

	// Answer the first item, spend a while on it, then go on.
	item := f.Items[0]
	browserStep(t, bctx, "answer", chromedp.Click(chromedp.ID("option-"+f.Keys[item.ID])))
	browserStep(t, bctx, "think", chromedp.Sleep(2*time.Second))
	browserStep(t, bctx, "next", chromedp.Click(chromedp.ID("next")))
	browserStep(t, bctx, "print and context menu", chromedp.Evaluate[chromedp.Void](`
		window.dispatchEvent(new Event('beforeprint'));
		document.getElementById('question-body').dispatchEvent(new MouseEvent('contextmenu', {bubbles: true, cancelable: true}));
		true`))

	// Two snapshots at the exam's interval; the page's events flush every
	// 10 s and with each heartbeat.
	deadline := time.Now().Add(28 * time.Second)
	var snaps []proctor.Snapshot
	var kinds []string
	for time.Now().Before(deadline) {
		if snaps, err = f.Snapshots.OfAttempt(ctx, attempt.ID); err != nil {
			t.Fatal(err)
		}
		kinds = captureKinds(t, f, attempt.ID)
		if len(snaps) >= 2 && strings.Contains(strings.Join(kinds, ","), "context_menu") {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	browserStep(t, bctx, "camera indicator", chromedp.ScrollIntoView(chromedp.ID("camera")))
	saveScreenshot(t, bctx, "capture-player-camera", viewport)
	browserStep(t, bctx, "phone width", chromedp.EmulateViewport(390, 844))
	saveScreenshot(t, bctx, "capture-player-camera-390", viewport)
	browserStep(t, bctx, "desktop width", chromedp.EmulateViewport(1280, 900))

	if len(snaps) < 2 {
		t.Fatalf("snapshots: got %d, want at least 2 in 28 s at a 10 s interval; events %v", len(snaps), kinds)
	}
	// Frames are taken at the interval (by the browser's clock) and none
	// was refused as too soon (half the interval, by the server's).
	if snaps[0].TakenAt == nil || snaps[1].TakenAt == nil {
		t.Errorf("snapshots without the time they were taken: %+v", snaps[:2])
	} else if gap := snaps[1].TakenAt.Sub(*snaps[0].TakenAt); gap < 9*time.Second || gap > 11*time.Second {
		t.Errorf("snapshots taken %v apart, want 10 s", gap)
	}
	if gap := snaps[1].ReceivedAt.Sub(snaps[0].ReceivedAt); gap < 5*time.Second {
		t.Errorf("snapshots received %v apart, less than half the interval", gap)
	}
	for i, s := range snaps {
		if s.ContentType != "image/jpeg" || s.Faces == nil || *s.Faces != 0 {
			t.Errorf("snapshot %d: got type %s, faces %v; want a JPEG face-checked with no face", i, s.ContentType, s.Faces)
		}
		t.Logf("snapshot %d: %d bytes (%s, 640×480 from the fake camera, JPEG quality 0.7)", i, s.Bytes, s.ContentType)
	}
	count := map[string]int{}
	for _, k := range kinds {
		count[k]++
	}
	if count["snapshot"] < 2 || count["no_face"] < 2 || count["print"] != 1 || count["context_menu"] != 1 || count["camera_unavailable"] != 0 {
		t.Errorf("events: got %v, want ≥ 2 snapshot and no_face, one print and one context_menu, no camera_unavailable", count)
	}
	if _, err := f.Proctoring.Verify(ctx, attempt.ID); err != nil {
		t.Errorf("chain: %v", err)
	}

	// The camera stops mid-exam: the page says so, the proctor is told at
	// once, and the candidate can turn it on again.
	browserStep(t, bctx, "camera stops", chromedp.Evaluate[chromedp.Void](`
		document.getElementById('camera-preview').srcObject.getVideoTracks()[0].dispatchEvent(new Event('ended'));
		true`))
	browserStep(t, bctx, "notice", until(`!document.getElementById('camera-notice').hidden && document.getElementById('camera').dataset.state === 'off'`))
	browserStep(t, bctx, "phone width", chromedp.EmulateViewport(390, 844), chromedp.ScrollIntoView(chromedp.ID("player")))
	saveScreenshot(t, bctx, "capture-player-camera-off-390", viewport)
	// On a phone the notice keeps to its reason and its button.
	share, err := chromedp.Run(bctx, chromedp.Evaluate[float64](`document.getElementById('camera-notice').getBoundingClientRect().height / window.innerHeight`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("camera notice: %.1f%% of the screen's height", share*100)
	if share > 0.12 {
		t.Errorf("on a phone the camera notice covers %.0f%% of the screen's height, want at most 12%%", share*100)
	}
	browserStep(t, bctx, "desktop width", chromedp.EmulateViewport(1280, 900))
	saveScreenshot(t, bctx, "capture-player-camera-off", viewport)
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && !slices.Contains(captureKinds(t, f, attempt.ID), "camera_unavailable"); {
		time.Sleep(100 * time.Millisecond)
	}
	if !slices.Contains(captureKinds(t, f, attempt.ID), "camera_unavailable") {
		t.Error("the camera stopped: no camera_unavailable event recorded")
	}
	browserStep(t, bctx, "camera on again", chromedp.Click(chromedp.ID("camera-retry")))
	browserStep(t, bctx, "camera on again", until(`document.getElementById('camera').dataset.state === 'on' && document.getElementById('camera-notice').hidden`))

	qs, err := f.Assess.Questions(ctx, attempt.ID)
	if err != nil {
		t.Fatal(err)
	}
	if qs[0].ItemID != item.ID || qs[0].Answer == nil || qs[0].Seconds < 2 || qs[0].Seconds > 30 {
		t.Errorf("first item: got answer %v, %v seconds on screen; want the answer and the 2 s or more spent on it", qs[0].Answer, qs[0].Seconds)
	}
}
