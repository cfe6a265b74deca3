package assess

import (
	"context"

	"gonum.org/v1/gonum/mat"

	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

// MinDIFGroup is the fewest attempts a reference or focal group must have
// for a DIF analysis: with fewer, the Mantel–Haenszel strata are too thin
// for the statistics, and the ETS classes, to mean anything, and a small
// group comes close to identifying the candidates in it.
const MinDIFGroup = 30

// DIFItem is the Mantel–Haenszel analysis of one item.
type DIFItem struct {
	ItemID  string
	Pretest bool
	psychometrics.DIFResult
}

// DIFReport is a DIF analysis of an exam between two groups of a
// demographic variable.
type DIFReport struct {
	ExamID    string
	Variable  Variable
	Reference Choice
	Focal     Choice
	// NReference and NFocal count the attempts of each group analysed.
	NReference, NFocal int
	Items              []DIFItem // in the exam's item order
}

// DIF compares the exam's items between two groups of candidates — those
// who answered variable with reference and with focal — by the
// Mantel–Haenszel procedure with the settings of `touchstone psych dif`
// (an unanswered or unadministered item scores 0, persons matched on
// their total score). Every submitted attempt of a candidate in either
// group is a person.
//
// It returns a *valid.Error naming the field for an unknown variable, a
// value that is not a group ("prefer not to say" is not), equal groups,
// or a group with fewer than MinDIFGroup attempts; ErrNotFound for an
// unknown exam.
func (s *Service) DIF(ctx context.Context, examID, variable, reference, focal string) (DIFReport, error) {
	v, ok := DemographicVariable(variable)
	if !ok {
		return DIFReport{}, valid.Errorf("variable", "is not a demographic variable")
	}
	group := func(field, value string) (Choice, error) {
		if value == "" {
			return Choice{}, valid.Errorf(field, "choose a group")
		}
		if value == PreferNotToSay || !v.allows(value) {
			return Choice{}, valid.Errorf(field, "is not a group of %s", v.Label)
		}
		return Choice{Value: value, Label: v.ChoiceLabel(value)}, nil
	}
	ref, err := group("reference", reference)
	if err != nil {
		return DIFReport{}, err
	}
	foc, err := group("focal", focal)
	if err != nil {
		return DIFReport{}, err
	}
	if ref.Value == foc.Value {
		return DIFReport{}, valid.Errorf("focal", "must differ from the reference group")
	}
	exam, err := s.Exam(ctx, examID)
	if err != nil {
		return DIFReport{}, err
	}
	values, err := s.attemptValues(ctx, examID, variable)
	if err != nil {
		return DIFReport{}, err
	}
	x, attempts, err := s.responseMatrix(ctx, exam)
	if err != nil {
		return DIFReport{}, err
	}
	var rows []int
	var isFocal []bool
	nRef, nFoc := 0, 0
	for i, id := range attempts {
		switch values[id] {
		case ref.Value:
			rows, isFocal = append(rows, i), append(isFocal, false)
			nRef++
		case foc.Value:
			rows, isFocal = append(rows, i), append(isFocal, true)
			nFoc++
		}
	}
	if nRef < MinDIFGroup {
		return DIFReport{}, valid.Errorf("reference", "has %d attempts; a DIF analysis needs at least %d in each group", nRef, MinDIFGroup)
	}
	if nFoc < MinDIFGroup {
		return DIFReport{}, valid.Errorf("focal", "has %d attempts; a DIF analysis needs at least %d in each group", nFoc, MinDIFGroup)
	}
	_, k := x.Dims()
	sub := mat.NewDense(len(rows), k, nil)
	for r, i := range rows {
		sub.SetRow(r, x.RawRowView(i))
	}
	scored, _ := psychometrics.ApplyMissing(sub, psychometrics.MissingZero)
	res, err := psychometrics.MantelHaenszel(scored, isFocal, psychometrics.DIFSettings{})
	if err != nil {
		return DIFReport{}, err
	}
	pretest := pretestItems(exam)
	out := DIFReport{ExamID: exam.ID, Variable: v, Reference: ref, Focal: foc, NReference: nRef, NFocal: nFoc}
	for j, r := range res {
		out.Items = append(out.Items, DIFItem{ItemID: exam.ItemIDs[j], Pretest: pretest[exam.ItemIDs[j]], DIFResult: r})
	}
	return out, nil
}
