// Package award is the bridge between exams and credentials: the OnPass hook
// of assess, which issues the exam's achievement to the candidate with the
// evidence of the standard that decided the pass, and the Eligible hook,
// which checks an exam's prerequisite achievements against the credentials
// a candidate holds. assess knows nothing of credentials and credential
// nothing of exams; this package knows both.
package award

import (
	"context"
	"fmt"
	"time"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// OnPass returns the hook to assign to assess.Service.OnPass. Issuance is
// keyed by the attempt, so calling the hook again for the same pass returns
// the same credential.
func OnPass(creds *credential.Service, users *auth.Service) func(context.Context, assess.Pass) (string, error) {
	return func(ctx context.Context, p assess.Pass) (string, error) {
		candidate, err := users.User(ctx, p.CandidateID)
		if err != nil {
			return "", err
		}
		achievement, err := creds.Achievement(ctx, p.AchievementID)
		if err != nil {
			return "", err
		}
		std := p.Standard
		var approvedAt time.Time
		if std.ApprovedAt != nil {
			approvedAt = *std.ApprovedAt
		}
		approver := ""
		if u, err := users.User(ctx, std.ApprovedBy); err == nil {
			approver = u.Name
		}
		score := p.Score
		c, err := creds.Issue(ctx, credential.IssueRequest{
			Key: "attempt:" + p.AttemptID, AchievementID: p.AchievementID, RecipientID: p.CandidateID,
			RecipientEmail: candidate.Email, Score: &score, Actor: "system:scoring",
			Standard: &credential.Standard{
				// The achievement's public page lists its standards, each
				// with this anchor.
				ID:      fmt.Sprintf("%s#standard-v%d", achievement.ID, std.Version),
				Version: std.Version, Method: std.Method, Panelists: std.Panelists,
				Cut: std.Cut, MaxScore: std.MaxScore, CutSE: std.CutSE,
				Reliability: std.Reliability, DecisionConsistency: std.DecisionConsistency,
				ApprovedBy: approver, ApprovedAt: approvedAt,
			},
		})
		if err != nil {
			return "", err
		}
		return c.ID, nil
	}
}

// Eligible returns the hook to assign to assess.Service.Eligible: of the
// achievements asked for, those the candidate holds no valid credential of
// (issued to them, not revoked, its proof verifying), in the order asked.
func Eligible(creds *credential.Service) func(ctx context.Context, candidateID string, achievementIDs []string) ([]string, error) {
	return func(ctx context.Context, candidateID string, achievementIDs []string) ([]string, error) {
		held, err := creds.HeldBy(ctx, candidateID)
		if err != nil {
			return nil, err
		}
		valid := map[string]bool{}
		for _, c := range held {
			if c.RevokedAt == nil && !valid[c.AchievementID] && creds.Verify(ctx, c).Valid {
				valid[c.AchievementID] = true
			}
		}
		var missing []string
		for _, id := range achievementIDs {
			if !valid[id] {
				missing = append(missing, id)
			}
		}
		return missing, nil
	}
}
