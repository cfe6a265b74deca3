package assess

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

// minGroupSize is the smallest demographic group whose pass rate impact
// data shows: smaller groups are counted but their rate is withheld, so
// that no candidate's result can be inferred.
const minGroupSize = 5

// ItemFeedback is what the panel sees of one item between rounds.
type ItemFeedback struct {
	Position int
	ItemID   string
	Ratings  []float64 // one per panelist in panel order; NaN where not rated
	Mean     float64
	Min, Max float64
	SD       float64
	PValue   float64 // proportion of candidates answering correctly; NaN without data
	N        int     // candidates the p-value is from
}

// GroupImpact is the pass rate of one demographic group at a cut.
type GroupImpact struct {
	Variable string
	Value    string
	N        int
	PassRate float64 // NaN when N < minGroupSize
}

// Name names the group for people: "Region: Europe".
func (g GroupImpact) Name() string {
	v, ok := DemographicVariable(g.Variable)
	if !ok {
		return g.Variable + ": " + g.Value
	}
	short := strings.ToUpper(g.Variable[:1]) + strings.ReplaceAll(g.Variable[1:], "_", " ")
	return short + ": " + v.ChoiceLabel(g.Value)
}

// Impact is the pass rate at a cut among candidates who sat the exam.
type Impact struct {
	Cut        float64
	Candidates int
	PassRate   float64 // NaN without candidates
	Groups     []GroupImpact
}

// MethodResult is one method's cut from the study's data.
type MethodResult struct {
	Method    string
	Available bool
	Note      string // why the method has no result, or how it was reached
	Cut       float64
	SE        float64 // NaN where the method gives none
	PassRate  float64
	Panelists int
}

// RoundResult is a round's cut and the panel's agreement in it.
type RoundResult struct {
	Round        int
	Cut          float64
	SE           float64
	CutSD        float64
	ICCAgreement float64
	PanelistCuts []float64 // in panel order; NaN for a panelist with no complete work
	Complete     int       // panelists whose work in the round is complete
}

// Feedback is the feedback of one round: the distribution of the panel's
// ratings per item with the items' p-values, and the impact of the panel's
// cut.
type Feedback struct {
	Study    Study
	Round    int
	MaxScore float64
	Items    []ItemFeedback
	Result   RoundResult
	Impact   Impact
}

// Recommendation is the panel's result: the final round's cut with its
// standard error and agreement, its impact, the other methods' cuts from
// the same study where the data allows, and the measurement quality at the
// recommended cut.
type Recommendation struct {
	Study               Study
	Method              string
	MaxScore            float64
	Cut                 float64
	SE                  float64
	Rounds              []RoundResult
	Impact              Impact
	Methods             []MethodResult
	Reliability         float64
	DecisionConsistency float64
	Accuracy            *float64
	CSEMAtCut           *float64
}

// studyData is what every result of a study is computed from.
type studyData struct {
	study     Study
	exam      Exam
	items     []string
	bank      []items.Item
	responses *mat.Dense // candidates × study items, NaN where not administered
	attempts  []string
	scores    []float64
}

func (s *Service) studyData(ctx context.Context, studyID string) (studyData, error) {
	var d studyData
	var err error
	if d.study, err = s.Study(ctx, studyID); err != nil {
		return d, err
	}
	if d.exam, err = s.Exam(ctx, d.study.ExamID); err != nil {
		return d, err
	}
	d.items = studyItems(d.exam, d.study)
	if d.bank, err = s.items.Working(ctx, d.items); err != nil {
		return d, err
	}
	full, attempts, err := s.responseMatrix(ctx, d.exam)
	if err != nil {
		return d, err
	}
	if full != nil {
		col := index(d.exam.ItemIDs, func(id string) string { return id })
		n, _ := full.Dims()
		d.responses = mat.NewDense(n, len(d.items), nil)
		for j, id := range d.items {
			c, ok := col[id]
			for i := range n {
				v := math.NaN()
				if ok {
					v = full.At(i, c)
				}
				d.responses.Set(i, j, v)
			}
		}
		d.attempts, d.scores = attempts, rawScores(d.responses)
	}
	return d, nil
}

