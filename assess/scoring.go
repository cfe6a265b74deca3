package assess

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

// Reporting scale bases.
const (
	// ScaleRaw transforms the raw score (points).
	ScaleRaw = "raw"
	// ScaleTheta transforms the IRT ability estimate θ.
	ScaleTheta = "theta"
)

// Scale is a reporting scale: scaled = Intercept + Slope·x, where x is the
// raw score or θ (Basis), rounded to the nearest multiple of Step (1 when
// 0; halves away from zero) and clamped to [Min, Max]. The zero Scale
// reports raw scores as they are.
type Scale struct {
	Name      string  `json:"name"`
	Basis     string  `json:"basis,omitempty"` // ScaleRaw, ScaleTheta, or "" for none
	Slope     float64 `json:"slope,omitempty"`
	Intercept float64 `json:"intercept,omitempty"`
	Min       float64 `json:"min"`
	Max       float64 `json:"max"`
	Step      float64 `json:"step,omitempty"`
}

func finiteNumber(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func (sc Scale) validate() error {
	switch {
	case sc.Basis == "":
		return nil
	case sc.Basis != ScaleRaw && sc.Basis != ScaleTheta:
		return valid.Errorf("scale.basis", "must be %q or %q", ScaleRaw, ScaleTheta)
	case !finiteNumber(sc.Slope) || sc.Slope <= 0:
		return valid.Errorf("scale.slope", "must be a positive number")
	case !finiteNumber(sc.Intercept):
		return valid.Errorf("scale.intercept", "must be a number")
	case !finiteNumber(sc.Min) || !finiteNumber(sc.Max) || sc.Max <= sc.Min:
		return valid.Errorf("scale.max", "must be a number above min")
	case !finiteNumber(sc.Step) || sc.Step < 0:
		return valid.Errorf("scale.step", "must be a number ≥ 0")
	case strings.TrimSpace(sc.Name) == "":
		return valid.Errorf("scale.name", "is required")
	}
	return nil
}

func (sc Scale) step() float64 {
	if sc.Step > 0 {
		return sc.Step
	}
	return 1
}

// Apply returns x on the scale: transformed, rounded and clamped.
func (sc Scale) Apply(x float64) float64 {
	y := sc.Intercept + sc.Slope*x
	y = math.Round(y/sc.step()) * sc.step()
	return math.Min(math.Max(y, sc.Min), sc.Max)
}

// rawScale reports raw points as they are, from 0 to max.
func rawScale(max float64) Scale { return Scale{Name: "points", Min: 0, Max: max} }

// Domain feedback levels, by the share of the domain's points earned:
// strong from 75%, developing from 50%, focus below.
const (
	LevelStrong     = "strong"
	LevelDeveloping = "developing"
	LevelFocus      = "focus"
)

// feedback fills the percent, level and advice of a domain score. The
// advice names the domain and, where the blueprint has one, its skill
// statement or description.
func feedback(ds *DomainScore, d Domain) {
	ratio := 0.0
	if ds.Max > 0 {
		ratio = ds.Score / ds.Max
	}
	ds.Percent = int(math.Round(100 * ratio))
	// The skill statement ("Write formulas whose references …") says
	// what to practise; a description is the fallback.
	practise := strings.TrimRight(strings.TrimSpace(d.Skill), ".")
	if practise == "" {
		practise = strings.TrimRight(strings.TrimSpace(d.Description), ".")
	}
	switch {
	case ratio >= 0.75:
		ds.Level = LevelStrong
		ds.Feedback = fmt.Sprintf("%s is a strength: you answered most of its questions correctly.", ds.Name)
	case ratio >= 0.5:
		ds.Level = LevelDeveloping
		ds.Feedback = fmt.Sprintf("You have a working grasp of %s. Reviewing it will make your performance more consistent", ds.Name)
		if practise != "" {
			ds.Feedback = fmt.Sprintf("You have a working grasp of %s. To make it reliable, review the skill it tests: %s", ds.Name, practise)
		}
		ds.Feedback += "."
	default:
		ds.Level = LevelFocus
		ds.Feedback = fmt.Sprintf("%s gave you the most difficulty: start your review there", ds.Name)
		if practise != "" {
			ds.Feedback += ", with the skill it tests: " + practise
		}
		ds.Feedback += "."
	}
}

// scored is the outcome of scoring an attempt's responses.
type scored struct {
	total, max float64
	points     []float64 // per row
	maxes      []float64
	full       []bool // full credit
	domains    []DomainScore
}

// scoreRows scores each row's answer with its item's content (weights and
// partial credit as items.Content.Score defines them) and sums the scored
// rows (not pretest ones) overall and per blueprint domain.
func scoreRows(blueprint []Domain, rows []responseRow, contents []items.Content) scored {
	out := scored{points: make([]float64, len(rows)), maxes: make([]float64, len(rows)), full: make([]bool, len(rows))}
	idx := map[string]int{}
	for _, d := range blueprint {
		idx[d.Code] = len(out.domains)
		out.domains = append(out.domains, DomainScore{Code: d.Code, Name: d.Name})
	}
	for i, r := range rows {
		var a items.Answer
		if p := r.answer(); p != nil {
			a = *p
		}
		pts, max := contents[i].Score(a)
		out.points[i], out.maxes[i] = pts, max
		out.full[i] = !a.Empty() && pts >= max
		if !r.Scored {
			continue
		}
		j, ok := idx[r.Domain]
		if !ok {
			j = len(out.domains)
			idx[r.Domain] = j
			out.domains = append(out.domains, DomainScore{Code: r.Domain, Name: r.Domain})
		}
		out.domains[j].Max += max
		out.domains[j].Score += pts
		out.total += pts
		out.max += max
	}
	// Domains the form did not touch say nothing about the candidate.
	out.domains = slices.DeleteFunc(out.domains, func(d DomainScore) bool { return d.Max == 0 })
	for i := range out.domains {
		d := Domain{Name: out.domains[i].Name}
		for _, bd := range blueprint {
			if bd.Code == out.domains[i].Code {
				d = bd
			}
		}
		feedback(&out.domains[i], d)
	}
	return out
}

// score computes and stores the score of a just-submitted attempt inside tx.
//
// Points: each item earns items.Content.Score of its answer (its weight
// times the share of credit); pretest items are delivered but not counted.
//
// The decision, by the exam's approved standard (cut C of the standard's
// maximum M, the number of pool items it was set on):
//   - fixed forms and LOFT forms without full calibration: raw points ≥ the
//     cut on this form, C when the form's maximum is M (the pool as a form:
//     exactly as before), else C/M of the form's maximum points;
//   - CAT, and LOFT forms whose scored items are all calibrated: θ ≥ θ_cut,
//     where θ_cut solves τ(θ) = (C/M)·n over the n calibrated pool items
//     (psychometrics.ThetaForTrueScore), the proportion-correct cut carried
//     to the θ metric through the pool's test characteristic curve.
//
// θ is the EAP estimate (standard normal prior) from the full-credit 0/1
// responses to the scored items, computed whenever they are all calibrated.
// The scaled score and cut are Scale.Apply of θ and θ_cut (basis theta) or
// of the points and raw cut (basis raw). Rounding can put a failing score
// on the scaled cut, so a failing scaled score is capped one step below the
// scaled cut, and a passing one raised to it: the scale never contradicts
// the decision.
func (s *Service) score(ctx context.Context, tx *gorm.DB, attemptID string) error {
	return s.scoreAgainst(ctx, tx, attemptID, false)
}

// scoreAgainst scores the attempt against the exam's approved standard or,
// when cited is set and the attempt was decided before, against the
// standard version it was decided by: a re-score (after a rekey) changes
// the score, never the standard a decision cites.
func (s *Service) scoreAgainst(ctx context.Context, tx *gorm.DB, attemptID string, cited bool) error {
	var a attemptRow
	if err := first(tx, &a, "attempt", attemptID); err != nil {
		return err
	}
	_, err := s.scoreRow(ctx, tx, a, cited)
	return err
}

// decision is what scoring an attempt read and wrote, for a submit to go
// on with: the attempt's row as scored, its exam and the standard that
// decided it.
type decision struct {
	row  attemptRow
	exam Exam
	std  Standard
}

// scoreRow is scoreAgainst of the attempt's row as read inside tx.
func (s *Service) scoreRow(ctx context.Context, tx *gorm.DB, a attemptRow, cited bool) (decision, error) {
	s = s.in(tx)
	attemptID := a.ID
	std, err := standardInForce(tx, a.ExamID, s.now())
	if cited && a.StandardID != nil {
		var row standardRow
		if err = first(tx, &row, "standard", *a.StandardID); err == nil {
			std = row.standard()
		}
	}
	if err != nil {
		return decision{}, err
	}
	exam, err := s.Exam(ctx, a.ExamID)
	if err != nil {
		return decision{}, err
	}
	rows, versions, sc, err := s.mark(ctx, tx, exam, attemptID)
	if err != nil {
		return decision{}, err
	}

	// θ from the scored items, when every one is calibrated.
	var bank []psychometrics.Item3PL
	var resp []float64
	calibrated := true
	for i, r := range rows {
		if !r.Scored {
			continue
		}
		p := versions[r.ItemVersionID].Params
		if p == nil {
			calibrated = false
			break
		}
		bank = append(bank, psychometrics.Item3PL{A: p.A, B: p.B, C: p.C})
		resp = append(resp, boolScore(sc.full[i]))
	}
	var theta, thetaSE, thetaCut *float64
	if calibrated && len(bank) > 0 {
		est := psychometrics.ThetaEAP(bank, resp, psychometrics.Quadrature{})
		theta, thetaSE = &est.Theta, &est.SE
		if tc, ok, err := s.thetaCut(ctx, exam, std); err != nil {
			return decision{}, err
		} else if ok {
			thetaCut = &tc
		}
	}

	rawCut := std.Cut
	if std.MaxScore > 0 && sc.max != std.MaxScore {
		rawCut = std.Cut / std.MaxScore * sc.max
	}
	byTheta := (a.Mode == ModeCAT || a.Mode == ModeLOFT) && theta != nil && thetaCut != nil
	passed := sc.total >= rawCut
	if byTheta {
		passed = *theta >= *thetaCut
	}

	scale := exam.Scale
	var scaled, scaledCut float64
	switch {
	case scale.Basis == ScaleTheta && theta != nil && thetaCut != nil:
		scaled, scaledCut = scale.Apply(*theta), scale.Apply(*thetaCut)
	case scale.Basis == ScaleRaw:
		scaled, scaledCut = scale.Apply(sc.total), scale.Apply(rawCut)
	default:
		scale = rawScale(sc.max)
		scaled, scaledCut = sc.total, rawCut
	}
	if scale.Basis != "" {
		if passed {
			scaled = math.Max(scaled, scaledCut)
		} else if scaled >= scaledCut {
			scaled = math.Max(scaledCut-scale.step(), scale.Min)
		}
	}
	domains, _ := json.Marshal(sc.domains)
	scaleJSON, _ := json.Marshal(scale)
	var after attemptRow // as scored: the statement returns it
	err = tx.Model(&after).Clauses(clause.Returning{}).Where("id = ?", attemptID).Updates(map[string]any{
		"score": sc.total, "max_score": sc.max, "passed": passed && a.TerminatedAt == nil, // a terminated attempt never passes
		"standard_id": std.ID, "standard_version": std.Version, "domain_scores": string(domains),
		"theta": theta, "theta_se": thetaSE, "theta_cut": thetaCut, "cut": rawCut,
		"scaled_score": scaled, "scaled_cut": scaledCut, "scale": string(scaleJSON),
	}).Error
	return decision{row: after, exam: exam, std: std}, err
}

// mark scores each response of an attempt with its item version's current
// key and records the marks; it returns the responses, what scoring needs
// of their versions and the scores.
func (s *Service) mark(ctx context.Context, tx *gorm.DB, exam Exam, attemptID string) ([]responseRow, map[string]items.Scoring, scored, error) {
	var rows []responseRow
	if err := tx.Where("attempt_id = ?", attemptID).Order("position").Find(&rows).Error; err != nil {
		return nil, nil, scored{}, fmt.Errorf("assess: score: %w", err)
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ItemVersionID
	}
	versions, err := s.items.Scorings(ctx, ids)
	if err != nil {
		return nil, nil, scored{}, err
	}
	contents := make([]items.Content, len(rows))
	for i, r := range rows {
		contents[i] = versions[r.ItemVersionID].Content
	}
	sc := scoreRows(exam.Domains, rows, contents)
	if len(rows) == 0 {
		return rows, versions, sc, nil
	}
	// One statement for every mark: a submit holds the attempt's row lock
	// while it scores, and a statement per response was most of its time.
	var q strings.Builder
	args := make([]any, 0, 4*len(rows)+1)
	q.WriteString("WITH v (position, correct, points, max_points) AS (VALUES ")
	for i, r := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(CAST(? AS integer), CAST(? AS boolean), CAST(? AS double precision), CAST(? AS double precision))")
		args = append(args, r.Position, sc.full[i], sc.points[i], sc.maxes[i])
	}
	q.WriteString(") UPDATE responses SET correct = v.correct, points = v.points, max_points = v.max_points" +
		" FROM v WHERE responses.attempt_id = ? AND responses.position = v.position")
	args = append(args, attemptID)
	if err := tx.Exec(q.String(), args...).Error; err != nil {
		return nil, nil, scored{}, fmt.Errorf("assess: score: %w", err)
	}
	return rows, versions, sc, nil
}

