// Package award is the bridge from a pass to a credential: the OnPass hook
// of assess, which issues the exam's achievement to the candidate with the
// evidence of the standard that decided the pass. assess knows nothing of
// credentials and credential nothing of exams; this package knows both.
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