// StudyFeedback returns a round's feedback. Panelists see it once the
// facilitator has released the round; staff see it at any time.
func (s *Service) StudyFeedback(ctx context.Context, studyID string, round int) (Feedback, error) {
	d, err := s.studyData(ctx, studyID)
	if err != nil {
		return Feedback{}, err
	}
	if round < 1 || round > d.study.CurrentRound {
		return Feedback{}, valid.Errorf("round", "must be from 1 to %d", d.study.CurrentRound)
	}
	fb := Feedback{Study: d.study, Round: round, MaxScore: float64(len(d.items))}
	res, ratings, err := s.roundResult(ctx, d, round)
	if err != nil {
		return Feedback{}, err
	}
	fb.Result = res
	for j, id := range d.items {
		f := ItemFeedback{Position: j + 1, ItemID: id, PValue: math.NaN(), Mean: math.NaN(), Min: math.NaN(), Max: math.NaN(), SD: math.NaN()}
		if ratings != nil {
			f.Ratings = mat.Col(nil, j, ratings)
			var given []float64
			for _, v := range f.Ratings {
				if !math.IsNaN(v) {
					given = append(given, v)
				}
			}
			if len(given) > 0 {
				f.Mean, f.Min, f.Max = stat.Mean(given, nil), slices.Min(given), slices.Max(given)
				if len(given) > 1 {
					f.SD = stat.StdDev(given, nil)
				}
			}
		}
		if d.responses != nil {
			var sum float64
			n, _ := d.responses.Dims()
			for i := range n {
				if v := d.responses.At(i, j); !math.IsNaN(v) {
					sum += v
					f.N++
				}
			}
			if f.N > 0 {
				f.PValue = sum / float64(f.N)
			}
		}
		fb.Items = append(fb.Items, f)
	}
	if fb.Impact, err = s.impact(ctx, d, res.Cut); err != nil {
		return Feedback{}, err
	}
	return fb, nil
}

// roundResult computes a round's cut by the study's method from the
// panelists whose work in the round is complete.
func (s *Service) roundResult(ctx context.Context, d studyData, round int) (RoundResult, *mat.Dense, error) {
	res := RoundResult{Round: round, Cut: math.NaN(), SE: math.NaN(), CutSD: math.NaN(), ICCAgreement: math.NaN()}
	res.PanelistCuts = make([]float64, len(d.study.Panelists))
	for i := range res.PanelistCuts {
		res.PanelistCuts[i] = math.NaN()
	}
	var ratings *mat.Dense
	if methodRatesItems(d.study.Method) {
		var err error
		if ratings, err = s.RoundRatings(ctx, d.study, d.items, round); err != nil {
			return res, nil, err
		}
		complete := completeRows(ratings)
		if len(complete) == 0 {
			return res, ratings, nil
		}
		sub := mat.NewDense(len(complete), len(d.items), nil)
		for r, i := range complete {
			sub.SetRow(r, mat.Row(nil, i, ratings))
		}
		a, err := psychometrics.Angoff(sub)
		if err != nil {
			return res, ratings, valid.Errorf("ratings", "%v", err)
		}
		res.Cut, res.SE, res.CutSD, res.ICCAgreement, res.Complete = a.Cut, a.SE, a.CutSD, a.ICCAgreement, len(complete)
		for r, i := range complete {
			res.PanelistCuts[i] = a.PanelistCuts[r]
		}
		return res, ratings, nil
	}
	js, err := s.RoundJudgements(ctx, d.study, round)
	if err != nil {
		return res, nil, err
	}
	m, err := s.compromise(d, d.study.Method, js)
	if err != nil {
		return res, nil, err
	}
	res.Cut, res.SE, res.Complete = m.Cut, m.SE, m.Panelists
	if d.study.Method == MethodBookmark {
		res.PanelistCuts = m.panelistCuts
	}
	return res, nil, nil
}

