package assess

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess/assembly"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

// delivery is what Start delivers: the fixed form chosen, if any, and the
// response rows (the form itself) without their attempt id.
type delivery struct {
	formID string
	rows   []responseRow
}

// plan chooses what a new attempt delivers, by the exam's mode.
func (s *Service) plan(ctx context.Context, exam Exam, candidateID string, seed uint64) (delivery, error) {
	switch exam.Mode {
	case ModeLOFT:
		return s.planLOFT(ctx, exam, seed)
	case ModeCAT:
		return s.planCAT(ctx, exam, seed)
	}
	return s.planFixed(ctx, exam, candidateID)
}

// deliverable reports whether an item may be delivered now.
func deliverable(it items.Item) bool { return it.Deliverable() }

func newRow(position int, it items.Item, section string, scored bool) responseRow {
	return responseRow{Position: position, ItemID: it.ID, ItemVersionID: it.VersionID, Domain: it.Domain,
		Section: section, Scored: scored, MaxPoints: it.MaxPoints()}
}

// planFixed delivers the form chosen for the candidate or, for an exam
// without forms, its whole pool in order.
func (s *Service) planFixed(ctx context.Context, exam Exam, candidateID string) (delivery, error) {
	if len(exam.Forms) == 0 {
		pool, err := s.items.Delivered(ctx, exam.ItemIDs)
		if err != nil {
			return delivery{}, err
		}
		var d delivery
		for _, it := range pool {
			if deliverable(it) {
				d.rows = append(d.rows, newRow(len(d.rows)+1, it, "", true))
			}
		}
		if len(d.rows) == 0 {
			return delivery{}, fmt.Errorf("%w: no deliverable items", ErrNotAvailable)
		}
		return d, nil
	}
	form, err := s.chooseForm(ctx, exam, candidateID)
	if err != nil {
		return delivery{}, err
	}
	current, err := s.items.Delivered(ctx, form.ItemIDs())
	if err != nil {
		return delivery{}, err
	}
	byID := map[string]items.Item{}
	for _, it := range current {
		byID[it.ID] = it
	}
	d := delivery{formID: form.ID}
	for _, sec := range form.Sections {
		for _, fi := range sec.Items {
			if it, ok := byID[fi.ItemID]; ok && deliverable(it) {
				d.rows = append(d.rows, newRow(len(d.rows)+1, it, sec.Title, !fi.Pretest))
			}
		}
	}
	if len(d.rows) == 0 {
		return delivery{}, fmt.Errorf("%w: form %s has no deliverable items", ErrNotAvailable, form.Name)
	}
	return d, nil
}

// chooseForm picks the least-used form of the exam (ties to the first),
// among those the candidate has not sat when the policy asks for a
// different form on retake and one is left.
func (s *Service) chooseForm(ctx context.Context, exam Exam, candidateID string) (Form, error) {
	type use struct {
		FormID string
		N      int
	}
	var uses []use
	formIDs := make([]string, len(exam.Forms))
	for i, f := range exam.Forms {
		formIDs[i] = f.ID
	}
	// Counted as attempts are inserted (migration 00018), not here: a
	// count of the exam's attempts grew with every candidate.
	if err := s.db.WithContext(ctx).Table("form_deliveries").Select("form_id, delivered AS n").
		Where("form_id IN ?", formIDs).Find(&uses).Error; err != nil {
		return Form{}, fmt.Errorf("assess: form use: %w", err)
	}
	used := map[string]int{}
	for _, u := range uses {
		used[u.FormID] = u.N
	}
	candidates := exam.Forms
	if exam.Policy.DifferentFormOnRetake {
		var sat []string
		if err := s.db.WithContext(ctx).Model(&attemptRow{}).
			Where("exam_id = ? AND candidate_id = ? AND form_id IS NOT NULL", exam.ID, candidateID).Pluck("form_id", &sat).Error; err != nil {
			return Form{}, fmt.Errorf("assess: forms sat: %w", err)
		}
		seen := map[string]bool{}
		for _, id := range sat {
			seen[id] = true
		}
		var fresh []Form
		for _, f := range exam.Forms {
			if !seen[f.ID] {
				fresh = append(fresh, f)
			}
		}
		if len(fresh) > 0 {
			candidates = fresh
		}
	}
	best := candidates[0]
	for _, f := range candidates[1:] {
		if used[f.ID] < used[best.ID] {
			best = f
		}
	}
	return best, nil
}

