package assess

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
	"gonum.org/v1/gonum/mat"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

// Standard statuses. A standard is proposed from a study, then approved by
// a program manager; approving one supersedes the exam's previous standard.
// An approved standard is never edited.
const (
	Proposed   = "proposed"
	Approved   = "approved"
	Superseded = "superseded"
)

// MethodModifiedAngoff names the modified-Angoff standard-setting method.
const MethodModifiedAngoff = "modified-Angoff"

// Standard is a cut score with the evidence behind it.
type Standard struct {
	ID                  string
	ExamID              string
	Version             int
	StudyID             string
	Method              string
	Panelists           int
	Cut                 float64 // raw-score units; a pass is score >= Cut
	MaxScore            float64
	CutSE               float64 // standard error of the cut across panelists
	Reliability         float64 // Cronbach's alpha of the exam's scored attempts
	DecisionConsistency float64 // Subkoviak's agreement at the cut
	// ClassificationAccuracy is the probability that the decision matches
	// the true-score decision (Livingston & Lewis); CSEMAtCut is Lord's binomial
	// conditional SEM at the cut, in raw points. Nil when not estimated.
	ClassificationAccuracy *float64
	CSEMAtCut              *float64
	Status                 string
	ProposedBy             string
	ApprovedBy             string
	ApprovedAt             *time.Time
	CreatedAt              time.Time
}

type standardRow struct {
	ID                  string     `gorm:"column:id;primaryKey"`
	ExamID              string     `gorm:"column:exam_id"`
	Version             int        `gorm:"column:version"`
	StudyID             *string    `gorm:"column:study_id"`
	Method              string     `gorm:"column:method"`
	Panelists           int        `gorm:"column:panelists"`
	Cut                 float64    `gorm:"column:cut"`
	MaxScore            float64    `gorm:"column:max_score"`
	CutSE               float64    `gorm:"column:cut_se"`
	Reliability         float64    `gorm:"column:reliability"`
	DecisionConsistency float64    `gorm:"column:decision_consistency"`
	Accuracy            *float64   `gorm:"column:classification_accuracy"`
	CSEMAtCut           *float64   `gorm:"column:csem_at_cut"`
	Status              string     `gorm:"column:status"`
	ProposedBy          *string    `gorm:"column:proposed_by"`
	ApprovedBy          *string    `gorm:"column:approved_by"`
	ApprovedAt          *time.Time `gorm:"column:approved_at"`
	CreatedAt           time.Time  `gorm:"column:created_at"`
}

func (standardRow) TableName() string { return "standards" }