// completeRows returns the rows with every item rated.
func completeRows(m *mat.Dense) []int {
	var out []int
	r, c := m.Dims()
rows:
	for i := range r {
		for j := range c {
			if math.IsNaN(m.At(i, j)) {
				continue rows
			}
		}
		out = append(out, i)
	}
	return out
}

// methodCut is a method's result with, for the Bookmark method, each
// panelist's raw cut.
type methodCut struct {
	MethodResult
	panelistCuts []float64
}

// compromise computes the Bookmark, Hofstee or Beuk cut from a round's
// judgements.
func (s *Service) compromise(d studyData, method string, js map[string][]float64) (methodCut, error) {
	out := methodCut{MethodResult: MethodResult{Method: method, Cut: math.NaN(), SE: math.NaN(), PassRate: math.NaN()}}
	maxScore := float64(len(d.items))
	switch method {
	case MethodBookmark:
		booklet, note := s.orderedBooklet(d)
		if booklet == nil {
			out.Note = note
			return out, nil
		}
		var marks []int
		var who []int
		for i, v := range js[JudgeBookmark] {
			if !math.IsNaN(v) {
				marks, who = append(marks, int(v)), append(who, i)
			}
		}
		if len(marks) == 0 {
			out.Note = "no bookmarks placed yet"
			return out, nil
		}
		params := make([]psychometrics.Item3PL, len(booklet))
		for i, b := range booklet {
			params[i] = b.params
		}
		r, err := psychometrics.Bookmark(params, marks, nil)
		if err != nil {
			return out, valid.Errorf("bookmark", "%v", err)
		}
		// The method's standard error is on the θ scale; the raw cut has none.
		out.Cut, out.Panelists, out.Available = r.Cut, len(marks), true
		out.panelistCuts = make([]float64, len(d.study.Panelists))
		for i := range out.panelistCuts {
			out.panelistCuts[i] = math.NaN()
		}
		for k, i := range who {
			out.panelistCuts[i] = psychometrics.TrueScore(params, r.PanelistTheta[k])
		}
		out.Note = "cut on the θ scale mapped through the test characteristic curve (RP 0.67)"
	case MethodHofstee, MethodModifiedAngoff, MethodYesNoAngoff:
		var hs []psychometrics.HofsteeJudgement
		for i := range d.study.Panelists {
			v := func(k string) float64 {
				if js[k] == nil {
					return math.NaN()
				}
				return js[k][i]
			}
			h := psychometrics.HofsteeJudgement{MinCut: v(JudgeHofsteeMin) / 100 * maxScore, MaxCut: v(JudgeHofsteeMax) / 100 * maxScore,
				MinFail: v(JudgeHofsteeMinFR) / 100, MaxFail: v(JudgeHofsteeMaxFR) / 100}
			if !math.IsNaN(h.MinCut + h.MaxCut + h.MinFail + h.MaxFail) {
				hs = append(hs, h)
			}
		}
		out.Method = MethodHofstee
		if len(hs) == 0 {
			out.Note = "no panelist gave Hofstee's four judgements"
			return out, nil
		}
		if len(d.scores) == 0 {
			out.Note = "needs candidates' scores"
			return out, nil
		}
		r, err := psychometrics.Hofstee(hs, d.scores)
		if err != nil {
			out.Note = err.Error()
			return out, nil
		}
		out.Cut, out.PassRate, out.Panelists, out.Available = r.Cut, 1-r.FailRate, len(hs), true
	case MethodBeuk:
		var bs []psychometrics.BeukJudgement
		for i := range d.study.Panelists {
			if js[JudgeBeukCut] == nil || js[JudgeBeukPassRate] == nil {
				break
			}
			b := psychometrics.BeukJudgement{Cut: js[JudgeBeukCut][i] / 100 * maxScore, PassRate: js[JudgeBeukPassRate][i] / 100}
			if !math.IsNaN(b.Cut + b.PassRate) {
				bs = append(bs, b)
			}
		}
		if len(bs) == 0 {
			out.Note = "no panelist gave Beuk's two judgements"
			return out, nil
		}
		if len(d.scores) == 0 {
			out.Note = "needs candidates' scores"
			return out, nil
		}
		r, err := psychometrics.Beuk(bs, d.scores)
		if err != nil {
			out.Note = err.Error()
			return out, nil
		}
		out.Cut, out.PassRate, out.Panelists, out.Available = r.Cut, r.PassRate, len(bs), true
	}
	return out, nil
}

