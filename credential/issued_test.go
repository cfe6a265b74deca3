package credential_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
)

// TestIssuedHookCountsNewCredentials: the WithIssued hook runs once per
// credential stored, whichever path issued it, and never for a request
// answered with the credential already issued for its key.
func TestIssuedHookCountsNewCredentials(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		var issued atomic.Int64
		f.svc = credential.NewService(db, f.clock.Now, testBaseURL, testSigningKey(), credential.WithIssued(func() { issued.Add(1) }))
		want := func(what string, n int64) {
			t.Helper()
			if got := issued.Load(); got != n {
				t.Errorf("after %s: the hook ran %d times, want %d", what, got, n)
			}
		}

		// Requests with one key, at once: one credential, one call.
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				score := 512.0
				if _, err := f.svc.Issue(ctx, credential.IssueRequest{Key: "attempt:1", AchievementID: f.badge, RecipientID: f.candidate,
					RecipientEmail: f.email, Score: &score, Actor: "system:test"}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		want("four concurrent issues with one key", 1)
		first := f.issue(t, "attempt:1", f.badge, 512)
		want("the same issue again", 1)

		if _, err := f.svc.Reissue(ctx, "psychometrician", first.ID, "item 14 rekeyed", nil); err != nil {
			t.Fatal(err)
		}
		want("a re-issue", 2)
		if _, err := f.svc.Reissue(ctx, "psychometrician", first.ID, "item 14 rekeyed", nil); err != nil {
			t.Fatal(err)
		}
		want("the same re-issue again", 2)
	})
}
