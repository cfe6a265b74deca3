package assess

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gonum.org/v1/gonum/mat"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// The standard-setting methods a panel carries out in the browser.
const (
	MethodModifiedAngoff = "modified-Angoff"
	MethodYesNoAngoff    = "yes-no-Angoff"
	MethodBookmark       = "Bookmark"
	MethodHofstee        = "Hofstee"
	MethodBeuk           = "Beuk"
)

// StudyMethods lists the methods a study may use. The borderline-group and
// contrasting-groups methods classify candidates rather than judge items;
// their cuts are computed from classifications with `touchstone psych
// groups`.
var StudyMethods = []string{MethodModifiedAngoff, MethodYesNoAngoff, MethodBookmark, MethodHofstee, MethodBeuk}

// Study statuses: a study is open until its standard is adopted.
const (
	StudyOpen   = "open"
	StudyClosed = "closed"
)

// Judgement kinds beside item ratings. Hofstee's and Beuk's values are
// percentages (of the maximum score for cuts, of candidates for rates); a
// bookmark is a page of the ordered item booklet (page 1 is the easiest
// item): the first item a minimally competent candidate would not master.
const (
	JudgeBookmark     = "bookmark"
	JudgeHofsteeMin   = "hofstee.min_cut"
	JudgeHofsteeMax   = "hofstee.max_cut"
	JudgeHofsteeMinFR = "hofstee.min_fail"
	JudgeHofsteeMaxFR = "hofstee.max_fail"
	JudgeBeukCut      = "beuk.cut"
	JudgeBeukPassRate = "beuk.pass_rate"
)

// hofsteeKinds are the four Hofstee judgements, in the order asked.
var hofsteeKinds = []string{JudgeHofsteeMin, JudgeHofsteeMax, JudgeHofsteeMinFR, JudgeHofsteeMaxFR}

// Study is a standard-setting study of an exam or one of its forms.
type Study struct {
	ID     string
	ExamID string
	FormID string // empty for the exam's item pool
	Method string
	Title  string
	// MCC defines the minimally competent candidate the panel judges for.
	MCC           string
	PlannedRounds int
	CurrentRound  int // the round panelists work in
	ReleasedRound int // the last round whose feedback panelists see
	Status        string
	Panelists     []Panelist
	CreatedAt     time.Time
}

// Panelist is a subject-matter expert on a study's panel.
type Panelist struct {
	ID             string
	UserID         string // the signed-in panelist; empty for ratings entered by staff
	Name           string
	Qualification  string
	SubmittedRound int // the last round the panelist marked complete
}

// Rating is one panelist's judgement of one item in one round: the
// probability that a minimally competent candidate answers it correctly
// (0 or 1 in a Yes/No study).
type Rating struct {
	PanelistID string
	ItemID     string
	Round      int
	Value      float64
}

type studyRow struct {
	ID            string    `gorm:"column:id;primaryKey"`
	ExamID        string    `gorm:"column:exam_id"`
	FormID        *string   `gorm:"column:form_id"`
	Method        string    `gorm:"column:method"`
	Title         string    `gorm:"column:title"`
	MCC           string    `gorm:"column:mcc"`
	PlannedRounds int       `gorm:"column:planned_rounds"`
	CurrentRound  int       `gorm:"column:current_round"`
	ReleasedRound int       `gorm:"column:released_round"`
	Status        string    `gorm:"column:status"`
	CreatedBy     *string   `gorm:"column:created_by"`
	CreatedAt     time.Time `gorm:"column:created_at"`
}

func (studyRow) TableName() string { return "studies" }

