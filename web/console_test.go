package web_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/web"
	"github.com/touchstone-assess/touchstone/web/auth"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// consoleStream opens the proctor console's event stream on base as the
// holder of token and returns its events.
func consoleStream(t *testing.T, base, token string) <-chan map[string]any {
	t.Helper()
	return eventStream(t, base+"/api/v1/proctor/live", token)
}

// otherExamProctor creates a second exam with a proctor of its own, who
// must see nothing of the fixture's exam.
func otherExamProctor(t *testing.T, f *webtest.Fixture) (assess.Exam, webtest.User) {
	t.Helper()
	ctx := context.Background()
	other, err := f.Assess.CreateExam(ctx, assess.Exam{ProgramID: f.Program.ID, Slug: "data-other", Title: "Data, the sequel",
		Duration: 30 * time.Minute, Domains: f.Exam.Domains, ItemIDs: f.Exam.ItemIDs})
	if err != nil {
		t.Fatal(err)
	}
	proctor := f.NewUser(t, "", "Olu Otherproctor", auth.Proctor)
	if err := f.Assess.AssignStaff(ctx, f.Users.Admin.ID, other.ID, proctor.ID, assess.StaffProctor); err != nil {
		t.Fatal(err)
	}
	return other, proctor
}

// consoleSend sends a JSON request to a listening instance and returns its
// status.
func consoleSend(t *testing.T, method, target, token string, body any) int {
	t.Helper()
	req := webtest.NewRequest(method, target, body)
	req.RequestURI = ""
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// consoleEvents is a batch of page events as the player posts them.
func consoleEvents(kinds ...string) map[string]any {
	var evs []map[string]string
	for _, k := range kinds {
		e := map[string]string{"kind": k}
		if k == "paste" {
			e["detail"] = "38 characters"
		}
		evs = append(evs, e)
	}
	return map[string]any{"events": evs}
}

// consoleJPEG draws a webcam frame: a head and shoulders on a plain wall,
// in a shade that varies with n, so that each snapshot looks different.
func consoleJPEG(tb testing.TB, n int) []byte {
	tb.Helper()
	const w, h = 320, 240
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	wall := color.RGBA{uint8(196 - 9*n%40), uint8(204 - 5*n%30), uint8(214 - 7*n%35), 255}
	skin := color.RGBA{uint8(222 - 23*n%90), uint8(184 - 19*n%80), uint8(150 - 17*n%70), 255}
	shirt := color.RGBA{uint8(40 + 37*n%120), uint8(70 + 23*n%90), uint8(110 + 29*n%100), 255}
	cx := float64(w/2 + 14*(n%3) - 14)
	for y := range h {
		for x := range w {
			c := wall
			fx, fy := float64(x), float64(y)
			shade := 1 - 0.18*fy/float64(h)
			c = color.RGBA{uint8(float64(c.R) * shade), uint8(float64(c.G) * shade), uint8(float64(c.B) * shade), 255}
			if math.Pow((fx-cx)/42, 2)+math.Pow((fy-105)/52, 2) <= 1 {
				c = skin
			}
			if fy > 160 && math.Pow((fx-cx)/115, 2)+math.Pow((fy-265)/105, 2) <= 1 {
				c = shirt
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 75}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// consoleSnapshot stores a webcam frame of the attempt with its face check
// and tells the consoles through srv, as the snapshot route does.
func consoleSnapshot(t *testing.T, f *webtest.Fixture, srv *web.Server, attemptID string, n, faces int, away bool) proctor.Snapshot {
	t.Helper()
	ctx := context.Background()
	snap, recorded, err := f.Snapshots.Put(ctx, proctor.NewSnapshot{AttemptID: attemptID, Kind: proctor.Webcam, Image: checkedImage(t, consoleJPEG(t, n)),
		Faces: &faces, LookingAway: &away, Retention: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.Assess.Attempt(ctx, attemptID)
	if err != nil {
		t.Fatal(err)
	}
	srv.NotifyConsoleForTest(ctx, a, recorded, &snap)
	return snap
}

// consoleSession is a session as GET /api/v1/proctor/attempts lists it.
type consoleSession struct {
	AttemptID string  `json:"attempt_id"`
	ExamID    string  `json:"exam_id"`
	Candidate string  `json:"candidate"`
	Held      bool    `json:"held"`
	Incidents int     `json:"incidents"`
	Scored    bool    `json:"scored"`
	Risk      float64 `json:"risk"`
	ReviewAt  float64 `json:"review_at"`
	Reasons   []struct {
		Kind   string  `json:"kind"`
		Count  int     `json:"count"`
		Points float64 `json:"points"`
	} `json:"reasons"`
	Snapshot *struct {
		ID    string `json:"id"`
		Faces *int   `json:"faces"`
	} `json:"snapshot"`
	Events []struct {
		Kind  string `json:"kind"`
		Label string `json:"label"`
	} `json:"events"`
}

func consoleSessions(t *testing.T, f *webtest.Fixture, token, query string) []consoleSession {
	t.Helper()
	resp := apiCall(t, f, apiReq("GET", "/api/v1/proctor/attempts"+query, token, nil))
	wantAPIStatus(t, resp, http.StatusOK)
	var out []consoleSession
	resp.JSON(t, &out)
	return out
}

// eventKinds lists the kinds of an event's "events".
func eventKinds(e map[string]any) []string {
	var out []string
	list, _ := e["events"].([]any)
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			out = append(out, fmt.Sprint(m["kind"]))
		}
	}
	return out
}

// TestConsoleAcrossInstances: events and a snapshot recorded on one
// instance reach the console streams of the exam's proctor on another,
// through Redis, within a second and with the attempt's new risk, as do a
// proctor's actions and the submission; a proctor of another exam gets
// nothing of this one, and an administrator gets everything.
func TestConsoleAcrossInstances(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		ctx := context.Background()
		srvA, srvB := redisInstances(t, f)
		baseA, baseB := listen(t, srvA), listen(t, srvB)

		weights := map[string]float64{"focus_lost": 1, "paste": 2, "no_face": 5}
		if _, err := f.Assess.SetProctoring(ctx, f.Users.Manager.ID, f.Exam.ID, assess.ProctoringPolicy{Weights: weights, ReviewAt: 6}); err != nil {
			t.Fatal(err)
		}
		other, otherProctor := otherExamProctor(t, f)
		cand, proc := f.Token(t, f.Users.Candidate), f.Token(t, f.Users.Proctor)
		a := apiStart(t, f, cand)

		mine := consoleStream(t, baseB, proc)
		theirs := consoleStream(t, baseB, f.Token(t, otherProctor))
		admin := consoleStream(t, baseB, f.Token(t, f.Users.Admin))
		want := func(who string, stream <-chan map[string]any, typ, examID string) map[string]any {
			t.Helper()
			select {
			case e := <-stream:
				if e["type"] != typ || e["exam_id"] != examID {
					t.Fatalf("%s's console got %v, want a %s event of exam %s", who, e, typ, examID)
				}
				return e
			case <-time.After(time.Second):
				t.Fatalf("%s's console: no %s event within a second", who, typ)
			}
			return nil
		}

		// Events recorded on instance A, heartbeat and all.
		if got := consoleSend(t, "POST", baseA+"/api/v1/attempts/"+a.ID+"/events", cand, consoleEvents("focus_lost", "heartbeat", "paste")); got != http.StatusNoContent {
			t.Fatalf("record events: %d", got)
		}
		e := want("the proctor", mine, "events", f.Exam.ID)
		if e["attempt_id"] != a.ID || e["risk"] != 3.0 || e["incidents"] != 2.0 || !slices.Equal(eventKinds(e), []string{"focus_lost", "paste"}) {
			t.Errorf("events on the console: %v, want focus_lost and paste (no heartbeat) with risk 3 and 2 incidents", e)
		}
		want("the administrator", admin, "events", f.Exam.ID)
		// A heartbeat alone shows nothing new and is not sent.
		if got := consoleSend(t, "POST", baseA+"/api/v1/attempts/"+a.ID+"/events", cand, consoleEvents("heartbeat")); got != http.StatusNoContent {
			t.Fatalf("record a heartbeat: %d", got)
		}

		// A snapshot with nobody in it, stored and announced on A.
		snap := consoleSnapshot(t, f, srvA, a.ID, 1, 0, false)
		e = want("the proctor", mine, "snapshot", f.Exam.ID)
		shot, _ := e["snapshot"].(map[string]any)
		if shot["id"] != snap.ID || shot["faces"] != 0.0 || e["risk"] != 8.0 || !slices.Equal(eventKinds(e), []string{"no_face"}) {
			t.Errorf("snapshot on the console: %v, want snapshot %s with no face, a no_face event and risk 8", e, snap.ID)
		}
		if risk, _, err := f.Proctoring.Risk(ctx, a.ID, weights); err != nil || risk != e["risk"] {
			t.Errorf("the console's risk %v, Log.Risk %v (err %v): want them equal", e["risk"], risk, err)
		}
		want("the administrator", admin, "snapshot", f.Exam.ID)

		// The list the console reads on (re)connecting says the same.
		list := consoleSessions(t, f, proc, "")
		if len(list) != 1 {
			t.Fatalf("sessions: %+v, want the one in progress", list)
		}
		s := list[0]
		var kinds, reasons []string
		for _, ev := range s.Events {
			kinds = append(kinds, ev.Kind)
		}
		for _, r := range s.Reasons {
			reasons = append(reasons, fmt.Sprintf("%d %s %g", r.Count, r.Kind, r.Points))
		}
		if s.AttemptID != a.ID || s.Candidate != f.Users.Candidate.Name || !s.Scored || s.Risk != 8 || s.ReviewAt != 6 || s.Incidents != 3 ||
			s.Snapshot == nil || s.Snapshot.ID != snap.ID || !slices.Equal(kinds, []string{"no_face", "paste", "focus_lost"}) ||
			!slices.Equal(reasons, []string{"1 no_face 5", "1 paste 2", "1 focus_lost 1"}) {
			t.Errorf("session %+v, want risk 8 from no_face, paste and focus_lost, the snapshot, and the events newest first", s)
		}

		// A proctor's action on A.
		if got := consoleSend(t, "POST", baseA+"/api/v1/attempts/"+a.ID+"/hold", proc, map[string]string{"reason": "check the room"}); got != http.StatusOK {
			t.Fatalf("hold: %d", got)
		}
		if e := want("the proctor", mine, "hold", f.Exam.ID); e["held"] != true || e["remaining_seconds"] == nil {
			t.Errorf("hold on the console: %v, want held with the time left", e)
		}
		want("the administrator", admin, "hold", f.Exam.ID)

		// Another exam's session reaches its own proctor and no one else's.
		ghost := assess.Attempt{ID: uuid.NewString(), ExamID: other.ID}
		srvA.NotifyConsoleForTest(ctx, ghost, []proctor.Event{{Kind: proctor.Copy, ReceivedAt: f.Clock.Now()}}, nil)
		if e := want("the other exam's proctor", theirs, "events", other.ID); e["attempt_id"] != ghost.ID {
			t.Errorf("other exam's event %v, want attempt %s", e, ghost.ID)
		}
		want("the administrator", admin, "events", other.ID)

		if got := consoleSend(t, "POST", baseA+"/api/v1/attempts/"+a.ID+"/resume", proc, nil); got != http.StatusOK {
			t.Fatalf("resume: %d", got)
		}
		if e := want("the proctor", mine, "resume", f.Exam.ID); e["held"] != false {
			t.Errorf("resume on the console: %v, want not held", e)
		}
		if got := consoleSend(t, "POST", baseA+"/api/v1/attempts/"+a.ID+"/submit", cand, nil); got != http.StatusOK {
			t.Fatalf("submit: %d", got)
		}
		want("the proctor", mine, "submitted", f.Exam.ID)
		select {
		case e := <-theirs:
			t.Errorf("the other exam's proctor got %v, want nothing of this exam", e)
		case <-time.After(200 * time.Millisecond):
		}
		if list := consoleSessions(t, f, proc, ""); len(list) != 0 {
			t.Errorf("sessions after the submission: %+v, want none", list)
		}
	})
}

// TestConsoleAccess: the console, the events, the live control and the
// review queue of an exam are its assigned staff's (and administrators'):
// an unassigned proctor finds nothing (404, or an empty list), a reviewer
// reads and decides but does not control, and a stream is served only to
// an event-stream client.
func TestConsoleAccess(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		ctx := context.Background()
		cand := f.Token(t, f.Users.Candidate)
		a := apiStart(t, f, cand)
		wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+a.ID+"/events", cand, consoleEvents("focus_lost"))), http.StatusNoContent)
		passed := apiPass(t, f, f.Users.Candidate2)
		proc, admin := f.Token(t, f.Users.Proctor), f.Token(t, f.Users.Admin)
		stranger := f.Token(t, f.NewUser(t, "", "Sam Stranger", auth.Proctor))
		reviewerUser := f.NewUser(t, "", "Rae Reviewer", auth.Proctor)
		if err := f.Assess.AssignStaff(ctx, f.Users.Admin.ID, f.Exam.ID, reviewerUser.ID, assess.StaffReviewer); err != nil {
			t.Fatal(err)
		}
		reviewer := f.Token(t, reviewerUser)
		wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+passed.AttemptID+"/review", proc,
			map[string]any{"reasons": []string{"answers match another candidate's"}})), http.StatusOK)

		attempt, review := "/api/v1/attempts/"+a.ID, "/api/v1/attempts/"+passed.AttemptID+"/review"
		for _, tc := range []struct {
			name, method, path string
			body               any
			want               map[string]int // token name → status
		}{
			{"events", "GET", attempt + "/events", nil, map[string]int{"stranger": 404, "reviewer": 200, "proctor": 200, "admin": 200}},
			{"messages", "GET", attempt + "/messages", nil, map[string]int{"stranger": 404, "reviewer": 200, "proctor": 200}},
			{"candidate's stream", "GET", attempt + "/live", nil, map[string]int{"stranger": 404}},
			{"hold", "POST", attempt + "/hold", map[string]string{"reason": "x"}, map[string]int{"stranger": 404, "reviewer": 404}},
			{"resume", "POST", attempt + "/resume", nil, map[string]int{"stranger": 404, "reviewer": 404}},
			{"time", "POST", attempt + "/time", map[string]any{"minutes": 5, "reason": "x"}, map[string]int{"stranger": 404, "reviewer": 404}},
			{"message", "POST", attempt + "/messages", map[string]string{"body": "x"}, map[string]int{"stranger": 404, "reviewer": 404, "proctor": 200}},
			{"terminate", "POST", attempt + "/terminate", map[string]string{"reason": "x"}, map[string]int{"stranger": 404, "reviewer": 404}},
			{"open a review", "POST", review, map[string]any{"reasons": []string{"x"}}, map[string]int{"stranger": 404, "reviewer": 200}},
			{"decide", "POST", review + "/decision", map[string]string{"decision": "cleared", "note": "fine"}, map[string]int{"stranger": 404, "reviewer": 200}},
			{"one exam's sessions", "GET", "/api/v1/proctor/attempts?exam=" + f.Exam.ID, nil, map[string]int{"stranger": 404, "proctor": 200, "admin": 200}},
		} {
			for who, status := range tc.want {
				token := map[string]string{"stranger": stranger, "reviewer": reviewer, "proctor": proc, "admin": admin}[who]
				t.Run(tc.name+" as "+who, func(t *testing.T) {
					wantAPIStatus(t, apiCall(t, f, apiReq(tc.method, tc.path, token, tc.body)), status)
				})
			}
		}

		// Lists hold only the caller's exams.
		for _, tc := range []struct {
			who      string
			token    string
			sessions int
			reviews  int
		}{{"stranger", stranger, 0, 0}, {"reviewer", reviewer, 0, 1}, {"proctor", proc, 1, 1}, {"admin", admin, 1, 1}} {
			if got := consoleSessions(t, f, tc.token, ""); len(got) != tc.sessions {
				t.Errorf("%s's console lists %d sessions, want %d", tc.who, len(got), tc.sessions)
			}
			resp := apiCall(t, f, apiReq("GET", "/api/v1/reviews", tc.token, nil))
			wantAPIStatus(t, resp, http.StatusOK)
			var reviews []apiReview
			resp.JSON(t, &reviews)
			if len(reviews) != tc.reviews {
				t.Errorf("%s's review queue lists %d reviews, want %d", tc.who, len(reviews), tc.reviews)
			}
			page := f.Do(t, webtest.WithBearer(webtest.NewRequest("GET", "/proctor/reviews?status=all", nil), tc.token))
			if got := strings.Contains(string(page.Body), passed.AttemptID); page.StatusCode != http.StatusOK || got != (tc.reviews > 0) {
				t.Errorf("%s's review queue page: %d, lists the review: %v; want 200, %v", tc.who, page.StatusCode, got, tc.reviews > 0)
			}
			page = f.Do(t, webtest.WithBearer(webtest.NewRequest("GET", "/proctor", nil), tc.token))
			if got := strings.Contains(string(page.Body), "/proctor/attempts/"+a.ID); page.StatusCode != http.StatusOK || got != (tc.sessions > 0) {
				t.Errorf("%s's console page: %d, shows the session: %v; want 200, %v", tc.who, page.StatusCode, got, tc.sessions > 0)
			}
		}
		page := f.Do(t, webtest.WithBearer(webtest.NewRequest("GET", "/proctor", nil), stranger))
		if !strings.Contains(string(page.Body), "No exams to proctor") {
			t.Error("an unassigned proctor's console does not say there is nothing to proctor")
		}

		// The page's control forms check the same.
		form := webtest.NewRequest("POST", "/proctor/attempts/"+a.ID+"/hold", "reason=x")
		form.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		form.Header.Set("Accept", "text/html")
		if resp := f.Do(t, webtest.WithBearer(form, stranger)); resp.StatusCode != http.StatusNotFound {
			t.Errorf("an unassigned proctor's hold form: %d, want 404", resp.StatusCode)
		}

		// The console's stream: an event-stream client of a proctor with an
		// exam, or of an administrator.
		stream := func(token, accept string) *webtest.Response {
			req := apiReq("GET", "/api/v1/proctor/live", token, nil)
			if accept != "" {
				req.Header.Set("Accept", accept)
			}
			return apiCall(t, f, req)
		}
		wantAPIError(t, stream(proc, ""), http.StatusNotAcceptable, "not_acceptable", "")
		wantAPIError(t, stream(proc, "application/json"), http.StatusNotAcceptable, "not_acceptable", "")
		wantAPIError(t, stream(stranger, "text/event-stream"), http.StatusNotFound, "not_found", "")
		wantAPIError(t, stream(reviewer, "text/event-stream"), http.StatusNotFound, "not_found", "")
		wantAPIError(t, stream(cand, "text/event-stream"), http.StatusForbidden, "forbidden", "")
	})
}

