package web_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/web/auth"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// checkinGoodSystem is a system check that passes.
const checkinGoodSystem = `{"camera": true, "browser": true, "features": {"fetch": true, "eventsource": true, "fullscreen": true, "canvas": true},
	"connection": {"round_trip_ms": 12.5, "upload_kbps": 24000}}`

type apiCheckin struct {
	ID          string  `json:"id"`
	ExamID      string  `json:"exam_id"`
	Status      string  `json:"status"`
	Note        string  `json:"note"`
	DecidedBy   string  `json:"decided_by"`
	AttemptID   *string `json:"attempt_id"`
	SystemCheck *struct {
		Camera bool `json:"camera"`
	} `json:"system_check"`
	Photos []struct {
		ID   string `json:"id"`
		Kind string `json:"kind"`
		URL  string `json:"url"`
	} `json:"photos"`
	Missing []string `json:"missing"`
}

// checkinPNG is a small real image.
func checkinPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		img.Set(x, x%48, color.RGBA{R: 200, A: 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// checkinRaw is a request whose body is sent as it is, with its type.
func checkinRaw(method, target, token, contentType string, body []byte) *http.Request {
	r := apiReq(method, target, token, body)
	r.Header.Set("Content-Type", contentType)
	return r
}

func checkinDecode(t *testing.T, resp *webtest.Response) apiCheckin {
	t.Helper()
	var ci apiCheckin
	resp.JSON(t, &ci)
	return ci
}

// checkinPolicy makes the fixture exam require a check-in admitted by a
// proctor, with snapshots every 30 seconds.
func checkinPolicy(t *testing.T, f *webtest.Fixture, admission string) {
	t.Helper()
	if _, err := f.Assess.SetProctoring(context.Background(), f.Users.Manager.ID, f.Exam.ID,
		assess.ProctoringPolicy{CheckIn: true, Admission: admission, SnapshotSeconds: 30, Rules: "Work alone.\nNo notes."}); err != nil {
		t.Fatal(err)
	}
}

// checkinForm posts a page form as u, with the session cookie and its
// CSRF token, asking for HTML.
func checkinForm(t *testing.T, f *webtest.Fixture, u webtest.User, target string, form url.Values) *webtest.Response {
	t.Helper()
	r := webtest.NewRequest("POST", target, form.Encode())
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Accept", "text/html")
	return f.Do(t, webtest.WithCookie(r, f.Session(t, u), true))
}

// checkinPage gets a page as u.
func checkinPage(t *testing.T, f *webtest.Fixture, u webtest.User, target string) *webtest.Response {
	t.Helper()
	r := webtest.NewRequest("GET", target, nil)
	r.Header.Set("Accept", "text/html")
	return f.Do(t, webtest.WithCookie(r, f.Session(t, u), false))
}

// TestCheckinAPI walks a candidate through the check-in of an exam whose
// proctor admits candidates, with every bound and refusal on the way: the
// exam does not start before admission, other candidates and unassigned
// proctors see nothing, and the admitted check-in starts one attempt.
func TestCheckinAPI(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		cand, other := f.Token(t, f.Users.Candidate), f.Token(t, f.Users.Candidate2)
		pm, proctor := f.Token(t, f.Users.Manager), f.Token(t, f.Users.Proctor)
		stranger := f.Token(t, f.NewUser(t, "", "Unassigned Proctor", auth.Proctor))
		exam := "/api/v1/exams/" + f.Exam.ID

		wantAPIError(t, apiCall(t, f, apiReq("POST", exam+"/checkins", cand, nil)), http.StatusConflict, "no_check_in", "")
		checkinPolicy(t, f, assess.AdmitByProctor)
		wantAPIStatus(t, apiCall(t, f, apiReq("PUT", exam+"/staff/"+f.Users.Proctor.ID, pm, map[string]string{"role": "proctor"})), http.StatusOK)
		wantAPIError(t, apiCall(t, f, apiReq("POST", exam+"/attempts", cand, nil)), http.StatusConflict, "check_in_required", "")

		resp := apiCall(t, f, apiReq("POST", exam+"/checkins", cand, nil))
		wantAPIStatus(t, resp, http.StatusOK)
		ci := checkinDecode(t, resp)
		if ci.Status != "open" || ci.ExamID != f.Exam.ID || len(ci.Missing) != 4 || ci.SystemCheck != nil {
			t.Fatalf("opened %+v, want open, missing all four steps", ci)
		}
		if again := checkinDecode(t, apiCall(t, f, apiReq("POST", exam+"/checkins", cand, nil))); again.ID != ci.ID {
			t.Fatalf("opened again: %s, want the same check-in %s", again.ID, ci.ID)
		}
		path := "/api/v1/checkins/" + ci.ID
		img := checkinPNG(t)

		// Someone else's check-in is not there.
		for _, req := range []*http.Request{
			apiReq("GET", path, other, nil),
			checkinRaw("PUT", path+"/system-check", other, "application/json", []byte(checkinGoodSystem)),
			checkinRaw("POST", path+"/photos?kind=candidate_photo", other, "image/png", img),
			checkinRaw("POST", path+"/probe", other, "application/octet-stream", make([]byte, 1024)),
			apiReq("POST", path+"/rules", other, nil),
			apiReq("POST", path+"/submit", other, nil),
			apiReq("GET", path, stranger, nil),
		} {
			wantAPIError(t, apiCall(t, f, req), http.StatusNotFound, "not_found", "")
		}

		// The system check and the connection probe, bounded.
		wantAPIError(t, apiCall(t, f, checkinRaw("PUT", path+"/system-check", cand, "application/json", []byte(`{"camera": true}`))),
			http.StatusUnprocessableEntity, "invalid", "browser")
		wantAPIError(t, apiCall(t, f, checkinRaw("PUT", path+"/system-check", cand, "application/json", bytes.Repeat([]byte(" "), 5000))),
			http.StatusUnprocessableEntity, "invalid", "system_check")
		resp = apiCall(t, f, checkinRaw("PUT", path+"/system-check", cand, "application/json", []byte(checkinGoodSystem)))
		wantAPIStatus(t, resp, http.StatusOK)
		if got := checkinDecode(t, resp); got.SystemCheck == nil || !got.SystemCheck.Camera || len(got.Missing) != 3 {
			t.Fatalf("after the system check: %+v", got)
		}
		wantAPIStatus(t, apiCall(t, f, checkinRaw("POST", path+"/probe", cand, "application/octet-stream", make([]byte, 64<<10))), http.StatusOK)
		wantAPIError(t, apiCall(t, f, checkinRaw("POST", path+"/probe", cand, "application/octet-stream", make([]byte, 300<<10))),
			http.StatusRequestEntityTooLarge, "request_entity_too_large", "body")

		// Photos: images only, bounded, of a known kind.
		wantAPIError(t, apiCall(t, f, checkinRaw("POST", path+"/photos?kind=candidate_photo", cand, "image/png", []byte("not an image at all"))),
			http.StatusUnprocessableEntity, "invalid", "image")
		wantAPIError(t, apiCall(t, f, checkinRaw("POST", path+"/photos?kind=candidate_photo", cand, "image/jpeg", make([]byte, 3<<20))),
			http.StatusRequestEntityTooLarge, "request_entity_too_large", "image")
		wantAPIError(t, apiCall(t, f, checkinRaw("POST", path+"/photos?kind=webcam", cand, "image/png", img)),
			http.StatusUnprocessableEntity, "invalid", "kind")
		var photo struct {
			ID, Kind, URL string
		}
		resp = apiCall(t, f, checkinRaw("POST", path+"/photos?kind=candidate_photo", cand, "image/png", img))
		wantAPIStatus(t, resp, http.StatusCreated)
		resp.JSON(t, &photo)
		if photo.Kind != "candidate_photo" || photo.URL != "/api/v1/snapshots/"+photo.ID {
			t.Fatalf("photo %+v", photo)
		}
		wantAPIError(t, apiCall(t, f, apiReq("POST", path+"/submit", cand, nil)), http.StatusUnprocessableEntity, "invalid", "id_photo")
		wantAPIStatus(t, apiCall(t, f, checkinRaw("POST", path+"/photos?kind=id_photo", cand, "image/png", img)), http.StatusCreated)
		for _, tc := range []struct {
			who   string
			token string
			want  int
		}{
			{"the candidate", cand, http.StatusOK},
			{"another candidate", other, http.StatusNotFound},
			{"an unassigned proctor", stranger, http.StatusNotFound},
			{"the exam's proctor", proctor, http.StatusOK},
		} {
			if resp := apiCall(t, f, apiReq("GET", photo.URL, tc.token, nil)); resp.StatusCode != tc.want {
				t.Errorf("%s gets the photo: %d, want %d", tc.who, resp.StatusCode, tc.want)
			}
		}

		wantAPIError(t, apiCall(t, f, apiReq("POST", path+"/submit", cand, nil)), http.StatusUnprocessableEntity, "invalid", "rules")
		wantAPIStatus(t, apiCall(t, f, apiReq("POST", path+"/rules", cand, nil)), http.StatusOK)
		resp = apiCall(t, f, apiReq("POST", path+"/submit", cand, nil))
		wantAPIStatus(t, resp, http.StatusOK)
		if got := checkinDecode(t, resp); got.Status != "pending" || len(got.Photos) != 2 || len(got.Missing) != 0 {
			t.Fatalf("submitted %+v, want pending with two photos", got)
		}
		wantAPIError(t, apiCall(t, f, checkinRaw("POST", path+"/photos?kind=id_photo", cand, "image/png", img)), http.StatusConflict, "checkin_status", "")
		wantAPIError(t, apiCall(t, f, apiReq("POST", exam+"/attempts", cand, nil)), http.StatusConflict, "check_in_required", "")

		// Only the exam's proctors admit.
		wantAPIError(t, apiCall(t, f, apiReq("GET", exam+"/checkins", stranger, nil)), http.StatusNotFound, "not_found", "")
		wantAPIError(t, apiCall(t, f, apiReq("POST", path+"/admit", stranger, nil)), http.StatusNotFound, "not_found", "")
		wantAPIError(t, apiCall(t, f, apiReq("POST", path+"/reject", stranger, map[string]string{"note": "no"})), http.StatusNotFound, "not_found", "")
		var pending []apiCheckin
		resp = apiCall(t, f, apiReq("GET", exam+"/checkins", proctor, nil))
		wantAPIStatus(t, resp, http.StatusOK)
		resp.JSON(t, &pending)
		if len(pending) != 1 || pending[0].ID != ci.ID {
			t.Fatalf("pending check-ins %+v, want the one submitted", pending)
		}
		wantAPIError(t, apiCall(t, f, apiReq("POST", path+"/reject", proctor, map[string]string{"note": " "})), http.StatusUnprocessableEntity, "invalid", "note")
		resp = apiCall(t, f, apiReq("POST", path+"/admit", proctor, nil))
		wantAPIStatus(t, resp, http.StatusOK)
		if got := checkinDecode(t, resp); got.Status != "admitted" || got.DecidedBy != f.Users.Proctor.ID {
			t.Fatalf("admitted %+v", got)
		}
		wantAPIError(t, apiCall(t, f, apiReq("POST", path+"/admit", proctor, nil)), http.StatusConflict, "checkin_status", "")
		if got := checkinDecode(t, apiCall(t, f, apiReq("GET", path, cand, nil))); got.Status != "admitted" {
			t.Fatalf("the candidate's poll: %+v, want admitted", got)
		}

		a := apiStart(t, f, cand)
		got := checkinDecode(t, apiCall(t, f, apiReq("GET", path, cand, nil)))
		if got.Status != "used" || got.AttemptID == nil || *got.AttemptID != a.ID {
			t.Fatalf("after the start: %+v, want used by %s", got, a.ID)
		}
	})
}

