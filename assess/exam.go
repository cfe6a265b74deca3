package assess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
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
	// Count is the number of scored items a LOFT form takes from the
	// domain; 0 for fixed exams, whose forms say what they hold.
	Count int
	// Weight is the domain's share of a CAT (content balancing); weights
	// need not sum to 1. Zero weights everywhere mean no balancing.
	Weight float64
}

// Delivery modes of an exam.
const (
	// ModeFixed delivers a named form (or, without forms, the whole pool in
	// order): every candidate sees the same items.
	ModeFixed = "fixed"
	// ModeLOFT assembles a form per candidate from the pool (linear on the
	// fly), to the blueprint counts.
	ModeLOFT = "loft"
	// ModeCAT selects each next item adaptively from the calibrated pool.
	ModeCAT = "cat"
)

// Exam is a deliverable exam: its blueprint, its item pool and how it is
// delivered.
type Exam struct {
	ID            string
	ProgramID     string
	Slug          string
	Title         string
	Description   string
	Instructions  string // shown to the candidate before the first item
	Duration      time.Duration
	AchievementID string // the credential a pass earns; empty for none
	Domains       []Domain
	ItemIDs       []string // the pool, in delivery order
	Policy        Policy
	Mode          string // ModeFixed ("" means it), ModeLOFT or ModeCAT
	// Forms are the named fixed forms; none means the pool is the form.
	Forms []Form
	CAT   CATSettings
	LOFT  LOFTSettings
	// Scale is the reporting scale; the zero Scale reports raw scores.
	Scale Scale
	// Proctoring decides which attempts go to review and whether their
	// credentials wait for it.
	Proctoring ProctoringPolicy
}

// Form is a named fixed form: sections of items in delivery order.
type Form struct {
	ID       string
	Name     string
	Sections []Section
}

// ItemIDs lists the form's items in delivery order.
func (f Form) ItemIDs() []string {
	var out []string
	for _, s := range f.Sections {
		for _, it := range s.Items {
			out = append(out, it.ItemID)
		}
	}
	return out
}

// Section is a titled part of a form, with instructions for the candidate.
type Section struct {
	Title        string
	Instructions string
	Items        []FormItem
}

// FormItem is an item on a form; a pretest item is delivered like the
// others but not scored, so that it can be tried out.
type FormItem struct {
	ItemID  string
	Pretest bool
}

// CATSettings configure an adaptive exam (see psychometrics.CATSettings).
type CATSettings struct {
	// SETarget ends the test once the posterior SD of θ is at or below it
	// (after MinItems); 0 means no precision rule.
	SETarget float64 `json:"se_target"`
	// MinItems is the least number of items before the SE rule may end
	// the test; 0 means 1.
	MinItems int `json:"min_items"`
	// MaxItems ends the test; it is required, so that every CAT ends.
	MaxItems int `json:"max_items"`
	// Randomesque draws each item among this many most informative ones,
	// to spread exposure; 0 or 1 means the most informative.
	Randomesque int `json:"randomesque"`
	// PretestItems are pool items being tried out; Pretest of them, drawn
	// at random, are given unscored at random places among the first
	// MinItems operational items (where every test still runs), so that
	// no candidate can tell them apart and each gathers responses for its
	// calibration. They never inform θ or the length of the test.
	PretestItems []string `json:"pretest_items,omitempty"`
	Pretest      int      `json:"pretest,omitempty"`
}

func (c CATSettings) validate() error {
	switch {
	case c.MaxItems < 1:
		return valid.Errorf("cat.max_items", "must be at least 1")
	case c.MinItems < 0 || c.MinItems > c.MaxItems:
		return valid.Errorf("cat.min_items", "must be between 0 and max_items")
	case !(c.SETarget >= 0) || math.IsInf(c.SETarget, 0):
		return valid.Errorf("cat.se_target", "must be a finite number ≥ 0")
	case c.Randomesque < 0:
		return valid.Errorf("cat.randomesque", "must not be negative")
	case c.Pretest < 0 || c.Pretest > len(c.PretestItems):
		return valid.Errorf("cat.pretest", "must be between 0 and the number of pretest_items")
	case c.Pretest > 0 && c.MinItems < 2:
		return valid.Errorf("cat.pretest", "needs min_items of at least 2, so that every test reaches the places pretest items take")
	}
	return nil
}

