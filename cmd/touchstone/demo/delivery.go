package demo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/psychometrics"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// MinCalibrationPilots is the least number of pilot candidates per exam
// from which Load calibrates the items. The 3PL fit is stable from a few
// hundred responses per item; below this (small test loads) an item may
// have no wrong answer at all, so the items keep the parameters of the
// content file instead, recorded with N = 0.
const MinCalibrationPilots = 200

// The adaptive exam's settings: it ends once the posterior SD of θ is at
// most CATSETarget after at least CATMinItems items, and at CATMaxItems in
// any case. Each item is the most informative one the content balance
// allows. With 72 items of slopes near 1 and guessing near 0.2 the bank is
// modest: a simulation of 1,000 candidates put the mean SE after 20 items
// at 0.45, so the target is 0.40 with room for up to 30 items: in
// `touchstone psych cat-sim` on the bank's parameters, 71% of tests end on
// the SE rule, after 25.6 items on average.
const (
	CATSETarget = 0.40
	CATMinItems = 8
	CATMaxItems = 30
)

// slopePrior is the prior on the slopes of the calibration: log a ~ N(0,
// 0.5²), BILOG-MG's default, which keeps a 3PL slope from running away on
// a pilot of a thousand. The guessing parameter keeps CalibrateMML's
// default Beta(5, 17) prior, whose mode 0.2 suits four-option items.
var slopePrior = psychometrics.LogNormalPrior{Mu: 0, Sigma: 0.5}

// calibrate estimates the 3PL parameters of every item of exams from the
// pilot responses and stores them (actor "system", N = pilot candidates
// per exam).
//
// The exams are calibrated concurrently: one matrix stacks the pilot
// attempts of every exam, each row holding one attempt's responses and
// NaN for the items of the other exams. The pilot candidates of every exam
// are draws from one population, which MML takes as N(0, 1), so one fit
// puts the 72 items on one θ scale with no linking step: the randomly
// equivalent groups design. (The same pilots sat every exam, which a
// common-person design could exploit, but the response matrix does not
// say who sat an attempt, and the groups design needs nothing more.)
func (l *loader) calibrate(ctx context.Context, exams []demoExam) error {
	if l.o.HistoryPerExam < MinCalibrationPilots {
		for _, e := range exams {
			for j, it := range e.items {
				p := e.irt[j]
				if err := l.d.Items.SetParams(ctx, "system", it.ID, items.Params{Model: "3PL", A: p.A, B: p.B, C: p.C}); err != nil {
					return fmt.Errorf("demo: %s parameters: %w", e.exam.Slug, err)
				}
			}
		}
		return nil
	}
	blocks := make([]*mat.Dense, len(exams))
	rows, cols := 0, 0
	for i, e := range exams {
		x, _, err := l.d.Assess.ResponseMatrix(ctx, e.exam.ID)
		if err != nil {
			return fmt.Errorf("demo: %s responses: %w", e.exam.Slug, err)
		}
		if x == nil {
			return fmt.Errorf("demo: %s has no pilot responses to calibrate", e.exam.Slug)
		}
		blocks[i] = x
		r, _ := x.Dims()
		rows += r
		cols += len(e.items)
	}
	x := mat.NewDense(rows, cols, nil)
	for i := range rows {
		for j := range cols {
			x.Set(i, j, math.NaN())
		}
	}
	r0, c0 := 0, 0
	for _, b := range blocks {
		r, c := b.Dims()
		x.Slice(r0, r0+r, c0, c0+c).(*mat.Dense).Copy(b)
		r0, c0 = r0+r, c0+c
	}
	cal, err := psychometrics.CalibrateMML(x, psychometrics.MMLSettings{Model: psychometrics.Model3PL,
		SlopePrior: &slopePrior, SE: psychometrics.SENone})
	if err != nil {
		return fmt.Errorf("demo: calibration: %w", err)
	}
	if !cal.Converged {
		return errors.New("demo: calibration: EM did not converge")
	}
	j := 0
	for _, e := range exams {
		for _, it := range e.items {
			p := cal.Items[j]
			j++
			if err := l.d.Items.SetParams(ctx, "system", it.ID, items.Params{Model: "3PL", A: p.A, B: p.B, C: p.C,
				N: l.o.HistoryPerExam}); err != nil {
				return fmt.Errorf("demo: %s parameters: %w", e.exam.Slug, err)
			}
		}
	}
	return nil
}

// pool is the item bank of the fixed exams as one demoExam (items and
// their generating parameters), for the exams delivered from the bank.
func pool(exams []demoExam) demoExam {
	var out demoExam
	for _, e := range exams {
		out.items = append(out.items, e.items...)
		out.irt = append(out.irt, e.irt...)
	}
	return out
}

// setEnemies records the content's enemy pairs in the bank, as the author.
// SetEnemies replaces an item's whole list, so each item gets all of its
// enemies in one call.
func (l *loader) setEnemies(ctx context.Context, exams []demoExam) error {
	bySlug := map[string]demoExam{}
	for _, e := range exams {
		bySlug[e.exam.Slug] = e
	}
	enemies := map[string][]string{}
	for _, en := range l.c.Enemies {
		e := bySlug[en.Exam]
		a, b := e.items[en.Items[0]-1].ID, e.items[en.Items[1]-1].ID
		enemies[a] = append(enemies[a], b)
		enemies[b] = append(enemies[b], a)
	}
	for _, id := range slices.Sorted(maps.Keys(enemies)) {
		if err := l.d.Items.SetEnemies(ctx, l.users[auth.Author], id, enemies[id]); err != nil {
			return fmt.Errorf("demo: enemies of %s: %w", id, err)
		}
	}
	return nil
}