func boolScore(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// thetaCut carries the standard's proportion-correct cut to the θ metric
// over the calibrated items of the exam's pool (see score). ok is false
// when no pool item is calibrated. A cut at or below the pool's guessing
// floor is −∞ (everyone passes); one at or above its maximum, +∞.
func (s *Service) thetaCut(ctx context.Context, exam Exam, std Standard) (float64, bool, error) {
	pool, err := s.items.CurrentParams(ctx, exam.ItemIDs)
	if err != nil {
		return 0, false, err
	}
	var bank []psychometrics.Item3PL
	for _, p := range pool {
		bank = append(bank, psychometrics.Item3PL{A: p.A, B: p.B, C: p.C})
	}
	if len(bank) == 0 || std.MaxScore <= 0 {
		return 0, false, nil
	}
	target := std.Cut / std.MaxScore * float64(len(bank))
	tc, err := psychometrics.ThetaForTrueScore(bank, target)
	if err != nil {
		var floor float64
		for _, it := range bank {
			floor += it.C
		}
		if target <= floor {
			return math.Inf(-1), true, nil
		}
		return math.Inf(1), true, nil
	}
	return tc, true, nil
}

// maxTextAnswer bounds a text answer, in bytes.
const maxTextAnswer = 2000

// checkAnswer checks that a (not empty) fits the item: the field its kind
// reads, and only that one, naming the JSON field at fault.
func checkAnswer(c items.Content, a items.Answer) error {
	only := func(field string, ok bool) error {
		if !ok {
			return valid.Errorf("answer", "a %s answer has only %s", c.ItemKind(), field)
		}
		return nil
	}
	options := map[string]bool{}
	for _, o := range c.Options {
		options[o.ID] = true
	}
	switch c.ItemKind() {
	case items.SingleChoice, items.TrueFalse:
		if err := only("choice", len(a.Choices) == 0 && a.Text == "" && len(a.Pairs) == 0); err != nil {
			return err
		}
		if !options[a.Choice] {
			return valid.Errorf("answer.choice", "is not an option of this item")
		}
	case items.MultipleResponse, items.Ordering:
		if err := only("choices", a.Choice == "" && a.Text == "" && len(a.Pairs) == 0); err != nil {
			return err
		}
		seen := map[string]bool{}
		for i, ch := range a.Choices {
			field := fmt.Sprintf("answer.choices[%d]", i)
			if !options[ch] {
				return valid.Errorf(field, "is not an option of this item")
			}
			if seen[ch] {
				return valid.Errorf(field, "repeats %q", ch)
			}
			seen[ch] = true
		}
		if c.ItemKind() == items.Ordering && len(a.Choices) != len(c.Options) {
			return valid.Errorf("answer.choices", "must list all %d options in your order", len(c.Options))
		}
	case items.Numeric:
		if err := only("text", a.Choice == "" && len(a.Choices) == 0 && len(a.Pairs) == 0); err != nil {
			return err
		}
		if _, ok := items.ParseNumber(a.Text); !ok {
			return valid.Errorf("answer.text", "must be a number, such as 3.14 or -2,5")
		}
	case items.ShortText:
		if err := only("text", a.Choice == "" && len(a.Choices) == 0 && len(a.Pairs) == 0); err != nil {
			return err
		}
		if len(a.Text) > maxTextAnswer {
			return valid.Errorf("answer.text", "must be at most %d characters", maxTextAnswer)
		}
	case items.Matching:
		if err := only("pairs", a.Choice == "" && len(a.Choices) == 0 && a.Text == ""); err != nil {
			return err
		}
		targets := map[string]bool{}
		for _, t := range c.Targets {
			targets[t.ID] = true
		}
		for _, o := range slices.Sorted(maps.Keys(a.Pairs)) {
			if !options[o] {
				return valid.Errorf("answer.pairs."+o, "is not an option of this item")
			}
			if !targets[a.Pairs[o]] {
				return valid.Errorf("answer.pairs."+o, "is not a target of this item")
			}
		}
	}
	return nil
}
