package assess

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// PreferNotToSay is the answer every demographic variable offers; it is
// recorded (the candidate chose it) but is never a group of a fairness
// analysis.
const PreferNotToSay = "prefer_not_to_say"

// Choice is one allowed answer of a demographic variable.
type Choice struct {
	Value string // stored
	Label string // shown
}

// Variable is a demographic question a candidate may answer voluntarily.
type Variable struct {
	Name    string // stored
	Label   string // the question
	Choices []Choice
}

// ChoiceLabel returns the label of value, or value itself when it is unknown.
func (v Variable) ChoiceLabel(value string) string {
	for _, c := range v.Choices {
		if c.Value == value {
			return c.Label
		}
	}
	return value
}

func (v Variable) allows(value string) bool {
	return slices.ContainsFunc(v.Choices, func(c Choice) bool { return c.Value == value })
}

// DemographicVariables are the questions candidates may answer. They are
// fixed in code so that every fairness analysis compares the same groups
// over time; each ends with "Prefer not to say".
var DemographicVariables = []Variable{
	{Name: "gender", Label: "Gender", Choices: []Choice{
		{"woman", "Woman"}, {"man", "Man"}, {"non_binary", "Non-binary"}, {"self_described", "I describe myself another way"},
		{PreferNotToSay, "Prefer not to say"}}},
	{Name: "age_band", Label: "Age", Choices: []Choice{
		{"under_25", "Under 25"}, {"25_34", "25–34"}, {"35_44", "35–44"}, {"45_54", "45–54"}, {"55_plus", "55 or older"},
		{PreferNotToSay, "Prefer not to say"}}},
	{Name: "first_language", Label: "Is English your first language?", Choices: []Choice{
		{"english", "Yes, English is my first language"}, {"other", "No, my first language is another"},
		{PreferNotToSay, "Prefer not to say"}}},
	{Name: "region", Label: "Region where you live", Choices: []Choice{
		{"africa", "Africa"}, {"americas", "The Americas"}, {"asia", "Asia"}, {"europe", "Europe"}, {"oceania", "Oceania"},
		{PreferNotToSay, "Prefer not to say"}}},
}

// DemographicVariable returns the variable named name.
func DemographicVariable(name string) (Variable, bool) {
	i := slices.IndexFunc(DemographicVariables, func(v Variable) bool { return v.Name == name })
	if i < 0 {
		return Variable{}, false
	}
	return DemographicVariables[i], true
}

type demographicRow struct {
	UserID     string    `gorm:"column:user_id;primaryKey"`
	Variable   string    `gorm:"column:variable;primaryKey"`
	Value      string    `gorm:"column:value"`
	RecordedAt time.Time `gorm:"column:recorded_at"`
}

func (demographicRow) TableName() string { return "demographics" }

// SetDemographics records a candidate's own answers: variable → value, an
// empty value deleting the answer; variables not in answers are left as
// they are. It returns a *valid.Error naming the variable for an unknown
// variable or value. The audit log records which variables were answered
// or withdrawn, never the answers: they are kept apart from the rest of
// the candidate's record and read only in aggregate.
func (s *Service) SetDemographics(ctx context.Context, userID string, answers map[string]string) error {
	names := make([]string, 0, len(answers))
	for name, value := range answers {
		v, ok := DemographicVariable(name)
		if !ok {
			return valid.Errorf(name, "is not a question we ask")
		}
		if value != "" && !v.allows(value) {
			return valid.Errorf(name, "is not one of the offered answers")
		}
		names = append(names, name)
	}
	sort.Strings(names)
	now := s.now().UTC()
	return s.tx(ctx, func(tx *gorm.DB) error {
		var answered, withdrawn []string
		for _, name := range names {
			value := answers[name]
			if value == "" {
				res := tx.Where("user_id = ? AND variable = ?", userID, name).Delete(&demographicRow{})
				if res.Error != nil {
					return fmt.Errorf("assess: demographics: %w", res.Error)
				}
				if res.RowsAffected > 0 {
					withdrawn = append(withdrawn, name)
				}
				continue
			}
			row := demographicRow{UserID: userID, Variable: name, Value: value, RecordedAt: now}
			if err := tx.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "user_id"}, {Name: "variable"}},
				DoUpdates: clause.AssignmentColumns([]string{"value", "recorded_at"}),
			}).Create(&row).Error; err != nil {
				return fmt.Errorf("assess: demographics: %w", err)
			}
			answered = append(answered, name)
		}
		if len(answered)+len(withdrawn) == 0 {
			return nil
		}
		return audit.Append(tx, audit.Entry{Actor: userID, Action: "demographics.set", Subject: "user:" + userID,
			After: map[string]any{"answered": answered, "withdrawn": withdrawn}, At: now})
	})
}

