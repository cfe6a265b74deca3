package assess

import (
	"context"
	"errors"
	"fmt"
	"math"
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
	// RecommendedCut is the panel's recommendation when the standard was
	// adopted from a study; AdoptionReason says why Cut differs from it.
	RecommendedCut *float64
	AdoptionReason string
	// EffectiveAt is when the standard starts deciding attempts: an
	// approved standard whose date has not come leaves its predecessor in
	// force until then.
	EffectiveAt *time.Time
}

// effectiveBy reports whether the standard, approved, has taken effect by t.
func (s Standard) effectiveBy(t time.Time) bool {
	if s.Status == Proposed || s.ApprovedAt == nil {
		return false
	}
	at := *s.ApprovedAt
	if s.EffectiveAt != nil {
		at = *s.EffectiveAt
	}
	return !at.After(t)
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
	RecommendedCut      *float64   `gorm:"column:recommended_cut"`
	AdoptionReason      string     `gorm:"column:adoption_reason"`
	EffectiveAt         *time.Time `gorm:"column:effective_at"`
}

func (standardRow) TableName() string { return "standards" }

func (r standardRow) standard() Standard {
	return Standard{ID: r.ID, ExamID: r.ExamID, Version: r.Version, StudyID: deref(r.StudyID), Method: r.Method,
		Panelists: r.Panelists, Cut: r.Cut, MaxScore: r.MaxScore, CutSE: r.CutSE, Reliability: r.Reliability,
		DecisionConsistency: r.DecisionConsistency, ClassificationAccuracy: r.Accuracy, CSEMAtCut: r.CSEMAtCut,
		Status: r.Status, ProposedBy: deref(r.ProposedBy),
		ApprovedBy: deref(r.ApprovedBy), ApprovedAt: r.ApprovedAt, CreatedAt: r.CreatedAt,
		RecommendedCut: r.RecommendedCut, AdoptionReason: r.AdoptionReason, EffectiveAt: r.EffectiveAt}
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
	ev, err := s.evidenceAt(ctx, exam, len(exam.ItemIDs), angoff.Cut)
	if err != nil {
		return Standard{}, err
	}
	now := s.now().UTC()
	row := standardRow{ID: uuid.NewString(), ExamID: exam.ID, StudyID: &st.ID, Method: st.Method, Panelists: len(st.Panelists),
		Cut: angoff.Cut, MaxScore: float64(len(exam.ItemIDs)), CutSE: angoff.SE, Reliability: ev.Reliability,
		DecisionConsistency: ev.Agreement, Accuracy: ev.Accuracy, CSEMAtCut: ev.CSEM, Status: Proposed, ProposedBy: userRef(actor), CreatedAt: now}
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
		if prev, err := latestApproved(tx, row.ExamID); err == nil {
			previous = &prev
			if err := tx.Model(&standardRow{}).Where("id = ?", prev.ID).Update("status", Superseded).Error; err != nil {
				return fmt.Errorf("assess: supersede standard: %w", err)
			}
		} else if !errors.Is(err, ErrNoStandard) {
			return err
		}
		if err := tx.Model(&standardRow{}).Where("id = ?", row.ID).Updates(map[string]any{
			"status": Approved, "approved_by": userRef(actor), "approved_at": now, "effective_at": now,
		}).Error; err != nil {
			return fmt.Errorf("assess: approve standard: %w", err)
		}
		row.Status, row.ApprovedBy, row.ApprovedAt, row.EffectiveAt = Approved, userRef(actor), &now, &now
		if row.StudyID != nil { // the study's work is done
			if err := tx.Model(&studyRow{}).Where("id = ?", *row.StudyID).Update("status", StudyClosed).Error; err != nil {
				return fmt.Errorf("assess: close study: %w", err)
			}
		}
		out = row.standard()
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "standard.approve", Subject: "standard:" + row.ID,
			Before: map[string]any{"standard": before, "superseded": previous}, After: out, At: now})
	})
	return out, err
}

// ApprovedStandard returns the exam's standard in force now: the newest
// approved version whose effective date has come. It returns ErrNoStandard
// when there is none.
func (s *Service) ApprovedStandard(ctx context.Context, examID string) (Standard, error) {
	return standardInForce(s.db.WithContext(ctx), examID, s.now())
}

// standardInForce returns the newest approved (possibly since superseded)
// version of an exam's standard that took effect by at: a standard adopted
// with a future date leaves the one before it deciding until then.
func standardInForce(db *gorm.DB, examID string, at time.Time) (Standard, error) {
	var rows []standardRow
	err := db.Where("exam_id = ? AND status IN ?", examID, []string{Approved, Superseded}).Order("version DESC").Find(&rows).Error
	if err != nil {
		return Standard{}, fmt.Errorf("assess: standard in force: %w", err)
	}
	for _, r := range rows {
		if st := r.standard(); st.effectiveBy(at) {
			return st, nil
		}
	}
	return Standard{}, fmt.Errorf("%w: exam %s", ErrNoStandard, examID)
}

// latestApproved returns the exam's standard whose status is approved (at
// most one is), in force or not yet effective.
func latestApproved(db *gorm.DB, examID string) (Standard, error) {
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

// evidence is what a standard records of the exam's measurement at its cut.
type evidence struct {
	Reliability float64  // Cronbach's alpha of the scored attempts
	Agreement   float64  // Subkoviak's decision consistency at the cut
	Accuracy    *float64 // Livingston–Lewis classification accuracy
	CSEM        *float64 // Lord's conditional SEM at the cut
	Scores      []float64
}

// evidenceAt estimates reliability and decision quality at cut from every
// scored attempt of the exam so far (pilot data included), on a test of
// items items.
func (s *Service) evidenceAt(ctx context.Context, exam Exam, items int, cut float64) (evidence, error) {
	var ev evidence
	responses, _, err := s.responseMatrix(ctx, exam)
	if err != nil {
		return ev, err
	}
	if responses != nil {
		ev.Reliability = psychometrics.CronbachAlpha(responses)
		ev.Scores = rawScores(responses)
		if dc, err := psychometrics.Subkoviak(ev.Scores, items, cut, ev.Reliability); err == nil {
			ev.Agreement = dc.Agreement
		}
		// Subkoviak's model gives no accuracy; Livingston and Lewis's
		// beta-binomial model does, from the same scores and reliability.
		if ll, err := psychometrics.LivingstonLewis(ev.Scores, 0, float64(items), ev.Reliability, cut); err == nil && !math.IsNaN(ll.Accuracy) {
			ev.Accuracy = &ll.Accuracy
		}
	}
	if items >= 2 {
		if c := psychometrics.LordCSEM(cut, items); !math.IsNaN(c) {
			ev.CSEM = &c
		}
	}
	return ev, nil
}

// rawScores sums each row of a scored response matrix, counting an item
// not administered (NaN) as not answered correctly.
func rawScores(responses *mat.Dense) []float64 {
	n, k := responses.Dims()
	scores := make([]float64, n)
	for i := range n {
		for j := range k {
			if v := responses.At(i, j); !math.IsNaN(v) {
				scores[i] += v
			}
		}
	}
	return scores
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