// TestCheckinRejectedThenAutomatic: a rejected check-in cannot start the
// exam and the candidate reads why; under automatic admission a complete
// check-in starts at once.
func TestCheckinRejectedThenAutomatic(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		cand, admin := f.Token(t, f.Users.Candidate), f.Token(t, f.Users.Admin)
		exam := "/api/v1/exams/" + f.Exam.ID
		img := checkinPNG(t)
		complete := func() string {
			t.Helper()
			ci := checkinDecode(t, apiCall(t, f, apiReq("POST", exam+"/checkins", cand, nil)))
			path := "/api/v1/checkins/" + ci.ID
			wantAPIStatus(t, apiCall(t, f, checkinRaw("PUT", path+"/system-check", cand, "application/json", []byte(checkinGoodSystem))), http.StatusOK)
			for _, kind := range []string{"candidate_photo", "id_photo"} {
				wantAPIStatus(t, apiCall(t, f, checkinRaw("POST", path+"/photos?kind="+kind, cand, "image/png", img)), http.StatusCreated)
			}
			wantAPIStatus(t, apiCall(t, f, apiReq("POST", path+"/rules", cand, nil)), http.StatusOK)
			wantAPIStatus(t, apiCall(t, f, apiReq("POST", path+"/submit", cand, nil)), http.StatusOK)
			return ci.ID
		}

		checkinPolicy(t, f, assess.AdmitByProctor)
		first := complete()
		// An administrator proctors every exam.
		resp := apiCall(t, f, apiReq("POST", "/api/v1/checkins/"+first+"/reject", admin, map[string]string{"note": "Your ID is not readable."}))
		wantAPIStatus(t, resp, http.StatusOK)
		if got := checkinDecode(t, apiCall(t, f, apiReq("GET", "/api/v1/checkins/"+first, cand, nil))); got.Status != "rejected" || got.Note != "Your ID is not readable." {
			t.Fatalf("the candidate's view of the rejection: %+v", got)
		}
		wantAPIError(t, apiCall(t, f, apiReq("POST", exam+"/attempts", cand, nil)), http.StatusConflict, "check_in_required", "")
		page := checkinPage(t, f, f.Users.Candidate, "/exams/"+f.Exam.ID+"/checkin")
		if page.StatusCode != http.StatusOK || !strings.Contains(string(page.Body), "Your ID is not readable.") {
			t.Fatalf("the check-in page after a rejection: %d, want the proctor's note", page.StatusCode)
		}

		checkinPolicy(t, f, assess.AdmitAutomatically)
		second := complete()
		if second == first {
			t.Fatal("checking in again reused the rejected check-in")
		}
		if got := checkinDecode(t, apiCall(t, f, apiReq("GET", "/api/v1/checkins/"+second, cand, nil))); got.Status != "admitted" || got.DecidedBy != assess.DecidedAutomatically {
			t.Fatalf("under automatic admission: %+v", got)
		}
		apiStart(t, f, cand)
	})
}

