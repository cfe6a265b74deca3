package items_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
)

// newUser adds a user row (versions and comments name their author) and
// returns its id.
func newUser(t *testing.T, db *gorm.DB, name string) string {
	t.Helper()
	id := uuid.NewString()
	if err := db.Exec("INSERT INTO users (id, email, name, created_at) VALUES (?, ?, ?, ?)",
		id, id[:8]+"@example.test", name, storeClock).Error; err != nil {
		t.Fatalf("user: %v", err)
	}
	return id
}

func stemmed(stem string) items.Content {
	c := singleChoice()
	c.Stem = stem
	return c
}

// currentStem returns the stem delivered for id, or "" when the item is
// not deliverable.
func currentStem(t *testing.T, store *items.Store, id string) string {
	t.Helper()
	got, err := store.Current(context.Background(), []string{id})
	if err != nil {
		t.Fatalf("current: %v", err)
	}
	if len(got) == 0 || !got[0].Deliverable() {
		return ""
	}
	return got[0].Stem
}

// The whole workflow on one item: a draft is never delivered; a reviewer
// other than every writer of the change approves it; an edit of an
// approved item waits for its own approval while candidates keep getting
// the published version; a retired item is never delivered again.
func TestWorkflow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		store, program := newStore(t, db)
		ann, bob, cy := newUser(t, db, "Ann"), newUser(t, db, "Bob"), newUser(t, db, "Cy")

		step := func(what string, it items.Item, err error, status string, latest, published int) items.Item {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if it.Status != status || it.Latest != latest || it.Published != published || it.Version != latest {
				t.Fatalf("%s: got status %s, version %d, latest %d, published %d; want %s, %d, %d, %d",
					what, it.Status, it.Version, it.Latest, it.Published, status, latest, latest, published)
			}
			return it
		}
		wantErr := func(what string, err, want error) {
			t.Helper()
			if !errors.Is(err, want) {
				t.Errorf("%s: got %v, want %v", what, err, want)
			}
		}

		it, err := store.Draft(ctx, ann, program, stemmed("v1"))
		it = step("draft", it, err, items.StatusDraft, 1, 0)
		id := it.ID
		if it.AuthorID != ann {
			t.Errorf("draft author: got %q, want %q", it.AuthorID, ann)
		}
		if got := currentStem(t, store, id); got != "" {
			t.Errorf("a draft is delivered: stem %q", got)
		}
		_, err = store.Approve(ctx, bob, id, "")
		wantErr("approve a draft", err, items.ErrStatus)
		_, err = store.RequestChanges(ctx, bob, id, "why")
		wantErr("request changes on a draft", err, items.ErrStatus)

		it, err = store.SubmitForReview(ctx, ann, id)
		step("submit", it, err, items.StatusInReview, 1, 0)
		_, err = store.SubmitForReview(ctx, ann, id)
		wantErr("submit twice", err, items.ErrStatus)
		_, err = store.Update(ctx, ann, id, stemmed("v1 edited in review"))
		wantErr("edit in review", err, items.ErrStatus)
		_, err = store.Approve(ctx, ann, id, "")
		wantErr("approve one's own item", err, items.ErrSelfReview)

		it, err = store.Approve(ctx, bob, id, "Looks right.")
		step("approve", it, err, items.StatusApproved, 1, 1)
		if got := currentStem(t, store, id); got != "v1" {
			t.Errorf("after approval: delivered stem %q, want v1", got)
		}

		// Editing the approved item: candidates keep v1 until v2 is approved.
		it, err = store.Update(ctx, ann, id, stemmed("v2"))
		step("edit the approved item", it, err, items.StatusDraft, 2, 1)
		if got := currentStem(t, store, id); got != "v1" {
			t.Errorf("after an edit: delivered stem %q, want v1 (the published version)", got)
		}
		if w, err := store.Get(ctx, id); err != nil || w.Stem != "v2" || w.Version != 2 {
			t.Errorf("working version after the edit: got %q v%d (%v), want v2", w.Stem, w.Version, err)
		}
		it, err = store.SubmitForReview(ctx, ann, id)
		step("submit v2", it, err, items.StatusInReview, 2, 1)
		_, err = store.RequestChanges(ctx, bob, id, "  ")
		var v *valid.Error
		if !errors.As(err, &v) || v.Field != "comment" {
			t.Errorf("request changes without a comment: got %v, want an error on comment", err)
		}
		it, err = store.RequestChanges(ctx, bob, id, "Option B is ambiguous.")
		step("request changes", it, err, items.StatusDraft, 2, 1)

		// Bob edits too: now neither Ann nor Bob may approve the change.
		it, err = store.Update(ctx, bob, id, stemmed("v3"))
		step("second author edits", it, err, items.StatusDraft, 3, 1)
		it, err = store.SubmitForReview(ctx, bob, id)
		step("submit v3", it, err, items.StatusInReview, 3, 1)
		_, err = store.Approve(ctx, bob, id, "")
		wantErr("approve by the writer of v3", err, items.ErrSelfReview)
		_, err = store.Approve(ctx, ann, id, "")
		wantErr("approve by the writer of v2, part of the change", err, items.ErrSelfReview)
		if got := currentStem(t, store, id); got != "v1" {
			t.Errorf("in review: delivered stem %q, want v1", got)
		}
		it, err = store.Approve(ctx, cy, id, "")
		step("approve v3", it, err, items.StatusApproved, 3, 3)
		if got := currentStem(t, store, id); got != "v3" {
			t.Errorf("after approving v3: delivered stem %q, want v3", got)
		}

		_, err = store.Retire(ctx, cy, id, "")
		if !errors.As(err, &v) || v.Field != "reason" {
			t.Errorf("retire without a reason: got %v, want an error on reason", err)
		}
		it, err = store.Retire(ctx, cy, id, "Outdated by the 2027 syllabus.")
		step("retire", it, err, items.StatusRetired, 3, 3)
		if got := currentStem(t, store, id); got != "" {
			t.Errorf("a retired item is deliverable (stem %q)", got)
		}
		if cur, err := store.Current(ctx, []string{id}); err != nil || len(cur) != 1 || cur[0].Version != 3 {
			t.Errorf("current of a retired item: got %+v (%v), want its published version 3, for past attempts", cur, err)
		}
		_, err = store.Update(ctx, ann, id, stemmed("v4"))
		wantErr("edit a retired item", err, items.ErrStatus)
		_, err = store.SubmitForReview(ctx, ann, id)
		wantErr("submit a retired item", err, items.ErrStatus)
		_, err = store.Retire(ctx, cy, id, "again")
		wantErr("retire twice", err, items.ErrStatus)
		_, err = store.SubmitForReview(ctx, ann, uuid.NewString())
		wantErr("submit an unknown item", err, items.ErrNotFound)
		_, err = store.Approve(ctx, bob, "not-a-uuid", "")
		wantErr("approve a malformed id", err, items.ErrNotFound)

		// Every version stays as written, with its author and approval.
		history, err := store.History(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			n            int
			author, appr string
		}
		var got []row
		for _, h := range history {
			got = append(got, row{h.Number, h.AuthorID, h.ApprovedBy})
			if (h.ApprovedAt != nil) != (h.ApprovedBy != "") {
				t.Errorf("version %d: approved at %v by %q", h.Number, h.ApprovedAt, h.ApprovedBy)
			}
		}
		want := []row{{3, bob, cy}, {2, ann, ""}, {1, ann, bob}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("history: got %v, want %v", got, want)
		}
		old, err := store.Versions(ctx, []string{history[1].ID, history[2].ID})
		if err != nil || old[history[1].ID].Stem != "v2" || old[history[2].ID].Stem != "v1" {
			t.Errorf("old versions: got %+v (%v), want stems v2 and v1", old, err)
		}

		// The review notes are comments on the versions reviewed.
		comments, err := store.Comments(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var notes []string
		for _, c := range comments {
			notes = append(notes, fmt.Sprintf("v%d %s: %s", c.Version, c.AuthorID, c.Body))
		}
		wantNotes := []string{"v1 " + bob + ": Looks right.", "v2 " + bob + ": Option B is ambiguous.", "v3 " + cy + ": Outdated by the 2027 syllabus."}
		if fmt.Sprint(notes) != fmt.Sprint(wantNotes) {
			t.Errorf("comments:\n got %q\nwant %q", notes, wantNotes)
		}

		// Every transition is audited with the statuses and versions around it.
		records, err := audit.NewReader(db).List(ctx, "item:"+id, 100)
		if err != nil {
			t.Fatal(err)
		}
		var trail []string
		for i := len(records) - 1; i >= 0; i-- {
			r := records[i]
			var before, after struct {
				Status    string `json:"status"`
				Version   int    `json:"version"`
				Published int    `json:"published_version"`
			}
			_ = json.Unmarshal([]byte(r.Before), &before)
			_ = json.Unmarshal([]byte(r.After), &after)
			trail = append(trail, fmt.Sprintf("%s %s/%d/%d→%s/%d/%d", r.Action, before.Status, before.Version, before.Published,
				after.Status, after.Version, after.Published))
		}
		wantTrail := []string{
			"item.create /0/0→draft/1/0",
			"item.submit draft/1/0→in_review/1/0",
			"item.approve in_review/1/0→approved/1/1",
			"item.update approved/1/1→draft/2/1",
			"item.submit draft/2/1→in_review/2/1",
			"item.request_changes in_review/2/1→draft/2/1",
			"item.update draft/2/1→draft/3/1",
			"item.submit draft/3/1→in_review/3/1",
			"item.approve in_review/3/1→approved/3/3",
			"item.retire approved/3/3→retired/3/3",
		}
		if fmt.Sprint(trail) != fmt.Sprint(wantTrail) {
			t.Errorf("audit trail:\n got %q\nwant %q", trail, wantTrail)
		}
		if n, err := audit.Chain(context.Background(), db); err != nil || n == 0 && db.Dialector.Name() == "postgres" {
			t.Errorf("placing the entries: %d placed, %v", n, err)
		}
		if err := audit.Verify(db); err != nil {
			t.Errorf("audit chain: %v", err)
		}
	})
}

