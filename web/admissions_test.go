package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// checkinSend sends a request with a raw body to a listening instance as
// the holder of token, and returns its status and body.
func checkinSend(t *testing.T, method, target, token, contentType string, body []byte) (int, []byte) {
	t.Helper()
	req := checkinRaw(method, target, token, contentType, body)
	req.RequestURI = ""
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// checkinComplete opens the candidate's check-in of the exam on the
// instance at base, passes every step and submits it; it returns the
// check-in as submitted.
func checkinComplete(t *testing.T, base, token, examID string) apiCheckin {
	t.Helper()
	img := checkinPNG(t)
	var ci apiCheckin
	for _, step := range []struct {
		method, path, contentType string
		body                      []byte
	}{
		{"POST", "/api/v1/exams/" + examID + "/checkins", "application/json", nil},
		{"PUT", "/system-check", "application/json", []byte(checkinGoodSystem)},
		{"POST", "/photos?kind=candidate_photo", "image/png", img},
		{"POST", "/photos?kind=id_photo", "image/png", img},
		{"POST", "/rules", "application/json", nil},
		{"POST", "/submit", "application/json", nil},
	} {
		target := base + step.path
		if ci.ID != "" {
			target = base + "/api/v1/checkins/" + ci.ID + step.path
		}
		status, body := checkinSend(t, step.method, target, token, step.contentType, step.body)
		if status != http.StatusOK && status != http.StatusCreated {
			t.Fatalf("%s %s: %d %s", step.method, target, status, body)
		}
		if ci.ID == "" || step.path == "/submit" {
			if err := json.Unmarshal(body, &ci); err != nil {
				t.Fatalf("%s %s: %v", step.method, target, err)
			}
		}
	}
	return ci
}

// proctorCheckins lists the check-ins waiting for the holder of token,
// from the instance at base.
func proctorCheckins(t *testing.T, base, token string) []apiCheckin {
	t.Helper()
	status, body := checkinSend(t, "GET", base+"/api/v1/proctor/checkins", token, "application/json", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /api/v1/proctor/checkins: %d %s", status, body)
	}
	var out []apiCheckin
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAdmissionsAcrossInstances: a check-in submitted on one instance
// reaches, through Redis, the live streams of the exam's proctor and of an
// administrator on another, as do the decisions taken on the first, which
// also reach the waiting candidate's stream; a proctor of another exam
// gets none of it, and a check-in the exam's policy admits is not
// announced. GET /api/v1/proctor/checkins, which the
// pages read again on each event, lists what waits for each proctor.
func TestAdmissionsAcrossInstances(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		ctx := context.Background()
		srvA, srvB := redisInstances(t, f)
		baseA, baseB := listen(t, srvA), listen(t, srvB)

		if err := f.Assess.AssignStaff(ctx, f.Users.Manager.ID, f.Exam.ID, f.Users.Proctor.ID, assess.StaffProctor); err != nil {
			t.Fatal(err)
		}
		_, otherProctor := otherExamProctor(t, f)
		cand, cand2 := f.Token(t, f.Users.Candidate), f.Token(t, f.Users.Candidate2)
		proc, theirProc, admin := f.Token(t, f.Users.Proctor), f.Token(t, otherProctor), f.Token(t, f.Users.Admin)

		mine := consoleStream(t, baseB, proc)
		theirs := consoleStream(t, baseB, theirProc)
		admins := consoleStream(t, baseB, admin)
		want := func(who string, stream <-chan map[string]any, checkinID, status string) {
			t.Helper()
			select {
			case e := <-stream:
				if e["type"] != "checkin" || e["exam_id"] != f.Exam.ID || e["checkin_id"] != checkinID || e["status"] != status || e["attempt_id"] != nil {
					t.Fatalf("%s's stream got %v, want check-in %s %s of exam %s", who, e, checkinID, status, f.Exam.ID)
				}
			case <-time.After(2 * time.Second):
				t.Fatalf("%s's stream: check-in %s not %s within 2 seconds", who, checkinID, status)
			}
		}

		// Admitted by the policy: nobody waits, nothing is announced (the
		// next event the streams get is the next check-in's).
		checkinPolicy(t, f, assess.AdmitAutomatically)
		auto := checkinComplete(t, baseA, cand2, f.Exam.ID)
		if auto.Status != assess.CheckinAdmitted {
			t.Fatalf("under automatic admission: %+v, want admitted", auto)
		}

		checkinPolicy(t, f, assess.AdmitByProctor)
		ci := checkinComplete(t, baseA, cand, f.Exam.ID)
		if ci.Status != assess.CheckinPending {
			t.Fatalf("submitted %+v, want pending", ci)
		}
		want("the proctor", mine, ci.ID, assess.CheckinPending)
		want("the administrator", admins, ci.ID, assess.CheckinPending)
		// The candidate waits on B; only they may.
		live := baseB + "/api/v1/checkins/" + ci.ID + "/live"
		waiting := eventStream(t, live, cand)
		for _, tc := range []struct {
			who, token, accept string
			want               int
		}{
			{"another candidate", cand2, "text/event-stream", http.StatusNotFound},
			{"the proctor", proc, "text/event-stream", http.StatusForbidden},
			{"a client of JSON", cand, "application/json", http.StatusNotAcceptable},
		} {
			req := apiReq("GET", live, tc.token, nil)
			req.RequestURI = ""
			req.Header.Set("Accept", tc.accept)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s opens the candidate's stream: %d, want %d", tc.who, resp.StatusCode, tc.want)
			}
		}
		for _, tc := range []struct {
			who, token string
			want       int
		}{{"the proctor", proc, 1}, {"the administrator", admin, 1}, {"the other exam's proctor", theirProc, 0}} {
			if got := proctorCheckins(t, baseB, tc.token); len(got) != tc.want || (tc.want == 1 && got[0].ID != ci.ID) {
				t.Errorf("%s's waiting check-ins: %+v, want %d", tc.who, got, tc.want)
			}
		}
		if status, body := checkinSend(t, "GET", baseB+"/api/v1/proctor/checkins", cand, "application/json", nil); status != http.StatusForbidden {
			t.Errorf("a candidate lists the waiting check-ins: %d %s, want 403", status, body)
		}

		// Decisions on A reach B: the proctor admits one, the administrator
		// rejects the one the policy admitted.
		if status, body := checkinSend(t, "POST", baseA+"/api/v1/checkins/"+ci.ID+"/admit", proc, "application/json", nil); status != http.StatusOK {
			t.Fatalf("admit: %d %s", status, body)
		}
		want("the proctor", mine, ci.ID, assess.CheckinAdmitted)
		want("the administrator", admins, ci.ID, assess.CheckinAdmitted)
		select {
		case e := <-waiting:
			if e["type"] != "decided" || e["status"] != assess.CheckinAdmitted {
				t.Errorf("the candidate's stream got %v, want decided: admitted", e)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("the candidate's stream: no decision within 2 seconds")
		}
		if got := proctorCheckins(t, baseB, proc); len(got) != 0 {
			t.Errorf("waiting after the admission: %+v, want none", got)
		}
		if status, body := checkinSend(t, "POST", baseA+"/api/v1/checkins/"+auto.ID+"/reject", admin, "application/json",
			[]byte(`{"note": "The ID photo is blurred."}`)); status != http.StatusOK {
			t.Fatalf("reject: %d %s", status, body)
		}
		want("the proctor", mine, auto.ID, assess.CheckinRejected)
		want("the administrator", admins, auto.ID, assess.CheckinRejected)

		select {
		case e := <-theirs:
			t.Errorf("the other exam's proctor got %v, want nothing of this exam", e)
		case <-time.After(200 * time.Millisecond):
		}
	})
}
