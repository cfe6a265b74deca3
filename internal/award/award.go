// Package award is the bridge between exams and credentials: the OnPass hook
// of assess, which issues the exam's achievement to the candidate with the
// evidence of the standard that decided the pass, and the Eligible hook,
// which checks an exam's prerequisite achievements against the credentials
// a candidate holds. assess knows nothing of credentials and credential
// nothing of exams; this package knows both.
package award

import (
	"context"
	"errors"
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
		std := p.Standard
		people, err := users.Identities(ctx, p.CandidateID, std.ApprovedBy)
		if err != nil {
			return "", err
		}
		candidate, ok := people[p.CandidateID]
		if !ok {
			return "", fmt.Errorf("%w: user %s", auth.ErrNotFound, p.CandidateID)
		}
		var approvedAt time.Time
		if std.ApprovedAt != nil {
			approvedAt = *std.ApprovedAt
		}
		approver := people[std.ApprovedBy].Name // none when the account is gone
		score, st := reported(p)
		st.Version, st.Method, st.Panelists = std.Version, std.Method, std.Panelists
		st.Reliability, st.DecisionConsistency = std.Reliability, std.DecisionConsistency
		st.ClassificationAccuracy = std.ClassificationAccuracy
		st.ApprovedBy, st.ApprovedAt = approver, approvedAt
		c, err := creds.Issue(ctx, credential.IssueRequest{
			Key: "attempt:" + p.AttemptID, AchievementID: p.AchievementID, RecipientID: p.CandidateID,
			RecipientEmail: candidate.Email, Score: &score, Actor: "system:scoring", Standard: &st,
		})
		if err != nil {
			return "", err
		}
		return c.ID, nil
	}
}

// OnRescore returns the hook to assign to assess.Service.OnRescore: when a
// rekey changes a passed attempt's score, its credential is re-issued with
// the new score (the standard it cites is unchanged); when the pass is
// gone, the credential is revoked. Both carry the reason and are audited.
func OnRescore(creds *credential.Service) func(context.Context, assess.Rescore) (string, error) {
	return func(ctx context.Context, r assess.Rescore) (string, error) {
		credID := r.Before.CredentialID
		if !r.Before.Passed || credID == "" {
			return "", nil // a new pass is issued through OnPass
		}
		if !r.After.Passed {
			err := creds.Revoke(ctx, "system:rekey", credID, fmt.Sprintf("a rekey lowered the score from %v to %v, below the standard", r.Before.Score, r.After.Score))
			if errors.Is(err, credential.ErrRevoked) {
				err = nil
			}
			return "", err
		}
		score := r.After.Score
		if r.After.Scale.Basis != "" {
			score = r.After.ScaledScore
		}
		c, err := creds.Reissue(ctx, "system:rekey", credID, fmt.Sprintf("a rekey changed the score from %v to %v", r.Before.Score, r.After.Score),
			func(req *credential.IssueRequest) { req.Score = &score })
		if err != nil {
			return "", err
		}
		return c.ID, nil
	}
}

// reported returns the score and the standard's figures on the exam's
// reporting scale: the scaled score when the exam has a scale, else raw
// points out of the form's maximum. The cut's standard error, set in raw
// points, is carried onto a raw-based scale by its slope; on a θ-based
// scale by the scale's range over the raw range, a linear approximation
// of the test characteristic curve. The CSEM at the cut is carried the same
// way.
func reported(p assess.Pass) (float64, credential.Standard) {
	r, std := p.Result, p.Standard
	form := p.FormID
	if form == "" {
		form = r.Mode
	}
	scaled := func(raw *float64, slope float64) *float64 {
		if raw == nil {
			return nil
		}
		x := *raw * slope
		return &x
	}
	if r.Scale.Basis == "" || r.Scale.Max <= r.Scale.Min {
		return p.Score, credential.Standard{ScaleMin: 0, ScaleMax: r.MaxScore, Cut: r.Cut, CutSE: std.CutSE,
			CSEMAtCut: scaled(std.CSEMAtCut, 1), FormID: form}
	}
	slope := r.Scale.Slope
	if r.Scale.Basis == assess.ScaleTheta && r.MaxScore > 0 {
		slope = (r.Scale.Max - r.Scale.Min) / r.MaxScore
	}
	return r.ScaledScore, credential.Standard{ScaleName: r.Scale.Name, ScaleMin: r.Scale.Min, ScaleMax: r.Scale.Max,
		Cut: r.ScaledCut, CutSE: std.CutSE * slope, CSEMAtCut: scaled(std.CSEMAtCut, slope), FormID: form}
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
			if !valid[c.AchievementID] && creds.Verify(ctx, c).Valid { // not revoked, suspended or expired
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

// OnReview returns the hook to assign to assess.Service.OnReview: a
// credential is suspended while its attempt's proctoring review is open,
// reinstated when the review clears or warns, and revoked when it
// invalidates the attempt. Each change carries the reason and is audited.
func OnReview(creds *credential.Service) func(ctx context.Context, credentialID, status, reason string) error {
	return func(ctx context.Context, credID, status, reason string) error {
		const actor = "system:proctoring-review"
		var err error
		switch status {
		case assess.ReviewPending:
			c, gerr := creds.Get(ctx, credID)
			if gerr != nil {
				return gerr
			}
			if c.SuspendedAt == nil && c.RevokedAt == nil {
				err = creds.Suspend(ctx, actor, credID, "under proctoring review: "+reason)
			}
		case assess.ReviewCleared, assess.ReviewWarned:
			err = creds.Reinstate(ctx, actor, credID, "the proctoring review "+status+" the attempt")
			if errors.Is(err, credential.ErrNotSuspended) {
				err = nil
			}
		case assess.ReviewInvalidated:
			err = creds.Revoke(ctx, actor, credID, "the proctoring review invalidated the attempt: "+reason)
		}
		if errors.Is(err, credential.ErrRevoked) {
			err = nil // revoked already: nothing left to change
		}
		return err
	}
}
