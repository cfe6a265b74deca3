package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// achievementBody is a valid achievement for the API, changed by edit.
func achievementBody(edit func(map[string]any)) map[string]any {
	b := map[string]any{"slug": "cloud-security", "name": "Cloud Security", "description": "Secures cloud workloads.",
		"criteria": "Pass the **Cloud Security** exam.", "achievement_type": "Badge", "level": "Foundation", "color": "#0f766e",
		"validity_days": 730, "alignments": []map[string]any{{"target_name": "Identity and access", "target_url": "https://example.org/skills/iam",
			"target_framework": "Example Skills", "target_code": "IAM-1"}}}
	if edit != nil {
		edit(b)
	}
	return b
}

type apiAchievement struct {
	ID              string                 `json:"id"`
	URL             string                 `json:"url"`
	Slug            string                 `json:"slug"`
	Name            string                 `json:"name"`
	Level           string                 `json:"level"`
	Color           string                 `json:"color"`
	ValidityDays    int                    `json:"validity_days"`
	AchievementType string                 `json:"achievement_type"`
	Alignments      []credential.Alignment `json:"alignments"`
	ExamID          *string                `json:"exam_id"`
	Pathways        []struct {
		RuleText string `json:"rule_text"`
	} `json:"pathways"`
}

// TestAchievementRoles: only program managers manage achievements.
func TestAchievementRoles(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		for _, u := range []webtest.User{f.Users.Candidate, f.Users.Author, f.Users.Admin} {
			if r := walletPage(t, f, &u, "/manage/achievements"); r.StatusCode != http.StatusForbidden {
				t.Errorf("%s opens /manage/achievements: status %d, want 403", u.Email, r.StatusCode)
			}
			if r := walletPage(t, f, &u, "/manage/achievements/"+f.AchievementID); r.StatusCode != http.StatusForbidden {
				t.Errorf("%s opens the editor: status %d, want 403", u.Email, r.StatusCode)
			}
			if r := walletPage(t, f, &u, "/manage/achievements/preview.svg?name=x"); r.StatusCode != http.StatusForbidden {
				t.Errorf("%s draws a preview: status %d, want 403", u.Email, r.StatusCode)
			}
			wantAPIError(t, apiCall(t, f, apiReq("POST", "/api/v1/achievements", f.Token(t, u), achievementBody(nil))), http.StatusForbidden, "forbidden", "")
			if r := managerForm(t, f, u, "/manage/achievements", url.Values{"name": {"Sneaky"}}); r.StatusCode != http.StatusForbidden {
				t.Errorf("%s posts the new-achievement form: status %d, want 403", u.Email, r.StatusCode)
			}
		}
		list, err := f.Credentials.Achievements(context.Background())
		if err != nil || len(list) != 1 {
			t.Fatalf("achievements after refused requests: got %d (%v), want the fixture's one", len(list), err)
		}

		m := f.Users.Manager
		r := walletPage(t, f, &m, "/manage/achievements")
		wantAPIStatus(t, r, http.StatusOK)
		wantBody(t, "manager's list", r, `id="achievement-data-fundamentals"`, "Data Fundamentals", "Exam: Data Fundamentals",
			`src="/achievements/data-fundamentals/badge.png?size=64"`, "Does not expire", `id="achievement-form"`, `type="color"`)
		resp := apiCall(t, f, apiReq("GET", "/api/v1/achievements", f.Token(t, m), nil))
		wantAPIStatus(t, resp, http.StatusOK)
		var all []apiAchievement
		resp.JSON(t, &all)
		if len(all) != 1 || all[0].ID != f.AchievementID || all[0].ExamID == nil || *all[0].ExamID != f.Exam.ID {
			t.Errorf("GET /api/v1/achievements: got %s, want the fixture's badge earned by its exam", resp.Body)
		}
	})
}

