package assess_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/blob"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// checkinGood is a system check that passes.
const checkinGood = `{"camera": true, "browser": true, "features": {"fetch": true, "eventsource": true, "fullscreen": true, "canvas": true},
	"connection": {"round_trip_ms": 42.5, "upload_kbps": 8000}}`

// checkinPhotos stores check-in photos as the web layer does.
type checkinPhotos struct {
	snaps *proctor.Snapshots
}

func newCheckinPhotos(t *testing.T, db *gorm.DB, f *fixture) checkinPhotos {
	t.Helper()
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return checkinPhotos{snaps: proctor.NewSnapshots(proctor.NewLog(db, f.clock.Now), blobs)}
}

func (p checkinPhotos) put(t *testing.T, checkinID, kind string) {
	t.Helper()
	var img bytes.Buffer
	if err := png.Encode(&img, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	checked, err := proctor.CheckImage(img.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.snaps.Put(context.Background(), proctor.NewSnapshot{CheckinID: checkinID, Kind: kind, Image: checked,
		Retention: 24 * time.Hour}); err != nil {
		t.Fatalf("put %s: %v", kind, err)
	}
}

// wantField fails unless err is a field error on field.
func checkinWantField(t *testing.T, what string, err error, field string) {
	t.Helper()
	var v *valid.Error
	if !errors.As(err, &v) || v.Field != field {
		t.Fatalf("%s: got %v, want a field error on %q", what, err, field)
	}
}

// checkinComplete does every step of a check-in but the submission.
func checkinComplete(t *testing.T, f *fixture, photos checkinPhotos, id, candidate string) {
	t.Helper()
	ctx := context.Background()
	if _, err := f.svc.SaveSystemCheck(ctx, id, candidate, []byte(checkinGood)); err != nil {
		t.Fatal(err)
	}
	photos.put(t, id, proctor.CandidatePhoto)
	photos.put(t, id, proctor.IDPhoto)
	if _, err := f.svc.AcceptRules(ctx, id, candidate); err != nil {
		t.Fatal(err)
	}
}

func checkinActions(t *testing.T, db *gorm.DB, id string) map[string]string {
	t.Helper()
	recs, err := audit.List(db, "checkin:"+id, 20)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range recs {
		out[r.Action] = r.Actor
	}
	return out
}

// TestCheckinAdmittedByProctor walks a check-in under an exam whose proctor
// admits candidates: every step it needs, every refusal, a rejection that
// cannot start the exam, the admission that can, and one attempt per
// check-in.
func TestCheckinAdmittedByProctor(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		photos := newCheckinPhotos(t, db, f)
		proctorID := newCandidate(t, db, 800)
		other := newCandidate(t, db, 801)

		// Without a check-in policy, no check-in and the exam starts as ever.
		if _, err := f.svc.OpenCheckin(ctx, f.exam.ID, f.candidate); !errors.Is(err, assess.ErrNoCheckin) {
			t.Fatalf("open a check-in of an exam without check-in: %v, want ErrNoCheckin", err)
		}
		if _, err := f.svc.Start(ctx, f.exam.ID, newCandidate(t, db, 802)); err != nil {
			t.Fatalf("start an exam without check-in: %v", err)
		}

		if _, err := f.svc.SetProctoring(ctx, "pm", f.exam.ID, assess.ProctoringPolicy{CheckIn: true, Admission: assess.AdmitByProctor,
			Rules: "No notes.\n\n  Nobody else in the room. "}); err != nil {
			t.Fatal(err)
		}
		exam, err := f.svc.Exam(ctx, f.exam.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := assess.CheckinRules(exam.Proctoring); len(got) != 2 || got[1] != "Nobody else in the room." {
			t.Errorf("rules %q, want the two lines trimmed", got)
		}
		if got := assess.CheckinRules(assess.ProctoringPolicy{}); len(got) < 3 {
			t.Errorf("default rules %q, want several", got)
		}
		if _, err := f.svc.Start(ctx, f.exam.ID, f.candidate); !errors.Is(err, assess.ErrNotAdmitted) {
			t.Fatalf("start before checking in: %v, want ErrNotAdmitted", err)
		}

		ci, err := f.svc.OpenCheckin(ctx, f.exam.ID, f.candidate)
		if err != nil || ci.Status != assess.CheckinOpen || ci.ExamID != f.exam.ID || ci.CandidateID != f.candidate {
			t.Fatalf("open check-in: %+v, %v", ci, err)
		}
		if again, err := f.svc.OpenCheckin(ctx, f.exam.ID, f.candidate); err != nil || again.ID != ci.ID {
			t.Fatalf("open again: %+v, %v; want the same check-in %s", again, err, ci.ID)
		}

		// The system check: bounded, complete, and the candidate's own.
		for _, tc := range []struct {
			name, body, field string
		}{
			{"not JSON", `camera ok`, "system_check"},
			{"an unknown field", `{"camera": true, "browser": true, "connection": {"round_trip_ms": 1, "upload_kbps": 1}, "script": "x"}`, "system_check"},
			{"no camera", `{"browser": true, "connection": {"round_trip_ms": 1, "upload_kbps": 1}}`, "camera"},
			{"no browser", `{"camera": true, "connection": {"round_trip_ms": 1, "upload_kbps": 1}}`, "browser"},
			{"no connection", `{"camera": true, "browser": true}`, "connection"},
			{"no upload figure", `{"camera": true, "browser": true, "connection": {"round_trip_ms": 1}}`, "connection"},
			{"a negative round trip", `{"camera": true, "browser": true, "connection": {"round_trip_ms": -1, "upload_kbps": 1}}`, "connection.round_trip_ms"},
			{"too large", `{"camera": true, "browser": true, "connection": {"round_trip_ms": 1, "upload_kbps": 1}, "features": {"` + strings.Repeat("x", 5000) + `": true}}`, "system_check"},
		} {
			_, err := f.svc.SaveSystemCheck(ctx, ci.ID, f.candidate, []byte(tc.body))
			checkinWantField(t, "system check with "+tc.name, err, tc.field)
		}
		if _, err := f.svc.SaveSystemCheck(ctx, ci.ID, other, []byte(checkinGood)); !errors.Is(err, assess.ErrNotFound) {
			t.Fatalf("another candidate saves the system check: %v, want ErrNotFound", err)
		}
		if _, err := f.svc.AcceptRules(ctx, ci.ID, other); !errors.Is(err, assess.ErrNotFound) {
			t.Fatalf("another candidate accepts the rules: %v, want ErrNotFound", err)
		}
		if _, err := f.svc.SubmitCheckin(ctx, ci.ID, other); !errors.Is(err, assess.ErrNotFound) {
			t.Fatalf("another candidate submits: %v, want ErrNotFound", err)
		}

		// Each missing piece refuses the submission, in order.
		_, err = f.svc.SubmitCheckin(ctx, ci.ID, f.candidate)
		checkinWantField(t, "submit an empty check-in", err, "system_check")
		if _, err := f.svc.SaveSystemCheck(ctx, ci.ID, f.candidate, []byte(`{"camera": false, "browser": true, "connection": {"round_trip_ms": 80, "upload_kbps": 900}}`)); err != nil {
			t.Fatalf("a failed camera check is saved: %v", err)
		}
		_, err = f.svc.SubmitCheckin(ctx, ci.ID, f.candidate)
		checkinWantField(t, "submit without a camera", err, "system_check")
		saved, err := f.svc.SaveSystemCheck(ctx, ci.ID, f.candidate, []byte(checkinGood))
		if err != nil {
			t.Fatal(err)
		}
		if sc, ok := saved.System(); !ok || !sc.Camera || !sc.Browser || sc.Connection.RoundTripMS != 42.5 || !sc.Features["canvas"] {
			t.Fatalf("saved system check %+v (%v), want the figures sent", sc, ok)
		}
		_, err = f.svc.SubmitCheckin(ctx, ci.ID, f.candidate)
		checkinWantField(t, "submit without photos", err, "candidate_photo")
		photos.put(t, ci.ID, proctor.CandidatePhoto)
		_, err = f.svc.SubmitCheckin(ctx, ci.ID, f.candidate)
		checkinWantField(t, "submit without an ID photo", err, "id_photo")
		photos.put(t, ci.ID, proctor.IDPhoto)
		photos.put(t, ci.ID, proctor.IDPhoto) // a retake
		if n, err := f.svc.CheckinPhotos(ctx, ci.ID); err != nil || n["candidate_photo"] != 1 || n["id_photo"] != 2 {
			t.Fatalf("photos %v (%v), want 1 of the candidate and 2 of the ID", n, err)
		}
		_, err = f.svc.SubmitCheckin(ctx, ci.ID, f.candidate)
		checkinWantField(t, "submit without the rules", err, "rules")
		if _, err := f.svc.AcceptRules(ctx, ci.ID, f.candidate); err != nil {
			t.Fatal(err)
		}
		pending, err := f.svc.SubmitCheckin(ctx, ci.ID, f.candidate)
		if err != nil || pending.Status != assess.CheckinPending || pending.SubmittedAt == nil || pending.DecidedAt != nil {
			t.Fatalf("submitted: %+v, %v; want pending", pending, err)
		}

		// A submitted check-in is no longer edited; pending, it cannot start.
		if _, err := f.svc.SaveSystemCheck(ctx, ci.ID, f.candidate, []byte(checkinGood)); !errors.Is(err, assess.ErrCheckinStatus) {
			t.Errorf("system check after submitting: %v, want ErrCheckinStatus", err)
		}
		if _, err := f.svc.AcceptRules(ctx, ci.ID, f.candidate); !errors.Is(err, assess.ErrCheckinStatus) {
			t.Errorf("rules after submitting: %v, want ErrCheckinStatus", err)
		}
		if _, err := f.svc.SubmitCheckin(ctx, ci.ID, f.candidate); !errors.Is(err, assess.ErrCheckinStatus) {
			t.Errorf("submit twice: %v, want ErrCheckinStatus", err)
		}
		if _, err := f.svc.Start(ctx, f.exam.ID, f.candidate); !errors.Is(err, assess.ErrNotAdmitted) {
			t.Fatalf("start while pending: %v, want ErrNotAdmitted", err)
		}
		for _, tc := range []struct {
			name  string
			exams []string
			want  int
		}{
			{"the exam", []string{f.exam.ID}, 1},
			{"no exams", nil, 0},
			{"another exam", []string{"00000000-0000-0000-0000-00000000ffff"}, 0},
		} {
			if got, err := f.svc.PendingCheckins(ctx, tc.exams); err != nil || len(got) != tc.want {
				t.Errorf("pending check-ins of %s: %d (%v), want %d", tc.name, len(got), err, tc.want)
			}
		}

		// Rejected: the note is required, and the check-in cannot start.
		_, err = f.svc.RejectCheckin(ctx, proctorID, ci.ID, "  ")
		checkinWantField(t, "reject without a note", err, "note")
		rejected, err := f.svc.RejectCheckin(ctx, proctorID, ci.ID, "The ID photo is unreadable; please retake it.")
		if err != nil || rejected.Status != assess.CheckinRejected || rejected.DecidedBy != proctorID || rejected.Note == "" {
			t.Fatalf("rejected: %+v, %v", rejected, err)
		}
		if _, err := f.svc.AdmitCheckin(ctx, proctorID, ci.ID); !errors.Is(err, assess.ErrCheckinStatus) {
			t.Fatalf("admit a rejected check-in: %v, want ErrCheckinStatus", err)
		}
		if _, err := f.svc.Start(ctx, f.exam.ID, f.candidate); !errors.Is(err, assess.ErrNotAdmitted) {
			t.Fatalf("start after rejection: %v, want ErrNotAdmitted", err)
		}
		if latest, err := f.svc.LatestCheckin(ctx, f.exam.ID, f.candidate); err != nil || latest.ID != ci.ID {
			t.Fatalf("latest check-in %+v (%v), want the rejected one", latest, err)
		}
		if got := checkinActions(t, db, ci.ID); got["checkin.submit"] != f.candidate || got["checkin.reject"] != proctorID {
			t.Errorf("audit of the rejected check-in: %v", got)
		}

		// Checked in again and admitted: one attempt, and the check-in is used.
		second, err := f.svc.OpenCheckin(ctx, f.exam.ID, f.candidate)
		if err != nil || second.ID == ci.ID || second.Status != assess.CheckinOpen {
			t.Fatalf("check in again: %+v, %v; want a new open check-in", second, err)
		}
		checkinComplete(t, f, photos, second.ID, f.candidate)
		if _, err := f.svc.SubmitCheckin(ctx, second.ID, f.candidate); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.AdmitCheckin(ctx, proctorID, "not-a-uuid"); !errors.Is(err, assess.ErrNotFound) {
			t.Errorf("admit an unknown check-in: %v, want ErrNotFound", err)
		}
		adm, err := f.svc.AdmitCheckin(ctx, proctorID, second.ID)
		if err != nil || adm.Status != assess.CheckinAdmitted || adm.DecidedBy != proctorID || adm.DecidedAt == nil {
			t.Fatalf("admitted: %+v, %v", adm, err)
		}
		if got := checkinActions(t, db, second.ID); got["checkin.admit"] != proctorID {
			t.Errorf("audit of the admission: %v", got)
		}
		a, err := f.svc.Start(ctx, f.exam.ID, f.candidate)
		if err != nil {
			t.Fatalf("start after admission: %v", err)
		}
		used, err := f.svc.Checkin(ctx, second.ID)
		if err != nil || used.Status != assess.CheckinUsed || used.AttemptID != a.ID {
			t.Fatalf("check-in after the start: %+v, %v; want used by %s", used, err, a.ID)
		}
		if again, err := f.svc.Start(ctx, f.exam.ID, f.candidate); err != nil || again.ID != a.ID {
			t.Fatalf("start again while in progress: %+v, %v; want the same attempt", again, err)
		}
		f.answer(t, a.ID, 6)
		if _, err := f.svc.Submit(ctx, a.ID, "candidate"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Start(ctx, f.exam.ID, f.candidate); !errors.Is(err, assess.ErrNotAdmitted) {
			t.Fatalf("a retake on a used check-in: %v, want ErrNotAdmitted", err)
		}
		if third, err := f.svc.OpenCheckin(ctx, f.exam.ID, f.candidate); err != nil || third.ID == second.ID {
			t.Fatalf("check in for a retake: %+v, %v; want a new check-in", third, err)
		}
		if _, err := f.svc.LatestCheckin(ctx, f.exam.ID, other); !errors.Is(err, assess.ErrNotFound) {
			t.Errorf("latest check-in of a candidate with none: %v, want ErrNotFound", err)
		}
	})
}

// TestCheckinAdmittedAutomatically: under the automatic policy a complete
// check-in is admitted on submission, by the system, and a proctor may
// still reject it before it is used.
func TestCheckinAdmittedAutomatically(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		photos := newCheckinPhotos(t, db, f)
		if _, err := f.svc.SetProctoring(ctx, "pm", f.exam.ID, assess.ProctoringPolicy{CheckIn: true}); err != nil {
			t.Fatal(err)
		}
		ci, err := f.svc.OpenCheckin(ctx, f.exam.ID, f.candidate)
		if err != nil {
			t.Fatal(err)
		}
		checkinComplete(t, f, photos, ci.ID, f.candidate)
		got, err := f.svc.SubmitCheckin(ctx, ci.ID, f.candidate)
		if err != nil || got.Status != assess.CheckinAdmitted || got.DecidedBy != assess.DecidedAutomatically {
			t.Fatalf("submitted: %+v, %v; want admitted by %s", got, err, assess.DecidedAutomatically)
		}
		if actions := checkinActions(t, db, ci.ID); actions["checkin.submit"] != f.candidate || actions["checkin.admit"] != assess.DecidedAutomatically {
			t.Errorf("audit: %v, want the candidate's submission and the system's admission", actions)
		}
		if pending, err := f.svc.PendingCheckins(ctx, []string{f.exam.ID}); err != nil || len(pending) != 0 {
			t.Errorf("pending: %d (%v), want none", len(pending), err)
		}

		// A proctor may still stop it before it is used.
		second := newCandidate(t, db, 810)
		ci2, err := f.svc.OpenCheckin(ctx, f.exam.ID, second)
		if err != nil {
			t.Fatal(err)
		}
		checkinComplete(t, f, photos, ci2.ID, second)
		if _, err := f.svc.SubmitCheckin(ctx, ci2.ID, second); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.RejectCheckin(ctx, "proctor", ci2.ID, "Someone else is in the ID photo."); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Start(ctx, f.exam.ID, second); !errors.Is(err, assess.ErrNotAdmitted) {
			t.Fatalf("start after the admission was withdrawn: %v, want ErrNotAdmitted", err)
		}

		if _, err := f.svc.Start(ctx, f.exam.ID, f.candidate); err != nil {
			t.Fatalf("start: %v", err)
		}
		if _, err := f.svc.RejectCheckin(ctx, "proctor", ci.ID, "too late"); !errors.Is(err, assess.ErrCheckinStatus) {
			t.Fatalf("reject a used check-in: %v, want ErrCheckinStatus", err)
		}
	})
}