// TestCheckinPages: the exam list sends a check-in exam's candidates to
// its check-in, which says what is recorded before anything is; proctors
// of the exam admit and reject from the admissions page, others see
// nobody waiting.
func TestCheckinPages(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		ctx := context.Background()
		checkinPolicy(t, f, assess.AdmitByProctor)
		if err := f.Assess.AssignStaff(ctx, f.Users.Manager.ID, f.Exam.ID, f.Users.Proctor.ID, assess.StaffProctor); err != nil {
			t.Fatal(err)
		}
		if err := f.Assess.SetSnapshotRetention(ctx, f.Users.Manager.ID, f.Program.ID, 45); err != nil {
			t.Fatal(err)
		}
		list := string(checkinPage(t, f, f.Users.Candidate, "/exams").Body)
		if !strings.Contains(list, `href="/exams/`+f.Exam.ID+`/checkin"`) || strings.Contains(list, `action="/exams/`+f.Exam.ID+`/start"`) {
			t.Error("the exam list does not send the candidate to the check-in")
		}
		page := checkinPage(t, f, f.Users.Candidate, "/exams/"+f.Exam.ID+"/checkin")
		body := string(page.Body)
		if page.StatusCode != http.StatusOK {
			t.Fatalf("check-in page: %d", page.StatusCode)
		}
		for _, want := range []string{"every 30 seconds", "deleted after 45 days", "proctors and reviewers of this exam",
			"A camera check needs JavaScript", "Leaving full screen", "No notes.", `src="/static/checkin.js"`} {
			if !strings.Contains(body, want) {
				t.Errorf("check-in page lacks %q", want)
			}
		}
		if _, err := f.Assess.LatestCheckin(ctx, f.Exam.ID, f.Users.Candidate.ID); err == nil {
			t.Error("opening the page opened a check-in: nothing may start before the candidate continues")
		}

		// A complete check-in, waiting.
		cand := f.Token(t, f.Users.Candidate)
		ci := checkinDecode(t, apiCall(t, f, apiReq("POST", "/api/v1/exams/"+f.Exam.ID+"/checkins", cand, nil)))
		path := "/api/v1/checkins/" + ci.ID
		apiCall(t, f, checkinRaw("PUT", path+"/system-check", cand, "application/json", []byte(checkinGoodSystem)))
		for _, kind := range []string{"candidate_photo", "id_photo"} {
			apiCall(t, f, checkinRaw("POST", path+"/photos?kind="+kind, cand, "image/png", checkinPNG(t)))
		}
		apiCall(t, f, apiReq("POST", path+"/rules", cand, nil))
		wantAPIStatus(t, apiCall(t, f, apiReq("POST", path+"/submit", cand, nil)), http.StatusOK)
		if body := string(checkinPage(t, f, f.Users.Candidate, "/exams/"+f.Exam.ID+"/checkin").Body); !strings.Contains(body, `data-status="pending"`) {
			t.Error("the check-in page of a pending check-in does not show the wait")
		}

		other := f.NewUser(t, "", "Unassigned Proctor", auth.Proctor)
		if body := string(checkinPage(t, f, other, "/proctor/admissions").Body); strings.Contains(body, ci.ID) || !strings.Contains(body, "You proctor no exam yet") {
			t.Error("an unassigned proctor sees the check-in")
		}
		adm := string(checkinPage(t, f, f.Users.Proctor, "/proctor/admissions").Body)
		for _, want := range []string{f.Users.Candidate.Name, "/proctor/checkins/" + ci.ID + "/admit", "camera working", "24.0 Mbit/s upload", `src="/api/v1/snapshots/`} {
			if !strings.Contains(adm, want) {
				t.Errorf("admissions page lacks %q", want)
			}
		}
		if r := checkinForm(t, f, other, "/proctor/checkins/"+ci.ID+"/admit", url.Values{}); r.StatusCode != http.StatusNotFound {
			t.Errorf("an unassigned proctor admits: %d, want 404", r.StatusCode)
		}
		r := checkinForm(t, f, f.Users.Proctor, "/proctor/checkins/"+ci.ID+"/reject", url.Values{"note": {""}})
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), `id="decision-error"`) {
			t.Errorf("reject without a note: %d, want 422 with the reason beside the check-in", r.StatusCode)
		}
		r = checkinForm(t, f, f.Users.Proctor, "/proctor/checkins/"+ci.ID+"/admit", url.Values{})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/proctor/admissions?done=admitted" {
			t.Fatalf("admit: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		if got, _ := f.Assess.Checkin(ctx, ci.ID); got.Status != assess.CheckinAdmitted {
			t.Errorf("after the admit form: %s, want admitted", got.Status)
		}
		r = checkinForm(t, f, f.Users.Proctor, "/proctor/checkins/"+ci.ID+"/admit", url.Values{})
		if r.StatusCode != http.StatusConflict || !strings.Contains(string(r.Body), "the check-in has moved on") {
			t.Errorf("admit twice: %d, want 409 saying why", r.StatusCode)
		}
		if body := string(checkinPage(t, f, f.Users.Candidate, "/exams/"+f.Exam.ID+"/checkin").Body); !strings.Contains(body, `action="/exams/`+f.Exam.ID+`/start"`) {
			t.Error("the admitted candidate's page does not offer the start")
		}
	})
}

