package assess

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

// AnalysisFilter selects the submitted attempts an Analysis covers. Each
// zero field selects everything.
type AnalysisFilter struct {
	FormID string    // only attempts delivered this fixed form of the exam
	From   time.Time // only attempts submitted at or after From
	To     time.Time // only attempts submitted before To (exclusive)
}

// Non-choice items enter the option analysis as two pseudo-options, so that
// every item counts in the total score it ranks persons by: CorrectCode
// (the key) for a fully correct answer, WrongCode for any other answer.
const (
	CorrectCode = "1"
	WrongCode   = "0"
)

// AnalysisItem is one item (column) of an Analysis.
type AnalysisItem struct {
	Item items.Item // the published version (the working one if never published)
	// Choice is set for single-choice and true/false items: their options
	// are analysed. Labels are the option letters A, B, … in the item's
	// option order, Key the key's letter. Other items have CorrectCode as
	// Key and no Labels.
	Choice bool
	Labels []string
	Key    string
	Stats  psychometrics.ItemStats   // classical statistics, flags included
	Option psychometrics.ItemOptions // option analysis against the total score
	// Flags are Stats.Flags and, for choice items, Option.Flags not among
	// them: what `touchstone psych ctt --raw --key` reports for the item.
	Flags []psychometrics.Flag
}

// Consistency is one estimate of the decision consistency at the cut, or
// the reason it could not be made.
type Consistency struct {
	psychometrics.DecisionConsistency
	Err string // why the method does not apply to these data; "" when estimated
}

// Analysis is the classical item analysis of an exam's submitted attempts,
// as `touchstone psych ctt` computes it from the same responses: missing
// responses and items not administered score 0 (`--missing zero`) and the
// flags follow the default psychometrics.FlagRules.
type Analysis struct {
	Exam   Exam
	Filter AnalysisFilter
	Items  []AnalysisItem // items administered to at least one selected attempt, in exam (or form) order
	// Attempts are the ids of the selected attempts, in the order they
	// started: the rows of Scores and Choices.
	Attempts []string
	// Scores is the attempts × items matrix of 0/1 scores (full credit),
	// NaN where the item was not administered; nil when there are no
	// attempts.
	Scores *mat.Dense
	// Choices holds each attempt's option letter per item (a code for
	// other items, see CorrectCode), "" for no response.
	Choices [][]string
	// Totals are the number-correct scores of the attempts, an unanswered
	// or unadministered item scoring 0.
	Totals []float64
	Test   psychometrics.TestStats
	// Standard is the approved standard in force, nil when there is none.
	// Cut is its cut carried to the number-correct scale of the analysed
	// items in proportion (as scoring does when an attempt's maximum
	// differs from the standard's): Cut·len(Items)/MaxScore.
	Standard *Standard
	Cut      float64
	PassRate float64 // share of Totals at or above Cut
	// CSEMAtCut is Lord's binomial conditional SEM at Cut, in raw points.
	CSEMAtCut float64
	// Subkoviak and LivingstonLewis are the decision consistency at Cut
	// with alpha as the reliability (LivingstonLewis on the score range
	// 0..len(Items), so that it also gives accuracy).
	Subkoviak       Consistency
	LivingstonLewis Consistency
}

// Analysed reports whether there are statistics: at least one attempt and
// two items.
func (a *Analysis) Analysed() bool { return len(a.Attempts) > 0 && len(a.Items) >= 2 }

// Item returns the analysed item with the given id, or false.
func (a *Analysis) Item(id string) (AnalysisItem, int, bool) {
	for j, it := range a.Items {
		if it.Item.ID == id {
			return it, j, true
		}
	}
	return AnalysisItem{}, -1, false
}

