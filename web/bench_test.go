package web_test

import (
	"net/http"
	"testing"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/web/auth"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// The candidate's hot paths, measured through the whole app (routing,
// session, authorization, storage) on each database:
//
//	go test ./web -run '^$' -bench 'Save|View|Events' -benchmem
//
// With TOUCHSTONE_TEST_DATABASE_URL set they run on PostgreSQL too. Add
// -cpuprofile to see where the time goes.

func eachBenchDatabase(b *testing.B, fn func(b *testing.B, db *gorm.DB)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, dbtest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, dbtest.Postgres(b)) })
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
		b.ResetTimer()
		for range b.N {
			resp := f.Do(b, webtest.WithBearer(webtest.NewRequest("GET", "/api/v1/attempts/"+id, nil), token))
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("view: %d %s", resp.StatusCode, resp.Body)
			}
		}
	})
}

// BenchmarkRecordEvents: the player posts a batch of three page signals.
func BenchmarkRecordEvents(b *testing.B) {
	eachBenchDatabase(b, func(b *testing.B, db *gorm.DB) {
		f := webtest.New(b, db)
		id, _, token := openAttempt(b, f)
		body := map[string]any{"events": []map[string]string{{"kind": "focus_lost"}, {"kind": "focus_gained"}, {"kind": "heartbeat"}}}
		b.ResetTimer()
		for range b.N {
			resp := f.Do(b, webtest.WithBearer(webtest.NewRequest("POST", "/api/v1/attempts/"+id+"/events", body), token))
			if resp.StatusCode != http.StatusNoContent {
				b.Fatalf("events: %d %s", resp.StatusCode, resp.Body)
			}
		}
	})
}
