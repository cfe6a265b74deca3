package assess_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

// forensicsExam is an exam with simulated attempts and planted cheaters,
// stored through the service, and the matrices it was simulated from.
type forensicsExam struct {
	svc      *assess.Service
	exam     assess.Exam
	attempts []string // attempt ids by row (rows in start order)
	sessions []time.Time
	scored   *mat.Dense
	choices  [][]string
	times    *mat.Dense
	answered *mat.Dense // responses.answered_at in Unix seconds, NaN where blank
	windows  []string
	copier   int // rows
	source   int
	preknow  int
}

// plantForensicsExam stores n = 4 × 50 simulated attempts of a 40-item
// four-option exam (3PL: a ~ U(0.8, 2), b ~ N(0, 1), c = 0.2; θ ~ N(0, 1);
// lognormal times around 50 s) sat in four sessions on four days, every
// attempt of a session overlapping the others. Planted in session 1: a
// weak candidate (θ < −0.5) who copies 80% of the answers of a neighbour;
// in session 2: a candidate who knows the eight hardest items and answers
// them correctly at a fifth of their usual time. A few answers are left
// blank. The attempts are written with RecordHistory and then made to look
// taken here: submitted by the candidate, the times in responses.seconds
// and, as the player saves them, the answers' times in
// responses.answered_at: the start plus the times so far, whole seconds,
// and for the copier a few seconds after the source's answer to the item.
func plantForensicsExam(t *testing.T, db *gorm.DB) *forensicsExam {
	t.Helper()
	ctx := context.Background()
	const sessions, per, k = 4, 50, 40
	n := sessions * per
	clk := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	bank := items.NewStore(db, clk.Now)
	fx := &forensicsExam{svc: assess.NewService(db, bank, clk.Now)}
	prog, err := fx.svc.CreateProgram(ctx, assess.Program{Slug: "fx", Name: "Forensics"})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 2026))
	type item struct {
		a, b, beta, sigma float64
		key               int
		attract           [3]float64
		opts              []string
	}
	its := make([]item, k)
	var ids []string
	for j := range its {
		it := &its[j]
		it.a, it.b = 0.8+1.2*rng.Float64(), rng.NormFloat64()
		it.beta, it.sigma, it.key = math.Log(50)+0.3*rng.NormFloat64(), 0.3+0.2*rng.Float64(), rng.IntN(4)
		var s float64
		for d := range 3 {
			it.attract[d] = 0.2 + rng.Float64()
			s += it.attract[d]
		}
		for d := range 3 {
			it.attract[d] /= s
		}
		opts := make([]items.Option, 4)
		for o := range opts {
			opts[o] = items.Option{ID: fmt.Sprintf("i%02d-o%d", j, o), Text: fmt.Sprintf("Option %d", o+1)}
			it.opts = append(it.opts, opts[o].ID)
		}
		created, err := bank.Create(ctx, "system", prog.ID, items.Content{Domain: "D", Stem: fmt.Sprintf("Question %d?", j+1),
			Options: opts, Key: opts[it.key].ID})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, created.ID)
	}
	fx.exam, err = fx.svc.CreateExam(ctx, assess.Exam{ProgramID: prog.ID, Slug: "fx", Title: "Forensics exam", Duration: 90 * time.Minute,
		Domains: []assess.Domain{{Code: "D", Name: "All"}}, ItemIDs: ids})
	if err != nil {
		t.Fatal(err)
	}

	opt := make([][]int, n) // −1: blank
	fx.times = mat.NewDense(n, k, nil)
	thetas := make([]float64, n)
	for i := range n {
		theta, tau := rng.NormFloat64(), 0.3*rng.NormFloat64()
		thetas[i] = theta
		opt[i] = make([]int, k)
		for j, it := range its {
			p := 0.2 + 0.8/(1+math.Exp(-it.a*(theta-it.b)))
			o := it.key
			if rng.Float64() >= p {
				u, d := rng.Float64(), 0
				for d < 2 && u >= it.attract[d] {
					u -= it.attract[d]
					d++
				}
				o = (it.key + 1 + d) % 4
			}
			if rng.Float64() < 0.02 {
				o = -1
			}
			opt[i][j] = o
			fx.times.Set(i, j, math.Exp(it.beta-tau+it.sigma*rng.NormFloat64()))
		}
	}
	// The copier: the first weak candidate of session 1, copying the next
	// candidate of the session.
	fx.copier = -1
	for i := range per - 1 {
		if thetas[i] < -0.5 {
			fx.copier, fx.source = i, i+1
			break
		}
	}
	if fx.copier < 0 {
		t.Fatal("no weak candidate in session 1")
	}
	for _, j := range rng.Perm(k)[:k*80/100] {
		opt[fx.copier][j] = opt[fx.source][j]
	}
	fx.preknow = per + 10
	hard := make([]int, k)
	for j := range hard {
		hard[j] = j
	}
	for a := range hard { // the eight hardest items
		for b := a + 1; b < k; b++ {
			if its[hard[b]].b > its[hard[a]].b {
				hard[a], hard[b] = hard[b], hard[a]
			}
		}
	}
	for _, j := range hard[:8] {
		opt[fx.preknow][j] = its[j].key
		fx.times.Set(fx.preknow, j, fx.times.At(fx.preknow, j)/5)
	}

	fx.scored = mat.NewDense(n, k, nil)
	fx.choices = make([][]string, n)
	fx.windows = make([]string, n)
	past := make([]assess.PastAttempt, n)
	for s := range sessions {
		fx.sessions = append(fx.sessions, time.Date(2026, 11, 2+s, 9, 0, 0, 0, time.UTC))
	}
	for i := range n {
		s := i / per
		fx.windows[i] = fmt.Sprintf("W%d", s+1)
		start := fx.sessions[s].Add(time.Duration(i%per) * 10 * time.Second)
		past[i] = assess.PastAttempt{CandidateID: newCandidate(t, db, 1000+i), StartedAt: start,
			SubmittedAt: start.Add(time.Duration(50+rng.IntN(20)) * time.Minute), Answers: map[string]string{}}
		fx.choices[i] = make([]string, k)
		for j, o := range opt[i] {
			if o < 0 {
				continue
			}
			past[i].Answers[ids[j]] = its[j].opts[o]
			fx.choices[i][j] = string(rune('A' + o))
			if o == its[j].key {
				fx.scored.Set(i, j, 1)
			}
		}
	}
	if err := fx.svc.RecordHistory(ctx, fx.exam.ID, past, true); err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("UPDATE attempts SET submitted_by = 'candidate' WHERE exam_id = ?", fx.exam.ID).Error; err != nil {
		t.Fatal(err)
	}
	var stored []struct {
		ID          string
		CandidateID string
	}
	if err := db.Table("attempts").Where("exam_id = ?", fx.exam.ID).Select("id, candidate_id").Scan(&stored).Error; err != nil {
		t.Fatal(err)
	}
	byCandidate := map[string]string{}
	for _, a := range stored {
		byCandidate[a.CandidateID] = a.ID
	}
	fx.attempts = make([]string, n)
	answered := make([][]time.Time, n)
	for i, p := range past {
		fx.attempts[i] = byCandidate[p.CandidateID]
		answered[i] = make([]time.Time, k)
		at := p.StartedAt
		for j := range k {
			at = at.Add(time.Duration(math.Ceil(fx.times.At(i, j))) * time.Second)
			answered[i][j] = at
		}
	}
	for j := range k {
		answered[fx.copier][j] = answered[fx.source][j].Add(time.Duration(2+j%4) * time.Second)
	}
	fx.answered = mat.NewDense(n, k, nil)
	for i := range n {
		for j, at := range answered[i] {
			fx.answered.Set(i, j, float64(at.Unix()))
			if fx.choices[i][j] == "" {
				fx.answered.Set(i, j, math.NaN())
			}
		}
		fx.setTimes(t, db, i, answered[i])
	}
	return fx
}

