package assess

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"gonum.org/v1/gonum/mat"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

// Test forensics: the statistical screening of an exam's submitted attempts
// for cheating and aberrant test-taking (psychometrics.Forensics) on the
// data the database holds — scores, chosen options, time on item, the
// latest calibration — so that proctors and reviewers see, beside what the
// proctoring recorded, which attempts the answers themselves make unlikely.

// ForensicsFilter selects the submitted attempts Forensics screens. Each
// zero field selects everything.
type ForensicsFilter struct {
	From time.Time // only attempts submitted at or after From
	To   time.Time // only attempts submitted before To (exclusive)
}

// The settings Forensics passes to psychometrics.Forensics: the package's
// defaults, named here so that a page can say what "fast" and "flagged"
// mean.
const (
	// ForensicsAlpha is the level at which an attempt is flagged: its
	// combined risk p-value below it.
	ForensicsAlpha = 0.001
	// ForensicsFastZ: a response is fast when its time's standardized
	// residual under the lognormal model is below −ForensicsFastZ.
	ForensicsFastZ = 1.96
	// ForensicsRapidFraction: a response is a rapid guess when its time is
	// below this fraction of the item's median time.
	ForensicsRapidFraction = 0.10
)

// ForensicsSettings are the settings of every screening.
var ForensicsSettings = psychometrics.ForensicsSettings{Alpha: ForensicsAlpha,
	Times: psychometrics.TimeSettings{FastZ: ForensicsFastZ, RapidFraction: ForensicsRapidFraction}}

// ForensicsWindow is one sitting: attempts whose time spans
// [started, submitted] overlap, directly or through other attempts.
type ForensicsWindow struct {
	ID       string // "W1", "W2", … in the order the windows opened
	Start    time.Time
	End      time.Time
	Attempts int
}

// AttemptForensics is one attempt's screening: psychometrics'
// PersonForensics, whose Person and Partner are row indices of the
// screening, with the attempts they name.
type AttemptForensics struct {
	AttemptID   string
	CandidateID string
	Simulated   bool
	StartedAt   time.Time
	SubmittedAt time.Time
	Window      string // the ForensicsWindow's ID
	psychometrics.PersonForensics
	// PartnerAttemptID is the attempt whose answers are most like this
	// one's (PersonForensics.Partner), "" when none is more alike than
	// expected.
	PartnerAttemptID string
}

// ForensicsPair is a pair of attempts whose answers are alike beyond
// chance, flagged after the correction over every pair tested.
type ForensicsPair struct {
	psychometrics.PairSimilarity
	AttemptA        string
	AttemptB        string
	CopierAttemptID string // the direction of the smaller p-value: a hint, not proof
}

// ExamForensics is the screening of an exam's submitted attempts.
type ExamForensics struct {
	Exam   Exam
	Filter ForensicsFilter
	Alpha  float64
	// ItemIDs are the columns: the items given to at least one screened
	// attempt, in exam order (as Analyse chooses them).
	ItemIDs []string
	// Attempts are the screened attempts in the order they started (the
	// rows); Ranking lists their indices, most at risk first.
	Attempts []AttemptForensics
	Ranking  []int
	// Pairs are the flagged pairs, most alike first, out of PairsTested
	// pairs of attempts compared within their windows.
	Pairs       []ForensicsPair
	PairsTested int
	Windows     []ForensicsWindow

	// CalibrationRunID, CalibrationVersion and CalibrationModel name the
	// finished calibration run whose item parameters gave person fit (lz*);
	// empty when person fit was not computed, and PersonFitNote says why.
	CalibrationRunID   string
	CalibrationVersion int
	CalibrationModel   string
	PersonFitNote      string
	// Timed reports whether the response-time indicators were computed;
	// TimesNote says why not, or how many attempts without times were left
	// out of them.
	Timed     bool
	TimesNote string
	// Note says why nothing was screened; "" when the attempts were.
	Note string

	times  *mat.Dense                     // seconds per row and column, NaN where none
	fit    *psychometrics.ResponseTimeFit // nil when not Timed
	median []float64                      // each column's median recorded time, NaN without one
	rows   map[string]int
	cols   map[string]int
}

// Screened reports whether there are statistics.
func (f *ExamForensics) Screened() bool { return f.Note == "" }