type panelistRow struct {
	ID             string  `gorm:"column:id;primaryKey"`
	StudyID        string  `gorm:"column:study_id"`
	UserID         *string `gorm:"column:user_id"`
	Name           string  `gorm:"column:name"`
	Qualification  string  `gorm:"column:qualification"`
	SubmittedRound int     `gorm:"column:submitted_round"`
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

type judgementRow struct {
	StudyID    string    `gorm:"column:study_id;primaryKey"`
	PanelistID string    `gorm:"column:panelist_id;primaryKey"`
	Round      int       `gorm:"column:round;primaryKey"`
	Kind       string    `gorm:"column:kind;primaryKey"`
	Value      float64   `gorm:"column:value"`
	UpdatedAt  time.Time `gorm:"column:updated_at"`
}

func (judgementRow) TableName() string { return "study_judgements" }

// CreateStudy opens a study of an exam (or one of its forms) with its
// panel. Panelists named by UserID must hold the panelist role; their name
// defaults to the user's. The method defaults to modified Angoff and the
// plan to two rounds. The creation is audited.
func (s *Service) CreateStudy(ctx context.Context, actor string, st Study) (Study, error) {
	st.Title, st.MCC = strings.TrimSpace(st.Title), strings.TrimSpace(st.MCC)
	if st.Title == "" {
		return Study{}, valid.Errorf("title", "is required")
	}
	if st.Method == "" {
		st.Method = MethodModifiedAngoff
	}
	if !slices.Contains(StudyMethods, st.Method) {
		return Study{}, valid.Errorf("method", "must be one of %s", strings.Join(StudyMethods, ", "))
	}
	if st.PlannedRounds == 0 {
		st.PlannedRounds = 2
	}
	if st.PlannedRounds < 1 || st.PlannedRounds > 5 {
		return Study{}, valid.Errorf("planned_rounds", "must be from 1 to 5")
	}
	if len(st.Panelists) == 0 {
		return Study{}, valid.Errorf("panelists", "at least one panelist is required")
	}
	exam, err := s.Exam(ctx, st.ExamID)
	if err != nil {
		return Study{}, err
	}
	if st.FormID != "" && !slices.ContainsFunc(exam.Forms, func(f Form) bool { return f.ID == st.FormID }) {
		return Study{}, valid.Errorf("form_id", "is not a form of this exam")
	}
	st.ID, st.CreatedAt = uuid.NewString(), s.now().UTC()
	st.CurrentRound, st.ReleasedRound, st.Status = 1, 0, StudyOpen
	err = s.tx(ctx, func(tx *gorm.DB) error {
		row := studyRow{ID: st.ID, ExamID: st.ExamID, Method: st.Method, Title: st.Title, MCC: st.MCC,
			PlannedRounds: st.PlannedRounds, CurrentRound: 1, Status: StudyOpen, CreatedBy: userRef(actor), CreatedAt: st.CreatedAt}
		if st.FormID != "" {
			row.FormID = &st.FormID
		}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("assess: create study: %w", err)
		}
		seen := map[string]bool{}
		for i := range st.Panelists {
			p := &st.Panelists[i]
			p.ID, p.SubmittedRound = uuid.NewString(), 0
			if p.UserID != "" {
				field := fmt.Sprintf("panelists[%d].user_id", i)
				if seen[p.UserID] {
					return valid.Errorf(field, "is on the panel twice")
				}
				seen[p.UserID] = true
				name, err := panelistName(tx, p.UserID)
				if err != nil {
					return valid.Errorf(field, "%v", err)
				}
				if p.Name == "" {
					p.Name = name
				}
			}
			if strings.TrimSpace(p.Name) == "" {
				return valid.Errorf(fmt.Sprintf("panelists[%d].name", i), "is required")
			}
			if err := tx.Create(&panelistRow{ID: p.ID, StudyID: st.ID, UserID: userRef(p.UserID), Name: p.Name, Qualification: p.Qualification}).Error; err != nil {
				return fmt.Errorf("assess: add panelist: %w", err)
			}
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "study.create", Subject: "study:" + st.ID, After: st, At: st.CreatedAt})
	})
	if err != nil {
		return Study{}, err
	}
	return st, nil
}

