package assess_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// TestExamStaffAndRetention: proctors and reviewers are assigned per exam
// and only what is assigned counts; a program's retention period bounds
// its proctoring images.
func TestExamStaffAndRetention(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		proctor := newCandidate(t, db, 900)
		if err := f.svc.AssignStaff(ctx, "admin", f.exam.ID, proctor, assess.StaffProctor); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.AssignStaff(ctx, "admin", f.exam.ID, proctor, assess.StaffProctor); err != nil {
			t.Fatalf("assigning twice: %v", err)
		}
		if err := f.svc.AssignStaff(ctx, "admin", f.exam.ID, proctor, "janitor"); !errors.Is(err, valid.ErrInvalid) {
			t.Errorf("assign an unknown role = %v, want a field error", err)
		}
		for _, tc := range []struct {
			roles []string
			want  bool
		}{
			{[]string{assess.StaffProctor}, true},
			{[]string{assess.StaffReviewer}, false},
			{[]string{assess.StaffProctor, assess.StaffReviewer}, true},
		} {
			if got, err := f.svc.IsStaff(ctx, proctor, f.exam.ID, tc.roles...); err != nil || got != tc.want {
				t.Errorf("IsStaff(%v) = %v, %v; want %v", tc.roles, got, err, tc.want)
			}
		}
		if got, err := f.svc.IsStaff(ctx, f.candidate, f.exam.ID, assess.StaffProctor); err != nil || got {
			t.Errorf("IsStaff(unassigned) = %v, %v; want false", got, err)
		}
		exams, err := f.svc.StaffExams(ctx, proctor)
		if err != nil || len(exams[f.exam.ID]) != 1 {
			t.Errorf("StaffExams = %v, %v; want the exam as proctor", exams, err)
		}
		if err := f.svc.RemoveStaff(ctx, "admin", f.exam.ID, proctor, assess.StaffProctor); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.svc.IsStaff(ctx, proctor, f.exam.ID, assess.StaffProctor); got {
			t.Error("still staff after removal")
		}

		if d, err := f.svc.SnapshotRetention(ctx, f.exam.ID); err != nil || d != 90*24*time.Hour {
			t.Errorf("default retention = %v, %v; want 90 days", d, err)
		}
		if err := f.svc.SetSnapshotRetention(ctx, "pm", f.exam.ProgramID, 30); err != nil {
			t.Fatal(err)
		}
		if d, err := f.svc.SnapshotRetention(ctx, f.exam.ID); err != nil || d != 30*24*time.Hour {
			t.Errorf("retention = %v, %v; want 30 days", d, err)
		}
		// A snapshot reads the attempt with the retention and the exam's
		// proctoring policy.
		policy := assess.ProctoringPolicy{SnapshotSeconds: 45, ReviewAt: 7, Weights: map[string]float64{"no_face": 2}}
		if _, err := f.svc.SetProctoring(ctx, "pm", f.exam.ID, policy); err != nil {
			t.Fatal(err)
		}
		want, err := f.svc.ProctoringPolicy(ctx, f.exam.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SetAccommodation(ctx, "pm", assess.Accommodation{ExamID: f.exam.ID, CandidateID: f.candidate,
			ExtraBreak: 10 * time.Minute, Note: "approved request 3"}); err != nil {
			t.Fatal(err)
		}
		started, err := f.svc.Start(ctx, f.exam.ID, f.candidate)
		if err != nil {
			t.Fatal(err)
		}
		wantAttempt, err := f.svc.Attempt(ctx, started.ID)
		if err != nil {
			t.Fatal(err)
		}
		target, err := f.svc.SnapshotTarget(ctx, started.ID)
		if err != nil || target.Retention != 30*24*time.Hour || !reflect.DeepEqual(target.Policy, want) || target.Policy.SnapshotSeconds != 45 {
			t.Errorf("SnapshotTarget = %+v, %v; want %+v and 30 days", target, err, want)
		}
		sameAttempt := func(target assess.SnapshotTarget, a assess.Attempt) {
			t.Helper()
			if target.Owner != a.Owner() || target.Status() != a.Status {
				t.Errorf("SnapshotTarget's attempt = %+v, %q; want %+v, %q", target.Owner, target.Status(), a.Owner(), a.Status)
			}
			for _, at := range []time.Time{a.StartedAt, a.Deadline.Add(-time.Minute), a.Deadline.Add(time.Hour)} {
				got, want := target.Timing(at), a.Timing(at)
				if !got.Deadline.Equal(want.Deadline) || got.Remaining != want.Remaining || got.Paused != want.Paused ||
					got.Held != want.Held || got.BreakLeft != want.BreakLeft {
					t.Errorf("SnapshotTarget's timing at %v = %+v, want %+v", at, got, want)
				}
			}
		}
		sameAttempt(target, wantAttempt)
		// The rules alone come from memory: no statement.
		reads := countStatements(t, db)
		if rules, err := f.svc.SnapshotRules(ctx, started.ID); err != nil || !reflect.DeepEqual(rules, target.SnapshotRules) {
			t.Errorf("SnapshotRules = %+v, %v; want %+v", rules, err, target.SnapshotRules)
		}
		if n := reads.Load(); n != 0 {
			t.Errorf("SnapshotRules of a started attempt made %d statements, want none", n)
		}
		// Held with time added, then resumed and on a break: the columns that say
		// whether a snapshot is taken are read too.
		if _, err := f.svc.AddTime(ctx, "proctor", started.ID, 5*time.Minute, "a slow start"); err != nil {
			t.Fatal(err)
		}
		if wantAttempt, err = f.svc.Hold(ctx, "proctor", started.ID, "a check"); err != nil || wantAttempt.HeldAt == nil || wantAttempt.Added == 0 {
			t.Fatalf("Hold = %+v, %v", wantAttempt, err)
		}
		if target, err = f.svc.SnapshotTarget(ctx, started.ID); err != nil {
			t.Fatal(err)
		}
		sameAttempt(target, wantAttempt)
		if !target.Timing(time.Now()).Held {
			t.Errorf("SnapshotTarget of a held attempt: not held")
		}
		if _, err := f.svc.Resume(ctx, "proctor", started.ID); err != nil {
			t.Fatal(err)
		}
		if wantAttempt, err = f.svc.Break(ctx, started.ID, true); err != nil || wantAttempt.PausedAt == nil {
			t.Fatalf("Break = %+v, %v", wantAttempt, err)
		}
		if target, err = f.svc.SnapshotTarget(ctx, started.ID); err != nil {
			t.Fatal(err)
		}
		sameAttempt(target, wantAttempt)
		for _, id := range []string{uuid.NewString(), "not-an-id"} {
			if _, err := f.svc.SnapshotTarget(ctx, id); !errors.Is(err, assess.ErrNotFound) {
				t.Errorf("SnapshotTarget of no attempt %q = %v, want not found", id, err)
			}
			if _, err := f.svc.SnapshotRules(ctx, id); !errors.Is(err, assess.ErrNotFound) {
				t.Errorf("SnapshotRules of no attempt %q = %v, want not found", id, err)
			}
		}
		if err := f.svc.SetSnapshotRetention(ctx, "pm", f.exam.ProgramID, 0); !errors.Is(err, valid.ErrInvalid) {
			t.Errorf("retention 0 = %v, want a field error", err)
		}
	})
}