// TestCheckinSettings: program managers set the proctoring policy, the
// exam's staff and the program's retention, by form and by API; others
// cannot.
func TestCheckinSettings(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		ctx := context.Background()
		settings := "/manage/exams/" + f.Exam.ID
		page := string(checkinPage(t, f, f.Users.Manager, settings).Body)
		for _, want := range []string{`id="proctoring-form"`, `name="weights.paste"`, "Suggested: 3.0", `id="staff-form"`, `value="90"`} {
			if !strings.Contains(page, want) {
				t.Errorf("settings page lacks %q", want)
			}
		}

		r := checkinForm(t, f, f.Users.Manager, settings+"/proctoring", url.Values{"check_in": {"1"}, "admission": {"proctor"},
			"snapshot_seconds": {"5"}, "weights.paste": {"3"}})
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), `id="snapshot_seconds" name="snapshot_seconds" min="0" max="600" step="1" value="5"`) {
			t.Errorf("snapshots every 5 seconds: %d, want 422 with the form as typed", r.StatusCode)
		}
		r = checkinForm(t, f, f.Users.Manager, settings+"/proctoring", url.Values{"check_in": {"1"}, "admission": {"proctor"},
			"snapshot_seconds": {"20"}, "rules": {"Work alone.\r\nNo phones."}, "review_at": {"4"}, "hold_credentials": {"1"},
			"weights.paste": {"3"}, "weights.multiple_faces": {"5"}, "weights.resize": {"0"}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("save proctoring: %d %s", r.StatusCode, r.Body)
		}
		exam, err := f.Assess.Exam(ctx, f.Exam.ID)
		if err != nil {
			t.Fatal(err)
		}
		p := exam.Proctoring
		if !p.CheckIn || p.Admission != assess.AdmitByProctor || p.SnapshotSeconds != 20 || p.Rules != "Work alone.\nNo phones." ||
			p.ReviewAt != 4 || !p.HoldCredentials || len(p.Weights) != 2 || p.Weights["multiple_faces"] != 5 {
			t.Errorf("saved policy %+v", p)
		}

		r = checkinForm(t, f, f.Users.Manager, settings+"/staff", url.Values{"staff_email": {f.Users.Candidate.Email}, "role": {"proctor"}})
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("assign a candidate as proctor: %d, want 422", r.StatusCode)
		}
		r = checkinForm(t, f, f.Users.Manager, settings+"/staff", url.Values{"staff_email": {f.Users.Proctor.Email}, "role": {"reviewer"}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("assign a reviewer: %d", r.StatusCode)
		}
		if ok, _ := f.Assess.IsStaff(ctx, f.Users.Proctor.ID, f.Exam.ID, assess.StaffReviewer); !ok {
			t.Error("the reviewer is not assigned")
		}
		if !strings.Contains(string(checkinPage(t, f, f.Users.Manager, settings).Body), f.Users.Proctor.Email) {
			t.Error("the settings page does not list the reviewer")
		}
		r = checkinForm(t, f, f.Users.Manager, settings+"/staff/"+f.Users.Proctor.ID+"/remove", url.Values{"role": {"reviewer"}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("remove the reviewer: %d", r.StatusCode)
		}
		r = checkinForm(t, f, f.Users.Manager, settings+"/retention", url.Values{"snapshot_retention_days": {"0"}})
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("retention of 0 days: %d, want 422", r.StatusCode)
		}
		if r = checkinForm(t, f, f.Users.Manager, settings+"/retention", url.Values{"snapshot_retention_days": {"30"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("retention of 30 days: %d", r.StatusCode)
		}
		if r := checkinForm(t, f, f.Users.Admin, settings+"/proctoring", url.Values{"check_in": {"1"}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("an admin sets proctoring: %d, want 403 (program managers decide)", r.StatusCode)
		}

		// The same by API.
		pm := f.Token(t, f.Users.Manager)
		staff := "/api/v1/exams/" + f.Exam.ID + "/staff/"
		wantAPIError(t, apiCall(t, f, apiReq("PUT", staff+f.Users.Author.ID, pm, map[string]string{"role": "proctor"})), http.StatusUnprocessableEntity, "invalid", "user_id")
		wantAPIError(t, apiCall(t, f, apiReq("PUT", staff+f.Users.Proctor.ID, pm, map[string]string{"role": "janitor"})), http.StatusUnprocessableEntity, "invalid", "role")
		wantAPIError(t, apiCall(t, f, apiReq("PUT", staff+"00000000-0000-4000-8000-000000000000", pm, map[string]string{"role": "proctor"})), http.StatusNotFound, "not_found", "")
		wantAPIStatus(t, apiCall(t, f, apiReq("PUT", staff+f.Users.Proctor.ID, pm, map[string]string{"role": "proctor"})), http.StatusOK)
		var list []struct {
			UserID string `json:"user_id"`
			Role   string `json:"role"`
			Email  string `json:"email"`
		}
		resp := apiCall(t, f, apiReq("GET", "/api/v1/exams/"+f.Exam.ID+"/staff", pm, nil))
		wantAPIStatus(t, resp, http.StatusOK)
		resp.JSON(t, &list)
		if len(list) != 1 || list[0].UserID != f.Users.Proctor.ID || list[0].Role != "proctor" || list[0].Email != f.Users.Proctor.Email {
			t.Errorf("staff %+v", list)
		}
		wantAPIStatus(t, apiCall(t, f, apiReq("DELETE", staff+f.Users.Proctor.ID, pm, nil)), http.StatusNoContent)
		if ok, _ := f.Assess.IsStaff(ctx, f.Users.Proctor.ID, f.Exam.ID, assess.StaffProctor, assess.StaffReviewer); ok {
			t.Error("still staff after DELETE")
		}
		retention := "/api/v1/programs/" + f.Program.ID + "/retention"
		wantAPIError(t, apiCall(t, f, apiReq("PUT", retention, pm, map[string]int{"snapshot_retention_days": 4000})), http.StatusUnprocessableEntity, "invalid", "snapshot_retention_days")
		wantAPIStatus(t, apiCall(t, f, apiReq("PUT", retention, pm, map[string]int{"snapshot_retention_days": 14})), http.StatusOK)
		if d, err := f.Assess.SnapshotRetention(ctx, f.Exam.ID); err != nil || d.Hours() != 14*24 {
			t.Errorf("retention %v (%v), want 14 days", d, err)
		}
		wantAPIError(t, apiCall(t, f, apiReq("PUT", "/api/v1/programs/00000000-0000-4000-8000-000000000000/retention", pm, map[string]int{"snapshot_retention_days": 14})),
			http.StatusNotFound, "not_found", "")
	})
}

// TestCheckinInBrowser: a candidate checks in with Chromium's fake camera —
// what is recorded, the system check, both photos taken and kept, the
// rules refused unticked then accepted — and waits. The exam's proctor,
// whose admissions page and console were open before, sees the check-in
// arrive with its photos and the console count it, without a reload; a
// second candidate's check-in comes and, rejected by an administrator,
// goes, while a note typed on the first stays. The proctor admits the
// first; the candidate's waiting page then offers the start, which opens
// the exam. axe-core checks the check-in and admissions pages.
func TestCheckinInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	browser := startBrowser(t, fakeCamera...)
	f := webtest.New(t, dbtest.SQLite(t))
	checkinPolicy(t, f, assess.AdmitByProctor)
	ctx := context.Background()
	if err := f.Assess.AssignStaff(ctx, f.Users.Manager.ID, f.Exam.ID, f.Users.Proctor.ID, assess.StaffProctor); err != nil {
		t.Fatal(err)
	}
	base := listen(t, f.Server)

	cand := tabAs(t, browser, f, base, f.Users.Candidate)
	step := func(ctx context.Context, name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 45*time.Second)
		defer cancel()
		browserStep(t, sctx, name, actions...)
	}

	step(cand, "open the check-in from the exam list",
		chromedp.Navigate(base+"/exams"),
		chromedp.Click(chromedp.ID("checkin-"+f.Exam.Slug)),
		chromedp.WaitVisible(chromedp.ID("begin")))
	saveScreenshot(t, cand, "checkin-1-privacy", wholePage)
	checkAxe(t, cand, "check-in: what is recorded")
	step(cand, "narrow", chromedp.EmulateViewport(390, 844))
	saveScreenshot(t, cand, "checkin-1-privacy-390", wholePage)
	step(cand, "wide", chromedp.EmulateViewport(1280, 900))
	if _, err := f.Assess.LatestCheckin(ctx, f.Exam.ID, f.Users.Candidate.ID); err == nil {
		t.Fatal("a check-in was opened before the candidate read what is recorded")
	}

	step(cand, "system check",
		chromedp.Click(chromedp.ID("begin")),
		until(`!document.getElementById('system-next').disabled`))
	state, err := chromedp.Run(cand, chromedp.Evaluate[map[string]string](`({camera: document.getElementById('check-camera').dataset.state,
		browser: document.getElementById('check-browser').dataset.state, connection: document.getElementById('check-connection').dataset.state,
		detail: document.getElementById('check-connection-detail').textContent})`))
	if err != nil || state["camera"] != "ok" || state["browser"] != "ok" || (state["connection"] != "ok" && state["connection"] != "warn") {
		t.Errorf("system check states %v (%v), want camera and browser ok and the connection measured", state, err)
	}
	saveScreenshot(t, cand, "checkin-2-system", wholePage)
	checkAxe(t, cand, "check-in: system check")

	step(cand, "open the photos",
		chromedp.Click(chromedp.ID("system-next")),
		until(`document.querySelector('#photo-candidate_photo video').videoWidth > 0`))
	for _, kind := range []string{"candidate_photo", "id_photo"} {
		card := "#photo-" + kind
		step(cand, "take "+kind,
			until(`document.querySelector('`+card+` video').videoWidth > 0`),
			chromedp.Click(chromedp.CSS(card+` [data-action="take"]`)),
			chromedp.WaitVisible(chromedp.CSS(card+` [data-action="keep"]`)))
		if kind == "candidate_photo" {
			saveScreenshot(t, cand, "checkin-3-photo-taken", wholePage)
		}
		step(cand, "keep "+kind,
			chromedp.Click(chromedp.CSS(card+` [data-action="keep"]`)),
			until(`document.querySelector('`+card+`').dataset.state === 'kept' && document.querySelector('`+card+` img').complete`))
	}
	saveScreenshot(t, cand, "checkin-3-photos", wholePage)
	checkAxe(t, cand, "check-in: photos")

	step(cand, "rules unticked",
		chromedp.Click(chromedp.ID("photos-next")),
		chromedp.WaitVisible(chromedp.ID("accept-rules")),
		chromedp.Click(chromedp.ID("submit-checkin")),
		chromedp.WaitVisible(chromedp.ID("rules-error")))
	saveScreenshot(t, cand, "checkin-4-rules", wholePage)
	checkAxe(t, cand, "check-in: rules refused")

	// The proctor's admissions page and live console, open before the
	// candidate submits, follow without a reload: the page marks its load.
	proc := tabAs(t, browser, f, base, f.Users.Proctor)
	step(proc, "admissions, nobody waiting",
		chromedp.Navigate(base+"/proctor/admissions"),
		chromedp.WaitVisible(chromedp.ID("no-admissions")),
		until(`document.getElementById('live-status').dataset.state === 'open'`),
		chromedp.Evaluate[chromedp.Void](`window.sameLoad = true`))
	saveScreenshot(t, proc, "admissions-empty", wholePage)
	checkAxe(t, proc, "admissions: nobody waiting")
	console := tabAs(t, browser, f, base, f.Users.Proctor)
	step(console, "console, nobody waiting",
		chromedp.Navigate(base+"/proctor"),
		until(`document.getElementById('live-status').dataset.state === 'open' && document.getElementById('waiting-count').textContent === '0'`))

	step(cand, "submit",
		chromedp.Click(chromedp.ID("accept-rules")),
		chromedp.Click(chromedp.ID("submit-checkin")),
		chromedp.WaitVisible(chromedp.ID("admission-waiting")))
	saveScreenshot(t, cand, "checkin-5-waiting", wholePage)
	checkAxe(t, cand, "check-in: waiting")
	ci, err := f.Assess.LatestCheckin(ctx, f.Exam.ID, f.Users.Candidate.ID)
	if err != nil || ci.Status != assess.CheckinPending {
		t.Fatalf("after submitting: %+v (%v), want pending", ci, err)
	}
	if n, err := f.Assess.CheckinPhotos(ctx, ci.ID); err != nil || n["candidate_photo"] != 1 || n["id_photo"] != 1 {
		t.Fatalf("photos stored: %v (%v), want one of each", n, err)
	}

	step(proc, "the check-in appears",
		chromedp.WaitVisible(chromedp.ID("admit-"+ci.ID)),
		until(`[...document.querySelectorAll('.admission-photos img')].every(i => i.complete && i.naturalWidth > 0)`))
	step(console, "the console counts it", until(`document.getElementById('waiting-count').textContent === '1'`))
	saveScreenshot(t, console, "console-waiting", wholePage)

	// Another candidate checks in, and another proctor (an administrator)
	// rejects them: their card comes and goes.
	other := checkinComplete(t, base, f.Token(t, f.Users.Candidate2), f.Exam.ID)
	step(proc, "a second check-in appears",
		chromedp.WaitVisible(chromedp.ID("admit-"+other.ID)),
		until(`[...document.querySelectorAll('.admission-photos img')].every(i => i.complete && i.naturalWidth > 0)`))
	step(console, "the console counts two", until(`document.getElementById('waiting-count').textContent === '2'`))
	saveScreenshot(t, proc, "admissions", wholePage)
	checkAxe(t, proc, "admissions")
	step(proc, "a note being typed",
		chromedp.SendKeys(chromedp.ID("note-"+ci.ID), "Hold your ID closer"))
	if status, body := checkinSend(t, "POST", base+"/api/v1/checkins/"+other.ID+"/reject", f.Token(t, f.Users.Admin), "application/json",
		[]byte(`{"note": "Decided by another proctor."}`)); status != http.StatusOK {
		t.Fatalf("reject the second check-in: %d %s", status, body)
	}
	step(proc, "the decided check-in goes",
		until(`document.getElementById('checkin-`+other.ID+`') === null`),
		until(`document.getElementById('admissions-announce').textContent.includes('decided')`))
	step(console, "the console counts one again", until(`document.getElementById('waiting-count').textContent === '1'`))
	live, err := chromedp.Run(proc, chromedp.Evaluate[map[string]any](`({sameLoad: window.sameLoad === true,
		note: document.getElementById('note-`+ci.ID+`').value})`))
	if err != nil || live["sameLoad"] != true || live["note"] != "Hold your ID closer" {
		t.Errorf("the admissions page after live updates: %v (%v), want the same load with the note still typed", live, err)
	}
	step(proc, "admit",
		chromedp.Click(chromedp.ID("admit-"+ci.ID)),
		chromedp.WaitVisible(chromedp.ID("decision-notice")))
	saveScreenshot(t, proc, "admissions-done", wholePage)

	step(console, "the console counts none", until(`document.getElementById('waiting-count').textContent === '0'`))

	step(cand, "offered the start", chromedp.WaitVisible(chromedp.ID("start-exam")))
	saveScreenshot(t, cand, "checkin-6-admitted", wholePage)
	checkAxe(t, cand, "check-in: admitted")
	step(cand, "start", chromedp.Click(chromedp.ID("start-exam")), chromedp.WaitVisible(chromedp.ID("player")))
	if got, err := f.Assess.Checkin(ctx, ci.ID); err != nil || got.Status != assess.CheckinUsed {
		t.Errorf("after the start: %+v (%v), want used", got, err)
	}

	pm := tabAs(t, browser, f, base, f.Users.Manager)
	step(pm, "settings", chromedp.Navigate(base+"/manage/exams/"+f.Exam.ID), chromedp.WaitVisible(chromedp.ID("proctoring-form")))
	saveScreenshot(t, pm, "settings-proctoring", elementShot("#proctoring"))
	checkAxe(t, pm, "exam settings with proctoring")
}