// panelistName returns the name of a user who holds the panelist role.
func panelistName(tx *gorm.DB, userID string) (string, error) {
	if uuid.Validate(userID) != nil {
		return "", errors.New("is not a user id")
	}
	var name []string
	err := tx.Table("users").Joins("JOIN user_roles ON user_roles.user_id = users.id").
		Where("users.id = ? AND user_roles.role = ?", userID, "panelist").Pluck("users.name", &name).Error
	if err != nil {
		return "", fmt.Errorf("assess: panelist: %w", err)
	}
	if len(name) == 0 {
		return "", errors.New("is not a user with the panelist role")
	}
	return name[0], nil
}

// RecordRatings stores ratings entered on the panel's behalf (a paper
// study transcribed by staff); a rating given again replaces the earlier
// one of the same panelist, item and round. Each panelist's round counts as
// submitted.
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
		done := map[string]int{} // panelist → the latest round entered
		for _, r := range rows {
			if err := tx.Save(&r).Error; err != nil {
				return fmt.Errorf("assess: record rating: %w", err)
			}
			done[r.PanelistID] = max(done[r.PanelistID], r.Round)
		}
		// Transcribed ratings are a panelist's completed round.
		for id, round := range done {
			if err := tx.Model(&panelistRow{}).Where("id = ? AND study_id = ? AND submitted_round < ?", id, studyID, round).
				Update("submitted_round", round).Error; err != nil {
				return fmt.Errorf("assess: record rating: %w", err)
			}
		}
		return nil
	})
}

// Study returns a study with its panel.
func (s *Service) Study(ctx context.Context, id string) (Study, error) {
	return loadStudy(s.db.WithContext(ctx), id)
}

func loadStudy(db *gorm.DB, id string) (Study, error) {
	var r studyRow
	if err := first(db, &r, "study", id); err != nil {
		return Study{}, err
	}
	var ps []panelistRow
	if err := db.Where("study_id = ?", id).Order("name, id").Find(&ps).Error; err != nil {
		return Study{}, fmt.Errorf("assess: panelists: %w", err)
	}
	st := r.study()
	for _, p := range ps {
		st.Panelists = append(st.Panelists, p.panelist())
	}
	return st, nil
}

func (r studyRow) study() Study {
	return Study{ID: r.ID, ExamID: r.ExamID, FormID: deref(r.FormID), Method: r.Method, Title: r.Title, MCC: r.MCC,
		PlannedRounds: r.PlannedRounds, CurrentRound: r.CurrentRound, ReleasedRound: r.ReleasedRound,
		Status: r.Status, CreatedAt: r.CreatedAt}
}

func (p panelistRow) panelist() Panelist {
	return Panelist{ID: p.ID, UserID: deref(p.UserID), Name: p.Name, Qualification: p.Qualification, SubmittedRound: p.SubmittedRound}
}

// Studies lists an exam's studies, newest first.
func (s *Service) Studies(ctx context.Context, examID string) ([]Study, error) {
	if uuid.Validate(examID) != nil {
		return nil, nil
	}
	var rows []studyRow
	if err := s.db.WithContext(ctx).Where("exam_id = ?", examID).Order("created_at DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("assess: studies: %w", err)
	}
	out := make([]Study, len(rows))
	for i, r := range rows {
		out[i] = r.study()
	}
	return out, nil
}

// PanelStudies lists the studies a user sits on as a panelist, open ones
// first, newest first.
func (s *Service) PanelStudies(ctx context.Context, userID string) ([]Study, error) {
	if uuid.Validate(userID) != nil {
		return nil, nil
	}
	var rows []studyRow
	err := s.db.WithContext(ctx).Model(&studyRow{}).
		Joins("JOIN study_panelists ON study_panelists.study_id = studies.id").
		Where("study_panelists.user_id = ?", userID).
		Order("studies.status DESC, studies.created_at DESC").Select("studies.*").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("assess: panel studies: %w", err)
	}
	out := make([]Study, len(rows))
	for i, r := range rows {
		out[i] = r.study()
	}
	return out, nil
}