// TestAchievementValidation: refusals name the field, on the API and on
// the form, and change nothing.
func TestAchievementValidation(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		token := f.Token(t, f.Users.Manager)
		for _, c := range []struct {
			name  string
			edit  func(map[string]any)
			field string
		}{
			{"no name", func(b map[string]any) { b["name"] = " " }, "name"},
			{"bad colour", func(b map[string]any) { b["color"] = "red" }, "color"},
			{"bad slug", func(b map[string]any) { b["slug"] = "Cloud Security!" }, "slug"},
			{"taken slug", func(b map[string]any) { b["slug"] = "data-fundamentals" }, "slug"},
			{"negative validity", func(b map[string]any) { b["validity_days"] = -1 }, "validity_days"},
			{"unknown type", func(b map[string]any) { b["achievement_type"] = "Trophy" }, "achievement_type"},
			{"alignment URL", func(b map[string]any) {
				b["alignments"] = []map[string]any{{"target_name": "IAM", "target_url": "javascript:alert(1)"}}
			}, "alignments[0].target_url"},
			{"name too long for the badge", func(b map[string]any) { b["name"] = strings.Repeat("n", 201) }, "name"},
		} {
			t.Run(c.name, func(t *testing.T) {
				wantAPIError(t, apiCall(t, f, apiReq("POST", "/api/v1/achievements", token, achievementBody(c.edit))),
					http.StatusUnprocessableEntity, "invalid", c.field)
			})
		}
		wantAPIError(t, apiCall(t, f, apiReq("POST", "/api/v1/achievements", token, `{"name": 3}`)), http.StatusBadRequest, "bad_request", "name")

		r := managerForm(t, f, f.Users.Manager, "/manage/achievements", url.Values{"name": {"Cloud Security"}, "description": {"d"},
			"criteria": {"c"}, "achievement_type": {"Badge"}, "color": {"#0f766e"}, "validity_days": {"two years"}})
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("form with validity in words: status %d, want 422", r.StatusCode)
		}
		wantBody(t, "refused form", r, `<strong>validity_days</strong>`, `id="validity_days" name="validity_days" min="0" max="36500" step="1" value="two years"`,
			`value="Cloud Security"`)
		if !strings.Contains(string(r.Body), `value="two years" placeholder="No expiry" aria-describedby="validity-hint" aria-invalid="true"`) {
			t.Error("refused form: the validity field is not marked invalid")
		}
		if list, _ := f.Credentials.Achievements(context.Background()); len(list) != 1 {
			t.Errorf("refused requests created achievements: got %d, want 1", len(list))
		}
	})
}

