package assess

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// Proctoring staff of an exam: the proctors who watch its live sessions
// and admit its candidates, and the reviewers who decide its flagged
// attempts. Only they (and administrators) see its snapshots, photos and
// case files.

// Staff roles on an exam.
const (
	StaffProctor  = "proctor"
	StaffReviewer = "reviewer"
)

type staffRow struct {
	ExamID string `gorm:"column:exam_id;primaryKey"`
	UserID string `gorm:"column:user_id;primaryKey"`
	Role   string `gorm:"column:role;primaryKey"`
}

func (staffRow) TableName() string { return "exam_staff" }

// StaffMember is one assignment.
type StaffMember struct {
	ExamID string
	UserID string
	Role   string
}

// AssignStaff makes a user a proctor or reviewer of an exam, audited.
// Assigning twice is not an error.
func (s *Service) AssignStaff(ctx context.Context, actor, examID, userID, role string) error {
	if role != StaffProctor && role != StaffReviewer {
		return valid.Errorf("role", "must be %q or %q", StaffProctor, StaffReviewer)
	}
	if _, err := s.Exam(ctx, examID); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&staffRow{ExamID: examID, UserID: userID, Role: role}).Error
		if err != nil {
			return fmt.Errorf("assess: assign staff: %w", err)
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "exam.staff.assign", Subject: "exam:" + examID,
			After: map[string]string{"user": userID, "role": role}, At: s.now().UTC()})
	})
}

// RemoveStaff ends an assignment, audited.
func (s *Service) RemoveStaff(ctx context.Context, actor, examID, userID, role string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("exam_id = ? AND user_id = ? AND role = ?", examID, userID, role).Delete(&staffRow{}).Error; err != nil {
			return fmt.Errorf("assess: remove staff: %w", err)
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "exam.staff.remove", Subject: "exam:" + examID,
			Before: map[string]string{"user": userID, "role": role}, At: s.now().UTC()})
	})
}

// Staff lists an exam's assignments.
func (s *Service) Staff(ctx context.Context, examID string) ([]StaffMember, error) {
	var rows []staffRow
	if err := s.db.WithContext(ctx).Where("exam_id = ?", examID).Order("role, user_id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("assess: staff: %w", err)
	}
	out := make([]StaffMember, len(rows))
	for i, r := range rows {
		out[i] = StaffMember(r)
	}
	return out, nil
}

// StaffExams returns the exams a user is assigned to, with the roles held
// on each.
func (s *Service) StaffExams(ctx context.Context, userID string) (map[string][]string, error) {
	var rows []staffRow
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("assess: staff exams: %w", err)
	}
	out := map[string][]string{}
	for _, r := range rows {
		out[r.ExamID] = append(out[r.ExamID], r.Role)
	}
	return out, nil
}

// IsStaff reports whether the user holds one of the roles on the exam.
func (s *Service) IsStaff(ctx context.Context, userID, examID string, roles ...string) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&staffRow{}).Where("exam_id = ? AND user_id = ? AND role IN ?", examID, userID, roles).
		Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("assess: is staff: %w", err)
	}
	return n > 0, nil
}

// SnapshotRetention is how long the exam's program keeps proctoring
// images.
func (s *Service) SnapshotRetention(ctx context.Context, examID string) (time.Duration, error) {
	var days int
	err := s.db.WithContext(ctx).Raw("SELECT p.snapshot_retention_days FROM programs p JOIN exams e ON e.program_id = p.id WHERE e.id = ?", examID).
		Find(&days).Error
	if err != nil {
		return 0, fmt.Errorf("assess: snapshot retention: %w", err)
	}
	if days < 1 {
		return 0, fmt.Errorf("assess: snapshot retention of exam %s: %w", examID, ErrNotFound)
	}
	return time.Duration(days) * 24 * time.Hour, nil
}

// SetSnapshotRetention sets how many days a program keeps proctoring
// images, audited. Images already stored keep the period they were stored
// with.
func (s *Service) SetSnapshotRetention(ctx context.Context, actor, programID string, days int) error {
	if days < 1 || days > 3650 {
		return valid.Errorf("snapshot_retention_days", "must be from 1 to 3650")
	}
	defer s.rulesChanged() // whether or not the change committed
	return s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec("UPDATE programs SET snapshot_retention_days = ? WHERE id = ?", days, programID)
		if res.Error != nil {
			return fmt.Errorf("assess: snapshot retention: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("assess: program %s: %w", programID, ErrNotFound)
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "program.retention", Subject: "program:" + programID,
			After: map[string]int{"snapshot_retention_days": days}, At: s.now().UTC()})
	})
}
