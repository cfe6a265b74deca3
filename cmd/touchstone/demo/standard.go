package demo

import (
	"context"
	"fmt"
	"math"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// PanelSize is the number of panelists in each demo study.
const PanelSize = 8

// experts are the fictional subject-matter experts the demo panels are
// drawn from.
var experts = []assess.Panelist{
	{Name: "Amara Nwosu", Qualification: "Finance analyst, 9 years' spreadsheet modelling"},
	{Name: "Tomás Herrera", Qualification: "Operations manager in logistics; builds the weekly capacity reports"},
	{Name: "Mei-Ling Zhou", Qualification: "Chartered management accountant, 12 years of month-end reporting"},
	{Name: "Rahul Iyer", Qualification: "Retail data analyst, 6 years of pivot-table sales reporting"},
	{Name: "Siobhán Byrne", Qualification: "Spreadsheet trainer for adult learners, 15 years"},
	{Name: "Kwame Mensah", Qualification: "Small-business owner who keeps his own books and forecasts"},
	{Name: "Hannah Schultz", Qualification: "Marketing analyst; campaign dashboards and charts"},
	{Name: "Yusuf Demir", Qualification: "Internal auditor, reviews spreadsheet controls in finance teams"},
	{Name: "Lucía Fernández", Qualification: "HR analyst; headcount and payroll reporting, 7 years"},
	{Name: "Aiko Tanaka", Qualification: "Business-intelligence developer, former spreadsheet power user"},
	{Name: "Olusegun Adeyemi", Qualification: "Procurement analyst, supplier-spend analysis, 8 years"},
	{Name: "Ingrid Johansson", Qualification: "Secondary-school mathematics teacher who teaches spreadsheet modelling"},
	{Name: "Marcus Reid", Qualification: "Sales-operations lead; quota and pipeline reports"},
	{Name: "Fatima Al-Sayed", Qualification: "Public-health data officer; survey tabulation and charts"},
	{Name: "An Nguyen", Qualification: "Junior analyst, 2 years' experience; recently new to the role"},
	{Name: "Zofia Kowalska", Qualification: "Data-visualisation consultant, 10 years"},
}

// The simulated panel: a panelist's rating of an item is the 3PL
// probability that the minimally competent candidate answers it, plus the
// panelist's persistent severity (centred over the panel, so that the
// panel as a whole aims at the intended θ) and noise of the item judgement.
// After discussion of round 1 each panelist moves discussionPull of the
// way towards the panel's mean rating of the item.
const (
	severitySD     = 0.08
	judgementSD    = 0.07
	discussionPull = 0.5
	round2SD       = 0.02
)

// setStandard runs an exam's two-round modified-Angoff study as a program
// manager facilitates one whose panel rated on paper: the ratings of each
// round are transcribed, the feedback released between rounds, and the
// panel's recommended cut adopted as the exam's standard.
func (l *loader) setStandard(ctx context.Context, e demoExam) error {
	manager := l.users[auth.ProgramManager]
	panel := make([]assess.Panelist, PanelSize)
	for i, k := range l.panels.Perm(len(experts))[:PanelSize] {
		panel[i] = experts[k]
	}
	title := fmt.Sprintf("%s — modified-Angoff study, %s", e.title, l.o.Now().Format("January 2006"))
	study, err := l.d.Assess.CreateStudy(ctx, manager, assess.Study{ExamID: e.exam.ID, Title: title, Panelists: panel, MCC: mcc})
	if err != nil {
		return fmt.Errorf("demo: %s study: %w", e.exam.Slug, err)
	}

	round1, round2 := l.ratings(e)
	for round, values := range [][][]float64{round1, round2} {
		if round > 0 {
			if _, err := l.d.Assess.OpenNextRound(ctx, manager, study.ID); err != nil {
				return fmt.Errorf("demo: %s round %d: %w", e.exam.Slug, round+1, err)
			}
		}
		var ratings []assess.Rating
		for p, row := range values {
			for j, v := range row {
				ratings = append(ratings, assess.Rating{PanelistID: study.Panelists[p].ID, ItemID: e.items[j].ID, Round: round + 1, Value: v})
			}
		}
		if err := l.d.Assess.RecordRatings(ctx, study.ID, ratings); err != nil {
			return fmt.Errorf("demo: %s ratings, round %d: %w", e.exam.Slug, round+1, err)
		}
		if _, err := l.d.Assess.ReleaseFeedback(ctx, manager, study.ID); err != nil {
			return fmt.Errorf("demo: %s feedback, round %d: %w", e.exam.Slug, round+1, err)
		}
	}

	rec, err := l.d.Assess.StudyRecommendation(ctx, study.ID)
	if err != nil {
		return fmt.Errorf("demo: %s recommendation: %w", e.exam.Slug, err)
	}
	if _, err := l.d.Assess.AdoptStandard(ctx, manager, study.ID, assess.Adoption{Cut: rec.Cut}); err != nil {
		return fmt.Errorf("demo: %s standard: %w", e.exam.Slug, err)
	}
	return nil
}

// mcc is the demo panels' definition of the minimally competent candidate.
const mcc = "Uses a spreadsheet at work every week without help: writes and copies everyday formulas with the right references, " +
	"summarises a table with a pivot table, and picks and reads a suitable chart; still looks up less common functions."

// ratings returns the panel's two rounds of ratings of e, panelists ×
// items, each clipped to [0.05, 0.95] and rounded to 0.05 as panelists
// rate.
func (l *loader) ratings(e demoExam) (round1, round2 [][]float64) {
	rng := l.panels
	severity := make([]float64, PanelSize)
	var mean float64
	for p := range severity {
		severity[p] = severitySD * rng.NormFloat64()
		mean += severity[p] / PanelSize
	}
	round1, round2 = make([][]float64, PanelSize), make([][]float64, PanelSize)
	for p := range round1 {
		round1[p], round2[p] = make([]float64, len(e.items)), make([]float64, len(e.items))
		for j, it := range e.irt {
			round1[p][j] = asRated(it.P(MinimallyCompetentTheta) + severity[p] - mean + judgementSD*rng.NormFloat64())
		}
	}
	for j := range e.items {
		var itemMean float64
		for p := range round1 {
			itemMean += round1[p][j] / PanelSize
		}
		for p := range round2 {
			r := round1[p][j]
			round2[p][j] = asRated(r + discussionPull*(itemMean-r) + round2SD*rng.NormFloat64())
		}
	}
	return round1, round2
}

// asRated clips a probability to [0.05, 0.95] and rounds it to the nearest
// 0.05.
func asRated(p float64) float64 {
	p = math.Round(min(max(p, 0.05), 0.95)*20) / 20
	return math.Round(p*100) / 100 // 0.65, not 0.6500000000000001
}