// Attempt returns the screening of one attempt, or false when it was not
// screened (not submitted, outside the filter, or nothing screened).
func (f *ExamForensics) Attempt(id string) (AttemptForensics, bool) {
	i, ok := f.rows[id]
	if !ok {
		return AttemptForensics{}, false
	}
	return f.Attempts[i], true
}

// Ranked returns the screened attempts, most at risk first.
func (f *ExamForensics) Ranked() []AttemptForensics {
	out := make([]AttemptForensics, len(f.Ranking))
	for r, i := range f.Ranking {
		out[r] = f.Attempts[i]
	}
	return out
}

// ItemTiming is an attempt's time on one item set against the item's
// typical time.
type ItemTiming struct {
	Seconds float64 // NaN when no time was recorded
	Median  float64 // the item's median recorded time over the screened attempts; NaN without one
	// Z is the time's standardized residual under the lognormal
	// response-time model given the candidate's own speed (NaN when the
	// model was not fitted); Fast is Z < −ForensicsFastZ.
	Z    float64
	Fast bool
	// Rapid is a time below ForensicsRapidFraction of the median: a rapid
	// guess, or an answer known beforehand.
	Rapid bool
}

// Timing returns an attempt's time on an item, or false when the pair was
// not screened.
func (f *ExamForensics) Timing(attemptID, itemID string) (ItemTiming, bool) {
	i, ok := f.rows[attemptID]
	if !ok {
		return ItemTiming{}, false
	}
	j, ok := f.cols[itemID]
	if !ok || f.times == nil {
		return ItemTiming{}, false
	}
	t := ItemTiming{Seconds: f.times.At(i, j), Median: f.median[j], Z: math.NaN()}
	if f.fit != nil {
		t.Z = f.fit.Residual.At(i, j)
		t.Fast = t.Z < -ForensicsFastZ
	}
	t.Rapid = t.Seconds < ForensicsRapidFraction*t.Median
	return t, true
}