// BookletPage is one page of a Bookmark study's ordered item booklet.
type BookletPage struct {
	Page     int
	ItemID   string
	Location float64 // θ at which a candidate answers correctly with probability 0.67
	params   psychometrics.Item3PL
}

// OrderedBooklet returns a Bookmark study's ordered item booklet: the
// study's items from easiest to hardest by their calibrated location, or
// nil with the reason when some item has no IRT parameters.
func (s *Service) OrderedBooklet(ctx context.Context, studyID string) ([]BookletPage, string, error) {
	d, err := s.studyData(ctx, studyID)
	if err != nil {
		return nil, "", err
	}
	b, note := s.orderedBooklet(d)
	return b, note, nil
}

func (s *Service) orderedBooklet(d studyData) ([]BookletPage, string) {
	if len(d.bank) < 2 {
		return nil, "needs at least two items"
	}
	params := make([]psychometrics.Item3PL, len(d.bank))
	for i, it := range d.bank {
		if it.Params == nil {
			return nil, "needs IRT parameters for every item: calibrate the exam first"
		}
		params[i] = psychometrics.Item3PL{A: it.Params.A, B: it.Params.B, C: it.Params.C}
	}
	// Bookmark orders the booklet; any valid bookmark yields the order.
	r, err := psychometrics.Bookmark(params, []int{2}, nil)
	if err != nil {
		return nil, err.Error()
	}
	pages := make([]BookletPage, len(params))
	for p, j := range r.Order {
		pages[p] = BookletPage{Page: p + 1, ItemID: d.bank[j].ID, Location: r.Locations[p], params: params[j]}
	}
	return pages, ""
}

// impact returns the pass rate at cut overall and by each demographic
// variable candidates have volunteered.
func (s *Service) impact(ctx context.Context, d studyData, cut float64) (Impact, error) {
	im := Impact{Cut: cut, Candidates: len(d.scores), PassRate: math.NaN()}
	if len(d.scores) == 0 || math.IsNaN(cut) {
		return im, nil
	}
	im.PassRate = 1 - psychometrics.Impact(d.scores, cut)
	type row struct {
		AttemptID string
		Variable  string
		Value     string
	}
	var rows []row
	err := s.db.WithContext(ctx).Table("attempts").
		Select("attempts.id AS attempt_id, demographics.variable, demographics.value").
		Joins("JOIN demographics ON demographics.user_id = attempts.candidate_id").
		Where("attempts.exam_id = ? AND attempts.status = ?", d.exam.ID, Submitted).Scan(&rows).Error
	if err != nil {
		return im, fmt.Errorf("assess: impact groups: %w", err)
	}
	score := make(map[string]float64, len(d.attempts))
	for i, id := range d.attempts {
		score[id] = d.scores[i]
	}
	type key struct{ variable, value string }
	groups := map[key][]float64{}
	for _, r := range rows {
		if r.Value == PreferNotToSay {
			continue // an answer, never a group
		}
		if sc, ok := score[r.AttemptID]; ok {
			k := key{r.Variable, r.Value}
			groups[k] = append(groups[k], sc)
		}
	}
	for k, scores := range groups {
		g := GroupImpact{Variable: k.variable, Value: k.value, N: len(scores), PassRate: math.NaN()}
		if g.N >= minGroupSize {
			g.PassRate = 1 - psychometrics.Impact(scores, cut)
		}
		im.Groups = append(im.Groups, g)
	}
	// Groups in the order the questions and their answers are asked.
	order := func(g GroupImpact) (int, int) {
		vi := slices.IndexFunc(DemographicVariables, func(v Variable) bool { return v.Name == g.Variable })
		if vi < 0 {
			return len(DemographicVariables), 0
		}
		return vi, slices.IndexFunc(DemographicVariables[vi].Choices, func(c Choice) bool { return c.Value == g.Value })
	}
	sort.Slice(im.Groups, func(i, j int) bool {
		a, b := im.Groups[i], im.Groups[j]
		av, ac := order(a)
		bv, bc := order(b)
		switch {
		case av != bv:
			return av < bv
		case ac != bc:
			return ac < bc
		case a.Variable != b.Variable:
			return a.Variable < b.Variable
		}
		return a.Value < b.Value
	})
	return im, nil
}

