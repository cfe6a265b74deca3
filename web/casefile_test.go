package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/web/auth"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// casefileScene is an exam sat by the fixture's candidate under watch —
// events, webcam snapshots, a proctor's pause, message and added time —
// among simulated candidates of the same sitting and of the day before,
// one of whom the candidate copies and another who knew the hard items.
type casefileScene struct {
	exam      assess.Exam
	attempt   string // the candidate's
	source    string // the attempt the candidate copied
	preknow   string // the attempt that knew the hard items
	snapshots []proctor.Snapshot
	history   int // simulated attempts
}

// casefileImage draws a webcam-like frame: a dim room and, unless empty,
// a head and shoulders.
func casefileImage(t *testing.T, empty bool) []byte {
	t.Helper()
	const w, h = 320, 240
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: uint8(70 + y/6), G: uint8(78 + y/7), B: uint8(92 + x/12), A: 255})
		}
	}
	if !empty {
		for y := range h {
			for x := range w {
				dx, dy := float64(x-160)/44, float64(y-105)/56
				sx, sy := float64(x-160)/110, float64(y-260)/90
				switch {
				case dx*dx+dy*dy <= 1:
					img.Set(x, y, color.RGBA{R: 214, G: 170, B: 140, A: 255})
				case sx*sx+sy*sy <= 1:
					img.Set(x, y, color.RGBA{R: 46, G: 64, B: 110, A: 255})
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// casefileSetTimes writes one attempt's times on item into
// responses.seconds, as the player would have reported them.
func casefileSetTimes(t *testing.T, db *gorm.DB, attemptID string, seconds map[string]float64) {
	t.Helper()
	var sql strings.Builder
	sql.WriteString("UPDATE responses SET seconds = CASE item_id")
	var args []any
	for id, s := range seconds {
		sql.WriteString(" WHEN ? THEN CAST(? AS double precision)")
		args = append(args, id, s)
	}
	sql.WriteString(" ELSE seconds END WHERE attempt_id = ?")
	if err := db.Exec(sql.String(), append(args, attemptID)...).Error; err != nil {
		t.Fatal(err)
	}
}

// newCasefileScene builds the scene on the fixture; the fixture's proctor
// proctors the new exam.
func newCasefileScene(t *testing.T, f *webtest.Fixture) *casefileScene {
	t.Helper()
	ctx := context.Background()
	const k, sitting, dayBefore = 24, 120, 60
	rng := rand.New(rand.NewPCG(11, 23))
	type item struct {
		id, key string
		opts    []string
		a, b    float64
		beta    float64
	}
	its := make([]item, k)
	var ids []string
	for j := range its {
		opts := make([]items.Option, 4)
		for o := range opts {
			opts[o] = items.Option{ID: fmt.Sprintf("cf%02d-%c", j, 'a'+o), Text: fmt.Sprintf("Choice %c", 'A'+o)}
		}
		key := rng.IntN(4)
		domain := "D1"
		if j%2 == 1 {
			domain = "D2"
		}
		it, err := f.Bank.Create(ctx, f.Users.Author.ID, f.Program.ID, items.Content{Domain: domain,
			Stem: fmt.Sprintf("Case-file question %d?", j+1), Options: opts, Key: opts[key].ID})
		if err != nil {
			t.Fatal(err)
		}
		its[j] = item{id: it.ID, key: opts[key].ID, a: 0.9 + rng.Float64(), b: rng.NormFloat64(), beta: math.Log(35) + 0.3*rng.NormFloat64()}
		for _, o := range opts {
			its[j].opts = append(its[j].opts, o.ID)
		}
		ids = append(ids, it.ID)
	}
	sc := &casefileScene{history: sitting + dayBefore}
	sc.exam = approvedExam(t, f, assess.Exam{ItemIDs: ids})
	sc.exam.Duration = 45 * time.Minute
	if err := f.Assess.AssignStaff(ctx, f.Users.Admin.ID, sc.exam.ID, f.Users.Proctor.ID, assess.StaffProctor); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Assess.SetProctoring(ctx, f.Users.Manager.ID, sc.exam.ID, assess.ProctoringPolicy{
		Weights: map[string]float64{proctor.FocusLost: 1, proctor.Paste: 3, proctor.NoFace: 2, proctor.MultipleFaces: 5}, ReviewAt: 100}); err != nil {
		t.Fatal(err)
	}

	// The simulated candidates (2PL answers, lognormal times).
	hard := slices.Clone(its)
	slices.SortFunc(hard, func(x, y item) int { return int(math.Copysign(1, y.b-x.b)) })
	pilots := make([]auth.User, sc.history)
	past := make([]assess.PastAttempt, sc.history)
	times := make([]map[string]float64, sc.history)
	sourceAt, preknowAt := -1, 7
	for i := range past {
		pilots[i] = f.NewUser(t, fmt.Sprintf("cf-pilot-%03d@example.test", i), fmt.Sprintf("Pilot %03d", i+1), auth.Candidate).User
		start := webtest.Start.Add(-10*time.Minute + time.Duration(i)*5*time.Second)
		if i >= sitting {
			start = webtest.Start.Add(-24*time.Hour + time.Duration(i)*5*time.Second)
		}
		theta, tau := rng.NormFloat64(), 0.25*rng.NormFloat64()
		if sourceAt < 0 && i < sitting && i != preknowAt && theta > -0.6 && theta < 0.2 {
			sourceAt = i
		}
		past[i] = assess.PastAttempt{CandidateID: pilots[i].ID, StartedAt: start, SubmittedAt: start.Add(time.Duration(30+rng.IntN(10)) * time.Minute),
			Answers: map[string]string{}}
		times[i] = map[string]float64{}
		for _, it := range its {
			ans := it.key
			if rng.Float64() >= 1/(1+math.Exp(-it.a*(theta-it.b))) {
				ans = it.opts[(slices.Index(it.opts, it.key)+1+rng.IntN(3))%4]
			}
			past[i].Answers[it.id] = ans
			times[i][it.id] = math.Exp(it.beta - tau + 0.35*rng.NormFloat64())
		}
		if i == preknowAt {
			for _, it := range hard[:6] {
				past[i].Answers[it.id] = it.key
				times[i][it.id] /= 6
			}
		}
	}
	if sourceAt < 0 {
		t.Fatal("no average candidate in the sitting")
	}
	if err := f.Assess.RecordHistory(ctx, sc.exam.ID, past, true); err != nil {
		t.Fatal(err)
	}
	var stored []struct{ ID, CandidateID string }
	if err := f.DB.Table("attempts").Where("exam_id = ?", sc.exam.ID).Select("id, candidate_id").Scan(&stored).Error; err != nil {
		t.Fatal(err)
	}
	byCandidate := map[string]string{}
	for _, a := range stored {
		byCandidate[a.CandidateID] = a.ID
	}
	for i, p := range past {
		casefileSetTimes(t, f.DB, byCandidate[p.CandidateID], times[i])
	}
	sc.source, sc.preknow = byCandidate[pilots[sourceAt].ID], byCandidate[pilots[preknowAt].ID]

	// The candidate's attempt, watched.
	a, err := f.Assess.Start(ctx, sc.exam.ID, f.Users.Candidate.ID)
	if err != nil {
		t.Fatal(err)
	}
	sc.attempt = a.ID
	step := func(d time.Duration) { f.Clock.Advance(d) }
	client := webtest.Start.Add(90 * time.Second)
	step(2 * time.Minute)
	if _, err := f.Proctoring.Record(ctx, a.ID, []proctor.Event{{Kind: proctor.Heartbeat}, {Kind: proctor.FocusLost, Detail: "window blur", ClientAt: &client}}); err != nil {
		t.Fatal(err)
	}
	shoot := func(empty bool, faces int, away bool) {
		t.Helper()
		snap, _, err := f.Snapshots.Put(ctx, proctor.NewSnapshot{AttemptID: a.ID, Kind: proctor.Webcam, Image: checkedImage(t, casefileImage(t, empty)),
			Faces: &faces, LookingAway: &away, Retention: 30 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		sc.snapshots = append(sc.snapshots, snap)
	}
	shoot(false, 1, false)
	sourceAnswers := past[sourceAt].Answers
	copied := rng.Perm(k)[:k*90/100]
	liveTimes := map[string]float64{}
	for j, it := range its {
		step(50 * time.Second)
		ans := it.opts[(slices.Index(it.opts, it.key)+1)%4]
		if slices.Contains(copied, j) {
			ans = sourceAnswers[it.id]
		}
		if _, err := f.Assess.SaveResponse(ctx, a.ID, it.id, assess.ResponseUpdate{Answer: &items.Answer{Choice: ans}}); err != nil {
			t.Fatal(err)
		}
		liveTimes[it.id] = 30 + 20*rng.Float64()
		if j%5 == 2 {
			liveTimes[it.id] = 2.5 // copied in a hurry
		}
		switch j {
		case 3:
			if _, err := f.Proctoring.Record(ctx, a.ID, []proctor.Event{{Kind: proctor.Paste, Detail: "38 characters"}, {Kind: proctor.Hidden}, {Kind: proctor.Visible}}); err != nil {
				t.Fatal(err)
			}
		case 6:
			shoot(true, 0, false)
		case 8:
			if _, err := f.Assess.Hold(ctx, f.Users.Proctor.ID, a.ID, "no face on camera"); err != nil {
				t.Fatal(err)
			}
			step(time.Minute)
			if _, err := f.Assess.SendMessage(ctx, f.Users.Proctor.ID, a.ID, "Please sit in front of the camera."); err != nil {
				t.Fatal(err)
			}
			step(2 * time.Minute)
			if _, err := f.Assess.Resume(ctx, f.Users.Proctor.ID, a.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := f.Assess.AddTime(ctx, f.Users.Proctor.ID, a.ID, 3*time.Minute, "paused for the camera"); err != nil {
				t.Fatal(err)
			}
		case 12:
			shoot(false, 2, false)
		case 15:
			if _, err := f.Proctoring.Record(ctx, a.ID, []proctor.Event{{Kind: proctor.FullscreenExit}, {Kind: proctor.FocusLost}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	step(time.Minute)
	if _, err := f.Assess.Submit(ctx, a.ID, "candidate"); err != nil {
		t.Fatal(err)
	}
	casefileSetTimes(t, f.DB, a.ID, liveTimes)

	run, err := f.Assess.Calibrate(ctx, f.Users.Psychometrician.ID, sc.exam.ID, assess.CalibrationRequest{Model: assess.Calibration2PL})
	if err != nil {
		t.Fatal(err)
	}
	if run, err = f.Assess.WaitCalibration(ctx, run.ID); err != nil || run.Status != assess.RunDone {
		t.Fatalf("calibration: %v %v %s", run.Status, err, run.Error)
	}
	return sc
}

// casefileJSON is the case file as the API returns it, in the parts the
// tests read.
type casefileJSON struct {
	Attempt struct {
		ID        string `json:"id"`
		Candidate string `json:"candidate"`
		Answered  int    `json:"answered"`
		Snapshots int    `json:"snapshots"`
	} `json:"attempt"`
	Behaviour struct {
		Risk    float64        `json:"risk"`
		Reasons []string       `json:"reasons"`
		Counts  map[string]int `json:"incidents"`
	} `json:"behaviour"`
	Statistics struct {
		Screened bool     `json:"screened"`
		Rank     int      `json:"rank"`
		Attempts int      `json:"attempts"`
		Risk     *float64 `json:"risk"`
		Flagged  bool     `json:"flagged"`
		Driver   *string  `json:"driver"`
		LzStar   *float64 `json:"lz_star"`
		Rapid    int      `json:"rapid"`
		Partner  *struct {
			AttemptID string  `json:"attempt_id"`
			Matches   int     `json:"matches"`
			P         float64 `json:"p"`
			Flagged   bool    `json:"pair_flagged"`
		} `json:"partner"`
		Indicators []struct {
			Name string   `json:"name"`
			P    *float64 `json:"p"`
		} `json:"indicators"`
	} `json:"statistics"`
	Chain struct {
		Intact   bool   `json:"intact"`
		Events   int    `json:"events"`
		Problem  string `json:"problem"`
		BrokenAt *int64 `json:"broken_at"`
	} `json:"chain"`
	Timeline []struct {
		At       time.Time `json:"at"`
		Type     string    `json:"type"`
		Kind     string    `json:"kind"`
		Label    string    `json:"label"`
		Incident bool      `json:"incident"`
		Seq      *int64    `json:"seq"`
		Actor    string    `json:"actor"`
		Snapshot *struct {
			ID    string   `json:"id"`
			Faces *int     `json:"faces"`
			Flags []string `json:"flags"`
		} `json:"snapshot"`
		Answer *struct {
			ItemID  string   `json:"item_id"`
			Seconds *float64 `json:"seconds"`
			Rapid   bool     `json:"rapid"`
			Median  *float64 `json:"median_seconds"`
		} `json:"answer"`
	} `json:"timeline"`
}

func casefilePage(t *testing.T, f *webtest.Fixture, u webtest.User, path string) *webtest.Response {
	t.Helper()
	req := webtest.WithCookie(webtest.NewRequest(http.MethodGet, path, nil), f.Session(t, u), false)
	req.Header.Set("Accept", "text/html")
	return f.Do(t, req)
}

// TestCaseFile: the case file of a watched attempt merges its events,
// snapshots, the proctor's messages and actions and its answers in time
// order, with the statistical screening and the chain's verification;
// its exam's staff see it, other proctors do not; a tampered event shows.
func TestCaseFile(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		sc := newCasefileScene(t, f)
		proctorToken := f.Token(t, f.Users.Proctor)
		api := "/api/v1/attempts/" + sc.attempt + "/case-file"
		resp := apiCall(t, f, apiReq("GET", api, proctorToken, nil))
		wantAPIStatus(t, resp, http.StatusOK)
		var cf casefileJSON
		resp.JSON(t, &cf)

		// One timeline in time order, with every kind of entry.
		types := map[string]int{}
		for i, e := range cf.Timeline {
			types[e.Type]++
			if i > 0 && e.At.Before(cf.Timeline[i-1].At) {
				t.Errorf("timeline entry %d (%s) at %v is before entry %d at %v", i, e.Label, e.At, i-1, cf.Timeline[i-1].At)
			}
			if e.Kind == proctor.Heartbeat {
				t.Error("the timeline shows a heartbeat")
			}
		}
		if want := map[string]int{"milestone": 2, "event": 6, "snapshot": 3, "message": 1, "action": 3, "answer": 24}; !casefileSameCounts(types, want) {
			t.Errorf("timeline entries by type: got %v, want %v", types, want)
		}
		if first, last := cf.Timeline[0], cf.Timeline[len(cf.Timeline)-1]; first.Kind != "started" || last.Kind != "submitted" {
			t.Errorf("timeline: got %s first and %s last, want the start and the submission", first.Kind, last.Kind)
		}
		var held, noFace, twoFaces, rapid bool
		for _, e := range cf.Timeline {
			switch {
			case e.Kind == "attempt.hold":
				held = e.Actor == f.Users.Proctor.Name
			case e.Snapshot != nil && e.Snapshot.Faces != nil && *e.Snapshot.Faces == 0:
				noFace = e.Incident && slices.Equal(e.Snapshot.Flags, []string{proctor.NoFace}) && e.Seq != nil
			case e.Snapshot != nil && e.Snapshot.Faces != nil && *e.Snapshot.Faces == 2:
				twoFaces = e.Incident && slices.Equal(e.Snapshot.Flags, []string{proctor.MultipleFaces})
			case e.Answer != nil && e.Answer.Seconds != nil && *e.Answer.Seconds == 2.5:
				rapid = rapid || e.Answer.Rapid && e.Incident && e.Answer.Median != nil && *e.Answer.Median > 20
			}
		}
		if !held || !noFace || !twoFaces || !rapid {
			t.Errorf("timeline: got the proctor's pause %v, the no-face snapshot %v, the two-face one %v, a rapid answer marked %v; want all",
				held, noFace, twoFaces, rapid)
		}
		if cf.Attempt.Answered != 24 || cf.Attempt.Snapshots != 3 || cf.Attempt.Candidate != f.Users.Candidate.Name {
			t.Errorf("attempt: got %+v", cf.Attempt)
		}
		// Behaviour: 2 × focus lost (1), a paste (3), a snapshot with no face
		// (2) and one with two faces (5).
		if cf.Behaviour.Risk != 12 || len(cf.Behaviour.Reasons) != 4 || cf.Behaviour.Reasons[0] != "1 × More than one face" {
			t.Errorf("behaviour: got %+v, want risk 12 from four kinds, two faces first", cf.Behaviour)
		}

		// Statistics: the copied candidate is flagged, with the source as
		// the most similar candidate of the sitting.
		st := cf.Statistics
		if !st.Screened || st.Attempts != sc.history+1 || st.Partner == nil || st.Partner.AttemptID != sc.source || st.LzStar == nil ||
			st.Risk == nil || st.Rank < 1 || len(st.Indicators) < 4 || st.Rapid < 3 {
			t.Fatalf("statistics: got %s", resp.Body[strings.Index(string(resp.Body), `"statistics"`):strings.Index(string(resp.Body), `"timeline"`)])
		}
		t.Logf("partner: %+v", *st.Partner)
		if !st.Flagged || st.Rank > 3 || !st.Partner.Flagged {
			t.Errorf("statistics: got rank %d flagged %v, pair flagged %v; want the copier flagged at the top with its pair", st.Rank, st.Flagged, st.Partner.Flagged)
		}
		for i := 1; i < len(st.Indicators); i++ {
			if p, q := st.Indicators[i-1].P, st.Indicators[i].P; p != nil && q != nil && *p > *q {
				t.Errorf("indicators not ordered by p-value: %v", st.Indicators)
			}
		}

		// The chain verifies, over every event recorded.
		events, err := f.Proctoring.Events(context.Background(), sc.attempt)
		if err != nil {
			t.Fatal(err)
		}
		if !cf.Chain.Intact || cf.Chain.Events != len(events) || cf.Chain.BrokenAt != nil {
			t.Errorf("chain: got %+v, want intact over %d events", cf.Chain, len(events))
		}

		// The page: summary, timeline, snapshots, the review form.
		page := casefilePage(t, f, f.Users.Proctor, "/proctor/attempts/"+sc.attempt)
		wantAPIStatus(t, page, http.StatusOK)
		wantBody(t, "case file", page, "Event log intact:", fmt.Sprintf("%d events, hash chain verified", len(events)),
			`id="statistical-flag"`, "Flagged", `href="/proctor/attempts/`+sc.source+`"`, "Most similar candidate in the same sitting",
			`src="/api/v1/snapshots/`+sc.snapshots[1].ID+`"`, "No face", "2 faces", "Paused by the proctor", "no face on camera",
			"Please sit in front of the camera.", "Added 3 min", "Far faster than typical", "Left the exam window", "Pasted text",
			`id="open-review"`, `id="snapshot-dialog"`, `src="/static/casefile.js"`, "Person fit (lz*)")

		// A tampered event breaks the chain, and the page says which.
		if err := f.DB.Exec("UPDATE proctor_events SET detail = 'nothing happened' WHERE attempt_id = ? AND seq = 2", sc.attempt).Error; err != nil {
			t.Fatal(err)
		}
		page = casefilePage(t, f, f.Users.Proctor, "/proctor/attempts/"+sc.attempt)
		wantBody(t, "tampered case file", page, "Event log broken:", "event 2 altered", `href="#event-2"`, `id="event-2"`)
		wantNotBody(t, "tampered case file", page, "Event log intact")
		resp = apiCall(t, f, apiReq("GET", api, proctorToken, nil))
		resp.JSON(t, &cf)
		if cf.Chain.Intact || cf.Chain.BrokenAt == nil || *cf.Chain.BrokenAt != 2 || cf.Chain.Problem != "event 2 altered" {
			t.Errorf("tampered chain: got %+v, want broken at event 2", cf.Chain)
		}

		// Access: the exam's staff and administrators; to another proctor
		// the attempt is not there; candidates are not proctors.
		outsider := f.NewUser(t, "", "Other Proctor", auth.Proctor)
		reviewer := f.NewUser(t, "", "Rita Reviewer", auth.Proctor)
		if err := f.Assess.AssignStaff(context.Background(), f.Users.Admin.ID, sc.exam.ID, reviewer.ID, assess.StaffReviewer); err != nil {
			t.Fatal(err)
		}
		wantAPIError(t, apiCall(t, f, apiReq("GET", api, f.Token(t, outsider), nil)), http.StatusNotFound, "not_found", "")
		wantAPIStatus(t, casefilePage(t, f, outsider, "/proctor/attempts/"+sc.attempt), http.StatusNotFound)
		wantAPIError(t, apiCall(t, f, apiReq("GET", api, f.Token(t, f.Users.Candidate), nil)), http.StatusForbidden, "forbidden", "")
		wantAPIStatus(t, apiCall(t, f, apiReq("GET", api, f.Token(t, reviewer), nil)), http.StatusOK)
		wantAPIStatus(t, apiCall(t, f, apiReq("GET", api, f.Token(t, f.Users.Admin), nil)), http.StatusOK)
		rp := casefilePage(t, f, reviewer, "/proctor/attempts/"+sc.attempt)
		wantAPIStatus(t, rp, http.StatusOK)
		wantBody(t, "reviewer's case file", rp, "Event log broken:", `id="open-review"`)
	})
}

// TestCaseFileOfALiveAttempt: before submission there is no screening,
// and the live controls are there for the exam's proctors only.
func TestCaseFileOfALiveAttempt(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		ctx := context.Background()
		if err := f.Assess.AssignStaff(ctx, f.Users.Admin.ID, f.Exam.ID, f.Users.Proctor.ID, assess.StaffProctor); err != nil {
			t.Fatal(err)
		}
		reviewer := f.NewUser(t, "", "Rita Reviewer", auth.Proctor)
		if err := f.Assess.AssignStaff(ctx, f.Users.Admin.ID, f.Exam.ID, reviewer.ID, assess.StaffReviewer); err != nil {
			t.Fatal(err)
		}
		a := apiStart(t, f, f.Token(t, f.Users.Candidate))
		if _, err := f.Proctoring.Record(ctx, a.ID, []proctor.Event{{Kind: proctor.Copy}}); err != nil {
			t.Fatal(err)
		}
		resp := apiCall(t, f, apiReq("GET", "/api/v1/attempts/"+a.ID+"/case-file", f.Token(t, f.Users.Proctor), nil))
		wantAPIStatus(t, resp, http.StatusOK)
		var cf casefileJSON
		resp.JSON(t, &cf)
		if cf.Statistics.Screened || !cf.Chain.Intact || cf.Chain.Events != 1 || len(cf.Timeline) != 2 || cf.Timeline[1].Label != "Copied text" {
			t.Errorf("live case file: got %s", resp.Body)
		}
		page := casefilePage(t, f, f.Users.Proctor, "/proctor/attempts/"+a.ID)
		wantBody(t, "proctor's live case file", page, `id="hold"`, `id="add-time"`, `id="send-message"`, `id="terminate"`,
			"The statistical screening covers submitted attempts")
		wantNotBody(t, "reviewer's live case file", casefilePage(t, f, reviewer, "/proctor/attempts/"+a.ID), `id="hold"`, `id="terminate"`)
	})
}

// TestForensicsPage: the exam's screening ranks its attempts, names the
// flagged pair, sends an attempt to review, downloads as CSV, and is
// linked, with each attempt's statistical risk, from the review queue.
func TestForensicsPage(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		sc := newCasefileScene(t, f)
		path := "/proctor/exams/" + sc.exam.ID + "/forensics"
		page := casefilePage(t, f, f.Users.Proctor, path)
		wantAPIStatus(t, page, http.StatusOK)
		wantBody(t, "forensics page", page, `id="forensics-table"`, `id="flagged-pairs"`, f.Users.Candidate.Name,
			`href="/proctor/attempts/`+sc.attempt+`"`, `href="/proctor/attempts/`+sc.source+`"`, `action="/proctor/attempts/`+sc.preknow+`/review"`,
			"Send to review", "Download CSV", "Person fit uses calibration version 1 (2pl)")
		casefileCheckPage(t, "forensics page", page)
		if i, j := strings.Index(string(page.Body), `href="/proctor/attempts/`+sc.preknow+`"`), strings.Index(string(page.Body), "Pilot 050"); i < 0 || j >= 0 && j < i {
			t.Errorf("the preknowledge candidate is not listed near the top")
		}
		// A window of submission dates: the day of the candidate's sitting.
		day := casefilePage(t, f, f.Users.Proctor, path+"?from=2026-11-23&to=2026-11-23")
		wantBody(t, "one day's screening", day, fmt.Sprintf(`id="screened">%d<`, sc.history-60+1), `forensics.csv?from=2026-11-23&amp;to=2026-11-23`)
		wantAPIStatus(t, casefilePage(t, f, f.Users.Proctor, path+"?from=23/11/2026"), http.StatusUnprocessableEntity)

		outsider := f.NewUser(t, "", "Other Proctor", auth.Proctor)
		wantAPIStatus(t, casefilePage(t, f, outsider, path), http.StatusNotFound)
		wantAPIStatus(t, casefilePage(t, f, outsider, path+".csv"), http.StatusNotFound)
		wantAPIStatus(t, casefilePage(t, f, f.Users.Psychometrician, path), http.StatusForbidden)

		// The CSV has every attempt, most at risk first.
		csvResp := casefilePage(t, f, f.Users.Proctor, path+".csv")
		wantAPIStatus(t, csvResp, http.StatusOK)
		rows, err := csv.NewReader(bytes.NewReader(csvResp.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != sc.history+2 || rows[0][0] != "rank" || rows[1][0] != "1" || rows[len(rows)-1][0] != fmt.Sprint(sc.history+1) {
			t.Errorf("CSV: got %d rows starting %v, want a header and %d attempts ranked", len(rows), rows[0], sc.history+1)
		}

		// Send to review from the screening, as the page's button does.
		form := url.Values{"_csrf": {f.Session(t, f.Users.Proctor).CSRFToken}, "reason": {"Statistical screening: rank 1"}}
		req := webtest.WithCookie(webtest.NewRequest(http.MethodPost, "/proctor/attempts/"+sc.preknow+"/review", form.Encode()), f.Session(t, f.Users.Proctor), false)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if resp := f.Do(t, req); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("send to review: got %d, want 303; body %s", resp.StatusCode, resp.Body)
		}
		// The queue shows both risks, with a link to the screening.
		queue := casefilePage(t, f, f.Users.Proctor, "/proctor/reviews")
		wantAPIStatus(t, queue, http.StatusOK)
		wantBody(t, "review queue", queue, "Behaviour risk", "Statistical risk", `href="`+path+`"`, "rank ", "Statistical screening: rank 1",
			`id="screening-links"`)
		page = casefilePage(t, f, f.Users.Proctor, path)
		wantBody(t, "forensics page after review", page, `href="/proctor/attempts/`+sc.preknow+`#review">pending`)
	})
}

func casefileSameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// casefileCheckPage checks that a page needs nothing the CSP forbids.
func casefileCheckPage(t *testing.T, what string, r *webtest.Response) {
	t.Helper()
	checkPage(t, what, response{Status: r.StatusCode, Body: string(r.Body)})
}

// TestCaseFileScreenshots takes the case file (with its snapshot viewer
// open, and with a tampered event log), the exam's screening and the
// review queue in headless Chromium at two widths; it runs with
// TOUCHSTONE_SCREENSHOTS=dir (the pictures are kept there) or
// TOUCHSTONE_TEST_BROWSER=1.
func TestCaseFileScreenshots(t *testing.T) {
	browser := startBrowser(t)
	f := webtest.New(t, dbtest.SQLite(t))
	sc := newCasefileScene(t, f)
	if _, err := f.Assess.OpenReview(context.Background(), f.Users.Proctor.ID, sc.attempt, []string{"a second face on camera"}); err != nil {
		t.Fatal(err)
	}
	// The session cookie expires by the server's clock: bring it to the
	// browser's time.
	if d := time.Until(f.Clock.Now()); d < 0 {
		f.Clock.Advance(-d)
	}
	base := listen(t, f.Server)
	ctx, cancel := context.WithTimeout(browser, 3*time.Minute) // a step that never comes fails, not hangs
	defer cancel()
	shoot := func(name, path string) {
		t.Helper()
		for _, w := range []int64{1280, 390} {
			browserStep(t, ctx, fmt.Sprintf("%s at %d px", name, w), chromedp.EmulateViewport(w, 900), chromedp.Navigate(base+path), chromedp.WaitReady("body"))
			scrollThrough(t, ctx)
			browserStep(t, ctx, "settle", chromedp.Sleep(300*time.Millisecond))
			saveScreenshot(t, ctx, fmt.Sprintf("casefile-%s-%d", name, w), wholePage)
		}
		browserStep(t, ctx, "desktop width", chromedp.EmulateViewport(1280, 900))
	}
	signInByForm(t, ctx, base, f.Users.Proctor.Email, webtest.Password)

	// axe-core (npm ci in web/a11y) checks WCAG 2.x A and AA.
	for _, page := range []struct{ what, path string }{
		{"case file", "/proctor/attempts/" + sc.attempt},
		{"screening", "/proctor/exams/" + sc.exam.ID + "/forensics"},
		{"review queue", "/proctor/reviews"},
	} {
		browserStep(t, ctx, page.what, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+page.path), chromedp.WaitReady("body"))
		checkAxe(t, ctx, page.what)
	}

	shoot("attempt", "/proctor/attempts/"+sc.attempt)
	// The snapshot opens larger in a dialog, drawn by casefile.js.
	browserStep(t, ctx, "snapshot dialog", chromedp.Navigate(base+"/proctor/attempts/"+sc.attempt), chromedp.WaitReady("body"),
		chromedp.Click(chromedp.CSS(`a.cf-snap[href="/api/v1/snapshots/`+sc.snapshots[2].ID+`"]`)), chromedp.WaitVisible(chromedp.ID("snapshot-dialog")),
		chromedp.Sleep(300*time.Millisecond))
	saveScreenshot(t, ctx, "casefile-snapshot-dialog-1280", viewport)
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('snapshot-large').naturalWidth === 320`))
	if err != nil || !loaded {
		t.Errorf("snapshot dialog: the image did not load (%v)", err)
	}
	browserStep(t, ctx, "close the dialog", chromedp.Click(chromedp.ID("snapshot-close")), chromedp.WaitNotVisible(chromedp.ID("snapshot-dialog")))
	shoot("forensics", "/proctor/exams/"+sc.exam.ID+"/forensics")
	shoot("reviews", "/proctor/reviews")
	shoot("partner", "/proctor/attempts/"+sc.source)

	if err := f.DB.Exec("UPDATE proctor_events SET detail = 'nothing happened' WHERE attempt_id = ? AND seq = 2", sc.attempt).Error; err != nil {
		t.Fatal(err)
	}
	browserStep(t, ctx, "tampered chain", chromedp.Navigate(base+"/proctor/attempts/"+sc.attempt), chromedp.WaitVisible(chromedp.ID("chain-status")))
	saveScreenshot(t, ctx, "casefile-tampered-1280", viewport)
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("chain-status")))
	if err != nil || !strings.Contains(text, "event 2 altered") {
		t.Errorf("tampered chain: got %q (%v), want the broken event named", text, err)
	}
}