// planLOFT assembles a form for the candidate from the pool with
// assess/assembly: the blueprint's domain counts, the items' enemies, each
// item's exposure rate (its deliveries on this exam over the attempts
// started on it) against LOFTSettings.MaxExposure and, when every pool item is
// calibrated, a target information curve.
func (s *Service) planLOFT(ctx context.Context, exam Exam, seed uint64) (delivery, error) {
	current, err := s.items.Current(ctx, exam.ItemIDs)
	if err != nil {
		return delivery{}, err
	}
	var pool []items.Item
	for _, it := range current {
		if deliverable(it) {
			pool = append(pool, it)
		}
	}
	ids := make([]string, len(pool))
	for i, it := range pool {
		ids[i] = it.ID
	}
	enemies, err := s.items.Enemies(ctx, ids)
	if err != nil {
		return delivery{}, err
	}
	var started int64
	if err := s.db.WithContext(ctx).Model(&attemptRow{}).Where("exam_id = ? AND NOT simulated", exam.ID).Count(&started).Error; err != nil {
		return delivery{}, fmt.Errorf("assess: exposure: %w", err)
	}
	// An item's exposure rate is over this exam's forms: deliveries on
	// other exams that share the bank do not hold it back here.
	var counts []struct {
		ItemID string
		N      int64
	}
	if err := s.db.WithContext(ctx).Model(&responseRow{}).Select("responses.item_id AS item_id, COUNT(*) AS n").
		Joins("JOIN attempts ON attempts.id = responses.attempt_id").
		Where("attempts.exam_id = ? AND NOT attempts.simulated", exam.ID).
		Group("responses.item_id").Find(&counts).Error; err != nil {
		return delivery{}, fmt.Errorf("assess: exposure: %w", err)
	}
	delivered := make(map[string]int64, len(counts))
	for _, c := range counts {
		delivered[c.ItemID] = c.N
	}
	pretest := map[string]bool{}
	for _, id := range exam.LOFT.PretestItems {
		pretest[id] = true
	}
	in := make([]assembly.Item, len(pool))
	operational := 0
	calibrated := len(pool) > 0
	for i, it := range pool {
		in[i] = assembly.Item{ID: it.ID, Domain: it.Domain, Enemies: enemies[it.ID], Pretest: pretest[it.ID]}
		if started > 0 {
			in[i].Exposure = min(float64(delivered[it.ID])/float64(started), 1)
		}
		if it.Params != nil {
			in[i].IRT = &psychometrics.Item3PL{A: it.Params.A, B: it.Params.B, C: it.Params.C}
		}
		if in[i].Pretest {
			continue // being tried out: neither its parameters nor their lack count
		}
		operational++
		if it.Params == nil {
			calibrated = false
		}
	}
	calibrated = calibrated && operational > 0
	var bp assembly.Blueprint
	total := 0
	for _, d := range exam.Domains {
		if d.Count > 0 {
			bp.Domains = append(bp.Domains, assembly.DomainTarget{Domain: d.Code, Count: d.Count})
			total += d.Count
		}
	}
	rules := assembly.Rules{MaxExposure: exam.LOFT.MaxExposure, Tolerance: exam.LOFT.Tolerance,
		TargetTheta: exam.LOFT.TargetTheta, TargetInfo: exam.LOFT.TargetInfo, Pretest: exam.LOFT.Pretest}
	if rules.Tolerance == 0 {
		rules.Tolerance = 0.25
	}
	if len(rules.TargetTheta) == 0 && calibrated {
		rules.TargetTheta = []float64{-1, 0, 1}
		rules.TargetInfo = make([]float64, 3)
		for k, th := range rules.TargetTheta {
			var sum float64
			for _, it := range in {
				if !it.Pretest {
					sum += it.IRT.Info(th)
				}
			}
			rules.TargetInfo[k] = sum / float64(operational) * float64(total)
		}
	}
	if len(rules.TargetTheta) > 0 && !calibrated {
		rules.TargetTheta, rules.TargetInfo = nil, nil // uncalibrated items carry no information
	}
	form, err := assembly.Assemble(in, bp, rules, rand.New(rand.NewPCG(seed, 2)))
	if errors.Is(err, assembly.ErrInfeasible) {
		return delivery{}, fmt.Errorf("%w: %v", ErrNotAvailable, err)
	}
	if err != nil {
		return delivery{}, err
	}
	byID := map[string]items.Item{}
	for _, it := range pool {
		byID[it.ID] = it
	}
	var d delivery
	for _, id := range form.Items {
		d.rows = append(d.rows, newRow(len(d.rows)+1, byID[id], "", true))
	}
	// Pretest items go among the operational ones at random places, so a
	// candidate cannot tell them apart and answer them with less care.
	rng := rand.New(rand.NewPCG(seed, 3))
	for _, id := range form.Pretest {
		at := rng.IntN(len(d.rows) + 1)
		d.rows = slices.Insert(d.rows, at, newRow(0, byID[id], "", false))
	}
	for i := range d.rows {
		d.rows[i].Position = i + 1
	}
	return d, nil
}

