package web_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/touchstone-assess/touchstone/web/webtest"
)

func TestAPICreateExam(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		manager := f.Token(t, f.Users.Manager)
		ids := make([]string, len(f.Items))
		for i, it := range f.Items {
			ids[i] = it.ID
		}
		section := func(from, to int) map[string]any {
			var list []map[string]any
			for _, id := range ids[from:to] {
				list = append(list, map[string]any{"item_id": id})
			}
			return map[string]any{"title": "Part", "instructions": "Answer every question.", "items": list}
		}
		valid := func() map[string]any {
			return map[string]any{
				"program_id": f.Program.ID, "slug": "data-parallel", "title": "Data Fundamentals (parallel forms)",
				"duration_minutes": 30, "instructions": "Work alone.",
				"domains": []map[string]any{{"code": "D1", "name": "One"}, {"code": "D2", "name": "Two"}},
				"items":   ids,
				"forms": []map[string]any{
					{"name": "A", "sections": []any{section(0, 3)}},
					{"name": "B", "sections": []any{section(3, 6)}},
				},
				"scale":  map[string]any{"name": "Data scale", "basis": "raw", "slope": 10, "intercept": 100, "min": 100, "max": 160, "step": 1},
				"policy": map[string]any{"max_attempts": 2, "different_form_on_retake": true},
			}
		}
		resp := apiCall(t, f, apiReq("POST", "/api/v1/exams", manager, valid()))
		wantAPIStatus(t, resp, http.StatusCreated)
		var created struct {
			ID     string `json:"id"`
			Mode   string `json:"mode"`
			Policy struct {
				MaxAttempts int `json:"max_attempts"`
			} `json:"policy"`
		}
		resp.JSON(t, &created)
		exam, err := f.Assess.Exam(t.Context(), created.ID)
		if err != nil {
			t.Fatal(err)
		}
		if exam.Mode != "fixed" || len(exam.Forms) != 2 || exam.Forms[1].Sections[0].Items[2].ItemID != ids[5] ||
			exam.Scale.Basis != "raw" || exam.Policy.MaxAttempts != 2 || !exam.Policy.DifferentFormOnRetake {
			t.Errorf("stored exam: %+v", exam)
		}

		with := func(k string, v any) map[string]any { m := valid(); m[k] = v; return m }
		for _, tc := range []struct {
			name  string
			body  map[string]any
			code  string
			field string
		}{
			{"slug taken", valid(), "invalid", "slug"},
			{"unknown item", with("items", append([]string{uuid.NewString()}, ids...)), "invalid", "items[0]"},
			{"item twice", with("items", append(ids, ids[0])), "invalid", "items[6]"},
			{"no time", with("duration_minutes", 0), "invalid", "duration_minutes"},
			{"unknown program", with("program_id", uuid.NewString()), "invalid", "program_id"},
			{"adaptive with forms", with("mode", "cat"), "invalid", "forms"},
			{"bad scale", with("scale", map[string]any{"basis": "raw", "slope": -1, "min": 0, "max": 1}), "invalid", "scale.slope"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				body := tc.body
				if tc.name != "slug taken" {
					body["slug"] = "other-" + tc.name[:3]
				}
				wantAPIError(t, apiCall(t, f, apiReq("POST", "/api/v1/exams", manager, body)), http.StatusUnprocessableEntity, tc.code, tc.field)
			})
		}
		for _, who := range []webtest.User{f.Users.Author, f.Users.Candidate, f.Users.Psychometrician} {
			wantAPIError(t, apiCall(t, f, apiReq("POST", "/api/v1/exams", f.Token(t, who), valid())), http.StatusForbidden, "forbidden", "")
		}
	})
}
