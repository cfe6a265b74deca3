package web_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/web/auth"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// The candidate's hot paths, measured through the whole app (routing,
// session, authorization, storage) on each database:
//
//	go test ./web -run '^$' -bench 'Save|View|Events|Snapshot|Submit' -benchmem
//
// With TOUCHSTONE_TEST_DATABASE_URL set they run on PostgreSQL too. Add
// -cpuprofile to see where the time goes. All but the save also report
// the SQL statements their request made through GORM (statements/op; a
// transaction's BEGIN and COMMIT aside), a figure that does not depend on
// the host's speed.

func eachBenchDatabase(b *testing.B, fn func(b *testing.B, db *gorm.DB)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, dbtest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, dbtest.Postgres(b)) })
}

// statementCounter counts the statements made through a database while
// it is on.
type statementCounter struct {
	on atomic.Bool
	n  atomic.Int64
}

func countStatements(b *testing.B, db *gorm.DB) *statementCounter {
	b.Helper()
	c := &statementCounter{}
	count := func(*gorm.DB) {
		if c.on.Load() {
			c.n.Add(1)
		}
	}
	dbtest.OnStatements(b, db, count)
	return c
}

// measure runs one request with the count on.
func (c *statementCounter) measure(request func()) {
	c.on.Store(true)
	defer c.on.Store(false)
	request()
}

func (c *statementCounter) report(b *testing.B) {
	b.ReportMetric(float64(c.n.Load())/float64(b.N), "statements/op")
}

// openAttempt opens an attempt of the fixture exam for a new candidate
// and returns its id, item ids and the candidate's token.
func openAttempt(b testing.TB, f *webtest.Fixture) (id string, itemIDs []string, token string) {
	b.Helper()
	u := f.NewUser(b, "", "Bench Candidate", auth.Candidate)
	token = f.Token(b, u)
	resp := f.Do(b, webtest.WithBearer(webtest.NewRequest("POST", "/api/v1/exams/"+f.Exam.ID+"/attempts", nil), token))
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("start: %d %s", resp.StatusCode, resp.Body)
	}
	var a struct {
		ID    string `json:"id"`
		Items []struct {
			ID string `json:"item_id"`
		} `json:"items"`
	}
	resp.JSON(b, &a)
	for _, it := range a.Items {
		itemIDs = append(itemIDs, it.ID)
	}
	return a.ID, itemIDs, token
}

// BenchmarkSaveAnswer: a candidate saves an answer (a new seq each time,
// so every save is applied and written).
func BenchmarkSaveAnswer(b *testing.B) {
	eachBenchDatabase(b, func(b *testing.B, db *gorm.DB) {
		f := webtest.New(b, db)
		id, itemIDs, token := openAttempt(b, f)
		// No statements/op: on PostgreSQL saves are written in batches
		// through database/sql, which the count does not see.
		b.ResetTimer()
		for i := range b.N {
			item := itemIDs[i%len(itemIDs)]
			choice := f.Keys[item]
			if i%2 == 1 {
				choice = f.Wrong[item]
			}
			body := map[string]any{"answer": map[string]string{"choice": choice}, "seq": i/len(itemIDs) + 1}
			resp := f.Do(b, webtest.WithBearer(webtest.NewRequest("PUT", "/api/v1/attempts/"+id+"/responses/"+item, body), token))
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("save: %d %s", resp.StatusCode, resp.Body)
			}
		}
	})
}

// BenchmarkViewAttempt: the player loads the attempt (on every page load
// and every resume).
func BenchmarkViewAttempt(b *testing.B) {
	eachBenchDatabase(b, func(b *testing.B, db *gorm.DB) {
		f := webtest.New(b, db)
		id, _, token := openAttempt(b, f)
		statements := countStatements(b, db)
		b.ResetTimer()
		for range b.N {
			statements.measure(func() {
				resp := f.Do(b, webtest.WithBearer(webtest.NewRequest("GET", "/api/v1/attempts/"+id, nil), token))
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("view: %d %s", resp.StatusCode, resp.Body)
				}
			})
		}
		statements.report(b)
	})
}

// BenchmarkRecordEvents: the player posts a batch of three page signals.
func BenchmarkRecordEvents(b *testing.B) {
	eachBenchDatabase(b, func(b *testing.B, db *gorm.DB) {
		f := webtest.New(b, db)
		id, _, token := openAttempt(b, f)
		body := map[string]any{"events": []map[string]string{{"kind": "focus_lost"}, {"kind": "focus_gained"}, {"kind": "heartbeat"}}}
		statements := countStatements(b, db)
		b.ResetTimer()
		for range b.N {
			statements.measure(func() {
				resp := f.Do(b, webtest.WithBearer(webtest.NewRequest("POST", "/api/v1/attempts/"+id+"/events", body), token))
				if resp.StatusCode != http.StatusNoContent {
					b.Fatalf("events: %d %s", resp.StatusCode, resp.Body)
				}
			})
		}
		statements.report(b)
	})
}

// BenchmarkPostSnapshot: the player posts a webcam frame (the test's
// 320 × 240 JPEG) with its face check, as often as the exam allows; an
// attempt takes 100 of them, then the next candidate's does.
func BenchmarkPostSnapshot(b *testing.B) {
	eachBenchDatabase(b, func(b *testing.B, db *gorm.DB) {
		f := webtest.New(b, db)
		const every = 10 * time.Second
		if _, err := f.Assess.SetProctoring(context.Background(), f.Users.Manager.ID, f.Exam.ID, assess.ProctoringPolicy{SnapshotSeconds: int(every / time.Second)}); err != nil {
			b.Fatal(err)
		}
		jpg := consoleJPEG(b, 1)
		var id, token string
		statements := countStatements(b, db)
		b.ResetTimer()
		for i := range b.N {
			if i%100 == 0 {
				b.StopTimer()
				id, _, token = openAttempt(b, f)
				b.StartTimer()
			}
			statements.measure(func() {
				resp := f.Do(b, captureUpload(id, "faces=1&looking_away=false", token, "image/jpeg", jpg))
				if resp.StatusCode != http.StatusCreated {
					b.Fatalf("snapshot: %d %s", resp.StatusCode, resp.Body)
				}
			})
			f.Clock.Advance(every / 2)
		}
		statements.report(b)
	})
}

// BenchmarkSubmit: a candidate who answered every item submits, and the
// pass is scored and its credential issued.
func BenchmarkSubmit(b *testing.B) {
	eachBenchDatabase(b, func(b *testing.B, db *gorm.DB) {
		f := webtest.New(b, db)
		statements := countStatements(b, db)
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			id, itemIDs, token := openAttempt(b, f)
			for i, item := range itemIDs {
				body := map[string]any{"answer": map[string]string{"choice": f.Keys[item]}, "seq": i + 1}
				if resp := f.Do(b, webtest.WithBearer(webtest.NewRequest("PUT", "/api/v1/attempts/"+id+"/responses/"+item, body), token)); resp.StatusCode != http.StatusOK {
					b.Fatalf("save: %d %s", resp.StatusCode, resp.Body)
				}
			}
			b.StartTimer()
			statements.measure(func() {
				resp := f.Do(b, webtest.WithBearer(webtest.NewRequest("POST", "/api/v1/attempts/"+id+"/submit", nil), token))
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("submit: %d %s", resp.StatusCode, resp.Body)
				}
			})
		}
		statements.report(b)
	})
}