// Analyse analyses the submitted attempts of an exam that pass the filter:
// every item's classical statistics and option analysis, the test's
// reliability and score statistics, and the pass rate, conditional SEM and
// decision consistency at the approved standard's cut. A filter naming a
// form the exam does not have, or a window that ends before it starts, is
// a *valid.Error. With fewer than one attempt or two items there are no
// statistics (Analysed is false).
func (s *Service) Analyse(ctx context.Context, examID string, f AnalysisFilter) (*Analysis, error) {
	exam, err := s.Exam(ctx, examID)
	if err != nil {
		return nil, err
	}
	out := &Analysis{Exam: exam, Filter: f}
	columns := exam.ItemIDs
	if f.FormID != "" {
		i := slices.IndexFunc(exam.Forms, func(fm Form) bool { return fm.ID == f.FormID })
		if i < 0 {
			return nil, valid.Errorf("form", "the exam has no such form")
		}
		columns = exam.Forms[i].ItemIDs()
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return nil, valid.Errorf("to", "the window must end after it starts")
	}

	var rows []responseRow
	q := s.db.WithContext(ctx).Model(&responseRow{}).
		Select("responses.*").
		Joins("JOIN attempts ON attempts.id = responses.attempt_id").
		Where("attempts.exam_id = ? AND attempts.status = ?", exam.ID, Submitted)
	if f.FormID != "" {
		q = q.Where("attempts.form_id = ?", f.FormID)
	}
	if !f.From.IsZero() {
		q = q.Where("attempts.submitted_at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		q = q.Where("attempts.submitted_at < ?", f.To.UTC())
	}
	if err := q.Order("attempts.started_at, attempts.id, responses.position").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("assess: analysis: %w", err)
	}

	// Columns: the exam's (or form's) items that someone was given, then,
	// without a form, items given outside the pool (adaptive pretests).
	given := map[string]bool{}
	var extra []string
	inColumns := index(columns, func(id string) string { return id })
	for _, r := range rows {
		if r.Correct == nil || given[r.ItemID] {
			continue
		}
		given[r.ItemID] = true
		if _, ok := inColumns[r.ItemID]; !ok && f.FormID == "" {
			extra = append(extra, r.ItemID)
		}
	}
	var ids []string
	for _, id := range columns {
		if given[id] {
			ids = append(ids, id)
		}
	}
	if f.FormID == "" {
		ids = append(ids, extra...)
	}
	bank, err := s.analysisItems(ctx, ids)
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	for j, it := range bank {
		col[it.ID] = j
		ai := AnalysisItem{Item: it, Key: CorrectCode}
		if k := it.ItemKind(); k == items.SingleChoice || k == items.TrueFalse {
			ai.Choice = true
			for o, opt := range it.Options {
				ai.Labels = append(ai.Labels, optionLabel(o))
				if opt.ID == it.Content.Key {
					ai.Key = optionLabel(o)
				}
			}
		}
		out.Items = append(out.Items, ai)
	}

	// Rows: the attempts with at least one analysed item.
	row := map[string]int{}
	for _, r := range rows {
		if _, ok := col[r.ItemID]; !ok || r.Correct == nil {
			continue
		}
		if _, ok := row[r.AttemptID]; !ok {
			row[r.AttemptID] = len(out.Attempts)
			out.Attempts = append(out.Attempts, r.AttemptID)
		}
	}
	n, k := len(out.Attempts), len(out.Items)
	if n == 0 || k == 0 {
		return out, s.analyseStandard(ctx, out)
	}
	scores := make([]float64, n*k)
	for i := range scores {
		scores[i] = math.NaN()
	}
	out.Choices = make([][]string, n)
	for i := range out.Choices {
		out.Choices[i] = make([]string, k)
	}
	for _, r := range rows {
		j, ok := col[r.ItemID]
		if !ok || r.Correct == nil {
			continue
		}
		i := row[r.AttemptID]
		scores[i*k+j] = 0
		if *r.Correct {
			scores[i*k+j] = 1
		}
		out.Choices[i][j] = out.Items[j].code(r)
	}
	out.Scores = mat.NewDense(n, k, scores)
	if k < 2 {
		return out, s.analyseStandard(ctx, out)
	}

	// The same calls, with the same settings, as `touchstone psych ctt`.
	x, _ := psychometrics.ApplyMissing(out.Scores, psychometrics.MissingZero)
	rules := psychometrics.FlagRules{}
	out.Test = psychometrics.TestAnalysis(x)
	stats := psychometrics.ItemAnalysisWith(x, rules)
	keys := make([]string, k)
	for j := range out.Items {
		keys[j] = out.Items[j].Key
	}
	options := psychometrics.OptionAnalysis(out.Choices, keys, rules)
	for j := range out.Items {
		it := &out.Items[j]
		it.Stats, it.Option = stats[j], options[j]
		it.Flags = slices.Clone(stats[j].Flags)
		if it.Choice {
			for _, fl := range options[j].Flags {
				if !slices.Contains(it.Flags, fl) {
					it.Flags = append(it.Flags, fl)
				}
			}
		}
	}
	out.Totals = make([]float64, n)
	for i := range n {
		out.Totals[i] = mat.Sum(x.RowView(i))
	}
	return out, s.analyseStandard(ctx, out)
}

