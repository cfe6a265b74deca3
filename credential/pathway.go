package credential

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// ErrPathwayExists: a certificate is earned by one pathway.
var ErrPathwayExists = errors.New("credential: the certificate already has a pathway")

// Pathway kinds.
const (
	AllOf = "all"  // every listed achievement
	AnyOf = "any"  // at least N of the listed achievements
	Sets  = "sets" // every achievement of any one set
)

// PathwayRule says which achievements earn a pathway's certificate.
type PathwayRule struct {
	Kind         string     `json:"kind"`
	Achievements []string   `json:"achievements,omitempty"` // AllOf, AnyOf
	N            int        `json:"n,omitempty"`            // AnyOf
	Sets         [][]string `json:"sets,omitempty"`         // Sets
}

func (r PathwayRule) validate() error {
	switch r.Kind {
	case AllOf:
		if len(r.Achievements) == 0 {
			return valid.Errorf("rule.achievements", "name at least one achievement")
		}
	case AnyOf:
		if len(r.Achievements) == 0 {
			return valid.Errorf("rule.achievements", "name at least one achievement")
		}
		if r.N < 1 || r.N > len(r.Achievements) {
			return valid.Errorf("rule.n", "must be between 1 and the number of achievements (%d)", len(r.Achievements))
		}
	case Sets:
		if len(r.Sets) == 0 {
			return valid.Errorf("rule.sets", "name at least one set")
		}
		for i, set := range r.Sets {
			if len(set) == 0 {
				return valid.Errorf(fmt.Sprintf("rule.sets[%d]", i), "is empty")
			}
		}
	default:
		return valid.Errorf("rule.kind", "must be %q, %q or %q", AllOf, AnyOf, Sets)
	}
	return nil
}

// members lists every achievement the rule names, once.
func (r PathwayRule) members() []string {
	all := slices.Clone(r.Achievements)
	for _, set := range r.Sets {
		all = append(all, set...)
	}
	slices.Sort(all)
	return slices.Compact(all)
}

// Progress is how far a holder of held is along the rule: the
// achievements that count towards it, those still needed on the shortest
// way to completion, and whether it is complete.
func (r PathwayRule) Progress(held map[string]bool) (counted, missing []string, complete bool) {
	count := func(ids []string) (have, lack []string) {
		for _, id := range ids {
			if held[id] {
				have = append(have, id)
			} else {
				lack = append(lack, id)
			}
		}
		return have, lack
	}
	switch r.Kind {
	case AnyOf:
		have, lack := count(r.Achievements)
		need := max(r.N-len(have), 0)
		return have, lack[:min(need, len(lack))], need == 0
	case Sets:
		// The set closest to completion shows the shortest way.
		var have, lack []string
		for i, set := range r.Sets {
			h, l := count(set)
			if i == 0 || len(l) < len(lack) {
				have, lack = h, l
			}
		}
		return have, lack, len(lack) == 0
	default:
		have, lack := count(r.Achievements)
		return have, lack, len(lack) == 0
	}
}

// CreatePathway makes holding every one of required earn the certificate
// achievement: Issue awards it as soon as a recipient holds them all.
func (s *Service) CreatePathway(ctx context.Context, certificateID string, required []string) error {
	return s.CreatePathwayRule(ctx, "system", certificateID, PathwayRule{Kind: AllOf, Achievements: required})
}

// CreatePathwayRule makes rule earn the certificate achievement, audited:
// Issue awards the certificate the moment a recipient's credentials meet it.
func (s *Service) CreatePathwayRule(ctx context.Context, actor, certificateID string, rule PathwayRule) error {
	if err := rule.validate(); err != nil {
		return err
	}
	if slices.Contains(rule.members(), certificateID) {
		return valid.Errorf("rule", "a certificate cannot require itself")
	}
	b, err := json.Marshal(rule)
	if err != nil {
		return err
	}
	for _, id := range append(rule.members(), certificateID) {
		var n int64
		if uuid.Validate(id) != nil {
			return valid.Errorf("rule", "%q is not an achievement", id)
		}
		if err := s.db.WithContext(ctx).Model(&achievementRow{}).Where("id = ?", id).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return valid.Errorf("rule", "%q is not an achievement", id)
		}
	}
	var existing int64
	if err := s.db.WithContext(ctx).Model(&pathwayRow{}).Where("achievement_id = ?", certificateID).Count(&existing).Error; err != nil {
		return err
	}
	if existing > 0 {
		return ErrPathwayExists
	}
	now := s.now().UTC()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		p := pathwayRow{ID: uuid.NewString(), AchievementID: certificateID, Rule: string(b), CreatedAt: now}
		if err := tx.Create(&p).Error; err != nil {
			return fmt.Errorf("credential: create pathway: %w", err)
		}
		for _, id := range rule.members() {
			if err := tx.Create(&requirementRow{PathwayID: p.ID, AchievementID: id}).Error; err != nil {
				return fmt.Errorf("credential: pathway requirement %s: %w", id, err)
			}
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "pathway.create", Subject: "achievement:" + certificateID, After: rule, At: now})
	})
}