// catPool returns the deliverable, calibrated items of the exam's pool, in
// pool order: the bank an adaptive test selects from.
func (s *Service) catPool(ctx context.Context, exam Exam) ([]items.Item, error) {
	current, err := s.items.Current(ctx, exam.ItemIDs)
	if err != nil {
		return nil, err
	}
	pretest := map[string]bool{}
	for _, id := range exam.CAT.PretestItems {
		pretest[id] = true
	}
	var pool []items.Item
	for _, it := range current {
		if deliverable(it) && it.Params != nil && !pretest[it.ID] {
			pool = append(pool, it)
		}
	}
	return pool, nil
}

// catPretest returns the pretest items an adaptive attempt gives, in the
// order it gives them, and after how many operational items each comes:
// distinct places among the first MinItems−1, so that every test, however
// short, reaches them. Both depend only on the attempt's seed.
func (s *Service) catPretest(ctx context.Context, exam Exam, seed uint64) ([]items.Item, []int, error) {
	if exam.CAT.Pretest == 0 {
		return nil, nil, nil
	}
	current, err := s.items.Current(ctx, exam.CAT.PretestItems)
	if err != nil {
		return nil, nil, err
	}
	var trial []items.Item
	for _, it := range current {
		if deliverable(it) {
			trial = append(trial, it)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 4))
	rng.Shuffle(len(trial), func(i, j int) { trial[i], trial[j] = trial[j], trial[i] })
	n := min(exam.CAT.Pretest, len(trial), exam.CAT.MinItems-1)
	after := rng.Perm(exam.CAT.MinItems - 1)[:n] // 0-based: after 1 … MinItems−1 operational items
	for i := range after {
		after[i]++
	}
	slices.Sort(after)
	return trial[:n], after, nil
}

// newCAT returns the adaptive test of an attempt over pool, before any
// response. Its random source depends only on the attempt's seed and the
// number of items already given, so selection is reproducible.
func newCAT(exam Exam, pool []items.Item, seed uint64, given int) *psychometrics.CAT {
	bank := make([]psychometrics.Item3PL, len(pool))
	areas := make([]string, len(pool))
	for i, it := range pool {
		bank[i] = psychometrics.Item3PL{A: it.Params.A, B: it.Params.B, C: it.Params.C}
		areas[i] = it.Domain
	}
	set := psychometrics.CATSettings{MinItems: exam.CAT.MinItems, MaxItems: exam.CAT.MaxItems,
		SETarget: exam.CAT.SETarget, Randomesque: exam.CAT.Randomesque}
	for _, d := range exam.Domains {
		if d.Weight > 0 {
			if set.Blueprint == nil {
				set.Blueprint = map[string]float64{}
			}
			set.Blueprint[d.Code] = d.Weight
		}
	}
	return psychometrics.NewCAT(bank, areas, set, rand.New(rand.NewPCG(seed, 3+uint64(given))))
}

// planCAT delivers the first item of an adaptive test.
func (s *Service) planCAT(ctx context.Context, exam Exam, seed uint64) (delivery, error) {
	pool, err := s.catPool(ctx, exam)
	if err != nil {
		return delivery{}, err
	}
	if len(pool) == 0 {
		return delivery{}, fmt.Errorf("%w: no calibrated items", ErrNotAvailable)
	}
	j, done := newCAT(exam, pool, seed, 0).Next()
	if done {
		return delivery{}, fmt.Errorf("%w: no item the blueprint allows", ErrNotAvailable)
	}
	return delivery{rows: []responseRow{newRow(1, pool[j], "", true)}}, nil
}

