package assess

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/valid"
)

// Program groups the exams and credentials of one offering.
type Program struct {
	ID          string
	Slug        string
	Name        string
	Description string
}

type programRow struct {
	ID          string    `gorm:"column:id;primaryKey"`
	Slug        string    `gorm:"column:slug"`
	Name        string    `gorm:"column:name"`
	Description string    `gorm:"column:description"`
	CreatedAt   time.Time `gorm:"column:created_at"`
}

func (programRow) TableName() string { return "programs" }

// Domain is one content area of an exam's blueprint.
type Domain struct {
	Code        string
	Name        string
	Description string
	Skill       string // the skill statement a credential aligns to
}

// Exam is a deliverable exam: its blueprint and its item pool.
type Exam struct {
	ID            string
	ProgramID     string
	Slug          string
	Title         string
	Description   string
	Duration      time.Duration
	AchievementID string // the credential a pass earns; empty for none
	Domains       []Domain
	ItemIDs       []string // in delivery order
	Policy        Policy
}

// Policy says how often and when a candidate may start an exam. Its zero
// value allows any number of attempts at any time.
type Policy struct {
	MaxAttempts int           // attempts a candidate may start; 0 means no limit
	RetakeWait  time.Duration // minimum time from the end of one attempt to the start of the next
	OpensAt     *time.Time    // first moment an attempt may start; nil means always
	ClosesAt    *time.Time    // moment after which no attempt may start; nil means never
}

// validate checks a policy's fields, naming the JSON field at fault.
func (p Policy) validate() error {
	switch {
	case p.MaxAttempts < 0:
		return valid.Errorf("policy.max_attempts", "must not be negative")
	case p.RetakeWait < 0:
		return valid.Errorf("policy.retake_wait_seconds", "must not be negative")
	case p.OpensAt != nil && p.ClosesAt != nil && !p.ClosesAt.After(*p.OpensAt):
		return valid.Errorf("policy.closes_at", "must be after opens_at")
	}
	return nil
}

type examRow struct {
	ID              string     `gorm:"column:id;primaryKey"`
	ProgramID       string     `gorm:"column:program_id"`
	Slug            string     `gorm:"column:slug"`
	Title           string     `gorm:"column:title"`
	Description     string     `gorm:"column:description"`
	DurationSeconds int        `gorm:"column:duration_seconds"`
	AchievementID   *string    `gorm:"column:achievement_id"`
	CreatedAt       time.Time  `gorm:"column:created_at"`
	MaxAttempts     int        `gorm:"column:max_attempts"`
	RetakeWaitSecs  int        `gorm:"column:retake_wait_seconds"`
	OpensAt         *time.Time `gorm:"column:opens_at"`
	ClosesAt        *time.Time `gorm:"column:closes_at"`
}

func (examRow) TableName() string { return "exams" }

type domainRow struct {
	ExamID      string `gorm:"column:exam_id;primaryKey"`
	Code        string `gorm:"column:code;primaryKey"`
	Position    int    `gorm:"column:position"`
	Name        string `gorm:"column:name"`
	Description string `gorm:"column:description"`
	Skill       string `gorm:"column:skill"`
}

func (domainRow) TableName() string { return "exam_domains" }

type examItemRow struct {
	ExamID   string `gorm:"column:exam_id;primaryKey"`
	ItemID   string `gorm:"column:item_id;primaryKey"`
	Position int    `gorm:"column:position"`
}

func (examItemRow) TableName() string { return "exam_items" }

// CreateProgram adds a program.
func (s *Service) CreateProgram(ctx context.Context, p Program) (Program, error) {
	if strings.TrimSpace(p.Slug) == "" {
		return Program{}, valid.Errorf("slug", "is required")
	}
	if strings.TrimSpace(p.Name) == "" {
		return Program{}, valid.Errorf("name", "is required")
	}
	p.ID = uuid.NewString()
	row := programRow{ID: p.ID, Slug: p.Slug, Name: p.Name, Description: p.Description, CreatedAt: s.now().UTC()}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return Program{}, fmt.Errorf("assess: create program: %w", err)
	}
	return p, nil
}

// Programs lists every program by name.
func (s *Service) Programs(ctx context.Context) ([]Program, error) {
	var rows []programRow
	if err := s.db.WithContext(ctx).Order("name").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("assess: programs: %w", err)
	}
	out := make([]Program, len(rows))
	for i, r := range rows {
		out[i] = Program{ID: r.ID, Slug: r.Slug, Name: r.Name, Description: r.Description}
	}
	return out, nil
}