// Forensics screens the submitted attempts of an exam that pass the filter
// with psychometrics.Forensics (ForensicsSettings), from:
//
//   - the 0/1 scores and chosen options of Analyse with the same window —
//     the same attempts, items and coding as the exam's statistics, so
//     simulated pilot attempts are screened with live ones, as they are
//     analysed with them (their rows say Simulated);
//   - the time on each item (responses.seconds), NaN where none was
//     recorded. The response-time model is fitted to the attempts with a
//     time on some item; attempts without any (imported history) get no
//     time indicators, and TimesNote says how many were left out. When
//     fewer than two of the timed attempts give some item a time, the time
//     indicators are skipped and TimesNote says why;
//   - when each answer was last saved (responses.answered_at, in Unix
//     seconds; NaN where none), for the timed answer-similarity test on the
//     items a candidate answered shortly after another in the same window.
//     Imported attempts are left out (NaN): RecordHistory stamps every
//     answer with the submission time, which would tell the test that the
//     later submitter answered every item after the other;
//   - the item parameters of the exam's latest finished calibration run,
//     on its reporting scale, for person fit; without one (or when it
//     lacks a usable parameter for an item screened) lz* is skipped and
//     PersonFitNote says why;
//   - windows: attempts whose [started, submitted] spans overlap, directly
//     or through others, sat together. Sorted by start, an attempt opens a
//     new window when it starts after every earlier attempt of the current
//     window was submitted (a sweep giving the connected components of the
//     overlap graph); only attempts of one window are compared for answer
//     similarity.
//
// A window that ends before it starts is a *valid.Error (field "to");
// an unknown exam is ErrNotFound. With fewer than two attempts or two
// items nothing is screened and Note says so.
func (s *Service) Forensics(ctx context.Context, examID string, f ForensicsFilter) (*ExamForensics, error) {
	a, err := s.Analyse(ctx, examID, AnalysisFilter{From: f.From, To: f.To})
	if err != nil {
		return nil, err
	}
	out := &ExamForensics{Exam: a.Exam, Filter: f, Alpha: ForensicsAlpha, rows: map[string]int{}, cols: map[string]int{}}
	if !a.Analysed() || len(a.Attempts) < 2 {
		out.Note = "At least two submitted attempts and two items are needed to screen."
		return out, nil
	}
	n := len(a.Attempts)
	for i, id := range a.Attempts {
		out.rows[id] = i
	}
	for j, it := range a.Items {
		out.ItemIDs = append(out.ItemIDs, it.Item.ID)
		out.cols[it.Item.ID] = j
	}
	in := psychometrics.ForensicsInput{Scored: a.Scores, Choices: a.Choices}

	meta, err := s.forensicsAttempts(ctx, a.Exam.ID, f, out.rows)
	if err != nil {
		return nil, err
	}
	out.Attempts = make([]AttemptForensics, n)
	for i, id := range a.Attempts {
		m := meta[id]
		out.Attempts[i] = AttemptForensics{AttemptID: id, CandidateID: m.CandidateID, Simulated: m.Simulated,
			StartedAt: m.StartedAt.UTC(), SubmittedAt: m.end().UTC()}
	}
	in.Windows = out.sitWindows()

	if out.times, in.AnsweredAt, err = s.forensicsTimes(ctx, a.Exam.ID, f, out.rows, out.cols, a.Scores); err != nil {
		return nil, err
	}
	out.median = columnMedians(out.times)
	if out.Timed, out.TimesNote = timesCoverage(out.times); out.Timed {
		in.Times = out.times
	}

	if in.Items, err = s.forensicsItems(ctx, out); err != nil {
		return nil, err
	}

	res, err := psychometrics.Forensics(in, ForensicsSettings)
	if errors.Is(err, psychometrics.ErrTooFewTimes) { // timesCoverage should have caught it
		in.Times, out.Timed, out.TimesNote = nil, false, "Response times were not used: too few were recorded."
		res, err = psychometrics.Forensics(in, ForensicsSettings)
	}
	if err != nil {
		return nil, fmt.Errorf("assess: forensics: %w", err)
	}
	out.fit = res.Times
	for i, p := range res.Persons {
		at := &out.Attempts[i]
		at.PersonForensics = p
		if p.Partner >= 0 {
			at.PartnerAttemptID = a.Attempts[p.Partner]
		}
	}
	out.Ranking = res.Ranking
	out.PairsTested = res.PairsTested
	for _, p := range res.Pairs {
		out.Pairs = append(out.Pairs, ForensicsPair{PairSimilarity: p, AttemptA: a.Attempts[p.A], AttemptB: a.Attempts[p.B],
			CopierAttemptID: a.Attempts[p.Copier]})
	}
	return out, nil
}

// forensicsAttempt is what Forensics reads of an attempt beyond its
// responses.
type forensicsAttempt struct {
	ID          string
	CandidateID string
	Simulated   bool
	StartedAt   time.Time
	SubmittedAt *time.Time
	Deadline    time.Time
}

// end is when the attempt was submitted (its deadline if, impossibly, a
// submitted attempt has no time).
func (a forensicsAttempt) end() time.Time {
	if a.SubmittedAt != nil {
		return *a.SubmittedAt
	}
	return a.Deadline
}