// StudyItems returns the items a study judges, in delivery order: the
// form's scored items, or the exam's pool.
func (s *Service) StudyItems(ctx context.Context, st Study) ([]string, error) {
	exam, err := s.Exam(ctx, st.ExamID)
	if err != nil {
		return nil, err
	}
	return studyItems(exam, st), nil
}

func studyItems(exam Exam, st Study) []string {
	if st.FormID == "" {
		return exam.ItemIDs
	}
	var ids []string
	for _, f := range exam.Forms {
		if f.ID != st.FormID {
			continue
		}
		for _, sec := range f.Sections {
			for _, it := range sec.Items {
				if !it.Pretest {
					ids = append(ids, it.ItemID)
				}
			}
		}
	}
	return ids
}

// ErrNotPanelist is returned when a user acts on a study whose panel they
// are not on.
var ErrNotPanelist = fmt.Errorf("%w: not a panelist of this study", ErrNotFound)

// ErrRoundSubmitted is returned when a panelist changes a round they have
// already submitted.
var ErrRoundSubmitted = fmt.Errorf("%w: round already submitted", ErrConflict)

// panelistFor loads the open study and the user's seat on its panel.
func panelistFor(tx *gorm.DB, studyID, userID string) (studyRow, panelistRow, error) {
	var st studyRow
	if err := first(tx, &st, "study", studyID); err != nil {
		return st, panelistRow{}, err
	}
	var p panelistRow
	err := tx.Where("study_id = ? AND user_id = ?", studyID, userID).First(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || uuid.Validate(userID) != nil {
		return st, p, ErrNotPanelist
	}
	if err != nil {
		return st, p, fmt.Errorf("assess: panelist: %w", err)
	}
	return st, p, nil
}

// editable checks that the panelist may still change the current round.
func editable(st studyRow, p panelistRow) error {
	if st.Status != StudyOpen {
		return fmt.Errorf("%w: the study is closed", ErrConflict)
	}
	if p.SubmittedRound >= st.CurrentRound {
		return ErrRoundSubmitted
	}
	return nil
}

// seat loads, in tx, the user's seat on the study's panel with the study
// and its items, refusing a study that is closed or a round the panelist
// has submitted.
func (s *Service) seat(ctx context.Context, tx *gorm.DB, studyID, userID string) (studyRow, panelistRow, []string, error) {
	st, p, err := panelistFor(tx, studyID, userID)
	if err != nil {
		return st, p, nil, err
	}
	if err := editable(st, p); err != nil {
		return st, p, nil, err
	}
	exam, err := s.in(tx).Exam(ctx, st.ExamID)
	if err != nil {
		return st, p, nil, err
	}
	return st, p, studyItems(exam, st.study()), nil
}

// SaveRating stores a panelist's rating of an item in the current round,
// replacing what they saved before: panelists' work saves as they go.
func (s *Service) SaveRating(ctx context.Context, studyID, userID, itemID string, value float64) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		st, p, items, err := s.seat(ctx, tx, studyID, userID)
		if err != nil {
			return err
		}
		if !methodRatesItems(st.Method) {
			return valid.Errorf("item_id", "a %s study rates no items", st.Method)
		}
		if !slices.Contains(items, itemID) {
			return valid.Errorf("item_id", "is not an item of this study")
		}
		switch {
		case math.IsNaN(value) || value < 0 || value > 1:
			return valid.Errorf("value", "must be a probability from 0 to 1")
		case st.Method == MethodYesNoAngoff && value != 0 && value != 1:
			return valid.Errorf("value", "must be 1 (yes) or 0 (no) in a Yes/No study")
		}
		row := ratingRow{StudyID: st.ID, PanelistID: p.ID, ItemID: itemID, Round: st.CurrentRound, Rating: value}
		if err := tx.Save(&row).Error; err != nil {
			return fmt.Errorf("assess: save rating: %w", err)
		}
		return nil
	})
}