// TestConsoleInBrowser: the console shows the live sessions riskiest
// first, and a card's snapshot, risk and events follow what the candidate's
// page posts, within a second and without a reload. With
// TOUCHSTONE_SCREENSHOTS set it keeps pictures of the console at desktop
// and phone widths.
func TestConsoleInBrowser(t *testing.T) {
	browser := startBrowser(t)
	f := webtest.New(t, dbtest.SQLite(t))
	base := listen(t, f.Server)
	bg := context.Background()
	weights := map[string]float64{"focus_lost": 1, "paste": 3, "copy": 1, "fullscreen_exit": 1, "no_face": 5,
		"multiple_faces": 6, "looking_away": 2, "heartbeat_gap": 3}
	if _, err := f.Assess.SetProctoring(bg, f.Users.Manager.ID, f.Exam.ID, assess.ProctoringPolicy{Weights: weights, ReviewAt: 8, SnapshotSeconds: 30}); err != nil {
		t.Fatal(err)
	}
	proc := f.Token(t, f.Users.Proctor)
	tick := func() { f.Clock.Advance(17 * time.Second) }
	type seat struct {
		name  string
		setup func(id, token string)
	}
	ids := map[string]string{}
	tokens := map[string]string{}
	post := func(id, token string, kinds ...string) {
		t.Helper()
		tick()
		if got := consoleSend(t, "POST", base+"/api/v1/attempts/"+id+"/events", token, consoleEvents(kinds...)); got != http.StatusNoContent {
			t.Fatalf("record %v: %d", kinds, got)
		}
	}
	for i, s := range []seat{
		{"Amelia Hart", func(id, token string) { consoleSnapshot(t, f, f.Server, id, 0, 1, false) }},
		{"Bruno Costa", func(id, token string) {
			post(id, token, "focus_lost", "focus_gained", "focus_lost", "focus_gained")
			consoleSnapshot(t, f, f.Server, id, 1, 1, true)
		}},
		{"Chen Wei", func(id, token string) {
			post(id, token, "fullscreen_exit", "copy")
			consoleSnapshot(t, f, f.Server, id, 2, 2, false)
			post(id, token, "visibility_hidden", "visibility_visible")
		}},
		{"Dana Novak", func(id, token string) { post(id, token, "heartbeat") }},
		{"Elif Yılmaz", func(id, token string) {
			consoleSnapshot(t, f, f.Server, id, 3, 1, false)
			if got := consoleSend(t, "POST", base+"/api/v1/attempts/"+id+"/hold", proc, map[string]string{"reason": "ID check"}); got != http.StatusOK {
				t.Fatalf("hold: %d", got)
			}
		}},
	} {
		u := f.NewUser(t, "", s.name, auth.Candidate)
		token := f.Token(t, u)
		a := apiStart(t, f, token)
		ids[s.name], tokens[s.name] = a.ID, token
		f.Clock.Advance(time.Duration(40+i*13) * time.Second)
		s.setup(a.ID, token)
	}

	ctx, cancel := context.WithTimeout(browser, 2*time.Minute) // a step that never comes fails, not hangs
	defer cancel()
	eval := func(js string) string {
		t.Helper()
		return evalJS[string](t, ctx, js)
	}
	setSession(t, ctx, base, proc)
	live := until(`document.getElementById('live-status').dataset.state === 'open' &&
		document.getElementById('console').dataset.readAt !== undefined`)
	browserStep(t, ctx, "open the console", chromedp.Navigate(base+"/proctor"), chromedp.WaitVisible(chromedp.ID("sessions")), live, chromedp.Sleep(300*time.Millisecond))

	order := eval(`[...document.querySelectorAll('#sessions .session-card')].map((c) => c.querySelector('.session-name').textContent).join('|')`)
	if want := "Chen Wei|Bruno Costa|Amelia Hart|Dana Novak|Elif Yılmaz"; order != want {
		t.Errorf("cards in the order %q, want the riskiest first: %q", order, want)
	}
	if got := eval(`document.getElementById('live-count').textContent`); got != "5" {
		t.Errorf("live count %q, want 5", got)
	}
	saveScreenshot(t, ctx, "console-1280", wholePage)

	// Events then a snapshot posted for Amelia reach her card within a
	// second each, without a reload.
	card := fmt.Sprintf(`document.querySelector('.session-card[data-attempt="%s"]')`, ids["Amelia Hart"])
	eval(`window.notReloaded = true; ''`)
	within := func(what, cond string, act func()) {
		t.Helper()
		start := time.Now()
		act()
		wait, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if err := chromedp.Do(wait, until(cond, chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
			t.Fatalf("%s: not on the card within a second (%v); card: %s", what, err, eval(card+`.innerText`))
		}
		t.Logf("%s: on the card %v after the post", what, time.Since(start).Round(time.Millisecond))
	}
	within("events", card+`.querySelector('.event-list').textContent.includes('Pasted text') && `+card+`.querySelector('.risk-value').textContent === '4.0'`, func() {
		post(ids["Amelia Hart"], tokens["Amelia Hart"], "focus_lost", "paste")
	})
	var snap proctor.Snapshot
	within("snapshot", card+`.querySelector('img').src.includes(window.expectSnapshot) && `+card+`.querySelector('.risk-value').textContent === '9.0' && `+
		card+`.querySelector('.shot-badges').textContent.includes('No face') && `+card+`.classList.contains('risk-high')`, func() {
		tick()
		snap = consoleSnapshotAfter(t, f, eval, ids["Amelia Hart"])
	})
	if got := eval(`String(window.notReloaded)`); got != "true" {
		t.Error("the page reloaded")
	}
	if first := eval(`document.querySelector('#sessions .session-card').dataset.attempt`); first != ids["Amelia Hart"] {
		t.Errorf("after her flags, the first card is %s, want Amelia's (%s)", first, ids["Amelia Hart"])
	}
	if !strings.Contains(eval(card+`.querySelector('img').src`), snap.ID) {
		t.Errorf("Amelia's card shows %s, want snapshot %s", eval(card+`.querySelector('img').src`), snap.ID)
	}

	// A submission takes its card away.
	tick()
	gone := fmt.Sprintf(`!document.querySelector('.session-card[data-attempt="%s"]')`, ids["Dana Novak"])
	within("submission", gone+` && document.getElementById('live-count').textContent === '4'`, func() {
		if got := consoleSend(t, "POST", base+"/api/v1/attempts/"+ids["Dana Novak"]+"/submit", tokens["Dana Novak"], nil); got != http.StatusOK {
			t.Fatalf("submit: %d", got)
		}
	})
	browserStep(t, ctx, "the highlight fades", chromedp.Sleep(1200*time.Millisecond))
	saveScreenshot(t, ctx, "console-updated-1280", wholePage)
	browserStep(t, ctx, "phone width", chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("sessions")), live, chromedp.Sleep(300*time.Millisecond))
	saveScreenshot(t, ctx, "console-390", wholePage)
	if w := eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("at 390 px the page is %s px wide, want no horizontal scrolling", w)
	}
}

// consoleSnapshotAfter stores a snapshot with no face for the attempt,
// tells the page which one to expect, and announces it.
func consoleSnapshotAfter(t *testing.T, f *webtest.Fixture, eval func(string) string, attemptID string) proctor.Snapshot {
	t.Helper()
	ctx := context.Background()
	faces, away := 0, false
	snap, recorded, err := f.Snapshots.Put(ctx, proctor.NewSnapshot{AttemptID: attemptID, Kind: proctor.Webcam, Image: checkedImage(t, consoleJPEG(t, 4)),
		Faces: &faces, LookingAway: &away, Retention: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	eval(fmt.Sprintf(`window.expectSnapshot = %q; ''`, snap.ID))
	a, err := f.Assess.Attempt(ctx, attemptID)
	if err != nil {
		t.Fatal(err)
	}
	f.Server.NotifyConsoleForTest(ctx, a, recorded, &snap)
	return snap
}

// checkedImage is img through proctor.CheckImage, which must take it.
func checkedImage(t *testing.T, img []byte) proctor.Image {
	t.Helper()
	out, err := proctor.CheckImage(img)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