// TestAchievementCreateEdit: a manager creates an achievement with the
// form, edits its design and skills, and both changes are audited.
func TestAchievementCreateEdit(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		ctx := context.Background()
		m := f.Users.Manager
		r := managerForm(t, f, m, "/manage/achievements", url.Values{"name": {"Cloud Security"}, "slug": {""},
			"description": {"Secures cloud workloads."}, "criteria": {"- Pass the exam\n- Hold **Data Fundamentals**"},
			"achievement_type": {"Badge"}, "level": {"Foundation"}, "color": {"#0F766E"}, "validity_days": {"730"},
			"target_name": {"Identity and access", ""}, "target_url": {"https://example.org/skills/iam", ""},
			"target_framework": {"Example Skills", ""}, "target_code": {"IAM-1", ""}})
		if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/manage/achievements/") {
			t.Fatalf("create: status %d, location %q; body %.300s", r.StatusCode, r.Header.Get("Location"), r.Body)
		}
		id := strings.TrimSuffix(strings.TrimPrefix(r.Header.Get("Location"), "/manage/achievements/"), "?saved=created")
		rec, err := f.Credentials.AchievementRecordByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Slug != "cloud-security" || rec.Level != "Foundation" || rec.Color != "#0f766e" || rec.ValidityDays != 730 ||
			len(rec.Alignments) != 1 || rec.Alignments[0].TargetCode != "IAM-1" {
			t.Errorf("created: got %+v", rec)
		}

		edit := walletPage(t, f, &m, "/manage/achievements/"+id+"?saved=created")
		wantAPIStatus(t, edit, http.StatusOK)
		wantBody(t, "editor", edit, `id="saved-notice"`, `value="Cloud Security"`, `value="Foundation"`, `type="color" id="color" name="color" value="#0f766e"`,
			`value="730"`, `value="IAM-1"`, `id="badge-preview" src="/manage/achievements/preview.svg?name=Cloud%20Security&amp;level=Foundation&amp;color=%230f766e"`,
			`<option value="Badge" selected>`, `src="/static/achievement_edit.js"`)
		wantNotBody(t, "editor of a badge", edit, `id="pathway-form"`, `name="slug"`)

		// Change the design, drop the skill and add two.
		r = managerForm(t, f, m, "/manage/achievements/"+id, url.Values{"name": {"Cloud Security Essentials"},
			"description": {"Secures cloud workloads."}, "criteria": {"Pass the exam."}, "achievement_type": {"Badge"},
			"level": {"Level 2"}, "color": {"#b45309"}, "validity_days": {""},
			"target_name": {"", "Network security", "Logging"}, "target_url": {"", "https://example.org/skills/net", "https://example.org/skills/log"},
			"target_framework": {"", "", ""}, "target_code": {"", "NET-2", "LOG-1"}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("edit: status %d; body %.300s", r.StatusCode, r.Body)
		}
		rec, _ = f.Credentials.AchievementRecordByID(ctx, id)
		if rec.Name != "Cloud Security Essentials" || rec.Level != "Level 2" || rec.Color != "#b45309" || rec.ValidityDays != 0 ||
			len(rec.Alignments) != 2 || rec.Alignments[0].TargetCode != "NET-2" || rec.Alignments[1].TargetName != "Logging" || rec.Slug != "cloud-security" {
			t.Errorf("edited: got %+v", rec)
		}
		r = managerForm(t, f, m, "/manage/achievements/"+id, url.Values{"name": {"X"}, "description": {"d"}, "criteria": {"c"},
			"achievement_type": {"Badge"}, "target_name": {"Bad"}, "target_url": {"ftp://example.org"}})
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), `id="target_url-0" name="target_url" value="ftp://example.org" maxlength="500" placeholder="https://" aria-invalid="true"`) {
			t.Errorf("edit with a bad skill URL: status %d, want 422 marking the row's URL", r.StatusCode)
		}

		records, err := f.Audit.List(ctx, "achievement:"+id, 10)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, rec := range records {
			if rec.Actor != m.ID {
				t.Errorf("audit %s: actor %q, want the manager", rec.Action, rec.Actor)
			}
			actions = append(actions, rec.Action)
		}
		if strings.Join(actions, " ") != "achievement.update achievement.create" {
			t.Errorf("audit of the achievement: got %v, want achievement.update after achievement.create", actions)
		}

		// The API sees the same, and changes it too; the slug stays.
		token := f.Token(t, m)
		resp := apiCall(t, f, apiReq("PUT", "/api/v1/achievements/"+id, token, achievementBody(func(b map[string]any) { b["slug"] = "" })))
		wantAPIStatus(t, resp, http.StatusOK)
		var got apiAchievement
		resp.JSON(t, &got)
		if got.Slug != "cloud-security" || got.Name != "Cloud Security" || got.ValidityDays != 730 || got.URL != webtest.BaseURL+"/achievements/cloud-security" {
			t.Errorf("PUT: got %+v", got)
		}
		wantAPIError(t, apiCall(t, f, apiReq("PUT", "/api/v1/achievements/"+id, token, achievementBody(func(b map[string]any) { b["slug"] = "moved" }))),
			http.StatusUnprocessableEntity, "invalid", "slug")
		wantAPIError(t, apiCall(t, f, apiReq("GET", "/api/v1/achievements/00000000-0000-4000-8000-00000000abcd", token, nil)), http.StatusNotFound, "not_found", "")

		resp = apiCall(t, f, apiReq("POST", "/api/v1/achievements", token, achievementBody(func(b map[string]any) { b["slug"] = ""; b["name"] = "Édge Cases & More" })))
		wantAPIStatus(t, resp, http.StatusCreated)
		resp.JSON(t, &got)
		if got.Slug != "dge-cases-more" || resp.Header.Get("Location") != "/api/v1/achievements/"+got.ID {
			t.Errorf("POST without a slug: got slug %q, location %q", got.Slug, resp.Header.Get("Location"))
		}
	})
}