// holdCheckinInserts makes, on PostgreSQL, every OpenCheckin of the
// candidate read before any of them writes, so that they race for the
// insert: an uncommitted check-in of the same candidate and exam makes
// their inserts wait on the unique index. Once n inserts wait, release
// rolls it back; one insert then wins and the others lose the race. On
// SQLite, whose transactions take the write lock before reading, there is
// no such race to provoke, and release does nothing.
func holdCheckinInserts(t *testing.T, db *gorm.DB, examID, candidateID string, n int) (release func()) {
	t.Helper()
	if db.Dialector.Name() != "postgres" {
		return func() {}
	}
	blocker := db.Begin()
	var pid int
	if err := blocker.Raw("SELECT pg_backend_pid()").Scan(&pid).Error; err != nil {
		t.Fatal(err)
	}
	if err := blocker.Exec("INSERT INTO proctor_checkins (id, exam_id, candidate_id, status, created_at) VALUES (?, ?, ?, 'open', ?)",
		uuid.NewString(), examID, candidateID, time.Now().UTC()).Error; err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		defer blocker.Rollback()
		for deadline := time.Now().Add(30 * time.Second); ; {
			var waiting int
			if err := db.Raw("SELECT count(*) FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))", pid).Scan(&waiting).Error; err != nil {
				t.Fatal(err)
			}
			if waiting >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d inserts wait on the uncommitted check-in", waiting, n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestOpenCheckinConcurrently: calls racing to open a candidate's check-in
// for an exam all get the same one, and the database holds no second
// active check-in, whoever writes it; a rejected or used one does not
// count.
func TestOpenCheckinConcurrently(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		if _, err := f.svc.SetProctoring(ctx, "pm", f.exam.ID, assess.ProctoringPolicy{CheckIn: true, Admission: assess.AdmitByProctor}); err != nil {
			t.Fatal(err)
		}
		const callers = 8
		release := holdCheckinInserts(t, db, f.exam.ID, f.candidate, callers)
		start := make(chan struct{})
		ids := make([]string, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ci, err := f.svc.OpenCheckin(ctx, f.exam.ID, f.candidate)
				ids[i], errs[i] = ci.ID, err
			}()
		}
		close(start)
		release()
		wg.Wait()
		for i := range callers {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Fatalf("caller %d: check-in %q (%v), want %q like the first", i, ids[i], errs[i], ids[0])
			}
		}
		var active int64
		if err := db.Table("proctor_checkins").Where("exam_id = ? AND candidate_id = ? AND status IN ?", f.exam.ID, f.candidate,
			[]string{assess.CheckinOpen, assess.CheckinPending, assess.CheckinAdmitted}).Count(&active).Error; err != nil || active != 1 {
			t.Fatalf("active check-ins: %d (%v), want 1", active, err)
		}

		insert := func(status string) error {
			return db.Exec("INSERT INTO proctor_checkins (id, exam_id, candidate_id, status, created_at) VALUES (?, ?, ?, ?, ?)",
				uuid.NewString(), f.exam.ID, f.candidate, status, f.clock.Now().UTC()).Error
		}
		for _, status := range []string{assess.CheckinOpen, assess.CheckinPending, assess.CheckinAdmitted} {
			if err := insert(status); !errors.Is(err, gorm.ErrDuplicatedKey) {
				t.Errorf("a second active check-in (%s): %v, want gorm.ErrDuplicatedKey", status, err)
			}
		}
		for _, status := range []string{assess.CheckinRejected, assess.CheckinUsed} {
			if err := insert(status); err != nil {
				t.Errorf("a %s check-in beside the active one: %v, want it stored", status, err)
			}
		}
	})
}