// analyseStandard fills the cut of the approved standard and the decisions
// at it, when there is a standard and a test to analyse.
func (s *Service) analyseStandard(ctx context.Context, a *Analysis) error {
	std, err := s.ApprovedStandard(ctx, a.Exam.ID)
	if errors.Is(err, ErrNoStandard) {
		return nil
	}
	if err != nil {
		return err
	}
	a.Standard = &std
	k := len(a.Items)
	a.Cut = std.Cut
	if std.MaxScore > 0 && float64(k) != std.MaxScore && k > 0 {
		a.Cut = std.Cut / std.MaxScore * float64(k)
	}
	if !a.Analysed() {
		return nil
	}
	var pass int
	for _, t := range a.Totals {
		if t >= a.Cut {
			pass++
		}
	}
	a.PassRate = float64(pass) / float64(len(a.Totals))
	a.CSEMAtCut = psychometrics.LordCSEM(a.Cut, k)
	dc, err := psychometrics.Subkoviak(a.Totals, k, a.Cut, a.Test.Alpha)
	a.Subkoviak = consistency(dc, err)
	dc, err = psychometrics.LivingstonLewis(a.Totals, 0, float64(k), a.Test.Alpha, a.Cut)
	a.LivingstonLewis = consistency(dc, err)
	return nil
}

func consistency(dc psychometrics.DecisionConsistency, err error) Consistency {
	if err != nil {
		nan := math.NaN()
		return Consistency{DecisionConsistency: psychometrics.DecisionConsistency{Agreement: nan, Kappa: nan, Chance: nan,
			Accuracy: nan, FalsePass: nan, FalseFail: nan}, Err: err.Error()}
	}
	return Consistency{DecisionConsistency: dc}
}

// analysisItems returns the items with the given ids in that order, at
// their published versions (what candidates answered), or at the working
// version for an item never published.
func (s *Service) analysisItems(ctx context.Context, ids []string) ([]items.Item, error) {
	current, err := s.items.Current(ctx, ids)
	if err != nil {
		return nil, err
	}
	working, err := s.items.Working(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := map[string]items.Item{}
	for _, it := range working {
		byID[it.ID] = it
	}
	for _, it := range current {
		byID[it.ID] = it
	}
	out := make([]items.Item, 0, len(ids))
	for _, id := range ids {
		if it, ok := byID[id]; ok {
			out = append(out, it)
		}
	}
	return out, nil
}

// code is the response as the option analysis sees it: the letter of the
// chosen option of a choice item (the option id itself if the item no
// longer has it), CorrectCode or WrongCode for other answered items, and
// "" for no response.
func (it AnalysisItem) code(r responseRow) string {
	ans := r.answer()
	if ans == nil {
		return ""
	}
	if !it.Choice {
		if *r.Correct {
			return CorrectCode
		}
		return WrongCode
	}
	if ans.Choice == "" {
		return ""
	}
	for o, opt := range it.Item.Options {
		if opt.ID == ans.Choice {
			return optionLabel(o)
		}
	}
	return ans.Choice
}

// optionLabel is the letter of the option at index o: A, B, …
func optionLabel(o int) string { return string(rune('A' + o)) }