func (r standardRow) standard() Standard {
	return Standard{ID: r.ID, ExamID: r.ExamID, Version: r.Version, StudyID: deref(r.StudyID), Method: r.Method,
		Panelists: r.Panelists, Cut: r.Cut, MaxScore: r.MaxScore, CutSE: r.CutSE, Reliability: r.Reliability,
		DecisionConsistency: r.DecisionConsistency, ClassificationAccuracy: r.Accuracy, CSEMAtCut: r.CSEMAtCut,
		Status: r.Status, ProposedBy: deref(r.ProposedBy),
		ApprovedBy: deref(r.ApprovedBy), ApprovedAt: r.ApprovedAt, CreatedAt: r.CreatedAt}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func userRef(id string) *string {
	if _, err := uuid.Parse(id); err != nil {
		return nil
	}
	return &id
}

// Study is a standard-setting study of one exam.
type Study struct {
	ID        string
	ExamID    string
	Method    string
	Title     string
	Panelists []Panelist
	CreatedAt time.Time
}

// Panelist is a subject-matter expert who rates items in a study.
type Panelist struct {
	ID            string
	Name          string
	Qualification string
}

// Rating is one panelist's judgement of one item in one round: the
// probability that a minimally competent candidate answers it correctly.
type Rating struct {
	PanelistID string
	ItemID     string
	Round      int
	Value      float64
}

type studyRow struct {
	ID        string    `gorm:"column:id;primaryKey"`
	ExamID    string    `gorm:"column:exam_id"`
	Method    string    `gorm:"column:method"`
	Title     string    `gorm:"column:title"`
	CreatedBy *string   `gorm:"column:created_by"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

func (studyRow) TableName() string { return "studies" }

type panelistRow struct {
	ID            string `gorm:"column:id;primaryKey"`
	StudyID       string `gorm:"column:study_id"`
	Name          string `gorm:"column:name"`
	Qualification string `gorm:"column:qualification"`
}

func (panelistRow) TableName() string { return "study_panelists" }

type ratingRow struct {
	StudyID    string  `gorm:"column:study_id;primaryKey"`
	PanelistID string  `gorm:"column:panelist_id;primaryKey"`
	ItemID     string  `gorm:"column:item_id;primaryKey"`
	Round      int     `gorm:"column:round;primaryKey"`
	Rating     float64 `gorm:"column:rating"`
}

func (ratingRow) TableName() string { return "ratings" }

// CreateStudy opens a modified-Angoff study of an exam with its panel.
func (s *Service) CreateStudy(ctx context.Context, actor string, st Study) (Study, error) {
	if strings.TrimSpace(st.Title) == "" {
		return Study{}, valid.Errorf("title", "is required")
	}
	if len(st.Panelists) == 0 {
		return Study{}, valid.Errorf("panelists", "at least one panelist is required")
	}
	if _, err := s.Exam(ctx, st.ExamID); err != nil {
		return Study{}, err
	}
	st.ID, st.Method, st.CreatedAt = uuid.NewString(), MethodModifiedAngoff, s.now().UTC()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&studyRow{ID: st.ID, ExamID: st.ExamID, Method: st.Method, Title: st.Title,
			CreatedBy: userRef(actor), CreatedAt: st.CreatedAt}).Error; err != nil {
			return fmt.Errorf("assess: create study: %w", err)
		}
		for i := range st.Panelists {
			st.Panelists[i].ID = uuid.NewString()
			p := st.Panelists[i]
			if err := tx.Create(&panelistRow{ID: p.ID, StudyID: st.ID, Name: p.Name, Qualification: p.Qualification}).Error; err != nil {
				return fmt.Errorf("assess: add panelist: %w", err)
			}
		}
		return nil
	})
	return st, err
}

// RecordRatings stores ratings of a study; a rating given again replaces
// the earlier one of the same panelist, item and round.
func (s *Service) RecordRatings(ctx context.Context, studyID string, ratings []Rating) error {
	rows := make([]ratingRow, len(ratings))
	for i, r := range ratings {
		if math.IsNaN(r.Value) || r.Value < 0 || r.Value > 1 {
			return valid.Errorf(fmt.Sprintf("ratings[%d].value", i), "must be a probability from 0 to 1")
		}
		if r.Round < 1 {
			return valid.Errorf(fmt.Sprintf("ratings[%d].round", i), "must be 1 or more")
		}
		rows[i] = ratingRow{StudyID: studyID, PanelistID: r.PanelistID, ItemID: r.ItemID, Round: r.Round, Rating: r.Value}
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		for _, r := range rows {
			if err := tx.Save(&r).Error; err != nil {
				return fmt.Errorf("assess: record rating: %w", err)
			}
		}
		return nil
	})
}

// Study returns a study with its panel.
func (s *Service) Study(ctx context.Context, id string) (Study, error) {
	var r studyRow
	if err := first(s.db.WithContext(ctx), &r, "study", id); err != nil {
		return Study{}, err
	}
	var ps []panelistRow
	if err := s.db.WithContext(ctx).Where("study_id = ?", id).Order("name").Find(&ps).Error; err != nil {
		return Study{}, fmt.Errorf("assess: panelists: %w", err)
	}
	st := Study{ID: r.ID, ExamID: r.ExamID, Method: r.Method, Title: r.Title, CreatedAt: r.CreatedAt}
	for _, p := range ps {
		st.Panelists = append(st.Panelists, Panelist{ID: p.ID, Name: p.Name, Qualification: p.Qualification})
	}
	return st, nil
}

// StudyRatings returns the final-round ratings of a study as a panelists ×
// items matrix, rows in the order of the study's panel and columns in the
// exam's item order. A missing rating is NaN.
func (s *Service) StudyRatings(ctx context.Context, studyID string) (*mat.Dense, Study, Exam, error) {
	st, err := s.Study(ctx, studyID)
	if err != nil {
		return nil, Study{}, Exam{}, err
	}
	exam, err := s.Exam(ctx, st.ExamID)
	if err != nil {
		return nil, Study{}, Exam{}, err
	}
	var rows []ratingRow
	if err := s.db.WithContext(ctx).Where("study_id = ?", studyID).Find(&rows).Error; err != nil {
		return nil, Study{}, Exam{}, fmt.Errorf("assess: ratings: %w", err)
	}
	if len(st.Panelists) == 0 || len(exam.ItemIDs) == 0 {
		return nil, st, exam, valid.Errorf("ratings", "the study has no panelists or the exam no items")
	}
	final := 0
	for _, r := range rows {
		final = max(final, r.Round)
	}
	pIdx, iIdx := index(st.Panelists, func(p Panelist) string { return p.ID }), index(exam.ItemIDs, func(id string) string { return id })
	m := mat.NewDense(len(st.Panelists), len(exam.ItemIDs), nil)
	for i := range len(st.Panelists) {
		for j := range len(exam.ItemIDs) {
			m.Set(i, j, math.NaN())
		}
	}
	for _, r := range rows {
		i, okP := pIdx[r.PanelistID]
		j, okI := iIdx[r.ItemID]
		if r.Round == final && okP && okI {
			m.Set(i, j, r.Rating)
		}
	}
	return m, st, exam, nil
}

func index[T any](xs []T, key func(T) string) map[string]int {
	out := make(map[string]int, len(xs))
	for i, x := range xs {
		out[key(x)] = i
	}
	return out
}

// ProposeStandard computes a standard from a study: the modified-Angoff cut
// and its standard error from the final round of ratings, and the exam's
// reliability and decision consistency at that cut from every scored
// attempt so far (pilot data included).
func (s *Service) ProposeStandard(ctx context.Context, actor, studyID string) (Standard, error) {
	ratings, st, exam, err := s.StudyRatings(ctx, studyID)
	if err != nil {
		return Standard{}, err
	}
	angoff, err := psychometrics.Angoff(ratings)
	if err != nil {
		return Standard{}, valid.Errorf("ratings", "%v", err)
	}
	responses, _, err := s.responseMatrix(ctx, exam)
	if err != nil {
		return Standard{}, err
	}
	var reliability, agreement float64
	var accuracy *float64
	if responses != nil {
		reliability = psychometrics.CronbachAlpha(responses)
		n, _ := responses.Dims()
		scores := make([]float64, n)
		for i := range n {
			scores[i] = mat.Sum(responses.RowView(i))
		}
		if dc, err := psychometrics.Subkoviak(scores, len(exam.ItemIDs), angoff.Cut, reliability); err == nil {
			agreement = dc.Agreement
		}
		// Subkoviak's model gives no accuracy; Livingston and Lewis's
		// beta-binomial model does, from the same scores and reliability.
		if ll, err := psychometrics.LivingstonLewis(scores, 0, float64(len(exam.ItemIDs)), reliability, angoff.Cut); err == nil && !math.IsNaN(ll.Accuracy) {
			accuracy = &ll.Accuracy
		}
	}
	var csem *float64
	if len(exam.ItemIDs) >= 2 {
		if c := psychometrics.LordCSEM(angoff.Cut, len(exam.ItemIDs)); !math.IsNaN(c) {
			csem = &c
		}
	}
	now := s.now().UTC()
	row := standardRow{ID: uuid.NewString(), ExamID: exam.ID, StudyID: &st.ID, Method: st.Method, Panelists: len(st.Panelists),
		Cut: angoff.Cut, MaxScore: float64(len(exam.ItemIDs)), CutSE: angoff.SE, Reliability: reliability,
		DecisionConsistency: agreement, Accuracy: accuracy, CSEMAtCut: csem, Status: Proposed, ProposedBy: userRef(actor), CreatedAt: now}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		var last int
		if err := tx.Model(&standardRow{}).Where("exam_id = ?", exam.ID).Select("COALESCE(MAX(version), 0)").Scan(&last).Error; err != nil {
			return fmt.Errorf("assess: propose standard: %w", err)
		}
		row.Version = last + 1
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("assess: propose standard: %w", err)
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "standard.propose", Subject: "standard:" + row.ID, After: row.standard(), At: now})
	})
	return row.standard(), err
}

// ApproveStandard makes a proposed standard the exam's approved standard,
// superseding the one before it, and audits the decision. From then on
// every submitted attempt is decided by it.
func (s *Service) ApproveStandard(ctx context.Context, actor, standardID string) (Standard, error) {
	now := s.now().UTC()
	var out Standard
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var row standardRow
		if err := first(tx, &row, "standard", standardID); err != nil {
			return err
		}
		if row.Status != Proposed {
			return fmt.Errorf("%w: standard %s is %s, not proposed", ErrConflict, standardID, row.Status)
		}
		before := row.standard()
		var previous *Standard
		if prev, err := approvedStandard(tx, row.ExamID); err == nil {
			previous = &prev
			if err := tx.Model(&standardRow{}).Where("id = ?", prev.ID).Update("status", Superseded).Error; err != nil {
				return fmt.Errorf("assess: supersede standard: %w", err)
			}
		} else if !errors.Is(err, ErrNoStandard) {
			return err
		}
		if err := tx.Model(&standardRow{}).Where("id = ?", row.ID).Updates(map[string]any{
			"status": Approved, "approved_by": userRef(actor), "approved_at": now,
		}).Error; err != nil {
			return fmt.Errorf("assess: approve standard: %w", err)
		}
		row.Status, row.ApprovedBy, row.ApprovedAt = Approved, userRef(actor), &now
		out = row.standard()
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "standard.approve", Subject: "standard:" + row.ID,
			Before: map[string]any{"standard": before, "superseded": previous}, After: out, At: now})
	})
	return out, err
}

// ApprovedStandard returns the exam's approved standard, or ErrNoStandard.
func (s *Service) ApprovedStandard(ctx context.Context, examID string) (Standard, error) {
	return approvedStandard(s.db.WithContext(ctx), examID)
}

func approvedStandard(db *gorm.DB, examID string) (Standard, error) {
	var row standardRow
	err := db.Where("exam_id = ? AND status = ?", examID, Approved).First(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Standard{}, fmt.Errorf("%w: exam %s", ErrNoStandard, examID)
	}
	if err != nil {
		return Standard{}, fmt.Errorf("assess: approved standard: %w", err)
	}
	return row.standard(), nil
}

// Standard returns one standard.
func (s *Service) Standard(ctx context.Context, id string) (Standard, error) {
	var row standardRow
	if err := first(s.db.WithContext(ctx), &row, "standard", id); err != nil {
		return Standard{}, err
	}
	return row.standard(), nil
}

// Standards lists an exam's standards, newest version first.
func (s *Service) Standards(ctx context.Context, examID string) ([]Standard, error) {
	if uuid.Validate(examID) != nil {
		return nil, nil
	}
	var rows []standardRow
	if err := s.db.WithContext(ctx).Where("exam_id = ?", examID).Order("version DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("assess: standards: %w", err)
	}
	out := make([]Standard, len(rows))
	for i, r := range rows {
		out[i] = r.standard()
	}
	return out, nil
}