// TestAchievementPathways: the pathway form appears on certificates only;
// a rule is added with the form and with the API, and bad rules are
// refused naming the field.
func TestAchievementPathways(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		m := f.Users.Manager
		a := newAchievement(t, f, "python", "Python", "Badge", 0)
		b := newAchievement(t, f, "statistics", "Statistics", "Badge", 0)
		cert := newAchievement(t, f, "data-science", "Data Science Certificate", "Certificate", 0)
		path := "/manage/achievements/" + cert

		r := walletPage(t, f, &m, path)
		wantBody(t, "certificate editor", r, `id="pathway-form"`, "No pathway earns this certificate yet.", `name="achievements" value="`+a+`"`,
			`name="set_b" value="`+b+`"`)
		wantNotBody(t, "certificate editor", r, `name="achievements" value="`+cert+`"`)

		r = managerForm(t, f, m, path+"/pathways", url.Values{"kind": {"any"}, "n": {"5"}, "achievements": {a, b, f.AchievementID}})
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("any 5 of 3: status %d, want 422", r.StatusCode)
		}
		wantBody(t, "refused pathway", r, "<strong>rule.n</strong>", `name="achievements" value="`+a+`" checked`, `id="n" name="n" min="1" step="1" value="5" aria-invalid="true"`)

		r = managerForm(t, f, m, path+"/pathways", url.Values{"kind": {"any"}, "n": {"2"}, "achievements": {a, b, f.AchievementID}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("add pathway: status %d; body %.300s", r.StatusCode, r.Body)
		}
		r = walletPage(t, f, &m, path+"?saved=pathway")
		wantBody(t, "editor with a pathway", r, "Holders of any 2 of Python, Statistics or Data Fundamentals.", "The pathway is added.")
		wantNotBody(t, "editor with a pathway", r, `id="pathway-form"`)
		r = managerForm(t, f, m, path+"/pathways", url.Values{"kind": {"sets"}, "set_a": {a, b}, "set_c": {f.AchievementID}})
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "already has a pathway") {
			t.Errorf("a second pathway: status %d, want 422 saying the certificate has one", r.StatusCode)
		}

		// The API, on a second certificate.
		other := newAchievement(t, f, "analytics", "Analytics Certificate", "Certificate", 0)
		token := f.Token(t, m)
		for _, c := range []struct {
			name  string
			rule  credential.PathwayRule
			field string
		}{
			{"unknown kind", credential.PathwayRule{Kind: "most"}, "rule.kind"},
			{"unknown achievement", credential.PathwayRule{Kind: credential.AllOf, Achievements: []string{a, "00000000-0000-4000-8000-00000000abcd"}}, "rule.achievements"},
			{"itself", credential.PathwayRule{Kind: credential.AllOf, Achievements: []string{a, other}}, "rule"},
			{"empty set", credential.PathwayRule{Kind: credential.Sets, Sets: [][]string{{a}, {}}}, "rule.sets[1]"},
		} {
			t.Run(c.name, func(t *testing.T) {
				wantAPIError(t, apiCall(t, f, apiReq("POST", "/api/v1/achievements/"+other+"/pathways", token, c.rule)),
					http.StatusUnprocessableEntity, "invalid", c.field)
			})
		}
		resp := apiCall(t, f, apiReq("POST", "/api/v1/achievements/"+other+"/pathways", token,
			credential.PathwayRule{Kind: credential.Sets, Sets: [][]string{{a, b}, {f.AchievementID}}}))
		wantAPIStatus(t, resp, http.StatusCreated)
		var got apiAchievement
		resp.JSON(t, &got)
		if len(got.Pathways) != 1 || got.Pathways[0].RuleText != "one of these sets: Python and Statistics; or Data Fundamentals" {
			t.Errorf("pathways after the API's: got %+v", got.Pathways)
		}
		wantAPIError(t, apiCall(t, f, apiReq("POST", "/api/v1/achievements/"+other+"/pathways", token,
			credential.PathwayRule{Kind: credential.AllOf, Achievements: []string{a}})), http.StatusUnprocessableEntity, "invalid", "rule")
		records, err := f.Audit.List(context.Background(), "achievement:"+cert, 10)
		if err != nil || len(records) == 0 || records[0].Action != "pathway.create" || records[0].Actor != m.ID {
			t.Errorf("audit: got %+v (%v), want pathway.create by the manager", records, err)
		}
	})
}

// TestAchievementPreview: the live preview draws the design as typed,
// escaping markup, and refuses a design that cannot be drawn.
func TestAchievementPreview(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		m := f.Users.Manager
		q := url.Values{"name": {`<script>alert("x")</script> & Co`}, "level": {`"><svg onload=alert(1)>`}, "color": {"#ff0000"}}
		r := walletPage(t, f, &m, "/manage/achievements/preview.svg?"+q.Encode())
		wantAPIStatus(t, r, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); ct != "image/svg+xml" {
			t.Errorf("content type %q, want image/svg+xml", ct)
		}
		body := string(r.Body)
		if strings.Contains(body, "<script") || strings.Contains(body, "<svg onload") {
			t.Errorf("preview holds live markup from the name or level:\n%s", body)
		}
		wantBody(t, "preview", r, "&lt;script&gt;", "&amp; Co", `fill="#ff0000"`, "Touchstone Test Issuer")
		r = walletPage(t, f, &m, "/manage/achievements/preview.svg?name=Ok&color=red")
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("colour red: status %d, want 422", r.StatusCode)
		}
		r = walletPage(t, f, &m, "/manage/achievements/preview.svg?name="+strings.Repeat("x", 300))
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("a name longer than a badge holds: status %d, want 422", r.StatusCode)
		}
	})
}