// TestProctoringPolicyFromMemory: the live console's and the snapshots'
// reads of an exam's proctoring policy and retention come from memory for
// a moment. A change made through the same Service is read at once;
// another instance's memory lasts five seconds at most.
func TestProctoringPolicyFromMemory(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := t.Context()
		f := newFixture(t, db)
		other := assess.NewService(db, f.bank, f.clock.Now) // another instance
		first := assess.ProctoringPolicy{SnapshotSeconds: 30, Weights: map[string]float64{"copy": 1}}
		if _, err := f.svc.SetProctoring(ctx, "pm", f.exam.ID, first); err != nil {
			t.Fatal(err)
		}
		read := func(svc *assess.Service, want assess.ProctoringPolicy, when string) {
			t.Helper()
			got, err := svc.ProctoringPolicy(ctx, f.exam.ID)
			if err != nil || got.SnapshotSeconds != want.SnapshotSeconds || !reflect.DeepEqual(got.Weights, want.Weights) {
				t.Errorf("%s: ProctoringPolicy = %+v, %v; want %+v", when, got, err, want)
			}
		}
		read(f.svc, first, "after the first change")
		read(other, first, "on another instance")

		second := assess.ProctoringPolicy{SnapshotSeconds: 60, Weights: map[string]float64{"copy": 5}}
		if _, err := f.svc.SetProctoring(ctx, "pm", f.exam.ID, second); err != nil {
			t.Fatal(err)
		}
		read(f.svc, second, "right after the second change")
		read(other, first, "on another instance right after the second change")
		f.clock.Advance(5 * time.Second)
		read(other, second, "on another instance five seconds later")

		if _, err := f.svc.ProctoringPolicy(ctx, uuid.NewString()); !errors.Is(err, assess.ErrNotFound) {
			t.Errorf("ProctoringPolicy of no exam = %v, want ErrNotFound", err)
		}

		// A snapshot's retention period is remembered with the policy.
		started, err := f.svc.Start(ctx, f.exam.ID, f.candidate)
		if err != nil {
			t.Fatal(err)
		}
		retention := func(svc *assess.Service, days int, when string) {
			t.Helper()
			target, err := svc.SnapshotTarget(ctx, started.ID)
			if err != nil || target.Retention != time.Duration(days)*24*time.Hour || target.Policy.SnapshotSeconds != second.SnapshotSeconds {
				t.Errorf("%s: SnapshotTarget = %v, %+v, %v; want %d days and %+v", when, target.Retention, target.Policy, err, days, second)
			}
		}
		if err := f.svc.SetSnapshotRetention(ctx, "pm", f.exam.ProgramID, 30); err != nil {
			t.Fatal(err)
		}
		retention(f.svc, 30, "after the first change of retention")
		retention(other, 90, "on another instance that read the default a moment ago")
		f.clock.Advance(5 * time.Second)
		retention(other, 30, "on another instance five seconds later")
		retention(f.svc, 30, "on the first instance five seconds later")
		if err := other.SetSnapshotRetention(ctx, "pm", f.exam.ProgramID, 45); err != nil {
			t.Fatal(err)
		}
		retention(other, 45, "right after the instance's own change")
		retention(f.svc, 30, "right after another instance's change")
		f.clock.Advance(5 * time.Second)
		retention(f.svc, 45, "five seconds after another instance's change")
	})
}