// forensicsQuery selects the columns of the submitted attempts of the
// exam that pass the filter, as Analyse selects them.
func (s *Service) forensicsQuery(ctx context.Context, table, examID string, f ForensicsFilter) *gorm.DB {
	q := s.db.WithContext(ctx).Table(table)
	if table == "responses" {
		q = q.Joins("JOIN attempts ON attempts.id = responses.attempt_id")
	}
	q = q.Where("attempts.exam_id = ? AND attempts.status = ?", examID, Submitted)
	if !f.From.IsZero() {
		q = q.Where("attempts.submitted_at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		q = q.Where("attempts.submitted_at < ?", f.To.UTC())
	}
	return q
}

// forensicsAttempts reads the attempts of the rows.
func (s *Service) forensicsAttempts(ctx context.Context, examID string, f ForensicsFilter, rows map[string]int) (map[string]forensicsAttempt, error) {
	var list []forensicsAttempt
	err := s.forensicsQuery(ctx, "attempts", examID, f).
		Select("attempts.id, attempts.candidate_id, attempts.simulated, attempts.started_at, attempts.submitted_at, attempts.deadline").
		Scan(&list).Error
	if err != nil {
		return nil, fmt.Errorf("assess: forensics: attempts: %w", err)
	}
	out := make(map[string]forensicsAttempt, len(rows))
	for _, a := range list {
		if _, ok := rows[a.ID]; ok {
			out[a.ID] = a
		}
	}
	return out, nil
}

// sitWindows groups the attempts (in the order they started) into
// windows, sets each attempt's Window and returns the labels by row.
func (f *ExamForensics) sitWindows() []string {
	labels := make([]string, len(f.Attempts))
	order := make([]int, len(f.Attempts))
	for i := range order {
		order[i] = i
	}
	// Rows are in start order already; sort again so that the sweep does
	// not depend on it.
	slices.SortStableFunc(order, func(x, y int) int { return f.Attempts[x].StartedAt.Compare(f.Attempts[y].StartedAt) })
	var w *ForensicsWindow
	for _, i := range order {
		a := &f.Attempts[i]
		if w == nil || a.StartedAt.After(w.End) {
			f.Windows = append(f.Windows, ForensicsWindow{ID: "W" + strconv.Itoa(len(f.Windows)+1), Start: a.StartedAt, End: a.SubmittedAt})
			w = &f.Windows[len(f.Windows)-1]
		}
		if a.SubmittedAt.After(w.End) {
			w.End = a.SubmittedAt
		}
		w.Attempts++
		a.Window, labels[i] = w.ID, w.ID
	}
	return labels
}

// forensicsTimes reads the time on item and the time of the answer of
// every screened response: two rows × columns matrices, the seconds (NaN
// where no positive time was recorded) and answered_at in Unix seconds
// (NaN where none was recorded, or the attempt was imported), both NaN
// where the item was not scored.
func (s *Service) forensicsTimes(ctx context.Context, examID string, f ForensicsFilter, rows, cols map[string]int, scored *mat.Dense) (times, answeredAt *mat.Dense, err error) {
	type cell struct {
		AttemptID   string
		ItemID      string
		Seconds     *float64
		AnsweredAt  *time.Time
		SubmittedBy string
	}
	var cells []cell
	err = s.forensicsQuery(ctx, "responses", examID, f).
		Select("responses.attempt_id, responses.item_id, responses.seconds, responses.answered_at, attempts.submitted_by").
		Where("responses.seconds IS NOT NULL OR responses.answered_at IS NOT NULL").Scan(&cells).Error
	if err != nil {
		return nil, nil, fmt.Errorf("assess: forensics: times: %w", err)
	}
	n, k := scored.Dims()
	secs, at := nanMatrix(n, k), nanMatrix(n, k)
	for _, c := range cells {
		i, ok := rows[c.AttemptID]
		j, ok2 := cols[c.ItemID]
		if !ok || !ok2 || math.IsNaN(scored.At(i, j)) {
			continue
		}
		if c.Seconds != nil {
			if t := *c.Seconds; t > 0 && !math.IsInf(t, 0) {
				secs.Set(i, j, t)
			}
		}
		if c.AnsweredAt != nil && c.SubmittedBy != importedBy {
			at.Set(i, j, unixSeconds(*c.AnsweredAt))
		}
	}
	return secs, at, nil
}

// nanMatrix returns an n × k matrix of NaN.
func nanMatrix(n, k int) *mat.Dense {
	data := make([]float64, n*k)
	for i := range data {
		data[i] = math.NaN()
	}
	return mat.NewDense(n, k, data)
}

// unixSeconds returns t as seconds since the Unix epoch, to the
// nanosecond as far as a float64 holds it (about 0.2 µs today).
func unixSeconds(t time.Time) float64 {
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}

// timesCoverage reports whether the response-time model can be fitted to
// the attempts of times that have a time on some item — it can when every
// item has at least two times among them — and says in a note how many
// attempts without a time are left out, or why times are not used; the
// note is "" when every attempt is timed and the model fits.
func timesCoverage(times *mat.Dense) (ok bool, note string) {
	n, k := times.Dims()
	untimed := 0
	colN := make([]int, k)
	for i := range n {
		rowN := 0
		for j := range k {
			if !math.IsNaN(times.At(i, j)) {
				rowN++
				colN[j]++
			}
		}
		if rowN == 0 {
			untimed++
		}
	}
	const why = "(imported, or taken before time on item was recorded)"
	if slices.ContainsFunc(colN, func(c int) bool { return c < 2 }) {
		if untimed > 0 {
			return false, fmt.Sprintf("Response times were not used: %d of %d attempts have no recorded time on any item %s, "+
				"and the others give an item fewer than two times.", untimed, n, why)
		}
		return false, "Response times were not used: an item has fewer than two recorded times."
	}
	if untimed > 0 {
		return true, fmt.Sprintf("Time indicators were computed for the %d of %d attempts with recorded times; "+
			"the other %d %s have none.", n-untimed, n, untimed, why)
	}
	return true, ""
}

// columnMedians returns the median of each column's numbers, NaN for a
// column without any.
func columnMedians(x *mat.Dense) []float64 {
	n, k := x.Dims()
	out := make([]float64, k)
	col := make([]float64, 0, n)
	for j := range k {
		col = col[:0]
		for i := range n {
			if v := x.At(i, j); !math.IsNaN(v) {
				col = append(col, v)
			}
		}
		out[j] = math.NaN()
		if m := len(col); m > 0 {
			slices.Sort(col)
			out[j] = col[m/2]
			if m%2 == 0 {
				out[j] = (col[m/2-1] + col[m/2]) / 2
			}
		}
	}
	return out
}

// forensicsItems returns the screened items' parameters from the exam's
// latest finished calibration run, in column order, and records the run;
// nil, with PersonFitNote set, when there is no such run or it lacks a
// usable parameter for a screened item.
func (s *Service) forensicsItems(ctx context.Context, out *ExamForensics) ([]psychometrics.Item3PL, error) {
	runs, err := s.CalibrationRuns(ctx, out.Exam.ID)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(runs, func(r CalibrationRun) bool { return r.Status == RunDone && r.Result != nil })
	if i < 0 {
		out.PersonFitNote = "Person fit (lz*) was not computed: the exam has no finished calibration run."
		return nil, nil
	}
	run := runs[i]
	params := map[string]psychometrics.Item3PL{}
	for _, it := range run.Result.Items {
		params[it.ItemID] = it.Final().Item3PL()
	}
	items := make([]psychometrics.Item3PL, len(out.ItemIDs))
	missing := 0
	for j, id := range out.ItemIDs {
		p, ok := params[id]
		if !ok || !usable(p) {
			missing++
			continue
		}
		items[j] = p
	}
	if missing > 0 {
		out.PersonFitNote = fmt.Sprintf("Person fit (lz*) was not computed: calibration version %d has no usable parameters for %d of the %d items screened.",
			run.Version, missing, len(out.ItemIDs))
		return nil, nil
	}
	out.CalibrationRunID, out.CalibrationVersion, out.CalibrationModel = run.ID, run.Version, run.Model
	return items, nil
}

// AnswerTiming is one delivered item of an attempt as the case file shows
// it: when it was last answered, the time on it and whether it scored.
type AnswerTiming struct {
	Position   int
	ItemID     string
	Answered   bool
	AnsweredAt *time.Time
	Seconds    *float64 // as the player measured; nil when not recorded
	Correct    *bool    // full credit; nil until scored
}

// AnswerTimings lists an attempt's delivered items in delivery order;
// ErrNotFound for an unknown attempt.
func (s *Service) AnswerTimings(ctx context.Context, attemptID string) ([]AnswerTiming, error) {
	if _, err := s.Attempt(ctx, attemptID); err != nil {
		return nil, err
	}
	var rows []responseRow
	if err := s.db.WithContext(ctx).Where("attempt_id = ?", attemptID).Order("position").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("assess: answer timings: %w", err)
	}
	// The time on item is read on its own, so that the response row stays
	// as the save path knows it.
	var secs []struct {
		Position int
		Seconds  *float64
	}
	if err := s.db.WithContext(ctx).Table("responses").Select("position, seconds").Where("attempt_id = ?", attemptID).Scan(&secs).Error; err != nil {
		return nil, fmt.Errorf("assess: answer timings: %w", err)
	}
	seconds := map[int]*float64{}
	for _, x := range secs {
		seconds[x.Position] = x.Seconds
	}
	out := make([]AnswerTiming, len(rows))
	for i, r := range rows {
		out[i] = AnswerTiming{Position: r.Position, ItemID: r.ItemID, Answered: r.answer() != nil, AnsweredAt: r.AnsweredAt,
			Seconds: seconds[r.Position], Correct: r.Correct}
	}
	return out, nil
}