// setTimes writes row i's times into responses.seconds and the times of
// its answers into responses.answered_at (none for a blank), one statement
// per attempt (positions follow the exam's item order).
func (fx *forensicsExam) setTimes(t *testing.T, db *gorm.DB, i int, answered []time.Time) {
	t.Helper()
	stamp := "?" // SQLite stores the driver's text as it is
	if db.Name() == "postgres" {
		stamp = "CAST(? AS timestamptz)"
	}
	var sql strings.Builder
	sql.WriteString("UPDATE responses SET seconds = CASE position")
	var args []any
	for j := range fx.exam.ItemIDs {
		sql.WriteString(" WHEN ? THEN CAST(? AS double precision)")
		args = append(args, j+1, fx.times.At(i, j))
	}
	sql.WriteString(" END, answered_at = CASE position")
	for j := range fx.exam.ItemIDs {
		if fx.choices[i][j] != "" {
			sql.WriteString(" WHEN ? THEN " + stamp)
			args = append(args, j+1, answered[j])
		}
	}
	sql.WriteString(" END WHERE attempt_id = ?")
	if err := db.Exec(sql.String(), append(args, fx.attempts[i])...).Error; err != nil {
		t.Fatal(err)
	}
}

// sameForensics compares the service's screening with a direct
// psychometrics.Forensics result on the same rows, to 1e-12.
func sameForensics(t *testing.T, got *assess.ExamForensics, want psychometrics.ForensicsResult, attempts []string) {
	t.Helper()
	near := func(a, b float64) bool {
		return a == b || math.IsNaN(a) && math.IsNaN(b) || math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b))
	}
	if len(got.Attempts) != len(want.Persons) {
		t.Fatalf("got %d attempts, want %d", len(got.Attempts), len(want.Persons))
	}
	for i, p := range want.Persons {
		g := got.Attempts[i]
		if g.AttemptID != attempts[i] {
			t.Fatalf("row %d: got attempt %s, want %s", i, g.AttemptID, attempts[i])
		}
		for _, f := range []struct {
			name      string
			got, want float64
		}{
			{"theta", g.Theta, p.Theta}, {"lz*", g.LzStar, p.LzStar}, {"lz* p", g.LzStarP, p.LzStarP},
			{"l_t", g.Lt, p.Lt}, {"l_t p", g.LtP, p.LtP}, {"preknowledge z", g.PreknowledgeZ, p.PreknowledgeZ},
			{"preknowledge p", g.PreknowledgeP, p.PreknowledgeP}, {"rapid p", g.RapidP, p.RapidP},
			{"expected matches", g.ExpectedMatches, p.ExpectedMatches}, {"similarity p", g.SimilarityP, p.SimilarityP},
			{"similarity p adj", g.SimilarityPAdj, p.SimilarityPAdj}, {"risk", g.Risk, p.Risk},
		} {
			if !near(f.got, f.want) {
				t.Errorf("row %d %s: got %v, want %v", i, f.name, f.got, f.want)
			}
		}
		partner := ""
		if p.Partner >= 0 {
			partner = attempts[p.Partner]
		}
		if g.Rank != p.Rank || g.Driver != p.Driver || g.Flagged != p.Flagged || g.Matches != p.Matches || g.PartnerAttemptID != partner ||
			g.Fast != p.Fast || g.Rapid != p.Rapid || g.HardCorrect != p.HardCorrect || g.Timed != p.Timed {
			t.Errorf("row %d: got rank %d driver %s flagged %v matches %d partner %s fast %d rapid %d hard %d timed %d; want %d %s %v %d %s %d %d %d %d",
				i, g.Rank, g.Driver, g.Flagged, g.Matches, g.PartnerAttemptID, g.Fast, g.Rapid, g.HardCorrect, g.Timed,
				p.Rank, p.Driver, p.Flagged, p.Matches, partner, p.Fast, p.Rapid, p.HardCorrect, p.Timed)
		}
	}
	if len(got.Pairs) != len(want.Pairs) || got.PairsTested != want.PairsTested {
		t.Fatalf("got %d flagged pairs of %d, want %d of %d", len(got.Pairs), got.PairsTested, len(want.Pairs), want.PairsTested)
	}
	for x, p := range want.Pairs {
		g := got.Pairs[x]
		if g.AttemptA != attempts[p.A] || g.AttemptB != attempts[p.B] || g.CopierAttemptID != attempts[p.Copier] || !near(g.P, p.P) || !near(g.PAdj, p.PAdj) ||
			g.Followed != p.Followed || g.FollowedMatches != p.FollowedMatches || !near(g.FollowedP, p.FollowedP) {
			t.Errorf("pair %d: got %s–%s p %v followed %d (%d alike, p %v), want %s–%s p %v followed %d (%d, %v)", x,
				g.AttemptA, g.AttemptB, g.P, g.Followed, g.FollowedMatches, g.FollowedP,
				attempts[p.A], attempts[p.B], p.P, p.Followed, p.FollowedMatches, p.FollowedP)
		}
	}
}