// CreateExam adds an exam with its blueprint domains and item pool.
func (s *Service) CreateExam(ctx context.Context, e Exam) (Exam, error) {
	switch {
	case strings.TrimSpace(e.Slug) == "":
		return Exam{}, valid.Errorf("slug", "is required")
	case strings.TrimSpace(e.Title) == "":
		return Exam{}, valid.Errorf("title", "is required")
	case e.Duration < time.Minute:
		return Exam{}, valid.Errorf("duration", "must be at least one minute")
	case len(e.Domains) == 0:
		return Exam{}, valid.Errorf("domains", "at least one domain is required")
	case len(e.ItemIDs) == 0:
		return Exam{}, valid.Errorf("items", "at least one item is required")
	}
	if err := e.Policy.validate(); err != nil {
		return Exam{}, err
	}
	e.ID = uuid.NewString()
	row := examRow{ID: e.ID, ProgramID: e.ProgramID, Slug: e.Slug, Title: e.Title, Description: e.Description,
		DurationSeconds: int(e.Duration / time.Second), CreatedAt: s.now().UTC(),
		MaxAttempts: e.Policy.MaxAttempts, RetakeWaitSecs: int(e.Policy.RetakeWait / time.Second),
		OpensAt: utcPtr(e.Policy.OpensAt), ClosesAt: utcPtr(e.Policy.ClosesAt)}
	if e.AchievementID != "" {
		row.AchievementID = &e.AchievementID
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("assess: create exam: %w", err)
		}
		for i, d := range e.Domains {
			if err := tx.Create(&domainRow{ExamID: e.ID, Code: d.Code, Position: i, Name: d.Name, Description: d.Description, Skill: d.Skill}).Error; err != nil {
				return fmt.Errorf("assess: create domain %s: %w", d.Code, err)
			}
		}
		for i, id := range e.ItemIDs {
			if err := tx.Create(&examItemRow{ExamID: e.ID, ItemID: id, Position: i}).Error; err != nil {
				return fmt.Errorf("assess: add item %s: %w", id, err)
			}
		}
		return nil
	})
	return e, err
}

// Exams lists every exam with its blueprint and pool.
func (s *Service) Exams(ctx context.Context) ([]Exam, error) {
	var rows []examRow
	if err := s.db.WithContext(ctx).Order("created_at, title").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("assess: exams: %w", err)
	}
	out := make([]Exam, 0, len(rows))
	for _, r := range rows {
		e, err := s.loadExam(ctx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Exam returns one exam.
func (s *Service) Exam(ctx context.Context, id string) (Exam, error) {
	var r examRow
	if err := first(s.db.WithContext(ctx), &r, "exam", id); err != nil {
		return Exam{}, err
	}
	return s.loadExam(ctx, r)
}

func (s *Service) loadExam(ctx context.Context, r examRow) (Exam, error) {
	e := Exam{ID: r.ID, ProgramID: r.ProgramID, Slug: r.Slug, Title: r.Title, Description: r.Description,
		Duration: time.Duration(r.DurationSeconds) * time.Second,
		Policy: Policy{MaxAttempts: r.MaxAttempts, RetakeWait: time.Duration(r.RetakeWaitSecs) * time.Second,
			OpensAt: utcPtr(r.OpensAt), ClosesAt: utcPtr(r.ClosesAt)}}
	if r.AchievementID != nil {
		e.AchievementID = *r.AchievementID
	}
	var domains []domainRow
	if err := s.db.WithContext(ctx).Where("exam_id = ?", r.ID).Order("position").Find(&domains).Error; err != nil {
		return Exam{}, fmt.Errorf("assess: exam domains: %w", err)
	}
	for _, d := range domains {
		e.Domains = append(e.Domains, Domain{Code: d.Code, Name: d.Name, Description: d.Description, Skill: d.Skill})
	}
	var pool []examItemRow
	if err := s.db.WithContext(ctx).Where("exam_id = ?", r.ID).Order("position").Find(&pool).Error; err != nil {
		return Exam{}, fmt.Errorf("assess: exam items: %w", err)
	}
	for _, p := range pool {
		e.ItemIDs = append(e.ItemIDs, p.ItemID)
	}
	return e, nil
}

// utcPtr returns a copy of t in UTC, or nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
