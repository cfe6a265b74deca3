package credential_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
)

// benchBackends runs fn on SQLite and, when configured, PostgreSQL.
func benchBackends(b *testing.B, fn func(b *testing.B, db *gorm.DB)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, dbtest.SQLite(b)) })
	if os.Getenv(dbtest.EnvDatabaseURL) != "" {
		b.Run("postgres", func(b *testing.B) { fn(b, dbtest.Postgres(b)) })
	}
}

// BenchmarkIssue measures issuing one signed credential with its standard:
// status index, Data Integrity proof, storage and audit.
func BenchmarkIssue(b *testing.B) {
	benchBackends(b, func(b *testing.B, db *gorm.DB) {
		f := newFixture(b, db)
		b.ResetTimer()
		for i := range b.N {
			f.issueB(b, fmt.Sprintf("bench:%d", i))
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "credentials/s")
	})
}

// BenchmarkVerify measures the whole verification of one credential as
// uploaded (schema, proof, issuer key, dates, status list) per format.
func BenchmarkVerify(b *testing.B) {
	f := newFixture(b, dbtest.SQLite(b))
	c := f.issueB(b, "bench")
	ctx := context.Background()
	jwt, err := f.svc.JWT(ctx, c, credential.EdDSA)
	if err != nil {
		b.Fatal(err)
	}
	png, err := f.svc.Baked(ctx, c, credential.PNG, "")
	if err != nil {
		b.Fatal(err)
	}
	for name, input := range map[string][]byte{"json": c.Document, "jwt": []byte(jwt), "png": png} {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				if v := f.svc.VerifyInput(ctx, input); !v.Valid {
					b.Fatal(v)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
		})
	}
}

func (f *fixture) issueB(b *testing.B, key string) credential.Credential {
	score := 612.0
	c, err := f.svc.Issue(context.Background(), credential.IssueRequest{Key: key, AchievementID: f.badge, RecipientID: f.candidate,
		RecipientEmail: f.email, Score: &score, Standard: testStandard(), Actor: "system:bench"})
	if err != nil {
		b.Fatal(err)
	}
	return c
}
