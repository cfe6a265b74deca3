package assess_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

func TestDemographicsAreVoluntary(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		b := newBank(t, db, 1)
		user := b.candidates(t, 1)[0]
		if err := b.svc.SetDemographics(ctx, user, map[string]string{"gender": "woman", "region": assess.PreferNotToSay}); err != nil {
			t.Fatal(err)
		}
		if err := b.svc.SetDemographics(ctx, user, map[string]string{"gender": "", "age_band": "25_34"}); err != nil {
			t.Fatal(err)
		}
		got, err := b.svc.Demographics(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got["age_band"] != "25_34" || got["region"] != assess.PreferNotToSay {
			t.Errorf("got %v, want age_band 25_34 and region prefer_not_to_say (gender withdrawn)", got)
		}
		for _, tc := range []struct {
			name    string
			answers map[string]string
			field   string
		}{
			{"unknown variable", map[string]string{"religion": "x"}, "religion"},
			{"unknown value", map[string]string{"gender": "robot"}, "gender"},
		} {
			var v *valid.Error
			if err := b.svc.SetDemographics(ctx, user, tc.answers); !errors.As(err, &v) || v.Field != tc.field {
				t.Errorf("%s: got %v, want a validation error on %s", tc.name, err, tc.field)
			}
		}
		records, err := audit.List(db, "user:"+user, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(records) != 2 {
			t.Fatalf("audit: got %d records, want 2", len(records))
		}
		for _, r := range records {
			if r.Action != "demographics.set" || strings.Contains(r.After, "woman") || strings.Contains(r.After, "25_34") {
				t.Errorf("audit record %s %s: want the variables answered, never the answers", r.Action, r.After)
			}
		}
	})
}

// TestDIFGroupsByDemographics gives item 3 a difficulty one logit higher
// for the focal group: only it shows large DIF, against the focal group.
func TestDIFGroupsByDemographics(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		b := newBank(t, db, 10)
		exam := b.exam(t, "e", []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, nil)
		gen := generating(10)
		biased := append([]psychometrics.Item3PL(nil), gen...)
		biased[3].B += 1.2
		const n = 600
		ref, foc, none := b.candidates(t, n), b.candidates(t, n), b.candidates(t, 20)
		for i := range n {
			if err := b.svc.SetDemographics(ctx, ref[i], map[string]string{"gender": "man"}); err != nil {
				t.Fatal(err)
			}
			if err := b.svc.SetDemographics(ctx, foc[i], map[string]string{"gender": "woman"}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 20 {
			if err := b.svc.SetDemographics(ctx, none[i], map[string]string{"gender": "non_binary"}); err != nil {
				t.Fatal(err)
			}
		}
		b.sit(t, exam, ref, simulate(3, n, 0, 1, gen))
		b.sit(t, exam, foc, simulate(4, n, 0, 1, biased))
		b.sit(t, exam, none, simulate(5, 20, 0, 1, gen))

		groups, err := b.svc.DemographicGroups(ctx, exam.ID, "gender")
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, g := range groups {
			counts[g.Value] = g.Attempts
		}
		if counts["man"] != n || counts["woman"] != n || counts["non_binary"] != 20 || counts[assess.PreferNotToSay] != 0 {
			t.Errorf("groups: got %v", counts)
		}

		rep, err := b.svc.DIF(ctx, exam.ID, "gender", "man", "woman")
		if err != nil {
			t.Fatal(err)
		}
		if rep.NReference != n || rep.NFocal != n || len(rep.Items) != 10 {
			t.Fatalf("got %d reference, %d focal, %d items; want %d, %d, 10", rep.NReference, rep.NFocal, len(rep.Items), n, n)
		}
		for j, it := range rep.Items {
			if it.ItemID != exam.ItemIDs[j] || it.Reference != n || it.Focal != n {
				t.Errorf("item %d: got %s with %d/%d persons", j, it.ItemID, it.Reference, it.Focal)
			}
			if j == 3 && (it.Class != psychometrics.DIFClassC || it.DeltaMH > -1.5) {
				t.Errorf("biased item: got class %s, Δ_MH %.2f; want C against the focal group", it.Class, it.DeltaMH)
			}
			if j != 3 && it.Class == psychometrics.DIFClassC {
				t.Errorf("item %d: got class C (Δ_MH %.2f), want A or B", j, it.DeltaMH)
			}
		}

		for _, tc := range []struct {
			name                     string
			variable, ref, foc, want string
		}{
			{"unknown variable", "shoe_size", "man", "woman", "variable"},
			{"prefer not to say is no group", "gender", assess.PreferNotToSay, "woman", "reference"},
			{"same group", "gender", "man", "man", "focal"},
			{"too small", "gender", "man", "non_binary", "focal"},
			{"empty", "gender", "woman", "self_described", "focal"},
		} {
			_, err := b.svc.DIF(ctx, exam.ID, tc.variable, tc.ref, tc.foc)
			var v *valid.Error
			if !errors.As(err, &v) || v.Field != tc.want {
				t.Errorf("%s: got %v, want a validation error on %s", tc.name, err, tc.want)
			}
		}
	})
}