// rule returns the pathway's rule; pathways from before rules were
// introduced require all of their requirements.
func (s *Service) rule(ctx context.Context, p pathwayRow) (PathwayRule, error) {
	if p.Rule != "" {
		var r PathwayRule
		err := json.Unmarshal([]byte(p.Rule), &r)
		return r, err
	}
	var ids []string
	if err := s.db.WithContext(ctx).Model(&requirementRow{}).Where("pathway_id = ?", p.ID).Order("achievement_id").Pluck("achievement_id", &ids).Error; err != nil {
		return PathwayRule{}, err
	}
	return PathwayRule{Kind: AllOf, Achievements: ids}, nil
}

// PathwayProgress is one pathway as a candidate sees it.
type PathwayProgress struct {
	Certificate Achievement
	Rule        PathwayRule
	Counted     []Achievement // held achievements that count
	Missing     []Achievement // still needed, on the shortest way
	Complete    bool
}

// held returns the achievements the recipient holds validly now: issued,
// not revoked or suspended, not expired.
func (s *Service) held(ctx context.Context, recipientID string) (map[string]bool, error) {
	if recipientID == "" {
		return map[string]bool{}, nil // nobody: every pathway with nothing held
	}
	var ids []string
	now := s.now().UTC()
	if err := s.db.WithContext(ctx).Model(&credentialRow{}).
		Where("recipient_id = ? AND revoked_at IS NULL AND suspended_at IS NULL AND (valid_until IS NULL OR valid_until > ?)", recipientID, now).
		Distinct().Pluck("achievement_id", &ids).Error; err != nil {
		return nil, fmt.Errorf("credential: held: %w", err)
	}
	has := map[string]bool{}
	for _, id := range ids {
		has[id] = true
	}
	return has, nil
}

// Progress lists every pathway with the recipient's progress along it; an
// empty recipientID lists the pathways with nothing held.
func (s *Service) Progress(ctx context.Context, recipientID string) ([]PathwayProgress, error) {
	has, err := s.held(ctx, recipientID)
	if err != nil {
		return nil, err
	}
	var pathways []pathwayRow
	if err := s.db.WithContext(ctx).Order("created_at, id").Find(&pathways).Error; err != nil {
		return nil, fmt.Errorf("credential: pathways: %w", err)
	}
	out := make([]PathwayProgress, 0, len(pathways))
	for _, p := range pathways {
		r, err := s.rule(ctx, p)
		if err != nil {
			return nil, err
		}
		cert, err := s.Achievement(ctx, p.AchievementID)
		if err != nil {
			return nil, err
		}
		counted, missing, complete := r.Progress(has)
		pp := PathwayProgress{Certificate: cert, Rule: r, Complete: complete || has[p.AchievementID]}
		for _, id := range counted {
			a, err := s.Achievement(ctx, id)
			if err != nil {
				return nil, err
			}
			pp.Counted = append(pp.Counted, a)
		}
		for _, id := range missing {
			a, err := s.Achievement(ctx, id)
			if err != nil {
				return nil, err
			}
			pp.Missing = append(pp.Missing, a)
		}
		out = append(out, pp)
	}
	return out, nil
}

// completePathways issues every certificate whose rule the recipient's
// valid credentials now meet and that they do not hold yet.
func (s *Service) completePathways(ctx context.Context, recipientID, email string) error {
	var pathways []pathwayRow
	if err := s.db.WithContext(ctx).Order("created_at, id").Find(&pathways).Error; err != nil {
		return fmt.Errorf("credential: pathways: %w", err)
	}
	if len(pathways) == 0 {
		return nil
	}
	has, err := s.held(ctx, recipientID)
	if err != nil {
		return err
	}
	for _, p := range pathways {
		if has[p.AchievementID] {
			continue
		}
		r, err := s.rule(ctx, p)
		if err != nil {
			return err
		}
		counted, _, complete := r.Progress(has)
		if !complete {
			continue
		}
		var evidence []Evidence
		for _, id := range counted {
			c, err := s.heldCredential(ctx, recipientID, id)
			if err != nil {
				return err
			}
			a, err := s.Achievement(ctx, id)
			if err != nil {
				return err
			}
			evidence = append(evidence, Evidence{ID: c.URL, Name: a.Name, Description: "Credential stacked into this certificate."})
		}
		_, err = s.issue(ctx, IssueRequest{Key: "pathway:" + p.ID + ":" + recipientID + ":" + s.now().UTC().Format("2006-01-02"),
			AchievementID: p.AchievementID, RecipientID: recipientID, RecipientEmail: email, Evidence: evidence, Actor: "system:pathway"})
		if err != nil {
			return err
		}
		has[p.AchievementID] = true
	}
	return nil
}