// bankDomains returns the blueprint domains of every fixed exam, in
// order, with the number of bank items in each.
func (l *loader) bankDomains() ([]assess.Domain, []int) {
	var domains []assess.Domain
	var counts []int
	for _, ec := range l.c.Exams {
		for _, dc := range ec.Domains {
			n := 0
			for _, ic := range ec.Items {
				if ic.Domain == dc.Code {
					n++
				}
			}
			domains = append(domains, assess.Domain{Code: dc.Code, Name: dc.Name, Description: dc.Description, Skill: dc.Skill})
			counts = append(counts, n)
		}
	}
	return domains, counts
}

// createAdaptive creates the adaptive exam over the whole calibrated bank,
// content-balanced by domain weights proportional to the bank (so each
// badge's skill areas get the share they have in their own exam), and
// returns it with its pool for the standard-setting study.
func (l *loader) createAdaptive(ctx context.Context, program assess.Program, bank demoExam) (demoExam, error) {
	dc := l.c.Adaptive
	domains, counts := l.bankDomains()
	for i := range domains {
		domains[i].Weight = float64(counts[i]) / float64(len(bank.items))
	}
	e, err := l.d.Assess.CreateExam(ctx, assess.Exam{ProgramID: program.ID, Slug: dc.Slug, Title: dc.Title, Description: dc.Description,
		Instructions: dc.Instructions, Duration: time.Duration(dc.DurationMinutes) * time.Minute, Domains: domains,
		ItemIDs: itemIDs(bank.items), Mode: assess.ModeCAT, Scale: l.c.Scale,
		CAT: assess.CATSettings{SETarget: CATSETarget, MinItems: CATMinItems, MaxItems: CATMaxItems}})
	if err != nil {
		return demoExam{}, fmt.Errorf("demo: %s exam: %w", dc.Slug, err)
	}
	return demoExam{exam: e, items: bank.items, irt: bank.irt, title: dc.Title}, nil
}

// createOnTheFly creates the LOFT exam over the whole calibrated bank: each
// form takes the content's number of items, apportioned to the domains in
// proportion to the bank, avoids enemy pairs and keeps items already on
// more than the content's max exposure of forms off new ones.
func (l *loader) createOnTheFly(ctx context.Context, program assess.Program, bank demoExam) (demoExam, error) {
	dc := l.c.OnTheFly
	domains, counts := l.bankDomains()
	for i, n := range apportion(counts, dc.Items) {
		domains[i].Count = n
	}
	e, err := l.d.Assess.CreateExam(ctx, assess.Exam{ProgramID: program.ID, Slug: dc.Slug, Title: dc.Title, Description: dc.Description,
		Instructions: dc.Instructions, Duration: time.Duration(dc.DurationMinutes) * time.Minute, Domains: domains,
		ItemIDs: itemIDs(bank.items), Mode: assess.ModeLOFT, Scale: l.c.Scale, LOFT: assess.LOFTSettings{MaxExposure: dc.MaxExposure}})
	if err != nil {
		return demoExam{}, fmt.Errorf("demo: %s exam: %w", dc.Slug, err)
	}
	return demoExam{exam: e, items: bank.items, irt: bank.irt, title: dc.Title}, nil
}

// apportion splits total in proportion to weights by the largest-remainder
// (Hamilton) method, ties to the earlier weight, so the parts sum to total.
func apportion(weights []int, total int) []int {
	sum := 0
	for _, w := range weights {
		sum += w
	}
	out := make([]int, len(weights))
	rest := make([]float64, len(weights))
	given := 0
	for i, w := range weights {
		q := float64(w) * float64(total) / float64(sum)
		out[i] = int(q)
		rest[i] = q - float64(out[i])
		given += out[i]
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case rest[a] > rest[b]:
			return -1
		case rest[a] < rest[b]:
			return 1
		}
		return 0
	})
	for _, i := range order[:total-given] {
		out[i]++
	}
	return out
}

func itemIDs(its []items.Item) []string {
	ids := make([]string, len(its))
	for i, it := range its {
		ids[i] = it.ID
	}
	return ids
}

// The accommodation of the second demo candidate on the first exam.
const (
	AccommodationTime  = 1.5
	AccommodationBreak = 10 * time.Minute
)

// accommodate has the program manager grant the second demo candidate
// extended time and extra breaks on exam e.
func (l *loader) accommodate(ctx context.Context, e demoExam) error {
	_, err := l.d.Assess.SetAccommodation(ctx, l.users[auth.ProgramManager], assess.Accommodation{ExamID: e.exam.ID,
		CandidateID: l.accommodated, TimeMultiplier: AccommodationTime, ExtraBreak: AccommodationBreak,
		Note: "Approved request: extended time (×1.5) and 10 minutes of rest breaks, on the evidence of a documented disability."})
	if err != nil {
		return fmt.Errorf("demo: %s accommodation: %w", e.exam.Slug, err)
	}
	return nil
}