// LOFTSettings configure on-the-fly assembly (see assembly.Rules).
type LOFTSettings struct {
	// MaxExposure keeps items delivered in at least this share of the
	// exam's attempts off new forms while others can fill the blueprint;
	// 0 means no limit.
	MaxExposure float64 `json:"max_exposure"`
	// TargetTheta and TargetInfo give a target test information curve;
	// when empty and every pool item is calibrated, the target is the
	// pool's mean item information times the form length at θ = −1, 0, 1.
	TargetTheta []float64 `json:"target_theta,omitempty"`
	TargetInfo  []float64 `json:"target_info,omitempty"`
	// Tolerance is the largest relative deviation from the target; 0
	// means 0.25.
	Tolerance float64 `json:"tolerance"`
	// PretestItems are pool items being tried out: they never fill
	// blueprint slots and are never scored. Pretest of them, drawn at
	// random, are seeded on each form, so that every one gathers the
	// responses its calibration needs.
	PretestItems []string `json:"pretest_items,omitempty"`
	Pretest      int      `json:"pretest,omitempty"`
}

func (l LOFTSettings) validate() error {
	switch {
	case !(l.MaxExposure >= 0 && l.MaxExposure <= 1):
		return valid.Errorf("loft.max_exposure", "must be in [0, 1]")
	case !(l.Tolerance >= 0) || math.IsInf(l.Tolerance, 0):
		return valid.Errorf("loft.tolerance", "must be a finite number ≥ 0")
	case l.Pretest < 0 || l.Pretest > len(l.PretestItems):
		return valid.Errorf("loft.pretest", "must be between 0 and the number of pretest_items")
	case len(l.TargetTheta) != len(l.TargetInfo):
		return valid.Errorf("loft.target_info", "must have one value for each target_theta")
	}
	for i, v := range l.TargetInfo {
		if !(v > 0) || math.IsInf(v, 0) || math.IsNaN(l.TargetTheta[i]) || math.IsInf(l.TargetTheta[i], 0) {
			return valid.Errorf(fmt.Sprintf("loft.target_info[%d]", i), "must be a positive number at a finite θ")
		}
	}
	return nil
}

// examSettings is the JSON of exams.settings.
type examSettings struct {
	CAT        CATSettings      `json:"cat"`
	LOFT       LOFTSettings     `json:"loft"`
	Scale      Scale            `json:"scale"`
	Proctoring ProctoringPolicy `json:"proctoring"`
}