// Create, for seeds and imports, makes an approved item delivered at once.
func TestCreateIsApproved(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		store, program := newStore(t, db)
		it, err := store.Create(ctx, "system", program, stemmed("seeded"))
		if err != nil {
			t.Fatal(err)
		}
		if it.Status != items.StatusApproved || it.Published != 1 || !it.Deliverable() {
			t.Errorf("created: got status %s, published %d, deliverable %v; want approved, 1, true", it.Status, it.Published, it.Deliverable())
		}
		if got := currentStem(t, store, it.ID); got != "seeded" {
			t.Errorf("delivered stem %q, want seeded", got)
		}
		if _, err := store.Draft(ctx, "system", uuid.NewString(), stemmed("x")); !errors.Is(err, items.ErrNotFound) {
			t.Errorf("draft in an unknown program: got %v, want ErrNotFound", err)
		}
		var v *valid.Error
		if _, err := store.Draft(ctx, "system", "nope", stemmed("x")); !errors.As(err, &v) || v.Field != "program_id" {
			t.Errorf("draft in a malformed program id: got %v, want an error on program_id", err)
		}
	})
}

func TestComments(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		store, program := newStore(t, db)
		ann := newUser(t, db, "Ann")
		it, err := store.Draft(ctx, ann, program, stemmed("v1"))
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name    string
			version int
			body    string
			field   string
		}{
			{"blank", 0, " \n", "body"},
			{"too long", 0, string(make([]byte, items.MaxCommentLength+1)), "body"},
			{"negative version", -1, "x", "version"},
			{"future version", 2, "x", "version"},
		} {
			var v *valid.Error
			if _, err := store.Comment(ctx, ann, it.ID, tc.version, tc.body); !errors.As(err, &v) || v.Field != tc.field {
				t.Errorf("%s: got %v, want an error on %s", tc.name, err, tc.field)
			}
		}
		if _, err := store.Comment(ctx, ann, uuid.NewString(), 0, "x"); !errors.Is(err, items.ErrNotFound) {
			t.Errorf("comment on an unknown item: got %v, want ErrNotFound", err)
		}
		for i, body := range []string{"First", "Second", "Third"} {
			c, err := store.Comment(ctx, ann, it.ID, i%2, body)
			if err != nil {
				t.Fatal(err)
			}
			if c.AuthorID != ann || c.Version != i%2 || !c.CreatedAt.Equal(storeClock) {
				t.Errorf("comment %d: got %+v", i, c)
			}
		}
		got, err := store.Comments(ctx, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		var bodies []string
		for _, c := range got {
			bodies = append(bodies, c.Body)
		}
		if fmt.Sprint(bodies) != "[First Second Third]" {
			t.Errorf("comments in one instant: got %v, want them in the order written", bodies)
		}
	})
}