// NextItem is the outcome of Next: the adaptive test has ended (Done), or
// Question is the item appended to the attempt.
type NextItem struct {
	Done     bool
	Question *Question
}

// Next moves an adaptive attempt on: it scores the saved answers (full
// credit 1, else 0), updates the EAP estimate of θ and either appends the
// most informative next item under the exam's content balance and exposure
// control, or ends the test by the SE target or maximum length (or an
// exhausted bank), after which it keeps answering Done. The candidate
// cannot go back: earlier items are fixed once the next is given.
//
// It fails with ErrUnanswered when the current item has no saved answer,
// ErrClosed after submission or the deadline, ErrPaused during a break, and
// ErrConflict for an attempt that is not adaptive.
func (s *Service) Next(ctx context.Context, attemptID string) (NextItem, error) {
	now := s.now().UTC()
	var out NextItem
	err := s.tx(ctx, func(tx *gorm.DB) error {
		sv := s.in(tx)
		// Take the attempt's row lock first, so that concurrent calls
		// choose one after the other.
		if err := tx.Model(&attemptRow{}).Where("id = ?", attemptID).Update("cat_done", gorm.Expr("cat_done")).Error; err != nil {
			return fmt.Errorf("assess: next: %w", err)
		}
		var a attemptRow
		if err := first(tx, &a, "attempt", attemptID); err != nil {
			return err
		}
		switch {
		case a.Status == InProgress && a.HeldAt != nil:
			return ErrHeld
		case a.Status != InProgress || now.After(a.Deadline.Add(s.Grace)):
			return ErrClosed
		case a.Mode != ModeCAT:
			return fmt.Errorf("%w: attempt %s is not adaptive", ErrConflict, attemptID)
		case a.attempt().Timing(now).Paused:
			return ErrPaused
		case a.CATDone:
			out.Done = true
			return nil
		}
		var rows []responseRow
		if err := tx.Where("attempt_id = ?", attemptID).Order("position").Find(&rows).Error; err != nil {
			return fmt.Errorf("assess: next: %w", err)
		}
		if len(rows) == 0 || rows[len(rows)-1].answer() == nil {
			return ErrUnanswered
		}
		exam, err := sv.Exam(ctx, a.ExamID)
		if err != nil {
			return err
		}
		pool, err := sv.catPool(ctx, exam)
		if err != nil {
			return err
		}
		vids := make([]string, len(rows))
		for i, r := range rows {
			vids[i] = r.ItemVersionID
		}
		versions, err := sv.items.Versions(ctx, vids)
		if err != nil {
			return err
		}
		index := map[string]int{}
		for j, it := range pool {
			index[it.ID] = j
		}
		cat := newCAT(exam, pool, uint64(a.Seed), len(rows))
		operational, tried := 0, 0
		for _, r := range rows {
			if !r.Scored {
				tried++
				continue // a pretest item: it informs neither θ nor the length
			}
			operational++
			j, ok := index[r.ItemID]
			if !ok {
				continue // retired since it was given: it no longer informs selection
			}
			pts, max := versions[r.ItemVersionID].Content.Score(*r.answer())
			cat.Record(j, boolScore(pts >= max))
		}
		trial, after, err := sv.catPretest(ctx, exam, uint64(a.Seed))
		if err != nil {
			return err
		}
		if tried < len(trial) && operational >= after[tried] {
			row := newRow(len(rows)+1, trial[tried], "", false)
			row.AttemptID = attemptID
			if err := tx.Create(&row).Error; err != nil {
				return fmt.Errorf("assess: next: %w", err)
			}
			if err := sv.items.AddExposures(ctx, []string{row.ItemID}); err != nil {
				return err
			}
			q := s.question(row, trial[tried].Content, uint64(a.Seed))
			out.Question = &q
			return nil
		}
		j, done := cat.Next()
		if done || (exam.CAT.MaxItems > 0 && operational >= exam.CAT.MaxItems) {
			out.Done = true
			return tx.Model(&attemptRow{}).Where("id = ?", attemptID).Update("cat_done", true).Error
		}
		row := newRow(len(rows)+1, pool[j], "", true)
		row.AttemptID = attemptID
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("assess: next: %w", err)
		}
		if err := sv.items.AddExposures(ctx, []string{row.ItemID}); err != nil {
			return err
		}
		q := s.question(row, pool[j].Content, uint64(a.Seed))
		out.Question = &q
		return nil
	})
	return out, err
}