// Policy says how often and when a candidate may start an exam. Its zero
// value allows any number of attempts at any time.
type Policy struct {
	MaxAttempts int           // attempts a candidate may start; 0 means no limit
	RetakeWait  time.Duration // minimum time from the end of one attempt to the start of the next
	OpensAt     *time.Time    // first moment an attempt may start; nil means always
	ClosesAt    *time.Time    // moment after which no attempt may start; nil means never
	// DifferentFormOnRetake gives a retake a fixed form the candidate has
	// not sat yet, while one exists.
	DifferentFormOnRetake bool
	// Prerequisites are the achievements (credential ids of the issuer's
	// achievements) a candidate must hold to start; see Service.Eligible.
	Prerequisites []string
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
	seen := map[string]bool{}
	for i, id := range p.Prerequisites {
		if uuid.Validate(id) != nil {
			return valid.Errorf(fmt.Sprintf("policy.prerequisites[%d]", i), "is not an achievement id")
		}
		if seen[id] {
			return valid.Errorf(fmt.Sprintf("policy.prerequisites[%d]", i), "repeats %s", id)
		}
		seen[id] = true
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
	Mode            string     `gorm:"column:mode"`
	Instructions    string     `gorm:"column:instructions"`
	DifferentForm   bool       `gorm:"column:different_form_on_retake"`
	Settings        string     `gorm:"column:settings"`
}

func (examRow) TableName() string { return "exams" }

type domainRow struct {
	ExamID      string  `gorm:"column:exam_id;primaryKey"`
	Code        string  `gorm:"column:code;primaryKey"`
	Position    int     `gorm:"column:position"`
	Name        string  `gorm:"column:name"`
	Description string  `gorm:"column:description"`
	Skill       string  `gorm:"column:skill"`
	ItemCount   int     `gorm:"column:item_count"`
	Weight      float64 `gorm:"column:weight"`
}

func (domainRow) TableName() string { return "exam_domains" }

type examItemRow struct {
	ExamID   string `gorm:"column:exam_id;primaryKey"`
	ItemID   string `gorm:"column:item_id;primaryKey"`
	Position int    `gorm:"column:position"`
}

func (examItemRow) TableName() string { return "exam_items" }

type prerequisiteRow struct {
	ExamID        string `gorm:"column:exam_id;primaryKey"`
	AchievementID string `gorm:"column:achievement_id;primaryKey"`
}

func (prerequisiteRow) TableName() string { return "exam_prerequisites" }

type formRow struct {
	ID        string    `gorm:"column:id;primaryKey"`
	ExamID    string    `gorm:"column:exam_id"`
	Name      string    `gorm:"column:name"`
	Position  int       `gorm:"column:position"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

func (formRow) TableName() string { return "exam_forms" }

type formSectionRow struct {
	FormID       string `gorm:"column:form_id;primaryKey"`
	Position     int    `gorm:"column:position;primaryKey"`
	Title        string `gorm:"column:title"`
	Instructions string `gorm:"column:instructions"`
}

func (formSectionRow) TableName() string { return "exam_form_sections" }

type formItemRow struct {
	FormID   string `gorm:"column:form_id;primaryKey"`
	Position int    `gorm:"column:position;primaryKey"`
	ItemID   string `gorm:"column:item_id"`
	Section  int    `gorm:"column:section"`
	Pretest  bool   `gorm:"column:pretest"`
}

func (formItemRow) TableName() string { return "exam_form_items" }

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

// CreateExam adds an exam with its blueprint domains, item pool, forms,
// delivery settings and policy, on behalf of the system (seeds, imports).
func (s *Service) CreateExam(ctx context.Context, e Exam) (Exam, error) {
	return s.CreateExamAs(ctx, "system", e)
}

// CreateExamAs adds an exam on behalf of actor (a program manager),
// audited with the whole definition. Bad input is a *valid.Error naming
// the field: an unknown program, a slug the program already uses, a pool
// item that is not in the bank or is there twice, and whatever the
// blueprint, forms and delivery settings get wrong.
func (s *Service) CreateExamAs(ctx context.Context, actor string, e Exam) (Exam, error) {
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
	if e.Mode == "" {
		e.Mode = ModeFixed
	}
	if err := e.validate(); err != nil {
		return Exam{}, err
	}
	if err := s.checkReferences(ctx, e); err != nil {
		return Exam{}, err
	}
	e.ID = uuid.NewString()
	settings, err := json.Marshal(examSettings{CAT: e.CAT, LOFT: e.LOFT, Scale: e.Scale, Proctoring: e.Proctoring})
	if err != nil {
		return Exam{}, fmt.Errorf("assess: create exam: %w", err)
	}
	now := s.now().UTC()
	row := examRow{ID: e.ID, ProgramID: e.ProgramID, Slug: e.Slug, Title: e.Title, Description: e.Description,
		DurationSeconds: int(e.Duration / time.Second), CreatedAt: now,
		MaxAttempts: e.Policy.MaxAttempts, RetakeWaitSecs: int(e.Policy.RetakeWait / time.Second),
		OpensAt: utcPtr(e.Policy.OpensAt), ClosesAt: utcPtr(e.Policy.ClosesAt),
		Mode: e.Mode, Instructions: e.Instructions, DifferentForm: e.Policy.DifferentFormOnRetake, Settings: string(settings)}
	if e.AchievementID != "" {
		row.AchievementID = &e.AchievementID
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("assess: create exam: %w", err)
		}
		for i, d := range e.Domains {
			if err := tx.Create(&domainRow{ExamID: e.ID, Code: d.Code, Position: i, Name: d.Name, Description: d.Description, Skill: d.Skill,
				ItemCount: d.Count, Weight: d.Weight}).Error; err != nil {
				return fmt.Errorf("assess: create domain %s: %w", d.Code, err)
			}
		}
		for i, id := range e.ItemIDs {
			if err := tx.Create(&examItemRow{ExamID: e.ID, ItemID: id, Position: i}).Error; err != nil {
				return fmt.Errorf("assess: add item %s: %w", id, err)
			}
		}
		if err := setPrerequisites(tx, e.ID, e.Policy.Prerequisites); err != nil {
			return err
		}
		for i := range e.Forms {
			if e.Forms[i].ID, err = insertForm(tx, e.ID, i, e.Forms[i], now); err != nil {
				return err
			}
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "exam.create", Subject: "exam:" + e.ID, After: e, At: now})
	})
	return e, err
}

// checkReferences checks what an exam names outside itself: its program,
// its slug within the program, and its pool's items.
func (s *Service) checkReferences(ctx context.Context, e Exam) error {
	db := s.db.WithContext(ctx)
	var prog programRow
	if uuid.Validate(e.ProgramID) != nil || errors.Is(db.First(&prog, "id = ?", e.ProgramID).Error, gorm.ErrRecordNotFound) {
		return valid.Errorf("program_id", "is not a program")
	}
	var taken int64
	if err := db.Model(&examRow{}).Where("program_id = ? AND slug = ?", e.ProgramID, e.Slug).Count(&taken).Error; err != nil {
		return fmt.Errorf("assess: create exam: %w", err)
	}
	if taken > 0 {
		return valid.Errorf("slug", "%q is taken by another exam of the program", e.Slug)
	}
	if e.AchievementID != "" {
		// The achievement belongs to package credential; the foreign key
		// would refuse a wrong id anyway, this names the field.
		var n int64
		if uuid.Validate(e.AchievementID) == nil {
			if err := db.Table("achievements").Where("id = ?", e.AchievementID).Count(&n).Error; err != nil {
				return fmt.Errorf("assess: create exam: %w", err)
			}
		}
		if n == 0 {
			return valid.Errorf("achievement_id", "is not an achievement")
		}
	}
	seen := map[string]bool{}
	for i, id := range e.ItemIDs {
		if seen[id] {
			return valid.Errorf(fmt.Sprintf("items[%d]", i), "repeats an item")
		}
		seen[id] = true
		if uuid.Validate(id) != nil {
			return valid.Errorf(fmt.Sprintf("items[%d]", i), "is not an item id")
		}
	}
	found, err := s.items.Working(ctx, e.ItemIDs)
	if err != nil {
		return err
	}
	if len(found) < len(e.ItemIDs) {
		in := map[string]bool{}
		for _, it := range found {
			in[it.ID] = true
		}
		for i, id := range e.ItemIDs {
			if !in[id] {
				return valid.Errorf(fmt.Sprintf("items[%d]", i), "is not an item of the bank")
			}
		}
	}
	return nil
}

// validate checks what CreateExam stores beyond the basics.
func (e Exam) validate() error {
	if err := e.Policy.validate(); err != nil {
		return err
	}
	if err := e.Scale.validate(); err != nil {
		return err
	}
	codes := map[string]bool{}
	for i, d := range e.Domains {
		switch {
		case strings.TrimSpace(d.Code) == "":
			return valid.Errorf(fmt.Sprintf("domains[%d].code", i), "is required")
		case codes[d.Code]:
			return valid.Errorf(fmt.Sprintf("domains[%d].code", i), "repeats %q", d.Code)
		case d.Count < 0:
			return valid.Errorf(fmt.Sprintf("domains[%d].count", i), "must not be negative")
		case !(d.Weight >= 0) || math.IsInf(d.Weight, 0):
			return valid.Errorf(fmt.Sprintf("domains[%d].weight", i), "must be a finite number ≥ 0")
		}
		codes[d.Code] = true
	}
	inPool := map[string]bool{}
	for _, id := range e.ItemIDs {
		inPool[id] = true
	}
	names := map[string]bool{}
	for i, f := range e.Forms {
		field := fmt.Sprintf("forms[%d]", i)
		if strings.TrimSpace(f.Name) == "" {
			return valid.Errorf(field+".name", "is required")
		}
		if names[f.Name] {
			return valid.Errorf(field+".name", "repeats %q", f.Name)
		}
		names[f.Name] = true
		onForm := map[string]bool{}
		scored := 0
		for j, sec := range f.Sections {
			for k, it := range sec.Items {
				itemField := fmt.Sprintf("%s.sections[%d].items[%d]", field, j, k)
				if !inPool[it.ItemID] {
					return valid.Errorf(itemField, "is not an item of the exam's pool")
				}
				if onForm[it.ItemID] {
					return valid.Errorf(itemField, "is on the form twice")
				}
				onForm[it.ItemID] = true
				if !it.Pretest {
					scored++
				}
			}
		}
		if scored == 0 {
			return valid.Errorf(field+".sections", "must hold at least one scored item")
		}
	}
	switch e.Mode {
	case ModeFixed:
	case ModeLOFT:
		if len(e.Forms) > 0 {
			return valid.Errorf("forms", "are for fixed exams; a LOFT exam assembles its forms")
		}
		total := 0
		for _, d := range e.Domains {
			total += d.Count
		}
		if total == 0 {
			return valid.Errorf("domains", "a LOFT exam needs an item count in at least one domain")
		}
		if err := e.LOFT.validate(); err != nil {
			return err
		}
		return pooled(e.ItemIDs, e.LOFT.PretestItems, "loft.pretest_items")
	case ModeCAT:
		if len(e.Forms) > 0 {
			return valid.Errorf("forms", "are for fixed exams; a CAT selects its items")
		}
		if err := e.CAT.validate(); err != nil {
			return err
		}
		return pooled(e.ItemIDs, e.CAT.PretestItems, "cat.pretest_items")
	default:
		return valid.Errorf("mode", "must be %q, %q or %q", ModeFixed, ModeLOFT, ModeCAT)
	}
	return nil
}

func insertForm(tx *gorm.DB, examID string, position int, f Form, now time.Time) (string, error) {
	row := formRow{ID: uuid.NewString(), ExamID: examID, Name: f.Name, Position: position, CreatedAt: now}
	if err := tx.Create(&row).Error; err != nil {
		return "", fmt.Errorf("assess: create form %s: %w", f.Name, err)
	}
	pos := 0
	for i, sec := range f.Sections {
		if err := tx.Create(&formSectionRow{FormID: row.ID, Position: i, Title: sec.Title, Instructions: sec.Instructions}).Error; err != nil {
			return "", fmt.Errorf("assess: create form %s: %w", f.Name, err)
		}
		for _, it := range sec.Items {
			pos++
			if err := tx.Create(&formItemRow{FormID: row.ID, Position: pos, ItemID: it.ItemID, Section: i, Pretest: it.Pretest}).Error; err != nil {
				return "", fmt.Errorf("assess: create form %s: %w", f.Name, err)
			}
		}
	}
	return row.ID, nil
}

func setPrerequisites(tx *gorm.DB, examID string, ids []string) error {
	if err := tx.Where("exam_id = ?", examID).Delete(&prerequisiteRow{}).Error; err != nil {
		return fmt.Errorf("assess: prerequisites: %w", err)
	}
	for _, id := range ids {
		if err := tx.Create(&prerequisiteRow{ExamID: examID, AchievementID: id}).Error; err != nil {
			return fmt.Errorf("assess: prerequisites: %w", err)
		}
	}
	return nil
}

// revisedExam is an exam's row with its revision (see exam_revisions):
// "" until its parts first change.
type revisedExam struct {
	Row      examRow `gorm:"embedded"`
	Revision string  `gorm:"column:revision"`
}

// withRevision selects exams with their revisions.
func withRevision(db *gorm.DB) *gorm.DB {
	return db.Table("exams").Select("exams.*, COALESCE(r.revision, '') AS revision").
		Joins("LEFT JOIN exam_revisions r ON r.exam_id = exams.id")
}

// Exams lists every exam with its blueprint and pool.
func (s *Service) Exams(ctx context.Context) ([]Exam, error) {
	var rows []revisedExam
	if err := withRevision(s.db.WithContext(ctx)).Order("exams.created_at, exams.title").Find(&rows).Error; err != nil {
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
	if uuid.Validate(id) != nil {
		return Exam{}, notFound("exam", id)
	}
	var rows []revisedExam
	if err := withRevision(s.db.WithContext(ctx)).Where("exams.id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return Exam{}, fmt.Errorf("assess: exam: %w", err)
	}
	if len(rows) == 0 {
		return Exam{}, notFound("exam", id)
	}
	return s.loadExam(ctx, rows[0])
}

// rulesMemory is how long an exam's proctoring rules are answered from
// memory (ProctoringPolicy, SnapshotRules). A change made through this
// Service is seen by every read after it; one made on another instance
// reaches the live console's risk scores and the snapshots this much
// later at most.
const rulesMemory = 5 * time.Second

// proctoringRules are what proctoring an attempt of an exam follows: the
// exam's policy and how long its program keeps images (0 when the
// program's row holds no period), as read at a moment, before the
// rulesChanges'th change made through the Service.
type proctoringRules struct {
	policy    ProctoringPolicy
	retention time.Duration
	read      time.Time
	changes   uint64
}

// proctoringRules returns an exam's proctoring rules, as read less than
// rulesMemory ago and since the last change made through s: the live
// console needs them for every batch of events with an incident that a
// candidate's page sends, and a candidate's page sends a snapshot every
// few seconds to a minute.
func (s *Service) proctoringRules(ctx context.Context, examID string) (proctoringRules, error) {
	changes := s.rulesChanges.Load()
	if r, ok := s.rules.Get(examID); ok && r.changes == changes && s.now().Sub(r.read) < rulesMemory {
		return r, nil
	}
	if uuid.Validate(examID) != nil {
		return proctoringRules{}, notFound("exam", examID)
	}
	// changes was counted before the read, so a change made meanwhile
	// makes the rules read here stale at once.
	read := s.now()
	var rows []struct {
		Settings string `gorm:"column:settings"`
		Days     int    `gorm:"column:retention_days"`
	}
	err := s.db.WithContext(ctx).Raw("SELECT e.settings, p.snapshot_retention_days AS retention_days "+
		"FROM exams e JOIN programs p ON p.id = e.program_id WHERE e.id = ?", examID).Scan(&rows).Error
	if err != nil {
		return proctoringRules{}, fmt.Errorf("assess: exam: %w", err)
	}
	if len(rows) == 0 {
		return proctoringRules{}, notFound("exam", examID)
	}
	p, err := proctoringOf(examID, rows[0].Settings)
	if err != nil {
		return proctoringRules{}, err
	}
	r := proctoringRules{policy: p, retention: time.Duration(max(rows[0].Days, 0)) * 24 * time.Hour, read: read, changes: changes}
	s.rules.Put(examID, r)
	return r, nil
}

// rulesChanged makes every exam's remembered proctoring rules stale.
func (s *Service) rulesChanged() { s.rulesChanges.Add(1) }

// ProctoringPolicy returns an exam's proctoring policy, as Exam(ctx,
// id).Proctoring, from the exam's row alone, remembered for rulesMemory.
func (s *Service) ProctoringPolicy(ctx context.Context, examID string) (ProctoringPolicy, error) {
	r, err := s.proctoringRules(ctx, examID)
	return r.policy, err
}

// SnapshotRules are what storing a webcam snapshot of an attempt follows,
// whatever the attempt's state: whose attempt it is, its exam's proctoring
// policy and how long the exam's program keeps proctoring images
// (SnapshotRetention).
type SnapshotRules struct {
	Owner     AttemptOwner
	Policy    ProctoringPolicy
	Retention time.Duration
}

// SnapshotRules returns an attempt's SnapshotRules from memory once they
// were read: the owner never changes (AttemptOwner) and the exam's rules
// are remembered for a moment (proctoringRules). A candidate's page sends
// a snapshot every few seconds to a minute; whether the attempt still
// takes one is checked where the snapshot is recorded
// (proctor.NewSnapshot), or read with SnapshotTarget.
func (s *Service) SnapshotRules(ctx context.Context, attemptID string) (SnapshotRules, error) {
	owner, err := s.AttemptOwner(ctx, attemptID)
	if err != nil {
		return SnapshotRules{}, err
	}
	return s.snapshotRules(ctx, owner)
}

func (s *Service) snapshotRules(ctx context.Context, owner AttemptOwner) (SnapshotRules, error) {
	rules, err := s.proctoringRules(ctx, owner.ExamID)
	if err != nil {
		return SnapshotRules{}, err
	}
	if rules.retention <= 0 {
		return SnapshotRules{}, fmt.Errorf("assess: snapshot retention of exam %s: %w", owner.ExamID, ErrNotFound)
	}
	return SnapshotRules{Owner: owner, Policy: rules.policy, Retention: rules.retention}, nil
}

// SnapshotTarget is an attempt's SnapshotRules with its clock, which says
// whether it is open.
type SnapshotTarget struct {
	SnapshotRules
	clock Attempt // the fields Timing reads, and no other
}

// Status is the attempt's status.
func (t SnapshotTarget) Status() string { return t.clock.Status }

// Timing is the attempt's Timing at now.
func (t SnapshotTarget) Timing(now time.Time) Timing { return t.clock.Timing(now) }

// SnapshotTarget reads an attempt's clock, in one read of its row, with
// its SnapshotRules: it is what decides a snapshot that the statement
// recording it could not (a held attempt's, say). It reads the columns it
// needs and no more: under load most of a read's cost in the server is
// per column scanned.
func (s *Service) SnapshotTarget(ctx context.Context, attemptID string) (SnapshotTarget, error) {
	if uuid.Validate(attemptID) != nil {
		return SnapshotTarget{}, notFound("attempt", attemptID)
	}
	var rows []struct {
		ID             string     `gorm:"column:id"`
		ExamID         string     `gorm:"column:exam_id"`
		CandidateID    string     `gorm:"column:candidate_id"`
		Status         string     `gorm:"column:status"`
		Deadline       time.Time  `gorm:"column:deadline"`
		PausedAt       *time.Time `gorm:"column:paused_at"`
		HeldAt         *time.Time `gorm:"column:held_at"`
		BreakAllowance int        `gorm:"column:break_allowance_seconds"`
		BreakUsed      int        `gorm:"column:break_used_seconds"`
	}
	err := s.db.WithContext(ctx).Raw("SELECT id, exam_id, candidate_id, status, deadline, paused_at, held_at, "+
		"break_allowance_seconds, break_used_seconds FROM attempts WHERE id = ?", attemptID).
		Scan(&rows).Error
	if err != nil {
		return SnapshotTarget{}, fmt.Errorf("assess: snapshot target: %w", err)
	}
	if len(rows) == 0 {
		return SnapshotTarget{}, notFound("attempt", attemptID)
	}
	r := rows[0]
	rules, err := s.snapshotRules(ctx, AttemptOwner{AttemptID: r.ID, CandidateID: r.CandidateID, ExamID: r.ExamID})
	if err != nil {
		return SnapshotTarget{}, err
	}
	return SnapshotTarget{SnapshotRules: rules,
		clock: Attempt{Status: r.Status, Deadline: r.Deadline, PausedAt: r.PausedAt, HeldAt: r.HeldAt,
			BreakAllowance: time.Duration(r.BreakAllowance) * time.Second, BreakUsed: time.Duration(r.BreakUsed) * time.Second},
	}, nil
}

// proctoringOf reads the proctoring policy from an exam's settings.
func proctoringOf(examID, settings string) (ProctoringPolicy, error) {
	var set examSettings
	if settings != "" {
		if err := json.Unmarshal([]byte(settings), &set); err != nil {
			return ProctoringPolicy{}, fmt.Errorf("assess: settings of exam %s: %w", examID, err)
		}
	}
	return set.Proctoring, nil
}

// examParts are the rows of an exam's parts, as read at one revision.
// They are never changed once read: an Exam is built afresh from them
// each time, so that its caller may change it.
type examParts struct {
	revision string
	domains  []domainRow
	pool     []examItemRow
	prereqs  []prerequisiteRow
	forms    []formParts
}

type formParts struct {
	form     formRow
	sections []formSectionRow
	items    []formItemRow
}

// parts returns the exam's parts at revision r.Revision: remembered, or
// read and remembered. A change to any part replaces the revision (a
// trigger does, in the same transaction), so what is remembered for the
// revision just read is current. The parts are read after the revision:
// they may be newer than it, never older, and a newer revision reads them
// again.
func (s *Service) parts(ctx context.Context, r revisedExam) (examParts, error) {
	if p, ok := s.examParts.Get(r.Row.ID); ok && p.revision == r.Revision {
		return p, nil
	}
	db := s.db.WithContext(ctx)
	p := examParts{revision: r.Revision}
	if err := db.Where("exam_id = ?", r.Row.ID).Order("position").Find(&p.domains).Error; err != nil {
		return examParts{}, fmt.Errorf("assess: exam domains: %w", err)
	}
	if err := db.Where("exam_id = ?", r.Row.ID).Order("position").Find(&p.pool).Error; err != nil {
		return examParts{}, fmt.Errorf("assess: exam items: %w", err)
	}
	if err := db.Where("exam_id = ?", r.Row.ID).Order("achievement_id").Find(&p.prereqs).Error; err != nil {
		return examParts{}, fmt.Errorf("assess: exam prerequisites: %w", err)
	}
	var forms []formRow
	if err := db.Where("exam_id = ?", r.Row.ID).Order("position").Find(&forms).Error; err != nil {
		return examParts{}, fmt.Errorf("assess: exam forms: %w", err)
	}
	for _, f := range forms {
		fp := formParts{form: f}
		if err := db.Where("form_id = ?", f.ID).Order("position").Find(&fp.sections).Error; err != nil {
			return examParts{}, fmt.Errorf("assess: form sections: %w", err)
		}
		if err := db.Where("form_id = ?", f.ID).Order("position").Find(&fp.items).Error; err != nil {
			return examParts{}, fmt.Errorf("assess: form items: %w", err)
		}
		p.forms = append(p.forms, fp)
	}
	s.examParts.Put(r.Row.ID, p)
	return p, nil
}

func (s *Service) loadExam(ctx context.Context, re revisedExam) (Exam, error) {
	r := re.Row
	e := Exam{ID: r.ID, ProgramID: r.ProgramID, Slug: r.Slug, Title: r.Title, Description: r.Description,
		Instructions: r.Instructions, Duration: time.Duration(r.DurationSeconds) * time.Second, Mode: r.Mode,
		Policy: Policy{MaxAttempts: r.MaxAttempts, RetakeWait: time.Duration(r.RetakeWaitSecs) * time.Second,
			OpensAt: utcPtr(r.OpensAt), ClosesAt: utcPtr(r.ClosesAt), DifferentFormOnRetake: r.DifferentForm}}
	if e.Mode == "" {
		e.Mode = ModeFixed
	}
	if r.AchievementID != nil {
		e.AchievementID = *r.AchievementID
	}
	if r.Settings != "" {
		var set examSettings
		if err := json.Unmarshal([]byte(r.Settings), &set); err != nil {
			return Exam{}, fmt.Errorf("assess: settings of exam %s: %w", r.ID, err)
		}
		e.CAT, e.LOFT, e.Scale, e.Proctoring = set.CAT, set.LOFT, set.Scale, set.Proctoring
	}
	p, err := s.parts(ctx, re)
	if err != nil {
		return Exam{}, err
	}
	for _, d := range p.domains {
		e.Domains = append(e.Domains, Domain{Code: d.Code, Name: d.Name, Description: d.Description, Skill: d.Skill, Count: d.ItemCount, Weight: d.Weight})
	}
	for _, it := range p.pool {
		e.ItemIDs = append(e.ItemIDs, it.ItemID)
	}
	for _, pr := range p.prereqs {
		e.Policy.Prerequisites = append(e.Policy.Prerequisites, pr.AchievementID)
	}
	e.Forms = make([]Form, 0, len(p.forms))
	for _, fp := range p.forms {
		f := Form{ID: fp.form.ID, Name: fp.form.Name, Sections: make([]Section, len(fp.sections))}
		for i, sec := range fp.sections {
			f.Sections[i] = Section{Title: sec.Title, Instructions: sec.Instructions}
		}
		for _, it := range fp.items {
			if it.Section >= 0 && it.Section < len(f.Sections) {
				f.Sections[it.Section].Items = append(f.Sections[it.Section].Items, FormItem{ItemID: it.ItemID, Pretest: it.Pretest})
			}
		}
		e.Forms = append(e.Forms, f)
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

// pooled checks that every id of ids is in the pool, naming field[i] when
// one is not.
func pooled(pool, ids []string, field string) error {
	in := map[string]bool{}
	for _, id := range pool {
		in[id] = true
	}
	for i, id := range ids {
		if !in[id] {
			return valid.Errorf(fmt.Sprintf("%s[%d]", field, i), "is not in the exam's pool")
		}
	}
	return nil
}