// StudyRecommendation returns the panel's recommendation from the latest
// round, every round's cut, and the other methods' cuts from the same
// study side by side.
func (s *Service) StudyRecommendation(ctx context.Context, studyID string) (Recommendation, error) {
	d, err := s.studyData(ctx, studyID)
	if err != nil {
		return Recommendation{}, err
	}
	rec := Recommendation{Study: d.study, Method: d.study.Method, MaxScore: float64(len(d.items)), Cut: math.NaN(), SE: math.NaN()}
	for round := 1; round <= d.study.CurrentRound; round++ {
		res, _, err := s.roundResult(ctx, d, round)
		if err != nil {
			return Recommendation{}, err
		}
		rec.Rounds = append(rec.Rounds, res)
	}
	last := rec.Rounds[len(rec.Rounds)-1]
	rec.Cut, rec.SE = last.Cut, last.SE
	if rec.Impact, err = s.impact(ctx, d, rec.Cut); err != nil {
		return Recommendation{}, err
	}
	own := MethodResult{Method: d.study.Method, Available: !math.IsNaN(rec.Cut), Cut: rec.Cut, SE: rec.SE,
		PassRate: rec.Impact.PassRate, Panelists: last.Complete, Note: "the study's method, latest round"}
	if !own.Available {
		own.Note = "no panelist has completed the round"
	}
	rec.Methods = append(rec.Methods, own)
	if d.study.Method != MethodBookmark {
		js, err := s.RoundJudgements(ctx, d.study, d.study.CurrentRound)
		if err != nil {
			return Recommendation{}, err
		}
		for _, m := range []string{MethodHofstee, MethodBeuk} {
			if m == d.study.Method {
				continue
			}
			r, err := s.compromise(d, m, js)
			if err != nil {
				return Recommendation{}, err
			}
			rec.Methods = append(rec.Methods, r.MethodResult)
		}
	}
	for _, m := range []string{"borderline group", "contrasting groups"} {
		rec.Methods = append(rec.Methods, MethodResult{Method: m, Cut: math.NaN(), SE: math.NaN(), PassRate: math.NaN(),
			Note: "needs candidates classified by judges; compute with touchstone psych groups"})
	}
	if !math.IsNaN(rec.Cut) {
		ev, err := s.evidenceAt(ctx, d.exam, len(d.items), rec.Cut)
		if err != nil {
			return Recommendation{}, err
		}
		rec.Reliability, rec.DecisionConsistency, rec.Accuracy, rec.CSEMAtCut = ev.Reliability, ev.Agreement, ev.Accuracy, ev.CSEM
	}
	return rec, nil
}

// Adoption is a program manager's decision on a study's recommendation.
type Adoption struct {
	Cut         float64   // raw-score units; a pass is score >= Cut
	Reason      string    // required when Cut differs from the recommendation
	EffectiveAt time.Time // zero for now; never in the past
}