// ImportDemographics records answers collected elsewhere (a registration
// system, a survey), user → variable → value, in one transaction, with one
// audit entry that counts them. Unknown variables or values are refused,
// naming the user and the variable.
func (s *Service) ImportDemographics(ctx context.Context, actor string, answers map[string]map[string]string) error {
	now := s.now().UTC()
	users := make([]string, 0, len(answers))
	for u := range answers {
		users = append(users, u)
	}
	sort.Strings(users)
	var rows []demographicRow
	for _, u := range users {
		for name, value := range answers[u] {
			v, ok := DemographicVariable(name)
			if !ok || !v.allows(value) {
				return valid.Errorf(u+"."+name, "is not a question we ask with one of its answers")
			}
			rows = append(rows, demographicRow{UserID: u, Variable: name, Value: value, RecordedAt: now})
		}
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "user_id"}, {Name: "variable"}},
			DoUpdates: clause.AssignmentColumns([]string{"value", "recorded_at"}),
		}).CreateInBatches(rows, 500).Error; err != nil {
			return fmt.Errorf("assess: import demographics: %w", err)
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "demographics.import", Subject: "demographics",
			After: map[string]int{"users": len(users), "answers": len(rows)}, At: now})
	})
}

// Demographics returns the candidate's own answers, variable → value.
func (s *Service) Demographics(ctx context.Context, userID string) (map[string]string, error) {
	var rows []demographicRow
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("assess: demographics: %w", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.Variable] = r.Value
	}
	return out, nil
}

// GroupSize is how many of an exam's submitted attempts were made by
// candidates who gave a value.
type GroupSize struct {
	Value    string
	Label    string
	Attempts int
}

// DemographicGroups counts the exam's submitted attempts by their
// candidate's answer to variable, in the variable's order of choices (no
// answer is not a group). Only counts leave this package.
func (s *Service) DemographicGroups(ctx context.Context, examID, variable string) ([]GroupSize, error) {
	v, ok := DemographicVariable(variable)
	if !ok {
		return nil, valid.Errorf("variable", "is not a demographic variable")
	}
	if _, err := s.Exam(ctx, examID); err != nil {
		return nil, err
	}
	var counts []struct {
		Value string
		N     int
	}
	err := s.db.WithContext(ctx).Table("attempts").
		Select("demographics.value AS value, COUNT(*) AS n").
		Joins("JOIN demographics ON demographics.user_id = attempts.candidate_id AND demographics.variable = ?", variable).
		Where("attempts.exam_id = ? AND attempts.status = ?", examID, Submitted).
		Group("demographics.value").Scan(&counts).Error
	if err != nil {
		return nil, fmt.Errorf("assess: demographic groups: %w", err)
	}
	by := map[string]int{}
	for _, c := range counts {
		by[c.Value] = c.N
	}
	out := make([]GroupSize, 0, len(v.Choices))
	for _, c := range v.Choices {
		out = append(out, GroupSize{Value: c.Value, Label: c.Label, Attempts: by[c.Value]})
	}
	return out, nil
}

// attemptValues maps each of the exam's submitted attempts to its
// candidate's answer to variable (attempts without one are absent).
func (s *Service) attemptValues(ctx context.Context, examID, variable string) (map[string]string, error) {
	var rows []struct {
		ID    string
		Value string
	}
	err := s.db.WithContext(ctx).Table("attempts").
		Select("attempts.id AS id, demographics.value AS value").
		Joins("JOIN demographics ON demographics.user_id = attempts.candidate_id AND demographics.variable = ?", variable).
		Where("attempts.exam_id = ? AND attempts.status = ?", examID, Submitted).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("assess: demographic groups: %w", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Value
	}
	return out, nil
}