// SaveJudgement stores one of a panelist's judgements in the current
// round: the bookmark of a Bookmark study, or one of Hofstee's or Beuk's
// values (asked in every study whose method is not Bookmark, so that the
// compromise methods can be set beside the panel's own).
func (s *Service) SaveJudgement(ctx context.Context, studyID, userID, kind string, value float64) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		st, p, items, err := s.seat(ctx, tx, studyID, userID)
		if err != nil {
			return err
		}
		if err := checkJudgement(st.Method, kind, value, len(items)); err != nil {
			return err
		}
		row := judgementRow{StudyID: st.ID, PanelistID: p.ID, Round: st.CurrentRound, Kind: kind, Value: value, UpdatedAt: s.now().UTC()}
		if err := tx.Save(&row).Error; err != nil {
			return fmt.Errorf("assess: save judgement: %w", err)
		}
		return nil
	})
}

func checkJudgement(method, kind string, value float64, items int) error {
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return valid.Errorf("value", "must be a number")
	}
	switch kind {
	case JudgeBookmark:
		if method != MethodBookmark {
			return valid.Errorf("kind", "a bookmark belongs to a Bookmark study")
		}
		// Page 1 cannot be bookmarked: the cut is the location of the page
		// before the bookmark.
		if value != math.Trunc(value) || value < 2 || int(value) > items {
			return valid.Errorf("value", "must be a page from 2 to %d", items)
		}
	case JudgeHofsteeMin, JudgeHofsteeMax, JudgeHofsteeMinFR, JudgeHofsteeMaxFR, JudgeBeukCut, JudgeBeukPassRate:
		if method == MethodBookmark {
			return valid.Errorf("kind", "a Bookmark study asks only for a bookmark")
		}
		if value < 0 || value > 100 {
			return valid.Errorf("value", "must be a percentage from 0 to 100")
		}
	default:
		return valid.Errorf("kind", "is not a judgement kind")
	}
	return nil
}

func methodRatesItems(method string) bool {
	return method == MethodModifiedAngoff || method == MethodYesNoAngoff
}

// SubmitRound marks a panelist's work in the current round complete, once
// the method's judgements are all given, and audits what they submitted.
func (s *Service) SubmitRound(ctx context.Context, studyID, userID string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		st, p, items, err := s.seat(ctx, tx, studyID, userID)
		if err != nil {
			return err
		}
		work, err := panelistWork(tx, st.ID, p.ID, st.CurrentRound)
		if err != nil {
			return err
		}
		if err := work.complete(st.Method, items); err != nil {
			return err
		}
		if err := tx.Model(&panelistRow{}).Where("id = ?", p.ID).Update("submitted_round", st.CurrentRound).Error; err != nil {
			return fmt.Errorf("assess: submit round: %w", err)
		}
		return audit.Append(tx, audit.Entry{Actor: userID, Action: "study.round.submit", Subject: "study:" + st.ID,
			After: map[string]any{"panelist": p.ID, "round": st.CurrentRound, "ratings": work.Ratings, "judgements": work.Judgements}, At: s.now().UTC()})
	})
}

// Work is one panelist's ratings and judgements in one round.
type Work struct {
	Round      int
	Ratings    map[string]float64 // by item id
	Judgements map[string]float64 // by kind
}

func panelistWork(db *gorm.DB, studyID, panelistID string, round int) (Work, error) {
	w := Work{Round: round, Ratings: map[string]float64{}, Judgements: map[string]float64{}}
	var rs []ratingRow
	if err := db.Where("study_id = ? AND panelist_id = ? AND round = ?", studyID, panelistID, round).Find(&rs).Error; err != nil {
		return w, fmt.Errorf("assess: ratings: %w", err)
	}
	for _, r := range rs {
		w.Ratings[r.ItemID] = r.Rating
	}
	var js []judgementRow
	if err := db.Where("study_id = ? AND panelist_id = ? AND round = ?", studyID, panelistID, round).Find(&js).Error; err != nil {
		return w, fmt.Errorf("assess: judgements: %w", err)
	}
	for _, j := range js {
		w.Judgements[j.Kind] = j.Value
	}
	return w, nil
}