func TestForensicsOfStoredAttempts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		fx := plantForensicsExam(t, db)
		in := psychometrics.ForensicsInput{Scored: fx.scored, Choices: fx.choices, Times: fx.times, Windows: fx.windows, AnsweredAt: fx.answered}

		// Without a calibration: no person fit, the rest as computed directly.
		got, err := fx.svc.Forensics(ctx, fx.exam.ID, assess.ForensicsFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if !got.Screened() || !got.Timed || got.CalibrationRunID != "" || !strings.Contains(got.PersonFitNote, "no finished calibration") {
			t.Fatalf("without a calibration: screened %v (%s), timed %v (%s), run %q, note %q; want screened and timed, without person fit",
				got.Screened(), got.Note, got.Timed, got.TimesNote, got.CalibrationRunID, got.PersonFitNote)
		}
		want, err := psychometrics.Forensics(in, assess.ForensicsSettings)
		if err != nil {
			t.Fatal(err)
		}
		sameForensics(t, got, want, fx.attempts)
		if len(got.Windows) != 4 {
			t.Fatalf("got %d windows, want the 4 sessions", len(got.Windows))
		}
		for s, w := range got.Windows {
			if w.Attempts != 50 || !w.Start.Equal(fx.sessions[s]) || w.ID != fmt.Sprintf("W%d", s+1) {
				t.Errorf("window %d: got %+v, want 50 attempts from %v", s, w, fx.sessions[s])
			}
		}

		// With the latest finished calibration: lz* from its parameters.
		run, err := fx.svc.Calibrate(ctx, "system", fx.exam.ID, assess.CalibrationRequest{Model: assess.Calibration2PL})
		if err != nil {
			t.Fatal(err)
		}
		if run, err = fx.svc.WaitCalibration(ctx, run.ID); err != nil || run.Status != assess.RunDone {
			t.Fatalf("calibration: %v, %v (%s)", run.Status, err, run.Error)
		}
		got, err = fx.svc.Forensics(ctx, fx.exam.ID, assess.ForensicsFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if got.CalibrationRunID != run.ID || got.CalibrationVersion != 1 || got.PersonFitNote != "" {
			t.Fatalf("got run %q version %d note %q, want run %s", got.CalibrationRunID, got.CalibrationVersion, got.PersonFitNote, run.ID)
		}
		for _, it := range run.Result.Items {
			in.Items = append(in.Items, it.Final().Item3PL())
		}
		if want, err = psychometrics.Forensics(in, assess.ForensicsSettings); err != nil {
			t.Fatal(err)
		}
		sameForensics(t, got, want, fx.attempts)

		// The planted cheaters are at the top.
		copier, _ := got.Attempt(fx.attempts[fx.copier])
		source, _ := got.Attempt(fx.attempts[fx.source])
		preknow, _ := got.Attempt(fx.attempts[fx.preknow])
		t.Logf("copier: rank %d risk %.3g (%s), partner matches %d of expected %.1f, p %.3g; source rank %d; preknowledge: rank %d risk %.3g (%s)",
			copier.Rank, copier.Risk, copier.Driver, copier.Matches, copier.ExpectedMatches, copier.SimilarityP, source.Rank,
			preknow.Rank, preknow.Risk, preknow.Driver)
		if copier.Rank > 3 || !copier.Flagged || copier.PartnerAttemptID != source.AttemptID || source.Rank > 5 {
			t.Errorf("copier: rank %d flagged %v partner %s, source rank %d; want both near the top, each the other's partner",
				copier.Rank, copier.Flagged, copier.PartnerAttemptID, source.Rank)
		}
		if preknow.Rank > 3 || !preknow.Flagged || preknow.Driver != psychometrics.IndicatorPreknowledge {
			t.Errorf("preknowledge: rank %d flagged %v driver %s; want at the top, flagged for preknowledge", preknow.Rank, preknow.Flagged, preknow.Driver)
		}
		if len(got.Pairs) == 0 || got.Pairs[0].AttemptA != fx.attempts[fx.copier] || got.Pairs[0].AttemptB != fx.attempts[fx.source] {
			t.Fatalf("flagged pairs: got %+v, want the copier pair first", got.Pairs)
		}
		// The copier answered every item a few seconds after the source:
		// the timed test names the copier and counts every item both
		// answered as followed.
		pair := got.Pairs[0]
		t.Logf("copier pair: %d items, %d matches, followed on %d (%d alike), timed p %.3g, p %.3g",
			pair.Items, pair.Matches, pair.Followed, pair.FollowedMatches, pair.FollowedP, pair.P)
		if pair.CopierAttemptID != fx.attempts[fx.copier] || pair.Followed != pair.Items || pair.FollowedMatches != pair.Matches ||
			!(pair.FollowedP < 1e-6) {
			t.Errorf("copier pair: copier %s, followed %d of %d items (%d of %d matches), timed p %v; want the copier, every item followed, a tiny p",
				pair.CopierAttemptID, pair.Followed, pair.Items, pair.FollowedMatches, pair.Matches, pair.FollowedP)
		}
		ranked := got.Ranked()
		if ranked[0].Rank != 1 || ranked[len(ranked)-1].Rank != len(ranked) {
			t.Errorf("ranked: first rank %d, last %d", ranked[0].Rank, ranked[len(ranked)-1].Rank)
		}
		// A hard item the preknowledge candidate answered at a fifth of the
		// usual time is marked fast.
		fast := 0
		for _, id := range fx.exam.ItemIDs {
			tm, ok := got.Timing(preknow.AttemptID, id)
			if !ok || math.IsNaN(tm.Seconds) || math.IsNaN(tm.Median) {
				t.Fatalf("timing of %s: %+v, %v; want the recorded time", id, tm, ok)
			}
			if tm.Fast {
				fast++
			}
		}
		if fast < 4 || fast != preknow.Fast {
			t.Errorf("preknowledge candidate: %d items marked fast (indicators: %d), want at least 4 of the 8 known", fast, preknow.Fast)
		}

		// A window of one session.
		day2 := fx.sessions[1]
		w, err := fx.svc.Forensics(ctx, fx.exam.ID, assess.ForensicsFilter{From: day2, To: day2.Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if len(w.Attempts) != 50 || len(w.Windows) != 1 || w.Attempts[0].AttemptID != fx.attempts[50] {
			t.Errorf("second session: got %d attempts in %d windows, want 50 in 1", len(w.Attempts), len(w.Windows))
		}
		if _, err := fx.svc.Forensics(ctx, fx.exam.ID, assess.ForensicsFilter{From: day2, To: day2}); !errors.Is(err, valid.ErrInvalid) {
			t.Errorf("empty window: got %v, want a validation error", err)
		}
		if _, err := fx.svc.Forensics(ctx, "00000000-0000-0000-0000-00000000ffff", assess.ForensicsFilter{}); !errors.Is(err, assess.ErrNotFound) {
			t.Errorf("unknown exam: got %v, want ErrNotFound", err)
		}
		none, err := fx.svc.Forensics(ctx, fx.exam.ID, assess.ForensicsFilter{To: fx.sessions[0]})
		if err != nil || none.Screened() || len(none.Attempts) != 0 {
			t.Errorf("before any attempt: got screened %v, err %v; want nothing screened", none != nil && none.Screened(), err)
		}

		// An imported attempt's answer times are its submission time, not
		// when it answered: they are left out, and the copier pair loses
		// its timed test.
		if err := db.Exec("UPDATE attempts SET submitted_by = 'import' WHERE id = ?", fx.attempts[fx.copier]).Error; err != nil {
			t.Fatal(err)
		}
		in.AnsweredAt = mat.DenseCopyOf(fx.answered)
		for j := range len(fx.exam.ItemIDs) {
			in.AnsweredAt.Set(fx.copier, j, math.NaN())
		}
		if got, err = fx.svc.Forensics(ctx, fx.exam.ID, assess.ForensicsFilter{}); err != nil {
			t.Fatal(err)
		}
		if want, err = psychometrics.Forensics(in, assess.ForensicsSettings); err != nil {
			t.Fatal(err)
		}
		sameForensics(t, got, want, fx.attempts)
		if len(got.Pairs) == 0 || got.Pairs[0].AttemptA != fx.attempts[fx.copier] || got.Pairs[0].Followed != 0 || !math.IsNaN(got.Pairs[0].FollowedP) {
			t.Errorf("imported copier: pairs %+v, want the copier pair first, without the timed test", got.Pairs)
		}

		// Attempts without times (imported history) beside timed ones: the
		// model is fitted to the timed attempts, the untimed have no time
		// indicators, and the rest is as computed directly.
		untimed := []int{7, 60, 61, 150}
		mixed := mat.DenseCopyOf(fx.times)
		for _, i := range untimed {
			if err := db.Exec("UPDATE responses SET seconds = NULL WHERE attempt_id = ?", fx.attempts[i]).Error; err != nil {
				t.Fatal(err)
			}
			for j := range len(fx.exam.ItemIDs) {
				mixed.Set(i, j, math.NaN())
			}
		}
		got, err = fx.svc.Forensics(ctx, fx.exam.ID, assess.ForensicsFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if !got.Timed || !strings.Contains(got.TimesNote, "196 of 200 attempts") || !strings.Contains(got.TimesNote, "the other 4") {
			t.Errorf("4 untimed attempts: timed %v, note %q; want the time indicators of the other 196, saying so", got.Timed, got.TimesNote)
		}
		in.Times = mixed
		if want, err = psychometrics.Forensics(in, assess.ForensicsSettings); err != nil {
			t.Fatal(err)
		}
		sameForensics(t, got, want, fx.attempts)
		for i, a := range got.Attempts {
			isUntimed := slices.Contains(untimed, i)
			tm, ok := got.Timing(a.AttemptID, fx.exam.ItemIDs[0])
			if !ok || isUntimed != math.IsNaN(tm.Seconds) || isUntimed != math.IsNaN(tm.Z) || isUntimed != (a.Timed == 0) || isUntimed != math.IsNaN(a.LtP) {
				t.Errorf("row %d (untimed %v): timing %+v, timed %d, l_t p %v; want times and indicators only for a timed attempt", i, isUntimed, tm, a.Timed, a.LtP)
			}
		}

		// Too few timed attempts to give every item two times: the time
		// indicators are skipped, saying why.
		if err := db.Exec("UPDATE responses SET seconds = NULL WHERE attempt_id <> ?", fx.attempts[0]).Error; err != nil {
			t.Fatal(err)
		}
		got, err = fx.svc.Forensics(ctx, fx.exam.ID, assess.ForensicsFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Timed || !strings.Contains(got.TimesNote, "not used") || !strings.Contains(got.TimesNote, "199 of 200 attempts") {
			t.Errorf("one timed attempt: timed %v, note %q; want the time indicators skipped, saying why", got.Timed, got.TimesNote)
		}
		in.Times = nil
		if want, err = psychometrics.Forensics(in, assess.ForensicsSettings); err != nil {
			t.Fatal(err)
		}
		sameForensics(t, got, want, fx.attempts)
		if tm, ok := got.Timing(fx.attempts[0], fx.exam.ItemIDs[0]); !ok || !math.IsNaN(tm.Z) || tm.Fast || math.IsNaN(tm.Seconds) {
			t.Errorf("timing without the model: %+v, %v; want the seconds and no residual", tm, ok)
		}

		// The case file's answer timings.
		timings, err := fx.svc.AnswerTimings(ctx, fx.attempts[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(timings) != len(fx.exam.ItemIDs) {
			t.Fatalf("got %d answer timings, want %d", len(timings), len(fx.exam.ItemIDs))
		}
		for j, a := range timings {
			if a.Position != j+1 || a.ItemID != fx.exam.ItemIDs[j] || a.Seconds == nil || *a.Seconds != fx.times.At(0, j) ||
				a.Correct == nil || *a.Correct != (fx.scored.At(0, j) == 1) || a.Answered != (fx.choices[0][j] != "") {
				t.Errorf("answer %d: got %+v, want item %s, %v s, correct %v", j, a, fx.exam.ItemIDs[j], fx.times.At(0, j), fx.scored.At(0, j) == 1)
			}
		}
		if _, err := fx.svc.AnswerTimings(ctx, "not-an-id"); !errors.Is(err, assess.ErrNotFound) {
			t.Errorf("unknown attempt: got %v, want ErrNotFound", err)
		}
	})
}
