package web_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// FuzzAPIBodies sends arbitrary bodies to the API's JSON routes, each as a
// user allowed to call it: the server must never fail (5xx) on a body,
// and every refusal is JSON naming what was wrong.
func FuzzAPIBodies(f *testing.F) {
	fx := webtest.New(f, dbtest.SQLite(f))
	ctx := context.Background()
	attempt, err := fx.Assess.Start(ctx, fx.Exam.ID, fx.Users.Candidate.ID)
	if err != nil {
		f.Fatal(err)
	}
	item := fx.Items[0].ID
	type route struct {
		method, path string
		as           webtest.User
	}
	routes := []route{
		{"PUT", "/api/v1/attempts/" + attempt.ID + "/responses/" + item, fx.Users.Candidate},
		{"POST", "/api/v1/attempts/" + attempt.ID + "/events", fx.Users.Candidate},
		{"POST", "/api/v1/attempts/" + attempt.ID + "/next", fx.Users.Candidate},
		{"POST", "/api/v1/attempts/" + attempt.ID + "/breaks", fx.Users.Candidate},
		{"PUT", "/api/v1/me/demographics", fx.Users.Candidate},
		{"POST", "/api/v1/attempts/" + attempt.ID + "/messages", fx.Users.Proctor},
		{"POST", "/api/v1/attempts/" + attempt.ID + "/time", fx.Users.Proctor},
		{"POST", "/api/v1/items", fx.Users.Author},
		{"POST", "/api/v1/items/preview", fx.Users.Author},
		{"PUT", "/api/v1/items/" + item, fx.Users.Author},
		{"POST", "/api/v1/items/" + item + "/flags", fx.Users.Psychometrician},
		{"POST", "/api/v1/exams", fx.Users.Manager},
		{"PUT", "/api/v1/exams/" + fx.Exam.ID + "/policy", fx.Users.Manager},
		{"PUT", "/api/v1/exams/" + fx.Exam.ID + "/proctoring", fx.Users.Manager},
		{"POST", "/api/v1/achievements", fx.Users.Manager},
		{"POST", "/api/v1/exams/" + fx.Exam.ID + "/studies", fx.Users.Manager},
		{"POST", "/api/v1/verify", webtest.User{}},
	}
	tokens := map[string]string{}
	for _, r := range routes {
		if r.as.ID != "" && tokens[r.as.ID] == "" {
			tokens[r.as.ID] = fx.Token(f, r.as)
		}
	}
	seeds := []string{
		`{"answer":{"choice":"` + fx.Keys[item] + `"},"seq":1,"seconds":12.5}`,
		`{"events":[{"kind":"focus_lost","detail":"","at":"2026-03-02T10:00:00Z"}]}`,
		`{"body":"Please face the camera."}`, `{"minutes":10,"reason":"outage"}`,
		`{"weights":{"paste":3},"review_at":5,"snapshot_seconds":30}`,
		`{"title":"X","kind":"single_choice"}`, `[]`, `null`, `{"seq":-1e309}`, `{"answer":{"choice":{"x":[1,2]}}}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		r := routes[int(which)%len(routes)]
		req := webtest.NewRequest(r.method, r.path, body)
		if r.as.ID != "" {
			webtest.WithBearer(req, tokens[r.as.ID])
		}
		resp := fx.Do(t, req)
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s with %q: %d %s", r.method, r.path, body, resp.StatusCode, resp.Body)
		}
		if resp.StatusCode < 400 {
			return
		}
		var refusal struct {
			Error struct {
				Code, Message string
			} `json:"error"`
		}
		if err := json.Unmarshal(resp.Body, &refusal); err != nil || refusal.Error.Code == "" || strings.TrimSpace(refusal.Error.Message) == "" {
			t.Fatalf("%s %s with %q: %d without a JSON error naming the problem: %s", r.method, r.path, body, resp.StatusCode, resp.Body)
		}
	})
}
