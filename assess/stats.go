package assess

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

// ResponseMatrix returns the scored responses of every submitted attempt of
// an exam as an attempts × items matrix of 0/1 (NaN where the item was not
// administered), columns in the exam's item order, with the attempt ids of
// the rows. It returns a nil matrix when nothing has been scored.
func (s *Service) ResponseMatrix(ctx context.Context, examID string) (*mat.Dense, []string, error) {
	exam, err := s.Exam(ctx, examID)
	if err != nil {
		return nil, nil, err
	}
	return s.responseMatrix(ctx, exam)
}

func (s *Service) responseMatrix(ctx context.Context, exam Exam) (*mat.Dense, []string, error) {
	type cell struct {
		AttemptID string
		ItemID    string
		Correct   *bool
	}
	var cells []cell
	err := s.db.WithContext(ctx).Table("responses").
		Select("responses.attempt_id, responses.item_id, responses.correct").
		Joins("JOIN attempts ON attempts.id = responses.attempt_id").
		Where("attempts.exam_id = ? AND attempts.status = ?", exam.ID, Submitted).
		Order("attempts.started_at, responses.attempt_id").Scan(&cells).Error
	if err != nil {
		return nil, nil, fmt.Errorf("assess: response matrix: %w", err)
	}
	col := index(exam.ItemIDs, func(id string) string { return id })
	var attempts []string
	row := map[string]int{}
	for _, c := range cells {
		if _, ok := row[c.AttemptID]; !ok {
			row[c.AttemptID] = len(attempts)
			attempts = append(attempts, c.AttemptID)
		}
	}
	if len(attempts) == 0 {
		return nil, nil, nil
	}
	m := mat.NewDense(len(attempts), len(exam.ItemIDs), nil)
	for i := range len(attempts) {
		for j := range len(exam.ItemIDs) {
			m.Set(i, j, math.NaN())
		}
	}
	for _, c := range cells {
		j, ok := col[c.ItemID]
		if !ok || c.Correct == nil {
			continue
		}
		v := 0.0
		if *c.Correct {
			v = 1
		}
		m.Set(row[c.AttemptID], j, v)
	}
	return m, attempts, nil
}

// ItemStatistics is the classical analysis of one item of an exam.
type ItemStatistics struct {
	Item items.Item
	psychometrics.ItemStats
}

// ExamStatistics is the classical analysis of an exam from its scored
// attempts.
type ExamStatistics struct {
	Exam  Exam
	Test  psychometrics.TestStats
	Items []ItemStatistics
}

// Statistics analyses every scored attempt of an exam: each item's p-value,
// point-biserial and item-rest correlation; the exam's alpha and SEM.
func (s *Service) Statistics(ctx context.Context, examID string) (ExamStatistics, error) {
	exam, err := s.Exam(ctx, examID)
	if err != nil {
		return ExamStatistics{}, err
	}
	bank, err := s.items.Working(ctx, exam.ItemIDs) // every item of the exam, in the matrix's column order
	if err != nil {
		return ExamStatistics{}, err
	}
	out := ExamStatistics{Exam: exam}
	m, _, err := s.responseMatrix(ctx, exam)
	if err != nil || m == nil {
		for _, it := range bank {
			out.Items = append(out.Items, ItemStatistics{Item: it})
		}
		return out, err
	}
	out.Test = psychometrics.TestAnalysis(m)
	stats := psychometrics.ItemAnalysis(m)
	for i, it := range bank {
		out.Items = append(out.Items, ItemStatistics{Item: it, ItemStats: stats[i]})
	}
	return out, nil
}