func TestList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		store, program := newStore(t, db)
		_, other := newStore(t, db)
		ann, bob := newUser(t, db, "Ann"), newUser(t, db, "Bob")
		clock := storeClock
		store = items.NewStore(db, func() time.Time { return clock })
		made := map[string]string{}
		add := func(name, programID, author string, c items.Content, approve bool) {
			t.Helper()
			clock = clock.Add(time.Minute) // newest change first
			c.Stem = name + ": " + c.Stem
			it, err := store.Draft(ctx, author, programID, c)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if approve {
				if _, err := store.SubmitForReview(ctx, author, it.ID); err != nil {
					t.Fatal(err)
				}
				if _, err := store.Approve(ctx, "system", it.ID, ""); err != nil {
					t.Fatal(err)
				}
			}
			made[it.ID] = name
		}
		sc := singleChoice()
		sc.Stem = "Which 100% sure MEAN is right?"
		add("a", program, ann, sc, false)
		d2 := numeric(3.14, 0.01, false)
		d2.Domain = "D2"
		d2.Stem = "What is pi, to two places?"
		add("b", program, ann, d2, true)
		add("c", program, bob, shortText(false, "median"), true)
		add("d", other, bob, singleChoice(), false)
		mr := multipleResponse("")
		mr.Stem = "Which are means_of_transport?"
		add("e", program, bob, mr, false)

		names := func(p items.Page) string {
			var out []string
			for _, it := range p.Items {
				out = append(out, made[it.ID])
			}
			return fmt.Sprintf("%v of %d", out, p.Total)
		}
		var ids []string
		for id, name := range made {
			if name == "a" || name == "c" {
				ids = append(ids, id)
			}
		}
		for _, tc := range []struct {
			name string
			f    items.Filter
			want string
		}{
			{"all", items.Filter{}, "[e d c b a] of 5"},
			{"program", items.Filter{ProgramID: program}, "[e c b a] of 4"},
			{"approved", items.Filter{Status: items.StatusApproved}, "[c b] of 2"},
			{"drafts of the program", items.Filter{ProgramID: program, Status: items.StatusDraft}, "[e a] of 2"},
			{"domain", items.Filter{Domain: "D2"}, "[b] of 1"},
			{"kind", items.Filter{Kind: items.MultipleResponse}, "[e] of 1"},
			{"author", items.Filter{AuthorID: bob}, "[e d c] of 3"},
			{"query ignores case", items.Filter{Query: "sure mean"}, "[a] of 1"},
			{"query with % is literal", items.Filter{Query: "100%"}, "[a] of 1"},
			{"query with _ is literal", items.Filter{Query: "means_of"}, "[e] of 1"},
			{"query _ matches no other character", items.Filter{Query: "100_"}, "[] of 0"},
			{"ids", items.Filter{IDs: ids}, "[c a] of 2"},
			{"no ids", items.Filter{IDs: []string{}}, "[] of 0"},
			{"page 1", items.Filter{Limit: 2}, "[e d] of 5"},
			{"page 3", items.Filter{Limit: 2, Offset: 4}, "[a] of 5"},
			{"past the end", items.Filter{Offset: 9}, "[] of 5"},
		} {
			got, err := store.List(ctx, tc.f)
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			if names(got) != tc.want {
				t.Errorf("%s: got %s, want %s", tc.name, names(got), tc.want)
			}
		}
		for _, tc := range []struct {
			f     items.Filter
			field string
		}{
			{items.Filter{Status: "active"}, "status"},
			{items.Filter{Kind: "essay"}, "kind"},
			{items.Filter{ProgramID: "x"}, "program"},
			{items.Filter{AuthorID: "x"}, "author"},
			{items.Filter{Limit: items.MaxLimit + 1}, "limit"},
			{items.Filter{Offset: -1}, "offset"},
		} {
			var v *valid.Error
			if _, err := store.List(ctx, tc.f); !errors.As(err, &v) || v.Field != tc.field {
				t.Errorf("filter %+v: got %v, want an error on %s", tc.f, err, tc.field)
			}
		}
		// The list shows working versions: an edit shows at once.
		for id, name := range made {
			if name == "b" {
				edited := d2
				edited.Stem = "b: edited"
				if _, err := store.Update(ctx, ann, id, edited); err != nil {
					t.Fatal(err)
				}
			}
		}
		got, err := store.List(ctx, items.Filter{Query: "edited"})
		if err != nil || names(got) != "[b] of 1" || got.Items[0].Version != 2 || got.Items[0].Published != 1 {
			t.Errorf("after an edit: got %s (%v), want b at version 2, published 1", names(got), err)
		}
	})
}