// complete checks that the work holds what the method needs.
func (w Work) complete(method string, items []string) error {
	switch method {
	case MethodModifiedAngoff, MethodYesNoAngoff:
		for i, id := range items {
			if _, ok := w.Ratings[id]; !ok {
				return valid.Errorf("ratings", "item %d is not rated yet", i+1)
			}
		}
	case MethodBookmark:
		if _, ok := w.Judgements[JudgeBookmark]; !ok {
			return valid.Errorf("bookmark", "place your bookmark before submitting")
		}
	case MethodHofstee:
		for _, k := range hofsteeKinds {
			if _, ok := w.Judgements[k]; !ok {
				return valid.Errorf(k, "is required")
			}
		}
	case MethodBeuk:
		for _, k := range []string{JudgeBeukCut, JudgeBeukPassRate} {
			if _, ok := w.Judgements[k]; !ok {
				return valid.Errorf(k, "is required")
			}
		}
	}
	return nil
}

// PanelistWork returns a panelist's study, seat and work in the current
// round.
func (s *Service) PanelistWork(ctx context.Context, studyID, userID string) (Study, Panelist, Work, error) {
	db := s.db.WithContext(ctx)
	_, p, err := panelistFor(db, studyID, userID)
	if err != nil {
		return Study{}, Panelist{}, Work{}, err
	}
	st, err := loadStudy(db, studyID)
	if err != nil {
		return Study{}, Panelist{}, Work{}, err
	}
	w, err := panelistWork(db, studyID, p.ID, st.CurrentRound)
	return st, p.panelist(), w, err
}

// ReleaseFeedback shows the panel the feedback of the current round: the
// distribution of their ratings, item p-values and impact. Audited.
func (s *Service) ReleaseFeedback(ctx context.Context, actor, studyID string) (Study, error) {
	return s.advance(ctx, actor, studyID, "study.feedback.release", func(st *studyRow) error {
		if st.ReleasedRound >= st.CurrentRound {
			return fmt.Errorf("%w: round %d's feedback is already released", ErrConflict, st.CurrentRound)
		}
		st.ReleasedRound = st.CurrentRound
		return nil
	})
}

// OpenNextRound starts the next round once the current round's feedback is
// released. Each panelist starts from their own previous judgements and
// revises them. Audited.
func (s *Service) OpenNextRound(ctx context.Context, actor, studyID string) (Study, error) {
	return s.advance(ctx, actor, studyID, "study.round.open", func(st *studyRow) error {
		if st.ReleasedRound < st.CurrentRound {
			return fmt.Errorf("%w: release round %d's feedback before opening the next round", ErrConflict, st.CurrentRound)
		}
		st.CurrentRound++
		return nil
	})
}

func (s *Service) advance(ctx context.Context, actor, studyID, action string, step func(*studyRow) error) (Study, error) {
	var out Study
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var st studyRow
		if err := first(tx, &st, "study", studyID); err != nil {
			return err
		}
		if st.Status != StudyOpen {
			return fmt.Errorf("%w: the study is closed", ErrConflict)
		}
		before := st.study()
		if err := step(&st); err != nil {
			return err
		}
		if st.CurrentRound != before.CurrentRound {
			// Carry every panelist's judgements into the new round.
			for _, tbl := range []string{"ratings", "study_judgements"} {
				cols := "study_id, panelist_id, item_id, round, rating"
				sel := "study_id, panelist_id, item_id, CAST(? AS integer), rating"
				if tbl == "study_judgements" {
					cols, sel = "study_id, panelist_id, round, kind, value, updated_at", "study_id, panelist_id, CAST(? AS integer), kind, value, updated_at"
				}
				err := tx.Exec("INSERT INTO "+tbl+" ("+cols+") SELECT "+sel+" FROM "+tbl+" WHERE study_id = ? AND round = ?",
					st.CurrentRound, st.ID, before.CurrentRound).Error
				if err != nil {
					return fmt.Errorf("assess: open round: %w", err)
				}
			}
		}
		err := tx.Model(&studyRow{}).Where("id = ?", st.ID).Updates(map[string]any{
			"current_round": st.CurrentRound, "released_round": st.ReleasedRound}).Error
		if err != nil {
			return fmt.Errorf("assess: %s: %w", action, err)
		}
		out = st.study()
		return audit.Append(tx, audit.Entry{Actor: actor, Action: action, Subject: "study:" + st.ID,
			Before: map[string]int{"current_round": before.CurrentRound, "released_round": before.ReleasedRound},
			After:  map[string]int{"current_round": st.CurrentRound, "released_round": st.ReleasedRound}, At: s.now().UTC()})
	})
	if err != nil {
		return Study{}, err
	}
	return s.Study(ctx, out.ID)
}