// AdoptStandard makes a cut the exam's approved standard, a new version
// with the study's evidence, effective from the adoption's date; it closes
// the study. The cut may differ from the panel's recommendation, with a
// reason. The decision is audited with the recommendation beside it.
func (s *Service) AdoptStandard(ctx context.Context, actor, studyID string, a Adoption) (Standard, error) {
	rec, err := s.StudyRecommendation(ctx, studyID)
	if err != nil {
		return Standard{}, err
	}
	st := rec.Study
	if st.Status != StudyOpen {
		return Standard{}, fmt.Errorf("%w: the study is closed", ErrConflict)
	}
	if math.IsNaN(rec.Cut) {
		return Standard{}, valid.Errorf("cut", "the panel has no recommendation yet")
	}
	if math.IsNaN(a.Cut) || a.Cut <= 0 || a.Cut > rec.MaxScore {
		return Standard{}, valid.Errorf("cut", "must be above 0 and at most %g", rec.MaxScore)
	}
	if math.Abs(a.Cut-rec.Cut) > 1e-9 && a.Reason == "" {
		return Standard{}, valid.Errorf("reason", "is required when the cut differs from the panel's recommendation (%.2f)", rec.Cut)
	}
	now := s.now().UTC()
	if a.EffectiveAt.IsZero() {
		a.EffectiveAt = now
	}
	if a.EffectiveAt.Before(now.Add(-time.Minute)) {
		return Standard{}, valid.Errorf("effective_at", "cannot be in the past")
	}
	exam, err := s.Exam(ctx, st.ExamID)
	if err != nil {
		return Standard{}, err
	}
	ev, err := s.evidenceAt(ctx, exam, int(rec.MaxScore), a.Cut)
	if err != nil {
		return Standard{}, err
	}
	effective, recommended := a.EffectiveAt.UTC(), rec.Cut
	row := standardRow{ID: uuid.NewString(), ExamID: st.ExamID, StudyID: &st.ID, Method: st.Method, Panelists: rec.Rounds[len(rec.Rounds)-1].Complete,
		Cut: a.Cut, MaxScore: rec.MaxScore, CutSE: rec.SE, Reliability: ev.Reliability, DecisionConsistency: ev.Agreement,
		Accuracy: ev.Accuracy, CSEMAtCut: ev.CSEM, Status: Approved, ProposedBy: userRef(actor), ApprovedBy: userRef(actor),
		ApprovedAt: &now, CreatedAt: now, RecommendedCut: &recommended, AdoptionReason: a.Reason, EffectiveAt: &effective}
	if math.IsNaN(row.CutSE) {
		row.CutSE = 0
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		var closed int64
		res := tx.Model(&studyRow{}).Where("id = ? AND status = ?", st.ID, StudyOpen).Update("status", StudyClosed)
		if closed = res.RowsAffected; res.Error != nil || closed == 0 {
			return fmt.Errorf("%w: the study is closed", ErrConflict)
		}
		var previous *Standard
		if prev, err := latestApproved(tx, st.ExamID); err == nil {
			previous = &prev
			if err := tx.Model(&standardRow{}).Where("id = ?", prev.ID).Update("status", Superseded).Error; err != nil {
				return fmt.Errorf("assess: supersede standard: %w", err)
			}
		}
		var last int
		if err := tx.Model(&standardRow{}).Where("exam_id = ?", st.ExamID).Select("COALESCE(MAX(version), 0)").Scan(&last).Error; err != nil {
			return fmt.Errorf("assess: adopt standard: %w", err)
		}
		row.Version = last + 1
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("assess: adopt standard: %w", err)
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "standard.adopt", Subject: "standard:" + row.ID,
			Before: map[string]any{"superseded": previous, "recommendation": map[string]any{
				"study": st.ID, "method": st.Method, "cut": rec.Cut, "se": row.CutSE, "rounds": len(rec.Rounds)}},
			After: row.standard(), At: now})
	})
	if err != nil {
		return Standard{}, err
	}
	return row.standard(), nil
}