// RoundRatings returns a round's item ratings as a panelists × items
// matrix, rows in the order of the study's panel and columns in the
// study's item order; a missing rating is NaN.
func (s *Service) RoundRatings(ctx context.Context, st Study, items []string, round int) (*mat.Dense, error) {
	var rows []ratingRow
	if err := s.db.WithContext(ctx).Where("study_id = ? AND round = ?", st.ID, round).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("assess: ratings: %w", err)
	}
	if len(st.Panelists) == 0 || len(items) == 0 {
		return nil, valid.Errorf("ratings", "the study has no panelists or no items")
	}
	pIdx, iIdx := index(st.Panelists, func(p Panelist) string { return p.ID }), index(items, func(id string) string { return id })
	m := mat.NewDense(len(st.Panelists), len(items), nil)
	for i := range len(st.Panelists) {
		for j := range len(items) {
			m.Set(i, j, math.NaN())
		}
	}
	for _, r := range rows {
		i, okP := pIdx[r.PanelistID]
		j, okI := iIdx[r.ItemID]
		if okP && okI {
			m.Set(i, j, r.Rating)
		}
	}
	return m, nil
}

// RoundJudgements returns a round's judgements of one kind, one per
// panelist in panel order (NaN where not given).
func (s *Service) RoundJudgements(ctx context.Context, st Study, round int) (map[string][]float64, error) {
	var rows []judgementRow
	if err := s.db.WithContext(ctx).Where("study_id = ? AND round = ?", st.ID, round).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("assess: judgements: %w", err)
	}
	pIdx := index(st.Panelists, func(p Panelist) string { return p.ID })
	out := map[string][]float64{}
	for _, r := range rows {
		i, ok := pIdx[r.PanelistID]
		if !ok {
			continue
		}
		if out[r.Kind] == nil {
			out[r.Kind] = make([]float64, len(st.Panelists))
			for j := range out[r.Kind] {
				out[r.Kind][j] = math.NaN()
			}
		}
		out[r.Kind][i] = r.Value
	}
	return out, nil
}

// StudyRatings returns the final-round ratings of a study as a panelists ×
// items matrix, rows in the order of the study's panel and columns in the
// study's item order. A missing rating is NaN.
func (s *Service) StudyRatings(ctx context.Context, studyID string) (*mat.Dense, Study, Exam, error) {
	st, err := s.Study(ctx, studyID)
	if err != nil {
		return nil, Study{}, Exam{}, err
	}
	exam, err := s.Exam(ctx, st.ExamID)
	if err != nil {
		return nil, Study{}, Exam{}, err
	}
	var final int
	if err := s.db.WithContext(ctx).Model(&ratingRow{}).Where("study_id = ?", studyID).
		Select("COALESCE(MAX(round), 0)").Scan(&final).Error; err != nil {
		return nil, Study{}, Exam{}, fmt.Errorf("assess: ratings: %w", err)
	}
	m, err := s.RoundRatings(ctx, st, studyItems(exam, st), final)
	return m, st, exam, err
}
